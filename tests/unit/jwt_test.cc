// JWT verification (src/security/jwt.h) against tokens no one here wrote: tests/security/mint.mjs
// mints good and hostile tokens with the npm `jose` library, and tests/security/jwks_server.mjs
// runs the real `oidc-provider` authorization server on loopback (JWKS, JWT access tokens by the
// client_credentials grant, key rotation). Plus the settings, strict base64url and JWKS fetch
// limits.
#include "security/jwt.h"

#include <curl/curl.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "common/net.h"
#include "common/process.h"
#include "support/test_support.h"

namespace supertable::security {
namespace {

using json = nlohmann::json;
const std::string kSecurityDir = std::string(SUPERTABLE_SOURCE_DIR) + "/tests/security";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The minted cases of this process (mint.mjs runs once; ctest runs each test in a process of
// its own, so every test sees tokens minted moments ago).
struct Minted {
  testing::TempDir dir;
  json doc;
};
const Minted& Mint() {
  static Minted* minted = [] {
    auto* m = new Minted;
    std::string cmd = "node '" + kSecurityDir + "/mint.mjs' '" + m->dir.path() + "' >'" +
                      m->dir.path() + "/mint.log' 2>&1";
    int rc = std::system(cmd.c_str());
    if (rc != 0) {
      ADD_FAILURE() << "mint.mjs failed (run scripts/setup.sh for tests/security/node_modules): "
                    << ReadFile(m->dir.path() + "/mint.log");
      m->doc = json::object({{"cases", json::array()}, {"configs", json::object()}});
      return m;
    }
    m->doc = json::parse(ReadFile(m->dir.path() + "/cases.json"));
    return m;
  }();
  return *minted;
}

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One HTTP request to the test server; {status, body}.
std::pair<long, std::string> Http(const std::string& method, const std::string& url) {
  CURL* c = curl_easy_init();
  std::string body;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return {status, body};
}

// tests/security/jwks_server.mjs on a free 127.0.0.1 port: oidc-provider plus the test routes.
// Stopped (SIGTERM) when destroyed, so also when the test fails.
class KeyServer {
 public:
  explicit KeyServer(const std::string& alg = "RS256", const std::string& static_dir = "")
      : port_(FreeLoopbackPort()) {
    std::vector<std::string> argv = {
        "node", kSecurityDir + "/jwks_server.mjs", "--port", std::to_string(port_), "--alg", alg};
    if (!static_dir.empty()) argv.insert(argv.end(), {"--static", static_dir});
    pid_ = SpawnQuiet(argv, log_.path() + "/server.log");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!LoopbackPortAccepts(port_) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!LoopbackPortAccepts(port_)) {
      ADD_FAILURE() << "jwks_server.mjs did not start: " << ReadFile(log_.path() + "/server.log");
    }
  }
  ~KeyServer() { StopProcess(&pid_, SIGTERM); }
  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // A JWT access token from oidc-provider's client_credentials grant.
  std::string AccessToken() const {
    auto [status, body] = Http("POST", url("/test/token"));
    EXPECT_EQ(status, 200) << body;
    json j = json::parse(body, nullptr, false);
    return j.is_object() && j.contains("access_token") ? j["access_token"].get<std::string>() : "";
  }
  void Rotate() const { EXPECT_EQ(Http("POST", url("/test/rotate")).first, 200); }
  int JwksFetches() const {
    json j = json::parse(Http("GET", url("/test/count")).second, nullptr, false);
    return j.is_object() ? j["jwks"].get<int>() : -1;
  }
  void SetJwksDelayMs(int ms) const {
    EXPECT_EQ(Http("POST", url("/test/delay?ms=" + std::to_string(ms))).first, 200);
  }

 private:
  testing::TempDir log_;
  int port_;
  pid_t pid_ = -1;
};

// The header of a compact JWS, decoded.
json HeaderOf(const std::string& token) {
  auto text = DecodeBase64Url(token.substr(0, token.find('.')));
  return text ? json::parse(*text, nullptr, false) : json();
}

JwtSettings SettingsFor(const std::string& config, const KeyServer* server) {
  const json& doc = Mint().doc;
  const json& c = doc["configs"][config];
  JwtSettings s;
  s.algorithm = c["algorithm"].get<std::string>();
  s.issuer = doc["issuer"].get<std::string>();
  s.audience = {doc["audience"].get<std::string>()};
  if (c.contains("secret")) s.secret = c["secret"].get<std::string>();
  if (c.contains("public_key_pem")) s.public_key_pem = c["public_key_pem"].get<std::string>();
  if (c.contains("jwks_file")) {
    s.jwks_uri = server->url("/test/static/" + c["jwks_file"].get<std::string>());
  }
  if (c.contains("required_scopes")) {
    s.required_scopes = c["required_scopes"].get<std::vector<std::string>>();
  }
  return s;
}

// Verifies every minted case of `config` and checks its outcome and, for failures, that the
// reason is the one the case is about.
void CheckMintedCases(const std::string& config) {
  std::unique_ptr<KeyServer> server;
  if (Mint().doc["configs"][config].contains("jwks_file")) {
    server = std::make_unique<KeyServer>("RS256", Mint().dir.path());
  }
  auto verifier = JwtVerifier::Create(SettingsFor(config, server.get()));
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  int checked = 0;
  for (const json& c : Mint().doc["cases"]) {
    if (c["config"] != config) continue;
    ++checked;
    std::string name = c["name"].get<std::string>(), token = c["token"].get<std::string>();
    SCOPED_TRACE(config + "/" + name);
    auto r = (*verifier)->Verify(token);
    if (c["ok"].get<bool>()) {
      ASSERT_TRUE(r.ok()) << r.status().message();
      if (c.contains("scopes")) {
        EXPECT_EQ(r->scopes, c["scopes"].get<std::vector<std::string>>());
      }
      if (c.contains("users")) {
        EXPECT_EQ(r->user_candidates, c["users"].get<std::vector<std::string>>());
      }
      if (r->payload["exp"].is_number_integer()) {
        EXPECT_EQ(r->expires_at, r->payload["exp"].get<int64_t>());
      } else {
        EXPECT_EQ(r->expires_at, int64_t{9000000000000000000});  // clamped, not undefined
      }
    } else {
      ASSERT_FALSE(r.ok()) << "accepted: " << r->payload.dump();
      std::string want = c["error"].get<std::string>();
      EXPECT_TRUE(Contains(r.status().message(), want))
          << "expected the reason to mention " << want << "; got: " << r.status().message();
      StatusCode code = config == "hs_required_scopes" ? StatusCode::kPermissionDenied
                                                       : StatusCode::kUnauthenticated;
      EXPECT_EQ(r.status().code(), code) << r.status().message();
      // The reason goes to the server log: nothing from the token may start a line there.
      EXPECT_EQ(r.status().message().find_first_of("\r\n"), std::string::npos)
          << r.status().message();
    }
  }
  EXPECT_GT(checked, 0) << "no minted cases for " << config;
}

TEST(JwtMinted, Hs256Secret) { CheckMintedCases("hs"); }
TEST(JwtMinted, Hs256RequiredScopes) { CheckMintedCases("hs_required_scopes"); }
TEST(JwtMinted, Rs256PublicKeyPem) { CheckMintedCases("rs_pem"); }
TEST(JwtMinted, Es256PublicKeyPem) { CheckMintedCases("es_pem"); }
TEST(JwtMinted, Rs256Jwks) { CheckMintedCases("rs_jwks"); }
TEST(JwtMinted, Es256Jwks) { CheckMintedCases("es_jwks"); }

const json& MintedCase(const std::string& config, const std::string& name) {
  for (const json& c : Mint().doc["cases"]) {
    if (c["config"] == config && c["name"] == name) return c;
  }
  static const json none = json::object({{"token", ""}});
  ADD_FAILURE() << "no minted case " << config << "/" << name;
  return none;
}

TEST(JwtVerify, LeewayIsTheConfiguredOne) {
  JwtSettings s = SettingsFor("hs", nullptr);
  s.leeway_s = 0;
  auto v = JwtVerifier::Create(s);
  ASSERT_TRUE(v.ok());
  auto r = (*v)->Verify(MintedCase("hs", "expired_within_leeway")["token"].get<std::string>());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "expired")) << r.status().message();
  r = (*v)->Verify(MintedCase("hs", "nbf_within_leeway")["token"].get<std::string>());
  EXPECT_FALSE(r.ok());
}

TEST(JwtVerify, InjectedClockDecidesExpiry) {
  const std::string token = MintedCase("hs", "good")["token"].get<std::string>();
  int64_t exp = Mint().doc["now"].get<int64_t>() + 600;
  std::atomic<int64_t> now_ms{(exp - 100) * 1000};
  auto v = JwtVerifier::Create(SettingsFor("hs", nullptr), [&] { return now_ms.load(); });
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE((*v)->Verify(token).ok());
  now_ms = (exp + 59) * 1000;  // inside the 60 s leeway
  EXPECT_TRUE((*v)->Verify(token).ok());
  now_ms = (exp + 60) * 1000;
  auto r = (*v)->Verify(token);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "expired")) << r.status().message();
}

TEST(JwtVerify, AudienceListAcceptsAnyConfiguredValue) {
  JwtSettings s = SettingsFor("hs", nullptr);
  s.audience = {"first", "supertable"};
  auto v = JwtVerifier::Create(s);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE((*v)->Verify(MintedCase("hs", "good")["token"].get<std::string>()).ok());
  // Without a configured audience or issuer, neither is checked.
  s.audience.clear();
  s.issuer.clear();
  v = JwtVerifier::Create(s);
  EXPECT_TRUE((*v)->Verify(MintedCase("hs", "wrong_aud")["token"].get<std::string>()).ok());
  EXPECT_TRUE((*v)->Verify(MintedCase("hs", "wrong_iss")["token"].get<std::string>()).ok());
}

TEST(JwtVerify, GarbageNeverThrows) {
  auto v = JwtVerifier::Create(SettingsFor("hs", nullptr));
  ASSERT_TRUE(v.ok());
  for (const std::string& t : std::vector<std::string>{
           "", ".", "..", "a.b.c", "e30.e30.", "eyJ.eyJ.eyJ", "\xff\xfe.\x01.\x02", "e30.e30.e30",
           std::string(20000, 'a'), std::string("e30\0.e30.x", 10)}) {
    auto r = (*v)->Verify(t);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status().message();
  }
  // A header nested deep enough to hurt a recursive parser, inside the size limit:
  // "W1tb" is base64url of "[[[", "XV1d" of "]]]".
  std::string deep;
  for (int i = 0; i < 1500; ++i) deep += "W1tb";
  for (int i = 0; i < 1500; ++i) deep += "XV1d";
  auto r = (*v)->Verify(deep + ".e30.AAAA");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "header")) << r.status().message();
}

TEST(JwtVerify, LooksLikeJwt) {
  EXPECT_TRUE(JwtVerifier::LooksLikeJwt(MintedCase("hs", "good")["token"].get<std::string>()));
  EXPECT_TRUE(JwtVerifier::LooksLikeJwt(MintedCase("hs", "alg_none")["token"].get<std::string>()));
  EXPECT_TRUE(JwtVerifier::LooksLikeJwt("a.b.c"));
  for (const char* no : {"", "abc", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.c ", "a+b.c.d",
                         "st_0123456789abcdef", "a.b.c="}) {
    EXPECT_FALSE(JwtVerifier::LooksLikeJwt(no)) << no;
  }
}

TEST(JwtBase64Url, StrictDecoding) {
  EXPECT_EQ(DecodeBase64Url(""), std::string());
  EXPECT_EQ(DecodeBase64Url("QQ"), std::string("A"));
  EXPECT_EQ(DecodeBase64Url("QUI"), std::string("AB"));
  EXPECT_EQ(DecodeBase64Url("QUJD"), std::string("ABC"));
  EXPECT_EQ(DecodeBase64Url("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(DecodeBase64Url("QR"));    // non-zero unused bits: a second spelling of "A"
  EXPECT_FALSE(DecodeBase64Url("QQ=="));  // padding
  EXPECT_FALSE(DecodeBase64Url("Q"));     // no encoding is one character long
  EXPECT_FALSE(DecodeBase64Url("+/8"));   // the other alphabet
  EXPECT_FALSE(DecodeBase64Url("QU I"));  // whitespace
  EXPECT_FALSE(DecodeBase64Url("QUI\n"));
}

TEST(JwtSettingsTest, NothingSetIsDisabled) {
  testing::ScopedEnv env({{"SUPERTABLE_JWT_ALGORITHM", ""},
                          {"SUPERTABLE_JWT_SECRET", ""},
                          {"SUPERTABLE_JWKS_URI", ""},
                          {"SUPERTABLE_JWT_PUBLIC_KEY", ""}});
  auto s = JwtSettings::FromEnvironment();
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->enabled());
}

TEST(JwtSettingsTest, ReadsEverySetting) {
  testing::ScopedEnv env({{"SUPERTABLE_JWT_ALGORITHM", "rs256"},
                          {"SUPERTABLE_JWKS_URI", "https://idp.example/jwks"},
                          {"SUPERTABLE_JWT_ISSUER", "https://idp.example/"},
                          {"SUPERTABLE_JWT_AUDIENCE", "supertable, api ,,"},
                          {"SUPERTABLE_REQUIRED_SCOPES", "tables:read,tables:write"},
                          {"SUPERTABLE_JWT_LEEWAY_S", "10"}});
  auto s = JwtSettings::FromEnvironment();
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->enabled());
  EXPECT_EQ(s->algorithm, "RS256");
  EXPECT_EQ(s->jwks_uri, "https://idp.example/jwks");
  EXPECT_EQ(s->issuer, "https://idp.example/");
  EXPECT_EQ(s->audience, (std::vector<std::string>{"supertable", "api"}));
  EXPECT_EQ(s->required_scopes, (std::vector<std::string>{"tables:read", "tables:write"}));
  EXPECT_EQ(s->leeway_s, 10);
}

TEST(JwtSettingsTest, ErrorsNameTheSetting) {
  const std::string long_secret(32, 's');
  struct Case {
    std::vector<std::pair<std::string, std::string>> env;
    std::string names;
  } cases[] = {
      {{{"SUPERTABLE_JWT_SECRET", long_secret}}, "SUPERTABLE_JWT_ALGORITHM"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "HS512"}, {"SUPERTABLE_JWT_SECRET", long_secret}},
       "SUPERTABLE_JWT_ALGORITHM='HS512'"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "none"}}, "SUPERTABLE_JWT_ALGORITHM"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "HS256"}}, "SUPERTABLE_JWT_SECRET"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "HS256"}, {"SUPERTABLE_JWT_SECRET", "short"}},
       "at least 32 bytes"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "HS256"},
        {"SUPERTABLE_JWT_SECRET", long_secret},
        {"SUPERTABLE_JWKS_URI", "https://x/jwks"}},
       "SUPERTABLE_JWKS_URI"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "RS256"}}, "SUPERTABLE_JWT_PUBLIC_KEY"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "RS256"},
        {"SUPERTABLE_JWT_PUBLIC_KEY", "/k.pem"},
        {"SUPERTABLE_JWKS_URI", "https://x/jwks"}},
       "both"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "ES256"}, {"SUPERTABLE_JWKS_URI", "file:///etc/jwks"}},
       "SUPERTABLE_JWKS_URI='file:///etc/jwks'"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "ES256"},
        {"SUPERTABLE_JWKS_URI", "https://x/jwks"},
        {"SUPERTABLE_JWT_SECRET", long_secret}},
       "SUPERTABLE_JWT_SECRET"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "HS256"},
        {"SUPERTABLE_JWT_SECRET", long_secret},
        {"SUPERTABLE_JWT_LEEWAY_S", "61"}},
       "SUPERTABLE_JWT_LEEWAY_S=61"},
      {{{"SUPERTABLE_JWT_ALGORITHM", "HS256"},
        {"SUPERTABLE_JWT_SECRET", long_secret},
        {"SUPERTABLE_JWT_LEEWAY_S", "soon"}},
       "SUPERTABLE_JWT_LEEWAY_S"},
      {{{"SUPERTABLE_JWT_ISSUER", "https://idp"}}, "SUPERTABLE_JWT_ALGORITHM"},
  };
  for (const auto& c : cases) {
    std::vector<std::pair<std::string, std::string>> vars = {
        {"SUPERTABLE_JWT_ALGORITHM", ""},  {"SUPERTABLE_JWT_SECRET", ""},
        {"SUPERTABLE_JWT_PUBLIC_KEY", ""}, {"SUPERTABLE_JWKS_URI", ""},
        {"SUPERTABLE_JWT_ISSUER", ""},     {"SUPERTABLE_JWT_LEEWAY_S", ""}};
    testing::ScopedEnv clear(vars);
    testing::ScopedEnv env(c.env);
    auto s = JwtSettings::FromEnvironment();
    ASSERT_FALSE(s.ok()) << c.names;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(s.status().message(), c.names))
        << "expected " << c.names << " in: " << s.status().message();
  }
}

TEST(JwtSettingsTest, PublicKeyFromAFileAndKeyChecks) {
  const json& doc = Mint().doc;
  testing::TempDir dir;
  JwtSettings s;
  s.algorithm = "RS256";
  s.public_key_pem = dir.Write("rsa.pem", doc["rsa_public_pem"].get<std::string>());
  auto v = JwtVerifier::Create(s);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE((*v)->Verify(MintedCase("rs_pem", "good")["token"].get<std::string>()).ok());

  auto fails_with = [&](const JwtSettings& bad, const std::string& want) {
    auto r = JwtVerifier::Create(bad);
    ASSERT_FALSE(r.ok()) << want;
    EXPECT_TRUE(Contains(r.status().message(), want)) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "SUPERTABLE_JWT_PUBLIC_KEY"))
        << r.status().message();
  };
  JwtSettings missing = s;
  missing.public_key_pem = dir.path() + "/absent.pem";
  fails_with(missing, "absent.pem");
  JwtSettings small = s;
  small.public_key_pem = doc["rsa_small_public_pem"].get<std::string>();
  fails_with(small, "2048");
  JwtSettings ec_for_rs = s;
  ec_for_rs.public_key_pem = doc["ec_public_pem"].get<std::string>();
  fails_with(ec_for_rs, "RSA");
  JwtSettings rsa_for_es = s;
  rsa_for_es.algorithm = "ES256";
  rsa_for_es.public_key_pem = doc["rsa_public_pem"].get<std::string>();
  fails_with(rsa_for_es, "P-256");
  JwtSettings garbage = s;
  garbage.public_key_pem = "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n";
  fails_with(garbage, "no PEM public key");
}

// --- The real authorization server ---

JwtSettings OidcSettings(const KeyServer& server, const std::string& alg,
                         const std::string& jwks_path = "/jwks") {
  JwtSettings s;
  s.algorithm = alg;
  s.jwks_uri = server.url(jwks_path);
  s.issuer = server.url();
  s.audience = {"urn:supertable:test"};
  s.required_scopes = {"tables:read"};
  return s;
}

TEST(JwtOidcProvider, VerifiesRealAccessTokens) {
  for (const char* alg : {"RS256", "ES256"}) {
    SCOPED_TRACE(alg);
    KeyServer server(alg);
    auto v = JwtVerifier::Create(OidcSettings(server, alg));
    ASSERT_TRUE(v.ok()) << v.status().message();
    std::string token = server.AccessToken();
    ASSERT_FALSE(token.empty());
    EXPECT_EQ(HeaderOf(token)["typ"], "at+jwt");
    auto r = (*v)->Verify(token);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->scopes, std::vector<std::string>{"tables:read"});
    ASSERT_FALSE(r->user_candidates.empty());
    EXPECT_EQ(r->user_candidates[0], "agent");  // sub of a client_credentials token
    EXPECT_EQ(r->payload["client_id"], "agent");
    EXPECT_GT(r->expires_at, 0);
    // A token of the same provider for an audience we do not serve is refused.
    JwtSettings other = OidcSettings(server, alg);
    other.audience = {"urn:someone-else"};
    auto v2 = JwtVerifier::Create(other);
    auto r2 = (*v2)->Verify(token);
    ASSERT_FALSE(r2.ok());
    EXPECT_TRUE(Contains(r2.status().message(), "audience")) << r2.status().message();
  }
}

TEST(JwtOidcProvider, KeyRotationRefetchesAtMostEveryFloor) {
  KeyServer server("RS256");
  std::atomic<int64_t> now_ms{std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()};
  JwtSettings s = OidcSettings(server, "RS256");
  ASSERT_EQ(s.jwks_refresh_min_ms, 30000);  // the default under test
  auto v = JwtVerifier::Create(s, [&] { return now_ms.load(); });
  ASSERT_TRUE(v.ok()) << v.status().message();

  std::string first = server.AccessToken();
  ASSERT_TRUE((*v)->Verify(first).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*v)->Verify(first).ok());
  EXPECT_EQ(server.JwksFetches(), 1);  // known keys are served from the cache

  server.Rotate();
  std::string second = server.AccessToken();
  ASSERT_NE(HeaderOf(first)["kid"], HeaderOf(second)["kid"]);
  now_ms += 10000;  // inside the floor: the unknown kid does not refetch
  auto r = (*v)->Verify(second);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "kid")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "at most every 30000 ms")) << r.status().message();
  EXPECT_EQ(server.JwksFetches(), 1);

  now_ms += 20000;  // 30 s after the first fetch
  r = (*v)->Verify(second);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(server.JwksFetches(), 2);

  // The rotated-out key is gone from the new set; asking for it again right away is refused
  // without another fetch.
  r = (*v)->Verify(first);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "no key with kid")) << r.status().message();
  EXPECT_EQ(server.JwksFetches(), 2);
}

TEST(JwtOidcProvider, OneFetchAtATimeAndKnownKeysDoNotWaitForIt) {
  KeyServer server("RS256");
  std::atomic<int64_t> now_ms{std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()};
  auto v = JwtVerifier::Create(OidcSettings(server, "RS256", "/test/slow-jwks"),
                               [&] { return now_ms.load(); });
  ASSERT_TRUE(v.ok()) << v.status().message();
  std::string known = server.AccessToken();
  ASSERT_TRUE((*v)->Verify(known).ok());
  const int fetches_before = server.JwksFetches();

  server.Rotate();
  std::string rotated = server.AccessToken();
  server.SetJwksDelayMs(1500);
  now_ms += 30000;
  std::atomic<int> rotated_ok{0};
  std::vector<std::thread> waiting;
  for (int i = 0; i < 6; ++i) {
    waiting.emplace_back([&] {
      if ((*v)->Verify(rotated).ok()) ++rotated_ok;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the slow fetch is under way
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    // The rotated-out key is still in the cached set until the fetch completes.
    EXPECT_TRUE((*v)->Verify(known).ok());
  }
  auto known_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  for (auto& t : waiting) t.join();
  EXPECT_LT(known_ms, 700) << "verifying known keys waited for the JWKS fetch";
  EXPECT_EQ(rotated_ok.load(), 6);
  EXPECT_EQ(server.JwksFetches(), fetches_before + 1);
}

TEST(JwtJwksFetch, RefusesRedirectsOversizeAndJunk) {
  KeyServer server("RS256", Mint().dir.path());
  auto refresh_error = [&](JwtSettings s) {
    auto v = JwtVerifier::Create(s);
    EXPECT_TRUE(v.ok()) << v.status().message();
    if (!v.ok()) return std::string();
    Status st = (*v)->RefreshKeys();
    EXPECT_FALSE(st.ok());
    return st.message();
  };
  JwtSettings s = OidcSettings(server, "RS256", "/test/redirect");
  EXPECT_TRUE(Contains(refresh_error(s), "redirects are not followed"));
  s.jwks_uri = server.url("/test/big");
  EXPECT_TRUE(Contains(refresh_error(s), "larger than the limit of 1048576 bytes"));
  s.jwks_uri = server.url("/test/static/jwks-rs.json");
  s.jwks_max_bytes = 200;
  EXPECT_TRUE(Contains(refresh_error(s), "larger than the limit of 200 bytes"));
  s.jwks_max_bytes = 1 << 20;
  s.jwks_uri = server.url("/test/count");
  EXPECT_TRUE(Contains(refresh_error(s), "\"keys\" array"));
  s.jwks_uri = server.url("/test/nothing-here");
  EXPECT_TRUE(Contains(refresh_error(s), "HTTP 404"));
  s.jwks_uri = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/jwks";
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Contains(refresh_error(s), "fetching the JWKS"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(6));
}

TEST(JwtJwksFetch, FailedFetchIsReportedInTheRefusal) {
  std::string url = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/jwks";
  JwtSettings s;
  s.algorithm = "RS256";
  s.jwks_uri = url;
  auto v = JwtVerifier::Create(s);
  ASSERT_TRUE(v.ok());
  auto r = (*v)->Verify(MintedCase("rs_jwks", "good")["token"].get<std::string>());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(Contains(r.status().message(), "fetching the JWKS failed")) << r.status().message();
}

}  // namespace
}  // namespace supertable::security
