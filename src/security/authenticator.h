// Authenticator: turns what a request presents (a bearer credential, a trusted proxy's user
// header, the original SuperTable's user_hash) into a Principal, failing closed: an unknown,
// disabled or removed user is no one. Detailed reasons go to the server log; callers get one
// generic answer, so a refusal never tells an attacker which part was wrong.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "security/directory.h"
#include "security/principal.h"

namespace supertable::security {

// What an external token (a JWT from the team's identity provider) says about its bearer.
struct ExternalIdentity {
  std::vector<std::string> user_candidates;  // in resolution order: sub, client_id, email, username
  // nullopt: the token has no scope claim (not narrowed); empty: it was granted no scope.
  std::optional<std::vector<std::string>> scopes;
};
// Verifies an external token; Unauthenticated with the detailed reason when it is not valid.
using ExternalTokenCheck = std::function<Result<ExternalIdentity>(const std::string& token)>;

struct AuthSettings {
  std::string supertoken;    // SUPERTABLE_SUPERTOKEN, legacy fallback SUPERTABLE_ADMIN_TOKEN
  std::string shared_token;  // SUPERTABLE_MCP_AUTH_TOKEN: acts as the superuser, as before
  // SUPERTABLE_AUTH_MODE=api_key (the original's Docker image): HTTP requests may present their
  // credential in the header SUPERTABLE_AUTH_HEADER_NAME (default X-API-Key; kept lowercased)
  // instead of Authorization: Bearer, and SUPERTABLE_API_KEY is one more credential acting as
  // the superuser. With a key set, every HTTP request needs a credential.
  bool api_key_mode = false;
  std::string api_key;
  std::string api_key_header = "x-api-key";
  bool require_token = false;                    // SUPERTABLE_REQUIRE_TOKEN
  std::string stdio_token;                       // SUPERTABLE_TOKEN: who `supertable mcp` acts as
  std::string trusted_user_header;               // SUPERTABLE_TRUSTED_USER_HEADER (lowercased)
  std::vector<std::string> trusted_proxies;      // SUPERTABLE_TRUSTED_PROXIES: peer addresses
  bool require_explicit_user_hash = false;       // SUPERTABLE_REQUIRE_EXPLICIT_USER_HASH
  std::vector<std::string> allowed_user_hashes;  // SUPERTABLE_ALLOWED_USER_HASHES
  ExternalTokenCheck external;                   // JWT verification, when configured

  static Result<AuthSettings> FromEnvironment();
  // Whether any credential can be checked (a token store is always there; this says whether a
  // static secret or an identity provider is configured too), for banners and whoami.
  std::string Describe() const;
};

class Authenticator {
 public:
  Authenticator(Directory& directory, AuthSettings settings)
      : directory_(directory), settings_(std::move(settings)) {}

  const AuthSettings& settings() const { return settings_; }
  Directory& directory() { return directory_; }

  // A bearer credential: the supertoken, the shared MCP token, a SuperTable token or a JWT.
  Result<std::shared_ptr<const Principal>> FromBearer(std::string_view credential);
  // A known, enabled user (a trusted proxy's header, a user_hash), with optional scopes.
  Result<std::shared_ptr<const Principal>> ForUser(
      const std::string& user, const std::string& auth,
      std::optional<std::vector<std::string>> scopes = std::nullopt,
      const std::string& token_id = "");
  // Whoever opened the home (the CLI), or an unauthenticated loopback caller when no token is
  // required: the superuser.
  std::shared_ptr<const Principal> LocalAdministrator(const std::string& auth = "local") const;
  // Whether `peer` (an IP address) may name users in the trusted header.
  bool IsTrustedProxy(const std::string& peer) const;

 private:
  Result<std::shared_ptr<const Principal>> ForUser(const DirectoryState& state,
                                                   const std::string& user, const std::string& auth,
                                                   std::optional<std::vector<std::string>> scopes,
                                                   const std::string& token_id);

  Directory& directory_;
  AuthSettings settings_;
  // SuperTable tokens verified against a directory version, by token id. Until users, roles or
  // tokens change (the version), a token that verified once is the same token with the same
  // principal: the next request compares it with the one kept here in constant time instead of
  // hashing it again and rebuilding the principal (roles copied), which were most of a check.
  // Expiry is still checked on every request. The tokens stay in this process's memory only,
  // like the requests that carried them.
  struct Verified {
    std::string credential;
    std::string directory_version;
    int64_t expires_micros = 0;  // 0 never
    std::shared_ptr<const Principal> principal;
  };
  std::mutex cache_mu_;
  std::map<std::string, Verified, std::less<>> by_token_;
};

// The generic answer to a refused credential, for clients.
inline constexpr const char* kInvalidCredential = "the credential is not valid";

}  // namespace supertable::security
