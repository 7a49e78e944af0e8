// Newline-delimited JSON-RPC over stdio.
#include "mcp/stdio_transport.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "common/log.h"

namespace supertable::mcp {

namespace {
volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
}  // namespace

int ServeStdio(Server& server, FILE* in, FILE* out, const StdioOptions& options) {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  std::mutex out_mu;
  SendFn write = [&](const json& message, const json& /*related: one stream here*/) {
    std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
    std::lock_guard<std::mutex> g(out_mu);
    fwrite(line.data(), 1, line.size(), out);
    fputc('\n', out);
    fflush(out);
  };
  // The process's session (the legacy era's, from initialize on).
  Session session(write);
  session.identity = options.identity;
  // A modern-era request is served on a session of its own: it says everything about its
  // client itself, and must neither read nor change what an initialize set up.
  // The sessions of modern requests running, by request id, for notifications/cancelled.
  std::mutex modern_mu;
  std::map<std::string, Session*> modern_running;
  // Open subscriptions/listen requests, by id: each keeps its session until the client cancels
  // it (notifications/cancelled) or the process ends.
  std::map<std::string, std::shared_ptr<Session>> listens;  // under modern_mu
  auto handle = [&](const Message& m) -> std::optional<json> {
    if (!IsModernRequest(m)) return server.Handle(session, m);
    if (m.method == "subscriptions/listen") {
      auto listen = std::make_shared<Session>(write);
      listen->identity = options.identity;
      std::string key = m.id.dump();
      {
        std::lock_guard<std::mutex> g(modern_mu);
        if (listens.count(key)) {
          return MakeError(m.id, kInvalidRequest,
                           fmt::format("Invalid Request: request id {} is already in flight", key));
        }
        listens[key] = listen;
      }
      auto error = server.Handle(*listen, m);
      if (error) {
        std::lock_guard<std::mutex> g(modern_mu);
        listens.erase(key);
        listen->Detach();
      }
      return error;
    }
    Session one(write);
    one.identity = options.identity;
    std::string key = m.id.dump();
    {
      std::lock_guard<std::mutex> g(modern_mu);
      modern_running[key] = &one;
    }
    auto reply = server.Handle(one, m);
    std::lock_guard<std::mutex> g(modern_mu);
    modern_running.erase(key);
    return reply;
  };

  // Requests run on up to max_workers threads; more wait in `pending`. The reader never
  // blocks on them, so pings and cancellations are read while every worker is busy.
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  std::deque<Message> pending;
  std::function<void(Message)> work = [&](Message m) {
    while (true) {
      try {
        auto reply = handle(m);
        if (reply) session.Send(*reply);
      } catch (const std::exception& e) {
        session.Send(MakeError(m.id, kInternalError, fmt::format("Internal error: {}", e.what())));
      }
      std::lock_guard<std::mutex> g(mu);
      if (pending.empty()) {
        --running;
        cv.notify_all();
        return;
      }
      m = std::move(pending.front());
      pending.pop_front();
    }
  };

  int fd = fileno(in);
  std::string buffer;
  bool oversized = false;
  char chunk[65536];
  auto handle_line = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    ParseOutcome parsed = ParseMessage(line);
    if (parsed.error_reply) {
      session.Send(*parsed.error_reply);
      return;
    }
    Message m = std::move(*parsed.message);
    // Notifications, initialize and ping are quick and order-sensitive (a request sent right
    // after initialize must find the session initialized): the reader answers them itself.
    if (m.kind == Message::Kind::kNotification && m.method == "notifications/cancelled") {
      // A modern request runs on a session of its own: cancel it there (a legacy one is the
      // process session's, below).
      std::lock_guard<std::mutex> g(modern_mu);
      std::string key = m.params.value("requestId", json()).dump();
      auto it = modern_running.find(key);
      if (it != modern_running.end()) it->second->CancelAll();
      // A subscription ends when the client cancels its listen request; nothing answers it.
      if (auto l = listens.find(key); l != listens.end()) {
        l->second->Detach();
        listens.erase(l);
      }
    }
    if (m.kind != Message::Kind::kRequest || m.method == "initialize" || m.method == "ping") {
      auto reply = handle(m);
      if (reply) session.Send(*reply);
      return;
    }
    std::lock_guard<std::mutex> g(mu);
    if (running >= options.max_workers) {
      pending.push_back(std::move(m));
      return;
    }
    ++running;
    // Detached: ServeStdio waits for `running` to reach zero before its locals go away.
    std::thread(work, std::move(m)).detach();
  };

  auto last_poll = std::chrono::steady_clock::now();
  while (!g_stop) {
    if (std::chrono::steady_clock::now() - last_poll > std::chrono::seconds(1)) {
      server.PollSubscriptions(session);
      std::vector<std::shared_ptr<Session>> open;
      {
        std::lock_guard<std::mutex> g(modern_mu);
        for (auto& [key, l] : listens) open.push_back(l);
      }
      for (auto& l : open) server.PollSubscriptions(*l);
      last_poll = std::chrono::steady_clock::now();
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    int pr = poll(&pfd, 1, 200);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the client is gone
    size_t start = 0;
    for (ssize_t i = 0; i < n; ++i) {
      if (chunk[i] != '\n') continue;
      if (!oversized) {
        buffer.append(chunk + start, static_cast<size_t>(i) - start);
        handle_line(std::move(buffer));
      }
      buffer.clear();
      oversized = false;
      start = static_cast<size_t>(i) + 1;
    }
    if (!oversized) buffer.append(chunk + start, static_cast<size_t>(n) - start);
    if (!oversized && buffer.size() > options.max_message_bytes) {
      oversized = true;
      buffer.clear();
      session.Send(MakeError(
          nullptr, kParseError,
          fmt::format("Parse error: message longer than {} bytes", options.max_message_bytes)));
    }
  }
  if (!buffer.empty() && !oversized) handle_line(std::move(buffer));
  if (g_stop) {
    // Asked to stop: withdraw what is queued and interrupt what runs, then wait for it.
    std::lock_guard<std::mutex> g(mu);
    pending.clear();
    session.CancelAll();
  }
  {
    // Let requests in flight finish; a client that closed stdin may still read stdout.
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return running == 0; });
  }
  {
    // Open subscriptions end with their listen request's result, then the cancellation that
    // tells a stdio client the stream is over (the one use of a server-sent cancel).
    std::lock_guard<std::mutex> g(modern_mu);
    for (auto& [key, l] : listens) {
      l->Detach();
      write(server.EndListen(*l), nullptr);
      write(MakeNotification("notifications/cancelled",
                             {{"requestId", l->listen ? l->listen->id : json()},
                              {"reason", "the server is shutting down"}}),
            nullptr);
    }
    listens.clear();
  }
  return 0;
}

}  // namespace supertable::mcp
