// The baseline of bench/mcp_http_bench: the server a team would write with the official MCP
// TypeScript SDK instead of SuperTable, doing the same work. Stateful streamable HTTP (one
// McpServer and transport per session, as the SDK's examples do), and two tools:
//   health     {status, version, uptime_s}
//   query_sql  {super, sql, limit?}: the SQL on DuckDB (DuckDB's Node package, the same 1.4.4)
//              over views of the same Parquet files SuperTable serves; columns with types, rows,
//              row_count, truncated, elapsed_ms.
// Usage: node sdk_server.mjs --port 0 --view orders=/path/a.parquet,/path/b.parquet ...
// Prints "listening on http://127.0.0.1:N/mcp" when ready.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { health, openDuckDB, parseArgs, querySql } from "./baseline_tools.mjs";
import { z } from "zod";

const { port, views } = parseArgs(process.argv);
const db = await openDuckDB(views);
const query = querySql(db);

function newServer() {
  const server = new McpServer({ name: "sdk-baseline", version: "1.0.0" });
  server.registerTool("health", {
    description: "Check that the server answers.",
    inputSchema: {},
    outputSchema: { status: z.string(), version: z.string(), uptime_s: z.number() },
    annotations: { readOnlyHint: true },
  }, health);
  server.registerTool("query_sql", {
    description: "Run one read-only SQL query.",
    inputSchema: { super: z.string(), sql: z.string().min(1), limit: z.number().int().min(1).max(10000).optional() },
    annotations: { readOnlyHint: true },
  }, query);
  return server;
}

const transports = {};
const http = createServer(async (req, res) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  const parsed = body ? JSON.parse(body) : undefined;
  const sid = req.headers["mcp-session-id"];
  let transport = sid ? transports[sid] : undefined;
  if (!transport) {
    if (req.method !== "POST" || !isInitializeRequest(parsed)) {
      res.writeHead(400, { "content-type": "application/json" }).end(
        JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "Bad Request: no valid session" }, id: null }));
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => { transports[id] = transport; },
    });
    transport.onclose = () => { if (transport.sessionId) delete transports[transport.sessionId]; };
    await newServer().connect(transport);
  }
  await transport.handleRequest(req, res, parsed);
});
http.keepAliveTimeout = 60000;
http.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}/mcp`);
});
process.on("SIGTERM", () => process.exit(0));
