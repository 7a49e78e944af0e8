// Many servers on one warehouse: two `supertable serve` processes, each with a home (and object
// cache) of its own as on two machines, share a catalog in a real redis-server and files in a
// real S3-compatible server (s3rver). Checked with the official MCP SDK client: each server sees
// the other's commits at once; concurrent CLI writers from both "machines" lose no row; a
// snapshot a query pinned stays readable through a concurrent commit, compaction and gc; and one
// modern (2026-07-28) client through a round-robin proxy is served by both, request by request.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import http from "node:http";

import { Client, StreamableHTTPClientTransport as ModernHttpTransport } from "@modelcontextprotocol/client";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { bin, data, freePort, newClient, raw, startServe, waitForPort } from "./session_suite.mjs";

const run = promisify(execFile);
const children = [];
const dirs = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir() {
  const d = mkdtempSync(join(tmpdir(), "supertable-many-"));
  dirs.push(d);
  return d;
}

async function startServers() {
  const redisPort = await freePort();
  children.push(spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", ""], { stdio: "ignore" }));
  const s3Port = await freePort();
  const s3rver = new URL("../storage/node_modules/s3rver/bin/s3rver.js", import.meta.url).pathname;
  children.push(spawn(process.execPath, ["--openssl-legacy-provider", s3rver, "-s", "-a", "127.0.0.1", "-p", String(s3Port), "-d", tempDir()], { stdio: "ignore" }));
  await waitForPort(redisPort, "redis-server");
  await waitForPort(s3Port, "s3rver");
  return {
    LOCKING_BACKEND: "redis",
    SUPERTABLE_REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
    STORAGE_TYPE: "MINIO",
    STORAGE_ENDPOINT_URL: `http://127.0.0.1:${s3Port}`,
    STORAGE_ACCESS_KEY: "S3RVER",
    STORAGE_SECRET_KEY: "S3RVER",
    STORAGE_BUCKET: "shared-warehouse",
    SUPERTABLE_DUCKDB_THREADS: "2",
  };
}

async function serve(env) {
  const server = await startServe(env, [], (child) => children.push(child));
  const client = newClient({});
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  return { ...server, client };
}

async function sql(server, text, extra = {}) {
  const r = await server.client.callTool({ name: "query_sql", arguments: { super: "shared", sql: text, ...extra } });
  assert.ok(!r.isError, JSON.stringify(r.content));
  return r.structuredContent.rows;
}

test("two servers and their writers share one Redis catalog and one bucket", async () => {
  const shared = await startServers();
  const homeA = tempDir();
  const homeB = tempDir();
  const envA = { ...shared, SUPERTABLE_HOME: homeA };
  const envB = { ...shared, SUPERTABLE_HOME: homeB };
  const cli = (env, args) => run(bin, args, { env: { ...process.env, ...env } });

  await cli(envA, ["ingest", "shared", "events", join(data, "orders.csv")]);
  const a = await serve(envA);
  const b = await serve(envB);
  assert.deepEqual([(await sql(a, "SELECT count(*) FROM events"))[0][0], (await sql(b, "SELECT count(*) FROM events"))[0][0]], [4000, 4000]);
  const info = await b.client.callTool({ name: "info", arguments: {} });
  assert.equal(info.structuredContent.catalog, "redis");
  assert.equal(info.structuredContent.storage_type, "MINIO");

  // A commit from machine B's CLI is seen by both servers on their next call.
  await cli(envB, ["ingest", "shared", "events", join(data, "orders_update.csv"), "--overwrite-columns", "order_id"]);
  assert.deepEqual([(await sql(a, "SELECT count(*) FROM events"))[0][0], (await sql(b, "SELECT count(*) FROM events"))[0][0]], [4100, 4100]);

  // Four writers, two per machine, three appends each, all at once: no row is lost.
  const inputs = tempDir();
  const writers = [];
  for (let w = 0; w < 4; w++) {
    writers.push((async () => {
      for (let round = 0; round < 3; round++) {
        const first = 100000 + (w * 3 + round) * 50;
        const rows = Array.from({ length: 50 }, (_, i) => `${first + i},${w},${round}`).join("\n");
        const file = join(inputs, `w${w}-r${round}.csv`);
        writeFileSync(file, `id,writer,round\n${rows}\n`);
        await cli(w % 2 ? envB : envA, ["ingest", "shared", "appends", file]);
      }
    })());
  }
  await Promise.all(writers);
  for (const s of [a, b]) {
    assert.deepEqual(await sql(s, "SELECT count(*), count(DISTINCT id) FROM appends"), [[600, 600]]);
  }

  // A pinned snapshot survives a concurrent commit, compaction and an aggressive gc: a query
  // runs on A while B's machine writes, compacts and collects; the pinned version still reads.
  const history = await a.client.callTool({ name: "get_table_history", arguments: { super: "shared", table: "events" } });
  assert.ok(!history.isError, JSON.stringify(history.content));
  const pinned = history.structuredContent.versions[0].version;
  const before = (await sql(a, "SELECT count(*), sum(amount) FROM events", { as_of: pinned }))[0];
  const heavy = sql(a, "SELECT count(*) FROM events x JOIN events y ON x.customer_id = y.customer_id", { as_of: pinned });
  await cli(envB, ["ingest", "shared", "events", join(data, "orders.csv")]);
  await cli(envB, ["compact", "shared", "events"]);
  await cli(envB, ["gc", "shared", "events", "--retention", "0s", "--grace", "0s"]);
  assert.ok((await heavy)[0][0] > 0);
  for (const s of [a, b]) {
    assert.deepEqual((await sql(s, "SELECT count(*), sum(amount) FROM events", { as_of: pinned }))[0], before);
    assert.equal((await sql(s, "SELECT count(*) FROM events"))[0][0], 8100);
  }

  for (const s of [a, b]) {
    await s.client.close();
    const exited = new Promise((r) => s.child.on("exit", r));
    s.child.kill("SIGTERM");
    assert.equal(await exited, 0, s.stderr());
  }
});

// A reverse proxy on 127.0.0.1 that sends each HTTP request to the next backend in turn (as a
// round-robin load balancer does), streaming the answer back; it counts what each one served.
// Sends one modern (2026-07-28) request at a time to `port` with the headers the revision
// requires, declaring `capabilities`: the JSON-RPC answer (HTTP 200 asserted).
function modernRpc(port, capabilities) {
  let id = 0;
  return async (method, params, name, caps = capabilities) => {
    const r = await raw(port, {
      headers: { "content-type": "application/json", accept: "application/json", "mcp-protocol-version": "2026-07-28",
                 "mcp-method": method, "mcp-name": name },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method,
        params: { ...params, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                      "io.modelcontextprotocol/clientCapabilities": caps } } }),
    });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
}

async function roundRobin(ports) {
  const served = ports.map(() => 0);
  let next = 0;
  const proxy = http.createServer((req, res) => {
    const i = next++ % ports.length;
    served[i]++;
    const up = http.request({ host: "127.0.0.1", port: ports[i], method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${proxy.address().port}/mcp`, served, close: () => proxy.close() };
}

test("one modern client (SDK 2.x, 2026-07-28) through a round-robin proxy to two replicas", async () => {
  const shared = await startServers();
  const envA = { ...shared, SUPERTABLE_HOME: tempDir() };
  const envB = { ...shared, SUPERTABLE_HOME: tempDir() };
  const cli = (env, args) => run(bin, args, { env: { ...process.env, ...env } });
  await cli(envA, ["ingest", "rr", "events", join(data, "orders.csv")]);
  const a = await startServe(envA, [], (child) => children.push(child));
  const b = await startServe(envB, [], (child) => children.push(child));
  const proxy = await roundRobin([a.port, b.port]);
  const client = new Client({ name: "round-robin", version: "1" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await client.connect(new ModernHttpTransport(new URL(proxy.url)));
  assert.equal(client.getProtocolEra(), "modern");
  const updates = [];
  client.setNotificationHandler("notifications/resources/updated", (n) => updates.push(n.params.uri));
  const sub = await client.listen({ resourceSubscriptions: ["supertable://rr/events"] });
  assert.deepEqual(sub.honoredFilter, { resourceSubscriptions: ["supertable://rr/events"] });
  // Every request may land on either replica: none depends on what another request left behind.
  for (let i = 0; i < 6; i++) {
    const r = await client.callTool({ name: "query_sql", arguments: { super: "rr", sql: "SELECT count(*) FROM events" } });
    assert.equal(r.isError, false, JSON.stringify(r.content));
    assert.equal(r.structuredContent.rows[0][0], 4000 * (updates.length ? 2 : 1));
    if (i === 2) {
      // A commit through the other "machine": the subscription (on whichever replica holds it)
      // sees it in the shared catalog, and every replica reads the new version.
      await cli(envB, ["ingest", "rr", "events", join(data, "orders.csv")]);
      for (let t = 0; t < 100 && updates.length === 0; t++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(updates, ["supertable://rr/events"]);
    }
  }
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === "query_sql"));
  // One modern request, byte for byte, sent to each replica: the same answer from both.
  const body = JSON.stringify({
    jsonrpc: "2.0", id: 77, method: "tools/call",
    params: { name: "query_sql", arguments: { super: "rr", sql: "SELECT status, count(*) FROM events GROUP BY 1 ORDER BY 1" },
              _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } },
  });
  const replay = await Promise.all([a.port, b.port].map((port) => raw(port, {
    headers: { "content-type": "application/json", accept: "application/json", "mcp-protocol-version": "2026-07-28",
               "mcp-method": "tools/call", "mcp-name": "query_sql" },
    body,
  })));
  for (const r of replay) assert.equal(r.status, 200, r.text);
  assert.deepEqual(replay[0].json.result.structuredContent.rows, replay[1].json.result.structuredContent.rows);
  assert.equal(replay[0].json.id, 77);
  assert.ok(proxy.served[0] >= 3 && proxy.served[1] >= 3, `each replica served requests: ${proxy.served}`);
  // A prompt that asks the user which super table (two are readable): the question from one
  // replica, the answer with its signed state accepted by the other; a changed state refused.
  await cli(envB, ["ingest", "other", "events", join(data, "orders.csv")]);
  const rpc = modernRpc(Number(new URL(proxy.url).port), { elicitation: {} });
  const ask = { name: "answer_with_sql", arguments: { question: "How many events?" } };
  const asked = (await rpc("prompts/get", ask, "answer_with_sql")).result;
  assert.equal(asked.resultType, "input_required", JSON.stringify(asked));
  assert.deepEqual(asked.inputRequests.super.params.requestedSchema.properties.super.enum, ["other", "rr"]);
  const answer = { super: { action: "accept", content: { super: "other" } } };
  const resumed = await rpc("prompts/get", { ...ask, inputResponses: answer, requestState: asked.requestState }, "answer_with_sql");
  assert.equal(resumed.result.resultType, "complete", JSON.stringify(resumed));
  assert.match(resumed.result.messages[0].content.text, /super table 'other'/);
  const state = asked.requestState;
  const tampered = state.slice(0, -2) + (state.endsWith("A") ? "BB" : "AA");
  const refused = await rpc("prompts/get", { ...ask, inputResponses: answer, requestState: tampered }, "answer_with_sql");
  assert.equal(refused.error.code, -32602, JSON.stringify(refused));
  // A choice that is no readable super table is the client's word, checked like a given one.
  const made_up = await rpc("prompts/get", { ...ask, inputResponses: { super: { action: "accept", content: { super: "nope" } } },
                                             requestState: asked.requestState }, "answer_with_sql");
  assert.equal(made_up.error.code, -32602, JSON.stringify(made_up));
  // Without elicitation declared: told to name it, with the choices.
  const no_elicit = await rpc("prompts/get", ask, "answer_with_sql", {});
  assert.match(no_elicit.error.message, /name the super table \(one of other, rr\)/);
  await sub.close();
  await client.close();
  proxy.close();
});

test("a query that runs long is a task any replica answers for, and a cancel reaches the one running it", async () => {
  const shared = await startServers();
  // Every query_sql of a client that takes tasks is one here, however quick.
  const env = () => ({ ...shared, SUPERTABLE_HOME: tempDir(), SUPERTABLE_MCP_TASK_AFTER_MS: "0" });
  const envA = env();
  await run(bin, ["ingest", "tk", "events", join(data, "orders.csv")], { env: { ...process.env, ...envA } });
  const a = await startServe(envA, [], (child) => children.push(child));
  const b = await startServe(env(), [], (child) => children.push(child));
  const proxy = await roundRobin([a.port, b.port]);
  const port = Number(new URL(proxy.url).port);
  const caps = { extensions: { "io.modelcontextprotocol/tasks": {} } };
  const rpc = modernRpc(port, caps);
  const query = (sql, capabilities) =>
    rpc("tools/call", { name: "query_sql", arguments: { super: "tk", sql, timeout_ms: 600000 } }, "query_sql", capabilities);
  const poll = async (taskId, until) => {
    for (let i = 0; i < 300; i++) {
      const t = (await rpc("tasks/get", { taskId }, taskId)).result;
      if (until.includes(t.status)) return t;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`task ${taskId} never reached ${until}`);
  };
  // Without the extension: the plain answer, as always.
  const plain = await query("SELECT count(*) FROM events", {});
  assert.equal(plain.result.resultType, "complete");
  // With it: a task, created on one replica, polled through both, its result the same rows.
  const created = await query("SELECT count(*) FROM events");
  assert.equal(created.result.resultType, "task", JSON.stringify(created));
  const done = await poll(created.result.taskId, ["completed", "failed"]);
  assert.equal(done.status, "completed", JSON.stringify(done));
  assert.deepEqual(done.result.structuredContent.rows, plain.result.structuredContent.rows);
  // A query that would run for minutes, cancelled by the next request (the other replica).
  const long = await query("SELECT count(*) FROM range(100000000000) t(x) WHERE x % 7 = 3");
  assert.equal(long.result.resultType, "task");
  const taskId = long.result.taskId;
  const ack = await rpc("tasks/cancel", { taskId }, taskId);
  assert.equal(ack.result.resultType, "complete");
  const started = Date.now();
  const cancelled = await poll(taskId, ["cancelled", "completed", "failed"]);
  assert.equal(cancelled.status, "cancelled", JSON.stringify(cancelled));
  assert.ok(Date.now() - started < 10000, "the running replica stopped the query within seconds");
  // Both replicas say so, and neither knows a task that is not there.
  for (const p of [a.port, b.port]) {
    const r = await modernRpc(p, caps)("tasks/get", { taskId: "nope" }, "nope");
    assert.equal(r.error.code, -32602, JSON.stringify(r));
  }
  proxy.close();
});
