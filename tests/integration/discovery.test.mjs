// DNS discovery (`discovery = "dns"`, issue 13): every address a backend's name resolves to is a
// backend; addresses that appear join, ones that vanish leave (their sessions drained with
// 1012), and a failed resolution keeps the last known set. The test re-runs itself inside a
// private mount namespace (`unshare -m`, as root) with its own /etc/hosts bind-mounted over the
// real one, and edits that file (in place: the bind mount follows the inode) while wsgate runs.
// The backends listen on 127.0.0.2, .3 and .4 (all loopback) on one port.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const NAME = 'fleet.wsgate.test';

function childEnv() {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

if (!process.env.WSGATE_HOSTS_FILE) {
  test('DNS discovery in a private mount namespace', { timeout: 240000 }, async () => {
    assert.equal(process.getuid(), 0, 'this test needs root for unshare -m (CI runs as root)');
    const dir = mkdtempSync(path.join(tmpdir(), 'wsgate-discovery-'));
    const hosts = path.join(dir, 'hosts');
    writeFileSync(hosts, '127.0.0.1 localhost\n');
    const script = 'mount --bind "$0" /etc/hosts && exec "$1" "$2"';
    const child = spawn('unshare', ['-m', '--', '/bin/sh', '-c', script, hosts, process.execPath, SELF],
      { env: { ...childEnv(), WSGATE_HOSTS_FILE: hosts }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const code = await new Promise((resolve) => child.on('close', resolve));
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `inside the namespace:\n${output}`);
    assert.match(output, /# fail 0/);
    assert.match(output, /# pass 2/);
  });
} else {
  const { startEcho, startWsgate, stopAll, connectWs, waitClose } = await import('./lib/harness.mjs');
  const { httpGet, parseMetrics } = await import('./lib/metrics.mjs');
  const HOSTS = process.env.WSGATE_HOSTS_FILE;

  // Rewrites the hosts file in place with `addresses` for NAME.
  const publish = (addresses) => writeFileSync(HOSTS,
    ['127.0.0.1 localhost', ...addresses.map((a) => `${a} ${NAME}`)].join('\n') + '\n');

  async function live(gw) {
    const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
    const out = {};
    for (const s of m.samples) {
      if (s.name === 'wsgate_backend_live_sessions' && s.labels.pool === 'fleet') out[s.labels.backend] = s.value;
    }
    return out;
  }

  const changed = (gw, from, wanted) => gw.waitForLog((l) => l.event === 'discovery_changed' &&
    l.pool === 'fleet' && l.backends.split(' ').sort().join(' ') === [...wanted].sort().join(' '), 15000, from);

  describe('dns discovery', () => {
    const echoes = {};
    let port;
    let gw;

    before(async () => {
      // One port on three loopback addresses.
      echoes['127.0.0.2'] = await startEcho({ args: ['--host', '127.0.0.2'] });
      port = echoes['127.0.0.2'].port;
      for (const ip of ['127.0.0.3', '127.0.0.4']) {
        echoes[ip] = await startEcho({ args: ['--host', ip, '--port', String(port)] });
      }
      publish(['127.0.0.2', '127.0.0.3']);
      gw = await startWsgate({
        server: { workers: 2 },
        pools: [{
          name: 'fleet',
          balance: 'least_conn',
          discovery: 'dns',
          resolve_interval: '200ms',
          backends: [`${NAME}:${port}`],
          rebalance: { drain_removed: '1s', close_code: 1012 },
        }],
        policies: { default: { ping_interval: '0s' } },
      });
    });

    after(stopAll);

    test('every address of the name is a backend; one added joins, one removed leaves with its sessions drained', async () => {
      const a2 = `127.0.0.2:${port}`;
      const a3 = `127.0.0.3:${port}`;
      const a4 = `127.0.0.4:${port}`;
      await changed(gw, 0, [a2, a3]);
      const clients = [];
      for (let i = 0; i < 4; ++i) clients.push(await connectWs(gw.url(`/c${i}`)));
      let counts = await live(gw);
      assert.equal(counts[a2], 2);
      assert.equal(counts[a3], 2);

      // A third address appears: it joins, and least_conn sends the next sessions there.
      let from = gw.mark();
      publish(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
      await changed(gw, from, [a2, a3, a4]);
      for (let i = 4; i < 6; ++i) clients.push(await connectWs(gw.url(`/c${i}`)));
      counts = await live(gw);
      assert.equal(counts[a4], 2);

      // 127.0.0.2 vanishes: it leaves, and its 2 sessions are closed with 1012 within drain_removed.
      from = gw.mark();
      publish(['127.0.0.3', '127.0.0.4']);
      await changed(gw, from, [a3, a4]);
      const drained = await gw.waitForLog((l) => l.event === 'backend_drain_started', 5000, from);
      assert.equal(drained.backend, a2);
      assert.equal(drained.sessions, 2);
      // The two clients on 127.0.0.2 get 1012; the four others stay open.
      const codes = await Promise.all(clients.map((ws) => Promise.race([
        ws.closed.then((c) => c.code),
        new Promise((resolve) => setTimeout(() => resolve('open'), 3000)),
      ])));
      assert.deepEqual(codes.filter((c) => c !== 'open'), [1012, 1012]);
      let shed = 0;
      await gw.waitForLog((l) => l.event === 'access' && l.termination === 'rebalance' && ++shed === 2, 5000, from);
      const shedLines = gw.logs.slice(from).filter((l) => l.event === 'access' && l.termination === 'rebalance');
      for (const l of shedLines) {
        assert.equal(l.upstream_addr, a2);
        assert.equal(l.client_close_code, 1012);
        assert.equal(l.backend_close_code, 1001);
      }
      counts = await live(gw);
      assert.equal(counts[a2] ?? 0, 0);
      assert.equal(counts[a3], 2);
      assert.equal(counts[a4], 2);
      for (const ws of clients) ws.terminate();
    });

    test('a failed resolution keeps the last known set and is logged', async () => {
      const from = gw.mark();
      publish([]);
      const failed = await gw.waitForLog((l) => l.event === 'discovery_failed', 5000, from);
      assert.equal(failed.pool, 'fleet');
      assert.equal(failed.backend, `${NAME}:${port}`);
      assert.ok(!gw.logs.slice(from).some((l) => l.event === 'discovery_changed'));
      const ws = await connectWs(gw.url('/still'));
      ws.close(1000);
      assert.equal((await waitClose(ws)).code, 1000);
      publish(['127.0.0.3', '127.0.0.4']);
    });
  });
}
