// What both baselines of bench/mcp_http_bench share (sdk_server.mjs on SDK 1.x, sdk2_server.mjs on
// SDK 2.x): the command line, DuckDB with views over the same Parquet files SuperTable serves,
// and the two tools' work. Each server registers the tools with its own SDK's API.
import { DuckDBInstance } from "@duckdb/node-api";

// --port N --view name=/a.parquet,/b.parquet ...
export function parseArgs(argv) {
  let port = 0;
  const views = {};
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === "--port") port = Number(argv[++i]);
    else if (argv[i] === "--view") {
      const [name, files] = argv[++i].split("=");
      views[name] = files.split(",");
    }
  }
  return { port, views };
}

export async function openDuckDB(views) {
  const db = await DuckDBInstance.create(":memory:");
  const setup = await db.connect();
  for (const [name, files] of Object.entries(views)) {
    const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(", ");
    await setup.run(`CREATE VIEW ${name} AS SELECT * FROM read_parquet([${list}])`);
  }
  return db;
}

const started = Date.now();

// health: {status, version, uptime_s}.
export async function health() {
  const out = { status: "ok", version: "1.0.0", uptime_s: (Date.now() - started) / 1000 };
  return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
}

// query_sql {super, sql, limit?}: columns with types, rows, row_count, truncated, elapsed_ms.
export function querySql(db) {
  return async ({ sql, limit }) => {
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
  };
}
