// Shared upload logic and error reporting for remote object stores.
#include "storage/remote_object_store.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/text.h"
#include "storage/xml_scan.h"

namespace supertable {

RemoteObjectStore::RemoteObjectStore(RemoteStoreOptions options)
    : options_(std::move(options)), http_(options_.http) {}

Result<std::string> ReadLocalFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError(fmt::format("cannot read {}", path));
  return ss.str();
}

Status RemoteObjectStore::PutFile(const std::string& key, const std::string& local_path) {
  std::ifstream in(local_path, std::ios::binary | std::ios::ate);
  if (!in) {
    return Status::IoError(
        fmt::format("cannot open {} for upload: {}", local_path, std::strerror(errno)));
  }
  const int64_t size = static_cast<int64_t>(in.tellg());
  in.seekg(0);
  Status s;
  if (size <= options_.part_bytes) {
    std::string data(static_cast<size_t>(size), '\0');
    if (!in.read(data.data(), size)) return Status::IoError("cannot read " + local_path);
    s = Put(key, data);
  } else {
    ST_ASSIGN_OR_RETURN(std::string upload, BeginUpload(key));
    std::vector<std::string> receipts;
    std::string part;
    for (int64_t off = 0; off < size && s.ok(); off += options_.part_bytes) {
      part.resize(static_cast<size_t>(std::min(options_.part_bytes, size - off)));
      if (!in.read(part.data(), static_cast<std::streamsize>(part.size()))) {
        s = Status::IoError("cannot read " + local_path);
        break;
      }
      auto receipt = UploadPart(key, upload, static_cast<int>(receipts.size()) + 1, part);
      if (!receipt.ok()) {
        s = receipt.status();
        break;
      }
      receipts.push_back(std::move(*receipt));
    }
    if (s.ok()) s = CompleteUpload(key, upload, receipts);
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
  ST_ASSIGN_OR_RETURN(HttpResponse r,
                      http_.SendWithRetry([&] { return Sign(method, key, params, headers, body); },
                                          fmt::format("{} on {}", what, Describe())));
  Count(r);
  return r;
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
  info.size = std::stoll(r.Header("content-length").value_or("0"));
  info.modified_micros = ParseHttpDateMicros(r.Header("last-modified").value_or(""));
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
  if (response.status == 403 || response.status == 401) {
    text += " (check STORAGE_ACCESS_KEY / STORAGE_SECRET_KEY, or the connection string)";
    return Status::InvalidArgument(text);
  }
  if (response.status == 404) return Status::NotFound(text);
  if (response.status == 409 || response.status == 412) return Status::AlreadyExists(text);
  return Status::IoError(text);
}

}  // namespace supertable
