// Raw WebSocket frames for the relay tests: build and parse RFC 6455 frames byte by byte, and
// speak the upgrade handshake over plain `net` sockets as a client or as a server, so a test can
// send exactly the bytes it wants (bad frames included) and see exactly the bytes it gets.
//
// Also: a recording backend on Node `ws` (every message, ping, pong and close it saw, in order).
// Nothing here sleeps: every wait is on an event (a frame, a socket close, a connection) and is
// bounded by a deadline that fails the test with a message saying what did not happen.

import crypto from 'node:crypto';
import net from 'node:net';
import { WebSocketServer } from 'ws';

export const OP = Object.freeze({
  CONT: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
});

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const DEFAULT_WAIT_MS = 20000;

export function acceptFor(key) {
  return crypto.createHash('sha1').update(key + GUID).digest('base64');
}

// Rejects after `ms` with "timed out waiting for <what>"; the timer never keeps the process up.
export function deadline(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Registers a waiter in `waiters` (a Set of functions called on every event) that resolves once
// check() returns something other than undefined; rejects when check() throws or at the deadline,
// and always unregisters itself.
export function waitOn(waiters, check, ms, what) {
  let waiter;
  const done = new Promise((resolve, reject) => {
    waiter = () => {
      let value;
      try {
        value = check();
      } catch (err) {
        reject(err);
        return;
      }
      if (value !== undefined) resolve(value);
    };
    waiters.add(waiter);
    waiter();
  });
  return deadline(done, ms ?? DEFAULT_WAIT_MS, what).finally(() => waiters.delete(waiter));
}

export function toBuffer(payload) {
  if (payload === undefined || payload === null) return Buffer.alloc(0);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  return Buffer.from(payload);
}

export function applyMask(payload, key) {
  const out = Buffer.from(payload);
  for (let i = 0; i < out.length; ++i) out[i] ^= key[i & 3];
  return out;
}

// One frame's bytes.
//   opcode   OP.* or any 4-bit value (reserved ones too)
//   payload  Buffer | string
//   fin      default true
//   rsv      RSV1..3 as a 3-bit number (4 = RSV1, 2 = RSV2, 1 = RSV3), default 0
//   mask     true (random key), false (unmasked) or a 4-byte Buffer
//   lengthBytes  0 (minimal, default), 2 or 8: force a 16- or 64-bit length field
//   declaredLength  write this length instead of payload.length (for truncated frames)
export function encodeFrame({
  opcode,
  payload,
  fin = true,
  rsv = 0,
  mask = true,
  lengthBytes = 0,
  declaredLength,
} = {}) {
  const data = toBuffer(payload);
  const length = declaredLength ?? data.length;
  let key = null;
  if (mask === true) key = crypto.randomBytes(4);
  else if (Buffer.isBuffer(mask)) key = mask;
  let ext = lengthBytes;
  if (ext === 0) ext = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + ext + (key ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  const maskBit = key ? 0x80 : 0;
  if (ext === 0) {
    header[1] = maskBit | length;
  } else if (ext === 2) {
    header[1] = maskBit | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  if (key) key.copy(header, 2 + ext);
  return Buffer.concat([header, key ? applyMask(data, key) : data]);
}

export function closePayload(code, reason = '') {
  if (code === undefined || code === null) return Buffer.alloc(0);
  const r = toBuffer(reason);
  const out = Buffer.alloc(2 + r.length);
  out.writeUInt16BE(code, 0);
  r.copy(out, 2);
  return out;
}

export function parseClosePayload(payload) {
  if (payload.length < 2) return { code: 1005, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}

// A streaming frame parser: push() bytes as they come, get whole frames back. It checks nothing
// (tests assert on what it reports); payloads come back unmasked.
export class FrameReader {
  constructor() {
    this.buf = Buffer.alloc(0);
  }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const frames = [];
    for (;;) {
      const frame = this.next();
      if (!frame) break;
      frames.push(frame);
    }
    return frames;
  }

  next() {
    const b = this.buf;
    if (b.length < 2) return null;
    const masked = (b[1] & 0x80) !== 0;
    let length = b[1] & 0x7f;
    let pos = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = b.readUInt16BE(2);
      pos = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      length = Number(b.readBigUInt64BE(2));
      pos = 10;
    }
    let key = null;
    if (masked) {
      if (b.length < pos + 4) return null;
      key = b.subarray(pos, pos + 4);
      pos += 4;
    }
    if (b.length < pos + length) return null;
    const wire = b.subarray(pos, pos + length);
    const frame = {
      fin: (b[0] & 0x80) !== 0,
      rsv: (b[0] >> 4) & 7,
      opcode: b[0] & 0x0f,
      masked,
      maskKey: key ? Buffer.from(key) : null,
      payload: key ? applyMask(wire, key) : Buffer.from(wire),
      raw: Buffer.from(b.subarray(0, pos + length)),
    };
    this.buf = b.subarray(pos + length);
    return frame;
  }
}

// One end of a raw WebSocket connection over a `net.Socket`, after the handshake. Every frame
// that arrives is kept in `frames`; next*() consume them in order.
export class RawPeer {
  constructor(socket, role, leftover) {
    this.socket = socket;
    this.role = role; // "client" (masks what it sends) or "server"
    this.reader = new FrameReader();
    this.frames = [];
    this.consumed = 0;
    this.bytesReceived = 0; // after the handshake head
    this.bytesSent = 0; // after the handshake head
    this.received = []; // every chunk, when `keepRaw` is set
    this.keepRaw = false;
    this.ended = false;
    this.hadError = false;
    this.waiters = new Set();
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', (hadError) => {
        this.ended = true;
        this.hadError = hadError;
        resolve({ hadError });
        this.wake();
      });
    });
    socket.on('error', () => {}); // ECONNRESET etc. show as 'close'
    socket.on('data', (chunk) => this.onData(chunk));
    if (leftover) this.onData(leftover);
  }

  onData(chunk) {
    this.bytesReceived += chunk.length;
    if (this.keepRaw) this.received.push(Buffer.from(chunk));
    for (const frame of this.reader.push(chunk)) this.frames.push(frame);
    this.wake();
  }

  wake() {
    for (const waiter of [...this.waiters]) waiter();
  }

  // Resolves once check() returns something other than undefined, re-checking on every frame
  // and at socket close. Rejects at the deadline.
  waitUntil(check, what, ms = DEFAULT_WAIT_MS) {
    return waitOn(this.waiters, check, ms, `${this.role} peer: ${what}`);
  }

  // The next frame not consumed yet; null when the connection ended first.
  nextFrame(ms) {
    return this.waitUntil(
      () => {
        if (this.consumed < this.frames.length) return this.frames[this.consumed++];
        if (this.ended) return null;
        return undefined;
      },
      'the next frame',
      ms,
    );
  }

  // Consumes frames up to and including the first that matches; returns it (null if the
  // connection ended first). `skipped` collects the frames passed over.
  async nextMatching(pred, what = 'a matching frame', ms, skipped = []) {
    return this.waitUntil(
      () => {
        while (this.consumed < this.frames.length) {
          const f = this.frames[this.consumed++];
          if (pred(f)) return f;
          skipped.push(f);
        }
        if (this.ended) return null;
        return undefined;
      },
      what,
      ms,
    );
  }

  // The next close frame, as {code, reason, frame, skipped}; {code: 1006} when TCP ended
  // without one. `skipped` lists the frames that came before it.
  async nextClose(ms) {
    const skipped = [];
    const frame = await this.nextMatching((f) => f.opcode === OP.CLOSE, 'a close frame', ms, skipped);
    if (!frame) return { code: 1006, reason: '', frame: null, skipped };
    return { ...parseClosePayload(frame.payload), frame, skipped };
  }

  // Resolves once at least `n` bytes (after the head) have arrived; rejects if TCP ends first.
  waitBytes(n, ms) {
    return this.waitUntil(
      () => {
        if (this.bytesReceived >= n) return this.bytesReceived;
        if (this.ended) throw new Error(`${this.role} peer: ended after ${this.bytesReceived} of ${n} bytes`);
        return undefined;
      },
      `${n} bytes`,
      ms,
    );
  }

  // Every byte received after the head (needs keepRaw = true from the start).
  rawReceived() {
    return Buffer.concat(this.received);
  }

  // Resolves when the TCP connection is fully closed.
  waitEnd(ms = DEFAULT_WAIT_MS) {
    return deadline(this.closedPromise, ms, `${this.role} peer: the TCP connection to close`);
  }

  write(bytes) {
    this.bytesSent += bytes.length;
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) {
        reject(new Error(`${this.role} peer: write on a closed socket`));
        return;
      }
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  // A frame with this peer's masking rule unless `mask` says otherwise.
  frame(options) {
    return encodeFrame({ mask: this.role === 'client', ...options });
  }

  send(options) {
    return this.write(this.frame(options));
  }

  sendText(text, options = {}) {
    return this.send({ opcode: OP.TEXT, payload: text, ...options });
  }

  sendBinary(data, options = {}) {
    return this.send({ opcode: OP.BINARY, payload: data, ...options });
  }

  ping(payload = '', options = {}) {
    return this.send({ opcode: OP.PING, payload, ...options });
  }

  pong(payload = '', options = {}) {
    return this.send({ opcode: OP.PONG, payload, ...options });
  }

  close(code, reason = '', options = {}) {
    return this.send({ opcode: OP.CLOSE, payload: closePayload(code, reason), ...options });
  }

  // Answers a close (best effort: the other side may have closed TCP already), then sends FIN.
  finish(code, reason = '') {
    if (!this.ended && this.socket.writable) {
      this.socket.write(this.frame({ opcode: OP.CLOSE, payload: closePayload(code, reason) }), () => {});
    }
    this.socket.end();
  }

  end() {
    this.socket.end();
  }

  destroy() {
    this.socket.destroy();
  }
}

function readHead(socket, what, ms = DEFAULT_WAIT_MS) {
  return deadline(
    new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const onData = (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > 65536) cleanup(new Error(`${what}: head over 64 KiB`));
          return;
        }
        cleanup(null, { head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
      };
      const onClose = () => cleanup(new Error(`${what}: connection closed before the head ended`));
      const onError = (err) => cleanup(new Error(`${what}: ${err.message}`));
      const cleanup = (err, value) => {
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.off('error', onError);
        if (err) reject(err);
        else resolve(value);
      };
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', onError);
    }),
    ms,
    what,
  );
}

function parseHead(head) {
  const lines = head.split('\r\n');
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] !== undefined ? `${headers[name]}, ${value}` : value;
  }
  return { startLine: lines[0], headers };
}

// Connects to 127.0.0.1:port, sends an upgrade request for `path` and checks the 101 and its
// Sec-WebSocket-Accept. Returns a RawPeer in the client role; `peer.response` has the head.
//   manual: true  return {socket, rest, response, headBytes, requestBytes} instead of a RawPeer:
//                 the socket is paused, with no 'data' listener (the caller reads when it wants)
//   keepRaw: true keep every received byte (peer.rawReceived())
export async function rawClient(
  port,
  { path = '/', host = '127.0.0.1', headers = {}, manual = false, keepRaw = false } = {},
) {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  await deadline(
    new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    DEFAULT_WAIT_MS,
    `a TCP connection to ${host}:${port}`,
  );
  const key = crypto.randomBytes(16).toString('base64');
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const request = lines.join('\r\n') + '\r\n\r\n';
  socket.write(request);
  const { head, rest } = await readHead(socket, 'the upgrade response');
  const headBytes = Buffer.byteLength(head, 'latin1') + 4;
  const requestBytes = Buffer.byteLength(request, 'latin1');
  const response = parseHead(head);
  if (!/^HTTP\/1\.1 101 /.test(response.startLine)) {
    socket.destroy();
    throw new Error(`upgrade refused: ${response.startLine}`);
  }
  if (response.headers['sec-websocket-accept'] !== acceptFor(key)) {
    socket.destroy();
    throw new Error(`bad Sec-WebSocket-Accept: ${response.headers['sec-websocket-accept']}`);
  }
  if (manual) {
    socket.pause();
    return { socket, rest, response, headBytes, requestBytes };
  }
  const peer = new RawPeer(socket, 'client', null);
  peer.keepRaw = keepRaw;
  peer.onData(rest);
  peer.response = response;
  peer.headBytes = headBytes;
  peer.requestBytes = requestBytes;
  return peer;
}

// Hands out connections by request path, so a test only ever gets its own (a connection left
// unclaimed by a failed test cannot shift every later test by one).
class ConnectionQueue {
  constructor(what) {
    this.what = what;
    this.unclaimed = [];
    this.waiters = new Set();
  }

  add(path, item) {
    this.unclaimed.push({ path, item });
    for (const waiter of [...this.waiters]) waiter();
  }

  // The first unclaimed connection whose request target is `path` (any, without a path).
  next(path, ms = DEFAULT_WAIT_MS) {
    return waitOn(
      this.waiters,
      () => {
        const i = this.unclaimed.findIndex((c) => path === undefined || c.path === path);
        if (i < 0) return undefined;
        return this.unclaimed.splice(i, 1)[0].item;
      },
      ms,
      `a connection to the ${this.what}${path === undefined ? '' : ` for ${path}`}`,
    );
  }
}

// A raw WebSocket server on 127.0.0.1:0: it answers every upgrade request with a correct 101
// and hands over a RawPeer in the server role. `await server.nextPeer(path)` gives the next one
// whose request target is `path`; `peer.request` has the request head.
export async function rawServer() {
  const queue = new ConnectionQueue('raw backend');
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    readHead(socket, 'the upgrade request')
      .then(({ head, rest }) => {
        const request = parseHead(head);
        const key = request.headers['sec-websocket-key'] ?? '';
        const reply = [
          'HTTP/1.1 101 Switching Protocols',
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Accept: ${acceptFor(key)}`,
        ];
        // RawPeer must see the leftover bytes and every later one: attach before writing.
        const peer = new RawPeer(socket, 'server', null);
        peer.keepRaw = true;
        peer.onData(rest);
        peer.request = request;
        socket.write(reply.join('\r\n') + '\r\n\r\n');
        queue.add(request.startLine.split(' ')[1], peer);
      })
      .catch(() => socket.destroy());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    address: `127.0.0.1:${server.address().port}`,
    nextPeer(path, ms) {
      return queue.next(path, ms);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// A Node `ws` backend on 127.0.0.1:0 that records, per connection and in arrival order, every
// event: {type:'message', data:Buffer, isBinary}, {type:'ping', data}, {type:'pong', data},
// {type:'close', code, reason}. With echo = true it sends each message back unchanged.
// `await backend.nextConnection(path)` gives a BackendConnection.
export async function wsBackend({ echo = false, options = {} } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, ...options });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const queue = new ConnectionQueue('ws backend');
  wss.on('connection', (ws, req) => {
    queue.add(req.url, new BackendConnection(ws, req, echo));
  });
  const port = wss.address().port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    wss,
    // The next connection whose request target is `path` (any, without a path).
    nextConnection(path, ms) {
      return queue.next(path, ms);
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}

export class BackendConnection {
  constructor(ws, req, echo) {
    this.ws = ws;
    this.req = req;
    this.events = [];
    this.waiters = new Set();
    this.closed = false;
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.push({ type: 'message', data: buf, isBinary });
      if (echo && ws.readyState === ws.OPEN) ws.send(buf, { binary: isBinary });
    });
    ws.on('ping', (data) => this.push({ type: 'ping', data: Buffer.from(data) }));
    ws.on('pong', (data) => this.push({ type: 'pong', data: Buffer.from(data) }));
    ws.on('error', (err) => this.push({ type: 'error', message: err.message }));
    ws.on('close', (code, reason) => {
      this.closed = true;
      this.push({ type: 'close', code, reason: reason.toString('utf8') });
    });
  }

  push(event) {
    this.events.push(event);
    for (const waiter of [...this.waiters]) waiter();
  }

  waitUntil(check, what, ms = DEFAULT_WAIT_MS) {
    return waitOn(this.waiters, check, ms, `ws backend: ${what}`);
  }

  // The close event {code, reason}.
  waitClose(ms) {
    return this.waitUntil(() => this.events.find((e) => e.type === 'close'), 'its close event', ms);
  }

  // Resolves with the first `count` events of `type` once they have arrived.
  waitFor(type, count = 1, ms) {
    return this.waitUntil(
      () => {
        const list = this.events.filter((e) => e.type === type);
        if (list.length >= count) return list.slice(0, count);
        return undefined;
      },
      `${count} ${type} event(s)`,
      ms,
    );
  }

  messages() {
    return this.events.filter((e) => e.type === 'message');
  }

  // The events so far in one line, for assertion messages.
  summary() {
    return this.events
      .map((e) => {
        if (e.type === 'message') {
          return `message(${e.isBinary ? 'binary' : 'text'} ${e.data.length}B ${JSON.stringify(e.data.subarray(0, 40).toString('latin1'))})`;
        }
        if (e.type === 'close') return `close(${e.code} ${JSON.stringify(e.reason)})`;
        if (e.type === 'error') return `error(${e.message})`;
        return `${e.type}(${JSON.stringify(e.data.toString('latin1'))})`;
      })
      .join(', ');
  }

  ofType(type) {
    return this.events.filter((e) => e.type === type);
  }
}

// Deterministic pseudo-random bytes (xorshift32), so a failing size is reproducible.
export function pseudoRandomBytes(length, seed = 1) {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; ++i) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// Valid UTF-8 text of exactly `bytes` bytes, mixing 1-, 2-, 3- and 4-byte sequences.
export function utf8Text(bytes, seed = 1) {
  const pieces = ['a', 'é', '€', '𝄞'];
  let out = '';
  let size = 0;
  let x = seed >>> 0 || 1;
  while (size < bytes) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    let piece = pieces[x & 3];
    const len = Buffer.byteLength(piece);
    if (size + len > bytes) piece = 'a';
    out += piece;
    size += Buffer.byteLength(piece);
  }
  return out;
}
