// Operations hardening: the admin listener's request timeout and connection cap, a second
// process on a port the first one holds (SO_REUSEPORT must not let it share), and how many
// workers `workers = 0` starts (the CPUs this process may use, not the machine's).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './lib/harness.mjs';
import { httpGet } from './lib/metrics.mjs';
import { openFds } from './lib/proc.mjs';

after(() => h.stopAll());

const ADMIN_CAP = 64; // [admin] max_connections default

async function echoOnce(gw, p, text) {
  const ws = await h.connectWs(gw.url(p), { timeoutMs: 5000 });
  ws.send(text);
  assert.equal((await h.nextMessage(ws, 5000)).data.toString(), text);
  ws.close(1000);
  await h.waitClose(ws, 5000);
}

// Runs wsgate with `opts` (as startWsgate does) expecting it to fail at start: resolves with
// its exit code and its parsed log lines once it has exited.
async function runFailing(opts, timeoutMs = 10000) {
  const dir = mkdtempSync(path.join(tmpdir(), 'wsgate-it-'));
  const configPath = path.join(dir, 'wsgate.toml');
  writeFileSync(configPath, h.tomlFor(opts));
  const proc = spawn(h.WSGATE_BIN, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  try {
    const [code] = await h.withTimeout(once(proc, 'close'), timeoutMs,
                                       'the second wsgate to exit (it is still running)');
    const logs = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    return { code, logs, stderr };
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('admin listener limits', () => {
  it('closes a half-sent request with 408 and a silent connection without an answer after the default 10 s', async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({ pools: [{ name: 'p', backends: [backend.address] }] });
    const started = Date.now();
    const half = await h.openRaw(gw.adminPort);
    await half.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // no blank line
    const silent = await h.openRaw(gw.adminPort);
    const [halfData, silentData] = await Promise.all([half.waitEnd(15000), silent.waitEnd(15000)]);
    const elapsed = Date.now() - started;
    const head = h.parseHead(halfData);
    assert.equal(head?.status, 408, `got ${JSON.stringify(halfData.toString('latin1'))}`);
    assert.equal(halfData.subarray(head.headLength).toString(),
                 'the request head was not complete within 10s\n');
    assert.equal(silentData.length, 0);
    assert.ok(elapsed >= 9500, `closed after ${elapsed} ms, before the 10 s timeout`);
    // The admin still answers.
    assert.equal((await httpGet(gw.adminUrl('/livez'))).status, 200);
    await gw.stop();
    await backend.close();
  });

  it('[admin] request_timeout = "1s" applies; a request completed in time is answered', async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({
      admin: { request_timeout: '1s' },
      pools: [{ name: 'p', backends: [backend.address] }],
    });
    const started = Date.now();
    const half = await h.openRaw(gw.adminPort);
    await half.write('GET /livez HTTP/1.1\r\n');
    const silent = await h.openRaw(gw.adminPort);
    const slow = await h.openRaw(gw.adminPort);
    await slow.write('GET /livez HTTP/1.1\r\n');
    await slow.write('Host: 127.0.0.1\r\n\r\n');
    const slowHead = h.parseHead(await slow.waitEnd(5000));
    assert.equal(slowHead?.status, 200);
    const [halfData, silentData] = await Promise.all([half.waitEnd(5000), silent.waitEnd(5000)]);
    const elapsed = Date.now() - started;
    assert.equal(h.parseHead(halfData)?.status, 408);
    assert.equal(halfData.subarray(h.parseHead(halfData).headLength).toString(),
                 'the request head was not complete within 1s\n');
    assert.equal(silentData.length, 0);
    assert.ok(elapsed >= 900 && elapsed < 4000, `closed after ${elapsed} ms`);
    await gw.stop();
    await backend.close();
  });

  it('a reload applies a new request_timeout to new admin connections', async () => {
    const backend = await h.startWsBackend();
    const opts = { pools: [{ name: 'p', backends: [backend.address] }] };
    const gw = await h.startWsgate(opts);
    const reloaded = await gw.reload({ ...opts, admin: { request_timeout: '1s' } });
    assert.equal(reloaded.event, 'config_reloaded', JSON.stringify(reloaded));
    const half = await h.openRaw(gw.adminPort);
    await half.write('GET /livez HTTP/1.1\r\n');
    const data = await half.waitEnd(5000);
    assert.equal(h.parseHead(data)?.status, 408);
    assert.equal(data.subarray(h.parseHead(data).headLength).toString(),
                 'the request head was not complete within 1s\n');
    await gw.stop();
    await backend.close();
  });

  it(`closes admin connections over ${ADMIN_CAP} at once; WebSocket traffic and, once they end, the admin go on`, async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({ pools: [{ name: 'p', backends: [backend.address] }] });
    const mark = gw.mark();
    const idle = [];
    for (let i = 0; i < ADMIN_CAP; ++i) idle.push(await h.openRaw(gw.adminPort));
    const over = [];
    for (let i = 0; i < 8; ++i) over.push(await h.openRaw(gw.adminPort));
    // The 10 s request timeout is far off: these closes are the cap's.
    const overData = await Promise.all(over.map((c) => c.waitEnd(3000)));
    for (const d of overData) assert.equal(d.length, 0);
    const full = await gw.waitForLog((l) => l.event === 'admin_connections_full', 5000, mark);
    assert.equal(full.max_connections, ADMIN_CAP);
    assert.equal(idle.filter((c) => c.ended).length, 0, 'the first 64 are still open');

    await echoOnce(gw, '/during', 'admin is full');

    for (const c of idle) c.destroy();
    // wsgate sees those ends in the order the kernel reports them, not necessarily before the
    // next connection: a few attempts may still find the admin full.
    let answer = null;
    for (let attempt = 0; attempt < 50 && answer === null; ++attempt) {
      answer = await httpGet(gw.adminUrl('/metrics'), 5000).catch(() => null);
    }
    assert.equal(answer?.status, 200);
    assert.match(answer.body, /^wsgate_workers 1$/m);
    await gw.stop();
    await backend.close();
  });

  const skip = process.env.WSGATE_SANITIZED ? 'sanitizer build: its runtime needs descriptors' : false;
  it('idle admin connections cannot take the descriptors WebSocket clients need', { skip }, async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({ pools: [{ name: 'p', backends: [backend.address] }] });
    // Room for the admin cap plus a few sessions (two descriptors each), not for 3x the cap.
    const limit = openFds(gw.pid) + ADMIN_CAP + 12;
    execFileSync('prlimit', [`--pid=${gw.pid}`, `--nofile=${limit}:${limit}`]);
    const idle = [];
    for (let i = 0; i < 3 * ADMIN_CAP; ++i) idle.push(await h.openRaw(gw.adminPort));
    await echoOnce(gw, '/a', 'first');
    await echoOnce(gw, '/b', 'second');
    for (const c of idle) c.destroy();
    await gw.stop();
    await backend.close();
  });
});

describe('a second process on the same address', () => {
  it('exits 1 with listen_failed "address already in use"; the first keeps serving on both workers', async () => {
    const backend = await h.startWsBackend();
    const port = await h.closedPort();
    const first = await h.startWsgate({
      server: { workers: 2 },
      listeners: [{ name: 'public', listen: `127.0.0.1:${port}` }],
      pools: [{ name: 'p', backends: [backend.address] }],
    });
    assert.equal(first.port(), port);

    const second = await runFailing({
      listeners: [{ name: 'public', listen: `127.0.0.1:${port}` }],
      pools: [{ name: 'p', backends: [backend.address] }],
    });
    assert.equal(second.code, 1, second.stderr);
    const failed = second.logs.find((l) => l.event === 'listen_failed');
    assert.ok(failed, second.stderr);
    assert.equal(failed.level, 'error');
    assert.equal(failed.message,
                 `listener public on 127.0.0.1:${port}: address already in use ` +
                 '(another process listens there)');
    assert.equal(second.logs.some((l) => l.event === 'ready'), false);

    // Every connection still reaches the first process, and its two workers share the port.
    const clients = [];
    for (let i = 0; i < 32; ++i) clients.push(await h.connectWs(first.url(`/c${i}`)));
    await Promise.all(clients.map(async (ws, i) => {
      ws.send(`m${i}`);
      assert.equal((await h.nextMessage(ws)).data.toString(), `m${i}`);
    }));
    const listed = JSON.parse((await httpGet(first.adminUrl('/connections'))).body);
    assert.equal(listed.total, 32);
    assert.deepEqual([...new Set(listed.connections.map((c) => c.worker))].sort(), [0, 1]);
    for (const ws of clients) ws.close(1000);
    await Promise.all(clients.map((ws) => h.waitClose(ws)));
    await first.stop();
    await backend.close();
  });

  it('exits 1 with admin_listen_failed when only the admin address is taken', async () => {
    const backend = await h.startWsBackend();
    const first = await h.startWsgate({ pools: [{ name: 'p', backends: [backend.address] }] });
    const second = await runFailing({
      admin: { listen: first.adminAddress },
      pools: [{ name: 'p', backends: [backend.address] }],
    });
    assert.equal(second.code, 1, second.stderr);
    const failed = second.logs.find((l) => l.event === 'admin_listen_failed');
    assert.ok(failed, second.stderr);
    assert.equal(failed.message, `${first.adminAddress}: address already in use`);
    assert.equal((await httpGet(first.adminUrl('/livez'))).status, 200);
    await first.stop();
    await backend.close();
  });
});

describe('workers = 0', () => {
  it('taskset -c 0: one worker, from the affinity mask', async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({
      wrapper: ['taskset', '-c', '0'],
      server: { workers: 0 },
      pools: [{ name: 'p', backends: [backend.address] }],
    });
    const ready = gw.logs.find((l) => l.event === 'ready');
    assert.equal(ready.workers, 1);
    assert.equal(ready.workers_source, 'affinity');
    assert.equal(ready.affinity_cpus, 1);
    assert.match((await httpGet(gw.adminUrl('/metrics'))).body, /^wsgate_workers 1$/m);
    await echoOnce(gw, '/pinned', 'one worker');
    await gw.stop();
    await backend.close();
  });

  it('a configured count is used as it is', async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({
      wrapper: ['taskset', '-c', '0'],
      server: { workers: 3 },
      pools: [{ name: 'p', backends: [backend.address] }],
    });
    const ready = gw.logs.find((l) => l.event === 'ready');
    assert.equal(ready.workers, 3);
    assert.equal(ready.workers_source, 'config');
    await gw.stop();
    await backend.close();
  });

  // A real cgroup v2 child with a one-CPU quota. Needs root and the cpu controller on a cgroup
  // v2 hierarchy mounted at /sys/fs/cgroup.
  const controllers = '/sys/fs/cgroup/cgroup.controllers';
  let cgroupSkip = false;
  if (process.getuid() !== 0) {
    cgroupSkip = 'needs root to create a cgroup';
  } else if (!existsSync(controllers)) {
    cgroupSkip = '/sys/fs/cgroup is not a cgroup v2 hierarchy (cgroup v1 or hybrid machine)';
  } else if (!readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) {
    cgroupSkip = 'the cgroup v2 cpu controller is not available in /sys/fs/cgroup';
  }
  it('a cgroup cpu.max of "100000 100000" (1 CPU) gives one worker', { skip: cgroupSkip }, async (t) => {
    const own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
    const parent = path.join('/sys/fs/cgroup', own === '/' ? '' : path.dirname(own));
    const dir = path.join(parent, `wsgate-it-${process.pid}`);
    try {
      const subtree = readFileSync(path.join(parent, 'cgroup.subtree_control'), 'utf8');
      if (!subtree.split(/\s+/).includes('cpu')) {
        writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+cpu');
      }
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'cpu.max'), '100000 100000');
    } catch (err) {
      t.skip(`cannot create a cgroup with a cpu quota under ${parent}: ${err.message}`);
      return;
    }
    try {
      const backend = await h.startWsBackend();
      const gw = await h.startWsgate({
        wrapper: ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir],
        server: { workers: 0 },
        pools: [{ name: 'p', backends: [backend.address] }],
      });
      const ready = gw.logs.find((l) => l.event === 'ready');
      assert.equal(ready.workers, 1);
      assert.equal(ready.cgroup_cpu_quota, 1);
      if (ready.affinity_cpus > 1) assert.equal(ready.workers_source, 'cgroup cpu.max');
      await gw.stop();
      await backend.close();
    } finally {
      rmdirSync(dir);
    }
  });
});
