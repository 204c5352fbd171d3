// A real browser through wsgate over wss://: headless Chromium (Debian's `chromium`, driven by
// `playwright-core`) opens `new WebSocket('wss://localhost:PORT/...')`, exchanges messages with
// the echo backend through wsgate, and sees the close code wsgate sends (1009) when it sends a
// message over the route's max_message_size.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startEcho, stopAll } from './lib/harness.mjs';
import { makePki, startTlsWsgate, wssUrl } from './lib/tls.mjs';
import { chromium, CHROMIUM, CHROMIUM_ARGS as BASE_ARGS } from './lib/chromium.mjs';

const CHROMIUM_ARGS = [...BASE_ARGS, '--ignore-certificate-errors'];
const MAX_MESSAGE = 4096;


describe('Chromium over wss://', () => {
  let gw;
  let browser;

  before(async () => {
    const pki = makePki();
    const cert = pki.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
    const echo = await startEcho();
    gw = await startTlsWsgate({
      listeners: [{ name: 'public', tls: { cert: cert.cert, key: cert.key } }],
      pools: [{ name: 'echo', backends: [echo.address] }],
      policies: {
        default: { max_frame_size: '64KiB', max_message_size: MAX_MESSAGE, ping_interval: '0s' },
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60000,
    });
  });

  after(async () => {
    await browser?.close();
    await stopAll();
  });

  test('echoes, then gets close 1009 for a message over max_message_size', async () => {
    const page = await browser.newPage();
    const result = await page.evaluate(async ({ url, big }) => {
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
      const out = { opened: await next() };
      ws.send('hello from chromium');
      out.echo = await next();
      ws.send('x'.repeat(big));
      let event = await next();
      while (event.type === 'error' || event.type === 'message') event = await next();
      out.close = event;
      return out;
    }, { url: wssUrl(gw, '/browser'), big: MAX_MESSAGE + 1 });
    await page.close();

    assert.equal(result.opened.type, 'open');
    assert.deepEqual(result.echo, { type: 'message', data: 'hello from chromium' });
    assert.equal(result.close.type, 'close');
    assert.equal(result.close.code, 1009);
    const line = await gw.waitForAccess((l) => l.path === '/browser');
    assert.equal(line.status, 101);
    assert.equal(line.client_close_code, 1009);
    assert.equal(line.termination, 'message_too_big');
  });
});
