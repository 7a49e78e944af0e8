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

function newServer() {
  const server = new McpServer({ name: "sdk-baseline", version: "1.0.0" });
  server.registerTool("health", {
    description: "Check that the server answers.",
    inputSchema: {},
    outputSchema: { status: z.string(), version: z.string(), uptime_s: z.number() },
    annotations: { readOnlyHint: true },
  }, async () => {
    const out = { status: "ok", version: "1.0.0", uptime_s: (Date.now() - started) / 1000 };
    return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
  });
  server.registerTool("query_sql", {
    description: "Run one read-only SQL query.",
    inputSchema: { super: z.string(), sql: z.string().min(1), limit: z.number().int().min(1).max(10000).optional() },
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
