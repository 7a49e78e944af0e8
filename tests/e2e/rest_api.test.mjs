// The REST API (/api/v1) of `supertable serve`, checked with tools no one here wrote: its
// OpenAPI 3.1 document by @seriousme/openapi-schema-validator, and every endpoint's answer
// against the response schema that document gives it, by ajv (JSON Schema 2020-12). The same
// operations as the MCP tools, so their answers are compared with the official MCP SDK
// client's; the same principal, policy and refusals (a token required, a row filter, a hidden
// column, an ungranted table that does not exist). Servers on 127.0.0.1, free ports, always
// stopped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";

import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { bin, data, demoWarehouse, freePort, newClient, raw, startServe, stop } from "./session_suite.mjs";

const state = {};

function cli(...args) {
  return execFileSync(bin, args, { env: { ...process.env, SUPERTABLE_HOME: state.home }, encoding: "utf8",
                                   stdio: ["ignore", "pipe", "pipe"] });
}

before(async () => {
  state.home = demoWarehouse();
  cli("role", "add", "nl_customers", "--type", "reader", "--tables", "shop.customers",
      "--columns", "shop.customers=customer_id,name,country",
      "--row-filter", "shop.customers=country = 'NL'");
  cli("user", "add", "dana", "--role", "nl_customers");
  const r = spawnSync(bin, ["token", "create", "dana"], { env: { ...process.env, SUPERTABLE_HOME: state.home }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  state.dana = r.stdout.trim();
  state.supertoken = randomBytes(24).toString("hex");
  state.server = await startServe({ SUPERTABLE_HOME: state.home, SUPERTABLE_REQUIRE_TOKEN: "1",
                                    SUPERTABLE_SUPERTOKEN: state.supertoken,
                                    SUPERTABLE_MAX_UPLOAD_BYTES: String(8 << 20) });
  state.admin = { authorization: `Bearer ${state.supertoken}` };
});

after(async () => {
  if (state.server) await stop(state.server);
  rmSync(state.home, { recursive: true, force: true });
});

async function rest(method, path, { headers = state.admin, body } = {}) {
  const r = await raw(state.server.port, {
    method, path,
    headers: { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body !== undefined ? JSON.stringify(body) : "",
  });
  return r;
}

async function mcp(headers, name, args) {
  const client = newClient({});
  await client.connect(new StreamableHTTPClientTransport(new URL(state.server.url), { requestInit: { headers } }));
  try {
    return await client.callTool({ name, arguments: args });
  } finally {
    await client.close();
  }
}

// What each endpoint is called with: path parameters, query or body.
const calls = {
  health: {}, info: {}, whoami: {}, list_supers: {},
  get_super_meta: { path: { super: "shop" } },
  list_tables: { path: { super: "shop" } },
  describe_table: { path: { super: "shop", table: "orders" } },
  get_table_stats: { path: { super: "shop", table: "orders" } },
  get_table_history: { path: { super: "shop", table: "orders" }, query: { limit: 5 } },
  sample_data: { path: { super: "shop", table: "orders" }, query: { limit: 3 } },
  profile_column: { path: { super: "shop", table: "orders", column: "status" }, query: { top: 3 } },
  data_freshness: { path: { super: "shop" } },
  search_columns: { query: { pattern: "*_id" } },
  query_sql: { body: { super: "shop", sql: "SELECT status, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1", limit: 10 } },
  validate_sql: { body: { super: "shop", sql: "SELECT count(*) FROM orders" } },
  explain_sql: { body: { super: "shop", sql: "SELECT count(*) FROM orders" } },
  read_audit: { query: { limit: 5, since: "1h" } },
  openapi: {},
};
// Operations that change things, called in their own order by the administration test below
// (each answer still checked against the document).
const sequenced = new Set([
  "create_super", "drop_super", "drop_table", "write_table", "write_table_form", "compact_table",
  "gc_table", "get_table_snapshot", "list_users", "create_user", "get_user", "update_user",
  "remove_user", "grant_role", "revoke_role", "list_roles", "create_role", "get_role", "remove_role",
  "list_tokens", "create_token", "revoke_token", "get_config",
]);
const checked = new Set();

// Checks an answer against the OpenAPI document's schema for its operation.
async function conforms(operationId, r, status = 200) {
  assert.equal(r.status, status, `${operationId}: ${r.text}`);
  const doc = state.doc ??= (await rest("GET", "/api/v1/openapi.json")).json;
  const ajv = state.ajv ??= (() => {
    const a = new Ajv2020({ strict: false, allErrors: true });
    addFormats(a);
    a.addSchema(doc.components.schemas.Problem, "#/components/schemas/Problem");
    return a;
  })();
  for (const methods of Object.values(doc.paths)) {
    for (const op of Object.values(methods)) {
      if (op.operationId !== operationId) continue;
      const schema = status === 200 ? op.responses["200"].content["application/json"].schema
                                    : { $ref: "#/components/schemas/Problem" };
      const validate = ajv.compile(schema);
      assert.ok(validate(r.json), `${operationId}: ${JSON.stringify(validate.errors)} in ${r.text.slice(0, 300)}`);
      checked.add(operationId);
      return r.json;
    }
  }
  assert.fail(`${operationId} is not in the OpenAPI document`);
}

// A multipart/form-data body as a browser's form sends it.
function form(fields, file) {
  const boundary = "----supertable" + randomBytes(8).toString("hex");
  let body = "";
  for (const [k, v] of Object.entries(fields)) {
    body += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  }
  body += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\n` +
          `Content-Type: ${file.type}\r\n\r\n${file.text}\r\n--${boundary}--\r\n`;
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

function upload(path, text, headers = {}) {
  return raw(state.server.port, { method: "PUT", path, headers: { ...state.admin, "content-type": "text/csv", ...headers }, body: text });
}

function urlOf(template, call) {
  let path = template.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(call.path[k]));
  if (call.query) path += "?" + new URLSearchParams(Object.entries(call.query).map(([k, v]) => [k, String(v)]));
  return path;
}

test("the OpenAPI document is valid OpenAPI 3.1 and every endpoint answers as it says", async () => {
  const doc = (await rest("GET", "/api/v1/openapi.json")).json;
  const validator = new Validator();
  const verdict = await validator.validate(doc);
  assert.ok(verdict.valid, JSON.stringify(verdict.errors, null, 1));
  assert.equal(doc.openapi, "3.1.0");
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc.components.schemas.Problem, "#/components/schemas/Problem");
  const seen = new Set();
  for (const [template, methods] of Object.entries(doc.paths)) {
    for (const [verb, op] of Object.entries(methods)) {
      if (op.operationId.endsWith("_statement")) continue;  // below, with their own test
      if (sequenced.has(op.operationId)) continue;  // below, in the order they make sense
      const call = calls[op.operationId];
      assert.ok(call, `no test call for ${op.operationId}`);
      seen.add(op.operationId);
      const r = await rest(verb.toUpperCase(), urlOf(template, call), call.body !== undefined ? { body: call.body } : {});
      assert.equal(r.status, 200, `${verb} ${template}: ${r.text}`);
      assert.match(r.headers["content-type"], /^application\/json/);
      const validate = ajv.compile(op.responses["200"].content["application/json"].schema);
      assert.ok(validate(r.json), `${op.operationId}: ${JSON.stringify(validate.errors)} in ${r.text.slice(0, 300)}`);
    }
  }
  assert.deepEqual([...seen].sort(), Object.keys(calls).sort(), "every endpoint is exercised");
  const all = Object.values(doc.paths).flatMap((m) => Object.values(m).map((op) => op.operationId));
  for (const id of all) {
    assert.ok(calls[id] || sequenced.has(id) || id.endsWith("_statement"), `${id} is tested`);
  }
});

test("administration and uploads: supers, writes (raw, form, idempotent), compact, gc, snapshots, users, roles, tokens, config", async () => {
  const admin = state.admin;
  await conforms("create_super", await rest("POST", "/api/v1/supers", { body: { name: "scratch" } }));
  assert.equal((await rest("POST", "/api/v1/supers", { body: { name: "scratch" } })).status, 409);
  assert.equal((await rest("POST", "/api/v1/supers", { body: { name: "bad name!" } })).status, 400);

  // A raw CSV body; repeated with the same Idempotency-Key it answers the same and writes once.
  const csv = "id,name,amount\n1,ann,10\n2,bob,20\n3,cy,30\n";
  const path = "/api/v1/supers/scratch/tables/t/data";
  const first = await conforms("write_table", await upload(path, csv, { "idempotency-key": "load-1" }));
  assert.equal(first.version, 1);
  assert.equal(first.inserted, 3);
  const again = await conforms("write_table", await upload(path, csv, { "idempotency-key": "load-1" }));
  assert.equal(again.version, 1);
  assert.equal(again.replayed, true);
  const reused = await upload(path, "id,name,amount\n9,z,1\n", { "idempotency-key": "load-1" });
  assert.equal(reused.status, 409);
  assert.match(reused.json.detail, /different upload/);
  // A browser form: an upsert by id, the format from the file's type.
  const f = form({ overwrite_columns: "id" }, { name: "fix.csv", type: "text/csv", text: "id,name,amount\n2,bob,25\n4,dee,40\n" });
  const upsert = await conforms("write_table_form", await raw(state.server.port, {
    method: "POST", path, headers: { ...admin, "content-type": f.type }, body: f.body }));
  assert.equal(upsert.version, 2);
  assert.equal(upsert.deleted, 1);
  // NDJSON by Content-Type, delete_only by query parameter.
  const del = await upload(`${path}?overwrite_columns=id&delete_only=true`, '{"id": 3}\n', { "content-type": "application/x-ndjson" });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.deleted, 1);
  const rows = JSON.parse(cli("query", "scratch", "SELECT id, amount FROM t ORDER BY id", "--format", "json")).rows;
  assert.deepEqual(rows, [[1, 10], [2, 25], [4, 40]]);

  // What is wrong is said, and nothing is written.
  const bad = [
    [await upload(path, "", {}), 400, /empty/],
    [await upload(path, csv, { "content-type": "application/octet-stream" }), 400, /Content-Type text\/csv/],
    [await upload(path, "id,name,amount\n1,x,notanumber\n"), 400, /./],
    [await upload(path, '[{"id": 1}, {"id":', { "content-type": "application/json" }), 400, /^the upload: the JSON array is not closed/],
    [await raw(state.server.port, { method: "POST", path, headers: { ...admin, "content-type": "multipart/form-data; boundary=zz" },
                                    body: "--zz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nid\n1\n" }), 400, /closing boundary/],
    [await upload(path, "x".repeat(9 << 20)), 413, /exceeds the limit of 8388608 bytes/],
  ];
  for (const [r, status, re] of bad) {
    assert.equal(r.status, status, r.text.slice(0, 300));
    assert.match(r.json.detail ?? r.json.error?.message ?? r.text, re);
  }
  // A body larger than what the server keeps in memory (4 MiB) streams to disk and writes.
  let big = "id,name,amount\n";
  for (let i = 100; big.length < (5 << 20); i++) big += `${i},name_${i}_${"p".repeat(40)},${i}\n`;
  const large = await upload("/api/v1/supers/scratch/tables/big/data", big);
  assert.equal(large.status, 200, large.text);
  assert.equal(large.json.inserted, big.trim().split("\n").length - 1);
  // A cut upload: the connection closes before the body is complete; nothing changes.
  await new Promise((resolve) => {
    const s = net.connect(state.server.port, "127.0.0.1", () => {
      s.write(`PUT /api/v1/supers/scratch/tables/cut/data HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
              `Authorization: ${admin.authorization}\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\nid\n1\n`);
      setTimeout(() => { s.destroy(); resolve(); }, 200);
    });
  });
  assert.equal((await rest("GET", "/api/v1/supers/scratch/tables/cut")).status, 404);
  assert.deepEqual(readdirSync(join(state.home, "uploads")).flatMap((d) => readdirSync(join(state.home, "uploads", d))), [],
                   "no upload is left on disk");

  // Snapshots at a version, compaction, gc.
  const v1 = await conforms("get_table_snapshot", await rest("GET", "/api/v1/supers/scratch/tables/t/snapshot?as_of=1"));
  assert.equal(v1.version, 1);
  assert.equal(v1.rows, 3);
  assert.ok(v1.files[0].stats.amount.max === "30");
  const now = await conforms("get_table_snapshot", await rest("GET", "/api/v1/supers/scratch/tables/t/snapshot"));
  assert.equal(now.version, 3);
  assert.ok(now.delete_files.length >= 1);
  const compacted = await conforms("compact_table", await rest("POST", "/api/v1/supers/scratch/tables/t/compact"));
  assert.equal(compacted.committed, true);
  const gc = await conforms("gc_table", await rest("POST", "/api/v1/supers/scratch/tables/t/gc", { body: { retention: "0s", grace: "0s", dry_run: true } }));
  assert.equal(gc.dry_run, true);

  // Users, roles, grants and tokens; then that user's view.
  await conforms("create_user", await rest("POST", "/api/v1/users", { body: { name: "erin", email: "erin@example.com" } }));
  await conforms("create_role", await rest("POST", "/api/v1/roles", { body: { name: "scratch_writer", type: "writer", tables: ["scratch.*"] } }));
  const badRole = await rest("POST", "/api/v1/roles", { body: { name: "broken", type: "reader", tables: ["scratch.t"], row_filters: { "scratch.t": "id = = 1" } } });
  assert.equal(badRole.status, 400, badRole.text);
  await conforms("get_role", await rest("GET", "/api/v1/roles/scratch_writer"));
  const granted = await conforms("grant_role", await rest("POST", "/api/v1/users/erin/roles", { body: { role: "scratch_writer" } }));
  assert.deepEqual(granted.roles, ["scratch_writer"]);
  assert.ok((await conforms("list_users", await rest("GET", "/api/v1/users"))).users.some((u) => u.name === "erin"));
  assert.ok((await conforms("list_roles", await rest("GET", "/api/v1/roles"))).roles.some((r) => r.name === "scratch_writer"));
  const issued = await conforms("create_token", await rest("POST", "/api/v1/tokens", { body: { owner: "erin", name: "laptop", expires_in: "30d" } }));
  assert.match(issued.token, /^st_/);
  const erin = { authorization: `Bearer ${issued.token}` };
  assert.equal((await conforms("get_user", await rest("GET", "/api/v1/users/erin", { headers: erin }))).tokens.length, 1);
  assert.equal((await upload(path, "id,name,amount\n5,eve,50\n", erin)).status, 200);
  const notHers = await upload("/api/v1/supers/shop/tables/orders/data", "order_id\n1\n", erin);
  assert.equal(notHers.status, 403);
  assert.match(notHers.json.detail, /no role of yours lets you write shop\.orders/);
  assert.equal((await rest("GET", "/api/v1/users", { headers: erin })).status, 403);
  assert.equal((await rest("GET", "/api/v1/users/dana", { headers: erin })).status, 403);
  assert.equal((await rest("DELETE", "/api/v1/supers/scratch/tables/t", { headers: erin })).status, 403);
  // dana reads customers through a row filter: the files (their statistics) are not hers to see,
  // and orders does not exist for her at all.
  const dana = { authorization: `Bearer ${state.dana}` };
  assert.equal((await rest("GET", "/api/v1/supers/shop/tables/customers/snapshot", { headers: dana })).status, 403);
  const hidden = await rest("GET", "/api/v1/supers/shop/tables/orders/snapshot", { headers: dana });
  assert.equal(hidden.status, 404);
  assert.equal((await rest("POST", "/api/v1/tokens", { headers: dana, body: { owner: "erin", name: "x" } })).status, 403);
  const own = await conforms("list_tokens", await rest("GET", "/api/v1/tokens", { headers: erin }));
  assert.deepEqual(own.tokens.map((t) => t.owner), ["erin"]);
  assert.equal((await rest("DELETE", `/api/v1/tokens/${own.tokens[0].id}`, { headers: dana })).status, 404);
  await conforms("update_user", await rest("PATCH", "/api/v1/users/erin", { body: { enabled: false } }));
  assert.equal((await rest("GET", "/api/v1/whoami", { headers: erin })).status, 401);
  await conforms("update_user", await rest("PATCH", "/api/v1/users/erin", { body: { enabled: true } }));
  await conforms("revoke_token", await rest("DELETE", `/api/v1/tokens/${own.tokens[0].id}`, { headers: erin }));
  assert.equal((await rest("GET", "/api/v1/whoami", { headers: erin })).status, 401);
  const held = await rest("DELETE", "/api/v1/roles/scratch_writer");
  assert.equal(held.status, 400);
  assert.match(held.json.detail, /revoke/);
  await conforms("revoke_role", await rest("DELETE", "/api/v1/users/erin/roles/scratch_writer"));
  await conforms("remove_role", await rest("DELETE", "/api/v1/roles/scratch_writer"));
  await conforms("remove_user", await rest("DELETE", "/api/v1/users/erin"));

  // The effective configuration: what the server read, its secrets redacted.
  const config = await conforms("get_config", await rest("GET", "/api/v1/config"));
  const token = config.settings.find((x) => x.name === "SUPERTABLE_SUPERTOKEN");
  assert.deepEqual(token, { name: "SUPERTABLE_SUPERTOKEN", value: "[redacted]", source: "environment" });
  assert.ok(!JSON.stringify(config).includes(state.supertoken));
  assert.ok(!JSON.stringify(config).includes(state.home), "no server path is shown");
  assert.equal((await rest("GET", "/api/v1/config", { headers: dana })).status, 403);

  await conforms("drop_table", await rest("DELETE", "/api/v1/supers/scratch/tables/big"));
  await conforms("drop_super", await rest("DELETE", "/api/v1/supers/scratch"));
  assert.equal((await rest("GET", "/api/v1/supers/scratch")).status, 404);
  for (const id of sequenced) assert.ok(checked.has(id), `${id} was checked against the document`);
});

test("statements: a long query waited for, paged, polled and cancelled", async () => {
  const doc = (await rest("GET", "/api/v1/openapi.json")).json;
  const ajv = new Ajv2020({ strict: false });
  const check = (path, verb, status, body) => {
    const schema = doc.paths[path][verb].responses[String(status)].content["application/json"].schema;
    const validate = ajv.compile(schema);
    assert.ok(validate(body), `${verb} ${path} ${status}: ${JSON.stringify(validate.errors)}`);
  };
  // Quick: ended within the wait, 201, the rows a page at a time.
  const sql = "SELECT order_id FROM orders ORDER BY order_id LIMIT 5";
  const made = await rest("POST", "/api/v1/statements", { body: { super: "shop", sql, wait_timeout_ms: 10000 } });
  assert.equal(made.status, 201, made.text);
  check("/api/v1/statements", "post", 201, made.json);
  assert.equal(made.json.state, "succeeded");
  assert.deepEqual(made.json.result.rows, [[1], [2], [3], [4], [5]]);
  const id = made.json.id;
  const page2 = await rest("GET", `/api/v1/statements/${id}?page=2&page_size=2`);
  assert.equal(page2.status, 200);
  check("/api/v1/statements/{id}", "get", 200, page2.json);
  assert.deepEqual(page2.json.result.rows, [[3], [4]]);
  assert.equal(page2.json.result.page_count, 3);
  assert.equal(page2.json.result.next, `/api/v1/statements/${id}?page=3&page_size=2`);
  assert.deepEqual((await rest("GET", page2.json.result.next)).json.result.rows, [[5]]);
  assert.equal((await rest("GET", `/api/v1/statements/${id}?page=9`)).status, 404);
  // Long: 202 with its Location, running, then cancelled.
  const long = await rest("POST", "/api/v1/statements", { body: { super: "shop",
    sql: "SELECT count(*) FROM range(100000000000) t(x) WHERE x % 7 = 3", timeout_ms: 600000, wait_timeout_ms: 300 } });
  assert.equal(long.status, 202, long.text);
  check("/api/v1/statements", "post", 202, long.json);
  assert.equal(long.json.state, "running");
  assert.equal(long.headers.location, `/api/v1/statements/${long.json.id}`);
  assert.equal((await rest("GET", long.headers.location)).json.state, "running");
  // Someone else's statement is as unknown as one that never was.
  const dana = { authorization: `Bearer ${state.dana}` };
  const theirs = await rest("GET", long.headers.location, { headers: dana });
  const never = await rest("GET", "/api/v1/statements/nope", { headers: dana });
  assert.equal(theirs.status, 404);
  assert.equal(never.status, 404);
  assert.equal((await rest("POST", `${long.headers.location}/cancel`, { headers: dana })).status, 404);
  await rest("POST", `${long.headers.location}/cancel`);
  let last;
  for (let i = 0; i < 100; i++) {
    last = (await rest("GET", long.headers.location)).json;
    if (last.state !== "running") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(last.state, "cancelled");
  // SQL that fails: the statement ends failed, saying why; arguments that are wrong: 400 at once.
  const bad = await rest("POST", "/api/v1/statements", { body: { super: "shop", sql: "SELECT nope FROM orders" } });
  assert.equal(bad.json.state, "failed", bad.text);
  assert.match(bad.json.error.detail, /unknown column 'nope'/);
  const wrong = await rest("POST", "/api/v1/statements", { body: { super: "shop", sql: "SELECT 1", wait_timeout_ms: -1 } });
  assert.equal(wrong.status, 400);
  assert.equal((await rest("GET", "/api/v1/statements")).status, 405);
});

test("results of rows download as CSV", async () => {
  const q = calls.query_sql.body;
  const csv = await raw(state.server.port, { method: "POST", path: "/api/v1/query",
    headers: { ...state.admin, "content-type": "application/json", accept: "text/csv" }, body: JSON.stringify(q) });
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.headers["content-type"], /^text\/csv/);
  assert.match(csv.headers["content-disposition"], /attachment; filename="query_sql.csv"/);
  const json = (await rest("POST", "/api/v1/query", { body: q })).json;
  const lines = csv.text.trim().split("\n");
  assert.equal(lines[0], "status,n");
  assert.deepEqual(lines.slice(1), json.rows.map((r) => r.join(",")));
  // A link: ?format=csv, and the truncation said in a header.
  const link = await rest("GET", "/api/v1/supers/shop/tables/orders/data?limit=2&format=csv");
  assert.equal(link.status, 200);
  assert.equal(link.text.trim().split("\n").length, 3);
  const cut = await raw(state.server.port, { method: "POST", path: "/api/v1/query?format=csv",
    headers: { ...state.admin, "content-type": "application/json" },
    body: JSON.stringify({ super: "shop", sql: "SELECT * FROM orders", limit: 5 }) });
  assert.equal(cut.headers["supertable-truncated"], "true");
  assert.equal(cut.text.trim().split("\n").length, 6);
  // An answer that is not rows has no CSV form.
  const notRows = await raw(state.server.port, { method: "GET", path: "/api/v1/supers", headers: { ...state.admin, accept: "text/csv" } });
  assert.equal(notRows.status, 406);
});

test("the same operation as the MCP tool: the same answer, the same error text", async () => {
  const viaRest = (await rest("GET", "/api/v1/supers/shop/tables/orders")).json;
  const viaMcp = await mcp(state.admin, "describe_table", { super: "shop", table: "orders" });
  assert.deepEqual(viaRest, viaMcp.structuredContent);
  const q = calls.query_sql.body;
  const restRows = (await rest("POST", "/api/v1/query", { body: q })).json;
  const mcpRows = (await mcp(state.admin, "query_sql", q)).structuredContent;
  assert.deepEqual(restRows.rows, mcpRows.rows);
  assert.deepEqual(restRows.columns, mcpRows.columns);
  // Errors: RFC 9457 problems whose detail is MCP's message.
  const missing = await rest("GET", "/api/v1/supers/shop/tables/ordrs");
  assert.equal(missing.status, 404);
  assert.match(missing.headers["content-type"], /^application\/problem\+json/);
  assert.equal(missing.json.status, 404);
  assert.equal(missing.json.title, "Not Found");
  const mcpMissing = await mcp(state.admin, "describe_table", { super: "shop", table: "ordrs" });
  assert.equal(mcpMissing.isError, true);
  assert.equal(missing.json.detail, mcpMissing.structuredContent?.error ?? JSON.parse(mcpMissing.content[0].text).error);
  assert.match(missing.json.detail, /did you mean 'orders'/);
  // No door shows where the server keeps its files.
  const info = await rest("GET", "/api/v1/info");
  assert.ok(!info.text.includes(state.home), info.text);
  const hostile = await rest("POST", "/api/v1/query", { body: { super: "shop", sql: "SELECT * FROM read_csv('/etc/passwd')" } });
  assert.equal(hostile.status, 400, hostile.text);
  const badArg = await rest("POST", "/api/v1/query", { body: { super: "shop", sql: "SELECT 1", limit: 0 } });
  assert.equal(badArg.status, 400);
  assert.match(badArg.json.detail, /invalid arguments: arguments.limit: must be >= 1/);
  const notInt = await rest("GET", "/api/v1/supers/shop/tables/orders/history?limit=many");
  assert.equal(notInt.status, 400);
  assert.match(notInt.json.detail, /'limit' must be an integer/);
  const notJson = await raw(state.server.port, { method: "POST", path: "/api/v1/query",
                                                  headers: { ...state.admin, "content-type": "application/json" }, body: "{nope" });
  assert.equal(notJson.status, 400);
  assert.match(notJson.json.detail, /must be a JSON object/);
  const wrongMethod = await rest("DELETE", "/api/v1/supers");
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.allow, "GET, POST");
  const nowhere = await rest("GET", "/api/v1/nowhere");
  assert.equal(nowhere.status, 404);
  assert.match(nowhere.json.detail, /openapi\.json lists them/);
});

test("one principal, one policy: the token's, through REST as through MCP", async () => {
  // No credential: refused at the door, as MCP is, in this door's terms.
  const anonymous = await rest("GET", "/api/v1/supers", { headers: {} });
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers["content-type"], /^application\/problem\+json/);
  assert.match(anonymous.headers["www-authenticate"], /^Bearer /);
  const forged = await rest("GET", "/api/v1/supers", { headers: { authorization: "Bearer st_0000000000000000_nope" } });
  assert.equal(forged.status, 401);
  const dana = { authorization: `Bearer ${state.dana}` };
  const who = (await rest("GET", "/api/v1/whoami", { headers: dana })).json;
  assert.equal(who.user, "dana");
  // Her row filter and columns.
  const nl = readFileSync(join(data, "customers.csv"), "utf8").trim().split("\n").slice(1)
    .filter((l) => l.split(",")[2] === "NL").length;
  const q = (await rest("POST", "/api/v1/query", { headers: dana,
    body: { super: "shop", sql: "SELECT * FROM customers ORDER BY customer_id" } })).json;
  assert.deepEqual(q.columns.map((c) => c.name), ["customer_id", "name", "country"]);
  assert.equal(q.row_count, nl);
  for (const row of q.rows) assert.equal(row[2], "NL");
  const hidden = await rest("POST", "/api/v1/query", { headers: dana, body: { super: "shop", sql: "SELECT is_business FROM customers" } });
  assert.equal(hidden.status, 400);
  assert.match(hidden.json.detail, /unknown column 'is_business'/);
  // A table she may not read is one that does not exist: the same answer, whichever door.
  const ungranted = await rest("GET", "/api/v1/supers/shop/tables/orders", { headers: dana });
  const absent = await rest("GET", "/api/v1/supers/shop/tables/no_such_table", { headers: dana });
  assert.equal(ungranted.status, 404);
  assert.equal(absent.status, 404);
  assert.equal(ungranted.json.detail, absent.json.detail.replace("no_such_table", "orders"));
  const viaMcp = await mcp(dana, "describe_table", { super: "shop", table: "orders" });
  assert.equal(viaMcp.isError, true);
  const tables = (await rest("GET", "/api/v1/supers/shop/tables", { headers: dana })).json;
  assert.deepEqual(tables.tables.map((t) => t.name), ["customers"]);
  // Statistics under a row filter are withheld, as in MCP.
  const stats = (await rest("GET", "/api/v1/supers/shop/tables/customers/stats", { headers: dana })).json;
  assert.equal(stats.rows, null);
});

test("every REST call is in the audit trail, as the principal that made it", async () => {
  await rest("GET", "/api/v1/supers/shop/tables", { headers: { authorization: `Bearer ${state.dana}` } });
  let found = null;
  for (let i = 0; i < 50 && !found; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const out = execFileSync(bin, ["query", "shop", "SELECT principal, action, outcome, client FROM system.audit WHERE action = 'api:list_tables' AND principal = 'dana'", "--format", "json"],
                             { env: { ...process.env, SUPERTABLE_HOME: state.home }, encoding: "utf8" });
    const rows = JSON.parse(out).rows;
    if (rows.length) found = rows[0];
  }
  assert.ok(found, "the call was recorded");
  assert.equal(found[2], "ok");
  assert.match(JSON.stringify(found[3]), /rest/);
  // The trail itself: for administrators, by REST only (it is no MCP tool).
  const trail = await rest("GET", "/api/v1/audit?user=dana&limit=50");
  assert.equal(trail.status, 200, trail.text);
  assert.ok(trail.json.records.some((r) => r.action === "api:list_tables"));
  assert.ok(trail.json.records.every((r) => r.principal === "dana"));
  const refused = await rest("GET", "/api/v1/audit", { headers: { authorization: `Bearer ${state.dana}` } });
  assert.equal(refused.status, 403);
  assert.match(refused.json.detail, /for administrators/);
  assert.equal((await rest("GET", "/api/v1/audit?since=yesterday")).status, 400);
  const client = newClient({});
  await client.connect(new StreamableHTTPClientTransport(new URL(state.server.url), { requestInit: { headers: state.admin } }));
  const tools = await client.listTools();
  assert.ok(!tools.tools.some((t) => t.name === "read_audit"));
  await client.close();
});

test("SUPERTABLE_AUTH_MODE=api_key: the key (or a token) in the configured header, on both doors", async () => {
  const key = randomBytes(24).toString("hex");
  const server = await startServe({ SUPERTABLE_HOME: state.home, SUPERTABLE_AUTH_MODE: "api_key",
                                    SUPERTABLE_API_KEY: key, SUPERTABLE_AUTH_HEADER_NAME: "X-Team-Key" });
  try {
    const call = (headers) => raw(server.port, { method: "GET", path: "/api/v1/whoami", headers });
    const none = await call({});
    assert.equal(none.status, 401);
    assert.match(none.json.detail, /X-Team-Key|x-team-key/i);
    assert.equal((await call({ "x-team-key": "wrong-key-wrong-key" })).status, 401);
    const admin = await call({ "X-Team-Key": key });
    assert.equal(admin.status, 200, admin.text);
    assert.equal(admin.json.user, "api");
    assert.equal(admin.json.superuser, true);
    // A user's token in the same header acts as that user; Authorization: Bearer still works.
    assert.equal((await call({ "x-team-key": state.dana })).json.user, "dana");
    assert.equal((await call({ authorization: `Bearer ${state.dana}` })).json.user, "dana");
    // MCP through the same door with the same header.
    const client = newClient({});
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url),
                                                           { requestInit: { headers: { "X-Team-Key": key } } }));
    const who = await client.callTool({ name: "whoami", arguments: {} });
    assert.equal(who.structuredContent.user, "api");
    await client.close();
  } finally {
    await stop(server);
  }
  // A mode that is not one is refused at start, saying what is expected.
  const bad = spawnSync(bin, ["serve", "--port", "0"], { env: { ...process.env, SUPERTABLE_HOME: state.home,
                                                                SUPERTABLE_AUTH_MODE: "apikey" }, encoding: "utf8", timeout: 30000 });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /SUPERTABLE_AUTH_MODE='apikey': expected api_key or bearer/);
});

test("SUPERTABLE_API_PORT and SUPERTABLE_REFLECTION_PORT: each port given serves every route", async () => {
  const [api, ui] = [await freePort(), await freePort()];
  const server = await startServe({ SUPERTABLE_HOME: state.home, SUPERTABLE_API_PORT: String(api),
                                    SUPERTABLE_REFLECTION_PORT: String(ui) });
  try {
    assert.match(server.stdout(), new RegExp(`also on +port ${api}, ${ui}`));
    for (const port of [server.port, api, ui]) {
      const supers = await raw(port, { method: "GET", path: "/api/v1/supers" });
      assert.equal(supers.status, 200, `port ${port}: ${supers.text}`);
      assert.ok(supers.json.supers.some((x) => x.name === "shop"));
      assert.equal((await raw(port, { method: "GET", path: "/health" })).status, 200);
      const client = newClient({});
      await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
      const r = await client.callTool({ name: "list_supers", arguments: {} });
      assert.equal(r.isError, false);
      await client.close();
    }
  } finally {
    await stop(server);
  }
});

test("cursor pagination of list answers: page_size, next_cursor and a Link to the next page, to the end", async () => {
  const all = (await rest("GET", "/api/v1/supers/shop/tables")).json.tables.map((t) => t.name);
  assert.ok(all.length >= 3);
  const seen = [];
  let path = "/api/v1/supers/shop/tables?page_size=1";
  for (let i = 0; path && i < 20; i++) {
    const r = await rest("GET", path);
    const page = await conforms("list_tables", r);
    assert.equal(page.tables.length, 1);
    seen.push(page.tables[0].name);
    if (page.next_cursor) {
      assert.match(r.headers.link, /rel="next"/);
      path = r.headers.link.match(/^<([^>]+)>/)[1];
      assert.ok(path.includes(`cursor=${page.next_cursor}`));
    } else {
      assert.equal(r.headers.link, undefined);
      path = null;
    }
  }
  assert.deepEqual(seen, all);
  const history = await rest("GET", "/api/v1/supers/shop/tables/orders/history?page_size=1000");
  assert.equal(history.json.next_cursor, undefined);
  for (const bad of ["page_size=0", "page_size=1001", "page_size=x", "cursor=garbage"]) {
    const r = await rest("GET", `/api/v1/supers/shop/tables?${bad}`);
    assert.equal(r.status, 400, bad);
    assert.match(r.json.detail, /page_size|cursor/);
  }
  assert.equal((await rest("GET", "/api/v1/supers/shop/tables/orders/snapshot?page_size=1")).status, 400, "not a list");
  const doc = (await rest("GET", "/api/v1/openapi.json")).json;
  assert.ok(doc.paths["/api/v1/supers/{super}/tables"].get.parameters.some((p) => p.name === "cursor"));
  assert.ok(!doc.paths["/api/v1/supers/{super}/tables/{table}/data"].get.parameters?.some((p) => p.name === "cursor"),
            "rows are paged by statements, not cursors");
});

test("results of rows download as Parquet, with their types, and upload back as the same rows", async () => {
  const sql = "SELECT order_id, amount, ordered_at, status, 1 AS x, 1 AS x FROM orders ORDER BY order_id";
  const json = (await rest("POST", "/api/v1/query", { body: { super: "shop", sql, limit: 50 } })).json;
  const file = await new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: state.server.port, method: "POST", path: "/api/v1/query?format=parquet",
                               headers: { ...state.admin, "content-type": "application/json" } }, (res) => {
      const parts = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on("error", reject);
    req.end(JSON.stringify({ super: "shop", sql, limit: 50 }));
  });
  assert.equal(file.status, 200);
  assert.equal(file.headers["content-type"], "application/vnd.apache.parquet");
  assert.equal(file.headers["supertable-truncated"], "true");
  assert.equal(file.body.subarray(0, 4).toString(), "PAR1");
  assert.equal(file.body.subarray(-4).toString(), "PAR1");
  // Written back as a table, the file holds the same rows with the same types.
  const put = await raw(state.server.port, { method: "PUT", path: "/api/v1/supers/roundtrip/tables/orders/data",
                                             headers: { ...state.admin, "content-type": "application/vnd.apache.parquet" }, body: file.body });
  assert.equal(put.status, 200, put.text);
  const back = (await rest("POST", "/api/v1/query", { body: { super: "roundtrip", sql: "SELECT * FROM orders ORDER BY order_id" } })).json;
  assert.deepEqual(back.columns.map((c) => [c.name, c.type]),
                   [["order_id", "BIGINT"], ["amount", "DOUBLE"], ["ordered_at", "TIMESTAMP"], ["status", "VARCHAR"], ["x", "INTEGER"], ["x_2", "INTEGER"]]);
  assert.deepEqual(back.rows, json.rows);
  const notRows = await rest("GET", "/api/v1/supers/shop/tables?format=parquet");
  assert.equal(notRows.status, 406);
  assert.equal((await rest("DELETE", "/api/v1/supers/roundtrip")).status, 200);
});

test("query parameters are bound, through REST and MCP alike, never spliced into the SQL", async () => {
  const sql = "SELECT count(*) AS n FROM orders WHERE status = $status AND amount > $min";
  const args = { super: "shop", sql, parameters: { status: "paid", min: 100 } };
  const viaRest = await rest("POST", "/api/v1/query", { body: args });
  assert.equal(viaRest.status, 200, viaRest.text);
  const viaMcp = await mcp(state.admin, "query_sql", args);
  assert.equal(viaMcp.isError, false, JSON.stringify(viaMcp.content));
  assert.deepEqual(viaMcp.structuredContent.rows, viaRest.json.rows);
  const expected = JSON.parse(execFileSync(bin, ["query", "shop", sql, "--param", "status=paid", "--param", "min=100", "--format", "json"],
                                           { env: { ...process.env, SUPERTABLE_HOME: state.home }, encoding: "utf8" })).rows;
  assert.deepEqual(viaRest.json.rows, expected);
  const injected = await rest("POST", "/api/v1/query", { body: { super: "shop", sql: "SELECT count(*) FROM orders WHERE status = $s",
                                                                  parameters: { s: "paid' OR '1'='1" } } });
  assert.deepEqual(injected.json.rows, [[0]]);
  const missing = await rest("POST", "/api/v1/query", { body: { super: "shop", sql } });
  assert.equal(missing.status, 400);
  assert.match(missing.json.detail, /status|min/);
  // A statement takes them too.
  const st = await rest("POST", "/api/v1/statements", { body: { ...args, wait_timeout_ms: 10000 } });
  assert.equal(st.status, 201, st.text);
  assert.deepEqual(st.json.result.rows, viaRest.json.rows);
});
