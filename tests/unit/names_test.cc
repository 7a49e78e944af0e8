// Name validation and suggestions.
#include <gtest/gtest.h>

#include "common/ids.h"
#include "common/names.h"

namespace supertable {

TEST(Names, AcceptsIdentifiers) {
  EXPECT_TRUE(ValidateName("orders", "table").ok());
  EXPECT_TRUE(ValidateName("_tmp_2", "table").ok());
  EXPECT_TRUE(ValidateName(std::string(128, 'a'), "table").ok());
}

TEST(Names, RejectsWithReason) {
  auto s = ValidateName("2fast", "table");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("^[A-Za-z_][A-Za-z0-9_]*$"), std::string::npos);
  EXPECT_FALSE(ValidateName("", "super table").ok());
  EXPECT_FALSE(ValidateName("a-b", "table").ok());
  EXPECT_FALSE(ValidateName("a.b", "table").ok());
  EXPECT_FALSE(ValidateName("../etc", "table").ok());
  EXPECT_FALSE(ValidateName("naïve", "table").ok());
  auto long_name = ValidateName(std::string(129, 'a'), "table");
  EXPECT_NE(long_name.message().find("at most 128"), std::string::npos);
}

TEST(Names, AuditSuperNameIsReserved) {
  EXPECT_FALSE(ValidateName("__audit", "super table").ok());
  EXPECT_FALSE(ValidateName("__AUDIT", "super table").ok());
  EXPECT_NE(ValidateName("__audit", "super table").message().find("audit trail"),
            std::string::npos);
  EXPECT_TRUE(ValidateName("__audit", "table").ok());  // a table of that name is harmless
  EXPECT_TRUE(ValidateName("__audits", "super table").ok());
}

TEST(Names, ReservedColumnPrefix) {
  EXPECT_FALSE(ValidateColumnName("__st_row_id").ok());
  EXPECT_TRUE(ValidateColumnName("Cost Total $").ok());
  EXPECT_FALSE(ValidateColumnName("").ok());
}

TEST(Names, SuggestsNearest) {
  std::vector<std::string> names = {"orders", "customers", "products"};
  EXPECT_EQ(DidYouMean("ordrs", names), "; did you mean 'orders'?");
  EXPECT_EQ(DidYouMean("zzzzzz", names), "");
  EXPECT_EQ(NearestNames("Customer", names).at(0), "customers");
}

TEST(Timestamps, RoundTrip) {
  int64_t t = 1732233600123456;
  EXPECT_EQ(ParseTimestamp(FormatTimestamp(t)), t);
  EXPECT_EQ(ParseTimestamp("2024-11-22"), 1732233600000000);
  EXPECT_EQ(ParseTimestamp("2024-11-22 00:00:01"), 1732233601000000);
  EXPECT_EQ(ParseTimestamp("2024-13-22"), -1);
  EXPECT_EQ(ParseTimestamp("yesterday"), -1);
}

TEST(Ids, RandomAndHex) {
  auto a = RandomId(), b = RandomId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace supertable
