// The warehouse's operations, written once and reached from every front door: each is a name,
// a description (for people and for LLMs), JSON Schemas of its input and output, the scope a
// credential needs, its REST route, and one handler that takes the principal and the arguments.
// The MCP tools (warehouse_tools.h) and the REST API (src/api/) are made from this registry;
// neither holds an operation's logic.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/cancel_token.h"
#include "common/status.h"

namespace supertable {

class AccessPolicy;
class Warehouse;
struct McpToolOptions;
namespace security {
struct Principal;
}

// Who an operation acts as, and what that principal may see (policy nullptr: everything).
struct Caller {
  std::shared_ptr<const security::Principal> principal;
  std::shared_ptr<const AccessPolicy> policy;
  const AccessPolicy* get() const { return policy.get(); }
};
Caller CallerOf(std::shared_ptr<const security::Principal> p);

// What one run of an operation is given: its arguments (checked against its input schema by the
// front door), who asks (never taken from the arguments), and how it reports.
struct OperationContext {
  const nlohmann::json& args;
  const Caller& caller;
  CancelToken* cancel = nullptr;  // fired when the client goes away or cancels
  std::function<void(double progress, double total, const std::string& message)> progress = nullptr;
  // What the operation read (tables, policies, rows), for the audit trail; never shown.
  nlohmann::json* notes = nullptr;
  // The bytes an upload brought (Operation::takes_file), in a file the front door owns; never
  // a path from the arguments.
  std::string input_file = "";
  // Set by a door that wants a query's rows as a Parquet file (operations whose answer is rows):
  // receives the file's path; the door sends and removes it. The answer then has no rows.
  std::string* parquet_file = nullptr;
  void Progress(double done, double total, const std::string& message) {
    if (progress) progress(done, total, message);
  }
};

struct Operation {
  struct Route {
    std::string method, path;  // "GET", "/api/v1/supers/{super}/tables"; "" for none
  };
  std::string name, title, description;
  nlohmann::json input_schema, output_schema;
  Route route;
  std::function<Result<nlohmann::json>(OperationContext&)> run;
  // Answers in microseconds from memory, never blocking on I/O (a front door may answer it on
  // its network thread).
  bool quick = false;
  std::string scope = "";     // the OAuth scope a credential must carry
  bool read_only = true;      // changes nothing
  bool long_running = false;  // may take minutes: a task (MCP), a statement (REST)
  bool mcp = true;            // offered as an MCP tool (administration is not: REST only)
  // Takes a file of input besides its arguments (OperationContext::input_file: an upload).
  bool takes_file = false;
};

// The string argument `key`, or `fallback` when it is absent or not a string.
inline std::string StringArg(const nlohmann::json& args, const char* key,
                             const std::string& fallback = "") {
  auto it = args.find(key);
  return it != args.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// Pieces of the JSON Schemas operations are described with.
inline nlohmann::json PropSchema(const char* type, const std::string& description) {
  return {{"type", type}, {"description", description}};
}
inline nlohmann::json ObjectSchema(nlohmann::json properties, std::vector<std::string> required) {
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}
inline nlohmann::json OutputSchema(nlohmann::json properties) {
  return {{"type", "object"}, {"properties", std::move(properties)}};
}

class OperationRegistry {
 public:
  virtual ~OperationRegistry() = default;
  virtual const std::vector<Operation>& operations() const = 0;
  const Operation* Find(const std::string& name) const {
    for (const auto& op : operations()) {
      if (op.name == name) return &op;
    }
    return nullptr;
  }
};

// The registry of `warehouse`'s operations, with the limits of `options` (rows, the principal's
// concurrent queries). One per process: every front door shares it, and so its limits.
std::shared_ptr<OperationRegistry> MakeOperationRegistry(Warehouse& warehouse,
                                                         const McpToolOptions& options);

}  // namespace supertable
