// Balancing against real backends: weighted shares, full backends skipped, 503 + Retry-After
// when none can take a session, consistent hashing that two wsgate processes agree on whatever
// the order of their backend lists, bounded loads, and 503 once every backend is down.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closedPort, expectRejected, startWsgate, stopAll } from './lib/harness.mjs';
import { httpGet, parseMetrics } from './lib/metrics.mjs';
import { closeSession, idBackend, liveCounts, openSession } from './lib/balancing.mjs';

const NO_PINGS = { default: { ping_interval: '0s' } };

function tally(sessions) {
  const out = {};
  for (const s of sessions) out[s.id] = (out[s.id] ?? 0) + 1;
  return out;
}

describe('weights', () => {
  let a;
  let b;
  let gw;
  before(async () => {
    a = await idBackend();
    b = await idBackend();
    const backends = [{ address: a.address, weight: 1 }, { address: b.address, weight: 3 }];
    gw = await startWsgate({
      pools: [
        { name: 'rr', balance: 'round_robin', backends },
        { name: 'lc', balance: 'least_conn', backends },
        { name: 'rnd', balance: 'random', backends },
        { name: 'p2c', balance: 'p2c', backends },
      ],
      routes: ['rr', 'lc', 'rnd', 'p2c'].map((pool) => ({ pool, path_prefix: `/${pool}` })),
      policies: NO_PINGS,
    });
  });
  after(stopAll);

  it('round_robin sends exactly one session in four to the backend of weight 1', async () => {
    const sessions = [];
    for (let i = 0; i < 40; ++i) {
      const s = await openSession(gw, '/rr');
      sessions.push(s);
      await closeSession(gw, s);
    }
    assert.deepEqual(tally(sessions), { [a.port]: 10, [b.port]: 30 });
    // Interleaved, never four of weight-3 B in a row.
    assert.ok(!/(B){4}/.test(sessions.map((s) => (s.id === a.port ? 'A' : 'B')).join('')));
  });

  it('least_conn holds live sessions in the ratio of the weights', async () => {
    const held = [];
    for (let i = 0; i < 40; ++i) held.push(await openSession(gw, '/lc'));
    assert.deepEqual(tally(held), { [a.port]: 10, [b.port]: 30 });
    assert.deepEqual(await liveCounts(gw, 'lc', [a, b]), { [a.port]: 10, [b.port]: 30 });
    for (const s of held) await closeSession(gw, s);
  });

  it('random and p2c follow the weights', async () => {
    for (const pool of ['rnd', 'p2c']) {
      const held = [];
      for (let i = 0; i < 200; ++i) held.push(await openSession(gw, `/${pool}`));
      const t = tally(held);
      // Binomial(200, 1/4) for random: mean 50, sd 6.1; p2c compares loads, so it is closer.
      assert.ok(t[a.port] >= 25 && t[a.port] <= 75, `${pool}: A took ${t[a.port]} of 200`);
      for (const s of held) s.ws.terminate();
    }
    const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
    assert.equal(m.get('wsgate_backend_picks_total', { pool: 'rnd', backend: a.address }) +
                 m.get('wsgate_backend_picks_total', { pool: 'rnd', backend: b.address }), 200);
    assert.equal(m.get('wsgate_backend_effective_weight', { pool: 'rnd', backend: b.address }), 3);
  });
});

describe('max_connections', () => {
  let a;
  let b;
  let gw;
  before(async () => {
    a = await idBackend();
    b = await idBackend();
    gw = await startWsgate({
      pools: [{
        name: 'cap',
        balance: 'least_conn',
        max_connections_per_backend: 3,
        retry_after: '10s',
        backends: [{ address: a.address, max_connections: 2 }, b.address],
      }],
      policies: NO_PINGS,
    });
  });
  after(stopAll);

  it('a full backend is skipped; all full: 503 with a jittered Retry-After and why', async () => {
    const held = [];
    for (let i = 0; i < 5; ++i) held.push(await openSession(gw, '/'));
    assert.deepEqual(tally(held), { [a.port]: 2, [b.port]: 3 });
    const seen = new Set();
    for (let i = 0; i < 30; ++i) {
      const from = gw.mark();
      const res = await expectRejected(gw.url('/full'));
      assert.equal(res.status, 503);
      const retry = Number(res.headers['retry-after']);
      assert.ok(Number.isInteger(retry) && retry >= 5 && retry <= 15, `Retry-After ${retry}`);
      seen.add(retry);
      assert.equal(res.body,
        `no backend of pool 'cap' can take a session now: 2 backends, 0 down, 2 full ` +
        `(max_connections); retry after ${retry}s\n`);
      const line = await gw.waitForAccess((l) => l.path === '/full', 15000, from);
      assert.equal(line.status, 503);
      assert.equal(line.termination, 'no_backend_available');
    }
    assert.ok(seen.size >= 3, `Retry-After is jittered: ${[...seen]}`);
    assert.equal(a.connections.length, 2);
    assert.equal(b.connections.length, 3);
    // One session ends: its backend takes the next one.
    await closeSession(gw, held[0]);
    const next = await openSession(gw, '/');
    assert.equal(next.id, held[0].id);
    const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
    assert.equal(m.get('wsgate_handshakes_total', { listener: 'public', status: '503' }), 30);
    assert.ok(m.get('wsgate_backend_skips_total', { pool: 'cap', backend: a.address, reason: 'full' }) >= 30);
    assert.equal(m.get('wsgate_backend_live_sessions', { pool: 'cap', backend: b.address }), 3);
  });
});

describe('every backend down', () => {
  let gw;
  let port;
  before(async () => {
    port = await closedPort();
    gw = await startWsgate({ pools: [{ name: 'dead', backends: [`127.0.0.1:${port}`], retry_after: '1s' }] });
  });
  after(stopAll);

  it('502 while the connects fail, then 503 + Retry-After once the backend is down', async () => {
    for (let i = 0; i < 3; ++i) assert.equal((await expectRejected(gw.url('/'))).status, 502);
    await gw.waitForLog((l) => l.event === 'backend_down' && l.pool === 'dead');
    const res = await expectRejected(gw.url('/'));
    assert.equal(res.status, 503);
    assert.ok(['1', '2'].includes(res.headers['retry-after']), res.headers['retry-after']);
    assert.match(res.body, /^no backend of pool 'dead' can take a session now: 1 backend, 1 down, 0 full/);
  });
});

describe('consistent_hash', () => {
  const N = 4;
  const KEYS = 120;
  let backends;
  let one;
  let two;
  before(async () => {
    backends = [];
    for (let i = 0; i < N; ++i) backends.push(await idBackend());
    const pool = (list, extra = {}) => ({
      name: 'rooms', balance: 'consistent_hash', hash_key: 'query:room', backends: list, ...extra,
    });
    const addresses = backends.map((b) => b.address);
    one = await startWsgate({
      pools: [pool(addresses), pool(addresses, { name: 'bounded', hash_balance_factor: 1.25 })],
      routes: [{ pool: 'rooms', path_prefix: '/' }, { pool: 'bounded', path_prefix: '/bounded' }],
      policies: NO_PINGS,
    });
    // The other replica lists the backends in another order, the last one as a table.
    const shuffled = [addresses[2], addresses[0], addresses[3], { address: addresses[1] }];
    two = await startWsgate({ pools: [pool(shuffled)], policies: NO_PINGS });
  });
  after(stopAll);

  it('two wsgate processes with differently ordered backends agree on every key', async () => {
    const mapping = new Map();
    for (let k = 0; k < KEYS; ++k) {
      const s1 = await openSession(one, `/chat?room=r${k}`);
      const s2 = await openSession(two, `/chat?room=r${k}`);
      assert.equal(s2.id, s1.id, `room r${k}`);
      mapping.set(k, s1.id);
      s1.ws.terminate();
      s2.ws.terminate();
    }
    // Sticky: the same key again, the same backend; and the keys spread over all backends.
    for (let k = 0; k < 10; ++k) {
      const s = await openSession(one, `/chat?room=r${k}`);
      assert.equal(s.id, mapping.get(k));
      s.ws.terminate();
    }
    const counts = tally([...mapping.values()].map((id) => ({ id })));
    assert.equal(Object.keys(counts).length, N);
    for (const c of Object.values(counts)) assert.ok(c >= 10, `a backend took ${c} of ${KEYS} keys`);
  });

  it('bounded loads: one hot key spills over to the next backends in table order', async () => {
    // 40 sessions of the same room: the room's backend takes ceil(1.25 x (live + 1) / 4) at
    // most at each pick, the rest go to the next backends in table order.
    const held = [];
    for (let i = 0; i < 40; ++i) {
      held.push(await openSession(one, '/bounded?room=hot'));
      const live = Object.values(await liveCounts(one, 'bounded', backends));
      const total = live.reduce((x, y) => x + y, 0);
      assert.equal(total, i + 1);
      assert.ok(Math.max(...live) <= Math.ceil((1.25 * total) / N), `after ${i + 1}: ${live}`);
    }
    const home = held[0].id;
    const t = tally(held);
    assert.equal(t[home], Math.max(...Object.values(t)), 'the key\'s own backend holds the most');
    assert.ok(Object.keys(t).length >= 3, `spread: ${JSON.stringify(t)}`);
    const m = parseMetrics((await httpGet(one.adminUrl('/metrics'))).body);
    const homeBackend = backends.find((b) => b.port === home).address;
    assert.ok(m.get('wsgate_backend_skips_total', { pool: 'bounded', backend: homeBackend, reason: 'bounded_load' }) > 0);
    // Without the bound (pool rooms) the same 40 sessions all go to one backend.
    const unbounded = [];
    for (let i = 0; i < 40; ++i) unbounded.push(await openSession(one, '/chat?room=hot'));
    assert.equal(Object.keys(tally(unbounded)).length, 1);
    for (const s of [...held, ...unbounded]) s.ws.terminate();
  });
});
