// The audit trail: who did what through which front door, kept append-only and hash-chained in
// the warehouse's own ObjectStore, so that every replica writing at once shares one trail with no
// coordination beyond the store's atomic PutIfAbsent (docs/SECURITY.md, "Audit trail"; object
// layout in docs/STORAGE_FORMAT.md, "The audit trail").
//
// Each AuditLog is one *stream* (a random id) with its own chain: records carry the stream, a
// per-stream sequence number contiguous from 1, the hash of the stream's previous record and
// their own hash. A background thread batches records into NDJSON segment objects, each named
// after its first record's seq and opening with a header line that states its place in the
// chain, and then overwrites the stream's small HEAD object with the newest seq and hash.
// VerifyAudit walks every stream and reports edited, removed, reordered or truncated records.
//
// Append never waits for I/O: it moves the record into a bounded queue and returns. When the
// queue is full the record is dropped and counted (Stats::dropped), never the caller blocked.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "storage/object_store.h"

namespace supertable::security {

struct AuditRecord {
  int64_t time_micros = 0;  // filled by Append when 0
  std::string kind;         // "tool_call", "login", "denied", "admin", "resource", ...
  std::string principal;    // user name ("" unknown)
  // How authenticated: "local", "token", "jwt", "supertoken", "shared_token", "proxy", "none".
  std::string auth;
  // {"name","version","address","user_agent","transport"} as known; shared, as it is the same for
  // every call of a session.
  std::shared_ptr<const nlohmann::json> client;
  // MCP method or tool name or admin command, e.g. "tools/call:query_sql", "user add".
  std::string action;
  nlohmann::json arguments;           // redacted before it is stored (RedactSecrets)
  std::vector<std::string> tables;    // "super.table" read
  std::vector<std::string> columns;   // "super.table.column" read when known
  std::vector<std::string> policies;  // e.g. "row_filter:super.table", "mask:super.table.col"
  std::string outcome;                // "ok", "error", "denied"
  std::string error;
  int64_t rows = 0, bytes = 0, duration_micros = 0;
  std::string trace;  // the request's W3C traceparent (OpenTelemetry), "" when it had none
};

// Keys whose values are secrets; their values become "[redacted]" at any depth, compared
// case-insensitively: auth_token, token, password, secret, authorization, api_key, client_secret,
// access_token, refresh_token, supertoken, cookie. SQL ("sql") is kept: it is what the trail is
// for.
nlohmann::json RedactSecrets(const nlohmann::json& arguments);

struct AuditOptions {
  int64_t flush_interval_ms = 1000;  // a segment is written at least this often while busy
  // ... or as soon as this many records wait. A segment (one object write and its fsync) holds
  // at most this many: at thousands of calls a second, one write a second, not one per 1000.
  size_t flush_records = 10000;
  // The writer thread chains and encodes records into the open segment as soon as this many
  // wait (or at the interval): each record is encoded and freed while it is fresh in the cache,
  // instead of a second's worth at once. Storing the segment still waits for the interval or
  // for flush_records.
  size_t encode_batch = 64;
  size_t queue_cap = 100000;  // records waiting beyond this are dropped and counted
};

// SUPERTABLE_AUDIT (default on; "0", "false", "off" turn the trail off: nullopt) and
// SUPERTABLE_AUDIT_FLUSH_MS (docs/CONFIGURATION.md), for whoever opens the AuditLog.
Result<std::optional<AuditOptions>> AuditOptionsFromEnvironment();

class AuditLog {
 public:
  // Starts a new stream of the organization's trail in `store`, which must outlive the log.
  static Result<std::unique_ptr<AuditLog>> Open(ObjectStore& store, std::string org,
                                                AuditOptions o = {});
  // Flushes what is queued (Close), so a clean shutdown loses nothing.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues the record; never blocks on I/O. Thread-safe.
  void Append(AuditRecord r);
  // Writes everything queued before the call; the first write error, if any.
  Status Flush();
  // Flushes and stops the background thread; later Appends are dropped. Idempotent.
  Status Close();

  struct Stats {
    int64_t appended = 0;  // accepted into the queue
    int64_t written = 0;   // in segments the store acknowledged
    int64_t dropped = 0;   // refused because the queue was full, or appended after Close
    int64_t segments = 0;  // segments written by this stream
  };
  Stats stats() const;
  const std::string& stream_id() const { return stream_; }

 private:
  AuditLog(ObjectStore& store, std::string org, AuditOptions o);
  void Run();
  // How many queued records wake the writer to encode them.
  size_t EncodeBatch() const { return std::min(options_.encode_batch, options_.flush_records); }
  // Encodes the queued records into the open segment, seals it when it is full or due (or
  // always with `drain`) and writes sealed segments, then HEAD: one object per round, or with
  // `drain` everything queued. Holds write_mu_.
  Status WriteQueued(bool drain);
  Status WritePending();
  // Moves queued records, chained, into open_ (never past flush_records). Holds write_mu_.
  void EncodeQueued();

  ObjectStore& store_;
  const std::string org_;
  const AuditOptions options_;
  const std::string stream_;

  mutable std::mutex mu_;  // queue_, the counters, stop_
  std::condition_variable wake_;
  std::deque<AuditRecord> queue_;
  bool stop_ = false;
  bool closed_ = false;
  Stats stats_;
  int64_t last_drop_warning_micros_ = 0;
  int64_t drops_since_warning_ = 0;

  std::mutex write_mu_;  // the chain state and pending_: one writer at a time
  int64_t next_seq_ = 1;
  std::string last_hash_;
  bool head_created_ = false;
  // A segment built but not yet acknowledged by the store: written again, unchanged, next time.
  struct Segment {
    std::string key, text, last_hash;
    int64_t first_seq = 0, count = 0;
  };
  std::optional<Segment> pending_;
  // Records chained and encoded, not yet a segment: sealed into pending_ when full or due.
  struct OpenSegment {
    std::string prev, body;
    int64_t first_seq = 0, count = 0;
  };
  std::optional<OpenSegment> open_;
  // When open_ was started (0: no open segment), for the writer thread's wait.
  std::atomic<int64_t> open_since_micros_{0};

  std::thread thread_;  // last: started after everything it uses
};

struct AuditQuery {
  std::string user;          // "": every principal
  int64_t since_micros = 0;  // records at or after this time
  int64_t limit = 1000;      // the newest this many
};
// "1h", "30m", "2d" (that long ago) or a UTC timestamp ("2026-11-21T12:00:00Z", "2026-11-21"),
// as AuditQuery::since_micros; "" is the beginning. `what` names the argument in the error.
Result<int64_t> ParseAuditSince(const std::string& text, const std::string& what);
// Records of every stream, oldest first (newest last), as stored (with stream, seq, prev, hash).
Result<std::vector<nlohmann::json>> ReadAudit(ObjectStore& store, const std::string& org,
                                              const AuditQuery& q);

struct AuditVerifyReport {
  bool ok = true;
  int64_t records = 0;
  int64_t segments = 0;
  int64_t streams = 0;
  std::vector<std::string> problems;  // each names the stream and seq (or segment) concerned
};
// Checks every stream's chain: hashes, contiguous seqs, prev links, segment headers and HEADs.
// Problems are reported, not returned as errors; an error means the store could not be read.
Result<AuditVerifyReport> VerifyAudit(ObjectStore& store, const std::string& org);

}  // namespace supertable::security
