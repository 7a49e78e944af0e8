// JSON-RPC 2.0 parsing and reply building.
#include "mcp/json_rpc.h"

#include <algorithm>

#include <fmt/format.h>

namespace supertable::mcp {

namespace {

// Deepest nesting of arrays and objects in `text` (outside strings). Copying a JSON value
// recurses, so a small message nested 100,000 deep would exhaust the stack: such messages are
// refused before they are parsed.
int NestingDepth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

constexpr int kMaxDepth = 64;

}  // namespace

ParseOutcome ParseMessage(const std::string& text) {
  ParseOutcome out;
  if (NestingDepth(text) > kMaxDepth) {
    out.error_reply =
        MakeError(nullptr, kInvalidRequest,
                  fmt::format("Invalid Request: JSON nested deeper than {} levels", kMaxDepth));
    return out;
  }
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    out.error_reply = MakeError(nullptr, kParseError, "Parse error: the message is not valid JSON");
    return out;
  }
  if (j.is_array()) {
    out.error_reply = MakeError(
        nullptr, kInvalidRequest,
        "Invalid Request: JSON-RPC batches are not supported; send one message at a time");
    return out;
  }
  if (!j.is_object()) {
    out.error_reply =
        MakeError(nullptr, kInvalidRequest, "Invalid Request: expected a JSON object");
    return out;
  }
  json id = j.contains("id") ? j["id"] : json();
  bool id_ok = !j.contains("id") || id.is_string() || id.is_number_integer();
  if (!id_ok) {
    out.error_reply =
        MakeError(nullptr, kInvalidRequest, "Invalid Request: id must be a string or an integer");
    return out;
  }
  if (!j.contains("jsonrpc") || j["jsonrpc"] != "2.0") {
    out.error_reply =
        MakeError(id, kInvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
    return out;
  }
  Message m;
  m.id = id;
  if (j.contains("method")) {
    if (!j["method"].is_string()) {
      out.error_reply = MakeError(id, kInvalidRequest, "Invalid Request: method must be a string");
      return out;
    }
    m.method = j["method"];
    if (j.contains("params")) {
      if (!j["params"].is_object()) {
        out.error_reply =
            MakeError(id, kInvalidRequest, "Invalid Request: params must be an object");
        return out;
      }
      m.params = j["params"];
    }
    m.kind = j.contains("id") ? Message::Kind::kRequest : Message::Kind::kNotification;
    out.message = std::move(m);
    return out;
  }
  if (j.contains("id") && (j.contains("result") || j.contains("error"))) {
    m.kind = Message::Kind::kResponse;
    m.is_error = !j.contains("result");
    m.result_or_error = m.is_error ? j["error"] : j["result"];
    out.message = std::move(m);
    return out;
  }
  out.error_reply =
      MakeError(id, kInvalidRequest, "Invalid Request: expected a method, or a result or error");
  return out;
}

json MakeResult(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json MakeError(const json& id, int code, const std::string& message, const json& data) {
  json err = {{"code", code}, {"message", message}};
  if (!data.is_null()) err["data"] = data;
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}};
}

json MakeNotification(const std::string& method, json params) {
  return json{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

}  // namespace supertable::mcp
