// Starting and ending helper processes that serve this one over a socket pair.
#include "engine/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace supertable {

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return fmt::format("was killed by signal {} (SIG{})", sig, abbrev ? abbrev : "?");
  }
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  return "ended";
}

Result<std::unique_ptr<WorkerProcess>> WorkerProcess::Start(
    const std::vector<std::string>& argv_in, const std::vector<std::string>* environment,
    const std::string& what) {
  if (argv_in.empty()) return Status::InvalidArgument(fmt::format("no command for the {}", what));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status::IoError(fmt::format("cannot create a {} socket: {}", what, strerror(errno)));
  }
  // The child's end becomes its fd 3; keep it off 3 here so dup2 really clears close-on-exec.
  int child_fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  close(sv[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, child_fd, 3);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::vector<std::string> args = argv_in;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy;
  std::vector<char*> envp;
  if (environment) {
    env_copy = *environment;
    for (auto& e : env_copy) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), environment ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(child_fd);
  if (rc != 0) {
    close(sv[0]);
    return Status::IoError(
        fmt::format("cannot start the {} {}: {}", what, argv_in[0], strerror(rc)));
  }
  return std::unique_ptr<WorkerProcess>(new WorkerProcess(pid, sv[0]));
}

bool WorkerProcess::Alive() {
  int status = 0;
  if (pid_ <= 0) return false;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
  ended_ = DescribeExit(status);
  pid_ = -1;
  return false;
}

const std::string& WorkerProcess::End() {
  if (pid_ <= 0) return ended_;
  int status = 0;
  // Closing our end lets an idle worker exit at once (it reads end-of-file); a worker whose
  // channel broke is on its way out already. Either gets a moment to be reaped as it ended (a
  // crash keeps its signal) before it is killed. Polled finely: every CLI command that used
  // a worker ends here.
  channel_.reset();
  pid_t r = 0;
  for (int i = 0; i < 400 && (r = waitpid(pid_, &status, WNOHANG)) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(250));
  }
  if (r == 0) {
    kill(pid_, SIGKILL);
    r = waitpid(pid_, &status, 0);
  }
  ended_ = r == pid_ ? DescribeExit(status) : "could not be reaped";
  pid_ = -1;
  return ended_;
}

void WorkerProcess::Abandon() {
  if (pid_ <= 0) return;
  channel_.reset();
  kill(pid_, SIGKILL);
  std::thread([pid = pid_] { waitpid(pid, nullptr, 0); }).detach();
  pid_ = -1;
}

}  // namespace supertable
