// Routing by the request target (README "Request targets"): wsgate routes by the normalised path
// and forwards that same path to the backend, refuses targets whose path could mean something
// else downstream (400 with a body naming why), accepts absolute-form targets (RFC 9112 section
// 3.2.2; their authority wins over Host) and answers two Host headers with 400.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import * as h from './lib/harness.mjs';

after(() => h.stopAll());

// The backend (by name) and connection that carry X-Test-Id: id, once one of them has it.
function connectionWith(backends, id, timeoutMs = 15000) {
  const find = () => {
    for (const [name, backend] of Object.entries(backends)) {
      const conn = backend.connections.find((c) => c.req.headers['x-test-id'] === id);
      if (conn) return [name, conn];
    }
    return null;
  };
  if (find()) return Promise.resolve(find());
  const emitters = Object.values(backends).map((b) => b.events);
  let on;
  return h.withTimeout(new Promise((resolve) => {
    on = () => {
      const found = find();
      if (found) resolve(found);
    };
    for (const e of emitters) e.on('connection', on);
  }), timeoutMs, `a backend connection with X-Test-Id ${id}`).finally(() => {
    for (const e of emitters) e.off('connection', on);
  });
}

// The Host header lines exactly as the backend received them.
function hostLines(conn) {
  const raw = conn.req.rawHeaders;
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'host') out.push(raw[i + 1]);
  }
  return out;
}

describe('routing by the request target', () => {
  let pub;
  let priv;
  let exact;
  let gw;
  let port;

  before(async () => {
    pub = await h.startWsBackend();
    priv = await h.startWsBackend();
    exact = await h.startWsBackend();
    gw = await h.startWsgate({
      pools: [
        { name: 'pub', backends: [pub.address] },
        { name: 'priv', backends: [priv.address] },
        { name: 'exact', backends: [exact.address] },
      ],
      routes: [
        { path_prefix: '/public', pool: 'pub' },
        { path_prefix: '/private', pool: 'priv' },
        { host: 'exact.example', path_prefix: '/', pool: 'exact' },
      ],
    });
    port = gw.port();
  });

  // Sends an upgrade request for `target`; on 101 returns the backend connection it reached
  // (looked up in each backend by a unique X-Test-Id) and the access-log line.
  async function upgrade(target, { host = '127.0.0.1', headers = {} } = {}) {
    const id = crypto.randomUUID();
    const conn = await h.openRaw(port);
    const localPort = conn.socket.localPort;
    await conn.write(h.upgradeRequest({ path: target, host, headers: { 'X-Test-Id': id, ...headers } }));
    await conn.waitData((b) => h.parseHead(b) !== null);
    const head = h.parseHead(conn.data);
    assert.equal(head.status, 101, `status for ${target}: ${conn.data.toString('latin1')}`);
    const found = await connectionWith({ pub, priv, exact }, id);
    conn.destroy();
    const log = await gw.waitForAccess((l) => l.client_addr === `127.0.0.1:${localPort}`);
    return { pool: found[0], backend: found[1], log };
  }

  // Sends `request`; the answer must be `status` with exactly `body`. The status is checked as
  // soon as the head arrives (a 101 would keep the connection open), the body once wsgate closed.
  async function expectAnswer(request, status, body) {
    const conn = await h.openRaw(port);
    const localPort = conn.socket.localPort;
    await conn.write(request);
    await conn.waitData((b) => h.parseHead(b) !== null);
    const head = h.parseHead(conn.data);
    assert.equal(head.status, status, `answer: ${conn.data.toString('latin1')}`);
    assert.match(head.headers['content-type'] ?? '', /^text\/plain/);
    await conn.waitEnd();
    assert.equal(conn.data.subarray(head.headLength).toString(), body);
    const log = await gw.waitForAccess((l) => l.client_addr === `127.0.0.1:${localPort}`);
    assert.equal(log.status, status);
    assert.equal(log.termination, 'handshake_rejected');
    assert.equal(log.error, body.trimEnd());
  }

  describe('two Host headers', () => {
    const body = 'more than one Host header: a request carries exactly one (RFC 9112 section 3.2)\n';

    it('answers two different Host headers with 400 and reaches no backend', async () => {
      const before = pub.connections.length + priv.connections.length + exact.connections.length;
      await expectAnswer(h.upgradeRequest({ path: '/public', headers: { Host: ['127.0.0.1', 'exact.example'] } }),
        400, body);
      assert.equal(pub.connections.length + priv.connections.length + exact.connections.length, before);
    });

    it('answers two identical Host headers with 400', async () => {
      await expectAnswer(h.upgradeRequest({ path: '/public', headers: { Host: ['127.0.0.1', '127.0.0.1'] } }),
        400, body);
    });
  });

  describe('path normalisation', () => {
    for (const [target, pool, forwarded] of [
      ['/public/../private', 'priv', '/private'],
      ['/public/./../private/x', 'priv', '/private/x'],
      ['/public/%2e%2e/private', 'priv', '/private'],
      ['/public/%2E%2E/private', 'priv', '/private'],
      ['/public/.%2e/private?to=/public/..', 'priv', '/private?to=/public/..'],
      ['//public//a///b/', 'pub', '/public/a/b/'],
      ['/public/%7Euser/%61b%20c', 'pub', '/public/~user/ab%20c'],
      ['/public/a/b/../c?q=%2e%2e&x=//y', 'pub', '/public/a/c?q=%2e%2e&x=//y'],
      ['/%70rivate', 'priv', '/private'],
    ]) {
      it(`routes ${target} as ${forwarded} (pool ${pool}) and forwards ${forwarded}`, async () => {
        const got = await upgrade(target);
        assert.equal(got.pool, pool);
        assert.equal(got.backend.req.url, forwarded);
        assert.equal(got.log.pool, pool);
        assert.equal(got.log.path, forwarded.split('?')[0]);
        assert.equal(got.log.status, 101);
      });
    }

    for (const [target, body] of [
      ['/public/..%2Fprivate', 'the path holds an encoded slash (%2F)'],
      ['/public%2f..%2fprivate', 'the path holds an encoded slash (%2F)'],
      ['/public/..%5Cprivate', 'the path holds a backslash'],
      ['/public/..%5cprivate', 'the path holds a backslash'],
      ['/public/x%00', 'the path holds an encoded NUL (%00)'],
      ['/..', 'the path climbs above the root (\'..\')'],
      ['/../private', 'the path climbs above the root (\'..\')'],
      ['/public/../../private', 'the path climbs above the root (\'..\')'],
      ['/public/%2e%2e/%2e%2e/private', 'the path climbs above the root (\'..\')'],
      ['/public/..;/private', 'the path holds a dot segment with parameters (\';\')'],
      ['/public/%zz', 'the path has a \'%\' not followed by two hex digits'],
    ]) {
      it(`answers ${target} with 400 "${body}"`, async () => {
        await expectAnswer(h.upgradeRequest({ path: target }), 400, `${body}\n`);
      });
    }

    it('names the normalised path in a 404', async () => {
      await expectAnswer(h.upgradeRequest({ path: '/public/../nowhere' }), 404,
        'no route for host \'127.0.0.1\' and path \'/nowhere\'\n');
    });
  });

  describe('absolute-form targets', () => {
    it('routes http://HOST:PORT/public/x?y=1 by its path and forwards /public/x?y=1', async () => {
      const host = `127.0.0.1:${port}`;
      const got = await upgrade(`http://${host}/public/x?y=1`, { host });
      assert.equal(got.pool, 'pub');
      assert.equal(got.backend.req.url, '/public/x?y=1');
      assert.deepEqual(hostLines(got.backend), [host]);
      assert.equal(got.log.path, '/public/x');
    });

    for (const scheme of ['ws', 'wss', 'https', 'HTTP']) {
      it(`accepts the ${scheme}:// scheme`, async () => {
        const got = await upgrade(`${scheme}://127.0.0.1/private/${scheme}`);
        assert.equal(got.pool, 'priv');
        assert.equal(got.backend.req.url, `/private/${scheme}`);
      });
    }

    it('normalises the path of an absolute-form target', async () => {
      const got = await upgrade('http://127.0.0.1/public/%2e%2e/private');
      assert.equal(got.pool, 'priv');
      assert.equal(got.backend.req.url, '/private');
    });

    it('forwards / for an absolute-form target without a path', async () => {
      const got = await upgrade('http://exact.example?k=v', { host: 'exact.example' });
      assert.equal(got.pool, 'exact');
      assert.equal(got.backend.req.url, '/?k=v');
    });

    it('routes by the authority when it differs from Host, and forwards it as Host', async () => {
      const got = await upgrade('http://exact.example:8080/public', { host: '127.0.0.1' });
      assert.equal(got.pool, 'exact');
      assert.equal(got.backend.req.url, '/public');
      assert.deepEqual(hostLines(got.backend), ['exact.example:8080']);
      assert.equal(got.backend.req.headers['x-forwarded-host'], 'exact.example:8080');
    });

    for (const [target, body] of [
      ['ftp://127.0.0.1/public', 'the request target\'s scheme must be http, https, ws or wss'],
      ['http://user:pw@127.0.0.1/public', 'the request target must not carry user information'],
      ['http:///public', 'the request target\'s authority is not a valid host[:port]'],
      ['http://127.0.0.1/public/../..', 'the path climbs above the root (\'..\')'],
    ]) {
      it(`answers ${target} with 400 "${body}"`, async () => {
        await expectAnswer(h.upgradeRequest({ path: target }), 400, `${body}\n`);
      });
    }
  });
});
