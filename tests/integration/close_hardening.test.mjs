// Close semantics found wanting by the hardening review (issue 11): a client's FIN ends its
// sending, not its receiving (6); a drain answers handshakes still being read (7); every
// backend violation is a bad gateway for the client (9); a leg's close is counted when that
// leg closes (12); what follows a close frame is discarded (14); an offender gets what the
// other peer sent before its close, then its close code (15).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { startWsgate, stopAll } from './lib/harness.mjs';
import { OP, closePayload, encodeFrame, rawClient, rawServer, wsBackend } from './lib/frames.mjs';
import { httpGet, parseMetrics } from './lib/metrics.mjs';

const POLICY = {
  max_frame_size: '1MiB',
  max_message_size: '4MiB',
  ping_interval: '0s',
  idle_timeout: '0s',
};

function text(frame) {
  return frame.payload.toString('utf8');
}

function describeFrames(frames) {
  return frames
    .map((f) => (f.opcode === OP.CLOSE ? `close(${f.payload.readUInt16BE(0)})` : `op${f.opcode}(${text(f)})`))
    .join(', ');
}

describe('close hardening', () => {
  let raw;
  let echo;
  let gw;

  before(async () => {
    raw = await rawServer();
    echo = await wsBackend({ echo: true });
    gw = await startWsgate({
      pools: [
        { name: 'raw', backends: [raw.address] },
        { name: 'echo', backends: [echo.address] },
      ],
      routes: [
        { pool: 'raw', path_prefix: '/raw' },
        { pool: 'raw', path_prefix: '/small', policy: 'small' },
        { pool: 'raw', path_prefix: '/idle', policy: 'idle' },
        { pool: 'echo', path_prefix: '/' },
      ],
      policies: {
        default: POLICY,
        small: { ...POLICY, max_message_size: '1KiB', max_frame_size: '1KiB' },
        idle: { ...POLICY, idle_timeout: '1s' },
      },
    });
  });

  after(async () => {
    await raw?.close();
    await echo?.close();
    await stopAll();
  });

  test('6: Close(1000) then FIN at once still gets the backend\'s last message and its close reply', async () => {
    const client = await rawClient(gw.port(), { path: '/raw/halfclose' });
    const backend = await raw.nextPeer('/raw/halfclose');
    const from = gw.mark();
    await client.close(1000, 'bye');
    client.end(); // shutdown(SHUT_WR) right behind the close frame
    const close = await backend.nextClose();
    assert.deepEqual([close.code, close.reason], [1000, 'bye']);
    await backend.sendText('in flight');
    await backend.close(1000, 'bye too');
    const frames = [];
    for (let f = await client.nextFrame(); f; f = await client.nextFrame()) frames.push(f);
    assert.equal(describeFrames(frames), 'op1(in flight), close(1000)', 'what the client got');
    backend.end();
    const log = await gw.waitForAccess((l) => l.path === '/raw/halfclose', 15000, from);
    assert.equal(log.client_close_code, 1000);
    assert.equal(log.termination, 'normal');
  });

  test('6: a FIN without a close frame: the backend gets 1001 and what it still sends reaches the client', async () => {
    const client = await rawClient(gw.port(), { path: '/raw/fin' });
    const backend = await raw.nextPeer('/raw/fin');
    client.end();
    const close = await backend.nextClose();
    assert.deepEqual([close.code, close.reason], [1001, 'client connection lost']);
    await backend.sendText('last words');
    await backend.close(1001);
    const frames = [];
    for (let f = await client.nextFrame(); f; f = await client.nextFrame()) frames.push(f);
    assert.equal(describeFrames(frames), 'op1(last words)', 'what the client got before TCP closed');
    backend.end();
  });

  test('7: SIGTERM while a request head is half read answers 503 with Retry-After', async () => {
    const gw2 = await startWsgate({ pools: [{ name: 'echo', backends: [echo.address] }], policies: { default: POLICY } });
    const socket = net.connect(gw2.port(), '127.0.0.1');
    let received = Buffer.alloc(0);
    socket.on('data', (chunk) => { received = Buffer.concat([received, chunk]); });
    const ended = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    // Wait until wsgate lists the connection as reading its request (bounded poll of /connections).
    let seen = false;
    for (let i = 0; i < 100 && !seen; ++i) {
      const r = await httpGet(gw2.adminUrl('/connections'));
      seen = JSON.parse(r.body).connections.some((c) => c.state === 'reading_request');
    }
    assert.ok(seen, 'the half-read handshake shows in /connections');
    const reading = JSON.parse((await httpGet(gw2.adminUrl('/connections'))).body).connections
      .find((c) => c.state === 'reading_request');
    assert.equal(reading?.client_leg, 'open');
    assert.equal(reading?.backend_leg, 'none'); // no backend connection yet
    gw2.signal('SIGTERM');
    await ended;
    const head = received.toString('latin1');
    assert.match(head, /^HTTP\/1\.1 503 /, `got: ${JSON.stringify(head)}`);
    assert.match(head, /\r\nRetry-After: 1\r\n/i);
    assert.match(head, /wsgate is shutting down/);
    assert.equal((await gw2.waitExit()).code, 0);
  });

  test('9: invalid UTF-8 from the backend: 1014 naming it to the client, 1007 to the backend', async () => {
    const client = await rawClient(gw.port(), { path: '/raw/utf8' });
    const backend = await raw.nextPeer('/raw/utf8');
    await backend.send({ opcode: OP.TEXT, payload: Buffer.from([0x61, 0xc0, 0xaf]) });
    const toClient = await client.nextClose();
    assert.deepEqual([toClient.code, toClient.reason],
      [1014, 'backend sent a bad frame: invalid UTF-8 in text message']);
    const toBackend = await backend.nextClose();
    assert.equal(toBackend.code, 1007);
    client.finish(1014);
    backend.end();
  });

  test('9: a backend message over the limit: 1014 to the client, 1009 to the backend', async () => {
    const client = await rawClient(gw.port(), { path: '/small/big' });
    const backend = await raw.nextPeer('/small/big');
    await backend.send({ opcode: OP.BINARY, payload: Buffer.alloc(2048, 7) });
    const toClient = await client.nextClose();
    assert.equal(toClient.code, 1014);
    assert.match(toClient.reason, /^backend sent a bad frame: /);
    const toBackend = await backend.nextClose();
    assert.equal(toBackend.code, 1009);
    client.finish(1014);
    backend.end();
  });

  test('12: a client leg closed by idle_timeout is counted at once, while the backend leg still waits', async () => {
    const client = await rawClient(gw.port(), { path: '/idle/metrics' });
    const backend = await raw.nextPeer('/idle/metrics');
    const key = { leg: 'client', closed_by: 'proxy', code: '1001' };
    const count0 = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body).get('wsgate_closes_total', key);
    const close = await client.nextClose();
    assert.deepEqual([close.code, close.reason], [1001, 'idle timeout']);
    client.finish(1001);
    await client.waitEnd();
    // The backend (raw) never answers wsgate's 1001: that leg waits for the close timeout.
    const toBackend = await backend.nextClose();
    assert.equal(toBackend.code, 1001);
    const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
    assert.equal(m.get('wsgate_closes_total', key), count0 + 1, 'the client leg is counted');
    assert.equal(backend.ended, false, 'the backend leg is still open');
    backend.end();
  });

  test('14: frames after a close frame are discarded; the close handshake completes with 1000', async () => {
    const client = await rawClient(gw.port(), { path: '/after-close' });
    const both = Buffer.concat([
      encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000, ''), mask: true }),
      encodeFrame({ opcode: OP.TEXT, payload: 'after', mask: true }),
    ]);
    await client.write(both);
    const close = await client.nextClose();
    assert.equal(close.code, 1000, `close ${close.code} ${close.reason}`);
  });

  test('15: a valid message then a bad frame: the echo comes first, then 1002', async () => {
    const client = await rawClient(gw.port(), { path: '/offender' });
    const both = Buffer.concat([
      encodeFrame({ opcode: OP.TEXT, payload: 'hello', mask: true }),
      encodeFrame({ opcode: OP.TEXT, payload: 'bad', mask: true, rsv: 2 }),
    ]);
    await client.write(both);
    const frames = [];
    for (let f = await client.nextFrame(); f && f.opcode !== OP.CLOSE; f = await client.nextFrame()) frames.push(f);
    assert.equal(describeFrames(frames), 'op1(hello)', 'the echo before the close');
    const closeFrame = client.frames[client.consumed - 1];
    assert.equal(closeFrame.opcode, OP.CLOSE);
    assert.equal(closeFrame.payload.readUInt16BE(0), 1002);
  });

  test('15: a backend frame partly relayed is finished before the offender\'s close', async () => {
    const client = await rawClient(gw.port(), { path: '/raw/partial' });
    const backend = await raw.nextPeer('/raw/partial');
    const frame = encodeFrame({ opcode: OP.BINARY, payload: Buffer.alloc(100000, 3), mask: false });
    await backend.write(frame.subarray(0, 50000));
    await client.waitBytes(50000);
    await client.send({ opcode: OP.TEXT, payload: 'x', rsv: 4 });
    const toBackend = await backend.nextClose();
    assert.equal(toBackend.code, 1001);
    await backend.write(frame.subarray(50000));
    await backend.close(1001);
    const first = await client.nextFrame();
    assert.equal(first?.opcode, OP.BINARY);
    assert.equal(first.payload.length, 100000);
    const close = await client.nextClose();
    assert.equal(close.code, 1002);
    client.end();
    backend.end();
  });

  test('15: the offender still gets its own code when the other peer leaves without a close reply', async () => {
    const client = await rawClient(gw.port(), { path: '/raw/gone' });
    const backend = await raw.nextPeer('/raw/gone');
    await client.send({ opcode: OP.PING, payload: 'p', fin: false });
    const toBackend = await backend.nextClose();
    assert.equal(toBackend.code, 1001);
    backend.end();
    const close = await client.nextClose();
    assert.deepEqual([close.code, close.reason], [1002, 'fragmented control frame']);
    client.end();
  });
});
