// Bearer credentials, trusted proxy headers and rate limits on HTTP requests.
#include "security/http_auth.h"

#include <strings.h>

#include <fmt/format.h>

#include "common/config.h"
#include "common/log.h"
#include "common/text.h"

namespace supertable::security {

Result<HttpAuthOptions> HttpAuthOptions::FromEnvironment() {
  HttpAuthOptions o;
  o.public_url = GetSetting("SUPERTABLE_PUBLIC_URL").value_or("");
  if (!o.public_url.empty() && o.public_url.rfind("http://", 0) != 0 &&
      o.public_url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument(
        fmt::format("SUPERTABLE_PUBLIC_URL='{}': expected the MCP endpoint's URL, such as "
                    "https://data.example.com/mcp",
                    o.public_url));
  }
  o.authorization_servers =
      SplitComma(GetSetting("SUPERTABLE_OAUTH_AUTHORIZATION_SERVERS").value_or(""));
  o.require_token = TruthySetting("SUPERTABLE_REQUIRE_TOKEN");
  ST_ASSIGN_OR_RETURN(o.rate_limit, RateLimitSpecFromEnvironment());
  return o;
}

std::string ResourceMetadataUrl(const std::string& resource_url) {
  size_t scheme = resource_url.find("://");
  size_t path =
      scheme == std::string::npos ? std::string::npos : resource_url.find('/', scheme + 3);
  std::string origin = path == std::string::npos ? resource_url : resource_url.substr(0, path);
  std::string rest = path == std::string::npos ? "" : resource_url.substr(path);
  if (rest == "/") rest.clear();
  return origin + "/.well-known/oauth-protected-resource" + rest;
}

HttpAuth::HttpAuth(Authenticator& authenticator, HttpAuthOptions options)
    : auth_(authenticator), options_(std::move(options)) {
  if (options_.rate_limit.enabled()) limiter_ = std::make_unique<RateLimiter>(options_.rate_limit);
  if (!options_.public_url.empty()) SetResourceUrl(options_.public_url);
}

void HttpAuth::SetResourceUrl(const std::string& url) {
  if (!options_.public_url.empty() && url != options_.public_url) return;  // configured wins
  resource_url_ = url;
  metadata_url_ = ResourceMetadataUrl(url);
}

nlohmann::json HttpAuth::ResourceMetadata(const std::string& resource_url) const {
  return {{"resource", resource_url},
          {"authorization_servers", options_.authorization_servers},
          {"scopes_supported", {kScopeRead, kScopeWrite, kScopeAdmin}},
          {"bearer_methods_supported", {"header"}},
          {"resource_name", "SuperTable"}};
}

std::string HttpAuth::Challenge(const std::string& error, const std::string& scope) const {
  std::string c =
      fmt::format("Bearer realm=\"supertable\", resource_metadata=\"{}\"", metadata_url_);
  if (!scope.empty()) c += fmt::format(", scope=\"{}\"", scope);
  if (!error.empty()) c += fmt::format(", error=\"{}\"", error);
  return c;
}

http::Response HttpAuth::Refuse(const http::Request& r, int status, const std::string& message,
                                const std::string& challenge, const std::string& reason,
                                const std::string& principal) {
  if (audit_) {
    AuditRecord a;
    a.principal = principal;
    a.kind = "denied";
    a.action = r.method + " " + r.path;
    a.client = std::make_shared<const nlohmann::json>(
        nlohmann::json{{"address", r.peer},
                       {"user_agent", r.Header("user-agent").value_or("")},
                       {"transport", "http"}});
    a.outcome = "denied";
    a.error = fmt::format("{} {}{}", status, message, reason.empty() ? "" : " (" + reason + ")");
    audit_->Append(std::move(a));
  }
  http::Response res;
  res.status = status;
  res.body =
      nlohmann::json{
          {"jsonrpc", "2.0"}, {"id", nullptr}, {"error", {{"code", -32001}, {"message", message}}}}
          .dump();
  if (!challenge.empty()) res.headers.emplace_back("WWW-Authenticate", challenge);
  return res;
}

void HttpAuth::NoteRefusal(const http::Request& r, int status, const std::string& message) {
  auto p = std::static_pointer_cast<const Principal>(r.identity);
  (void)Refuse(r, status, message, "", "", p ? p->user : "");
}

std::optional<http::Response> HttpAuth::Authenticate(http::Request& r) {
  std::shared_ptr<const Principal> who;
  auto header = r.Header("authorization");
  constexpr std::string_view prefix = "bearer ";
  const AuthSettings& settings = auth_.settings();
  auto key = settings.api_key_mode ? r.Header(settings.api_key_header) : std::nullopt;
  if (key && !header) {
    // SUPERTABLE_AUTH_MODE=api_key: the header holds the credential itself, no scheme.
    auto p = auth_.FromBearer(*key);
    if (!p.ok()) {
      log::Info("http auth: credential from {} in {} refused: {}", r.remote,
                settings.api_key_header, p.status().message());
      return Refuse(r, 401, std::string("Unauthorized: ") + kInvalidCredential,
                    Challenge("invalid_token", kScopeRead), p.status().message());
    }
    who = *p;
  } else if (header) {
    if (header->size() <= prefix.size() ||
        strncasecmp(header->c_str(), prefix.data(), prefix.size()) != 0) {
      return Refuse(r, 401, "Unauthorized: the Authorization header must be 'Bearer <token>'",
                    Challenge("invalid_request", kScopeRead));
    }
    auto p = auth_.FromBearer(std::string_view(*header).substr(prefix.size()));
    if (!p.ok()) {
      // The reason is for the operator; the client learns only that it was refused. The
      // credential itself is never logged.
      log::Info("http auth: credential from {} refused: {}", r.remote, p.status().message());
      if (p.status().code() == StatusCode::kPermissionDenied) {
        return Refuse(r, 403, "Forbidden: insufficient_scope",
                      Challenge("insufficient_scope", kScopeRead), p.status().message());
      }
      return Refuse(r, 401, std::string("Unauthorized: ") + kInvalidCredential,
                    Challenge("invalid_token", kScopeRead), p.status().message());
    }
    who = *p;
  } else if (!auth_.settings().trusted_user_header.empty() &&
             r.Header(auth_.settings().trusted_user_header)) {
    // Only from the proxies named in SUPERTABLE_TRUSTED_PROXIES; from anyone else the header
    // is a claim with no proof, and is refused rather than ignored, so a misrouted deployment
    // shows at once.
    if (!auth_.IsTrustedProxy(r.peer)) {
      log::Warn("http auth: {} sent {} but is not a trusted proxy", r.remote,
                auth_.settings().trusted_user_header);
      return Refuse(r, 401, std::string("Unauthorized: ") + kInvalidCredential,
                    Challenge("invalid_token", kScopeRead), "untrusted proxy header");
    }
    auto p = auth_.ForUser(*r.Header(auth_.settings().trusted_user_header), "proxy");
    if (!p.ok()) {
      log::Info("http auth: proxy user from {} refused: {}", r.remote, p.status().message());
      return Refuse(r, 401, std::string("Unauthorized: ") + kInvalidCredential,
                    Challenge("invalid_token", kScopeRead), p.status().message());
    }
    who = *p;
  } else if (options_.require_token || !settings.api_key.empty()) {
    return Refuse(r, 401,
                  settings.api_key_mode
                      ? fmt::format("Unauthorized: send the key in the {} header (or "
                                    "'Authorization: Bearer <token>')",
                                    settings.api_key_header)
                      : std::string("Unauthorized: send 'Authorization: Bearer <token>'"),
                  Challenge("", kScopeRead));
  } else {
    who = auth_.LocalAdministrator("none");
  }
  if (limiter_) {
    RateDecision d = limiter_->Take(who->Key());
    if (!d.allowed) {
      http::Response res =
          Refuse(r, 429,
                 fmt::format("Too Many Requests: the rate limit is {}; retry in {} s",
                             GetSetting("SUPERTABLE_RATE_LIMIT").value_or(""), d.retry_after_s),
                 "", "", who->user);
      res.headers.emplace_back("Retry-After", std::to_string(d.retry_after_s));
      res.headers.emplace_back("RateLimit-Policy", options_.rate_limit.PolicyHeader());
      res.headers.emplace_back("RateLimit", d.RateLimitHeader());
      return res;
    }
    // On every answer, not only the refusal: a client paces itself before it is refused
    // (draft-ietf-httpapi-ratelimit-headers).
    r.response_headers.emplace_back("RateLimit-Policy", options_.rate_limit.PolicyHeader());
    r.response_headers.emplace_back("RateLimit", d.RateLimitHeader());
  }
  r.identity_key = who->Key();
  r.identity = std::move(who);
  return std::nullopt;
}

}  // namespace supertable::security
