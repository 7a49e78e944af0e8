// JWT verification with OpenSSL 3 EVP: strict parsing of the compact JWS, the header rules that
// stop algorithm confusion, signature checks for HS256/RS256/ES256, the registered claims, and
// the JWKS cache with its refetch floor. docs/SECURITY.md ("JWT verification") lists the rules.
#include "security/jwt.h"

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "common/config.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/text.h"

namespace supertable::security {
namespace {

using json = nlohmann::json;

enum class Alg { kHs256, kRs256, kEs256 };

std::optional<Alg> ParseAlg(std::string_view name) {
  if (name == "HS256") return Alg::kHs256;
  if (name == "RS256") return Alg::kRs256;
  if (name == "ES256") return Alg::kEs256;
  return std::nullopt;
}

const char* AlgName(Alg a) {
  switch (a) {
    case Alg::kHs256:
      return "HS256";
    case Alg::kRs256:
      return "RS256";
    case Alg::kEs256:
      return "ES256";
  }
  return "?";
}

// The JWK "kty" a key for `a` must have.
const char* KtyFor(Alg a) { return a == Alg::kRs256 ? "RSA" : a == Alg::kEs256 ? "EC" : "oct"; }

template <typename T, auto Free>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
// Shared: a key set is copied to every verifying thread by pointer, and an EVP_PKEY that is
// no longer modified may be used by many threads at once.
using PkeyPtr = std::shared_ptr<EVP_PKEY>;

PkeyPtr WrapPkey(EVP_PKEY* p) { return PkeyPtr(p, EVP_PKEY_free); }

// OpenSSL keeps errors in a per-thread queue; a refused token must not leave its errors behind
// for the next, unrelated OpenSSL call on this thread to report.
std::string TakeOpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no detail";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Status Refuse(const std::string& why) { return Status::Unauthenticated("JWT refused: " + why); }

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json ParseJson(std::string_view text) {
  // No exceptions: a malformed document comes back discarded.
  return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

// A value from a token or a key set as JSON text, cut short: quoted and escaped, so what an
// attacker put there cannot forge lines in the server log.
std::string Quoted(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

// One key a token may be verified with.
struct VerifyKey {
  std::string kid;     // "" for a configured key or a JWK without kid
  PkeyPtr pkey;        // RS256, ES256
  std::string secret;  // HS256
};

// A fetched JWKS: the usable keys, and why each other key was skipped (for the log, and so a
// token naming a skipped key is told why rather than "unknown kid").
struct KeySet {
  std::vector<VerifyKey> keys;
  std::map<std::string, std::string> skipped;  // kid -> reason
};

// Why `pkey` cannot verify `alg`, or "" when it can. RS256 needs RSA (not RSA-PSS) of at least
// 2048 bits; ES256 needs EC on P-256.
std::string KeyProblem(EVP_PKEY* pkey, Alg alg) {
  const char* type = EVP_PKEY_get0_type_name(pkey);
  std::string type_name = type ? type : "unknown";
  if (alg == Alg::kRs256) {
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
      return fmt::format("it is an {} key; RS256 needs an RSA key", type_name);
    }
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits < 2048) {
      return fmt::format("it is an RSA key of {} bits; RS256 needs at least 2048", bits);
    }
    return "";
  }
  if (alg == Alg::kEs256) {
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
      return fmt::format("it is an {} key; ES256 needs an EC key on P-256", type_name);
    }
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1 ||
        std::string_view(group, len) != "prime256v1") {
      return fmt::format("it is an EC key on curve {}; ES256 needs P-256",
                         len ? std::string(group, len) : "unknown");
    }
    return "";
  }
  return "HS256 takes a secret, not a key";
}

PkeyPtr RsaFromJwk(const std::string& n, const std::string& e) {
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), n.size(), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), e.size(), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return nullptr;
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return WrapPkey(pkey);
}

PkeyPtr P256FromJwk(const std::string& x, const std::string& y) {
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return nullptr;
  }
  PkeyPtr key = WrapPkey(pkey);
  // A point off the curve is the invalid-curve attack; refuse it here, not at verification.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

// Turns one JWKS entry into a key for `alg`, or says why it is skipped.
std::string KeyFromJwk(const json& jwk, Alg alg, VerifyKey* out) {
  if (!jwk.is_object()) return "it is not a JSON object";
  if (jwk.contains("use") && jwk["use"] != "sig") {
    return fmt::format("its \"use\" is {}, not \"sig\"", Quoted(jwk["use"]));
  }
  if (jwk.contains("key_ops")) {
    const json& ops = jwk["key_ops"];
    if (!ops.is_array() || std::find(ops.begin(), ops.end(), json("verify")) == ops.end()) {
      return fmt::format("its \"key_ops\" {} do not include \"verify\"", Quoted(ops));
    }
  }
  if (jwk.contains("alg") && jwk["alg"] != AlgName(alg)) {
    return fmt::format("its \"alg\" is {}; expected {}",
                       jwk["alg"].is_string() ? jwk["alg"].get<std::string>() : Quoted(jwk["alg"]),
                       AlgName(alg));
  }
  const char* kty = KtyFor(alg);
  if (!jwk.contains("kty") || jwk["kty"] != kty) {
    return fmt::format("its \"kty\" is {}; expected \"{}\" for {}",
                       jwk.contains("kty") ? Quoted(jwk["kty"]) : "missing", kty, AlgName(alg));
  }
  auto member = [&](const char* name) -> std::optional<std::string> {
    if (!jwk.contains(name) || !jwk[name].is_string()) return std::nullopt;
    return DecodeBase64Url(jwk[name].get<std::string>());
  };
  PkeyPtr pkey;
  if (alg == Alg::kRs256) {
    auto n = member("n"), e = member("e");
    if (!n || !e || n->empty() || e->empty()) return "its \"n\" or \"e\" is not base64url";
    pkey = RsaFromJwk(*n, *e);
  } else {
    if (!jwk.contains("crv") || jwk["crv"] != "P-256") {
      return fmt::format("its \"crv\" is {}; expected P-256 for ES256",
                         jwk.contains("crv") ? Quoted(jwk["crv"]) : "missing");
    }
    auto x = member("x"), y = member("y");
    if (!x || !y || x->size() != 32 || y->size() != 32) {
      return "its \"x\" or \"y\" is not a 32-byte base64url coordinate";
    }
    pkey = P256FromJwk(*x, *y);
  }
  if (!pkey) return "OpenSSL refused the key: " + TakeOpenSslError();
  if (std::string problem = KeyProblem(pkey.get(), alg); !problem.empty()) return problem;
  out->pkey = std::move(pkey);
  return "";
}

Result<KeySet> ParseJwks(std::string_view body, Alg alg) {
  json doc = ParseJson(body);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return Status::IoError("the JWKS is not a JSON object with a \"keys\" array");
  }
  KeySet set;
  for (const json& jwk : doc["keys"]) {
    VerifyKey key;
    if (jwk.is_object() && jwk.contains("kid") && jwk["kid"].is_string()) {
      key.kid = jwk["kid"].get<std::string>();
    }
    bool seen = set.skipped.count(key.kid) ||
                std::any_of(set.keys.begin(), set.keys.end(),
                            [&](const VerifyKey& k) { return k.kid == key.kid; });
    std::string problem = seen ? "another key has the same kid" : KeyFromJwk(jwk, alg, &key);
    if (!problem.empty()) {
      if (!seen) set.skipped[key.kid] = problem;
      continue;
    }
    set.keys.push_back(std::move(key));
  }
  return set;
}

size_t OnJwksBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<std::pair<std::string*, int64_t>*>(user);
  if (static_cast<int64_t>(sink->first->size() + size * n) > sink->second) return 0;  // abort
  sink->first->append(data, size * n);
  return size * n;
}

// GET `url` with the limits a key fetch deserves: 5 s, `max_bytes`, http(s) only, no redirects
// (a redirect could point the fetch anywhere; the operator configures the final address).
Result<std::string> FetchJwks(const std::string& url, int64_t max_bytes) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, Deleter<CURL, curl_easy_cleanup>> curl(curl_easy_init());
  if (!curl) return Status::Internal("curl_easy_init failed");
  std::string body;
  std::pair<std::string*, int64_t> sink{&body, max_bytes};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "supertable-jwks");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnJwksBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED) {
    return Status::IoError(
        fmt::format("the JWKS at {} is larger than the limit of {} bytes", url, max_bytes));
  }
  if (rc != CURLE_OK) {
    return Status::IoError(
        fmt::format("fetching the JWKS at {} failed: {}", url, curl_easy_strerror(rc)));
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code != 200) {
    return Status::IoError(fmt::format(
        "the JWKS at {} answered HTTP {}; expected 200{}", url, code,
        code >= 300 && code < 400 ? " (redirects are not followed: set SUPERTABLE_JWKS_URI to "
                                    "the final address)"
                                  : ""));
  }
  return body;
}

std::optional<double> NumericDate(const json& payload, const char* name, Status* error) {
  if (!payload.contains(name)) return std::nullopt;
  const json& v = payload[name];
  if (!v.is_number() || !std::isfinite(v.get<double>())) {
    *error = Refuse(fmt::format("the \"{}\" claim {} is not a number of seconds", name, Quoted(v)));
    return std::nullopt;
  }
  return v.get<double>();
}

std::vector<std::string> SplitSpaces(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

std::string JoinNames(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Status CheckSettings(const JwtSettings& s) {
  auto alg = ParseAlg(s.algorithm);
  if (s.algorithm.empty()) {
    return Status::InvalidArgument(
        "SUPERTABLE_JWT_ALGORITHM is not set; it is required when any JWT setting is set: "
        "expected HS256, RS256 or ES256");
  }
  if (!alg) {
    return Status::InvalidArgument(fmt::format(
        "SUPERTABLE_JWT_ALGORITHM='{}' is not supported; expected HS256, RS256 or ES256",
        s.algorithm));
  }
  if (*alg == Alg::kHs256) {
    if (s.secret.empty()) {
      return Status::InvalidArgument("SUPERTABLE_JWT_SECRET is not set; HS256 needs a secret");
    }
    if (s.secret.size() < 32) {
      return Status::InvalidArgument(fmt::format(
          "SUPERTABLE_JWT_SECRET is {} bytes; HS256 needs at least 32 bytes", s.secret.size()));
    }
    if (!s.public_key_pem.empty() || !s.jwks_uri.empty()) {
      return Status::InvalidArgument(
          "SUPERTABLE_JWT_PUBLIC_KEY and SUPERTABLE_JWKS_URI are for RS256 and ES256; with HS256 "
          "(a shared secret) remove them, or set SUPERTABLE_JWT_ALGORITHM to the key's algorithm");
    }
  } else {
    if (!s.secret.empty()) {
      return Status::InvalidArgument(fmt::format(
          "SUPERTABLE_JWT_SECRET is only for HS256, but SUPERTABLE_JWT_ALGORITHM is {}: remove it",
          s.algorithm));
    }
    if (s.public_key_pem.empty() == s.jwks_uri.empty()) {
      return Status::InvalidArgument(fmt::format(
          "{} needs exactly one of SUPERTABLE_JWT_PUBLIC_KEY and SUPERTABLE_JWKS_URI; {}",
          s.algorithm, s.jwks_uri.empty() ? "neither is set" : "both are set"));
    }
    std::string scheme = AsciiLower(s.jwks_uri.substr(0, s.jwks_uri.find("://") + 3));
    if (!s.jwks_uri.empty() && scheme != "http://" && scheme != "https://") {
      return Status::InvalidArgument(
          fmt::format("SUPERTABLE_JWKS_URI='{}' is not an http:// or https:// URL", s.jwks_uri));
    }
  }
  if (s.leeway_s < 0 || s.leeway_s > kMaxJwtLeewaySeconds) {
    return Status::InvalidArgument(
        fmt::format("SUPERTABLE_JWT_LEEWAY_S={} is out of range: expected 0 to {} seconds",
                    s.leeway_s, kMaxJwtLeewaySeconds));
  }
  if (s.jwks_refresh_min_ms < 0 || s.jwks_max_bytes <= 0) {
    return Status::InvalidArgument(
        "JWKS refresh floor must be >= 0 ms and the JWKS size limit > 0 bytes");
  }
  return Status::Ok();
}

Result<PkeyPtr> LoadPublicKey(const std::string& text_or_path, Alg alg) {
  std::string pem = text_or_path;
  if (pem.find("-----BEGIN") == std::string::npos) {
    std::ifstream in(text_or_path, std::ios::binary);
    if (!in) {
      return Status::InvalidArgument(fmt::format(
          "SUPERTABLE_JWT_PUBLIC_KEY: cannot read '{}': {} (expected PEM text or the path of a "
          "PEM file)",
          text_or_path, std::strerror(errno)));
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    pem = buf.str();
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!raw) {
    // Not a SubjectPublicKeyInfo: perhaps the identity provider's certificate.
    BioPtr again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509Ptr cert(again ? PEM_read_bio_X509(again.get(), nullptr, nullptr, nullptr) : nullptr);
    if (cert) raw = X509_get_pubkey(cert.get());
  }
  ERR_clear_error();
  if (!raw) {
    return Status::InvalidArgument(
        "SUPERTABLE_JWT_PUBLIC_KEY holds no PEM public key: expected '-----BEGIN PUBLIC KEY-----' "
        "or a certificate");
  }
  PkeyPtr key = WrapPkey(raw);
  if (std::string problem = KeyProblem(key.get(), alg); !problem.empty()) {
    return Status::InvalidArgument(
        fmt::format("SUPERTABLE_JWT_PUBLIC_KEY does not fit SUPERTABLE_JWT_ALGORITHM={}: {}",
                    AlgName(alg), problem));
  }
  return key;
}

// True when `sig` over `input` verifies with `key` under `alg`; otherwise *why says why.
bool SignatureVerifies(const VerifyKey& key, Alg alg, std::string_view input,
                       const std::string& sig, std::string* why) {
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (alg == Alg::kHs256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.secret.data(),
                   key.secret.size(), data, input.size(), mac, sizeof mac, &mac_len)) {
      *why = "HMAC failed: " + TakeOpenSslError();
      return false;
    }
    if (sig.size() != mac_len || CRYPTO_memcmp(mac, sig.data(), mac_len) != 0) {
      *why = "the HS256 signature does not verify with the configured secret";
      return false;
    }
    return true;
  }
  std::string der;
  if (alg == Alg::kEs256) {
    // JWS carries r||s (RFC 7518 section 3.4); EVP wants the DER ECDSA-Sig-Value.
    if (sig.size() != 64) {
      *why =
          fmt::format("the ES256 signature is {} bytes; expected 64 bytes (raw r||s)", sig.size());
      return false;
    }
    const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
    EcdsaSigPtr es(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(raw, 32, nullptr);
    BIGNUM* s = BN_bin2bn(raw + 32, 32, nullptr);
    if (!es || !r || !s || ECDSA_SIG_set0(es.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      *why = "cannot decode the ES256 signature: " + TakeOpenSslError();
      return false;
    }
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(es.get(), &out);
    if (len <= 0) {
      *why = "cannot encode the ES256 signature: " + TakeOpenSslError();
      return false;
    }
    der.assign(reinterpret_cast<char*>(out), len);
    OPENSSL_free(out);
  } else if (static_cast<int>(sig.size()) != EVP_PKEY_get_size(key.pkey.get())) {
    *why = fmt::format("the RS256 signature is {} bytes; the key's modulus is {} bytes", sig.size(),
                       EVP_PKEY_get_size(key.pkey.get()));
    return false;
  }
  const std::string& to_check = alg == Alg::kEs256 ? der : sig;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(to_check.data()),
                             to_check.size(), data, input.size()) == 1;
  ERR_clear_error();
  if (!ok) {
    *why = fmt::format("the {} signature does not verify with the {} key", AlgName(alg),
                       key.kid.empty() ? "configured" : "JWKS '" + key.kid + "'");
  }
  return ok;
}

Status CheckHeader(const json& h, Alg alg) {
  if (!h.contains("alg") || !h["alg"].is_string()) return Refuse("the header has no \"alg\"");
  std::string a = h["alg"].get<std::string>();
  if (AsciiLower(a) == "none") {
    return Refuse("header \"alg\" is \"none\": unsigned tokens are never accepted");
  }
  if (a != AlgName(alg)) {
    return Refuse(fmt::format("header \"alg\" is {}; expected {} (SUPERTABLE_JWT_ALGORITHM)",
                              Quoted(h["alg"]), AlgName(alg)));
  }
  // We implement no JWS extension, so every "crit" names one we do not understand (RFC 7515
  // section 4.1.11 says refuse).
  if (h.contains("crit")) {
    return Refuse(fmt::format("header \"crit\" {} names extensions this server does not support",
                              Quoted(h["crit"])));
  }
  if (h.contains("b64") && h["b64"] != true) {
    return Refuse(
        "header \"b64\" asks for an unencoded payload (RFC 7797), which is not supported");
  }
  if (h.contains("typ")) {
    std::string typ = h["typ"].is_string() ? AsciiLower(h["typ"].get<std::string>()) : "";
    if (typ.rfind("application/", 0) == 0) typ = typ.substr(12);
    if (typ != "jwt" && typ != "at+jwt") {
      return Refuse(fmt::format("header \"typ\" is {}; expected JWT or at+jwt", Quoted(h["typ"])));
    }
  }
  if (h.contains("kid") && !h["kid"].is_string()) return Refuse("header \"kid\" is not a string");
  return Status::Ok();
}

}  // namespace

bool JwtSettings::enabled() const {
  return !algorithm.empty() || !secret.empty() || !public_key_pem.empty() || !jwks_uri.empty();
}

Result<JwtSettings> JwtSettings::FromEnvironment() {
  JwtSettings s;
  bool any = false;
  auto get = [&](const char* name) {
    std::string v = GetSetting(name).value_or("");
    any = any || !v.empty();
    return v;
  };
  auto trim = [](std::string v) {
    size_t b = v.find_first_not_of(" \t\r\n"), e = v.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
  };
  s.algorithm = trim(get("SUPERTABLE_JWT_ALGORITHM"));
  std::transform(s.algorithm.begin(), s.algorithm.end(), s.algorithm.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  s.secret = get("SUPERTABLE_JWT_SECRET");
  s.public_key_pem = trim(get("SUPERTABLE_JWT_PUBLIC_KEY"));
  s.jwks_uri = trim(get("SUPERTABLE_JWKS_URI"));
  s.issuer = trim(get("SUPERTABLE_JWT_ISSUER"));
  s.audience = SplitComma(get("SUPERTABLE_JWT_AUDIENCE"));
  s.required_scopes = SplitComma(get("SUPERTABLE_REQUIRED_SCOPES"));
  if (std::string leeway = trim(get("SUPERTABLE_JWT_LEEWAY_S")); !leeway.empty()) {
    ST_ASSIGN_OR_RETURN(s.leeway_s, ParseIntSetting("SUPERTABLE_JWT_LEEWAY_S", leeway, 0));
  }
  if (!any) return s;
  ST_RETURN_IF_ERROR(CheckSettings(s));
  return s;
}

struct JwtVerifier::Impl {
  JwtSettings settings;
  Alg alg = Alg::kHs256;
  std::function<int64_t()> now_ms;
  std::optional<VerifyKey> static_key;  // HS256 secret or PEM key; else the JWKS below

  // The current JWKS; null until the first fetch. Read under keys_mu (held only to copy the
  // pointer), replaced whole after a fetch, so verifying threads never wait for the network.
  std::mutex keys_mu;
  std::shared_ptr<const KeySet> keys;

  // One fetch at a time; the floor's clock.
  std::mutex fetch_mu;
  bool fetched = false;
  int64_t last_fetch_ms = 0;

  std::shared_ptr<const KeySet> CurrentKeys() {
    std::lock_guard<std::mutex> lock(keys_mu);
    return keys;
  }

  // Fetches and installs the JWKS; the caller holds fetch_mu. A failed fetch keeps the old keys.
  Status FetchLocked() {
    fetched = true;
    last_fetch_ms = now_ms();
    ST_ASSIGN_OR_RETURN(std::string body, FetchJwks(settings.jwks_uri, settings.jwks_max_bytes));
    ST_ASSIGN_OR_RETURN(KeySet set, ParseJwks(body, alg));
    for (const auto& [kid, why] : set.skipped) {
      log::Warn("JWKS {}: key {} skipped: {}", settings.jwks_uri, Quoted(kid), why);
    }
    if (set.keys.empty()) {
      log::Warn("JWKS {} has no usable {} key", settings.jwks_uri, AlgName(alg));
    }
    auto fresh = std::make_shared<const KeySet>(std::move(set));
    std::lock_guard<std::mutex> lock(keys_mu);
    keys = std::move(fresh);
    return Status::Ok();
  }

  // The key for `kid` in `set`; without a kid, the only usable key.
  static const VerifyKey* Lookup(const KeySet* set, const std::optional<std::string>& kid) {
    if (!set) return nullptr;
    if (!kid) return set->keys.size() == 1 ? &set->keys[0] : nullptr;
    for (const auto& k : set->keys) {
      if (k.kid == *kid) return &k;
    }
    return nullptr;
  }

  Result<VerifyKey> FindKey(const std::optional<std::string>& kid) {
    auto set = CurrentKeys();
    if (const VerifyKey* k = Lookup(set.get(), kid)) return *k;
    // A key we skipped will not become usable by asking again.
    if (set && kid && set->skipped.count(*kid)) {
      return Refuse(
          fmt::format("the JWKS key {} is not usable: {}", Quoted(*kid), set->skipped.at(*kid)));
    }
    std::string note;
    {
      std::lock_guard<std::mutex> lock(fetch_mu);
      set = CurrentKeys();  // another thread may have fetched while this one waited
      if (const VerifyKey* k = Lookup(set.get(), kid)) return *k;
      int64_t since = now_ms() - last_fetch_ms;
      if (!fetched || since >= settings.jwks_refresh_min_ms) {
        Status st = FetchLocked();
        set = CurrentKeys();
        if (const VerifyKey* k = Lookup(set.get(), kid)) return *k;
        note = st.ok() ? "the JWKS was just fetched" : "fetching the JWKS failed: " + st.message();
      } else {
        note = fmt::format("the JWKS was fetched {} ms ago; it is refetched at most every {} ms",
                           since, settings.jwks_refresh_min_ms);
      }
    }
    if (set && kid && set->skipped.count(*kid)) {
      return Refuse(
          fmt::format("the JWKS key {} is not usable: {}", Quoted(*kid), set->skipped.at(*kid)));
    }
    if (!kid) {
      return Refuse(fmt::format(
          "the header has no \"kid\" and the JWKS has {} usable keys; expected a kid ({})",
          set ? set->keys.size() : 0, note));
    }
    return Refuse(fmt::format("no key with kid {} in the JWKS ({})", Quoted(*kid), note));
  }

  Result<JwtClaims> Verify(std::string_view token) {
    if (token.size() > kMaxJwtBytes) {
      return Refuse(
          fmt::format("token is too long: {} bytes; the limit is {}", token.size(), kMaxJwtBytes));
    }
    size_t dot1 = token.find('.');
    size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
      return Refuse(fmt::format("a JWT has three base64url segments separated by '.'; this has {}",
                                std::count(token.begin(), token.end(), '.') + 1));
    }
    std::string_view h64 = token.substr(0, dot1), p64 = token.substr(dot1 + 1, dot2 - dot1 - 1),
                     s64 = token.substr(dot2 + 1);
    auto header_text = DecodeBase64Url(h64);
    if (!header_text) return Refuse("the header is not base64url (unpadded, RFC 4648 section 5)");
    json header = ParseJson(*header_text);
    if (header.is_discarded() || !header.is_object()) {
      return Refuse("the header is not a JSON object");
    }
    ST_RETURN_IF_ERROR(CheckHeader(header, alg));
    auto payload_text = DecodeBase64Url(p64);
    if (!payload_text) return Refuse("the payload is not base64url (unpadded, RFC 4648 section 5)");
    auto sig = DecodeBase64Url(s64);
    if (!sig) return Refuse("the signature is not base64url (unpadded, RFC 4648 section 5)");

    VerifyKey key;
    if (static_key) {
      key = *static_key;  // a configured key: any kid is irrelevant
    } else {
      std::optional<std::string> kid;
      if (header.contains("kid")) kid = header["kid"].get<std::string>();
      ST_ASSIGN_OR_RETURN(key, FindKey(kid));
    }
    std::string why;
    if (!SignatureVerifies(key, alg, token.substr(0, dot2), *sig, &why)) return Refuse(why);

    JwtClaims claims;
    claims.payload = ParseJson(*payload_text);
    if (claims.payload.is_discarded() || !claims.payload.is_object()) {
      return Refuse("the payload is not a JSON object");
    }
    ST_RETURN_IF_ERROR(CheckClaims(&claims));
    return claims;
  }

  Status CheckClaims(JwtClaims* claims) {
    const json& p = claims->payload;
    Status error;
    double now = static_cast<double>(now_ms()) / 1000.0;
    double leeway = static_cast<double>(settings.leeway_s);
    auto exp = NumericDate(p, "exp", &error);
    auto nbf = NumericDate(p, "nbf", &error);
    auto iat = NumericDate(p, "iat", &error);
    if (!error.ok()) return error;
    if (!exp) return Refuse("the \"exp\" claim is missing; tokens must expire");
    if (now >= *exp + leeway) {
      return Refuse(fmt::format("the token expired at {:.0f} (now {:.0f}, leeway {} s)", *exp, now,
                                settings.leeway_s));
    }
    if (nbf && now + leeway < *nbf) {
      return Refuse(fmt::format("the token is not valid before {:.0f} (now {:.0f}, leeway {} s)",
                                *nbf, now, settings.leeway_s));
    }
    if (iat && *iat > now + leeway) {
      return Refuse(
          fmt::format("the token was issued in the future, at {:.0f} (now {:.0f}, "
                      "leeway {} s)",
                      *iat, now, settings.leeway_s));
    }
    // Clamped: a cast of a double past int64's range is undefined.
    claims->expires_at = static_cast<int64_t>(std::clamp(std::floor(*exp), -9.0e18, 9.0e18));
    if (!settings.issuer.empty()) {
      if (!p.contains("iss")) {
        return Refuse(
            fmt::format("the token names no issuer (\"iss\"); expected \"{}\"", settings.issuer));
      }
      if (p["iss"] != settings.issuer) {
        return Refuse(fmt::format("issuer {} is not the configured SUPERTABLE_JWT_ISSUER \"{}\"",
                                  Quoted(p["iss"]), settings.issuer));
      }
    }
    if (!settings.audience.empty()) {
      std::vector<std::string> aud;
      if (!p.contains("aud")) {
        return Refuse(fmt::format("the token names no audience (\"aud\"); expected one of {}",
                                  JoinNames(settings.audience)));
      }
      if (p["aud"].is_string()) {
        aud.push_back(p["aud"].get<std::string>());
      } else if (p["aud"].is_array()) {
        for (const auto& a : p["aud"]) {
          if (a.is_string()) aud.push_back(a.get<std::string>());
        }
      }
      bool match = std::any_of(aud.begin(), aud.end(), [&](const std::string& a) {
        return std::find(settings.audience.begin(), settings.audience.end(), a) !=
               settings.audience.end();
      });
      if (!match) {
        return Refuse(fmt::format("audience {} holds none of SUPERTABLE_JWT_AUDIENCE ({})",
                                  Quoted(p["aud"]), JoinNames(settings.audience)));
      }
    }
    claims->has_scope_claim = p.contains("scope") || p.contains("scp");
    if (p.contains("scope")) {
      if (!p["scope"].is_string()) {
        return Refuse(fmt::format("the \"scope\" claim {} is not a space-separated string",
                                  Quoted(p["scope"])));
      }
      claims->scopes = SplitSpaces(p["scope"].get<std::string>());
    } else if (p.contains("scp")) {
      const json& scp = p["scp"];
      if (scp.is_string()) {
        claims->scopes = SplitSpaces(scp.get<std::string>());
      } else if (scp.is_array() &&
                 std::all_of(scp.begin(), scp.end(), [](const json& v) { return v.is_string(); })) {
        for (const auto& v : scp) claims->scopes.push_back(v.get<std::string>());
      } else {
        return Refuse(fmt::format(
            "the \"scp\" claim {} is neither a string nor an array of strings", Quoted(scp)));
      }
    }
    for (const char* name : {"sub", "client_id", "email", "username"}) {
      if (p.contains(name) && p[name].is_string() && !p[name].get<std::string>().empty()) {
        claims->user_candidates.push_back(p[name].get<std::string>());
      }
    }
    std::vector<std::string> missing;
    for (const auto& want : settings.required_scopes) {
      if (std::find(claims->scopes.begin(), claims->scopes.end(), want) == claims->scopes.end()) {
        missing.push_back(want);
      }
    }
    if (!missing.empty()) {
      return Status::PermissionDenied(fmt::format(
          "JWT refused: the token lacks the required scope(s) {} (SUPERTABLE_REQUIRED_SCOPES); it "
          "has: {}",
          JoinNames(missing), claims->scopes.empty() ? "none" : JoinNames(claims->scopes)));
    }
    return Status::Ok();
  }
};

JwtVerifier::JwtVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JwtVerifier::~JwtVerifier() = default;

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(const JwtSettings& s) {
  return Create(s, nullptr);
}

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(const JwtSettings& settings,
                                                         std::function<int64_t()> now_ms) {
  JwtSettings s = settings;
  std::transform(s.algorithm.begin(), s.algorithm.end(), s.algorithm.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  ST_RETURN_IF_ERROR(CheckSettings(s));
  auto impl = std::make_unique<Impl>();
  impl->settings = s;
  impl->alg = *ParseAlg(s.algorithm);
  impl->now_ms = now_ms ? std::move(now_ms) : SystemNowMs;
  if (impl->alg == Alg::kHs256) {
    impl->static_key = VerifyKey{"", nullptr, s.secret};
  } else if (!s.public_key_pem.empty()) {
    ST_ASSIGN_OR_RETURN(PkeyPtr key, LoadPublicKey(s.public_key_pem, impl->alg));
    impl->static_key = VerifyKey{"", std::move(key), ""};
  }
  return std::unique_ptr<JwtVerifier>(new JwtVerifier(std::move(impl)));
}

Result<JwtClaims> JwtVerifier::Verify(std::string_view token) { return impl_->Verify(token); }

Status JwtVerifier::RefreshKeys() {
  if (impl_->static_key) return Status::Ok();
  std::lock_guard<std::mutex> lock(impl_->fetch_mu);
  return impl_->FetchLocked();
}

bool JwtVerifier::LooksLikeJwt(std::string_view token) {
  int segment = 0;
  size_t length = 0;
  for (char c : token) {
    if (c == '.') {
      if (length == 0 || ++segment > 2) return false;
      length = 0;
      continue;
    }
    bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!alphabet) return false;
    ++length;
  }
  return segment == 2;
}

}  // namespace supertable::security
