// `supertable serve` keeps serving whatever one query does: with the official MCP SDK client,
// a query that outruns DuckDB's interrupts ends at its deadline, runaways in every slot do not
// starve an ordinary call, a crashed engine worker fails only its own call, and SIGTERM stops
// the server within its drain time even with such a query running. Servers run on 127.0.0.1
// with free ports and are always stopped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";

import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { demoWarehouse, newClient, startServe } from "./session_suite.mjs";

const state = {};
const servers = [];

// Scalar work DuckDB does not interrupt: LIKE backtracking over a long string, for minutes.
const RUNAWAY = "SELECT like_escape(repeat('a', 4000), repeat('%a', 6) || 'b', '\\')";

// The engine worker processes of a server (its children running supertable-engine).
function engineWorkers(pid) {
  const out = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== pid) continue;
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes("supertable-engine")) out.push(Number(e));
    } catch {}
  }
  return out;
}

async function connect(server) {
  const client = newClient({});
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  return client;
}

const query = (client, sql, timeout_ms) =>
  client.callTool({ name: "query_sql", arguments: { super: "shop", sql, ...(timeout_ms ? { timeout_ms } : {}) } },
                  undefined, { timeout: 120000 });

before(async () => {
  state.home = demoWarehouse();
  state.server = await startServe({ SUPERTABLE_HOME: state.home }, [], (c) => servers.push(c));
  state.client = await connect(state.server);
});

after(async () => {
  await state.client?.close();
  for (const s of servers) if (s.exitCode === null) s.kill("SIGKILL");
  rmSync(state.home, { recursive: true, force: true });
});

test("a query DuckDB cannot interrupt ends at its deadline, and the server serves on", async () => {
  const start = Date.now();
  const r = await query(state.client, RUNAWAY, 1000);
  const took = Date.now() - start;
  assert.equal(r.isError, true);
  assert.match(r.content[0].text, /time limit of 1000 ms/);
  assert.ok(took < 4000, `took ${took} ms`);
  const ok = await query(state.client, "SELECT count(*) AS n FROM orders");
  assert.equal(ok.isError, false, JSON.stringify(ok.content));
  assert.equal(ok.structuredContent.rows[0][0], 4000);
});

test("runaways in every query slot do not starve an ordinary call", async () => {
  const start = Date.now();
  const runaways = [0, 1, 2, 3].map(() => query(state.client, RUNAWAY, 1500));
  await new Promise((r) => setTimeout(r, 200));
  const ordinary = await query(state.client, "SELECT count(*) FROM customers", 30000);
  const results = await Promise.all(runaways);
  assert.equal(ordinary.isError, false, JSON.stringify(ordinary.content));
  for (const r of results) assert.match(r.content[0].text, /time limit/);
  assert.ok(Date.now() - start < 10000);
  const health = await state.client.callTool({ name: "health", arguments: {} });
  assert.equal(health.isError, false);
});

test("a crashed engine worker fails only its own call", async () => {
  const slow = query(state.client, "SELECT count(*) FROM range(100000000) a, range(100000000) b", 60000);
  await new Promise((r) => setTimeout(r, 700));
  const workers = engineWorkers(state.server.child.pid);
  assert.ok(workers.length > 0, "serve has engine workers");
  // What a crash inside DuckDB looks like from outside: the worker ends by a signal.
  for (const pid of workers) process.kill(pid, "SIGSEGV");
  const r = await slow;
  assert.equal(r.isError, true);
  assert.match(r.content[0].text, /SIGSEGV/);
  const ok = await query(state.client, "SELECT count(*) AS n FROM products");
  assert.equal(ok.isError, false, JSON.stringify(ok.content));
  assert.equal(state.server.child.exitCode, null);
});

test("SIGTERM stops the server within its drain time while a runaway query runs", async () => {
  const server = await startServe({ SUPERTABLE_HOME: state.home }, [], (c) => servers.push(c));
  const client = await connect(server);
  const pending = query(client, RUNAWAY, 600000).catch((e) => ({ error: e }));
  await new Promise((r) => setTimeout(r, 500));
  const exited = new Promise((r) => server.child.on("exit", (code, signal) => r({ code, signal })));
  const start = Date.now();
  server.child.kill("SIGTERM");
  const how = await exited;
  const took = Date.now() - start;
  assert.equal(how.code, 0, server.stderr());
  assert.ok(took < 12000, `stopped after ${took} ms`);
  // The client's request had no answer before the server went; it fails on its own.
  await client.close().catch(() => {});
  pending.catch(() => {});
  // Its workers went with it.
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(engineWorkers(server.child.pid), []);
});
