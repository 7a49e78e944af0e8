// AzureBlobStore: objects as block blobs in one Azure Storage container (azurite in tests).
// Requests are signed with the account's SharedKey from AZURE_STORAGE_CONNECTION_STRING; large
// files go up as blocks committed by one Put Block List, so a blob is never visible half
// written; ranged reads; List Blobs page by page; If-None-Match conditional puts.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/remote_object_store.h"

namespace supertable {

struct AzureConfig {
  std::string account;
  std::string key;            // base64 account key
  std::string blob_endpoint;  // "https://<account>.blob.core.windows.net" or azurite's URL
  std::string container;
  int list_page_size = 5000;  // maxresults per List Blobs page
  bool create_container = true;
};

// Parses "DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...;BlobEndpoint=...;
// EndpointSuffix=..." (BlobEndpoint wins over protocol + suffix).
Result<AzureConfig> ParseAzureConnectionString(const std::string& text);

class AzureBlobStore : public RemoteObjectStore {
 public:
  // Checks the container answers (creating it when missing and allowed); one clear error
  // naming the endpoint and container otherwise.
  static Result<std::unique_ptr<AzureBlobStore>> Open(AzureConfig config,
                                                      RemoteStoreOptions options);

  Status Put(const std::string& key, const std::string& data) override;
  Status PutIfAbsent(const std::string& key, const std::string& data) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  // Uncommitted blocks of an interrupted upload are discarded by the service itself.
  Result<int64_t> RemoveAbandoned(const std::string&, int64_t) override { return int64_t{0}; }
  std::string Describe() const override;

 protected:
  Result<std::string> BeginUpload(const std::string& key) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, const std::string& data) override;
  Status CompleteUpload(const std::string& key, const std::string& upload_id,
                        const std::vector<std::string>& receipts, int64_t total_bytes) override;
  std::string CredentialsHint() const override {
    return "check AccountName and AccountKey in AZURE_STORAGE_CONNECTION_STRING";
  }
  void AbortUpload(const std::string&, const std::string&) override {}

 private:
  AzureBlobStore(AzureConfig config, RemoteStoreOptions options);
  HttpRequest Sign(const std::string& method, const std::string& key, const Params& params,
                   Params headers, std::string_view body) const override;
  const char* RangeHeaderName() const override { return "x-ms-range"; }
  Status EnsureContainer();

  AzureConfig config_;
  std::string decoded_key_;
  std::string endpoint_path_;  // the blob endpoint's own path ("/devstoreaccount1" on azurite)
};

}  // namespace supertable
