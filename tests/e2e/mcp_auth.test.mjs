// The HTTP front door of `supertable serve` against credentials and clients no one here wrote:
// JWTs minted by npm `jose` (HS256, RS256 with a PEM key) and every usual attack on them; access
// tokens of a real authorization server (`oidc-provider`, tests/security/jwks_server.mjs, by the
// client_credentials grant) verified through its JWKS; SuperTable's own tokens (`supertable token
// create`), revoked, expired and tampered; the policies of roles (row filters, hidden columns,
// masks, meta, no roles) as the official MCP SDK client sees them; the OAuth protected resource
// metadata and challenges (SUPERTABLE_REQUIRE_TOKEN=1); sessions bound to their principal;
// scopes; rate limits; a trusted proxy's user header; and no secret in the logs. Every server
// runs on 127.0.0.1 with a free port and is always stopped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import http from "node:http";

import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";

import { ACCEPT, bin, data, demoWarehouse, freePort, initBody, jsonHeaders, newClient, raw, startServe, stop } from "./session_suite.mjs";

// jose comes from tests/security (installed there by scripts/setup.sh, pinned by its lock file).
const securityDir = process.env.SUPERTABLE_SECURITY_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), "../security");
const jose = await import(pathToFileURL(createRequire(join(securityDir, "package.json")).resolve("jose")).href);

const state = {};
const servers = [];     // every child started, killed in after() if still running
const secrets = [];     // every token and secret handed to a server: none may appear in its logs
const logs = [];        // every server's { stdout(), stderr() }
const ISS = "https://idp.example.test";
const AUD = "supertable-e2e";
const AS = "https://idp.example.test";

function cli(...args) {
  return execFileSync(bin, args, { env: { ...process.env, SUPERTABLE_HOME: state.home }, encoding: "utf8", timeout: 30000,
                                   stdio: ["ignore", "pipe", "pipe"] });
}

async function serve(env = {}, args = []) {
  const s = await startServe({ SUPERTABLE_HOME: state.home, LOG_LEVEL: "debug", ...env }, args, (child) => servers.push(child));
  logs.push(s);
  return s;
}



const bearer = (token) => ({ authorization: `Bearer ${token}` });
const ping = (id = 2) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });
const callBody = (name, args = {}, id = 3) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } });

// The SDK client with extra request headers (a bearer token, a proxy's user header).
async function connect(server, headers = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
  const client = newClient({});
  await client.connect(transport);
  return { client, transport };
}

async function whoami(server, headers) {
  const { client } = await connect(server, headers);
  try {
    const r = await client.callTool({ name: "whoami", arguments: {} });
    assert.equal(r.isError, false, JSON.stringify(r.content));
    return r.structuredContent;
  } finally {
    await client.close();
  }
}

const challenge = (server, extra = "") =>
  `Bearer realm="supertable", resource_metadata="http://127.0.0.1:${server.port}/.well-known/oauth-protected-resource/mcp", scope="supertable:read"${extra}`;

// A presented credential refused: 401, invalid_token, the generic message; and the SDK client
// cannot start a session with it either.
async function assertRefused(server, token, what) {
  const r = await raw(server.port, { headers: jsonHeaders(bearer(token)), body: initBody });
  assert.equal(r.status, 401, `${what}: ${r.text}`);
  assert.equal(r.headers["www-authenticate"], challenge(server, ', error="invalid_token"'), what);
  assert.equal(r.json.error.message, "Unauthorized: the credential is not valid", what);
  await assert.rejects(connect(server, bearer(token)), (e) => e.code === 401, `${what}: the SDK client got in`);
}

// A tool call that is refused, as a JSON-RPC error or an error result; returns the message.
async function toolRefused(client, name, args) {
  try {
    const r = await client.callTool({ name, arguments: args });
    assert.equal(r.isError, true, `${name} answered: ${JSON.stringify(r.structuredContent)}`);
    return r.content.map((c) => c.text).join("\n");
  } catch (e) {
    return e.message;
  }
}

// ---------- tokens ----------

const jwtSecret = randomBytes(32).toString("hex");
secrets.push(jwtSecret);
const hsKey = new TextEncoder().encode(jwtSecret);
const now = () => Math.floor(Date.now() / 1000);

async function sign(claims, { key = hsKey, alg = "HS256", iss = ISS, aud = AUD, iat = now(), exp = now() + 300, header = {} } = {}) {
  let jwt = new jose.SignJWT({ scope: "supertable:read", ...claims }).setProtectedHeader({ alg, typ: "JWT", ...header });
  if (iss !== null) jwt = jwt.setIssuer(iss);
  if (aud !== null) jwt = jwt.setAudience(aud);
  if (iat !== null) jwt = jwt.setIssuedAt(iat);
  if (exp !== null) jwt = jwt.setExpirationTime(exp);
  const token = await jwt.sign(key);
  secrets.push(token);
  return token;
}

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
// HS256 by hand, for headers jose refuses to write (crit).
function hmacSigned(header, claims, key = jwtSecret) {
  const input = `${b64(header)}.${b64({ iss: ISS, aud: AUD, iat: now(), exp: now() + 300, scope: "supertable:read", ...claims })}`;
  const token = `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
  secrets.push(token);
  return token;
}
const unsigned = (claims) =>
  `${b64({ alg: "none", typ: "JWT" })}.${b64({ iss: ISS, aud: AUD, iat: now(), exp: now() + 300, scope: "supertable:read", ...claims })}.`;
// One character of the signature changed (not the last, whose low bits may be unused).
function tamperSignature(token) {
  const [h, p, s] = token.split(".");
  const i = Math.floor(s.length / 2);
  return `${h}.${p}.${s.slice(0, i)}${s[i] === "A" ? "B" : "A"}${s.slice(i + 1)}`;
}

// `token create`: stdout is the token and nothing else; stderr says which it was, without it.
function stToken(user, ...flags) {
  const r = spawnSync(bin, ["token", "create", user, ...flags],
                      { env: { ...process.env, SUPERTABLE_HOME: state.home }, encoding: "utf8", timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^st_[0-9a-f]{16}_\S+\n$/, `token create printed more than the token: ${r.stdout}`);
  const token = r.stdout.trim();
  secrets.push(token);
  const id = token.slice(3, 19);
  assert.match(r.stderr, new RegExp(`token ${id} for '${user}' created`));
  assert.ok(!r.stderr.includes(token.slice(20)), "token create wrote the secret to stderr");
  return { token, id };
}

// ---------- setup ----------

before(async () => {
  state.home = demoWarehouse();
  // A table whose rows name their owner, for a row filter on current_user().
  state.tmp = mkdtempSync(join(tmpdir(), "supertable-auth-"));
  writeFileSync(join(state.tmp, "accounts.csv"), "account_id,owner,balance\n1,dana,10\n2,dana,20\n3,erin,30\n4,frank,40\n");
  cli("ingest", "crm", "accounts", join(state.tmp, "accounts.csv"));
  cli("role", "add", "shop_reader", "--type", "reader", "--tables", "shop.*");
  cli("role", "add", "nl_customers", "--type", "reader", "--tables", "shop.customers",
      "--columns", "shop.customers=customer_id,name,country",
      "--row-filter", "shop.customers=country = 'NL'",
      "--mask", "shop.customers.name='***'");
  cli("role", "add", "own_accounts", "--type", "reader", "--tables", "crm.accounts",
      "--row-filter", "crm.accounts=owner = current_user()");
  cli("role", "add", "structure", "--type", "meta", "--tables", "shop.*");
  for (const u of ["alice", "bob", "carol", "agent"]) cli("user", "add", u, "--role", "shop_reader");
  cli("user", "add", "dana", "--role", "nl_customers", "--role", "own_accounts");
  cli("user", "add", "mona", "--role", "structure");
  cli("user", "add", "nobody");
  state.supertoken = randomBytes(24).toString("hex");
  secrets.push(state.supertoken);
  // The main server: a token required, JWTs signed with an HS256 secret, SuperTable tokens.
  state.main = await serve({
    SUPERTABLE_REQUIRE_TOKEN: "1",
    SUPERTABLE_SUPERTOKEN: state.supertoken,
    SUPERTABLE_JWT_ALGORITHM: "HS256",
    SUPERTABLE_JWT_SECRET: jwtSecret,
    SUPERTABLE_JWT_ISSUER: ISS,
    SUPERTABLE_JWT_AUDIENCE: AUD,
    SUPERTABLE_OAUTH_AUTHORIZATION_SERVERS: AS,
  });
});

after(async () => {
  for (const s of servers) if (s.exitCode === null) s.kill("SIGKILL");
  rmSync(state.home, { recursive: true, force: true });
  rmSync(state.tmp, { recursive: true, force: true });
});

// ---------- 1. JWTs minted by jose ----------

test("HS256 JWT from jose: the SDK client acts as its user and queries", { timeout: 60000 }, async () => {
  const token = await sign({ sub: "alice" });
  const { client } = await connect(state.main, bearer(token));
  const me = (await client.callTool({ name: "whoami", arguments: {} })).structuredContent;
  assert.equal(me.user, "alice");
  assert.equal(me.auth, "jwt");
  assert.equal(me.superuser, false);
  assert.deepEqual(me.roles, ["shop_reader (reader)"]);
  assert.deepEqual(me.scopes, ["supertable:read"]);
  assert.equal(me.token_id, undefined);
  const q = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) FROM orders" } });
  assert.equal(q.isError, false, JSON.stringify(q.content));
  assert.equal(q.structuredContent.rows[0][0], 4000);
  await client.close();
  // The user is the first claim that names one: no sub of a user, client_id does.
  const byClient = await whoami(state.main, bearer(await sign({ sub: "svc-7781", client_id: "carol" })));
  assert.deepEqual([byClient.user, byClient.auth], ["carol", "jwt"]);
  const byName = await whoami(state.main, bearer(await sign({ username: "carol" })));
  assert.equal(byName.user, "carol");
  // The supertoken is the superuser.
  const su = await whoami(state.main, bearer(state.supertoken));
  assert.deepEqual([su.user, su.auth, su.superuser], ["superuser", "supertoken", true]);
});

test("HS256 JWT attacks are refused with 401", { timeout: 60000 }, async () => {
  const good = await sign({ sub: "alice" });
  const other = randomBytes(32).toString("hex");
  const { privateKey } = await jose.generateKeyPair("RS256");
  const cases = [
    ["expired", await sign({ sub: "alice" }, { iat: now() - 3600, exp: now() - 300 })],
    ["not yet valid", await sign({ sub: "alice", nbf: now() + 600 })],
    ["no exp", await sign({ sub: "alice" }, { exp: null })],
    ["wrong issuer", await sign({ sub: "alice" }, { iss: "https://evil.example.test" })],
    ["no issuer", await sign({ sub: "alice" }, { iss: null })],
    ["wrong audience", await sign({ sub: "alice" }, { aud: "someone-else" })],
    ["no audience", await sign({ sub: "alice" }, { aud: null })],
    ["alg none", unsigned({ sub: "alice" })],
    ["alg none, uppercase", `${b64({ alg: "NONE", typ: "JWT" })}.${unsigned({ sub: "alice" }).split(".")[1]}.`],
    ["tampered signature", tamperSignature(good)],
    ["tampered payload", `${good.split(".")[0]}.${b64({ sub: "bob", iss: ISS, aud: AUD, exp: now() + 300, scope: "supertable:read" })}.${good.split(".")[2]}`],
    ["signature stripped", good.split(".").slice(0, 2).join(".") + "."],
    ["another secret", await sign({ sub: "alice" }, { key: new TextEncoder().encode(other) })],
    ["RS256 where HS256 is configured", await sign({ sub: "alice" }, { key: privateKey, alg: "RS256" })],
    ["HS512 where HS256 is configured", await sign({ sub: "alice" }, { alg: "HS512" })],
    ["unknown user", await sign({ sub: "mallory" })],
    ["no user claim", await sign({})],
    ["crit header", hmacSigned({ alg: "HS256", typ: "JWT", crit: ["exp"] }, { sub: "alice" })],
    ["typ of another kind", hmacSigned({ alg: "HS256", typ: "dpop+jwt" }, { sub: "alice" })],
    ["not a token", "not-a-jwt-or-anything-else-at-all"],
  ];
  secrets.push(...cases.map(([, t]) => t));
  for (const [what, token] of cases) await assertRefused(state.main, token, what);
  // A disabled user is refused although its token is good; enabled again, it works.
  const bobs = await sign({ sub: "bob" });
  assert.equal((await whoami(state.main, bearer(bobs))).user, "bob");
  // The first claim that names a user decides: a disabled sub does not fall through to a
  // client_id that names another (a user's token issued to a client with a user of its own).
  const bobViaClient = await sign({ sub: "bob", client_id: "carol" });
  assert.equal((await whoami(state.main, bearer(bobViaClient))).user, "bob");
  cli("user", "disable", "bob");
  await assertRefused(state.main, bobs, "disabled user");
  await assertRefused(state.main, bobViaClient, "disabled user, another user's client_id");
  cli("user", "enable", "bob");
  assert.equal((await whoami(state.main, bearer(bobs))).user, "bob");
  // The good token still works after all that.
  assert.equal((await whoami(state.main, bearer(good))).user, "alice");
});

test("RS256 with a PEM public key: a good token works; HS/RS confusion and other keys are refused", { timeout: 60000 }, async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
  const pem = await jose.exportSPKI(publicKey);
  const server = await serve({
    SUPERTABLE_REQUIRE_TOKEN: "1",
    SUPERTABLE_JWT_ALGORITHM: "RS256",
    SUPERTABLE_JWT_PUBLIC_KEY: pem,
    SUPERTABLE_JWT_ISSUER: ISS,
    SUPERTABLE_JWT_AUDIENCE: AUD,
  });
  try {
    const good = await sign({ sub: "alice" }, { key: privateKey, alg: "RS256" });
    const me = await whoami(server, bearer(good));
    assert.deepEqual([me.user, me.auth], ["alice", "jwt"]);
    const stranger = (await jose.generateKeyPair("RS256")).privateKey;
    const cases = [
      // The classic confusion: HMAC keyed with the public key's PEM text (and its DER bytes).
      ["HS256 keyed with the PEM", await sign({ sub: "alice" }, { key: new TextEncoder().encode(pem), alg: "HS256" })],
      ["HS256 keyed with the DER", await sign({ sub: "alice" }, {
        key: Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64"), alg: "HS256" })],
      ["another RSA key", await sign({ sub: "alice" }, { key: stranger, alg: "RS256" })],
      ["alg none", unsigned({ sub: "alice" })],
      ["tampered signature", tamperSignature(good)],
      ["PS256 with the right key", await sign({ sub: "alice" }, {
        key: await jose.importPKCS8(await jose.exportPKCS8(privateKey), "PS256"), alg: "PS256" })],
    ];
    for (const [what, token] of cases) await assertRefused(server, token, what);
  } finally {
    assert.equal(await stop(server), 0);
  }
});

// ---------- 2. a real authorization server ----------

test("oidc-provider: a client_credentials access token, verified through the JWKS, drives the SDK client", { timeout: 90000 }, async () => {
  const port = await freePort();
  const idp = spawn(process.execPath, [join(securityDir, "jwks_server.mjs"), "--port", String(port),
                                       "--scopes", "supertable:read supertable:write tables:read"],
                    { cwd: securityDir, stdio: ["ignore", "pipe", "pipe"] });
  servers.push(idp);
  try {
    let out = "";
    let err = "";
    idp.stdout.on("data", (d) => (out += d));
    idp.stderr.on("data", (d) => (err += d));
    for (let i = 0; i < 300 && !out.includes("\n"); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(out.includes("\n"), `jwks_server.mjs did not start: ${err}`);
    const { issuer } = JSON.parse(out.split("\n")[0]);
    assert.equal(issuer, `http://127.0.0.1:${port}`);
    // The grant, at the provider's own token endpoint (from its discovery document).
    const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
    const grant = async (scope) => {
      const res = await fetch(discovery.token_endpoint, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from("agent:agent-secret-agent-secret-0123456789").toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ grant_type: "client_credentials", resource: "urn:supertable:test", scope }),
      });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      secrets.push(body.access_token);
      return body.access_token;
    };
    const token = await grant("supertable:read");
    const claims = jose.decodeJwt(token);
    assert.deepEqual([claims.sub, claims.client_id, claims.aud, claims.iss, claims.scope],
                     ["agent", "agent", "urn:supertable:test", issuer, "supertable:read"]);
    assert.equal(jose.decodeProtectedHeader(token).alg, "RS256");

    const server = await serve({
      SUPERTABLE_REQUIRE_TOKEN: "1",
      SUPERTABLE_JWT_ALGORITHM: "RS256",
      SUPERTABLE_JWKS_URI: discovery.jwks_uri,
      SUPERTABLE_JWT_ISSUER: issuer,
      SUPERTABLE_JWT_AUDIENCE: "urn:supertable:test",
      SUPERTABLE_OAUTH_AUTHORIZATION_SERVERS: issuer,
    });
    try {
      const { client } = await connect(server, bearer(token));
      const me = (await client.callTool({ name: "whoami", arguments: {} })).structuredContent;
      assert.deepEqual([me.user, me.auth, me.superuser], ["agent", "jwt", false]);
      assert.deepEqual(me.scopes, ["supertable:read"]);
      const q = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) FROM customers" } });
      assert.equal(q.isError, false, JSON.stringify(q.content));
      assert.ok(q.structuredContent.rows[0][0] > 0);
      const t = await client.callTool({ name: "list_tables", arguments: { super: "shop" } });
      assert.deepEqual(t.structuredContent.tables.map((x) => x.name ?? x.table).sort(), ["customers", "orders", "products"]);
      await client.close();
      // The PRM names the provider; the SDK's own discovery reads it.
      const prm = await discoverOAuthProtectedResourceMetadata(new URL(server.url));
      assert.deepEqual(prm.authorization_servers, [issuer]);
      // A token of the provider granted only a scope SuperTable does not know: the session
      // starts, but its tools are refused for the missing supertable:read.
      const narrow = await grant("tables:read");
      const init = await raw(server.port, { headers: jsonHeaders(bearer(narrow)), body: initBody });
      assert.equal(init.status, 200, init.text);
      const call = await raw(server.port, {
        headers: jsonHeaders({ ...bearer(narrow), "mcp-session-id": init.headers["mcp-session-id"] }), body: callBody("whoami") });
      assert.equal(call.status, 403, call.text);
      assert.equal(call.headers["www-authenticate"], challenge(server, ', error="insufficient_scope"'));
      // A token for another resource of the same provider is not for us; a tampered one neither.
      await assertRefused(server, tamperSignature(token), "tampered provider token");
      const otherAud = await sign({ sub: "agent" }, { key: (await jose.generateKeyPair("RS256")).privateKey, alg: "RS256", iss: issuer, aud: "urn:supertable:test" });
      await assertRefused(server, otherAud, "a key the JWKS does not hold");
    } finally {
      assert.equal(await stop(server), 0);
    }
  } finally {
    idp.kill("SIGTERM");
  }
});

// ---------- 3. SuperTable tokens and policies ----------

test("SuperTable tokens: token create → SDK client works; revoked, expired, tampered → 401", { timeout: 60000 }, async () => {
  const { token, id } = stToken("alice", "--name", "e2e");
  const { client } = await connect(state.main, bearer(token));
  const me = (await client.callTool({ name: "whoami", arguments: {} })).structuredContent;
  assert.deepEqual([me.user, me.auth, me.token_id, me.scopes], ["alice", "token", id, "all its roles allow"]);
  const q = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT count(*) FROM products" } });
  assert.equal(q.isError, false, JSON.stringify(q.content));
  const listed = JSON.parse(cli("token", "list", "alice", "--format", "json"));
  assert.ok(listed.rows.some((t) => t[0] === id), JSON.stringify(listed));
  assert.ok(!JSON.stringify(listed).includes(token.slice(20)), "token list shows the secret");
  // Revoked: the very next request of the open session is refused.
  assert.match(cli("token", "revoke", id), new RegExp(`token ${id} revoked`));
  await assert.rejects(client.callTool({ name: "whoami", arguments: {} }), (e) => e.code === 401);
  await client.close().catch(() => {});
  await assertRefused(state.main, token, "revoked token");
  // Expiring in 1 s: works at once, refused 2 s later.
  const short = stToken("alice", "--expires", "1s");
  const born = Date.now();
  const r = await raw(state.main.port, { headers: jsonHeaders(bearer(short.token)), body: initBody });
  if (Date.now() - born < 900) assert.equal(r.status, 200, r.text);
  await new Promise((res) => setTimeout(res, 2000));
  await assertRefused(state.main, short.token, "expired token");
  // Tampered: a changed secret, and a real secret under another id.
  const good = stToken("alice");
  const last = good.token.at(-1);
  await assertRefused(state.main, good.token.slice(0, -1) + (last === "a" ? "b" : "a"), "tampered secret");
  await assertRefused(state.main, `st_${short.id}_${good.token.slice(20)}`, "secret under another id");
  await assertRefused(state.main, good.token + "x", "longer secret");
  secrets.push(good.token.slice(20));
  // A disabled user's token is refused too.
  const bobs = stToken("bob");
  cli("user", "disable", "bob");
  await assertRefused(state.main, bobs.token, "disabled user's token");
  cli("user", "enable", "bob");
  assert.equal((await whoami(state.main, bearer(bobs.token))).user, "bob");
});

test("policies through a token: row filter, hidden column, mask, ungranted tables", { timeout: 60000 }, async () => {
  const { token } = stToken("dana");
  const { client } = await connect(state.main, bearer(token));
  const nl = readFileSync(join(data, "customers.csv"), "utf8").trim().split("\n").slice(1).filter((l) => l.split(",")[2] === "NL").length;
  assert.ok(nl > 0);
  const q = await client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT * FROM customers ORDER BY customer_id" } });
  assert.equal(q.isError, false, JSON.stringify(q.content));
  const cols = q.structuredContent.columns.map((c) => c.name ?? c);
  assert.deepEqual(cols, ["customer_id", "name", "country"]);
  assert.equal(q.structuredContent.row_count, nl);
  for (const row of q.structuredContent.rows) {
    assert.equal(row[2], "NL");
    assert.equal(row[1], "***");
  }
  // A hidden column behaves as one that does not exist.
  const hidden = await toolRefused(client, "query_sql", { super: "shop", sql: "SELECT is_business FROM customers" });
  assert.match(hidden, /unknown column 'is_business'/);
  assert.doesNotMatch(hidden, /signup_date/);
  // Ungranted tables: not listed, not queryable.
  const tables = await client.callTool({ name: "list_tables", arguments: { super: "shop" } });
  assert.deepEqual(tables.structuredContent.tables.map((x) => x.name ?? x.table), ["customers"]);
  const orders = await toolRefused(client, "query_sql", { super: "shop", sql: "SELECT count(*) FROM orders" });
  assert.match(orders, /unknown table 'orders'/);
  // current_user() in a row filter: only dana's accounts.
  const acc = await client.callTool({ name: "query_sql", arguments: { super: "crm", sql: "SELECT account_id, owner FROM accounts ORDER BY 1" } });
  assert.equal(acc.isError, false, JSON.stringify(acc.content));
  assert.deepEqual(acc.structuredContent.rows, [[1, "dana"], [2, "dana"]]);
  const supers = await client.callTool({ name: "list_supers", arguments: {} });
  assert.deepEqual(supers.structuredContent.supers.map((s) => s.name ?? s.super).sort(), ["crm", "shop"]);
  await client.close();
});

test("a meta user sees structure, not rows; a user with no roles sees no supers", { timeout: 60000 }, async () => {
  const mona = await connect(state.main, bearer(stToken("mona").token));
  const refused = await toolRefused(mona.client, "query_sql", { super: "shop", sql: "SELECT count(*) FROM orders" });
  assert.match(refused, /table 'shop.orders': your roles show its structure and statistics, not its rows/);
  const sample = await toolRefused(mona.client, "sample_data", { super: "shop", table: "customers", limit: 3 });
  assert.match(sample, /not its rows/);
  const d = await mona.client.callTool({ name: "describe_table", arguments: { super: "shop", table: "orders" } });
  assert.equal(d.isError, false, JSON.stringify(d.content));
  assert.ok(d.structuredContent.columns.some((c) => c.name === "amount"), JSON.stringify(d.structuredContent.columns));
  await mona.client.close();
  const nobody = await connect(state.main, bearer(stToken("nobody").token));
  const s = await nobody.client.callTool({ name: "list_supers", arguments: {} });
  assert.deepEqual(s.structuredContent.supers, []);
  const q = await toolRefused(nobody.client, "query_sql", { super: "shop", sql: "SELECT 1" });
  assert.match(q, /unknown super table 'shop'/);
  await nobody.client.close();
});

// ---------- 4. REQUIRE_TOKEN: challenges and metadata ----------

test("REQUIRE_TOKEN=1: exact challenges; metadata and /health answer without a token", { timeout: 60000 }, async () => {
  const s = state.main;
  const none = await raw(s.port, { headers: jsonHeaders(), body: initBody });
  assert.equal(none.status, 401);
  assert.equal(none.headers["www-authenticate"], challenge(s));
  assert.equal(none.json.error.code, -32001);
  for (const req of [{ method: "GET", headers: { accept: "text/event-stream" } }, { method: "DELETE", headers: { "mcp-session-id": "0".repeat(32) } }]) {
    const r = await raw(s.port, req);
    assert.equal(r.status, 401, `${req.method}: ${r.text}`);
    assert.equal(r.headers["www-authenticate"], challenge(s));
  }
  const notBearer = await raw(s.port, { headers: jsonHeaders({ authorization: "Basic YWxpY2U6c2VjcmV0" }), body: initBody });
  assert.equal(notBearer.status, 401);
  assert.equal(notBearer.headers["www-authenticate"], challenge(s, ', error="invalid_request"'));
  const wrong = await raw(s.port, { headers: jsonHeaders(bearer("st_0000000000000000_nope")), body: initBody });
  assert.equal(wrong.headers["www-authenticate"], challenge(s, ', error="invalid_token"'));
  // The SDK parses the challenge as a client would.
  const res = await fetch(s.url, { method: "POST", headers: jsonHeaders(), body: initBody });
  const params = extractWWWAuthenticateParams(res);
  assert.equal(params.resourceMetadataUrl.href, `http://127.0.0.1:${s.port}/.well-known/oauth-protected-resource/mcp`);
  assert.equal(params.scope, "supertable:read");
  // The metadata, at both well-known paths, without a token.
  const expected = {
    resource: s.url,
    authorization_servers: [AS],
    scopes_supported: ["supertable:read", "supertable:write", "supertable:admin"],
    bearer_methods_supported: ["header"],
  };
  for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
    const m = await raw(s.port, { method: "GET", path });
    assert.equal(m.status, 200, `${path}: ${m.text}`);
    assert.match(m.headers["content-type"], /application\/json/);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(m.json[k], v, `${path} ${k}`);
  }
  const prm = await discoverOAuthProtectedResourceMetadata(new URL(s.url));
  assert.equal(prm.resource, s.url);
  const post = await raw(s.port, { method: "POST", path: "/.well-known/oauth-protected-resource/mcp", headers: jsonHeaders(), body: "{}" });
  assert.equal(post.status, 405);
  const health = await raw(s.port, { method: "GET", path: "/health" });
  assert.equal(health.status, 200);
  assert.equal(health.json.status, "ok");
  // Nothing else answers without a token.
  const other = await raw(s.port, { method: "GET", path: "/.well-known/oauth-authorization-server" });
  assert.equal(other.status, 401);
});

// ---------- 5. sessions belong to their principal ----------

test("session binding: another principal's request with A's Mcp-Session-Id gets 403", { timeout: 60000 }, async () => {
  const a = stToken("alice");
  const b = stToken("dana");
  const { client, transport } = await connect(state.main, bearer(a.token));
  const sid = transport.sessionId;
  assert.match(sid, /^[0-9a-f]{32}$/);
  const asB = await raw(state.main.port, { headers: jsonHeaders({ ...bearer(b.token), "mcp-session-id": sid }), body: callBody("whoami") });
  assert.equal(asB.status, 403, asB.text);
  assert.match(asB.json.error.message, /belongs to another principal/);
  const jwtB = await raw(state.main.port, { headers: jsonHeaders({ ...bearer(await sign({ sub: "carol" })), "mcp-session-id": sid }), body: ping() });
  assert.equal(jwtB.status, 403);
  const getB = await raw(state.main.port, { method: "GET", headers: { ...bearer(b.token), accept: "text/event-stream", "mcp-session-id": sid } });
  assert.equal(getB.status, 403);
  const delB = await raw(state.main.port, { method: "DELETE", headers: { ...bearer(b.token), "mcp-session-id": sid } });
  assert.equal(delB.status, 403);
  const anon = await raw(state.main.port, { headers: jsonHeaders({ "mcp-session-id": sid }), body: ping() });
  assert.equal(anon.status, 401);
  // A's session is untouched and still A's.
  const asA = await raw(state.main.port, { headers: jsonHeaders({ ...bearer(a.token), "mcp-session-id": sid }), body: ping(9) });
  assert.equal(asA.status, 200, asA.text);
  const me = (await client.callTool({ name: "whoami", arguments: {} })).structuredContent;
  assert.equal(me.user, "alice");
  await client.close();
});

// ---------- 6. scopes ----------

test("a token with only supertable:write: tools/call is 403 insufficient_scope asking for supertable:read", { timeout: 60000 }, async () => {
  const { token } = stToken("alice", "--scopes", "supertable:write");
  const init = await raw(state.main.port, { headers: jsonHeaders(bearer(token)), body: initBody });
  assert.equal(init.status, 200, init.text);
  const sid = init.headers["mcp-session-id"];
  const call = await raw(state.main.port, { headers: jsonHeaders({ ...bearer(token), "mcp-session-id": sid }), body: callBody("whoami") });
  assert.equal(call.status, 403, call.text);
  assert.equal(call.headers["www-authenticate"], challenge(state.main, ', error="insufficient_scope"'));
  assert.match(call.json.error.message, /insufficient_scope/);
  assert.equal(call.json.id, 3);
  // The SDK client gets the 403 too.
  const { client } = await connect(state.main, bearer(token));
  await assert.rejects(client.callTool({ name: "query_sql", arguments: { super: "shop", sql: "SELECT 1" } }), (e) => e.code === 403);
  await client.close();
  // A JWT whose scope claim lacks supertable:read is narrowed the same way.
  // So is one whose scope claim is there but empty (granted nothing), and one with scp: [].
  for (const claims of [{ scope: "supertable:write" }, { scope: "" }, { scope: undefined, scp: [] }]) {
    const jwt = await sign({ sub: "alice", ...claims });
    const jinit = await raw(state.main.port, { headers: jsonHeaders(bearer(jwt)), body: initBody });
    assert.equal(jinit.status, 200, jinit.text);
    const jcall = await raw(state.main.port, { headers: jsonHeaders({ ...bearer(jwt), "mcp-session-id": jinit.headers["mcp-session-id"] }), body: callBody("list_supers") });
    assert.equal(jcall.status, 403, `${JSON.stringify(claims)}: ${jcall.text}`);
  }
  // Without any scope claim the token is not narrowed: the user's roles decide.
  const wide = await whoami(state.main, bearer(await sign({ sub: "alice", scope: undefined })));
  assert.equal(wide.scopes, "all its roles allow");
});

// ---------- 7. rate limits ----------

test("SUPERTABLE_RATE_LIMIT=5/min: every answer tells the budget left; the 6th request is 429 with Retry-After", { timeout: 60000 }, async () => {
  const server = await serve({ SUPERTABLE_RATE_LIMIT: "5/min" });
  try {
    const init = await raw(server.port, { headers: jsonHeaders(), body: initBody });
    assert.equal(init.status, 200, init.text);
    assert.equal(init.headers["ratelimit-policy"], '"default";q=5;w=60');
    assert.match(init.headers["ratelimit"], /^"default";r=4;t=\d+$/);
    const sid = init.headers["mcp-session-id"];
    for (let i = 2; i <= 5; i++) {
      const r = await raw(server.port, { headers: jsonHeaders({ "mcp-session-id": sid }), body: ping(i) });
      assert.equal(r.status, 200, `request ${i}: ${r.text}`);
      assert.match(r.headers["ratelimit"], new RegExp(`^"default";r=${5 - i};t=\\d+$`), `request ${i}`);
    }
    const sixth = await raw(server.port, { headers: jsonHeaders({ "mcp-session-id": sid }), body: ping(6) });
    assert.equal(sixth.status, 429, sixth.text);
    const retry = Number(sixth.headers["retry-after"]);
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After: ${sixth.headers["retry-after"]}`);
    assert.equal(sixth.headers["ratelimit-policy"], '"default";q=5;w=60');
    assert.match(sixth.headers["ratelimit"], /^"default";r=0;t=\d+$/);
    assert.match(sixth.json.error.message, /Too Many Requests/);
    // /health is not counted; another principal has a budget of its own.
    assert.equal((await raw(server.port, { method: "GET", path: "/health" })).status, 200);
    const { token } = stToken("alice");
    const other = await raw(server.port, { headers: jsonHeaders(bearer(token)), body: initBody });
    assert.equal(other.status, 200, other.text);
  } finally {
    assert.equal(await stop(server), 0);
  }
});

// ---------- 8. a trusted proxy's user header ----------

test("trusted user header: from a trusted proxy it names the user; from anyone else it is refused", { timeout: 60000 }, async () => {
  const trusted = await serve({ SUPERTABLE_TRUSTED_USER_HEADER: "x-forwarded-user", SUPERTABLE_TRUSTED_PROXIES: "127.0.0.1" });
  try {
    const me = await whoami(trusted, { "x-forwarded-user": "carol" });
    assert.deepEqual([me.user, me.auth, me.superuser], ["carol", "proxy", false]);
    const unknown = await raw(trusted.port, { headers: jsonHeaders({ "x-forwarded-user": "mallory" }), body: initBody });
    assert.equal(unknown.status, 401);
    cli("user", "disable", "carol");
    const disabled = await raw(trusted.port, { headers: jsonHeaders({ "x-forwarded-user": "carol" }), body: initBody });
    assert.equal(disabled.status, 401);
    cli("user", "enable", "carol");
  } finally {
    assert.equal(await stop(trusted), 0);
  }
  const untrusted = await serve({ SUPERTABLE_TRUSTED_USER_HEADER: "x-forwarded-user", SUPERTABLE_TRUSTED_PROXIES: "10.11.12.13" });
  try {
    const r = await raw(untrusted.port, { headers: jsonHeaders({ "x-forwarded-user": "carol" }), body: initBody });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.headers["www-authenticate"], challenge(untrusted, ', error="invalid_token"'));
    await assert.rejects(connect(untrusted, { "x-forwarded-user": "carol" }), (e) => e.code === 401);
    // Without the header the loopback caller is still the local administrator.
    const local = await whoami(untrusted, {});
    assert.deepEqual([local.user, local.superuser], ["local", true]);
  } finally {
    assert.equal(await stop(untrusted), 0);
  }
  // A header without trusted proxies is a configuration error at start.
  await assert.rejects(serve({ SUPERTABLE_TRUSTED_USER_HEADER: "x-forwarded-user" }), /SUPERTABLE_TRUSTED_PROXIES/);
});

// ---------- 9. no secret in the logs ----------

test("no token or secret appears in any server's stdout or stderr (LOG_LEVEL=debug)", { timeout: 60000 }, async () => {
  assert.equal(await stop(state.main), 0);
  assert.ok(secrets.length > 30, `only ${secrets.length} secrets collected`);
  assert.match(state.main.stderr(), /credential from .* refused/, "the refusals were logged (debug logging on)");
  for (const s of logs) {
    const text = s.stdout() + s.stderr();
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}…) appears in a server's log`);
      // Nor a JWT's signature or a SuperTable token's secret part on its own.
      const tail = secret.startsWith("st_") ? secret.slice(20) : secret.split(".")[2];
      if (tail && tail.length >= 16) assert.ok(!text.includes(tail), `part of a secret (${secret.slice(0, 6)}…) appears in a log`);
    }
  }
});
