// S3ObjectStore: objects in an S3-compatible bucket (AWS S3, MinIO, GCS through its XML API with
// HMAC keys, s3rver in tests). Requests are signed with SigV4 (sigv4.h); path-style or
// virtual-hosted URLs; multipart upload for large files; ranged GETs; ListObjectsV2 page by
// page; If-None-Match conditional puts where the server honours them; the bucket is created on
// first use when missing.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/remote_object_store.h"
#include "storage/sigv4.h"

namespace supertable {

struct S3Config {
  std::string endpoint;  // "http://127.0.0.1:9000", "https://s3.eu-west-1.amazonaws.com"
  std::string bucket;
  std::string region = "us-east-1";
  bool path_style = true;  // endpoint/bucket/key rather than bucket.endpoint/key
  AwsCredentials credentials;
  int list_page_size = 1000;  // keys per ListObjectsV2 page (max-keys)
  bool create_bucket = true;
};

class S3ObjectStore : public RemoteObjectStore {
 public:
  // Checks the bucket answers (creating it when missing and allowed); one clear error naming the
  // endpoint and bucket otherwise.
  static Result<std::unique_ptr<S3ObjectStore>> Open(S3Config config, RemoteStoreOptions options);

  Status Put(const std::string& key, const std::string& data) override;
  Status PutIfAbsent(const std::string& key, const std::string& data) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Result<int64_t> RemoveAbandoned(const std::string& prefix, int64_t before_micros) override;
  std::string Describe() const override;

 protected:
  Result<std::string> BeginUpload(const std::string& key) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, const std::string& data) override;
  Status CompleteUpload(const std::string& key, const std::string& upload_id,
                        const std::vector<std::string>& receipts, int64_t total_bytes) override;
  std::string CredentialsHint() const override {
    return "check STORAGE_ACCESS_KEY and STORAGE_SECRET_KEY (or AWS_ACCESS_KEY_ID and "
           "AWS_SECRET_ACCESS_KEY), and that the key may use this bucket";
  }
  void AbortUpload(const std::string& key, const std::string& upload_id) override;

 private:
  S3Config config_;
  std::string scheme_;     // "http" or "https"
  std::string hostport_;   // endpoint host, with ":port" only when not the scheme's default
  std::string base_path_;  // the endpoint's own path ("" or "/prefix"), before the bucket

  S3ObjectStore(S3Config config, RemoteStoreOptions options);
  Status EnsureBucket();
  HttpRequest Sign(const std::string& method, const std::string& key, const Params& params,
                   Params headers, std::string_view body) const override;
};

}  // namespace supertable
