// Reflection, the web UI, in a real browser: Debian's Chromium driven by playwright-core, every
// page checked by axe-core (no serious or critical violation). Sign-in both ways, the table
// browser with time travel and a column profile, the SQL editor (run, cancel, CSV, chart), an
// administrator making a user, a role with a row filter and a token, that user seeing only
// their rows and no admin page, and forged or missing CSRF tokens refused. Screenshots of each
// page go to build/artifacts/reflection/. Servers on 127.0.0.1, free ports, always stopped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

import { bin, data, demoWarehouse, raw, startServe, stop } from "./session_suite.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "../../build/artifacts/reflection");
const state = {};

function cli(...args) {
  return execFileSync(bin, args, { env: { ...process.env, SUPERTABLE_HOME: state.home }, encoding: "utf8",
                                   stdio: ["ignore", "pipe", "pipe"] });
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  state.home = demoWarehouse();
  cli("user", "add", "rita");
  cli("role", "add", "all_reader", "--type", "reader", "--tables", "shop.*");
  cli("grant", "all_reader", "rita");
  const r = spawnSync(bin, ["token", "create", "rita"], { env: { ...process.env, SUPERTABLE_HOME: state.home }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  state.rita = r.stdout.trim();
  state.supertoken = randomBytes(24).toString("hex");
  // The suite signs in a dozen times a minute from one address: above the default limit, which
  // a test of its own checks.
  state.server = await startServe({ SUPERTABLE_HOME: state.home, SUPERTABLE_REQUIRE_TOKEN: "1",
                                    SUPERTABLE_SUPERTOKEN: state.supertoken, SUPERTABLE_LOGIN_RATE_LIMIT: "1000/min" });
  state.base = `http://127.0.0.1:${state.server.port}`;
  state.browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
                                          args: ["--no-sandbox", "--disable-dev-shm-usage"] });
});

after(async () => {
  if (state.browser) await state.browser.close();
  if (state.server) await stop(state.server);
  rmSync(state.home, { recursive: true, force: true });
});

async function accessible(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`), [],
                   `${name} has accessibility violations`);
}

async function signIn(context, how) {
  const page = await context.newPage();
  await page.goto(state.base + "/");
  assert.match(page.url(), /\/reflection\/login$/);
  if (how.superuser) {
    await page.fill("#su-token", how.token);
    await page.click("text=Sign in as superuser");
  } else {
    await page.fill("#user-name", how.user);
    await page.fill("#user-token", how.token);
    await page.click("form[aria-labelledby=user-title] button");
  }
  return page;
}

test("sign-in: the superuser token, cookies as the original sets them, a strict CSP, wrong credentials refused", async () => {
  const context = await state.browser.newContext();
  const login = await context.newPage();
  const res = await login.goto(state.base + "/reflection/login");
  const csp = res.headers()["content-security-policy"];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  await accessible(login, "login");
  await login.fill("#su-token", "not-the-token");
  await login.click("text=Sign in as superuser");
  assert.match(await login.textContent(".error"), /not valid/);

  const page = await signIn(context, { superuser: true, token: state.supertoken });
  await page.waitForSelector("text=Super tables");
  assert.match(page.url(), /\/reflection\/admin$/);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "st_session");
  assert.ok(session && session.httpOnly && session.sameSite === "Strict");
  assert.ok(cookies.find((c) => c.name === "st_admin_token")?.httpOnly);
  assert.ok(!JSON.stringify(cookies).includes(state.supertoken), "no cookie holds the token");
  await page.waitForSelector("td:text('shop')");
  await accessible(page, "dashboard");
  await page.goto(state.base + "/reflection/admin/config");
  await page.waitForSelector("text=SUPERTABLE_SUPERTOKEN");
  assert.ok(!(await page.content()).includes(state.supertoken));
  await accessible(page, "config");
  // Signing out ends the session on the server, not only in this browser.
  await page.goto(state.base + "/reflection/admin");
  await page.click("text=Sign out");
  await page.waitForURL(/\/reflection\/login$/);
  const replay = await raw(state.server.port, { method: "GET", path: "/api/v1/whoami",
                                                headers: { cookie: `st_session=${session.value}` } });
  assert.equal(replay.status, 401);
  // This server requires a credential: no sign-in without one.
  await page.goto(state.base + "/reflection/login");
  assert.equal(await page.$("text=Continue as the local administrator"), null);
  await context.close();
});

test("on loopback with no credential required (the demo), the login page offers the local administrator", async () => {
  const open = await startServe({ SUPERTABLE_HOME: state.home });
  try {
    const context = await state.browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${open.port}/`);
    await page.click("text=Continue as the local administrator");
    await page.waitForSelector("text=Super tables");
    assert.match(await page.textContent(".who"), /local/);
    await context.close();
  } finally {
    await stop(open);
  }
});

test("table browser: schema, statistics, history with a time-travel preview, a column profile with a histogram", async () => {
  const context = await state.browser.newContext();
  const page = await signIn(context, { superuser: true, token: state.supertoken });
  await page.waitForSelector("text=Super tables");
  await page.goto(state.base + "/reflection/tables");
  await page.click("aside >> text=orders");
  await page.waitForSelector("h2:text('shop.orders')");
  await page.waitForSelector("caption:text('Columns')");
  await page.waitForSelector("caption:text-matches('Data files of version')");
  await page.click(".versions button:first-child");
  await page.waitForSelector("caption:text-matches('as of version')");
  await page.click(".buttons button:text-is('status')");
  await page.waitForSelector(".profile canvas");
  await accessible(page, "tables");
  // Upload a file from the browser into a new table, then upsert into it.
  await page.fill("#up-table", "notes");
  await page.setInputFiles("#up-file", { name: "notes.csv", mimeType: "text/csv", buffer: Buffer.from("id,text\n1,first\n2,second\n") });
  await page.click("#upload button[type=submit]");
  await page.waitForSelector("text=shop.notes: version 1 (2 inserted, 0 deleted)");
  await page.waitForSelector("h2:text('shop.notes')");
  await page.fill("#up-table", "notes");
  await page.fill("#up-keys", "id");
  await page.setInputFiles("#up-file", { name: "fix.csv", mimeType: "text/csv", buffer: Buffer.from("id,text\n2,changed\n") });
  await page.click("#upload button[type=submit]");
  await page.waitForSelector("text=shop.notes: version 2 (1 inserted, 1 deleted)");
  assert.deepEqual(JSON.parse(cli("query", "shop", "SELECT text FROM notes ORDER BY id", "--format", "json")).rows, [["first"], ["changed"]]);
  await page.click("aside >> text=orders");
  await page.waitForSelector("h2:text('shop.orders')");
  // The same page on a phone: nothing wider than the screen but the scrolling grids.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.waitForSelector("h2:text('shop.orders')");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  await page.screenshot({ path: join(artifacts, "tables-phone.png"), fullPage: true });
  await context.close();
});

test("SQL editor: Ctrl+Enter runs, results sort, CSV downloads, a chart draws, a long query cancels", async () => {
  const context = await state.browser.newContext({ acceptDownloads: true });
  const page = await signIn(context, { superuser: true, token: state.supertoken });
  await page.waitForSelector("text=Super tables");
  await page.goto(state.base + "/reflection/execute");
  await page.click(".cm-content");
  await page.keyboard.press("Control+a");
  await page.keyboard.type("SELECT status, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("caption:text('Result')");
  assert.match(await page.textContent(".status"), /row\(s\) in/);
  const firstRows = await page.$$eval("table.grid tbody tr", (rows) => rows.length);
  assert.ok(firstRows > 1);
  await page.click("th button:has-text('n')");
  const download = page.waitForEvent("download");
  await page.click("#csv");
  const file = await (await download).path();
  const csv = readFileSync(file, "utf8").trim().split("\n");
  assert.equal(csv[0], "status,n");
  assert.equal(csv.length, firstRows + 1);
  const parquet = page.waitForEvent("download");
  await page.click("#parquet");
  const bytes = readFileSync(await (await parquet).path());
  assert.equal(bytes.subarray(0, 4).toString(), "PAR1");
  await page.click("#chart");
  await page.waitForSelector(".chart canvas");
  await accessible(page, "execute");
  // A query long enough to cancel: the statement is cancelled on the server.
  await page.click(".cm-content");
  await page.keyboard.press("Control+a");
  await page.keyboard.type("SELECT count(*) FROM orders a, orders b, orders c, orders d");
  await page.click("#run");
  await page.waitForSelector("text=Running");
  await page.click("#cancel");
  await page.waitForSelector(".status:text('Cancelled.')", { timeout: 30000 });
  await context.close();
});

test("an administrator makes a user, a role with a row filter and a token; that user sees only the allowed rows and no admin page", async () => {
  const admin = await state.browser.newContext();
  const page = await signIn(admin, { superuser: true, token: state.supertoken });
  await page.waitForSelector("text=Super tables");
  await page.goto(state.base + "/reflection/users");
  await page.fill("#f-name", "nadia");
  await page.click("#new-user button");
  await page.waitForSelector("td:text('nadia')");
  await page.fill("#f-role", "nl_only");
  await page.selectOption("#f-type", "reader");
  await page.fill("#f-tables", "shop.customers");
  await page.fill("#f-filter_table", "shop.customers");
  await page.fill("#f-filter", "country = 'NL'");
  await page.click("#new-role button");
  await page.waitForSelector("td:text('nl_only')");
  await page.fill("#f-user", "nadia");
  await page.fill("#f-grant_role", "nl_only");
  await page.click("#grant button");
  await page.waitForSelector("text=Granted nl_only to nadia");
  await page.fill("#f-owner", "nadia");
  await page.fill("#f-token_name", "browser");
  await page.click("#new-token button");
  const token = (await page.textContent("#issued-token")).trim();
  assert.match(token, /^st_/);
  await accessible(page, "users");

  const userContext = await state.browser.newContext();
  const user = await signIn(userContext, { user: "nadia", token });
  await user.waitForSelector("text=Super tables");
  assert.equal(await user.$("nav >> text=Users & roles"), null, "no admin link for a reader");
  await user.goto(state.base + "/reflection/execute");
  await user.click(".cm-content");
  await user.keyboard.press("Control+a");
  await user.keyboard.type("SELECT DISTINCT country FROM customers ORDER BY 1");
  await user.keyboard.press("Control+Enter");
  await user.waitForSelector("caption:text('Result')");
  const countries = await user.$$eval("table.grid tbody td", (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(countries, ["NL"]);
  for (const path of ["/reflection/users", "/reflection/audit", "/reflection/admin/config"]) {
    const r = await user.goto(state.base + path);
    assert.equal(r.status(), 403, path);
  }
  await user.goto(state.base + "/reflection/admin");
  await user.waitForSelector("text=Tables (");
  assert.equal(await user.$("td:text('orders')"), null, "a table no role grants does not exist for her");

  // A change without the session's CSRF token, or with a forged one, is refused; with it, works.
  const forged = await user.evaluate(async () => {
    const call = (headers) => fetch("/api/v1/tokens", { method: "POST", headers: { "content-type": "application/json", ...headers },
                                                        body: JSON.stringify({ name: "x" }) }).then((r) => r.status);
    const s = await fetch("/reflection/session").then((r) => r.json());
    return [await call({}), await call({ "x-csrf-token": "forged" }), await call({ "x-csrf-token": s.csrf })];
  });
  assert.deepEqual(forged, [403, 403, 200]);
  // The same from another site's page: the Origin is refused before the cookie is looked at.
  const cross = await raw(state.server.port, { method: "POST", path: "/api/v1/tokens",
                                               headers: { origin: "https://evil.example", "content-type": "application/json",
                                                          cookie: (await userContext.cookies()).map((c) => `${c.name}=${c.value}`).join("; ") },
                                               body: JSON.stringify({ name: "y" }) });
  assert.equal(cross.status, 403);
  await userContext.close();
  await admin.close();
});

test("a user signs in with a name and token; a token of someone else, or a wrong name, is refused; the audit viewer and MCP tester work", async () => {
  const context = await state.browser.newContext();
  const wrong = await signIn(context, { user: "nadia", token: state.rita });
  assert.match(await wrong.textContent(".error"), /not valid/);
  const page = await signIn(context, { user: "rita", token: state.rita });
  await page.waitForSelector("text=Super tables");
  await page.goto(state.base + "/reflection/mcp");
  await page.selectOption("#tool", "list_tables");
  await page.fill("#arg-super", "shop");
  await page.click(".tool-form button[type=submit]");
  await page.waitForSelector("pre.raw:has-text('orders')");
  await accessible(page, "mcp");
  // An expired session (its end moved into the past in the catalog, as time would) is no
  // session: the API refuses it and the pages send the user to the login.
  execFileSync("python3", ["-c", `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE documents SET body = json_set(body, '$.expires_micros', 1) WHERE kind = 'ui_session' AND json_extract(body, '$.user') = 'rita'")
db.commit()
`, join(state.home, "catalog.db")]);
  await new Promise((r) => setTimeout(r, 1200));  // a session is read from the catalog at most once a second
  assert.equal(await page.evaluate(() => fetch("/api/v1/whoami").then((r) => r.status)), 401);
  await page.goto(state.base + "/reflection/execute");
  assert.match(page.url(), /\/reflection\/login$/);
  await context.close();

  const admin = await state.browser.newContext();
  const a = await signIn(admin, { superuser: true, token: state.supertoken });
  await a.waitForSelector("text=Super tables");
  await a.goto(state.base + "/reflection/audit");
  await a.fill("#audit-user", "rita");
  // Her sign-in is in the trail (records reach it within a second or so).
  for (let i = 0; i < 20 && !(await a.$("td:text('reflection:sign_in')")); i++) {
    await a.click("form.inline button");
    await a.waitForTimeout(300);
  }
  await a.waitForSelector("td:text('reflection:sign_in')");
  await a.waitForSelector("td:text('rita')");
  // The refused attempt (nadia's name, rita's token) is there too, as denied.
  const denied = JSON.parse(cli("query", "shop", "SELECT principal, outcome FROM system.audit WHERE action = 'reflection:sign_in' AND outcome = 'denied'", "--format", "json")).rows;
  assert.ok(denied.some(([who]) => who === "nadia"), JSON.stringify(denied));
  await accessible(a, "audit");
  await admin.close();
});

test("sign-in attempts are limited per address (SUPERTABLE_LOGIN_RATE_LIMIT), refusals audited", async () => {
  const limited = await startServe({ SUPERTABLE_HOME: state.home, SUPERTABLE_SUPERTOKEN: state.supertoken,
                                     SUPERTABLE_LOGIN_RATE_LIMIT: "3/min" });
  try {
    const attempt = (token) => raw(limited.port, { method: "POST", path: "/reflection/login",
                                                   headers: { "content-type": "application/x-www-form-urlencoded" },
                                                   body: `mode=superuser&token=${encodeURIComponent(token)}` });
    for (let i = 0; i < 3; i++) assert.equal((await attempt("guess-" + i)).status, 401);
    const stopped = await attempt(state.supertoken);  // even the right token waits now
    assert.equal(stopped.status, 429);
    assert.match(stopped.text, /too many sign-in attempts/);
    assert.ok(Number(stopped.headers["retry-after"]) >= 1);
  } finally {
    await stop(limited);
  }
  const bad = spawnSync(bin, ["serve", "--port", "0"], { env: { ...process.env, SUPERTABLE_HOME: state.home,
                                                                SUPERTABLE_LOGIN_RATE_LIMIT: "lots" }, encoding: "utf8", timeout: 30000 });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /SUPERTABLE_LOGIN_RATE_LIMIT/);
});
