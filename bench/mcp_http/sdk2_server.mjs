// The 2026-07-28 baseline of bench/mcp_http_bench (--era modern): the same server as
// sdk_server.mjs written with the official TypeScript SDK 2.x (@modelcontextprotocol/server
// 2.4.0, served by createMcpHandler through @modelcontextprotocol/node), which answers every
// request statelessly, the modern era's way. The same two tools:
//   health     {status, version, uptime_s}
//   query_sql  {super, sql, limit?}: the SQL on DuckDB (DuckDB's Node package, the same 1.4.4)
//              over views of the same Parquet files SuperTable serves.
// Usage: node sdk2_server.mjs --port 0 --view orders=/path/a.parquet,/path/b.parquet ...
// Prints "listening on http://127.0.0.1:N/mcp" when ready.
import { createServer } from "node:http";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { health, openDuckDB, parseArgs, querySql } from "./baseline_tools.mjs";
import { z } from "zod";

const { port, views } = parseArgs(process.argv);
const db = await openDuckDB(views);
const query = querySql(db);

// One factory backs every request, as createMcpHandler asks.
const handler = createMcpHandler(() => {
  const server = new McpServer({ name: "sdk2-baseline", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.registerTool("health", {
    description: "Check that the server answers.",
    inputSchema: z.object({}),
    outputSchema: z.object({ status: z.string(), version: z.string(), uptime_s: z.number() }),
    annotations: { readOnlyHint: true },
  }, health);
  server.registerTool("query_sql", {
    description: "Run one read-only SQL query.",
    inputSchema: z.object({ super: z.string(), sql: z.string().min(1), limit: z.number().int().min(1).max(10000).optional() }),
    annotations: { readOnlyHint: true },
  }, query);
  return server;
});

const http = createServer(toNodeHandler(handler));
http.keepAliveTimeout = 60000;
http.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}/mcp`);
});
process.on("SIGTERM", () => process.exit(0));
