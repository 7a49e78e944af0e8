// AWS Signature Version 4 for S3-compatible stores, written out rather than left to libcurl so
// that the canonical request is ours to test: tests/unit/sigv4_test.cc checks it against the
// published AWS test-suite vectors (Debian 12's libcurl 7.88 does not sort query parameters).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace supertable {

struct AwsCredentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // temporary credentials (AWS_SESSION_TOKEN); empty otherwise
};

struct SigV4Request {
  std::string method;
  std::string host;  // as sent in the Host header (with ":port" when not the default)
  std::string path;  // already URI-encoded, e.g. "/bucket/a%20b.parquet"
  std::vector<std::pair<std::string, std::string>> query;    // raw (not encoded) names/values
  std::vector<std::pair<std::string, std::string>> headers;  // signed besides host
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay, everything else
// becomes %XX (uppercase); '/' stays only when `keep_slash`.
std::string AwsUriEncode(const std::string& s, bool keep_slash);

// "20150830T123600Z" for a Unix time in seconds.
std::string AmzDate(int64_t unix_seconds);

// The canonical query string: names and values encoded, sorted by name then value.
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

// The Authorization header value for `req`, signed at `amz_date` (which the request must also
// carry as its x-amz-date header).
std::string SignV4(const SigV4Request& req, const AwsCredentials& creds, const std::string& region,
                   const std::string& service, const std::string& amz_date);

}  // namespace supertable
