// RemoteObjectStore: what the S3 and Azure stores share. Objects live behind HTTP; files being
// prepared live in a local staging directory; DuckDB reads objects through the paths ReadPath
// returns (kRemoteScheme + key), which the engine's file system turns into ranged reads.
//
// PutFile uploads a finished local file. Small files go up in one request; larger ones in
// parts (S3 multipart upload, Azure blocks), committed at the end, so an object is never
// visible half-written; a failed upload is aborted and leaves nothing visible.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/http_client.h"
#include "storage/object_store.h"

namespace supertable {

// Paths DuckDB opens for remote objects: "supertable-object://<key>".
inline constexpr const char* kRemoteScheme = "supertable-object://";

// Parts of one file uploaded at once (each holds a part in memory).
inline constexpr int64_t kPartsInFlight = 4;
// STORAGE_PART_BYTES bounds: S3's smallest part, and what 4 parts in memory may reasonably take.
inline constexpr int64_t kMinPartBytes = 5ll << 20;
inline constexpr int64_t kMaxPartBytes = 1ll << 30;

// Splits an endpoint URL into scheme, host[:port] as an HTTP client sends it in Host (the
// scheme's default port dropped: libcurl leaves it out, and SigV4 signs the Host sent) and a
// path prefix without trailing '/'. InvalidArgument for anything but http(s)://host[:port][/path].
struct Endpoint {
  std::string scheme, hostport, path;
  bool host_is_ip_or_localhost = false;
};
// `setting` names where the URL came from, for the error.
Result<Endpoint> ParseEndpoint(const std::string& url,
                               const std::string& setting = "STORAGE_ENDPOINT_URL");

struct RemoteStoreOptions {
  std::string staging_dir;
  int64_t part_bytes = 16ll << 20;  // files larger than this are uploaded in parts of this size
  HttpClientOptions http;
};

class RemoteObjectStore : public ObjectStore {
 public:
  // The parts of the REST dialects that S3 and Azure share; each store signs its own requests.
  Result<std::string> Get(const std::string& key) override;
  Result<std::string> GetRange(const std::string& key, int64_t offset, int64_t length) override;
  Result<ObjectInfo> Stat(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Status PutFile(const std::string& key, const std::string& local_path) override;
  std::string ReadPath(const std::string& key) const override { return kRemoteScheme + key; }
  std::string ReadRoot() const override { return kRemoteScheme; }
  std::string StagingDir() const override { return options_.staging_dir; }

  // Also names the store in errors and keys the local cache.
  std::string Describe() const override = 0;

 protected:
  using Params = std::vector<std::pair<std::string, std::string>>;

  explicit RemoteObjectStore(RemoteStoreOptions options);

  // A signed request for object `key` ("" = the bucket or container itself) with query
  // `params` (raw, not encoded) and extra headers; built afresh for each attempt.
  virtual HttpRequest Sign(const std::string& method, const std::string& key, const Params& params,
                           Params headers, std::string_view body) const = 0;
  // The header a ranged GET carries ("Range"; Azure signs "x-ms-range" more simply).
  virtual const char* RangeHeaderName() const { return "Range"; }
  // Sign + HttpClient::SendWithRetry + counting; `what` names the operation in errors.
  Result<HttpResponse> Call(const std::string& method, const std::string& key, const Params& params,
                            const Params& headers, std::string_view body, const std::string& what);

  // An upload in parts: begin, send parts 1..n in order, complete (or abort on failure).
  virtual Result<std::string> BeginUpload(const std::string& key) = 0;  // upload id
  // Returns the part's receipt (S3 ETag, Azure block id) for CompleteUpload.
  virtual Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                         int part_number, const std::string& data) = 0;
  // `total_bytes` is the file's size: a completion whose reply was lost is recognised by the
  // object being there with that size.
  virtual Status CompleteUpload(const std::string& key, const std::string& upload_id,
                                const std::vector<std::string>& receipts, int64_t total_bytes) = 0;
  virtual void AbortUpload(const std::string& key, const std::string& upload_id) = 0;

  // One clear error for an unexpected answer: the operation, the HTTP status and the server's
  // own error code and message when the body carries them (S3 and Azure both use <Error>).
  Status HttpError(const std::string& what, const HttpResponse& response) const;
  // What to check when the server refuses the credentials (the settings differ per store).
  virtual std::string CredentialsHint() const = 0;
  // After a conditional put was refused because the key exists: success if the object holds
  // exactly `data` (a retried request whose first attempt landed, its reply lost; SuperTable's
  // keys carry random ids, so such an object is ours), AlreadyExists otherwise.
  Status ExistsUnlessOurs(const std::string& key, const std::string& data);

  RemoteStoreOptions options_;
  HttpClient http_;
};

}  // namespace supertable
