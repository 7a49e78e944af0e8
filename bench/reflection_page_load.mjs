// Page load of Reflection's SQL editor in headless Chromium (Debian's, through playwright-core
// from tests/e2e): bytes transferred, and time from navigation until the editor takes input
// (time to interactive), cold (empty cache) and warm (cached, revalidated by ETag), median of N.
// Usage: SUPERTABLE_BIN=build/supertable node bench/reflection_page_load.mjs [RUNS]
import { createRequire } from "node:module";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";

const require = createRequire(new URL("../tests/e2e/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const bin = process.env.SUPERTABLE_BIN || "build/supertable";
const runs = Number(process.argv[2] || 10);

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const home = mkdtempSync(join(tmpdir(), "st-ui-bench-"));
const token = "bench-supertoken-" + Math.random().toString(16).slice(2);
const server = spawn(bin, ["serve", "--demo", "--port", String(port)], {
  // One sign-in per run, from one address: the per-address limit is off here.
  env: { ...process.env, SUPERTABLE_HOME: home, SUPERTABLE_SUPERTOKEN: token, SUPERTABLE_LOGIN_RATE_LIMIT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
const base = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    try { if ((await fetch(base + "/healthz")).ok) break; } catch {}
    if (i > 600) throw new Error("the server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const measure = async (context) => {
    const page = await context.newPage();
    const start = performance.now();
    await page.goto(base + "/reflection/execute");
    await page.waitForSelector(".cm-content[contenteditable=true]");
    const ms = performance.now() - start;
    // Bytes over the wire (compressed, headers included), the page and everything it fetched.
    const bytes = await page.evaluate(() => performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
      .reduce((n, e) => n + e.transferSize, 0));
    await page.close();
    return { ms, bytes };
  };
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cold = [], warm = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    // Signed in without opening a page, so the first visit finds the browser's cache empty.
    const signed = await context.request.post(base + "/reflection/login", { form: { mode: "superuser", token }, maxRedirects: 0 });
    if (signed.status() !== 303) throw new Error(`sign-in answered ${signed.status()}`);
    cold.push(await measure(context));
    warm.push(await measure(context));
    await context.close();
    process.stderr.write(`\rreflection page load: run ${i + 1}/${runs}`);
  }
  process.stderr.write("\n");
  await browser.close();
  const report = (name, xs) => console.log(`${name}: time to interactive p50 ${median(xs.map((x) => x.ms)).toFixed(1)} ms, ` +
                                           `transfer ${(median(xs.map((x) => x.bytes)) / 1024).toFixed(1)} KiB`);
  report("SQL editor, cold cache", cold);
  report("SQL editor, warm cache", warm);
} finally {
  server.kill("SIGTERM");
  await new Promise((r) => server.on("exit", r));
  rmSync(home, { recursive: true, force: true });
}
