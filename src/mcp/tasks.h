// The tasks extension of MCP 2026-07-28 (io.modelcontextprotocol/tasks): a tool call that
// runs long answers with a task handle at once; the client polls tasks/get for its status and
// result, answers what it asks with tasks/update, and may tasks/cancel it. This file holds where
// tasks are kept (TaskStore) and the task record; the server runs them (Server::CallAsTask).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "mcp/json_rpc.h"

namespace supertable::mcp {

inline constexpr const char* kTasksExtension = "io.modelcontextprotocol/tasks";

// Whether a tool call may, must or may not become a task (for a client that declares the
// extension; one that does not never gets a task, and a kRequired tool refuses it with -32021).
enum class TaskSupport { kNone, kOptional, kRequired };

// Where task records live. Any replica may be asked about a task another one runs, so a server
// behind a load balancer keeps them where every replica reads (the warehouse's catalog); one
// process alone may keep them in memory (MakeMemoryTaskStore). Records are JSON texts; writes
// compare and swap, because the replica running a task and the one a client's tasks/update or
// tasks/cancel reaches change one record at once.
class TaskStore {
 public:
  virtual ~TaskStore() = default;
  // The record of task `id`, or nullopt when there is none.
  virtual Result<std::optional<std::string>> Get(const std::string& id) = 0;
  // Writes `body`; with `expected`, only if the stored record is exactly *expected (an empty
  // string: only if there is none), atomically, and Conflict otherwise.
  virtual Status Put(const std::string& id, const std::string& body,
                     const std::string* expected = nullptr) = 0;
  virtual Status Remove(const std::string& id) = 0;
  // The ids of every task kept, to purge expired ones.
  virtual Result<std::vector<std::string>> Ids() = 0;
  // How often the replica running a task looks for what another replica wrote into its record
  // (a cancel, answers), in ms: a read costs microseconds in memory, a round trip elsewhere.
  virtual int64_t poll_ms() const { return 50; }
};

std::shared_ptr<TaskStore> MakeMemoryTaskStore();

// Reads task `id`, lets `change` edit the record (it returns false to write nothing) and writes
// it back unless another writer changed it meanwhile, then tries again. The record as it is
// after, or nullopt when there is no task `id`.
Result<std::optional<json>> MutateTask(TaskStore& store, const std::string& id,
                                       const std::function<bool(json& task)>& change);

// Whether ClientCapabilities (a request's, modern era) declare the tasks extension.
bool DeclaresTasks(const json& client_capabilities);
// {"extensions": {"io.modelcontextprotocol/tasks": {}}}: what a client must declare.
json TasksCapability();

// Task status values, as the extension names them.
inline constexpr const char* kTaskWorking = "working";
inline constexpr const char* kTaskInputRequired = "input_required";
inline constexpr const char* kTaskCompleted = "completed";
inline constexpr const char* kTaskFailed = "failed";
inline constexpr const char* kTaskCancelled = "cancelled";
bool IsTerminalTaskStatus(const std::string& status);

// A record's public part, as tasks/get (and notifications/tasks) show it: the task's fields,
// with inputRequests, result or error as its status has them. Never what the server keeps for
// itself (owner, answers, deadlines).
json DetailedTask(const json& record);
// The immediate answer to a tool call that became a task (CreateTaskResult): the task's
// fields only, resultType "task".
json CreateTaskResult(const json& record);

}  // namespace supertable::mcp
