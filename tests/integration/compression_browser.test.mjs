// A real browser keeps its compression through wsgate: headless Chromium (Debian's `chromium`,
// driven by `playwright-core`) offers permessage-deflate, the Node `ws` backend accepts it, the
// browser's WebSocket reports the extension the 101 carried, compressed messages echo intact,
// and wsgate counted (and inflated) them both ways. Then a message whose inflated size is over
// max_message_size closes the browser with 1009, although it is small on the wire.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startWsBackend, startWsgate, stopAll } from './lib/harness.mjs';
import { httpGet, parseMetrics } from './lib/metrics.mjs';
import { chromium, CHROMIUM, CHROMIUM_ARGS } from './lib/chromium.mjs';

const MAX_MESSAGE = 64 * 1024;
const COUNT = 20;


describe('Chromium with permessage-deflate through wsgate', () => {
  let gw;
  let backend;
  let browser;

  before(async () => {
    backend = await startWsBackend({ perMessageDeflate: { threshold: 0 } });
    gw = await startWsgate({
      pools: [{ name: 'b', backends: [backend.address] }],
      policies: { default: { max_message_size: MAX_MESSAGE, ping_interval: '0s' } },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60000,
    });
  });

  after(async () => {
    await browser?.close();
    await stopAll();
  });

  test('negotiates permessage-deflate, echoes compressed messages, 1009 on an inflated bomb', async () => {
    const page = await browser.newPage();
    const result = await page.evaluate(async ({ url, count, big }) => {
      const ws = new WebSocket(url);
      const queue = [];
      let waiter = null;
      const push = (event) => {
        if (waiter) {
          const resolve = waiter;
          waiter = null;
          resolve(event);
        } else {
          queue.push(event);
        }
      };
      const next = () => (queue.length ? Promise.resolve(queue.shift())
        : new Promise((resolve) => { waiter = resolve; }));
      ws.onopen = () => push({ type: 'open' });
      ws.onmessage = (e) => push({ type: 'message', data: e.data });
      ws.onerror = () => push({ type: 'error' });
      ws.onclose = (e) => push({ type: 'close', code: e.code, reason: e.reason });
      const out = { opened: await next(), extensions: ws.extensions, echoes: [] };
      const message = (i) => JSON.stringify({ seq: i, text: 'compressible text '.repeat(40) });
      for (let i = 0; i < count; i++) ws.send(message(i));
      for (let i = 0; i < count; i++) {
        const e = await next();
        out.echoes.push(e.type === 'message' && e.data === message(i));
      }
      // Small on the wire (zeros deflate about 1000x), over the limit once inflated.
      ws.send('0'.repeat(big));
      let event = await next();
      while (event.type === 'error' || event.type === 'message') event = await next();
      out.close = event;
      return out;
    }, { url: gw.url('/browser-deflate'), count: COUNT, big: MAX_MESSAGE + 1 });
    await page.close();

    assert.equal(result.opened.type, 'open');
    assert.match(result.extensions, /^permessage-deflate/);
    assert.match(backend.connections[0].req.headers['sec-websocket-extensions'],
                 /^permessage-deflate/);
    assert.deepEqual(result.echoes, Array(COUNT).fill(true));
    assert.equal(result.close.code, 1009);
    const line = await gw.waitForAccess((l) => l.path === '/browser-deflate');
    assert.equal(line.compression, true);
    assert.equal(line.termination, 'message_too_big');
    const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
    assert.equal(m.get('wsgate_compressed_messages_total', { direction: 'backend_to_client' }),
                 COUNT);
    assert.equal(m.get('wsgate_compressed_messages_total', { direction: 'client_to_backend' }),
                 COUNT + 1);
    const wire = m.get('wsgate_compressed_payload_bytes_total', { direction: 'client_to_backend' });
    assert.ok(wire < MAX_MESSAGE / 4, `the big message was ${wire} bytes on the wire, all told`);
  });
});
