// The official MCP TypeScript SDK client against `supertable mcp` over stdio: a full session
// with a client no one here wrote (session_suite.mjs), and raw stdio edge cases. Run by ctest
// (tests/CMakeLists.txt) with SUPERTABLE_BIN and SUPERTABLE_DEMO_DATA set.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";

import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

import { bin, closeClient, demoWarehouse, newClient, sdk2SessionTests, sessionTests } from "./session_suite.mjs";

const state = {};

// Node 20 starts root hooks together: state.setup lets the later ones wait for this one.
before(() => (state.setup = (async () => {
  state.home = demoWarehouse();
  const env = { ...process.env, SUPERTABLE_HOME: state.home };
  const transport = new StdioClientTransport({ command: bin, args: ["mcp"], env, stderr: "ignore" });
  state.client = newClient(state);
  await state.client.connect(transport);
  state.transport = transport;
})()));

after(async () => {
  await closeClient(state.client, state.transport);
  rmSync(state.home, { recursive: true, force: true });
});

sessionTests(state);
// The same suite with the SDK 2.x client, in its legacy handshake and pinned to 2026-07-28.
sdk2SessionTests(state, (st) => ({ command: bin, args: ["mcp"], env: { ...process.env, SUPERTABLE_HOME: st.home } }));

test("raw stdio: a request sent right after initialize, without waiting, is served", async () => {
  // Regression: initialize ran on a worker thread, so an eager client's next request could
  // arrive before the session knew it was initialized.
  const child = spawn(bin, ["mcp"], { env: { ...process.env, SUPERTABLE_HOME: state.home }, stdio: ["pipe", "pipe", "ignore"] });
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
