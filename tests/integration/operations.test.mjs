// Operating wsgate: admin endpoints, graceful drain on SIGTERM/SIGQUIT, immediate exit on a
// second SIGTERM or on SIGINT, and SIGHUP reloads under traffic (valid and invalid).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { once, EventEmitter } from 'node:events';
import net from 'node:net';
import * as h from './lib/harness.mjs';

after(() => h.stopAll());

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptFor = (key) => crypto.createHash('sha1').update(key + WS_GUID).digest('base64');

function httpGet(url, timeoutMs = 10000) {
  return h.withTimeout(new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  }), timeoutMs, `GET ${url}`);
}

async function curl(url) {
  const proc = spawn('curl', ['-sS', '--max-time', '20', '-o', '-', '-w', '\n%{http_code}', url]);
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    out += d;
  });
  const [code] = await h.withTimeout(once(proc, 'close'), 30000, `curl ${url}`);
  assert.equal(code, 0, `curl exited ${code}`);
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
}

function connectRefused(port) {
  return h.withTimeout(new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e) => resolve(e.code));
  }), 10000, `connect to ${port}`);
}

// A masked client frame (payload < 126 bytes).
function clientFrame(opcode, payload) {
  const data = Buffer.from(payload);
  const mask = crypto.randomBytes(4);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; ++i) masked[i] ^= mask[i % 4];
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | data.length]), mask, masked]);
}

function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

// The first complete unmasked server frame after the HTTP head, or null.
function firstServerFrame(buf) {
  const head = h.parseHead(buf);
  if (!head) return null;
  const b = buf.subarray(head.headLength);
  if (b.length < 2) return null;
  const len = b[1] & 0x7f;
  if (len >= 126 || b.length < 2 + len) return null;
  return { opcode: b[0] & 0x0f, payload: b.subarray(2, 2 + len) };
}

describe('admin endpoints', () => {
  it('answers /livez, /healthz and /readyz with 200', async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({ pools: [{ name: 'p', backends: [backend.address] }] });
    const livez = await curl(gw.adminUrl('/livez'));
    assert.equal(livez.status, 200);
    assert.equal(livez.body, 'ok\n');
    const healthz = await httpGet(gw.adminUrl('/healthz'));
    assert.equal(healthz.status, 200);
    assert.equal(healthz.body, 'ok\n');
    const readyz = await httpGet(gw.adminUrl('/readyz'));
    assert.equal(readyz.status, 200);
    await gw.stop();
  });
});

describe('drain', () => {
  it('closes 20 connections with 1001 on SIGTERM, turns /readyz 503 and exits 0', async () => {
    const N = 20;
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({
      server: { workers: 2, drain_timeout: '60s' },
      pools: [{ name: 'p', backends: [backend.address] }],
    });
    const clients = [];
    for (let i = 0; i < N; ++i) clients.push(await h.connectWs(gw.url(`/c${i}`)));
    await Promise.all(clients.map(async (ws, i) => {
      ws.send(`hello ${i}`);
      assert.equal((await h.nextMessage(ws)).data.toString(), `hello ${i}`);
    }));
    // One more client on a raw socket that does not answer the close frame, so the drain
    // lasts until the test lets it finish.
    const raw = await h.openRaw(gw.port());
    await raw.write(h.upgradeRequest({ path: '/raw' }));
    await raw.waitData((b) => h.parseHead(b) !== null);
    assert.equal(h.parseHead(raw.data).status, 101);
    await backend.waitConnections(N + 1);

    const ready = await httpGet(gw.adminUrl('/readyz'));
    assert.equal(ready.status, 200);

    const mark = gw.mark();
    gw.signal('SIGTERM');
    await gw.waitForLog((l) => l.event === 'draining', 15000, mark);
    const draining = await httpGet(gw.adminUrl('/readyz'));
    assert.equal(draining.status, 503);

    const closes = await Promise.all(clients.map((ws) => h.waitClose(ws, 20000)));
    for (const c of closes) assert.deepEqual(c, { code: 1001, reason: 'server shutting down' });

    const rawClose = firstServerFrame(await raw.waitData((b) => firstServerFrame(b) !== null));
    assert.equal(rawClose.opcode, 8);
    assert.equal(rawClose.payload.readUInt16BE(0), 1001);
    assert.equal(rawClose.payload.subarray(2).toString(), 'server shutting down');

    // Still draining: the raw client has not answered.
    assert.equal(gw.exited, null);
    assert.equal((await httpGet(gw.adminUrl('/readyz'))).status, 503);
    assert.equal(await connectRefused(gw.port()), 'ECONNREFUSED');

    const backendCloses = await Promise.all(backend.connections.map((ws) => h.waitClose(ws, 20000)));
    assert.equal(backendCloses.length, N + 1);
    for (const [i, c] of backendCloses.entries()) {
      assert.deepEqual(backend.connections[i].errors, []);
      assert.deepEqual(c, { code: 1001, reason: 'proxy shutting down' });
    }

    await raw.write(clientFrame(8, closePayload(1001)));
    await raw.waitEnd(20000);
    const exit = await gw.waitExit(20000);
    assert.deepEqual(exit, { code: 0, signal: null });

    const lines = gw.accessLogs();
    assert.equal(lines.length, N + 1);
    for (const l of lines) {
      assert.equal(l.termination, 'drain');
      assert.equal(l.client_close_code, 1001);
      assert.equal(l.client_closed_by, 'proxy');
      assert.equal(l.backend_close_code, 1001);
      assert.equal(l.backend_closed_by, 'proxy');
    }
  });

  it('drains on SIGQUIT too', async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({ pools: [{ name: 'p', backends: [backend.address] }] });
    const ws = await h.connectWs(gw.url('/q'));
    await backend.waitConnections(1);
    gw.signal('SIGQUIT');
    assert.deepEqual(await h.waitClose(ws, 20000), { code: 1001, reason: 'server shutting down' });
    const backendClose = await h.waitClose(backend.connections[0], 20000);
    assert.deepEqual(backend.connections[0].errors, []);
    assert.deepEqual(backendClose, { code: 1001, reason: 'proxy shutting down' });
    assert.deepEqual(await gw.waitExit(20000), { code: 0, signal: null });
  });

  it('exits 0 at once on a second SIGTERM while a backend never completes its close', async () => {
    // Answers the upgrade, then ignores everything (never sends a close frame back).
    const stubborn = await h.startTcpBackend((socket) => {
      let data = Buffer.alloc(0);
      let answered = false;
      socket.on('data', (d) => {
        if (answered) return;
        data = Buffer.concat([data, d]);
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return;
        answered = true;
        const key = /\r\nsec-websocket-key:\s*(\S+)/i.exec(data.subarray(0, end).toString())[1];
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
                     `Connection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
      });
    });
    const gw = await h.startWsgate({
      server: { workers: 1, drain_timeout: '120s' },
      pools: [{ name: 'p', backends: [stubborn.address] }],
    });
    const clients = [];
    for (let i = 0; i < 3; ++i) clients.push(await h.connectWs(gw.url(`/s${i}`)));

    const mark = gw.mark();
    gw.signal('SIGTERM');
    await gw.waitForLog((l) => l.event === 'draining', 15000, mark);
    for (const ws of clients) {
      assert.deepEqual(await h.waitClose(ws, 20000), { code: 1001, reason: 'server shutting down' });
    }
    // The backends never answered the close: still draining.
    assert.equal(gw.exited, null);
    assert.equal((await httpGet(gw.adminUrl('/readyz'))).status, 503);

    gw.signal('SIGTERM');
    // Far below drain_timeout (120s): it did not wait for the backends.
    assert.deepEqual(await gw.waitExit(15000), { code: 0, signal: null });
  });

  it('exits 0 at once on SIGINT with connections open', async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({
      server: { workers: 2, drain_timeout: '120s' },
      pools: [{ name: 'p', backends: [backend.address] }],
    });
    const clients = [];
    for (let i = 0; i < 5; ++i) clients.push(await h.connectWs(gw.url(`/i${i}`)));
    await backend.waitConnections(5);
    gw.signal('SIGINT');
    assert.deepEqual(await gw.waitExit(15000), { code: 0, signal: null });
    // Every client learns its connection is gone.
    await Promise.all(clients.map((ws) => h.waitClose(ws, 15000)));
  });
});

describe('reload', () => {
  it('keeps 100 busy connections byte-exact through three reloads and an invalid one', async () => {
    const N = 100;
    const echo = await h.startEcho();
    const b = await h.startWsBackend();
    const c = await h.startWsBackend();
    const base = {
      server: { workers: 2 },
      pools: [
        { name: 'a', backends: [echo.address] },
        { name: 'b', backends: [b.address] },
        { name: 'c', backends: [c.address] },
      ],
      routes: [{ path_prefix: '/', pool: 'a' }],
    };
    const gw = await h.startWsgate(base);

    // N clients, each echoing continuously: send, await the echo, compare, repeat.
    const clients = [];
    for (let i = 0; i < N; ++i) clients.push(await h.connectWs(gw.url(`/busy/${i}`)));
    let stop = false;
    const progress = new Array(N).fill(0);
    const tick = new EventEmitter();
    tick.setMaxListeners(0);
    const loops = clients.map(async (ws, i) => {
      for (let seq = 0; !stop && seq < 1000000; ++seq) {
        const size = 1 + ((i * 131 + seq * 17) % 2048);
        const binary = seq % 2 === 1;
        const payload = binary ? crypto.randomBytes(size)
          : Buffer.from(crypto.randomBytes(Math.ceil(size / 2)).toString('hex').slice(0, size));
        ws.send(payload, { binary });
        const m = await h.nextMessage(ws, 30000);
        assert.equal(m.isBinary, binary, `client ${i} message ${seq}: type`);
        assert.ok(m.data.equals(payload), `client ${i} message ${seq}: ${m.data.length} bytes ` +
                                          `differ from the ${payload.length} sent`);
        progress[i] = seq + 1;
        tick.emit('tick');
      }
    });
    const failed = Promise.all(loops).then(() => null, (e) => e);

    // Every client completes `more` round trips after this point.
    const allAdvance = (more) => {
      const target = progress.map((p) => p + more);
      return h.withTimeout(new Promise((resolve, reject) => {
        const check = () => {
          if (progress.every((p, i) => p >= target[i])) {
            tick.off('tick', check);
            resolve();
          }
        };
        tick.on('tick', check);
        failed.then((e) => {
          if (e) reject(e);
        });
        check();
      }), 60000, `every client to echo ${more} more messages`);
    };
    await allAdvance(3);

    // Reload 1: a new route /v2 to pool b.
    const cfg1 = { ...base, routes: [...base.routes, { path_prefix: '/v2', pool: 'b' }] };
    const r1 = await gw.reload(cfg1);
    assert.equal(r1.event, 'config_reloaded');
    await allAdvance(3);
    const v2 = await h.connectWs(gw.url('/v2/new'));
    v2.send('to b');
    assert.equal((await h.nextMessage(v2)).data.toString(), 'to b');
    assert.equal(b.connections.length, 1);
    assert.equal(b.connections[0].req.url, '/v2/new');
    v2.close(1000);
    await h.waitClose(v2);

    // Reload 2: /v2 now goes to pool c.
    const cfg2 = { ...base, routes: [...base.routes, { path_prefix: '/v2', pool: 'c' }] };
    const r2 = await gw.reload(cfg2);
    assert.equal(r2.event, 'config_reloaded');
    await allAdvance(3);
    const v2c = await h.connectWs(gw.url('/v2/again'));
    v2c.send('to c');
    assert.equal((await h.nextMessage(v2c)).data.toString(), 'to c');
    assert.equal(c.connections.length, 1);
    assert.equal(b.connections.length, 1);
    v2c.close(1000);
    await h.waitClose(v2c);

    // Reload 3: binary messages are no longer allowed on new connections. The busy clients
    // keep the configuration they started with and go on echoing binary messages.
    const cfg3 = { ...cfg2, policies: { default: { allow_binary: false } } };
    const r3 = await gw.reload(cfg3);
    assert.equal(r3.event, 'config_reloaded');
    await allAdvance(4);
    const strict = await h.connectWs(gw.url('/new-after-3'));
    strict.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await h.waitClose(strict)).code, 1008);

    // An invalid file: logged, ignored, nothing changes.
    const mark = gw.mark();
    gw.writeConfig({ toml: '[server]\nworkers = "many"\n[[routes]]\npool = \n' });
    gw.signal('SIGHUP');
    const failedLine = await gw.waitForLog((l) => l.event === 'config_reload_failed', 15000, mark);
    assert.equal(typeof failedLine.error, 'string');
    await gw.waitForLog((l) => l.event === 'config_reload_ignored', 15000, mark);
    await allAdvance(3);
    const v2still = await h.connectWs(gw.url('/v2/still'));
    v2still.send('still c');
    assert.equal((await h.nextMessage(v2still)).data.toString(), 'still c');
    assert.equal(c.connections.length, 2);
    v2still.close(1000);
    await h.waitClose(v2still);
    assert.equal(gw.logs.slice(mark).filter((l) => l.event === 'config_reloaded').length, 0);

    stop = true;
    assert.equal(await failed, null);
    for (const ws of clients) ws.close(1000, 'done');
    const closes = await Promise.all(clients.map((ws) => h.waitClose(ws, 30000)));
    for (const cl of closes) assert.equal(cl.code, 1000);
    const busyLines = await Promise.all(clients.map((_, i) =>
      gw.waitForAccess((l) => l.path === `/busy/${i}`, 30000)));
    for (const [i, l] of busyLines.entries()) {
      assert.equal(l.termination, 'normal');
      assert.equal(l.pool, 'a');
      assert.equal(l.messages_from_client, progress[i]);
      assert.equal(l.messages_to_client, progress[i]);
    }
    assert.equal(gw.exited, null);
  });

  it('refuses a reload that changes the listeners', async () => {
    const backend = await h.startWsBackend();
    const base = { pools: [{ name: 'p', backends: [backend.address] }] };
    const gw = await h.startWsgate(base);
    const ws = await h.connectWs(gw.url('/before'));
    const mark = gw.mark();
    const line = await gw.reload({
      ...base,
      listeners: [{ name: 'public' }, { name: 'extra' }],
      routes: [{ path_prefix: '/', pool: 'p' }],
    });
    assert.equal(line.event, 'config_reload_failed');
    await gw.waitForLog((l) => l.event === 'config_reload_ignored', 15000, mark);
    ws.send('still here');
    assert.equal((await h.nextMessage(ws)).data.toString(), 'still here');
    const after = await h.connectWs(gw.url('/after'));
    after.send('new');
    assert.equal((await h.nextMessage(after)).data.toString(), 'new');
    ws.close(1000);
    after.close(1000);
    await Promise.all([h.waitClose(ws), h.waitClose(after)]);
  });
});
