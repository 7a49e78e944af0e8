// Chooses the ObjectStore implementation for STORAGE_TYPE.
#include "storage/object_store.h"

#include <fmt/format.h>

#include "storage/local_object_store.h"

namespace supertable {

Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& storage_type,
                                                     const std::string& home) {
  if (storage_type == "LOCAL") {
    return std::unique_ptr<ObjectStore>(
        std::make_unique<LocalObjectStore>(home + "/data", home + "/staging"));
  }
  return Status::InvalidArgument(
      fmt::format("STORAGE_TYPE={} is not supported; expected LOCAL", storage_type));
}

}  // namespace supertable
