// HttpAuth: authentication of HTTP front doors (MCP over streamable HTTP now, REST later) as an
// OAuth 2.1 protected resource (MCP authorization specification, RFC 9728, RFC 6750): the
// bearer credential, or a trusted proxy's user header, becomes the request's Principal; a
// missing or refused one gets 401 with a WWW-Authenticate challenge that points at the
// Protected Resource Metadata; a principal past its rate limit gets 429.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "security/audit.h"
#include "security/authenticator.h"
#include "security/rate_limit.h"
#include "server/http_server.h"

namespace supertable::security {

struct HttpAuthOptions {
  // SUPERTABLE_PUBLIC_URL: the MCP endpoint's URL as clients reach it (the resource's
  // identifier); empty: http://host:port/path as served.
  std::string public_url;
  // SUPERTABLE_OAUTH_AUTHORIZATION_SERVERS: issuers that hand out tokens for this resource.
  std::vector<std::string> authorization_servers;
  bool require_token = false;  // no credential: 401 (otherwise: the local administrator)
  RateLimitSpec rate_limit;    // SUPERTABLE_RATE_LIMIT, per principal

  static Result<HttpAuthOptions> FromEnvironment();
};

class HttpAuth {
 public:
  HttpAuth(Authenticator& authenticator, HttpAuthOptions options);

  // Sets the request's identity (a Principal) and identity_key, or returns the refusal.
  std::optional<http::Response> Authenticate(http::Request& r);
  // RFC 9728 metadata for the resource at `resource_url`.
  nlohmann::json ResourceMetadata(const std::string& resource_url) const;
  // The WWW-Authenticate value: where the metadata is, the scope wanted and, when a credential
  // was presented and refused, error="invalid_token" (or "insufficient_scope").
  std::string Challenge(const std::string& error, const std::string& scope) const;
  // Called once the server knows where it listens (the metadata URL derives from it).
  void SetResourceUrl(const std::string& url);
  const std::string& resource_url() const { return resource_url_; }
  // Refusals (401, 403, 429) are recorded here as "denied" (nullptr: nowhere).
  void SetAudit(AuditLog* audit) { audit_ = audit; }

 private:
  http::Response Refuse(const http::Request& r, int status, const std::string& message,
                        const std::string& challenge, const std::string& reason = "",
                        const std::string& principal = "");

 public:
  // Records a refusal the MCP transport made after authentication (a missing scope, another
  // principal's session) as "denied", like the refusals made here.
  void NoteRefusal(const http::Request& r, int status, const std::string& message);

 private:
  Authenticator& auth_;
  HttpAuthOptions options_;
  std::string resource_url_, metadata_url_;
  std::unique_ptr<RateLimiter> limiter_;
  AuditLog* audit_ = nullptr;
};

// "https://host/mcp" -> "https://host/.well-known/oauth-protected-resource/mcp" (RFC 9728 §3).
std::string ResourceMetadataUrl(const std::string& resource_url);

}  // namespace supertable::security
