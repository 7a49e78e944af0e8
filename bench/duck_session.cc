// DuckSession over the DuckDB C++ API: the one benchmark file that includes duckdb.hpp.
#include "duck_session.h"

#include <duckdb.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "bench_util.h"
#include "engine/progress_watch.h"

namespace supertable::bench {

struct DuckSession::Impl {
  std::unique_ptr<duckdb::DuckDB> db;
  std::unique_ptr<duckdb::Connection> con;
};

DuckSessionOptions MatchingOptions(const Config& config, std::string temp_directory) {
  return {config.duckdb_threads, config.duckdb_memory_limit, std::move(temp_directory)};
}

Result<std::unique_ptr<DuckSession>> DuckSession::Open(const DuckSessionOptions& options) {
  try {
    duckdb::DBConfig config;
    if (options.threads > 0) {
      config.SetOptionByName("threads", duckdb::Value::BIGINT(options.threads));
    }
    if (!options.memory_limit.empty()) {
      config.SetOptionByName("memory_limit", duckdb::Value(options.memory_limit));
    }
    if (!options.temp_directory.empty()) {
      config.SetOptionByName("temp_directory", duckdb::Value(options.temp_directory));
    }
    auto impl = std::make_unique<Impl>();
    impl->db = std::make_unique<duckdb::DuckDB>(nullptr, &config);
    impl->con = std::make_unique<duckdb::Connection>(*impl->db);
    // SuperTable's engine turns progress tracking on for every connection; the baseline does the
    // same so that neither side pays for bookkeeping the other skips. Never printed: stdout
    // carries the figures.
    if (options.track_progress) {
      for (const char* s :
           {"SET enable_progress_bar = true", "SET enable_progress_bar_print = false"}) {
        auto r = impl->con->Query(s);
        if (r->HasError()) return Status::Internal(r->GetError());
      }
    }
    return std::unique_ptr<DuckSession>(new DuckSession(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("cannot start DuckDB: {}", e.what()));
  }
}

DuckSession::DuckSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DuckSession::~DuckSession() = default;

Status DuckSession::Run(const std::string& sql, const ProgressFn& progress, int64_t* first_value) {
  duckdb::unique_ptr<duckdb::MaterializedQueryResult> r;
  {
    ProgressWatch poller(*impl_->con, progress);
    r = impl_->con->Query(sql);
  }
  if (r->HasError()) return Status::InvalidArgument(r->GetError());
  if (first_value) {
    if (r->RowCount() == 0 || r->ColumnCount() == 0) {
      return Status::Internal(fmt::format("no result to read a value from: {}", sql.substr(0, 80)));
    }
    try {
      *first_value = r->GetValue(0, 0).GetValue<int64_t>();
    } catch (const std::exception& e) {
      return Status::Internal(fmt::format("result is not an integer: {}", e.what()));
    }
  }
  return Status::Ok();
}

Status DuckSession::Query(const std::string& sql, ResultDigest* digest) {
  auto r = impl_->con->Query(sql);
  if (r->HasError()) return Status::InvalidArgument(r->GetError());
  try {
    std::vector<bool> numeric;
    for (const auto& t : r->types) numeric.push_back(t.IsNumeric());
    while (auto chunk = r->Fetch()) {
      if (chunk->size() == 0) break;
      for (duckdb::idx_t row = 0; row < chunk->size(); ++row) {
        digest->StartRow(numeric.size());
        for (duckdb::idx_t c = 0; c < numeric.size(); ++c) {
          duckdb::Value v = chunk->GetValue(c, row);
          if (v.IsNull()) {
            digest->Null(c);
          } else if (numeric[c]) {
            digest->Number(c, v.GetValue<double>());
          } else {
            digest->Text(c, v.ToString());
          }
        }
        digest->FinishRow();
      }
    }
    if (r->HasError()) return Status::InvalidArgument(r->GetError());
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("reading the result: {}", e.what()));
  }
  return Status::Ok();
}

int RunDuckQuery(const std::string& sql) {
  try {
    duckdb::DuckDB db(nullptr);
    duckdb::Connection con(db);
    auto r = con.Query(sql);
    if (r->HasError()) {
      fmt::print(stderr, "error: {}\n", r->GetError());
      return 2;
    }
    fmt::print("{}", r->ToString());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  }
}

}  // namespace supertable::bench
