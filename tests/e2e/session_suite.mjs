// The session tests both transports run: the official MCP TypeScript SDK client drives a full
// session (every tool, resources, subscriptions, prompts, completions, logging, progress,
// cancellation) against `supertable mcp` (stdio) or `supertable serve` (streamable HTTP).
import { test as nodeTest, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import http from "node:http";
import net from "node:net";

import { Client as Client2, StreamableHTTPClientTransport as Http2 } from "@modelcontextprotocol/client";
import { StdioClientTransport as Stdio2 } from "@modelcontextprotocol/client/stdio";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

export const bin = process.env.SUPERTABLE_BIN;

// Starts `supertable serve --port 0` with `env` on top of this process's environment, waits
// for the URL it prints, and calls `track(child)` at once so the caller can always stop it.
export async function startServe(env, args = [], track = () => {}) {
  const child = spawn(bin, ["serve", "--port", "0", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  track(child);
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  for (let i = 0; i < 400; i++) {
    const m = out.match(/listening on (http:\/\/127\.0\.0\.1:(\d+)\/mcp)/);
    if (m) return { child, url: m[1], port: Number(m[2]), stderr: () => err, stdout: () => out };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`serve did not start: ${err}`);
}

// A port on 127.0.0.1 nothing listens on right now.
export async function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
}

// Resolves once something accepts connections on 127.0.0.1:`port` (30 s at most).
export async function waitForPort(port, what) {
  for (let i = 0; i < 600; i++) {
    const up = await new Promise((r) => {
      const c = net.connect(port, "127.0.0.1", () => { c.destroy(); r(true); });
      c.on("error", () => r(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not start on port ${port}`);
}
export const data = process.env.SUPERTABLE_DEMO_DATA;

// A new warehouse home with the demo tables shop.customers, shop.products, shop.orders.
export function demoWarehouse() {
  const home = mkdtempSync(join(tmpdir(), "supertable-e2e-"));
  const env = { ...process.env, SUPERTABLE_HOME: home };
  for (const t of ["customers", "products", "orders"]) {
    execFileSync(bin, ["ingest", "shop", t, join(data, `${t}.csv`)], { env });
  }
  return home;
}

// For a test file: `supertable serve` on a demo warehouse before its tests (state.home,
// state.server), stopped and removed after them.
export function demoServer(state) {
  before(async () => {
    state.home = demoWarehouse();
    state.server = await startServe({ SUPERTABLE_HOME: state.home });
  });
  after(async () => {
    if (state.server) await stop(state.server);
    rmSync(state.home, { recursive: true, force: true });
  });
}

// An SDK client that records log messages and resource updates into `state`.
export function newClient(state) {
  state.logs = [];
  state.updates = [];
  const client = new Client({ name: "supertable-e2e", version: "1.0.0" });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => state.logs.push(n.params));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => state.updates.push(n.params.uri));
  return client;
}

// The SDK 2.x client (@modelcontextprotocol/client) of `era` ("legacy": its default 2025
// handshake; "modern": pinned to 2026-07-28), connected to `target` ({url}, or {command, args,
// env} for stdio), recording log messages and resource updates into `state` as newClient does.
export async function connectSdk2(state, era, target) {
  state.logs = [];
  state.updates = [];
  state.modern = era === "modern";
  state.sdk2 = true;
  const client = new Client2({ name: "supertable-e2e-sdk2", version: "1.0.0" },
                             state.modern ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {});
  client.setNotificationHandler("notifications/message", (n) => state.logs.push(n.params));
  client.setNotificationHandler("notifications/resources/updated", (n) => state.updates.push(n.params.uri));
  const transport = target.url ? new Http2(new URL(target.url)) : new Stdio2({ ...target, stderr: "ignore" });
  await client.connect(transport);
  state.client = client;
  state.transport = transport;
}

// Closes a client, bounded: a stdio server still there after 5 s is killed, so a test file's
// process is never kept alive by a child's pipes (a CI run under load once waited out its
// timeout after every test had passed).
export async function closeClient(client, transport) {
  if (!client) return;
  await Promise.race([client.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  const pid = transport?.pid;
  if (!pid) return;
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;  // gone
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
}

// Registers the session suite once more for the SDK 2.x client in both eras against the server
// `target(state)` names once the caller's setup is done (`state.setup`, the promise of the
// caller's before(): Node 20 starts root hooks together), on the same home (`state.home`).
export function sdk2SessionTests(state, target) {
  for (const era of ["legacy", "modern"]) {
    const mine = {};
    before(async () => {
      await state.setup;
      mine.home = state.home;
      await connectSdk2(mine, era, target(state));
    });
    after(async () => closeClient(mine.client, mine.transport));
    sessionTests(mine, `SDK 2.x, ${era} era: `);
  }
}

// Registers the tests; `state.client` and `state.home` are set by the caller's before().
// `state.modern`: the client speaks 2026-07-28, which has no ping, logging/setLevel or
// resources/subscribe (subscriptions/listen instead). `label` prefixes the test names.
export function sessionTests(state, label = "") {
  const test = (name, fn) => nodeTest(label + name, fn);
  // callTool with request options (progress, signal, timeout): SDK 1.x takes a result schema
  // before them, SDK 2.x does not.
  const callWith = (params, options) =>
    state.sdk2 ? state.client.callTool(params, options) : state.client.callTool(params, undefined, options);
  test("initialize negotiated the newest protocol and described the server", () => {
    assert.equal(state.client.getServerVersion().name, "supertable");
    assert.ok(state.client.getServerCapabilities().tools);
    assert.ok(state.client.getServerCapabilities().resources.subscribe);
    assert.match(state.client.getInstructions(), /query_sql/);
  });

  test("every tool is listed with schemas and annotations", async () => {
    const { tools } = await state.client.listTools();
    const names = tools.map((t) => t.name).sort();
    for (const n of ["health", "info", "whoami", "list_supers", "list_tables", "describe_table", "get_table_stats",
                     "get_super_meta", "get_table_history", "sample_data", "query_sql", "validate_sql", "explain_sql",
                     "profile_column", "search_columns", "data_freshness"]) {
      assert.ok(names.includes(n), `missing tool ${n}`);
    }
    for (const t of tools) {
      assert.equal(t.inputSchema.type, "object", t.name);
      assert.equal(t.annotations.readOnlyHint, true, t.name);
      assert.equal(t.annotations.destructiveHint, false, t.name);
      assert.ok(t.description.length > 20, t.name);
    }
  });

  test("every tool answers", async () => {
    const calls = {
      health: {}, info: {}, whoami: {}, list_supers: {},
      list_tables: { super: "shop" },
      describe_table: { super: "shop", table: "orders" },
      get_table_stats: { super: "shop", table: "orders" },
      get_super_meta: { super: "shop" },
      get_table_history: { super: "shop", table: "orders" },
      sample_data: { super: "shop", table: "customers", limit: 3 },
      query_sql: { super: "shop", sql: "SELECT status, count(*) AS n FROM orders GROUP BY 1 ORDER BY 2 DESC" },
      validate_sql: { super: "shop", sql: "SELECT * FROM orders" },
      explain_sql: { super: "shop", sql: "SELECT count(*) FROM orders" },
      profile_column: { super: "shop", table: "orders", column: "status" },
      search_columns: { pattern: "*_id" },
      data_freshness: { super: "shop" },
    };
    for (const [name, args] of Object.entries(calls)) {
      const r = await state.client.callTool({ name, arguments: args });
      assert.equal(r.isError, false, `${name}: ${JSON.stringify(r.content)}`);
      assert.ok(r.structuredContent, name);
      assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent, name);
    }
    // Names are case-insensitive in tools as in SQL.
    const upper = await state.client.callTool({ name: "describe_table", arguments: { super: "SHOP", table: "Orders" } });
    assert.equal(upper.isError, false, JSON.stringify(upper.content));
    assert.equal(upper.structuredContent.table, "orders");
    const q = await state.client.callTool({ name: "query_sql", arguments: calls.query_sql.valueOf() });
    assert.equal(q.structuredContent.row_count, 4);
    assert.deepEqual(q.structuredContent.columns.map((c) => c.type), ["VARCHAR", "BIGINT"]);
    assert.equal((await state.client.callTool({ name: "sample_data", arguments: calls.sample_data })).structuredContent.rows.length, 3);
  });

  test("errors come back as results the model can act on", async () => {
    const typo = await state.client.callTool({ name: "describe_table", arguments: { super: "shop", table: "ordrs" } });
    assert.equal(typo.isError, true);
    assert.match(typo.content[0].text, /did you mean 'orders'/);
    const hostile = await state.client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT * FROM read_csv('/etc/passwd')" } });
    assert.equal(hostile.isError, true);
    assert.match(hostile.content[0].text, /not allowed/);
    const bad = await state.client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT 1", limit: -1 } });
    assert.equal(bad.isError, true);
    assert.match(bad.content[0].text, /limit: must be >= 1/);
    const valid = await state.client.callTool({ name: "validate_sql", arguments: { super: "shop", sql: "SELECT nope FROM orders" } });
    assert.equal(valid.structuredContent.valid, false);
    // Regression: SQL that already starts with EXPLAIN is valid, not "EXPLAIN EXPLAIN".
    const explained = await state.client.callTool({ name: "validate_sql", arguments: { super: "shop", sql: "  explain SELECT 1" } });
    assert.equal(explained.structuredContent.valid, true);
    await assert.rejects(state.client.callTool({ name: "no_such_tool", arguments: {} }), /Unknown tool/);
  });

  test("truncation is explicit", async () => {
    const r = await state.client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT * FROM orders", limit: 5 } });
    assert.equal(r.structuredContent.row_count, 5);
    assert.equal(r.structuredContent.truncated, true);
  });

  test("time travel through as_of and AT", async () => {
    const v1 = await state.client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) AS n FROM orders", as_of: 1 } });
    assert.equal(v1.structuredContent.rows[0][0], 4000);
    const at = await state.client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) AS n FROM orders AT (VERSION => 1)" } });
    assert.equal(at.structuredContent.rows[0][0], 4000);
  });

  test("resources, templates, subscriptions", async () => {
    const { resources } = await state.client.listResources();
    assert.ok(resources.some((r) => r.uri === "supertable://shop/orders"));
    const { resourceTemplates } = await state.client.listResourceTemplates();
    assert.equal(resourceTemplates[0].uriTemplate, "supertable://{super}/{table}");
    const r = await state.client.readResource({ uri: "supertable://shop/orders" });
    const body = JSON.parse(r.contents[0].text);
    assert.ok(body.columns.some((c) => c.name === "order_id"));
    await assert.rejects(state.client.readResource({ uri: "supertable://shop/nope" }), /Resource not found/);
    const sub = state.modern
      ? await state.client.listen({ resourceSubscriptions: ["supertable://shop/customers"] })
      : await state.client.subscribeResource({ uri: "supertable://shop/customers" });
    // A commit to the table changes the resource: subscribers hear of it.
    execFileSync(bin, ["ingest", "shop", "customers", join(data, "customers.csv"), "--overwrite-columns", "customer_id"],
                 { env: { ...process.env, SUPERTABLE_HOME: state.home } });
    for (let i = 0; i < 100 && !state.updates.includes("supertable://shop/customers"); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(state.updates, ["supertable://shop/customers"]);
    if (state.modern) await sub.close();
    else await state.client.unsubscribeResource({ uri: "supertable://shop/customers" });
  });

  test("prompts and completions", async () => {
    const { prompts } = await state.client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), ["answer_with_sql", "explore_table"]);
    const p = await state.client.getPrompt({ name: "explore_table", arguments: { super: "shop", table: "orders" } });
    assert.match(p.messages[0].content.text, /shop\.orders/);
    const supers = await state.client.complete({ ref: { type: "ref/prompt", name: "explore_table" }, argument: { name: "super", value: "sh" } });
    assert.deepEqual(supers.completion.values, ["shop"]);
    const tables = await state.client.complete({
      ref: { type: "ref/resource", uri: "supertable://{super}/{table}" },
      argument: { name: "table", value: "o" },
      context: { arguments: { super: "shop" } },
    });
    assert.deepEqual(tables.completion.values, ["orders"]);
  });

  test("logging and progress notifications", async () => {
    // The modern era sets no session level (a request carries its own): progress only.
    if (!state.modern) await state.client.setLoggingLevel("debug");
    const progress = [];
    // A query that takes a moment: the SDK client drops progress that arrives after the reply has
    // been handled, so an instant query could make this test flaky.
    await callWith({ name: "query_sql", arguments: { super: "shop", sql: "SELECT sum(x * x) FROM range(60000000) t(x)" } }, {
      onprogress: (p) => progress.push(p),
    });
    assert.ok(progress.length >= 1);
    if (state.modern) return;
    assert.ok(state.logs.some((l) => l.data && l.data.tool === "query_sql"));
    await state.client.setLoggingLevel("error");
  });

  test("cancellation stops a long query and the server carries on", async () => {
    const ac = new AbortController();
    const start = Date.now();
    const call = callWith(
      { name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) FROM range(100000000) a, range(100000000) b" } },
      { signal: ac.signal, timeout: 120000 },
    );
    setTimeout(() => ac.abort("user changed their mind"), 300);
    await assert.rejects(call);
    if (state.modern) await state.client.listTools();  // no ping in this era
    else await state.client.ping();
    // The cancelled query released its slot: a new query answers at once.
    const r = await state.client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT 42 AS x" } });
    assert.equal(r.structuredContent.rows[0][0], 42);
    assert.ok(Date.now() - start < 30000);
  });
}

// Stops a server started by startServe (SIGTERM) and resolves to its exit code.
export async function stop(server) {
  if (server.child.exitCode !== null) return server.child.exitCode;
  const exited = new Promise((r) => server.child.on("exit", (code) => r(code)));
  server.child.kill("SIGTERM");
  return exited;
}

// One raw HTTP request (a minute at most); node:http lets a test set Host and send anything.
export function raw(port, { method = "POST", path = "/mcp", headers = {}, body = "" } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false, timeout: 60000 }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

export const ACCEPT = "application/json, text/event-stream";
export const jsonHeaders = (extra = {}) => ({ "content-type": "application/json", accept: ACCEPT, ...extra });
export const initBody = JSON.stringify({
  jsonrpc: "2.0", id: 1, method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});
