// fork/exec/wait for helper servers.
#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace supertable {

pid_t SpawnQuiet(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int out = log_path.empty() ? open("/dev/null", O_WRONLY)
                               : open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(out, 1);
    dup2(out, 2);
    std::vector<std::string> copy = argv;
    std::vector<char*> c;
    for (auto& a : copy) c.push_back(a.data());
    c.push_back(nullptr);
    execvp(c[0], c.data());
    _exit(127);
  }
  return pid;
}

void StopProcess(pid_t* pid, int sig) {
  if (*pid <= 0) return;
  kill(*pid, sig);
  waitpid(*pid, nullptr, 0);
  *pid = -1;
}

}  // namespace supertable
