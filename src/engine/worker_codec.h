// The JSON forms of the engine's requests and answers as they cross between the server and an
// engine worker process (engine_worker.h, isolated_engine.h). Functions, callbacks and pointers
// do not cross: the worker rebuilds `read_path` from the same object store, and the server keeps
// the result sink, the table resolver and the cancel token, answering for them by message.
// Decoders throw nlohmann::json exceptions on malformed input; callers turn that into a Status.
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "engine/engine.h"

namespace supertable {

// What a worker needs of its server's EngineOptions (not the cache pointer, nor the worker
// command, nor the pool's limits: the worker makes its own cache and runs one request at a time).
nlohmann::json EngineOptionsToJson(const EngineOptions& o);
EngineOptions EngineOptionsFromJson(const nlohmann::json& j);

nlohmann::json StatusToJson(const Status& s);
Status StatusFromJson(const nlohmann::json& j);

nlohmann::json TableNameToJson(const TableName& n);
TableName TableNameFromJson(const nlohmann::json& j);

nlohmann::json ResolvedTableToJson(const ResolvedTable& t);
ResolvedTable ResolvedTableFromJson(const nlohmann::json& j);

// The parts of a QuerySpec the worker needs: the SQL and its limits.
nlohmann::json QuerySpecToJson(const QuerySpec& spec);
void QuerySpecFromJson(const nlohmann::json& j, QuerySpec* spec);

nlohmann::json QueryStatsToJson(const QueryStats& s);
QueryStats QueryStatsFromJson(const nlohmann::json& j);

// WriteSpec without read_path and progress; `base` travels as its snapshot document and is
// decoded into *base_storage.
nlohmann::json WriteSpecToJson(const WriteSpec& spec);
WriteSpec WriteSpecFromJson(const nlohmann::json& j, std::optional<Snapshot>* base_storage);

nlohmann::json WriteOutcomeToJson(const WriteOutcome& out);
WriteOutcome WriteOutcomeFromJson(const nlohmann::json& j);

nlohmann::json StagedDataFilesToJson(const std::vector<StagedDataFile>& files);
std::vector<StagedDataFile> StagedDataFilesFromJson(const nlohmann::json& j);

}  // namespace supertable
