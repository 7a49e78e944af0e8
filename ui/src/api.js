// The pages' only way to the server: the REST API (/api/v1) and MCP (/mcp) as the signed-in
// session, with its CSRF token on every change. No page holds an operation of its own.
let session = null;

export async function currentSession() {
  if (session) return session;
  const r = await fetch("/reflection/session", { credentials: "same-origin" });
  if (r.status === 401) {
    location.href = "/reflection/login";
    throw new Error("signed out");
  }
  session = await r.json();
  return session;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function answer(r) {
  const type = r.headers.get("content-type") || "";
  const body = type.includes("json") ? await r.json() : await r.text();
  if (r.status === 401) {
    location.href = "/reflection/login";
    throw new ApiError(401, "signed out");
  }
  if (!r.ok) throw new ApiError(r.status, (body && body.detail) || String(body));
  return body;
}

// One REST call. `body` is sent as JSON; `signal` cancels the fetch.
export async function api(method, path, { body, signal, accept } = {}) {
  const s = await currentSession();
  const headers = { "x-csrf-token": s.csrf };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (accept) headers.accept = accept;
  const r = await fetch("/api/v1" + path, {
    method, headers, signal, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (accept && accept !== "application/json" && r.ok) return r.text();
  return answer(r);
}

export const get = (path, opts) => api("GET", path, opts);
export const post = (path, body, opts = {}) => api("POST", path, { ...opts, body });

export const enc = encodeURIComponent;

// A long query as a statement: started at once, polled, cancellable (cancel() on the handle).
export function statement(body, onState) {
  let id = null;
  let cancelled = false;
  const done = (async () => {
    let st = await post("/statements", { ...body, wait_timeout_ms: 2000 });
    id = st.id;
    if (cancelled) await post(`/statements/${enc(id)}/cancel`, {}).catch(() => {});
    // Polled until it ends, cancelled or not: a cancelled statement ends as "cancelled".
    while (st.state === "running") {
      onState?.(st);
      await new Promise((r) => setTimeout(r, 250));
      st = await get(`/statements/${enc(id)}?page_size=10000`);
    }
    return st;
  })();
  return {
    done,
    async cancel() {
      cancelled = true;
      if (id) await post(`/statements/${enc(id)}/cancel`, {}).catch(() => {});
    },
  };
}

// MCP over the streamable HTTP transport, as the session (the MCP tester).
export class McpClient {
  constructor() {
    this.sessionId = null;
    this.next = 1;
  }
  async request(method, params = {}) {
    const s = await currentSession();
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream",
                      "x-csrf-token": s.csrf };
    if (this.sessionId) {
      headers["mcp-session-id"] = this.sessionId;
      headers["mcp-protocol-version"] = "2025-11-25";
    }
    const id = this.next++;
    const r = await fetch("/mcp", { method: "POST", headers, credentials: "same-origin",
                                    body: JSON.stringify({ jsonrpc: "2.0", id, method, params }) });
    const sid = r.headers.get("mcp-session-id");
    if (sid) this.sessionId = sid;
    const text = await r.text();
    let msg;
    if ((r.headers.get("content-type") || "").includes("text/event-stream")) {
      for (const line of text.split("\n")) {
        const data = line.startsWith("data:") ? line.slice(5).trim() : "";
        if (!data) continue;  // other fields, and the priming event's empty data
        const m = JSON.parse(data);
        if (m.id === id) msg = m;
      }
    } else {
      msg = JSON.parse(text);
    }
    if (!msg) throw new ApiError(r.status, text || "no answer");
    if (msg.error) throw new ApiError(r.status, msg.error.message);
    return msg.result;
  }
  async connect() {
    await this.request("initialize", { protocolVersion: "2025-11-25", capabilities: {},
                                       clientInfo: { name: "reflection", version: "1" } });
    const s = await currentSession();
    await fetch("/mcp", { method: "POST", credentials: "same-origin",
                          headers: { "content-type": "application/json", accept: "application/json, text/event-stream",
                                     "mcp-session-id": this.sessionId, "mcp-protocol-version": "2025-11-25",
                                     "x-csrf-token": s.csrf },
                          body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  }
}
