// Resource exhaustion: a process out of file descriptors keeps serving what it has, answers
// new clients as soon as descriptors free up, says so in its log, and never spins.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import * as h from './lib/harness.mjs';
import { cpuTicks, openFds } from './lib/proc.mjs';

after(h.stopAll);

describe('file descriptor exhaustion', () => {
  // Sanitizer runtimes need free descriptors for their own checks; see CMakeLists.txt.
  const skip = process.env.WSGATE_SANITIZED ? 'sanitizer build: its runtime needs descriptors' : false;
  it('logs fd_limit_reached, does not spin, and recovers when descriptors free up', { skip }, async () => {
    const backend = await h.startWsBackend();
    const gw = await h.startWsgate({
      pools: [{ name: 'p', backends: [backend.address] }],
      policies: { default: { ping_interval: '1s', pong_timeout: '5s' } },
    });
    // Room for a handful of sessions (two descriptors each) above what is open now.
    const limit = openFds(gw.pid) + 8;
    execFileSync('prlimit', [`--pid=${gw.pid}`, `--nofile=${limit}:${limit}`]);

    const held = [];
    for (let i = 0; i < 3; ++i) held.push(await h.connectWs(gw.url(`/held/${i}`)));
    // Raw connections that never send a request hold one descriptor each: more of them than
    // there are descriptors left. wsgate reports the exhaustion within a second.
    const mark = gw.mark();
    const raws = [];
    for (let i = 0; i < 12; ++i) raws.push(await h.openRaw(gw.port()));
    const line = await gw.waitForLog((l) => l.event === 'fd_limit_reached', 5000, mark);
    assert.equal(line.limit, limit);
    assert.ok(line.open_fds >= limit - 4, `open_fds ${line.open_fds} of ${limit}`);

    // Hammer the listener while out of descriptors, then measure the CPU the process burns
    // over one heartbeat interval (an event: wsgate's ping reaching a held client).
    const attempts = [];
    for (let i = 0; i < 50; ++i) {
      attempts.push(
        new Promise((resolve) => {
          const s = net.connect(gw.port(), '127.0.0.1');
          s.on('error', resolve);
          s.on('close', resolve);
          s.setTimeout(5000, () => s.destroy());
        }),
      );
    }
    await Promise.all(attempts);
    const before = cpuTicks(gw.pid);
    await h.waitEvent(held[0], 'ping', 5000, 'a heartbeat ping');
    await h.waitEvent(held[0], 'ping', 5000, 'a second heartbeat ping');
    const spent = cpuTicks(gw.pid) - before; // clock ticks (100 per second)
    assert.ok(spent < 50, `wsgate used ${spent} ticks of CPU over ~1 s while out of fds`);

    // Held sessions still work.
    held[0].send('still alive');
    assert.equal((await h.nextMessage(held[0])).data.toString(), 'still alive');

    // Free descriptors: new clients are served again.
    for (const raw of raws) raw.destroy();
    for (const ws of held.splice(1)) {
      ws.close(1000);
      await h.waitClose(ws);
    }
    const fresh = await h.connectWs(gw.url('/after'));
    fresh.send('hello again');
    assert.equal((await h.nextMessage(fresh)).data.toString(), 'hello again');
    fresh.close(1000);
    held[0].close(1000);
    await Promise.all([h.waitClose(fresh), h.waitClose(held[0])]);
    await gw.stop();
    backend.close();
  });
});
