// Backends named by host name, against a DNS server of the test's own (issue 11, items 1 and 2).
// The test re-runs itself inside private mount and network namespaces (`unshare -m -n`, as
// root): loopback only, and an /etc/resolv.conf bind-mounted over the real one that points at a
// UDP server on 127.0.0.1:53 which answers NXDOMAIN for nx.wsgate.test and holds the queries for
// slow.wsgate.test until the test releases them (a resolver slower than connect_timeout).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

// The environment for the run inside the namespaces, without the outer test runner's marker
// (a file run directly reports its own tests).
function childEnv() {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

if (!process.env.WSGATE_IN_NETNS) {
  test('DNS cases in private mount and network namespaces', { timeout: 240000 }, async () => {
    assert.equal(process.getuid(), 0, 'these tests need root for unshare -m -n (CI runs as root)');
    const dir = mkdtempSync(path.join(tmpdir(), 'wsgate-dns-'));
    const resolv = path.join(dir, 'resolv.conf');
    // One attempt of 5 s: far longer than the 1 s connect_timeout, and bounded.
    writeFileSync(resolv, 'nameserver 127.0.0.1\noptions timeout:5 attempts:1\n');
    const script = 'ip link set lo up && mount --bind "$0" /etc/resolv.conf && ' +
      'exec "$1" "$2"';
    const child = spawn('unshare', ['-m', '-n', '--', '/bin/sh', '-c', script, resolv, process.execPath, SELF],
      { env: { ...childEnv(), WSGATE_IN_NETNS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const code = await new Promise((resolve) => child.on('close', resolve));
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `inside the namespaces:\n${output}`);
    assert.match(output, /# fail 0/);
  });
} else {
  const { startEcho, startWsgate, stopAll, connectWs, waitClose, openRaw } = await import('./lib/harness.mjs');
  const { httpGet, parseMetrics } = await import('./lib/metrics.mjs');

  // A DNS server on 127.0.0.1:53: NXDOMAIN for nx.*, queries for slow.* held until release().
  async function startDns() {
    const socket = dgram.createSocket('udp4');
    const held = [];
    const waiters = new Set();
    let releasing = false;
    let queries = 0;
    const answer = (msg, rinfo) => {
      let pos = 12;
      const labels = [];
      while (msg[pos] !== 0) {
        labels.push(msg.subarray(pos + 1, pos + 1 + msg[pos]).toString('latin1'));
        pos += msg[pos] + 1;
      }
      const qtype = msg.readUInt16BE(pos + 1);
      const question = msg.subarray(12, pos + 5);
      const name = labels.join('.');
      const nx = name.startsWith('nx.');
      const withA = !nx && qtype === 1;
      const header = Buffer.alloc(12);
      msg.copy(header, 0, 0, 2); // id
      header.writeUInt16BE(0x8180 | (nx ? 3 : 0), 2); // response, RD, RA, rcode
      header.writeUInt16BE(1, 4);
      header.writeUInt16BE(withA ? 1 : 0, 6);
      const parts = [header, question];
      if (withA) {
        const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 1]);
        parts.push(rr);
      }
      socket.send(Buffer.concat(parts), rinfo.port, rinfo.address);
    };
    socket.on('message', (msg, rinfo) => {
      ++queries;
      const name = msg.subarray(13, 13 + msg[12]).toString('latin1');
      if (name === 'slow' && !releasing) held.push([msg, rinfo]);
      else answer(msg, rinfo);
      for (const w of [...waiters]) w();
    });
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(53, '127.0.0.1', resolve);
    });
    return {
      held: () => held.length,
      queries: () => queries,
      // Resolves once `n` queries for slow.* are held.
      waitHeld(n, ms = 15000) {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`only ${held.length} of ${n} DNS queries held`)); }, ms);
          const check = () => {
            if (held.length >= n) { clearTimeout(timer); waiters.delete(check); resolve(); }
          };
          waiters.add(check);
          check();
        });
      },
      release() {
        releasing = true;
        for (const [msg, rinfo] of held.splice(0)) answer(msg, rinfo);
      },
      hold() {
        releasing = false;
      },
      close: () => new Promise((resolve) => socket.close(resolve)),
    };
  }

  async function request(port, pathName) {
    const conn = await openRaw(port);
    conn.write(`GET ${pathName} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await conn.waitEnd(20000);
    return conn.data.toString('latin1');
  }

  describe('backends named by DNS', () => {
    let dns;
    let echo;
    let gw;

    before(async () => {
      dns = await startDns();
      echo = await startEcho();
      gw = await startWsgate({
        server: { workers: 1, drain_timeout: '20s' },
        pools: [
          { name: 'echo', backends: [echo.address] },
          { name: 'slow', backends: [`slow.wsgate.test:${echo.port}`], connect_timeout: '1s' },
          { name: 'nx', backends: ['nx.wsgate.test:9'], connect_timeout: '1s' },
        ],
        routes: [
          { pool: 'slow', path_prefix: '/slow' },
          { pool: 'nx', path_prefix: '/nx' },
          { pool: 'echo', path_prefix: '/' },
        ],
        policies: { default: { ping_interval: '0s' } },
      });
    });

    after(async () => {
      dns?.release();
      await stopAll();
      await dns?.close();
    });

    test('2: a name that does not resolve is a connect failure: counted, logged, backend down, not ready', async () => {
      const from = gw.mark();
      for (let i = 0; i < 3; ++i) {
        const answer = await request(gw.port(), '/nx');
        assert.match(answer, /^HTTP\/1\.1 502 /);
        assert.match(answer, /DNS: cannot resolve nx\.wsgate\.test/);
      }
      const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
      const labels = { pool: 'nx', backend: 'nx.wsgate.test:9' };
      assert.equal(m.get('wsgate_backend_connect_failures_total', labels), 3);
      assert.equal(m.get('wsgate_backend_up', labels), 0);
      const ready = await httpGet(gw.adminUrl('/readyz'));
      assert.equal(ready.status, 503);
      assert.match(ready.body, /no backend up in pool 'nx'/);
      await gw.waitForLog((l) => l.event === 'backend_down' && l.pool === 'nx', 5000, from);
      const failed = await gw.waitForLog((l) => l.event === 'backend_connect_failed' && l.pool === 'nx', 5000, from);
      assert.match(failed.error, /DNS: cannot resolve nx\.wsgate\.test/);
    });

    test('1: DNS slower than connect_timeout: 504 for each, and wsgate stays up when the answers come', async () => {
      const answers = [];
      for (let i = 0; i < 5; ++i) answers.push(request(gw.port(), `/slow/${i}`));
      await dns.waitHeld(5);
      for (const answer of await Promise.all(answers)) {
        assert.match(answer, /^HTTP\/1\.1 504 /);
        assert.match(answer, /connect timeout/);
      }
      const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
      assert.equal(m.get('wsgate_backend_connect_failures_total',
        { pool: 'slow', backend: `slow.wsgate.test:${echo.port}` }), 5);
      // Five timeouts marked the backend down (unhealthy_after 3), and a pool whose backends are
      // all down answers 503 at once. The late answers reach lookups whose handshakes are gone;
      // once the name resolves again, the recovery probe brings the backend back.
      const from = gw.mark();
      dns.release();
      await gw.waitForLog((l) => l.event === 'backend_up' && l.pool === 'slow', 10000, from);
      const ws = await connectWs(gw.url('/slow/now'));
      ws.send('hello');
      const reply = await new Promise((resolve) => ws.once('message', (d) => resolve(d.toString())));
      assert.equal(reply, 'hello');
      ws.close(1000);
      await waitClose(ws);
      assert.equal(gw.exited, null, 'wsgate is still running');
      const ok = await connectWs(gw.url('/'));
      ok.close(1000);
      await waitClose(ok);
    });

    test('1: SIGTERM while a name resolves: 503 to the client, exit 0', async () => {
      dns.hold();
      const held = dns.held();
      const pending = request(gw.port(), '/slow/drain');
      await dns.waitHeld(held + 1);
      gw.signal('SIGTERM');
      const answer = await pending;
      assert.match(answer, /^HTTP\/1\.1 503 /);
      assert.match(answer, /Retry-After: 1/i);
      dns.release();
      assert.deepEqual(await gw.waitExit(30000), { code: 0, signal: null });
    });
  });
}
