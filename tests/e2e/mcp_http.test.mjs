// `supertable serve` (streamable HTTP) against clients no one here wrote: the official MCP
// TypeScript SDK client runs the full session suite, resumes an SSE stream after its connection
// is cut, and deletes its session; raw HTTP requests check every refusal (bad JSON, wrong
// headers, unknown sessions, oversized bodies, Host/Origin, tokens) and that the server keeps
// serving; the rest of authentication is in mcp_auth.test.mjs. Servers run on 127.0.0.1 with
// free ports and are always stopped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import http from "node:http";
import net from "node:net";

import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { ACCEPT, bin, data, demoWarehouse, freePort, initBody, jsonHeaders, newClient, raw, sdk2SessionTests, sessionTests, startServe, stop, waitForPort } from "./session_suite.mjs";

const state = {};
const servers = [];

// `supertable serve` on the shared test home.
function serve(env = {}, args = []) {
  return startServe({ SUPERTABLE_HOME: state.home, ...env }, args, (child) => servers.push(child));
}




async function rawSession(port, extraHeaders = {}) {
  const r = await raw(port, { headers: jsonHeaders(extraHeaders), body: initBody });
  assert.equal(r.status, 200, r.text);
  return r.headers["mcp-session-id"];
}

// Node 20 starts root hooks together: state.setup lets the later ones wait for this one.
before(() => (state.setup = (async () => {
  state.home = demoWarehouse();
  state.server = await serve();
  state.client = newClient(state);
  await state.client.connect(new StreamableHTTPClientTransport(new URL(state.server.url)));
})()));

after(async () => {
  await state.client?.close();
  for (const s of servers) if (s.exitCode === null) s.kill("SIGKILL");
  rmSync(state.home, { recursive: true, force: true });
});

sessionTests(state);
// The same suite with the SDK 2.x client, in its legacy handshake and pinned to 2026-07-28.
sdk2SessionTests(state, (st) => ({ url: st.server.url }));

test("SSE resumption: a cut connection is resumed with Last-Event-ID and the answer arrives", async () => {
  // A proxy the test can cut: every socket through it is destroyed mid-call.
  const sockets = new Set();
  const seen = [];
  const proxy = net.createServer((c) => {
    const upstream = net.connect(state.server.port, "127.0.0.1");
    sockets.add(c);
    sockets.add(upstream);
    c.on("data", (d) => seen.push(d.toString("latin1")));
    c.pipe(upstream).pipe(c);
    const drop = () => { c.destroy(); upstream.destroy(); sockets.delete(c); sockets.delete(upstream); };
    c.on("error", drop); upstream.on("error", drop); c.on("close", drop); upstream.on("close", drop);
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  const url = new URL(`http://127.0.0.1:${proxy.address().port}/mcp`);
  const transport = new StreamableHTTPClientTransport(url, {
    reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1.5, maxRetries: 10 },
  });
  const client = newClient({});
  await client.connect(transport);
  const call = client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT sum(x * x) AS s FROM range(400000000) t(x)" } },
                               undefined, { timeout: 120000 });
  await new Promise((r) => setTimeout(r, 400));
  for (const s of sockets) s.destroy();
  const r = await call;
  assert.equal(r.isError, false, JSON.stringify(r.content));
  assert.ok(r.structuredContent.rows[0][0] !== null);
  assert.ok(seen.some((t) => /^GET \/mcp/.test(t) && /last-event-id: \d+_\d+/i.test(t)), "the client resumed with Last-Event-ID");
  await client.close();
  proxy.close();
});

test("session delete: the SDK ends its session and the id is then unknown (404)", async () => {
  const transport = new StreamableHTTPClientTransport(new URL(state.server.url));
  const client = newClient({});
  await client.connect(transport);
  const id = transport.sessionId;
  assert.match(id, /^[0-9a-f]{32}$/);
  await client.ping();
  await transport.terminateSession();
  const r = await raw(state.server.port, { headers: jsonHeaders({ "mcp-session-id": id }), body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }) });
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, -32001);
  await client.close();
});

test("raw HTTP: each refusal is the right status with a JSON-RPC error, and the server keeps serving", async () => {
  const port = state.server.port;
  const sid = await rawSession(port);
  const ping = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "ping" });
  const cases = [
    ["no session", { headers: jsonHeaders(), body: ping }, 400, /Mcp-Session-Id header is required/],
    ["unknown session", { headers: jsonHeaders({ "mcp-session-id": "0".repeat(32) }), body: ping }, 404, /Session not found/],
    ["malformed JSON", { headers: jsonHeaders({ "mcp-session-id": sid }), body: "{nope" }, 400, /Parse error/],
    ["batch", { headers: jsonHeaders({ "mcp-session-id": sid }), body: `[${ping}]` }, 400, /batches are not supported/],
    ["no jsonrpc", { headers: jsonHeaders({ "mcp-session-id": sid }), body: '{"id":1,"method":"ping"}' }, 400, /"jsonrpc" must be "2.0"/],
    ["wrong content type", { headers: { "content-type": "text/plain", accept: ACCEPT, "mcp-session-id": sid }, body: ping }, 415, /Content-Type must be application\/json/],
    ["not acceptable", { headers: { "content-type": "application/json", accept: "text/html", "mcp-session-id": sid }, body: ping }, 406, /Accept must include/],
    ["bad protocol version", { headers: jsonHeaders({ "mcp-session-id": sid, "mcp-protocol-version": "1999-01-01" }), body: ping }, 400, /unsupported MCP-Protocol-Version '1999-01-01'/],
    ["foreign Host (DNS rebinding)", { headers: jsonHeaders({ host: "evil.example.com" }), body: initBody }, 403, /Host 'evil.example.com' is not allowed/],
    ["foreign Origin", { headers: jsonHeaders({ origin: "http://evil.example.com" }), body: initBody }, 403, /Origin 'http:\/\/evil.example.com' is not allowed/],
    ["wrong method", { method: "PUT", headers: jsonHeaders(), body: ping }, 405, /use POST, GET or DELETE/],
    ["wrong path", { path: "/nope", headers: jsonHeaders(), body: ping }, 404, /the MCP endpoint is '\/mcp'/],
    ["GET without SSE", { method: "GET", headers: { accept: "application/json", "mcp-session-id": sid } }, 406, /text\/event-stream/],
    ["bad Last-Event-ID", { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": sid, "last-event-id": "99_1" } }, 400, /names no stream/],
    ["re-initialize", { headers: jsonHeaders({ "mcp-session-id": sid }), body: initBody }, 400, /already initialized/],
  ];
  for (const [name, req, status, message] of cases) {
    const r = await raw(port, req);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(r.json?.jsonrpc, "2.0", `${name}: ${r.text}`);
    assert.match(r.json.error.message, message, name);
  }
  // Oversized: refused from Content-Length before the body is read, and (chunked, no length)
  // as soon as the limit is passed; either way the client reads the 413, not a reset.
  const big = await raw(port, { headers: jsonHeaders({ "mcp-session-id": sid }), body: "x".repeat(5 << 20) });
  assert.equal(big.status, 413);
  assert.match(big.json.error.message, /exceeds the limit of 4194304 bytes/);
  const chunked = await new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/mcp", agent: false,
                               headers: jsonHeaders({ "mcp-session-id": sid }) }, (res) => {
      let t = "";
      res.on("data", (d) => (t += d));
      res.on("end", () => resolve({ status: res.statusCode, text: t }));
    });
    req.on("error", reject);
    for (let i = 0; i < 80; i++) req.write("y".repeat(64 << 10));
    req.end();
  });
  assert.equal(chunked.status, 413, chunked.text);
  // Regressions: bytes that are not UTF-8 in a header, and a body nested 100,000 deep, each
  // killed the server; now each is refused and the server keeps serving.
  const badHost = await new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1", () => {
      c.write(Buffer.concat([Buffer.from("GET /mcp HTTP/1.1\r\nHost: "), Buffer.from([0xff, 0xfe]), Buffer.from("\r\nConnection: close\r\n\r\n")]));
    });
    let t = "";
    c.on("data", (d) => (t += d.toString("latin1")));
    c.on("close", () => resolve(t));
    c.on("error", () => resolve(t));
  });
  assert.match(badHost, /^HTTP\/1\.1 403/);
  const deep = await raw(port, { headers: jsonHeaders({ "mcp-session-id": sid }),
                                 body: `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":${"[".repeat(100000)}${"]".repeat(100000)}}}` });
  assert.equal(deep.status, 400);
  assert.match(deep.json.error.message, /nested deeper than 64 levels/);
  // Unknown method and bad params are JSON-RPC errors in a 200 reply.
  const unknown = await raw(port, { headers: jsonHeaders({ "mcp-session-id": sid }), body: JSON.stringify({ jsonrpc: "2.0", id: 8, method: "no/such" }) });
  assert.equal(unknown.json.error.code, -32601);
  const badParams = await raw(port, { headers: jsonHeaders({ "mcp-session-id": sid }), body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: 5 } }) });
  assert.match(badParams.text, /-32602/);
  // A notification gets 202 and no body; the session still answers; /health too.
  const note = await raw(port, { headers: jsonHeaders({ "mcp-session-id": sid }), body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  assert.equal(note.status, 202);
  assert.equal(note.text, "");
  const ok = await raw(port, { headers: jsonHeaders({ "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" }), body: ping });
  assert.deepEqual(ok.json, { jsonrpc: "2.0", id: 7, result: {} });
  const health = await raw(port, { method: "GET", path: "/health" });
  assert.equal(health.status, 200);
  assert.equal(health.json.status, "ok");
  // Loopback origins are allowed (a local web app).
  const local = await raw(port, { headers: jsonHeaders({ "mcp-session-id": sid, origin: `http://localhost:${port}` }), body: ping });
  assert.equal(local.status, 200);
});

test("hundreds of open SSE streams cost no thread each", async () => {
  const port = state.server.port;
  const before = Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${state.server.child.pid}/status`, "utf8"))[1]);
  const open = [];
  for (let i = 0; i < 300; i++) {
    const sid = await rawSession(port);
    open.push(await new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "GET", path: "/mcp", agent: false,
                                 headers: { accept: "text/event-stream", "mcp-session-id": sid } }, (res) => {
        assert.equal(res.statusCode, 200);
        res.once("data", () => resolve(req));  // the priming event
      });
      req.on("error", reject);
      req.end();
    }));
  }
  const during = Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${state.server.child.pid}/status`, "utf8"))[1]);
  assert.ok(during <= before + 2, `threads grew from ${before} to ${during} with 300 open streams`);
  for (const req of open) req.destroy();
  const health = await raw(port, { method: "GET", path: "/health" });
  assert.equal(health.status, 200);
});

test("a bearer token guards every request (health aside), compared without leaking it", async () => {
  const token = "s3cr3t-token-0123456789abcdef";
  const server = await serve({ SUPERTABLE_REQUIRE_TOKEN: "1", SUPERTABLE_MCP_AUTH_TOKEN: token, LOG_LEVEL: "debug" });
  const challenge = `Bearer realm="supertable", resource_metadata="http://127.0.0.1:${server.port}/.well-known/oauth-protected-resource/mcp", scope="supertable:read"`;
  const none = await raw(server.port, { headers: jsonHeaders(), body: initBody });
  assert.equal(none.status, 401);
  assert.equal(none.headers["www-authenticate"], challenge);
  const wrong = await raw(server.port, { headers: jsonHeaders({ authorization: "Bearer wrong-token-0123456789abcd" }), body: initBody });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers["www-authenticate"], `${challenge}, error="invalid_token"`);
  const health = await raw(server.port, { method: "GET", path: "/health" });
  assert.equal(health.status, 200);
  assert.equal(health.json.status, "ok");
  const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = newClient({});
  await client.connect(transport);
  const r = await client.callTool({ name: "whoami", arguments: {} });
  assert.equal(r.structuredContent.auth, "shared_token");
  assert.equal(r.structuredContent.superuser, true);
  await client.close();
  assert.equal(await stop(server), 0);
  assert.ok(!server.stderr().includes(token), "the token appears in the server's logs");
  assert.ok(!server.stdout().includes(token), "the token appears in the banner");
});

test("serve --demo serves its own warehouse whatever LOCKING_BACKEND and STORAGE_TYPE say", async () => {
  // Both point at ports nothing listens on: the demo must use neither.
  const server = await serve(
    { LOCKING_BACKEND: "redis", SUPERTABLE_REDIS_URL: "redis://127.0.0.1:9/0", STORAGE_TYPE: "MINIO", STORAGE_ENDPOINT_URL: "http://127.0.0.1:9", STORAGE_BUCKET: "team" },
    ["--demo", "--demo-data", data],
  );
  const client = newClient({});
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  const r = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) FROM orders" } });
  assert.equal(r.structuredContent.rows[0][0], 4100);
  const info = await client.callTool({ name: "info", arguments: {} });
  assert.deepEqual([info.structuredContent.catalog, info.structuredContent.storage_type], ["sqlite", "LOCAL"]);
  await client.close();
  assert.equal(await stop(server), 0);
});

test("serve refuses a non-loopback address without a token unless told", async () => {
  const child = spawn(bin, ["serve", "--host", "0.0.0.0", "--port", "0"], { env: { ...process.env, SUPERTABLE_HOME: state.home } });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise((r) => child.on("exit", r));
  assert.equal(code, 1);
  assert.match(err, /refusing to serve on 0.0.0.0 without a token/);
});

test("SUPERTABLE_MCP_TRANSPORT=streamable-http makes `supertable mcp` serve HTTP", async () => {
  const child = spawn(bin, ["mcp"], {
    env: { ...process.env, SUPERTABLE_HOME: state.home, SUPERTABLE_MCP_TRANSPORT: "streamable-http", SUPERTABLE_MCP_HTTP_PORT: "0" },
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  let port;
  for (let i = 0; i < 200 && !port; i++) {
    port = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/)?.[1];
    if (!port) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(port, out);
  const health = await raw(Number(port), { method: "GET", path: "/health" });
  assert.equal(health.json.status, "ok");
  const exited = new Promise((r) => child.on("exit", r));
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
});

test("two servers on one Redis catalog see each other's commits at once", async () => {
  // A real redis-server on a free port, and a warehouse whose catalog lives there.
  const port = await freePort();
  const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", ""], { stdio: "ignore" });
  try {
    await waitForPort(port, "redis-server");
    const env = { LOCKING_BACKEND: "redis", SUPERTABLE_REDIS_URL: `redis://127.0.0.1:${port}/0` };
    const cliEnv = { ...process.env, SUPERTABLE_HOME: state.home, ...env };
    execFileSync(bin, ["ingest", "shared", "events", join(data, "orders.csv")], { env: cliEnv });
    const a = await serve(env);
    const b = await serve(env);
    const clients = [];
    for (const s of [a, b]) {
      const c = newClient({});
      await c.connect(new StreamableHTTPClientTransport(new URL(s.url)));
      clients.push(c);
    }
    const count = async (c) =>
      (await c.callTool({ name: "query_sql", arguments: { super: "shared", sql: "SELECT count(*) FROM events" } })).structuredContent.rows[0][0];
    assert.deepEqual([await count(clients[0]), await count(clients[1])], [4000, 4000]);
    // A writer commits through the same Redis: both servers answer with it on the next call.
    execFileSync(bin, ["ingest", "shared", "events", join(data, "orders_update.csv"), "--overwrite-columns", "order_id"], { env: cliEnv });
    assert.deepEqual([await count(clients[0]), await count(clients[1])], [4100, 4100]);
    const info = await clients[1].callTool({ name: "info", arguments: {} });
    assert.equal(info.structuredContent.catalog, "redis");
    for (const c of clients) await c.close();
    assert.equal(await stop(a), 0);
    assert.equal(await stop(b), 0);
  } finally {
    redis.kill("SIGKILL");
  }
});

test("idle sessions expire; graceful shutdown ends open streams and exits 0", async () => {
  const server = await serve({ SUPERTABLE_MCP_SESSION_IDLE_MS: "1000" });
  const idle = await rawSession(server.port);
  await new Promise((r) => setTimeout(r, 2600));
  const gone = await raw(server.port, { headers: jsonHeaders({ "mcp-session-id": idle }), body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }) });
  assert.equal(gone.status, 404);
  // An open GET stream keeps its session alive past the idle limit, and ends on SIGTERM.
  const sid = await rawSession(server.port);
  const ended = new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: server.port, method: "GET", path: "/mcp", agent: false,
                               headers: { accept: "text/event-stream", "mcp-session-id": sid } }, (res) => {
      res.on("data", () => {});
      res.on("end", () => resolve("end"));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
  await new Promise((r) => setTimeout(r, 2000));
  const alive = await raw(server.port, { headers: jsonHeaders({ "mcp-session-id": sid }), body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" }) });
  assert.equal(alive.status, 200);
  const start = Date.now();
  const code = await stop(server);
  assert.equal(await ended, "end");
  assert.equal(code, 0);
  assert.ok(Date.now() - start < 5000);
});
