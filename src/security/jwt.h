// JWT access tokens, verified as an OAuth 2.1 resource server does: a compact JWS signed by a
// configured key (HS256 secret, RS256/ES256 public key) or by a key of the identity provider's
// JWKS, with its registered claims checked. The rules are in docs/SECURITY.md ("JWT
// verification"); the settings in docs/CONFIGURATION.md ("JWT"). OpenSSL stays inside jwt.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace supertable::security {

// The longest token Verify reads; longer ones are refused before any parsing.
inline constexpr size_t kMaxJwtBytes = 16 * 1024;
// The most clock skew a deployment may allow for exp, nbf and iat.
inline constexpr int64_t kMaxJwtLeewaySeconds = 60;

struct JwtSettings {           // from SUPERTABLE_JWT_* settings
  std::string algorithm;       // SUPERTABLE_JWT_ALGORITHM: HS256 | RS256 | ES256
  std::string secret;          // SUPERTABLE_JWT_SECRET (HS256; at least 32 bytes)
  std::string public_key_pem;  // SUPERTABLE_JWT_PUBLIC_KEY (PEM text, or a path to a PEM file)
  std::string jwks_uri;        // SUPERTABLE_JWKS_URI (http/https)
  std::string issuer;          // SUPERTABLE_JWT_ISSUER (exact match when set)
  std::vector<std::string> audience;  // SUPERTABLE_JWT_AUDIENCE (comma list; aud must hold one)
  std::vector<std::string> required_scopes;  // SUPERTABLE_REQUIRED_SCOPES (comma list; all)
  int64_t leeway_s = 60;                     // SUPERTABLE_JWT_LEEWAY_S, 0..60
  int64_t jwks_refresh_min_ms = 30000;       // refetch on unknown kid at most this often
  int64_t jwks_max_bytes = 1 << 20;          // a larger JWKS answer is refused

  // True when JWT authentication is configured at all (an algorithm or a key source is set).
  bool enabled() const;
  // Reads the settings above with GetSetting (environment, then .env). Not set at all: a
  // disabled JwtSettings. Errors name the setting, what was wrong and what is expected. The key
  // itself (PEM file, JWKS) is read by JwtVerifier::Create, not here.
  static Result<JwtSettings> FromEnvironment();
};

struct JwtClaims {
  nlohmann::json payload;           // all claims
  std::vector<std::string> scopes;  // from "scope" (space separated) or else "scp" (array/string)
  bool has_scope_claim = false;     // "scope" or "scp" present (maybe empty: granted nothing)
  // Candidate user names in resolution order: sub, client_id, email, username (present,
  // non-empty strings only).
  std::vector<std::string> user_candidates;
  int64_t expires_at = 0;  // exp, seconds since the epoch
};

// Verifies tokens against one configured key source. Thread-safe: Verify may run on many
// threads at once. With a JWKS, keys are fetched on first use and again when a token names an
// unknown kid, at most once per jwks_refresh_min_ms (successful or not, so a flood of made-up
// kids cannot hammer the identity provider); one fetch runs at a time, and tokens of keys
// already known never wait for it.
class JwtVerifier {
 public:
  // Checks the settings and loads a configured PEM key (a JWKS is fetched lazily). Errors are
  // InvalidArgument and name the setting.
  static Result<std::unique_ptr<JwtVerifier>> Create(const JwtSettings& s);
  // The same with a clock (milliseconds since the epoch) for exp/nbf/iat and the refetch floor;
  // tests pass their own.
  static Result<std::unique_ptr<JwtVerifier>> Create(const JwtSettings& s,
                                                     std::function<int64_t()> now_ms);
  ~JwtVerifier();

  // Verifies a compact JWS. Failures are Unauthenticated, or PermissionDenied for a valid token
  // that lacks a required scope (an HTTP front door answers 401 invalid_token / 403
  // insufficient_scope). The message is the DETAILED reason, for the server log only: show
  // clients a generic message.
  Result<JwtClaims> Verify(std::string_view token);

  // Fetches the JWKS now, whatever the refetch floor (e.g. at startup, to log a bad URI early).
  // Ok and nothing to do without a JWKS.
  Status RefreshKeys();

  // Three non-empty base64url segments (header and payload; the signature may be empty): worth
  // handing to Verify rather than to another kind of token check.
  static bool LooksLikeJwt(std::string_view token);

 private:
  struct Impl;
  explicit JwtVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace supertable::security
