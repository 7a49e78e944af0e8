// Landlock rulesets for engine workers.
#include "engine/worker_confinement.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

// Debian 12's kernel headers describe Landlock ABI 2; newer kernels (ABI 3+) also handle
// truncation, whose bit is fixed by the kernel's ABI.
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

namespace supertable {

namespace {

// The file system rights of each Landlock ABI version; a ruleset may only name rights the
// running kernel knows.
uint64_t HandledAccess(int abi) {
  uint64_t a =
      LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
      LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
      LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
      LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
      LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2) a |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) a |= LANDLOCK_ACCESS_FS_TRUNCATE;
  return a;
}

constexpr uint64_t kReadAccess =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

Status AddPath(int ruleset, const std::string& path, uint64_t access) {
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return Status::Ok();  // nothing there to allow
  landlock_path_beneath_attr rule{};
  rule.parent_fd = fd;
  rule.allowed_access = access;
  // A file (not a directory) takes file rights only.
  struct stat st {};
  if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
    rule.allowed_access &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
                           LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
  }
  long r = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
  int err = errno;
  close(fd);
  if (r != 0) {
    return Status::Internal(
        fmt::format("cannot confine the engine worker to {}: {}", path, std::strerror(err)));
  }
  return Status::Ok();
}

}  // namespace

Confinement QueryWorkerConfinement(const std::vector<std::string>& readable_directories,
                                   const std::string& temp_directory,
                                   const std::string& cache_directory) {
  Confinement c;
  // What the C library, DuckDB and libcurl read while they run: time zones, locale, DNS and TLS
  // settings, CPU and memory limits. None of it is the warehouse's or the user's.
  c.read_only = {"/usr", "/lib", "/lib64", "/bin", "/etc", "/proc", "/sys", "/dev"};
  for (const auto& d : readable_directories) {
    if (!d.empty() && d[0] == '/') c.read_only.push_back(d);  // remote roots are not paths
  }
  c.read_write = {temp_directory, cache_directory, "/dev/null"};
  return c;
}

Result<bool> ConfineProcess(const Confinement& c) {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) {
    if (errno == ENOSYS || errno == EOPNOTSUPP) return false;
    return Status::Internal(fmt::format("cannot query Landlock: {}", std::strerror(errno)));
  }
  const uint64_t handled = HandledAccess(static_cast<int>(abi));
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = handled;
  int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0));
  if (ruleset < 0) {
    return Status::Internal(
        fmt::format("cannot create a Landlock ruleset: {}", std::strerror(errno)));
  }
  Status st;
  for (const auto& p : c.read_only) {
    if (st.ok()) st = AddPath(ruleset, p, kReadAccess);
  }
  for (const auto& p : c.read_write) {
    if (st.ok()) st = AddPath(ruleset, p, handled);
  }
  if (st.ok() && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    st = Status::Internal(fmt::format("cannot set no_new_privs: {}", std::strerror(errno)));
  }
  if (st.ok() && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
    st =
        Status::Internal(fmt::format("cannot enter the Landlock domain: {}", std::strerror(errno)));
  }
  close(ruleset);
  if (!st.ok()) return st;
  return true;
}

}  // namespace supertable
