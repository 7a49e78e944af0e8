// Per-principal limits: a token bucket on requests (RateLimiter, with the RateLimit and
// RateLimit-Policy header values of draft-ietf-httpapi-ratelimit-headers) and a cap on the
// queries one principal runs at once (ConcurrencyLimiter). Both are in-process: each server
// replica limits what it serves.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace supertable::security {

// SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL when it is not set.
inline constexpr int kDefaultMaxQueriesPerPrincipal = 2;

struct RateLimitSpec {
  int64_t requests = 0;  // the bucket's size and the requests refilled per window; 0 = off
  int64_t per_ms = 60000;
  bool enabled() const { return requests > 0; }
  // "600/min", "10/s", "100/second", "5000/hour", "20000/day"; "0" or "" = off. Anything else
  // is InvalidArgument saying what form is expected.
  static Result<RateLimitSpec> Parse(const std::string& text);
  // The RateLimit-Policy header value, e.g. `"default";q=600;w=60` (w in whole seconds).
  std::string PolicyHeader() const;
};

// SUPERTABLE_RATE_LIMIT (unset: off); the error names the setting.
Result<RateLimitSpec> RateLimitSpecFromEnvironment();
// SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL (unset: 2; 0 = off); the error names the setting.
Result<int> MaxQueriesPerPrincipalFromEnvironment();

struct RateDecision {
  bool allowed = true;
  int64_t remaining = 0;      // whole requests left in the bucket after this one
  int64_t retry_after_s = 0;  // when refused: seconds until one request is allowed (>= 1)
  int64_t reset_s = 0;        // seconds until the next request would be allowed; 0 while
                              // remaining > 0
  // The RateLimit header value, e.g. `"default";r=599;t=0`.
  std::string RateLimitHeader() const;
};

// A token bucket per principal key: a bucket starts full (a burst of `requests`), and refills
// continuously at requests/per_ms. Thread-safe. A bucket idle long enough to be full again is
// indistinguishable from a new one, so such buckets are dropped; past `max_keys` buckets the
// least recently used ones go too, so memory stays bounded whatever the number of keys. A spec
// that is off allows everything (send no RateLimit headers then).
class RateLimiter {
 public:
  explicit RateLimiter(RateLimitSpec spec, std::function<int64_t()> now_ms = {},
                       size_t max_keys = 100000);
  ~RateLimiter();
  RateDecision Take(const std::string& principal_key);
  const RateLimitSpec& spec() const { return spec_; }
  // How many buckets are held now (for tests and stats).
  size_t TrackedKeys() const;

 private:
  struct Shard;
  RateLimitSpec spec_;
  std::function<int64_t()> now_ms_;
  size_t max_keys_per_shard_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

// Caps the queries one principal key runs at once. Thread-safe. A Slot must not outlive its
// limiter.
class ConcurrencyLimiter {
 public:
  explicit ConcurrencyLimiter(int max_per_key);  // 0 = off: every TryAcquire succeeds

  // Holds one of a key's slots until destroyed (move-only).
  class Slot {
   public:
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    friend class ConcurrencyLimiter;
    Slot(ConcurrencyLimiter* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    void Release();
    ConcurrencyLimiter* owner_ = nullptr;  // null: nothing held (moved from, or limiter off)
    std::string key_;
  };

  // Empty when the key already holds max_per_key slots.
  std::optional<Slot> TryAcquire(const std::string& key);
  int max_per_key() const { return max_per_key_; }
  // Slots `key` holds now.
  int InUse(const std::string& key) const;

 private:
  void Release(const std::string& key);
  int max_per_key_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> in_use_;  // keys with no slot are erased
};

}  // namespace supertable::security
