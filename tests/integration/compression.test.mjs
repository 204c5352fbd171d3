// permessage-deflate (RFC 7692) through wsgate: the offer and the answer pass end to end, the
// compressed frames are forwarded byte for byte, and wsgate inflates a copy of each compressed
// message to apply utf8 and max_message_size to the inflated message. Real peers: Node `ws`
// with perMessageDeflate on both ends, Python `websockets` (compression on by default) as client
// and as backend, raw sockets for what no well-behaved peer sends (bad answers, bombs, bad
// UTF-8 inside compressed messages).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import zlib from 'node:zlib';

import {
  connectWs, collectMessages, nextMessage, rawRequest, runPython, startPythonServer,
  startTcpBackend, startWsBackend, startWsgate, stopAll, upgradeRequest, waitClose,
} from './lib/harness.mjs';
import { acceptFor, OP, RawPeer, rawClient } from './lib/frames.mjs';
import { httpGet, parseMetrics } from './lib/metrics.mjs';
import { vmRssKiB } from './lib/proc.mjs';

// A permessage-deflate message body: raw DEFLATE, flushed, without the 00 00 ff ff tail.
function deflateMessage(data, windowBits = 15) {
  const out = zlib.deflateRawSync(Buffer.from(data), {
    windowBits: Math.max(windowBits, 9),
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  assert.deepEqual(out.subarray(-4), Buffer.from([0, 0, 0xff, 0xff]));
  return out.subarray(0, -4);
}

function jsonMessage(i) {
  return JSON.stringify({ seq: i, event: 'price', symbol: 'WSGT', bid: 100 + (i % 7),
                          note: 'compressible '.repeat(20) });
}

async function metrics(gw) {
  return parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
}

function directionSums(m, name) {
  return {
    c2b: m.get(name, { direction: 'client_to_backend' }),
    b2c: m.get(name, { direction: 'backend_to_client' }),
  };
}

// A backend that answers every upgrade with a 101 carrying `extensionFor(path)` (none when it
// returns null) and then hands the socket to `after(peer, path)` as a RawPeer in server role.
async function scriptedBackend(extensionFor, afterUpgrade = () => {}) {
  return startTcpBackend((socket) => {
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      const target = head.split(' ')[1];
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
      const ext = extensionFor(target, head);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
                   `Connection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
                   (ext ? `Sec-WebSocket-Extensions: ${ext}\r\n` : '') + '\r\n');
      afterUpgrade(new RawPeer(socket, 'server', buf.subarray(end + 4)), target);
    };
    socket.on('data', onData);
  });
}

// A ws client with permessage-deflate options; resolves with it and the 101's
// Sec-WebSocket-Extensions (ws.extensions has only the names).
async function connectWithAnswer(url, perMessageDeflate) {
  let extensions = null;
  const ws = await connectWs(url, {
    perMessageDeflate,
    // ws passes a custom `finishRequest` the request; the response comes as 'upgrade'.
    finishRequest: (req) => {
      req.on('upgrade', (res) => {
        extensions = res.headers['sec-websocket-extensions'] ?? '';
      });
      req.end();
    },
  });
  return { ws, extensions };
}

describe('permessage-deflate with Node ws on both ends', () => {
  let backend;
  let gw;

  before(async () => {
    backend = await startWsBackend({ perMessageDeflate: { threshold: 0 } });
    gw = await startWsgate({
      pools: [{ name: 'b', backends: [backend.address] }],
      policies: { default: { ping_interval: '0s' } },
    });
  });
  after(stopAll);

  it('negotiates and echoes at every window size and context mode', async () => {
    const before = directionSums(await metrics(gw), 'wsgate_compressed_messages_total');
    let sessions = 0;
    for (let bits = 8; bits <= 15; bits++) {
      for (const serverNoContextTakeover of [false, true]) {
        for (const clientNoContextTakeover of [false, true]) {
          const what = `bits ${bits} snct ${serverNoContextTakeover} cnct ${clientNoContextTakeover}`;
          const { ws, extensions: ext } = await connectWithAnswer(gw.url('/combo'), {
            threshold: 0,
            serverMaxWindowBits: bits,
            clientMaxWindowBits: bits,
            serverNoContextTakeover,
            clientNoContextTakeover,
          });
          sessions += 1;
          assert.match(ext, /^permessage-deflate/, what);
          assert.match(ext, new RegExp(`server_max_window_bits=${bits}`), what);
          assert.match(ext, new RegExp(`client_max_window_bits=${bits}`), what);
          assert.equal(/server_no_context_takeover/.test(ext), serverNoContextTakeover, what);
          assert.equal(/client_no_context_takeover/.test(ext), clientNoContextTakeover, what);
          for (let i = 0; i < 3; i++) ws.send(jsonMessage(i));
          const echoes = await collectMessages(ws, 3);
          assert.deepEqual(echoes.map((e) => e.data.toString()), [0, 1, 2].map(jsonMessage), what);
          ws.close(1000);
          assert.equal((await waitClose(ws)).code, 1000, what);
        }
      }
    }
    const after = directionSums(await metrics(gw), 'wsgate_compressed_messages_total');
    assert.equal(after.c2b - before.c2b, sessions * 3);
    assert.equal(after.b2c - before.b2c, sessions * 3);
  });

  it('keeps the context across 100 messages; the metrics show the ratio', async () => {
    const m0 = await metrics(gw);
    const from = gw.mark();
    const ws = await connectWs(gw.url('/takeover'), { perMessageDeflate: { threshold: 0 } });
    assert.match(ws.extensions, /^permessage-deflate/);
    for (let i = 0; i < 100; i++) ws.send(jsonMessage(i));
    const echoes = await collectMessages(ws, 100);
    for (let i = 0; i < 100; i++) assert.equal(echoes[i].data.toString(), jsonMessage(i));
    ws.close(1000);
    await waitClose(ws);
    const access = await gw.waitForAccess((l) => l.path === '/takeover', 15000, from);
    assert.equal(access.compression, true);
    const m1 = await metrics(gw);
    const text = [...Array(100).keys()].reduce((n, i) => n + Buffer.byteLength(jsonMessage(i)), 0);
    for (const direction of ['client_to_backend', 'backend_to_client']) {
      const d = (name) => m1.get(name, { direction }) - m0.get(name, { direction });
      assert.equal(d('wsgate_compressed_messages_total'), 100, direction);
      assert.equal(d('wsgate_inflated_bytes_total'), text, direction);
      // Later messages are back-references into earlier ones: far smaller than the text.
      assert.ok(d('wsgate_compressed_payload_bytes_total') * 5 < text,
                `${direction}: ${d('wsgate_compressed_payload_bytes_total')} of ${text}`);
    }
  });

  it('passes the deflate offer with its parameters and removes other extensions', async () => {
    const peer = await rawClient(gw.port(), {
      path: '/offer',
      headers: {
        'Sec-WebSocket-Extensions': 'x-webkit-deflate-frame, permessage-deflate; ' +
          'client_max_window_bits; server_max_window_bits=10',
      },
    });
    const [conn] = backend.connections.filter((c) => c.req.url === '/offer');
    assert.equal(conn.req.headers['sec-websocket-extensions'],
                 'permessage-deflate; client_max_window_bits; server_max_window_bits=10');
    assert.match(peer.response.headers['sec-websocket-extensions'],
                 /^permessage-deflate; server_max_window_bits=10/);
    // A compressed message from the raw client is echoed compressed by ws.
    await peer.send({ opcode: OP.TEXT, rsv: 4, payload: deflateMessage('hello hello hello') });
    const echo = await peer.nextFrame();
    assert.equal(echo.rsv, 4);
    const inflated = zlib.inflateRawSync(Buffer.concat([echo.payload, Buffer.from([0, 0, 0xff, 0xff])]),
                                         { windowBits: 10, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.equal(inflated.toString(), 'hello hello hello');
    await peer.close(1000);
    assert.equal((await peer.nextClose()).code, 1000);
  });

  it('closes a client that sends compressed invalid UTF-8 with 1007; the backend gets 1001', async () => {
    const peer = await rawClient(gw.port(), {
      path: '/badutf8',
      headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' },
    });
    const [conn] = await backend.waitConnections(1).then(
      () => backend.connections.filter((c) => c.req.url === '/badutf8'));
    await peer.send({ opcode: OP.TEXT, rsv: 4,
                      payload: deflateMessage(Buffer.from([0x6f, 0x6b, 0xc3, 0x28])) });
    const close = await peer.nextClose();
    assert.equal(close.code, 1007);
    assert.equal(close.reason, 'invalid UTF-8 in text message');
    const backendClose = await conn.closed;
    assert.equal(backendClose.code, 1001);
    assert.equal(backendClose.reason, 'client sent a bad frame: invalid UTF-8 in text message');
    assert.equal(conn.inbox.length, 0, 'the bad message never reached the backend');
  });

  it('answers RSV1 on a continuation frame, or without negotiation, with 1002', async () => {
    const peer = await rawClient(gw.port(), {
      path: '/rsvcont',
      headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' },
    });
    const z = deflateMessage('fragmented message body');
    await peer.send({ opcode: OP.TEXT, rsv: 4, fin: false, payload: z.subarray(0, 4) });
    await peer.send({ opcode: OP.CONTINUATION, rsv: 4, payload: z.subarray(4) });
    assert.deepEqual(await peer.nextClose().then((c) => [c.code, c.reason]),
                     [1002, 'reserved bits set']);
    const plain = await rawClient(gw.port(), { path: '/rsvplain' });
    assert.equal(plain.response.headers['sec-websocket-extensions'], undefined);
    await plain.send({ opcode: OP.TEXT, rsv: 4, payload: deflateMessage('x') });
    assert.equal((await plain.nextClose()).code, 1002);
  });
});

describe('permessage-deflate: bombs', () => {
  after(stopAll);

  // 1 GiB of zeros deflates to about 1 MiB (DEFLATE cannot do better than about 1032:1): the
  // same flushed 1 MiB block repeated 1024 times. wsgate inflates at most 512 MiB of it (its
  // max_message_size), a block at a time, and never holds the output.
  it('closes a decompression bomb with 1009 while RSS stays flat', async (t) => {
    const backend = await startWsBackend({ perMessageDeflate: true, maxPayload: 2 ** 31 });
    const gw = await startWsgate({
      pools: [{ name: 'b', backends: [backend.address] }],
      policies: { default: { ping_interval: '0s', max_frame_size: '4MiB',
                             max_message_size: '512MiB' } },
    });
    // Each block keeps its sync-flush tail (an empty stored block), so copies line up on bytes.
    const block = zlib.deflateRawSync(Buffer.alloc(1 << 20),
                                      { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const bomb = Buffer.concat(Array(1024).fill(block));
    assert.ok(bomb.length < 1.1 * (1 << 20), `bomb of ${bomb.length} bytes`);
    const peer = await rawClient(gw.port(), {
      path: '/bomb', headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' },
    });
    const rssBefore = vmRssKiB(gw.pid);
    await peer.send({ opcode: OP.BINARY, rsv: 4, payload: bomb });
    const close = await peer.nextClose(60000);
    const rssAfter = vmRssKiB(gw.pid);
    assert.deepEqual([close.code, close.reason], [1009, 'message too big']);
    t.diagnostic(`wsgate VmRSS ${rssBefore} KiB before, ${rssAfter} KiB after the bomb`);
    assert.ok(rssAfter - rssBefore < 16 * 1024,
              `RSS grew by ${rssAfter - rssBefore} KiB while inflating 512 MiB`);
    const m = await metrics(gw);
    const inflated = m.get('wsgate_inflated_bytes_total', { direction: 'client_to_backend' });
    assert.ok(inflated <= 512 * 2 ** 20 && inflated > 511 * 2 ** 20, `inflated ${inflated}`);
    assert.equal(m.get('wsgate_policy_violations_total',
                       { kind: 'message_too_big', offender: 'client' }), 1);
  });
});

describe('permessage-deflate: backends', () => {
  after(stopAll);

  it('works with a backend that declines compression', async () => {
    const backend = await startWsBackend({ perMessageDeflate: false });
    const gw = await startWsgate({ pools: [{ name: 'b', backends: [backend.address] }] });
    const from = gw.mark();
    const ws = await connectWs(gw.url('/declined'), { perMessageDeflate: { threshold: 0 } });
    assert.equal(ws.extensions, '');
    assert.match(backend.connections[0].req.headers['sec-websocket-extensions'],
                 /^permessage-deflate/);
    ws.send('plain text');
    assert.equal((await nextMessage(ws)).data.toString(), 'plain text');
    ws.close(1000);
    await waitClose(ws);
    assert.equal((await gw.waitForAccess(() => true, 15000, from)).compression, false);
    const m = await metrics(gw);
    assert.deepEqual(directionSums(m, 'wsgate_compressed_messages_total'), { c2b: 0, b2c: 0 });
  });

  it('compression = "off" strips the offer', async () => {
    const backend = await startWsBackend({ perMessageDeflate: { threshold: 0 } });
    const gw = await startWsgate({
      pools: [{ name: 'b', backends: [backend.address] }],
      policies: { default: { compression: 'off' } },
    });
    const ws = await connectWs(gw.url('/off'), { perMessageDeflate: { threshold: 0 } });
    assert.equal(ws.extensions, '');
    assert.equal(backend.connections[0].req.headers['sec-websocket-extensions'], undefined);
    ws.send('not compressed');
    assert.equal((await nextMessage(ws)).data.toString(), 'not compressed');
    ws.close(1000);
    await waitClose(ws);
  });

  it('relays a Python websockets backend (compression on by default)', async () => {
    const py = await startPythonServer('ws_deflate_peer.py', ['server']);
    const gw = await startWsgate({ pools: [{ name: 'py', backends: [py.address] }] });
    const ws = await connectWs(gw.url('/py'), { perMessageDeflate: { threshold: 0 } });
    assert.match(ws.extensions, /^permessage-deflate/);
    for (let i = 0; i < 20; i++) ws.send(jsonMessage(i));
    const echoes = await collectMessages(ws, 20);
    assert.deepEqual(echoes.map((e) => e.data.toString()), [...Array(20).keys()].map(jsonMessage));
    ws.close(1000);
    await waitClose(ws);
    const m = await metrics(gw);
    assert.deepEqual(directionSums(m, 'wsgate_compressed_messages_total'), { c2b: 20, b2c: 20 });
  });

  it('relays a Python websockets client (compression on by default)', async () => {
    const backend = await startWsBackend({ perMessageDeflate: { threshold: 0 } });
    const gw = await startWsgate({ pools: [{ name: 'b', backends: [backend.address] }] });
    const r = await runPython('ws_deflate_peer.py', ['client', gw.url('/pyclient'), 50]);
    assert.equal(r.ok, true);
    assert.match(r.extensions, /^permessage-deflate/);
    assert.equal(r.matched, 50);
    assert.equal(r.close_code, 1000);
    const m = await metrics(gw);
    assert.deepEqual(directionSums(m, 'wsgate_compressed_messages_total'), { c2b: 50, b2c: 50 });
  });

  it('forwards a backend\'s compressed frames byte for byte; bad UTF-8 in them: 1007 / 1014', async () => {
    const peers = new Map();
    const backend = await scriptedBackend(() => 'permessage-deflate',
                                          (peer, target) => peers.set(target, peer));
    const gw = await startWsgate({ pools: [{ name: 's', backends: [backend.address] }],
                                   policies: { default: { ping_interval: '0s' } } });
    const client = await rawClient(gw.port(), {
      path: '/bytes', keepRaw: true,
      headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' },
    });
    assert.equal(client.response.headers['sec-websocket-extensions'], 'permessage-deflate');
    const server = peers.get('/bytes');
    const good = Buffer.concat([
      server.frame({ opcode: OP.TEXT, rsv: 4, fin: false, payload: deflateMessage('caf\u00e9 ').subarray(0, 3) }),
      server.frame({ opcode: OP.CONTINUATION, payload: deflateMessage('caf\u00e9 ').subarray(3) }),
    ]);
    await server.write(good);
    await client.waitBytes(good.length);
    assert.deepEqual(client.rawReceived(), good);
    await server.send({ opcode: OP.TEXT, rsv: 4, payload: deflateMessage(Buffer.from([0xed, 0xa0, 0x80])) });
    const toBackend = await server.nextClose();
    assert.deepEqual([toBackend.code, toBackend.reason], [1007, 'invalid UTF-8 in text message']);
    const toClient = await client.nextClose();
    assert.deepEqual([toClient.code, toClient.reason],
                     [1014, 'backend sent a bad frame: invalid UTF-8 in text message']);
  });

  it('answers 502 for a 101 whose extension is not offered, malformed or inconsistent', async () => {
    const answers = {
      '/other': 'x-webkit-deflate-frame',
      '/unoffered': 'permessage-deflate',
      '/malformed': 'permessage-deflate; server_max_window_bits=99',
      '/twice': 'permessage-deflate, permessage-deflate',
      '/inconsistent': 'permessage-deflate; client_max_window_bits=10',
      '/takeover': 'permessage-deflate',
    };
    const backend = await scriptedBackend((target) => answers[target]);
    const gw = await startWsgate({ pools: [{ name: 's', backends: [backend.address] }] });
    const expect = {
      '/other': "'x-webkit-deflate-frame' is not acceptable: extension 'x-webkit-deflate-frame' was not offered",
      '/unoffered': "is not acceptable: extension 'permessage-deflate' was not offered",
      '/malformed': "is not acceptable: permessage-deflate: parameter 'server_max_window_bits' must be an integer 8-15",
      '/twice': 'is not acceptable: permessage-deflate chosen more than once',
      '/inconsistent': 'client_max_window_bits in the answer, but the client did not offer it',
      '/takeover': 'the client asked for server_no_context_takeover and the answer lacks it',
    };
    const offers = { '/unoffered': null, '/takeover': 'permessage-deflate; server_no_context_takeover' };
    for (const [target, part] of Object.entries(expect)) {
      const offer = target in offers ? offers[target] : 'permessage-deflate';
      const headers = offer ? { 'Sec-WebSocket-Extensions': offer } : {};
      const res = await rawRequest(gw.port(), upgradeRequest({ path: target, headers }));
      assert.equal(res.status, 502, target);
      assert.ok(res.body.includes(part), `${target}: ${res.body}`);
      assert.ok(res.body.startsWith("the backend's Sec-WebSocket-Extensions '"), res.body);
    }
  });
});

describe('permessage-deflate: a fresh random text through both directions', () => {
  after(stopAll);

  it('inflates fragmented messages from ws (fragments of a compressed message)', async () => {
    const backend = await startWsBackend({ perMessageDeflate: { threshold: 0 } });
    const gw = await startWsgate({ pools: [{ name: 'b', backends: [backend.address] }] });
    const ws = await connectWs(gw.url('/frag'), { perMessageDeflate: { threshold: 0 } });
    const text = crypto.randomBytes(30000).toString('base64');
    ws.send(text.slice(0, 10000), { fin: false });
    ws.send(text.slice(10000, 20000), { fin: false });
    ws.send(text.slice(20000), { fin: true });
    assert.equal((await nextMessage(ws)).data.toString(), text);
    ws.close(1000);
    await waitClose(ws);
  });
});
