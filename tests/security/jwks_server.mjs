// A real OAuth 2.1 authorization server for the JWT tests (tests/unit/jwt_test.cc): oidc-provider
// on 127.0.0.1, serving its signing keys at /jwks and issuing JWT access tokens (RFC 9068) by
// the client_credentials grant with a resource indicator (RFC 8707). A few test-only routes sit
// beside it, because the C++ test must drive what a real identity provider does over time:
//   POST /test/rotate        replaces the signing key with a new one (new kid); oidc-provider
//                            fixes its keys at construction, so a new Provider takes over
//   POST /test/token         runs the client_credentials grant against the current provider
//                            and answers its token response
//   GET  /test/static/NAME   answers the file NAME of --static DIR (hand-made key sets)
//   GET  /test/redirect      a 302 to /jwks (the verifier must not follow it)
//   GET  /test/big           a JWKS-shaped body of 2 MiB (over the verifier's size cap)
//   GET  /test/count         how many times /jwks was fetched
//   GET  /test/slow-jwks     /jwks, after the delay POST /test/delay?ms=N set (default 0)
// Usage: node jwks_server.mjs --port N [--static DIR] [--alg RS256|ES256] [--scopes 'A B ...'].
// --scopes: the scopes the provider knows and grants for the resource (default 'tables:read
// tables:write'; /test/token asks for the first, or for ?scope=... when given). Prints one JSON
// line ({"issuer": ..., "port": N}) on stdout once it listens; stops on SIGTERM.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const port = Number(arg('--port', '0'));
const staticDir = arg('--static', '');
const alg = arg('--alg', 'RS256');
const scopes = arg('--scopes', 'tables:read tables:write').split(/\s+/).filter(Boolean);
const issuer = `http://127.0.0.1:${port}`;
const resource = 'urn:supertable:test';
const client = { client_id: 'agent', client_secret: 'agent-secret-agent-secret-0123456789' };

async function signingJwk() {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid: randomUUID(), alg, use: 'sig' };
}

async function makeProvider() {
  const provider = new Provider(issuer, {
    clients: [{
      ...client, grant_types: ['client_credentials'], redirect_uris: [], response_types: [],
      // oidc-provider checks this against its keys even for a client that gets no ID token.
      id_token_signed_response_alg: alg,
    }],
    jwks: { keys: [await signingJwk()] },
    scopes,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new Error(`unknown resource ${indicator}`);
          return {
            scope: scopes.join(' '),
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg } },
          };
        },
      },
    },
  });
  return provider;
}

let provider = await makeProvider();
let jwksFetches = 0;
let delayMs = 0;

async function clientCredentials(scope = scopes[0]) {
  const body = new URLSearchParams({ grant_type: 'client_credentials', resource, scope });
  const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return { status: res.status, body: await res.text() };
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/jwks') jwksFetches++;
    if (!url.pathname.startsWith('/test/')) return provider.callback()(req, res);
    if (url.pathname === '/test/rotate' && req.method === 'POST') {
      provider = await makeProvider();
      return send(res, 200, '{}');
    }
    if (url.pathname === '/test/token' && req.method === 'POST') {
      const r = await clientCredentials(url.searchParams.get('scope') ?? undefined);
      return send(res, r.status, r.body);
    }
    if (url.pathname === '/test/delay' && req.method === 'POST') {
      delayMs = Number(url.searchParams.get('ms') ?? 0);
      return send(res, 200, '{}');
    }
    if (url.pathname === '/test/slow-jwks') {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const r = await fetch(`${issuer}/jwks`);
      return send(res, r.status, await r.text());
    }
    if (url.pathname === '/test/count') return send(res, 200, JSON.stringify({ jwks: jwksFetches }));
    if (url.pathname === '/test/redirect') return send(res, 302, '', { location: '/jwks' });
    if (url.pathname === '/test/big') {
      return send(res, 200, JSON.stringify({ keys: [], pad: 'x'.repeat(2 << 20) }));
    }
    if (url.pathname.startsWith('/test/static/') && staticDir) {
      const name = path.basename(url.pathname);
      return send(res, 200, fs.readFileSync(path.join(staticDir, name)));
    }
    return send(res, 404, '{"error":"not found"}');
  } catch (e) {
    return send(res, 500, JSON.stringify({ error: String(e) }));
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
