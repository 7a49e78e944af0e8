// The catalog on Redis (hiredis, synchronous): commands, reconnection and Sentinel discovery,
// the commit and lock scripts.
#include "catalog/redis_catalog.h"

#include <hiredis/hiredis.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/text.h"

namespace supertable {

using nlohmann::json;

// A reply copied out of hiredis, so the reply object is freed at once.
struct RedisValue {
  enum class Type { kNil, kString, kInteger, kArray, kStatus } type = Type::kNil;
  std::string str;
  long long integer = 0;
  std::vector<RedisValue> elements;
};

namespace {

RedisValue Copy(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = RedisValue::Type::kString;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::Type::kStatus;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::kInteger;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(Copy(r->element[i]));
      break;
    default:
      break;
  }
  return v;
}

std::string Key(const std::string& org) { return fmt::format("supertable:{}:supers", org); }
std::string TablesKey(const std::string& org, const std::string& super_name) {
  return fmt::format("supertable:{}:{}:tables", org, super_name);
}
std::string HistoryKey(const TableRef& t) {
  return fmt::format("supertable:{}:{}:{}:history", t.org, t.super_name, t.table);
}
std::string LockKey(const std::string& name) { return "supertable:lock:" + name; }
std::string DocumentsKey(const std::string& org, const std::string& kind) {
  return fmt::format("supertable:{}:documents:{}", org, kind);
}

// Compare-and-set of one hash field: ARGV[3] is the body expected now ("" = absent).
constexpr const char* kPutDocumentScript = R"lua(
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua";

std::string EncodeRecord(const CommitRecord& r) {
  return json{{"v", r.version},
              {"k", r.snapshot_key},
              {"t", r.committed_micros},
              {"op", r.operation},
              {"s", r.summary_json}}
      .dump();
}

Result<CommitRecord> DecodeRecord(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("v") || !j["v"].is_number_integer()) {
    return Status::Internal(
        fmt::format("catalog: unreadable commit record in Redis: {}", text.substr(0, 200)));
  }
  CommitRecord r;
  r.version = j["v"];
  r.snapshot_key = j.value("k", "");
  r.committed_micros = j.value("t", int64_t{0});
  r.operation = j.value("op", "");
  r.summary_json = j.value("s", "{}");
  return r;
}

// Lua scripts: each runs atomically on the server.
// KEYS: tables hash, history hash, supers hash. ARGV: table, expected version, record, new
// version, super name, created micros. Returns {1, version} or {0, current version}.
constexpr const char* kCommitScript = R"lua(
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local v = 0
if cur then v = cjson.decode(cur)['v'] end
if v ~= tonumber(ARGV[2]) then return {0, v} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[3])
redis.call('HSETNX', KEYS[3], ARGV[5], ARGV[6])
return {1, tonumber(ARGV[4])}
)lua";

// KEYS: tables hash, history hash. ARGV: table, keep_from. Never forgets the current version.
constexpr const char* kExpireScript = R"lua(
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local limit = math.min(tonumber(ARGV[2]), cjson.decode(cur)['v'])
local n = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
  if tonumber(f) < limit then redis.call('HDEL', KEYS[2], f); n = n + 1 end
end
return n
)lua";

// KEYS: supers hash, tables hash. ARGV: super name, history key prefix.
constexpr const char* kDropSuperScript = R"lua(
for _, t in ipairs(redis.call('HKEYS', KEYS[2])) do
  redis.call('DEL', ARGV[2] .. t .. ':history')
end
redis.call('DEL', KEYS[2])
return redis.call('HDEL', KEYS[1], ARGV[1])
)lua";

// KEYS: tables hash, history hash, supers hash. ARGV: table, super, created micros, head
// record, then (version, record) pairs. Returns 0 when the table exists.
constexpr const char* kRestoreScript = R"lua(
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[3])
return 1
)lua";

// KEYS: lock. ARGV: value, ttl ms. Extends the lease only for the holder.
constexpr const char* kRenewScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
)lua";

// KEYS: lock. ARGV: value. Deletes only the holder's lock.
constexpr const char* kReleaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// How a command rides out a lost connection: attempts until `window_ms` has passed, sleeping
// 50 ms doubling to 1 s in between.
class RetryWindow {
 public:
  explicit RetryWindow(int64_t window_ms)
      : deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(window_ms)) {}
  bool Expired() const { return std::chrono::steady_clock::now() >= deadline_; }
  int64_t next_ms() const { return next_ms_; }
  void Sleep() {
    std::this_thread::sleep_for(std::chrono::milliseconds(next_ms_));
    next_ms_ = std::min<int64_t>(next_ms_ * 2, 1000);
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  int64_t next_ms_ = 50;
};

Result<std::pair<std::string, int>> ParseHostPort(const std::string& text, const char* setting) {
  size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? text : text.substr(0, colon);
  int64_t port = 26379;
  if (colon != std::string::npos) {
    auto p = ParseIntSetting(setting, text.substr(colon + 1), 1);
    if (!p.ok() || *p > 65535) {
      return Status::InvalidArgument(
          fmt::format("{}: '{}' is not host:port (e.g. 127.0.0.1:26379)", setting, text));
    }
    port = *p;
  }
  if (host.empty())
    return Status::InvalidArgument(fmt::format("{}: '{}' has no host", setting, text));
  return std::make_pair(host, static_cast<int>(port));
}

}  // namespace

std::string RedisConfig::Describe() const {
  if (!sentinel) return fmt::format("redis {}:{} db {}", host, port, db);
  std::vector<std::string> s;
  for (const auto& [h, p] : sentinels) s.push_back(fmt::format("{}:{}", h, p));
  return fmt::format("redis master '{}' via sentinels {} db {}", master, fmt::join(s, ","), db);
}

Result<RedisConfig> ParseRedisUrl(const std::string& url) {
  RedisConfig c;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(
        fmt::format("SUPERTABLE_REDIS_URL is not valid ({}): expected "
                    "redis://[user[:password]@]host[:port][/db]",
                    why));
  };
  const std::string scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) return bad("it must start with redis://");
  std::string rest = url.substr(scheme.size());
  size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = auth.find(':');
    if (colon == std::string::npos) {
      c.password = auth;
    } else {
      c.username = auth.substr(0, colon);
      c.password = auth.substr(colon + 1);
    }
  }
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos && slash + 1 < rest.size()) {
    auto db = ParseIntSetting("SUPERTABLE_REDIS_URL database", rest.substr(slash + 1), 0);
    if (!db.ok()) return bad("the database must be a number");
    c.db = static_cast<int>(*db);
  }
  size_t colon = hostport.rfind(':');
  c.host = hostport.substr(0, colon);
  if (colon != std::string::npos) {
    auto p = ParseIntSetting("SUPERTABLE_REDIS_URL port", hostport.substr(colon + 1), 1);
    if (!p.ok() || *p > 65535) return bad("the port must be 1 to 65535");
    c.port = static_cast<int>(*p);
  }
  if (c.host.empty()) return bad("no host");
  return c;
}

Result<RedisConfig> RedisConfigFromEnvironment() {
  // The SUPERTABLE_ name wins over the plain one the original SuperTable also read.
  auto get = [](const std::string& name) { return FirstSetting({"SUPERTABLE_" + name, name}); };
  RedisConfig c;
  if (auto url = GetSetting("SUPERTABLE_REDIS_URL").value_or(""); !url.empty()) {
    ST_ASSIGN_OR_RETURN(c, ParseRedisUrl(url));
  } else {
    if (auto h = get("REDIS_HOST"); !h.empty()) c.host = h;
    if (auto p = get("REDIS_PORT"); !p.empty()) {
      ST_ASSIGN_OR_RETURN(int64_t port, ParseIntSetting("REDIS_PORT", p, 1));
      if (port > 65535)
        return Status::InvalidArgument(
            fmt::format("REDIS_PORT='{}' is not valid: expected 1 to 65535", p));
      c.port = static_cast<int>(port);
    }
    if (auto d = get("REDIS_DB"); !d.empty()) {
      ST_ASSIGN_OR_RETURN(int64_t db, ParseIntSetting("REDIS_DB", d, 0));
      c.db = static_cast<int>(db);
    }
    c.password = get("REDIS_PASSWORD");
  }
  std::string sentinel = GetSetting("SUPERTABLE_REDIS_SENTINEL").value_or("");
  for (auto& ch : sentinel) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (sentinel == "1" || sentinel == "true" || sentinel == "yes" || sentinel == "on") {
    c.sentinel = true;
  } else if (!sentinel.empty() && sentinel != "0" && sentinel != "false" && sentinel != "no" &&
             sentinel != "off") {
    return Status::InvalidArgument(fmt::format(
        "SUPERTABLE_REDIS_SENTINEL='{}' is not valid: expected true or false", sentinel));
  }
  if (c.sentinel) {
    std::string list = GetSetting("SUPERTABLE_REDIS_SENTINELS").value_or("");
    for (const auto& item : SplitComma(list)) {
      ST_ASSIGN_OR_RETURN(auto hp, ParseHostPort(item, "SUPERTABLE_REDIS_SENTINELS"));
      c.sentinels.push_back(hp);
    }
    if (c.sentinels.empty()) {
      return Status::InvalidArgument(
          "SUPERTABLE_REDIS_SENTINEL=true needs SUPERTABLE_REDIS_SENTINELS, e.g. "
          "127.0.0.1:26379,127.0.0.1:26380");
    }
    c.master = GetSetting("SUPERTABLE_REDIS_SENTINEL_MASTER").value_or("");
    if (c.master.empty()) c.master = "mymaster";
    c.sentinel_password = GetSetting("SUPERTABLE_REDIS_SENTINEL_PASSWORD").value_or("");
  }
  if (auto r = GetSetting("SUPERTABLE_REDIS_MIN_REPLICAS_ACK").value_or(""); !r.empty()) {
    ST_ASSIGN_OR_RETURN(int64_t n, ParseIntSetting("SUPERTABLE_REDIS_MIN_REPLICAS_ACK", r, 0));
    c.min_replicas_ack = static_cast<int>(n);
  }
  return c;
}

Result<std::unique_ptr<RedisCatalog>> RedisCatalog::Open(RedisConfig config) {
  auto cat = std::unique_ptr<RedisCatalog>(new RedisCatalog(std::move(config)));
  std::lock_guard<std::mutex> g(cat->mu_);
  Status s = cat->Connect();
  if (!s.ok()) {
    return Status::IoError(fmt::format("cannot reach the Redis catalog ({}): {}",
                                       cat->config_.Describe(), s.message()));
  }
  return cat;
}

RedisCatalog::~RedisCatalog() { Disconnect(); }

void RedisCatalog::Disconnect() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

Status RedisCatalog::ConnectTo(const std::string& host, int port) {
  Disconnect();
  timeval tv{config_.connect_timeout_ms / 1000,
             static_cast<suseconds_t>((config_.connect_timeout_ms % 1000) * 1000)};
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, tv);
  if (!c || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    return Status::IoError(fmt::format("{}:{}: {}", host, port, why));
  }
  timeval io{config_.io_timeout_ms / 1000,
             static_cast<suseconds_t>((config_.io_timeout_ms % 1000) * 1000)};
  redisSetTimeout(c, io);
  redisEnableKeepAlive(c);
  ctx_ = c;
  connected_to_ = fmt::format("{}:{}", host, port);
  // Every step must succeed on this connection, or it is dropped: a refused SELECT must not
  // leave later commands running against database 0.
  auto handshake = [&]() -> Status {
    bool lost = false;
    if (!config_.password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!config_.username.empty()) auth.push_back(config_.username);
      auth.push_back(config_.password);
      auto r = RunOnce(auth, &lost);
      if (!r.ok())
        return Status::IoError(
            fmt::format("{}: authentication failed: {}", connected_to_, r.status().message()));
    }
    if (config_.db != 0) {
      auto r = RunOnce({"SELECT", std::to_string(config_.db)}, &lost);
      if (!r.ok()) return r.status();
    }
    if (config_.sentinel) {
      // Sentinel may still name a master that has just been demoted: make sure.
      auto role = RunOnce({"ROLE"}, &lost);
      if (!role.ok()) return role.status();
      if (role->elements.empty() || role->elements[0].str != "master") {
        Disconnect();
        return Status::IoError(fmt::format("{} is not a master (yet)", connected_to_));
      }
    } else {
      auto pong = RunOnce({"PING"}, &lost);
      if (!pong.ok()) return pong.status();
    }
    return Status::Ok();
  };
  Status s = handshake();
  if (!s.ok()) Disconnect();
  return s;
}

Result<std::pair<std::string, int>> RedisCatalog::DiscoverMaster() {
  std::vector<std::string> errors;
  for (const auto& [host, port] : config_.sentinels) {
    timeval tv{config_.connect_timeout_ms / 1000,
               static_cast<suseconds_t>((config_.connect_timeout_ms % 1000) * 1000)};
    redisContext* s = redisConnectWithTimeout(host.c_str(), port, tv);
    if (!s || s->err) {
      errors.push_back(fmt::format("sentinel {}:{}: {}", host, port, s ? s->errstr : "no memory"));
      if (s) redisFree(s);
      continue;
    }
    redisSetTimeout(s, tv);
    if (!config_.sentinel_password.empty()) {
      auto* a = static_cast<redisReply*>(redisCommand(
          s, "AUTH %b", config_.sentinel_password.data(), config_.sentinel_password.size()));
      bool refused = !a || a->type == REDIS_REPLY_ERROR;
      if (a) freeReplyObject(a);
      if (refused) {
        errors.push_back(
            fmt::format("sentinel {}:{} refused SUPERTABLE_REDIS_SENTINEL_PASSWORD", host, port));
        redisFree(s);
        continue;
      }
    }
    auto* r = static_cast<redisReply*>(redisCommand(s, "SENTINEL get-master-addr-by-name %b",
                                                    config_.master.data(), config_.master.size()));
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
      std::string h(r->element[0]->str, r->element[0]->len);
      int p = std::atoi(r->element[1]->str);
      freeReplyObject(r);
      redisFree(s);
      return std::make_pair(h, p);
    }
    errors.push_back(
        fmt::format("sentinel {}:{} does not know master '{}'", host, port, config_.master));
    if (r) freeReplyObject(r);
    redisFree(s);
  }
  return Status::IoError(fmt::format("no sentinel named the master: {}", fmt::join(errors, "; ")));
}

Status RedisCatalog::Connect() {
  if (!config_.sentinel) return ConnectTo(config_.host, config_.port);
  ST_ASSIGN_OR_RETURN(auto master, DiscoverMaster());
  return ConnectTo(master.first, master.second);
}

Result<RedisValue> RedisCatalog::RunOnce(const std::vector<std::string>& argv, bool* lost) {
  *lost = false;
  if (!ctx_) {
    *lost = true;
    return Status::IoError("not connected");
  }
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data()));
  if (!r) {
    *lost = true;
    std::string why = ctx_->errstr;
    Disconnect();
    return Status::IoError(fmt::format("{}: {}", connected_to_, why));
  }
  if (r->type == REDIS_REPLY_ERROR) {
    std::string msg(r->str, r->len);
    freeReplyObject(r);
    // A demoted master refuses writes: to the caller that is the same as a lost connection.
    if (msg.rfind("READONLY", 0) == 0 || msg.rfind("LOADING", 0) == 0 ||
        msg.rfind("MASTERDOWN", 0) == 0) {
      *lost = true;
      Disconnect();
    }
    return Status::IoError(fmt::format("redis {}: {}", argv[0], msg));
  }
  RedisValue v = Copy(r);
  freeReplyObject(r);
  return v;
}

Result<RedisValue> RedisCatalog::Run(const std::vector<std::string>& argv) {
  RetryWindow retry(config_.retry_window_ms);
  Status last = Status::Ok();
  while (true) {
    bool lost = false;
    if (ctx_) {
      auto r = RunOnce(argv, &lost);
      if (r.ok() || !lost) return r;
      last = r.status();
    } else {
      Status c = Connect();
      if (c.ok()) continue;
      last = c;
    }
    if (retry.Expired()) {
      return Status::IoError(fmt::format("the Redis catalog ({}) is unreachable: {}",
                                         config_.Describe(), last.message()));
    }
    log::Warn("redis catalog: {}; retrying in {} ms", last.message(), retry.next_ms());
    retry.Sleep();
  }
}

Result<bool> RedisCatalog::SuperExists(const std::string& org, const std::string& super_name) {
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(auto r, Run({"HEXISTS", Key(org), super_name}));
  return r.integer == 1;
}

Result<std::vector<std::string>> RedisCatalog::ListSupers(const std::string& org) {
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(auto r, Run({"HKEYS", Key(org)}));
  std::vector<std::string> out;
  for (const auto& e : r.elements) out.push_back(e.str);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<TableEntry>> RedisCatalog::ListTables(const std::string& org,
                                                         const std::string& super_name) {
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(auto r, Run({"HGETALL", TablesKey(org, super_name)}));
  std::vector<TableEntry> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    ST_ASSIGN_OR_RETURN(auto rec, DecodeRecord(r.elements[i + 1].str));
    out.push_back({r.elements[i].str, rec});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Result<std::optional<CommitRecord>> RedisCatalog::GetHead(const TableRef& t) {
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(auto r, Run({"HGET", TablesKey(t.org, t.super_name), t.table}));
  if (r.type == RedisValue::Type::kNil) return std::optional<CommitRecord>();
  ST_ASSIGN_OR_RETURN(auto rec, DecodeRecord(r.str));
  return std::optional<CommitRecord>(rec);
}

int RedisCatalog::ReplicasToWaitFor() {
  if (config_.min_replicas_ack >= 0) return config_.min_replicas_ack;
  return config_.sentinel ? 1 : 0;
}

Status RedisCatalog::Commit(const TableRef& t, int64_t expected_version, const CommitRecord& r) {
  if (r.version != expected_version + 1) {
    return Status::Internal(
        fmt::format("commit of version {} on top of {}", r.version, expected_version));
  }
  std::lock_guard<std::mutex> g(mu_);
  std::vector<std::string> argv = {"EVAL",
                                   kCommitScript,
                                   "3",
                                   TablesKey(t.org, t.super_name),
                                   HistoryKey(t),
                                   Key(t.org),
                                   t.table,
                                   std::to_string(expected_version),
                                   EncodeRecord(r),
                                   std::to_string(r.version),
                                   t.super_name,
                                   std::to_string(r.committed_micros)};
  RetryWindow retry(config_.retry_window_ms);
  // After a lost connection the script may or may not have run: the head says which. A blind
  // retry could turn our own success into a conflict, and the writer would write twice.
  bool maybe_applied = false;
  Status last = Status::Ok();
  while (true) {
    bool lost = false;
    if (!ctx_) {
      Status c = Connect();
      if (!c.ok()) last = c;
    }
    if (ctx_ && maybe_applied) {
      // Our version's history record says whether the script ran, even if another writer has
      // committed on top since.
      auto mine = RunOnce({"HGET", HistoryKey(t), std::to_string(r.version)}, &lost);
      auto head = lost ? mine : RunOnce({"HGET", TablesKey(t.org, t.super_name), t.table}, &lost);
      if (mine.ok() && head.ok()) {
        if (mine->type == RedisValue::Type::kString) {
          ST_ASSIGN_OR_RETURN(auto rec, DecodeRecord(mine->str));
          if (rec.snapshot_key == r.snapshot_key) break;
        }
        std::optional<CommitRecord> cur;
        if (head->type == RedisValue::Type::kString) {
          ST_ASSIGN_OR_RETURN(cur, DecodeRecord(head->str));
        }
        int64_t now = cur ? cur->version : 0;
        if (now > expected_version) {
          // Someone committed on top, and our record is not in the history: either it never
          // ran, or it ran and its record has been expired since. Only "unknown" is honest.
          return Status::IoError(fmt::format(
              "commit of {} version {}: outcome unknown after a lost connection (the table is "
              "now at version {})",
              t.ToString(), r.version, now));
        }
        if (now != expected_version) {
          return Status::Conflict(fmt::format("table {} changed since version {} was read",
                                              t.ToString(), expected_version));
        }
        maybe_applied = false;  // it did not run: run it now
      } else if (!lost) {
        return mine.ok() ? head.status() : mine.status();
      } else {
        last = mine.ok() ? head.status() : mine.status();
      }
    }
    if (ctx_ && !maybe_applied) {
      auto reply = RunOnce(argv, &lost);
      if (reply.ok()) {
        if (reply->elements.size() != 2 || reply->elements[0].integer != 1) {
          int64_t now = reply->elements.size() == 2 ? reply->elements[1].integer : -1;
          return Status::Conflict(
              fmt::format("table {} changed since version {} was read (it is at version {})",
                          t.ToString(), expected_version, now));
        }
        break;
      }
      if (!lost) return reply.status();
      maybe_applied = true;
      last = reply.status();
    }
    if (retry.Expired()) {
      return Status::IoError(
          fmt::format("commit of {} version {}: the Redis catalog ({}) is unreachable: {}",
                      t.ToString(), r.version, config_.Describe(), last.message()));
    }
    log::Warn("redis catalog: commit of {} interrupted ({}); retrying", t.ToString(),
              last.message());
    retry.Sleep();
  }
  // Under Sentinel a commit counts once a replica has it, so a failover cannot take it back.
  // Only replicas that are connected are waited for: with none (the old master is down, the
  // new one has no replica yet) waiting would only stall every writer.
  if (int n = ReplicasToWaitFor(); n > 0 && ctx_) {
    bool lost = false;
    int64_t now = NowMicros() / 1000;
    if (now - replicas_checked_ms_ > 1000) {
      auto role = RunOnce({"ROLE"}, &lost);
      connected_replicas_ = role.ok() && role->elements.size() >= 3
                                ? static_cast<int>(role->elements[2].elements.size())
                                : 0;
      replicas_checked_ms_ = now;
    }
    int wait_for = std::min(n, connected_replicas_);
    long long acked = 0;
    if (wait_for > 0 && ctx_) {
      auto w = RunOnce(
          {"WAIT", std::to_string(wait_for), std::to_string(config_.io_timeout_ms / 2)}, &lost);
      acked = w.ok() ? w->integer : 0;
    }
    if (acked < n) {
      log::Warn("redis catalog: commit of {} version {} acknowledged by {} of {} replicas",
                t.ToString(), r.version, acked, n);
    }
  }
  return Status::Ok();
}

Result<std::vector<CommitRecord>> RedisCatalog::History(const TableRef& t) {
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(auto r, Run({"HVALS", HistoryKey(t)}));
  std::vector<CommitRecord> out;
  for (const auto& e : r.elements) {
    ST_ASSIGN_OR_RETURN(auto rec, DecodeRecord(e.str));
    out.push_back(rec);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  return out;
}

Status RedisCatalog::ExpireHistory(const TableRef& t, int64_t keep_from) {
  std::lock_guard<std::mutex> g(mu_);
  return Run({"EVAL", kExpireScript, "2", TablesKey(t.org, t.super_name), HistoryKey(t), t.table,
              std::to_string(keep_from)})
      .status();
}

Status RedisCatalog::DropTable(const TableRef& t) {
  std::lock_guard<std::mutex> g(mu_);
  // MULTI/EXEC would do as well; a script keeps every catalog change the same shape.
  return Run({"EVAL", "redis.call('HDEL', KEYS[1], ARGV[1]); return redis.call('DEL', KEYS[2])",
              "2", TablesKey(t.org, t.super_name), HistoryKey(t), t.table})
      .status();
}

Status RedisCatalog::DropSuper(const std::string& org, const std::string& super_name) {
  std::lock_guard<std::mutex> g(mu_);
  return Run({"EVAL", kDropSuperScript, "2", Key(org), TablesKey(org, super_name), super_name,
              fmt::format("supertable:{}:{}:", org, super_name)})
      .status();
}

Status RedisCatalog::RestoreTable(const TableRef& t, const std::vector<CommitRecord>& history) {
  if (history.empty()) return Status::InvalidArgument("a restored table needs its history");
  std::vector<std::string> argv = {"EVAL",
                                   kRestoreScript,
                                   "3",
                                   TablesKey(t.org, t.super_name),
                                   HistoryKey(t),
                                   Key(t.org),
                                   t.table,
                                   t.super_name,
                                   std::to_string(history.front().committed_micros),
                                   EncodeRecord(history.back())};
  for (const auto& r : history) {
    argv.push_back(std::to_string(r.version));
    argv.push_back(EncodeRecord(r));
  }
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(auto r, Run(argv));
  if (r.integer != 1)
    return Status::AlreadyExists(fmt::format("table {} already exists", t.ToString()));
  return Status::Ok();
}

Status RedisCatalog::RestoreSuper(const std::string& org, const std::string& super_name) {
  std::lock_guard<std::mutex> g(mu_);
  return Run({"HSETNX", Key(org), super_name, std::to_string(NowMicros())}).status();
}

Result<std::optional<std::string>> RedisCatalog::GetDocument(const std::string& org,
                                                             const std::string& kind,
                                                             const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(auto r, Run({"HGET", DocumentsKey(org, kind), name}));
  if (r.type == RedisValue::Type::kNil) return std::optional<std::string>();
  return std::optional<std::string>(r.str);
}

Result<std::vector<std::pair<std::string, std::string>>> RedisCatalog::ListDocuments(
    const std::string& org, const std::string& kind) {
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(auto r, Run({"HGETALL", DocumentsKey(org, kind)}));
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2)
    out.emplace_back(r.elements[i].str, r.elements[i + 1].str);
  std::sort(out.begin(), out.end());
  return out;
}

Status RedisCatalog::PutDocument(const std::string& org, const std::string& kind,
                                 const std::string& name, const std::string& body,
                                 const std::string* expected) {
  std::lock_guard<std::mutex> g(mu_);
  if (!expected) return Run({"HSET", DocumentsKey(org, kind), name, body}).status();
  // Safe to repeat after a lost reply: a retry of a write that landed finds its own body, which
  // differs from `expected` only if the write really changed something.
  ST_ASSIGN_OR_RETURN(auto r, Run({"EVAL", kPutDocumentScript, "1", DocumentsKey(org, kind), name,
                                   body, *expected}));
  if (r.integer != 1) {
    ST_ASSIGN_OR_RETURN(auto cur, Run({"HGET", DocumentsKey(org, kind), name}));
    if (cur.type == RedisValue::Type::kString && cur.str == body) return Status::Ok();
    return Status::Conflict(
        fmt::format("{} '{}' was changed by someone else meanwhile; try again", kind, name));
  }
  return Status::Ok();
}

Result<bool> RedisCatalog::DeleteDocument(const std::string& org, const std::string& kind,
                                          const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(auto r, Run({"HDEL", DocumentsKey(org, kind), name}));
  return r.integer > 0;
}

Result<std::unique_ptr<Lock>> RedisCatalog::AcquireLock(const std::string& name, int64_t ttl_ms,
                                                        int64_t timeout_ms) {
  // The value names the holder, so a refusal can say who holds it.
  std::string value = RandomId() + " " + LockOwnerIdentity();
  auto try_once = [&]() -> Result<std::optional<std::string>> {
    std::lock_guard<std::mutex> g(mu_);
    while (true) {
      ST_ASSIGN_OR_RETURN(auto r,
                          Run({"SET", LockKey(name), value, "NX", "PX", std::to_string(ttl_ms)}));
      if (r.type == RedisValue::Type::kStatus) return std::optional<std::string>();
      ST_ASSIGN_OR_RETURN(auto cur, Run({"GET", LockKey(name)}));
      // Our own SET may have landed before a lost reply was retried.
      if (cur.str == value) return std::optional<std::string>();
      std::string holder = cur.str.substr(cur.str.find(' ') + 1);
      if (cur.type != RedisValue::Type::kString || !OwnerIsDeadLocalProcess(holder))
        return std::optional<std::string>(holder);
      ST_RETURN_IF_ERROR(Run({"EVAL", kReleaseScript, "1", LockKey(name), cur.str}).status());
      log::Info("redis catalog: broke lock {} of dead process {}", name, holder);
    }
  };
  ST_RETURN_IF_ERROR(WaitForLock(name, timeout_ms, try_once));
  return std::unique_ptr<Lock>(std::make_unique<LeasedLock>(this, name, value, ttl_ms));
}

Status RedisCatalog::RenewLock(const std::string& name, const std::string& value, int64_t ttl_ms) {
  std::lock_guard<std::mutex> g(mu_);
  ST_ASSIGN_OR_RETURN(
      auto r, Run({"EVAL", kRenewScript, "1", LockKey(name), value, std::to_string(ttl_ms)}));
  if (r.integer != 1)
    return Status::Conflict(fmt::format("lock {} was lost (expired and taken)", name));
  return Status::Ok();
}

Status RedisCatalog::ReleaseLock(const std::string& name, const std::string& value) {
  std::lock_guard<std::mutex> g(mu_);
  return Run({"EVAL", kReleaseScript, "1", LockKey(name), value}).status();
}

}  // namespace supertable
