// Shared upload logic and error reporting for remote object stores.
#include "storage/remote_object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/text.h"
#include "storage/xml_scan.h"

namespace supertable {

Result<Endpoint> ParseEndpoint(const std::string& url, const std::string& setting) {
  Endpoint e;
  size_t sep = url.find("://");
  if (sep == std::string::npos) {
    return Status::InvalidArgument(
        fmt::format("{} '{}' is not an http:// or https:// URL", setting, url));
  }
  e.scheme = url.substr(0, sep);
  if (e.scheme != "http" && e.scheme != "https") {
    return Status::InvalidArgument(
        fmt::format("{} '{}' is not an http:// or https:// URL", setting, url));
  }
  std::string rest = url.substr(sep + 3);
  size_t slash = rest.find('/');
  e.hostport = rest.substr(0, slash);
  if (slash != std::string::npos) e.path = rest.substr(slash);
  while (!e.path.empty() && e.path.back() == '/') e.path.pop_back();
  if (e.hostport.empty() || e.hostport.find_first_of("?#@ ") != std::string::npos ||
      e.path.find_first_of("?# ") != std::string::npos) {
    return Status::InvalidArgument(
        fmt::format("{} '{}' is not valid: expected http(s)://host[:port][/path]", setting, url));
  }
  const std::string default_port = e.scheme == "https" ? ":443" : ":80";
  if (e.hostport.size() > default_port.size() &&
      e.hostport.compare(e.hostport.size() - default_port.size(), default_port.size(),
                         default_port) == 0) {
    e.hostport.resize(e.hostport.size() - default_port.size());
  }
  std::string host =
      e.hostport.substr(0, e.hostport.rfind(':') == std::string::npos || e.hostport.front() == '['
                               ? std::string::npos
                               : e.hostport.rfind(':'));
  e.host_is_ip_or_localhost = host == "localhost" || host.front() == '[' ||
                              host.find_first_not_of("0123456789.") == std::string::npos;
  return e;
}

RemoteObjectStore::RemoteObjectStore(RemoteStoreOptions options)
    : options_(std::move(options)), http_(options_.http) {}

Status RemoteObjectStore::PutFile(const std::string& key, const std::string& local_path) {
  int fd = ::open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IoError(
        fmt::format("cannot open {} for upload: {}", local_path, std::strerror(errno)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IoError("cannot stat " + local_path);
  const int64_t size = static_cast<int64_t>(st.st_size);
  // Reads [offset, offset + n) of the file into `buf`.
  auto read_part = [&](int64_t offset, int64_t n, std::string* buf) -> Status {
    buf->resize(static_cast<size_t>(n));
    for (int64_t done = 0; done < n;) {
      ssize_t got = ::pread(fd, buf->data() + done, static_cast<size_t>(n - done), offset + done);
      if (got <= 0) return Status::IoError(fmt::format("cannot read {}", local_path));
      done += got;
    }
    return Status::Ok();
  };
  Status s;
  if (size <= options_.part_bytes) {
    std::string data;
    ST_RETURN_IF_ERROR(read_part(0, size, &data));
    s = Put(key, data);
  } else {
    ST_ASSIGN_OR_RETURN(std::string upload, BeginUpload(key));
    // A few parts in flight at once: one request at a time leaves most of a link idle while each
    // part's response comes back.
    const int64_t parts = (size + options_.part_bytes - 1) / options_.part_bytes;
    std::vector<std::string> receipts(static_cast<size_t>(parts));
    std::atomic<int64_t> next{0};
    std::mutex mu;
    auto worker = [&] {
      std::string buf;
      for (int64_t i = next++; i < parts; i = next++) {
        {
          std::lock_guard<std::mutex> g(mu);
          if (!s.ok()) return;
        }
        int64_t off = i * options_.part_bytes;
        Status part;
        try {
          part = read_part(off, std::min(options_.part_bytes, size - off), &buf);
          if (part.ok()) {
            auto receipt = UploadPart(key, upload, static_cast<int>(i) + 1, buf);
            if (receipt.ok()) receipts[static_cast<size_t>(i)] = std::move(*receipt);
            part = receipt.status();
          }
        } catch (const std::exception& e) {  // bad_alloc of a part buffer, say
          part = Status::Internal(fmt::format("uploading part {}: {}", i + 1, e.what()));
        }
        if (!part.ok()) {
          std::lock_guard<std::mutex> g(mu);
          if (s.ok()) s = part;
          return;
        }
      }
    };
    {
      // Joined however this scope ends: a thread left joinable would end the process.
      std::vector<std::thread> threads;
      struct Joiner {
        std::vector<std::thread>& threads;
        ~Joiner() {
          for (auto& t : threads) t.join();
        }
      } joiner{threads};
      try {
        for (int64_t t = 0; t < std::min<int64_t>(kPartsInFlight, parts); ++t) {
          threads.emplace_back(worker);
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> g(mu);
        if (s.ok()) s = Status::Internal(fmt::format("cannot start upload threads: {}", e.what()));
      }
    }
    if (s.ok()) s = CompleteUpload(key, upload, receipts, size);
    if (!s.ok()) {
      AbortUpload(key, upload);
      return s.WithContext(fmt::format("upload of {} ({} in parts)", key, FormatBytes(size)));
    }
  }
  if (!s.ok()) return s;
  ::unlink(local_path.c_str());  // the contract: the local file is gone once the object exists
  return Status::Ok();
}

Result<HttpResponse> RemoteObjectStore::Call(const std::string& method, const std::string& key,
                                             const Params& params, const Params& headers,
                                             std::string_view body, const std::string& what) {
  return http_.SendWithRetry([&] { return Sign(method, key, params, headers, body); },
                             fmt::format("{} on {}", what, Describe()));
}

Result<std::string> RemoteObjectStore::Get(const std::string& key) {
  ST_ASSIGN_OR_RETURN(HttpResponse r, Call("GET", key, {}, {}, {}, "GET " + key));
  if (r.status != 200) return HttpError("GET " + key, r);
  return std::move(r.body);
}

Result<std::string> RemoteObjectStore::GetRange(const std::string& key, int64_t offset,
                                                int64_t length) {
  if (length <= 0) return std::string();
  ST_ASSIGN_OR_RETURN(
      HttpResponse r,
      Call("GET", key, {}, {{RangeHeaderName(), RangeHeader(offset, length)}}, {}, "GET " + key));
  if (r.status == 206) return std::move(r.body);
  if (r.status == 200) {  // a server that ignores Range sends the whole object
    if (offset >= static_cast<int64_t>(r.body.size())) return std::string();
    return r.body.substr(static_cast<size_t>(offset), static_cast<size_t>(length));
  }
  if (r.status == 416) return std::string();  // the range starts past the end
  return HttpError("GET " + key, r);
}

Result<ObjectInfo> RemoteObjectStore::Stat(const std::string& key) {
  ST_ASSIGN_OR_RETURN(HttpResponse r, Call("HEAD", key, {}, {}, {}, "HEAD " + key));
  if (r.status != 200) return HttpError("HEAD " + key, r);
  ObjectInfo info;
  info.key = key;
  auto size = ParseSize(r.Header("content-length").value_or(""));
  if (!size) {
    return Status::IoError(
        fmt::format("HEAD {} on {}: the answer has no valid Content-Length", key, Describe()));
  }
  info.size = *size;
  info.modified_micros = ModifiedMicrosOrNow(r.Header("last-modified").value_or(""));
  return info;
}

Status RemoteObjectStore::Delete(const std::string& key) {
  ST_ASSIGN_OR_RETURN(HttpResponse r, Call("DELETE", key, {}, {}, {}, "DELETE " + key));
  // 204 (S3), 202 (Azure); a missing key is not an error (gc may race with another gc).
  if (r.status == 204 || r.status == 202 || r.status == 200 || r.status == 404) {
    return Status::Ok();
  }
  return HttpError("DELETE " + key, r);
}

Status RemoteObjectStore::ExistsUnlessOurs(const std::string& key, const std::string& data) {
  auto current = Get(key);
  if (current.ok() && *current == data) return Status::Ok();
  return Status::AlreadyExists(fmt::format("object {} already exists in {}", key, Describe()));
}

Status RemoteObjectStore::HttpError(const std::string& what, const HttpResponse& response) const {
  std::string detail;
  if (auto code = XmlText(response.body, "Code")) detail = *code;
  if (auto msg = XmlText(response.body, "Message")) {
    // Azure puts a request id and time on further lines; the first line is the message.
    std::string first = msg->substr(0, msg->find('\n'));
    detail += (detail.empty() ? "" : ": ") + first;
  }
  if (detail.empty()) detail = response.body.substr(0, 200);
  std::string text = fmt::format("{} on {}: HTTP {}{}{}", what, Describe(), response.status,
                                 detail.empty() ? "" : " ", detail);
  if (detail.empty()) {
    // HEAD answers carry no body; some stores name the error in a header instead.
    if (auto code = response.Header("x-ms-error-code")) text += " " + *code;
  }
  if (auto region = response.Header("x-amz-bucket-region")) {
    if (response.status == 301 || response.status == 400 || response.status == 403) {
      text += fmt::format(" (the bucket is in region {}: set STORAGE_REGION={})", *region, *region);
      return Status::InvalidArgument(text);
    }
  }
  if (detail.find("RequestTimeTooSkewed") != std::string::npos) {
    return Status::InvalidArgument(text +
                                   " (this machine's clock is off; requests are signed "
                                   "with the time)");
  }
  if (response.status == 403 || response.status == 401) {
    return Status::InvalidArgument(text + " (" + CredentialsHint() + ")");
  }
  if (response.status == 404) return Status::NotFound(text);
  if (response.status == 409 || response.status == 412) return Status::AlreadyExists(text);
  return Status::IoError(text);
}

}  // namespace supertable
