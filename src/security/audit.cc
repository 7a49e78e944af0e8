// The audit trail's writer (AuditLog), reader (ReadAudit) and checker (VerifyAudit).
#include "security/audit.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <queue>

#include <fmt/format.h>

#include "common/config.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/text.h"
#include "table/system_tables.h"

namespace supertable::security {

namespace {

using nlohmann::json;

const std::string kZeroHash(64, '0');
constexpr int64_t kDropWarningIntervalMicros = 60LL * 1000000;
// A segment's records were all stamped before the store saw it, give or take the writers' clock
// skew and the store's one-second Last-Modified: ReadAudit skips segments modified this long
// before what it still needs.
constexpr int64_t kSegmentTimeSlackMicros = 60LL * 1000000;

// Invalid UTF-8 (in an error text, say) must not make a record unstorable: it becomes U+FFFD,
// in the hashed text and in the stored one alike, so the hash verifies after a parse.
std::string Canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RecordHash(const json& record_without_hash) {
  return Sha256Hex(Canonical(record_without_hash));
}

bool IsSecretKey(const std::string& key) {
  static const char* const kSecrets[] = {
      "auth_token",    "token",        "password",      "secret",     "authorization", "api_key",
      "client_secret", "access_token", "refresh_token", "supertoken", "cookie"};
  for (const char* s : kSecrets) {
    if (strcasecmp(key.c_str(), s) == 0) return true;
  }
  return false;
}

std::string StreamDir(const std::string& org, const std::string& stream) {
  return AuditTrailPrefix(org) + stream + "/";
}

std::string SegmentKey(const std::string& org, const std::string& stream, int64_t first_seq) {
  return fmt::format("{}{:012d}{}", StreamDir(org, stream), first_seq, kAuditSegmentSuffix);
}

// Canonical text, piece by piece: exactly what Canonical() writes for the same value, without
// nlohmann's serializer for the common cases (it sets up a locale and an output adapter per
// call, which costs more than the text). What is not common goes to Canonical() itself.
void AppendCanonical(std::string& out, std::string_view v) {
  for (unsigned char c : v) {
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
      // Escapes, non-ASCII and invalid UTF-8 (U+FFFD): nlohmann's own rules.
      out += Canonical(json(std::string(v)));
      return;
    }
  }
  out += '"';
  out.append(v);
  out += '"';
}
void AppendCanonical(std::string& out, const std::string& v) {
  AppendCanonical(out, std::string_view(v));
}
void AppendCanonical(std::string& out, int64_t v) { out += std::to_string(v); }
void AppendCanonical(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      AppendCanonical(out, std::string_view(v.get_ref<const std::string&>()));
      return;
    case json::value_t::number_integer:
      AppendCanonical(out, v.get<int64_t>());
      return;
    case json::value_t::object: {  // a std::map: keys already in canonical order
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        AppendCanonical(out, std::string_view(it.key()));
        out += ':';
        AppendCanonical(out, it.value());
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        AppendCanonical(out, v[i]);
      }
      out += ']';
      return;
    }
    default:  // null, booleans, unsigned and floating-point numbers, binary
      out += Canonical(v);
  }
}
void AppendCanonical(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    AppendCanonical(out, std::string_view(v[i]));
  }
  out += ']';
}
template <typename T>
void AppendField(std::string& out, std::string_view key, const T& value) {
  out += '"';
  out += key;  // our own keys: plain ASCII, nothing to escape
  out += "\":";
  AppendCanonical(out, value);
  out += ',';
}

// A record's stored line, and its hash (set in *hash). The hash covers the canonical text of the
// record without its "hash" key; the line is the canonical text with it. Written field by field
// in canonical (sorted) key order rather than through a json object: this runs once per audited
// call, and building and dumping an 18-key object cost more than the rest of a quick call.
// VerifyAudit recomputes the hash the plain way (RecordHash of the parsed line minus "hash"), and
// AuditTest.StoredLinesAreCanonical checks the line against a json dump.
std::string RecordLine(AuditRecord&& r, const std::string& stream, int64_t seq,
                       const std::string& prev, std::string* hash) {
  static const json kEmpty = json::object();
  std::string head = "{", tail;
  head.reserve(512);
  AppendField(head, "action", r.action);
  AppendField(head, "arguments", r.arguments.is_null() ? kEmpty : RedactSecrets(r.arguments));
  AppendField(head, "auth", r.auth);
  AppendField(head, "bytes", r.bytes);
  AppendField(head, "client", r.client && !r.client->is_null() ? *r.client : kEmpty);
  AppendField(head, "columns", r.columns);
  AppendField(head, "duration_micros", r.duration_micros);
  AppendField(head, "error", r.error);
  // "hash" sorts here, between "error" and "kind"
  AppendField(tail, "kind", r.kind);
  AppendField(tail, "outcome", r.outcome);
  AppendField(tail, "policies", r.policies);
  AppendField(tail, "prev", prev);
  AppendField(tail, "principal", r.principal);
  AppendField(tail, "rows", r.rows);
  AppendField(tail, "seq", seq);
  AppendField(tail, "stream", stream);
  AppendField(tail, "tables", r.tables);
  AppendField(tail, "time_micros", r.time_micros);
  AppendField(tail, "trace", r.trace);
  tail.back() = '}';
  *hash = Sha256Hex(head + tail);
  head += "\"hash\":\"";
  head += *hash;
  head += "\",";
  head += tail;
  return head;
}

// The segment's first line: its place in the stream's chain, so that a segment cut short, or
// one whose predecessor is gone, shows without reading any other object.
json SegmentHeader(const std::string& stream, int64_t first_seq, int64_t count,
                   const std::string& prev, const std::string& last) {
  return {{"segment",
           {{"stream", stream},
            {"first_seq", first_seq},
            {"count", count},
            {"prev", prev},
            {"last", last},
            {"written_micros", NowMicros()}}}};
}

std::vector<std::string_view> Lines(const std::string& text) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    if (nl > at) out.emplace_back(text.data() + at, nl - at);
    at = nl + 1;
  }
  return out;
}

// "<org>/__audit/<stream>/<name>" -> stream and name; false for keys of another shape.
bool SplitTrailKey(const std::string& prefix, const std::string& key, std::string* stream,
                   std::string* name) {
  if (key.rfind(prefix, 0) != 0) return false;
  size_t slash = key.find('/', prefix.size());
  if (slash == std::string::npos || slash == prefix.size()) return false;
  *stream = key.substr(prefix.size(), slash - prefix.size());
  *name = key.substr(slash + 1);
  return name->find('/') == std::string::npos && !name->empty();
}

bool IsSegmentName(const std::string& name) {
  const std::string suffix = kAuditSegmentSuffix;
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

json RedactSecrets(const json& arguments) {
  if (arguments.is_array()) {
    json out = json::array();
    for (const auto& v : arguments) out.push_back(RedactSecrets(v));
    return out;
  }
  if (!arguments.is_object()) return arguments;
  json out = json::object();
  for (auto it = arguments.begin(); it != arguments.end(); ++it) {
    out[it.key()] = IsSecretKey(it.key()) ? json("[redacted]") : RedactSecrets(it.value());
  }
  return out;
}

Result<std::optional<AuditOptions>> AuditOptionsFromEnvironment() {
  AuditOptions o;
  if (auto v = GetSetting("SUPERTABLE_AUDIT"); v && !v->empty()) {
    std::string s = AsciiLower(*v);
    if (s == "0" || s == "false" || s == "off" || s == "no") return std::optional<AuditOptions>();
    if (s != "1" && s != "true" && s != "on" && s != "yes") {
      return Status::InvalidArgument(fmt::format(
          "invalid SUPERTABLE_AUDIT '{}': expected 1/true/on to keep the audit trail or "
          "0/false/off to turn it off",
          *v));
    }
  }
  if (auto v = GetSetting("SUPERTABLE_AUDIT_FLUSH_MS"); v && !v->empty()) {
    ST_ASSIGN_OR_RETURN(o.flush_interval_ms, ParseIntSetting("SUPERTABLE_AUDIT_FLUSH_MS", *v, 1));
  }
  return std::optional<AuditOptions>(o);
}

// ---------------------------------------------------------------------------------------------
// AuditLog

Result<std::unique_ptr<AuditLog>> AuditLog::Open(ObjectStore& store, std::string org,
                                                 AuditOptions o) {
  if (org.empty() || org.find('/') != std::string::npos) {
    return Status::InvalidArgument(fmt::format(
        "invalid organization '{}' for the audit trail: expected a name without '/'", org));
  }
  if (o.flush_interval_ms < 1 || o.flush_records < 1 || o.encode_batch < 1 || o.queue_cap < 1) {
    return Status::InvalidArgument(
        "invalid audit options: flush_interval_ms, flush_records, encode_batch and queue_cap must "
        "be >= 1");
  }
  return std::unique_ptr<AuditLog>(new AuditLog(store, std::move(org), o));
}

AuditLog::AuditLog(ObjectStore& store, std::string org, AuditOptions o)
    : store_(store),
      org_(std::move(org)),
      options_(o),
      stream_(RandomId()),
      last_hash_(kZeroHash),
      thread_([this] { Run(); }) {}

AuditLog::~AuditLog() {
  Status s = Close();
  if (!s.ok()) log::Warn("audit trail: records lost at shutdown: {}", s.message());
}

void AuditLog::Append(AuditRecord r) {
  if (r.time_micros == 0) r.time_micros = NowMicros();
  bool wake = false;
  int64_t warn_dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || queue_.size() >= options_.queue_cap) {
      ++stats_.dropped;
      ++drops_since_warning_;
      if (r.time_micros - last_drop_warning_micros_ >= kDropWarningIntervalMicros) {
        last_drop_warning_micros_ = r.time_micros;
        warn_dropped = drops_since_warning_;
        drops_since_warning_ = 0;
      }
    } else {
      queue_.push_back(std::move(r));
      ++stats_.appended;
      wake = queue_.size() == EncodeBatch();
    }
  }
  if (wake) wake_.notify_one();
  // Outside the lock: other callers must not wait behind a write to stderr.
  if (warn_dropped > 0) {
    log::Warn(
        "audit trail: {} record(s) dropped because {} were waiting to be written (the store is "
        "slow or failing); this warning repeats at most once a minute",
        warn_dropped, options_.queue_cap);
  }
}

void AuditLog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  int64_t last_error_micros = 0;
  bool retry = false;  // the last round failed: write again after a full interval, not at once
  const size_t batch = EncodeBatch();
  const int64_t interval_micros = options_.flush_interval_ms * 1000;
  while (true) {
    // Until a batch waits, or the open segment is due (at most an interval).
    int64_t wait_micros = interval_micros;
    if (int64_t since = open_since_micros_.load(); since && !retry) {
      wait_micros = std::clamp<int64_t>(since + interval_micros - NowMicros(), 0, interval_micros);
    }
    wake_.wait_for(lock, std::chrono::microseconds(wait_micros),
                   [&] { return stop_ || (!retry && queue_.size() >= batch); });
    bool stopping = stop_;
    if (!queue_.empty() || retry || open_since_micros_.load()) {
      lock.unlock();
      Status s;
      {
        std::lock_guard<std::mutex> write_lock(write_mu_);
        s = WriteQueued(/*drain=*/stopping);
      }
      retry = !s.ok();  // what was not written stays queued (or pending) for the next round
      if (retry && NowMicros() - last_error_micros >= kDropWarningIntervalMicros) {
        last_error_micros = NowMicros();
        log::Warn("audit trail: cannot write to the store, will retry: {}", s.message());
      }
      lock.lock();
    }
    if (stopping) return;
  }
}

Status AuditLog::Flush() {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  return WriteQueued(/*drain=*/true);
}

Status AuditLog::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  return Flush();  // whatever the thread's last round could not write, with its error
}

AuditLog::Stats AuditLog::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status AuditLog::WritePending() {
  const Segment& seg = *pending_;
  if (!head_created_) {
    // A HEAD exists before the first segment does: a stream with segments and no HEAD is then
    // one whose HEAD was removed, never one whose writer crashed in between.
    json head = {{"stream", stream_},
                 {"seq", 0},
                 {"hash", kZeroHash},
                 {"segments", 0},
                 {"updated_micros", NowMicros()}};
    ST_RETURN_IF_ERROR(store_.Put(StreamDir(org_, stream_) + "HEAD", Canonical(head)));
    head_created_ = true;
  }
  Status put = store_.PutIfAbsent(seg.key, seg.text);
  if (put.code() == StatusCode::kAlreadyExists) {
    // An earlier attempt whose answer was lost may have written it: the same bytes are success.
    auto existing = store_.Get(seg.key);
    if (!existing.ok() || *existing != seg.text) {
      return Status::Internal(fmt::format(
          "audit segment {} already exists with other content: two streams share the id {}",
          seg.key, stream_));
    }
  } else if (!put.ok()) {
    return put;
  }
  int64_t segments;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.written += seg.count;
    segments = ++stats_.segments;
  }
  json head = {{"stream", stream_},
               {"seq", seg.first_seq + seg.count - 1},
               {"hash", seg.last_hash},
               {"segments", segments},
               {"updated_micros", NowMicros()}};
  pending_.reset();
  // The segment is safe; a HEAD left behind by a failure here only lags (verify accepts that),
  // and the next segment's HEAD catches up.
  Status s = store_.Put(StreamDir(org_, stream_) + "HEAD", Canonical(head));
  if (!s.ok()) log::Warn("audit trail: cannot update {}'s HEAD: {}", stream_, s.message());
  return Status::Ok();
}

void AuditLog::EncodeQueued() {
  std::vector<AuditRecord> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t room = options_.flush_records - static_cast<size_t>(open_ ? open_->count : 0);
    size_t n = std::min(queue_.size(), room);
    if (n == 0) return;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  if (!open_) {
    open_.emplace();
    open_->first_seq = next_seq_;
    open_->prev = last_hash_;
    open_since_micros_ = NowMicros();
  }
  // Chained now, in queue order; the chain state moves on with the segment, which is retried
  // unchanged until the store takes it.
  for (auto& r : batch) {
    std::string hash;
    open_->body += RecordLine(std::move(r), stream_, next_seq_++, last_hash_, &hash);
    open_->body += '\n';
    last_hash_ = std::move(hash);
    ++open_->count;
  }
}

Status AuditLog::WriteQueued(bool drain) {
  // The writer thread stores one segment per round: a busy server writes about one object a
  // second (or one per flush_records records) instead of one after another, while records are
  // encoded as they come. Flush and Close drain everything.
  bool wrote = false;
  while (true) {
    if (pending_) {
      ST_RETURN_IF_ERROR(WritePending());
      wrote = true;
    }
    if (wrote && !drain) return Status::Ok();
    EncodeQueued();
    if (!open_) return Status::Ok();
    bool full = open_->count >= static_cast<int64_t>(options_.flush_records);
    bool due = NowMicros() - open_since_micros_.load() >= options_.flush_interval_ms * 1000;
    if (!drain && !full && !due) return Status::Ok();
    Segment seg;
    seg.first_seq = open_->first_seq;
    seg.count = open_->count;
    seg.last_hash = last_hash_;
    seg.key = SegmentKey(org_, stream_, seg.first_seq);
    seg.text =
        Canonical(SegmentHeader(stream_, seg.first_seq, seg.count, open_->prev, last_hash_)) +
        "\n" + open_->body;
    open_.reset();
    open_since_micros_ = 0;
    pending_ = std::move(seg);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

namespace {

struct Newer {
  bool operator()(const json& a, const json& b) const {
    // Min-heap on (time, stream, seq): the top is the oldest record kept.
    auto key = [](const json& r) {
      return std::make_tuple(r.value("time_micros", int64_t{0}), r.value("stream", std::string()),
                             r.value("seq", int64_t{0}));
    };
    return key(a) > key(b);
  }
};

}  // namespace

Result<int64_t> ParseAuditSince(const std::string& text, const std::string& what) {
  if (text.empty()) return int64_t{0};
  int64_t at = ParseTimestamp(text);
  if (at >= 0) return at;
  auto ago = ParseDurationMicros(text);
  if (!ago.ok()) {
    return Status::InvalidArgument(
        fmt::format("invalid {} '{}': expected a duration back from now (30m, 1h, 2d) or a UTC "
                    "timestamp such as 2026-11-21T12:00:00Z",
                    what, text));
  }
  return NowMicros() - *ago;
}

Result<std::vector<json>> ReadAudit(ObjectStore& store, const std::string& org,
                                    const AuditQuery& q) {
  if (q.limit < 1) {
    return Status::InvalidArgument(
        fmt::format("invalid audit limit {}: expected at least 1 record", q.limit));
  }
  const std::string prefix = AuditTrailPrefix(org);
  ST_ASSIGN_OR_RETURN(auto listed, store.List(prefix));
  std::vector<ObjectInfo> segments;
  for (auto& o : listed) {
    std::string stream, name;
    if (SplitTrailKey(prefix, o.key, &stream, &name) && IsSegmentName(name)) {
      segments.push_back(std::move(o));
    }
  }
  // Newest segments first, so that once `limit` records are kept the older segments can be
  // skipped without reading them.
  std::sort(segments.begin(), segments.end(), [](const ObjectInfo& a, const ObjectInfo& b) {
    return a.modified_micros > b.modified_micros;
  });
  std::priority_queue<json, std::vector<json>, Newer> kept;
  for (const auto& seg : segments) {
    int64_t newest_possible = seg.modified_micros + kSegmentTimeSlackMicros;
    if (newest_possible < q.since_micros) continue;
    if (static_cast<int64_t>(kept.size()) >= q.limit &&
        newest_possible < kept.top().value("time_micros", int64_t{0})) {
      continue;
    }
    ST_ASSIGN_OR_RETURN(std::string text, store.Get(seg.key));
    for (std::string_view line : Lines(text)) {
      json r = json::parse(line, nullptr, false);
      if (!r.is_object() || r.contains("segment")) continue;  // headers; verify reports damage
      if (r.value("time_micros", int64_t{0}) < q.since_micros) continue;
      if (!q.user.empty() && r.value("principal", std::string()) != q.user) continue;
      kept.push(std::move(r));
      if (static_cast<int64_t>(kept.size()) > q.limit) kept.pop();
    }
  }
  std::vector<json> out;
  out.reserve(kept.size());
  while (!kept.empty()) {
    out.push_back(kept.top());
    kept.pop();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Verification

namespace {

// Walks one stream's segments in key order (seq order: the names are zero-padded).
class StreamVerifier {
 public:
  StreamVerifier(std::string stream, AuditVerifyReport* report)
      : stream_(std::move(stream)), report_(report) {}

  void Head(const std::string& text) {
    json h = json::parse(text, nullptr, false);
    if (!h.is_object() || !h.contains("seq") || !h.contains("hash")) {
      Problem("its HEAD object is not valid (expected {\"seq\", \"hash\", ...})");
      return;
    }
    head_seq_ = h["seq"].get<int64_t>();
    head_hash_ = h["hash"].get<std::string>();
  }

  void Segment(const std::string& name, const std::string& text) {
    ++report_->segments;
    int64_t named_seq = -1;
    try {
      named_seq = std::stoll(name.substr(0, name.size() - std::strlen(kAuditSegmentSuffix)));
    } catch (...) {
    }
    auto lines = Lines(text);
    size_t first = 0;
    json header;
    if (!lines.empty()) {
      json h = json::parse(lines[0], nullptr, false);
      if (h.is_object() && h.contains("segment")) {
        header = h["segment"];
        first = 1;
      }
    }
    if (header.is_null()) {
      Problem(fmt::format("segment {} has no header line (removed or edited)", name));
    } else {
      if (header.value("stream", std::string()) != stream_ ||
          header.value("first_seq", int64_t{-1}) != named_seq) {
        Problem(fmt::format("segment {}'s header names stream {} seq {}: moved or edited", name,
                            header.value("stream", std::string("?")),
                            header.value("first_seq", int64_t{-1})));
      }
      if (named_seq > expected_seq_) {
        Problem(fmt::format(
            "seq {}..{} are missing before segment {} (a segment or records were removed)",
            expected_seq_, named_seq - 1, name));
      } else if (header.value("prev", std::string()) != last_hash_ && named_seq == expected_seq_) {
        Problem(fmt::format(
            "segment {} follows hash {} but the stream's record seq {} has hash {} (records "
            "before it were removed or changed)",
            name, header.value("prev", std::string("?")).substr(0, 12), expected_seq_ - 1,
            last_hash_.substr(0, 12)));
      }
    }
    int64_t count = 0;
    std::string last;
    for (size_t i = first; i < lines.size(); ++i) {
      json r = json::parse(lines[i], nullptr, false);
      if (!r.is_object() || !r.contains("seq") || !r["seq"].is_number_integer() ||
          !r.contains("hash") || !r["hash"].is_string()) {
        Problem(fmt::format("segment {} line {} is not an audit record", name, i + 1));
        continue;
      }
      ++count;
      last = r["hash"].get<std::string>();
      Record(name, r);
    }
    if (!header.is_null()) {
      if (header.value("count", int64_t{-1}) != count) {
        Problem(
            fmt::format("segment {} holds {} records but was written with {} (truncated or "
                        "records removed)",
                        name, count, header.value("count", int64_t{-1})));
      } else if (header.value("last", std::string()) != last) {
        Problem(
            fmt::format("segment {} does not end with the record it was written with "
                        "(reordered, edited or replaced)",
                        name));
      }
    }
  }

  void Finish(bool has_head, bool has_segments) {
    if (!has_head) {
      if (has_segments) Problem("it has no HEAD object (removed)");
      return;
    }
    if (head_seq_ > expected_seq_ - 1) {
      Problem(fmt::format(
          "its HEAD records seq {} but its segments end at seq {}: the newest segment(s) were "
          "removed or cut short",
          head_seq_, expected_seq_ - 1));
    } else if (head_seq_ > 0 && !head_matched_) {
      Problem(fmt::format("its HEAD names hash {} for seq {}, which the record there does not have",
                          head_hash_.substr(0, 12), head_seq_));
    }
    // HEAD behind the segments is what a crash between a segment and its HEAD leaves: fine.
  }

 private:
  void Record(const std::string& segment, json& r) {
    ++report_->records;
    int64_t seq = r["seq"].get<int64_t>();
    std::string hash = r["hash"].get<std::string>();
    if (seq != expected_seq_) {
      Problem(
          fmt::format("seq {} found in segment {} where seq {} was expected (records removed "
                      "or reordered)",
                      seq, segment, expected_seq_));
    } else if (r.value("prev", std::string()) != last_hash_) {
      Problem(fmt::format("seq {} does not follow seq {} (its prev hash differs)", seq, seq - 1));
    }
    if (r.value("stream", std::string()) != stream_) {
      Problem(
          fmt::format("seq {} names another stream, {}", seq, r.value("stream", std::string("?"))));
    }
    r.erase("hash");
    if (RecordHash(r) != hash) {
      Problem(fmt::format("seq {} was edited: its hash does not match its content", seq));
    }
    if (seq == head_seq_ && hash == head_hash_) head_matched_ = true;
    // Resynchronise on what is there, so one removal is one problem, not one per later record.
    expected_seq_ = seq + 1;
    last_hash_ = hash;
  }

  void Problem(const std::string& what) {
    report_->ok = false;
    report_->problems.push_back(fmt::format("stream {}: {}", stream_, what));
  }

  std::string stream_;
  AuditVerifyReport* report_;
  int64_t expected_seq_ = 1;
  std::string last_hash_ = kZeroHash;
  int64_t head_seq_ = 0;
  std::string head_hash_;
  bool head_matched_ = false;
};

}  // namespace

Result<AuditVerifyReport> VerifyAudit(ObjectStore& store, const std::string& org) {
  const std::string prefix = AuditTrailPrefix(org);
  ST_ASSIGN_OR_RETURN(auto listed, store.List(prefix));
  struct StreamObjects {
    bool head = false;
    std::vector<std::string> segments;  // names, in key order
  };
  std::map<std::string, StreamObjects> streams;
  AuditVerifyReport report;
  for (const auto& o : listed) {
    std::string stream, name;
    if (!SplitTrailKey(prefix, o.key, &stream, &name)) {
      report.ok = false;
      report.problems.push_back(fmt::format("{}: not an object of the audit trail", o.key));
      continue;
    }
    if (name == "HEAD") {
      streams[stream].head = true;
    } else if (IsSegmentName(name)) {
      streams[stream].segments.push_back(name);
    } else {
      report.ok = false;
      report.problems.push_back(fmt::format("{}: not an object of the audit trail", o.key));
    }
  }
  for (auto& [stream, objects] : streams) {
    ++report.streams;
    StreamVerifier v(stream, &report);
    const std::string dir = prefix + stream + "/";
    if (objects.head) {
      ST_ASSIGN_OR_RETURN(std::string head, store.Get(dir + "HEAD"));
      v.Head(head);
    }
    std::sort(objects.segments.begin(), objects.segments.end());
    for (const auto& name : objects.segments) {
      ST_ASSIGN_OR_RETURN(std::string text, store.Get(dir + name));
      v.Segment(name, text);
    }
    v.Finish(objects.head, !objects.segments.empty());
  }
  return report;
}

}  // namespace supertable::security
