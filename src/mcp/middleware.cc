// Tool-call middleware.
#include "mcp/middleware.h"

#include <chrono>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "common/log.h"

namespace supertable::mcp {

Middleware ErrorMiddleware() {
  return [](const Tool& tool, ToolContext& ctx, const ToolCall& next) {
    try {
      return next(tool, ctx);
    } catch (const std::exception& e) {
      log::Warn("tool {} failed: {}", tool.name, e.what());
      return ToolResult::Error(fmt::format("internal error in tool {}: {}", tool.name, e.what()));
    }
  };
}

Middleware LoggingMiddleware() {
  return [](const Tool& tool, ToolContext& ctx, const ToolCall& next) {
    auto start = std::chrono::steady_clock::now();
    ToolResult r = next(tool, ctx);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    log::Info("tool {} {} in {:.1f} ms{}", tool.name, r.is_error ? "failed" : "ok", ms,
              ctx.trace().empty() ? "" : " (traceparent " + ctx.trace() + ")");
    ctx.Log("debug", {{"tool", tool.name}, {"ok", !r.is_error}, {"duration_ms", ms}});
    return r;
  };
}

Middleware SizeGuardMiddleware(int64_t max_tokens) {
  return [max_tokens](const Tool& tool, ToolContext& ctx, const ToolCall& next) {
    ToolResult r = next(tool, ctx);
    if (max_tokens <= 0 || r.is_error) return r;
    int64_t bytes = static_cast<int64_t>(
        r.structured.dump(-1, ' ', false, json::error_handler_t::replace).size());
    ctx.notes()["result_bytes"] = bytes;  // measured once: outer middleware reads it here
    int64_t tokens = bytes / 4;
    if (tokens <= max_tokens) return r;
    return ToolResult::Error(fmt::format(
        "the result of {} is about {} tokens, more than the limit of {} "
        "(SUPERTABLE_MCP_MAX_RESPONSE_TOKENS); narrow "
        "the request: select fewer columns, add filters or aggregates, or lower 'limit'",
        tool.name, tokens, max_tokens));
  };
}

Middleware CacheMiddleware(int64_t ttl_ms,
                           std::function<std::string(const ToolContext&)> partition) {
  struct Entry {
    std::chrono::steady_clock::time_point at;
    ToolResult result;
  };
  auto mu = std::make_shared<std::mutex>();
  auto cache = std::make_shared<std::map<std::string, Entry>>();
  return [ttl_ms, mu, cache, partition](const Tool& tool, ToolContext& ctx, const ToolCall& next) {
    if (ttl_ms <= 0 || !tool.annotations.read_only || !tool.annotations.idempotent)
      return next(tool, ctx);
    std::string key = (partition ? partition(ctx) : std::string()) + "\x1f" + tool.name + "\x1f" +
                      ctx.arguments().dump();
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> g(*mu);
      auto it = cache->find(key);
      if (it != cache->end() && now - it->second.at < std::chrono::milliseconds(ttl_ms))
        return it->second.result;
      if (cache->size() > 1024) cache->clear();  // bounded: a cache, not a store
    }
    ToolResult r = next(tool, ctx);
    if (!r.is_error) {
      std::lock_guard<std::mutex> g(*mu);
      (*cache)[key] = {now, r};
    }
    return r;
  };
}

}  // namespace supertable::mcp
