// Chooses the Catalog implementation for LOCKING_BACKEND.
#include "catalog/catalog.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "catalog/redis_catalog.h"
#include "catalog/sqlite_catalog.h"

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

bool OwnerIsDeadLocalProcess(const std::string& owner) {
  size_t colon = owner.rfind(':');
  std::string mine = LockOwnerIdentity();
  if (colon == std::string::npos || owner.substr(0, colon) != mine.substr(0, mine.rfind(':')))
    return false;
  pid_t pid = static_cast<pid_t>(std::atoll(owner.c_str() + colon + 1));
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace supertable
