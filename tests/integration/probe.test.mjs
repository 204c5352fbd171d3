// `wsgate probe URL`: the troubleshooting client, run as the real binary against wsgate and
// against test servers that produce each failure of the troubleshooting guide. Every test
// checks the exit status (0 healthy, 1 handshake refused or invalid, 2 usage, 3 could not
// connect or ended abnormally) and the explanation printed (text, and --json for some).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import * as h from './lib/harness.mjs';
import { makePki, startWssBackend } from './lib/tls.mjs';

after(() => h.stopAll());

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptFor = (key) => crypto.createHash('sha1').update(key + WS_GUID).digest('base64');

// Runs `wsgate probe ARGS` to its exit; with --json, `json` is the parsed object.
async function probe(args, { timeoutMs = 20000 } = {}) {
  const proc = spawn(h.WSGATE_BIN, ['probe', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const [code] = await h.withTimeout(once(proc, 'close'), timeoutMs, `wsgate probe ${args.join(' ')}`)
    .catch((e) => {
      proc.kill('SIGKILL');
      e.message += `\n--- stdout:\n${out}\n--- stderr:\n${err}`;
      throw e;
    });
  const result = { code, out, err };
  // PROBE_SHOW=FILE appends every run to FILE (the README's examples come from such runs).
  if (process.env.PROBE_SHOW) appendFileSync(process.env.PROBE_SHOW, `$ wsgate probe ${args.join(' ')}\n${out}${err}[exit ${code}]\n\n`);
  if (args.includes('--json')) result.json = JSON.parse(out);
  return result;
}

const step = (json, name) => json.steps.find((s) => s.step === name);

// Asserts the exit status and that stdout matches every pattern; shows the output on failure.
function expectProbe(result, code, ...patterns) {
  const show = `\n--- stdout:\n${result.out}\n--- stderr:\n${result.err}`;
  assert.equal(result.code, code, `exit status${show}`);
  for (const p of patterns) assert.match(result.out, p, show);
}

// A TCP server that reads a request head and answers with respond(head, key): a string (the
// connection stays open when keepOpen) or null to hang up.
async function httpServer(respond, { keepOpen = false } = {}) {
  return h.startTcpBackend((socket) => {
    let head = '';
    socket.on('data', (d) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? '';
      const answer = respond(head, key);
      if (answer === null) socket.destroy();
      else if (keepOpen) socket.write(answer);
      else socket.end(answer);
    });
  });
}

const response = (status, reason, headers = {}, body = '') =>
  `HTTP/1.1 ${status} ${reason}\r\n` +
  Object.entries({ ...headers, 'Content-Length': Buffer.byteLength(body) })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('') + `\r\n${body}`;

const switching = (key, headers = {}) =>
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
  Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';

describe('probe: usage', () => {
  it('exits 2 with the usage for a missing URL, a bad scheme, an unknown option or a bad value', async () => {
    for (const [args, why] of [
      [[], /probe needs a ws:\/\/ or wss:\/\/ URL/],
      [['http://127.0.0.1/'], /the URL must start with ws:\/\/ or wss:\/\//],
      [['--frobnicate', 'ws://127.0.0.1/'], /unknown option --frobnicate/],
      [['--count', 'many', 'ws://127.0.0.1/'], /bad value for --count/],
      [['--hold', '1 minute', 'ws://127.0.0.1/'], /bad value for --hold/],
      [['--header', 'no colon', 'ws://127.0.0.1/'], /--header needs 'Name: value'/],
    ]) {
      const r = await probe(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, why);
      assert.match(r.err, /usage: wsgate probe \[options\] URL/);
    }
  });

  it('prints the usage with --help and exits 0', async () => {
    const r = await probe(['--help']);
    expectProbe(r, 0, /--reconnect N/, /exit status: 0 healthy, 1 handshake refused or invalid/);
  });
});

describe('probe: could not connect', () => {
  it('explains a refused connect (exit 3, text and --json)', async () => {
    const port = await h.closedPort();
    const r = await probe([`ws://127.0.0.1:${port}/`]);
    expectProbe(r, 3, new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}: nothing listens on that port`),
      /result: connection failed \(exit 3\)/);
    const j = await probe(['--json', `ws://127.0.0.1:${port}/`]);
    assert.equal(j.code, 3);
    assert.equal(j.json.exit_code, 3);
    assert.equal(j.json.healthy, false);
    assert.deepEqual(step(j.json, 'resolve').addresses, [`127.0.0.1:${port}`]);
    assert.equal(step(j.json, 'connect').ok, false);
    assert.match(j.json.diagnosis, /could not connect: connection refused/);
  });

  it('explains a connect that times out (--timeout; a listener whose accept queue is full drops the SYN)', async () => {
    const script = [
      'import socket, sys',
      "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
      'port = s.getsockname()[1]',
      'fill = []',
      'for _ in range(2):',
      "    c = socket.socket(); c.setblocking(False); c.connect_ex(('127.0.0.1', port)); fill.append(c)",
      'print(port, flush=True)',
      'sys.stdin.read()',
    ].join('\n');
    const py = spawn(h.PYTHON, ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const [line] = await h.withTimeout(once(py.stdout.setEncoding('utf8'), 'data'), 10000, 'python listener');
      const port = Number(line.trim());
      const r = await probe(['--timeout', '500ms', `ws://127.0.0.1:${port}/`]);
      expectProbe(r, 3, new RegExp(`connect to 127\\.0\\.0\\.1:${port} timed out: a firewall drops the packets`));
    } finally {
      py.kill('SIGKILL');
    }
  });

  it('explains a name that does not resolve', async () => {
    const r = await probe(['ws://no-such-host.invalid/']);
    expectProbe(r, 3, /cannot resolve 'no-such-host\.invalid'.*check the host name and the DNS/);
  });

  it('explains a server that accepts TCP and hangs up without an HTTP response', async () => {
    const server = await httpServer(() => null);
    const r = await probe([`ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 3, /closed the connection without an HTTP response/);
  });
});

describe('probe: TLS', () => {
  let pki;
  let good;
  // Servers of this suite, closed even when a test fails (the harness does not track them).
  const servers = [];
  const wss = async (pair) => {
    const server = await startWssBackend(pair);
    servers.push(server);
    return server;
  };
  after(async () => {
    for (const s of servers) await s.close().catch(() => {});
  });
  before(() => {
    pki = makePki();
    good = pki.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
  });

  // A certificate for localhost/127.0.0.1 that expired in 2020, signed by the test CA.
  function expiredCert() {
    const dir = pki.dir;
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-out', 'expired.key'], { cwd: dir, stdio: 'ignore' });
    execFileSync('openssl', ['req', '-new', '-key', 'expired.key', '-out', 'expired.csr',
      '-subj', '/CN=localhost'], { cwd: dir, stdio: 'ignore' });
    writeFileSync(path.join(dir, 'index.txt'), '');
    writeFileSync(path.join(dir, 'serial'), '2000\n');
    writeFileSync(path.join(dir, 'ca.cnf'), [
      '[ca]', 'default_ca = test', '[test]', 'database = index.txt', 'new_certs_dir = .',
      'serial = serial', 'default_md = sha256', 'policy = any', 'unique_subject = no',
      'x509_extensions = leaf', '[any]', 'commonName = supplied', '[leaf]',
      'subjectAltName = DNS:localhost,IP:127.0.0.1', 'basicConstraints = CA:FALSE',
      'extendedKeyUsage = serverAuth', ''].join('\n'));
    execFileSync('openssl', ['ca', '-batch', '-config', 'ca.cnf', '-in', 'expired.csr',
      '-out', 'expired.crt', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-notext',
      '-startdate', '20200101000000Z', '-enddate', '20200102000000Z'], { cwd: dir, stdio: 'ignore' });
    return { cert: path.join(dir, 'expired.crt'), key: path.join(dir, 'expired.key') };
  }

  it('shows the TLS version, cipher and certificate of a healthy wss:// echo', async () => {
    const server = await wss(good);
    const r = await probe(['--cacert', pki.ca, `wss://127.0.0.1:${server.port}/`]);
    expectProbe(r, 0, /tls +TLSv1\.[23] \S+, ALPN http\/1\.1, verified/,
      /certificate: subject CN = localhost; SANs DNS:localhost, IP:127\.0\.0\.1; issuer CN = wsgate test CA; expires /,
      /3\/3 echoed/, /result: healthy \(exit 0\)/);
    const j = await probe(['--json', '--cacert', pki.ca, `wss://127.0.0.1:${server.port}/`]);
    const tls = step(j.json, 'tls');
    assert.equal(j.code, 0);
    assert.equal(tls.verified, true);
    assert.equal(tls.subject, 'CN = localhost');
    assert.equal(tls.issuer, 'CN = wsgate test CA');
    assert.match(tls.version, /^TLSv1\.[23]$/);
    assert.equal(tls.alpn, 'http/1.1');
    await server.close();
  });

  it('names an unknown CA and suggests --cacert; --insecure goes on', async () => {
    const server = await wss(good);
    const r = await probe([`wss://127.0.0.1:${server.port}/`]);
    expectProbe(r, 3, /unknown CA: the certificate's issuer is not trusted.*pass the CA with --cacert FILE/,
      /certificate: subject CN = localhost/);
    const j = await probe(['--json', `wss://127.0.0.1:${server.port}/`]);
    assert.equal(j.code, 3);
    assert.equal(step(j.json, 'tls').ok, false);
    assert.match(step(j.json, 'tls').error, /unable to get local issuer certificate/);
    const k = await probe(['--insecure', `wss://127.0.0.1:${server.port}/`]);
    expectProbe(k, 0, /certificate NOT verified \(--insecure\)/);
    await server.close();
  });

  it('names an expired certificate', async () => {
    const server = await wss(expiredCert());
    const r = await probe(['--cacert', pki.ca, `wss://127.0.0.1:${server.port}/`]);
    expectProbe(r, 3, /expired certificate \(certificate has expired\): renew the server's certificate/,
      /expires Jan  2 00:00:00 2020 GMT/);
    await server.close();
  });

  it('names a name mismatch (and --sni picks the name to verify)', async () => {
    const other = pki.issue('other.example', { dns: ['other.example'] });
    const server = await wss(other);
    const r = await probe(['--cacert', pki.ca, `wss://127.0.0.1:${server.port}/`]);
    expectProbe(r, 3, /name mismatch: the certificate is not valid for '127\.0\.0\.1'/,
      /SANs DNS:other\.example/);
    const ok = await probe(['--cacert', pki.ca, '--sni', 'other.example', `wss://127.0.0.1:${server.port}/`]);
    expectProbe(ok, 0, /verified/);
    await server.close();
  });

  it('names a handshake alert (a server that only speaks TLS 1.1)', async () => {
    const server = tls.createServer({ cert: good.certPem, key: good.keyPem, minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
    server.on('tlsClientError', () => {});
    servers.push({ close: () => new Promise((resolve) => server.close(() => resolve())) });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const r = await probe(['--cacert', pki.ca, `wss://127.0.0.1:${server.address().port}/`]);
    expectProbe(r, 3, /TLS handshake failed: the server sent an alert: .*alert protocol version/);
  });

  it('explains a wss:// URL on a port that does not speak TLS', async () => {
    const server = await h.startTcpBackend((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const r = await probe(['--cacert', pki.ca, `wss://127.0.0.1:${server.port}/`]);
    expectProbe(r, 3, /TLS handshake failed: the server does not speak TLS on this port \(try ws:\/\/\)/);
  });
});

describe('probe: against wsgate', () => {
  let gw;
  let backend;
  before(async () => {
    backend = await h.startWsBackend({
      onConnection(ws, req) {
        if (req.url.startsWith('/close/')) {
          const code = Number(req.url.split('/')[2]);
          const reason = code === 1009 ? 'message over the 1024-byte limit' : `closing with ${code}`;
          ws.once('message', () => ws.close(code, reason));
        }
      },
    });
    const dead = await h.closedPort();
    gw = await h.startWsgate({
      pools: [
        { name: 'node', backends: [backend.address] },
        { name: 'dead', backends: [`127.0.0.1:${dead}`] },
      ],
      routes: [
        { path_prefix: '/chat', pool: 'node' },
        { path_prefix: '/close', pool: 'node' },
        { path_prefix: '/strict', pool: 'node', policy: 'strict' },
        { path_prefix: '/idle', pool: 'node', policy: 'idle' },
        { path_prefix: '/dead', pool: 'dead' },
        { path_prefix: '/small', pool: 'node', policy: 'small' },
        { path_prefix: '/rate', pool: 'node', policy: 'rate' },
      ],
      policies: {
        strict: { allowed_origins: ['https://good.example'] },
        idle: { idle_timeout: '1s', ping_interval: '0s' },
        small: { max_frame_size: '128B', max_message_size: '128B' },
        rate: { max_messages_per_second: 2 },
      },
    });
  });

  it('reports a healthy echo through wsgate: messages echoed, ping RTT, clean close', async () => {
    const r = await probe(['--count', '4', gw.url('/chat')]);
    expectProbe(r, 0, /response +HTTP\/1\.1 101 Switching Protocols \(upgraded\)/,
      /messages +sent 4 text messages 'wsgate probe', 4\/4 echoed/,
      /ping +rtt min\/avg\/max [\d.]+\/[\d.]+\/[\d.]+ ms over 4 pings/,
      /messages[^\n]*\n[^\n]*ping[^\n]*\n[^\n]*close/,
      /close +sent 1000, the server answered 1000 'probe done' \(1000 normal closure/,
      /result: healthy \(exit 0\): upgraded, 4\/4 messages echoed/);
    const j = await probe(['--json', '--send', 'hello', gw.url('/chat')]);
    assert.equal(j.code, 0);
    assert.equal(j.json.healthy, true);
    assert.equal(step(j.json, 'response').status, 101);
    assert.equal(step(j.json, 'messages').echoed, 3);
    const ping = step(j.json, 'ping');
    assert.ok(ping.rtt_min_ms <= ping.rtt_avg_ms && ping.rtt_avg_ms <= ping.rtt_max_ms);
    assert.equal(step(j.json, 'close').code, 1000);
    assert.equal(backend.connections.at(-1).inbox.length >= 0, true);
  });

  it('400: names the header the server objected to', async () => {
    const r = await probe(['--header', 'Sec-WebSocket-Key: not-a-key', gw.url('/chat')]);
    expectProbe(r, 1, /HTTP\/1\.1 400 Bad Request/,
      /body: missing or invalid Sec-WebSocket-Key/,
      /400 Bad Request: the server found the upgrade request malformed.*it objected to the Sec-WebSocket-Key header/,
      /result: handshake failed \(exit 1\)/);
    const j = await probe(['--json', '--header', 'Upgrade: h2c', gw.url('/chat')]);
    assert.equal(j.code, 1);
    assert.equal(step(j.json, 'response').status, 400);
    assert.match(step(j.json, 'response').body, /Upgrade header/);
    assert.match(j.json.diagnosis, /objected to the Upgrade header/);
  });

  it('403: an Origin outside allowed_origins, with the --origin advice', async () => {
    const r = await probe(['--origin', 'https://evil.example', gw.url('/strict')]);
    expectProbe(r, 1, /HTTP\/1\.1 403 Forbidden/, /body: origin 'https:\/\/evil\.example' is not allowed/,
      /403 Forbidden: refused by policy: the Origin is not allowed \(CORS\) or the client is not authorized/,
      /Origin 'https:\/\/evil\.example' was sent: try the origin your page is served from with --origin/);
    const j = await probe(['--json', '--origin', 'https://evil.example', gw.url('/strict')]);
    assert.equal(j.code, 1);
    assert.equal(step(j.json, 'response').status, 403);
    const ok = await probe(['--origin', 'https://good.example', gw.url('/strict')]);
    expectProbe(ok, 0, /3\/3 echoed/);
  });

  it('404: no route for the path', async () => {
    const r = await probe([gw.url('/nowhere')]);
    expectProbe(r, 1, /HTTP\/1\.1 404 Not Found/, /body: no route for host/,
      /404 Not Found: no WebSocket endpoint at this path \(or no route for this host\)/);
  });

  it('426: another WebSocket version', async () => {
    const r = await probe(['--header', 'Sec-WebSocket-Version: 8', gw.url('/chat')]);
    expectProbe(r, 1, /426 Upgrade Required: the server wants another WebSocket version \(Sec-WebSocket-Version: 13\); the request offered version 8/);
  });

  it('5xx: wsgate answers 502 when no backend accepts', async () => {
    const r = await probe([gw.url('/dead')]);
    expectProbe(r, 1, /HTTP\/1\.1 502 Bad Gateway/, /body: no backend of pool 'dead' accepted the connection/,
      /502 Bad Gateway: server exception during the upgrade: check the application server's logs \(a gateway answered/);
  });

  it('--hold: wsgate idle_timeout closes after 1 s of silence and the probe names it', async () => {
    const r = await probe(['--count', '1', '--hold', '10s', gw.url('/idle')]);
    expectProbe(r, 3, /closed after 1\.\d s of silence: an intermediary's idle timeout; send pings more often than that/,
      /1001 going away/, /reason 'idle timeout'/);
    const j = await probe(['--json', '--count', '0', '--hold', '10s', gw.url('/idle')]);
    const close = step(j.json, 'close');
    assert.equal(j.code, 3);
    assert.equal(close.closed_by, 'server');
    assert.equal(close.code, 1001);
    assert.equal(close.idle_timeout, true);
    assert.ok(close.silence_s >= 0.9 && close.silence_s < 3, `silence ${close.silence_s}`);
  });

  it('wsgate closes an oversized message with 1009 and a fast sender with 4002', async () => {
    const big = await probe(['--send', 'x'.repeat(200), gw.url('/small')]);
    expectProbe(big, 3, /with 1009 message too big: a message was over the server's size limit; send smaller messages/);
    const fast = await probe(['--count', '20', gw.url('/rate')]);
    expectProbe(fast, 3, /with 4002 rate limit exceeded: back off before reconnecting/);
  });

  it('--interval paces the messages', async () => {
    const start = Date.now();
    const r = await probe(['--count', '3', '--interval', '150ms', gw.url('/chat')]);
    expectProbe(r, 0, /3\/3 echoed/);
    assert.ok(Date.now() - start >= 300, 'two pauses of 150 ms');
  });

  it('names the close codes a server sends (1001, 1007, 1008, 1009 with its limit, 1011, 1012, 1013, 1014, 4001, 4002, 4003)', async () => {
    const expected = {
      1001: /1001 going away: .*reconnect/,
      1007: /1007 invalid payload: a text message was not valid UTF-8/,
      1012: /1012 service restart: .*reconnect with backoff/,
      1008: /1008 policy violation/,
      1009: /1009 message too big: .*\(the server's limit, as its reason says: 'message over the 1024-byte limit'\)/,
      1011: /1011 internal error: .*check its logs/,
      1013: /1013 try again later: .*reconnect with backoff/,
      1014: /1014 bad gateway: the server's upstream failed/,
      4001: /4001 invalid auth token: refresh the token/,
      4002: /4002 rate limit exceeded: back off/,
      4003: /4003 session expired: re-authenticate/,
    };
    for (const [code, meaning] of Object.entries(expected)) {
      const r = await probe(['--count', '2', gw.url(`/close/${code}`)]);
      expectProbe(r, 3, new RegExp(`the server closed the connection while waiting for pong .* with ${code} `),
        meaning, code === '1009' ? /message over the 1024-byte limit/ : new RegExp(`reason 'closing with ${code}'`));
    }
    const j = await probe(['--json', gw.url('/close/4001')]);
    assert.equal(j.code, 3);
    assert.equal(step(j.json, 'close').code, 4001);
    assert.match(step(j.json, 'close').meaning, /refresh the token/);
  });
});

describe('probe: handshake refusals from other servers', () => {
  it('401 shows WWW-Authenticate and the token advice', async () => {
    const server = await httpServer(() => response(401, 'Unauthorized',
      { 'WWW-Authenticate': 'Bearer realm="chat"' }, 'token expired'));
    const r = await probe([`ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 1, /HTTP\/1\.1 401 Unauthorized/,
      /401 Unauthorized: authentication failed: the token or credentials are missing or invalid/,
      /WWW-Authenticate: Bearer realm="chat"/, /--header 'Authorization: Bearer TOKEN'/);
    const j = await probe(['--json', `ws://127.0.0.1:${server.port}/`]);
    assert.equal(step(j.json, 'response').headers['WWW-Authenticate'], 'Bearer realm="chat"');
    assert.equal(step(j.json, 'response').body, 'token expired');
  });

  it('403 without an Origin suggests --origin', async () => {
    const server = await httpServer(() => response(403, 'Forbidden', {}, 'forbidden'));
    const r = await probe([`ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 1, /no Origin was sent: try --origin https:\/\/your\.site/);
  });

  it('429 and 503 show Retry-After', async () => {
    const s429 = await httpServer(() => response(429, 'Too Many Requests', { 'Retry-After': '7' }));
    const r = await probe([`ws://127.0.0.1:${s429.port}/`]);
    expectProbe(r, 1, /429 Too Many Requests: rate limited.*Retry-After: 7: wait that long before reconnecting/);
    const s503 = await httpServer(() => response(503, 'Service Unavailable', { 'Retry-After': '30' }));
    const u = await probe(['--json', `ws://127.0.0.1:${s503.port}/`]);
    assert.equal(u.code, 1);
    assert.match(u.json.diagnosis, /503 Service Unavailable: the server is overloaded, draining or has no healthy backend; Retry-After: 30/);
    assert.equal(step(u.json, 'response').headers['Retry-After'], '30');
  });

  it('500 (chunked body): a server exception during the upgrade', async () => {
    const server = await httpServer(() => 'HTTP/1.1 500 Internal Server Error\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n9\r\nTraceback\r\n0\r\n\r\n');
    const r = await probe([`ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 1, /body: Traceback/,
      /500 Internal Server Error: server exception during the upgrade: check the application server's logs/);
  });

  it('200: something on the path does not speak WebSocket or stripped the Upgrade headers', async () => {
    const server = await httpServer(() => response(200, 'OK', { 'Content-Type': 'text/html' }, '<html>hi</html>'));
    const r = await probe([`ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 1, /HTTP\/1\.1 200 OK/,
      /200 OK: something on the path does not speak WebSocket or stripped the Upgrade headers: a proxy, firewall or load balancer without WebSocket configuration/);
  });

  it('a 101 with a wrong Sec-WebSocket-Accept', async () => {
    const server = await httpServer(() => switching('dGhlIHNhbXBsZSBub25jZQ=='), { keepOpen: true });
    const r = await probe([`ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 1, /invalid 101: wrong Sec-WebSocket-Accept: got 's3pPLMBiTxaQ9kYGzzhZRbK\+xOo=', expected '[^']+'/,
      /result: handshake failed \(exit 1\)/);
  });

  it('a 101 with a subprotocol or an extension that was not offered', async () => {
    const proto = await httpServer((_, key) => switching(key, { 'Sec-WebSocket-Protocol': 'chat' }), { keepOpen: true });
    const r = await probe(['--subprotocol', 'v2', `ws://127.0.0.1:${proto.port}/`]);
    expectProbe(r, 1, /invalid 101: the server chose subprotocol 'chat' which the probe did not offer/);
    const ext = await httpServer((_, key) => switching(key, { 'Sec-WebSocket-Extensions': 'permessage-deflate' }), { keepOpen: true });
    const j = await probe(['--json', `ws://127.0.0.1:${ext.port}/`]);
    assert.equal(j.code, 1);
    assert.match(j.json.diagnosis, /the server chose extension 'permessage-deflate' which the probe did not offer/);
  });

  it('accepts an offered subprotocol and reports it', async () => {
    const server = await h.startWsBackend({ handleProtocols: (set) => (set.has('v2') ? 'v2' : false) });
    const r = await probe(['--subprotocol', 'v1', '--subprotocol', 'v2', `ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 0, /subprotocol: v2/);
    assert.equal(server.connections[0].req.headers['sec-websocket-protocol'], 'v1, v2');
  });
});

describe('probe: established connections', () => {
  it('--hold: a server that drops the TCP connection after 1 s of silence (1006)', async () => {
    const server = await h.startWsBackend({
      onConnection(ws) {
        let timer;
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(() => ws._socket.destroy(), 1000);
        };
        ws.on('message', arm);
        ws.on('ping', arm);
        arm();
      },
    });
    const r = await probe(['--count', '1', '--hold', '10s', `ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 3, /closed after 1\.\d s of silence: an intermediary's idle timeout; send pings more often than that/,
      /without a close frame: 1006 abnormal closure/);
  });

  it('--hold answers the server\'s pings and ends with a clean close', async () => {
    let pongs = 0;
    const server = await h.startWsBackend({
      onConnection(ws) {
        ws.on('pong', () => { pongs += 1; });
        ws.ping('are you there');
        ws.ping('still there');
      },
    });
    const r = await probe(['--count', '1', '--hold', '300ms', `ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 0, /hold +stayed connected and idle for 0\.3 s; answered 2 server pings/,
      /close +sent 1000, the server answered 1000/);
    assert.equal(pongs, 2);
  });

  it('reports messages that are not echoes', async () => {
    const server = await h.startWsBackend({
      echo: false,
      onConnection(ws) { ws.on('message', () => ws.send('{"type":"welcome"}')); },
    });
    const r = await probe(['--count', '2', `ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 0, /0\/2 echoed, 2 other received/, /received: \{"type":"welcome"\}/);
  });

  it('explains a 101 followed by a dropped connection (1006)', async () => {
    const server = await httpServer((_, key) => switching(key));
    const r = await probe([`ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 3, /the connection ended while waiting for pong .* without a close frame: 1006 abnormal closure/);
  });

  it('explains a server that breaks the protocol (a masked server frame)', async () => {
    const server = await httpServer((_, key) => Buffer.concat([Buffer.from(switching(key)),
      Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x60, 0x60])]), { keepOpen: true });
    const r = await probe([`ws://127.0.0.1:${server.port}/`]);
    expectProbe(r, 3, /the server broke the WebSocket protocol: server frame masked/);
  });
});

describe('probe: --reconnect', () => {
  it('retries with exponential backoff and full jitter, printing each wait within its bound', async () => {
    const port = await h.closedPort();
    const r = await probe(['--reconnect', '2', '--max-backoff', '1500ms', `ws://127.0.0.1:${port}/`]);
    expectProbe(r, 3, /=> attempt 3: exit 3: could not connect/);
    const waits = [...r.out.matchAll(/reconnect (\d)\/2 in ([\d.]+) s \(full jitter: random in 0\.\.([\d.]+) s/g)];
    assert.equal(waits.length, 2, r.out);
    assert.deepEqual(waits.map((w) => Number(w[3])), [1, 1.5]);
    for (const w of waits) assert.ok(Number(w[2]) >= 0 && Number(w[2]) <= Number(w[3]), w[0]);
    assert.equal((r.out.match(/^probe ws:/gm) ?? []).length, 3);
  });

  it('stops at the first healthy attempt (--json lists the attempts and waits)', async () => {
    // The first connection is refused with 503; the second one is upgraded.
    let n = 0;
    const server = await httpServer((_, key) => (++n === 1
      ? response(503, 'Service Unavailable', { 'Retry-After': '1' }) : switching(key)), { keepOpen: true });
    server.server.on('connection', (s) => s.on('data', (d) => {
      // After the 101: answer the probe's close frame (masked, opcode 8) with a close 1000.
      if (n >= 2 && d.length > 0 && (d[0] & 0x0f) === 8) s.end(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
      else if (n >= 2 && d.length > 0 && (d[0] & 0x0f) === 9) {
        const len = d[1] & 0x7f;
        const mask = d.subarray(2, 6);
        const payload = Buffer.from(d.subarray(6, 6 + len)).map((b, i) => b ^ mask[i % 4]);
        s.write(Buffer.concat([Buffer.from([0x8a, len]), payload]));
      }
    }));
    const j = await probe(['--json', '--count', '0', '--reconnect', '3', '--max-backoff', '200ms',
      `ws://127.0.0.1:${server.port}/`]);
    assert.equal(j.code, 0, JSON.stringify(j.json));
    assert.equal(j.json.attempts.length, 2);
    assert.equal(j.json.attempts[0].exit_code, 1);
    assert.equal(j.json.waits_s.length, 1);
    assert.ok(j.json.waits_s[0] >= 0 && j.json.waits_s[0] <= 0.2);
  });
});

describe('probe: --quiet', () => {
  it('prints only the result line', async () => {
    const port = await h.closedPort();
    const r = await probe(['--quiet', `ws://127.0.0.1:${port}/`]);
    assert.equal(r.code, 3);
    assert.equal(r.out.trim().split('\n').length, 1, r.out);
    assert.match(r.out, /^result: connection failed \(exit 3\): could not connect: connection refused/);
  });
});
