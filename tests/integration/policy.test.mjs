// Frame policy (DESIGN.md "The life of a connection", step 7). A client that breaks RFC 6455 or
// the route's policy gets the close code and reason that name its fault; the backend gets 1001
// with "client sent a bad frame: <reason>"; what the client sent before the bad frame reaches the
// backend in order, the bad frame never does. A backend breaking the protocol or a policy limit
// gets that code, and the client 1014 (bad gateway) with a reason naming it. A violation
// found inside a frame already partly forwarded cuts the other leg at the TCP level.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as h from './lib/harness.mjs';
import { startWsgate, stopAll } from './lib/harness.mjs';
import {
  OP,
  closePayload,
  encodeFrame,
  pseudoRandomBytes,
  rawClient,
  rawServer,
  wsBackend,
} from './lib/frames.mjs';

const BASE = {
  max_frame_size: 1024,
  max_message_size: 4096,
  utf8: 'strict',
  allow_binary: true,
  ping_interval: '0s',
  idle_timeout: '0s',
  max_messages_per_second: 0,
};

// The client's frames that come before the bad one in every case: the first in a write of its
// own (and delivered before the bad frame is even sent), the second in the same write as the bad
// frame.
const BEFORE_ALONE = { opcode: OP.TEXT, payload: 'before-1' };
const BEFORE_WITH_BAD = { opcode: OP.BINARY, payload: Buffer.from([0, 1, 2, 0xff]) };

function summaryOf(frames) {
  return frames.map((f) => `${f.opcode}:${f.payload.length}B`).join(', ');
}

describe('policy', () => {
  let wsb;
  let raw;
  let gw;

  before(async () => {
    wsb = await wsBackend({ echo: false, options: { perMessageDeflate: false } });
    raw = await rawServer();
    gw = await startWsgate({
      pools: [
        { name: 'ws', backends: [wsb.address] },
        { name: 'raw', backends: [raw.address] },
      ],
      routes: [
        { pool: 'ws', path_prefix: '/p' },
        { pool: 'ws', path_prefix: '/nobin', policy: 'nobin' },
        { pool: 'ws', path_prefix: '/rate', policy: 'rate' },
        { pool: 'raw', path_prefix: '/raw' },
        // Backend frames are limited by max_message_size (backend_max_frame_size = 0), so the
        // backend's 1025-byte frame test needs a 1024-byte message limit.
        { pool: 'raw', path_prefix: '/raw/big', policy: 'rawsmall' },
        { pool: 'raw', path_prefix: '/off', policy: 'utf8off' },
        { pool: 'raw', path_prefix: '/big', policy: 'big' },
      ],
      policies: {
        default: BASE,
        nobin: { ...BASE, allow_binary: false },
        rate: { ...BASE, max_messages_per_second: 5 },
        utf8off: { ...BASE, utf8: 'off' },
        big: { ...BASE, max_frame_size: '1MiB', max_message_size: '4MiB' },
        rawsmall: { ...BASE, max_message_size: 1024 },
      },
    });
  });

  after(async () => {
    await wsb?.close();
    await raw?.close();
    await stopAll();
  });

  function accessFor(path, from) {
    return gw.waitForAccess((l) => l.path === path, 15000, from);
  }

  // A raw client on `path` (a ws backend route) sends `before` frames, then `bad` with the last
  // of them in one write. Checks both closes, what the backend got, and the access log.
  async function clientViolation({
    path,
    bad,
    code,
    reason,
    termination,
    violation,
    before = [BEFORE_ALONE, BEFORE_WITH_BAD],
    expectMessages = ['text:before-1', 'binary:000102ff'],
  }) {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path });
    const conn = await wsb.nextConnection(path);
    const first = before.slice(0, 1).map((f) => encodeFrame(f));
    const rest = before.slice(1).map((f) => encodeFrame(f));
    if (first.length) {
      await client.write(first[0]);
      await conn.waitFor('message', 1);
    }
    await client.write(Buffer.concat([...rest, ...(Array.isArray(bad) ? bad : [bad])]));

    const close = await client.nextClose();
    assert.deepEqual([close.code, close.reason], [code, reason], 'close frame sent to the client');
    assert.deepEqual(summaryOf(close.skipped), '', 'nothing but the close reaches the client');
    assert.equal(close.frame.masked, false);
    client.finish(code);

    const backendClose = await conn.waitClose();
    const got = conn.messages().map((m) => (m.isBinary ? `binary:${m.data.toString('hex')}` : `text:${m.data.toString()}`));
    assert.deepEqual(got, expectMessages, 'messages that reached the backend');
    await client.waitEnd();

    const log = await accessFor(path, from);
    assert.equal(log.client_close_code, code);
    assert.equal(log.client_close_reason, reason);
    assert.equal(log.client_closed_by, 'proxy');
    assert.equal(log.backend_close_code, 1001);
    assert.equal(log.backend_close_reason, `client sent a bad frame: ${reason}`);
    assert.equal(log.backend_closed_by, 'proxy');
    assert.equal(log.termination, termination);
    assert.equal(log.violation, violation);
    assert.equal(log.messages_from_client, expectMessages.length);

    // What the backend itself saw: wsgate's close, valid on the wire (a masked client frame).
    assert.deepEqual([backendClose.code, backendClose.reason], [1001, `client sent a bad frame: ${reason}`],
      `ws backend saw: ${conn.summary()}`);
    assert.deepEqual(conn.ofType('error'), [], `ws backend saw: ${conn.summary()}`);
  }

  const protocolCases = [
    ['an unmasked client frame', '/p/unmasked', encodeFrame({ opcode: OP.TEXT, payload: 'bad', mask: false }), 'client frame not masked'],
    ['RSV1 set without an extension', '/p/rsv1', encodeFrame({ opcode: OP.TEXT, payload: 'bad', rsv: 4 }), 'reserved bits set'],
    ['RSV3 set on a ping', '/p/rsv3', encodeFrame({ opcode: OP.PING, payload: 'bad', rsv: 1 }), 'reserved bits set'],
    ['reserved data opcode 0x3', '/p/op3', encodeFrame({ opcode: 0x3, payload: 'bad' }), 'reserved opcode'],
    ['reserved control opcode 0xB', '/p/opb', encodeFrame({ opcode: 0xb, payload: 'bad' }), 'reserved opcode'],
    ['a 126-byte ping', '/p/ping126', encodeFrame({ opcode: OP.PING, payload: Buffer.alloc(126, 0x61) }), 'control frame over 125 bytes'],
    ['a ping without FIN', '/p/pingfrag', encodeFrame({ opcode: OP.PING, payload: 'x', fin: false }), 'fragmented control frame'],
    ['a continuation with no message', '/p/cont', encodeFrame({ opcode: OP.CONT, payload: 'bad' }), 'continuation frame without a message'],
    ['a new message inside a fragmented one', '/p/interleaved',
      [encodeFrame({ opcode: OP.TEXT, payload: 'part', fin: false }), encodeFrame({ opcode: OP.TEXT, payload: 'new' })],
      'new message before the last one ended'],
    ['close code 1005 on the wire', '/p/close1005', encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1005) }), 'invalid close code'],
    ['close code 999', '/p/close999', encodeFrame({ opcode: OP.CLOSE, payload: closePayload(999, 'x') }), 'invalid close code'],
    ['close code 5000', '/p/close5000', encodeFrame({ opcode: OP.CLOSE, payload: closePayload(5000) }), 'invalid close code'],
    ['a close frame with a 1-byte payload', '/p/close1', encodeFrame({ opcode: OP.CLOSE, payload: Buffer.from([3]) }), 'close frame with a 1-byte payload'],
    ['a 16-bit length for a 1-byte payload', '/p/nonminimal', encodeFrame({ opcode: OP.TEXT, payload: 'x', lengthBytes: 2 }), 'payload length not minimally encoded'],
    ['a 64-bit length with the high bit set', '/p/highbit',
      encodeFrame({ opcode: OP.BINARY, payload: Buffer.alloc(0), lengthBytes: 8, declaredLength: 2n ** 63n }),
      '64-bit length with the high bit set'],
  ];
  for (const [what, path, bad, reason] of protocolCases) {
    test(`client sends ${what}: 1002 "${reason}"`, { timeout: 30000 }, () =>
      clientViolation({ path, bad, code: 1002, reason, termination: 'protocol_error', violation: 'protocol' }));
  }

  const utf8Cases = [
    ['a text message with an invalid byte', '/p/utf8', [encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0x68, 0xc3, 0x28]) })]],
    ['an overlong NUL', '/p/overlong', [encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0x61, 0xc0, 0x80]) })]],
    ['a UTF-16 surrogate', '/p/surrogate', [encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0xed, 0xa0, 0x80]) })]],
    ['a text message ending inside a sequence', '/p/truncated', [encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0x61, 0xe2, 0x82]) })]],
    ['a sequence broken across fragments', '/p/fragments',
      [encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0x61, 0xe2, 0x82]), fin: false }),
        encodeFrame({ opcode: OP.CONT, payload: Buffer.from([0x28, 0x61]) })]],
  ];
  for (const [what, path, bad] of utf8Cases) {
    test(`client sends ${what}: 1007 "invalid UTF-8 in text message"`, { timeout: 30000 }, () =>
      clientViolation({ path, bad, code: 1007, reason: 'invalid UTF-8 in text message', termination: 'utf8_invalid', violation: 'utf8' }));
  }

  test('client sends a close reason that is not UTF-8: 1007 "invalid UTF-8 in close reason"', { timeout: 30000 }, () =>
    clientViolation({
      path: '/p/closereason',
      bad: encodeFrame({ opcode: OP.CLOSE, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff])]) }),
      code: 1007,
      reason: 'invalid UTF-8 in close reason',
      termination: 'utf8_invalid',
      violation: 'utf8',
    }));

  test('allow_binary = false: a binary message closes with 1008 "binary messages not allowed"', { timeout: 30000 }, () =>
    clientViolation({
      path: '/nobin/x',
      before: [BEFORE_ALONE, { opcode: OP.TEXT, payload: 'before-2' }],
      expectMessages: ['text:before-1', 'text:before-2'],
      bad: encodeFrame({ opcode: OP.BINARY, payload: Buffer.from([1]) }),
      code: 1008,
      reason: 'binary messages not allowed',
      termination: 'binary_not_allowed',
      violation: 'binary_not_allowed',
    }));

  test('a frame over max_frame_size (1024) closes with 1009 "frame too big"; 1024 bytes pass', { timeout: 30000 }, () =>
    clientViolation({
      path: '/p/frame',
      before: [BEFORE_ALONE, { opcode: OP.BINARY, payload: Buffer.alloc(1024, 7) }],
      expectMessages: ['text:before-1', `binary:${Buffer.alloc(1024, 7).toString('hex')}`],
      bad: encodeFrame({ opcode: OP.TEXT, payload: Buffer.alloc(1025, 0x61) }),
      code: 1009,
      reason: 'frame too big',
      termination: 'frame_too_big',
      violation: 'frame_too_big',
    }));

  test('a message over max_message_size (4096) closes with 1009 "message too big"; 4096 bytes pass', { timeout: 30000 }, async () => {
    const whole = pseudoRandomBytes(4096, 3);
    const exact = [0, 1, 2, 3].map((i) => encodeFrame({
      opcode: i === 0 ? OP.BINARY : OP.CONT,
      payload: whole.subarray(i * 1024, (i + 1) * 1024),
      fin: i === 3,
    }));
    const over = [0, 1, 2, 3, 4].map((i) => encodeFrame({
      opcode: i === 0 ? OP.TEXT : OP.CONT,
      payload: Buffer.alloc(1000, 0x61),
      fin: i === 4,
    }));
    await clientViolation({
      path: '/p/message',
      before: [BEFORE_ALONE],
      expectMessages: ['text:before-1', `binary:${whole.toString('hex')}`],
      bad: [...exact, ...over],
      code: 1009,
      reason: 'message too big',
      termination: 'message_too_big',
      violation: 'message_too_big',
    });
  });

  test('over max_messages_per_second (5): client 4002, backend 1001, the first 5 messages delivered', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path: '/rate/x' });
    const conn = await wsb.nextConnection('/rate/x');
    // One write: the six messages are read at once, within one second of wsgate's clock.
    await client.write(Buffer.concat([1, 2, 3, 4, 5, 6].map((i) => encodeFrame({ opcode: OP.TEXT, payload: `m${i}` }))));
    const close = await client.nextClose();
    assert.deepEqual([close.code, close.reason], [4002, 'message rate limit exceeded']);
    client.finish(4002);
    const backendClose = await conn.waitClose();
    assert.deepEqual(conn.messages().map((m) => m.data.toString()), ['m1', 'm2', 'm3', 'm4', 'm5']);
    await client.waitEnd();
    const log = await accessFor('/rate/x', from);
    assert.equal(log.client_close_code, 4002);
    assert.equal(log.client_close_reason, 'message rate limit exceeded');
    assert.equal(log.backend_close_code, 1001);
    assert.equal(log.backend_close_reason, 'client exceeded its message rate limit');
    assert.equal(log.termination, 'rate_limited');
    assert.equal(log.violation, 'rate_limited');
    assert.equal(log.messages_from_client, 5);
    assert.deepEqual([backendClose.code, backendClose.reason], [1001, 'client exceeded its message rate limit'],
      `ws backend saw: ${conn.summary()}`);
  });

  // A raw backend that sends `good` then `bad`; a raw client sees the good frames and a close.
  async function backendViolation({ path, bad, clientCode, clientReason, backendCode, backendReason, termination, violation }) {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path });
    const server = await raw.nextPeer(path);
    await server.sendText('good');
    await server.write(bad);
    const good = await client.nextFrame();
    assert.deepEqual([good?.opcode, good?.payload.toString()], [OP.TEXT, 'good']);
    const atBackend = await server.nextClose();
    server.finish(backendCode);
    const atClient = await client.nextClose();
    client.finish(clientCode);
    await client.waitEnd();
    await server.waitEnd();

    assert.deepEqual([atBackend.code, atBackend.reason], [backendCode, backendReason], 'close frame sent to the backend');
    const log = await accessFor(path, from);
    assert.equal(log.client_close_code, clientCode);
    assert.equal(log.client_close_reason, clientReason);
    assert.equal(log.client_closed_by, 'proxy');
    assert.equal(log.backend_close_code, backendCode);
    assert.equal(log.backend_close_reason, backendReason);
    assert.equal(log.backend_closed_by, 'proxy');
    assert.equal(log.termination, termination);
    assert.equal(log.violation, violation);
    assert.equal(log.messages_to_client, 1);
    assert.deepEqual([atClient.code, atClient.reason], [clientCode, clientReason], 'close frame sent to the client');
    assert.deepEqual(summaryOf(atClient.skipped), '', 'the bad frame does not reach the client');
    assert.equal(atBackend.frame.masked, true, 'wsgate is a client towards the backend: its close must be masked');
  }

  test('backend sends a masked frame: backend 1002, client 1014 "backend sent a bad frame: server frame masked"', { timeout: 30000 }, () =>
    backendViolation({
      path: '/raw/masked',
      bad: encodeFrame({ opcode: OP.TEXT, payload: 'masked', mask: true }),
      clientCode: 1014,
      clientReason: 'backend sent a bad frame: server frame masked',
      backendCode: 1002,
      backendReason: 'server frame masked',
      termination: 'protocol_error',
      violation: 'protocol',
    }));

  test('backend sends a reserved opcode: backend 1002, client 1014', { timeout: 30000 }, () =>
    backendViolation({
      path: '/raw/opcode',
      bad: encodeFrame({ opcode: 0x5, payload: 'x', mask: false }),
      clientCode: 1014,
      clientReason: 'backend sent a bad frame: reserved opcode',
      backendCode: 1002,
      backendReason: 'reserved opcode',
      termination: 'protocol_error',
      violation: 'protocol',
    }));

  test('backend sends invalid UTF-8: backend 1007, client 1014 "backend sent a bad frame: invalid UTF-8 in text message"', { timeout: 30000 }, () =>
    backendViolation({
      path: '/raw/utf8',
      bad: encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0x61, 0xff]), mask: false }),
      clientCode: 1014,
      clientReason: 'backend sent a bad frame: invalid UTF-8 in text message',
      backendCode: 1007,
      backendReason: 'invalid UTF-8 in text message',
      termination: 'utf8_invalid',
      violation: 'utf8',
    }));

  test('backend sends a frame over max_frame_size: backend 1009, client 1014 "backend sent a bad frame: frame too big"', { timeout: 30000 }, () =>
    backendViolation({
      path: '/raw/big',
      bad: encodeFrame({ opcode: OP.BINARY, payload: Buffer.alloc(1025), mask: false }),
      clientCode: 1014,
      clientReason: 'backend sent a bad frame: frame too big',
      backendCode: 1009,
      backendReason: 'frame too big',
      termination: 'frame_too_big',
      violation: 'frame_too_big',
    }));

  test('utf8 = "off": invalid text passes both ways, byte for byte', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path: '/off/x', keepRaw: true });
    const server = await raw.nextPeer('/off/x');
    const up = encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0x68, 0xc3, 0x28, 0xff, 0xed, 0xa0, 0x80]) });
    await client.write(up);
    await server.waitBytes(up.length);
    assert.ok(server.rawReceived().equals(up));
    const down = encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0xc0, 0x80, 0xfe]), mask: false });
    await server.write(down);
    await client.waitBytes(down.length);
    assert.ok(client.rawReceived().equals(down));
    await client.close(1000, 'fine');
    const atBackend = await server.nextClose();
    assert.deepEqual([atBackend.code, atBackend.reason], [1000, 'fine']);
    await server.close(1000, 'fine');
    server.end();
    const atClient = await client.nextClose();
    assert.deepEqual([atClient.code, atClient.reason], [1000, 'fine']);
    client.end();
    await client.waitEnd();
    const log = await accessFor('/off/x', from);
    assert.equal(log.termination, 'normal');
    assert.equal(log.violation, undefined);
  });

  test('a client violation inside a frame already partly forwarded: the backend leg is cut at TCP level (mid_frame_violation)', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path: '/big/client' });
    const server = await raw.nextPeer('/big/client');
    const payload = Buffer.alloc(200 * 1024, 0x61);
    const badAt = payload.length - 10;
    payload[badAt] = 0xff;
    const frame = encodeFrame({ opcode: OP.TEXT, payload });
    const headerLength = frame.length - payload.length;
    const firstPart = headerLength + 100 * 1024;
    await client.write(frame.subarray(0, firstPart));
    // The frame's first bytes are at the backend before the bad byte is even sent.
    await server.waitBytes(firstPart);
    await client.write(frame.subarray(firstPart));
    const close = await client.nextClose();
    assert.deepEqual([close.code, close.reason], [1007, 'invalid UTF-8 in text message']);
    await server.waitEnd();
    const got = server.rawReceived();
    assert.ok(got.length >= firstPart && got.length < headerLength + badAt,
      `the backend got ${got.length} bytes; the bad byte is at ${headerLength + badAt}`);
    assert.ok(got.equals(frame.subarray(0, got.length)), 'the backend got a prefix of the frame, unchanged');
    assert.equal(server.frames.length, 0, 'no close frame (or any frame) could follow the cut frame');
    client.finish(1007);
    await client.waitEnd();
    const log = await accessFor('/big/client', from);
    assert.equal(log.termination, 'mid_frame_violation');
    assert.equal(log.violation, 'utf8');
    assert.equal(log.client_close_code, 1007);
    assert.equal(log.client_close_reason, 'invalid UTF-8 in text message');
    assert.equal(log.backend_close_code, 1006);
  });

  test('a backend violation inside a frame already partly forwarded: the client sees 1006, the backend 1007 (mid_frame_violation)', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path: '/big/backend', keepRaw: true });
    const server = await raw.nextPeer('/big/backend');
    const payload = Buffer.alloc(200 * 1024, 0x62);
    const badAt = payload.length - 10;
    payload[badAt] = 0xff;
    const frame = encodeFrame({ opcode: OP.TEXT, payload, mask: false });
    const headerLength = frame.length - payload.length;
    const firstPart = headerLength + 100 * 1024;
    await server.write(frame.subarray(0, firstPart));
    await client.waitBytes(firstPart);
    await server.write(frame.subarray(firstPart));
    const atClient = await client.nextClose();
    assert.equal(atClient.code, 1006, 'the client connection ends without a close frame');
    const got = client.rawReceived();
    assert.ok(got.length >= firstPart && got.length < headerLength + badAt,
      `the client got ${got.length} bytes; the bad byte is at ${headerLength + badAt}`);
    assert.ok(got.equals(frame.subarray(0, got.length)), 'the client got a prefix of the frame, unchanged');
    const atBackend = await server.nextClose();
    assert.deepEqual([atBackend.code, atBackend.reason], [1007, 'invalid UTF-8 in text message']);
    server.finish(1007);
    await server.waitEnd();
    const log = await accessFor('/big/backend', from);
    assert.equal(log.termination, 'mid_frame_violation');
    assert.equal(log.violation, 'utf8');
    assert.equal(log.client_close_code, 1006);
    assert.equal(log.backend_close_code, 1007);
    assert.equal(log.backend_close_reason, 'invalid UTF-8 in text message');
    assert.equal(atBackend.frame.masked, true, 'wsgate is a client towards the backend: its close must be masked');
  });
});

// backend_max_frame_size (CONFIG.md "Additions"): frames from backends have their own limit,
// 0 (the default) meaning max_message_size; max_frame_size stays the limit of client frames.
describe('backend_max_frame_size', () => {
  const MiB = 1024 * 1024;

  after(() => stopAll());

  // A Node ws backend that sends each payload queued by the test as one binary frame.
  async function sendingBackend() {
    return h.startWsBackend({ echo: false });
  }

  describe('default (0 = max_message_size)', () => {
    let backend;
    let gw;

    before(async () => {
      backend = await sendingBackend();
      gw = await startWsgate({ pools: [{ name: 'ws', backends: [backend.address] }] });
    });

    test('a 3 MiB single-frame message from the backend reaches the client whole', { timeout: 30000 }, async () => {
      const client = await h.connectWs(gw.url('/big'));
      const [conn] = await backend.waitConnections(1);
      const payload = pseudoRandomBytes(3 * MiB, 7);
      conn.send(payload, { binary: true, fin: true });
      const got = await h.nextMessage(client, 20000);
      assert.equal(got.isBinary, true);
      assert.equal(got.data.length, 3 * MiB);
      assert.equal(h.sha256(got.data), h.sha256(payload));
      client.close(1000);
      assert.equal((await h.waitClose(client)).code, 1000);
      const log = await gw.waitForAccess((l) => l.path === '/big');
      assert.equal(log.messages_to_client, 1);
      assert.equal(log.violation ?? null, null);
    });

    test('client frames are still limited by max_frame_size (1 MiB): 1009 "frame too big"', { timeout: 30000 }, async () => {
      const client = await h.connectWs(gw.url('/client-big'));
      await backend.waitConnections(2);
      client.send(Buffer.alloc(MiB + 1), { binary: true });
      const closed = await h.waitClose(client);
      assert.deepEqual([closed.code, closed.reason], [1009, 'frame too big']);
    });
  });

  describe('set to 64KiB', () => {
    let backend;
    let gw;

    before(async () => {
      backend = await sendingBackend();
      gw = await startWsgate({
        pools: [{ name: 'ws', backends: [backend.address] }],
        policies: { default: { backend_max_frame_size: '64KiB' } },
      });
    });

    test('a 64 KiB backend frame passes; a 64 KiB + 1 frame closes the backend with 1009 "frame too big"', { timeout: 30000 }, async () => {
      const client = await h.connectWs(gw.url('/small'));
      const [conn] = await backend.waitConnections(1);
      conn.send(Buffer.alloc(64 * 1024, 0x61), { binary: true });
      const got = await h.nextMessage(client);
      assert.equal(got.data.length, 64 * 1024);
      conn.send(Buffer.alloc(64 * 1024 + 1, 0x62), { binary: true });
      const atBackend = await conn.closed;
      assert.deepEqual([atBackend.code, atBackend.reason], [1009, 'frame too big']);
      const atClient = await h.waitClose(client);
      assert.deepEqual([atClient.code, atClient.reason], [1014, 'backend sent a bad frame: frame too big']);
      assert.equal(client.inbox.length, 0, 'the oversized frame does not reach the client');
      const log = await gw.waitForAccess((l) => l.path === '/small');
      assert.equal(log.violation, 'frame_too_big');
      assert.equal(log.backend_close_code, 1009);
      assert.equal(log.messages_to_client, 1);
    });
  });
});
