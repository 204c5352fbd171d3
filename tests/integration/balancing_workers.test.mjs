// least_conn with two workers counts the pool's live sessions over both: sessions one worker
// bound to a backend steer the other worker's picks away from it, and the counts survive a
// reload (SIGHUP). Also run under TSan (make test-tsan).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWsgate, stopAll } from './lib/harness.mjs';
import { closeSession, connectionsOf, idBackend, liveCounts, openSession } from './lib/balancing.mjs';

const HELD = 6; // sessions worker 0 binds to backend A before B exists
const MAX_ATTEMPTS = 200; // sessions opened to land HELD on one worker (each lands at random)

describe('least_conn over two workers', () => {
  let a;
  let b;
  let gw;
  const pool = (backends) => ({ name: 'lc', balance: 'least_conn', backends });

  before(async () => {
    a = await idBackend();
    b = await idBackend();
    gw = await startWsgate({
      server: { workers: 2 },
      pools: [pool([a.address])],
      policies: { default: { ping_interval: '0s' } },
    });
  });
  after(stopAll);

  // Opens sessions until `count` of them are on `worker`; sessions that land on the other
  // worker are closed again (and their count released) before the next attempt.
  async function onWorker(worker, count, path) {
    const kept = [];
    for (let attempt = 0; attempt < MAX_ATTEMPTS && kept.length < count; ++attempt) {
      const s = await openSession(gw, path);
      const mine = (await connectionsOf(gw)).find((c) => c.client_addr === `127.0.0.1:${s.localPort}`);
      assert.ok(mine, 'the session is in /connections');
      s.worker = mine.worker;
      s.backend = mine.backend;
      if (mine.worker === worker) {
        kept.push(s);
      } else {
        await closeSession(gw, s);
      }
    }
    assert.equal(kept.length, count, `${count} sessions on worker ${worker}`);
    return kept;
  }

  it('the other worker sees worker 0\'s sessions, and the counts survive SIGHUP', async () => {
    const first = await onWorker(0, HELD, '/first');
    for (const s of first) {
      assert.equal(s.id, a.port);
      assert.equal(s.backend, `ws://${a.address}`);
    }
    assert.deepEqual(await liveCounts(gw, 'lc', [a]), { [a.port]: HELD });

    // B joins by a reload. A keeps its count (same pool, same address).
    const reloaded = await gw.reload({
      server: { workers: 2 },
      pools: [pool([a.address, b.address])],
      policies: { default: { ping_interval: '0s' } },
    });
    assert.equal(reloaded.event, 'config_reloaded');
    assert.deepEqual(await liveCounts(gw, 'lc', [a, b]), { [a.port]: HELD, [b.port]: 0 });

    // Worker 1 never bound a session to A, yet each of its next HELD picks goes to B: it counts
    // worker 0's sessions. With per-worker counts it would have alternated A, B, A, ...
    const second = await onWorker(1, HELD, '/second');
    assert.deepEqual(second.map((s) => s.id), new Array(HELD).fill(b.port));
    assert.deepEqual(await liveCounts(gw, 'lc', [a, b]), { [a.port]: HELD, [b.port]: HELD });

    // Worker 0's sessions on A end: worker 1's next picks go to A.
    for (const s of first) await closeSession(gw, s);
    assert.deepEqual(await liveCounts(gw, 'lc', [a, b]), { [a.port]: 0, [b.port]: HELD });
    const third = await onWorker(1, 3, '/third');
    assert.deepEqual(third.map((s) => s.id), [a.port, a.port, a.port]);
    for (const s of [...second, ...third]) await closeSession(gw, s);
    assert.deepEqual(await liveCounts(gw, 'lc', [a, b]), { [a.port]: 0, [b.port]: 0 });
  });
});
