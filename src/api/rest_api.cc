// The REST API: routes, argument translation, problem details, the OpenAPI document.
#include "api/rest_api.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "api/multipart.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/text.h"
#include "common/version.h"
#include "engine/result_format.h"
#include "mcp/schema_validator.h"
#include "mcp/server.h"
#include "mcp/tasks.h"
#include "security/audit.h"
#include "security/principal.h"

namespace supertable {

using nlohmann::json;

namespace {

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

const char* Reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The path parameters of `path` under `route` ("/api/v1/supers/{super}"), or nullopt when it
// does not fit. Values are percent-decoded; one that does not decode does not fit.
std::optional<std::map<std::string, std::string>> MatchRoute(const std::string& route,
                                                             const std::string& path) {
  auto want = Segments(route), got = Segments(path);
  if (want.size() != got.size()) return std::nullopt;
  std::map<std::string, std::string> params;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}') {
      auto v = PercentDecode(got[i], false);
      if (!v || v->empty()) return std::nullopt;
      params[want[i].substr(1, want[i].size() - 2)] = *v;
    } else if (want[i] != got[i]) {
      return std::nullopt;
    }
  }
  return params;
}

// A query-string value as the input schema's property types it.
Result<json> TypedValue(const json& prop, const std::string& name, const std::string& text) {
  json types = prop.value("type", json("string"));
  auto allows = [&](const char* t) {
    return types == t ||
           (types.is_array() && std::find(types.begin(), types.end(), t) != types.end());
  };
  if (allows("integer")) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && *end == '\0' && errno == 0) return json(v);
    if (!allows("string")) {
      return Status::InvalidArgument(
          fmt::format("query parameter '{}' must be an integer, got '{}'", name, text));
    }
  }
  if (allows("number")) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (!text.empty() && *end == '\0') return json(v);
    return Status::InvalidArgument(
        fmt::format("query parameter '{}' must be a number, got '{}'", name, text));
  }
  if (allows("boolean")) {
    if (text == "true") return json(true);
    if (text == "false") return json(false);
    return Status::InvalidArgument(
        fmt::format("query parameter '{}' must be true or false, got '{}'", name, text));
  }
  return json(text);
}

// The query string's parameters, percent-decoded, in order; empty pieces skipped.
Result<std::vector<std::pair<std::string, std::string>>> QueryParams(const http::Request& r) {
  size_t q = r.target.find('?');
  if (q == std::string::npos) return std::vector<std::pair<std::string, std::string>>();
  auto params = ParseUrlEncoded(std::string_view(r.target).substr(q + 1));
  if (!params.ok())
    return Status::InvalidArgument("the query string is not valid percent-encoding");
  return params;
}

// Whether the client asks for CSV: `Accept: text/csv`, or `format=csv` in the query string
// (a download link). Only results made of columns and rows have a CSV form.
bool WantsCsv(const http::Request& r) {
  auto accept = r.Header("accept");
  if (accept && AsciiLower(*accept).find("text/csv") != std::string::npos) return true;
  auto params = QueryParams(r);
  return params.ok() &&
         std::find(params->begin(), params->end(),
                   std::pair<std::string, std::string>("format", "csv")) != params->end();
}

// Whether the client asks for the rows as a Parquet file: `Accept:
// application/vnd.apache.parquet`, or `format=parquet` in the query string.
bool WantsParquet(const http::Request& r) {
  auto accept = r.Header("accept");
  if (accept && AsciiLower(*accept).find("application/vnd.apache.parquet") != std::string::npos)
    return true;
  auto params = QueryParams(r);
  return params.ok() &&
         std::find(params->begin(), params->end(),
                   std::pair<std::string, std::string>("format", "parquet")) != params->end();
}

// Whether an operation answers rows ({columns, rows}): those also come as CSV and Parquet.
bool AnswersRows(const Operation& op) {
  const json& props = op.output_schema.value("properties", json::object());
  return props.contains("rows") && props.contains("columns");
}

// A query-shaped result ({columns, rows, truncated}) as CSV, by the CLI's own CSV writer.
std::optional<std::string> CsvOf(const json& result) {
  if (!result.is_object() || !result.contains("columns") || !result.contains("rows") ||
      !result["columns"].is_array() || !result["rows"].is_array()) {
    return std::nullopt;
  }
  std::vector<Column> columns;
  for (const auto& c : result["columns"])
    columns.push_back({c.value("name", ""), c.value("type", "")});
  std::ostringstream out;
  auto sink = MakeResultSink(OutputFormat::kCsv, out);
  sink->Begin(columns);
  for (const auto& row : result["rows"]) sink->Row(row.get<std::vector<json>>());
  sink->End(result.value("truncated", false));
  return out.str();
}

// The one array of a list answer ({"tables": [...]}), the part cursor pagination pages through;
// "" when the answer has none or several (a query's columns and rows: statements page those).
std::string PagedArray(const json& properties_or_result, bool schema) {
  std::string found;
  for (auto it = properties_or_result.begin(); it != properties_or_result.end(); ++it) {
    bool array = schema ? it->is_object() && it->value("type", json()) == "array" : it->is_array();
    if (!array) continue;
    if (!found.empty()) return "";
    found = it.key();
  }
  return found;
}

// What identifies an item of a list across pages: its name, version, id or sequence number.
json ItemKey(const json& item) {
  if (!item.is_object()) return item;
  for (const char* k : {"name", "version", "id", "seq", "table"}) {
    if (item.contains(k)) return item[k];
  }
  return item;
}

// Cursor pagination of a GET's list answer: ?page_size=N (1 to 1000) returns the first N items
// and `next_cursor`; ?cursor=C the items after the last one C returned, found by its key even
// when items were added or removed before it since. Without either, the whole list.
Status Paginate(const http::Request& r, json& result, std::string* next_url) {
  ST_ASSIGN_OR_RETURN(auto query, QueryParams(r));
  std::optional<int64_t> page_size;
  std::string cursor;
  for (const auto& [name, value] : query) {
    if (name == "cursor") cursor = value;
    if (name != "page_size") continue;
    char* end = nullptr;
    long long v = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end || v < 1 || v > 1000) {
      return Status::InvalidArgument("page_size must be an integer from 1 to 1000");
    }
    page_size = v;
  }
  if (!page_size && cursor.empty()) return Status::Ok();
  std::string key = result.is_object() ? PagedArray(result, false) : "";
  if (key.empty()) {
    return Status::InvalidArgument("this answer is not a list; cursor and page_size do not apply");
  }
  json& items = result[key];
  size_t start = 0;
  if (!cursor.empty()) {
    auto text = DecodeBase64Url(cursor);
    json c = text ? json::parse(*text, nullptr, false) : json();
    if (!c.is_object() || !c.contains("offset") || !c["offset"].is_number_unsigned() ||
        !c.contains("after")) {
      return Status::InvalidArgument(
          "cursor is not one this API gave; pass next_cursor from the previous page as it is");
    }
    start = std::min<size_t>(c["offset"].get<size_t>(), items.size());
    if (start == 0 || start > items.size() || ItemKey(items[start - 1]) != c["after"]) {
      for (size_t i = 0; i < items.size(); ++i) {
        if (ItemKey(items[i]) == c["after"]) {
          start = i + 1;
          break;
        }
      }
    }
  }
  size_t n = static_cast<size_t>(page_size.value_or(100));
  size_t end = std::min(items.size(), start + n);
  json page = json::array();
  for (size_t i = start; i < end; ++i) page.push_back(std::move(items[i]));
  if (end < items.size()) {
    std::string c = EncodeBase64Url(json{{"offset", end}, {"after", ItemKey(page.back())}}.dump());
    result["next_cursor"] = c;
    std::string target = r.path + "?";
    for (const auto& [name, value] : query) {
      if (name == "cursor" || name == "page_size") continue;
      target += PercentEncode(name) + "=" + PercentEncode(value) + "&";
    }
    *next_url = target + "page_size=" + std::to_string(n) + "&cursor=" + c;
  }
  items = std::move(page);
  return Status::Ok();
}

// The arguments of one call: path parameters, then the query string, then a JSON body.
Result<json> ArgumentsOf(const Operation& op, const http::Request& r,
                         const std::map<std::string, std::string>& path_params) {
  json args = json::object();
  const json& props = op.input_schema.value("properties", json::object());
  for (const auto& [k, v] : path_params) args[k] = v;
  ST_ASSIGN_OR_RETURN(auto query, QueryParams(r));
  for (const auto& [name, value] : query) {
    // The answer's form (WantsCsv), not an argument.
    if (name == "format" && (value == "csv" || value == "json" || value == "parquet")) continue;
    // Paging of a list answer (Paginate), not an argument, unless the operation has its own.
    if ((name == "cursor" || name == "page_size") && !props.contains(name)) continue;
    if (path_params.count(name)) {
      return Status::InvalidArgument(
          fmt::format("'{}' is part of the path; do not repeat it in the query string", name));
    }
    if (args.contains(name)) {
      return Status::InvalidArgument(fmt::format("query parameter '{}' is given twice", name));
    }
    auto prop = props.find(name);
    ST_ASSIGN_OR_RETURN(args[name],
                        TypedValue(prop == props.end() ? json::object() : *prop, name, value));
  }
  // A body is optional where no argument must come in it (compact a table: POST, no options).
  if (!op.takes_file && !r.body.empty() &&
      (r.method == "POST" || r.method == "PUT" || r.method == "PATCH")) {
    auto ct = r.Header("content-type");
    if (!ct ||
        AsciiLower(ct->substr(0, ct->find(';'))).find("application/json") == std::string::npos) {
      return Status::InvalidArgument("the body must be JSON (Content-Type: application/json)");
    }
    json body = json::parse(r.body, nullptr, false);
    if (!body.is_object()) {
      return Status::InvalidArgument(
          "the body must be a JSON object of the operation's arguments (see "
          "/api/v1/openapi.json)");
    }
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (args.contains(it.key())) {
        return Status::InvalidArgument(
            fmt::format("'{}' is given in the path or query string and in the body", it.key()));
      }
      args[it.key()] = it.value();
    }
  }
  return args;
}

http::Response JsonResponse(int status, const json& body) {
  http::Response res;
  res.status = status;
  res.body = Dump(body);
  return res;
}

json ProblemSchema() {
  return {{"type", "object"},
          {"required", {"title", "status", "detail"}},
          {"properties",
           {{"type", {{"type", "string"}}},
            {"title", {{"type", "string"}}},
            {"status", {{"type", "integer"}}},
            {"detail", {{"type", "string"}}},
            {"instance", {{"type", "string"}}}}}};
}

// The REST door itself.
class RestApi {
 public:
  RestApi(std::shared_ptr<OperationRegistry> ops, RestApiOptions o)
      : ops_(std::move(ops)), o_(o), openapi_(Dump(OpenApiDocument(*ops_, o.mcp != nullptr))) {}

  size_t SpoolLimit(const http::Request& r) const {
    if (r.method != "PUT" && r.method != "POST") return 0;
    for (const auto& op : ops_->operations()) {
      if (op.takes_file && MatchRoute(op.route.path, r.path)) return o_.max_upload_bytes;
    }
    return 0;
  }

  void Handle(http::Request r, const std::shared_ptr<http::Exchange>& ex) {
    if (r.path == std::string(kRestPrefix) + "/openapi.json") {
      if (r.method != "GET") return ex->Respond(NotAllowed(r, "GET"));
      http::Response res;
      res.body = openapi_;
      return ex->Respond(std::move(res));
    }
    const std::string statements = std::string(kRestPrefix) + "/statements";
    if (o_.mcp && (r.path == statements || r.path.rfind(statements + "/", 0) == 0)) {
      return ex->Respond(Statements(r, r.path.substr(statements.size())));
    }
    const Operation* op = nullptr;
    std::map<std::string, std::string> params;
    std::string allowed;
    for (const auto& candidate : ops_->operations()) {
      if (candidate.route.path.empty()) continue;
      auto m = MatchRoute(candidate.route.path, r.path);
      if (!m) continue;
      // An upload comes as PUT (a raw body) or POST (a browser's form) alike.
      bool upload_post = candidate.takes_file && r.method == "POST";
      if (candidate.route.method != r.method && !upload_post) {
        allowed += (allowed.empty() ? "" : ", ") + candidate.route.method;
        continue;
      }
      op = &candidate;
      params = std::move(*m);
      break;
    }
    if (!op && !allowed.empty()) return ex->Respond(NotAllowed(r, allowed));
    if (!op) {
      return ex->Respond(Problem(404,
                                 fmt::format("no endpoint {} {}; GET {}/openapi.json lists them",
                                             r.method, r.path, kRestPrefix),
                                 r.path));
    }
    ex->Respond(Call(*op, r, params));
  }

 private:
  // /api/v1/statements: a long query as a task of query_sql (the MCP server's tasks): created
  // at once and waited for up to wait_timeout_ms, then answered with its state (202 while it
  // runs) and its rows a page at a time.
  http::Response Statements(const http::Request& r, const std::string& rest) {
    auto principal = std::static_pointer_cast<const security::Principal>(r.identity);
    if (!principal) return Problem(401, "this request acts as no one; send a token", r.path);
    if (!principal->HasScope(security::kScopeRead)) {
      return Problem(403,
                     "insufficient scope: statements need a credential with scope " +
                         std::string(security::kScopeRead),
                     r.path);
    }
    std::vector<std::string> parts = Segments(rest);
    if (parts.empty()) {
      if (r.method != "POST") return NotAllowed(r, "POST");
      return CreateStatement(r);
    }
    const std::string& id = parts[0];
    if (parts.size() == 1) {
      if (r.method != "GET") return NotAllowed(r, "GET");
      return ShowStatement(r, id);
    }
    if (parts.size() == 2 && parts[1] == "cancel") {
      if (r.method != "POST") return NotAllowed(r, "POST");
      json ack = TaskRequest(r, "tasks/cancel", {{"taskId", id}});
      if (ack.contains("error")) return UnknownStatement(r, id);
      return ShowStatement(r, id);
    }
    return Problem(404,
                   fmt::format("no endpoint {} {}; GET {}/openapi.json lists them", r.method,
                               r.path, kRestPrefix),
                   r.path);
  }

  // One modern MCP request (2026-07-28, the tasks extension declared) as the request's principal.
  json TaskRequest(const http::Request& r, const std::string& method, json params,
                   const mcp::Server::CallOptions& options = {}) {
    params["_meta"] = {
        {mcp::kMetaProtocolVersion, mcp::kModernProtocolVersions.front()},
        {mcp::kMetaClientCapabilities, mcp::TasksCapability()},
        {mcp::kMetaClientInfo, {{"name", "supertable-rest"}, {"version", kVersion}}}};
    mcp::Message m;
    m.kind = mcp::Message::Kind::kRequest;
    m.id = 1;
    m.method = method;
    m.params = std::move(params);
    mcp::Session s([](const json&, const json&) {});
    s.peer = {{"address", r.peer}, {"user_agent", r.Header("user-agent").value_or("")}};
    auto reply = o_.mcp->Handle(s, m, r.identity, options);
    return reply ? *reply : json{{"error", {{"code", -32603}, {"message", "no answer"}}}};
  }

  http::Response UnknownStatement(const http::Request& r, const std::string& id) {
    return Problem(404,
                   fmt::format("unknown statement '{}' (it never existed, expired, or is not "
                               "yours)",
                               id),
                   r.path);
  }

  http::Response CreateStatement(const http::Request& r) {
    const Operation* query = ops_->Find("query_sql");
    auto ct = r.Header("content-type");
    json body = json::parse(r.body, nullptr, false);
    if (!ct || AsciiLower(*ct).find("application/json") == std::string::npos || !body.is_object()) {
      return Problem(400,
                     "the body must be a JSON object: {\"super\", \"sql\", \"limit\", "
                     "\"timeout_ms\", \"as_of\", \"wait_timeout_ms\"}",
                     r.path);
    }
    int64_t wait_ms = 10000;
    if (body.contains("wait_timeout_ms")) {
      const json& w = body["wait_timeout_ms"];
      if (!w.is_number_integer() || w.get<int64_t>() < 0 || w.get<int64_t>() > 60000) {
        return Problem(400, "wait_timeout_ms must be an integer from 0 to 60000", r.path);
      }
      wait_ms = w.get<int64_t>();
      body.erase("wait_timeout_ms");
    }
    std::string invalid = mcp::ValidateAgainstSchema(query->input_schema, body);
    if (!invalid.empty()) return Problem(400, "invalid arguments: " + invalid, r.path);
    mcp::Server::CallOptions always;
    always.task_after_ms = 0;
    always.always_task = true;
    json created =
        TaskRequest(r, "tools/call", {{"name", query->name}, {"arguments", body}}, always);
    if (created.contains("error")) {
      return Problem(500, created["error"].value("message", "the statement was not created"),
                     r.path);
    }
    std::string id = created["result"].value("taskId", "");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    for (int64_t pause = 5;; pause = std::min<int64_t>(pause * 2, 100)) {
      json t = TaskRequest(r, "tasks/get", {{"taskId", id}});
      if (t.contains("error")) return UnknownStatement(r, id);
      std::string status = t["result"].value("status", "");
      bool ended = mcp::IsTerminalTaskStatus(status);
      if (ended || std::chrono::steady_clock::now() >= deadline) {
        return StatementResponse(r, id, t["result"], ended ? 201 : 202);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    }
  }

  http::Response ShowStatement(const http::Request& r, const std::string& id) {
    json t = TaskRequest(r, "tasks/get", {{"taskId", id}});
    if (t.contains("error")) return UnknownStatement(r, id);
    return StatementResponse(r, id, t["result"], 200);
  }

  // A task as a statement: its state, and when it succeeded a page of its rows (?page=, from 1;
  // ?page_size=, default 1000).
  http::Response StatementResponse(const http::Request& r, const std::string& id, const json& task,
                                   int done_status) {
    int64_t page = 1, page_size = 1000;
    auto query = QueryParams(r);
    if (!query.ok()) return Problem(400, query.status().message(), r.path);
    for (const auto& [name, text] : *query) {
      int64_t* value = name == "page" ? &page : name == "page_size" ? &page_size : nullptr;
      if (!value) continue;
      int64_t limit = name == "page" ? int64_t{1} << 40 : int64_t{10000};
      char* end = nullptr;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end || v < 1 || v > limit) {
        return Problem(400, fmt::format("{} must be an integer from 1 to {}", name, limit), r.path);
      }
      *value = v;
    }
    std::string status = task.value("status", "");
    json out = {{"id", id},
                {"created_at", task.value("createdAt", "")},
                {"updated_at", task.value("lastUpdatedAt", "")}};
    const std::string self = std::string(kRestPrefix) + "/statements/" + id;
    if (!mcp::IsTerminalTaskStatus(status)) {
      out["state"] = "running";
      http::Response res = JsonResponse(202, out);
      res.headers.emplace_back("Location", self);
      res.headers.emplace_back("Retry-After", "1");
      return res;
    }
    if (status == mcp::kTaskCancelled) {
      out["state"] = "cancelled";
      return JsonResponse(done_status == 202 ? 200 : done_status, out);
    }
    const json& result = task.value("result", json::object());
    if (status == mcp::kTaskFailed || result.value("isError", false)) {
      out["state"] = "failed";
      std::string why = task.contains("error") ? task["error"].value("message", "failed") : "";
      if (why.empty() && result.contains("content") && !result["content"].empty()) {
        json text = json::parse(result["content"][0].value("text", ""), nullptr, false);
        why = text.is_object() ? text.value("error", "failed") : "failed";
      }
      out["error"] = {{"detail", why}};
      return JsonResponse(done_status == 202 ? 200 : done_status, out);
    }
    out["state"] = "succeeded";
    json answer = result.value("structuredContent", json::object());
    json rows = answer.value("rows", json::array());
    int64_t total = static_cast<int64_t>(rows.size());
    int64_t pages = std::max<int64_t>(1, (total + page_size - 1) / page_size);
    if (page > pages) {
      return Problem(404, fmt::format("page {} of a result of {} pages", page, pages), r.path);
    }
    json slice = json::array();
    for (int64_t i = (page - 1) * page_size; i < std::min(total, page * page_size); ++i)
      slice.push_back(rows[static_cast<size_t>(i)]);
    answer["rows"] = std::move(slice);
    answer["page"] = page;
    answer["page_size"] = page_size;
    answer["page_count"] = pages;
    if (page < pages)
      answer["next"] = fmt::format("{}?page={}&page_size={}", self, page + 1, page_size);
    out["result"] = std::move(answer);
    return JsonResponse(done_status == 202 ? 200 : done_status, out);
  }

  http::Response NotAllowed(const http::Request& r, const std::string& allowed) {
    http::Response res = Problem(
        405, fmt::format("{} {} is not allowed; use {}", r.method, r.path, allowed), r.path);
    res.headers.emplace_back("Allow", allowed);
    return res;
  }

  // The uploaded file of a request to an operation that takes one, and the arguments its
  // headers and form carry: the Idempotency-Key header, the format from the Content-Type (or
  // the form part's type or file name), a form's fields. A raw body is the file itself; a
  // multipart/form-data body (a browser form) carries it as the part named "file".
  Status UploadOf(const http::Request& r, json& args,
                  std::shared_ptr<const http::BodyFile>* input) {
    if (auto key = r.Header("idempotency-key")) args["idempotency_key"] = *key;
    std::string type = AsciiLower(r.Header("content-type").value_or(""));
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    std::shared_ptr<const http::BodyFile> body = r.body_file;
    if (!body) {  // a small body the server kept in memory
      ST_ASSIGN_OR_RETURN(auto f, TempFile());
      std::ofstream out(f->path, std::ios::binary);
      out.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
      if (!out.flush()) return Status::IoError("cannot store the upload; retry later");
      f->bytes = r.body.size();
      body = std::move(f);
    }
    if (body->bytes == 0) {
      return Status::InvalidArgument("the upload is empty: send the file as the request body");
    }
    if (auto boundary = MultipartBoundary(r.Header("content-type").value_or(""))) {
      return FormUpload(*body, *boundary, args, input);
    }
    if (type == "multipart/form-data") {
      return Status::InvalidArgument("multipart/form-data needs a boundary parameter");
    }
    if (!args.contains("format")) {
      if (auto f = FormatOfType(type)) args["format"] = *f;
    }
    *input = std::move(body);
    return Status::Ok();
  }

  static std::optional<std::string> FormatOfType(const std::string& type) {
    static const std::map<std::string, std::string> kTypes = {
        {"text/csv", "csv"},
        {"application/csv", "csv"},
        {"text/tab-separated-values", "csv"},
        {"application/json", "json"},
        {"application/x-ndjson", "ndjson"},
        {"application/ndjson", "ndjson"},
        {"application/jsonl", "ndjson"},
        {"application/x-jsonlines", "ndjson"},
        {"application/vnd.apache.parquet", "parquet"},
        {"application/x-parquet", "parquet"},
        {"application/parquet", "parquet"}};
    auto it = kTypes.find(type);
    return it == kTypes.end() ? std::nullopt : std::optional<std::string>(it->second);
  }

  static std::optional<std::string> FormatOfName(const std::string& filename) {
    std::string lower = AsciiLower(filename);
    for (const char* ext : {"csv", "tsv", "ndjson", "jsonl", "json", "parquet"}) {
      std::string suffix = std::string(".") + ext;
      if (lower.size() > suffix.size() &&
          lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return std::string(ext == std::string("tsv") ? "csv" : ext);
      }
    }
    return std::nullopt;
  }

  Result<std::shared_ptr<http::BodyFile>> TempFile() {
    auto f = std::make_shared<http::BodyFile>();
    std::string path =
        (o_.spool_directory.empty() ? std::string("/tmp") : o_.spool_directory) + "/part-XXXXXX";
    int fd = ::mkstemp(path.data());
    if (fd < 0) return Status::IoError("cannot store the upload; retry later");
    ::close(fd);
    f->path = path;
    return f;
  }

  Status FormUpload(const http::BodyFile& body, const std::string& boundary, json& args,
                    std::shared_ptr<const http::BodyFile>* input) {
    int fd = ::open(body.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IoError("cannot read the upload back; retry later");
    void* map = ::mmap(nullptr, body.bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) return Status::IoError("cannot read the upload back; retry later");
    struct Unmap {
      void* p;
      size_t n;
      ~Unmap() { ::munmap(p, n); }
    } unmap{map, body.bytes};
    ST_ASSIGN_OR_RETURN(
        auto parts,
        ParseMultipart(std::string_view(static_cast<const char*>(map), body.bytes), boundary));
    const FormPart* file = nullptr;
    const Operation* op = ops_->Find("write_table");
    const json& props = op ? op->input_schema.value("properties", json::object()) : json::object();
    for (const auto& p : parts) {
      if (p.name == "file") {
        if (file) return Status::InvalidArgument("the form carries two parts named 'file'");
        file = &p;
        continue;
      }
      // Every other part is an argument, typed as the query string's are.
      if (p.body.size() > 65536) {
        return Status::InvalidArgument(
            fmt::format("form field '{}' is over 64 KiB; only the file may be large", p.name));
      }
      if (args.contains(p.name)) {
        return Status::InvalidArgument(fmt::format("'{}' is given twice", p.name));
      }
      auto prop = props.find(p.name);
      ST_ASSIGN_OR_RETURN(args[p.name], TypedValue(prop == props.end() ? json::object() : *prop,
                                                   p.name, std::string(p.body)));
    }
    if (!file) {
      return Status::InvalidArgument(
          "the form carries no file: send it as the part named 'file' (<input type=file "
          "name=file>)");
    }
    if (!args.contains("format")) {
      auto f = FormatOfType(AsciiLower(file->content_type.substr(0, file->content_type.find(';'))));
      if (!f) f = FormatOfName(file->filename);
      if (f) args["format"] = *f;
    }
    if (file->body.empty()) return Status::InvalidArgument("the uploaded file is empty");
    ST_ASSIGN_OR_RETURN(auto out, TempFile());
    std::ofstream stream(out->path, std::ios::binary);
    stream.write(file->body.data(), static_cast<std::streamsize>(file->body.size()));
    if (!stream.flush()) return Status::IoError("cannot store the upload; retry later");
    out->bytes = file->body.size();
    *input = std::move(out);
    return Status::Ok();
  }

  http::Response Call(const Operation& op, const http::Request& r,
                      const std::map<std::string, std::string>& params) {
    auto start = std::chrono::steady_clock::now();
    auto principal = std::static_pointer_cast<const security::Principal>(r.identity);
    if (!principal) return Problem(401, "this request acts as no one; send a token", r.path);
    if (!op.scope.empty() && !principal->HasScope(op.scope)) {
      return Problem(
          403,
          fmt::format("insufficient scope: {} needs a credential with scope {}", op.name, op.scope),
          r.path);
    }
    json args = json::object();
    Result<json> result = Status::Internal("not run");
    json notes = json::object();
    std::shared_ptr<const http::BodyFile> input;
    const bool parquet = WantsParquet(r);
    http::BodyFile parquet_file;  // the rows' Parquet file, removed with this
    std::string& parquet_path = parquet_file.path;
    if (parquet && !AnswersRows(op)) {
      return Problem(406,
                     fmt::format("{} answers JSON only; Parquet is for results of rows", op.name),
                     r.path);
    }
    auto parsed = ArgumentsOf(op, r, params);
    if (parsed.ok() && op.takes_file) {
      Status s = UploadOf(r, *parsed, &input);
      if (!s.ok()) parsed = s;
    }
    if (!parsed.ok()) {
      result = parsed.status();
    } else {
      args = std::move(*parsed);
      std::string invalid = mcp::ValidateAgainstSchema(op.input_schema, args);
      if (!invalid.empty()) {
        result = Status::InvalidArgument("invalid arguments: " + invalid);
      } else {
        Caller caller = CallerOf(principal);
        CancelToken cancel;
        OperationContext ctx{args, caller, &cancel, nullptr, &notes};
        if (parquet) ctx.parquet_file = &parquet_path;
        if (input) {
          ctx.input_file = input->path;
          // An upload's write may take minutes: the server log shows how far it is.
          ctx.progress = [name = op.name, last = std::make_shared<int>(-1)](
                             double done, double total, const std::string&) {
            int pct = total > 0 ? static_cast<int>(done / total * 100) : 0;
            if (pct / 10 != *last / 10) log::Info("rest: {} {}%", name, pct);
            *last = pct;
          };
        }
        result = op.run(ctx);
      }
    }
    std::string next;
    if (result.ok() && op.route.method == "GET") {
      Status paged = Paginate(r, *result, &next);
      if (!paged.ok()) result = paged;
    }
    http::Response res =
        result.ok() ? JsonResponse(200, *result)
                    : Problem(HttpStatusOf(result.status()), result.status().message(), r.path);
    if (!next.empty()) res.headers.emplace_back("Link", "<" + next + ">; rel=\"next\"");
    if (result.ok() && parquet) {
      std::ifstream in(parquet_path, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (parquet_path.empty() || !in.is_open() || in.bad()) {
        res = Problem(500, "the Parquet result could not be read back; retry", r.path);
      } else {
        res.body = std::move(bytes);
        res.content_type = "application/vnd.apache.parquet";
        res.headers.emplace_back("Content-Disposition",
                                 fmt::format("attachment; filename=\"{}.parquet\"", op.name));
        if (result->value("truncated", false))
          res.headers.emplace_back("SuperTable-Truncated", "true");
      }
    }
    if (result.ok() && !parquet && WantsCsv(r)) {
      if (auto csv = CsvOf(*result)) {
        res.body = std::move(*csv);
        res.content_type = "text/csv; charset=utf-8";
        res.headers.emplace_back("Content-Disposition",
                                 fmt::format("attachment; filename=\"{}.csv\"", op.name));
        // CSV has no place for it: a header says the rows were cut.
        if (result->value("truncated", false))
          res.headers.emplace_back("SuperTable-Truncated", "true");
      } else {
        res = Problem(406, fmt::format("{} answers JSON only; CSV is for results of rows", op.name),
                      r.path);
      }
    }
    Audit(op, r, *principal, args, notes, result, res, start);
    return res;
  }

  void Audit(const Operation& op, const http::Request& r, const security::Principal& p,
             const json& args, const json& notes, const Result<json>& result,
             const http::Response& res, std::chrono::steady_clock::time_point start) {
    if (!o_.audit) return;
    security::AuditRecord a;
    a.kind = "api_call";
    a.principal = p.user;
    a.auth = p.auth;
    a.client =
        std::make_shared<const json>(json{{"address", r.peer},
                                          {"user_agent", r.Header("user-agent").value_or("")},
                                          {"transport", "rest"}});
    a.action = "api:" + op.name;
    a.arguments = args;
    if (notes.contains("tables")) a.tables = notes["tables"].get<std::vector<std::string>>();
    if (notes.contains("policies")) a.policies = notes["policies"].get<std::vector<std::string>>();
    a.rows = notes.value("rows", int64_t{0});
    a.outcome = result.ok() ? "ok" : "error";
    if (!result.ok()) a.error = result.status().message();
    a.bytes = static_cast<int64_t>(res.body.size());
    a.duration_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
    if (auto tp = r.Header("traceparent")) a.trace = *tp;
    o_.audit->Append(std::move(a));
  }

  std::shared_ptr<OperationRegistry> ops_;
  RestApiOptions o_;
  std::string openapi_;  // made once: the operations do not change
};

}  // namespace

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kTimeout:
      return 504;
    case StatusCode::kCancelled:
      return 499;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kIoError:
      return 503;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

http::Response Problem(int status, const std::string& detail, const std::string& instance) {
  json body = {
      {"type", "about:blank"}, {"title", Reason(status)}, {"status", status}, {"detail", detail}};
  if (!instance.empty()) body["instance"] = instance;
  http::Response res = JsonResponse(status, body);
  res.content_type = "application/problem+json";
  return res;
}

json OpenApiDocument(const OperationRegistry& ops, bool statements) {
  json paths = json::object();
  for (const auto& op : ops.operations()) {
    if (op.route.path.empty()) continue;
    json parameters = json::array();
    std::set<std::string> in_path;
    for (const auto& seg : Segments(op.route.path)) {
      if (seg.size() > 2 && seg.front() == '{') in_path.insert(seg.substr(1, seg.size() - 2));
    }
    const json& props = op.input_schema.value("properties", json::object());
    const json& required = op.input_schema.value("required", json::array());
    auto is_required = [&](const std::string& name) {
      return std::find(required.begin(), required.end(), name) != required.end();
    };
    for (const auto& name : in_path) {
      json schema = props.contains(name) ? props[name] : json{{"type", "string"}};
      json p = {{"name", name}, {"in", "path"}, {"required", true}, {"schema", schema}};
      if (schema.contains("description")) p["description"] = schema["description"];
      parameters.push_back(std::move(p));
    }
    json method = {{"operationId", op.name},
                   {"summary", op.title},
                   {"description", op.description},
                   {"security", json::array({{{"bearer", json::array()}}})},
                   {"responses",
                    {{"200",
                      {{"description", op.title},
                       {"content", {{"application/json", {{"schema", op.output_schema}}}}}}},
                     {"default", {{"$ref", "#/components/responses/Problem"}}}}}};
    // Results made of rows also come as CSV (Accept: text/csv, or ?format=csv for a link).
    const json& out_props = op.output_schema.value("properties", json::object());
    if (out_props.contains("rows") && out_props.contains("columns")) {
      method["responses"]["200"]["content"]["text/csv"] = {{"schema", {{"type", "string"}}}};
      method["responses"]["200"]["content"]["application/vnd.apache.parquet"] = {
          {"schema", {{"type", "string"}, {"format", "binary"}}}};
      parameters.push_back(
          {{"name", "format"},
           {"in", "query"},
           {"required", false},
           {"description", "csv or parquet: the rows as a CSV or Parquet download"},
           {"schema", {{"type", "string"}, {"enum", {"json", "csv", "parquet"}}}}});
    }
    auto query_parameter = [&](const std::string& name, const json& schema) {
      json p = {
          {"name", name}, {"in", "query"}, {"required", is_required(name)}, {"schema", schema}};
      if (schema.contains("description")) p["description"] = schema["description"];
      parameters.push_back(std::move(p));
    };
    if (op.takes_file) {
      // An upload: the file is the body (raw, or the part "file" of a form); the arguments
      // come in the query string (or as the form's other fields).
      json form = {{"type", "object"},
                   {"required", {"file"}},
                   {"properties", {{"file", {{"type", "string"}, {"format", "binary"}}}}}};
      for (auto it = props.begin(); it != props.end(); ++it) {
        if (in_path.count(it.key())) continue;
        if (it.key() == "idempotency_key") {
          parameters.push_back({{"name", "Idempotency-Key"},
                                {"in", "header"},
                                {"required", false},
                                {"description", (*it)["description"]},
                                {"schema", {{"type", "string"}, {"maxLength", 200}}}});
          continue;
        }
        query_parameter(it.key(), it.value());
        form["properties"][it.key()] = it.value();
      }
      json binary = {{"schema", {{"type", "string"}, {"format", "binary"}}}};
      json raw_body = {{"required", true},
                       {"content",
                        {{"text/csv", binary},
                         {"application/x-ndjson", binary},
                         {"application/json", binary},
                         {"application/vnd.apache.parquet", binary},
                         {"application/octet-stream", binary}}}};
      json form_method = method;
      form_method["operationId"] = op.name + "_form";
      form_method["summary"] = op.title + " (a browser form)";
      form_method["requestBody"] = {{"required", true},
                                    {"content", {{"multipart/form-data", {{"schema", form}}}}}};
      json form_parameters = json::array();
      for (const auto& p : parameters) {
        if (p["in"] != "query") form_parameters.push_back(p);
      }
      form_method["parameters"] = form_parameters;
      paths[op.route.path]["post"] = std::move(form_method);
      method["requestBody"] = std::move(raw_body);
    } else if (op.route.method == "GET" || op.route.method == "DELETE") {
      for (auto it = props.begin(); it != props.end(); ++it) {
        if (!in_path.count(it.key())) query_parameter(it.key(), it.value());
      }
      std::string list = PagedArray(out_props, true);
      if (op.route.method == "GET" && !list.empty()) {
        parameters.push_back(
            {{"name", "page_size"},
             {"in", "query"},
             {"required", false},
             {"description", "Cursor pagination: at most this many items of '" + list +
                                 "' (the answer's next_cursor continues)"},
             {"schema", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}}});
        parameters.push_back({{"name", "cursor"},
                              {"in", "query"},
                              {"required", false},
                              {"description", "next_cursor of the previous page"},
                              {"schema", {{"type", "string"}}}});
        method["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
              ["next_cursor"] = {{"type", "string"},
                                 {"description", "Where the next page starts; absent on the last"}};
      }
    } else {
      json body = op.input_schema;
      json kept = json::array();
      for (const auto& name : in_path) body["properties"].erase(name);
      for (const auto& name : body.value("required", json::array())) {
        if (!in_path.count(name.get<std::string>())) kept.push_back(name);
      }
      bool needed = !kept.empty();
      body["required"] = std::move(kept);
      method["requestBody"] = {{"required", needed},
                               {"content", {{"application/json", {{"schema", body}}}}}};
    }
    if (!parameters.empty()) method["parameters"] = parameters;
    std::string verb = AsciiLower(op.route.method);
    paths[op.route.path][verb] = std::move(method);
  }
  if (statements) {
    const Operation* query = ops.Find("query_sql");
    json body = query ? query->input_schema : json{{"type", "object"}};
    body["properties"]["wait_timeout_ms"] = {
        {"type", "integer"},
        {"minimum", 0},
        {"maximum", 60000},
        {"description", "How long to wait for the result before answering 202 (default 10000)"}};
    json statement = {
        {"type", "object"},
        {"required", {"id", "state"}},
        {"properties",
         {{"id", {{"type", "string"}}},
          {"state",
           {{"type", "string"}, {"enum", {"running", "succeeded", "failed", "cancelled"}}}},
          {"created_at", {{"type", "string"}}},
          {"updated_at", {{"type", "string"}}},
          {"error", {{"type", "object"}}},
          {"result", {{"type", "object"}}}}}};
    auto answer = [&](const char* code, const char* what) {
      return json{
          {code,
           {{"description", what}, {"content", {{"application/json", {{"schema", statement}}}}}}}};
    };
    json responses = answer("200", "The statement ended (or runs, on 202)");
    responses.update(answer("201", "Created, and ended within wait_timeout_ms"));
    responses.update(answer("202", "Created, still running: poll the Location"));
    responses["default"] = {{"$ref", "#/components/responses/Problem"}};
    json security = json::array({{{"bearer", json::array()}}});
    json id_param = json::array(
        {{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}});
    json pages = id_param;
    pages.push_back({{"name", "page"},
                     {"in", "query"},
                     {"required", false},
                     {"schema", {{"type", "integer"}, {"minimum", 1}}}});
    pages.push_back({{"name", "page_size"},
                     {"in", "query"},
                     {"required", false},
                     {"schema", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10000}}}});
    const std::string base = std::string(kRestPrefix) + "/statements";
    paths[base]["post"] = {
        {"operationId", "create_statement"},
        {"summary", "Run a long query"},
        {"description",
         "query_sql as a statement: waits up to wait_timeout_ms, then answers with the "
         "statement's id and state; its rows come a page at a time"},
        {"security", security},
        {"requestBody",
         {{"required", true}, {"content", {{"application/json", {{"schema", body}}}}}}},
        {"responses", responses}};
    paths[base + "/{id}"]["get"] = {{"operationId", "get_statement"},
                                    {"summary", "A statement's state and a page of its rows"},
                                    {"security", security},
                                    {"parameters", pages},
                                    {"responses", responses}};
    paths[base + "/{id}/cancel"]["post"] = {{"operationId", "cancel_statement"},
                                            {"summary", "Cancel a statement"},
                                            {"security", security},
                                            {"parameters", id_param},
                                            {"responses", responses}};
  }
  paths[std::string(kRestPrefix) + "/openapi.json"]["get"] = {
      {"operationId", "openapi"},
      {"summary", "This document"},
      {"security", json::array({{{"bearer", json::array()}}})},
      {"responses",
       {{"200",
         {{"description", "The OpenAPI 3.1 document of this API"},
          {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}},
        {"default", {{"$ref", "#/components/responses/Problem"}}}}}};
  json problem_response = {
      {"description", "An RFC 9457 problem: what was wrong and what is expected"},
      {"content",
       {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
  json components = json::object();
  components["securitySchemes"]["bearer"] = {
      {"type", "http"},
      {"scheme", "bearer"},
      {"description", "A SuperTable token, the superuser token or a JWT"}};
  components["schemas"]["Problem"] = ProblemSchema();
  components["responses"]["Problem"] = problem_response;
  json info = {{"title", "SuperTable API"},
               {"version", kVersion},
               {"description",
                "The operations of a SuperTable warehouse, the same as its MCP tools: the same "
                "arguments, results, limits, policies and audit trail."}};
  json doc = json::object();
  doc["openapi"] = "3.1.0";
  doc["info"] = std::move(info);
  doc["servers"] = json::array({{{"url", "/"}}});
  doc["paths"] = std::move(paths);
  doc["components"] = std::move(components);
  return doc;
}

mcp::HttpTransportOptions::Route MakeRestApi(std::shared_ptr<OperationRegistry> ops,
                                             RestApiOptions options) {
  auto api = std::make_shared<RestApi>(std::move(ops), options);
  mcp::HttpTransportOptions::Route route;
  route.prefix = std::string(kRestPrefix) + "/";
  route.handler = [api](http::Request r, std::shared_ptr<http::Exchange> ex) {
    api->Handle(std::move(r), ex);
  };
  // Uploads stream to a file, up to max_upload_bytes; every other body stays in memory.
  route.spool = [api](const http::Request& r) -> size_t { return api->SpoolLimit(r); };
  // A refusal at the door (Host, Origin, credentials, rate) in this door's terms: its status and
  // headers kept, its message as the problem's detail.
  route.refusal = [](http::Response refused) {
    json body = json::parse(refused.body, nullptr, false);
    // The transport refuses in JSON-RPC's shape, the UI's session check as a problem already.
    std::string detail = "refused";
    if (body.is_object() && body.contains("error") && body["error"].is_object()) {
      detail = body["error"].value("message", detail);
    } else if (body.is_object() && body.contains("detail") && body["detail"].is_string()) {
      detail = body["detail"].get<std::string>();
    }
    http::Response res = Problem(refused.status, detail);
    for (auto& h : refused.headers) res.headers.push_back(std::move(h));
    res.close = refused.close;
    return res;
  };
  return route;
}

}  // namespace supertable
