// Helpers for the balancing tests: backends that say who they are, sessions that report which
// backend took them, and the balancer's live counts from /metrics.
//
//   idBackend() -> Promise<Backend>   startWsBackend whose every connection first receives
//                                     "id:PORT"; Backend as in harness.mjs
//   openSession(gw, path, opts) -> Promise<{ws, id}>   id = the PORT of the backend that took it
//   closeSession(gw, session)   closes it and waits for its access line (by then the
//                               backend's live count has dropped)
//   liveCounts(gw, pool, backends) -> Promise<{PORT: live}>  wsgate_backend_live_sessions
//   connectionsOf(gw) -> Promise<[connection]>   /connections

import { connectWs, nextMessage, startWsBackend, waitClose } from './harness.mjs';
import { httpGet, parseMetrics } from './metrics.mjs';

export async function idBackend() {
  const backend = await startWsBackend({ onConnection: (ws) => ws.send(`id:${backend.port}`) });
  return backend;
}

export async function openSession(gw, path, opts = {}) {
  const ws = await connectWs(gw.url(path), opts);
  const { data } = await nextMessage(ws);
  const text = data.toString();
  if (!text.startsWith('id:')) throw new Error(`first message is not an id: ${text}`);
  return { ws, id: Number(text.slice(3)), localPort: ws._socket?.localPort };
}

export async function closeSession(gw, session) {
  const from = gw.mark();
  const port = session.localPort;
  session.ws.close(1000, 'done');
  await waitClose(session.ws);
  await gw.waitForAccess((l) => l.client_addr === `127.0.0.1:${port}`, 15000, from);
}

export async function liveCounts(gw, pool, backends) {
  const m = parseMetrics((await httpGet(gw.adminUrl('/metrics'))).body);
  const out = {};
  for (const b of backends) {
    out[b.port] = m.get('wsgate_backend_live_sessions', { pool, backend: b.address });
  }
  return out;
}

export async function connectionsOf(gw) {
  const res = await httpGet(gw.adminUrl('/connections'));
  if (res.status !== 200) throw new Error(`/connections answered ${res.status}`);
  return JSON.parse(res.body).connections;
}
