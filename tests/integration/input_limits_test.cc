// Hostile input shapes (security review): files that crashed DuckDB or exhausted memory are
// refused by the pre-scan (engine/input_scan.h) with one clear error, quickly, and nothing is
// committed or left in staging.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "support/test_support.h"

namespace supertable {

namespace fs = std::filesystem;
using testing::WarehouseTest;

class HostileInput : public WarehouseTest {
 protected:
  void SetUp() override {
    WarehouseTest::SetUp();
    Ingest("t", "id\n1\n");  // version 1: every refused ingest below must leave it there
  }
  // Reopens the warehouse with other limits.
  void Reopen(int64_t columns, int64_t depth = 64, int64_t record_bytes = 16ll << 20) {
    wh_.reset();
    Config c = MakeConfig();
    c.max_input_columns = columns;
    c.max_input_nesting_depth = depth;
    c.max_input_record_bytes = record_bytes;
    auto w = Warehouse::Open(c);
    ASSERT_TRUE(w.ok()) << w.status().message();
    wh_ = std::move(w).value();
  }
  std::string Path(const std::string& name) const { return dir_->path() + "/" + name; }
  // Ingests `path` into t; it must fail within two seconds with a message holding `expected`,
  // leave t at version 1 and staging empty.
  void ExpectRefused(const std::string& path, const std::string& expected,
                     WriteMode mode = WriteMode::kAppend, const std::string& table = "t") {
    WriteRequest req;
    req.input_path = path;
    req.mode = mode;
    if (mode != WriteMode::kAppend) req.key_columns = {"id"};
    auto start = std::chrono::steady_clock::now();
    auto r = wh_->Write(wh_->Ref("s", table), req);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
    EXPECT_NE(r.status().message().find(expected), std::string::npos) << r.status().message();
    EXPECT_EQ(std::count(r.status().message().begin(), r.status().message().end(), '\n'), 0);
    EXPECT_LT(seconds, 2.0) << path;
    auto hist = wh_->History(wh_->Ref("s", "t"));
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(hist->size(), 1u);
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir_->path() + "/home/staging", ec)) {
      ADD_FAILURE() << "left in staging: " << e.path();
    }
  }
  // A CSV of `columns` columns and two rows.
  std::string WideCsv(const std::string& name, int columns) {
    std::ofstream out(Path(name), std::ios::binary);
    for (int row = 0; row < 3; ++row) {
      for (int i = 0; i < columns; ++i) {
        out << (i ? "," : "") << (row == 0 ? "c" : "") << i;
      }
      out << "\n";
    }
    return Path(name);
  }
  // The first data file of table `table` (a Parquet file DuckDB wrote).
  std::string DataFileOf(const std::string& table) {
    for (const auto& e : fs::recursive_directory_iterator(dir_->path() + "/home/data")) {
      if (e.path().extension() == ".parquet" &&
          e.path().string().find("/" + table + "/data/") != std::string::npos) {
        return e.path().string();
      }
    }
    ADD_FAILURE() << "no data file for " << table;
    return "";
  }
};

TEST_F(HostileInput, CsvOf5000ColumnsIsRefused) {
  // Crashed DuckDB (SIGFPE) when its per-column statistics were gathered.
  ExpectRefused(
      WideCsv("wide.csv", 5000),
      "wide.csv has 5000 columns; at most 1000 are allowed (SUPERTABLE_MAX_INPUT_COLUMNS)");
  ExpectRefused(Path("wide.csv"), "has 5000 columns", WriteMode::kUpsert);
}

TEST_F(HostileInput, CsvOf100000ColumnsIsRefused) {
  // Ran for minutes in 3.8 GB of memory.
  ExpectRefused(WideCsv("wider.csv", 100000), "wider.csv has 100000 columns; at most 1000");
}

TEST_F(HostileInput, DataRowWiderThanTheHeaderIsDuckDbsClearError) {
  // The header decides the columns; a wider row is refused by DuckDB's reader (strict mode) at
  // once, so the scan does not count data rows' fields.
  ExpectRefused(dir_->Write("rows.csv", "id,v\n1,2\n" + std::string(100000, ',') + "\n"),
                "rows.csv");
}

TEST_F(HostileInput, QuotedDelimitersInTheHeaderAreNotCounted) {
  Reopen(3);
  auto r = TryIngest("q", "\"a,b,c\",\"d;e|f\",g\n1,2,3\n", WriteMode::kAppend);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(RowsText("SELECT \"a,b,c\", \"d;e|f\", g FROM q"), "1,2,3");
  // A quoted line break is part of the header record, and not a record of its own.
  r = TryIngest("q2", "\"a\nb\",c\n1,2\n", WriteMode::kAppend);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(RowsText("SELECT c FROM q2"), "2");
  ExpectRefused(dir_->Write("four.csv", "\"a,b\",c,d,e\n1,2,3,4\n"),
                "four.csv has 4 columns; at most 3 are allowed");
}

TEST_F(HostileInput, JsonArrayNested20000DeepIsRefused) {
  // Crashed DuckDB (SIGSEGV); 2,000 levels of objects took 42 s and 1.2 GB.
  std::string deep = std::string(20000, '[') + std::string(20000, ']');
  ExpectRefused(dir_->Write("deep.json", deep),
                "deep.json: the record starting on line 1 nests arrays and objects more than 64 "
                "levels deep; at most 64 are allowed (SUPERTABLE_MAX_INPUT_NESTING_DEPTH)");
  std::string objects;
  for (int i = 0; i < 20000; ++i) objects += "{\"a\":";
  ExpectRefused(dir_->Write("deep_objects.json",
                            "[{\"id\":1},\n" + objects + "1" + std::string(20000, '}') + "]"),
                "the record starting on line 2 nests arrays and objects more than 64");
}

TEST_F(HostileInput, NdjsonRecordNested20000DeepIsRefused) {
  std::string deep =
      "{\"id\":1}\n{\"id\":2,\"a\":" + std::string(20000, '[') + std::string(20000, ']') + "}\n";
  ExpectRefused(dir_->Write("deep.ndjson", deep), "the record starting on line 2 nests");
  ExpectRefused(Path("deep.ndjson"), "nests arrays and objects", WriteMode::kUpsert);
}

TEST_F(HostileInput, NestingAtTheLimitIsAccepted) {
  Reopen(1000, 3);
  auto r = TryIngest("n", "{\"id\":1,\"a\":{\"b\":[1]}}\n", WriteMode::kAppend, {}, std::nullopt,
                     "ndjson");
  ASSERT_TRUE(r.ok()) << r.status().message();
  // Brackets inside strings are text, not nesting.
  r = TryIngest("n", "{\"id\":2,\"a\":{\"b\":[2]},\"s\":\"[[[[{{{{\\\"\"}\n", WriteMode::kAppend,
                {}, std::nullopt, "ndjson");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(RowsText("SELECT id, s FROM n ORDER BY id"), "1,NULL|2,[[[[{{{{\"");
  ExpectRefused(dir_->Write("four.ndjson", "{\"id\":1,\"a\":{\"b\":[{}]}}\n"),
                "nests arrays and objects more than 3 levels deep");
}

TEST_F(HostileInput, LineOf20MiBIsRefused) {
  std::string big(20 << 20, 'x');
  ExpectRefused(dir_->Write("long.csv", "id,v\n1,a\n2," + big + "\n"),
                "long.csv: the record starting on line 3 is longer than 16.0 MiB (16777216 "
                "bytes); at most that is allowed (SUPERTABLE_MAX_INPUT_RECORD_BYTES)");
  ExpectRefused(dir_->Write("long.ndjson", "{\"id\":1}\n{\"id\":2,\"v\":\"" + big + "\"}\n"),
                "long.ndjson: the record starting on line 2 is longer than 16.0 MiB");
  ExpectRefused(dir_->Write("long.json", "[{\"id\":1},{\"id\":2,\"v\":\"" + big + "\"}]"),
                "long.json: the record starting on line 1 is longer than 16.0 MiB");
  // An unclosed quote makes the rest of the file one record; the error says so.
  ExpectRefused(dir_->Write("quote.csv", "id,v\n1,\"a\n" + big + "\n"), "never closed");
}

TEST_F(HostileInput, RecordsUpToTheLimitAreRead) {
  // DuckDB's own CSV line limit (2 MB) is raised to ours: a 3 MiB value is read whole.
  auto r = TryIngest("l", "id,v\n1," + std::string(3 << 20, 'y') + "\n", WriteMode::kAppend);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(RowsText("SELECT length(v) FROM l"), std::to_string(3 << 20));
  // DuckDB is told the longest record the scan saw, also when it is the last one and has no
  // line end (DuckDB's CSV reader slows down with a larger line size than a file needs).
  auto last = TryIngest("m", "id,v\n1,a\n2," + std::string(5 << 20, 'z'), WriteMode::kAppend);
  ASSERT_TRUE(last.ok()) << last.status().message();
  EXPECT_EQ(RowsText("SELECT max(length(v)) FROM m"), std::to_string(5 << 20));
}

TEST_F(HostileInput, JsonKeysBeyondTheLimitAreRefused) {
  Reopen(3);
  ExpectRefused(dir_->Write("keys.ndjson", "{\"id\":1,\"a\":1,\"b\":1,\"c\":1}\n"),
                "keys.ndjson has more than 3 distinct object keys");
  // Distinct keys over all records: each record is narrow, their union is not.
  ExpectRefused(dir_->Write("union.ndjson", "{\"id\":1}\n{\"a\":1}\n{\"b\":1}\n{\"c\":1}\n"),
                "union.ndjson has more than 3 distinct object keys (columns and the fields of "
                "nested objects; the record starting on line 4 passes the limit)");
  // Nested keys count: they become struct fields.
  ExpectRefused(dir_->Write("nested.json", "[{\"id\":1,\"s\":{\"x\":1,\"y\":2}}]"),
                "more than 3 distinct object keys");
  // The same key in many records, or in the same place of nested objects, counts once.
  auto r = TryIngest("k", "[{\"id\":1,\"s\":{\"x\":1}},{\"id\":2,\"s\":{\"x\":2}}]",
                     WriteMode::kAppend, {}, std::nullopt, "json");
  ASSERT_TRUE(r.ok()) << r.status().message();
}

TEST_F(HostileInput, SchemaEvolutionBeyondTheLimitIsRefused) {
  Reopen(3);
  ASSERT_TRUE(TryIngest("t", "id,a\n2,x\n", WriteMode::kAppend).ok());  // version 2
  ASSERT_TRUE(TryIngest("t", "id,b\n3,y\n", WriteMode::kAppend).ok());  // version 3: id,a,b
  WriteRequest req;
  req.input_path = dir_->Write("more.csv", "id,c\n4,z\n");
  auto w = wh_->Write(wh_->Ref("s", "t"), req);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("more.csv would give the table 4 columns (3 it has and 1 "
                                      "new); at most 3 are allowed (SUPERTABLE_MAX_INPUT_COLUMNS)"),
            std::string::npos)
      << w.status().message();
  auto hist = wh_->History(wh_->Ref("s", "t"));
  ASSERT_TRUE(hist.ok());
  EXPECT_EQ(hist->size(), 3u);
  // A table past a since lowered limit still takes rows that add no column.
  Reopen(2);
  ASSERT_TRUE(TryIngest("t", "id,a\n5,w\n", WriteMode::kAppend).ok());
}

TEST_F(HostileInput, DamagedParquetFootersAreOneClearError) {
  ASSERT_TRUE(TryIngest("src", "id,v\n1,a\n2,b\n", WriteMode::kAppend).ok());
  std::ifstream in(DataFileOf("src"), std::ios::binary);
  std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(good.size(), 100u);
  // The file itself passes the scan: what refuses it is DuckDB's schema, with the commit time
  // column's reserved name.
  ExpectRefused(dir_->Write("good.parquet", good), "reserved prefix");

  ExpectRefused(dir_->Write("cut.parquet", good.substr(0, good.size() / 2)),
                "cut.parquet: not a Parquet file: it does not start and end with the magic bytes");
  ExpectRefused(dir_->Write("tiny.parquet", "PAR1PAR1"), "too short");
  // The footer length points before the start of the file.
  std::string longer = good;
  longer[longer.size() - 5] = '\x7f';
  ExpectRefused(dir_->Write("length.parquet", longer),
                "length.parquet: the Parquet footer is damaged: its length");
  // A footer that is cut short: the last bytes kept, the middle removed.
  uint32_t footer = 0;
  for (int i = 3; i >= 0; --i) {
    footer = (footer << 8) | static_cast<unsigned char>(good[good.size() - 8 + i]);
  }
  std::string body = good.substr(0, good.size() - 8 - footer);
  std::string meta = good.substr(good.size() - 8 - footer, footer);
  std::string half = meta.substr(0, 6);
  std::string len(4, '\0');
  for (int i = 0; i < 4; ++i) len[i] = static_cast<char>((half.size() >> (8 * i)) & 0xff);
  ExpectRefused(dir_->Write("truncated.parquet", body + half + len + "PAR1"),
                "truncated.parquet: the Parquet footer is damaged");
  // Garbage where the schema should be.
  std::string garbage = body + std::string(footer, '\xff') + good.substr(good.size() - 8);
  ExpectRefused(dir_->Write("garbage.parquet", garbage),
                "garbage.parquet: the Parquet footer is damaged");
}

TEST_F(HostileInput, CompressedInputsAreRefused) {
  // The scan cannot see inside them, and a small file may inflate into a huge one.
  ExpectRefused(dir_->Write("x.csv.gz", std::string("\x1f\x8b\x08\x00rest", 8)),
                "x.csv.gz is gzip-compressed; compressed inputs are not accepted");
  ExpectRefused(dir_->Write("x.json.zst", std::string("\x28\xb5\x2f\xfdrest", 8)),
                "is zstd-compressed");
}

TEST_F(HostileInput, WideAndDeepParquetIsRefused) {
  ASSERT_TRUE(TryIngest("w", "id,a,b,c,d\n1,2,3,4,5\n", WriteMode::kAppend).ok());
  ASSERT_TRUE(TryIngest("d", "{\"id\":1,\"s\":{\"t\":{\"u\":1}}}\n", WriteMode::kAppend, {},
                        std::nullopt, "ndjson")
                  .ok());
  std::string wide = DataFileOf("w"), deep = DataFileOf("d");
  Reopen(5, 2);
  // Five user columns and the commit time (the files are tables' data files).
  ExpectRefused(wide, "has 6 columns; at most 5 are allowed (SUPERTABLE_MAX_INPUT_COLUMNS)");
  // The root, s and s.t: as deep as the JSON record it came from.
  ExpectRefused(deep,
                "its schema nests more than 2 levels deep; at most 2 are allowed "
                "(SUPERTABLE_MAX_INPUT_NESTING_DEPTH)");
  // At the limits both pass the scan (and are refused for the commit time's reserved name).
  Reopen(6, 3);
  ExpectRefused(wide, "reserved prefix");
  ExpectRefused(deep, "reserved prefix");
}

}  // namespace supertable
