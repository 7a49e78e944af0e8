// The Azure Blob REST API over HttpClient, signed with SharedKey.
#include "storage/azure_blob_store.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/format.h>

#include "common/text.h"
#include "common/crypto.h"
#include "storage/sigv4.h"
#include "storage/xml_scan.h"

namespace supertable {

namespace {

constexpr const char* kApiVersion = "2021-08-06";

std::string HttpDateNow() {
  time_t t = std::time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<AzureConfig> ParseAzureConnectionString(const std::string& text) {
  AzureConfig c;
  std::string protocol = "https", suffix = "core.windows.net";
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(';', pos);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = part.find('=');
    if (part.empty() || eq == std::string::npos) continue;
    std::string name = part.substr(0, eq), value = part.substr(eq + 1);
    if (name == "AccountName")
      c.account = value;
    else if (name == "AccountKey")
      c.key = value;
    else if (name == "BlobEndpoint")
      c.blob_endpoint = value;
    else if (name == "DefaultEndpointsProtocol")
      protocol = value;
    else if (name == "EndpointSuffix")
      suffix = value;
  }
  if (c.account.empty() || c.key.empty()) {
    return Status::InvalidArgument(
        "AZURE_STORAGE_CONNECTION_STRING needs AccountName and AccountKey, e.g. "
        "'DefaultEndpointsProtocol=https;AccountName=NAME;AccountKey=KEY;EndpointSuffix=core."
        "windows.net'");
  }
  if (c.blob_endpoint.empty()) {
    c.blob_endpoint = fmt::format("{}://{}.blob.{}", protocol, c.account, suffix);
  }
  while (!c.blob_endpoint.empty() && c.blob_endpoint.back() == '/') c.blob_endpoint.pop_back();
  return c;
}

AzureBlobStore::AzureBlobStore(AzureConfig config, RemoteStoreOptions options)
    : RemoteObjectStore(std::move(options)), config_(std::move(config)) {}

Result<std::unique_ptr<AzureBlobStore>> AzureBlobStore::Open(AzureConfig config,
                                                             RemoteStoreOptions options) {
  if (config.container.empty()) {
    return Status::InvalidArgument("STORAGE_BUCKET is not set; Azure storage needs a container");
  }
  ST_ASSIGN_OR_RETURN(
      Endpoint endpoint,
      ParseEndpoint(config.blob_endpoint, "the blob endpoint of AZURE_STORAGE_CONNECTION_STRING"));
  auto store = std::unique_ptr<AzureBlobStore>(new AzureBlobStore(std::move(config), options));
  store->endpoint_path_ = endpoint.path;
  if (!Base64Decode(store->config_.key, &store->decoded_key_) || store->decoded_key_.empty()) {
    return Status::InvalidArgument(
        "the AccountKey in AZURE_STORAGE_CONNECTION_STRING is not valid base64");
  }
  ST_RETURN_IF_ERROR(store->EnsureContainer());
  return store;
}

std::string AzureBlobStore::Describe() const {
  return fmt::format("azure container {} at {}", config_.container, config_.blob_endpoint);
}

HttpRequest AzureBlobStore::Sign(const std::string& method, const std::string& key,
                                 const Params& params, Params headers,
                                 std::string_view body) const {
  headers.emplace_back("x-ms-date", HttpDateNow());
  headers.emplace_back("x-ms-version", kApiVersion);
  std::string path = "/" + AwsUriEncode(config_.container, false) +
                     (key.empty() ? "" : "/" + AwsUriEncode(key, true));
  auto header = [&](const char* name) {
    for (const auto& [k, v] : headers)
      if (Lower(k) == name) return v;
    return std::string();
  };
  std::vector<std::pair<std::string, std::string>> ms;
  for (const auto& [k, v] : headers)
    if (Lower(k).rfind("x-ms-", 0) == 0) ms.emplace_back(Lower(k), v);
  std::sort(ms.begin(), ms.end());
  std::string canonical_headers;
  for (const auto& [k, v] : ms) canonical_headers += k + ":" + v + "\n";
  std::vector<std::pair<std::string, std::string>> q;
  for (const auto& [k, v] : params) q.emplace_back(Lower(k), v);
  std::sort(q.begin(), q.end());
  // SharedKey signs the URL path as sent after "/<account>" (azurite's path already starts with
  // the account name, so it appears twice there, as the service expects).
  std::string canonical_resource = "/" + config_.account + endpoint_path_ + path;
  for (size_t i = 0; i < q.size(); ++i) {
    if (i > 0 && q[i].first == q[i - 1].first) {
      canonical_resource += "," + q[i].second;
    } else {
      canonical_resource += "\n" + q[i].first + ":" + q[i].second;
    }
  }
  // Since API version 2015-02-21 a zero Content-Length is signed as an empty string.
  std::string length = body.empty() ? "" : std::to_string(body.size());
  std::string to_sign = fmt::format(
      "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}{}", method, header("content-encoding"),
      header("content-language"), length, header("content-md5"), header("content-type"),
      /*Date*/ "", header("if-modified-since"), header("if-match"), header("if-none-match"),
      header("if-unmodified-since"), /*Range*/ "", canonical_headers, canonical_resource);
  headers.emplace_back("Authorization",
                       fmt::format("SharedKey {}:{}", config_.account,
                                   Base64Encode(HmacSha256(decoded_key_, to_sign))));
  HttpRequest req;
  req.method = method;
  req.url = config_.blob_endpoint + path;
  std::string query = CanonicalQuery(params);
  if (!query.empty()) req.url += "?" + query;
  req.headers = std::move(headers);
  req.body = body;
  return req;
}

Status AzureBlobStore::EnsureContainer() {
  ST_ASSIGN_OR_RETURN(HttpResponse head,
                      Call("HEAD", "", {{"restype", "container"}}, {}, {}, "checking container"));
  if (head.status == 200) return Status::Ok();
  if (head.status != 404 || !config_.create_container) {
    return HttpError("checking container", head);
  }
  ST_ASSIGN_OR_RETURN(HttpResponse made,
                      Call("PUT", "", {{"restype", "container"}}, {}, {}, "creating container"));
  if (made.status == 201 || made.status == 409) return Status::Ok();
  return HttpError("creating container", made);
}

Status AzureBlobStore::Put(const std::string& key, const std::string& data) {
  ST_ASSIGN_OR_RETURN(HttpResponse r,
                      Call("PUT", key, {}, {{"x-ms-blob-type", "BlockBlob"}}, data, "PUT " + key));
  if (r.status == 201) return Status::Ok();
  return HttpError("PUT " + key, r);
}

Status AzureBlobStore::PutIfAbsent(const std::string& key, const std::string& data) {
  ST_ASSIGN_OR_RETURN(
      HttpResponse r,
      Call("PUT", key, {}, {{"x-ms-blob-type", "BlockBlob"}, {"If-None-Match", "*"}}, data,
           "PUT " + key));
  if (r.status == 201) return Status::Ok();
  if (r.status == 409 || r.status == 412) return ExistsUnlessOurs(key, data);
  return HttpError("PUT " + key, r);
}

Result<std::vector<ObjectInfo>> AzureBlobStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string marker;
  while (true) {
    Params params = {{"restype", "container"},
                     {"comp", "list"},
                     {"maxresults", std::to_string(config_.list_page_size)}};
    if (!prefix.empty()) params.emplace_back("prefix", prefix);
    if (!marker.empty()) params.emplace_back("marker", marker);
    ST_ASSIGN_OR_RETURN(HttpResponse r, Call("GET", "", params, {}, {}, "LIST " + prefix));
    if (r.status != 200) return HttpError("LIST " + prefix, r);
    for (std::string_view b : XmlElements(r.body, "Blob")) {
      ObjectInfo info;
      info.key = XmlText(b, "Name").value_or("");
      auto size = ParseSize(XmlText(b, "Content-Length").value_or(""));
      if (!size) {
        return Status::IoError(fmt::format(
            "LIST {} on {}: an entry without a valid <Content-Length>", prefix, Describe()));
      }
      info.size = *size;
      info.modified_micros = ModifiedMicrosOrNow(XmlText(b, "Last-Modified").value_or(""));
      if (!info.key.empty()) out.push_back(std::move(info));
    }
    marker = XmlText(r.body, "NextMarker").value_or("");
    if (marker.empty()) break;
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Result<std::string> AzureBlobStore::BeginUpload(const std::string&) {
  // Blocks need no session: they stay uncommitted until the block list names them.
  return std::string();
}

Result<std::string> AzureBlobStore::UploadPart(const std::string& key, const std::string&,
                                               int part_number, const std::string& data) {
  // Every block id of a blob must have the same length.
  std::string id = Base64Encode(fmt::format("block-{:08d}", part_number));
  std::string what = fmt::format("uploading block {} of {}", part_number, key);
  ST_ASSIGN_OR_RETURN(HttpResponse r,
                      Call("PUT", key, {{"comp", "block"}, {"blockid", id}}, {}, data, what));
  if (r.status != 201) return HttpError(what, r);
  return id;
}

Status AzureBlobStore::CompleteUpload(const std::string& key, const std::string&,
                                      const std::vector<std::string>& receipts, int64_t) {
  std::string body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  for (const auto& id : receipts) body += "<Latest>" + id + "</Latest>";
  body += "</BlockList>";
  std::string what = "committing blocks of " + key;
  ST_ASSIGN_OR_RETURN(HttpResponse r, Call("PUT", key, {{"comp", "blocklist"}}, {}, body, what));
  if (r.status == 201) return Status::Ok();
  return HttpError(what, r);
}

}  // namespace supertable
