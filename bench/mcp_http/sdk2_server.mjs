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
import { DuckDBInstance } from "@duckdb/node-api";
import { z } from "zod";

let port = 0;
const views = {};
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === "--port") port = Number(process.argv[++i]);
  else if (process.argv[i] === "--view") {
    const [name, files] = process.argv[++i].split("=");
    views[name] = files.split(",");
  }
}

const db = await DuckDBInstance.create(":memory:");
const setup = await db.connect();
for (const [name, files] of Object.entries(views)) {
  const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(", ");
  await setup.run(`CREATE VIEW ${name} AS SELECT * FROM read_parquet([${list}])`);
}
const started = Date.now();

// One factory backs every request, as createMcpHandler asks.
const handler = createMcpHandler(() => {
  const server = new McpServer({ name: "sdk2-baseline", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.registerTool("health", {
    description: "Check that the server answers.",
    inputSchema: z.object({}),
    outputSchema: z.object({ status: z.string(), version: z.string(), uptime_s: z.number() }),
    annotations: { readOnlyHint: true },
  }, async () => {
    const out = { status: "ok", version: "1.0.0", uptime_s: (Date.now() - started) / 1000 };
    return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
  });
  server.registerTool("query_sql", {
    description: "Run one read-only SQL query.",
    inputSchema: z.object({ super: z.string(), sql: z.string().min(1), limit: z.number().int().min(1).max(10000).optional() }),
    annotations: { readOnlyHint: true },
  }, async ({ sql, limit }) => {
    const max = limit ?? 1000;
    const t0 = performance.now();
    const conn = await db.connect();
    try {
      const reader = await conn.runAndReadAll(sql);
      const rows = reader.getRowsJson();
      const columns = reader.columnNames().map((n, i) => ({ name: n, type: reader.columnType(i).toString() }));
      const out = { columns, rows: rows.slice(0, max), row_count: Math.min(rows.length, max),
                    truncated: rows.length > max, elapsed_ms: performance.now() - t0 };
      return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
    } catch (e) {
      return { content: [{ type: "text", text: String(e.message) }], isError: true };
    } finally {
      conn.closeSync();
    }
  });
  return server;
});

const http = createServer(toNodeHandler(handler));
http.keepAliveTimeout = 60000;
http.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}/mcp`);
});
process.on("SIGTERM", () => process.exit(0));
