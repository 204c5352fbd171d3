// Rebalancing long-lived sessions when the fleet changes ([pools.rebalance], issue 13):
// 1,000 sessions on 2 backends, 2 more added by a reload: sessions above (1 + tolerance) x the
// fair share are closed with 1012 at no more than `rate` a second, and the clients' reconnects
// spread them; a backend removed by a reload has its sessions closed spread over drain_removed.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectWs, startEcho, startWsgate, stopAll, withTimeout } from './lib/harness.mjs';
import { httpGet, parseMetrics } from './lib/metrics.mjs';

const SESSIONS = 1000;
const RATE = 50;
const TOLERANCE = 0.25;

async function liveSessions(gw, pool, backends) {
  const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
  const name = 'wsgate_backend_connections_active';
  return backends.map((b) => (m.has(name, { pool, backend: b.address }) ? m.get(name, { pool, backend: b.address }) : 0));
}

async function metricValue(gw, name, labels) {
  const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
  return m.get(name, labels);
}

// Opens `n` clients, `batch` at a time. A client closed with `reconnectOn` opens a new one
// (what a browser client does on 1012); every close is recorded with its time.
async function openClients(url, n, { reconnectOn = null, batch = 50 } = {}) {
  const fleet = { closes: [], live: new Set(), reconnects: 0, errors: [] };
  const open = async () => {
    const ws = await connectWs(url);
    fleet.live.add(ws);
    ws.on('close', (code) => {
      fleet.live.delete(ws);
      fleet.closes.push({ code, t: Date.now() });
      if (code === reconnectOn) {
        fleet.reconnects += 1;
        open().catch((err) => fleet.errors.push(err));
      }
    });
    return ws;
  };
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, open));
  }
  fleet.open = open;
  return fleet;
}

// The largest number of times in `times` (ms) within any window of `windowMs`.
function maxInWindow(times, windowMs) {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; ++i) {
    while (sorted[i] - sorted[j] >= windowMs) ++j;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('rebalancing', () => {
  after(stopAll);

  test(`${SESSIONS} sessions from 2 to 4 backends: shed at <= ${RATE}/s with 1012 until within tolerance`,
    { timeout: 240000 }, async () => {
      const backends = [];
      for (let i = 0; i < 4; ++i) backends.push(await startEcho());
      const pool = (n) => ({
        name: 'p',
        balance: 'least_conn',
        backends: backends.slice(0, n).map((b) => b.address),
        rebalance: { enabled: true, tolerance: TOLERANCE, rate: RATE, close_code: 1012 },
      });
      const opts = (n) => ({
        server: { workers: 2, max_connections: 10000 },
        pools: [pool(n)],
        policies: { default: { ping_interval: '0s' } },
      });
      const gw = await startWsgate(opts(2));
      const fleet = await openClients(gw.url('/'), SESSIONS, { reconnectOn: 1012 });
      const before = await liveSessions(gw, 'p', backends);
      assert.equal(before[0] + before[1], SESSIONS);
      assert.deepEqual(before.slice(2), [0, 0]);

      const from = gw.mark();
      const reloaded = await gw.reload(opts(4));
      assert.equal(reloaded.event, 'config_reloaded');
      const started = await gw.waitForLog((l) => l.event === 'rebalance_started', 5000, from);
      const t0 = Date.now();
      const spread = [];
      const done = gw.waitForLog((l) => l.event === 'rebalance_done', 180000, from);
      let finished = false;
      done.then(() => { finished = true; }, () => { finished = true; });
      // The spread once a second until the rebalancer says it is within tolerance.
      while (!finished && Date.now() - t0 < 180000) {
        const tick = new Promise((resolve) => setTimeout(resolve, 1000));
        await Promise.race([tick, done]);
        spread.push({ s: Math.round((Date.now() - t0) / 1000), sessions: await liveSessions(gw, 'p', backends) });
      }
      const last = await done;
      // Wait until every shed client is back (the counts settle at SESSIONS).
      await withTimeout((async () => {
        for (;;) {
          const now = await liveSessions(gw, 'p', backends);
          if (now.reduce((a, b) => a + b, 0) === SESSIONS && fleet.live.size === SESSIONS) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(), 30000, 'every shed client to reconnect');
      const final = await liveSessions(gw, 'p', backends);
      spread.push({ s: 'final', sessions: final });
      console.log(`rebalance ${SESSIONS} sessions 2 -> 4 backends, rate ${RATE}/s, tolerance ${TOLERANCE}:`);
      console.log(`  start ${before.join(' / ')}; ${started.sessions}`);
      for (const row of spread) console.log(`  ${row.s === "final" ? "final" : `t=${row.s}s`} ${row.sessions.join(' / ')}`);

      assert.deepEqual(fleet.errors, []);
      const sheds = fleet.closes;
      assert.ok(sheds.length > 0, 'sessions were shed');
      for (const c of sheds) assert.equal(c.code, 1012, 'every close the clients saw was 1012');
      assert.equal(await metricValue(gw, 'wsgate_sessions_shed_total', { pool: 'p', reason: 'overload' }), sheds.length);
      // Within tolerance at the end: no backend above (1 + tolerance) x its share.
      const share = SESSIONS / 4;
      for (const n of final) assert.ok(n <= (1 + TOLERANCE) * share, `final spread ${final} within tolerance`);
      // Paced: by wsgate's own clock no second holds more than RATE closes, and no two closes
      // are less than 1/RATE s apart, so no sliding second can hold more than RATE either ...
      const progress = gw.logs.slice(from).filter((l) => l.event === 'rebalance_progress');
      assert.ok(progress.length >= 3, 'a progress line every second');
      for (const p of progress) {
        assert.ok(p.closes_last_second <= RATE, `${p.closes_last_second} closes in one second`);
        if (p.closes_last_second > 1) assert.ok(p.min_gap_ms >= 1000 / RATE, `closes ${p.min_gap_ms} ms apart`);
      }
      // ... and the clients see the same pace, give or take their own delivery jitter on a loaded
      // machine (one event loop for 1,000 sockets delivers some closes late, bunching others).
      const perWindow = maxInWindow(sheds.map((c) => c.t), 1000);
      const perSecond = new Map();
      for (const c of sheds) {
        const s = Math.floor((c.t - sheds[0].t) / 1000);
        perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
      }
      console.log(`  closes seen by clients per second: ${[...perSecond.values()].join(' ')}; ` +
        `max in any 1 s window ${perWindow}; total ${sheds.length}; wsgate per second: ` +
        `${progress.map((p) => p.closes_last_second).join(' ')} (shortest gaps ms: ` +
        `${progress.map((p) => p.min_gap_ms).join(' ')}); done: ${last.sessions}`);
      assert.ok(perWindow <= RATE * 1.25, `${perWindow} closes within one second at the clients`);
      for (const s of perSecond.values()) assert.ok(s <= RATE * 1.25, `${s} closes in one second at the clients`);
      for (const ws of fleet.live) ws.terminate();
    });

  test('a removed backend: its sessions closed with 1012 spread over drain_removed, the others kept',
    { timeout: 120000 }, async () => {
      const a = await startEcho();
      const b = await startEcho();
      const opts = (backends) => ({
        server: { workers: 2 },
        pools: [{ name: 'p', backends, rebalance: { drain_removed: '3s', close_code: 1012 } }],
        policies: { default: { ping_interval: '0s' } },
      });
      const gw = await startWsgate(opts([a.address, b.address]));
      const fleet = await openClients(gw.url('/'), 80);
      const [onA, onB] = await liveSessions(gw, 'p', [a, b]);
      assert.equal(onA + onB, 80);
      assert.ok(onB > 0);
      const from = gw.mark();
      const reloadAt = Date.now();
      await gw.reload(opts([a.address]));
      const drain = await gw.waitForLog((l) => l.event === 'backend_drain_started', 5000, from);
      assert.equal(drain.backend, b.address);
      assert.equal(drain.sessions, onB);
      assert.equal(drain.window_s, 3);
      await withTimeout((async () => {
        while (fleet.closes.length < onB) await new Promise((resolve) => setTimeout(resolve, 50));
      })(), 15000, `${onB} closes`);
      const times = fleet.closes.map((c) => c.t - reloadAt).sort((x, y) => x - y);
      for (const c of fleet.closes) assert.equal(c.code, 1012);
      console.log(`drain of ${onB} sessions over 3 s: first close at ${times[0]} ms, last at ` +
        `${times[times.length - 1]} ms, max in any 500 ms: ${maxInWindow(times, 500)}`);
      // Spread, not at once: the first after about one interval, the last near the window's end,
      // and no half second holds much more than its share.
      const interval = 3000 / onB;
      assert.ok(times[0] >= interval * 0.5, `first close at ${times[0]} ms`);
      assert.ok(times[times.length - 1] >= 2500, `last close at ${times[times.length - 1]} ms`);
      assert.ok(times[times.length - 1] <= 6000, `last close at ${times[times.length - 1]} ms`);
      assert.ok(maxInWindow(times, 500) <= Math.ceil(500 / interval) + 2, 'no burst');
      // The sessions on the backend that stays were not touched.
      assert.equal(fleet.live.size, onA);
      // A session leaves the gauge when both of its legs are closed, just after its client's.
      await withTimeout((async () => {
        while ((await liveSessions(gw, 'p', [a, b]))[1] !== 0) await new Promise((resolve) => setTimeout(resolve, 50));
      })(), 5000, 'the drained sessions to end');
      assert.deepEqual(await liveSessions(gw, 'p', [a, b]), [onA, 0]);
      assert.equal(await metricValue(gw, 'wsgate_sessions_shed_total', { pool: 'p', reason: 'removed' }), onB);
      assert.equal(await metricValue(gw, 'wsgate_sessions_shed_total', { pool: 'p', reason: 'overload' }), 0);
      for (const ws of fleet.live) ws.terminate();
    });
});
