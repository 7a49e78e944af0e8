// Chooses the Catalog implementation for LOCKING_BACKEND.
#include "catalog/catalog.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "catalog/redis_catalog.h"
#include "catalog/sqlite_catalog.h"
#include "common/ids.h"

namespace supertable {

Result<std::unique_ptr<Catalog>> OpenCatalog(const std::string& backend, const std::string& home) {
  if (backend == "sqlite") {
    ST_ASSIGN_OR_RETURN(auto cat, SqliteCatalog::Open(home + "/catalog.db"));
    return std::unique_ptr<Catalog>(std::move(cat));
  }
  if (backend == "redis") {
    ST_ASSIGN_OR_RETURN(RedisConfig config, RedisConfigFromEnvironment());
    ST_ASSIGN_OR_RETURN(auto cat, RedisCatalog::Open(std::move(config)));
    return std::unique_ptr<Catalog>(std::move(cat));
  }
  return Status::InvalidArgument(
      fmt::format("LOCKING_BACKEND={} is not supported; expected sqlite or redis", backend));
}

std::string LockOwnerIdentity() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return fmt::format("{}:{}", host, getpid());
}

Status WaitForLock(const std::string& name, int64_t timeout_ms,
                   const std::function<Result<std::optional<std::string>>()>& try_once) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::minstd_rand jitter(static_cast<unsigned>(NowMicros()));
  int64_t backoff_ms = 5;
  while (true) {
    ST_ASSIGN_OR_RETURN(auto holder, try_once());
    if (!holder) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Timeout(
          fmt::format("could not lock {} within {} ms: it is held by {}; retry later or raise "
                      "SUPERTABLE_LOCK_TIMEOUT_MS",
                      name, timeout_ms, holder->empty() ? "another writer" : *holder));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(backoff_ms + static_cast<int64_t>(jitter() % 5)));
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 100);
  }
}

bool OwnerIsDeadLocalProcess(const std::string& owner) {
  size_t colon = owner.rfind(':');
  std::string mine = LockOwnerIdentity();
  if (colon == std::string::npos || owner.substr(0, colon) != mine.substr(0, mine.rfind(':')))
    return false;
  pid_t pid = static_cast<pid_t>(std::atoll(owner.c_str() + colon + 1));
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace supertable
