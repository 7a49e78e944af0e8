// File pruning must never change an answer: random tables of many files (every type the engine
// prunes on, NULLs, NaN and infinities, long strings whose statistics are truncated, deletes,
// upserts, a column added later and columns widened from INTEGER and FLOAT) are queried with
// random predicates, with pruning and without, and the answers must be equal, errors included.
// Joins, time travel and an access policy with a row filter and masks are in the mix. The inputs
// are Parquet files written by DuckDB, so every column has exactly the intended type.
#include <filesystem>

#include <gtest/gtest.h>

#include <duckdb.hpp>

#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace supertable {
namespace {

using testing::WarehouseTest;

class Sink : public ResultSink {
 public:
  std::string text;
  void Begin(const std::vector<Column>&) override {}
  void Row(const std::vector<nlohmann::json>& cells) override {
    for (const auto& c : cells) text += c.dump() + ",";
    text += "|";
  }
  void End(bool) override {}
};

// Writes the rows of a DuckDB SELECT to a Parquet file at `path`.
void WriteParquet(const std::string& select, const std::string& path) {
  duckdb::DuckDB db(nullptr);
  duckdb::Connection con(db);
  con.Query("SET TimeZone = 'UTC'");
  auto r = con.Query(fmt::format("COPY ({}) TO '{}' (FORMAT parquet)", select, path));
  ASSERT_FALSE(r->HasError()) << r->GetError();
}

class RowsSink : public ResultSink {
 public:
  std::vector<std::vector<nlohmann::json>> rows;
  void Begin(const std::vector<Column>&) override {}
  void Row(const std::vector<nlohmann::json>& cells) override { rows.push_back(cells); }
  void End(bool) override {}
};

constexpr int kBatches = 30;
constexpr int kRowsPerBatch = 40;

class FilePruning : public WarehouseTest {
 protected:
  void SetUp() override {
    WarehouseTest::SetUp();
    std::mt19937 rng(20261201);
    for (int b = 0; b < kBatches; ++b) Append(Batch(b, rng), WriteMode::kAppend);
    // Deletes and an upsert: statistics of the files stay those of all their rows.
    Append("SELECT id FROM range(5, 200, 17) t(id)", WriteMode::kDeleteOnly, {"id"});
    Append(Batch(3, rng, /*id_base=*/100), WriteMode::kUpsert, {"id"});
    version_mid_ = 12;
  }

  // One batch of rows as a DuckDB SELECT. Columns are clustered by batch (so files have narrow,
  // mostly disjoint ranges, as data arriving over time does) with noise and special values.
  std::string Batch(int b, std::mt19937& rng, int id_base = -1) {
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    std::vector<std::string> rows;
    for (int i = 0; i < kRowsPerBatch; ++i) {
      int64_t id = (id_base >= 0 ? id_base : b * kRowsPerBatch) + i;
      std::string k = pick(10) == 0 ? "NULL" : std::to_string(b * 3 + pick(6) - 40);
      std::string d;
      switch (pick(b % 7 == 3 ? 4 : 40)) {  // some batches carry NaN and infinities
        case 0:
          d = "'nan'::DOUBLE";
          break;
        case 1:
          d = "'inf'::DOUBLE";
          break;
        case 2:
          d = "'-inf'::DOUBLE";
          break;
        case 3:
          d = "NULL";
          break;
        default:
          d = fmt::format("{}::DOUBLE", b * 10.0 + pick(1000) / 100.0 - 150.0);
      }
      if (b == 5 && i == 0) d = "'-0.0'::DOUBLE";
      std::string m = fmt::format("{}.{:02d}::DECIMAL(10,2)", b * 2 + pick(3) - 20, pick(100));
      std::string dt = fmt::format("DATE '2024-01-01' + {}", b * 2 + pick(3));
      std::string ts =
          fmt::format("TIMESTAMP '2024-01-01' + INTERVAL {} SECOND", b * 3600 + pick(7200));
      std::string tz = fmt::format("TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL {} MINUTE",
                                   b * 90 + pick(120));
      std::string s;
      switch (pick(12)) {
        case 0:
          s = "NULL";
          break;
        case 1:
          s = "''";
          break;
        case 2:  // long, so its statistics are truncated (and the maximum rounded up)
          s = fmt::format("repeat('{}', 300) || '{}'", static_cast<char>('a' + b % 26), pick(10));
          break;
        case 3:
          s = fmt::format("'é{}'", pick(100));
          break;
        default:
          s = fmt::format("'{}{}'", static_cast<char>('a' + b % 26), pick(1000));
      }
      // Clustered text: a batch's codes share its letter.
      std::string code = fmt::format("'{}{:03d}'", static_cast<char>('a' + b % 26), pick(1000));
      std::string flag = b % 4 == 0 ? "true" : (pick(2) ? "true" : "false");
      // Widened columns: INTEGER and FLOAT in early files, BIGINT and DOUBLE later.
      std::string w =
          fmt::format("{}::{}", b * 100 + pick(100) - 1500, b < 10 ? "INTEGER" : "BIGINT");
      std::string g = fmt::format("{}::{}", b * 0.3 + pick(10) / 10.0, b < 10 ? "FLOAT" : "DOUBLE");
      std::string row = fmt::format(
          "SELECT {} AS id, {}::INTEGER AS k, {} AS d, {} AS m, {} AS dt, {} AS ts, {} AS tz, "
          "{}::VARCHAR AS s, {} AS flag, {} AS w, {} AS g, {} AS code",
          id, k, d, m, dt, ts, tz, s, flag, w, g, code);
      if (b >= 15)
        row += fmt::format(", {}::INTEGER AS late", pick(5) == 0 ? "NULL" : std::to_string(b));
      rows.push_back(row);
    }
    std::string out;
    for (const auto& r : rows) out += (out.empty() ? "" : " UNION ALL ") + r;
    return out;
  }

  void Append(const std::string& select, WriteMode mode, std::vector<std::string> keys = {}) {
    std::string path = fmt::format("{}/in{}.parquet", dir_->path(), ++files_written_);
    WriteParquet(select, path);
    WriteRequest req;
    req.input_path = path;
    req.mode = mode;
    req.key_columns = std::move(keys);
    auto w = wh_->Write(wh_->Ref("s", "t"), req);
    ASSERT_TRUE(w.ok()) << w.status().message();
  }

  struct Answer {
    std::string text;  // rows, or the error message
    int64_t files = 0, pruned = 0;
  };
  Answer Run(const std::string& sql, bool prune, const AccessPolicy* policy = nullptr) {
    QueryRequest req{"s", sql};
    req.prune_files = prune;
    req.policy = policy;
    Sink sink;
    auto r = wh_->Query(req, sink);
    if (!r.ok()) return {"error: " + r.status().message()};
    return {sink.text, r->files, r->files_pruned};
  }

  int version_mid_ = 0;
};

// Random predicates over the table's columns, built from the values the data holds (so bounds
// are hit exactly), neighbours of them, NULLs, and constants of other types and spellings.
class PredicateMaker {
 public:
  explicit PredicateMaker(uint32_t seed) : rng_(seed) {}

  std::string Make(const std::string& q, int depth = 0) {
    int kind = Pick(depth >= 2 ? 10 : 14);
    if (kind == 10) return fmt::format("({} AND {})", Make(q, depth + 1), Make(q, depth + 1));
    if (kind == 11) return fmt::format("({} OR {})", Make(q, depth + 1), Make(q, depth + 1));
    if (kind == 12) return fmt::format("NOT ({})", Make(q, depth + 1));
    if (kind == 13) return Pick(3) == 0 ? "TRUE" : (Pick(2) ? "FALSE" : "NULL");
    return Atom(q);
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % n); }
  template <typename T>
  const T& OneOf(const std::vector<T>& v) {
    return v[Pick(static_cast<int>(v.size()))];
  }

  std::string Atom(const std::string& q) {
    static const std::vector<std::string> kOps = {
        "=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"};
    std::string col = OneOf(std::vector<std::string>{"id", "k", "d", "m", "dt", "ts", "tz", "s",
                                                     "flag", "w", "g", "late", "code"});
    std::string ref = q.empty() ? col : q + "." + col;
    std::string c = Constant(col);
    switch (Pick(9)) {
      case 0:
        return fmt::format("{} IS NULL", ref);
      case 1:
        return fmt::format("{} IS NOT NULL", ref);
      case 2:
        return fmt::format("{} {}BETWEEN {} AND {}", ref, Pick(3) ? "" : "NOT ", c, Constant(col));
      case 3:
        return fmt::format("{} {}IN ({}, {}, {})", ref, Pick(3) ? "" : "NOT ", c, Constant(col),
                           Constant(col));
      case 4:
        if (col == "s" || col == "code") {
          return fmt::format(
              "{} {} '{}%'", ref, Pick(4) ? "LIKE" : "NOT LIKE",
              OneOf(std::vector<std::string>{"a", "b1", "é", "ccc", "z", "", "c_", "d0", "q9"}));
        }
        [[fallthrough]];
      case 5: {
        // Casts that keep order (and some that do not).
        if (col == "k") return fmt::format("CAST({} AS BIGINT) {} {}", ref, OneOf(kOps), c);
        if (col == "ts")
          return fmt::format("CAST({} AS DATE) {} {}", ref, OneOf(kOps), Constant("dt"));
        if (col == "dt")
          return fmt::format("CAST({} AS TIMESTAMP) {} {}", ref, OneOf(kOps), Constant("ts"));
        if (col == "g") return fmt::format("CAST({} AS DOUBLE) {} {}", ref, OneOf(kOps), c);
        if (col == "w")
          return fmt::format("CAST({} AS VARCHAR) {} '{}'", ref, OneOf(kOps), Pick(3000) - 1500);
        [[fallthrough]];
      }
      default:
        return Pick(6) ? fmt::format("{} {} {}", ref, OneOf(kOps), c)
                       : fmt::format("{} {} {}", c, OneOf(kOps), ref);
    }
  }

  std::string Constant(const std::string& col) {
    if (Pick(15) == 0) return "NULL";
    int b = Pick(kBatches + 4) - 2;  // now and then past either end
    if (col == "id" || col == "late") {
      int v = col == "id" ? b * kRowsPerBatch + Pick(kRowsPerBatch) : b;
      switch (Pick(5)) {
        case 0:
          return fmt::format("'{}'", v);
        case 1:
          return fmt::format("{}.0", v);
        case 2:
          return fmt::format("{}.5", v);
        default:
          return std::to_string(v);
      }
    }
    if (col == "k" || col == "w") {
      int v = col == "k" ? b * 3 + Pick(6) - 40 : b * 100 + Pick(100) - 1500;
      if (Pick(10) == 0) return "1099511627776";  // beyond INTEGER
      return Pick(4) ? std::to_string(v) : fmt::format("({} + 1)", v - 1);
    }
    if (col == "d" || col == "g") {
      switch (Pick(10)) {
        case 0:
          return "'nan'::DOUBLE";
        case 1:
          return "'inf'::DOUBLE";
        case 2:
          return "-0.0";
        case 3:
          return "0.0";
        default:
          return col == "d" ? fmt::format("{}", b * 10.0 + Pick(1000) / 100.0 - 150.0)
                            : fmt::format("{}", b * 0.3 + Pick(10) / 10.0);
      }
    }
    if (col == "m") return fmt::format("{}.{:02d}", b * 2 + Pick(3) - 20, Pick(100));
    if (col == "dt") {
      int n = std::max(0, b * 2 + Pick(3));  // days after 2024-01-01, all within Jan-Feb
      std::string day = n < 31 ? fmt::format("2024-01-{:02d}", n + 1)
                               : fmt::format("2024-02-{:02d}", std::min(n - 30, 29));
      switch (Pick(4)) {
        case 0:
          return fmt::format("'{}'", day);
        case 1:
          return fmt::format("DATE '{}'", day);
        case 2:
          return fmt::format("TIMESTAMP '{} 12:00:00'", day);
        default:
          return fmt::format("DATE '{}' + INTERVAL {} DAY", day, Pick(3));
      }
    }
    if (col == "ts") {
      int sec = b * 3600 + Pick(7200);
      std::string t = fmt::format("2024-01-{:02d} {:02d}:{:02d}:{:02d}", 1 + sec / 86400,
                                  sec / 3600 % 24, sec / 60 % 60, sec % 60);
      switch (Pick(4)) {
        case 0:
          return fmt::format("'{}'", t);
        case 1:
          return fmt::format("TIMESTAMP '{}'", t);
        case 2:
          return fmt::format("DATE '2024-01-{:02d}'", 1 + sec / 86400);
        default:
          return fmt::format("TIMESTAMP '{}' - INTERVAL 1 HOUR", t);
      }
    }
    if (col == "tz") {
      int min = b * 90 + Pick(120);
      std::string t =
          fmt::format("2024-01-{:02d} {:02d}:{:02d}:00", 1 + min / 1440, min / 60 % 24, min % 60);
      switch (Pick(3)) {
        case 0:
          return fmt::format("'{}+00'", t);
        case 1:
          return fmt::format("TIMESTAMPTZ '{}+02'", t);
        default:
          return fmt::format("TIMESTAMP '{}'", t);
      }
    }
    if (col == "code") {
      return fmt::format("'{}{:03d}'", static_cast<char>('a' + (b + 26) % 26), Pick(1000));
    }
    if (col == "s") {
      switch (Pick(6)) {
        case 0:
          return "''";
        case 1:
          return fmt::format("repeat('{}', 300)", static_cast<char>('a' + b % 26));
        case 2:
          return fmt::format("'é{}'", Pick(100));
        default:
          return fmt::format("'{}{}'", static_cast<char>('a' + (b + 26) % 26), Pick(1000));
      }
    }
    return Pick(2) ? "true" : "false";  // flag
  }

  std::mt19937 rng_;
};

TEST_F(FilePruning, RandomPredicatesGiveTheSameAnswersWithAndWithoutPruning) {
  PredicateMaker maker(7);
  int cases = 0, pruned_cases = 0, errors = 0;
  auto check = [&](const std::string& sql, const AccessPolicy* policy = nullptr) {
    Answer with = Run(sql, true, policy), without = Run(sql, false, policy);
    ++cases;
    if (with.pruned > 0) ++pruned_cases;
    if (with.text.rfind("error: ", 0) == 0) ++errors;
    EXPECT_EQ(without.pruned, 0);
    // An expression that fails on some row (a bad cast of a constant, say) fails only if a row
    // reaches it: with fewer files read, the error may not happen, as with DuckDB's own
    // filters. An answer where there was none is fine; any other difference is a bug.
    if (without.text.rfind("error: ", 0) == 0 && with.text.rfind("error: ", 0) != 0) return;
    ASSERT_EQ(with.text, without.text)
        << sql << "\n(" << with.pruned << " of " << with.files << " files pruned)";
  };
  for (int i = 0; i < 1200; ++i) {
    std::string p = maker.Make(i % 3 == 0 ? "t" : "");
    check(fmt::format("SELECT count(*), sum(hash(id, k, s)), min(id), max(id) FROM t WHERE {}", p));
  }
  for (int i = 0; i < 200; ++i) {
    // Inner join: both sides prune on their own conjuncts; a LEFT JOIN's right side only on its
    // ON conjuncts, never on the WHERE clause (its rows may come out as NULLs).
    check(fmt::format(
        "SELECT count(*), count(b.id), sum(hash(a.id, b.id)) FROM t a {} JOIN t b ON a.id = b.id "
        "+ 1 AND {} WHERE {}",
        i % 2 ? "LEFT" : "", maker.Make("b"), maker.Make(i % 4 == 1 ? "b" : "a")));
  }
  for (int i = 0; i < 200; ++i) {
    check(fmt::format("SELECT count(*), sum(hash(id, s)) FROM t AT (VERSION => {}) WHERE {}",
                      1 + i % (version_mid_ + 3), maker.Make("")));
  }
  // QUALIFY: a conjunct over columns every window partitions by prunes like one of WHERE (it
  // holds for whole partitions); windows that partition by less, or over the whole table, must
  // see every row.
  const std::string all_columns = "id, k, d, m, dt, ts, tz, s, flag, w, g, late, code";
  for (int i = 0; i < 300; ++i) {
    std::string windows = i % 3 == 0 ? fmt::format("count(*) OVER (PARTITION BY {})", all_columns)
                          : i % 3 == 1
                              ? fmt::format(
                                    "count(*) OVER (PARTITION BY {}), sum(id) OVER (PARTITION BY "
                                    "k ORDER BY id)",
                                    all_columns)
                              : "count(*) OVER (ORDER BY id)";
    check(
        fmt::format("SELECT count(*), sum(hash(id, n)) FROM (SELECT id, {} AS n FROM t QUALIFY "
                    "{} AND n > 0)",
                    windows, maker.Make("")));
  }
  // Under a policy: a row filter, a masked column and a hidden one. Predicates on the masked
  // column compare the masked values and must not prune on the stored ones.
  FixedAccessPolicy policy;
  TablePolicy tp;
  tp.mask_salt = "salt";
  tp.views.push_back(
      {"k IS NULL OR k > -30",
       std::nullopt,
       {{"s", {ColumnMask::Kind::kPartial, ""}}, {"d", {ColumnMask::Kind::kNull, ""}}}});
  tp.views.push_back({"id % 2 = 0", std::vector<std::string>{"id", "k", "s", "dt"}, {}});
  policy.tables["s.t"] = tp;
  PredicateMaker restricted(11);
  for (int i = 0; i < 200; ++i) {
    check(fmt::format("SELECT count(*), sum(hash(id, k, s, dt)) FROM t WHERE {}",
                      restricted.Make("")),
          &policy);
  }
  // The test means something only if pruning happened often and queries ran.
  EXPECT_GT(pruned_cases, cases / 5) << pruned_cases << " of " << cases;
  EXPECT_LT(errors, cases / 4) << errors << " of " << cases << " were errors";
}

// The query instance takes a snapshot's word that its files exist (no glob of each path, see
// RegisterDataFileSystem): a file removed from under it fails the query, naming the file, and
// never reads as an empty table.
TEST_F(FilePruning, AFileGoneFromUnderASnapshotFailsTheQuery) {
  Ingest("gone", "id\n1\n2\n");
  Ingest("gone", "id\n3\n");
  auto snap = wh_->LoadSnapshot(wh_->Ref("s", "gone"));
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->files.size(), 2u);
  std::string victim = wh_->ReadPath(snap->files[1].key);
  ASSERT_TRUE(std::filesystem::remove(victim));
  RowsSink sink;
  auto r = wh_->Query(QueryRequest{"s", "SELECT count(*) FROM gone"}, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(snap->files[1].key), std::string::npos)
      << r.status().message();
  // The file a predicate prunes is not opened at all.
  RowsSink pruned;
  auto p = wh_->Query(QueryRequest{"s", "SELECT count(*) FROM gone WHERE id < 3"}, pruned);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(pruned.rows.at(0).at(0), 2);
}

TEST_F(FilePruning, WhatIsPrunedAndWhatIsNot) {
  auto pruned = [&](const std::string& where) {
    return Run("SELECT count(*) FROM t WHERE " + where, true).pruned;
  };
  Answer all = Run("SELECT count(*) FROM t", true);
  ASSERT_GT(all.files, kBatches - 2);  // one file per append, fewer where an upsert rewrote one
  EXPECT_EQ(all.pruned, 0);
  EXPECT_GE(pruned("id = 77"), all.files - 2);
  EXPECT_GE(pruned("id BETWEEN 40 AND 79"), all.files - 3);
  EXPECT_EQ(pruned("id = 77 OR true"), 0);
  EXPECT_EQ(pruned("id + 0 = 77"), 0);  // an expression over the column: read everything
  EXPECT_EQ(pruned("false"), all.files);
  EXPECT_GE(pruned("late IS NOT NULL"), 14);  // files from before the column existed
  EXPECT_EQ(pruned("late IS NULL"), 0);
  EXPECT_GE(pruned("dt >= '2024-02-28'"), all.files - 3);
  // ts spans 2024-01-01 00:00 to 2024-01-02 07:00: batches from 22 on reach the second day.
  EXPECT_GE(pruned("CAST(ts AS DATE) = DATE '2024-01-02'"), 20);
  EXPECT_GE(pruned("code LIKE 'q%'"), all.files - 3);
  EXPECT_GE(pruned("code >= 'y'"), all.files - 6);
  // EXPLAIN says what the statistics removed, in its last row.
  Answer plan = Run("EXPLAIN SELECT * FROM t WHERE id = 77", true);
  EXPECT_NE(plan.text.find(fmt::format("\"file_pruning\",\"read {} of {} data files ({} pruned "
                                       "by statistics)\"",
                                       plan.files - plan.pruned, plan.files, plan.pruned)),
            std::string::npos)
      << plan.text.substr(plan.text.size() > 300 ? plan.text.size() - 300 : 0);
  EXPECT_GE(plan.pruned, all.files - 2);
  // Under a row filter the counts are withheld (how many files `amount > X` skips would tell
  // about the rows the filter hides); files are still skipped, the answer is the same.
  FixedAccessPolicy filtered;
  TablePolicy tp;
  tp.views.push_back({"id % 2 = 0", std::nullopt, {}});
  filtered.tables["s.t"] = tp;
  Answer hidden = Run("SELECT count(*) FROM t WHERE id = 78", true, &filtered);
  EXPECT_EQ(hidden.files, 0);
  EXPECT_EQ(hidden.pruned, 0);
  EXPECT_EQ(hidden.text, Run("SELECT count(*) FROM t WHERE id = 78", false, &filtered).text);
  // QUALIFY prunes on what every window partitions by, and only that.
  auto qualified = [&](const std::string& windows, const std::string& qualify) {
    std::string sql = fmt::format("SELECT id, {} FROM t QUALIFY {} ORDER BY ALL", windows, qualify);
    Answer with = Run(sql, true);
    EXPECT_EQ(with.text, Run(sql, false).text) << sql;
    return with.pruned;
  };
  EXPECT_GE(
      qualified("row_number() OVER (PARTITION BY id ORDER BY ts) AS rn", "id = 77 AND rn = 1"),
      all.files - 2);
  EXPECT_GE(qualified("count(*) OVER (PARTITION BY id, k) AS n, sum(k) OVER (PARTITION BY k, id) "
                      "AS sk",
                      "id = 77"),
            all.files - 2);
  EXPECT_EQ(qualified("row_number() OVER (ORDER BY ts) AS rn", "id = 77"), 0);
  EXPECT_EQ(qualified("row_number() OVER (PARTITION BY id) AS rn, count(*) OVER (PARTITION BY k) "
                      "AS n",
                      "id = 77"),
            0);
  EXPECT_EQ(qualified("row_number() OVER (PARTITION BY id) AS rn", "id = 77 OR rn = 1"), 0);
  // A result column named like the partition key: QUALIFY may mean it.
  EXPECT_EQ(
      Run("SELECT k AS id, row_number() OVER (PARTITION BY id) AS rn FROM t QUALIFY id = 77", true)
          .pruned,
      0);
  // Self-join: each side prunes on its own conjuncts only.
  Answer join = Run("SELECT count(*) FROM t a JOIN t b ON a.id = b.id WHERE a.id < 40", true);
  EXPECT_EQ(join.files, 2 * all.files);
  EXPECT_GE(join.pruned, all.files - 3);
  EXPECT_LT(join.pruned, all.files + 2);
}

// --cluster-by and --sort-by: files sorted by the columns, so their ranges do not overlap
// whatever the order of arrival, and the order is remembered.
class Clustering : public WarehouseTest {
 protected:
  void SetUp() override {
    WarehouseTest::SetUp();
    Config c = MakeConfig();
    c.target_file_bytes = 1 << 20;  // several files from a few hundred thousand rows
    wh_.reset();
    auto w = Warehouse::Open(c);
    ASSERT_TRUE(w.ok()) << w.status().message();
    wh_ = std::move(w).value();
  }
  // 400k rows in random order: ids 0..399999 (plus `offset`), k = id % 1000.
  Result<WriteResult> Write(int64_t offset, std::optional<std::vector<std::string>> cluster) {
    std::string path = fmt::format("{}/c{}.parquet", dir_->path(), ++files_written_);
    WriteParquet(fmt::format("SELECT range + {0} AS id, (range + {0}) % 1000 AS k, "
                             "md5(range::VARCHAR) AS pad FROM range(400000) ORDER BY hash(range)",
                             offset),
                 path);
    WriteRequest req;
    req.input_path = path;
    req.cluster_by = std::move(cluster);
    return wh_->Write(wh_->Ref("s", "c"), req);
  }
  // True when no two files' ranges of `column` (BIGINT statistics) overlap, but for a shared
  // end: a size-based split may cut between two rows of one value.
  bool Disjoint(const std::string& column, int64_t* files, bool expected = true) {
    auto snap = wh_->LoadSnapshot(wh_->Ref("s", "c"));
    EXPECT_TRUE(snap.ok());
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (const auto& f : snap->files) {
      const auto& st = f.stats.at(column);
      ranges.emplace_back(std::stoll(*st.min), std::stoll(*st.max));
    }
    *files = static_cast<int64_t>(ranges.size());
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
      if (ranges[i].first < ranges[i - 1].second) {
        std::string all;
        for (const auto& [lo, hi] : ranges) all += fmt::format(" [{}, {}]", lo, hi);
        if (expected) ADD_FAILURE() << column << " ranges overlap:" << all;
        return false;
      }
    }
    return true;
  }
  std::vector<std::string> Order() { return wh_->LoadSnapshot(wh_->Ref("s", "c"))->cluster_by; }
};

TEST_F(Clustering, IngestSortsAndTheTableRemembers) {
  ASSERT_TRUE(Write(0, std::vector<std::string>{"id"}).ok());
  int64_t files = 0;
  EXPECT_TRUE(Disjoint("id", &files));
  EXPECT_GE(files, 2);
  EXPECT_EQ(Order(), std::vector<std::string>{"id"});
  QueryRequest req{"s", "SELECT count(*) FROM c WHERE id = 123456"};
  RowsSink sink;
  auto r = wh_->Query(req, sink);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->files - r->files_pruned, 1);
  // A later append, without the flag, is sorted by the remembered order: its files do not
  // overlap each other (nor the first write's: its ids come after them).
  int64_t first_files = files;
  ASSERT_TRUE(Write(400000, std::nullopt).ok());
  EXPECT_TRUE(Disjoint("id", &files));
  EXPECT_GT(files, first_files);
  // An unknown column is refused before anything is written.
  auto bad = Write(0, std::vector<std::string>{"nope"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot cluster by 'nope'"), std::string::npos)
      << bad.status().message();
  // '' forgets the order.
  ASSERT_TRUE(Write(800000, std::vector<std::string>{}).ok());
  EXPECT_TRUE(Order().empty());
}

// Rows that fit one file under the target go there straight from the sort: one file, in order.
TEST_F(Clustering, ASmallSortedWriteIsOneFileInOrder) {
  std::string path = fmt::format("{}/small.parquet", dir_->path());
  WriteParquet("SELECT range AS id, range % 7 AS k FROM range(5000) ORDER BY hash(range)", path);
  WriteRequest req;
  req.input_path = path;
  req.cluster_by = std::vector<std::string>{"k", "id"};
  auto w = wh_->Write(wh_->Ref("s", "small"), req);
  ASSERT_TRUE(w.ok()) << w.status().message();
  ASSERT_EQ(w->outcome.data_files.size(), 1u);
  auto snap = wh_->LoadSnapshot(wh_->Ref("s", "small"));
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->files.size(), 1u);
  // The file's own row order (its positions are the row ids) is (k, id).
  QueryRequest q{"s",
                 "SELECT count(*) FROM (SELECT k, id, lag(k) OVER (ORDER BY __st_row_id) AS pk, "
                 "lag(id) OVER (ORDER BY __st_row_id) AS pid FROM small) "
                 "WHERE pk > k OR (pk = k AND pid > id)"};
  q.system_columns = true;
  RowsSink sink;
  auto r = wh_->Query(q, sink);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(sink.rows.at(0).at(0), 0);
}

TEST_F(Clustering, CompactionSortsTheWholeTable) {
  ASSERT_TRUE(Write(0, std::nullopt).ok());
  ASSERT_TRUE(Write(400000, std::nullopt).ok());
  int64_t files = 0;
  EXPECT_FALSE(Disjoint("k", &files, false));  // arrival order: every file holds every k
  CompactOptions co;
  co.sort_by = std::vector<std::string>{"k"};
  auto c = wh_->Compact(wh_->Ref("s", "c"), co);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->committed);
  EXPECT_TRUE(Disjoint("k", &files));
  EXPECT_GE(files, 3);
  EXPECT_EQ(Order(), std::vector<std::string>{"k"});
  QueryRequest req{"s", "SELECT count(*) FROM c WHERE k = 7"};
  RowsSink sink;
  auto r = wh_->Query(req, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_LE(r->files - r->files_pruned, 2);
  EXPECT_EQ(sink.rows.at(0).at(0), 800);
  // Rows past every stored range arrive (sorted by the remembered order): the next compaction
  // leaves the files that overlap nothing as they are.
  std::string path = fmt::format("{}/later.parquet", dir_->path());
  WriteParquet(
      "SELECT range + 1000000 AS id, 1000 + range % 1000 AS k, md5(range::VARCHAR) AS pad "
      "FROM range(400000)",
      path);
  WriteRequest later;
  later.input_path = path;
  ASSERT_TRUE(wh_->Write(wh_->Ref("s", "c"), later).ok());
  EXPECT_TRUE(Disjoint("k", &files));
  int64_t before = files;
  auto again = wh_->Compact(wh_->Ref("s", "c"), CompactOptions{});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_LT(again->files_rewritten, before / 2) << again->files_rewritten << " of " << before;
  EXPECT_TRUE(Disjoint("k", &files));
  co.sort_by = std::vector<std::string>{"missing"};
  auto bad = wh_->Compact(wh_->Ref("s", "c"), co);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot sort by 'missing'"), std::string::npos);
}

}  // namespace
}  // namespace supertable
