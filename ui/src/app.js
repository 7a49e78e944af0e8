// Reflection's pages. The server sends one shell per route (data-page says which) and every
// page draws itself from the REST API and MCP as the signed-in session.
import "./app.css";
import "uplot/dist/uPlot.min.css";
import uPlot from "uplot";
import { EditorView, keymap, lineNumbers, highlightActiveLine, placeholder } from "@codemirror/view";
import { Compartment, EditorState } from "@codemirror/state";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching } from "@codemirror/language";
import { autocompletion, completionKeymap } from "@codemirror/autocomplete";
import { sql, PostgreSQL } from "@codemirror/lang-sql";

import { ApiError, McpClient, currentSession, enc, get, post, statement } from "./api.js";
import { clear, download, errorBox, formatValue, h, resultGrid, toCsv } from "./dom.js";

const root = document.getElementById("app");
const page = root.dataset.page;
const nonce = document.querySelector('meta[name="csp-nonce"]').content;

const NAV = [
  ["dashboard", "/reflection/admin", "Dashboard"],
  ["tables", "/reflection/tables", "Tables"],
  ["execute", "/reflection/execute", "SQL editor"],
  ["mcp", "/reflection/mcp", "MCP tester"],
  ["users", "/reflection/users", "Users & roles", true],
  ["audit", "/reflection/audit", "Audit", true],
  ["config", "/reflection/admin/config", "Configuration", true],
];

function layout(s, title, ...content) {
  const signOut = h("button", { type: "button", class: "link", onclick: async () => {
    await fetch("/reflection/logout", { method: "POST", headers: { "x-csrf-token": s.csrf }, credentials: "same-origin" });
    location.href = "/reflection/login";
  } }, "Sign out");
  const nav = h("nav", { "aria-label": "Pages" }, h("ul", {}, NAV.filter((n) => !n[3] || s.admin).map(([id, href, label]) =>
    h("li", {}, h("a", { href, "aria-current": id === page ? "page" : undefined }, label)))));
  return [
    h("header", { class: "top" },
      h("a", { class: "brand", href: "/reflection/admin" }, "SuperTable ", h("span", {}, "Reflection")),
      nav,
      h("div", { class: "who" }, h("span", {}, `${s.user}${s.superuser ? " (superuser)" : ""} · ${s.organization}`), signOut)),
    h("main", { id: "main" }, h("h1", {}, title), ...content),
  ];
}

function section(title, ...content) {
  return h("section", { class: "card" }, h("h2", {}, title), ...content);
}

function keyValues(obj) {
  return h("dl", { class: "kv" }, Object.entries(obj).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, formatValue(v))]));
}

function rowsOf(list, columns) {
  return { columns: columns.map((c) => ({ name: c, type: "" })), rows: list.map((x) => columns.map((c) => x[c] ?? null)) };
}

// ---------------------------------------------------------------- dashboard
async function dashboard(s) {
  const [info, health, supers] = await Promise.all([get("/info"), get("/health").catch((e) => ({ status: e.message })), get("/supers")]);
  const tables = [];
  for (const sup of supers.supers) {
    const t = await get(`/supers/${enc(sup.name)}/tables`);
    for (const x of t.tables) tables.push({ super: sup.name, ...x });
  }
  return layout(s, "Dashboard",
    h("div", { class: "cards" },
      section("Organization", keyValues({ organization: info.organization, version: info.version, health: health.status, "uptime (s)": Math.round(health.uptime_s ?? 0) })),
      section("Backends", keyValues({ storage: info.storage, "storage type": info.storage_type, catalog: info.catalog })),
      section("Limits", keyValues(info.limits))),
    section(`Super tables (${supers.supers.length})`, resultGrid(rowsOf(supers.supers, ["name", "tables"]), { caption: "Super tables" })),
    section(`Tables (${tables.length})`, resultGrid(rowsOf(tables, ["super", "name", "version", "rows", "files", "bytes", "updated_at"]), { caption: "Tables" })));
}

// ---------------------------------------------------------------- table browser
// An axis of row positions (the values are labels) ticks at whole rows only.
const INDEX_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

function histogram(el, values) {
  const opts = {
    width: Math.min(640, el.clientWidth || 640), height: 220, title: "Most frequent values",
    scales: { x: { time: false } },
    axes: [{ incrs: INDEX_STEPS, values: (u, ticks) => ticks.map((t) => values[t]?.value ?? "") }, {}],
    series: [{}, { label: "rows", fill: "rgba(47,110,186,0.5)", stroke: "#2f6eba", paths: uPlot.paths.bars({ size: [0.6] }), points: { show: false } }],
  };
  return new uPlot(opts, [values.map((_, i) => i), values.map((v) => v.count)], el);
}

async function tablesPage(s) {
  const params = new URLSearchParams(location.search);
  const supers = (await get("/supers")).supers;
  const pane = h("div", { class: "pane" });
  const list = h("div", { class: "list" });
  const select = h("select", { id: "super-select", onchange: () => showSuper(select.value) },
    supers.map((x) => h("option", { value: x.name }, x.name)));
  const showTable = async (sup, name) => {
    window.history.replaceState(null, "", `?super=${enc(sup)}&table=${enc(name)}`);
    clear(pane, h("p", { class: "muted" }, "Loading…"));
    try {
      const base = `/supers/${enc(sup)}/tables/${enc(name)}`;
      const [d, st, hist, sample, snap] = await Promise.all([get(base), get(base + "/stats"), get(base + "/history?limit=50"),
                                                             get(base + "/data?limit=10").catch((e) => e),
                                                             get(base + "/snapshot").catch((e) => e)]);
      const preview = h("div", { class: "preview" });
      const profile = h("div", { class: "profile" });
      const histRows = rowsOf(hist.versions.map((v) => ({ ...v, summary: JSON.stringify(v.summary) })), ["version", "committed_at", "operation", "summary"]);
      const versionButtons = h("div", { class: "versions", role: "group", "aria-label": "Time travel" },
        hist.versions.map((v) => h("button", { type: "button", onclick: async () => {
          clear(preview, h("p", { class: "muted" }, `Rows as of version ${v.version}…`));
          try {
            const r = await post("/query", { super: sup, sql: `SELECT * FROM "${name.replaceAll('"', '""')}" LIMIT 20`, as_of: v.version, limit: 20 });
            clear(preview, resultGrid(r, { caption: `${name} as of version ${v.version}` }));
          } catch (e) { clear(preview, errorBox(e)); }
        } }, `v${v.version}`)));
      const columnButtons = d.columns.map((c) => h("button", { type: "button", onclick: async () => {
        clear(profile, h("p", { class: "muted" }, `Profiling ${c.name}…`));
        try {
          const p = await get(`${base}/columns/${enc(c.name)}/profile?top=10`);
          const chart = h("div", { class: "chart" });
          clear(profile, h("h3", {}, `Column ${c.name}`), keyValues({ rows: p.rows, distinct: p.distinct_count, nulls: p.null_count, min: p.min, max: p.max }), chart);
          histogram(chart, p.top_values);
        } catch (e) { clear(profile, errorBox(e)); }
      } }, c.name));
      clear(pane,
        h("h2", {}, `${sup}.${name}`),
        h("div", { class: "cards" }, section("Statistics", keyValues(st))),
        section("Schema", resultGrid(rowsOf(d.columns, ["name", "type", "null_count", "min", "max"]), { caption: "Columns" }),
                h("p", {}, "Profile a column: "), h("div", { class: "buttons" }, columnButtons), profile),
        section("Sample rows", sample instanceof Error ? errorBox(sample) : resultGrid(sample, { caption: "Sample" })),
        section("Files", snap instanceof Error ? h("p", { class: "muted" }, snap.message)
          : resultGrid(rowsOf(snap.files.map((f) => ({ ...f, key: f.key.split("/").pop() })), ["key", "rows", "deleted_rows", "bytes", "schema_id"]),
                       { caption: `Data files of version ${snap.version}${snap.cluster_by.length ? `, clustered by ${snap.cluster_by.join(", ")}` : ""}` })),
        section("History", resultGrid(histRows, { caption: "Versions" }), h("p", {}, "Preview a version: "), versionButtons, preview));
    } catch (e) {
      clear(pane, errorBox(e));
    }
  };
  const showSuper = async (sup) => {
    clear(list, h("p", { class: "muted" }, "Loading…"));
    const t = await get(`/supers/${enc(sup)}/tables`);
    clear(list, h("ul", {}, t.tables.map((x) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => showTable(sup, x.name) }, x.name),
                                                       h("span", { class: "muted" }, ` v${x.version}`)))));
  };
  const initial = params.get("super") || supers[0]?.name;
  if (initial) {
    select.value = initial;
    await showSuper(initial);
    if (params.get("table")) showTable(initial, params.get("table"));
  }
  // Upload a file into a table (new or existing) through the REST API's form upload.
  const uploadStatus = h("p", { role: "status", "aria-live": "polite" });
  const upload = h("form", { class: "upload", id: "upload", onsubmit: async (ev) => {
    ev.preventDefault();
    const form = new FormData(upload);
    const table = form.get("table");
    const body = new FormData();
    if (form.get("overwrite_columns")) body.append("overwrite_columns", form.get("overwrite_columns"));
    if (form.get("delete_only")) body.append("delete_only", "true");
    body.append("file", form.get("file"));
    clear(uploadStatus, "Uploading…");
    try {
      const s2 = await currentSession();
      const r = await fetch(`/api/v1/supers/${enc(select.value)}/tables/${enc(table)}/data`,
                            { method: "POST", body, credentials: "same-origin", headers: { "x-csrf-token": s2.csrf } });
      const out = await r.json();
      if (!r.ok) throw new ApiError(r.status, out.detail);
      clear(uploadStatus, `${select.value}.${table}: version ${out.version} (${out.inserted} inserted, ${out.deleted} deleted)`);
      await showSuper(select.value);
      showTable(select.value, table);
    } catch (e) { clear(uploadStatus, errorBox(e)); }
  } },
    h("h2", {}, "Upload"),
    h("label", { for: "up-table" }, "Table"), h("input", { id: "up-table", name: "table", required: true }),
    h("label", { for: "up-file" }, "File (CSV, JSON, NDJSON, Parquet)"), h("input", { id: "up-file", name: "file", type: "file", required: true, accept: ".csv,.tsv,.json,.ndjson,.jsonl,.parquet" }),
    h("label", { for: "up-keys" }, "Key columns (upsert)"), h("input", { id: "up-keys", name: "overwrite_columns", placeholder: "id" }),
    h("div", {}, h("input", { id: "up-delete", name: "delete_only", type: "checkbox" }), h("label", { for: "up-delete" }, " Delete the listed keys")),
    h("button", { type: "submit" }, "Upload"), uploadStatus);
  return layout(s, "Tables", h("div", { class: "browser" },
    h("aside", {}, h("label", { for: "super-select" }, "Super table"), select, list, upload), pane));
}

// ---------------------------------------------------------------- SQL editor
function chart(el, result) {
  const numeric = (t) => /INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC|HUGEINT/i.test(t);
  const ys = result.columns.map((c, i) => [c, i]).filter(([c]) => numeric(c.type));
  if (!ys.length || !result.rows.length) return clear(el, h("p", { class: "muted" }, "No numeric column to chart."));
  const xIsNum = numeric(result.columns[0].type) && ys.length > 1;
  const series = xIsNum ? ys.slice(1) : ys;
  const x = result.rows.map((r, i) => (xIsNum ? Number(r[0]) : i));
  const colors = ["#2f6eba", "#c2410c", "#15803d", "#7e22ce", "#b91c1c"];
  clear(el);
  return new uPlot({
    width: Math.min(900, el.clientWidth || 900), height: 280,
    scales: { x: { time: false } },
    axes: [xIsNum ? {} : { incrs: INDEX_STEPS, values: (u, ticks) => ticks.map((t) => formatValue(result.rows[t]?.[0] ?? "")) }, {}],
    series: [{ label: result.columns[0].name }, ...series.map(([c], k) => ({ label: c.name, stroke: colors[k % colors.length], width: 2 }))],
  }, [x, ...series.map(([, i]) => result.rows.map((r) => (r[i] === null ? null : Number(r[i]))))], el);
}

async function schemaFor(sup) {
  const out = {};
  const t = await get(`/supers/${enc(sup)}/tables`);
  await Promise.all(t.tables.map(async (x) => {
    const d = await get(`/supers/${enc(sup)}/tables/${enc(x.name)}`).catch(() => null);
    if (d) out[x.name] = d.columns.map((c) => c.name);
  }));
  return out;
}

async function executePage(s) {
  const supers = (await get("/supers")).supers;
  const superSelect = h("select", { id: "exec-super" }, supers.map((x) => h("option", { value: x.name }, x.name)));
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const results = h("div", { class: "results" });
  const chartEl = h("div", { class: "chart" });
  const historyList = h("ol", { class: "history" });
  const limit = h("input", { id: "exec-limit", type: "number", min: "1", max: "10000", value: "1000" });
  let running = null;
  let last = null;
  let lastQuery = null;
  const past = () => JSON.parse(localStorage.getItem("st_query_history") || "[]");
  const drawHistory = () => clear(historyList, past().map((q) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: q } });
  } }, q.length > 120 ? q.slice(0, 120) + "…" : q))));
  // The language is reconfigured with the super table's schema (tables and the columns this
  // user may see) for completion.
  const language = new Compartment();
  const run = async () => {
    if (running) return;
    const sel = view.state.selection.main;
    const text = (sel.empty ? view.state.doc.toString() : view.state.sliceDoc(sel.from, sel.to)).trim();
    if (!text) return;
    localStorage.setItem("st_query_history", JSON.stringify([text, ...past().filter((q) => q !== text)].slice(0, 30)));
    drawHistory();
    const started = performance.now();
    clear(status, "Running…");
    runButton.disabled = true;
    cancelButton.disabled = false;
    const query = { super: superSelect.value, sql: text, limit: Number(limit.value) || 1000 };
    running = statement(query,
                        () => clear(status, `Running… ${((performance.now() - started) / 1000).toFixed(1)} s`));
    try {
      const st = await running.done;
      if (st.state === "succeeded") {
        last = st.result;
        const r = st.result;
        clear(status, `${r.row_count} row(s) in ${r.elapsed_ms?.toFixed?.(1) ?? "?"} ms; ${r.files_read ?? 0} file(s) read, ${r.files_pruned ?? 0} pruned`);
        clear(results,
              r.truncated ? h("p", { class: "notice", role: "note" }, `Truncated: ${r.note || "the result was cut at the row limit"}`) : null,
              resultGrid(r, { caption: "Result" }));
        csvButton.disabled = false;
        chartButton.disabled = false;
        parquetButton.disabled = false;
        lastQuery = query;
        clear(chartEl);
      } else if (st.state === "cancelled") {
        clear(status, "Cancelled.");
      } else {
        clear(status);
        clear(results, errorBox(st.error?.detail || "the query failed"));
      }
    } catch (e) {
      clear(status);
      clear(results, errorBox(e));
    } finally {
      running = null;
      runButton.disabled = false;
      cancelButton.disabled = true;
    }
  };
  const view = new EditorView({
    parent: h("div", { class: "editor", id: "sql-editor" }),
    state: EditorState.create({
      doc: "SELECT * FROM ",
      extensions: [
        EditorView.cspNonce.of(nonce),
        lineNumbers(), history(), bracketMatching(), highlightActiveLine(), autocompletion(),
        syntaxHighlighting(defaultHighlightStyle), placeholder("SELECT …"),
        keymap.of([{ key: "Mod-Enter", run: () => { run(); return true; } }, ...completionKeymap, ...defaultKeymap, ...historyKeymap]),
        language.of(sql({ dialect: PostgreSQL, upperCaseKeywords: true })),
        EditorView.contentAttributes.of({ "aria-label": "SQL" }),
      ],
    }),
  });
  const reschema = async () => {
    const schema = await schemaFor(superSelect.value);
    view.dispatch({ effects: language.reconfigure(sql({ dialect: PostgreSQL, upperCaseKeywords: true, schema })) });
  };
  superSelect.addEventListener("change", reschema);
  const runButton = h("button", { type: "button", id: "run", onclick: run }, "Run (Ctrl+Enter)");
  const cancelButton = h("button", { type: "button", id: "cancel", disabled: true, onclick: () => running?.cancel() }, "Cancel");
  const csvButton = h("button", { type: "button", id: "csv", disabled: true, onclick: () => last && download("result.csv", toCsv(last)) }, "Download CSV");
  const chartButton = h("button", { type: "button", id: "chart", disabled: true, onclick: () => last && chart(chartEl, last) }, "Chart");
  // Parquet comes from the server (the same query again, written by DuckDB with exact types).
  const parquetButton = h("button", { type: "button", id: "parquet", disabled: true, onclick: async () => {
    if (!lastQuery) return;
    try {
      const s2 = await currentSession();
      const r = await fetch("/api/v1/query?format=parquet", { method: "POST", credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": s2.csrf }, body: JSON.stringify(lastQuery) });
      if (!r.ok) throw new ApiError(r.status, (await r.json()).detail);
      download("result.parquet", await r.blob(), "application/vnd.apache.parquet");
    } catch (e) { clear(results, errorBox(e)); }
  } }, "Download Parquet");
  drawHistory();
  setTimeout(reschema, 0);
  return layout(s, "SQL editor",
    h("div", { class: "toolbar" }, h("label", { for: "exec-super" }, "Super table"), superSelect,
      h("label", { for: "exec-limit" }, "Row limit"), limit, runButton, cancelButton, csvButton, parquetButton, chartButton),
    view.dom.parentElement, status, results, chartEl,
    section("Query history", historyList));
}

// ---------------------------------------------------------------- MCP tester
function formFor(schema) {
  const inputs = {};
  const fields = Object.entries(schema.properties || {}).map(([name, p]) => {
    const id = `arg-${name}`;
    const type = Array.isArray(p.type) ? p.type[0] : p.type;
    const input = p.enum ? h("select", { id }, h("option", { value: "" }, ""), p.enum.map((v) => h("option", { value: v }, v)))
      : type === "boolean" ? h("input", { id, type: "checkbox" })
      : h("input", { id, type: type === "integer" || type === "number" ? "number" : "text" });
    inputs[name] = { input, type };
    return h("div", { class: "field" }, h("label", { for: id }, name, (schema.required || []).includes(name) ? " *" : ""), input,
             p.description ? h("small", { class: "muted" }, p.description) : null);
  });
  const values = () => {
    const out = {};
    for (const [name, { input, type }] of Object.entries(inputs)) {
      if (type === "boolean") { if (input.checked) out[name] = true; continue; }
      if (input.value === "") continue;
      out[name] = type === "integer" || type === "number" ? Number(input.value) : input.value;
    }
    return out;
  };
  return { fields, values };
}

async function mcpPage(s) {
  const client = new McpClient();
  await client.connect();
  const tools = (await client.request("tools/list")).tools;
  const pick = h("select", { id: "tool" }, tools.map((t) => h("option", { value: t.name }, t.name)));
  const formEl = h("form", { class: "tool-form" });
  const out = h("pre", { class: "raw", tabindex: "0", "aria-label": "Raw result" });
  const show = () => {
    const t = tools.find((x) => x.name === pick.value);
    const { fields, values } = formFor(t.inputSchema);
    clear(formEl, h("p", {}, t.description), fields, h("button", { type: "submit" }, "Call"));
    formEl.onsubmit = async (ev) => {
      ev.preventDefault();
      clear(out, "Calling…");
      try {
        clear(out, JSON.stringify(await client.request("tools/call", { name: t.name, arguments: values() }), null, 2));
      } catch (e) { clear(out, e.message); }
    };
  };
  pick.addEventListener("change", show);
  show();
  return layout(s, "MCP tester", h("div", { class: "toolbar" }, h("label", { for: "tool" }, `Tool (${tools.length})`), pick),
                section("Arguments", formEl), section("Result", out));
}

// ---------------------------------------------------------------- users, roles, tokens
async function usersPage(s) {
  const box = h("div");
  const message = h("div", { role: "status", "aria-live": "polite" });
  const say = (...x) => clear(message, ...x);
  const act = (fn) => async (ev) => {
    ev.preventDefault();
    try { await fn(new FormData(ev.target)); ev.target.reset(); await draw(); } catch (e) { say(errorBox(e)); }
  };
  const field = (name, label, attrs = {}) => h("div", { class: "field" }, h("label", { for: `f-${name}` }, label), h("input", { id: `f-${name}`, name, ...attrs }));
  const draw = async () => {
    const [users, roles, tokens] = await Promise.all([get("/users"), get("/roles"), get("/tokens")]);
    clear(box,
      section("Users", resultGrid(rowsOf(users.users.map((u) => ({ ...u, roles: u.roles.join(", ") })), ["name", "email", "enabled", "roles"]), { caption: "Users" }),
        h("form", { class: "inline", id: "new-user", onsubmit: act(async (f) => {
          await post("/users", { name: f.get("name"), ...(f.get("email") ? { email: f.get("email") } : {}) });
          say(`User ${f.get("name")} created.`);
        }) }, field("name", "User name", { required: true }), field("email", "Email"), h("button", { type: "submit" }, "Create user"))),
      section("Roles", resultGrid(rowsOf(roles.roles.map((r) => ({ ...r, tables: r.tables.join(", "), row_filters: JSON.stringify(r.row_filters) })), ["name", "type", "tables", "row_filters"]), { caption: "Roles" }),
        h("form", { class: "inline", id: "new-role", onsubmit: act(async (f) => {
          const body = { name: f.get("role"), type: f.get("type"), tables: f.get("tables").split(",").map((x) => x.trim()).filter(Boolean) };
          if (f.get("filter_table") && f.get("filter")) body.row_filters = { [f.get("filter_table")]: f.get("filter") };
          await post("/roles", body);
          say(`Role ${body.name} created.`);
        }) }, field("role", "Role name", { required: true }),
          h("div", { class: "field" }, h("label", { for: "f-type" }, "Type"), h("select", { id: "f-type", name: "type" }, ["reader", "writer", "admin", "meta", "superadmin"].map((t) => h("option", { value: t }, t)))),
          field("tables", "Tables (super.table, super.*)", { required: true }), field("filter_table", "Row filter on (super.table)"), field("filter", "Row filter (SQL)"),
          h("button", { type: "submit" }, "Create role")),
        h("form", { class: "inline", id: "grant", onsubmit: act(async (f) => {
          await post(`/users/${enc(f.get("user"))}/roles`, { role: f.get("grant_role") });
          say(`Granted ${f.get("grant_role")} to ${f.get("user")}.`);
        }) }, field("user", "User", { required: true }), field("grant_role", "Role", { required: true }), h("button", { type: "submit" }, "Grant"))),
      section("Tokens", resultGrid(rowsOf(tokens.tokens, ["id", "owner", "name", "scopes", "expires_micros", "revoked_micros"]), { caption: "Tokens" }),
        h("form", { class: "inline", id: "new-token", onsubmit: act(async (f) => {
          const t = await post("/tokens", { owner: f.get("owner"), name: f.get("token_name") });
          say(h("p", {}, `Token for ${t.owner} (shown once): `, h("code", { id: "issued-token" }, t.token)));
        }) }, field("owner", "Owner", { required: true }), field("token_name", "Token name", { required: true }), h("button", { type: "submit" }, "Create token"))));
  };
  await draw();
  return layout(s, "Users, roles and tokens", message, box);
}

async function auditPage(s) {
  const user = h("input", { id: "audit-user", name: "user" });
  const since = h("input", { id: "audit-since", name: "since", value: "1h" });
  const out = h("div");
  const load = async (ev) => {
    ev?.preventDefault();
    const q = new URLSearchParams({ limit: "200", since: since.value || "1h", ...(user.value ? { user: user.value } : {}) });
    try {
      const r = await get(`/audit?${q}`);
      clear(out, resultGrid(rowsOf(r.records.reverse().map((x) => ({ ...x, time: new Date(x.time_micros / 1000).toISOString(), arguments: JSON.stringify(x.arguments) })),
                                   ["time", "principal", "action", "outcome", "rows", "arguments", "error"]), { caption: "Audit records, newest first" }));
    } catch (e) { clear(out, errorBox(e)); }
  };
  await load();
  return layout(s, "Audit trail", h("form", { class: "inline", onsubmit: load },
    h("div", { class: "field" }, h("label", { for: "audit-user" }, "User"), user),
    h("div", { class: "field" }, h("label", { for: "audit-since" }, "Since (30m, 1h, 2d)"), since),
    h("button", { type: "submit" }, "Show")), out);
}

async function configPage(s) {
  const c = await get("/config");
  return layout(s, "Configuration",
    h("div", { class: "cards" }, section("Backends", keyValues({ organization: c.organization, storage: c.storage, "storage type": c.storage_type, catalog: c.catalog })),
      section("Limits", keyValues(c.limits))),
    section("Settings read from the environment (secrets redacted)", resultGrid(rowsOf(c.settings, ["name", "value", "source"]), { caption: "Settings" })));
}

const PAGES = { dashboard, tables: tablesPage, execute: executePage, mcp: mcpPage, users: usersPage, audit: auditPage, config: configPage };

(async () => {
  const s = await currentSession();
  try {
    clear(root, ...(await PAGES[page](s)));
  } catch (e) {
    clear(root, ...layout(s, "Error", errorBox(e instanceof ApiError ? e.message : String(e))));
  }
})();
