// Concurrent writers (processes and an expired lock) and crash safety (SIGKILL mid-write).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "support/test_support.h"

namespace supertable {

using testing::RunCli;
using testing::TempDir;
using testing::WarehouseTest;

class Concurrency : public WarehouseTest {};

// Four processes append and upsert into one table at once; every row must land exactly once.
TEST_F(Concurrency, FourProcessesLoseNothing) {
  Ingest("t", "writer,seq,v\n-1,-1,seed\n");
  constexpr int kWriters = 4, kBatches = 6;
  std::string home = MakeConfig().home;
  std::vector<pid_t> pids;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = fork();
    if (pid == 0) {
      int failures = 0;
      for (int b = 0; b < kBatches; ++b) {
        std::string csv = "writer,seq,v\n";
        for (int r = 0; r < 50; ++r) csv += fmt::format("{},{},{}\n", w, b * 50 + r, "x");
        std::string path = dir_->Write(fmt::format("w{}_{}.csv", w, b), csv);
        // Even batches append, odd ones upsert keys this writer owns (and rewrite one earlier row).
        std::vector<std::string> args = {"--org", "test", "ingest", "s", "t", path};
        if (b % 2) {
          std::string up = csv + fmt::format("{},{},{}\n", w, (b - 1) * 50, "updated");
          path = dir_->Write(fmt::format("w{}_{}u.csv", w, b), up);
          args = {"--org", "test", "ingest", "s", "t", path, "--overwrite-columns", "writer,seq"};
        }
        auto r = RunCli(args, home);
        if (r.exit_code != 0) {
          fprintf(stderr, "writer %d batch %d: %s\n", w, b, r.err.c_str());
          ++failures;
        }
      }
      _exit(failures);
    }
    pids.push_back(pid);
  }
  for (pid_t p : pids) {
    int status;
    waitpid(p, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(RowsText("SELECT count(*), count(DISTINCT (writer, seq)) FROM t"),
            fmt::format("{0},{0}", 1 + kWriters * kBatches * 50));
  EXPECT_EQ(RowsText("SELECT count(*) FROM t WHERE v = 'updated'"),
            std::to_string(kWriters * (kBatches / 2)));
  auto h = wh_->History(wh_->Ref("s", "t"));
  EXPECT_EQ(h->size(), static_cast<size_t>(1 + kWriters * kBatches));
}

// The lock expires (and is taken by another writer) while the first writer is still working.
// The compare-and-swap refuses the stale commit; the writer redoes its work on the new snapshot.
TEST_F(Concurrency, ExpiredLockCannotLoseAnUpdate) {
  Ingest("t", "id,v\n1,a\n2,b\n");
  auto other = Warehouse::Open(MakeConfig());
  ASSERT_TRUE(other.ok());
  WriteRequest req;
  req.input_path = dir_->Write("a.csv", "id,v\n2,from_a\n3,from_a\n");
  req.mode = WriteMode::kUpsert;
  req.key_columns = {"id"};
  req.before_commit = [&](int attempt) {
    if (attempt != 1) return;
    // Simulate the lease running out: break the lock row, as an expired lock would be taken.
    sqlite3* db;
    ASSERT_EQ(sqlite3_open((MakeConfig().home + "/catalog.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ASSERT_EQ(sqlite3_exec(db, "DELETE FROM locks", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    WriteRequest b;
    b.input_path = dir_->Write("b.csv", "id,v\n2,from_b\n4,from_b\n");
    b.mode = WriteMode::kUpsert;
    b.key_columns = {"id"};
    auto rb = (*other)->Write((*other)->Ref("s", "t"), b);
    ASSERT_TRUE(rb.ok()) << rb.status().message();
    EXPECT_EQ(rb->version, 2);
  };
  auto ra = wh_->Write(wh_->Ref("s", "t"), req);
  ASSERT_TRUE(ra.ok()) << ra.status().message();
  EXPECT_EQ(ra->attempts, 2);
  EXPECT_EQ(ra->version, 3);
  // A's upsert was recomputed against B's commit: id 2 has exactly one row, A's.
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"), "1,a|2,from_a|3,from_a|4,from_b");
}

// SIGKILL at many points of an ingest: the previous snapshot stays intact and readable, and
// the next writer is not blocked by the dead process's lock.
TEST_F(Concurrency, KillDuringIngestLeavesPreviousSnapshot) {
  Ingest("t", "id,name,amount\n0,seed,1.5\n");
  std::string big = dir_->path() + "/big.csv";
  {
    std::ofstream out(big);
    out << "id,name,amount\n";
    for (int i = 1; i <= 1500000; ++i)
      out << i << ",name_" << (i % 9973) << "," << (i % 1000) * 0.25 << "\n";
  }
  std::string home = MakeConfig().home;
  int64_t expected_rows = 1;
  int64_t expected_version = 1;
  for (int delay_ms : {50, 200, 400, 700, 1000, 1400, 2000}) {
    pid_t pid = fork();
    if (pid == 0) {
      setenv("SUPERTABLE_HOME", home.c_str(), 1);
      setenv("SUPERTABLE_ORGANIZATION", "test", 1);
      setenv("SUPERTABLE_DUCKDB_THREADS", "2", 1);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execl(SUPERTABLE_BIN, SUPERTABLE_BIN, "ingest", "s", "t", big.c_str(), (char*)nullptr);
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    bool finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    // The catalog decides: either the ingest committed whole or not at all.
    auto head = wh_->catalog().GetHead(wh_->Ref("s", "t"));
    ASSERT_TRUE(head.ok() && head->has_value());
    if ((*head)->version > expected_version) {
      expected_version = (*head)->version;
      expected_rows += 1500000;
    }
    (void)finished;
    EXPECT_EQ(RowsText("SELECT count(*) FROM t"), std::to_string(expected_rows))
        << "killed after " << delay_ms << " ms";
  }
  // The dead writers' locks do not block the next writer.
  auto start = std::chrono::steady_clock::now();
  Ingest("t", "id,name,amount\n-1,after,0\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(RowsText("SELECT count(*) FROM t"), std::to_string(expected_rows + 1));
  // gc with no grace removes whatever the killed writers left behind, and nothing else.
  GcOptions opt;
  opt.grace_micros = 0;
  ASSERT_TRUE(wh_->Gc(wh_->Ref("s", "t"), opt).ok());
  ASSERT_TRUE(wh_->CleanStaging(0).ok());
  EXPECT_EQ(RowsText("SELECT count(*) FROM t"), std::to_string(expected_rows + 1));
  EXPECT_TRUE(std::filesystem::is_empty(home + "/staging"));
}

}  // namespace supertable
