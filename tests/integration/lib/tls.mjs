// TLS helpers for the integration tests: certificates made at test time with the `openssl`
// CLI, TOML for TLS listeners (the harness's generator cannot write [[listeners.tls.sni]]),
// `openssl s_client` runs, and a wss:// backend (Node `ws` over `https.createServer`).
//
// API
//   makePki(dir?) -> Pki   a test CA and certificates signed by it, in a new temp dir
//     pki.dir, pki.ca (path of the CA certificate), pki.caPem (Buffer)
//     pki.issue(name, {dns=[name], ip=[], cn=name, org?}) -> {cert, key, certPem, keyPem}
//                       a leaf certificate (serverAuth and clientAuth) with those SANs
//     pki.otherCa()  -> path of a second, unrelated CA certificate
//   tlsToml(opts) -> string   like the harness's tomlFor, plus opts.listeners[i].tls =
//                     {cert, key, min_version?, sni?: [{server_name, cert, key}]}
//   startTlsWsgate(opts) -> Promise<Wsgate>   startWsgate with tlsToml(opts)
//   reloadTls(gw, opts) -> the config_reloaded / config_reload_failed line
//   wssUrl(gw, path="/", listener="public", host="localhost") -> "wss://localhost:PORT/path"
//   sClient(port, args=[], {input?, waitFor?, timeoutMs}) -> Promise<{code, out}>
//                     runs `openssl s_client -connect 127.0.0.1:PORT ...ARGS`; stdin stays open
//                     until `waitFor` (a regexp) matches the output (or at once without one),
//                     then `input` is written and stdin is closed; out is stdout + stderr
//   servedSubject(out) -> "CN = localhost" (the subject line s_client printed)
//   startWssBackend({cert, key, ca?, requestCert?}) -> Promise<{port, address, connections,
//                     url(host), close()}>  an echo server over TLS; with requestCert the
//                     client must present a certificate signed by `ca`

import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  WebSocketServer,
  attachInbox,
  startWsgate,
  tomlFor,
  withTimeout,
} from './harness.mjs';

const OPENSSL = process.env.WSGATE_OPENSSL || 'openssl';
const dirs = new Set();
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function openssl(args, cwd) {
  try {
    return execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

function newKey(file, cwd) {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);
}

function makeCa(dir, name, cn) {
  newKey(`${name}.key`, dir);
  openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.crt`, '-days', '2',
    '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return path.join(dir, `${name}.crt`);
}

export function makePki(dir = mkdtempSync(path.join(tmpdir(), 'wsgate-pki-'))) {
  dirs.add(dir);
  const ca = makeCa(dir, 'ca', 'wsgate test CA');
  let serial = 0;
  return {
    dir,
    ca,
    caPem: readFileSync(ca),
    issue(name, { dns = [name], ip = [], cn = name, org } = {}) {
      const base = `${name.replace(/[^a-z0-9.-]/gi, '_')}-${++serial}`;
      newKey(`${base}.key`, dir);
      const subj = `/CN=${cn}${org ? `/O=${org}` : ''}`;
      openssl(['req', '-new', '-key', `${base}.key`, '-out', `${base}.csr`, '-subj', subj], dir);
      const san = [...dns.map((d) => `DNS:${d}`), ...ip.map((i) => `IP:${i}`)].join(',');
      writeFileSync(path.join(dir, `${base}.ext`), [
        `subjectAltName=${san}`,
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth,clientAuth',
        '',
      ].join('\n'));
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
        '-set_serial', String(1000 + serial), '-out', `${base}.crt`, '-days', '2',
        '-extfile', `${base}.ext`], dir);
      const cert = path.join(dir, `${base}.crt`);
      const key = path.join(dir, `${base}.key`);
      return { cert, key, certPem: readFileSync(cert), keyPem: readFileSync(key) };
    },
    otherCa() {
      return makeCa(dir, 'other-ca', 'some other CA');
    },
  };
}

function tomlString(v) {
  return JSON.stringify(v);
}

function listenerToml(listener) {
  const { tls, ...rest } = listener;
  let text = '[[listeners]]\n';
  for (const [k, v] of Object.entries({ listen: '127.0.0.1:0', ...rest })) {
    text += `${k} = ${tomlString(v)}\n`;
  }
  if (!tls) return text;
  const { sni = [], ...table } = tls;
  text += '  [listeners.tls]\n';
  for (const [k, v] of Object.entries(table)) text += `  ${k} = ${tomlString(v)}\n`;
  for (const entry of sni) {
    text += '  [[listeners.tls.sni]]\n';
    for (const [k, v] of Object.entries(entry)) text += `  ${k} = ${tomlString(v)}\n`;
  }
  return text;
}

export function tlsToml(opts) {
  const listeners = opts.listeners ?? [{ name: 'public' }];
  // Top-level tables may come in any order: the harness writes the rest, listeners follow.
  let text = tomlFor({ ...opts, listeners: [] });
  for (const l of listeners) text += '\n' + listenerToml(l);
  return text;
}

export function startTlsWsgate(opts) {
  return startWsgate({ ...opts, toml: tlsToml(opts) });
}

export function reloadTls(gw, opts) {
  return gw.reload({ toml: tlsToml(opts) });
}

export function wssUrl(gw, p = '/', listener = 'public', host = 'localhost') {
  return `wss://${host}:${gw.port(listener)}${p}`;
}

export function sClient(port, args = [], { input = '', waitFor = null, timeoutMs = 15000 } = {}) {
  const proc = spawn(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let ended = false;
  const finishInput = () => {
    if (ended) return;
    ended = true;
    proc.stdin.end(input);
  };
  const onData = (d) => {
    out += d;
    if (waitFor && waitFor.test(out)) finishInput();
  };
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  proc.stdin.on('error', () => {});
  if (!waitFor) finishInput();
  return withTimeout(
    once(proc, 'close').then(([code]) => ({ code, out })),
    timeoutMs,
    `openssl s_client ${args.join(' ')}`,
  ).catch((err) => {
    proc.kill('SIGKILL');
    err.message += `\n--- s_client output:\n${out}`;
    throw err;
  });
}

export function servedSubject(out) {
  const m = /^subject=(.*)$/m.exec(out);
  return m ? m[1].trim() : null;
}

export async function startWssBackend({ cert, key, ca, requestCert = false }) {
  const server = https.createServer({
    cert: readFileSync(cert),
    key: readFileSync(key),
    ...(ca ? { ca: readFileSync(ca) } : {}),
    requestCert,
    rejectUnauthorized: requestCert,
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const connections = [];
  const tlsErrors = [];
  server.on('tlsClientError', (err) => tlsErrors.push(err.message));
  wss.on('connection', (ws, req) => {
    ws.req = req;
    ws.peerCert = req.socket.getPeerCertificate?.() ?? null;
    attachInbox(ws);
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    connections.push(ws);
  });
  server.listen(0, '127.0.0.1');
  await withTimeout(once(server, 'listening'), 10000, 'wss backend to listen');
  const port = server.address().port;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    connections,
    tlsErrors,
    url(host = 'localhost') {
      return `wss://${host}:${port}`;
    },
    async close() {
      for (const ws of connections) ws.terminate();
      wss.close();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
