// The audit benchmark: what AuditLog::Append costs the caller (a tool call), against building the
// same record and dropping it, in one process; then how long the background writer took to put
// the records into segments on local disk.
#include <algorithm>
#include <vector>

#include "bench_util.h"
#include "benches.h"
#include "security/audit.h"
#include "storage/local_object_store.h"

namespace supertable::bench {

namespace {

security::AuditRecord MakeRecord(int i) {
  security::AuditRecord r;
  r.kind = "tool_call";
  r.principal = "alice";
  r.auth = "jwt";
  r.client = std::make_shared<const nlohmann::json>(
      nlohmann::json{{"name", "claude-code"}, {"version", "1.0"}, {"transport", "http"}});
  r.action = "tools/call:query_sql";
  r.arguments = {{"sql", "SELECT count(*) FROM orders WHERE id > " + std::to_string(i)},
                 {"limit", 100}};
  r.tables = {"shop.orders"};
  r.outcome = "ok";
  r.rows = 1;
  r.duration_micros = 1200;
  return r;
}

Result<int> Run(const AuditOptions& options) {
  ST_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("audit"));
  LocalObjectStore store(dir.Join("data"), dir.Join("staging"));
  const int n = options.records;
  std::vector<double> base_ns, append_ns, busy_ns, drain_s;
  int failures = 0;
  for (int run = 0; run < options.runs; ++run) {
    // Baseline: the caller builds the record anyway; here it is destroyed instead of appended.
    {
      Stopwatch w;
      for (int i = 0; i < n; ++i) {
        security::AuditRecord r = MakeRecord(i);
        if (r.rows < 0) Note("impossible");  // keeps the record from being optimized away
      }
      base_ns.push_back(w.Seconds() * 1e9 / n);
    }
    // Twice: with the writer asleep until Close (the queueing alone, as a tool call meets it
    // when calls are far apart), and with it writing segments of 1000 while the calls go on
    // (a burst: on a small machine it competes with the caller for the cores).
    for (bool writer_busy : {false, true}) {
      security::AuditOptions ao;
      ao.queue_cap = static_cast<size_t>(n);  // nothing dropped: every Append is timed whole
      if (!writer_busy) {
        ao.flush_records = static_cast<size_t>(n);
        ao.flush_interval_ms = 3600 * 1000;
      }
      ST_ASSIGN_OR_RETURN(auto log, security::AuditLog::Open(store, "bench", ao));
      Stopwatch w;
      for (int i = 0; i < n; ++i) log->Append(MakeRecord(i));
      (writer_busy ? busy_ns : append_ns).push_back(w.Seconds() * 1e9 / n);
      ST_RETURN_IF_ERROR(log->Close());
      if (writer_busy) drain_s.push_back(w.Seconds());
      auto st = log->stats();
      if (st.written != n || st.dropped != 0) {
        Note("FAIL: {} records written and {} dropped of {}", st.written, st.dropped, n);
        ++failures;
      }
    }
  }
  ST_ASSIGN_OR_RETURN(auto report, security::VerifyAudit(store, "bench"));
  if (!report.ok || report.records != static_cast<int64_t>(n) * options.runs * 2) {
    Note("FAIL: the trail does not verify ({} records)", report.records);
    ++failures;
  }
  double base = Median(base_ns), append = Median(append_ns), busy = Median(busy_ns);
  fmt::print(
      "audit: {} Append calls: {:.0f} ns per call with the writer idle, {:.0f} ns with it "
      "writing meanwhile; building the record alone {:.0f} ns (Append adds {:.0f} / {:.0f} ns); "
      "{} records written and flushed in {:.2f} s; verify OK over {} records\n",
      FormatCount(n), append, busy, base, append - base, busy - base, FormatCount(n),
      Median(drain_s), FormatCount(report.records));
  return failures ? 1 : 0;
}

}  // namespace

int RunAudit(const AuditOptions& options) { return ExitCode(Run(options), "audit benchmark"); }

}  // namespace supertable::bench
