// Token buckets per principal and per-principal query slots; see rate_limit.h for what they
// promise. Buckets count in fixed point (one request = per_ms units, refilled at `requests`
// units per millisecond), so refill is exact integer arithmetic at any rate.
#include "security/rate_limit.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include <fmt/format.h>

#include "common/config.h"
#include "common/text.h"

namespace supertable::security {
namespace {

constexpr int64_t kMaxRequests = 1000000000;  // keeps requests * per_ms far from overflow
constexpr int64_t kDayMs = 86400000;
constexpr size_t kShards = 16;  // threads on different principals rarely share a lock

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

Result<RateLimitSpec> RateLimitSpec::Parse(const std::string& input) {
  std::string text = AsciiLower(Trim(input));
  if (text.empty() || text == "0") return RateLimitSpec{};
  auto invalid = [&] {
    return Status::InvalidArgument(fmt::format(
        "rate limit '{}' is not valid: expected <count>/<unit> such as 600/min, 10/s or "
        "5000/hour (units: s, min, hour, day; count 1 to {}), or 0 for no limit",
        input, kMaxRequests));
  };
  size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash > 10) return invalid();
  std::string count = Trim(text.substr(0, slash)), unit = Trim(text.substr(slash + 1));
  if (count.empty() ||
      !std::all_of(count.begin(), count.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return invalid();
  int64_t requests = std::stoll(count);
  if (requests < 1 || requests > kMaxRequests) return invalid();
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"s", 1000},    {"sec", 1000},   {"second", 1000},  {"seconds", 1000},
      {"m", 60000},   {"min", 60000},  {"minute", 60000}, {"minutes", 60000},
      {"h", 3600000}, {"hr", 3600000}, {"hour", 3600000}, {"hours", 3600000},
      {"d", kDayMs},  {"day", kDayMs}, {"days", kDayMs}};
  for (const auto& [name, ms] : kUnits) {
    if (unit == name) return RateLimitSpec{requests, ms};
  }
  return invalid();
}

std::string RateLimitSpec::PolicyHeader() const {
  return fmt::format("\"default\";q={};w={}", requests,
                     std::max<int64_t>(1, CeilDiv(per_ms, 1000)));
}

std::string RateDecision::RateLimitHeader() const {
  return fmt::format("\"default\";r={};t={}", remaining, reset_s);
}

Result<RateLimitSpec> RateLimitSpecFromEnvironment() {
  auto r = RateLimitSpec::Parse(GetSetting("SUPERTABLE_RATE_LIMIT").value_or(""));
  if (!r.ok()) return r.status().WithContext("SUPERTABLE_RATE_LIMIT");
  return r;
}

Result<int> MaxQueriesPerPrincipalFromEnvironment() {
  auto v = GetSetting("SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL");
  if (!v || Trim(*v).empty()) return kDefaultMaxQueriesPerPrincipal;
  ST_ASSIGN_OR_RETURN(int64_t n,
                      ParseIntSetting("SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL", Trim(*v), 0));
  return static_cast<int>(std::min<int64_t>(n, 1 << 20));
}

struct RateLimiter::Shard {
  struct Bucket {
    int64_t units;    // requests * per_ms when full
    int64_t last_ms;  // when units was last brought up to date
  };
  std::mutex mu;
  std::unordered_map<std::string, Bucket> buckets;
  int64_t last_sweep_ms = 0;
};

RateLimiter::RateLimiter(RateLimitSpec spec, std::function<int64_t()> now_ms, size_t max_keys)
    : spec_(spec),
      now_ms_(now_ms ? std::move(now_ms) : SteadyNowMs),
      max_keys_per_shard_(std::max<size_t>(1, max_keys / kShards)) {
  spec_.requests = std::clamp<int64_t>(spec_.requests, 0, kMaxRequests);
  spec_.per_ms = std::clamp<int64_t>(spec_.per_ms, 1, 7 * kDayMs);
  for (size_t i = 0; i < kShards; ++i) shards_.push_back(std::make_unique<Shard>());
}

RateLimiter::~RateLimiter() = default;

RateDecision RateLimiter::Take(const std::string& key) {
  if (!spec_.enabled()) return RateDecision{};
  const int64_t full = spec_.requests * spec_.per_ms, cost = spec_.per_ms;
  Shard& shard = *shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  int64_t now = now_ms_();
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_keys_per_shard_ || now - shard.last_sweep_ms >= spec_.per_ms) {
      shard.last_sweep_ms = now;
      // Idle a whole window means full again: dropping such a bucket changes nothing.
      std::erase_if(shard.buckets,
                    [&](const auto& kv) { return now - kv.second.last_ms >= spec_.per_ms; });
      if (shard.buckets.size() >= max_keys_per_shard_) {
        // Every bucket is active: forget the least recently used eighth (they start full
        // again, which only ever favours those principals), so this sweep is not redone at
        // once on the next new key.
        std::vector<std::pair<int64_t, std::string>> by_age;
        by_age.reserve(shard.buckets.size());
        for (const auto& [k, b] : shard.buckets) by_age.emplace_back(b.last_ms, k);
        size_t drop = std::max<size_t>(1, by_age.size() / 8);
        std::nth_element(by_age.begin(), by_age.begin() + (drop - 1), by_age.end());
        for (size_t i = 0; i < drop; ++i) shard.buckets.erase(by_age[i].second);
      }
    }
    it = shard.buckets.emplace(key, Shard::Bucket{full, now}).first;
  }
  Shard::Bucket& b = it->second;
  int64_t elapsed = std::max<int64_t>(0, now - b.last_ms);  // a clock going back refills nothing
  b.units = elapsed >= spec_.per_ms ? full : std::min(full, b.units + elapsed * spec_.requests);
  b.last_ms = std::max(b.last_ms, now);
  RateDecision d;
  if (b.units >= cost) {
    b.units -= cost;
    d.allowed = true;
    d.remaining = b.units / cost;
    d.reset_s = d.remaining > 0 ? 0 : CeilDiv(CeilDiv(cost - b.units, spec_.requests), 1000);
    return d;
  }
  d.allowed = false;
  d.remaining = 0;
  d.retry_after_s = std::max<int64_t>(1, CeilDiv(CeilDiv(cost - b.units, spec_.requests), 1000));
  d.reset_s = d.retry_after_s;
  return d;
}

size_t RateLimiter::TrackedKeys() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mu);
    n += s->buckets.size();
  }
  return n;
}

ConcurrencyLimiter::ConcurrencyLimiter(int max_per_key) : max_per_key_(std::max(0, max_per_key)) {}

std::optional<ConcurrencyLimiter::Slot> ConcurrencyLimiter::TryAcquire(const std::string& key) {
  if (max_per_key_ == 0) return Slot(nullptr, key);
  std::lock_guard<std::mutex> lock(mu_);
  int& n = in_use_[key];
  if (n >= max_per_key_) return std::nullopt;
  ++n;
  return Slot(this, key);
}

int ConcurrencyLimiter::InUse(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_use_.find(key);
  return it == in_use_.end() ? 0 : it->second;
}

void ConcurrencyLimiter::Release(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_use_.find(key);
  if (it != in_use_.end() && --it->second <= 0) in_use_.erase(it);
}

ConcurrencyLimiter::Slot::Slot(Slot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_)) {}

ConcurrencyLimiter::Slot& ConcurrencyLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

ConcurrencyLimiter::Slot::~Slot() { Release(); }

void ConcurrencyLimiter::Slot::Release() {
  if (owner_) std::exchange(owner_, nullptr)->Release(key_);
}

}  // namespace supertable::security
