// The opening handshake through wsgate: every rejection status with its body and headers,
// routing, successful upgrades by Node `ws` and Python `websockets` clients, subprotocol
// passthrough, the request the backend sees, backend failures (502/504), client timeouts
// (408), limits (429/503), and the access-log line of each outcome.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as h from './lib/harness.mjs';

after(() => h.stopAll());

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptFor = (key) => crypto.createHash('sha1').update(key + WS_GUID).digest('base64');

// A masked client frame (RFC 6455 5.2), payload length < 65536.
function clientFrame(opcode, payload, { fin = true } = {}) {
  const data = Buffer.from(payload);
  const mask = crypto.randomBytes(4);
  const head = data.length < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | data.length])
    : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, data.length >> 8, data.length & 0xff]);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; ++i) masked[i] ^= mask[i % 4];
  return Buffer.concat([head, mask, masked]);
}

function closePayload(code, reason) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

// Unmasked server frames from buf; stops at an incomplete frame.
function serverFrames(buf) {
  const frames = [];
  let at = 0;
  for (let guard = 0; guard < 10000 && at + 2 <= buf.length; ++guard) {
    const opcode = buf[at] & 0x0f;
    const fin = (buf[at] & 0x80) !== 0;
    let len = buf[at + 1] & 0x7f;
    let off = at + 2;
    if (len === 126) {
      if (off + 2 > buf.length) break;
      len = buf.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (off + 8 > buf.length) break;
      len = Number(buf.readBigUInt64BE(off));
      off += 8;
    }
    if (off + len > buf.length) break;
    frames.push({ fin, opcode, payload: buf.subarray(off, off + len), bytes: off + len - at });
    at = off + len;
  }
  return frames;
}

function afterHead(buf) {
  const head = h.parseHead(buf);
  return head ? buf.subarray(head.headLength) : Buffer.alloc(0);
}

const accessFor = (gw, localPort, timeoutMs) =>
  gw.waitForAccess((l) => l.client_addr === `127.0.0.1:${localPort}`, timeoutMs);

function assertTextPlain(res) {
  assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
}

// A backend speaking raw TCP, answering by the request path:
//   /ext    101 with a correct accept and Sec-WebSocket-Extensions: permessage-deflate
//   /proto  101 with a correct accept and Sec-WebSocket-Protocol: evil
//   /http10     101 with a correct accept, but in HTTP/1.0
//   /twoaccept  101 with two (correct) Sec-WebSocket-Accept headers
//   /gone   closes the connection without answering
async function startScriptedBackend() {
  return h.startTcpBackend((socket) => {
    let data = Buffer.alloc(0);
    let answered = false;
    socket.on('data', (d) => {
      data = Buffer.concat([data, d]);
      const end = data.indexOf('\r\n\r\n');
      if (answered || end < 0) return;
      answered = true;
      const head = data.subarray(0, end).toString('latin1');
      const target = head.split(' ')[1];
      const key = /\r\nsec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
      const ok = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
        `Connection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n`;
      if (target.startsWith('/ext')) {
        socket.write(ok + 'Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n');
      } else if (target.startsWith('/proto')) {
        socket.write(ok + 'Sec-WebSocket-Protocol: evil\r\n\r\n');
      } else if (target.startsWith('/http10')) {
        socket.write(ok.replace('HTTP/1.1 101', 'HTTP/1.0 101') + '\r\n');
      } else if (target.startsWith('/twoaccept')) {
        socket.write(ok + `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
      } else {
        socket.destroy();
      }
    });
  });
}

describe('client request validation and routing', () => {
  let echo;
  let node;
  let gw;
  let port;

  before(async () => {
    echo = await h.startEcho();
    node = await h.startWsBackend({
      handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
    });
    gw = await h.startWsgate({
      pools: [
        { name: 'echo', backends: [echo.address] },
        { name: 'node', backends: [node.address] },
      ],
      routes: [
        { host: '*', path_prefix: '/echo', pool: 'echo' },
        { host: '*', path_prefix: '/headers', pool: 'echo' },
        { host: '*', path_prefix: '/node', pool: 'node' },
        { host: '*', path_prefix: '/node/strict', pool: 'node', policy: 'strict' },
        { host: 'exact.example', path_prefix: '/', pool: 'node' },
        { host: '*.wild.example', path_prefix: '/', pool: 'node' },
      ],
      policies: {
        strict: { allowed_origins: ['https://good.example', '*.trusted.example'] },
      },
    });
    port = gw.port();
  });

  const raw = (req) => h.rawRequest(port, req);

  it('answers a request that is not HTTP with 400', async () => {
    const res = await raw('HELLO THERE\r\n\r\n');
    assert.equal(res.status, 400);
    assertTextPlain(res);
    assert.match(res.body, /\S/);
  });

  it('answers a missing Upgrade header with 400', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', omit: ['Upgrade'] }));
    assert.equal(res.status, 400);
    assertTextPlain(res);
    assert.match(res.body, /upgrade/i);
  });

  it('answers Upgrade: h2c with 400', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', headers: { Upgrade: 'h2c' } }));
    assert.equal(res.status, 400);
    assert.match(res.body, /upgrade/i);
  });

  it('answers a plain GET from curl with 400', async () => {
    const curl = spawn('curl', ['-sS', '-i', '--http1.1', '--max-time', '20', gw.httpUrl('/echo')]);
    let out = '';
    curl.stdout.setEncoding('utf8');
    curl.stdout.on('data', (d) => {
      out += d;
    });
    const [code] = await h.withTimeout(once(curl, 'close'), 30000, 'curl');
    assert.equal(code, 0);
    const head = h.parseHead(Buffer.from(out, 'latin1'));
    assert.equal(head.status, 400);
    assert.match(out.slice(head.headLength), /upgrade/i);
  });

  it('answers a Connection header without "upgrade" with 400', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', headers: { Connection: 'keep-alive' } }));
    assert.equal(res.status, 400);
    assertTextPlain(res);
    assert.match(res.body, /connection/i);
  });

  it('answers a missing Sec-WebSocket-Key with 400', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', omit: ['Sec-WebSocket-Key'] }));
    assert.equal(res.status, 400);
    assertTextPlain(res);
    assert.match(res.body, /sec-websocket-key/i);
  });

  it('answers a Sec-WebSocket-Key of 15 bytes with 400', async () => {
    const key = crypto.randomBytes(15).toString('base64');
    const res = await raw(h.upgradeRequest({ path: '/echo', key }));
    assert.equal(res.status, 400);
    assert.match(res.body, /sec-websocket-key/i);
  });

  it('answers a Sec-WebSocket-Key that is not base64 with 400', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', key: '!!!!not-base64!!!!!!!!==' }));
    assert.equal(res.status, 400);
    assert.match(res.body, /sec-websocket-key/i);
  });

  it('answers HTTP/1.0 with 400', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', httpVersion: 'HTTP/1.0' }));
    assert.equal(res.status, 400);
    assertTextPlain(res);
    assert.match(res.body, /HTTP\/1\.1/);
  });

  it('answers a missing Host header with 400', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', omit: ['Host'] }));
    assert.equal(res.status, 400);
    assertTextPlain(res);
    assert.match(res.body, /host/i);
  });

  it('answers POST with 405 and Allow: GET', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', method: 'POST' }));
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'GET');
    assertTextPlain(res);
    assert.match(res.body, /GET/);
  });

  it('answers Sec-WebSocket-Version: 8 with 426 and Sec-WebSocket-Version: 13', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', version: '8' }));
    assert.equal(res.status, 426);
    assert.equal(res.headers['sec-websocket-version'], '13');
    assertTextPlain(res);
    assert.match(res.body, /version/i);
  });

  it('answers a path no route matches with 404', async () => {
    const res = await raw(h.upgradeRequest({ path: '/nowhere' }));
    assert.equal(res.status, 404);
    assertTextPlain(res);
    assert.match(res.body, /route/i);
    assert.match(res.body, /\/nowhere/);
  });

  it('answers a host that only looks like a wildcard route with 404', async () => {
    const res = await raw(h.upgradeRequest({ path: '/x', host: 'wild.example.evil' }));
    assert.equal(res.status, 404);
    assert.match(res.body, /route/i);
  });

  it('routes by longest path prefix', async () => {
    const a = await h.connectWs(gw.url('/node/strict/x'), { origin: 'https://good.example' });
    const b = await h.connectWs(gw.url('/echo/deeper'));
    a.close(1000);
    b.close(1000);
    // The access line names the route by host and prefix.
    const lineA = await gw.waitForAccess((l) => l.path === '/node/strict/x');
    const lineB = await gw.waitForAccess((l) => l.path === '/echo/deeper');
    assert.equal(lineA.pool, 'node');
    assert.equal(lineA.route, '*/node/strict');
    assert.equal(lineB.pool, 'echo');
    assert.equal(lineB.route, '*/echo');
  });

  it('routes an exact host and a *.suffix host before the "*" routes', async () => {
    const exact = await h.connectWs(gw.url('/echo/by-exact-host'), { headers: { Host: 'exact.example' } });
    const wild = await h.connectWs(gw.url('/echo/by-wild-host'), { headers: { Host: 'a.b.wild.example:8080' } });
    exact.close(1000);
    wild.close(1000);
    const le = await gw.waitForAccess((l) => l.path === '/echo/by-exact-host');
    const lw = await gw.waitForAccess((l) => l.path === '/echo/by-wild-host');
    assert.equal(le.pool, 'node');
    assert.equal(lw.pool, 'node');
    assert.equal(le.status, 101);
    assert.equal(lw.status, 101);
  });

  it('answers an Origin outside allowed_origins with 403', async () => {
    const res = await h.expectRejected(gw.url('/node/strict'), { origin: 'https://evil.example' });
    assert.equal(res.status, 403);
    assert.match(res.headers['content-type'], /^text\/plain/);
    assert.match(res.body, /origin/i);
  });

  it('admits a request without Origin when allowed_origins is set (allow_missing_origin defaults to true)', async () => {
    const ws = await h.connectWs(gw.url('/node/strict/no-origin'));
    ws.send('non-browser');
    assert.equal((await h.nextMessage(ws)).data.toString(), 'non-browser');
    ws.close(1000);
    assert.equal((await h.waitClose(ws)).code, 1000);
    const line = await gw.waitForAccess((l) => l.path === '/node/strict/no-origin');
    assert.equal(line.status, 101);
    assert.equal(line.route, '*/node/strict');
  });

  it('accepts an exact and a *.suffix allowed origin', async () => {
    const a = await h.connectWs(gw.url('/node/strict'), { origin: 'https://good.example' });
    const b = await h.connectWs(gw.url('/node/strict'), { origin: 'https://app.trusted.example' });
    a.send('x');
    assert.equal((await h.nextMessage(a)).data.toString(), 'x');
    b.send('y');
    assert.equal((await h.nextMessage(b)).data.toString(), 'y');
    a.close(1000);
    b.close(1000);
    assert.equal((await h.waitClose(a)).code, 1000);
    assert.equal((await h.waitClose(b)).code, 1000);
  });

  it('answers 65 headers with 431 and accepts 64', async () => {
    const extra = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-H${i}`, 'v']));
    // upgradeRequest writes 5 headers of its own.
    const tooMany = await raw(h.upgradeRequest({ path: '/echo', headers: extra(60) }));
    assert.equal(tooMany.status, 431);
    assertTextPlain(tooMany);
    assert.match(tooMany.body, /header/i);

    // To the Node backend: wsgate adds X-Forwarded-* (wsgate-echo allows 64 headers too).
    const conn = await h.openRaw(port);
    await conn.write(h.upgradeRequest({ path: '/node/64', headers: extra(59) }));
    await conn.waitData((b) => h.parseHead(b) !== null);
    assert.equal(h.parseHead(conn.data).status, 101);
    conn.destroy();
  });

  it('answers a header line over 8192 bytes with 431', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo', headers: { 'X-Long': 'a'.repeat(8200) } }));
    assert.equal(res.status, 431);
    assertTextPlain(res);
    assert.match(res.body, /header/i);
  });

  it('answers a head over 16384 bytes with 431', async () => {
    const big = 'b'.repeat(6000);
    const res = await raw(h.upgradeRequest({ path: '/echo', headers: { 'X-A': big, 'X-B': big, 'X-C': big } }));
    assert.equal(res.status, 431);
    assertTextPlain(res);
    assert.match(res.body, /header/i);
  });

  it('answers a request line over 8192 bytes with 414', async () => {
    const res = await raw(h.upgradeRequest({ path: '/echo/' + 'p'.repeat(8200) }));
    assert.equal(res.status, 414);
    assertTextPlain(res);
    assert.match(res.body, /\S/);
  });

  it('answers a request sent byte by byte like one sent whole', async () => {
    const req = Buffer.from(h.upgradeRequest({ path: '/nowhere-bytewise' }));
    const parts = Array.from(req, (b) => Buffer.from([b]));
    const res = await h.rawRequest(port, parts);
    assert.equal(res.status, 404);
  });

  it('relays a Node ws client through wsgate-echo byte-exact', async () => {
    const ws = await h.connectWs(gw.url('/echo'));
    const text = 'héllo wörld ✓';
    const binary = crypto.randomBytes(100 * 1024);
    ws.send(text);
    ws.send(binary);
    const [m1, m2] = await h.collectMessages(ws, 2);
    assert.equal(m1.isBinary, false);
    assert.equal(m1.data.toString(), text);
    assert.equal(m2.isBinary, true);
    assert.equal(m2.data.length, binary.length);
    assert.equal(h.sha256(m2.data), h.sha256(binary));
    ws.close(1000, 'node done');
    const closed = await h.waitClose(ws);
    assert.equal(closed.code, 1000);
  });

  it('relays a Python websockets client through wsgate-echo', async () => {
    const result = await h.runPython('ws_client.py', [
      gw.url('/echo/python'), '--text', 'héllo from python', '--binary-hex', '00ff10fe',
      '--close-code', '1000', '--close-reason', 'py done',
    ]);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(result.echoes, [
      { type: 'text', data: 'héllo from python' },
      { type: 'binary', data: '00ff10fe' },
    ]);
    assert.equal(result.close_code, 1000);
    const line = await gw.waitForAccess((l) => l.path === '/echo/python');
    assert.equal(line.status, 101);
    assert.equal(line.termination, 'normal');
    assert.equal(line.messages_from_client, 2);
    assert.equal(line.messages_to_client, 2);
    assert.equal(line.client_close_code, 1000);
    assert.equal(line.client_closed_by, 'client');
  });

  it('passes the client\'s subprotocols to the backend and relays its choice', async () => {
    const ws = await h.connectWs(gw.url('/node/proto'), { protocols: ['chat.v1', 'chat.v2'] });
    assert.equal(ws.protocol, 'chat.v2');
    const [conn] = (await node.waitConnections(1)).filter((c) => c.req.url === '/node/proto');
    const offered = conn.req.headers['sec-websocket-protocol'].split(',').map((p) => p.trim());
    assert.deepEqual(offered, ['chat.v1', 'chat.v2']);
    assert.equal(conn.protocol, 'chat.v2');
    ws.close(1000);
    await h.waitClose(ws);
  });

  it('relays the subprotocol a Python backend chooses to a Python client', async () => {
    const py = await h.startPythonServer('ws_echo_server.py', ['--subprotocol', 'chat.v2']);
    const gw2 = await h.startWsgate({ pools: [{ name: 'py', backends: [py.address] }] });
    try {
      const ws = await h.connectWs(gw2.url('/py?q=1'), { protocols: ['chat.v1', 'chat.v2'] });
      assert.equal(ws.protocol, 'chat.v2');
      const hello = JSON.parse((await h.nextMessage(ws)).data.toString());
      assert.equal(hello.subprotocol, 'chat.v2');
      assert.equal(hello.path, '/py?q=1');
      const offered = hello.headers['sec-websocket-protocol'].split(',').map((p) => p.trim());
      assert.deepEqual(offered, ['chat.v1', 'chat.v2']);
      assert.equal(hello.headers['x-forwarded-proto'], 'ws');
      ws.send('ping?');
      assert.equal((await h.nextMessage(ws)).data.toString(), 'ping?');
      ws.close(1000);
      assert.equal((await h.waitClose(ws)).code, 1000);

      const result = await h.runPython('ws_client.py', [
        gw2.url('/py'), '--subprotocol', 'chat.v2', '--close-code', '1000',
      ]);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.subprotocol, 'chat.v2');
      assert.equal(result.response_headers['sec-websocket-protocol'], 'chat.v2');
    } finally {
      await gw2.stop();
      await py.stop();
    }
  });

  it('adds X-Forwarded-* and passes the permessage-deflate offer on to the backend', async () => {
    const ws = await h.connectWs(gw.url('/headers?secret=1'), {
      perMessageDeflate: true,
      headers: {
        'X-Forwarded-For': '203.0.113.7',
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'spoofed.example',
        'X-Custom': 'kept',
      },
    });
    const seen = JSON.parse((await h.nextMessage(ws)).data.toString());
    assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'ws');
    assert.equal(seen['x-forwarded-host'], `127.0.0.1:${port}`);
    assert.equal(seen['x-custom'], 'kept');
    assert.equal(seen['sec-websocket-extensions'], 'permessage-deflate; client_max_window_bits');
    assert.equal(seen['sec-websocket-version'], '13');
    ws.close(1000);
    await h.waitClose(ws);
  });

  it('removes hop-by-hop headers, also those named in Connection', async () => {
    const conn = await h.openRaw(port);
    await conn.write(h.upgradeRequest({
      path: '/headers',
      host: 'proxy.test',
      headers: {
        Connection: 'Upgrade, X-Hop',
        'X-Hop': 'secret',
        'Keep-Alive': 'timeout=5',
        TE: 'trailers',
        'Proxy-Connection': 'keep-alive',
        'X-Kept': 'yes',
      },
    }));
    await conn.waitData((b) => serverFrames(afterHead(b)).length >= 1);
    assert.equal(h.parseHead(conn.data).status, 101);
    const [frame] = serverFrames(afterHead(conn.data));
    assert.equal(frame.opcode, 1);
    const seen = JSON.parse(frame.payload.toString());
    assert.equal(seen['x-kept'], 'yes');
    assert.equal(seen['x-forwarded-host'], 'proxy.test');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-hop'], undefined);
    assert.equal(seen['keep-alive'], undefined);
    assert.equal(seen.te, undefined);
    assert.equal(seen['proxy-connection'], undefined);
    assert.match(seen.connection, /^upgrade$/i);
    assert.match(seen.upgrade, /^websocket$/i);
    conn.destroy();
  });

  it('logs a rejected handshake with its status, path and byte counts', async () => {
    const req = h.upgradeRequest({ path: '/nothing-here?token=abc' });
    const res = await raw(req);
    assert.equal(res.status, 404);
    const line = await accessFor(gw, res.localPort);
    assert.equal(line.status, 404);
    assert.equal(line.termination, 'handshake_rejected');
    assert.equal(line.path, '/nothing-here');
    assert.equal(line.listener, 'public');
    assert.equal(line.bytes_from_client, Buffer.byteLength(req));
    assert.equal(line.bytes_to_client, res.raw.length);
    assert.equal(line.messages_from_client, 0);
    assert.equal(line.messages_to_client, 0);
  });

  it('logs a successful connection with exact bytes, messages and close codes', async () => {
    const conn = await h.openRaw(port);
    const localPort = conn.socket.localPort;
    const req = h.upgradeRequest({ path: '/echo/logged?token=abc' });
    await conn.write(req);
    await conn.waitData((b) => h.parseHead(b) !== null);
    assert.equal(h.parseHead(conn.data).status, 101);
    const hello = clientFrame(1, 'hello');
    await conn.write(hello);
    await conn.waitData((b) => serverFrames(afterHead(b)).length >= 1);
    const close = clientFrame(8, closePayload(1000, 'bye'));
    await conn.write(close);
    await conn.waitEnd();
    const frames = serverFrames(afterHead(conn.data));
    assert.equal(frames.length, 2);
    assert.equal(frames[0].opcode, 1);
    assert.equal(frames[0].payload.toString(), 'hello');
    assert.equal(frames[1].opcode, 8);
    assert.equal(frames[1].payload.readUInt16BE(0), 1000);

    const line = await accessFor(gw, localPort);
    assert.equal(line.status, 101);
    assert.equal(line.termination, 'normal');
    assert.equal(line.path, '/echo/logged');
    assert.equal(line.route, '*/echo');
    assert.equal(line.pool, 'echo');
    assert.equal(line.upstream_addr, echo.address);
    assert.equal(line.bytes_from_client, Buffer.byteLength(req) + hello.length + close.length);
    assert.equal(line.bytes_to_client, conn.data.length);
    assert.equal(line.messages_from_client, 1);
    assert.equal(line.messages_to_client, 1);
    assert.equal(line.client_close_code, 1000);
    assert.equal(line.client_close_reason, 'bye');
    assert.equal(line.client_closed_by, 'client');
    assert.equal(line.backend_close_code, 1000);
    assert.equal(line.backend_closed_by, 'client');
    assert.equal(typeof line.duration_s, 'number');
    assert.equal(typeof line.conn_id, 'number');
  });
});

describe('backend failures', () => {
  let echo;
  let scripted;
  let blackhole;
  let gw;
  let refusedA;
  let refusedB;

  before(async () => {
    echo = await h.startEcho();
    scripted = await startScriptedBackend();
    blackhole = await h.startPythonServer('unaccepting_listener.py');
    refusedA = await h.closedPort();
    refusedB = await h.closedPort();
    gw = await h.startWsgate({
      pools: [
        { name: 'refused', backends: [`127.0.0.1:${refusedA}`, `127.0.0.1:${refusedB}`] },
        { name: 'half', backends: [`127.0.0.1:${refusedA}`, echo.address] },
        { name: 'echo', backends: [echo.address], handshake_timeout: '2s' },
        { name: 'scripted', backends: [scripted.address] },
        { name: 'blackhole', backends: [blackhole.address], connect_timeout: '300ms' },
      ],
      routes: [
        { path_prefix: '/refused', pool: 'refused' },
        { path_prefix: '/half', pool: 'half' },
        { path_prefix: '/', pool: 'echo' },
        { path_prefix: '/ext', pool: 'scripted' },
        { path_prefix: '/proto', pool: 'scripted' },
        { path_prefix: '/gone', pool: 'scripted' },
        { path_prefix: '/http10', pool: 'scripted' },
        { path_prefix: '/twoaccept', pool: 'scripted' },
        { path_prefix: '/blackhole', pool: 'blackhole' },
      ],
    });
  });

  it('answers 502 when every backend refuses the connection', async () => {
    const res = await h.rawRequest(gw.port(), h.upgradeRequest({ path: '/refused' }));
    assert.equal(res.status, 502);
    assertTextPlain(res);
    assert.match(res.body, /refused/i);
    const line = await accessFor(gw, res.localPort);
    assert.equal(line.status, 502);
    assert.equal(line.termination, 'backend_unreachable');
    assert.equal(line.pool, 'refused');
  });

  it('tries the next backend when one refuses', async () => {
    for (let i = 0; i < 4; ++i) {
      const ws = await h.connectWs(gw.url(`/half/${i}`));
      ws.send(`m${i}`);
      assert.equal((await h.nextMessage(ws)).data.toString(), `m${i}`);
      ws.close(1000);
      assert.equal((await h.waitClose(ws)).code, 1000);
    }
  });

  it('answers 502 naming the status when the backend answers 403', async () => {
    const res = await h.expectRejected(gw.url('/reject?status=403'));
    assert.equal(res.status, 502);
    assert.match(res.headers['content-type'], /^text\/plain/);
    assert.match(res.body, /403/);
    const line = await gw.waitForAccess((l) => l.path === '/reject');
    assert.equal(line.status, 502);
    assert.equal(line.termination, 'backend_rejected');
  });

  it('answers 502 to a wrong Sec-WebSocket-Accept', async () => {
    const res = await h.expectRejected(gw.url('/badaccept'));
    assert.equal(res.status, 502);
    assert.match(res.body, /accept/i);
  });

  it('answers 502 when the backend chooses an extension', async () => {
    const res = await h.expectRejected(gw.url('/ext'));
    assert.equal(res.status, 502);
    assert.match(res.body, /extension/i);
  });

  it('answers 502 when the backend chooses a subprotocol the client did not offer', async () => {
    const res = await h.expectRejected(gw.url('/proto'), { protocols: ['chat'] });
    assert.equal(res.status, 502);
    assert.match(res.body, /subprotocol/i);
  });

  // The status is checked as soon as the head arrives (a wrongly accepted 101 would keep the
  // connection open), then the body once wsgate has closed.
  async function expectBadGateway(path, body) {
    const conn = await h.openRaw(gw.port());
    const localPort = conn.socket.localPort;
    await conn.write(h.upgradeRequest({ path }));
    await conn.waitData((b) => h.parseHead(b) !== null);
    const head = h.parseHead(conn.data);
    assert.equal(head.status, 502, conn.data.toString('latin1'));
    await conn.waitEnd();
    assert.equal(conn.data.subarray(head.headLength).toString(), body);
    const line = await accessFor(gw, localPort);
    assert.equal(line.status, 502);
    assert.equal(line.termination, 'backend_rejected');
    assert.equal(line.error, body.trimEnd());
  }

  it('answers 502 when the backend answers 101 in HTTP/1.0', () =>
    expectBadGateway('/http10',
      'the backend answered 101 in HTTP/1.0: a WebSocket upgrade needs HTTP/1.1\n'));

  it('answers 502 when the backend\'s 101 has two Sec-WebSocket-Accept headers', () =>
    expectBadGateway('/twoaccept',
      'the backend sent 2 Sec-WebSocket-Accept headers; a 101 carries exactly one\n'));

  it('answers 502 when the backend closes before answering', async () => {
    const res = await h.rawRequest(gw.port(), h.upgradeRequest({ path: '/gone' }));
    assert.equal(res.status, 502);
    assertTextPlain(res);
    assert.match(res.body, /\S/);
  });

  it('answers 504 when the backend never answers within handshake_timeout', async () => {
    const res = await h.rawRequest(gw.port(), h.upgradeRequest({ path: '/slow' }));
    assert.equal(res.status, 504);
    assertTextPlain(res);
    assert.match(res.body, /\S/);
    const line = await accessFor(gw, res.localPort);
    assert.equal(line.status, 504);
    assert.equal(line.termination, 'backend_timeout');
  });

  it('answers 504 when every connect times out', async () => {
    const res = await h.rawRequest(gw.port(), h.upgradeRequest({ path: '/blackhole' }));
    assert.equal(res.status, 504);
    assertTextPlain(res);
    assert.match(res.body, /timeout|timed out/i);
    const line = await accessFor(gw, res.localPort);
    assert.equal(line.status, 504);
  });
});

describe('allow_missing_origin', () => {
  let backend;
  let gw;

  before(async () => {
    backend = await h.startWsBackend();
    gw = await h.startWsgate({
      pools: [{ name: 'p', backends: [backend.address] }],
      routes: [
        { path_prefix: '/required', pool: 'p', policy: 'required' },
        { path_prefix: '/optional', pool: 'p', policy: 'optional' },
      ],
      policies: {
        required: { allowed_origins: ['https://good.example'], allow_missing_origin: false },
        optional: { allowed_origins: ['https://good.example'], allow_missing_origin: true },
      },
    });
  });

  it('false: answers a request without Origin with 403 "an Origin header is required on this route"', async () => {
    const res = await h.rawRequest(gw.port(), h.upgradeRequest({ path: '/required' }));
    assert.equal(res.status, 403);
    assertTextPlain(res);
    assert.equal(res.body, 'an Origin header is required on this route\n');
    const line = await accessFor(gw, res.localPort);
    assert.equal(line.status, 403);
    assert.equal(line.termination, 'handshake_rejected');
    assert.equal(backend.connections.length, 0);
  });

  it('false: still admits an allowed Origin and refuses another', async () => {
    const ws = await h.connectWs(gw.url('/required/good'), { origin: 'https://good.example' });
    ws.close(1000);
    assert.equal((await h.waitClose(ws)).code, 1000);
    const res = await h.rawRequest(gw.port(), h.upgradeRequest({
      path: '/required', headers: { Origin: 'https://evil.example' },
    }));
    assert.equal(res.status, 403);
    assert.equal(res.body, 'origin \'https://evil.example\' is not allowed on this route\n');
  });

  it('true: admits a request without Origin and still refuses a wrong Origin', async () => {
    const ws = await h.connectWs(gw.url('/optional/none'));
    ws.send('x');
    assert.equal((await h.nextMessage(ws)).data.toString(), 'x');
    ws.close(1000);
    assert.equal((await h.waitClose(ws)).code, 1000);
    const res = await h.rawRequest(gw.port(), h.upgradeRequest({
      path: '/optional', headers: { Origin: 'https://evil.example' },
    }));
    assert.equal(res.status, 403);
    assert.equal(res.body, 'origin \'https://evil.example\' is not allowed on this route\n');
  });
});

describe('startup', () => {
  it('accepts connections as soon as it logs "ready"', async () => {
    const backend = await h.startWsBackend();
    for (let i = 0; i < 5; ++i) {
      const gw = await h.startWsgate({ pools: [{ name: 'p', backends: [backend.address] }] });
      try {
        const res = await h.rawRequest(gw.port(), h.upgradeRequest({ method: 'POST' }));
        assert.equal(res.status, 405);
      } finally {
        await gw.stop();
      }
    }
  });
});

describe('client handshake timeout', () => {
  it('answers 408 when the request is not complete within handshake_timeout', async () => {
    const echo = await h.startWsBackend();
    const gw = await h.startWsgate({
      pools: [{ name: 'p', backends: [echo.address] }],
      policies: { default: { handshake_timeout: '500ms' } },
    });
    const conn = await h.openRaw(gw.port());
    const localPort = conn.socket.localPort;
    await conn.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    await conn.waitEnd();
    const head = h.parseHead(conn.data);
    assert.equal(head.status, 408);
    assert.match(head.headers['content-type'], /^text\/plain/);
    assert.match(conn.data.subarray(head.headLength).toString(), /handshake_timeout|complete/);
    const line = await accessFor(gw, localPort);
    assert.equal(line.status, 408);
    assert.equal(line.termination, 'handshake_timeout');
    assert.equal(echo.connections.length, 0);
  });
});

describe('connection limits', () => {
  it('answers 429 with Retry-After: 1 over max_connections_per_ip', async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({
      pools: [{ name: 'p', backends: [backend.address] }],
      policies: { default: { max_connections_per_ip: 2 } },
    });
    const a = await h.connectWs(gw.url('/a'));
    const b = await h.connectWs(gw.url('/b'));
    const res = await h.expectRejected(gw.url('/c'));
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '1');
    assert.match(res.body, /too many|connections/i);
    const line = await gw.waitForAccess((l) => l.path === '/c');
    assert.equal(line.status, 429);
    assert.equal(line.termination, 'handshake_rejected');

    a.close(1000);
    await h.waitClose(a);
    await gw.waitForAccess((l) => l.path === '/a');
    const d = await h.connectWs(gw.url('/d'));
    d.send('after');
    assert.equal((await h.nextMessage(d)).data.toString(), 'after');
    b.close(1000);
    d.close(1000);
    await Promise.all([h.waitClose(b), h.waitClose(d)]);
  });

  it('answers 503 with Retry-After: 1 over server.max_connections', async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({
      server: { workers: 1, max_connections: 2 },
      pools: [{ name: 'p', backends: [backend.address] }],
    });
    const a = await h.connectWs(gw.url('/a'));
    const b = await h.connectWs(gw.url('/b'));
    const res = await h.expectRejected(gw.url('/c'));
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '1');
    assert.match(res.body, /max_connections|retry/i);

    a.close(1000);
    await h.waitClose(a);
    await gw.waitForAccess((l) => l.path === '/a');
    const d = await h.connectWs(gw.url('/d'));
    d.send('after');
    assert.equal((await h.nextMessage(d)).data.toString(), 'after');
    b.close(1000);
    d.close(1000);
    await Promise.all([h.waitClose(b), h.waitClose(d)]);
  });
});
