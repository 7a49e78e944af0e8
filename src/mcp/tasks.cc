// Task records and the in-memory task store.
#include "mcp/tasks.h"

#include <map>
#include <mutex>

namespace supertable::mcp {

namespace {

class MemoryTaskStore : public TaskStore {
 public:
  Result<std::optional<std::string>> Get(const std::string& id) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Put(const std::string& id, const std::string& body, const std::string* expected) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = tasks_.find(id);
    if (expected) {
      bool same = it == tasks_.end() ? expected->empty() : it->second == *expected;
      if (!same) return Status::Conflict("task " + id + " changed meanwhile");
    }
    tasks_[id] = body;
    return Status::Ok();
  }
  Status Remove(const std::string& id) override {
    std::lock_guard<std::mutex> g(mu_);
    tasks_.erase(id);
    return Status::Ok();
  }
  Result<std::vector<std::string>> Ids() override {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<std::string> ids;
    for (const auto& [id, body] : tasks_) ids.push_back(id);
    return ids;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> tasks_;
};

}  // namespace

std::shared_ptr<TaskStore> MakeMemoryTaskStore() { return std::make_shared<MemoryTaskStore>(); }

Result<std::optional<json>> MutateTask(TaskStore& store, const std::string& id,
                                       const std::function<bool(json& task)>& change) {
  // Two writers of one record are a replica running the task and one serving the client's
  // tasks/update or tasks/cancel: a handful of tries always settles it.
  for (int attempt = 0; attempt < 64; ++attempt) {
    ST_ASSIGN_OR_RETURN(auto body, store.Get(id));
    if (!body) return std::optional<json>();
    json task = json::parse(*body, nullptr, false);
    if (!task.is_object()) return Status::Internal("task " + id + ": its record is not JSON");
    if (!change(task)) return std::optional<json>(std::move(task));
    Status s = store.Put(id, task.dump(-1, ' ', false, json::error_handler_t::replace), &*body);
    if (s.ok()) return std::optional<json>(std::move(task));
    if (s.code() != StatusCode::kConflict) return s;
  }
  return Status::Conflict("task " + id + " keeps changing; try again");
}

bool DeclaresTasks(const json& client_capabilities) {
  if (!client_capabilities.is_object()) return false;
  auto ext = client_capabilities.find("extensions");
  return ext != client_capabilities.end() && ext->is_object() && ext->contains(kTasksExtension);
}

json TasksCapability() { return {{"extensions", {{kTasksExtension, json::object()}}}}; }

bool IsTerminalTaskStatus(const std::string& status) {
  return status == kTaskCompleted || status == kTaskFailed || status == kTaskCancelled;
}

namespace {

json TaskFields(const json& record) {
  json t = json::object();
  for (const char* key : {"taskId", "status", "statusMessage", "createdAt", "lastUpdatedAt",
                          "ttlMs", "pollIntervalMs"}) {
    if (auto it = record.find(key); it != record.end()) t[key] = *it;
  }
  return t;
}

}  // namespace

json DetailedTask(const json& record) {
  json t = TaskFields(record);
  std::string status = record.value("status", "");
  const char* extra = status == kTaskInputRequired ? "inputRequests"
                      : status == kTaskCompleted   ? "result"
                      : status == kTaskFailed      ? "error"
                                                   : nullptr;
  if (extra && record.contains(extra)) t[extra] = record[extra];
  return t;
}

json CreateTaskResult(const json& record) {
  json t = TaskFields(record);
  t["resultType"] = "task";
  return t;
}

}  // namespace supertable::mcp
