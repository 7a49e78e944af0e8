// HttpClient: the libcurl-based client the object stores talk through. One instance is shared
// by every thread of a store; it keeps a pool of curl handles so connections are reused.
//
// SendWithRetry is the one retry policy for object storage: transport errors, 5xx and
// throttling answers (429, 503 SlowDown) are retried with exponential backoff and jitter until a
// time window runs out; every other answer goes back to the caller at once. Requests are built
// afresh for each attempt because signatures carry the time.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace supertable {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // sent with Content-Length for PUT and POST; must outlive Send
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  std::optional<std::string> Header(const std::string& lowercase_name) const;
};

struct HttpClientOptions {
  int64_t connect_timeout_ms = 5000;
  // A transfer that moves no byte for this long is abandoned (and retried): a stalled server
  // must not hang a writer, yet a big upload on a slow link may take as long as it needs.
  int64_t stall_timeout_ms = 30000;
  // How long SendWithRetry keeps retrying before it reports the last failure.
  int64_t retry_window_ms = 15000;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One attempt. IoError when no HTTP answer arrived (refused, reset, timed out);
  // InvalidArgument when retrying cannot help (an unknown host name, a TLS certificate refused).
  Result<HttpResponse> Send(const HttpRequest& request);

  // Attempts `build()` until an answer that is not worth retrying, or the window runs out.
  // `what` names the operation in errors ("PUT s3://bucket/key").
  Result<HttpResponse> SendWithRetry(const std::function<HttpRequest()>& build,
                                     const std::string& what);

  static bool IsRetryableStatus(long status);

 private:
  void* TakeHandle();
  void ReturnHandle(void* handle);

  HttpClientOptions options_;
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL* kept for connection reuse
};

// A size a server sent (Content-Length, <Size>): a non-negative decimal integer, nullopt for
// anything else. Answers are untrusted input; a garbled one must give an error, not a crash.
std::optional<int64_t> ParseSize(const std::string& text);

// "bytes=<offset>-<offset+length-1>"
std::string RangeHeader(int64_t offset, int64_t length);

// Unix microseconds from an RFC 1123 HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT") or an ISO 8601
// timestamp ("2024-01-02T03:04:05.678Z"); nullopt when neither parses.
std::optional<int64_t> ParseHttpDateMicros(const std::string& text);

// An object's modification time from a server's answer. One that cannot be read counts as
// now: gc then keeps the object for its grace period rather than judging it ancient.
int64_t ModifiedMicrosOrNow(const std::string& text);

}  // namespace supertable
