// The per-principal limits of src/security/rate_limit.h: spec parsing and header values, the
// token bucket against an injected clock, bounded memory, and concurrent query slots.
#include "security/rate_limit.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace supertable::security {
namespace {

using Vars = std::vector<std::pair<std::string, std::string>>;

TEST(RateLimitSpec, ParsesCountsAndUnits) {
  struct Case {
    const char* text;
    int64_t requests, per_ms;
  } cases[] = {{"600/min", 600, 60000},     {"10/s", 10, 1000},
               {"100/second", 100, 1000},   {"5000/hour", 5000, 3600000},
               {" 7 / Minutes ", 7, 60000}, {"20000/day", 20000, 86400000},
               {"1/h", 1, 3600000}};
  for (const auto& c : cases) {
    auto r = RateLimitSpec::Parse(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().message();
    EXPECT_EQ(r->requests, c.requests) << c.text;
    EXPECT_EQ(r->per_ms, c.per_ms) << c.text;
    EXPECT_TRUE(r->enabled());
  }
  for (const char* off : {"", "0", "  "}) {
    auto r = RateLimitSpec::Parse(off);
    ASSERT_TRUE(r.ok()) << off;
    EXPECT_FALSE(r->enabled()) << off;
  }
}

TEST(RateLimitSpec, RefusesOtherTextsClearly) {
  for (const char* bad : {"fast", "600", "600/", "/min", "-1/min", "0/min", "1.5/s", "600/week",
                          "600/min/s", "99999999999/s", "1e3/s", "600 per minute"}) {
    auto r = RateLimitSpec::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("expected <count>/<unit>"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
}

TEST(RateLimitSpec, HeaderValues) {
  EXPECT_EQ(RateLimitSpec::Parse("600/min")->PolicyHeader(), "\"default\";q=600;w=60");
  EXPECT_EQ(RateLimitSpec::Parse("10/s")->PolicyHeader(), "\"default\";q=10;w=1");
  RateDecision d{true, 599, 0, 0};
  EXPECT_EQ(d.RateLimitHeader(), "\"default\";r=599;t=0");
}

TEST(RateLimitSpec, FromEnvironmentNamesTheSetting) {
  {
    testing::ScopedEnv env(Vars{{"SUPERTABLE_RATE_LIMIT", "lots"}});
    auto r = RateLimitSpecFromEnvironment();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("SUPERTABLE_RATE_LIMIT"), std::string::npos);
  }
  {
    testing::ScopedEnv env(Vars{{"SUPERTABLE_RATE_LIMIT", "60/min"}});
    EXPECT_EQ(RateLimitSpecFromEnvironment()->requests, 60);
  }
  {
    testing::ScopedEnv env(Vars{{"SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL", ""}});
    EXPECT_EQ(*MaxQueriesPerPrincipalFromEnvironment(), kDefaultMaxQueriesPerPrincipal);
  }
  {
    testing::ScopedEnv env(Vars{{"SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL", "5"}});
    EXPECT_EQ(*MaxQueriesPerPrincipalFromEnvironment(), 5);
  }
  {
    testing::ScopedEnv env(Vars{{"SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL", "-1"}});
    auto r = MaxQueriesPerPrincipalFromEnvironment();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL"), std::string::npos);
  }
}

struct FakeClock {
  std::atomic<int64_t> ms{1000000};
  std::function<int64_t()> fn() {
    return [this] { return ms.load(); };
  }
};

TEST(RateLimiter, BurstThenRefusesWithRetryAfter) {
  FakeClock clock;
  RateLimiter limiter({10, 1000}, clock.fn());  // 10/s: one token per 100 ms
  for (int i = 0; i < 10; ++i) {
    RateDecision d = limiter.Take("alice");
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 9 - i);
    EXPECT_EQ(d.retry_after_s, 0);
  }
  RateDecision refused = limiter.Take("alice");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_s, 1);  // 100 ms, rounded up to whole seconds
  EXPECT_EQ(refused.reset_s, 1);
  EXPECT_EQ(refused.RateLimitHeader(), "\"default\";r=0;t=1");
  // Another principal has a bucket of its own.
  EXPECT_TRUE(limiter.Take("bob").allowed);
}

TEST(RateLimiter, RefillsContinuouslyAndCapsAtTheBurst) {
  FakeClock clock;
  RateLimiter limiter({600, 60000}, clock.fn());  // one token per 100 ms
  EXPECT_EQ(limiter.Take("k").remaining, 599);
  for (int i = 0; i < 599; ++i) ASSERT_TRUE(limiter.Take("k").allowed);
  EXPECT_FALSE(limiter.Take("k").allowed);
  clock.ms += 99;
  EXPECT_FALSE(limiter.Take("k").allowed);
  clock.ms += 1;
  RateDecision d = limiter.Take("k");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.reset_s, 1);  // the next token is 100 ms away
  clock.ms += 250;          // 2.5 tokens
  EXPECT_EQ(limiter.Take("k").remaining, 1);
  clock.ms += 10 * 60000;  // long idle: full, not more than full
  EXPECT_EQ(limiter.Take("k").remaining, 599);
}

TEST(RateLimiter, LongWindowsRetryAfterIsExact) {
  FakeClock clock;
  RateLimiter limiter({2, 3600000}, clock.fn());  // 2/hour: a token every 1800 s
  EXPECT_TRUE(limiter.Take("k").allowed);
  EXPECT_TRUE(limiter.Take("k").allowed);
  RateDecision d = limiter.Take("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 1800);
  clock.ms += 1000000;
  EXPECT_EQ(limiter.Take("k").retry_after_s, 800);
}

TEST(RateLimiter, ClockGoingBackwardsRefillsNothing) {
  FakeClock clock;
  RateLimiter limiter({1, 1000}, clock.fn());
  EXPECT_TRUE(limiter.Take("k").allowed);
  clock.ms -= 5000;
  EXPECT_FALSE(limiter.Take("k").allowed);
}

TEST(RateLimiter, OffAllowsEverything) {
  RateLimiter limiter(RateLimitSpec{});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Take("k").allowed);
  EXPECT_EQ(limiter.TrackedKeys(), 0u);
}

TEST(RateLimiter, MemoryStaysBoundedUnderManyKeys) {
  FakeClock clock;
  RateLimiter limiter({5, 60000}, clock.fn(), /*max_keys=*/1600);
  for (int i = 0; i < 50000; ++i) {
    limiter.Take("key-" + std::to_string(i));
    if (i % 100 == 0) clock.ms += 1;
  }
  EXPECT_LE(limiter.TrackedKeys(), 1600u);
  EXPECT_GT(limiter.TrackedKeys(), 800u);
}

TEST(RateLimiter, IdleBucketsAreEvictedWithoutChangingDecisions) {
  FakeClock clock;
  RateLimiter limiter({2, 1000}, clock.fn());
  for (int i = 0; i < 1000; ++i) limiter.Take("old-" + std::to_string(i));
  EXPECT_EQ(limiter.TrackedKeys(), 1000u);
  EXPECT_TRUE(limiter.Take("drained").allowed);
  EXPECT_TRUE(limiter.Take("drained").allowed);
  EXPECT_FALSE(limiter.Take("drained").allowed);
  clock.ms += 1000;  // every bucket is full again
  for (int i = 0; i < 200; ++i) limiter.Take("new-" + std::to_string(i));
  EXPECT_LE(limiter.TrackedKeys(), 201u);  // the idle ones went on the shards' next sweep
  // Evicted or not, a bucket idle for a window starts full.
  EXPECT_EQ(limiter.Take("drained").remaining, 1);
}

TEST(RateLimiter, ConcurrentTakesNeverOverspend) {
  FakeClock clock;  // frozen: no refill while the threads run
  RateLimiter limiter({1000, 60000}, clock.fn());
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.Take("shared").allowed) ++allowed;
        limiter.Take("own-" + std::to_string(i));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

TEST(ConcurrencyLimiter, CapsSlotsPerKeyAndReleasesOnDestruction) {
  ConcurrencyLimiter limiter(2);
  auto a = limiter.TryAcquire("alice");
  auto b = limiter.TryAcquire("alice");
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(limiter.TryAcquire("alice"));
  EXPECT_TRUE(limiter.TryAcquire("bob"));  // released again at once
  EXPECT_EQ(limiter.InUse("alice"), 2);
  EXPECT_EQ(limiter.InUse("bob"), 0);
  a.reset();
  EXPECT_EQ(limiter.InUse("alice"), 1);
  {
    auto c = limiter.TryAcquire("alice");
    ASSERT_TRUE(c);
    auto moved = std::move(*c);  // the moved-from slot must not release twice
    c.reset();
    EXPECT_EQ(limiter.InUse("alice"), 2);
  }
  EXPECT_EQ(limiter.InUse("alice"), 1);
  b.reset();
  EXPECT_EQ(limiter.InUse("alice"), 0);
}

TEST(ConcurrencyLimiter, ZeroIsOff) {
  ConcurrencyLimiter limiter(0);
  std::vector<ConcurrencyLimiter::Slot> held;
  for (int i = 0; i < 100; ++i) {
    auto s = limiter.TryAcquire("k");
    ASSERT_TRUE(s);
    held.push_back(std::move(*s));
  }
  EXPECT_EQ(limiter.InUse("k"), 0);
}

TEST(ConcurrencyLimiter, ThreadsNeverExceedTheCap) {
  ConcurrencyLimiter limiter(3);
  std::atomic<int> running{0}, peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (auto slot = limiter.TryAcquire("k")) {
          int now = ++running;
          int p = peak.load();
          while (now > p && !peak.compare_exchange_weak(p, now)) {
          }
          --running;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 3);
  EXPECT_EQ(limiter.InUse("k"), 0);
}

}  // namespace
}  // namespace supertable::security
