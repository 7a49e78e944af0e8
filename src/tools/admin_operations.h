// The operations that change the warehouse or administer the organization: write a table from
// an upload, create and drop supers and tables, compact, gc, the snapshot of a table at a
// version, users, roles, tokens and the effective configuration. They are part of the one
// registry (tools/operations.h) and reached from the REST API and the UI; none is an MCP tool
// (agents read; people and scripts change). Each checks the caller's right itself, so every
// door that reaches it applies the same rule.
#pragma once

#include <functional>

#include "engine/engine.h"
#include "tools/operations.h"

namespace supertable {

namespace security {
class Directory;
}

// The time-travel argument `as_of` of an operation: a version number or a UTC timestamp.
Result<std::optional<AsOf>> AsOfArgument(const nlohmann::json& args);

// Adds every such operation through `add` (the registry's, which scrubs their answers).
void AddAdminOperations(Warehouse& warehouse, security::Directory& directory,
                        const std::function<void(Operation)>& add);

}  // namespace supertable
