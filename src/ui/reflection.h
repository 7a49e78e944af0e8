// Reflection, the web UI of `supertable serve` (/reflection; / redirects to its login): sign-in
// as the original SuperTable has it (the superuser token, or a user name with an access token,
// as SUPERTABLE_LOGIN_MASK allows), a signed session cookie `st_session` (and `st_admin_token`
// for the superuser), CSRF tokens on every change, a strict Content-Security-Policy, and the
// pages: one HTML shell per route and the script and style bundled by esbuild from ui/ at build
// time, embedded in the binary (no CDN). The pages read and change everything through the REST
// API and MCP with the session's principal: the UI holds no operation of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "mcp/streamable_http.h"
#include "server/http_server.h"

namespace supertable {

class Catalog;
namespace security {
class Authenticator;
class AuditLog;
}  // namespace security

struct ReflectionOptions {
  security::Authenticator* authenticator = nullptr;  // checks sign-ins; must outlive this
  Catalog* catalog = nullptr;                        // keeps sessions (every replica sees them)
  std::string organization;
  // SUPERTABLE_SESSION_SECRET signs the cookies. Unset, a secret kept in the catalog does, but
  // only while the server listens on loopback: exposed, the UI refuses to sign anyone in until
  // it is set (a secret readable by whoever reads the catalog must not guard a public door).
  std::string session_secret;
  bool exposed = false;
  int login_mask = 3;  // SUPERTABLE_LOGIN_MASK: 1 superuser, 2 users, 3 both
  // On loopback with no credential required, an unauthenticated request acts as the local
  // administrator on every door; the login page then offers that too (a demo, a laptop).
  bool local_sign_in = false;
  bool secure_cookies = false;                 // SECURE_COOKIES=1: cookies only over HTTPS
  int64_t session_ttl_ms = 8ll * 3600 * 1000;  // SUPERTABLE_SESSION_TTL_MINUTES
  // Sign-in attempts per client address (SUPERTABLE_LOGIN_RATE_LIMIT, default 10/min; the
  // format of SUPERTABLE_RATE_LIMIT), successful or not: guessing stays slow.
  int64_t login_attempts = 10, login_per_ms = 60000;
  std::function<nlohmann::json()> health;  // the body of /healthz (as /health's)
  // Sign-ins (a "login" record), refused ones ("denied") and sign-outs go here (nullptr:
  // nowhere); the pages' own calls are recorded by the doors they call.
  security::AuditLog* audit = nullptr;
  // Reads the process's settings into the above (the authenticator and catalog aside).
  static Result<ReflectionOptions> FromEnvironment();
};

class Reflection {
 public:
  explicit Reflection(ReflectionOptions options);
  ~Reflection();

  // The routes `serve` adds: "/", "/healthz" and "/reflection/".
  std::vector<mcp::HttpTransportOptions::Route> Routes();

  // Whether the request's credential is a session cookie (and no Authorization or API-key
  // header, which win): then Authenticate decides who sends it, on every route.
  bool CarriesSession(const http::Request& r, const std::string& api_key_header) const;
  // Sets the request's principal from its session, or refuses it: an unknown, expired or forged
  // session (401), a change (any method but GET and HEAD) without the session's CSRF token in
  // X-CSRF-Token (403).
  std::optional<http::Response> Authenticate(http::Request& r);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// An embedded file of the UI (ui/ built by esbuild): gzip-compressed bytes.
struct ReflectionAsset {
  const char* name;
  const char* content_type;
  const unsigned char* gzip;
  size_t gzip_size;
  size_t size;  // uncompressed
  const char* etag;
};
// nullptr when there is none by that name. Defined in the generated reflection_assets.cc.
const ReflectionAsset* FindReflectionAsset(std::string_view name);

}  // namespace supertable
