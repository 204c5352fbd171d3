// server.io: which socket engine each worker runs is in the start log, in
// wsgate_worker_io_engine and on /connections; `io_uring` refuses to start where seccomp refuses
// io_uring, `auto` falls back to epoll there and says why. The refusal is made real with a
// seccomp filter (py/no_io_uring.py) that answers io_uring_setup with EPERM, as container
// runtimes' default profiles do. Every other integration test file runs under both engines
// (see CMakeLists.txt); this one sets server.io itself.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './lib/harness.mjs';
import { httpGet, parseMetrics, run } from './lib/metrics.mjs';

after(() => h.stopAll());

const NO_IO_URING = [h.PYTHON, path.join(h.INTEGRATION_DIR, 'py', 'no_io_uring.py')];
const PROBE = process.env.WSGATE_IO_PROBE_BIN;

// Whether io_uring works here at all (wsgate-io-probe); without it the io_uring cases skip.
async function ioUringReason() {
  if (!PROBE) return 'WSGATE_IO_PROBE_BIN is not set';
  const result = await run(PROBE, []);
  return result.code === 0 ? '' : result.stderr.trim();
}
const unavailable = await ioUringReason();
const skipUring = unavailable ? `io_uring is not available here: ${unavailable}` : false;

async function echoThrough(gw, path = '/io') {
  const ws = await h.connectWs(gw.url(path));
  ws.send('through the engine');
  assert.equal((await h.nextMessage(ws)).data.toString(), 'through the engine');
  return ws;
}

async function engines(gw) {
  const res = await httpGet(gw.adminUrl('/metrics'));
  assert.equal(res.status, 200);
  return parseMetrics(res.body).samples.filter((s) => s.name === 'wsgate_worker_io_engine');
}

describe('server.io', { timeout: 120000 }, () => {
  it('io_uring: each worker says so in the log, the gauge and /connections, and relays', { skip: skipUring }, async () => {
    const echo = await h.startEcho();
    const gw = await h.startWsgate({
      server: { workers: 2, io: 'io_uring' },
      pools: [{ name: 'p', backends: [echo.address] }],
    });
    for (const worker of [0, 1]) {
      const line = await gw.waitForLog((l) => l.event === 'io_engine' && l.worker === worker);
      assert.equal(line.io, 'io_uring');
      assert.equal(line.reason, undefined);
    }
    const ready = await gw.waitForLog((l) => l.event === 'ready');
    assert.equal(ready.io, 'io_uring');
    assert.equal(ready.io_reason, undefined);
    const samples = await engines(gw);
    assert.deepEqual(samples.map((s) => [s.labels.worker, s.labels.engine, s.value]).sort(),
      [['0', 'io_uring', 1], ['1', 'io_uring', 1]]);
    const ws = await echoThrough(gw);
    const res = await httpGet(gw.adminUrl('/connections'));
    const connections = JSON.parse(res.body).connections;
    assert.equal(connections.length, 1);
    assert.equal(connections[0].io, 'io_uring');
    ws.close(1000);
    await h.waitClose(ws);
    await gw.stop();
    await echo.stop();
  });

  it('epoll: the same places say epoll, and why', async () => {
    const echo = await h.startEcho();
    const gw = await h.startWsgate({
      server: { io: 'epoll' },
      pools: [{ name: 'p', backends: [echo.address] }],
    });
    const line = await gw.waitForLog((l) => l.event === 'io_engine' && l.worker === 0);
    assert.equal(line.io, 'epoll');
    assert.equal(line.reason, 'server.io = "epoll"');
    assert.equal((await gw.waitForLog((l) => l.event === 'ready')).io, 'epoll');
    const samples = await engines(gw);
    assert.deepEqual(samples.map((s) => [s.labels.worker, s.labels.engine, s.value]),
      [['0', 'epoll', 1]]);
    const ws = await echoThrough(gw);
    const res = await httpGet(gw.adminUrl('/connections'));
    assert.equal(JSON.parse(res.body).connections[0].io, 'epoll');
    ws.close(1000);
    await h.waitClose(ws);
    await gw.stop();
    await echo.stop();
  });

  it('auto under a seccomp profile that refuses io_uring: epoll, with the reason logged', async () => {
    const echo = await h.startEcho();
    const gw = await h.startWsgate({
      wrapper: NO_IO_URING,
      server: { io: 'auto' },
      pools: [{ name: 'p', backends: [echo.address] }],
    });
    const line = await gw.waitForLog((l) => l.event === 'io_engine' && l.worker === 0);
    assert.equal(line.io, 'epoll');
    assert.match(line.reason, /^io_uring_setup \(refused: seccomp, or sysctl kernel\.io_uring_disabled\): Operation not permitted$/);
    const ready = await gw.waitForLog((l) => l.event === 'ready');
    assert.equal(ready.io, 'epoll');
    assert.equal(ready.io_reason, line.reason);
    const ws = await echoThrough(gw);
    ws.close(1000);
    await h.waitClose(ws);
    await gw.stop();
    await echo.stop();
  });

  it('io_uring under that profile: exit 1 with a message that says why', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wsgate-io-'));
    const config = path.join(dir, 'wsgate.toml');
    writeFileSync(config, h.tomlFor({
      server: { io: 'io_uring' },
      pools: [{ name: 'p', backends: ['127.0.0.1:9'] }],
    }));
    const result = await run(NO_IO_URING[0], [NO_IO_URING[1], h.WSGATE_BIN, '-c', config]);
    assert.equal(result.code, 1);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const error = lines.find((l) => l.event === 'io_uring_unavailable');
    assert.ok(error, result.stderr);
    assert.equal(error.level, 'error');
    assert.equal(error.message, 'server.io = "io_uring" but this process cannot use io_uring: ' +
      'io_uring_setup (refused: seccomp, or sysctl kernel.io_uring_disabled): Operation not permitted');
    // Nothing listened: the refusal comes before the listeners are bound.
    assert.equal(lines.filter((l) => l.event === 'listening').length, 0);
  });

  it('the probe the io_uring test runs use skips (exit 77) under that profile', { skip: PROBE ? false : 'WSGATE_IO_PROBE_BIN is not set' }, async () => {
    const result = await run(NO_IO_URING[0], [NO_IO_URING[1], PROBE]);
    assert.equal(result.code, 77);
    assert.match(result.stderr, /^io_uring is not available here, skipping the io_uring run: io_uring_setup \(refused/);
  });
});
