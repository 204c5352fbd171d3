// Helpers for the observability tests: scrape and parse the Prometheus text format, run a
// command, start a real Prometheus server, query it.
//
//   httpGet(url, timeoutMs) -> {status, headers, body}
//   parseMetrics(text) -> Metrics   every sample of a text-format scrape
//     Metrics.get(name, labels={}) -> number   the sample with exactly these labels (throws when
//                                              absent, so a missing series fails loudly)
//     Metrics.has(name, labels)    Metrics.sum(name, labels={})  (every sample whose labels
//                                  include `labels`)   Metrics.families  Set of sample names
//   run(cmd, args, {input, timeoutMs, cwd}) -> {code, stdout, stderr}
//   freePort() -> a loopback port that was free a moment ago
//   startPrometheus({scrapeTargets, ruleFiles, job}) -> Promise<Prometheus>
//     .url  .query(expr) -> result[] (rejects on an API error)  .api(path, params) -> data
//     .waitFor(expr, pred(result), timeoutMs, what)   .stop()
//   grafanaExprs(dashboard) -> [{panel, expr}]   every target expression of every panel
//   grafanaVariables(dashboard) -> the templating list
//   ruleExprs(rulesYamlPath) -> [{alert, expr}]   via Debian's /usr/bin/python3 + python3-yaml
//   stripThreshold(expr) -> expr without its final `OP number` comparison

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { withTimeout } from './harness.mjs';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export function httpGet(url, timeoutMs = 10000) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  }), timeoutMs, `GET ${url}`);
}

// ---------------------------------------------------------------- text format

function parseLabels(text) {
  const labels = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    const name = text.slice(i, eq).trim();
    if (text[eq + 1] !== '"') throw new Error(`bad label value in {${text}}`);
    let j = eq + 2;
    let value = '';
    while (text[j] !== '"') {
      if (text[j] === '\\') {
        const c = text[j + 1];
        value += c === 'n' ? '\n' : c;
        j += 2;
      } else {
        value += text[j];
        j += 1;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i += 1;
  }
  return labels;
}

const keyOf = (name, labels) =>
  name + JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));

export function parseMetrics(text) {
  const samples = [];
  const byKey = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    let name;
    let labels = {};
    if (brace >= 0 && brace < space) {
      name = line.slice(0, brace);
      labels = parseLabels(line.slice(brace + 1, line.lastIndexOf('}')));
    } else {
      name = line.slice(0, space);
    }
    const raw = line.slice(space + 1);
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name, labels, value });
    byKey.set(keyOf(name, labels), value);
  }
  const matches = (s, name, labels) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    samples,
    families: new Set(samples.map((s) => s.name)),
    has(name, labels = {}) {
      return byKey.has(keyOf(name, labels));
    },
    get(name, labels = {}) {
      const key = keyOf(name, labels);
      if (!byKey.has(key)) {
        const near = samples.filter((s) => s.name === name).slice(0, 8)
          .map((s) => JSON.stringify(s.labels)).join('\n  ');
        throw new Error(`no sample ${name}${JSON.stringify(labels)}; some of ${name}:\n  ${near}`);
      }
      return byKey.get(key);
    },
    sum(name, labels = {}) {
      return samples.filter((s) => matches(s, name, labels)).reduce((a, s) => a + s.value, 0);
    },
  };
}

// ---------------------------------------------------------------- processes

export async function run(cmd, args, { input, timeoutMs = 60000, cwd } = {}) {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    stdout += d;
  });
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  const spawnError = new Promise((_, reject) => proc.on('error', reject));
  proc.stdin.on('error', () => {});
  proc.stdin.end(input ?? '');
  const [code] = await withTimeout(Promise.race([once(proc, 'close'), spawnError]), timeoutMs,
    `${cmd} ${args.join(' ')}`).catch((e) => {
    proc.kill('SIGKILL');
    throw e;
  });
  return { code, stdout, stderr };
}

export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------- Prometheus

async function promApi(url, apiPath, params = {}) {
  const qs = new URLSearchParams(params).toString();
  const res = await httpGet(`${url}${apiPath}${qs ? `?${qs}` : ''}`, 15000);
  let body;
  try {
    body = JSON.parse(res.body);
  } catch {
    throw new Error(`Prometheus ${apiPath}: HTTP ${res.status}: ${res.body.slice(0, 400)}`);
  }
  if (body.status !== 'success') {
    throw new Error(`Prometheus ${apiPath} ${JSON.stringify(params)}: ${body.errorType}: ` +
                    `${body.error}`);
  }
  return body.data;
}

export async function startPrometheus({ scrapeTargets, ruleFiles = [], job = 'wsgate' }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'wsgate-prom-'));
  const configPath = path.join(dir, 'prometheus.yml');
  const yaml = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`),
    'scrape_configs:',
    `  - job_name: ${job}`,
    '    static_configs:',
    `      - targets: [${scrapeTargets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(configPath, yaml);
  let lastError = null;
  // The port is picked free and handed over: retry if something took it in between.
  for (let attempt = 0; attempt < 3; ++attempt) {
    const port = await freePort();
    const proc = spawn('prometheus', [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    const url = `http://127.0.0.1:${port}`;
    const prom = {
      proc,
      url,
      dir,
      api: (p, params) => promApi(url, p, params),
      async query(expr) {
        const data = await promApi(url, '/api/v1/query', { query: expr });
        return data.result;
      },
      async waitFor(expr, pred, timeoutMs = 30000, what = expr) {
        const deadline = Date.now() + timeoutMs;
        let last;
        while (Date.now() < deadline) {
          last = await prom.query(expr).catch((e) => e.message);
          if (Array.isArray(last) && pred(last)) return last;
          await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error(`timed out after ${timeoutMs} ms: ${what}; last: ${JSON.stringify(last)}` +
                        `\n--- prometheus stderr:\n${stderr.slice(-4000)}`);
      },
      stderr: () => stderr,
      async stop() {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
        await withTimeout(exited, 15000, 'prometheus to exit').catch(() => {
          proc.kill('SIGKILL');
          return exited;
        });
        rmSync(dir, { recursive: true, force: true });
      },
    };
    process.on('exit', () => proc.kill('SIGKILL'));
    // Ready: the HTTP API answers (bounded); an early exit means the port was taken or the
    // configuration (rules included) did not load.
    const deadline = Date.now() + 30000;
    let ready = false;
    let gone = null;
    exited.then((e) => {
      gone = e;
    });
    while (!ready && !gone && Date.now() < deadline) {
      ready = await httpGet(`${url}/-/ready`, 2000).then((r) => r.status === 200, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 200));
    }
    if (ready) return prom;
    lastError = new Error(`prometheus did not start (${JSON.stringify(gone)}): ${stderr.slice(-4000)}`);
    await prom.stop().catch(() => {});
    if (!/address already in use/.test(stderr)) break;
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

// ---------------------------------------------------------------- deploy files

export function grafanaPanels(dashboard) {
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      out.push(p);
      if (p.panels) walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

export function grafanaExprs(dashboard) {
  const out = [];
  for (const panel of grafanaPanels(dashboard)) {
    for (const t of panel.targets ?? []) {
      if (t.expr) out.push({ panel: panel.title, expr: t.expr });
    }
  }
  return out;
}

export function grafanaVariables(dashboard) {
  return dashboard.templating?.list ?? [];
}

export async function ruleExprs(rulesPath) {
  const script = [
    'import json, sys, yaml',
    'doc = yaml.safe_load(open(sys.argv[1]))',
    'out = [{"group": g["name"], "alert": r.get("alert") or r.get("record"), "expr": r["expr"],',
    '        "for": r.get("for"), "labels": r.get("labels", {}), "annotations": r.get("annotations", {})}',
    '       for g in doc["groups"] for r in g["rules"]]',
    'print(json.dumps(out))',
  ].join('\n');
  const r = await run(SYSTEM_PYTHON, ['-c', script, rulesPath]);
  if (r.code !== 0) throw new Error(`reading ${rulesPath}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// YAML documents of a file, as JSON (Debian's python3-yaml).
export async function yamlDocs(file) {
  const script = [
    'import json, sys, yaml',
    'print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))',
  ].join('\n');
  const r = await run(SYSTEM_PYTHON, ['-c', script, file]);
  if (r.code !== 0) throw new Error(`parsing ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function stripThreshold(expr) {
  return expr.trim().replace(/\s*(==|!=|>=|<=|>|<)\s*[-+]?[0-9.]+(e[-+]?[0-9]+)?\s*$/i, '');
}
