// Observability: /metrics after known traffic reads exactly what happened, `promtool check
// metrics` accepts the scrape, a real Prometheus scrapes wsgate and evaluates every expression
// of deploy/grafana/wsgate.json and deploy/prometheus/wsgate.rules.yml, /connections and
// /readyz answer from live state; and the deploy/ files (Kubernetes YAML, Dockerfile, its
// healthcheck script, Prometheus config) say what the README says.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './lib/harness.mjs';
import { rawClient, OP } from './lib/frames.mjs';
import {
  freePort, httpGet, parseMetrics, run, startPrometheus, grafanaExprs, grafanaPanels, grafanaVariables,
  ruleExprs, stripThreshold, yamlDocs,
} from './lib/metrics.mjs';

const REPO = path.resolve(h.INTEGRATION_DIR, '..', '..');
const RULES = path.join(REPO, 'deploy/prometheus/wsgate.rules.yml');
const DASHBOARD = path.join(REPO, 'deploy/grafana/wsgate.json');
const README = readFileSync(path.join(REPO, 'README.md'), 'utf8');

after(() => h.stopAll());

describe('metrics and admin endpoints under known traffic', { timeout: 240000 }, () => {
  const N = 5; // connections on the main route
  const M = 4; // text messages each way per connection
  const K = 3; // connections on the backend that gets killed
  let gw;
  let echo;
  let fragile;
  let fragilePort;
  let prom;
  let main; // expected counts for the main route
  const scrape = async () => {
    const res = await httpGet(gw.adminUrl('/metrics'));
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    return { text: res.body, m: parseMetrics(res.body) };
  };
  // Resolves at the n-th access line of `route` (each log line is looked at once, as it comes).
  const waitAccessCount = (route, n, what) => {
    let seen = 0;
    return gw.waitForLog((l) => l.event === 'access' && l.route === route && ++seen === n,
      15000, 0).catch((e) => { throw new Error(`${what}: ${e.message}`); });
  };

  before(async () => {
    echo = await h.startEcho();
    fragile = await h.startEcho();
    fragilePort = fragile.port;
    gw = await h.startWsgate({
      server: { workers: 2 },
      pools: [
        { name: 'main', backends: [echo.address] },
        { name: 'fragile', backends: [fragile.address], connect_timeout: '2s' },
      ],
      routes: [
        { name: 'main', path_prefix: '/', pool: 'main' },
        { name: 'small', path_prefix: '/small', pool: 'main', policy: 'small' },
        { name: 'hb', path_prefix: '/hb', pool: 'main', policy: 'heartbeat' },
        { name: 'fragile', path_prefix: '/fragile', pool: 'fragile' },
      ],
      policies: {
        default: { ping_interval: '0s' },
        small: { ping_interval: '0s', max_message_size: '1KiB' },
        heartbeat: { ping_interval: '1s', pong_timeout: '1s' },
      },
    });
    // Prometheus scrapes from the start, so rates over the test's traffic have data.
    prom = await startPrometheus({ scrapeTargets: [gw.adminAddress], ruleFiles: [RULES] });
  });
  after(async () => {
    if (prom) await prom.stop();
  });

  it('exports every known series at zero before any traffic', async () => {
    const { m } = await scrape();
    assert.equal(m.get('wsgate_connections_accepted_total', { listener: 'public' }), 0);
    assert.equal(m.get('wsgate_connections_active', { listener: 'public' }), 0);
    for (const reason of ['bad_request', 'no_route', 'backend_error', 'backend_timeout', 'unavailable']) {
      assert.equal(m.get('wsgate_connections_rejected_total', { listener: 'public', reason }), 0);
    }
    for (const status of ['101', '400', '403', '404', '426', '429', '502', '503', '504']) {
      assert.equal(m.get('wsgate_handshakes_total', { listener: 'public', status }), 0);
    }
    for (const [route, pool] of [['main', 'main'], ['small', 'main'], ['hb', 'main'], ['fragile', 'fragile']]) {
      assert.equal(m.get('wsgate_sessions_active', { route, pool }), 0);
      assert.equal(m.get('wsgate_session_duration_seconds_count', { route }), 0);
    }
    for (const [pool, backend] of [['main', echo.address], ['fragile', fragile.address]]) {
      assert.equal(m.get('wsgate_backend_up', { pool, backend }), 1);
      assert.equal(m.get('wsgate_backend_connections_active', { pool, backend }), 0);
      assert.equal(m.get('wsgate_backend_connect_failures_total', { pool, backend }), 0);
      assert.equal(m.get('wsgate_backend_connect_duration_seconds_count', { pool }), 0);
    }
    for (const direction of ['client_to_backend', 'backend_to_client']) {
      for (const opcode of ['continuation', 'text', 'binary', 'close', 'ping', 'pong']) {
        assert.equal(m.get('wsgate_frames_total', { direction, opcode }), 0);
      }
      for (const opcode of ['text', 'binary']) assert.equal(m.get('wsgate_messages_total', { direction, opcode }), 0);
      assert.equal(m.get('wsgate_payload_bytes_total', { direction }), 0);
    }
    for (const kind of ['frame_too_big', 'message_too_big', 'utf8', 'protocol', 'binary_not_allowed',
      'rate_limited', 'lifetime']) {
      assert.equal(m.get('wsgate_policy_violations_total', { kind, offender: 'client' }), 0);
    }
    for (const code of ['1000', '1001', '1006', '1009', '1014', '4002']) {
      for (const closedBy of ['client', 'backend', 'proxy']) {
        assert.equal(m.get('wsgate_closes_total', { leg: 'client', closed_by: closedBy, code }), 0);
      }
    }
    assert.equal(m.get('wsgate_heartbeat_timeouts_total'), 0);
    assert.equal(m.get('wsgate_config_reloads_total', { result: 'failure' }), 0);
    const info = m.samples.find((s) => s.name === 'wsgate_build_info');
    assert.match(info.labels.version, /^\d+\.\d+\.\d+/);
    assert.equal(info.value, 1);
    assert.equal(m.get('wsgate_workers'), 2);
    assert.equal(m.get('wsgate_draining'), 0);
    assert.ok(m.get('wsgate_process_open_fds') > 0);
    assert.ok(m.get('wsgate_process_resident_memory_bytes') > 0);
    assert.ok(m.has('wsgate_worker_loop_lag_seconds', { worker: '1' }));
  });

  it(`counts ${N} connections and ${M} messages each way exactly; /connections lists them`, async () => {
    const sockets = [];
    let bytes = 0;
    for (let i = 0; i < N; ++i) sockets.push(await h.connectWs(gw.url(`/chat/${i}?token=secret`)));
    for (const ws of sockets) {
      for (let j = 0; j < M; ++j) {
        const text = `message ${j} `.repeat(j + 1);
        bytes += Buffer.byteLength(text);
        ws.send(text);
      }
    }
    for (const ws of sockets) await h.collectMessages(ws, M);

    const res = await httpGet(gw.adminUrl('/connections'));
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /application\/json/);
    const list = JSON.parse(res.body);
    assert.equal(list.workers, 2);
    assert.equal(list.workers_answered, 2);
    assert.equal(list.total, N);
    assert.equal(list.truncated, false);
    for (const c of list.connections) {
      assert.equal(c.route, 'main');
      assert.equal(c.pool, 'main');
      assert.equal(c.listener, 'public');
      assert.equal(c.state, 'open');
      assert.equal(c.client_leg, 'open');
      assert.equal(c.backend_leg, 'open');
      assert.equal(c.upstream_addr, echo.address);
      assert.match(c.path, /^\/chat\/\d$/); // the query (a token here) is never shown
      assert.match(c.client_addr, /^127\.0\.0\.1:\d+$/);
      assert.equal(c.messages_from_client, M);
      assert.equal(c.messages_to_client, M);
      assert.ok(c.bytes_from_client > 0 && c.bytes_to_client > 0 && c.bytes_from_backend > 0 &&
                c.bytes_to_backend > 0, JSON.stringify(c));
      assert.ok(c.age_s >= 0);
      assert.equal(c.last_ping_rtt_ms, null);
    }
    const ids = list.connections.map((c) => c.id);
    assert.deepEqual([...ids].sort((a, b) => a - b), ids);
    const limited = JSON.parse((await httpGet(gw.adminUrl('/connections?limit=2'))).body);
    assert.deepEqual(limited.connections.map((c) => c.id), ids.slice(0, 2));
    assert.equal(limited.total, N);
    assert.equal(limited.truncated, true);
    const other = JSON.parse((await httpGet(gw.adminUrl('/connections?route=fragile'))).body);
    assert.equal(other.total, 0);
    const same = JSON.parse((await httpGet(gw.adminUrl('/connections?route=main&limit=0'))).body);
    assert.equal(same.total, N);
    assert.equal((await httpGet(gw.adminUrl('/connections?limit=-1'))).status, 400);

    const open = (await scrape()).m;
    assert.equal(open.get('wsgate_connections_active', { listener: 'public' }), N);
    assert.equal(open.get('wsgate_sessions_active', { route: 'main', pool: 'main' }), N);
    assert.equal(open.get('wsgate_backend_connections_active', { pool: 'main', backend: echo.address }), N);

    for (const ws of sockets) ws.close(1000);
    for (const ws of sockets) await h.waitClose(ws);
    await waitAccessCount('main', N, `${N} access lines for route main`);

    const { m } = await scrape();
    main = { bytes };
    assert.equal(m.get('wsgate_connections_accepted_total', { listener: 'public' }), N);
    assert.equal(m.get('wsgate_connections_active', { listener: 'public' }), 0);
    assert.equal(m.get('wsgate_handshakes_total', { listener: 'public', status: '101' }), N);
    assert.equal(m.get('wsgate_handshake_duration_seconds_count'), N);
    assert.equal(m.get('wsgate_sessions_active', { route: 'main', pool: 'main' }), 0);
    assert.equal(m.get('wsgate_session_duration_seconds_count', { route: 'main' }), N);
    assert.equal(m.get('wsgate_backend_connections_active', { pool: 'main', backend: echo.address }), 0);
    assert.equal(m.get('wsgate_backend_connect_duration_seconds_count', { pool: 'main' }), N);
    for (const direction of ['client_to_backend', 'backend_to_client']) {
      assert.equal(m.get('wsgate_messages_total', { direction, opcode: 'text' }), N * M);
      assert.equal(m.get('wsgate_frames_total', { direction, opcode: 'text' }), N * M);
      assert.equal(m.get('wsgate_frames_total', { direction, opcode: 'close' }), N);
      assert.equal(m.get('wsgate_messages_total', { direction, opcode: 'binary' }), 0);
      // The messages' payload plus the close frames' (a 2-byte code each).
      assert.equal(m.get('wsgate_payload_bytes_total', { direction }), bytes + 2 * N);
    }
    assert.equal(m.get('wsgate_closes_total', { leg: 'client', closed_by: 'client', code: '1000' }), N);
    assert.equal(m.get('wsgate_closes_total', { leg: 'backend', closed_by: 'client', code: '1000' }), N);
    assert.equal(m.sum('wsgate_closes_total'), 2 * N);
  });

  it('counts a message over max_message_size: 1009 to the client, 1001 to the backend', async () => {
    const ws = await h.connectWs(gw.url('/small/x'));
    ws.send(Buffer.alloc(2048, 7));
    assert.equal((await h.waitClose(ws)).code, 1009);
    await waitAccessCount('small', 1, 'the access line of route small');
    const { m } = await scrape();
    assert.equal(m.get('wsgate_policy_violations_total', { kind: 'message_too_big', offender: 'client' }), 1);
    assert.equal(m.sum('wsgate_policy_violations_total'), 1);
    assert.equal(m.get('wsgate_closes_total', { leg: 'client', closed_by: 'proxy', code: '1009' }), 1);
    assert.equal(m.get('wsgate_closes_total', { leg: 'backend', closed_by: 'proxy', code: '1001' }), 1);
    assert.equal(m.get('wsgate_session_duration_seconds_count', { route: 'small' }), 1);
    // The text counts of the previous test are untouched by a binary message.
    assert.equal(m.get('wsgate_messages_total', { direction: 'client_to_backend', opcode: 'text' }), N * M);
  });

  it('counts heartbeats: pongs and their RTT, and a client that stops answering (1 s ping/pong)', async () => {
    // A client that answers (ws does). wsgate sends its next ping only once the pong to the
    // last one was read and counted, so a second ping means the first pong is in the counters.
    const ws = await h.connectWs(gw.url('/hb/alive'));
    await h.waitEvent(ws, 'ping', 5000, 'the first heartbeat ping');
    await h.waitEvent(ws, 'ping', 5000, 'the second heartbeat ping');
    const { m: answered } = await scrape();
    assert.ok(answered.get('wsgate_heartbeat_pongs_received_total') >= 1);
    assert.ok(answered.get('wsgate_heartbeat_rtt_seconds_count') >= 1);
    const live = JSON.parse((await httpGet(gw.adminUrl('/connections?route=hb'))).body);
    assert.equal(live.total, 1);
    assert.equal(typeof live.connections[0].last_ping_rtt_ms, 'number');
    ws.close(1000);
    await h.waitClose(ws);

    // A client that never answers: one ping, then wsgate cuts it (1006) and tells the backend 1001.
    const silent = await rawClient(gw.port(), { path: '/hb/silent' });
    const ping = await silent.nextFrame();
    assert.equal(ping?.opcode, OP.PING);
    assert.equal((await silent.nextClose()).code, 1006);
    await waitAccessCount('hb', 2, 'both access lines of route hb');

    const { m } = await scrape();
    const pongs = m.get('wsgate_heartbeat_pongs_received_total');
    assert.equal(m.get('wsgate_heartbeat_timeouts_total'), 1);
    assert.equal(m.get('wsgate_heartbeat_rtt_seconds_count'), pongs);
    // Every ping was answered except the silent client's one (and at most one in flight to the
    // answering client when it closed).
    const pings = m.get('wsgate_heartbeat_pings_sent_total');
    assert.ok(pings >= pongs + 1 && pings <= pongs + 2, `pings ${pings}, pongs ${pongs}`);
    assert.equal(m.get('wsgate_closes_total', { leg: 'client', closed_by: 'proxy', code: '1006' }), 1);
    assert.equal(m.get('wsgate_closes_total', { leg: 'backend', closed_by: 'proxy', code: '1001' }), 2);
    // Every pong read from a client answered wsgate (they are counted, then cut from the stream).
    assert.equal(m.get('wsgate_frames_total', { direction: 'client_to_backend', opcode: 'pong' }), pongs);
    assert.equal(m.get('wsgate_frames_total', { direction: 'backend_to_client', opcode: 'ping' }), 0);
  });

  it('counts a rejected handshake by status and reason', async () => {
    const res = await h.rawRequest(gw.port(), h.upgradeRequest({ omit: ['Sec-WebSocket-Key'] }));
    assert.equal(res.status, 400);
    await gw.waitForAccess((l) => l.status === 400);
    const { m } = await scrape();
    assert.equal(m.get('wsgate_handshakes_total', { listener: 'public', status: '400' }), 1);
    assert.equal(m.get('wsgate_connections_rejected_total', { listener: 'public', reason: 'bad_request' }), 1);
    assert.equal(m.sum('wsgate_connections_rejected_total'), 1);
  });

  it('counts reloads by result', async () => {
    const good = await gw.reload();
    assert.equal(good.event, 'config_reloaded');
    let { m } = await scrape();
    assert.equal(m.get('wsgate_config_reloads_total', { result: 'success' }), 1);
    assert.equal(m.get('wsgate_config_last_reload_successful'), 1);
    const before = m.get('wsgate_config_last_reload_success_timestamp_seconds');
    const bad = await gw.reload({ toml: '[server]\nworkers = "many"\n' });
    assert.equal(bad.event, 'config_reload_failed');
    ({ m } = await scrape());
    assert.equal(m.get('wsgate_config_reloads_total', { result: 'failure' }), 1);
    assert.equal(m.get('wsgate_config_last_reload_successful'), 0);
    assert.equal(m.get('wsgate_config_last_reload_success_timestamp_seconds'), before);
  });

  it(`a backend killed under ${K} sessions: 1014 to its clients, connect failures, backend down, /readyz 503`, async () => {
    assert.equal((await httpGet(gw.adminUrl('/readyz'))).status, 200);
    const sockets = [];
    for (let i = 0; i < K; ++i) sockets.push(await h.connectWs(gw.url(`/fragile/${i}`)));
    fragile.proc.kill('SIGKILL');
    for (const ws of sockets) assert.equal((await h.waitClose(ws)).code, 1014);
    // The pool's only backend is gone: every new handshake is a 502, and after three failed
    // connects in a row the backend is down.
    for (let i = 0; i < 3; ++i) assert.equal((await h.expectRejected(gw.url('/fragile/new'))).status, 502);
    await waitAccessCount('fragile', K + 3, 'the access lines of route fragile');

    const { m } = await scrape();
    const backend = `127.0.0.1:${fragilePort}`;
    assert.equal(m.get('wsgate_closes_total', { leg: 'client', closed_by: 'proxy', code: '1014' }), K);
    assert.equal(m.get('wsgate_closes_total', { leg: 'backend', closed_by: 'backend', code: '1006' }), K);
    assert.equal(m.get('wsgate_backend_connect_failures_total', { pool: 'fragile', backend }), 3);
    assert.equal(m.get('wsgate_backend_connect_failures_total', { pool: 'main', backend: echo.address }), 0);
    assert.equal(m.get('wsgate_handshakes_total', { listener: 'public', status: '502' }), 3);
    assert.equal(m.get('wsgate_connections_rejected_total', { listener: 'public', reason: 'backend_error' }), 3);
    assert.equal(m.get('wsgate_backend_connections_active', { pool: 'fragile', backend }), 0);
    assert.equal(m.get('wsgate_sessions_active', { route: 'fragile', pool: 'fragile' }), 0);
    assert.equal(m.get('wsgate_backend_up', { pool: 'fragile', backend }), 0);
    assert.equal(m.get('wsgate_backend_up', { pool: 'main', backend: echo.address }), 1);
    const ready = await httpGet(gw.adminUrl('/readyz'));
    assert.equal(ready.status, 503);
    assert.match(ready.body, /no backend up in pool 'fragile'/);
    assert.ok(gw.logs.some((l) => l.event === 'backend_down' && l.pool === 'fragile'));
    // Totals over the whole test: every connection accepted is accounted for.
    assert.equal(m.get('wsgate_connections_accepted_total', { listener: 'public' }), N + 1 + 2 + 1 + K + 3);
    assert.equal(m.get('wsgate_connections_active', { listener: 'public' }), 0);
  });

  it('promtool check metrics accepts a scrape after the traffic', async () => {
    const { text } = await scrape();
    const r = await run('promtool', ['check', 'metrics'], { input: text });
    assert.equal(r.code, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
    assert.equal((r.stdout + r.stderr).trim(), '', 'no lint warnings');
  });

  it('a real Prometheus evaluates every dashboard and alert expression, and the alerts fire', async () => {
    await prom.waitFor('up{job="wsgate"} == 1', (r) => r.length === 1, 30000, 'the first scrape');
    // Wait until Prometheus has scraped the end state (the killed backend down) a few times.
    await prom.waitFor('wsgate_backend_up{pool="fragile"} == 0', (r) => r.length === 1, 30000,
      'the backend-down state scraped');
    await prom.waitFor('count_over_time(wsgate_draining[1m]) >= 5', (r) => r.length === 1, 30000, 'five scrapes');

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const substitute = (expr) => expr
      .replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s')
      .replaceAll('$__range', '5m')
      .replace(/\$\{?(listener|route|pool)\}?/g, '.*');
    const exprs = grafanaExprs(dashboard);
    assert.ok(exprs.length >= 30, `${exprs.length} expressions`);
    const empty = [];
    for (const { panel, expr } of exprs) {
      const result = await prom.query(substitute(expr));
      if (result.length === 0) empty.push(`${panel}: ${expr}`);
    }
    assert.deepEqual(empty, [], 'dashboard expressions without data');
    for (const variable of grafanaVariables(dashboard)) {
      if (variable.type !== 'query') continue;
      const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(variable.query.query ?? variable.query);
      assert.ok(m, `variable ${variable.name}: ${JSON.stringify(variable.query)}`);
      const values = await prom.api(`/api/v1/label/${m[2]}/values`, { 'match[]': m[1] });
      assert.ok(values.length > 0, `variable ${variable.name} has no values`);
    }

    const rules = await ruleExprs(RULES);
    for (const rule of rules) {
      await prom.query(rule.expr); // valid PromQL (rejects otherwise)
      const signal = stripThreshold(rule.expr);
      assert.notEqual(signal, rule.expr.trim(), `${rule.alert}: no threshold to strip`);
      assert.ok((await prom.query(signal)).length > 0, `${rule.alert}: ${signal} has no data`);
    }
    // What this test broke fires (or is pending, for the rules with a `for`).
    for (const alert of ['WsgateBackendDown', 'WsgatePoolWithoutBackend', 'WsgateConfigReloadFailed']) {
      const rule = rules.find((r) => r.alert === alert);
      assert.ok((await prom.query(rule.expr)).length > 0, `${alert} does not hold`);
    }
    const loaded = await prom.waitFor('ALERTS{alertname="WsgateConfigReloadFailed", alertstate="firing"}',
      (r) => r.length === 1, 15000, 'WsgateConfigReloadFailed firing');
    assert.equal(loaded.length, 1);
    const groups = (await prom.api('/api/v1/rules')).groups;
    const evaluated = groups.flatMap((g) => g.rules);
    assert.equal(evaluated.length, rules.length);
    for (const r of evaluated) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
    const state = Object.fromEntries(evaluated.map((r) => [r.name, r.state]));
    assert.notEqual(state.WsgateBackendDown, 'inactive');
    assert.notEqual(state.WsgatePoolWithoutBackend, 'inactive');

    const check = await run('promtool', ['check', 'rules', RULES]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });

  it('the backend comes back: the recovery probe marks it up and /readyz answers 200', async () => {
    const mark = gw.mark();
    fragile = await h.startEcho({ args: ['--port', String(fragilePort)] });
    await gw.waitForLog((l) => l.event === 'backend_up', 10000, mark);
    assert.equal((await httpGet(gw.adminUrl('/readyz'))).status, 200);
    const { m } = await scrape();
    assert.equal(m.get('wsgate_backend_up', { pool: 'fragile', backend: `127.0.0.1:${fragilePort}` }), 1);
    assert.ok(gw.logs.some((l) => l.event === 'backend_up' && l.pool === 'fragile'));
    const ws = await h.connectWs(gw.url('/fragile/again'));
    ws.close(1000);
    await h.waitClose(ws);
  });

  it('the README lists every metric wsgate exports', async () => {
    const { text } = await scrape();
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    assert.ok(families.length >= 30);
    assert.deepEqual(families.filter((n) => !README.includes(n)), []);
  });

  it('draining: /readyz 503 and wsgate_draining 1 until the last close handshake ends', async () => {
    // A client that never answers the close keeps the drain going (for the close timeout).
    const client = await rawClient(gw.port(), { path: '/chat/drain' });
    const from = gw.mark();
    gw.signal('SIGTERM');
    await gw.waitForLog((l) => l.event === 'draining', 10000, from);
    const close = await client.nextClose();
    assert.equal(close.code, 1001);
    const ready = await httpGet(gw.adminUrl('/readyz'));
    assert.equal(ready.status, 503);
    assert.equal(ready.body, 'draining\n');
    assert.equal((await scrape()).m.get('wsgate_draining'), 1);
    // Each leg's close progress: the client owes its reply to wsgate's 1001; the backend's
    // leg is at or past its own close.
    const during = JSON.parse((await httpGet(gw.adminUrl('/connections'))).body);
    const draining = during.connections.find((c) => c.path === '/chat/drain');
    assert.ok(draining, JSON.stringify(during));
    assert.equal(draining.state, 'closing');
    assert.equal(draining.client_leg, 'close_sent');
    assert.ok(['close_sent', 'close_exchanged', 'finished', 'closed'].includes(draining.backend_leg),
              draining.backend_leg);
    client.finish(1001);
    assert.equal((await gw.waitExit()).code, 0);
  });
});

describe('deploy files', () => {
  const configOf = (doc) => doc.data['wsgate.toml'];
  const checkToml = async (toml, what) => {
    const file = path.join(tmpdir(), `wsgate-check-${process.pid}-${Date.now()}.toml`);
    writeFileSync(file, toml);
    try {
      const r = await run(h.WSGATE_BIN, ['-t', '-c', file]);
      assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
    } finally {
      rmSync(file, { force: true });
    }
  };
  const seconds = (toml, key) => {
    const m = new RegExp(`^${key}\\s*=\\s*"(\\d+)s"`, 'm').exec(toml);
    assert.ok(m, `${key} in ${toml}`);
    return Number(m[1]);
  };
  const portOf = (toml, section) => {
    const m = new RegExp(`\\[${section}\\][^[]*?listen\\s*=\\s*"[^"]*:(\\d+)"`, 's').exec(toml);
    assert.ok(m, `${section} listen in ${toml}`);
    return Number(m[1]);
  };
  const probe = (container, kind) => container[kind]?.httpGet;
  const portNumber = (container, nameOrNumber) => (typeof nameOrNumber === 'number' ? nameOrNumber
    : container.ports.find((p) => p.name === nameOrNumber)?.containerPort);
  const IMAGE = 'wsgate:0.1.0';

  const checkWsgateContainer = (container, toml, what) => {
    assert.equal(container.image, IMAGE, `${what}: image`);
    const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
    assert.equal(ports.ws, portOf(toml, '\\[listeners\\]'), `${what}: ws port = the listener's`);
    assert.equal(ports.admin, portOf(toml, 'admin'), `${what}: admin port = [admin] listen`);
    assert.equal(probe(container, 'readinessProbe')?.path, '/readyz', `${what}: readiness`);
    assert.equal(portNumber(container, probe(container, 'readinessProbe').port), ports.admin);
    assert.equal(probe(container, 'livenessProbe')?.path, '/livez', `${what}: liveness`);
    assert.equal(portNumber(container, probe(container, 'livenessProbe').port), ports.admin);
    assert.deepEqual(container.args, ['-c', '/etc/wsgate/wsgate.toml']);
    const mount = container.volumeMounts.find((v) => v.mountPath === '/etc/wsgate');
    assert.ok(mount, `${what}: the config is mounted at /etc/wsgate`);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    // Sane probes: a single slow or failed answer does not take the pod out (or restart it).
    for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const p = container[kind];
      assert.ok(p, `${what}: ${kind}`);
      assert.ok(p.failureThreshold >= 3, `${what}: ${kind}.failureThreshold ${p.failureThreshold} >= 3`);
      assert.ok(p.timeoutSeconds >= 1 && p.timeoutSeconds <= p.periodSeconds,
        `${what}: ${kind}.timeoutSeconds ${p.timeoutSeconds} set, within the period`);
    }
  };
  // The replicas of a Deployment: spread over nodes and zones, with a PodDisruptionBudget that
  // selects them; config changes roll out through the checksum of the ConfigMap's file.
  const checkAvailability = (byKind, what) => {
    const deployment = byKind.Deployment;
    const pod = deployment.spec.template;
    const selects = (selector) => Object.entries(selector.matchLabels)
      .every(([k, v]) => pod.metadata.labels[k] === v);
    const pdb = byKind.PodDisruptionBudget;
    assert.ok(pdb, `${what}: a PodDisruptionBudget`);
    assert.equal(pdb.apiVersion, 'policy/v1');
    assert.ok(selects(pdb.spec.selector), `${what}: the PodDisruptionBudget selects the pods`);
    assert.deepEqual(pdb.spec.selector, deployment.spec.selector, `${what}: same selector`);
    const allowed = pdb.spec.maxUnavailable ?? (deployment.spec.replicas - pdb.spec.minAvailable);
    assert.ok(allowed >= 1 && allowed < deployment.spec.replicas, `${what}: one pod at a time`);
    const spread = pod.spec.topologySpreadConstraints;
    assert.ok(Array.isArray(spread) && spread.length >= 1, `${what}: topologySpreadConstraints`);
    assert.deepEqual(spread.map((c) => c.topologyKey).sort(),
      ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of spread) {
      assert.equal(c.maxSkew, 1);
      assert.ok(selects(c.labelSelector), `${what}: ${c.topologyKey} spreads the pods`);
    }
    assert.ok(deployment.spec.replicas >= 2, `${what}: replicas to spread`);
    const sum = createHash('sha256').update(configOf(byKind.ConfigMap)).digest('hex');
    assert.equal(pod.metadata.annotations?.['checksum/config'], sum,
      `${what}: checksum/config is the sha256 of wsgate.toml (run deploy/k8s/update-checksum.sh)`);
  };

  it('deploy/k8s/wsgate.yaml: ConfigMap, Deployment and Service agree with each other and the README', async () => {
    const docs = await yamlDocs(path.join(REPO, 'deploy/k8s/wsgate.yaml'));
    const byKind = Object.fromEntries(docs.map((d) => [d.kind, d]));
    assert.deepEqual(Object.keys(byKind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service']);
    const toml = configOf(byKind.ConfigMap);
    await checkToml(toml, 'the ConfigMap wsgate.toml');
    const pod = byKind.Deployment.spec.template;
    const container = pod.spec.containers.find((c) => c.name === 'wsgate');
    checkWsgateContainer(container, toml, 'wsgate.yaml');
    const preStop = Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
    assert.ok(pod.spec.terminationGracePeriodSeconds > seconds(toml, 'drain_timeout') + preStop,
      'terminationGracePeriodSeconds covers preStop + drain_timeout');
    assert.ok(pod.spec.securityContext.runAsNonRoot);
    assert.deepEqual(byKind.Deployment.spec.selector.matchLabels,
      { 'app.kubernetes.io/name': 'wsgate' });
    assert.equal(byKind.Service.spec.ports[0].targetPort, 'ws');
    for (const [k, v] of Object.entries(byKind.Service.spec.selector)) assert.equal(pod.metadata.labels[k], v);
    assert.equal(pod.spec.volumes[0].configMap.name, byKind.ConfigMap.metadata.name);
    assert.ok(README.includes(IMAGE), 'the README names the image');
    checkAvailability(byKind, 'wsgate.yaml');
  });

  it('deploy/k8s/sidecar.yaml: a native sidecar with readiness on /readyz', async () => {
    const docs = await yamlDocs(path.join(REPO, 'deploy/k8s/sidecar.yaml'));
    const byKind = Object.fromEntries(docs.map((d) => [d.kind, d]));
    const toml = configOf(byKind.ConfigMap);
    await checkToml(toml, 'the sidecar ConfigMap wsgate.toml');
    const pod = byKind.Deployment.spec.template;
    const sidecar = pod.spec.initContainers.find((c) => c.name === 'wsgate');
    assert.ok(sidecar, 'wsgate runs as an init container');
    assert.equal(sidecar.restartPolicy, 'Always', 'a native sidecar');
    checkWsgateContainer(sidecar, toml, 'sidecar.yaml');
    assert.ok(pod.spec.terminationGracePeriodSeconds > seconds(toml, 'drain_timeout'));
    assert.equal(pod.spec.containers.length, 1, 'the application');
    assert.match(toml, /backends = \["127\.0\.0\.1:\d+"\]/, 'the backend is the app in the same pod');
    assert.equal(byKind.Service.spec.ports[0].targetPort, 'ws');
    checkAvailability(byKind, 'sidecar.yaml');
    // wsgate's security settings are its container's: the pod's would bind the application too.
    for (const key of ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'supplementalGroups']) {
      assert.equal(pod.spec.securityContext?.[key], undefined, `no pod-level ${key}`);
    }
    assert.equal(pod.spec.containers[0].securityContext, undefined, 'the application keeps its own');
    assert.deepEqual(sidecar.securityContext, {
      runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('deploy/k8s/update-checksum.sh computes the checksum the manifests carry', async () => {
    for (const file of ['wsgate.yaml', 'sidecar.yaml']) {
      const copy = path.join(tmpdir(), `wsgate-k8s-${process.pid}-${file}`);
      const original = readFileSync(path.join(REPO, 'deploy/k8s', file), 'utf8');
      // A changed configuration gets a new checksum, the one the YAML parser's text gives.
      writeFileSync(copy, original.replace(/checksum\/config: "[0-9a-f]+"/, 'checksum/config: "stale"')
        .replace('[log]\n', '[log]\n    level = "warn"\n'));
      try {
        const r = await run(path.join(REPO, 'deploy/k8s/update-checksum.sh'), [copy]);
        assert.equal(r.code, 0, r.stderr);
        const docs = await yamlDocs(copy);
        const toml = configOf(docs.find((d) => d.kind === 'ConfigMap'));
        assert.match(toml, /level = "warn"/);
        const annotations = docs.find((d) => d.kind === 'Deployment').spec.template.metadata.annotations;
        assert.equal(annotations['checksum/config'], createHash('sha256').update(toml).digest('hex'));
      } finally {
        rmSync(copy, { force: true });
      }
    }
  });

  it('deploy/k8s/podmonitor.yaml scrapes the admin port of both pod kinds', async () => {
    const [monitor] = await yamlDocs(path.join(REPO, 'deploy/k8s/podmonitor.yaml'));
    assert.equal(monitor.kind, 'PodMonitor');
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    const endpoint = monitor.spec.podMetricsEndpoints[0];
    assert.equal(endpoint.port, 'admin');
    assert.equal(endpoint.path, '/metrics');
    for (const file of ['wsgate.yaml', 'sidecar.yaml']) {
      const docs = await yamlDocs(path.join(REPO, 'deploy/k8s', file));
      const labels = docs.find((d) => d.kind === 'Deployment').spec.template.metadata.labels;
      for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) {
        assert.equal(labels[k], v, `${file} pods carry ${k}=${v}`);
      }
    }
  });

  it('deploy/docker/Dockerfile: multi-stage on Debian 12, non-root, SIGTERM, admin port, HEALTHCHECK from the config, a demo that works, built by make', async () => {
    const text = readFileSync(path.join(REPO, 'deploy/docker/Dockerfile'), 'utf8');
    // Instructions with their continuation lines joined, comments dropped.
    const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const froms = lines.filter((l) => /^FROM /i.test(l));
    assert.equal(froms.length, 2, 'two stages');
    assert.match(froms[0], /^FROM debian:bookworm AS \w+$/i);
    assert.match(froms[1], /^FROM debian:bookworm-slim$/i);
    const last = lines.slice(lines.indexOf(froms[1]));
    const user = last.find((l) => /^USER /i.test(l));
    assert.ok(user && !/^USER (root|0)(:|$)/i.test(user.slice(5)), `non-root: ${user}`);
    assert.ok(last.includes('STOPSIGNAL SIGTERM'));
    const toml = readFileSync(path.join(REPO, 'deploy/docker/wsgate.toml'), 'utf8');
    await checkToml(toml, 'deploy/docker/wsgate.toml');
    const exposed = last.filter((l) => /^EXPOSE /i.test(l)).flatMap((l) => l.split(/\s+/).slice(1)).map(Number);
    assert.ok(exposed.includes(portOf(toml, 'admin')), `EXPOSE the admin port: ${exposed}`);
    assert.ok(exposed.includes(portOf(toml, '\\[listeners\\]')), `EXPOSE the listener: ${exposed}`);
    // The HEALTHCHECK reads the admin address from the configuration: no port in it.
    const health = last.find((l) => /^HEALTHCHECK /i.test(l));
    assert.match(health, /CMD \["\/usr\/local\/bin\/wsgate-healthcheck"\]$/);
    assert.doesNotMatch(health, /:\d+|\b9901\b|\/livez/, 'no hard-coded admin address');
    const copies = Object.fromEntries(last.filter((l) => /^COPY /i.test(l)).map((l) => {
      const words = l.split(/\s+/);
      return [words[words.length - 1], words.slice(1, -1).filter((w) => !w.startsWith('--'))];
    }));
    assert.deepEqual(copies['/usr/local/bin/wsgate-healthcheck'], ['deploy/docker/healthcheck.sh']);
    assert.deepEqual(copies['/usr/local/bin/wsgate-entrypoint'], ['deploy/docker/entrypoint.sh']);
    assert.deepEqual(copies['/usr/local/bin/'], ['/build/wsgate', '/build/tests/echo/wsgate-echo']);
    // The default configuration is the demo: wsgate in front of the echo backend that the
    // entrypoint starts when that file (compared with its copy) is the one in use.
    assert.deepEqual(copies['/etc/wsgate/wsgate.toml'], ['deploy/docker/wsgate.toml']);
    assert.deepEqual(copies['/usr/share/wsgate/demo.toml'], ['deploy/docker/wsgate.toml']);
    const entrypoint = readFileSync(path.join(REPO, 'deploy/docker/entrypoint.sh'), 'utf8');
    assert.match(entrypoint, /^DEMO=\/usr\/share\/wsgate\/demo\.toml$/m);
    const echoPort = /wsgate-echo --host 127\.0\.0\.1 --port (\d+)/.exec(entrypoint)?.[1];
    assert.match(toml, new RegExp(`^backends = \\["127\\.0\\.0\\.1:${echoPort}"\\]$`, 'm'),
      'the demo config routes to the echo backend the entrypoint starts');
    assert.match(entrypoint, /^exec \/usr\/local\/bin\/wsgate "\$@"$/m, 'wsgate is PID 1');
    assert.equal(last.find((l) => /^ENTRYPOINT /i.test(l)), 'ENTRYPOINT ["/usr/local/bin/wsgate-entrypoint"]');
    assert.equal(last.find((l) => /^CMD /i.test(l)), 'CMD ["-c", "/etc/wsgate/wsgate.toml"]');
    for (const script of ['entrypoint.sh', 'healthcheck.sh']) {
      const r = await run('sh', ['-n', path.join(REPO, 'deploy/docker', script)]);
      assert.equal(r.code, 0, `${script}: ${r.stderr}`);
    }
    // The build runs the same script and make target as `make build` on a developer machine.
    const runs = lines.slice(0, lines.indexOf(froms[1])).filter((l) => /^RUN /i.test(l)).join('\n');
    assert.match(runs, /deploy\/deps\.sh build/);
    assert.match(runs, /\bmake build\b/);
    // The runtime stage installs the Debian package of every shared library the binary needs.
    const ldd = await run('ldd', [h.WSGATE_BIN]);
    const install = last.filter((l) => /apt-get install/.test(l)).join(' ');
    const base = new Set(['libc6', 'libgcc-s1', 'libstdc++6']); // in debian:bookworm-slim
    for (const lib of [...ldd.stdout.matchAll(/=> (\/\S+)/g)].map((m) => m[1])) {
      const owner = await run('dpkg', ['-S', lib]);
      const real = owner.code === 0 ? owner : await run('dpkg', ['-S', lib.replace(/^\/lib\//, '/usr/lib/')]);
      if (real.code !== 0) continue; // not from a package (a sanitizer runtime, a local build)
      const pkg = real.stdout.split(':')[0];
      if (base.has(pkg)) continue;
      assert.match(install, new RegExp(`\\b${pkg.replace(/[.+]/g, '\\$&')}\\b`),
        `the runtime stage installs ${pkg} (for ${lib})`);
    }
  });

  it('deploy/docker/healthcheck.sh: the admin address from the configuration, /livez answered or not', async () => {
    const script = path.join(REPO, 'deploy/docker/healthcheck.sh');
    const urlOf = async (file) => {
      const r = await run(script, ['--url', file]);
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
      return r.stdout.trim();
    };
    // The files the image and the manifests run with.
    assert.equal(await urlOf(path.join(REPO, 'deploy/docker/wsgate.toml')), 'http://127.0.0.1:9901/livez');
    for (const file of ['wsgate.yaml', 'sidecar.yaml']) {
      const docs = await yamlDocs(path.join(REPO, 'deploy/k8s', file));
      const toml = configOf(docs.find((d) => d.kind === 'ConfigMap'));
      const tmp = path.join(tmpdir(), `wsgate-hc-${process.pid}.toml`);
      writeFileSync(tmp, toml);
      try {
        assert.equal(await urlOf(tmp), `http://127.0.0.1:${portOf(toml, 'admin')}/livez`, file);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    // TOML spellings of the same key, comments and look-alikes around it.
    const cases = [
      ['[admin]\nlisten = "127.0.0.1:7001"\n', 'http://127.0.0.1:7001/livez'],
      ['[server]\nworkers = 1\n\n  [ admin ]   # the admin table\n# listen = "127.0.0.9:1"\nrequest_timeout = "5s"\nlisten=\'10.0.0.1:7002\'  # here\n', 'http://10.0.0.1:7002/livez'],
      ['admin.listen = "0.0.0.0:7003"\n[[listeners]]\nlisten = "0.0.0.0:80"\n', 'http://127.0.0.1:7003/livez'],
      ['admin = { max_connections = 8, listen = "[::]:7004" }\n', 'http://[::1]:7004/livez'],
      ['[[listeners]]\nname = "a"\nlisten = "127.0.0.1:80"\n[listeners.tls]\ncert = "c"\n[admin]\nlisten = "[::1]:7005"\n', 'http://[::1]:7005/livez'],
      ['[server]\nworkers = 1\n', 'http://127.0.0.1:9901/livez'], // wsgate's default
    ];
    for (const [text, url] of cases) {
      const tmp = path.join(tmpdir(), `wsgate-hc-${process.pid}.toml`);
      writeFileSync(tmp, text);
      try {
        assert.equal(await urlOf(tmp), url, text);
      } finally {
        rmSync(tmp, { force: true });
      }
    }

    // Against a running wsgate on a fixed admin port: 0 while it runs, 1 once it is gone. The
    // configuration is found through the process's command line, as in the container.
    const echo = await h.startEcho();
    const port = await freePort();
    const gw = await h.startWsgate({ admin: { listen: `127.0.0.1:${port}` }, pools: [{ name: 'p', backends: [echo.address] }] });
    const byPid = ['-u', 'WSGATE_CONFIG', `WSGATE_PID=${gw.pid}`, script];
    const up = await run('env', byPid);
    assert.equal(up.code, 0, `found by its command line: ${up.stderr}`);
    assert.equal((await run('env', [...byPid, '--url'])).stdout.trim(), `http://127.0.0.1:${port}/livez`);
    assert.equal((await run(script, [gw.configPath])).code, 0);
    gw.signal('SIGKILL');
    await gw.waitExit();
    const down = await run(script, [gw.configPath]);
    assert.notEqual(down.code, 0, 'nothing answers on the admin port');
    await gw.stop();
    await echo.stop();
  });

  it('deploy/prometheus: promtool accepts the scrape config and the rules', async () => {
    const config = await run('promtool', ['check', 'config', path.join(REPO, 'deploy/prometheus/prometheus.yml')]);
    assert.equal(config.code, 0, config.stdout + config.stderr);
    const rules = await run('promtool', ['check', 'rules', RULES]);
    assert.equal(rules.code, 0, rules.stdout + rules.stderr);
  });

  it('deploy/grafana/wsgate.json: a ${datasource} variable, listener/route/pool variables, the rows in order', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const vars = grafanaVariables(dashboard);
    assert.equal(vars.find((v) => v.name === 'datasource')?.type, 'datasource');
    for (const name of ['listener', 'route', 'pool']) assert.ok(vars.find((v) => v.name === name), name);
    const rows = grafanaPanels(dashboard).filter((p) => p.type === 'row').map((p) => p.title);
    assert.deepEqual(rows, ['Overview', 'Handshakes', 'Messages', 'Closes', 'Heartbeats', 'Backends', 'Saturation']);
    for (const panel of grafanaPanels(dashboard).filter((p) => p.type !== 'row')) {
      assert.equal(panel.datasource?.uid, '${datasource}', `${panel.title} uses the variable`);
      for (const t of panel.targets) assert.equal(t.datasource?.uid, '${datasource}');
    }
  });
});
