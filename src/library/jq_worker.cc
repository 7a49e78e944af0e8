// The jq worker process: compiles and runs one program at a time with libjq.
#include "library/jq_worker.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

extern "C" {
#include <jq.h>
#include <jv.h>
}

#include "engine/worker_channel.h"
#include "engine/worker_confinement.h"

namespace supertable::library {
namespace {

using nlohmann::json;

// The messages jq reports while compiling or running (syntax errors, "error(...)" values).
struct Messages {
  std::string text;
  static void Collect(void* self, jv msg) {
    auto* m = static_cast<Messages*>(self);
    if (m->text.size() > 65536) {  // enough to say what went wrong; never unbounded
      jv_free(msg);
      return;
    }
    jv formatted = jq_format_error(jv_copy(msg));
    if (jv_get_kind(formatted) == JV_KIND_STRING) {
      if (!m->text.empty()) m->text += "\n";
      m->text += jv_string_value(formatted);
    }
    jv_free(formatted);
    jv_free(msg);
  }
};

[[noreturn]] void OutOfMemory(void*) { _exit(kJqOutOfMemoryExit); }

// An error message from a jq value: a string as it is, anything else as JSON.
std::string ErrorText(jv msg) {
  std::string out;
  if (jv_get_kind(msg) == JV_KIND_STRING) {
    out = jv_string_value(msg);
  } else {
    jv dumped = jv_dump_string(jv_copy(msg), 0);
    out = jv_string_value(dumped);
    jv_free(dumped);
  }
  jv_free(msg);
  return out;
}

// Gives the program `cpu_ms` more CPU time from now; past it the kernel ends the process
// (SIGXCPU). The parent's wall-clock deadline is the precise limit; this one holds even if the
// parent were slow to act.
void SetCpuBudget(int64_t cpu_ms) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  rlim_t used = static_cast<rlim_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1);
  rlim_t budget = static_cast<rlim_t>((cpu_ms + 999) / 1000);
  rlimit r{used + budget, used + budget + 1};
  setrlimit(RLIMIT_CPU, &r);
}

// Compiled programs, kept for the next run of the same program: libjq 1.6 compiles its builtins
// with every program (tens of milliseconds), which a tool called again should not pay. The
// $variables are not compiled in (jq_compile_args would make them constants): the program is
// wrapped to take them from its input, `[vars, input]`, so one compiled state serves every
// argument. The wrapper's names cannot be a program's: the gate refuses `$__` variables.
class ProgramCache {
 public:
  ~ProgramCache() {
    for (auto& e : entries_) jq_teardown(&e.jq);
  }
  // The compiled state of `program` with `names` as its variables; nullptr and *error when it
  // does not compile.
  jq_state* Get(const std::string& program, const std::vector<std::string>& names,
                std::string* error) {
    std::string key = program;
    for (const auto& n : names) key += '\0' + n;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].key == key) {
        std::rotate(entries_.begin(), entries_.begin() + static_cast<long>(i),
                    entries_.begin() + static_cast<long>(i) + 1);
        return entries_.front().jq;
      }
    }
    jq_state* jq = jq_init();
    if (!jq) {
      *error = "jq could not start";
      return nullptr;
    }
    jq_set_nomem_handler(jq, OutOfMemory, nullptr);
    Messages messages;
    jq_set_error_cb(jq, Messages::Collect, &messages);
    // No module search path: import and include (refused by the gate anyway) find nothing.
    jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
    jq_set_attr(jq, jv_string("JQ_ORIGIN"), jv_string(""));
    jq_set_attr(jq, jv_string("PROGRAM_ORIGIN"), jv_string(""));
    std::string wrapped;
    if (!names.empty()) {
      wrapped = ".[0] as {";
      for (size_t i = 0; i < names.size(); ++i) {
        wrapped += fmt::format("{}\"{}\": ${}", i ? ", " : "", names[i], names[i]);
      }
      wrapped += "} | ";
    }
    wrapped += ".[1] | (\n" + program + "\n)";
    if (!jq_compile(jq, wrapped.c_str())) {
      *error = messages.text.empty() ? "the jq program does not compile" : messages.text;
      jq_teardown(&jq);
      return nullptr;
    }
    // Later messages (run-time errors come back as values) must not reach a dead Messages.
    jq_set_error_cb(jq, Messages::Collect, &run_messages_);
    if (entries_.size() >= kEntries) {
      jq_teardown(&entries_.back().jq);
      entries_.pop_back();
    }
    entries_.insert(entries_.begin(), Entry{std::move(key), jq});
    return jq;
  }

 private:
  static constexpr size_t kEntries = 64;
  struct Entry {
    std::string key;
    jq_state* jq;
  };
  std::vector<Entry> entries_;
  Messages run_messages_;
};

json Run(ProgramCache& cache, const json& job) {
  const std::string program = job.value("program", "");
  const bool compile_only = job.value("t", "") == "compile";
  const size_t max_output = job.value("max_output_bytes", size_t{16} << 20);
  SetCpuBudget(job.value("cpu_ms", int64_t{2000}));
  json vars = job.value("vars", json::object());
  if (!vars.is_object()) vars = json::object();
  std::vector<std::string> names;
  for (auto it = vars.begin(); it != vars.end(); ++it) names.push_back(it.key());
  std::string error;
  jq_state* jq = cache.Get(program, names, &error);
  if (!jq) return {{"t", "error"}, {"kind", "compile"}, {"message", error}};
  if (compile_only) return {{"t", "done"}};
  // [vars, input]: each parsed on its own, so the input is one JSON value or an error.
  const std::string input_text = job.value("input", std::string("null"));
  const std::string vars_text = vars.dump();
  jv data = jv_parse_sized(input_text.data(), static_cast<int>(input_text.size()));
  if (!jv_is_valid(data)) {
    return {{"t", "error"},
            {"kind", "input"},
            {"message", "the program's input is not JSON: " + ErrorText(jv_invalid_get_msg(data))}};
  }
  jv input = jv_array_append(
      jv_array_append(jv_array(),
                      jv_parse_sized(vars_text.data(), static_cast<int>(vars_text.size()))),
      data);
  jq_start(jq, input, 0);
  json out;
  std::string results = "[";
  int64_t count = 0;
  for (;;) {
    jv value = jq_next(jq);
    if (!jv_is_valid(value)) {
      if (jq_halted(jq)) {
        jv_free(value);
        out = {{"t", "error"}, {"kind", "run"}, {"message", "the program halted"}};
      } else if (jv_invalid_has_msg(jv_copy(value))) {
        out = {{"t", "error"},
               {"kind", "run"},
               {"message", "jq error: " + ErrorText(jv_invalid_get_msg(value))}};
      } else {
        jv_free(value);
      }
      break;
    }
    jv dumped = jv_dump_string(value, 0);
    if (count++) results += ",";
    results.append(jv_string_value(dumped),
                   static_cast<size_t>(jv_string_length_bytes(jv_copy(dumped))));
    jv_free(dumped);
    if (results.size() > max_output) {
      out = {{"t", "error"},
             {"kind", "output"},
             {"message",
              fmt::format("the program's output passed the limit of {} bytes", max_output)}};
      break;
    }
  }
  if (!out.is_null()) return out;
  results += "]";
  return {{"t", "done"}, {"output", std::move(results)}, {"count", count}};
}

}  // namespace

int RunJqWorker(int fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  // Only the channel stays open: nothing of the server's reaches a program.
  close_range(3, static_cast<unsigned>(fd) - 1, 0);
  close_range(static_cast<unsigned>(fd) + 1, ~0u, 0);
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  WorkerChannel ch(fd);
  auto hello = ch.Receive();
  if (!hello.ok() || hello->value("t", "") != "hello") return 2;
  // The sandbox, before any program is read: no new privileges, no file may be written or
  // opened (the libraries are loaded already), a capped address space, no new descriptors.
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  rlimit no_files{0, 0};
  setrlimit(RLIMIT_FSIZE, &no_files);
  auto confined = ConfineProcess(Confinement{});
  if (!confined.ok()) {
    (void)ch.Send({{"t", "error"}, {"message", confined.status().message()}});
    return 3;
  }
  int64_t memory = hello->value("memory_bytes", int64_t{256} << 20);
  if (memory > 0) {
    rlimit as{static_cast<rlim_t>(memory), static_cast<rlim_t>(memory)};
    setrlimit(RLIMIT_AS, &as);
  }
  rlimit fds{static_cast<rlim_t>(fd) + 1, static_cast<rlim_t>(fd) + 1};
  setrlimit(RLIMIT_NOFILE, &fds);
  if (!ch.Send({{"t", "ready"}, {"landlock", *confined}}).ok()) return 4;
  ProgramCache cache;
  for (;;) {
    auto job = ch.Receive();
    if (!job.ok()) return 0;  // the parent closed the channel
    json answer = Run(cache, *job);
    answer["seq"] = job->value("seq", 0);
    if (!ch.Send(answer).ok()) return 0;
  }
}

}  // namespace supertable::library
