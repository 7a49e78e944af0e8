// The S3 REST API over HttpClient, signed with SigV4.
#include "storage/s3_object_store.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/text.h"
#include "storage/xml_scan.h"

namespace supertable {

namespace {

constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace

S3ObjectStore::S3ObjectStore(S3Config config, RemoteStoreOptions options)
    : RemoteObjectStore(std::move(options)), config_(std::move(config)) {}

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Open(S3Config config,
                                                           RemoteStoreOptions options) {
  if (config.bucket.empty()) {
    return Status::InvalidArgument("STORAGE_BUCKET is not set; object storage needs a bucket name");
  }
  ST_ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(config.endpoint));
  if (config.credentials.access_key.empty() || config.credentials.secret_key.empty()) {
    return Status::InvalidArgument(
        "object storage credentials are missing: set STORAGE_ACCESS_KEY and STORAGE_SECRET_KEY "
        "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  }
  auto store = std::unique_ptr<S3ObjectStore>(new S3ObjectStore(std::move(config), options));
  store->scheme_ = endpoint.scheme;
  store->hostport_ = endpoint.hostport;
  store->base_path_ = endpoint.path;
  ST_RETURN_IF_ERROR(store->EnsureBucket());
  return store;
}

std::string S3ObjectStore::Describe() const {
  return fmt::format("s3://{} at {}://{}{}", config_.bucket, scheme_, hostport_, base_path_);
}

HttpRequest S3ObjectStore::Sign(const std::string& method, const std::string& key,
                                const Params& params, Params headers, std::string_view body) const {
  SigV4Request sig;
  sig.method = method;
  std::string encoded_key = AwsUriEncode(key, true);
  if (config_.path_style) {
    sig.host = hostport_;
    sig.path = base_path_ + "/" + config_.bucket + (key.empty() ? "" : "/" + encoded_key);
  } else {
    sig.host = config_.bucket + "." + hostport_;
    sig.path = base_path_ + "/" + encoded_key;
  }
  sig.query = params;
  sig.payload_hash = body.empty() ? kEmptySha256 : Sha256Hex(body);
  std::string amz_date = AmzDate(static_cast<int64_t>(std::time(nullptr)));
  headers.emplace_back("x-amz-date", amz_date);
  headers.emplace_back("x-amz-content-sha256", sig.payload_hash);
  if (!config_.credentials.session_token.empty())
    headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  sig.headers = headers;
  HttpRequest req;
  req.method = method;
  std::string query = CanonicalQuery(params);
  req.url =
      fmt::format("{}://{}{}{}{}", scheme_, sig.host, sig.path, query.empty() ? "" : "?", query);
  headers.emplace_back("Authorization",
                       SignV4(sig, config_.credentials, config_.region, "s3", amz_date));
  req.headers = std::move(headers);
  req.body = body;
  return req;
}

Status S3ObjectStore::EnsureBucket() {
  ST_ASSIGN_OR_RETURN(HttpResponse head, Call("HEAD", "", {}, {}, {}, "checking bucket"));
  if (head.status == 200) return Status::Ok();
  if (head.status != 404 || !config_.create_bucket) return HttpError("checking bucket", head);
  std::string body;
  // us-east-1 is the one region that refuses an explicit location constraint.
  if (config_.region != "us-east-1" && !config_.region.empty() && config_.region != "auto") {
    body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
        MarkupEscape(config_.region));
  }
  ST_ASSIGN_OR_RETURN(HttpResponse made, Call("PUT", "", {}, {}, body, "creating bucket"));
  if (made.status == 200) return Status::Ok();
  if (made.status == 409) {
    // Created meanwhile by another server of ours (fine), or a name someone else owns.
    ST_ASSIGN_OR_RETURN(HttpResponse again, Call("HEAD", "", {}, {}, {}, "checking bucket"));
    if (again.status == 200) return Status::Ok();
    return Status::InvalidArgument(fmt::format(
        "bucket {} exists but is not usable with these credentials (bucket names are global on "
        "AWS and GCS: choose another STORAGE_BUCKET)",
        config_.bucket));
  }
  return HttpError("creating bucket", made);
}

Status S3ObjectStore::Put(const std::string& key, const std::string& data) {
  ST_ASSIGN_OR_RETURN(HttpResponse r, Call("PUT", key, {}, {}, data, "PUT " + key));
  if (r.status == 200) return Status::Ok();
  return HttpError("PUT " + key, r);
}

Status S3ObjectStore::PutIfAbsent(const std::string& key, const std::string& data) {
  // If-None-Match makes this atomic on servers that honour it (AWS since 2024, MinIO); on
  // others the HEAD still catches every existing key but a same-instant race. SuperTable's own
  // keys carry random ids, and the catalog's compare-and-swap is the fence for commits.
  ST_ASSIGN_OR_RETURN(HttpResponse head, Call("HEAD", key, {}, {}, {}, "HEAD " + key));
  if (head.status == 200) {
    return Status::AlreadyExists(fmt::format("object {} already exists in {}", key, Describe()));
  }
  ST_ASSIGN_OR_RETURN(HttpResponse r,
                      Call("PUT", key, {}, {{"If-None-Match", "*"}}, data, "PUT " + key));
  if (r.status == 200) return Status::Ok();
  if (r.status == 412 || r.status == 409) return ExistsUnlessOurs(key, data);
  return HttpError("PUT " + key, r);
}

Result<std::vector<ObjectInfo>> S3ObjectStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string token;
  while (true) {
    Params params = {{"list-type", "2"},
                     {"prefix", prefix},
                     {"max-keys", std::to_string(config_.list_page_size)}};
    if (!token.empty()) params.emplace_back("continuation-token", token);
    ST_ASSIGN_OR_RETURN(HttpResponse r, Call("GET", "", params, {}, {}, "LIST " + prefix));
    if (r.status != 200) return HttpError("LIST " + prefix, r);
    for (std::string_view c : XmlElements(r.body, "Contents")) {
      ObjectInfo info;
      info.key = XmlText(c, "Key").value_or("");
      auto size = ParseSize(XmlText(c, "Size").value_or(""));
      if (!size) {
        return Status::IoError(
            fmt::format("LIST {} on {}: an entry without a valid <Size>", prefix, Describe()));
      }
      info.size = *size;
      info.modified_micros = ModifiedMicrosOrNow(XmlText(c, "LastModified").value_or(""));
      if (!info.key.empty()) out.push_back(std::move(info));
    }
    token = XmlText(r.body, "NextContinuationToken").value_or("");
    if (XmlText(r.body, "IsTruncated").value_or("false") != "true") break;
    // A partial list taken for the whole would make drop and gc leave objects behind.
    if (token.empty()) {
      return Status::IoError(fmt::format(
          "LIST {} on {}: the server says the listing is truncated but gives no continuation "
          "token (it does not speak ListObjectsV2)",
          prefix, Describe()));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Result<int64_t> S3ObjectStore::RemoveAbandoned(const std::string& prefix, int64_t before_micros) {
  // The leftovers of an interrupted PutFile are unfinished multipart uploads: invisible, but
  // billed. Servers without ListMultipartUploads have nothing to clean.
  int64_t removed = 0;
  std::string key_marker, id_marker;
  while (true) {
    Params params = {{"uploads", ""}, {"prefix", prefix}};
    if (!key_marker.empty()) {
      params.emplace_back("key-marker", key_marker);
      params.emplace_back("upload-id-marker", id_marker);
    }
    ST_ASSIGN_OR_RETURN(HttpResponse r, Call("GET", "", params, {}, {}, "LIST uploads " + prefix));
    if (r.status != 200) return removed;
    for (std::string_view u : XmlElements(r.body, "Upload")) {
      std::string key = XmlText(u, "Key").value_or("");
      std::string id = XmlText(u, "UploadId").value_or("");
      // An upload whose start cannot be read may be running: leave it.
      auto started = ParseHttpDateMicros(XmlText(u, "Initiated").value_or(""));
      if (key.empty() || id.empty() || !started || *started >= before_micros) continue;
      AbortUpload(key, id);
      ++removed;
    }
    key_marker = XmlText(r.body, "NextKeyMarker").value_or("");
    id_marker = XmlText(r.body, "NextUploadIdMarker").value_or("");
    if (XmlText(r.body, "IsTruncated").value_or("false") != "true" || key_marker.empty()) break;
  }
  return removed;
}

Result<std::string> S3ObjectStore::BeginUpload(const std::string& key) {
  ST_ASSIGN_OR_RETURN(HttpResponse r,
                      Call("POST", key, {{"uploads", ""}}, {}, {}, "starting upload of " + key));
  if (r.status != 200) return HttpError("starting upload of " + key, r);
  auto id = XmlText(r.body, "UploadId");
  if (!id || id->empty()) {
    return Status::IoError(
        fmt::format("starting upload of {} on {}: no UploadId in the answer", key, Describe()));
  }
  return *id;
}

Result<std::string> S3ObjectStore::UploadPart(const std::string& key, const std::string& upload_id,
                                              int part_number, const std::string& data) {
  std::string what = fmt::format("uploading part {} of {}", part_number, key);
  ST_ASSIGN_OR_RETURN(
      HttpResponse r,
      Call("PUT", key, {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}}, {},
           data, what));
  if (r.status != 200) return HttpError(what, r);
  auto etag = r.Header("etag");
  if (!etag)
    return Status::IoError(fmt::format("{} on {}: no ETag in the answer", what, Describe()));
  return *etag;
}

Status S3ObjectStore::CompleteUpload(const std::string& key, const std::string& upload_id,
                                     const std::vector<std::string>& receipts,
                                     int64_t total_bytes) {
  std::string body = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < receipts.size(); ++i) {
    body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1,
                        MarkupEscape(receipts[i]));
  }
  body += "</CompleteMultipartUpload>";
  std::string what = "completing upload of " + key;
  for (int attempt = 1;; ++attempt) {
    ST_ASSIGN_OR_RETURN(HttpResponse r,
                        Call("POST", key, {{"uploadId", upload_id}}, {}, body, what));
    // S3 may answer 200 and fail all the same, the error in the body; InternalError and
    // SlowDown there are worth another try, as they would be as statuses.
    bool error_body = r.body.find("<Error>") != std::string::npos;
    if (r.status == 200 && !error_body) return Status::Ok();
    std::string code = XmlText(r.body, "Code").value_or("");
    if (r.status == 200 && (code == "InternalError" || code == "SlowDown") && attempt < 4) {
      continue;
    }
    // A retried completion whose first attempt landed finds the upload gone: the object is
    // there, whole, with our size.
    if (r.status == 404 && code == "NoSuchUpload") {
      auto info = Stat(key);
      if (info.ok() && info->size == total_bytes) return Status::Ok();
    }
    return HttpError(what, r);
  }
}

void S3ObjectStore::AbortUpload(const std::string& key, const std::string& upload_id) {
  (void)Call("DELETE", key, {{"uploadId", upload_id}}, {}, {}, "aborting upload of " + key);
}

}  // namespace supertable
