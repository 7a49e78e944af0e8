// LocalObjectStore: atomic visibility, ranges, listing, put-if-absent races.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/ids.h"
#include "storage/local_object_store.h"
#include "support/test_support.h"

namespace supertable {

using testing::TempDir;

TEST(LocalObjectStore, PutGetRangeListDelete) {
  TempDir d;
  LocalObjectStore s(d.path() + "/root", d.path() + "/staging");
  ASSERT_TRUE(s.Put("o/a/x.bin", "hello world").ok());
  ASSERT_TRUE(s.Put("o/b/y.bin", "1").ok());
  EXPECT_EQ(*s.Get("o/a/x.bin"), "hello world");
  EXPECT_EQ(*s.GetRange("o/a/x.bin", 6, 5), "world");
  EXPECT_EQ(*s.GetRange("o/a/x.bin", 6, 100), "world");  // short read at the end
  auto list = s.List("o/");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key, "o/a/x.bin");
  EXPECT_EQ((*list)[0].size, 11);
  EXPECT_EQ(s.List("o/a")->size(), 1u);
  EXPECT_EQ(s.List("nothing/")->size(), 0u);
  ASSERT_TRUE(s.Delete("o/a/x.bin").ok());
  EXPECT_TRUE(s.Delete("o/a/x.bin").ok());  // idempotent
  EXPECT_EQ(s.Get("o/a/x.bin").status().code(), StatusCode::kNotFound);
}

TEST(LocalObjectStore, RefusesEscapingKeys) {
  TempDir d;
  LocalObjectStore s(d.path() + "/root", d.path() + "/staging");
  EXPECT_FALSE(s.Put("../evil", "x").ok());
  EXPECT_FALSE(s.Put("/etc/passwd", "x").ok());
  EXPECT_FALSE(s.Get("a/../../b").ok());
}

TEST(LocalObjectStore, PutFileMovesAndHidesTempFiles) {
  TempDir d;
  LocalObjectStore s(d.path() + "/root", d.path() + "/staging");
  std::filesystem::create_directories(d.path() + "/staging");
  std::string local = d.Write("staging/f.parquet", "data");
  ASSERT_TRUE(s.PutFile("t/data/f.parquet", local).ok());
  EXPECT_FALSE(std::filesystem::exists(local));
  EXPECT_EQ(*s.Get("t/data/f.parquet"), "data");
  // A crashed writer's temp file is not an object.
  d.Write("root/t/data/.tmp-123", "partial");
  EXPECT_EQ(s.List("t/")->size(), 1u);
  // ... and gc's RemoveAbandoned deletes it once it is old enough, leaving objects alone.
  EXPECT_EQ(*s.RemoveAbandoned("t/", 0), 0);
  EXPECT_EQ(*s.RemoveAbandoned("t/", NowMicros() + 1000000), 1);
  EXPECT_FALSE(std::filesystem::exists(d.path() + "/root/t/data/.tmp-123"));
  EXPECT_EQ(*s.Get("t/data/f.parquet"), "data");
}

TEST(LocalObjectStore, PutIfAbsentHasOneWinner) {
  TempDir d;
  LocalObjectStore s(d.path() + "/root", d.path() + "/staging");
  std::atomic<int> wins{0}, losses{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Status st = s.PutIfAbsent("k/v1.json", "writer " + std::to_string(i));
      (st.ok() ? wins : losses)++;
      if (!st.ok()) {
        EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(losses.load(), 7);
  EXPECT_EQ(s.Get("k/v1.json")->rfind("writer ", 0), 0u);
  EXPECT_EQ(s.List("k/")->size(), 1u);  // no temp files left behind
}

}  // namespace supertable
