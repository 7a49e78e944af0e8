// `supertable serve` against the official MCP TypeScript SDK 2.x client
// (@modelcontextprotocol/client 2.4.0), which speaks both eras: pinned to 2026-07-28 it runs
// stateless requests, server/discover, subscriptions/listen and resource reads; in its default
// mode it opens a 2025 session, on the same server at the same time; in 'auto' mode it finds the
// modern era by itself; and one prompt body asks the user in either era (a request in the
// session, an input_required round trip statelessly), answered by the same SDK handler. The server runs on 127.0.0.1 with a free port and is always stopped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

import { bin, data, demoServer } from "./session_suite.mjs";

const state = {};

demoServer(state);

async function connect(mode) {
  const client = new Client({ name: "supertable-e2e-sdk2", version: "1.0.0" },
                            mode ? { versionNegotiation: { mode } } : {});
  await client.connect(new StreamableHTTPClientTransport(new URL(state.server.url)));
  return client;
}

const ordersByStatus = {
  name: "query_sql",
  arguments: { super: "shop", sql: "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status" },
};

test("pinned to 2026-07-28: discovery, lists, a query, a resource and a prompt, statelessly", async () => {
  const client = await connect({ pin: "2026-07-28" });
  assert.equal(client.getProtocolEra(), "modern");
  assert.equal(client.getServerVersion()?.name, "supertable");
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === "query_sql"));
  const r = await client.callTool(ordersByStatus);
  assert.equal(r.isError, false, JSON.stringify(r.content));
  assert.ok(r.structuredContent.rows.length > 0);
  assert.deepEqual(r.structuredContent.columns.map((c) => c.name), ["status", "n"]);
  // A query the guard refuses is a tool error the model can read, not a protocol failure.
  const refused = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "DROP TABLE orders" } });
  assert.equal(refused.isError, true);
  const resources = await client.listResources();
  const orders = resources.resources.find((x) => x.uri.endsWith("/shop/orders"));
  assert.ok(orders, JSON.stringify(resources.resources.map((x) => x.uri)));
  const read = await client.readResource({ uri: orders.uri });
  assert.match(read.contents[0].text, /status/);
  const prompt = await client.getPrompt({ name: "explore_table", arguments: { super: "shop", table: "orders" } });
  assert.match(prompt.messages[0].content.text, /shop\.orders/);
  await client.close();
});

test("a legacy session and modern requests share the server; 'auto' negotiates the modern era", async () => {
  const legacy = await connect();
  const auto = await connect("auto");
  assert.equal(legacy.getProtocolEra(), "legacy");
  assert.equal(auto.getProtocolEra(), "modern");
  const [a, b] = await Promise.all([legacy.callTool(ordersByStatus), auto.callTool(ordersByStatus)]);
  assert.deepEqual(a.structuredContent.rows, b.structuredContent.rows);
  await legacy.close();
  await auto.close();
});

test("subscriptions/listen: a table's new version reaches the subscriber of its resource", async () => {
  const client = await connect({ pin: "2026-07-28" });
  const updates = [];
  client.setNotificationHandler("notifications/resources/updated", (n) => updates.push(n.params.uri));
  const resources = await client.listResources();
  const uri = resources.resources.find((x) => x.uri.endsWith("/shop/products")).uri;
  const sub = await client.listen({ resourceSubscriptions: [uri, "supertable://shop/nope"], promptsListChanged: true });
  // What the server honours: the table that exists; prompts never change here.
  assert.deepEqual(sub.honoredFilter, { resourceSubscriptions: [uri] });
  execFileSync(bin, ["ingest", "shop", "products", join(data, "products.csv")],
               { env: { ...process.env, SUPERTABLE_HOME: state.home } });
  for (let i = 0; i < 100 && !updates.includes(uri); i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(updates, [uri]);
  await sub.close();
  assert.equal(await sub.closed, "local");
  await client.close();
});

test("one prompt body asks the user in both eras: a request in a session, input_required statelessly", async () => {
  // A second super table: answer_with_sql without `super` must ask which.
  execFileSync(bin, ["ingest", "second", "events", join(data, "orders.csv")],
               { env: { ...process.env, SUPERTABLE_HOME: state.home } });
  const asked = [];
  const connectAsking = async (mode) => {
    const client = new Client({ name: "supertable-e2e-sdk2", version: "1.0.0" },
                              { capabilities: { elicitation: {} }, ...(mode ? { versionNegotiation: { mode } } : {}) });
    client.setRequestHandler("elicitation/create", async (req) => {
      asked.push(req.params.requestedSchema.properties.super.enum);
      return { action: "accept", content: { super: "second" } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(state.server.url)));
    return client;
  };
  const legacy = await connectAsking();
  const modern = await connectAsking({ pin: "2026-07-28" });
  assert.equal(legacy.getProtocolEra(), "legacy");
  assert.equal(modern.getProtocolEra(), "modern");
  for (const client of [legacy, modern]) {
    const p = await client.getPrompt({ name: "answer_with_sql", arguments: { question: "How many events?" } });
    assert.match(p.messages[0].content.text, /super table 'second'/);
  }
  assert.deepEqual(asked, [["second", "shop"], ["second", "shop"]]);
  await legacy.close();
  await modern.close();
});
