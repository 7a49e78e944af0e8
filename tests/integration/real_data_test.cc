// Real-world files from ../shared/data/real, written by no one here: ingest them as they are
// and check what they actually contain.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace supertable {

using testing::SharedDataFile;
using testing::WarehouseTest;

class RealData : public WarehouseTest {
 protected:
  WriteResult Load(const std::string& table, const std::string& file,
                   WriteMode mode = WriteMode::kAppend, std::vector<std::string> keys = {}) {
    WriteRequest req;
    req.input_path = SharedDataFile(file);
    req.mode = mode;
    req.key_columns = std::move(keys);
    auto r = wh_->Write(wh_->Ref("real", table), req);
    EXPECT_TRUE(r.ok()) << file << ": " << r.status().message();
    return r.ok() ? *r : WriteResult{};
  }
};

TEST_F(RealData, ZipcodesKeepLeadingZerosThroughUpserts) {
  EXPECT_EQ(Load("zipcodes", "zipcodes.csv").outcome.inserted, 42049);
  EXPECT_EQ(RowsText("SELECT zip_code, city FROM zipcodes ORDER BY zip_code LIMIT 2", "real"),
            "00501,Holtsville|00544,Holtsville");
  // Upserting the same file replaces every row once: same count, nothing duplicated.
  auto r = Load("zipcodes", "zipcodes.csv", WriteMode::kUpsert, {"zip_code"});
  EXPECT_EQ(r.outcome.deleted, 42049);
  EXPECT_EQ(RowsText("SELECT count(*), count(DISTINCT zip_code) FROM zipcodes", "real"),
            "42049,42049");
}

TEST_F(RealData, BirdstrikesColumnsWithSpaces) {
  EXPECT_EQ(Load("birdstrikes", "birdstrikes.csv").outcome.inserted, 10000);
  EXPECT_EQ(RowsText("SELECT count(*) FROM birdstrikes WHERE \"Cost Total $\" > 0", "real"), "209");
  EXPECT_EQ(RowsText("SELECT typeof(\"Flight Date\") FROM birdstrikes LIMIT 1", "real"), "DATE");
  auto d = wh_->Describe(wh_->Ref("real", "birdstrikes"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->columns.size(), 14u);
}

TEST_F(RealData, JsonFiles) {
  EXPECT_EQ(Load("flights", "flights-20k.json").outcome.inserted, 20000);
  EXPECT_EQ(RowsText("SELECT count(DISTINCT origin) > 10 FROM flights", "real"), "true");
  EXPECT_EQ(Load("budget", "budget.json").outcome.inserted, 237);
  EXPECT_EQ(RowsText("SELECT count(*) FROM budget WHERE \"Agency name\" IS NOT NULL", "real"),
            "237");
  // GeoJSON: one document with nested features; it stays one row with nested types, queryable.
  EXPECT_EQ(Load("earthquakes", "earthquakes.json").outcome.inserted, 1);
  EXPECT_EQ(RowsText("SELECT len(features) > 1000 FROM earthquakes", "real"), "true");
}

TEST_F(RealData, WeatherAppendsAndQueries) {
  EXPECT_EQ(Load("weather", "seattle-weather.csv").outcome.inserted, 1461);
  EXPECT_EQ(Load("weather", "weather.csv").outcome.inserted, 2922);  // different columns: evolution
  EXPECT_EQ(RowsText("SELECT count(*) FROM weather", "real"), "4383");
  EXPECT_EQ(Load("airports", "airports.csv").outcome.inserted, 3376);
  EXPECT_EQ(Load("species", "species.csv").outcome.inserted, 12360);
}

}  // namespace supertable
