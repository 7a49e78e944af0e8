// `supertable serve`: settings, the safety checks before listening, and the banner a user
// copies a client configuration from.
#include "cli/serve.h"

#include "api/rest_api.h"

#include <stdlib.h>

#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/demo.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/net.h"
#include "common/text.h"
#include "common/version.h"
#include "mcp/streamable_http.h"
#include "security/http_auth.h"
#include "table/warehouse.h"
#include "ui/reflection.h"

namespace supertable {

namespace fs = std::filesystem;

namespace {

// SUPERTABLE_MCP_* HTTP settings (docs/CONFIGURATION.md), then the flags over them.
Result<mcp::HttpTransportOptions> HttpOptions(const ServeFlags& f, bool require_token) {
  mcp::HttpTransportOptions o;
  o.http.port = 8000;
  auto get = [](const char* name) { return GetSetting(name).value_or(""); };
  o.http.host = f.host.empty() ? get("SUPERTABLE_MCP_HTTP_HOST") : f.host;
  if (o.http.host.empty()) o.http.host = "127.0.0.1";
  if (o.http.host == "localhost") o.http.host = "127.0.0.1";
  o.path = f.path.empty() ? get("SUPERTABLE_MCP_HTTP_PATH") : f.path;
  if (o.path.empty()) o.path = "/mcp";
  if (o.path[0] != '/' || o.path == "/health" || o.path.find_first_of("?# ") != std::string::npos)
    return Status::InvalidArgument(fmt::format(
        "invalid MCP path '{}': expected an absolute path such as /mcp (not /health)", o.path));
  auto port_setting = [&](const char* name) -> Result<std::optional<int>> {
    std::string v = get(name);
    if (v.empty()) return std::optional<int>();
    ST_ASSIGN_OR_RETURN(int64_t p, ParseIntSetting(name, v, 0));
    if (p > 65535) {
      return Status::InvalidArgument(
          fmt::format("{}={}: expected a port, 0 (any free port) to 65535", name, p));
    }
    return std::optional<int>(static_cast<int>(p));
  };
  // The port: --port, SUPERTABLE_MCP_HTTP_PORT, or the Docker image's SUPERTABLE_MCP_PORT.
  ST_ASSIGN_OR_RETURN(auto http_port, port_setting("SUPERTABLE_MCP_HTTP_PORT"));
  ST_ASSIGN_OR_RETURN(auto mcp_port, port_setting("SUPERTABLE_MCP_PORT"));
  if (f.port) {
    o.http.port = *f.port;
  } else if (http_port || mcp_port) {
    o.http.port = http_port ? *http_port : *mcp_port;
  }
  if (o.http.port < 0 || o.http.port > 65535)
    return Status::InvalidArgument(
        fmt::format("invalid port {}: expected 0 (any free port) to 65535", o.http.port));
  // The image gives the API and the UI ports of their own: each one given is listened on too,
  // with every route (a compose file of that shape works as it is).
  for (const char* name : {"SUPERTABLE_API_PORT", "SUPERTABLE_REFLECTION_PORT"}) {
    ST_ASSIGN_OR_RETURN(auto more, port_setting(name));
    if (!more) continue;
    bool seen = (*more == o.http.port && *more != 0) ||
                std::find(o.extra_ports.begin(), o.extra_ports.end(), *more) != o.extra_ports.end();
    if (!seen || *more == 0) o.extra_ports.push_back(*more);
  }
  struct IntSetting {
    const char* name;
    int64_t min;
    std::function<void(int64_t)> set;
  };
  for (const auto& s : std::vector<IntSetting>{
           {"SUPERTABLE_MCP_MAX_BODY_BYTES", 1024,
            [&](int64_t v) { o.http.max_body_bytes = static_cast<size_t>(v); }},
           {"SUPERTABLE_MCP_SESSION_IDLE_MS", 1000, [&](int64_t v) { o.session_idle_ms = v; }},
           {"SUPERTABLE_MCP_MAX_SESSIONS", 1,
            [&](int64_t v) { o.max_sessions = static_cast<size_t>(v); }},
           {"SUPERTABLE_MCP_WORKERS", 1, [&](int64_t v) { o.workers = static_cast<int>(v); }},
           {"SUPERTABLE_MCP_HTTP_MAX_SESSIONS_PER_CLIENT", 1,
            [&](int64_t v) { o.max_sessions_per_client = static_cast<size_t>(v); }},
           {"SUPERTABLE_MCP_HTTP_UNUSED_SESSION_MS", 1000,
            [&](int64_t v) { o.unused_session_ms = v; }},
           {"SUPERTABLE_MCP_HTTP_REPLAY_SESSION_BYTES", 0,
            [&](int64_t v) { o.replay_session_bytes = static_cast<size_t>(v); }},
           {"SUPERTABLE_MCP_HTTP_REPLAY_TOTAL_BYTES", 0,
            [&](int64_t v) { o.replay_total_bytes = static_cast<size_t>(v); }},
           {"SUPERTABLE_MCP_HTTP_HEADER_TIMEOUT_MS", 100,
            [&](int64_t v) { o.http.header_timeout_ms = v; }},
           {"SUPERTABLE_MCP_HTTP_MAX_CONNECTIONS", 1,
            [&](int64_t v) { o.http.max_connections = static_cast<size_t>(v); }},
           {"SUPERTABLE_MCP_HTTP_MAX_CONNECTIONS_PER_PEER", 1,
            [&](int64_t v) { o.http.max_connections_per_peer = static_cast<size_t>(v); }},
           {"SUPERTABLE_MCP_HTTP_MAX_PENDING_CONNECTIONS", 1,
            [&](int64_t v) { o.http.max_pending_connections = static_cast<size_t>(v); }},
       }) {
    if (auto v = get(s.name); !v.empty()) {
      ST_ASSIGN_OR_RETURN(int64_t n, ParseIntSetting(s.name, v, s.min));
      s.set(n);
    }
  }
  o.allowed_hosts = SplitComma(get("SUPERTABLE_MCP_ALLOWED_HOSTS"));
  o.allowed_origins = SplitComma(get("SUPERTABLE_MCP_ALLOWED_ORIGINS"));
  o.json_response = TruthySetting("SUPERTABLE_MCP_JSON_RESPONSE");
  if (!require_token && !IsLoopbackHost(o.http.host) && !f.allow_unauthenticated) {
    return Status::InvalidArgument(fmt::format(
        "refusing to serve on {} without a token: anyone who can reach it could read the "
        "warehouse. Set SUPERTABLE_REQUIRE_TOKEN=1 (and create tokens with `supertable token "
        "create`, or configure JWT), or pass --allow-unauthenticated if that is intended",
        o.http.host));
  }
  return o;
}

void PrintBanner(const mcp::HttpTransportOptions& o, const std::vector<int>& ports, const Config& c,
                 size_t tables, bool token, const std::string& auth) {
  const int port = ports.front();
  std::string host = o.http.host == "0.0.0.0" ? "127.0.0.1" : o.http.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  std::string url = fmt::format("http://{}:{}{}", host, port, o.path);
  std::string more;  // the other ports, which serve every route too
  for (size_t i = 1; i < ports.size(); ++i)
    more += fmt::format("{}{}", i == 1 ? "" : ", ", ports[i]);
  if (!more.empty()) more = "\n  also on    port " + more + " (every route)";
  nlohmann::json http_cfg = {{"type", "http"}, {"url", url}};
  if (token) http_cfg["headers"] = {{"Authorization", "Bearer ${SUPERTABLE_TOKEN}"}};
  nlohmann::json cfg = {{"mcpServers", {{"supertable", http_cfg}}}};
  std::cout << fmt::format(
      "SuperTable MCP server (streamable HTTP) listening on {}\n"
      "  warehouse  {} (organization '{}', {} tables)\n"
      "  health     http://{}:{}/health\n"
      "  REST API   http://{}:{}/api/v1 (OpenAPI: /api/v1/openapi.json){}\n"
      "  web UI     http://{}:{}/ (Reflection)\n"
      "  auth       {}\n\n"
      "Connect a client:\n"
      "  Claude Code:  claude mcp add --transport http supertable {}{}\n"
      "  Client configuration (Claude Desktop via a connector, Cursor, VS Code, ...):\n{}\n\n"
      "Press Ctrl+C to stop.\n",
      url, c.home, c.organization, tables, host, port, host, port, more, host, port,
      token ? "bearer token required (" + auth + ")"
            : "none required on loopback (a bearer token, if sent, is checked: " + auth + ")",
      url, token ? " --header \"Authorization: Bearer $SUPERTABLE_TOKEN\"" : "", cfg.dump(2));
  std::cout.flush();
}

// This process's directory for uploads as they arrive (home/uploads/<random>), removed when it
// stops; directories a crashed server left behind are removed after a day.
Result<std::string> UploadDirectory(const Config& config) {
  fs::path root = fs::path(config.home) / "uploads";
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Status::IoError(fmt::format("cannot create {}: {}", root.string(), ec.message()));
  auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(root, ec)) {
    std::error_code age_ec;
    auto written = fs::last_write_time(e.path(), age_ec);
    if (!age_ec && now - written > std::chrono::hours(24)) fs::remove_all(e.path(), age_ec);
  }
  fs::path mine = root / RandomId();
  fs::create_directories(mine, ec);
  if (ec) return Status::IoError(fmt::format("cannot create {}: {}", mine.string(), ec.message()));
  fs::permissions(mine, fs::perms::owner_all, ec);
  return mine.string();
}

}  // namespace

Status RunServe(Config config, const ServeFlags& flags, McpToolOptions tool_options) {
  ST_ASSIGN_OR_RETURN(security::HttpAuthOptions auth_options,
                      security::HttpAuthOptions::FromEnvironment());
  ST_ASSIGN_OR_RETURN(security::AuthSettings auth_settings,
                      security::AuthSettings::FromEnvironment());
  // An API key (SUPERTABLE_AUTH_MODE=api_key) is required of every request once it is set.
  bool require_token = auth_options.require_token || !auth_settings.api_key.empty();
  ST_ASSIGN_OR_RETURN(mcp::HttpTransportOptions o, HttpOptions(flags, require_token));
  // Signals are taken by sigwait below; block them before any thread starts so none is
  // interrupted by them.
  mcp::BlockStopSignals();
  // A directory removed when serve returns (the demo's home, this process's uploads).
  struct RemoveOnExit {
    std::string path;
    ~RemoveOnExit() {
      std::error_code ec;
      if (!path.empty()) fs::remove_all(path, ec);
    }
  } cleanup;
  if (flags.demo) {
    DemoOptions d;
    d.data_dir = flags.demo_data;
    d.keep = true;
    d.for_serve = true;
    ST_ASSIGN_OR_RETURN(std::string home, RunDemo(config, d));
    UseDemoHome(config, home);
    cleanup.path = home;
    std::cout << "\n";
  }
  ST_ASSIGN_OR_RETURN(auto w, Warehouse::Open(config));
  w->engine().Prestart();
  security::Directory directory(w->catalog(), config.organization, w->engine());
  std::string auth_description = auth_settings.Describe();
  security::Authenticator authenticator(directory, std::move(auth_settings));
  security::HttpAuth http_auth(authenticator, auth_options);
  tool_options.authenticator = &authenticator;
  ST_ASSIGN_OR_RETURN(auto audit_options, security::AuditOptionsFromEnvironment());
  std::unique_ptr<security::AuditLog> audit;  // closed (everything written) before w goes
  if (audit_options) {
    ST_ASSIGN_OR_RETURN(audit,
                        security::AuditLog::Open(w->store(), config.organization, *audit_options));
  }
  tool_options.audit = audit.get();
  tool_options.transport = "http";
  http_auth.SetAudit(audit.get());
  // One registry of operations behind both doors (MCP at the path, REST under /api/v1): the
  // same code, limits and audit trail.
  auto operations = MakeOperationRegistry(*w, tool_options);
  auto server = MakeWarehouseMcpServer(*w, tool_options, operations);
  RestApiOptions rest;
  rest.audit = audit.get();
  rest.mcp = server.get();
  ST_ASSIGN_OR_RETURN(rest.spool_directory, UploadDirectory(config));
  RemoveOnExit remove_uploads{rest.spool_directory};
  o.http.spool_directory = rest.spool_directory;
  if (auto v = GetSetting("SUPERTABLE_MAX_UPLOAD_BYTES"); v && !v->empty()) {
    ST_ASSIGN_OR_RETURN(int64_t n, ParseIntSetting("SUPERTABLE_MAX_UPLOAD_BYTES", *v, 1));
    rest.max_upload_bytes = static_cast<size_t>(n);
  }
  o.routes.push_back(MakeRestApi(operations, rest));
  size_t tables = 0;
  if (auto supers = w->ListSupers(); supers.ok()) {
    for (const auto& s : *supers) {
      if (auto t = w->ListTables(s); t.ok()) tables += t->size();
    }
  }
  o.health = [v = std::string(kVersion)] {
    return nlohmann::json{{"service", "supertable"}, {"version", v}};
  };
  // Reflection, the web UI, on every port: its pages, and its session cookie as a credential
  // of the API and MCP requests its pages make.
  ST_ASSIGN_OR_RETURN(ReflectionOptions ui_options, ReflectionOptions::FromEnvironment());
  ui_options.authenticator = &authenticator;
  ui_options.catalog = &w->catalog();
  ui_options.organization = config.organization;
  ui_options.exposed = !IsLoopbackHost(o.http.host);
  ui_options.local_sign_in = !require_token && !ui_options.exposed;
  ui_options.audit = audit.get();
  ui_options.health = [h = o.health] {
    nlohmann::json body = {{"status", "ok"}};
    body.update(h());
    return body;
  };
  Reflection reflection(std::move(ui_options));
  for (auto& route : reflection.Routes()) o.routes.push_back(std::move(route));
  o.authenticate = [&http_auth, &reflection,
                    header = authenticator.settings().api_key_mode
                                 ? authenticator.settings().api_key_header
                                 : std::string()](http::Request& r) {
    if (reflection.CarriesSession(r, header)) return reflection.Authenticate(r);
    return http_auth.Authenticate(r);
  };
  o.on_refused = [&http_auth](const http::Request& r, int status, const std::string& message) {
    http_auth.NoteRefusal(r, status, message);
  };
  o.insufficient_scope_challenge = [&http_auth](const std::string& scope) {
    return http_auth.Challenge("insufficient_scope", scope);
  };
  // The metadata names the resource as clients reach it: known once the port is.
  o.resource_metadata = [&http_auth] {
    return http_auth.ResourceMetadata(http_auth.resource_url());
  };
  mcp::HttpTransport transport(*server, o);
  ST_ASSIGN_OR_RETURN(int port, transport.Start());
  std::string shown_host =
      o.http.host == "0.0.0.0" || o.http.host == "::" ? "127.0.0.1" : o.http.host;
  if (shown_host.find(':') != std::string::npos) shown_host = "[" + shown_host + "]";
  http_auth.SetResourceUrl(fmt::format("http://{}:{}{}", shown_host, port, o.path));
  PrintBanner(o, transport.ports(), config, tables, require_token, auth_description);
  int sig = mcp::WaitForStopSignal();
  log::Info("serve: signal {} received; shutting down", sig);
  std::cerr << "supertable serve: shutting down\n";
  transport.Stop(10000);
  return Status::Ok();
}

}  // namespace supertable
