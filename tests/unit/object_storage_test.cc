// Signing, XML scanning and settings parsing of the object-store clients, checked against
// published vectors where they exist.
#include <gtest/gtest.h>

#include "common/crypto.h"
#include "common/text.h"
#include "storage/azure_blob_store.h"
#include "storage/http_client.h"
#include "storage/remote_object_store.h"
#include "storage/sigv4.h"
#include "storage/xml_scan.h"

namespace supertable {
namespace {

// Cases from the AWS Signature Version 4 test suite (service "service", 2015-08-30).
struct SuiteCase {
  const char* name;
  const char* method;
  const char* path;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  const char* signed_headers;
  const char* signature;
};

TEST(SigV4Test, MatchesTheAwsTestSuite) {
  const AwsCredentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  const std::string empty = Sha256Hex("");
  const std::vector<SuiteCase> cases = {
      {"get-vanilla",
       "GET",
       "/",
       {},
       {},
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-vanilla",
       "POST",
       "/",
       {},
       {},
       "host;x-amz-date",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       {{"Param2", "value2"}, {"Param1", "value1"}},
       {},
       "host;x-amz-date",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"post-header-value-case",
       "POST",
       "/",
       {},
       {{"My-Header1", "VALUE1"}},
       "host;my-header1;x-amz-date",
       "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
      {"get-header-value-trim",
       "GET",
       "/",
       {},
       {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}},
       "host;my-header1;my-header2;x-amz-date",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-unreserved",
       "GET",
       "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
       {},
       {},
       "host;x-amz-date",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
  };
  for (const auto& c : cases) {
    SigV4Request req;
    req.method = c.method;
    req.host = "example.amazonaws.com";
    req.path = c.path;
    req.query = c.query;
    req.headers = c.headers;
    req.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
    req.payload_hash = empty;
    EXPECT_EQ(SignV4(req, creds, "us-east-1", "service", "20150830T123600Z"),
              std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                          "aws4_request, SignedHeaders=") +
                  c.signed_headers + ", Signature=" + c.signature)
        << c.name;
  }
}

// The S3 examples of the SigV4 documentation ("Examples of signature calculations").
TEST(SigV4Test, MatchesTheS3DocumentationExamples) {
  const AwsCredentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                             ""};
  const std::string empty = Sha256Hex("");
  SigV4Request get;
  get.method = "GET";
  get.host = "examplebucket.s3.amazonaws.com";
  get.path = "/test.txt";
  get.headers = {
      {"Range", "bytes=0-9"}, {"x-amz-content-sha256", empty}, {"x-amz-date", "20130524T000000Z"}};
  get.payload_hash = empty;
  EXPECT_EQ(SignV4(get, creds, "us-east-1", "s3", "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

  // A sub-resource without a value is signed as "lifecycle=".
  SigV4Request lifecycle;
  lifecycle.method = "GET";
  lifecycle.host = "examplebucket.s3.amazonaws.com";
  lifecycle.path = "/";
  lifecycle.query = {{"lifecycle", ""}};
  lifecycle.headers = {{"x-amz-content-sha256", empty}, {"x-amz-date", "20130524T000000Z"}};
  lifecycle.payload_hash = empty;
  EXPECT_EQ(SignV4(lifecycle, creds, "us-east-1", "s3", "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");

  SigV4Request list = lifecycle;
  list.query = {{"max-keys", "2"}, {"prefix", "J"}};
  EXPECT_EQ(SignV4(list, creds, "us-east-1", "s3", "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");

  SigV4Request put;
  put.method = "PUT";
  put.host = "examplebucket.s3.amazonaws.com";
  put.path = "/" + AwsUriEncode("test$file.text", true);
  put.payload_hash = Sha256Hex("Welcome to Amazon S3.");
  put.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-content-sha256", put.payload_hash},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  EXPECT_EQ(SignV4(put, creds, "us-east-1", "s3", "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, CanonicalQueryEncodesAndSorts) {
  EXPECT_EQ(CanonicalQuery({{"prefix", "a/b c"}, {"list-type", "2"}, {"uploads", ""}}),
            "list-type=2&prefix=a%2Fb%20c&uploads=");
  // Continuation tokens carry base64's + / =, which must survive the round trip.
  EXPECT_EQ(CanonicalQuery({{"continuation-token", "a+b/c=="}}),
            "continuation-token=a%2Bb%2Fc%3D%3D");
  EXPECT_EQ(AwsUriEncode("org/t\xc3\xa9st/x y.parquet", true), "org/t%C3%A9st/x%20y.parquet");
  EXPECT_EQ(AmzDate(1440938160), "20150830T123600Z");
}

TEST(CryptoTest, Base64RoundTripsAndRefusesGarbage) {
  std::string out;
  ASSERT_TRUE(Base64Decode(Base64Encode("hello!?"), &out));
  EXPECT_EQ(out, "hello!?");
  ASSERT_TRUE(Base64Decode("YQ==", &out));
  EXPECT_EQ(out, "a");
  EXPECT_FALSE(Base64Decode("abc", &out));
  EXPECT_FALSE(Base64Decode("a*c=", &out));
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(XmlScanTest, FindsElementsAndDecodesEntities) {
  const std::string xml =
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"x\"><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a&amp;b &lt;1&gt;</Key><Size>3</Size></Contents>"
      "<Contents><Key>caf&#233;</Key><Size>4</Size></Contents><KeyCount/>"
      "<NextContinuationToken>t+/=</NextContinuationToken></ListBucketResult>";
  auto contents = XmlElements(xml, "Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(XmlText(contents[0], "Key"), "a&b <1>");
  EXPECT_EQ(XmlText(contents[1], "Key"), "caf\xc3\xa9");
  EXPECT_EQ(XmlText(xml, "NextContinuationToken"), "t+/=");
  EXPECT_EQ(XmlText(xml, "KeyCount"), "");
  EXPECT_EQ(XmlText(xml, "Missing"), std::nullopt);
  // <Key> must not match <KeyCount>, and a truncated document yields what is complete.
  EXPECT_EQ(XmlElements("<KeyCount>1</KeyCount>", "Key").size(), 0u);
  EXPECT_EQ(XmlElements("<Key>a</Key><Key>b", "Key").size(), 1u);
  EXPECT_EQ(MarkupEscape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
}

TEST(HttpDateTest, ParsesBothFormats) {
  EXPECT_EQ(ParseHttpDateMicros("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777000000);
  EXPECT_EQ(ParseHttpDateMicros("1994-11-06T08:49:37.250Z"), 784111777250000);
  EXPECT_EQ(ParseHttpDateMicros("yesterday"), std::nullopt);
  // A format off by a little is unknown, not the epoch (gc would take the object for ancient).
  EXPECT_EQ(ParseHttpDateMicros("2024-01-02 03:04:05"), std::nullopt);
  EXPECT_EQ(ParseHttpDateMicros("Sun, 06 Nov 1994 08:49:37 GMT+junk"), std::nullopt);
  EXPECT_GT(ModifiedMicrosOrNow("garbage"), 1700000000ll * 1000000);
  EXPECT_EQ(RangeHeader(10, 10), "bytes=10-19");
  EXPECT_EQ(ParseSize("12345"), 12345);
  for (const char* bad : {"", "-1", "12a", " 1", "99999999999999999999999", "0x10"}) {
    EXPECT_EQ(ParseSize(bad), std::nullopt) << bad;
  }
}

TEST(EndpointTest, HostIsWhatTheClientSendsAndPathsArePrefixes) {
  auto e = ParseEndpoint("http://minio:80/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->hostport, "minio") << "curl sends no default port in Host, so it is not signed";
  EXPECT_EQ(e->path, "");
  EXPECT_FALSE(e->host_is_ip_or_localhost);
  e = ParseEndpoint("https://gw.example.com:443/s3/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->hostport, "gw.example.com");
  EXPECT_EQ(e->path, "/s3");
  e = ParseEndpoint("http://127.0.0.1:9000");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->hostport, "127.0.0.1:9000");
  EXPECT_TRUE(e->host_is_ip_or_localhost);
  EXPECT_TRUE(ParseEndpoint("http://localhost:9000")->host_is_ip_or_localhost);
  EXPECT_TRUE(ParseEndpoint("http://[::1]:9000")->host_is_ip_or_localhost);
  for (const char* bad : {"minio:9000", "ftp://x", "http://", "http://a b", "http://u@h/"}) {
    EXPECT_FALSE(ParseEndpoint(bad).ok()) << bad;
  }
}

TEST(AzureSettingsTest, ParsesConnectionStrings) {
  auto c = ParseAzureConnectionString(
      "DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=a2V5;"
      "BlobEndpoint=http://127.0.0.1:10000/dev/;");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->account, "dev");
  EXPECT_EQ(c->key, "a2V5");
  EXPECT_EQ(c->blob_endpoint, "http://127.0.0.1:10000/dev");
  auto cloud = ParseAzureConnectionString(
      "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;EndpointSuffix=core.windows."
      "net");
  ASSERT_TRUE(cloud.ok());
  EXPECT_EQ(cloud->blob_endpoint, "https://acme.blob.core.windows.net");
  auto bad = ParseAzureConnectionString("AccountName=acme");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("AccountKey"), std::string::npos);
}

}  // namespace
}  // namespace supertable
