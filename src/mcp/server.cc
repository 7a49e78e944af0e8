// MCP method dispatch, lifecycle and the tool-call chain.
#include "mcp/server.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "common/text.h"
#include "mcp/schema_validator.h"

namespace supertable::mcp {

namespace {

const std::vector<std::string> kLevels = {"debug", "info",     "notice", "warning",
                                          "error", "critical", "alert",  "emergency"};

// Cursors are offsets, encoded so clients treat them as opaque.
std::string EncodeCursor(size_t offset) { return fmt::format("o{}", offset); }
std::optional<size_t> DecodeCursor(const json& params) {
  if (!params.contains("cursor") || params["cursor"].is_null()) return size_t{0};
  if (!params["cursor"].is_string()) return std::nullopt;
  std::string c = params["cursor"];
  if (c.size() < 2 || c[0] != 'o' || c.find_first_not_of("0123456789", 1) != std::string::npos)
    return std::nullopt;
  return static_cast<size_t>(std::stoull(c.substr(1)));
}

std::map<std::string, std::string> StringArgs(const json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    out[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  }
  return out;
}

}  // namespace

bool IsModernRequest(const Message& m) {
  if (m.kind != Message::Kind::kRequest) return false;
  auto meta = m.params.find("_meta");
  return meta != m.params.end() && meta->is_object() && meta->contains(kMetaProtocolVersion);
}

int LogLevelRank(const std::string& level) {
  for (size_t i = 0; i < kLevels.size(); ++i) {
    if (kLevels[i] == level) return static_cast<int>(i);
  }
  return -1;
}

ToolResult ToolResult::Error(const std::string& message, json details) {
  ToolResult r;
  r.is_error = true;
  r.structured = {{"error", message}};
  if (!details.is_null()) r.structured["details"] = std::move(details);
  return r;
}

ToolContext::ToolContext(Session& session, json request_id, const json& arguments,
                         json progress_token, std::shared_ptr<CancelToken> cancel,
                         std::shared_ptr<const void> identity, ClientInput input)
    : session_(session),
      request_id_(std::move(request_id)),
      arguments_(arguments),
      progress_token_(std::move(progress_token)),
      cancel_(std::move(cancel)),
      identity_(std::move(identity)),
      input_(std::move(input)) {}

void ToolContext::Progress(double progress, std::optional<double> total,
                           const std::string& message) {
  if (progress_token_.is_null()) return;
  json p = {{"progressToken", progress_token_}, {"progress", progress}};
  if (total) p["total"] = *total;
  if (!message.empty()) p["message"] = message;
  session_.Send(MakeNotification("notifications/progress", std::move(p)), request_id_);
}

void ToolContext::Log(const std::string& level, const json& data) {
  if (LogLevelRank(level) < session_.log_rank.load()) return;
  session_.Send(MakeNotification("notifications/message",
                                 {{"level", level}, {"logger", session_.logger}, {"data", data}}),
                request_id_);
}

Result<json> ToolContext::AskClient(const std::string& method, json params, int64_t timeout_ms) {
  return session_.Request(method, std::move(params), request_id_, timeout_ms, cancel_.get());
}

namespace {

// The client capability each kind of input request needs.
const char* CapabilityFor(const std::string& method) {
  if (method == "elicitation/create") return "elicitation";
  if (method == "sampling/createMessage") return "sampling";
  if (method == "roots/list") return "roots";
  return nullptr;
}

constexpr size_t kMaxInputRequests = 16;               // per round of one call
constexpr int64_t kStateLifetimeMicros = 600'000'000;  // a client has ten minutes to answer
constexpr size_t kMaxStateBytes = 64 << 10;

}  // namespace

Result<std::optional<json>> ClientInput::Ask(const std::string& key, const std::string& method,
                                             json params, int64_t timeout_ms) {
  const char* capability = CapabilityFor(method);
  if (!capability) {
    return Status::InvalidArgument(fmt::format("cannot ask the client '{}'", method));
  }
  if (!session_.client_capabilities.contains(capability)) {
    return Status::InvalidArgument(
        fmt::format("the client did not declare the {} capability {} needs", capability, method));
  }
  if (!session_.stateless) {
    ST_ASSIGN_OR_RETURN(
        json answer, session_.Request(method, std::move(params), request_id_, timeout_ms, cancel_));
    return std::optional<json>(std::move(answer));
  }
  if (answers_.contains(key)) {
    // The answer must be of the kind asked for.
    const json& a = answers_[key];
    bool fits = method == "elicitation/create" ? a.contains("action") && a["action"].is_string()
                : method == "sampling/createMessage" ? a.contains("content")
                                                     : a.contains("roots") && a["roots"].is_array();
    if (!fits) {
      return Status::InvalidArgument(
          fmt::format("the client's answer to '{}' is not a result of {}", key, method));
    }
    return std::optional<json>(a);
  }
  if (pending_.size() >= kMaxInputRequests && !pending_.contains(key)) {
    return Status::InvalidArgument(
        fmt::format("a call may ask the client at most {} things at once", kMaxInputRequests));
  }
  pending_[key] = {{"method", method}, {"params", std::move(params)}};
  return std::optional<json>();
}

ToolResult ToolResult::ProtocolError(int code, const std::string& message) {
  ToolResult r;
  r.is_error = true;
  r.structured = {{"error", message}};
  r.rpc_error = {{"code", code}, {"message", message}};
  return r;
}

ToolResult ToolContext::NeedInput() const {
  ToolResult r;
  r.input_required = true;
  return r;
}

Result<json> Session::Request(const std::string& method, json params, const json& related,
                              int64_t timeout_ms, const CancelToken* cancel) {
  if (stateless) {
    return Status::InvalidArgument(fmt::format(
        "{} cannot be asked of a client that speaks protocol version {}: that revision asks "
        "through the multi round-trip pattern, which this server does not offer yet",
        method, protocol_version));
  }
  auto pending = std::make_shared<Pending>();
  json id;
  {
    std::lock_guard<std::mutex> g(mu);
    id = fmt::format("s{}", next_request_id_++);
    awaiting_[id.dump()] = pending;
  }
  Send(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}},
       related);
  std::unique_lock<std::mutex> lk(mu);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // Woken by Resolve; the short period lets a cancel be noticed without a second wake-up path.
  while (!pending->done && !(cancel && cancel->cancelled()) &&
         std::chrono::steady_clock::now() < deadline) {
    answered_.wait_for(lk, std::chrono::milliseconds(50));
  }
  awaiting_.erase(id.dump());
  if (!pending->done) {
    if (cancel && cancel->cancelled()) return Status::Cancelled(method + " was cancelled");
    return Status::Timeout(
        fmt::format("the client did not answer {} within {} ms", method, timeout_ms));
  }
  const Message& r = pending->response;
  if (r.is_error) {
    return Status::InvalidArgument(fmt::format("the client refused {}: {}", method,
                                               r.result_or_error.value("message", "no reason")));
  }
  return r.result_or_error;
}

bool Session::Resolve(const Message& response) {
  std::lock_guard<std::mutex> g(mu);
  auto it = awaiting_.find(response.id.dump());
  if (it == awaiting_.end()) return false;
  it->second->done = true;
  it->second->response = response;
  answered_.notify_all();
  return true;
}

Server::Server(ServerInfo info) : state_key(RandomId() + RandomId()), info_(std::move(info)) {
  server_info_ = {{"name", info_.name}, {"version", info_.version}};
  if (!info_.title.empty()) server_info_["title"] = info_.title;
}

namespace {

// What a request state is bound to of its request's params: everything but the _meta and the
// round trip's own fields.
std::string ParamsDigest(const json& params) {
  json p = params;
  for (const char* k : {"_meta", "inputResponses", "requestState"}) p.erase(k);
  return Sha256Hex(p.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

std::string Server::SignState(const RequestContext& rc, const std::string& method,
                              const json& params, const json& answers) const {
  json payload = {{"v", 1},
                  {"method", method},
                  {"params", ParamsDigest(params)},
                  {"who", identity_key ? identity_key(rc.identity) : std::string()},
                  {"expires", NowMicros() + kStateLifetimeMicros},
                  {"answers", answers}};
  std::string body = Base64Encode(payload.dump(-1, ' ', false, json::error_handler_t::replace));
  return body + "." + HexEncode(HmacSha256(state_key, body));
}

std::optional<json> Server::VerifyState(const RequestContext& rc, const std::string& method,
                                        const json& params, const std::string& state,
                                        std::string* error) const {
  size_t dot = state.rfind('.');
  std::string body = dot == std::string::npos ? "" : state.substr(0, dot);
  std::string decoded;
  if (state.size() > kMaxStateBytes || dot == std::string::npos ||
      !SecretEquals(state.substr(dot + 1), HexEncode(HmacSha256(state_key, body))) ||
      !Base64Decode(body, &decoded)) {
    *error = "it was not issued by this server, or was changed";
    return std::nullopt;
  }
  json payload = json::parse(decoded, nullptr, false);
  if (!payload.is_object() || payload.value("v", 0) != 1 || !payload["answers"].is_object()) {
    *error = "it is not a request state of this server";
    return std::nullopt;
  }
  if (payload.value("expires", int64_t{0}) < NowMicros()) {
    *error = "it has expired; call again without it";
    return std::nullopt;
  }
  if (payload.value("method", "") != method ||
      payload.value("params", "") != ParamsDigest(params)) {
    *error = "it belongs to another request; send it back with the request it came with";
    return std::nullopt;
  }
  if (payload.value("who", "") != (identity_key ? identity_key(rc.identity) : std::string())) {
    *error = "it was issued to someone else";
    return std::nullopt;
  }
  return payload["answers"];
}

Result<std::vector<HeaderParam>> HeaderParamsOf(const json& input_schema) {
  std::vector<HeaderParam> out;
  std::set<std::string> seen;  // lower case
  // Only properties reached through `properties` count; the keyword anywhere else is refused
  // rather than silently ignored.
  std::function<Status(const json&, std::vector<std::string>&, bool)> walk =
      [&](const json& schema, std::vector<std::string>& path, bool reachable) -> Status {
    if (!schema.is_object()) return Status::Ok();
    for (auto it = schema.begin(); it != schema.end(); ++it) {
      const std::string& k = it.key();
      if (k == "x-mcp-header") {
        std::string where =
            path.empty() ? "the schema itself" : fmt::format("'{}'", fmt::join(path, "."));
        if (!reachable || path.empty()) {
          return Status::InvalidArgument(fmt::format(
              "x-mcp-header on {} is not on a property reached through 'properties' alone", where));
        }
        const json& v = it.value();
        static constexpr std::string_view kTchar = "!#$%&'*+-.^_`|~";
        bool token = v.is_string() && !v.get_ref<const std::string&>().empty() &&
                     std::all_of(v.get_ref<const std::string&>().begin(),
                                 v.get_ref<const std::string&>().end(), [](char c) {
                                   return std::isalnum(static_cast<unsigned char>(c)) ||
                                          kTchar.find(c) != std::string_view::npos;
                                 });
        if (!token) {
          return Status::InvalidArgument(fmt::format(
              "x-mcp-header of {} must be a non-empty header name token (RFC 9110)", where));
        }
        std::string type = schema.value("type", "");
        if (type != "string" && type != "integer" && type != "boolean") {
          return Status::InvalidArgument(
              fmt::format("x-mcp-header of {} needs a string, integer or boolean property", where));
        }
        if (!seen.insert(AsciiLower(v.get<std::string>())).second) {
          return Status::InvalidArgument(
              fmt::format("x-mcp-header '{}' is used twice", v.get<std::string>()));
        }
        out.push_back({path, type, v.get<std::string>()});
        continue;
      }
      if (!it.value().is_object() && !it.value().is_array()) continue;
      if (k == "properties" && it.value().is_object()) {
        for (auto p = it.value().begin(); p != it.value().end(); ++p) {
          path.push_back(p.key());
          ST_RETURN_IF_ERROR(walk(p.value(), path, reachable));
          path.pop_back();
        }
        continue;
      }
      // Anything else that holds schemas (items, anyOf, $defs, ...): not reachable.
      if (it.value().is_array()) {
        for (const auto& e : it.value()) ST_RETURN_IF_ERROR(walk(e, path, false));
      } else {
        ST_RETURN_IF_ERROR(walk(it.value(), path, false));
      }
    }
    return Status::Ok();
  };
  std::vector<std::string> path;
  ST_RETURN_IF_ERROR(walk(input_schema, path, true));
  return out;
}

bool HeaderSays(const std::string& header, const json& value) {
  if (value.is_string()) return header == value.get_ref<const std::string&>();
  if (value.is_boolean()) return header == (value.get<bool>() ? "true" : "false");
  if (value.is_number()) {
    // Decimal digits with an optional sign and fraction, nothing else (no "0x", no spaces).
    size_t i = header.size() > 1 && header[0] == '-' ? 1 : 0, digits = 0, dot = 0;
    for (size_t j = i; j < header.size(); ++j) {
      if (header[j] == '.' && !dot && digits && j + 1 < header.size()) {
        dot = j;
      } else if (std::isdigit(static_cast<unsigned char>(header[j]))) {
        ++digits;
      } else {
        return false;
      }
    }
    return digits > 0 && std::stod(header) == value.get<double>();
  }
  return false;
}

std::vector<std::pair<std::string, json>> Server::ParamHeaders(const Message& m) const {
  std::vector<std::pair<std::string, json>> out;
  if (m.method != "tools/call" || !m.params.contains("name") || !m.params["name"].is_string())
    return out;
  auto tool = FindTool(m.params["name"].get_ref<const std::string&>());
  auto args = m.params.find("arguments");
  if (!tool || args == m.params.end()) return out;
  for (const auto& hp : tool->header_params) {
    const json* v = &*args;
    for (const auto& key : hp.path) {
      if (!v->is_object() || !v->contains(key)) {
        v = nullptr;
        break;
      }
      v = &(*v)[key];
    }
    if (v && !v->is_null()) out.emplace_back("Mcp-Param-" + hp.name, *v);
  }
  return out;
}

void Server::AddTool(Tool tool) {
  auto params = HeaderParamsOf(tool.input_schema);
  if (!params.ok()) {
    throw std::invalid_argument(fmt::format("tool '{}': {}", tool.name, params.status().message()));
  }
  tool.header_params = std::move(*params);
  {
    std::unique_lock<std::shared_mutex> g(tools_mu_);
    auto t = std::make_shared<const Tool>(std::move(tool));
    auto it = std::find_if(tools_.begin(), tools_.end(),
                           [&](const auto& x) { return x->name == t->name; });
    if (it != tools_.end()) {
      *it = std::move(t);
    } else {
      tools_.push_back(std::move(t));
    }
  }
  BroadcastToolsChanged();
}

bool Server::RemoveTool(const std::string& name) {
  {
    std::unique_lock<std::shared_mutex> g(tools_mu_);
    auto it =
        std::find_if(tools_.begin(), tools_.end(), [&](const auto& x) { return x->name == name; });
    if (it == tools_.end()) return false;
    tools_.erase(it);
  }
  BroadcastToolsChanged();
  return true;
}

std::vector<std::shared_ptr<const Tool>> Server::tools() const {
  std::shared_lock<std::shared_mutex> g(tools_mu_);
  return tools_;
}

std::shared_ptr<const Tool> Server::FindTool(const std::string& name) const {
  std::shared_lock<std::shared_mutex> g(tools_mu_);
  for (const auto& t : tools_) {
    if (t->name == name) return t;
  }
  return nullptr;
}

void Server::BroadcastToolsChanged() {
  std::vector<std::weak_ptr<SessionLink>> links;
  {
    std::lock_guard<std::mutex> g(sessions_mu_);
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    links = sessions_;
  }
  json note = MakeNotification("notifications/tools/list_changed", json::object());
  for (const auto& w : links) {
    auto link = w.lock();
    if (!link) continue;
    std::lock_guard<std::mutex> g(link->mu);
    Session* s = link->session;
    if (!s || !s->initialized || (s->listen && !s->listen->tools)) continue;
    s->Notify(note);
  }
}
void Server::AddResourceTemplate(ResourceTemplate t) { templates_.push_back(std::move(t)); }
void Server::AddPrompt(Prompt p) { prompts_.push_back(std::move(p)); }
void Server::Use(Middleware m) { middleware_.push_back(std::move(m)); }

json Server::ToolJson(const Tool& t) const {
  json j = {{"name", t.name}, {"description", t.description}, {"inputSchema", t.input_schema}};
  if (!t.title.empty()) j["title"] = t.title;
  if (!t.output_schema.is_null()) j["outputSchema"] = t.output_schema;
  j["annotations"] = {{"title", t.title.empty() ? t.name : t.title},
                      {"readOnlyHint", t.annotations.read_only},
                      {"destructiveHint", t.annotations.destructive},
                      {"idempotentHint", t.annotations.idempotent},
                      {"openWorldHint", t.annotations.open_world}};
  return j;
}

json Server::Initialize(Session& s, const json& params) {
  bool first = s.protocol_version.empty();
  std::string requested = params.value("protocolVersion", "");
  bool supported = false;
  for (const auto& v : kSupportedProtocolVersions) supported = supported || v == requested;
  // An unsupported request gets our newest; the client decides whether it can speak it.
  s.protocol_version = supported ? requested : kSupportedProtocolVersions.front();
  s.client_info = params.value("clientInfo", json::object());
  s.logger = info_.name;
  json client_caps = params.value("capabilities", json::object());
  s.client_capabilities = client_caps.is_object() ? client_caps : json::object();
  if (first) {
    std::lock_guard<std::mutex> g(sessions_mu_);
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    sessions_.push_back(s.link());
  }
  json caps = Capabilities();
  json result = {{"protocolVersion", s.protocol_version},
                 {"capabilities", caps},
                 {"serverInfo", server_info_}};
  if (!info_.instructions.empty()) result["instructions"] = info_.instructions;
  return result;
}

json Server::Capabilities() const {
  // Tools can change at run time (AddTool, RemoveTool); prompts and resources are fixed. The
  // flags mean the same in both eras: legacy sessions get these notifications on their stream,
  // modern clients on a subscriptions/listen stream.
  return {{"tools", {{"listChanged", true}}},
          {"resources", {{"subscribe", true}, {"listChanged", false}}},
          {"prompts", {{"listChanged", false}}},
          {"logging", json::object()},
          {"completions", json::object()}};
}

std::string Server::MissingScope(const Message& m,
                                 const std::shared_ptr<const void>& identity) const {
  if (!has_scope || m.method != "tools/call" || !m.params.contains("name") ||
      !m.params["name"].is_string())
    return "";
  auto tool = FindTool(m.params["name"].get<std::string>());
  if (!tool || tool->required_scope.empty() || has_scope(identity, tool->required_scope)) return "";
  return tool->required_scope;
}

Result<json> Server::InputAnswers(const RequestContext& rc, const std::string& method,
                                  const json& params, bool* resumed) const {
  json answers = json::object();
  if (!rc.session.stateless) return answers;  // a legacy call asks with requests instead
  if (params.contains("requestState")) {
    std::string why = "it must be a string";
    auto earlier =
        params["requestState"].is_string()
            ? VerifyState(rc, method, params, params["requestState"].get<std::string>(), &why)
            : std::nullopt;
    if (!earlier) return Status::InvalidArgument("requestState refused: " + why);
    answers = std::move(*earlier);
    *resumed = true;
  }
  if (params.contains("inputResponses")) {
    const json& responses = params["inputResponses"];
    if (!responses.is_object()) {
      return Status::InvalidArgument("inputResponses must be an object of answers by key");
    }
    for (auto it = responses.begin(); it != responses.end(); ++it) {
      if (!it.value().is_object()) {
        return Status::InvalidArgument(fmt::format(
            "inputResponses['{}'] must be an object (an ElicitResult, CreateMessageResult or "
            "ListRootsResult)",
            it.key()));
      }
      answers[it.key()] = it.value();
    }
  }
  return answers;
}

std::optional<json> Server::TakeAnswers(const RequestContext& rc, const json& id,
                                        const std::string& method, const json& params,
                                        ClientInput& input) const {
  bool resumed = false;
  Result<json> answers = InputAnswers(rc, method, params, &resumed);
  if (!answers.ok()) {
    return MakeError(id, kInvalidParams, "Invalid params: " + answers.status().message());
  }
  input.answers() = std::move(*answers);
  if (resumed) input.set_resumed();
  return std::nullopt;
}

json Server::InputRequired(const RequestContext& rc, const json& id, const std::string& method,
                           const json& params, ClientInput& input) const {
  return MakeResult(id, {{"resultType", "input_required"},
                         {"inputRequests", input.pending()},
                         {"requestState", SignState(rc, method, params, input.answers())}});
}

json Server::NeedsOf(const Tool& tool) const {
  json needs = tool.required_client_capabilities.is_object() ? tool.required_client_capabilities
                                                             : json::object();
  if (tool.task == TaskSupport::kRequired) needs["extensions"][kTasksExtension] = json::object();
  return needs;
}

json Server::CallTool(const RequestContext& rc, const json& id, const json& params, bool* cancelled,
                      CallHooks* hooks) {
  Session& s = rc.session;
  if (!params.contains("name") || !params["name"].is_string()) {
    return MakeError(id, kInvalidParams, "Invalid params: tools/call needs a string 'name'");
  }
  std::string name = params["name"];
  std::shared_ptr<const Tool> tool = FindTool(name);
  if (!tool) {
    std::string known;
    for (const auto& t : tools()) known += (known.empty() ? "" : ", ") + t->name;
    return MakeError(id, kInvalidParams,
                     fmt::format("Unknown tool: '{}'. Available tools: {}", name, known));
  }
  json args = params.value("arguments", json::object());
  if (!args.is_object())
    return MakeError(id, kInvalidParams, "Invalid params: 'arguments' must be an object");
  json progress = params.contains("_meta") && params["_meta"].is_object()
                      ? params["_meta"].value("progressToken", json())
                      : json();
  auto token = hooks ? hooks->token : std::make_shared<CancelToken>();
  ClientInput input(s, id, token.get());
  if (hooks && hooks->answers && hooks->answers->is_object()) {
    input.answers() = *hooks->answers;  // a task's again, with what its client answered since
  } else if (auto refused = TakeAnswers(rc, id, "tools/call", params, input)) {
    return *refused;
  }
  std::string key = id.dump();
  {
    std::lock_guard<std::mutex> g(s.mu);
    // Two running requests under one id could not be told apart (cancellation, replies).
    if (s.in_flight.count(key)) {
      return MakeError(id, kInvalidRequest,
                       fmt::format("Invalid Request: request id {} is already in flight", key));
    }
    s.in_flight[key] = token;
  }
  ToolContext ctx(s, id, args, progress, token, rc.identity, std::move(input));
  ctx.set_trace(TraceparentOf(params));
  if (hooks) ctx.set_detach(hooks->detach);
  ToolResult result;
  json missing = MissingCapabilities(NeedsOf(*tool), s.client_capabilities);
  // Input is checked before the tool runs; a bad call is a tool error the model can correct.
  std::string invalid = ValidateAgainstSchema(tool->input_schema, args);
  if (!tool->required_scope.empty() && has_scope && !has_scope(rc.identity, tool->required_scope)) {
    result = ToolResult::Error(fmt::format(
        "insufficient scope: {} needs a credential with scope {}", name, tool->required_scope));
  } else if (!missing.empty()) {  // a legacy session's (a modern request is refused before)
    result = ToolResult::Error(
        fmt::format("{} needs the client capabilities {}, which the client did not declare", name,
                    missing.dump()),
        {{"requiredCapabilities", missing}});
  } else if (!invalid.empty()) {
    result =
        ToolResult::Error("invalid arguments: " + invalid, {{"inputSchema", tool->input_schema}});
  } else {
    ToolCall call = [](const Tool& t, ToolContext& c) { return t.handler(c); };
    for (auto it = middleware_.rbegin(); it != middleware_.rend(); ++it) {
      call = [m = *it, next = call](const Tool& t, ToolContext& c) { return m(t, c, next); };
    }
    if (hooks) hooks->ran = true;
    result = call(*tool, ctx);
  }
  {
    std::lock_guard<std::mutex> g(s.mu);
    s.in_flight.erase(key);
  }
  if (hooks && hooks->answers) *hooks->answers = ctx.input().answers();
  if (token->cancelled()) {
    *cancelled = true;  // the client withdrew it: no response follows
    return nullptr;
  }
  if (result.rpc_error.is_object()) {
    return MakeError(id, result.rpc_error.value("code", static_cast<int>(kInternalError)),
                     result.rpc_error.value("message", "Internal error"));
  }
  if (result.input_required) {
    if (!s.stateless || ctx.input().pending().empty()) {
      return MakeResult(id, {{"content", json::array({{{"type", "text"},
                                                       {"text",
                                                        "the tool asked for input it "
                                                        "did not name (a bug)"}}})},
                             {"isError", true}});
    }
    return InputRequired(rc, id, "tools/call", params, ctx.input());
  }
  json content =
      !result.content.is_null()
          ? result.content
          : json::array({{{"type", "text"},
                          {"text", result.structured.dump(-1, ' ', false,
                                                          json::error_handler_t::replace)}}});
  json r = {{"content", content}, {"isError", result.is_error}};
  // Errors carry their text only: structuredContent must match the tool's outputSchema.
  if (!result.is_error && result.structured.is_object()) r["structuredContent"] = result.structured;
  return MakeResult(id, r);
}

std::optional<json> Server::ReadResource(const RequestContext& rc, const std::string& uri,
                                         std::string* error) {
  for (const auto& t : templates_) {
    auto vars = MatchUriTemplate(t.uri_template, uri);
    if (!vars) continue;
    auto content = t.read(rc, *vars, error);
    if (!content) return std::nullopt;
    json c = {{"uri", content->uri}, {"mimeType", content->mime_type}};
    if (content->blob.empty()) {
      c["text"] = content->text;
    } else {
      c["blob"] = content->blob;
    }
    return json{{"contents", json::array({c})}};
  }
  *error = fmt::format("no resource matches '{}'", uri);
  return std::nullopt;
}

json Server::Complete(const RequestContext& rc, const json& params, std::string* error) {
  json ref = params.value("ref", json::object());
  json argument = params.value("argument", json::object());
  std::string arg_name = argument.value("name", "");
  std::string value = argument.value("value", "");
  auto context = StringArgs(
      params.contains("context") ? params["context"].value("arguments", json::object()) : json());
  std::vector<std::string> values;
  std::string type = ref.value("type", "");
  if (type == "ref/prompt") {
    std::string name = ref.value("name", "");
    const Prompt* p = nullptr;
    for (const auto& x : prompts_) {
      if (x.name == name) p = &x;
    }
    if (!p) {
      *error = fmt::format("unknown prompt '{}'", name);
      return nullptr;
    }
    if (p->complete) values = p->complete(rc, arg_name, value, context);
  } else if (type == "ref/resource") {
    std::string uri = ref.value("uri", "");
    const ResourceTemplate* t = nullptr;
    for (const auto& x : templates_) {
      if (x.uri_template == uri) t = &x;
    }
    if (!t) {
      *error = fmt::format("unknown resource template '{}'", uri);
      return nullptr;
    }
    if (t->complete) values = t->complete(rc, arg_name, value, context);
  } else {
    *error = "ref.type must be 'ref/prompt' or 'ref/resource'";
    return nullptr;
  }
  size_t total = values.size();
  if (values.size() > 100) values.resize(100);  // the specification's maximum per response
  return json{
      {"completion", {{"values", values}, {"total", total}, {"hasMore", total > values.size()}}}};
}

std::optional<json> Server::Handle(Session& s, const Message& m,
                                   std::shared_ptr<const void> identity) {
  return Handle(s, m, std::move(identity), CallOptions{});
}

std::optional<json> Server::Handle(Session& s, const Message& m,
                                   std::shared_ptr<const void> identity,
                                   const CallOptions& options) {
  if (IsModernRequest(m)) return HandleModern(s, m, std::move(identity), options);
  return HandleLegacy(s, m, std::move(identity));
}

namespace {

// The methods of the modern era (server/discover aside), each as the legacy dispatch serves
// it; initialize, ping, logging/setLevel and resources/(un)subscribe are not among them.
const std::set<std::string> kModernMethods = {
    "tools/list",           "tools/call",  "resources/list", "resources/templates/list",
    "prompts/list",         "prompts/get", "resources/read", "completion/complete",
    "subscriptions/listen", "tasks/get",   "tasks/update",   "tasks/cancel"};
// Results a modern client may cache (ttlMs, cacheScope).
const std::set<std::string> kCacheableMethods = {
    "server/discover",          "tools/list",    "prompts/list", "resources/list",
    "resources/templates/list", "resources/read"};

}  // namespace

std::optional<json> Server::ModernEntryError(const Message& m) const {
  if (!IsModernRequest(m)) return std::nullopt;  // what follows reads the claim it checked
  const json& meta = m.params["_meta"];
  const json& version = meta[kMetaProtocolVersion];
  auto caps = meta.find(kMetaClientCapabilities);
  if (!version.is_string() || caps == meta.end() || !caps->is_object()) {
    return MakeError(m.id, kInvalidParams,
                     fmt::format("Invalid params: a request of protocol version {} needs "
                                 "params._meta with '{}' (a string) and '{}' (an object)",
                                 kModernProtocolVersions.front(), kMetaProtocolVersion,
                                 kMetaClientCapabilities));
  }
  const std::string& v = version.get_ref<const std::string&>();
  if (std::find(kModernProtocolVersions.begin(), kModernProtocolVersions.end(), v) ==
      kModernProtocolVersions.end()) {
    return MakeError(m.id, kUnsupportedProtocolVersion,
                     fmt::format("Unsupported protocol version '{}': this server speaks {} per "
                                 "request, and {} after initialize",
                                 v, fmt::join(kModernProtocolVersions, ", "),
                                 fmt::join(kSupportedProtocolVersions, ", ")),
                     {{"supported", kModernProtocolVersions}, {"requested", v}});
  }
  if (auto level = meta.find(kMetaLogLevel);
      level != meta.end() && (!level->is_string() || LogLevelRank(*level) < 0)) {
    return MakeError(m.id, kInvalidParams,
                     fmt::format("Invalid params: '{}' must be one of {}", kMetaLogLevel,
                                 fmt::join(kLevels, ", ")));
  }
  if (m.method != "server/discover" && !kModernMethods.count(m.method)) {
    return MakeError(
        m.id, kMethodNotFound,
        fmt::format("Method not found: '{}' is not a method of protocol version {}", m.method, v));
  }
  if (m.method == "tools/call" && m.params.contains("name") && m.params["name"].is_string()) {
    auto tool = FindTool(m.params["name"].get_ref<const std::string&>());
    json missing = tool ? MissingCapabilities(NeedsOf(*tool), *caps) : json::object();
    if (!missing.empty()) {
      return MakeError(m.id, kMissingRequiredClientCapability,
                       fmt::format("Missing required client capability: tool '{}' needs {} in "
                                   "params._meta['{}']",
                                   tool->name, missing.dump(), kMetaClientCapabilities),
                       {{"requiredCapabilities", missing}});
    }
  }
  if (m.method.rfind("tasks/", 0) == 0 && !DeclaresTasks(*caps)) {
    return MakeError(m.id, kMissingRequiredClientCapability,
                     fmt::format("Missing required client capability: {} belongs to the {} "
                                 "extension; declare it in params._meta['{}'].extensions",
                                 m.method, kTasksExtension, kMetaClientCapabilities),
                     {{"requiredCapabilities", TasksCapability()}});
  }
  return std::nullopt;
}

std::string TraceparentOf(const json& params) {
  auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return "";
  auto tp = meta->find("traceparent");
  if (tp == meta->end() || !tp->is_string()) return "";
  const std::string& v = tp->get_ref<const std::string&>();
  auto hex = [&](size_t from, size_t n) {
    bool nonzero = false;
    for (size_t i = from; i < from + n; ++i) {
      char c = v[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
      nonzero = nonzero || c != '0';
    }
    return nonzero || n == 2;
  };
  bool ok = v.size() == 55 && v.compare(0, 3, "00-") == 0 && v[35] == '-' && v[52] == '-' &&
            hex(3, 32) && hex(36, 16) && hex(53, 2);
  return ok ? v : "";
}

json MissingCapabilities(const json& required, const json& declared) {
  json missing = json::object();
  if (!required.is_object()) return missing;
  for (auto it = required.begin(); it != required.end(); ++it) {
    bool has = declared.is_object() && declared.contains(it.key());
    if (it.key() == "extensions" && it->is_object()) {
      // Extensions are declared one by one, by id, under one key.
      for (auto ext = it->begin(); ext != it->end(); ++ext) {
        if (!has || !declared["extensions"].is_object() ||
            !declared["extensions"].contains(ext.key()))
          missing["extensions"][ext.key()] = ext.value();
      }
    } else if (!has) {
      missing[it.key()] = it.value();
    }
  }
  return missing;
}

std::optional<json> Server::HandleModern(Session& s, const Message& m,
                                         std::shared_ptr<const void> identity,
                                         const CallOptions& options) {
  if (auto error = ModernEntryError(m)) return error;
  const json& meta = m.params["_meta"];
  // The request says everything about its client; nothing carries over from another.
  s.protocol_version = meta[kMetaProtocolVersion].get<std::string>();
  s.client_capabilities = meta[kMetaClientCapabilities];
  s.client_info = meta.value(kMetaClientInfo, json::object());
  s.logger = info_.name;
  // No logLevel, no notifications/message for this request.
  s.log_rank = meta.contains(kMetaLogLevel) ? LogLevelRank(meta[kMetaLogLevel])
                                            : static_cast<int>(kLevels.size());
  s.initialized = true;
  s.stateless = true;
  std::optional<json> reply;
  if (m.method == "subscriptions/listen") {
    RequestContext rc{s, identity ? std::move(identity) : s.identity};
    return Listen(rc, m);
  }
  std::shared_ptr<const Tool> task_tool;
  if (m.method == "tools/call" && DeclaresTasks(s.client_capabilities) &&
      m.params.contains("name") && m.params["name"].is_string()) {
    task_tool = FindTool(m.params["name"].get_ref<const std::string&>());
    if (task_tool && task_tool->task == TaskSupport::kNone) task_tool.reset();
  }
  if (m.method == "server/discover") {
    json caps = Capabilities();
    // Tasks are of this era only (2025-11-25 had tasks of its own, which this server lacks).
    caps["extensions"][kTasksExtension] = json::object();
    json r = {{"supportedVersions", kModernProtocolVersions}, {"capabilities", caps}};
    if (!info_.instructions.empty()) r["instructions"] = info_.instructions;
    reply = MakeResult(m.id, std::move(r));
  } else if (task_tool) {
    RequestContext rc{s, identity ? std::move(identity) : s.identity};
    reply = CallAsTask(rc, m, *task_tool, options);
  } else if (m.method.rfind("tasks/", 0) == 0) {
    RequestContext rc{s, identity ? std::move(identity) : s.identity};
    reply = TaskMethod(rc, m);
  } else {
    reply = HandleLegacy(s, m, std::move(identity));
  }
  if (!reply) return reply;
  if (reply->contains("error")) {
    // A resource that does not exist is invalid params in this era (-32002 is retired).
    json& e = (*reply)["error"];
    if (e.value("code", 0) == -32002) e["code"] = kInvalidParams;
    return reply;
  }
  json& r = (*reply)["result"];
  if (!r.contains("resultType")) r["resultType"] = "complete";
  r["_meta"][kMetaServerInfo] = server_info_;
  if (kCacheableMethods.count(m.method) && r["resultType"] == "complete") {
    r["ttlMs"] = cache_ttl_ms;
    // Lists and reads depend on who asks (policies): shared only within one authorization.
    r["cacheScope"] = "private";
  }
  return reply;
}

std::optional<json> Server::HandleLegacy(Session& s, const Message& m,
                                         std::shared_ptr<const void> identity) {
  using Kind = Message::Kind;
  RequestContext rc{s, identity ? std::move(identity) : s.identity};
  if (m.kind == Kind::kResponse) {
    s.Resolve(m);  // an answer to nothing awaited (late, after a timeout) is dropped
    return std::nullopt;
  }
  if (m.kind == Kind::kNotification) {
    if (m.method == "notifications/initialized") {
      s.initialized = true;
    } else if (m.method == "notifications/cancelled") {
      json rid = m.params.value("requestId", json());
      std::lock_guard<std::mutex> g(s.mu);
      auto it = s.in_flight.find(rid.dump());
      if (it != s.in_flight.end()) it->second->Cancel();
    }
    return std::nullopt;  // unknown notifications are ignored, as JSON-RPC asks
  }
  const json& id = m.id;
  const json& p = m.params;
  if (m.method == "initialize") {
    json r = Initialize(s, p);
    if (on_initialize) on_initialize(rc, p);
    return MakeResult(id, r);
  }
  if (m.method == "ping") return MakeResult(id, json::object());
  if (s.protocol_version.empty()) {
    return MakeError(id, kInvalidRequest,
                     "Invalid Request: the session is not initialized; send initialize first");
  }
  auto page = [&](const json& all, const char* key) -> json {
    auto offset = DecodeCursor(p);
    if (!offset || *offset > all.size())
      return MakeError(id, kInvalidParams, "Invalid params: unknown cursor");
    json items = json::array();
    for (size_t i = *offset; i < all.size() && i < *offset + page_size; ++i)
      items.push_back(all[i]);
    json r = {{key, items}};
    if (*offset + page_size < all.size()) r["nextCursor"] = EncodeCursor(*offset + page_size);
    return MakeResult(id, r);
  };
  if (m.method == "tools/list") {
    json all = json::array();
    for (const auto& t : tools()) all.push_back(ToolJson(*t));
    return page(all, "tools");
  }
  if (m.method == "tools/call") {
    bool cancelled = false;
    json r = CallTool(rc, id, p, &cancelled);
    if (cancelled) return std::nullopt;
    return r;
  }
  if (m.method == "resources/list") {
    json all = json::array();
    for (const auto& t : templates_) {
      if (!t.list) continue;
      for (const auto& r : t.list(rc)) {
        json j = {{"uri", r.uri}, {"name", r.name}, {"mimeType", r.mime_type}};
        if (!r.title.empty()) j["title"] = r.title;
        if (!r.description.empty()) j["description"] = r.description;
        all.push_back(j);
      }
    }
    return page(all, "resources");
  }
  if (m.method == "resources/templates/list") {
    json all = json::array();
    for (const auto& t : templates_) {
      if (t.uri_template.find('{') == std::string::npos) continue;  // a single resource
      json j = {{"uriTemplate", t.uri_template}, {"name", t.name}, {"mimeType", t.mime_type}};
      if (!t.title.empty()) j["title"] = t.title;
      if (!t.description.empty()) j["description"] = t.description;
      all.push_back(j);
    }
    return page(all, "resourceTemplates");
  }
  if (m.method == "resources/read" || m.method == "resources/subscribe" ||
      m.method == "resources/unsubscribe") {
    if (!p.contains("uri") || !p["uri"].is_string()) {
      return MakeError(id, kInvalidParams,
                       fmt::format("Invalid params: {} needs a string 'uri'", m.method));
    }
    std::string uri = p["uri"];
    if (m.method == "resources/unsubscribe") {
      std::lock_guard<std::mutex> g(s.mu);
      s.subscriptions.erase(uri);
      return MakeResult(id, json::object());
    }
    std::string error;
    auto r = ReadResource(rc, uri, &error);
    // -32002: resource not found, as the specification defines it.
    if (!r) return MakeError(id, -32002, "Resource not found: " + error, {{"uri", uri}});
    if (m.method == "resources/subscribe") {
      std::string fp = Fingerprint(rc, uri);
      std::lock_guard<std::mutex> g(s.mu);
      // Every subscription is polled: a client may not make the server poll without end.
      if (!s.subscriptions.count(uri) && s.subscriptions.size() >= kMaxSubscriptions) {
        return MakeError(id, kInvalidParams,
                         fmt::format("Invalid params: a session may hold {} subscriptions; "
                                     "unsubscribe from one first",
                                     kMaxSubscriptions));
      }
      s.subscriptions[uri] = fp;
      return MakeResult(id, json::object());
    }
    return MakeResult(id, *r);
  }
  if (m.method == "prompts/list") {
    json all = json::array();
    for (const auto& pr : prompts_) {
      json args = json::array();
      for (const auto& a : pr.arguments) {
        args.push_back(
            {{"name", a.name}, {"description", a.description}, {"required", a.required}});
      }
      json j = {{"name", pr.name}, {"description", pr.description}, {"arguments", args}};
      if (!pr.title.empty()) j["title"] = pr.title;
      all.push_back(j);
    }
    return page(all, "prompts");
  }
  if (m.method == "prompts/get") {
    std::string name = p.value("name", "");
    for (const auto& pr : prompts_) {
      if (pr.name != name) continue;
      auto args = StringArgs(p.value("arguments", json::object()));
      for (const auto& a : pr.arguments) {
        if (a.required && !args.count(a.name)) {
          return MakeError(
              id, kInvalidParams,
              fmt::format("Invalid params: prompt '{}' needs argument '{}'", name, a.name));
        }
      }
      ClientInput input(s, id);
      if (auto refused = TakeAnswers(rc, id, "prompts/get", p, input)) return refused;
      // A prompt may refuse its arguments (an unknown table): {"error": "..."}.
      json messages = pr.render(rc, args, input);
      if (messages.is_object() && messages.contains("error")) {
        return MakeError(id, kInvalidParams,
                         "Invalid params: " + messages["error"].get<std::string>());
      }
      if (!input.pending().empty()) return InputRequired(rc, id, "prompts/get", p, input);
      return MakeResult(id, {{"description", pr.description}, {"messages", messages}});
    }
    return MakeError(id, kInvalidParams, fmt::format("Invalid params: unknown prompt '{}'", name));
  }
  if (m.method == "completion/complete") {
    std::string error;
    json r = Complete(rc, p, &error);
    if (r.is_null()) return MakeError(id, kInvalidParams, "Invalid params: " + error);
    return MakeResult(id, r);
  }
  if (m.method == "logging/setLevel") {
    int rank = LogLevelRank(p.value("level", ""));
    if (rank < 0) {
      return MakeError(id, kInvalidParams,
                       "Invalid params: level must be one of debug, info, notice, warning, error, "
                       "critical, alert, emergency");
    }
    s.log_rank = rank;
    return MakeResult(id, json::object());
  }
  return MakeError(id, kMethodNotFound, fmt::format("Method not found: '{}'", m.method));
}

bool Server::CanRunInline(const Message& m) const {
  if (m.kind != Message::Kind::kRequest) return true;
  if (m.method == "ping" || m.method == "initialize" || m.method == "tools/list" ||
      m.method == "server/discover" || m.method == "prompts/list" ||
      m.method == "resources/templates/list" || m.method == "logging/setLevel")
    return true;
  if (m.method != "tools/call" || !m.params.contains("name") || !m.params["name"].is_string())
    return false;
  auto tool = FindTool(m.params["name"].get_ref<const std::string&>());
  return !tool || tool->quick;  // an unknown tool: the error is immediate
}

std::string Server::Fingerprint(const RequestContext& rc, const std::string& uri) {
  for (const auto& t : templates_) {
    auto vars = MatchUriTemplate(t.uri_template, uri);
    if (vars && t.fingerprint) return t.fingerprint(rc, *vars);
  }
  return "";
}

std::optional<json> Server::Listen(const RequestContext& rc, const Message& m) {
  Session& s = rc.session;
  const json& id = m.id;
  auto filter = m.params.find("notifications");
  if (filter == m.params.end() || !filter->is_object()) {
    return MakeError(id, kInvalidParams,
                     "Invalid params: subscriptions/listen needs a 'notifications' object "
                     "(toolsListChanged, promptsListChanged, resourcesListChanged: booleans; "
                     "resourceSubscriptions: an array of resource URIs)");
  }
  for (const char* flag : {"toolsListChanged", "promptsListChanged", "resourcesListChanged"}) {
    if (filter->contains(flag) && !(*filter)[flag].is_boolean()) {
      return MakeError(id, kInvalidParams,
                       fmt::format("Invalid params: notifications.{} must be a boolean", flag));
    }
  }
  std::vector<std::string> uris;
  if (auto r = filter->find("resourceSubscriptions"); r != filter->end()) {
    bool strings = r->is_array() &&
                   std::all_of(r->begin(), r->end(), [](const json& u) { return u.is_string(); });
    if (!strings) {
      return MakeError(id, kInvalidParams,
                       "Invalid params: notifications.resourceSubscriptions must be an array of "
                       "resource URIs (strings)");
    }
    // Every subscription is polled: a client may not make the server poll without end.
    if (r->size() > kMaxSubscriptions) {
      return MakeError(id, kInvalidParams,
                       fmt::format("Invalid params: a subscription may name at most {} resources",
                                   kMaxSubscriptions));
    }
    uris = r->get<std::vector<std::string>>();
  }
  json task_ids = json::array();
  if (auto t = filter->find("taskIds"); t != filter->end()) {
    bool strings = t->is_array() && t->size() <= kMaxSubscriptions &&
                   std::all_of(t->begin(), t->end(), [](const json& u) { return u.is_string(); });
    if (!strings) {
      return MakeError(id, kInvalidParams,
                       fmt::format("Invalid params: notifications.taskIds must be an array of at "
                                   "most {} task ids (strings)",
                                   kMaxSubscriptions));
    }
    if (!t->empty() && !DeclaresTasks(s.client_capabilities)) {
      return MakeError(id, kMissingRequiredClientCapability,
                       fmt::format("Missing required client capability: task notifications "
                                   "belong to the {} extension",
                                   kTasksExtension),
                       {{"requiredCapabilities", TasksCapability()}});
    }
    task_ids = *t;
  }
  // What this server honours: tool list changes, and updates of resources the caller can read
  // (one it cannot read is left out, as if it did not exist). Prompts and resource lists never
  // change here, so those flags are left out too.
  json accepted = json::object();
  bool tools = filter->value("toolsListChanged", false);
  if (tools) accepted["toolsListChanged"] = true;
  json subscribed = json::array();
  std::map<std::string, std::string> fingerprints;
  for (const auto& uri : uris) {
    std::string error;
    if (fingerprints.count(uri) || !ReadResource(rc, uri, &error)) continue;
    fingerprints[uri] = Fingerprint(rc, uri);
    subscribed.push_back(uri);
  }
  if (!subscribed.empty()) accepted["resourceSubscriptions"] = subscribed;
  if (!task_ids.empty()) {
    json followed = FollowTasks(rc, task_ids);
    if (!followed.empty()) accepted["taskIds"] = followed;
  }
  {
    std::lock_guard<std::mutex> g(s.mu);
    s.subscriptions = std::move(fingerprints);
  }
  s.listen = Session::Listen{id, tools};
  // The acknowledgement is the first message of the subscription: sent before the session can
  // receive a broadcast.
  json ack =
      MakeNotification("notifications/subscriptions/acknowledged",
                       {{"_meta", {{kMetaSubscriptionId, id}}}, {"notifications", accepted}});
  s.Send(ack, id);
  if (tools) {
    std::lock_guard<std::mutex> g(sessions_mu_);
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    sessions_.push_back(s.link());
  }
  return std::nullopt;
}

json Server::EndListen(const Session& s) const {
  json id = s.listen ? s.listen->id : json();
  return MakeResult(id, {{"resultType", "complete"},
                         {"_meta", {{kMetaSubscriptionId, id}, {kMetaServerInfo, server_info_}}}});
}

void Server::PollSubscriptions(Session& session) {
  std::map<std::string, std::string> subs;
  {
    std::lock_guard<std::mutex> g(session.mu);
    subs = session.subscriptions;
  }
  RequestContext rc{session, session.identity};
  for (const auto& [uri, seen] : subs) {
    std::string now = Fingerprint(rc, uri);
    if (now == seen) continue;
    {
      std::lock_guard<std::mutex> g(session.mu);
      auto it = session.subscriptions.find(uri);
      if (it == session.subscriptions.end()) continue;  // unsubscribed meanwhile
      it->second = now;
    }
    session.Notify(MakeNotification("notifications/resources/updated", {{"uri", uri}}));
  }
  PollTasks(session);
}

std::optional<std::map<std::string, std::string>> MatchUriTemplate(const std::string& tmpl,
                                                                   const std::string& uri) {
  std::map<std::string, std::string> vars;
  size_t ti = 0, ui = 0;
  while (ti < tmpl.size()) {
    if (tmpl[ti] == '{') {
      size_t close = tmpl.find('}', ti);
      if (close == std::string::npos) return std::nullopt;
      std::string var = tmpl.substr(ti + 1, close - ti - 1);
      char stop = close + 1 < tmpl.size() ? tmpl[close + 1] : '\0';
      size_t end = stop ? uri.find(stop, ui) : uri.size();
      if (end == std::string::npos || end == ui) return std::nullopt;
      std::string value = uri.substr(ui, end - ui);
      if (value.find('/') != std::string::npos)
        return std::nullopt;  // one path segment per variable
      vars[var] = value;
      ui = end;
      ti = close + 1;
    } else {
      if (ui >= uri.size() || uri[ui] != tmpl[ti]) return std::nullopt;
      ++ui;
      ++ti;
    }
  }
  if (ui != uri.size()) return std::nullopt;
  return vars;
}

}  // namespace supertable::mcp
