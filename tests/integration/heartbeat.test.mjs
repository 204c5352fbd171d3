// Heartbeats and session timers (DESIGN.md "The life of a connection", step 8): wsgate pings a
// silent client every ping_interval with a "wsgate-hb:" payload and absorbs the pong; a client
// that does not answer within pong_timeout is cut and its backend told why; idle_timeout and
// max_session_lifetime close both sides with their codes; the application's own pings and pongs
// pass untouched. Intervals are 1 s; every wait is for an event (a frame, a close, a log line).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { connectWs, nextMessage, startWsgate, stopAll, waitClose } from './lib/harness.mjs';
import { OP, deadline, rawClient, wsBackend } from './lib/frames.mjs';

const BASE = {
  max_frame_size: '1MiB',
  max_message_size: '4MiB',
  utf8: 'strict',
  allow_binary: true,
  ping_interval: '0s',
  pong_timeout: '10s',
  idle_timeout: '0s',
  max_session_lifetime: '0s',
};

const HB_PREFIX = 'wsgate-hb:';

function isHeartbeat(frame) {
  return frame.opcode === OP.PING && frame.payload.toString('latin1').startsWith(HB_PREFIX);
}

// Resolves after `n` 'ping' events on a ws client (counting from now).
function pings(ws, n, ms) {
  const seen = [];
  return deadline(new Promise((resolve, reject) => {
    const onPing = (data) => {
      seen.push(Buffer.from(data).toString('latin1'));
      if (seen.length === n) {
        cleanup();
        resolve(seen);
      }
    };
    const onClose = (code, reason) => {
      cleanup();
      reject(new Error(`closed (${code} ${reason}) after ${seen.length} of ${n} pings`));
    };
    const cleanup = () => {
      ws.off('ping', onPing);
      ws.off('close', onClose);
    };
    ws.on('ping', onPing);
    ws.on('close', onClose);
  }), ms, `${n} pings from wsgate`);
}

describe('heartbeat', () => {
  let wsb;
  let gw;

  before(async () => {
    wsb = await wsBackend({ echo: true });
    gw = await startWsgate({
      pools: [{ name: 'ws', backends: [wsb.address] }],
      routes: [
        { pool: 'ws', path_prefix: '/hb', policy: 'hb' },
        { pool: 'ws', path_prefix: '/idle', policy: 'idle' },
        { pool: 'ws', path_prefix: '/life', policy: 'life' },
      ],
      policies: {
        default: BASE,
        hb: { ...BASE, ping_interval: '1s', pong_timeout: '2s' },
        idle: { ...BASE, idle_timeout: '1s' },
        life: { ...BASE, max_session_lifetime: '1s' },
      },
    });
  });

  after(async () => {
    await wsb?.close();
    await stopAll();
  });

  function accessFor(path, from) {
    return gw.waitForAccess((l) => l.path === path, 15000, from);
  }

  test('a silent raw client gets "wsgate-hb:" pings; its pongs are absorbed, never reach the backend', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path: '/hb/raw' });
    const conn = await wsb.nextConnection('/hb/raw');

    const first = await client.nextFrame();
    assert.ok(first && isHeartbeat(first), `expected a heartbeat ping, got ${first && first.opcode}`);
    assert.equal(first.masked, false);
    assert.equal(first.fin, true);
    assert.match(first.payload.toString(), /^wsgate-hb:\S+$/);
    await client.pong(first.payload);

    // The pong was taken as the answer: the next ping comes an interval later, with a new payload.
    const second = await client.nextFrame();
    assert.ok(second && isHeartbeat(second), `expected a second heartbeat ping, got ${second && second.opcode}`);
    assert.notEqual(second.payload.toString(), first.payload.toString());
    await client.pong(second.payload);

    // Frames keep their order through wsgate: had a pong been forwarded, the backend would have
    // seen it before this message.
    await client.sendText('after the pongs');
    await conn.waitFor('message', 1);
    assert.deepEqual(conn.events.map((e) => e.type), ['message'], `ws backend saw: ${conn.summary()}`);

    await client.close(1000, 'done');
    const reply = await client.nextMatching((f) => f.opcode === OP.CLOSE, 'the close reply');
    assert.deepEqual([reply.payload.readUInt16BE(0), reply.payload.subarray(2).toString()], [1000, 'done']);
    client.end();
    await client.waitEnd();
    const closed = await conn.waitClose();
    assert.deepEqual([closed.code, closed.reason], [1000, 'done']);
    assert.deepEqual(conn.ofType('pong'), [], `ws backend saw: ${conn.summary()}`);
    const log = await accessFor('/hb/raw', from);
    assert.equal(typeof log.ping_rtt_ms, 'number');
    assert.ok(log.ping_rtt_ms >= 0);
    assert.equal(log.termination, 'normal');
    assert.equal(log.messages_from_client, 1);
  });

  test('a ws client (automatic pongs) stays connected across 3 intervals; ping_rtt_ms is logged', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const ws = await connectWs(gw.url('/hb/node'));
    const conn = await wsb.nextConnection('/hb/node');
    const seen = await pings(ws, 3, 20000);
    assert.ok(seen.every((p) => p.startsWith(HB_PREFIX)), `pings: ${seen}`);
    assert.equal(new Set(seen).size, 3, 'every ping has its own payload');
    assert.equal(ws.readyState, ws.OPEN);
    ws.send('still here');
    const echo = await nextMessage(ws);
    assert.equal(echo.data.toString(), 'still here');
    ws.close(1000, 'bye');
    assert.deepEqual(await waitClose(ws), { code: 1000, reason: 'bye' });
    assert.deepEqual(conn.ofType('pong'), [], `ws backend saw: ${conn.summary()}`);
    assert.deepEqual(conn.ofType('ping'), [], `ws backend saw: ${conn.summary()}`);
    const log = await accessFor('/hb/node', from);
    assert.equal(typeof log.ping_rtt_ms, 'number');
    assert.ok(log.ping_rtt_ms >= 0);
    assert.equal(log.termination, 'normal');
    assert.equal(log.client_close_code, 1000);
    assert.equal(log.client_close_reason, 'bye');
  });

  test('a client that never answers is cut; the backend gets 1001 "client heartbeat timeout"', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const client = await rawClient(gw.port(), { path: '/hb/silent' });
    const conn = await wsb.nextConnection('/hb/silent');
    const ping = await client.nextFrame();
    assert.ok(ping && isHeartbeat(ping), 'a heartbeat ping first');
    // No pong. wsgate closes the TCP connection: no close frame follows the ping.
    const close = await client.nextClose();
    assert.equal(close.code, 1006);
    assert.deepEqual(close.skipped.map((f) => f.opcode).filter((op) => op !== OP.PING), []);
    await client.waitEnd();
    const closed = await conn.waitClose();
    const log = await accessFor('/hb/silent', from);
    assert.equal(log.termination, 'heartbeat_timeout');
    assert.equal(log.client_close_code, 1006);
    assert.equal(log.client_closed_by, 'proxy');
    assert.equal(log.backend_close_code, 1001);
    assert.equal(log.backend_close_reason, 'client heartbeat timeout');
    assert.equal(log.ping_rtt_ms, null);
    assert.deepEqual([closed.code, closed.reason], [1001, 'client heartbeat timeout'],
      `ws backend saw: ${conn.summary()}`);
  });

  test('idle_timeout: no data either way closes both sides with 1001 "idle timeout"', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const ws = await connectWs(gw.url('/idle/x'));
    const conn = await wsb.nextConnection('/idle/x');
    ws.send('one message, then silence');
    assert.equal((await nextMessage(ws)).data.toString(), 'one message, then silence');
    assert.deepEqual(await waitClose(ws), { code: 1001, reason: 'idle timeout' });
    const closed = await conn.waitClose();
    const log = await accessFor('/idle/x', from);
    assert.equal(log.termination, 'idle_timeout');
    assert.equal(log.client_close_code, 1001);
    assert.equal(log.client_close_reason, 'idle timeout');
    assert.equal(log.client_closed_by, 'proxy');
    assert.equal(log.backend_close_code, 1001);
    assert.equal(log.backend_close_reason, 'idle timeout');
    assert.equal(log.backend_closed_by, 'proxy');
    assert.deepEqual([closed.code, closed.reason], [1001, 'idle timeout'], `ws backend saw: ${conn.summary()}`);
  });

  test('max_session_lifetime: client 4003 "maximum session lifetime reached", backend 1001', { timeout: 30000 }, async () => {
    const from = gw.mark();
    const ws = await connectWs(gw.url('/life/x'));
    const conn = await wsb.nextConnection('/life/x');
    assert.deepEqual(await waitClose(ws), { code: 4003, reason: 'maximum session lifetime reached' });
    const closed = await conn.waitClose();
    const log = await accessFor('/life/x', from);
    assert.equal(log.termination, 'lifetime');
    assert.equal(log.client_close_code, 4003);
    assert.equal(log.client_close_reason, 'maximum session lifetime reached');
    assert.equal(log.backend_close_code, 1001);
    assert.equal(log.backend_close_reason, 'client session lifetime reached');
    assert.deepEqual([closed.code, closed.reason], [1001, 'client session lifetime reached'],
      `ws backend saw: ${conn.summary()}`);
  });

  test('with heartbeats on, the application\'s pings and pongs pass both ways untouched', { timeout: 30000 }, async () => {
    const client = await rawClient(gw.port(), { path: '/hb/app' });
    const conn = await wsb.nextConnection('/hb/app');
    // Answer wsgate's heartbeats whenever they come; look only at the other frames.
    const others = [];
    const next = async (what) => {
      for (let i = 0; i < 100; ++i) {
        const f = await client.nextFrame();
        if (!f) throw new Error(`connection ended waiting for ${what}`);
        if (isHeartbeat(f)) {
          await client.pong(f.payload);
          continue;
        }
        others.push(f);
        return f;
      }
      throw new Error(`only heartbeats while waiting for ${what}`);
    };

    conn.ws.ping('app-ping-1');
    const ping = await next('the backend ping');
    assert.deepEqual([ping.opcode, ping.payload.toString()], [OP.PING, 'app-ping-1']);
    await client.pong('app-ping-1');
    const [pong] = await conn.waitFor('pong', 1);
    assert.equal(pong.data.toString(), 'app-ping-1');

    // A pong whose payload only looks like wsgate's own is not taken for one unless it has the tag.
    await client.pong('wsgate-hb');
    const pongs = await conn.waitFor('pong', 2);
    assert.equal(pongs[1].data.toString(), 'wsgate-hb');

    await client.ping('client-ping-1');
    const answer = await next('the backend pong');
    assert.deepEqual([answer.opcode, answer.payload.toString()], [OP.PONG, 'client-ping-1']);
    assert.deepEqual(conn.ofType('ping').map((e) => e.data.toString()), ['client-ping-1']);

    await client.close(1000);
    const reply = await next('the close reply');
    assert.equal(reply.opcode, OP.CLOSE);
    client.end();
    await client.waitEnd();
  });
});
