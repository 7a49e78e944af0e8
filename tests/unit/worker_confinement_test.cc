// Kernel confinement of query workers: inside the domain only the allowed directories open, the
// read-only ones for reading only (checked in a child process, since a domain cannot be left).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/worker_confinement.h"
#include "support/test_support.h"

namespace supertable {

TEST(WorkerConfinement, OnlyTheAllowedDirectoriesOpen) {
  testing::TempDir ro, rw, outside;
  std::string readable = ro.Write("data.parquet", "x");
  std::string secret = outside.Write("catalog.db", "y");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = ConfineProcess({{ro.path(), "/usr"}, {rw.path()}});
    if (!r.ok()) _exit(10);
    if (!*r) _exit(77);  // no Landlock in this kernel
    if (open(readable.c_str(), O_RDONLY) < 0) _exit(11);
    if (open(readable.c_str(), O_WRONLY) >= 0) _exit(12);
    if (open((ro.path() + "/new").c_str(), O_WRONLY | O_CREAT, 0600) >= 0) _exit(13);
    if (open(secret.c_str(), O_RDONLY) >= 0) _exit(14);
    if (open("/etc/hostname", O_RDONLY) >= 0) _exit(15);
    if (open((rw.path() + "/spill").c_str(), O_WRONLY | O_CREAT, 0600) < 0) _exit(16);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "this kernel has no Landlock";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "check number " << WEXITSTATUS(status) << " failed";
}

TEST(WorkerConfinement, QueryWorkersReadTheSystemAndTheirDataOnly) {
  Confinement c =
      QueryWorkerConfinement({"/h/data/org/", "supertable-object://org/"}, "/h/tmp", "/h/cache");
  EXPECT_NE(std::find(c.read_only.begin(), c.read_only.end(), "/h/data/org/"), c.read_only.end());
  // A remote root is not a path, and the home itself is never allowed.
  for (const auto& p : c.read_only) {
    EXPECT_EQ(p.find("supertable-object://"), std::string::npos);
    EXPECT_NE(p, "/h");
  }
  EXPECT_EQ(c.read_write, (std::vector<std::string>{"/h/tmp", "/h/cache", "/dev/null"}));
}

}  // namespace supertable
