// The pre-scan of input files (engine/input_scan.h) on small files: delimiters, record ends,
// JSON kinds, limits.
#include <gtest/gtest.h>

#include "engine/input_scan.h"
#include "support/test_support.h"

namespace supertable {

using testing::TempDir;

class InputScan : public ::testing::Test {
 protected:
  TempDir dir_;
  InputLimits limits_;
};

TEST_F(InputScan, CsvDelimiterAndColumnsFromTheHeader) {
  auto r = ScanCsv(dir_.Write("a.csv", "a;b;c\n1;2;3\n"), limits_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->delimiter, ';');
  EXPECT_EQ(r->columns, 3);
  // Delimiters inside quotes (and "" escapes) are text; a tie goes to the first candidate.
  r = ScanCsv(dir_.Write("b.csv", "\"x,\"\"y\",z|w\r\n1,2|3\r\n"), limits_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->delimiter, ',');
  EXPECT_EQ(r->columns, 2);
  r = ScanCsv(dir_.Write("c.csv", "only\n1\n"), limits_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->delimiter, ',');
  EXPECT_EQ(r->columns, 1);
  EXPECT_FALSE(ScanCsv(dir_.Write("d.csv", " \t\r\n1\n"), limits_).ok());
  EXPECT_FALSE(ScanCsv(dir_.Write("e.csv", ""), limits_).ok());
}

TEST_F(InputScan, CsvRecordEnds) {
  limits_.max_record_bytes = 1024;
  std::string big(2000, 'x');
  // Carriage returns end records too (old Mac files), so such a file is not one long record.
  std::string cr;
  for (int i = 0; i < 100; ++i) cr += "a,b,c,d,e,f,g,h,i,j,k,l\r";
  EXPECT_TRUE(ScanCsv(dir_.Write("cr.csv", "h1,h2\r" + cr), limits_).ok());
  // A quoted line break continues the record, and line numbers count it.
  auto r = ScanCsv(dir_.Write("q.csv", "h\n\"a\nb\"\n\"" + big + "\"\n"), limits_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the record starting on line 4 is longer than 1.0 KiB"),
            std::string::npos)
      << r.status().message();
  r = ScanCsv(dir_.Write("h.csv", big + "\n1\n"), limits_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the header record starting on line 1"), std::string::npos);
  // A record across the scan's 1 MiB chunks is measured whole.
  limits_.max_record_bytes = 3 << 20;
  EXPECT_TRUE(ScanCsv(dir_.Write("l.csv", "h\n" + std::string(2 << 20, 'y') + "\n"), limits_).ok());
  EXPECT_FALSE(
      ScanCsv(dir_.Write("m.csv", "h\n" + std::string(4 << 20, 'y') + "\n"), limits_).ok());
}

TEST_F(InputScan, JsonKindsAndLimits) {
  auto r = ScanJson(dir_.Write("a.json", "  [{\"a\": 1}]\n"), limits_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  r = ScanJson(dir_.Write("b.ndjson", "{\"a\": \"]\\\"[\"}\n{\"a\": 2}\n"), limits_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(*r);
  EXPECT_FALSE(ScanJson(dir_.Write("c.json", "[{\"a\": 1},"), limits_).ok());
  EXPECT_FALSE(ScanJson(dir_.Write("d.json", " \n "), limits_).ok());
  limits_.max_nesting_depth = 2;
  EXPECT_TRUE(ScanJson(dir_.Write("e.json", "[{\"a\": [1]}]"), limits_).ok());
  EXPECT_FALSE(ScanJson(dir_.Write("f.json", "[{\"a\": [[1]]}]"), limits_).ok());
  EXPECT_FALSE(ScanJson(dir_.Write("g.ndjson", "{\"a\": {\"b\": {}}}\n"), limits_).ok());
  limits_.max_columns = 2;
  // The same key path counts once however often it appears; escapes inside keys are part of it.
  EXPECT_TRUE(
      ScanJson(dir_.Write("h.ndjson", "{\"a\":1,\"b\\\"\":2}\n{\"b\\\"\":3}\n"), limits_).ok());
  // a and a.a: two key paths, at the limit; a third is one too many.
  EXPECT_TRUE(ScanJson(dir_.Write("j.ndjson", "{\"a\":{\"a\":1}}\n"), limits_).ok());
  EXPECT_FALSE(ScanJson(dir_.Write("k.ndjson", "{\"a\":{\"a\":1, \"b\":2}}\n"), limits_).ok());
}

TEST_F(InputScan, ParquetThatIsNotParquet) {
  EXPECT_FALSE(ScanParquet(dir_.Write("a.parquet", "PAR1 this is not parquet"), limits_).ok());
  EXPECT_FALSE(ScanParquet(dir_.Write("b.parquet", "PAR1"), limits_).ok());
  auto s = ScanParquet(dir_.Write("c.parquet", std::string("PAR1xxxx\x05\0\0\0PARE", 16)), limits_);
  EXPECT_NE(s.message().find("encrypted"), std::string::npos) << s.message();
}

}  // namespace supertable
