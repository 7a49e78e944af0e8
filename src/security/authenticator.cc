// Credentials to principals.
#include "security/authenticator.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/config.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/text.h"
#include "security/jwt.h"

namespace supertable::security {

Result<AuthSettings> AuthSettings::FromEnvironment() {
  AuthSettings s;
  s.supertoken = FirstSetting({"SUPERTABLE_SUPERTOKEN", "SUPERTABLE_ADMIN_TOKEN"});
  s.shared_token = GetSetting("SUPERTABLE_MCP_AUTH_TOKEN").value_or("");
  s.require_token = TruthySetting("SUPERTABLE_REQUIRE_TOKEN");
  std::string mode = AsciiLower(GetSetting("SUPERTABLE_AUTH_MODE").value_or("bearer"));
  if (mode != "bearer" && mode != "api_key") {
    return Status::InvalidArgument(
        fmt::format("SUPERTABLE_AUTH_MODE='{}': expected api_key or bearer", mode));
  }
  s.api_key_mode = mode == "api_key";
  s.api_key = GetSetting("SUPERTABLE_API_KEY").value_or("");
  if (auto h = GetSetting("SUPERTABLE_AUTH_HEADER_NAME"); h && !h->empty()) {
    s.api_key_header = AsciiLower(*h);
    bool token = std::all_of(s.api_key_header.begin(), s.api_key_header.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (!token || s.api_key_header == "authorization") {
      return Status::InvalidArgument(fmt::format(
          "SUPERTABLE_AUTH_HEADER_NAME='{}': expected a header name such as X-API-Key (letters, "
          "digits, '-', '_'; not Authorization, which carries bearer credentials)",
          *h));
    }
  }
  if (!s.api_key.empty() && !s.api_key_mode) {
    return Status::InvalidArgument(
        "SUPERTABLE_API_KEY is set but SUPERTABLE_AUTH_MODE is not api_key: set "
        "SUPERTABLE_AUTH_MODE=api_key to accept it (in the SUPERTABLE_AUTH_HEADER_NAME header)");
  }
  s.stdio_token = GetSetting("SUPERTABLE_TOKEN").value_or("");
  s.trusted_user_header = AsciiLower(GetSetting("SUPERTABLE_TRUSTED_USER_HEADER").value_or(""));
  s.trusted_proxies = SplitComma(GetSetting("SUPERTABLE_TRUSTED_PROXIES").value_or(""));
  s.require_explicit_user_hash = TruthySetting("SUPERTABLE_REQUIRE_EXPLICIT_USER_HASH");
  s.allowed_user_hashes = SplitComma(GetSetting("SUPERTABLE_ALLOWED_USER_HASHES").value_or(""));
  for (const auto& [name, value] : {std::pair{"SUPERTABLE_SUPERTOKEN", &s.supertoken},
                                    std::pair{"SUPERTABLE_MCP_AUTH_TOKEN", &s.shared_token},
                                    std::pair{"SUPERTABLE_API_KEY", &s.api_key}}) {
    if (!value->empty() && value->size() < 16) {
      return Status::InvalidArgument(
          fmt::format("{} must be at least 16 characters (e.g. `openssl rand -hex 32`)", name));
    }
  }
  ST_ASSIGN_OR_RETURN(JwtSettings jwt, JwtSettings::FromEnvironment());
  if (jwt.enabled()) {
    ST_ASSIGN_OR_RETURN(std::unique_ptr<JwtVerifier> v, JwtVerifier::Create(jwt));
    std::shared_ptr<JwtVerifier> verifier = std::move(v);
    s.external = [verifier](const std::string& token) -> Result<ExternalIdentity> {
      if (!JwtVerifier::LooksLikeJwt(token)) return Status::Unauthenticated("not a JWT");
      ST_ASSIGN_OR_RETURN(JwtClaims claims, verifier->Verify(token));
      std::optional<std::vector<std::string>> scopes;
      if (claims.has_scope_claim) scopes = claims.scopes;
      return ExternalIdentity{claims.user_candidates, std::move(scopes)};
    };
  }
  if (!s.trusted_user_header.empty() && s.trusted_proxies.empty()) {
    return Status::InvalidArgument(
        "SUPERTABLE_TRUSTED_USER_HEADER needs SUPERTABLE_TRUSTED_PROXIES: the addresses of the "
        "proxies allowed to name users (anyone else could claim to be anyone)");
  }
  return s;
}

std::string AuthSettings::Describe() const {
  std::vector<std::string> ways = {"SuperTable tokens"};
  if (!supertoken.empty()) ways.push_back("the supertoken");
  if (!shared_token.empty()) ways.push_back("SUPERTABLE_MCP_AUTH_TOKEN");
  if (!api_key.empty()) ways.push_back("SUPERTABLE_API_KEY");
  if (api_key_mode) ways.push_back("credentials in header " + api_key_header);
  if (external) ways.push_back("JWT");
  if (!trusted_user_header.empty()) ways.push_back("header " + trusted_user_header);
  return fmt::format("{}", fmt::join(ways, ", "));
}

std::shared_ptr<const Principal> Authenticator::LocalAdministrator(const std::string& auth) const {
  auto p = std::make_shared<Principal>();
  p->user = "local";
  p->auth = auth;
  p->superuser = true;
  return p;
}

bool Authenticator::IsTrustedProxy(const std::string& peer) const {
  return std::find(settings_.trusted_proxies.begin(), settings_.trusted_proxies.end(), peer) !=
         settings_.trusted_proxies.end();
}

Result<std::shared_ptr<const Principal>> Authenticator::ForUser(
    const std::string& user, const std::string& auth,
    std::optional<std::vector<std::string>> scopes, const std::string& token_id) {
  ST_ASSIGN_OR_RETURN(auto state, directory_.Current());
  return ForUser(*state, user, auth, std::move(scopes), token_id);
}

Result<std::shared_ptr<const Principal>> Authenticator::ForUser(
    const DirectoryState& state, const std::string& user, const std::string& auth,
    std::optional<std::vector<std::string>> scopes, const std::string& token_id) {
  auto it = state.users.find(user);
  if (it == state.users.end()) {
    return Status::Unauthenticated(fmt::format("no user '{}'", user));
  }
  if (!it->second.enabled)
    return Status::Unauthenticated(fmt::format("user '{}' is disabled", user));
  auto p = std::make_shared<Principal>();
  p->user = user;
  p->auth = auth;
  p->scopes = std::move(scopes);
  p->token_id = token_id;
  p->mask_salt = state.mask_salt;
  p->directory_version = state.version;
  for (const auto& r : it->second.roles) {
    auto role = state.roles.find(r);
    if (role != state.roles.end()) p->roles.push_back(role->second);
  }
  directory_.NoteUse(user, token_id);
  return std::shared_ptr<const Principal>(std::move(p));
}

Result<std::shared_ptr<const Principal>> Authenticator::FromBearer(std::string_view credential) {
  // The static secrets of the settings, each a superuser of its own name.
  struct Static {
    const std::string& secret;
    const char* user;
    const char* auth;
  };
  for (const Static& st : {Static{settings_.supertoken, "superuser", "supertoken"},
                           Static{settings_.shared_token, "mcp", "shared_token"},
                           Static{settings_.api_key, "api", "api_key"}}) {
    if (st.secret.empty() || !SecretEquals(credential, st.secret)) continue;
    auto p = std::make_shared<Principal>();
    p->user = st.user;
    p->auth = st.auth;
    p->superuser = true;
    return std::shared_ptr<const Principal>(std::move(p));
  }
  if (LooksLikeSuperTableToken(credential)) {
    ST_ASSIGN_OR_RETURN(auto state, directory_.Current());
    {
      std::lock_guard<std::mutex> g(cache_mu_);
      auto hit = by_token_.find(TokenIdOf(credential));
      if (hit != by_token_.end() && hit->second.directory_version == state->version &&
          (!hit->second.expires_micros || hit->second.expires_micros > NowMicros()) &&
          SecretEquals(hit->second.credential, credential)) {
        directory_.NoteUse(hit->second.principal->user, hit->first);
        return hit->second.principal;
      }
    }
    // Revocation, expiry and the owner's state, against this version of the directory.
    ST_ASSIGN_OR_RETURN(TokenRecord t, Directory::VerifyToken(std::string(credential), *state));
    std::optional<std::vector<std::string>> scopes;
    if (!t.scopes.empty()) scopes = t.scopes;
    ST_ASSIGN_OR_RETURN(auto p, ForUser(*state, t.owner, "token", std::move(scopes), t.id));
    std::lock_guard<std::mutex> g(cache_mu_);
    if (by_token_.size() > 10000) by_token_.clear();  // bounded; a miss only costs a check
    by_token_[t.id] = Verified{std::string(credential), state->version, t.expires_micros, p};
    return p;
  }
  if (settings_.external) {
    ST_ASSIGN_OR_RETURN(ExternalIdentity id, settings_.external(std::string(credential)));
    // A token without a scope claim is not narrowed: its user's roles decide. One whose scope
    // claim is empty was granted nothing, and is narrowed to nothing.
    const std::optional<std::vector<std::string>>& scopes = id.scopes;
    // The first claim that names a known user decides, and that user must be enabled: an
    // identity provider's word alone grants nothing. A disabled user does not fall through to
    // a later claim (a user's token names the client it was issued to in client_id, and that
    // client may have a user of its own).
    ST_ASSIGN_OR_RETURN(auto state, directory_.Current());
    for (const auto& name : id.user_candidates) {
      if (state->users.count(name)) return ForUser(*state, name, "jwt", scopes, "");
    }
    return Status::Unauthenticated(
        id.user_candidates.empty()
            ? std::string("the token names no user")
            : fmt::format("no user '{}'", fmt::join(id.user_candidates, "', '")));
  }
  return Status::Unauthenticated("unknown credential");
}

}  // namespace supertable::security
