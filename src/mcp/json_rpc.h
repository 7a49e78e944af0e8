// JSON-RPC 2.0 as MCP uses it: strict parsing of one message, and builders for replies.
// Knows nothing of MCP methods.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace supertable::mcp {

using nlohmann::json;

// Standard JSON-RPC error codes.
enum ErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kRequestCancelled = -32800,  // used internally; no response is sent for a cancelled request
  // MCP's own, from the 2026-07-28 revision on.
  kHeaderMismatch = -32020,
  kMissingRequiredClientCapability = -32021,
  kUnsupportedProtocolVersion = -32022,
};

// One incoming message after validation. A request has an id; a notification has none;
// responses (from the client to our own requests) carry result or error.
struct Message {
  enum class Kind { kRequest, kNotification, kResponse } kind = Kind::kRequest;
  json id;  // string or integer; null for notifications
  std::string method;
  json params = json::object();
  json result_or_error;
  bool is_error = false;  // a response carrying "error" rather than "result"
};

// Either a message or the error reply it deserves (id null when it could not be read).
struct ParseOutcome {
  std::optional<Message> message;
  std::optional<json> error_reply;
};

// Parses one JSON-RPC message (a batch array is refused: the current MCP revision has none).
ParseOutcome ParseMessage(const std::string& text);

json MakeResult(const json& id, json result);
json MakeError(const json& id, int code, const std::string& message, const json& data = nullptr);
json MakeNotification(const std::string& method, json params);

}  // namespace supertable::mcp
