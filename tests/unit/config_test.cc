// Configuration parsing.
#include <gtest/gtest.h>

#include <stdlib.h>

#include "common/config.h"

namespace supertable {

TEST(DotEnv, ParsesCommonForms) {
  auto m = ParseDotEnv(
      "# comment\n"
      "SUPERTABLE_HOME=/data/st\n"
      "export LOG_LEVEL=info\n"
      "REDIS_PASSWORD=\"p#ss word\"\n"
      "STORAGE_BUCKET='b' \n"
      "SUPERTABLE_ORGANIZATION=acme # trailing comment\n"
      "garbage line\n");
  EXPECT_EQ(m["SUPERTABLE_HOME"], "/data/st");
  EXPECT_EQ(m["LOG_LEVEL"], "info");
  EXPECT_EQ(m["REDIS_PASSWORD"], "p#ss word");
  EXPECT_EQ(m["STORAGE_BUCKET"], "b");
  EXPECT_EQ(m["SUPERTABLE_ORGANIZATION"], "acme");
  EXPECT_EQ(m.count("garbage line"), 0u);
}

TEST(Config, EnvironmentAndValidation) {
  setenv("SUPERTABLE_LOCK_TIMEOUT_MS", "1234", 1);
  setenv("SUPERTABLE_ORGANIZATION", "acme", 1);
  auto c = Config::FromEnvironment();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->lock_timeout_ms, 1234);
  ASSERT_TRUE(c->Finish().ok());
  EXPECT_EQ(c->organization, "acme");

  setenv("SUPERTABLE_LOCK_TIMEOUT_MS", "soon", 1);
  auto bad = Config::FromEnvironment();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("SUPERTABLE_LOCK_TIMEOUT_MS"), std::string::npos);
  unsetenv("SUPERTABLE_LOCK_TIMEOUT_MS");

  setenv("SUPERTABLE_ORGANIZATION", "bad org", 1);
  auto c2 = Config::FromEnvironment();
  ASSERT_TRUE(c2.ok());
  EXPECT_FALSE(c2->Finish().ok());
  unsetenv("SUPERTABLE_ORGANIZATION");

  setenv("STORAGE_TYPE", "FTP", 1);
  auto c3 = Config::FromEnvironment();
  ASSERT_TRUE(c3.ok());
  auto s = c3->Finish();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("STORAGE_TYPE"), std::string::npos);
  unsetenv("STORAGE_TYPE");
}

TEST(ConfigLongestQuery, CoversEveryTimeoutARequestMayAskFor) {
  Config c;
  c.query_timeout_ms = 60000;
  EXPECT_EQ(c.LongestQueryMs(), kMaxRequestTimeoutMs);  // a request may ask for 10 minutes
  c.query_timeout_ms = 3600000;
  EXPECT_EQ(c.LongestQueryMs(), 3600000);
  c.query_timeout_ms = 0;  // no limit configured: queries are still cut at a day
  EXPECT_EQ(c.LongestQueryMs(), 24ll * 3600 * 1000);
}

TEST(Config, InputLimits) {
  auto c = Config::FromEnvironment();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_input_columns, 1000);
  EXPECT_EQ(c->max_input_nesting_depth, 64);
  EXPECT_EQ(c->max_input_record_bytes, 16 << 20);
  setenv("SUPERTABLE_MAX_INPUT_COLUMNS", "50", 1);
  c = Config::FromEnvironment();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_input_columns, 50);
  setenv("SUPERTABLE_MAX_INPUT_COLUMNS", "0", 1);
  c = Config::FromEnvironment();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "SUPERTABLE_MAX_INPUT_COLUMNS='0' is not valid: expected an integer >= 1");
  unsetenv("SUPERTABLE_MAX_INPUT_COLUMNS");
  setenv("SUPERTABLE_MAX_INPUT_RECORD_BYTES", "100", 1);
  EXPECT_FALSE(Config::FromEnvironment().ok());
  unsetenv("SUPERTABLE_MAX_INPUT_RECORD_BYTES");
}

}  // namespace supertable

namespace supertable {
namespace {

TEST(EffectiveConfiguration, SecretsAreRedactedByName) {
  EXPECT_EQ(RedactedSettingValue("SUPERTABLE_SUPERTOKEN", "s3cr3t"), "[redacted]");
  EXPECT_EQ(RedactedSettingValue("STORAGE_SECRET_KEY", "k"), "[redacted]");
  EXPECT_EQ(RedactedSettingValue("AZURE_STORAGE_CONNECTION_STRING", "AccountKey=x"), "[redacted]");
  EXPECT_EQ(RedactedSettingValue("SUPERTABLE_REDIS_URL", "redis://:pw@10.0.0.1:6379/0"),
            "redis://:[redacted]@10.0.0.1:6379/0");
  EXPECT_EQ(RedactedSettingValue("STORAGE_ENDPOINT_URL", "https://user:pw@s3.local"),
            "https://user:[redacted]@s3.local");
  EXPECT_EQ(RedactedSettingValue("SUPERTABLE_ORGANIZATION", "acme"), "acme");
}

TEST(EffectiveConfiguration, ListsWhatWasReadAndIsSet) {
  ::setenv("SUPERTABLE_TEST_SETTING_SHOWN", "42", 1);
  ::setenv("SUPERTABLE_TEST_API_KEY", "hidden", 1);
  (void)GetSetting("SUPERTABLE_TEST_SETTING_SHOWN");
  (void)GetSetting("SUPERTABLE_TEST_API_KEY");
  (void)GetSetting("SUPERTABLE_TEST_SETTING_UNSET");
  bool shown = false, key = false;
  for (const auto& s : SettingsInUse()) {
    EXPECT_NE(s.name, "SUPERTABLE_TEST_SETTING_UNSET");
    if (s.name == "SUPERTABLE_TEST_SETTING_SHOWN")
      shown = s.value == "42" && s.source == "environment";
    if (s.name == "SUPERTABLE_TEST_API_KEY") key = s.value == "[redacted]";
  }
  EXPECT_TRUE(shown);
  EXPECT_TRUE(key);
  ::unsetenv("SUPERTABLE_TEST_SETTING_SHOWN");
  ::unsetenv("SUPERTABLE_TEST_API_KEY");
}

}  // namespace
}  // namespace supertable
