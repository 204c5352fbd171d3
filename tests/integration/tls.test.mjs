// TLS (issue "TLS: wss:// termination on listeners and TLS to backends"): wss:// listeners
// with SNI, TLS 1.2+ only, ALPN http/1.1 and session resumption; clear failures (protocol
// version, untrusted certificate, unknown SNI, plain HTTP to a TLS port, a client that never
// starts its handshake); wss:// backends verified against ca_file, with an optional client
// certificate; and certificates swapped by SIGHUP while an established connection keeps
// echoing. Certificates come from the `openssl` CLI at test time; the peers are Node `ws`,
// `openssl s_client`, wsgate-echo and a Node `ws` server over `https.createServer`.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { copyFileSync } from 'node:fs';

import { untilReadingStops } from './lib/proc.mjs';
import {
  collectMessages,
  connectWs,
  expectRejected,
  nextMessage,
  openRaw,
  sha256,
  startEcho,
  startWsBackend,
  stopAll,
  upgradeRequest,
  waitClose,
} from './lib/harness.mjs';
import {
  makePki,
  reloadTls,
  sClient,
  servedSubject,
  startTlsWsgate,
  startWssBackend,
  wssUrl,
} from './lib/tls.mjs';

after(() => stopAll());

const POLICY = {
  max_frame_size: '16MiB',
  max_message_size: '16MiB',
  ping_interval: '0s',
  handshake_timeout: '2s',
};

async function echoes(ws, payloads) {
  for (const payload of payloads) {
    ws.send(payload, { binary: Buffer.isBuffer(payload) });
    const m = await nextMessage(ws);
    assert.equal(m.isBinary, Buffer.isBuffer(payload));
    assert.equal(sha256(m.data), sha256(Buffer.from(payload)), `echo of ${payload.length} bytes`);
  }
}

function tlsFailure(gw, pred, from = 0) {
  return gw.waitForLog((l) => l.event === 'tls_handshake_failed' && pred(l), 15000, from);
}

describe('wss:// listeners', () => {
  let pki;
  let main;
  let alt;
  let echo;
  let wsb;
  let gw;

  before(async () => {
    pki = makePki();
    main = pki.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
    alt = pki.issue('alt.test');
    echo = await startEcho();
    wsb = await startWsBackend({});
    gw = await startTlsWsgate({
      server: { workers: 2 },
      listeners: [
        {
          name: 'public',
          tls: {
            cert: main.cert,
            key: main.key,
            sni: [{ server_name: 'alt.test', cert: alt.cert, key: alt.key }],
          },
        },
        { name: 'strict', tls: { cert: main.cert, key: main.key, min_version: '1.3' } },
      ],
      pools: [
        { name: 'echo', backends: [echo.address] },
        { name: 'ws', backends: [wsb.address] },
      ],
      routes: [
        { pool: 'echo' },
        { pool: 'ws', path_prefix: '/headers' },
        { listener: 'strict', pool: 'echo' },
      ],
      policies: { default: POLICY },
    });
  });

  test('Node ws echoes through wsgate over wss://, byte for byte', async () => {
    const ws = await connectWs(wssUrl(gw, '/echo'), { ca: pki.caPem });
    const sizes = [0, 1, 125, 126, 16383, 16384, 16385, 65535, 65536, 1 << 20, 5 << 20];
    await echoes(ws, sizes.map((n) => crypto.randomBytes(n)));
    await echoes(ws, ['hello', 'ü'.repeat(40000)]);
    // Many small messages in flight at once come back in order.
    const many = Array.from({ length: 200 }, (_, i) => `message ${i}`);
    for (const m of many) ws.send(m);
    const got = await collectMessages(ws, many.length);
    assert.deepEqual(got.map((m) => m.data.toString()), many);
    ws.close(1000, 'done');
    assert.equal((await waitClose(ws)).code, 1000);
    const line = await gw.waitForAccess((l) => l.path === '/echo');
    assert.equal(line.status, 101);
    assert.equal(line.termination, 'normal');
  });

  test('the backend sees X-Forwarded-Proto: wss', async () => {
    const ws = await connectWs(wssUrl(gw, '/headers'), { ca: pki.caPem });
    const [conn] = await wsb.waitConnections(1);
    assert.equal(conn.req.headers['x-forwarded-proto'], 'wss');
    ws.close();
    await waitClose(ws);
  });

  test('HTTP errors reach the client over TLS', async () => {
    const rejected = await expectRejected(wssUrl(gw, '/echo'), {
      ca: pki.caPem,
      protocolVersion: 8,
    });
    assert.equal(rejected.status, 426);
    assert.equal(rejected.headers['sec-websocket-version'], '13');
  });

  test('SNI picks the certificate; without SNI or for an unknown name the default is served',
    async () => {
      const port = gw.port();
      const byName = await sClient(port, ['-servername', 'alt.test']);
      assert.equal(servedSubject(byName.out), 'CN = alt.test');
      const local = await sClient(port, ['-servername', 'localhost']);
      assert.equal(servedSubject(local.out), 'CN = localhost');
      const none = await sClient(port, ['-noservername']);
      assert.equal(servedSubject(none.out), 'CN = localhost');
      const from = gw.mark();
      const unknown = await sClient(port, ['-servername', 'nope.test']);
      assert.equal(servedSubject(unknown.out), 'CN = localhost');
      const warn = await gw.waitForLog((l) => l.event === 'tls_sni_unknown', 15000, from);
      assert.equal(warn.sni, 'nope.test');
      assert.equal(warn.listener, 'public');
      // A Node client asking for alt.test verifies the alt.test certificate.
      const ws = await connectWs(wssUrl(gw, '/sni'), { ca: pki.caPem, servername: 'alt.test' });
      await echoes(ws, ['via alt.test']);
      ws.close();
      await waitClose(ws);
    });

  test('a client that rejects the certificate is logged with the reason (and the unknown SNI)',
    async () => {
      const port = gw.port();
      let from = gw.mark();
      const untrusted = await sClient(port, ['-servername', 'localhost', '-verify_return_error',
        '-CAfile', pki.otherCa()]);
      assert.match(untrusted.out, /verify error|certificate verify failed/);
      let line = await tlsFailure(gw, () => true, from);
      assert.match(line.error, /rejected the handshake with alert/);
      assert.match(line.error, /does not trust the certificate/);
      assert.equal(line.sni, 'localhost');

      from = gw.mark();
      await sClient(port, ['-servername', 'nope.test', '-verify_return_error', '-CAfile', pki.ca,
        '-verify_hostname', 'nope.test']);
      line = await tlsFailure(gw, () => true, from);
      assert.match(line.error, /SNI 'nope\.test' matched no certificate/);
    });

  test('TLS 1.0 and 1.1 are refused; min_version "1.3" refuses TLS 1.2', async () => {
    let from = gw.mark();
    const old = await sClient(gw.port(), ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    assert.match(old.out, /^New, \(NONE\), Cipher is \(NONE\)/m);
    assert.match(old.out, /alert protocol version/);
    let line = await tlsFailure(gw, () => true, from);
    assert.match(line.error, /^protocol version: .*minimum TLS 1\.2/);
    assert.equal(line.listener, 'public');

    const tls10 = await sClient(gw.port(), ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    assert.match(tls10.out, /^New, \(NONE\), Cipher is \(NONE\)/m);

    const ok12 = await sClient(gw.port(), ['-tls1_2']);
    assert.match(ok12.out, /^New, TLSv1\.2, /m);

    from = gw.mark();
    const strict12 = await sClient(gw.port('strict'), ['-tls1_2']);
    assert.match(strict12.out, /^New, \(NONE\), Cipher is \(NONE\)/m);
    line = await tlsFailure(gw, (l) => l.listener === 'strict', from);
    assert.match(line.error, /minimum TLS 1\.3/);
    const strict13 = await sClient(gw.port('strict'), ['-tls1_3']);
    assert.match(strict13.out, /^New, TLSv1\.3, /m);
    const ws = await connectWs(wssUrl(gw, '/strict', 'strict'), { ca: pki.caPem });
    await echoes(ws, ['over TLS 1.3 only']);
    ws.close();
    await waitClose(ws);
  });

  test('ALPN selects http/1.1 and ignores protocols wsgate does not speak', async () => {
    const both = await sClient(gw.port(), ['-alpn', 'h2,http/1.1']);
    assert.match(both.out, /ALPN protocol: http\/1\.1/);
    const h2 = await sClient(gw.port(), ['-alpn', 'h2']);
    assert.match(h2.out, /No ALPN negotiated/);
    assert.equal(servedSubject(h2.out), 'CN = localhost');
  });

  for (const version of ['-tls1_2', '-tls1_3']) {
    test(`sessions resume (${version.slice(1)}): -sess_out, then -sess_in is Reused`, async () => {
      const file = `${pki.dir}/session${version}.pem`;
      // TLS 1.3 tickets come after the handshake: keep the connection until one arrived.
      const first = await sClient(gw.port(), [version, '-sess_out', file], {
        waitFor: version === '-tls1_3' ? /Post-Handshake New Session Ticket/ : /Verify return/,
      });
      assert.match(first.out, /^New, /m);
      const second = await sClient(gw.port(), [version, '-sess_in', file]);
      assert.match(second.out, /^Reused, /m);
    });
  }

  test('plain HTTP sent to the TLS port: closed, and the log says why', async () => {
    const from = gw.mark();
    const raw = await openRaw(gw.port());
    const localPort = raw.socket.localPort;
    await raw.write(upgradeRequest({ path: '/plain' }));
    const data = await raw.waitEnd();
    assert.equal(data.length, 0, 'no answer on a TLS port');
    const line = await tlsFailure(gw, (l) => l.client_addr === `127.0.0.1:${localPort}`, from);
    assert.match(line.error, /^plain HTTP sent to a TLS port \("GET \/plain HTTP\/1\.1"\): .*wss:\/\//);
    const access = await gw.waitForAccess((l) => l.client_addr === `127.0.0.1:${localPort}`,
      15000, from);
    assert.equal(access.status, 0);
  });

  test('a client that never starts its TLS handshake is closed after handshake_timeout',
    async () => {
      const from = gw.mark();
      const raw = await openRaw(gw.port());
      const localPort = raw.socket.localPort;
      const started = Date.now();
      await raw.waitEnd(15000);
      assert.ok(Date.now() - started >= 1500, 'not before handshake_timeout (2s)');
      const access = await gw.waitForAccess((l) => l.client_addr === `127.0.0.1:${localPort}`,
        15000, from);
      assert.equal(access.termination, 'handshake_timeout');
    });
});

describe('backpressure over TLS', () => {
  let pki;
  let echo;
  let wsb;
  let gw;

  before(async () => {
    pki = makePki();
    const cert = pki.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
    echo = await startEcho();
    wsb = await startWsBackend({ echo: false, onConnection: (ws) => ws._socket.pause() });
    gw = await startTlsWsgate({
      listeners: [{ name: 'public', tls: { cert: cert.cert, key: cert.key } }],
      pools: [
        { name: 'echo', backends: [echo.address] },
        { name: 'slow', backends: [wsb.address] },
      ],
      routes: [{ pool: 'echo' }, { pool: 'slow', path_prefix: '/slow' }],
      policies: { default: { ...POLICY, handshake_timeout: '10s' } },
    });
  });

  test('a backend that does not read stops wsgate reading the TLS client; nothing is lost',
    { timeout: 120000 }, async (t) => {
      const ws = await connectWs(wssUrl(gw, '/slow'), { ca: pki.caPem });
      const [conn] = await wsb.waitConnections(1);
      const messages = Array.from({ length: 48 }, () => crypto.randomBytes(1 << 20));
      for (const m of messages) ws.send(m);
      const { read, growthMiB } = await untilReadingStops(gw.pid, 48 << 20);
      t.diagnostic(`paused backend: wsgate read ${read} bytes, RSS +${growthMiB.toFixed(2)} MiB`);
      assert.ok(read < 40 << 20, `wsgate read ${read} bytes while the backend read nothing`);
      assert.ok(growthMiB < 16, `wsgate RSS grew by ${growthMiB.toFixed(1)} MiB`);
      conn._socket.resume();
      const got = await collectMessages(conn, messages.length, 60000);
      got.forEach((m, i) => assert.equal(sha256(m.data), sha256(messages[i]), `message ${i}`));
      ws.close(1000);
      await waitClose(ws);
    });

  test('a TLS client that does not read stops wsgate reading the backend; nothing is lost',
    { timeout: 120000 }, async (t) => {
      const TOTAL = 64 << 20;
      const SIZE = 64 << 10;
      const ws = await connectWs(wssUrl(gw, `/flood?bytes=${TOTAL}&size=${SIZE}`),
        { ca: pki.caPem });
      ws._socket.pause();
      const { read, growthMiB } = await untilReadingStops(gw.pid, TOTAL);
      t.diagnostic(`paused client: wsgate read ${read} bytes, RSS +${growthMiB.toFixed(2)} MiB`);
      assert.ok(read < 48 << 20, `wsgate read ${read} bytes while the client read nothing`);
      assert.ok(growthMiB < 16, `wsgate RSS grew by ${growthMiB.toFixed(1)} MiB`);
      ws._socket.resume();
      const got = await collectMessages(ws, TOTAL / SIZE, 60000);
      const pattern = Buffer.alloc(SIZE);
      for (let i = 0; i < SIZE; ++i) pattern[i] = i & 0xff;
      got.forEach((m, i) => assert.ok(m.data.equals(pattern), `message ${i}`));
      ws.close(1000);
      await waitClose(ws);
    });
});

describe('over capacity over TLS', () => {
  test('the 503 written before the TLS handshake completes reaches the client', async () => {
    const pki = makePki();
    const cert = pki.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
    const echo = await startEcho();
    const gw = await startTlsWsgate({
      server: { max_connections: 1 },
      listeners: [{ name: 'public', tls: { cert: cert.cert, key: cert.key } }],
      pools: [{ name: 'echo', backends: [echo.address] }],
      policies: { default: POLICY },
    });
    const first = await connectWs(wssUrl(gw, '/one'), { ca: pki.caPem });
    const rejected = await expectRejected(wssUrl(gw, '/two'), { ca: pki.caPem });
    assert.equal(rejected.status, 503);
    assert.match(rejected.body, /max_connections/);
    await echoes(first, ['still here']);
    first.close();
    await waitClose(first);
    await gw.stop();
  });
});

describe('wss:// backends', () => {
  let pki;
  let main;
  let alt;
  let echo;
  let backend;
  let altBackend;
  let mtls;
  let gw;

  before(async () => {
    pki = makePki();
    main = pki.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
    alt = pki.issue('alt.test');
    const client = pki.issue('wsgate-client', { dns: ['wsgate-client'] });
    echo = await startEcho();
    backend = await startWssBackend({ cert: main.cert, key: main.key });
    altBackend = await startWssBackend({ cert: alt.cert, key: alt.key });
    mtls = await startWssBackend({ cert: main.cert, key: main.key, ca: pki.ca, requestCert: true });
    const other = pki.otherCa();
    gw = await startTlsWsgate({
      pools: [
        { name: 'wss', backends: [backend.url('localhost')], ca_file: pki.ca },
        { name: 'ip', backends: [`wss://127.0.0.1:${backend.port}`], ca_file: pki.ca },
        { name: 'untrusted', backends: [backend.url('localhost')], ca_file: other },
        { name: 'system', backends: [backend.url('localhost')] },
        { name: 'mismatch', backends: [`wss://localhost:${altBackend.port}`], ca_file: pki.ca },
        { name: 'plain', backends: [`wss://localhost:${echo.port}`], ca_file: pki.ca },
        {
          name: 'mtls',
          backends: [mtls.url('localhost')],
          ca_file: pki.ca,
          client_cert: client.cert,
          client_key: client.key,
        },
        { name: 'nocert', backends: [mtls.url('localhost')], ca_file: pki.ca },
      ],
      routes: [
        { pool: 'wss', path_prefix: '/' },
        { pool: 'ip', path_prefix: '/ip' },
        { pool: 'untrusted', path_prefix: '/untrusted' },
        { pool: 'system', path_prefix: '/system' },
        { pool: 'mismatch', path_prefix: '/mismatch' },
        { pool: 'plain', path_prefix: '/plain' },
        { pool: 'mtls', path_prefix: '/mtls' },
        { pool: 'nocert', path_prefix: '/nocert' },
      ],
      policies: { default: POLICY },
    });
  });

  test('echo through a wss:// backend verified with ca_file (by name and by IP)', async () => {
    for (const p of ['/by-name', '/ip']) {
      const ws = await connectWs(gw.url(p));
      await echoes(ws, ['hello', crypto.randomBytes(70000), crypto.randomBytes(3 << 20)]);
      ws.close(1000);
      assert.equal((await waitClose(ws)).code, 1000);
    }
    const conn = backend.connections.find((c) => c.req.url === '/by-name');
    assert.equal(conn.req.headers['x-forwarded-proto'], 'ws');
    assert.equal(conn.req.socket.servername, 'localhost', 'SNI is the backend host');
  });

  for (const [p, pattern] of [
    ['/untrusted', /certificate failed verification: .*trusting .*other-ca\.crt/],
    ['/system', /certificate failed verification: .*trusting the system store/],
    ['/mismatch', /certificate failed verification: .*mismatch.*expected name 'localhost'/],
    ['/plain', /does not speak TLS/],
  ]) {
    test(`a backend that fails TLS (${p.slice(1)}) gets 502 and a logged reason`, async () => {
      const from = gw.mark();
      const rejected = await expectRejected(gw.url(p));
      assert.equal(rejected.status, 502);
      const line = await tlsFailure(gw, (l) => l.backend !== undefined, from);
      assert.match(line.error, pattern);
    });
  }

  test('mTLS: wsgate presents client_cert; without it the backend refuses', async () => {
    const ws = await connectWs(gw.url('/mtls'));
    await echoes(ws, ['mutual']);
    const conn = mtls.connections.at(-1);
    assert.equal(conn.peerCert.subject.CN, 'wsgate-client');
    ws.close();
    await waitClose(ws);
    const from = gw.mark();
    const rejected = await expectRejected(gw.url('/nocert'));
    assert.equal(rejected.status, 502);
    const line = await tlsFailure(gw, () => true, from);
    assert.match(line.error, /requires a client certificate \(set client_cert and client_key/);
  });

  after(async () => {
    await backend.close();
    await altBackend.close();
    await mtls.close();
  });
});

describe('certificate reload (SIGHUP)', () => {
  test('new handshakes get the new certificate; an open connection keeps echoing', async () => {
    const pki = makePki();
    const before1 = pki.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'], org: 'first' });
    const after1 = pki.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'], org: 'second' });
    // The config names fixed paths; the files are swapped under it.
    const cert = `${pki.dir}/live.crt`;
    const key = `${pki.dir}/live.key`;
    copyFileSync(before1.cert, cert);
    copyFileSync(before1.key, key);
    const echo = await startEcho();
    const opts = {
      listeners: [{ name: 'public', tls: { cert, key } }],
      pools: [{ name: 'echo', backends: [echo.address] }],
      policies: { default: POLICY },
    };
    const gw = await startTlsWsgate(opts);
    assert.equal(servedSubject((await sClient(gw.port(), [])).out), 'CN = localhost, O = first');
    const session = `${pki.dir}/reload-session.pem`;
    await sClient(gw.port(), ['-tls1_3', '-sess_out', session],
      { waitFor: /Post-Handshake New Session Ticket/ });

    const ws = await connectWs(wssUrl(gw, '/long'), { ca: pki.caPem });
    await echoes(ws, ['before the reload']);

    copyFileSync(after1.cert, cert);
    copyFileSync(after1.key, key);
    const reloaded = await reloadTls(gw, opts);
    assert.equal(reloaded.event, 'config_reloaded');
    await echoes(ws, ['after the reload', crypto.randomBytes(200000)]);
    assert.equal(servedSubject((await sClient(gw.port(), [])).out), 'CN = localhost, O = second');
    // The ticket keys survive the reload: a session from before resumes.
    const resumed = await sClient(gw.port(), ['-tls1_3', '-sess_in', session]);
    assert.match(resumed.out, /^Reused, /m);
    const fresh = await connectWs(wssUrl(gw, '/fresh'), { ca: pki.caPem });
    await echoes(fresh, ['new connection, new certificate']);
    assert.equal(fresh._socket.getPeerCertificate().subject.O, 'second');

    // A certificate that does not load rejects the reload; the running one stays.
    const from = gw.mark();
    const failed = await reloadTls(gw, {
      ...opts,
      listeners: [{ name: 'public', tls: { cert: `${pki.dir}/missing.crt`, key } }],
    });
    assert.equal(failed.event, 'config_reload_failed');
    assert.match(failed.error, /listeners\[0\]\.tls\.cert: cannot read '.*missing\.crt'/);
    await gw.waitForLog((l) => l.event === 'config_reload_ignored', 15000, from);
    assert.equal(servedSubject((await sClient(gw.port(), [])).out), 'CN = localhost, O = second');
    await echoes(ws, ['still the first connection']);
    await echoes(fresh, ['and the second']);
    ws.close(1000);
    fresh.close(1000);
    await waitClose(ws);
    await waitClose(fresh);
    await gw.stop();
  });

  test('wsgate does not start with a certificate that does not load', async () => {
    const pki = makePki();
    const cert = pki.issue('localhost');
    const wrongKey = pki.issue('other');
    const echo = await startEcho();
    await assert.rejects(
      startTlsWsgate({
        listeners: [{ name: 'public', tls: { cert: cert.cert, key: wrongKey.key } }],
        pools: [{ name: 'echo', backends: [echo.address] }],
        readyTimeoutMs: 10000,
      }),
      /tls_load_failed[\s\S]*listeners\[0\]\.tls\.key: the key in .* does not match/,
    );
  });
});
