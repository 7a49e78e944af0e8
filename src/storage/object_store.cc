// Chooses the ObjectStore implementation for STORAGE_TYPE and reads its settings.
#include "storage/object_store.h"

#include <fmt/format.h>

#include "common/config.h"
#include "storage/azure_blob_store.h"
#include "storage/local_object_store.h"
#include "storage/s3_object_store.h"

namespace supertable {

namespace {

Result<RemoteStoreOptions> RemoteOptions(const std::string& home) {
  RemoteStoreOptions o;
  o.staging_dir = home + "/staging";
  if (auto v = FirstSetting({"STORAGE_PART_BYTES"}); !v.empty()) {
    // 5 MiB is S3's smallest part (every part but the last).
    ST_ASSIGN_OR_RETURN(o.part_bytes, ParseIntSetting("STORAGE_PART_BYTES", v, kMinPartBytes));
    if (o.part_bytes > kMaxPartBytes) {
      return Status::InvalidArgument(fmt::format(
          "STORAGE_PART_BYTES='{}' is not valid: expected at most {} (1 GiB)", v, kMaxPartBytes));
    }
  }
  if (auto v = FirstSetting({"STORAGE_RETRY_WINDOW_MS"}); !v.empty()) {
    ST_ASSIGN_OR_RETURN(o.http.retry_window_ms, ParseIntSetting("STORAGE_RETRY_WINDOW_MS", v, 0));
  }
  return o;
}

Result<S3Config> S3ConfigFromEnvironment(const std::string& type) {
  S3Config c;
  c.bucket = FirstSetting({"STORAGE_BUCKET", "AWS_S3_BUCKET"});
  c.region = FirstSetting({"STORAGE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"});
  if (c.region.empty()) c.region = type == "GCP" ? "auto" : "us-east-1";
  c.credentials.access_key = FirstSetting({"STORAGE_ACCESS_KEY", "AWS_ACCESS_KEY_ID"});
  c.credentials.secret_key = FirstSetting({"STORAGE_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"});
  c.credentials.session_token = FirstSetting({"AWS_SESSION_TOKEN"});
  c.endpoint = FirstSetting({"STORAGE_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
  if (c.endpoint.empty()) {
    if (type == "MINIO") {
      return Status::InvalidArgument(
          "STORAGE_TYPE=MINIO needs STORAGE_ENDPOINT_URL, e.g. http://127.0.0.1:9000");
    }
    c.endpoint = type == "GCP" ? "https://storage.googleapis.com"
                               : fmt::format("https://s3.{}.amazonaws.com", c.region);
  }
  // MinIO and most self-hosted servers want path-style; AWS and GCS prefer virtual hosts. An
  // endpoint given as an IP address or localhost has no names for buckets under it.
  auto endpoint = ParseEndpoint(c.endpoint);
  c.path_style = type == "MINIO" || (endpoint.ok() && endpoint->host_is_ip_or_localhost);
  if (auto v = FirstSetting({"STORAGE_FORCE_PATH_STYLE"}); !v.empty()) {
    if (v != "true" && v != "false" && v != "1" && v != "0") {
      return Status::InvalidArgument(
          fmt::format("STORAGE_FORCE_PATH_STYLE='{}' is not a boolean; expected true or false", v));
    }
    c.path_style = v == "true" || v == "1";
  }
  if (auto v = FirstSetting({"STORAGE_LIST_PAGE_SIZE"}); !v.empty()) {
    ST_ASSIGN_OR_RETURN(int64_t n, ParseIntSetting("STORAGE_LIST_PAGE_SIZE", v, 1));
    c.list_page_size = static_cast<int>(std::min<int64_t>(n, 1000));
  }
  return c;
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& storage_type,
                                                     const std::string& home) {
  if (storage_type == "LOCAL") {
    return std::unique_ptr<ObjectStore>(
        std::make_unique<LocalObjectStore>(home + "/data", home + "/staging"));
  }
  if (storage_type == "MINIO" || storage_type == "S3" || storage_type == "GCP") {
    ST_ASSIGN_OR_RETURN(S3Config config, S3ConfigFromEnvironment(storage_type));
    ST_ASSIGN_OR_RETURN(RemoteStoreOptions options, RemoteOptions(home));
    ST_ASSIGN_OR_RETURN(auto store, S3ObjectStore::Open(std::move(config), std::move(options)));
    return std::unique_ptr<ObjectStore>(std::move(store));
  }
  if (storage_type == "AZURE") {
    std::string conn = FirstSetting({"AZURE_STORAGE_CONNECTION_STRING"});
    if (conn.empty()) {
      return Status::InvalidArgument(
          "STORAGE_TYPE=AZURE needs AZURE_STORAGE_CONNECTION_STRING "
          "('AccountName=...;AccountKey=...;...')");
    }
    ST_ASSIGN_OR_RETURN(AzureConfig config, ParseAzureConnectionString(conn));
    config.container = FirstSetting({"STORAGE_BUCKET", "AZURE_STORAGE_CONTAINER"});
    ST_ASSIGN_OR_RETURN(RemoteStoreOptions options, RemoteOptions(home));
    ST_ASSIGN_OR_RETURN(auto store, AzureBlobStore::Open(std::move(config), std::move(options)));
    return std::unique_ptr<ObjectStore>(std::move(store));
  }
  return Status::InvalidArgument(fmt::format(
      "STORAGE_TYPE={} is not known; expected LOCAL, MINIO, S3, GCP or AZURE", storage_type));
}

}  // namespace supertable
