// Frames a client sends right behind its upgrade request, before the 101 came back: they are
// kept while the backend is reached and relayed, in order, once the session opens.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './lib/harness.mjs';
import { encodeFrame, FrameReader, OP } from './lib/frames.mjs';

after(h.stopAll);

describe('early frames', () => {
  it('relays frames sent before the 101, in the same write and in later writes', async () => {
    const echo = await h.startEcho();
    const gw = await h.startWsgate({ pools: [{ name: 'p', backends: [echo.address] }] });
    const conn = await h.openRaw(gw.port());
    const frame = (text) => encodeFrame({ opcode: OP.TEXT, payload: text });
    // One write with the request and a frame, then two more frames at once, without waiting.
    await conn.write(Buffer.concat([Buffer.from(h.upgradeRequest({ path: '/echo' })), frame('one')]));
    await conn.write(frame('two'));
    await conn.write(frame('three'));
    // waitData hands over everything received so far: parse it afresh each time.
    let head = null;
    let texts = [];
    await conn.waitData((buf) => {
      head = h.parseHead(buf);
      if (!head) return false;
      texts = new FrameReader().push(buf.subarray(head.headLength)).map((f) => f.payload.toString());
      return head.status !== 101 || texts.length >= 3;
    }, 10000);
    assert.equal(head.status, 101);
    assert.deepEqual(texts, ['one', 'two', 'three']);
    conn.destroy();
    await gw.stop();
    await echo.stop();
  });
});
