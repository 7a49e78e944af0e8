// multipart/form-data parsing (src/api/multipart.h): browsers' shapes, and hostile ones.
#include "api/multipart.h"

#include <gtest/gtest.h>

namespace supertable {
namespace {

TEST(MultipartBoundary, FromTheContentType) {
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=----WebKitFormBoundaryX7"),
            "----WebKitFormBoundaryX7");
  EXPECT_EQ(MultipartBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(MultipartBoundary("multipart/form-data"));
  EXPECT_FALSE(MultipartBoundary("multipart/mixed; boundary=x"));
  EXPECT_FALSE(MultipartBoundary("text/csv; boundary=x"));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'a')));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=\"unterminated"));
}

TEST(ParseMultipart, FieldsAndAFile) {
  std::string body =
      "--xyz\r\nContent-Disposition: form-data; name=\"overwrite_columns\"\r\n\r\nid\r\n"
      "--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a;b.csv\"\r\n"
      "Content-Type: text/csv\r\n\r\nid,name\r\n1,\"x\r\n--y\"\r\n\r\n--xyz--\r\n";
  auto parts = ParseMultipart(body, "xyz");
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "overwrite_columns");
  EXPECT_EQ((*parts)[0].body, "id");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, "a;b.csv");
  EXPECT_EQ((*parts)[1].content_type, "text/csv");
  // The file's bytes as sent, CRLFs and boundary-like text inside it included.
  EXPECT_EQ((*parts)[1].body, "id,name\r\n1,\"x\r\n--y\"\r\n");
}

TEST(ParseMultipart, EmptyBodyOfAPartAndAPreamble) {
  auto parts = ParseMultipart(
      "ignored preamble\r\n--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\r\n--b--",
      "b");
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].body, "");
}

TEST(ParseMultipart, MalformedBodiesSayWhatIsWrong) {
  struct Case {
    std::string body, error;
  };
  const std::vector<Case> cases = {
      {"", "no boundary line"},
      {"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nid\n1\n", "closing boundary"},
      {"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n", "headers do not end"},
      {"--b\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nx\r\n--b--", "not form-data"},
      {"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", "no Content-Disposition name"},
      {"--b\r\nbroken header\r\n\r\nx\r\n--b--", "has no ':'"},
      {"--bjunk", "not followed by CRLF"},
  };
  for (const auto& c : cases) {
    auto parts = ParseMultipart(c.body, "b");
    ASSERT_FALSE(parts.ok()) << c.body;
    EXPECT_NE(parts.status().message().find(c.error), std::string::npos)
        << c.body << " -> " << parts.status().message();
  }
}

TEST(ParseMultipart, PartCountIsBounded) {
  std::string body;
  for (int i = 0; i < 10; ++i)
    body += "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n";
  body += "--b--";
  EXPECT_TRUE(ParseMultipart(body, "b", 10).ok());
  auto over = ParseMultipart(body, "b", 9);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("more than 9 parts"), std::string::npos);
}

}  // namespace
}  // namespace supertable
