// A browser's WebSocket API cannot set headers: headless Chromium (driven by playwright-core,
// as in browser.test.mjs) passes its token as the subprotocol entry "bearer.<token>" next to
// the application's "chat". wsgate verifies it, forwards only "chat" to the backend, and the
// page sees "chat" selected. Without a token the page's upgrade fails (401).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { startWsBackend, startWsgate, stopAll } from './lib/harness.mjs';
import { makeToken, nowS, opensslKey, writeJwks } from './lib/jwt.mjs';
import { chromium, CHROMIUM, CHROMIUM_ARGS } from './lib/chromium.mjs';



describe('Chromium with a token in the subprotocol list', () => {
  let gw;
  let backend;
  let browser;
  let key;

  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wsgate-auth-browser-'));
    key = opensslKey(dir, 'es', 'p256');
    writeJwks(path.join(dir, 'jwks.json'), [[key, 'k1']]);
    backend = await startWsBackend({ echo: true });
    gw = await startWsgate({
      pools: [{ name: 'ws', backends: [backend.address] }],
      policies: { default: { ping_interval: '0s', auth: 'browser' } },
      auth: {
        browser: {
          type: 'jwt',
          token_from: ['subprotocol'],
          algorithms: ['ES256'],
          keys: path.join(dir, 'jwks.json'),
          forward_claims: { sub: 'X-User-Id' },
        },
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

  async function openInPage(url, protocols) {
    const page = await browser.newPage();
    try {
      return await page.evaluate(({ u, p }) => new Promise((resolve) => {
        const ws = new WebSocket(u, p);
        ws.onopen = () => {
          ws.onmessage = (e) => {
            resolve({ opened: true, protocol: ws.protocol, echo: e.data });
            ws.close(1000);
          };
          ws.send('hello');
        };
        ws.onclose = (e) => resolve({ opened: false, code: e.code });
      }), { u: url, p: protocols });
    } finally {
      await page.close();
    }
  }

  test('the page sees the application subprotocol selected', async () => {
    const token = makeToken({ alg: 'ES256', key, kid: 'k1', claims: { sub: 'page-user', exp: nowS() + 600 } });
    const n = backend.connections.length;
    const result = await openInPage(gw.url('/app'), [`bearer.${token}`, 'chat']);
    assert.deepEqual(result, { opened: true, protocol: 'chat', echo: 'hello' });
    const [conn] = (await backend.waitConnections(n + 1)).slice(n);
    assert.equal(conn.req.headers['sec-websocket-protocol'], 'chat');
    assert.equal(conn.req.headers['x-user-id'], 'page-user');
    const line = await gw.waitForAccess((l) => l.path === '/app' && l.status === 101);
    assert.equal(line.status, 101);
  });

  test('without a token the upgrade is refused with 401', async () => {
    const result = await openInPage(gw.url('/denied'), ['chat']);
    assert.deepEqual(result, { opened: false, code: 1006 });
    const line = await gw.waitForAccess((l) => l.path === '/denied');
    assert.equal(line.status, 401);
    assert.equal(line.error, 'authentication failed: token missing');
  });
});
