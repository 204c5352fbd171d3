// Integration test harness: starts the real wsgate binary (and real peers) on loopback
// port 0 and waits for events, never for time.
//
// Environment
//   WSGATE_BIN       path of the wsgate binary (required)
//   WSGATE_ECHO_BIN  path of the wsgate-echo backend (only for startEcho())
//   WSGATE_PYTHON    Python with `websockets` (default /usr/bin/python3)
//
// API (stable; other test files import it)
//
//   startWsgate(opts) -> Promise<Wsgate>      waits for the "ready" log line
//     opts.pools      [{name, backends: ["127.0.0.1:P"], connect_timeout?, handshake_timeout?,
//                       balance?, ...}]  (required unless opts.toml)
//     opts.routes     [{listener?="public", host?="*", path_prefix?="/", pool, policy?}]
//                     default: one catch-all route to pools[0]
//     opts.policies   {NAME: {key: value}}  e.g. {default: {allow_binary: false}}
//     opts.server     merged over {workers: 1, drain_timeout: "10s", io: $WSGATE_TEST_IO if set}
//     opts.log        merged over {level: "info", format: "json", access_log: "stderr"}
//     opts.listeners  [{name, listen?="127.0.0.1:0"}]  default [{name: "public"}]
//     opts.toml       raw TOML text used verbatim instead of the above
//     opts.args       extra command-line arguments
//     opts.wrapper    a command prefix that execs wsgate, e.g. ['taskset', '-c', '0'] (the
//                     pid is wsgate's only if the wrapper execs it)
//     opts.readyTimeoutMs (default 20000)
//   Wsgate
//     .proc .pid .dir .configPath
//     .addresses      {listenerName: "127.0.0.1:PORT"}; .port(name="public") -> number
//     .adminAddress   "127.0.0.1:PORT"; .adminPort
//     .url(path="/", listener="public") -> "ws://127.0.0.1:PORT/path"
//     .httpUrl(path="/", listener="public") -> "http://127.0.0.1:PORT/path"
//     .adminUrl(path) -> "http://127.0.0.1:ADMINPORT/path"
//     .logs           every JSON line of stderr so far, parsed (non-JSON lines in .otherLines)
//     .stderrText()   the whole stderr so far
//     .mark()         current length of .logs (pass as `from` to only see later lines)
//     .waitForLog(pred, timeoutMs=15000, from=0) -> Promise<line>   first line (index >= from)
//                     matching pred; rejects on timeout or when the process exits first
//     .waitForAccess(pred=()=>true, timeoutMs=15000, from=0)   same, event === "access" only
//     .accessLogs()   all access lines so far
//     .writeConfig(opts)  rewrite the config file (same opts as startWsgate; toml allowed)
//     .reload(opts?)  writeConfig(opts) if given, SIGHUP, await "config_reloaded" or
//                     "config_reload_failed" after the mark -> the line
//     .signal(name)   process.kill(pid, name)
//     .waitExit(timeoutMs=15000) -> Promise<{code, signal}>
//     .exited         null while running, else {code, signal} (set once stderr is drained,
//                     so .logs is complete then)
//     .stop()         SIGKILL if still running, await exit, remove the temp dir
//   tomlFor(opts) -> string   the generated TOML
//
//   startEcho({args?}) -> Promise<{proc, host, port, address, url(path), stop()}>
//                     runs WSGATE_ECHO_BIN --host 127.0.0.1 --port 0, waits for "listening"
//   startWsBackend(opts) -> Promise<Backend>   an in-process `ws` WebSocketServer on
//                     127.0.0.1:0. opts.echo (default true) echoes every message with its
//                     type; opts.onConnection(ws, req); other opts go to WebSocketServer
//                     (e.g. handleProtocols). perMessageDeflate is off.
//     Backend: .server .port .address .connections [ws] (each ws has .req, .inbox,
//              .errors [message] (e.g. an unmasked frame from wsgate) and
//              .closed: Promise<{code, reason}>), .waitConnections(n, timeoutMs)
//              .close() terminates every connection and closes the server
//   startTcpBackend(onSocket) -> Promise<{server, port, address, sockets, close()}>
//                     a raw TCP server (for backends that misbehave at the TCP level)
//   closedPort() -> Promise<number>   a loopback port nothing listens on
//
//   connectWs(url, opts) -> Promise<WebSocket>   resolves on "open"; rejects with an Error
//                     whose .status/.headers/.body are set on an HTTP answer that is not 101
//   expectRejected(url, opts) -> Promise<{status, headers, body}>   the non-101 answer
//   waitOpen(ws) / waitClose(ws, timeoutMs) -> {code, reason: string}
//   nextMessage(ws, timeoutMs) -> {data: Buffer, isBinary}   takes from ws.inbox
//   collectMessages(ws, n, timeoutMs) -> [{data, isBinary}]  takes n from ws.inbox
//   attachInbox(ws)  ws.inbox: every message since, queued ({data, isBinary}); connectWs and
//                    startWsBackend connections have one from the start. Read messages
//                    through nextMessage/collectMessages (or ws.inbox), not only by
//                    ws.on('message') after an await: those can be gone already
//   waitEvent(emitter, name, timeoutMs, what) -> args[0] (rejects on "error" unless name)
//
//   rawRequest(port, request (string|Buffer|Buffer[]), {timeoutMs}) -> Promise<Response>
//                     writes the request, reads until the server closes;
//                     Response {status, reason, headers (lower-case names -> string,
//                     repeated joined with ", "), body: string, raw: Buffer,
//                     localPort (the client side's port, to find its access-log line)}
//   upgradeRequest({path="/", host="127.0.0.1", key, version="13", headers={}, omit=[]})
//                     -> a valid HTTP/1.1 upgrade request string; headers override or add,
//                     omit lists header names to leave out
//   openRaw(port) -> Promise<RawConn>  .socket .data (Buffer so far) .write(b)
//                     .waitData(pred(buf), timeoutMs) .waitEnd(timeoutMs) .ended .destroy()
//   parseHead(buf) -> {status, reason, headers, headLength} | null (incomplete)
//
//   runPython(script, args, {timeoutMs}) -> Promise<object>  runs tests/integration/py/SCRIPT
//                     with WSGATE_PYTHON, parses the last stdout line as JSON
//   startPythonServer(script, args) -> Promise<{proc, port, address, stop()}>  runs
//                     tests/integration/py/SCRIPT, waits for "listening 127.0.0.1:PORT" on
//                     stdout; stdin stays open until stop() (SIGTERM, then awaits exit)
//   withTimeout(promise, ms, what)   rejects with "timed out after ms: what"
//   stopAll()        stop every process/server the harness started (call in after())
//   sha256(buf) -> hex

import { spawn } from 'node:child_process';
import { once, EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

// Imported dynamically so a missing node_modules says what to do.
const wsModule = await import('ws').catch((err) => {
  throw new Error(`cannot load the npm package "ws" (${err.message}): ` +
                  'run `npm ci` in tests/integration');
});
export const { WebSocket, WebSocketServer } = wsModule;

const here = path.dirname(fileURLToPath(import.meta.url));
export const INTEGRATION_DIR = path.resolve(here, '..');
export const WSGATE_BIN = process.env.WSGATE_BIN;
export const ECHO_BIN = process.env.WSGATE_ECHO_BIN;
export const PYTHON = process.env.WSGATE_PYTHON || '/usr/bin/python3';
export const DEFAULT_TIMEOUT_MS = 15000;

if (!WSGATE_BIN) {
  throw new Error('WSGATE_BIN is not set: point it at the wsgate binary');
}
if (!existsSync(WSGATE_BIN)) {
  throw new Error(`WSGATE_BIN=${WSGATE_BIN} does not exist`);
}

const resources = new Set();
const liveProcs = new Set();
function killLiveProcs() {
  for (const p of liveProcs) {
    try {
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
// No wsgate, echo or Python peer outlives the test process, also when a timeout (ctest,
// `timeout`) or Ctrl-C ends it with a signal.
process.on('exit', killLiveProcs);
for (const [sig, num] of [['SIGTERM', 15], ['SIGINT', 2], ['SIGHUP', 1]]) {
  process.once(sig, () => {
    killLiveProcs();
    process.exit(128 + num);
  });
}

export function withTimeout(promise, ms, what) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

export function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

// ---------------------------------------------------------------- TOML generation

function tomlValue(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{ ${Object.entries(v).map(([k, x]) => `${k} = ${tomlValue(x)}`).join(', ')} }`;
  }
  throw new Error(`cannot write ${JSON.stringify(v)} as TOML`);
}

function tomlTable(header, obj) {
  const lines = [header];
  const subtables = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      subtables.push([k, v]);
    } else {
      lines.push(`${k} = ${tomlValue(v)}`);
    }
  }
  let text = lines.join('\n') + '\n';
  const base = header.replace(/^\[+|\]+$/g, '');
  for (const [k, v] of subtables) text += '\n' + tomlTable(`[${base}.${k}]`, v);
  return text;
}

export function tomlFor(opts) {
  if (typeof opts.toml === 'string') return opts.toml;
  const listeners = opts.listeners ?? [{ name: 'public' }];
  const pools = opts.pools;
  if (!pools || pools.length === 0) throw new Error('startWsgate: opts.pools is required');
  const routes = opts.routes ?? [{ pool: pools[0].name }];
  let text = '# generated by tests/integration/lib/harness.mjs\n';
  // WSGATE_TEST_IO (epoll | io_uring) picks the socket engine of every generated config: ctest
  // runs each integration test file once with each engine.
  const io = process.env.WSGATE_TEST_IO ? { io: process.env.WSGATE_TEST_IO } : {};
  text += tomlTable('[server]', { workers: 1, drain_timeout: '10s', ...io, ...(opts.server ?? {}) });
  text += '\n' + tomlTable('[admin]', { listen: '127.0.0.1:0', ...(opts.admin ?? {}) });
  text += '\n' + tomlTable('[log]', {
    level: 'info',
    format: 'json',
    access_log: 'stderr',
    ...(opts.log ?? {}),
  });
  for (const l of listeners) {
    text += '\n' + tomlTable('[[listeners]]', { listen: '127.0.0.1:0', ...l });
  }
  for (const r of routes) {
    text += '\n' + tomlTable('[[routes]]', { listener: 'public', host: '*', path_prefix: '/', ...r });
  }
  for (const p of pools) {
    text += '\n' + tomlTable('[[pools]]', p);
  }
  for (const [name, pol] of Object.entries(opts.policies ?? {})) {
    text += '\n' + tomlTable(`[policies.${name}]`, pol);
  }
  for (const [name, auth] of Object.entries(opts.auth ?? {})) {
    text += '\n' + tomlTable(`[auth.${name}]`, auth);
  }
  return text;
}

// ---------------------------------------------------------------- wsgate process

class Wsgate extends EventEmitter {
  constructor(proc, dir, configPath) {
    super();
    this.setMaxListeners(0);
    this.proc = proc;
    this.pid = proc.pid;
    this.dir = dir;
    this.configPath = configPath;
    this.logs = [];
    this.otherLines = [];
    this.addresses = {};
    this.adminAddress = null;
    this.exited = null;
    this._stderr = [];
    this._partial = '';
    this.stdoutText = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      this.stdoutText += d;
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => this._onStderr(d));
    // 'close' comes after 'exit' once stdout and stderr are drained: the log is complete.
    this._exitPromise = new Promise((resolve) => {
      proc.on('close', (code, signal) => {
        if (this._partial) this._onLine(this._partial);
        this._partial = '';
        this.exited = { code, signal };
        liveProcs.delete(proc);
        resolve(this.exited);
        this.emit('gone');
      });
    });
  }

  _onStderr(chunk) {
    this._stderr.push(chunk);
    const parts = (this._partial + chunk).split('\n');
    this._partial = parts.pop();
    for (const line of parts) this._onLine(line);
  }

  _onLine(line) {
    if (!line.trim()) return;
    let obj;
    try {
      obj = JSON.parse(line);
    } catch {
      this.otherLines.push(line);
      return;
    }
    if (obj === null || typeof obj !== 'object') {
      this.otherLines.push(line);
      return;
    }
    if (obj.event === 'listening' && obj.listener) this.addresses[obj.listener] = obj.address;
    if (obj.event === 'admin_listening') this.adminAddress = obj.address;
    this.logs.push(obj);
    this.emit('log', obj);
  }

  stderrText() {
    return this._stderr.join('');
  }

  mark() {
    return this.logs.length;
  }

  port(listener = 'public') {
    const a = this.addresses[listener];
    if (!a) throw new Error(`no listener named ${listener} (have ${Object.keys(this.addresses)})`);
    return Number(a.slice(a.lastIndexOf(':') + 1));
  }

  get adminPort() {
    return Number(this.adminAddress.slice(this.adminAddress.lastIndexOf(':') + 1));
  }

  url(p = '/', listener = 'public') {
    return `ws://127.0.0.1:${this.port(listener)}${p}`;
  }

  httpUrl(p = '/', listener = 'public') {
    return `http://127.0.0.1:${this.port(listener)}${p}`;
  }

  adminUrl(p = '/') {
    return `http://${this.adminAddress}${p}`;
  }

  waitForLog(pred, timeoutMs = DEFAULT_TIMEOUT_MS, from = 0) {
    for (let i = from; i < this.logs.length; ++i) {
      if (pred(this.logs[i])) return Promise.resolve(this.logs[i]);
    }
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.off('log', onLog);
        this.off('gone', onGone);
      };
      const onLog = (obj) => {
        if (pred(obj)) {
          cleanup();
          resolve(obj);
        }
      };
      const onGone = () => {
        cleanup();
        reject(new Error(`wsgate exited (${JSON.stringify(this.exited)}) before the awaited ` +
                         `log line ${pred}\n--- stderr:\n${this.stderrText()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line ${pred}\n` +
                         `--- stderr:\n${this.stderrText().slice(-8000)}`));
      }, timeoutMs);
      this.on('log', onLog);
      if (this.exited) onGone();
      else this.on('gone', onGone);
    });
  }

  waitForAccess(pred = () => true, timeoutMs = DEFAULT_TIMEOUT_MS, from = 0) {
    return this.waitForLog((l) => l.event === 'access' && pred(l), timeoutMs, from);
  }

  accessLogs() {
    return this.logs.filter((l) => l.event === 'access');
  }

  writeConfig(opts) {
    writeFileSync(this.configPath, tomlFor(opts));
  }

  async reload(opts, timeoutMs = DEFAULT_TIMEOUT_MS) {
    if (opts) this.writeConfig(opts);
    const from = this.mark();
    this.signal('SIGHUP');
    return this.waitForLog(
      (l) => l.event === 'config_reloaded' || l.event === 'config_reload_failed',
      timeoutMs,
      from,
    );
  }

  signal(name) {
    process.kill(this.pid, name);
  }

  waitExit(timeoutMs = DEFAULT_TIMEOUT_MS) {
    return withTimeout(this._exitPromise, timeoutMs, `wsgate pid ${this.pid} to exit`);
  }

  async stop() {
    if (!this.exited) {
      try {
        this.proc.kill('SIGKILL');
      } catch {
        // gone
      }
      await this._exitPromise;
    }
    resources.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startWsgate(opts = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'wsgate-it-'));
  const configPath = path.join(dir, 'wsgate.toml');
  writeFileSync(configPath, tomlFor(opts));
  const argv = [...(opts.wrapper ?? []), WSGATE_BIN, '-c', configPath, ...(opts.args ?? [])];
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  liveProcs.add(proc);
  const gw = new Wsgate(proc, dir, configPath);
  resources.add(gw);
  const spawnError = new Promise((_, reject) => proc.on('error', reject));
  try {
    await Promise.race([
      gw.waitForLog((l) => l.event === 'ready', opts.readyTimeoutMs ?? 20000),
      spawnError,
    ]);
  } catch (err) {
    await gw.stop();
    throw new Error(`wsgate did not become ready: ${err.message}\n--- config:\n${tomlFor(opts)}`);
  }
  return gw;
}

// ---------------------------------------------------------------- backends

// Registers a child process for stopAll() and collects its stderr. `exited` resolves with
// {code, signal}; stderr() is the text so far.
function trackProcess(proc) {
  liveProcs.add(proc);
  let text = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    text += d;
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    liveProcs.delete(proc);
    resolve({ code, signal });
  }));
  return { exited, stderr: () => text };
}

export async function startEcho({ args = [] } = {}) {
  if (!ECHO_BIN) throw new Error('WSGATE_ECHO_BIN is not set');
  if (!existsSync(ECHO_BIN)) throw new Error(`WSGATE_ECHO_BIN=${ECHO_BIN} does not exist`);
  const proc = spawn(ECHO_BIN, ['--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { exited, stderr } = trackProcess(proc);
  const echo = {
    proc,
    host: '127.0.0.1',
    port: 0,
    address: '',
    url: (p = '/echo') => `ws://127.0.0.1:${echo.port}${p}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      resources.delete(echo);
    },
  };
  resources.add(echo);
  const listening = new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\S+):(\d+)/.exec(out);
      if (m) resolve({ host: m[1], port: Number(m[2]) });
    });
    proc.on('error', reject);
    exited.then((e) => reject(new Error(`wsgate-echo exited ${JSON.stringify(e)}: ${stderr()}`)));
  });
  try {
    const { port } = await withTimeout(listening, 20000, 'wsgate-echo to print "listening"');
    echo.port = port;
    echo.address = `127.0.0.1:${port}`;
  } catch (err) {
    await echo.stop();
    throw err;
  }
  return echo;
}

export async function startWsBackend(opts = {}) {
  const { echo = true, onConnection, ...wssOpts } = opts;
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    ...wssOpts,
  });
  await withTimeout(once(server, 'listening'), 10000, 'ws backend to listen');
  const port = server.address().port;
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const backend = {
    server,
    port,
    address: `127.0.0.1:${port}`,
    connections: [],
    events: emitter,
    waitConnections(n, timeoutMs = DEFAULT_TIMEOUT_MS) {
      if (backend.connections.length >= n) return Promise.resolve(backend.connections);
      return withTimeout(new Promise((resolve) => {
        const on = () => {
          if (backend.connections.length >= n) {
            emitter.off('connection', on);
            resolve(backend.connections);
          }
        };
        emitter.on('connection', on);
      }), timeoutMs, `${n} backend connections (have ${backend.connections.length})`);
    },
    async close() {
      for (const ws of backend.connections) ws.terminate();
      await new Promise((resolve) => server.close(() => resolve()));
      resources.delete(backend);
    },
  };
  server.on('connection', (ws, req) => {
    ws.req = req;
    ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
    }));
    ws.errors = [];
    ws.on('error', (e) => ws.errors.push(e.message));
    attachInbox(ws);
    if (echo) ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    backend.connections.push(ws);
    if (onConnection) onConnection(ws, req);
    emitter.emit('connection', ws);
  });
  resources.add(backend);
  return backend;
}

export async function startTcpBackend(onSocket) {
  const sockets = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onSocket(s);
  });
  server.listen(0, '127.0.0.1');
  await withTimeout(once(server, 'listening'), 10000, 'tcp backend to listen');
  const port = server.address().port;
  const backend = {
    server,
    port,
    address: `127.0.0.1:${port}`,
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
      resources.delete(backend);
    },
  };
  resources.add(backend);
  return backend;
}

// A port that was bound and released: connecting to it is refused (nothing listens).
export async function closedPort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = server.address().port;
  await new Promise((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------- WebSocket clients

export function waitEvent(emitter, name, timeoutMs = DEFAULT_TIMEOUT_MS, what = name) {
  return withTimeout(once(emitter, name).then((args) => args[0]), timeoutMs, what);
}

export function connectWs(url, opts = {}) {
  const { protocols, timeoutMs, ...wsOpts } = opts;
  const ws = attachInbox(new WebSocket(url, protocols, { perMessageDeflate: false, ...wsOpts }));
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
    resolve({ code, reason: reason.toString() });
  }));
  const opened = new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const err = new Error(`unexpected HTTP ${res.statusCode} from ${url}`);
        err.status = res.statusCode;
        err.headers = res.headers;
        err.body = Buffer.concat(chunks).toString();
        reject(err);
        req.destroy();
      });
      res.on('error', reject);
    });
  });
  ws.on('error', () => {});
  return withTimeout(opened, timeoutMs ?? DEFAULT_TIMEOUT_MS, `WebSocket open ${url}`);
}

export async function expectRejected(url, opts = {}) {
  try {
    const ws = await connectWs(url, opts);
    ws.terminate();
  } catch (err) {
    if (err.status !== undefined) return { status: err.status, headers: err.headers, body: err.body };
    throw err;
  }
  throw new Error(`expected ${url} to be rejected, but the upgrade succeeded`);
}

export function waitOpen(ws, timeoutMs = DEFAULT_TIMEOUT_MS) {
  if (ws.readyState === WebSocket.OPEN) return Promise.resolve(ws);
  return waitEvent(ws, 'open', timeoutMs, 'WebSocket open');
}

export function waitClose(ws, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const closed = ws.closed ?? new Promise((resolve) => ws.once('close', (code, reason) => {
    resolve({ code, reason: reason.toString() });
  }));
  return withTimeout(closed, timeoutMs, 'WebSocket close');
}

// Every WebSocket the harness creates queues its messages from the start, so a message that
// arrives together with the 101 (emitted before an `await connectWs()` resumes) is not lost.
export function attachInbox(ws) {
  if (ws.inbox) return ws;
  ws.inbox = [];
  ws.on('message', (data, isBinary) => {
    ws.inbox.push({ data: Buffer.isBuffer(data) ? data : Buffer.concat(data), isBinary });
    ws.emit('inbox');
  });
  return ws;
}

export function collectMessages(ws, n, timeoutMs = DEFAULT_TIMEOUT_MS) {
  attachInbox(ws);
  return withTimeout(new Promise((resolve, reject) => {
    const cleanup = () => {
      ws.off('inbox', check);
      ws.off('close', check);
    };
    function check() {
      if (ws.inbox.length >= n) {
        cleanup();
        resolve(ws.inbox.splice(0, n));
      } else if (ws.readyState === WebSocket.CLOSED) {
        cleanup();
        reject(new Error(`closed after ${ws.inbox.length} of ${n} messages`));
      }
    }
    ws.on('inbox', check);
    ws.on('close', check);
    check();
  }), timeoutMs, `${n} WebSocket messages (have ${ws.inbox.length})`);
}

export async function nextMessage(ws, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const [m] = await collectMessages(ws, 1, timeoutMs);
  return m;
}

// ---------------------------------------------------------------- raw HTTP

export function parseHead(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(m[1]), reason: m[2], headers, headLength: end + 4 };
}

export function upgradeRequest({
  path: p = '/',
  host = '127.0.0.1',
  key = crypto.randomBytes(16).toString('base64'),
  version = '13',
  method = 'GET',
  httpVersion = 'HTTP/1.1',
  headers = {},
  omit = [],
} = {}) {
  const base = {
    Host: host,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': version,
    ...headers,
  };
  const skip = new Set(omit.map((h) => h.toLowerCase()));
  let text = `${method} ${p} ${httpVersion}\r\n`;
  for (const [k, v] of Object.entries(base)) {
    if (skip.has(k.toLowerCase()) || v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) text += `${k}: ${one}\r\n`;
  }
  return text + '\r\n';
}

export async function openRaw(port) {
  const socket = net.connect({ host: '127.0.0.1', port });
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const conn = {
    socket,
    data: Buffer.alloc(0),
    ended: false,
    error: null,
    write(b) {
      return new Promise((resolve) => socket.write(b, () => resolve()));
    },
    waitData(pred, timeoutMs = DEFAULT_TIMEOUT_MS) {
      if (pred(conn.data)) return Promise.resolve(conn.data);
      return withTimeout(new Promise((resolve, reject) => {
        const check = () => {
          if (pred(conn.data)) {
            emitter.off('change', check);
            resolve(conn.data);
          } else if (conn.ended) {
            emitter.off('change', check);
            reject(new Error(`connection closed; got ${conn.data.length} bytes: ` +
                             JSON.stringify(conn.data.toString('latin1').slice(0, 400))));
          }
        };
        emitter.on('change', check);
      }), timeoutMs, 'raw socket data');
    },
    waitEnd(timeoutMs = DEFAULT_TIMEOUT_MS) {
      if (conn.ended) return Promise.resolve(conn.data);
      return withTimeout(new Promise((resolve) => {
        const check = () => {
          if (conn.ended) {
            emitter.off('change', check);
            resolve(conn.data);
          }
        };
        emitter.on('change', check);
      }), timeoutMs, 'raw socket close by the server');
    },
    destroy() {
      socket.destroy();
    },
  };
  socket.on('data', (d) => {
    conn.data = Buffer.concat([conn.data, d]);
    emitter.emit('change');
  });
  socket.on('error', (e) => {
    conn.error = e;
  });
  socket.on('close', () => {
    conn.ended = true;
    emitter.emit('change');
  });
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  }), 10000, `connect to 127.0.0.1:${port}`);
  return conn;
}

export async function rawRequest(port, request, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const conn = await openRaw(port);
  const localPort = conn.socket.localPort;
  const parts = Array.isArray(request) ? request : [request];
  for (const part of parts) await conn.write(part);
  const raw = await conn.waitEnd(timeoutMs).finally(() => conn.destroy());
  const head = parseHead(raw);
  if (!head) {
    throw new Error(`no complete HTTP response; got ${raw.length} bytes: ` +
                    JSON.stringify(raw.toString('latin1').slice(0, 400)));
  }
  return { ...head, body: raw.subarray(head.headLength).toString(), raw, localPort };
}

// ---------------------------------------------------------------- Python peers

export async function runPython(script, args = [], { timeoutMs = 30000 } = {}) {
  const proc = spawn(PYTHON, [path.join(INTEGRATION_DIR, 'py', script), ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { stderr } = trackProcess(proc);
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    out += d;
  });
  // 'close', not 'exit': every byte of stdout has arrived by then.
  const [code] = await withTimeout(once(proc, 'close'), timeoutMs, `python ${script}`)
    .catch((e) => {
      proc.kill('SIGKILL');
      throw e;
    });
  const last = out.trim().split('\n').pop();
  if (code !== 0) {
    throw new Error(`python ${script} exited ${code}\nstdout: ${out}\nstderr: ${stderr()}`);
  }
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`python ${script} printed no JSON\nstdout: ${out}\nstderr: ${stderr()}`);
  }
}

export async function startPythonServer(script, args = []) {
  const proc = spawn(PYTHON, [path.join(INTEGRATION_DIR, 'py', script), ...args.map(String)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const { exited, stderr } = trackProcess(proc);
  const server = {
    proc,
    port: 0,
    address: '',
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.stdin.end();
        proc.kill('SIGTERM');
      }
      await withTimeout(exited, 10000, `python ${script} to exit`).catch(() => {
        proc.kill('SIGKILL');
        return exited;
      });
      resources.delete(server);
    },
  };
  resources.add(server);
  const listening = new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\S+):(\d+)/.exec(out);
      if (m) resolve(Number(m[2]));
    });
    proc.on('error', reject);
    exited.then((e) => reject(new Error(`python ${script} exited ${JSON.stringify(e)}: ${stderr()}`)));
  });
  try {
    server.port = await withTimeout(listening, 20000, `python ${script} to listen`);
    server.address = `127.0.0.1:${server.port}`;
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

// ---------------------------------------------------------------- cleanup

export async function stopAll() {
  for (const r of [...resources]) {
    try {
      if (r.stop) await r.stop();
      else if (r.close) await r.close();
    } catch {
      // best effort
    }
  }
  resources.clear();
}
