// Reflection: sessions, sign-in, the pages' HTML shells and the embedded assets.
#include "ui/reflection.h"

#include <zlib.h>

#include <chrono>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "api/rest_api.h"
#include "catalog/catalog.h"
#include "common/config.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/text.h"
#include "security/audit.h"
#include "security/authenticator.h"
#include "security/directory.h"
#include "security/principal.h"
#include "security/rate_limit.h"

namespace supertable {

using nlohmann::json;

Result<ReflectionOptions> ReflectionOptions::FromEnvironment() {
  ReflectionOptions o;
  o.session_secret = GetSetting("SUPERTABLE_SESSION_SECRET").value_or("");
  if (!o.session_secret.empty() && o.session_secret.size() < 32) {
    return Status::InvalidArgument(
        "SUPERTABLE_SESSION_SECRET is too short: expected at least 32 random characters "
        "(openssl rand -hex 32)");
  }
  if (auto v = GetSetting("SUPERTABLE_LOGIN_MASK"); v && !v->empty()) {
    if (*v != "1" && *v != "2" && *v != "3") {
      return Status::InvalidArgument(fmt::format(
          "SUPERTABLE_LOGIN_MASK='{}' is not valid: expected 1 (superuser), 2 (users) or 3 (both)",
          *v));
    }
    o.login_mask = std::stoi(*v);
  }
  o.secure_cookies = TruthySetting("SECURE_COOKIES");
  if (auto v = GetSetting("SUPERTABLE_LOGIN_RATE_LIMIT"); v && !v->empty()) {
    auto spec = security::RateLimitSpec::Parse(*v);
    if (!spec.ok()) {
      return Status::InvalidArgument("SUPERTABLE_LOGIN_RATE_LIMIT: " + spec.status().message());
    }
    o.login_attempts = spec->requests;
    o.login_per_ms = spec->per_ms;
  }
  if (auto v = GetSetting("SUPERTABLE_SESSION_TTL_MINUTES"); v && !v->empty()) {
    ST_ASSIGN_OR_RETURN(int64_t minutes, ParseIntSetting("SUPERTABLE_SESSION_TTL_MINUTES", *v, 1));
    o.session_ttl_ms = minutes * 60 * 1000;
  }
  return o;
}

namespace {

constexpr const char* kSessionKind = "ui_session";
constexpr const char* kPrefix = "/reflection";

// The pages, by path under /reflection: what the shell tells the script to draw, and whether
// only administrators may open it (the server refuses the page itself; the API refuses the data).
struct Page {
  const char* path;
  const char* name;
  bool admin;
};
constexpr Page kPages[] = {{"/admin", "dashboard", false},    {"/tables", "tables", false},
                           {"/execute", "execute", false},    {"/mcp", "mcp", false},
                           {"/admin/config", "config", true}, {"/users", "users", true},
                           {"/audit", "audit", true}};

// The value of cookie `name` in the request's Cookie header(s).
std::optional<std::string> CookieOf(const http::Request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k != "cookie") continue;
    size_t i = 0;
    while (i < v.size()) {
      size_t semi = v.find(';', i);
      if (semi == std::string::npos) semi = v.size();
      std::string_view pair = std::string_view(v).substr(i, semi - i);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        return std::string(pair.substr(eq + 1));
      }
      i = semi + 1;
    }
  }
  return std::nullopt;
}

// An application/x-www-form-urlencoded body's fields (a field given twice: the last).
std::map<std::string, std::string> FormFields(const std::string& body) {
  std::map<std::string, std::string> out;
  if (auto pairs = ParseUrlEncoded(body); pairs.ok()) {
    for (auto& [k, v] : *pairs) out[k] = std::move(v);
  }
  return out;
}

http::Response Redirect(const std::string& to, int status = 302) {
  http::Response res;
  res.status = status;
  res.content_type = "text/plain; charset=utf-8";
  res.headers.emplace_back("Location", to);
  res.headers.emplace_back("Cache-Control", "no-store");
  res.body = "see " + to + "\n";
  return res;
}

struct Session {
  std::string kind;  // "superuser" or "user"
  std::string user, token_id, super_hash, csrf;
  std::optional<std::vector<std::string>> scopes;
  int64_t expires_micros = 0;
};

}  // namespace

struct Reflection::Impl {
  ReflectionOptions o;
  std::mutex mu;
  std::string secret;  // resolved signing key
  // Sessions read from the catalog in the last second, by document name: a page's requests
  // (the shell, its assets, a dozen API calls) cost one catalog read, not one each, and a
  // sign-out on another replica is seen within that second.
  struct Cached {
    std::optional<Session> session;
    int64_t read_micros = 0;
  };
  std::map<std::string, Cached> cache;
  int64_t purged_micros = 0;       // when expired sessions were last removed
  security::RateLimiter sign_ins;  // attempts per client address

  explicit Impl(ReflectionOptions options)
      : o(std::move(options)),
        sign_ins(security::RateLimitSpec{o.login_attempts, o.login_per_ms}) {}

  // The key cookies are signed with; "" when sign-in must be refused (exposed without
  // SUPERTABLE_SESSION_SECRET).
  std::string Secret() {
    if (!o.session_secret.empty()) return o.session_secret;
    if (o.exposed) return "";
    std::lock_guard<std::mutex> g(mu);
    if (secret.empty()) {
      auto s = o.authenticator->directory().Secret("ui_session_key");
      if (s.ok()) secret = *s;
    }
    return secret;
  }

  std::string Sign(const std::string& what) {
    return EncodeBase64Url(HmacSha256(Secret(), what)).substr(0, 32);
  }

  static std::string DocName(const std::string& id) { return Sha256Hex("session\n" + id); }

  // The session a cookie names, when its signature holds and it has not expired.
  std::optional<Session> Find(const http::Request& r, std::string* id_out = nullptr) {
    auto cookie = CookieOf(r, "st_session");
    if (!cookie || Secret().empty()) return std::nullopt;
    size_t dot = cookie->find('.');
    if (dot == std::string::npos) return std::nullopt;
    std::string id = cookie->substr(0, dot);
    if (!SecretEquals(cookie->substr(dot + 1), Sign("st_session:" + id))) return std::nullopt;
    std::string name = DocName(id);
    int64_t now = NowMicros();
    std::optional<Session> found;
    bool cached = false;
    {
      std::lock_guard<std::mutex> g(mu);
      auto it = cache.find(name);
      if (it != cache.end() && now - it->second.read_micros < 1000000) {
        found = it->second.session;
        cached = true;
      }
    }
    if (!cached) {
      auto doc = o.catalog->GetDocument(o.organization, kSessionKind, name);
      if (!doc.ok()) return std::nullopt;
      if (*doc) {
        json j = json::parse(**doc, nullptr, false);
        if (j.is_object()) {
          Session s;
          s.kind = j.value("kind", "");
          s.user = j.value("user", "");
          s.token_id = j.value("token_id", "");
          s.super_hash = j.value("super_hash", "");
          s.csrf = j.value("csrf", "");
          s.expires_micros = j.value("expires_micros", int64_t{0});
          if (j.contains("scopes") && j["scopes"].is_array())
            s.scopes = j["scopes"].get<std::vector<std::string>>();
          found = s;
        }
      }
      std::lock_guard<std::mutex> g(mu);
      if (cache.size() > 10000) cache.clear();
      cache[name] = {found, now};
    }
    if (!found || found->expires_micros <= now) return std::nullopt;
    // A superuser's session also needs its second cookie, as the original sets them.
    if (found->kind == "superuser") {
      auto admin = CookieOf(r, "st_admin_token");
      if (!admin || !SecretEquals(*admin, Sign("st_admin_token:" + id))) return std::nullopt;
    }
    if (id_out) *id_out = id;
    return found;
  }

  // The principal a session acts as now: its credential must still be good (the supertoken
  // unchanged, the token not revoked or expired, its owner enabled).
  Result<std::shared_ptr<const security::Principal>> PrincipalOf(const Session& s) {
    security::Authenticator& auth = *o.authenticator;
    if (s.kind == "local") {
      if (!o.local_sign_in) return Status::Unauthenticated("local sign-in is off");
      return auth.LocalAdministrator("none");
    }
    if (s.kind == "superuser") {
      const std::string& st = auth.settings().supertoken;
      if (st.empty() || !SecretEquals(Sha256Hex(st), s.super_hash)) {
        return Status::Unauthenticated("the superuser token changed; sign in again");
      }
      return auth.FromBearer(st);
    }
    ST_ASSIGN_OR_RETURN(auto state, auth.directory().Current());
    auto t = state->tokens.find(s.token_id);
    int64_t now = NowMicros();
    if (t == state->tokens.end() || t->second.revoked_micros != 0 || t->second.owner != s.user ||
        (t->second.expires_micros != 0 && t->second.expires_micros <= now)) {
      return Status::Unauthenticated("the token this session signed in with is no longer valid");
    }
    return auth.ForUser(s.user, "session", s.scopes, s.token_id);
  }

  std::vector<std::pair<std::string, std::string>> SecurityHeaders(const std::string& nonce) {
    return {{"Content-Security-Policy",
             fmt::format("default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{}'; "
                         "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                         "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
                         nonce)},
            {"X-Content-Type-Options", "nosniff"},
            {"X-Frame-Options", "DENY"},
            {"Referrer-Policy", "same-origin"},
            {"Cache-Control", "no-store"}};
  }

  std::string Cookie(const std::string& name, const std::string& value, int64_t max_age_s,
                     const std::string& path = "/") {
    return fmt::format("{}={}; Path={}; Max-Age={}; HttpOnly; SameSite=Strict{}", name, value, path,
                       max_age_s, o.secure_cookies ? "; Secure" : "");
  }

  http::Response Html(int status, const std::string& title, const std::string& body,
                      const std::string& nonce) {
    http::Response res;
    res.status = status;
    res.content_type = "text/html; charset=utf-8";
    res.headers = SecurityHeaders(nonce);
    res.body = fmt::format(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>{} · SuperTable Reflection</title>"
        "<link rel=\"icon\" href=\"data:,\">"
        "<link rel=\"stylesheet\" href=\"/reflection/assets/app.css\">"
        "<meta name=\"csp-nonce\" content=\"{}\"></head>\n<body>{}</body></html>\n",
        MarkupEscape(title), nonce, body);
    return res;
  }

  http::Response LoginPage(int status, const std::string& error) {
    std::string nonce = EncodeBase64Url(RandomId());
    std::string forms;
    if (o.login_mask & 1) {
      forms +=
          "<form method=\"post\" action=\"/reflection/login\" class=\"card\" "
          "aria-labelledby=\"su-title\"><h2 id=\"su-title\">Superuser</h2>"
          "<input type=\"hidden\" name=\"mode\" value=\"superuser\">"
          "<label for=\"su-token\">Superuser token</label>"
          "<input id=\"su-token\" name=\"token\" type=\"password\" autocomplete=\"off\" "
          "required>"
          "<button type=\"submit\">Sign in as superuser</button></form>";
    }
    if (o.login_mask & 2) {
      forms +=
          "<form method=\"post\" action=\"/reflection/login\" class=\"card\" "
          "aria-labelledby=\"user-title\"><h2 id=\"user-title\">User</h2>"
          "<input type=\"hidden\" name=\"mode\" value=\"user\">"
          "<label for=\"user-name\">User name</label>"
          "<input id=\"user-name\" name=\"username\" autocomplete=\"username\" required>"
          "<label for=\"user-token\">Access token</label>"
          "<input id=\"user-token\" name=\"token\" type=\"password\" autocomplete=\"off\" "
          "required>"
          "<button type=\"submit\">Sign in</button></form>";
    }
    if (o.local_sign_in) {
      forms +=
          "<form method=\"post\" action=\"/reflection/login\" class=\"card\" "
          "aria-labelledby=\"local-title\"><h2 id=\"local-title\">Local administrator</h2>"
          "<p class=\"muted\">This server listens on loopback and requires no credential: "
          "every door acts as the local administrator.</p>"
          "<input type=\"hidden\" name=\"mode\" value=\"local\">"
          "<button type=\"submit\">Continue as the local administrator</button></form>";
    }
    std::string notice =
        error.empty() ? "" : "<p class=\"error\" role=\"alert\">" + MarkupEscape(error) + "</p>";
    if (Secret().empty()) {
      notice +=
          "<p class=\"error\" role=\"alert\">This server listens beyond loopback: set "
          "SUPERTABLE_SESSION_SECRET (32 or more random characters) to sign in.</p>";
    }
    return Html(status, "Sign in",
                fmt::format("<main class=\"login\"><h1>SuperTable Reflection</h1>"
                            "<p class=\"muted\">Organization {}</p>{}<div class=\"forms\">{}"
                            "</div></main>",
                            MarkupEscape(o.organization), notice, forms),
                nonce);
  }

  void Audit(const http::Request& r, const std::string& kind, const std::string& action,
             const std::string& principal, const std::string& auth, const std::string& error) {
    if (!o.audit) return;
    security::AuditRecord a;
    a.kind = kind;
    a.action = action;
    a.principal = principal;
    a.auth = auth;
    a.client =
        std::make_shared<const json>(json{{"address", r.peer},
                                          {"user_agent", r.Header("user-agent").value_or("")},
                                          {"transport", "reflection"}});
    a.outcome = error.empty() ? "ok" : "denied";
    a.error = error;
    o.audit->Append(std::move(a));
  }

  http::Response SignIn(const http::Request& r) {
    auto fields = FormFields(r.body);
    std::string mode = fields["mode"], token = fields["token"], user = fields["username"];
    if (Secret().empty()) return LoginPage(503, "");
    security::RateDecision allowed = sign_ins.Take("sign_in:" + r.peer);
    if (!allowed.allowed) {
      Audit(r, "denied", "reflection:sign_in", "", "", "429 too many sign-in attempts");
      http::Response res = LoginPage(
          429, fmt::format("too many sign-in attempts from your address; try again in {} s",
                           allowed.retry_after_s));
      res.headers.emplace_back("Retry-After", std::to_string(allowed.retry_after_s));
      return res;
    }
    Session s;
    s.csrf = EncodeBase64Url(RandomId() + RandomId());
    s.expires_micros = NowMicros() + o.session_ttl_ms * 1000;
    security::Authenticator& auth = *o.authenticator;
    const std::string refused = "the name or token is not valid";
    if (mode == "superuser" && (o.login_mask & 1)) {
      const std::string& st = auth.settings().supertoken;
      if (st.empty() || !SecretEquals(token, st)) {
        Audit(r, "denied", "reflection:sign_in", "", "supertoken", "401 " + refused);
        return LoginPage(401, refused);
      }
      s.kind = "superuser";
      s.user = "superuser";
      s.super_hash = Sha256Hex(st);
    } else if (mode == "local" && o.local_sign_in) {
      s.kind = "local";
      s.user = "local";
    } else if (mode == "user" && (o.login_mask & 2)) {
      auto p = auth.FromBearer(token);
      // A session outlives the request, so it keeps the token's id and checks it again on every
      // request: only SuperTable tokens have one.
      if (!p.ok() || (*p)->user != user || (*p)->token_id.empty()) {
        // The name a refused sign-in gave is recorded as given; it proves nothing.
        Audit(r, "denied", "reflection:sign_in", user.substr(0, 256), "token", "401 " + refused);
        return LoginPage(401, refused);
      }
      s.kind = "user";
      s.user = user;
      s.token_id = (*p)->token_id;
      s.scopes = (*p)->scopes;
    } else {
      return LoginPage(400, "this way of signing in is not enabled here (SUPERTABLE_LOGIN_MASK)");
    }
    PurgeExpired();
    std::string id = EncodeBase64Url(RandomId() + RandomId());
    json doc = {{"kind", s.kind},
                {"user", s.user},
                {"token_id", s.token_id},
                {"super_hash", s.super_hash},
                {"csrf", s.csrf},
                {"created_micros", NowMicros()},
                {"expires_micros", s.expires_micros}};
    if (s.scopes) doc["scopes"] = *s.scopes;
    Status put = o.catalog->PutDocument(o.organization, kSessionKind, DocName(id), doc.dump());
    if (!put.ok()) return LoginPage(503, "the session could not be stored: " + put.message());
    http::Response res = Redirect("/reflection/admin", 303);
    int64_t age = o.session_ttl_ms / 1000;
    res.headers.emplace_back("Set-Cookie",
                             Cookie("st_session", id + "." + Sign("st_session:" + id), age));
    if (s.kind == "superuser") {
      res.headers.emplace_back("Set-Cookie",
                               Cookie("st_admin_token", Sign("st_admin_token:" + id), age));
    }
    log::Info("reflection: {} signed in", s.user);
    Audit(r, "login", "reflection:sign_in", s.user, s.kind == "user" ? "token" : s.kind, "");
    return res;
  }

  // Sessions nobody signed out of stay in the catalog until they expire; a sign-in removes the
  // expired ones, at most once an hour per process (a listing of every session).
  void PurgeExpired() {
    int64_t now = NowMicros();
    {
      std::lock_guard<std::mutex> g(mu);
      if (now - purged_micros < 3600ll * 1000000) return;
      purged_micros = now;
    }
    auto all = o.catalog->ListDocuments(o.organization, kSessionKind);
    if (!all.ok()) return;
    for (const auto& [name, body] : *all) {
      json j = json::parse(body, nullptr, false);
      if (!j.is_object() || j.value("expires_micros", int64_t{0}) <= now) {
        (void)o.catalog->DeleteDocument(o.organization, kSessionKind, name);
      }
    }
  }

  http::Response SignOut(const http::Request& r) {
    std::string id;
    if (auto s = Find(r, &id)) {
      Audit(r, "login", "reflection:sign_out", s->user, s->kind == "user" ? "token" : s->kind, "");
      (void)o.catalog->DeleteDocument(o.organization, kSessionKind, DocName(id));
      std::lock_guard<std::mutex> g(mu);
      cache.erase(DocName(id));
    }
    http::Response res = Redirect("/reflection/login", 303);
    res.headers.emplace_back("Set-Cookie", Cookie("st_session", "", 0));
    res.headers.emplace_back("Set-Cookie", Cookie("st_admin_token", "", 0));
    return res;
  }

  http::Response Asset(const http::Request& r, const std::string& name) {
    const ReflectionAsset* a = FindReflectionAsset(name);
    if (!a) {
      http::Response res;
      res.status = 404;
      res.content_type = "text/plain; charset=utf-8";
      res.body = "no such file\n";
      return res;
    }
    http::Response res;
    res.content_type = a->content_type;
    res.headers.emplace_back("ETag", a->etag);
    res.headers.emplace_back("Cache-Control", "no-cache");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Vary", "Accept-Encoding");
    if (auto inm = r.Header("if-none-match"); inm && *inm == a->etag) {
      res.status = 304;
      return res;
    }
    auto ae = r.Header("accept-encoding");
    if (ae && AsciiLower(*ae).find("gzip") != std::string::npos) {
      res.headers.emplace_back("Content-Encoding", "gzip");
      res.body.assign(reinterpret_cast<const char*>(a->gzip), a->gzip_size);
      return res;
    }
    // A client without gzip (curl without --compressed): inflated here.
    res.body.resize(a->size);
    z_stream z{};
    inflateInit2(&z, 16 + MAX_WBITS);
    z.next_in = const_cast<Bytef*>(a->gzip);
    z.avail_in = static_cast<uInt>(a->gzip_size);
    z.next_out = reinterpret_cast<Bytef*>(res.body.data());
    z.avail_out = static_cast<uInt>(res.body.size());
    int rc = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
      res.status = 500;
      res.body = "the embedded file is damaged\n";
    }
    return res;
  }

  void Handle(http::Request r, const std::shared_ptr<http::Exchange>& ex) {
    if (r.path == "/healthz") {
      http::Response res;
      res.body = (o.health ? o.health() : json{{"status", "ok"}}).dump();
      return ex->Respond(std::move(res));
    }
    auto principal = std::static_pointer_cast<const security::Principal>(r.identity);
    if (r.path == "/" || r.path == kPrefix || r.path == std::string(kPrefix) + "/") {
      return ex->Respond(Redirect(principal ? "/reflection/admin" : "/reflection/login"));
    }
    std::string rest = r.path.substr(std::string(kPrefix).size());
    if (rest.rfind("/assets/", 0) == 0) return ex->Respond(Asset(r, rest.substr(8)));
    if (rest == "/login") {
      if (r.method == "POST") return ex->Respond(SignIn(r));
      if (principal) return ex->Respond(Redirect("/reflection/admin"));
      return ex->Respond(LoginPage(200, ""));
    }
    if (rest == "/logout") {
      // Authenticate checked the CSRF token of this POST.
      if (r.method != "POST") return ex->Respond(Redirect("/reflection/admin"));
      return ex->Respond(SignOut(r));
    }
    if (rest == "/session") {
      if (!principal) return ex->Respond(Unauthorized());
      std::string id;
      auto s = Find(r, &id);
      http::Response res;
      res.headers.emplace_back("Cache-Control", "no-store");
      res.body = json{{"user", principal->user},
                      {"superuser", principal->superuser},
                      {"admin", principal->IsAdmin()},
                      {"roles", principal->RoleNames()},
                      {"organization", o.organization},
                      {"csrf", s ? s->csrf : ""},
                      {"expires_at", s ? FormatTimestamp(s->expires_micros) : ""}}
                     .dump();
      return ex->Respond(std::move(res));
    }
    for (const Page& p : kPages) {
      if (rest != p.path) continue;
      if (!principal) return ex->Respond(Redirect("/reflection/login"));
      std::string nonce = EncodeBase64Url(RandomId());
      if (p.admin && !principal->IsAdmin()) {
        return ex->Respond(Html(403, "Administrators only",
                                "<main class=\"login\"><h1>Administrators only</h1><p>This "
                                "page is for administrators. <a href=\"/reflection/admin\">Back "
                                "to the dashboard</a></p></main>",
                                nonce));
      }
      return ex->Respond(
          Html(200, p.name,
               fmt::format("<div id=\"app\" data-page=\"{}\"></div>"
                           "<script type=\"module\" src=\"/reflection/assets/app.js\"></script>",
                           p.name),
               nonce));
    }
    http::Response res = Html(404, "Not found",
                              "<main class=\"login\"><h1>Not found</h1><p><a "
                              "href=\"/reflection/admin\">Back to the dashboard</a></p></main>",
                              EncodeBase64Url(RandomId()));
    ex->Respond(std::move(res));
  }

  static http::Response Unauthorized() {
    return Problem(401, "the session ended or is not valid; sign in again");
  }

  std::optional<http::Response> Authenticate(http::Request& r) {
    std::string id;
    auto s = Find(r, &id);
    if (!s) return Unauthorized();
    auto p = PrincipalOf(*s);
    if (!p.ok()) {
      log::Info("reflection: session of {} refused: {}", s->user, p.status().message());
      return Unauthorized();
    }
    if (r.method != "GET" && r.method != "HEAD") {
      auto token = r.Header("x-csrf-token");
      if (!token || !SecretEquals(*token, s->csrf)) {
        return Problem(403,
                       "a change needs the session's CSRF token in the X-CSRF-Token header "
                       "(GET /reflection/session has it)");
      }
    }
    r.identity = *p;
    r.identity_key = (*p)->Key();
    return std::nullopt;
  }
};

Reflection::Reflection(ReflectionOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
Reflection::~Reflection() = default;

bool Reflection::CarriesSession(const http::Request& r, const std::string& api_key_header) const {
  if (r.Header("authorization")) return false;
  if (!api_key_header.empty() && r.Header(api_key_header)) return false;
  return CookieOf(r, "st_session").has_value();
}

std::optional<http::Response> Reflection::Authenticate(http::Request& r) {
  return impl_->Authenticate(r);
}

std::vector<mcp::HttpTransportOptions::Route> Reflection::Routes() {
  Impl* impl = impl_.get();
  auto handler = [impl](http::Request r, std::shared_ptr<http::Exchange> ex) {
    impl->Handle(std::move(r), ex);
  };
  // Pages open to anyone (the login page, the assets) carry the session's principal when there
  // is one; a change (sign-out) must carry its CSRF token.
  auto authenticate = [impl](http::Request& r) -> std::optional<http::Response> {
    if (r.path == "/healthz") return std::nullopt;
    bool change = r.method != "GET" && r.method != "HEAD";
    if (r.path == "/reflection/login") return std::nullopt;  // signs in: no session yet
    if (!CookieOf(r, "st_session")) return std::nullopt;
    auto refused = impl->Authenticate(r);
    if (refused && change) return refused;
    return std::nullopt;  // a stale cookie on a page: the page redirects to the login
  };
  std::vector<mcp::HttpTransportOptions::Route> routes;
  for (auto [prefix, exact] : {std::pair{"/", true}, std::pair{"/healthz", true},
                               std::pair{"/reflection", true}, std::pair{"/reflection/", false}}) {
    mcp::HttpTransportOptions::Route route;
    route.prefix = prefix;
    route.exact = exact;
    route.handler = handler;
    route.authenticate = authenticate;
    routes.push_back(std::move(route));
  }
  return routes;
}

}  // namespace supertable
