// Admission by token (issue 15): JWT and bearer authentication with every refusal reason and
// its exact 401 header, the HS256-with-the-RSA-public-key confusion, kid rotation on SIGHUP, a
// session closed with 4001 when its token expires, token removal before the backend, forged
// claim headers stripped, and the per-IP handshake rate limit (429 + Retry-After). Keys are
// made per run with the openssl CLI; tokens are signed with Node's crypto and openssl dgst.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  connectWs,
  expectRejected,
  openRaw,
  parseHead,
  startTcpBackend,
  startWsBackend,
  startWsgate,
  stopAll,
  upgradeRequest,
  waitClose,
} from './lib/harness.mjs';
import { acceptFor } from './lib/frames.mjs';
import { httpGet, parseMetrics } from './lib/metrics.mjs';
import { makeToken, nowS, opensslKey, opensslRs256Token, writeJwks } from './lib/jwt.mjs';

const ISS = 'https://issuer.test';
const AUD = 'chat';
const SECRET = 'bearer-secret-token-0123456789';

describe('authentication', () => {
  let dir;
  let keys;
  let backend;
  let rogue;
  let gw;
  let opts;
  const jwks = () => path.join(dir, 'jwks.json');
  const claims = (extra = {}) => ({ sub: 'alice', iss: ISS, aud: AUD, exp: nowS() + 600, ...extra });
  const rsa = (extra = {}, kid = 'r1', key = keys.r1) =>
    makeToken({ alg: 'RS256', key, kid, claims: claims(extra) });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'wsgate-auth-'));
    keys = {
      r1: opensslKey(dir, 'r1', 'rsa'),
      r2: opensslKey(dir, 'r2', 'rsa'),
      e1: opensslKey(dir, 'e1', 'p256'),
      e3: opensslKey(dir, 'e3', 'p384'),
      d1: opensslKey(dir, 'd1', 'ed25519'),
      other: opensslKey(dir, 'other', 'rsa'),
    };
    writeJwks(jwks(), [[keys.r1, 'r1'], [keys.e1, 'e1'], [keys.e3, 'e3'], [keys.d1, 'd1']]);
    writeFileSync(path.join(dir, 'tokens'), `# service tokens\n${SECRET}\n`);
    backend = await startWsBackend({ echo: true });
    // A backend that selects the token entry of the subprotocol list no matter what it got.
    rogue = await startTcpBackend((socket) => {
      let head = '';
      socket.on('data', (d) => {
        head += d.toString('latin1');
        const m = /sec-websocket-key: *(\S+)/i.exec(head);
        if (!head.includes('\r\n\r\n') || !m) return;
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
                     `Connection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(m[1])}\r\n` +
                     'Sec-WebSocket-Protocol: bearer.x\r\n\r\n');
      });
    });
    const jwtAuth = {
      type: 'jwt',
      token_from: ['header:Authorization', 'query:access_token', 'cookie:token', 'subprotocol'],
      algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
      keys: jwks(),
      issuer: ISS,
      audience: AUD,
      leeway: '0s',
      expiry: 'close',
      forward_claims: { sub: 'X-User-Id' },
    };
    opts = {
      pools: [
        { name: 'ws', backends: [backend.address] },
        { name: 'rogue', backends: [rogue.address] },
      ],
      routes: [
        { pool: 'ws', path_prefix: '/jwt', policy: 'jwt' },
        { pool: 'ws', path_prefix: '/pem', policy: 'pem' },
        { pool: 'ws', path_prefix: '/bearer', policy: 'bearer' },
        { pool: 'ws', path_prefix: '/rate', policy: 'rate' },
        { pool: 'rogue', path_prefix: '/rogue', policy: 'jwt' },
      ],
      policies: {
        default: { ping_interval: '0s' },
        jwt: { ping_interval: '0s', auth: 'users' },
        pem: { ping_interval: '0s', auth: 'pem' },
        bearer: { ping_interval: '0s', auth: 'services' },
        rate: { ping_interval: '0s', max_handshakes_per_second_per_ip: 1 },
      },
      auth: {
        users: jwtAuth,
        pem: { type: 'jwt', algorithms: ['RS256', 'HS256'], keys: keys.r1.pubFile, leeway: '0s' },
        services: { type: 'bearer', tokens_file: path.join(dir, 'tokens') },
      },
    };
    gw = await startWsgate(opts);
  });

  after(async () => {
    await stopAll();
  });

  async function refused(p, token, { header = true } = {}) {
    const headers = token !== undefined && header ? { Authorization: `Bearer ${token}` } : {};
    return expectRejected(gw.url(p), { headers });
  }

  test('every algorithm is accepted with its key, and the claims reach the backend', async () => {
    const cases = [
      ['RS256', keys.r1, 'r1'],
      ['PS256', keys.r1, 'r1'],
      ['ES256', keys.e1, 'e1'],
      ['ES384', keys.e3, 'e3'],
      ['EdDSA', keys.d1, 'd1'],
      ['EdDSA', keys.d1, undefined], // no kid: every key that fits the algorithm is tried
    ];
    for (const [alg, key, kid] of cases) {
      const token = makeToken({ alg, key, kid, claims: claims({ sub: `user-${alg}` }) });
      const before_ = backend.connections.length;
      const ws = await connectWs(gw.url('/jwt'), {
        headers: { Authorization: `Bearer ${token}`, 'X-User-Id': 'admin' },
      });
      const [conn] = (await backend.waitConnections(before_ + 1)).slice(before_);
      assert.equal(conn.req.headers['x-user-id'], `user-${alg}`, alg);
      ws.send(`hi ${alg}`);
      ws.close(1000);
      await waitClose(ws);
    }
    const token = opensslRs256Token({ key: keys.r1, kid: 'r1', claims: claims(), dir });
    const ws = await connectWs(gw.url('/jwt'), { headers: { Authorization: `Bearer ${token}` } });
    ws.terminate();
  });

  test('a forged X-User-Id is removed even when the token has no such claim', async () => {
    const token = rsa({ sub: undefined });
    const n = backend.connections.length;
    const ws = await connectWs(gw.url('/jwt'), {
      headers: { Authorization: `Bearer ${token}`, 'x-user-id': 'root' },
    });
    const [conn] = (await backend.waitConnections(n + 1)).slice(n);
    assert.equal(conn.req.headers['x-user-id'], undefined);
    ws.terminate();
  });

  test('each refusal names its reason in WWW-Authenticate, the body and the access log', async () => {
    const hs = (secret) => makeToken({ alg: 'HS256', key: secret, claims: claims() });
    const cases = [
      ['missing', undefined, 'Bearer error_description="token missing"'],
      ['malformed', 'not-a-jwt', 'token malformed'],
      ['bad signature', rsa({}, 'r1', keys.other), 'token signature invalid'],
      ['expired', rsa({ exp: nowS() - 5 }), 'token expired'],
      ['not yet valid', rsa({ nbf: nowS() + 3600 }), 'token not yet valid'],
      ['wrong issuer', rsa({ iss: 'https://evil.test' }), 'token issuer not accepted'],
      ['wrong audience', rsa({ aud: ['other', 'x'] }), 'token audience not accepted'],
      ['algorithm', makeToken({ alg: 'RS384', key: keys.r1, kid: 'r1', claims: claims() }),
        'token algorithm not allowed'],
      ['unknown kid', rsa({}, 'nope'), 'token key id (kid) unknown'],
      ['HS256 not listed', hs('0123456789abcdef0123'), 'token algorithm not allowed'],
    ];
    for (const [what, token, text] of cases) {
      const from = gw.mark();
      const res = await refused('/jwt', token);
      assert.equal(res.status, 401, what);
      const expected = text.startsWith('Bearer ')
        ? text
        : `Bearer error="invalid_token", error_description="${text}"`;
      assert.equal(res.headers['www-authenticate'], expected, what);
      const description = /error_description="([^"]+)"/.exec(expected)[1];
      assert.equal(res.body, `authentication failed: ${description}\n`, what);
      const line = await gw.waitForAccess((l) => l.path === '/jwt' && l.status === 401, 15000, from);
      assert.equal(line.error, `authentication failed: ${description}`, what);
    }
  });

  test('HS256 signed with the RSA public key PEM as the secret is refused', async () => {
    const forged = makeToken({ alg: 'HS256', key: keys.r1.publicPem, claims: claims() });
    const res = await refused('/pem', forged);
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'],
      'Bearer error="invalid_token", error_description="token algorithm not allowed"');
    const good = makeToken({ alg: 'RS256', key: keys.r1, claims: claims() });
    const ws = await connectWs(gw.url('/pem'), { headers: { Authorization: `Bearer ${good}` } });
    ws.terminate();
  });

  test('query and subprotocol tokens are removed before the backend', async () => {
    let n = backend.connections.length;
    const viaQuery = await connectWs(gw.url(`/jwt/q?room=1&access_token=${rsa()}&x=2`));
    let [conn] = (await backend.waitConnections(n + 1)).slice(n);
    assert.equal(conn.req.url, '/jwt/q?room=1&x=2');
    viaQuery.terminate();

    n = backend.connections.length;
    const viaProtocol = await connectWs(gw.url('/jwt/p'), { protocols: [`bearer.${rsa()}`, 'chat'] });
    [conn] = (await backend.waitConnections(n + 1)).slice(n);
    assert.equal(conn.req.headers['sec-websocket-protocol'], 'chat');
    assert.equal(viaProtocol.protocol, 'chat');
    assert.equal(conn.req.headers['x-user-id'], 'alice');
    viaProtocol.terminate();

    n = backend.connections.length;
    const viaCookie = await connectWs(gw.url('/jwt/c'), { headers: { Cookie: `a=b; token=${rsa()}` } });
    await backend.waitConnections(n + 1);
    viaCookie.terminate();

    const res = await expectRejected(gw.url('/rogue'), { protocols: [`bearer.${rsa()}`, 'chat'] });
    assert.equal(res.status, 502);
    assert.match(res.body, /chose subprotocol 'bearer\.x' which the client did not offer/);
  });

  test('bearer tokens from tokens_file', async () => {
    const ws = await connectWs(gw.url('/bearer'), { headers: { Authorization: `Bearer ${SECRET}` } });
    ws.terminate();
    const res = await refused('/bearer', `${SECRET}x`);
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'],
      'Bearer error="invalid_token", error_description="token unknown"');
  });

  test('a token that expires 2 s into the session closes it with 4001 on the timer wheel',
    async () => {
      const exp = nowS() + 3;
      const n = backend.connections.length;
      const ws = await connectWs(gw.url('/jwt/expiry'), {
        headers: { Authorization: `Bearer ${rsa({ exp })}` },
      });
      const [conn] = (await backend.waitConnections(n + 1)).slice(n);
      const closed = await waitClose(ws, 10000);
      const at = Date.now();
      assert.deepEqual(closed, { code: 4001, reason: 'token expired' });
      // Never before exp; after it within the wheel's 25 ms tick plus scheduling on a loaded
      // machine.
      assert.ok(at >= exp * 1000, `closed ${exp * 1000 - at} ms before exp`);
      assert.ok(at - exp * 1000 < 1000, `closed ${at - exp * 1000} ms after exp`);
      assert.deepEqual(await conn.closed, { code: 1001, reason: 'client token expired' });
      const line = await gw.waitForAccess((l) => l.path === '/jwt/expiry');
      assert.equal(line.termination, 'token_expired');
      assert.equal(line.client_close_code, 4001);
    });

  test('kid rotation on SIGHUP; a bad key file on reload keeps the running keys', async () => {
    const r2 = rsa({}, 'r2', keys.r2);
    assert.equal((await refused('/jwt', r2)).status, 401);
    writeJwks(jwks(), [[keys.r2, 'r2'], [keys.e1, 'e1']]);
    const ok = await gw.reload();
    assert.equal(ok.event, 'config_reloaded');
    const ws = await connectWs(gw.url('/jwt'), { headers: { Authorization: `Bearer ${r2}` } });
    ws.terminate();
    const old = await refused('/jwt', rsa());
    assert.equal(old.headers['www-authenticate'],
      'Bearer error="invalid_token", error_description="token key id (kid) unknown"');

    writeFileSync(jwks(), '{"keys": [ {"kty": "RSA"} ]}');
    const failed = await gw.reload();
    assert.equal(failed.event, 'config_reload_failed');
    assert.match(failed.error, /auth\.users: .*jwks\.json: JWKS key 0 \(kty RSA\)/);
    const still = await connectWs(gw.url('/jwt'), { headers: { Authorization: `Bearer ${r2}` } });
    still.terminate();
  });

  test('handshakes over max_handshakes_per_second_per_ip get 429 with Retry-After', async () => {
    // Rate 1, burst 2: of three requests sent at once, the third is refused.
    const conns = await Promise.all([0, 1, 2].map(() => openRaw(gw.port())));
    await Promise.all(conns.map((c) => c.write(upgradeRequest({ path: '/rate' }))));
    const results = await Promise.all(conns.map(async (c) => {
      const data = await c.waitData((d) => parseHead(d) !== null);
      const head = parseHead(data);
      await (head.status === 101 ? Promise.resolve() : c.waitEnd());
      c.destroy();
      return { ...head, body: c.data.subarray(head.headLength).toString() };
    }));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [101, 101, 429]);
    const limited = results.find((r) => r.status === 429);
    assert.equal(limited.headers['retry-after'], '1');
    assert.match(limited.body.toString(), /too many handshakes from 127\.0\.0\.1/);
  });

  test('metrics count results, 4001 closes and rate limiting; no token is ever logged',
    async () => {
      const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
      const value = (name, labels = {}) => m.get(name, labels);
      assert.ok(value('wsgate_auth_results_total', { result: 'ok' }) >= 10);
      for (const r of ['missing', 'malformed', 'bad_signature', 'expired', 'not_yet_valid',
        'wrong_issuer', 'wrong_audience', 'algorithm_not_allowed', 'unknown_kid',
        'unknown_token']) {
        assert.ok(value('wsgate_auth_results_total', { result: r }) >= 1, r);
      }
      assert.equal(value('wsgate_auth_token_expired_closes_total'), 1);
      assert.equal(value('wsgate_handshakes_rate_limited_total'), 1);
      const text = gw.stderrText();
      for (const secret of [SECRET, rsa().split('.')[2], 'eyJ']) {
        assert.ok(!text.includes(secret), 'a token appears in the log');
      }
    });
});
