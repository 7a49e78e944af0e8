// Small DOM helpers: elements are built with text nodes, never from HTML strings, so no value
// from the server can become markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function errorBox(e) {
  return h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e));
}

export function formatValue(v) {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

// A grid of a result ({columns: [{name, type}], rows}) whose headers sort it.
export function resultGrid(result, { caption } = {}) {
  let rows = result.rows.slice();
  let sortBy = -1;
  let asc = true;
  const table = h("table", { class: "grid" });
  const render = () => {
    const head = h("tr", {}, result.columns.map((c, i) =>
      h("th", { scope: "col", "aria-sort": sortBy === i ? (asc ? "ascending" : "descending") : "none" },
        h("button", { type: "button", class: "sort", onclick: () => {
          asc = sortBy === i ? !asc : true;
          sortBy = i;
          rows.sort((a, b) => {
            const x = a[i], y = b[i];
            if (x === y) return 0;
            if (x === null) return 1;
            if (y === null) return -1;
            return (x < y ? -1 : 1) * (asc ? 1 : -1);
          });
          render();
        } }, c.name, h("span", { class: "type" }, c.type)))));
    clear(table,
          caption ? h("caption", {}, caption) : null,
          h("thead", {}, head),
          h("tbody", {}, rows.map((r) => h("tr", {}, r.map((v) =>
            h("td", { class: v === null ? "null" : typeof v === "number" ? "num" : "" }, formatValue(v)))))));
  };
  render();
  return h("div", { class: "grid-wrap", tabindex: "0", role: "region", "aria-label": caption || "result" }, table);
}

// CSV of a result, as the server's CSV writer quotes it.
export function toCsv(result) {
  const q = (v) => {
    const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s;
  };
  return [result.columns.map((c) => q(c.name)).join(","), ...result.rows.map((r) => r.map(q).join(","))].join("\n") + "\n";
}

export function download(name, text, type = "text/csv") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
