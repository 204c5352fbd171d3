// The admin listener's status page (/) and its data (/stats.json) after known traffic: 4
// sessions (one closed by its client with 4001, so 3 stay open), 2 text messages each way per
// session, 3 handshakes to a pool whose only backend refuses (502, and the backend goes down)
// and one without a route (404). /stats.json must say exactly that, and headless Chromium
// (Debian's `chromium`, driven by `playwright-core` like browser.test.mjs) must render those
// numbers and the backends' states, then follow a change within its 1 s refresh.
//
// WSGATE_STATUS_SCREENSHOT=FILE.png saves a screenshot of the page (outside the repository).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as h from './lib/harness.mjs';
import { httpGet } from './lib/metrics.mjs';
import { chromium, CHROMIUM, CHROMIUM_ARGS } from './lib/chromium.mjs';



const SESSIONS = 4; // opened on route chat; one is closed with CLOSE_CODE
const MESSAGES = 2; // text messages each way per session
const CLOSE_CODE = 4001;
const REFUSED = 3; // handshakes to the pool whose backend refuses: 502 each, then it is down

describe('status page and /stats.json', { timeout: 120000 }, () => {
  let gw;
  let echo;
  let deadAddress;
  let open = []; // the sessions left open
  let browser;

  const stats = async () => {
    const res = await httpGet(gw.adminUrl('/stats.json'));
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/json/);
    return JSON.parse(res.body);
  };

  before(async () => {
    echo = await h.startEcho();
    deadAddress = `127.0.0.1:${await h.closedPort()}`;
    gw = await h.startWsgate({
      server: { workers: 2 },
      pools: [
        { name: 'main', backends: [echo.address] },
        { name: 'dead', backends: [deadAddress], connect_timeout: '2s' },
      ],
      routes: [
        { name: 'chat', path_prefix: '/chat', pool: 'main' },
        { name: 'gone', path_prefix: '/gone', pool: 'dead' },
      ],
      policies: { default: { ping_interval: '0s' } },
    });

    const sockets = [];
    for (let i = 0; i < SESSIONS; ++i) sockets.push(await h.connectWs(gw.url(`/chat/${i}`)));
    for (const ws of sockets) {
      for (let j = 0; j < MESSAGES; ++j) ws.send(`message ${j}`);
    }
    for (const ws of sockets) await h.collectMessages(ws, MESSAGES);
    const closing = sockets.pop();
    closing.close(CLOSE_CODE, 'bye');
    assert.equal((await h.waitClose(closing)).code, CLOSE_CODE);
    open = sockets;
    for (let i = 0; i < REFUSED; ++i) {
      assert.equal((await h.expectRejected(gw.url(`/gone/${i}`))).status, 502);
    }
    assert.equal((await h.expectRejected(gw.url('/nowhere'))).status, 404);
    // Every connection that ended has its access line, so its counters are final.
    let ended = 0;
    await gw.waitForLog((l) => l.event === 'access' && ++ended === 1 + REFUSED + 1);
  });

  after(async () => {
    await browser?.close();
    for (const ws of open) ws.terminate();
    await h.stopAll();
  });

  test('/stats.json has the exact numbers of the traffic', async () => {
    const s = await stats();
    assert.match(s.version, /^\d+\.\d+\.\d+/);
    assert.equal(s.workers, 2);
    assert.ok(s.uptime_s >= 0 && s.uptime_s < 120, `uptime_s ${s.uptime_s}`);
    assert.deepEqual(s.health, {
      ready: false, status: 503, message: "no backend up in pool 'dead'", draining: false,
    });
    assert.equal(s.connections_active, SESSIONS - 1);
    assert.equal(s.sessions_active, SESSIONS - 1);
    assert.deepEqual(s.listeners, [{
      name: 'public', address: gw.addresses.public, tls: false,
      connections_active: SESSIONS - 1, connections_accepted_total: SESSIONS + REFUSED + 1,
    }]);
    assert.deepEqual(s.routes, [
      { name: 'chat', listener: 'public', host: '*', path_prefix: '/chat', pool: 'main',
        policy: 'default', sessions_active: SESSIONS - 1 },
      { name: 'gone', listener: 'public', host: '*', path_prefix: '/gone', pool: 'dead',
        policy: 'default', sessions_active: 0 },
    ]);
    assert.deepEqual(s.pools, [
      { name: 'main', balance: 'round_robin', backends_up: 1, backends: [
        { address: echo.address, up: true, sessions_active: SESSIONS - 1, connect_failures_total: 0 }] },
      { name: 'dead', balance: 'round_robin', backends_up: 0, backends: [
        { address: deadAddress, up: false, sessions_active: 0, connect_failures_total: REFUSED }] },
    ]);
    const handshakes = { 101: SESSIONS, 404: 1, 502: REFUSED };
    const closes = { client: { [CLOSE_CODE]: 1 }, backend: { [CLOSE_CODE]: 1 } };
    const messages = { client_to_backend: SESSIONS * MESSAGES, backend_to_client: SESSIONS * MESSAGES };
    assert.deepEqual(s.totals, { handshakes, closes, messages });
    // Everything happened within the last minute.
    const last = s.last_minute;
    assert.ok(last.window_s >= 0 && last.window_s <= 60, `window_s ${last.window_s}`);
    assert.deepEqual(last.handshakes, handshakes);
    assert.deepEqual(last.closes, closes);
    assert.deepEqual(last.messages, messages);
    for (const d of ['client_to_backend', 'backend_to_client']) {
      const series = last.messages_per_second[d];
      assert.ok(Array.isArray(series) && series.length <= 60, JSON.stringify(series));
      // The per-second samples cover whole seconds only: at most what happened.
      assert.ok(series.reduce((a, b) => a + b, 0) <= messages[d]);
      assert.equal(typeof last.messages_per_s[d], 'number');
    }
    assert.deepEqual(Object.keys(s), ['version', 'uptime_s', 'workers', 'health',
      'connections_active', 'sessions_active', 'listeners', 'routes', 'pools', 'last_minute',
      'totals']);
  });

  test('/ is one self-contained HTML page', async () => {
    const res = await httpGet(gw.adminUrl('/'));
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.match(res.body, /<script>/);
    assert.match(res.body, /<style>/);
    assert.doesNotMatch(res.body, /<(script|link|img|iframe)[^>]+(src|href)=/i, 'no external assets');
    assert.doesNotMatch(res.body, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no absolute URLs');
    for (const link of ['/stats.json', '/metrics', '/connections', '/livez', '/readyz']) {
      assert.ok(res.body.includes(`href="${link}"`), link);
    }
  });

  test('Chromium renders the numbers and the backend states, and follows a change', async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60000,
    });
    const page = await browser.newPage();
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(gw.adminUrl('/'));
    await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, null,
      { timeout: 15000 });

    // The page's tables as {row key: {field: text}}.
    const read = () => page.evaluate(() => {
      const out = {};
      for (const row of document.querySelectorAll('tr')) {
        const attr = [...row.attributes].find((a) => a.name.startsWith('data-'));
        if (!attr) continue;
        const cells = {};
        for (const cell of row.querySelectorAll('[data-field]')) cells[cell.dataset.field] = cell.textContent;
        out[`${attr.name.slice(5)} ${attr.value}`] = cells;
      }
      for (const id of ['health', 'health-message', 'connections', 'sessions', 'workers', 'error']) {
        out[id] = document.getElementById(id).textContent;
      }
      out.pools = [...document.querySelectorAll('[data-pool]')].map((p) =>
        `${p.dataset.pool}: ${p.querySelector('[data-field=summary]').textContent}`);
      out.state_classes = [...document.querySelectorAll('[data-field=state]')].map((c) => c.className.trim());
      return out;
    });
    const dom = await read();
    assert.equal(dom.error, '');
    assert.equal(dom.health, 'not ready');
    assert.equal(dom['health-message'], "/readyz 503: no backend up in pool 'dead'");
    assert.equal(dom.connections, String(SESSIONS - 1));
    assert.equal(dom.sessions, String(SESSIONS - 1));
    assert.equal(dom.workers, '2');
    assert.deepEqual(dom['listener public'], {
      name: 'public', address: gw.addresses.public, tls: 'no',
      connections_active: String(SESSIONS - 1), connections_accepted_total: String(SESSIONS + REFUSED + 1),
    });
    assert.equal(dom['route chat'].sessions_active, String(SESSIONS - 1));
    assert.equal(dom['route gone'].sessions_active, '0');
    assert.deepEqual(dom.pools, ['main: round_robin, 1 of 1 backends up',
      'dead: round_robin, 0 of 1 backends up']);
    assert.deepEqual(dom[`backend main ${echo.address}`], {
      address: echo.address, state: 'UP', sessions_active: String(SESSIONS - 1), connect_failures_total: '0',
    });
    assert.deepEqual(dom[`backend dead ${deadAddress}`], {
      address: deadAddress, state: 'DOWN', sessions_active: '0', connect_failures_total: String(REFUSED),
    });
    assert.deepEqual(dom.state_classes, ['up', 'down']);
    assert.deepEqual(dom['status 101'], { status: '101', reason: 'Switching Protocols',
      last_minute: String(SESSIONS), total: String(SESSIONS) });
    assert.deepEqual(dom['status 404'], { status: '404', reason: 'Not Found', last_minute: '1', total: '1' });
    assert.deepEqual(dom['status 502'], { status: '502', reason: 'Bad Gateway',
      last_minute: String(REFUSED), total: String(REFUSED) });
    assert.equal(Object.keys(dom).filter((k) => k.startsWith('status ')).length, 3);
    for (const leg of ['client', 'backend']) {
      assert.deepEqual(dom[`close ${leg} ${CLOSE_CODE}`], { leg, code: String(CLOSE_CODE),
        meaning: 'auth', last_minute: '1', total: '1' });
    }
    assert.equal(Object.keys(dom).filter((k) => k.startsWith('close ')).length, 2);
    for (const d of ['client_to_backend', 'backend_to_client']) {
      assert.equal(dom[`direction ${d}`].last_minute, String(SESSIONS * MESSAGES));
      assert.equal(dom[`direction ${d}`].total, String(SESSIONS * MESSAGES));
    }

    // A change shows at the next refresh: one more session closes with 1000.
    const ws = open.pop();
    const mark = gw.mark();
    ws.close(1000);
    await h.waitClose(ws);
    await gw.waitForAccess(() => true, 15000, mark);
    await page.waitForFunction((n) => document.getElementById('sessions').textContent === n,
      String(SESSIONS - 2), { timeout: 10000 });
    const later = await read();
    assert.equal(later[`backend main ${echo.address}`].sessions_active, String(SESSIONS - 2));
    assert.deepEqual(later['close client 1000'], { leg: 'client', code: '1000', meaning: 'normal',
      last_minute: '1', total: '1' });

    if (process.env.WSGATE_STATUS_SCREENSHOT) {
      await page.screenshot({ path: process.env.WSGATE_STATUS_SCREENSHOT, fullPage: true });
    }
    await page.close();
    assert.deepEqual(errors, [], 'no script errors');
    const origin = new URL(gw.adminUrl('/')).origin;
    assert.deepEqual(requests.filter((u) => !u.startsWith(`${origin}/`)), [], 'only the admin origin');
    assert.ok(requests.filter((u) => u.endsWith('/stats.json')).length >= 2, 'refreshed');
  });
});
