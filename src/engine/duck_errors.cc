// DuckDB error conversion.
#include "engine/duck_errors.h"

#include <vector>

namespace supertable {

// DuckDB's messages span several lines (a SQL excerpt with a caret, CSV reader options, fix-it
// hints). Users get one line: for CSV errors "line N: <what>", otherwise the first paragraph.
std::string OneLine(const std::string& raw) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t nl = raw.find('\n', start);
    lines.push_back(raw.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  std::string out;
  size_t i = 0;
  const std::string csv_prefix = "CSV Error on Line: ";
  if (!lines.empty() && lines[0].rfind(csv_prefix, 0) == 0) {
    out = "line " + lines[0].substr(csv_prefix.size()) + ":";
    i = 1;
  }
  for (; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty()) {
      if (!out.empty() && out.back() != ':') break;  // end of the first paragraph
      continue;
    }
    // Reader option dumps and fix-it lists follow the message proper.
    if (l.rfind("Possible fixes", 0) == 0 || l.rfind("The search space used", 0) == 0) break;
    if (l.rfind("Original Line:", 0) == 0 || l.rfind("LINE ", 0) == 0 || l.rfind("* ", 0) == 0 ||
        l.rfind("  ", 0) == 0) {
      continue;
    }
    out += (out.empty() ? "" : " ") + l;
  }
  return out.empty() ? raw : out;
}

// Failures of the machine (I/O, memory, DuckDB internals) are not the user's to fix: exit code 2.
Status FromDuckError(duckdb::ErrorData& error) {
  std::string msg = OneLine(error.RawMessage());
  switch (error.Type()) {
    case duckdb::ExceptionType::IO:
    case duckdb::ExceptionType::OUT_OF_MEMORY:
    case duckdb::ExceptionType::INTERNAL:
    case duckdb::ExceptionType::FATAL:
      return Status::IoError(msg);
    default:
      return Status::InvalidArgument(msg);
  }
}

}  // namespace supertable
