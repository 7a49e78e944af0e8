// libcurl easy handles behind a small pool; retry with backoff for object storage.
#include "storage/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/log.h"

namespace supertable {

namespace {

std::once_flag g_curl_init;

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * n);
  // A new status line (after "100 Continue" or a redirect) starts a new header block.
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  headers->emplace_back(std::move(name), std::string(value));
  return size * n;
}

}  // namespace

std::optional<std::string> HttpResponse::Header(const std::string& lowercase_name) const {
  for (const auto& [k, v] : headers)
    if (k == lowercase_name) return v;
  return std::nullopt;
}

HttpClient::HttpClient(HttpClientOptions options) : options_(options) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpClient::~HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::TakeHandle() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void HttpClient::ReturnHandle(void* handle) {
  std::lock_guard<std::mutex> g(mu_);
  idle_.push_back(handle);
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) return Status::Internal("cannot create an HTTP client handle");
  curl_easy_reset(curl);
  HttpResponse response;
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers) {
    // "Name;" sends an empty value; "Name:" would remove the header instead.
    std::string line = v.empty() ? k + ";" : k + ": " + v;
    headers = curl_slist_append(headers, line.c_str());
  }
  // libcurl would otherwise wait for "100 Continue" before large bodies and add a form type.
  headers = curl_slist_append(headers, "Expect:");
  const bool has_body = request.method == "PUT" || request.method == "POST";
  if (has_body) {
    bool typed = std::any_of(request.headers.begin(), request.headers.end(), [](const auto& h) {
      return strcasecmp(h.first.c_str(), "content-type") == 0;
    });
    if (!typed) headers = curl_slist_append(headers, "Content-Type:");
  }
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::max<int64_t>(1, options_.stall_timeout_ms / 1000)));
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    curl_easy_cleanup(curl);  // a broken connection is not worth keeping
    std::string text =
        fmt::format("{} {}: {}", request.method, request.url, curl_easy_strerror(rc));
    // A misspelt endpoint or a certificate problem is a setting to fix, not a server to wait for.
    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_PEER_FAILED_VERIFICATION ||
        rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
        rc == CURLE_UNSUPPORTED_PROTOCOL) {
      return Status::InvalidArgument(text + " (check STORAGE_ENDPOINT_URL)");
    }
    return Status::IoError(text);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  ReturnHandle(curl);
  return response;
}

bool HttpClient::IsRetryableStatus(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

Result<HttpResponse> HttpClient::SendWithRetry(const std::function<HttpRequest()>& build,
                                               const std::string& what) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.retry_window_ms);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t delay_ms = 100;
  for (int attempt = 1;; ++attempt) {
    Result<HttpResponse> r = Send(build());
    std::string failure;
    if (!r.ok() && r.status().code() == StatusCode::kInvalidArgument) {
      return r.status().WithContext(what);
    } else if (!r.ok()) {
      failure = r.status().message();
    } else if (IsRetryableStatus(r->status)) {
      failure = fmt::format("HTTP {}", r->status);
    } else {
      return r;
    }
    // Full jitter keeps many writers from retrying in step against a throttling server.
    int64_t sleep_ms = std::uniform_int_distribution<int64_t>(delay_ms / 2, delay_ms)(rng);
    if (Clock::now() + std::chrono::milliseconds(sleep_ms) >= deadline) {
      if (!r.ok()) {
        return Status::IoError(fmt::format("{}: no answer after {} attempts in {} ms (last: {})",
                                           what, attempt, options_.retry_window_ms, failure));
      }
      return r;  // the caller turns the last 5xx answer into its own error
    }
    log::Warn("{}: {}; retrying in {} ms (attempt {})", what, failure, sleep_ms, attempt);
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    delay_ms = std::min<int64_t>(delay_ms * 2, 3200);
  }
}

std::optional<int64_t> ParseSize(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || v < 0) {
    return std::nullopt;
  }
  return v;
}

std::string RangeHeader(int64_t offset, int64_t length) {
  return fmt::format("bytes={}-{}", offset, offset + length - 1);
}

std::optional<int64_t> ParseHttpDateMicros(const std::string& text) {
  struct tm tm;
  std::memset(&tm, 0, sizeof tm);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  int64_t micros = 0;
  if (end == nullptr || *end != '\0') {
    std::memset(&tm, 0, sizeof tm);
    end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == nullptr) return std::nullopt;
    if (*end == '.') {
      int64_t scale = 100000;
      for (++end; *end >= '0' && *end <= '9'; ++end, scale /= 10) micros += (*end - '0') * scale;
    }
    if (std::strcmp(end, "Z") != 0) return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + micros;
}

int64_t ModifiedMicrosOrNow(const std::string& text) {
  return ParseHttpDateMicros(text).value_or(NowMicros());
}

}  // namespace supertable
