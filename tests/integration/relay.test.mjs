// The frame relay (DESIGN.md "The life of a connection", steps 6 and 9): every message arrives
// whole, in order and byte for byte; frames keep their bytes (client masks included) and their
// fragmentation; application pings and pongs pass both ways; close handshakes are relayed with
// code and reason; a vanished peer is reported to the other side; a non-reading client stops
// wsgate reading its backend (bounded memory) without losing a byte.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { rchar, untilReadingStops, vmRssKiB } from './lib/proc.mjs';
import {
  collectMessages,
  connectWs,
  startEcho,
  startWsgate,
  stopAll,
  waitClose,
  waitEvent,
} from './lib/harness.mjs';
import {
  OP,
  closePayload,
  deadline,
  encodeFrame,
  pseudoRandomBytes,
  rawClient,
  rawServer,
  utf8Text,
  wsBackend,
} from './lib/frames.mjs';

const SIZES = [0, 1, 125, 126, 65535, 65536, 1024 * 1024];

// Relay tests run without wsgate's own heartbeats, so every frame a peer sees is the other
// peer's.
const RELAY_POLICY = {
  max_frame_size: '16MiB',
  max_message_size: '64MiB',
  utf8: 'strict',
  allow_binary: true,
  ping_interval: '0s',
  idle_timeout: '0s',
};

// The access-log line of the connection made to `path` after mark `from`.
function accessFor(gw, path, from) {
  return gw.waitForAccess((l) => l.path === path, 15000, from);
}

describe('relay', () => {
  let echo;
  let wsb;
  let raw;
  let gw;

  before(async () => {
    echo = await startEcho();
    wsb = await wsBackend({ echo: true, options: { perMessageDeflate: false } });
    raw = await rawServer();
    gw = await startWsgate({
      pools: [
        { name: 'echo', backends: [echo.address] },
        { name: 'ws', backends: [wsb.address] },
        { name: 'raw', backends: [raw.address] },
      ],
      routes: [
        { pool: 'echo', path_prefix: '/' },
        { pool: 'ws', path_prefix: '/ws' },
        { pool: 'raw', path_prefix: '/raw' },
        { pool: 'raw', path_prefix: '/lost', policy: 'lost' },
      ],
      policies: {
        default: RELAY_POLICY,
        lost: { ...RELAY_POLICY, backend_lost_close_code: 1011 },
      },
    });
  });

  after(async () => {
    await wsb?.close();
    await raw?.close();
    await stopAll();
  });

  test('text and binary messages of 0, 1, 125, 126, 65535, 65536 and 1 MiB bytes come back whole and in order', { timeout: 60000 }, async () => {
    const from = gw.mark();
    const ws = await connectWs(gw.url('/sizes'), { maxPayload: 64 * 1024 * 1024 });
    const sent = [];
    for (const [i, size] of SIZES.entries()) {
      const text = utf8Text(size, i + 1);
      assert.equal(Buffer.byteLength(text), size);
      sent.push({ data: Buffer.from(text), isBinary: false });
      ws.send(text);
      const bytes = pseudoRandomBytes(size, 1000 + i);
      sent.push({ data: bytes, isBinary: true });
      ws.send(bytes);
    }
    const got = await collectMessages(ws, sent.length, 45000);
    for (const [i, want] of sent.entries()) {
      assert.equal(got[i].isBinary, want.isBinary, `message ${i}: type`);
      assert.equal(got[i].data.length, want.data.length, `message ${i}: length`);
      assert.ok(got[i].data.equals(want.data), `message ${i}: ${want.data.length} bytes differ`);
    }
    ws.close(1000, 'done');
    // wsgate-echo answers a close with the same code and no reason.
    assert.deepEqual(await waitClose(ws), { code: 1000, reason: '' });
    const log = await accessFor(gw, '/sizes', from);
    assert.equal(log.messages_from_client, 14);
    assert.equal(log.messages_to_client, 14);
    assert.equal(log.client_close_code, 1000);
    assert.equal(log.client_close_reason, 'done');
    assert.equal(log.client_closed_by, 'client');
    assert.equal(log.backend_close_code, 1000);
    assert.equal(log.termination, 'normal');
  });

  test('1000 pipelined messages of random sizes and types come back in order, byte for byte', { timeout: 60000 }, async () => {
    const from = gw.mark();
    const ws = await connectWs(gw.url('/pipelined'));
    const sent = [];
    const sizes = pseudoRandomBytes(2000, 77);
    for (let i = 0; i < 1000; ++i) {
      const size = sizes.readUInt16BE(i * 2) % 3000;
      if (i % 2 === 0) {
        const text = `#${i}:` + utf8Text(size, i + 5);
        sent.push({ data: Buffer.from(text), isBinary: false });
        ws.send(text);
      } else {
        const bytes = pseudoRandomBytes(size, i + 5);
        sent.push({ data: bytes, isBinary: true });
        ws.send(bytes);
      }
    }
    const got = await collectMessages(ws, 1000, 45000);
    for (let i = 0; i < 1000; ++i) {
      assert.equal(got[i].isBinary, sent[i].isBinary, `message ${i}: type`);
      assert.ok(got[i].data.equals(sent[i].data), `message ${i}: bytes differ`);
    }
    ws.close(1000, 'done');
    assert.deepEqual(await waitClose(ws), { code: 1000, reason: '' });
    const log = await accessFor(gw, '/pipelined', from);
    assert.equal(log.messages_from_client, 1000);
    assert.equal(log.messages_to_client, 1000);
    assert.equal(log.termination, 'normal');
  });

  test('frames are forwarded unchanged both ways: client masks, fragmentation, length encodings, control frames', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path: '/raw/bytes', keepRaw: true });
    const server = await raw.nextPeer('/raw/bytes');

    const mask = (n) => Buffer.from([n, n + 1, n + 2, n + 3]);
    const clientFrames = [
      encodeFrame({ opcode: OP.TEXT, payload: 'hello', mask: mask(1) }),
      encodeFrame({ opcode: OP.BINARY, payload: Buffer.alloc(0), mask: mask(5) }),
      encodeFrame({ opcode: OP.TEXT, payload: 'frag-1 ', fin: false, mask: mask(9) }),
      encodeFrame({ opcode: OP.PING, payload: 'between', mask: mask(13) }),
      encodeFrame({ opcode: OP.CONT, payload: 'frag-2 ', fin: false, mask: mask(17) }),
      encodeFrame({ opcode: OP.PONG, payload: 'unsolicited', mask: mask(21) }),
      encodeFrame({ opcode: OP.CONT, payload: 'frag-3', fin: true, mask: mask(25) }),
      encodeFrame({ opcode: OP.BINARY, payload: pseudoRandomBytes(126, 3), mask: mask(29) }),
      encodeFrame({ opcode: OP.BINARY, payload: pseudoRandomBytes(65536, 4), mask: mask(33) }),
      encodeFrame({ opcode: OP.BINARY, payload: pseudoRandomBytes(300, 5), fin: false, mask: mask(37) }),
      encodeFrame({ opcode: OP.CONT, payload: Buffer.alloc(0), fin: false, mask: mask(41) }),
      encodeFrame({ opcode: OP.CONT, payload: pseudoRandomBytes(70000, 6), fin: true, mask: mask(45) }),
    ];
    const clientBytes = Buffer.concat(clientFrames);
    // One write, then the same frames again cut at odd places.
    await client.write(clientBytes);
    for (let at = 0; at < clientBytes.length; at += 7919) {
      await client.write(clientBytes.subarray(at, Math.min(at + 7919, clientBytes.length)));
    }
    await server.waitBytes(2 * clientBytes.length);
    assert.ok(server.rawReceived().equals(Buffer.concat([clientBytes, clientBytes])),
      'the backend must receive the client frames byte for byte, masks included');

    const serverFrames = [
      encodeFrame({ opcode: OP.TEXT, payload: 'from backend', mask: false }),
      encodeFrame({ opcode: OP.BINARY, payload: pseudoRandomBytes(125, 7), mask: false }),
      encodeFrame({ opcode: OP.BINARY, payload: pseudoRandomBytes(65535, 8), mask: false }),
      encodeFrame({ opcode: OP.TEXT, payload: 'a', fin: false, mask: false }),
      encodeFrame({ opcode: OP.PING, payload: 'server ping', mask: false }),
      encodeFrame({ opcode: OP.CONT, payload: 'b', fin: true, mask: false }),
      encodeFrame({ opcode: OP.PONG, payload: '', mask: false }),
      encodeFrame({ opcode: OP.BINARY, payload: pseudoRandomBytes(1024 * 1024, 9), mask: false }),
    ];
    const serverBytes = Buffer.concat(serverFrames);
    await server.write(serverBytes);
    await client.waitBytes(serverBytes.length);
    assert.ok(client.rawReceived().equals(serverBytes),
      'the client must receive the backend frames byte for byte');

    // Close from the client, answered by the backend.
    const closeFrame = encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000, 'bye'), mask: mask(49) });
    await client.write(closeFrame);
    const atBackend = await server.nextClose();
    assert.equal(atBackend.code, 1000);
    assert.equal(atBackend.reason, 'bye');
    assert.ok(atBackend.frame.raw.equals(closeFrame), 'the close frame keeps its bytes and mask');
    await server.close(1000, 'bye back');
    server.end();
    const atClient = await client.nextClose();
    assert.deepEqual([atClient.code, atClient.reason], [1000, 'bye back']);
    client.end();
    await client.waitEnd();
    await server.waitEnd();

    const log = await accessFor(gw, '/raw/bytes', from);
    assert.equal(log.bytes_from_client, client.requestBytes + client.bytesSent);
    assert.equal(log.bytes_to_client, client.headBytes + client.bytesReceived);
    assert.equal(log.messages_from_client, 2 * 6);
    assert.equal(log.messages_to_client, 5);
    assert.equal(log.client_close_code, 1000);
    assert.equal(log.client_close_reason, 'bye');
    assert.equal(log.client_closed_by, 'client');
    assert.equal(log.backend_close_code, 1000);
    assert.equal(log.backend_close_reason, 'bye');
    assert.equal(log.backend_closed_by, 'client');
    assert.equal(log.termination, 'normal');
  });

  test('a fragmented message with pings between its fragments reaches a ws backend whole, after the pings', { timeout: 30000 }, async () => {
    const client = await rawClient(gw.port(), { path: '/ws/fragments' });
    const conn = await wsb.nextConnection('/ws/fragments');
    const binary = pseudoRandomBytes(5000, 11);
    await client.write(Buffer.concat([
      encodeFrame({ opcode: OP.TEXT, payload: 'Hello, ', fin: false }),
      encodeFrame({ opcode: OP.PING, payload: 'p1' }),
      encodeFrame({ opcode: OP.CONT, payload: 'wör', fin: false }),
      encodeFrame({ opcode: OP.PING, payload: 'p2' }),
      encodeFrame({ opcode: OP.CONT, payload: 'ld', fin: true }),
    ]));
    // A fragment of the next message in a write of its own, then the rest.
    await client.write(encodeFrame({ opcode: OP.BINARY, payload: binary.subarray(0, 1000), fin: false }));
    await client.write(Buffer.concat([
      encodeFrame({ opcode: OP.PING, payload: 'p3' }),
      encodeFrame({ opcode: OP.CONT, payload: binary.subarray(1000), fin: true }),
    ]));
    await conn.waitFor('message', 2);
    const seen = conn.events.map((e) => `${e.type}:${e.type === 'message' ? (e.isBinary ? 'bin' : e.data.toString()) : e.data.toString()}`);
    assert.deepEqual(seen, ['ping:p1', 'ping:p2', 'message:Hello, wörld', 'ping:p3', 'message:bin']);
    assert.ok(conn.messages()[1].data.equals(binary));
    // ws answers every ping with a pong: they reach the client, in order, between the echoes.
    const frames = [];
    for (let i = 0; i < 5; ++i) frames.push(await client.nextFrame());
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.opcode === OP.BINARY ? f.payload.length : f.payload.toString()]),
      [[OP.PONG, 'p1'], [OP.PONG, 'p2'], [OP.TEXT, 'Hello, wörld'], [OP.PONG, 'p3'], [OP.BINARY, 5000]],
    );
    await client.close(1000);
    assert.deepEqual(await conn.waitClose(), { type: 'close', code: 1000, reason: '' });
    const reply = await client.nextClose();
    assert.deepEqual([reply.code, reply.reason], [1000, '']);
    client.end();
    await client.waitEnd();
  });

  test('application pings and pongs pass through in both directions', { timeout: 30000 }, async () => {
    const client = await rawClient(gw.port(), { path: '/ws/pingpong' });
    const conn = await wsb.nextConnection('/ws/pingpong');

    // Client -> backend ping; the backend's pong comes back.
    await client.ping('client-ping');
    const pong = await client.nextFrame();
    assert.equal(pong.opcode, OP.PONG);
    assert.equal(pong.payload.toString(), 'client-ping');
    assert.equal(pong.masked, false);
    assert.deepEqual(conn.events.map((e) => [e.type, e.data.toString()]), [['ping', 'client-ping']]);

    // Backend -> client ping; the client's pong reaches the backend.
    conn.ws.ping('backend-ping');
    const ping = await client.nextFrame();
    assert.equal(ping.opcode, OP.PING);
    assert.equal(ping.payload.toString(), 'backend-ping');
    await client.pong('backend-ping');
    const [gotPong] = await conn.waitFor('pong', 1);
    assert.equal(gotPong.data.toString(), 'backend-ping');

    // An unsolicited pong of the client's passes too.
    await client.pong('just because');
    const pongs = await conn.waitFor('pong', 2);
    assert.equal(pongs[1].data.toString(), 'just because');

    // Backend -> client unsolicited pong.
    conn.ws.pong('server pong');
    const serverPong = await client.nextFrame();
    assert.equal(serverPong.opcode, OP.PONG);
    assert.equal(serverPong.payload.toString(), 'server pong');

    await client.close(1000, 'done');
    assert.deepEqual(await conn.waitClose(), { type: 'close', code: 1000, reason: 'done' });
    const reply = await client.nextClose();
    assert.deepEqual([reply.code, reply.reason], [1000, 'done']);
    client.end();
    await client.waitEnd();
  });

  test('a close handshake started by the backend is relayed with its code and reason, and the reply goes back', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path: '/raw/backend-closes' });
    const server = await raw.nextPeer('/raw/backend-closes');
    await server.sendText('last words');
    await server.close(4000, 'server going away');
    const msg = await client.nextFrame();
    assert.deepEqual([msg.opcode, msg.payload.toString()], [OP.TEXT, 'last words']);
    const atClient = await client.nextClose();
    assert.deepEqual([atClient.code, atClient.reason], [4000, 'server going away']);
    await client.close(4000, 'ack');
    const atBackend = await server.nextClose();
    assert.deepEqual([atBackend.code, atBackend.reason], [4000, 'ack']);
    assert.equal(atBackend.frame.masked, true);
    server.end();
    // wsgate closes the client's TCP connection once both directions have closed.
    await client.waitEnd();
    await server.waitEnd();
    const log = await accessFor(gw, '/raw/backend-closes', from);
    assert.equal(log.client_close_code, 4000);
    assert.equal(log.client_close_reason, 'server going away');
    assert.equal(log.client_closed_by, 'backend');
    assert.equal(log.backend_close_code, 4000);
    assert.equal(log.backend_close_reason, 'server going away');
    assert.equal(log.backend_closed_by, 'backend');
    assert.equal(log.termination, 'normal');
    assert.equal(log.messages_to_client, 1);
  });

  test('a close handshake started by a ws client reaches a ws backend with code and reason', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const ws = await connectWs(gw.url('/ws/client-closes'));
    const conn = await wsb.nextConnection('/ws/client-closes');
    ws.close(1000, 'bye');
    assert.deepEqual(await conn.waitClose(), { type: 'close', code: 1000, reason: 'bye' });
    // ws answers a close with the same code and reason.
    assert.deepEqual(await waitClose(ws), { code: 1000, reason: 'bye' });
    const log = await accessFor(gw, '/ws/client-closes', from);
    assert.equal(log.client_close_code, 1000);
    assert.equal(log.client_close_reason, 'bye');
    assert.equal(log.client_closed_by, 'client');
    assert.equal(log.backend_close_code, 1000);
    assert.equal(log.backend_closed_by, 'client');
    assert.equal(log.termination, 'normal');
  });

  test('a backend that vanishes without a close frame: the client gets 1014 "backend connection lost"', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const ws = await connectWs(gw.url('/drop'));
    assert.deepEqual(await waitClose(ws), { code: 1014, reason: 'backend connection lost' });
    const log = await accessFor(gw, '/drop', from);
    assert.equal(log.client_close_code, 1014);
    assert.equal(log.client_close_reason, 'backend connection lost');
    assert.equal(log.client_closed_by, 'proxy');
    assert.equal(log.backend_close_code, 1006);
    assert.equal(log.termination, 'backend_lost');
  });

  test('a backend lost after traffic: messages before it arrive, then backend_lost_close_code (1011)', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path: '/lost/mid' });
    const server = await raw.nextPeer('/lost/mid');
    await server.sendText('one');
    await server.sendBinary(Buffer.from([1, 2, 3]));
    server.end(); // FIN, no close frame
    const f1 = await client.nextFrame();
    const f2 = await client.nextFrame();
    assert.deepEqual([f1.opcode, f1.payload.toString()], [OP.TEXT, 'one']);
    assert.deepEqual([f2.opcode, [...f2.payload]], [OP.BINARY, [1, 2, 3]]);
    const close = await client.nextClose();
    assert.deepEqual([close.code, close.reason], [1011, 'backend connection lost']);
    assert.deepEqual(close.skipped, []);
    await client.close(1011);
    await client.waitEnd();
    const log = await accessFor(gw, '/lost/mid', from);
    assert.equal(log.client_close_code, 1011);
    assert.equal(log.termination, 'backend_lost');
    assert.equal(log.messages_to_client, 2);
  });

  test('a client that vanishes: the backend gets 1001 "client connection lost"', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const ws = await connectWs(gw.url('/ws/vanish'));
    const conn = await wsb.nextConnection('/ws/vanish');
    ws.send('before vanishing');
    await conn.waitFor('message', 1);
    ws.terminate(); // TCP gone, no close frame
    const closed = await conn.waitClose();
    const log = await accessFor(gw, '/ws/vanish', from);
    assert.equal(log.client_close_code, 1006);
    assert.equal(log.backend_close_code, 1001);
    assert.equal(log.backend_close_reason, 'client connection lost');
    assert.equal(log.backend_closed_by, 'proxy');
    assert.equal(log.termination, 'client_lost');
    assert.equal(log.messages_from_client, 1);
    assert.deepEqual([closed.code, closed.reason], [1001, 'client connection lost'],
      `ws backend saw: ${conn.summary()}`);
  });

  test('a client that vanishes: a raw backend gets a masked close 1001 "client connection lost"', { timeout: 30000 }, async () => {
    const client = await rawClient(gw.port(), { path: '/raw/vanish' });
    const server = await raw.nextPeer('/raw/vanish');
    client.destroy();
    const close = await server.nextClose();
    server.finish(1001);
    await server.waitEnd();
    assert.deepEqual([close.code, close.reason], [1001, 'client connection lost']);
    assert.equal(close.frame.masked, true, 'wsgate is a client towards the backend: its close must be masked');
  });

  test('a client that does not read stops wsgate reading its flooding backend; RSS stays bounded and every byte arrives', { timeout: 180000 }, async (t) => {
    const TOTAL = 200 * 1024 * 1024;
    const SIZE = 64 * 1024;
    const from = gw.mark();
    const rssBefore = vmRssKiB(gw.pid);
    const readBefore = rchar(gw.pid);
    const { socket, rest, headBytes } = await rawClient(gw.port(), {
      path: `/flood?bytes=${TOTAL}&size=${SIZE}`,
      manual: true,
    });

    // The client reads nothing: wsgate must stop reading its backend with little read.
    const { read: lastRead, growthMiB, samples } = await untilReadingStops(gw.pid, TOTAL, {
      readBefore,
      rssBefore,
    });
    t.diagnostic(`paused client: wsgate read ${lastRead} bytes, RSS +${growthMiB.toFixed(2)} MiB, ${samples} samples`);
    assert.ok(lastRead < 64 * 1024 * 1024,
      `wsgate read ${lastRead} bytes from the backend while the client read nothing`);
    assert.ok(growthMiB < 16, `wsgate RSS grew by ${growthMiB.toFixed(1)} MiB`);

    // Now read everything: every message is 64 KiB of the pattern byte j = j mod 256.
    const pattern = Buffer.alloc(SIZE);
    for (let i = 0; i < SIZE; ++i) pattern[i] = i & 0xff;
    let received = 0;
    let payloadBytes = 0;
    let messages = 0;
    let buf = Buffer.alloc(0);
    let closeFrame = null;
    let error = null;
    const done = new Promise((resolve) => {
      const onChunk = (chunk) => {
        received += chunk.length;
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        while (buf.length >= 2 && !error && !closeFrame) {
          const op = buf[0] & 0x0f;
          let len = buf[1] & 0x7f;
          let pos = 2;
          if (len === 126) {
            if (buf.length < 4) break;
            len = buf.readUInt16BE(2);
            pos = 4;
          } else if (len === 127) {
            if (buf.length < 10) break;
            len = Number(buf.readBigUInt64BE(2));
            pos = 10;
          }
          if (buf.length < pos + len) break;
          const payload = buf.subarray(pos, pos + len);
          if (op === OP.CLOSE) {
            closeFrame = payload;
          } else if (op !== OP.BINARY || len !== SIZE || !payload.equals(pattern)) {
            error = `message ${messages}: opcode ${op}, ${len} bytes, pattern ${payload.equals(pattern)}`;
          } else {
            ++messages;
            payloadBytes += len;
          }
          buf = buf.subarray(pos + len);
        }
        if (closeFrame || error) resolve();
      };
      socket.on('data', onChunk);
      socket.on('close', resolve);
      onChunk(rest);
    });
    socket.resume();
    await deadline(done, 150000, 'the whole flood and its close frame');
    assert.equal(error, null);
    assert.equal(messages, TOTAL / SIZE);
    assert.equal(payloadBytes, TOTAL);
    assert.ok(closeFrame, 'the flood ends with a close frame');
    assert.equal(closeFrame.readUInt16BE(0), 1000);
    socket.write(encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000) }));
    if (!socket.destroyed) await waitEvent(socket, 'close', 15000, 'wsgate to close the client connection');
    const log = await accessFor(gw, '/flood', from); // the log has the path without the query
    assert.equal(log.bytes_to_client, headBytes + received);
    assert.equal(log.messages_to_client, TOTAL / SIZE);
    assert.equal(log.backend_close_code, 1000);
    assert.equal(log.termination, 'normal');
  });
});

describe('relay: 1000 concurrent connections on 2 workers', () => {
  let echo;
  let gw;

  before(async () => {
    echo = await startEcho();
    gw = await startWsgate({
      server: { workers: 2 },
      pools: [{ name: 'echo', backends: [echo.address] }],
      policies: { default: RELAY_POLICY },
    });
  });

  after(stopAll);

  test('1000 clients connected at once each get their own messages back', { timeout: 180000 }, async () => {
    const N = 1000;
    const from = gw.mark();
    const clients = [];
    // Open in batches (a bounded number of handshakes in flight), keep every one open.
    for (let i = 0; i < N; i += 100) {
      const batch = [];
      for (let j = i; j < Math.min(i + 100, N); ++j) batch.push(connectWs(gw.url(`/many/${j}`), { timeoutMs: 60000 }));
      clients.push(...(await Promise.all(batch)));
    }
    assert.equal(clients.length, N);
    await Promise.all(clients.map(async (ws, i) => {
      const replies = collectMessages(ws, 3, 90000);
      ws.send(`client ${i} first`);
      ws.send(pseudoRandomBytes(100 + (i % 500), i + 1));
      ws.send(`client ${i} last`);
      const got = await replies;
      assert.equal(got[0].data.toString(), `client ${i} first`);
      assert.ok(got[1].isBinary && got[1].data.equals(pseudoRandomBytes(100 + (i % 500), i + 1)), `client ${i} binary`);
      assert.equal(got[2].data.toString(), `client ${i} last`);
    }));
    await Promise.all(clients.map(async (ws, i) => {
      ws.close(1000, `done ${i}`);
      assert.deepEqual(await waitClose(ws, 90000), { code: 1000, reason: '' });
    }));
    const logs = await deadline(new Promise((resolve) => {
      const check = () => {
        const lines = gw.logs.slice(from).filter((l) => l.event === 'access' && l.path?.startsWith('/many/'));
        if (lines.length >= N) {
          gw.off('log', check);
          resolve(lines);
        }
      };
      gw.on('log', check);
      check();
    }), 60000, `${N} access-log lines`);
    assert.equal(logs.length, N);
    assert.ok(logs.every((l) => l.termination === 'normal' && l.messages_from_client === 3 && l.messages_to_client === 3),
      'every connection: 3 messages each way and a normal close');
    assert.deepEqual(new Set(logs.map((l) => l.path)).size, N);
    const workers = new Set(logs.map((l) => l.worker));
    assert.deepEqual([...workers].sort(), [0, 1], 'both workers served connections');
  });
});
