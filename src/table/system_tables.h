// The warehouse's system tables: relations a query may name that are not tables of the catalog.
// Today there is one, `system.audit`, the organization's audit trail (src/security/audit.h) as
// administrators read it with SQL. It resolves only for callers the front door marks as
// administrators (AccessPolicy::ReadsAudit); for anyone else the name falls through to the
// ordinary resolution, so it is an unknown table like any other missing one, and a user super
// table named `system` keeps every other table it has.
//
// The trail's object layout is defined here, in the table layer, because both the writer
// (src/security/audit.cc) and the query path need it and the table layer must not depend on the
// security layer.
#pragma once

#include <string>

#include "common/status.h"
#include "engine/engine.h"
#include "storage/object_store.h"

namespace supertable {

// "<org>/__audit/": every object of the organization's trail is under it
// (docs/STORAGE_FORMAT.md, "The audit trail").
std::string AuditTrailPrefix(const std::string& org);
// Segment objects end so; a stream's HEAD object does not.
inline constexpr const char* kAuditSegmentSuffix = ".ndjson";

// True for `system.audit` (any case).
bool IsAuditTableName(const TableName& name);

// Pins the segments of the trail that exist now (one List) as a read-only relation with typed
// columns (docs/USER_GUIDE.md, "system.audit"). Records flushed after this are not seen by the
// query, as commits after a table's pin are not.
Result<ResolvedTable> ResolveAuditTable(ObjectStore& store, const std::string& org,
                                        const TableName& name);

}  // namespace supertable
