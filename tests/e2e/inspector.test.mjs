// The MCP Inspector's CLI (@modelcontextprotocol/inspector 2.12.0, `--cli`), a client no one
// here wrote, lists and calls SuperTable's tools over stdio (`supertable mcp`) and streamable
// HTTP (`supertable serve`), in the legacy era and in the 2026-07-28 one. The server runs on
// 127.0.0.1 with a free port and is always stopped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

import { bin, demoServer } from "./session_suite.mjs";

const run = promisify(execFile);
const inspector = new URL("./node_modules/.bin/mcp-inspector", import.meta.url).pathname;
const state = {};

demoServer(state);

// The Inspector CLI against one target: the result it prints (as JSON, nothing else with
// --quiet). Its own settings go to a home of its own.
async function cli(target, era, args) {
  const { stdout } = await run(inspector, ["--cli", "--protocol-era", era, "--quiet", "--format", "json", ...args, ...target], {
    env: { ...process.env, HOME: state.home },
    timeout: 60000,
  });
  return JSON.parse(stdout).result;
}

const targets = {
  // A stdio server gets only the environment the Inspector passes it (-e).
  stdio: () => ["-e", `SUPERTABLE_HOME=${state.home}`, "--", bin, "mcp"],
  http: () => ["--server-url", state.server.url],
};

for (const [transport, target] of Object.entries(targets)) {
  for (const era of ["legacy", "modern"]) {
    test(`Inspector CLI over ${transport}, ${era} era: tools/list and tools/call`, async () => {
      const list = await cli(target(), era, ["--method", "tools/list"]);
      const names = list.tools.map((t) => t.name);
      for (const t of ["health", "list_tables", "query_sql"]) assert.ok(names.includes(t), names.join(", "));
      const r = await cli(target(), era, ["--method", "tools/call", "--tool-name", "query_sql",
                                          "--tool-arg", "super=shop", "--tool-arg", "sql=SELECT count(*) AS n FROM orders"]);
      assert.equal(r.isError ?? false, false, JSON.stringify(r));
      assert.deepEqual(r.structuredContent.rows, [[4000]]);
      // The era it negotiated: only 2026-07-28 results name the server in their _meta.
      assert.equal(r._meta?.["io.modelcontextprotocol/serverInfo"]?.name, era === "modern" ? "supertable" : undefined);
    });
  }
}
