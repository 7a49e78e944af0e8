// Mints the keys and tokens the C++ JWT tests (tests/unit/jwt_test.cc) check, with the npm
// `jose` library, so the verifier is tested against tokens it did not make itself. Writes into
// OUT_DIR: cases.json (verifier configurations and one entry per token: which configuration
// verifies it, whether it must pass, and a piece of the error it must fail with) and the
// JWKS documents the test's key server hands out (jwks-rs.json, jwks-es.json).
// A few attacks are hand-assembled because jose refuses to produce them (an unsigned token
// with a signature, b64:false without crit, DER-encoded ES256 signatures, a 1024-bit RSA key):
// that is noted where it happens. Usage: node mint.mjs OUT_DIR
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import * as jose from 'jose';

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: node mint.mjs OUT_DIR');

const issuer = 'https://issuer.test';
const audience = 'supertable';
const now = Math.floor(Date.now() / 1000);
const enc = new TextEncoder();
const b64u = (buf) => Buffer.from(buf).toString('base64url');

// Keys: the configured ones, and strangers of every type.
const hsSecret = crypto.randomBytes(32).toString('hex');  // 64 ASCII bytes
const otherSecret = crypto.randomBytes(32).toString('hex');
const rsa = await jose.generateKeyPair('RS256', { extractable: true });
const rsaOther = await jose.generateKeyPair('RS256', { extractable: true });
const rsaEnc = await jose.generateKeyPair('RS256', { extractable: true });
const rsaRs384 = await jose.generateKeyPair('RS256', { extractable: true });
const ec = await jose.generateKeyPair('ES256', { extractable: true });
const ecOther = await jose.generateKeyPair('ES256', { extractable: true });
const ecP384 = await jose.generateKeyPair('ES384', { extractable: true });
// jose will not make or use RSA keys under 2048 bits; node:crypto makes one for the refusals.
const rsaSmall = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });

const rsaPem = await jose.exportSPKI(rsa.publicKey);
const ecPem = await jose.exportSPKI(ec.publicKey);
const rsaSmallPem = rsaSmall.publicKey.export({ type: 'spki', format: 'pem' });

async function publicJwk(pair, extra) {
  return { ...(await jose.exportJWK(pair.publicKey)), ...extra };
}
const rsaSmallJwk = { ...rsaSmall.publicKey.export({ format: 'jwk' }), kid: 'rsa-small', alg: 'RS256', use: 'sig' };
const hsJwk = { kty: 'oct', kid: 'oct-1', alg: 'HS256', k: b64u(enc.encode(hsSecret)) };

// The key set an RS256 identity provider would publish, with keys the verifier must skip.
const jwksRs = {
  keys: [
    await publicJwk(rsa, { kid: 'rsa-1', alg: 'RS256', use: 'sig' }),
    await publicJwk(rsaEnc, { kid: 'rsa-enc', alg: 'RS256', use: 'enc' }),
    await publicJwk(rsaRs384, { kid: 'rsa-384', alg: 'RS384', use: 'sig' }),
    rsaSmallJwk,
    hsJwk,
    await publicJwk(ec, { kid: 'ec-1', alg: 'ES256', use: 'sig' }),
  ],
};
// The same for ES256: one good key, one on the wrong curve, an RSA key under an EC name.
const jwksEs = {
  keys: [
    await publicJwk(ec, { kid: 'ec-1', alg: 'ES256', use: 'sig' }),
    await publicJwk(ecP384, { kid: 'ec-384', use: 'sig' }),
    await publicJwk(ecP384, { kid: 'ec-384-lies', alg: 'ES256', use: 'sig' }),
    await publicJwk(rsa, { kid: 'rsa-1', alg: 'RS256', use: 'sig' }),
    await publicJwk(rsa, { kid: 'rsa-as-es', alg: 'ES256', use: 'sig' }),
  ],
};

const base = { iss: issuer, aud: audience, sub: 'alice', iat: now, exp: now + 600 };

// Signs `claims` (merged over base; a key set to undefined is removed) with jose.
async function sign(alg, key, claims = {}, header = {}, options = undefined) {
  const payload = { ...base, ...claims };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  const jws = new jose.CompactSign(enc.encode(JSON.stringify(payload)));
  jws.setProtectedHeader({ alg, typ: 'JWT', ...header });
  return jws.sign(key, options);
}
const hsKey = enc.encode(hsSecret);

// Hand-assembled HS256 token (header and payload as given, signed with the configured secret),
// for headers jose refuses to sign.
function handHs(header, payload = base, secret = hsSecret) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const sig = crypto.createHmac('sha256', secret).update(input).digest();
  return `${input}.${b64u(sig)}`;
}

function tamperPayload(token, claims) {
  const [h, , s] = token.split('.');
  return `${h}.${b64u(JSON.stringify({ ...base, ...claims }))}.${s}`;
}
function tamperSignature(token) {
  const [h, p, s] = token.split('.');
  const first = s[0] === 'A' ? 'B' : 'A';  // the first character carries 6 whole bits
  return `${h}.${p}.${first}${s.slice(1)}`;
}

const cases = [];
const add = (config, name, token, expect) => cases.push({ config, name, token, ...expect });
const ok = (extra = {}) => ({ ok: true, ...extra });
const bad = (error) => ({ ok: false, error });

// --- HS256 with a shared secret ---
const hsGood = await sign('HS256', hsKey, { scope: 'tables:read tables:write' });
add('hs', 'good', hsGood, ok({ scopes: ['tables:read', 'tables:write'], users: ['alice'] }));
add('hs', 'expired', await sign('HS256', hsKey, { exp: now - 3600 }), bad('expired'));
add('hs', 'expired_within_leeway', await sign('HS256', hsKey, { exp: now - 20 }), ok());
add('hs', 'nbf_future', await sign('HS256', hsKey, { nbf: now + 3600 }), bad('not valid before'));
add('hs', 'nbf_within_leeway', await sign('HS256', hsKey, { nbf: now + 20 }), ok());
add('hs', 'iat_future', await sign('HS256', hsKey, { iat: now + 3600 }), bad('issued in the future'));
add('hs', 'missing_exp', await sign('HS256', hsKey, { exp: undefined }), bad('"exp"'));
add('hs', 'exp_huge', await sign('HS256', hsKey, { exp: 1e300 }), ok());
add('hs', 'exp_not_number', await sign('HS256', hsKey, { exp: String(now + 600) }), bad('"exp"'));
add('hs', 'wrong_iss', await sign('HS256', hsKey, { iss: 'https://evil.test' }), bad('issuer'));
add('hs', 'missing_iss', await sign('HS256', hsKey, { iss: undefined }), bad('issuer'));
add('hs', 'wrong_aud', await sign('HS256', hsKey, { aud: 'someone-else' }), bad('audience'));
add('hs', 'missing_aud', await sign('HS256', hsKey, { aud: undefined }), bad('audience'));
add('hs', 'aud_array', await sign('HS256', hsKey, { aud: ['other', audience] }), ok());
add('hs', 'aud_array_without_us', await sign('HS256', hsKey, { aud: ['other', 'more'] }), bad('audience'));
add('hs', 'scp_array', await sign('HS256', hsKey, { scp: ['a:read', 'b:write'] }), ok({ scopes: ['a:read', 'b:write'] }));
add('hs', 'scp_string', await sign('HS256', hsKey, { scp: 'a:read b:write' }), ok({ scopes: ['a:read', 'b:write'] }));
add('hs', 'scope_not_string', await sign('HS256', hsKey, { scope: ['a'] }), bad('"scope"'));
add('hs', 'user_candidates',
    await sign('HS256', hsKey, { sub: undefined, client_id: 'svc', email: 'svc@example.com', username: '' }),
    ok({ users: ['svc', 'svc@example.com'], scopes: [] }));
add('hs', 'typ_at_jwt', await sign('HS256', hsKey, {}, { typ: 'at+JWT' }), ok());
add('hs', 'typ_application_at_jwt', await sign('HS256', hsKey, {}, { typ: 'application/at+jwt' }), ok());
add('hs', 'typ_wrong', await sign('HS256', hsKey, {}, { typ: 'JOSE' }), bad('"typ"'));
add('hs', 'no_typ', handHs({ alg: 'HS256' }), ok());
add('hs', 'tampered_payload', tamperPayload(hsGood, { sub: 'admin' }), bad('signature'));
add('hs', 'tampered_signature', tamperSignature(hsGood), bad('signature'));
add('hs', 'wrong_secret', await sign('HS256', enc.encode(otherSecret)), bad('signature'));
add('hs', 'alg_hs512', await sign('HS512', hsKey), bad('"alg"'));
add('hs', 'alg_none', new jose.UnsecuredJWT(base).encode(), bad('"alg"'));
// An unsigned header with a signature that is valid HMAC (jose will not make this).
add('hs', 'alg_none_signed', handHs({ alg: 'none', typ: 'JWT' }), bad('"alg"'));
add('hs', 'crit', await sign('HS256', hsKey, {}, { crit: ['urn:ext'], 'urn:ext': 1 }, { crit: { 'urn:ext': true } }),
    bad('"crit"'));
{
  // RFC 7797 unencoded payload, as jose's flattened serialization makes it, put in compact form
  // (allowed when the payload has no '.', hence the short claims).
  const jws = await new jose.FlattenedSign(enc.encode(JSON.stringify({ sub: 'alice', exp: now + 600 })))
    .setProtectedHeader({ alg: 'HS256', b64: false, crit: ['b64'] })
    .sign(hsKey);
  add('hs', 'b64_false_crit', `${jws.protected}.${jws.payload}.${jws.signature}`, bad('"crit"'));
}
// RFC 7797 requires b64 in crit; a token that omits it must still not be read as unencoded.
add('hs', 'b64_false', handHs({ alg: 'HS256', b64: false }), bad('"b64"'));
add('hs', 'header_not_json', `${b64u('not json')}.${hsGood.split('.')[1]}.${hsGood.split('.')[2]}`, bad('header'));
add('hs', 'header_array', handHs(['alg', 'HS256']), bad('header'));
add('hs', 'payload_array', handHs({ alg: 'HS256' }, [1, 2]), bad('payload'));
add('hs', 'padding', `${hsGood}=`, bad('base64url'));
add('hs', 'non_alphabet', hsGood.replace(/\.(.)/, '.+$1'), bad('base64url'));
add('hs', 'two_segments', hsGood.split('.').slice(0, 2).join('.'), bad('three'));
add('hs', 'four_segments', `${hsGood}.xyz`, bad('three'));
add('hs', 'too_long', await sign('HS256', hsKey, { pad: 'x'.repeat(17000) }), bad('too long'));
add('hs', 'kid_ignored_static', await sign('HS256', hsKey, {}, { kid: 'whatever' }), ok());
add('hs_required_scopes', 'has_scopes', await sign('HS256', hsKey, { scope: 'tables:read tables:write extra' }), ok());
add('hs_required_scopes', 'missing_scope', await sign('HS256', hsKey, { scope: 'tables:read' }), bad('tables:write'));

// --- RS256 with a PEM public key ---
const rsGood = await sign('RS256', rsa.privateKey, { scope: 'tables:read' }, { kid: 'rsa-1' });
add('rs_pem', 'good', rsGood, ok({ scopes: ['tables:read'], users: ['alice'] }));
// The classic confusion: HS256 keyed with the PEM text the server uses as its RSA public key.
add('rs_pem', 'hs_rs_confusion', await sign('HS256', enc.encode(rsaPem)), bad('"alg"'));
add('rs_pem', 'alg_none', new jose.UnsecuredJWT(base).encode(), bad('"alg"'));
// The same RSA key under RSA-PSS (WebCrypto binds a key to one algorithm: import it again).
const rsaAsPss = await jose.importPKCS8(await jose.exportPKCS8(rsa.privateKey), 'PS256');
add('rs_pem', 'ps256', await sign('PS256', rsaAsPss), bad('"alg"'));
add('rs_pem', 'other_key', await sign('RS256', rsaOther.privateKey), bad('signature'));
add('rs_pem', 'tampered_payload', tamperPayload(rsGood, { sub: 'admin' }), bad('signature'));
add('rs_pem', 'tampered_signature', tamperSignature(rsGood), bad('signature'));
add('rs_pem', 'expired', await sign('RS256', rsa.privateKey, { exp: now - 3600 }), bad('expired'));

// --- ES256 with a PEM public key ---
const esGood = await sign('ES256', ec.privateKey, { scp: ['tables:read'] });
add('es_pem', 'good', esGood, ok({ scopes: ['tables:read'] }));
add('es_pem', 'hs_es_confusion', await sign('HS256', enc.encode(ecPem)), bad('"alg"'));
add('es_pem', 'rs256', await sign('RS256', rsa.privateKey), bad('"alg"'));
add('es_pem', 'other_key', await sign('ES256', ecOther.privateKey), bad('signature'));
add('es_pem', 'tampered_payload', tamperPayload(esGood, { sub: 'admin' }), bad('signature'));
add('es_pem', 'tampered_signature', tamperSignature(esGood), bad('signature'));
{
  // The same signature in DER, as OpenSSL itself would produce it: JWS needs raw r||s.
  const [h, p] = esGood.split('.');
  const der = crypto.sign('sha256', Buffer.from(`${h}.${p}`), { key: crypto.KeyObject.from(ec.privateKey), dsaEncoding: 'der' });
  add('es_pem', 'der_signature', `${h}.${p}.${b64u(der)}`, bad('64 bytes'));
}

// --- RS256 from a JWKS ---
add('rs_jwks', 'good', await sign('RS256', rsa.privateKey, {}, { kid: 'rsa-1' }), ok({ users: ['alice'] }));
add('rs_jwks', 'no_kid_one_usable_key', await sign('RS256', rsa.privateKey), ok());
add('rs_jwks', 'unknown_kid', await sign('RS256', rsa.privateKey, {}, { kid: 'nope' }), bad('kid'));
add('rs_jwks', 'kid_forging_log_lines',
    await sign('RS256', rsa.privateKey, {}, { kid: 'x\n2026-01-01T00:00:00Z info admin logged in' }), bad('kid'));
add('rs_jwks', 'use_enc_key', await sign('RS256', rsaEnc.privateKey, {}, { kid: 'rsa-enc' }), bad('"use"'));
add('rs_jwks', 'key_alg_rs384', await sign('RS256', rsaRs384.privateKey, {}, { kid: 'rsa-384' }), bad('RS384'));
add('rs_jwks', 'oct_key', await sign('HS256', hsKey, {}, { kid: 'oct-1' }), bad('"alg"'));
add('rs_jwks', 'ec_key_for_rs', await sign('RS256', rsa.privateKey, {}, { kid: 'ec-1' }), bad('ES256'));
{
  // Signed by the 1024-bit key with node:crypto (jose refuses keys that small).
  const header = { alg: 'RS256', typ: 'JWT', kid: 'rsa-small' };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(base))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), rsaSmall.privateKey);
  add('rs_jwks', 'small_rsa_key', `${input}.${b64u(sig)}`, bad('2048'));
}

// --- ES256 from a JWKS ---
add('es_jwks', 'good', await sign('ES256', ec.privateKey, {}, { kid: 'ec-1' }), ok());
add('es_jwks', 'p384_key', await sign('ES384', ecP384.privateKey, {}, { kid: 'ec-384' }), bad('"alg"'));
{
  // An ES256 header over a P-384 key whose JWK claims ES256: the curve must refuse it.
  const header = { alg: 'ES256', typ: 'JWT', kid: 'ec-384-lies' };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(base))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: crypto.KeyObject.from(ecP384.privateKey), dsaEncoding: 'ieee-p1363' });
  add('es_jwks', 'p384_key_claims_es256', `${input}.${b64u(sig)}`, bad('P-256'));
}
add('es_jwks', 'rsa_key_for_es', await sign('ES256', ec.privateKey, {}, { kid: 'rsa-1' }), bad('RS256'));
add('es_jwks', 'rsa_key_named_es256', await sign('ES256', ec.privateKey, {}, { kid: 'rsa-as-es' }), bad('"kty"'));

const configs = {
  hs: { algorithm: 'HS256', secret: hsSecret },
  hs_required_scopes: { algorithm: 'HS256', secret: hsSecret, required_scopes: ['tables:read', 'tables:write'] },
  rs_pem: { algorithm: 'RS256', public_key_pem: rsaPem },
  es_pem: { algorithm: 'ES256', public_key_pem: ecPem },
  rs_jwks: { algorithm: 'RS256', jwks_file: 'jwks-rs.json' },
  es_jwks: { algorithm: 'ES256', jwks_file: 'jwks-es.json' },
};

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'jwks-rs.json'), JSON.stringify(jwksRs));
fs.writeFileSync(path.join(outDir, 'jwks-es.json'), JSON.stringify(jwksEs));
fs.writeFileSync(path.join(outDir, 'cases.json'), JSON.stringify({
  issuer, audience, now, configs, cases,
  rsa_public_pem: rsaPem, ec_public_pem: ecPem, rsa_small_public_pem: rsaSmallPem,
  hs_secret: hsSecret,
}, null, 1));
process.stdout.write(`${cases.length} cases\n`);
