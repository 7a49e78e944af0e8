// The official MCP TypeScript SDK client against `supertable mcp` over stdio: a full session
// with a client no one here wrote. Run by ctest (tests/CMakeLists.txt) with SUPERTABLE_BIN and
// SUPERTABLE_DEMO_DATA set.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const bin = process.env.SUPERTABLE_BIN;
const data = process.env.SUPERTABLE_DEMO_DATA;
let home;
let client;
const logs = [];
const updates = [];

before(async () => {
  home = mkdtempSync(join(tmpdir(), "supertable-e2e-"));
  const env = { ...process.env, SUPERTABLE_HOME: home };
  for (const t of ["customers", "products", "orders"]) {
    execFileSync(bin, ["ingest", "shop", t, join(data, `${t}.csv`)], { env });
  }
  const transport = new StdioClientTransport({ command: bin, args: ["mcp"], env, stderr: "ignore" });
  client = new Client({ name: "supertable-e2e", version: "1.0.0" });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push(n.params.uri));
  await client.connect(transport);
});

after(async () => {
  await client?.close();
  rmSync(home, { recursive: true, force: true });
});

test("initialize negotiated the newest protocol and described the server", () => {
  assert.equal(client.getServerVersion().name, "supertable");
  assert.ok(client.getServerCapabilities().tools);
  assert.ok(client.getServerCapabilities().resources.subscribe);
  assert.match(client.getInstructions(), /query_sql/);
});

test("every tool is listed with schemas and annotations", async () => {
  const { tools } = await client.listTools();
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
    const r = await client.callTool({ name, arguments: args });
    assert.equal(r.isError, false, `${name}: ${JSON.stringify(r.content)}`);
    assert.ok(r.structuredContent, name);
    assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent, name);
  }
  // Names are case-insensitive in tools as in SQL.
  const upper = await client.callTool({ name: "describe_table", arguments: { super: "SHOP", table: "Orders" } });
  assert.equal(upper.isError, false, JSON.stringify(upper.content));
  assert.equal(upper.structuredContent.table, "orders");
  const q = await client.callTool({ name: "query_sql", arguments: calls.query_sql.valueOf() });
  assert.equal(q.structuredContent.row_count, 4);
  assert.deepEqual(q.structuredContent.columns.map((c) => c.type), ["VARCHAR", "BIGINT"]);
  assert.equal((await client.callTool({ name: "sample_data", arguments: calls.sample_data })).structuredContent.rows.length, 3);
});

test("errors come back as results the model can act on", async () => {
  const typo = await client.callTool({ name: "describe_table", arguments: { super: "shop", table: "ordrs" } });
  assert.equal(typo.isError, true);
  assert.match(typo.content[0].text, /did you mean 'orders'/);
  const hostile = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT * FROM read_csv('/etc/passwd')" } });
  assert.equal(hostile.isError, true);
  assert.match(hostile.content[0].text, /not allowed/);
  const bad = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT 1", limit: -1 } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /limit: must be >= 1/);
  const valid = await client.callTool({ name: "validate_sql", arguments: { super: "shop", sql: "SELECT nope FROM orders" } });
  assert.equal(valid.structuredContent.valid, false);
  // Regression: SQL that already starts with EXPLAIN is valid, not "EXPLAIN EXPLAIN".
  const explained = await client.callTool({ name: "validate_sql", arguments: { super: "shop", sql: "  explain SELECT 1" } });
  assert.equal(explained.structuredContent.valid, true);
  await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), /Unknown tool/);
});

test("truncation is explicit", async () => {
  const r = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT * FROM orders", limit: 5 } });
  assert.equal(r.structuredContent.row_count, 5);
  assert.equal(r.structuredContent.truncated, true);
});

test("time travel through as_of and AT", async () => {
  const v1 = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) AS n FROM orders", as_of: 1 } });
  assert.equal(v1.structuredContent.rows[0][0], 4000);
  const at = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) AS n FROM orders AT (VERSION => 1)" } });
  assert.equal(at.structuredContent.rows[0][0], 4000);
});

test("resources, templates, subscriptions", async () => {
  const { resources } = await client.listResources();
  assert.ok(resources.some((r) => r.uri === "supertable://shop/orders"));
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.equal(resourceTemplates[0].uriTemplate, "supertable://{super}/{table}");
  const r = await client.readResource({ uri: "supertable://shop/orders" });
  const body = JSON.parse(r.contents[0].text);
  assert.ok(body.columns.some((c) => c.name === "order_id"));
  await assert.rejects(client.readResource({ uri: "supertable://shop/nope" }), /Resource not found/);
  await client.subscribeResource({ uri: "supertable://shop/customers" });
  // A commit to the table changes the resource: subscribers hear of it.
  execFileSync(bin, ["ingest", "shop", "customers", join(data, "customers.csv"), "--overwrite-columns", "customer_id"],
               { env: { ...process.env, SUPERTABLE_HOME: home } });
  for (let i = 0; i < 100 && !updates.includes("supertable://shop/customers"); i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(updates, ["supertable://shop/customers"]);
  await client.unsubscribeResource({ uri: "supertable://shop/customers" });
});

test("prompts and completions", async () => {
  const { prompts } = await client.listPrompts();
  assert.deepEqual(prompts.map((p) => p.name).sort(), ["answer_with_sql", "explore_table"]);
  const p = await client.getPrompt({ name: "explore_table", arguments: { super: "shop", table: "orders" } });
  assert.match(p.messages[0].content.text, /shop\.orders/);
  const supers = await client.complete({ ref: { type: "ref/prompt", name: "explore_table" }, argument: { name: "super", value: "sh" } });
  assert.deepEqual(supers.completion.values, ["shop"]);
  const tables = await client.complete({
    ref: { type: "ref/resource", uri: "supertable://{super}/{table}" },
    argument: { name: "table", value: "o" },
    context: { arguments: { super: "shop" } },
  });
  assert.deepEqual(tables.completion.values, ["orders"]);
});

test("logging and progress notifications", async () => {
  await client.setLoggingLevel("debug");
  const progress = [];
  // A query that takes a moment: the SDK client drops progress that arrives after the reply has
  // been handled, so an instant query could make this test flaky.
  await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT sum(x * x) FROM range(60000000) t(x)" } }, undefined, {
    onprogress: (p) => progress.push(p),
  });
  assert.ok(progress.length >= 1);
  assert.ok(logs.some((l) => l.data && l.data.tool === "query_sql"));
  await client.setLoggingLevel("error");
});

test("cancellation stops a long query and the server carries on", async () => {
  const ac = new AbortController();
  const start = Date.now();
  const call = client.callTool(
    { name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) FROM range(100000000) a, range(100000000) b" } },
    undefined,
    { signal: ac.signal, timeout: 120000 },
  );
  setTimeout(() => ac.abort("user changed their mind"), 300);
  await assert.rejects(call);
  await client.ping();
  // The cancelled query released its slot: a new query answers at once.
  const r = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT 42 AS x" } });
  assert.equal(r.structuredContent.rows[0][0], 42);
  assert.ok(Date.now() - start < 30000);
});

test("raw stdio: a request sent right after initialize, without waiting, is served", async () => {
  // Regression: initialize ran on a worker thread, so an eager client's next request could
  // arrive before the session knew it was initialized.
  const child = spawn(bin, ["mcp"], { env: { ...process.env, SUPERTABLE_HOME: home }, stdio: ["pipe", "pipe", "ignore"] });
  const lines = [];
  let buf = "";
  child.stdout.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const send = (m) => child.stdin.write(JSON.stringify(m) + "\n");
  send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
  send({ jsonrpc: "2.0", method: "notifications/initialized" });
  send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
  send({ jsonrpc: "2.0", id: 3, method: "ping" });
  child.stdin.write("this is not json\n");
  send([{ jsonrpc: "2.0", id: 4, method: "ping" }]);
  send({ jsonrpc: "2.0", id: 5, method: "no/such/method" });
  for (let i = 0; i < 100 && lines.length < 6; i++) await new Promise((r) => setTimeout(r, 50));
  child.stdin.end();
  await new Promise((r) => child.on("exit", r));
  const byId = Object.fromEntries(lines.filter((l) => l.id !== null).map((l) => [l.id, l]));
  assert.equal(byId[1].result.protocolVersion, "2025-06-18");
  assert.ok(byId[2].result.tools.length >= 16, JSON.stringify(byId[2]));
  assert.deepEqual(byId[3].result, {});
  assert.equal(byId[5].error.code, -32601);
  const errors = lines.filter((l) => l.id === null).map((l) => l.error.code).sort((a, b) => a - b);
  assert.deepEqual(errors, [-32700, -32600]);
  assert.equal(child.exitCode, 0);
});
