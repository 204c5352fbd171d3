// Active health probes and passive failures ([pools.health], issue 13): a backend that accepts
// TCP but answers 500 goes down after unhealthy_after probes and comes back after healthy_after;
// the probe request as the backend sees it; 5xx answers to client upgrades; reload keeps health.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connectWs, startEcho, startTcpBackend, startWsgate, stopAll, waitClose, withTimeout, rawRequest, upgradeRequest,
} from './lib/harness.mjs';
import { acceptFor, encodeFrame, FrameReader, OP, parseClosePayload } from './lib/frames.mjs';
import { httpGet, parseMetrics } from './lib/metrics.mjs';

// A backend speaking just enough HTTP: every request head is recorded with what followed it;
// `mode` decides the answer: '101' (a correct upgrade, then a close reply to a close frame),
// or a status code answered with a body and the connection closed.
async function scriptedBackend(mode) {
  const backend = { mode, requests: [], waiters: new Set() };
  const notify = () => { for (const w of [...backend.waiters]) w(); };
  // The harness's TCP server: stopAll() closes it and its sockets even when a test failed
  // (an open server would keep the test process alive until ctest's timeout).
  const tcp = await startTcpBackend((socket) => {
    let head = Buffer.alloc(0);
    let record = null;
    const frames = new FrameReader();
    socket.on('data', (chunk) => {
      if (record) {
        for (const frame of frames.push(chunk)) {
          record.frames.push(frame);
          if (frame.opcode === OP.CLOSE) {
            socket.end(encodeFrame({ opcode: OP.CLOSE, payload: frame.payload, mask: false }));
          }
        }
        notify();
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const headers = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      record = { requestLine: lines[0], headers, frames: [], mode: backend.mode };
      backend.requests.push(record);
      if (backend.mode === '101') {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptFor(headers['sec-websocket-key'])}\r\n\r\n`);
        const rest = head.subarray(end + 4);
        if (rest.length) socket.emit('data', rest);
      } else {
        socket.end(`HTTP/1.1 ${backend.mode} Scripted\r\nContent-Length: 7\r\nConnection: close\r\n\r\nscripted`);
      }
      notify();
    });
  });
  backend.port = tcp.port;
  backend.address = tcp.address;
  backend.close = () => tcp.close();
  // Resolves with check()'s first value other than undefined, re-checked on every event.
  backend.until = (check, ms = 15000, what = 'backend event') => withTimeout(new Promise((resolve) => {
    const w = () => {
      const v = check();
      if (v !== undefined) { backend.waiters.delete(w); resolve(v); }
    };
    backend.waiters.add(w);
    w();
  }), ms, what);
  return backend;
}

async function metric(gw, name, labels) {
  const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
  return m.get(name, labels);
}

describe('active health probes', () => {
  after(stopAll);

  test('the probe is a real WebSocket upgrade, then a masked close 1000', async () => {
    const backend = await scriptedBackend('101');
    const gw = await startWsgate({
      pools: [{
        name: 'p', backends: [backend.address],
        health: { interval: '200ms', timeout: '2s', path: '/healthz/ws?probe=1', host: 'probe.example', unhealthy_after: 1, healthy_after: 1 },
      }],
    });
    const request = await backend.until(() => backend.requests.find((r) => r.frames.some((f) => f.opcode === OP.CLOSE)),
      15000, 'a probe that closes');
    assert.equal(request.requestLine, 'GET /healthz/ws?probe=1 HTTP/1.1');
    assert.equal(request.headers.host, 'probe.example');
    assert.equal(request.headers['sec-websocket-version'], '13');
    assert.match(request.headers.upgrade, /^websocket$/i);
    assert.match(request.headers.connection, /upgrade/i);
    const key = Buffer.from(request.headers['sec-websocket-key'], 'base64');
    assert.equal(key.length, 16);
    assert.equal(key.toString('base64'), request.headers['sec-websocket-key']);
    const close = request.frames.find((f) => f.opcode === OP.CLOSE);
    assert.equal(close.masked, true);
    assert.deepEqual(parseClosePayload(close.payload), { code: 1000, reason: '' });
    // Two probes carry two different keys.
    const second = await backend.until(() => (backend.requests.length >= 2 ? backend.requests[1] : undefined));
    assert.notEqual(second.headers['sec-websocket-key'], request.headers['sec-websocket-key']);
    assert.equal(await metric(gw, 'wsgate_backend_up', { pool: 'p', backend: backend.address }), 1);
    await gw.stop();
    await backend.close();
  });

  test('a backend that accepts TCP but answers 500 goes down, clients go elsewhere, and it comes back', async () => {
    const echo = await startEcho();
    const bad = await scriptedBackend('500');
    const opts = {
      server: { workers: 2 },
      pools: [{
        name: 'p', backends: [echo.address, bad.address],
        health: { interval: '150ms', timeout: '1s', path: '/', unhealthy_after: 3, healthy_after: 2 },
      }],
      policies: { default: { ping_interval: '0s' } },
    };
    const gw = await startWsgate(opts);
    const down = await gw.waitForLog((l) => l.event === 'backend_down' && l.backend === bad.address, 15000);
    assert.equal(down.pool, 'p');
    assert.equal(down.failed_connects, 3);
    assert.match(down.reason, /^probe: answered 500 Scripted instead of 101$/);
    assert.equal(await metric(gw, 'wsgate_backend_up', { pool: 'p', backend: bad.address }), 0);
    assert.equal(await metric(gw, 'wsgate_backend_up', { pool: 'p', backend: echo.address }), 1);
    // Every session lands on the healthy backend, on both workers.
    const from = gw.mark();
    const clients = [];
    for (let i = 0; i < 8; ++i) clients.push(await connectWs(gw.url('/')));
    for (const ws of clients) {
      ws.close(1000);
      await waitClose(ws);
    }
    const probesBefore = bad.requests.length;
    let seen = 0;
    await gw.waitForAccess(() => ++seen >= 8, 5000, from);
    const access = gw.logs.slice(from).filter((l) => l.event === 'access');
    assert.equal(access.length, 8);
    for (const line of access) assert.equal(line.upstream_addr, echo.address);
    assert.ok(bad.requests.slice(probesBefore).every((r) => r.requestLine.startsWith('GET / ')),
      'only probes reached the bad backend');
    // It recovers after healthy_after good probes.
    bad.mode = '101';
    const good = bad.requests.length;
    const up = await gw.waitForLog((l) => l.event === 'backend_up' && l.backend === bad.address, 15000);
    assert.equal(up.pool, 'p');
    const goodProbes = bad.requests.slice(good).filter((r) => r.mode === '101').length;
    assert.ok(goodProbes >= 2, `up after ${goodProbes} good probes`);
    assert.equal(await metric(gw, 'wsgate_backend_up', { pool: 'p', backend: bad.address }), 1);
    await gw.stop();
    await bad.close();
    await echo.stop();
  });

  test('5xx answers to client upgrades count as failures (passive) and /readyz follows', async () => {
    const bad = await scriptedBackend('503');
    const gw = await startWsgate({ pools: [{ name: 'p', backends: [bad.address] }] });
    const from = gw.mark();
    for (let i = 0; i < 3; ++i) {
      const answer = await rawRequest(gw.port(), upgradeRequest({ path: '/' }));
      assert.equal(answer.status, 502);
      assert.match(answer.body, /the backend answered 503 Scripted instead of 101/);
    }
    const down = await gw.waitForLog((l) => l.event === 'backend_down' && l.backend === bad.address, 5000, from);
    assert.equal(down.reason, 'answered 503 to an upgrade');
    const ready = await httpGet(gw.adminUrl('/readyz'));
    assert.equal(ready.status, 503);
    await gw.stop();
    await bad.close();
  });

  test('a reload keeps the health of the backends that stay', async () => {
    const echo = await startEcho();
    const bad = await scriptedBackend('500');
    const pools = (extra) => [{
      name: 'p', backends: [echo.address, bad.address], ...extra,
      health: { interval: '150ms', timeout: '1s', unhealthy_after: 2, healthy_after: 1000 },
    }];
    const gw = await startWsgate({ pools: pools({}), policies: { default: { ping_interval: '0s' } } });
    await gw.waitForLog((l) => l.event === 'backend_down' && l.backend === bad.address, 15000);
    // It answers well now, but 1000 good probes are needed: only a reset would bring it up.
    bad.mode = '101';
    const reloaded = await gw.reload({ pools: pools({ connect_timeout: '3s' }), policies: { default: { ping_interval: '0s' } } });
    assert.equal(reloaded.event, 'config_reloaded');
    const seen = bad.requests.length;
    await bad.until(() => (bad.requests.length >= seen + 3 ? true : undefined), 15000, 'three probes after the reload');
    assert.equal(await metric(gw, 'wsgate_backend_up', { pool: 'p', backend: bad.address }), 0);
    const from = gw.mark();
    const ws = await connectWs(gw.url('/'));
    ws.close(1000);
    await waitClose(ws);
    const line = await gw.waitForAccess(() => true, 5000, from);
    assert.equal(line.upstream_addr, echo.address);
    assert.ok(!gw.logs.some((l) => l.event === 'backend_up'), 'no backend_up after the reload');
    await gw.stop();
    await bad.close();
    await echo.stop();
  });
});

