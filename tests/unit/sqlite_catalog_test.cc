// SqliteCatalog: compare-and-swap commits, history, locks.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "catalog/sqlite_catalog.h"
#include "support/test_support.h"

namespace supertable {

using testing::TempDir;

namespace {
CommitRecord Rec(int64_t v) { return {v, "snap" + std::to_string(v), 1000 * v, "append", "{}"}; }
}  // namespace

TEST(SqliteCatalog, CommitIsCompareAndSwap) {
  TempDir d;
  auto cat = SqliteCatalog::Open(d.path() + "/catalog.db");
  ASSERT_TRUE(cat.ok());
  TableRef t{"o", "s", "t"};
  ASSERT_TRUE((*cat)->Commit(t, 0, Rec(1)).ok());
  // A second creator loses.
  EXPECT_EQ((*cat)->Commit(t, 0, Rec(1)).code(), StatusCode::kConflict);
  ASSERT_TRUE((*cat)->Commit(t, 1, Rec(2)).ok());
  // A writer that read version 1 cannot overwrite version 2.
  EXPECT_EQ((*cat)->Commit(t, 1, Rec(2)).code(), StatusCode::kConflict);
  auto head = (*cat)->GetHead(t);
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->version, 2);
  EXPECT_EQ((*head)->snapshot_key, "snap2");
  EXPECT_EQ((*cat)->History(t)->size(), 2u);
  EXPECT_TRUE(*(*cat)->SuperExists("o", "s"));
  EXPECT_EQ((*cat)->ListTables("o", "s")->size(), 1u);
  EXPECT_EQ((*cat)->ListSupers("other")->size(), 0u);
}

TEST(SqliteCatalog, ExpireKeepsCurrent) {
  TempDir d;
  auto cat = std::move(SqliteCatalog::Open(d.path() + "/c.db")).value();
  TableRef t{"o", "s", "t"};
  for (int v = 1; v <= 4; ++v) ASSERT_TRUE(cat->Commit(t, v - 1, Rec(v)).ok());
  ASSERT_TRUE(cat->ExpireHistory(t, 100).ok());
  auto h = cat->History(t);
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].version, 4);
}

TEST(SqliteCatalog, DropForgetsHistory) {
  TempDir d;
  auto cat = std::move(SqliteCatalog::Open(d.path() + "/c.db")).value();
  TableRef t{"o", "s", "t"};
  ASSERT_TRUE(cat->Commit(t, 0, Rec(1)).ok());
  ASSERT_TRUE(cat->DropTable(t).ok());
  EXPECT_FALSE(cat->GetHead(t)->has_value());
  EXPECT_EQ(cat->History(t)->size(), 0u);
  ASSERT_TRUE(cat->Commit(t, 0, Rec(1)).ok());  // the name can be reused
  ASSERT_TRUE(cat->DropSuper("o", "s").ok());
  EXPECT_FALSE(*cat->SuperExists("o", "s"));
}

TEST(SqliteCatalog, LockTimesOutNamingHolderAndExpires) {
  TempDir d;
  auto cat = std::move(SqliteCatalog::Open(d.path() + "/c.db")).value();
  auto held = cat->AcquireLock("L", 300, 0);
  ASSERT_TRUE(held.ok());
  auto second = cat->AcquireLock("L", 300, 50);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kTimeout);
  EXPECT_NE(second.status().message().find(LockOwnerIdentity()), std::string::npos);
  // After the lease runs out another writer gets it, and the first holder cannot renew.
  auto third = cat->AcquireLock("L", 300, 2000);
  ASSERT_TRUE(third.ok()) << third.status().message();
  EXPECT_EQ((*held)->Renew().code(), StatusCode::kConflict);
  ASSERT_TRUE((*third)->Release().ok());
  // Releasing a lost lock does not free the new holder's lock... which is already released here.
  EXPECT_TRUE(cat->AcquireLock("L", 300, 0).ok());
}

TEST(SqliteCatalog, DeadLocalOwnerIsBrokenAtOnce) {
  TempDir d;
  std::string path = d.path() + "/c.db";
  {
    auto init = SqliteCatalog::Open(path);
    ASSERT_TRUE(init.ok());
  }
  pid_t child = fork();
  if (child == 0) {
    auto cat = SqliteCatalog::Open(path);
    auto lock = (*cat)->AcquireLock("L", 600000, 0);
    if (!lock.ok()) _exit(1);
    (void)lock->release();  // leak it: the process dies holding the lock
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto cat = std::move(SqliteCatalog::Open(path)).value();
  auto lock = cat->AcquireLock("L", 1000, 0);
  EXPECT_TRUE(lock.ok()) << lock.status().message();
}

}  // namespace supertable
