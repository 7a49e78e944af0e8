// Text, CSV and JSON result printers.
#include "engine/result_format.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace supertable {

using nlohmann::json;

Result<OutputFormat> ParseOutputFormat(const std::string& name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  if (name == "line") return OutputFormat::kLine;
  return Status::InvalidArgument(
      fmt::format("unknown output format '{}'; expected table, csv, json or line", name));
}

std::string CellText(const json& cell, const char* null_text) {
  if (cell.is_null()) return null_text;
  if (cell.is_string()) return cell.get<std::string>();
  return cell.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// Display width in terminal columns: count UTF-8 lead bytes, not bytes.
size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The first `width` characters of UTF-8 text, never splitting a character.
std::string Prefix(const std::string& s, size_t width) {
  size_t chars = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && chars++ == width) break;
  }
  return s.substr(0, i);
}

class TableSink : public ResultSink {
 public:
  explicit TableSink(std::ostream& out) : out_(out) {}
  void Begin(const std::vector<Column>& columns) override {
    for (const auto& c : columns) {
      header_.push_back(c.name);
      types_.push_back(c.type);
    }
  }
  void Row(const std::vector<json>& cells) override {
    std::vector<std::string> r;
    for (const auto& c : cells) {
      std::string t = CellText(c, "NULL");
      std::replace(t.begin(), t.end(), '\n', ' ');
      r.push_back(std::move(t));
    }
    rows_.push_back(std::move(r));
  }
  void End(bool truncated) override {
    std::vector<size_t> w(header_.size());
    for (size_t i = 0; i < header_.size(); ++i)
      w[i] = std::max(DisplayWidth(header_[i]), DisplayWidth(types_[i]));
    for (const auto& r : rows_) {
      for (size_t i = 0; i < r.size(); ++i)
        w[i] = std::max(w[i], std::min<size_t>(DisplayWidth(r[i]), 60));
    }
    auto line = [&](const std::vector<std::string>& cells) {
      std::string s;
      for (size_t i = 0; i < cells.size(); ++i) {
        std::string c = cells[i];
        if (DisplayWidth(c) > w[i]) c = Prefix(c, w[i] - 1) + "…";
        s += (i ? " | " : "") + c + std::string(w[i] - std::min(w[i], DisplayWidth(c)), ' ');
      }
      while (!s.empty() && s.back() == ' ') s.pop_back();
      out_ << s << "\n";
    };
    line(header_);
    line(types_);
    std::string rule;
    for (size_t i = 0; i < w.size(); ++i) rule += (i ? "-+-" : "") + std::string(w[i], '-');
    out_ << rule << "\n";
    for (const auto& r : rows_) line(r);
    out_ << fmt::format("({} row{}{})\n", rows_.size(), rows_.size() == 1 ? "" : "s",
                        truncated ? ", truncated: raise --limit to see more" : "");
  }

 private:
  std::ostream& out_;
  std::vector<std::string> header_, types_;
  std::vector<std::vector<std::string>> rows_;
};

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

class CsvSink : public ResultSink {
 public:
  explicit CsvSink(std::ostream& out) : out_(out) {}
  void Begin(const std::vector<Column>& columns) override {
    std::string s;
    for (size_t i = 0; i < columns.size(); ++i) s += (i ? "," : "") + CsvField(columns[i].name);
    out_ << s << "\n";
  }
  void Row(const std::vector<json>& cells) override {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i)
      s += (i ? "," : "") + CsvField(CellText(cells[i], ""));
    out_ << s << "\n";
  }
  void End(bool) override { out_.flush(); }

 private:
  std::ostream& out_;
};

// {"columns":[{"name":..,"type":..}],"rows":[[..],..],"row_count":N,"truncated":false}
class JsonSink : public ResultSink {
 public:
  explicit JsonSink(std::ostream& out) : out_(out) {}
  void Begin(const std::vector<Column>& columns) override {
    json cols = json::array();
    for (const auto& c : columns) cols.push_back({{"name", c.name}, {"type", c.type}});
    out_ << "{\"columns\":" << cols.dump(-1, ' ', false, json::error_handler_t::replace)
         << ",\"rows\":[";
  }
  void Row(const std::vector<json>& cells) override {
    out_ << (rows_++ ? ",\n" : "\n")
         << json(cells).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  void End(bool truncated) override {
    out_ << "\n],\"row_count\":" << rows_ << ",\"truncated\":" << (truncated ? "true" : "false")
         << "}\n";
    out_.flush();
  }

 private:
  std::ostream& out_;
  int64_t rows_ = 0;
};

// One "name = value" line per column, names right-aligned, a blank line between rows.
class LineSink : public ResultSink {
 public:
  explicit LineSink(std::ostream& out) : out_(out) {}
  void Begin(const std::vector<Column>& columns) override {
    for (const auto& c : columns) {
      names_.push_back(c.name);
      width_ = std::max(width_, DisplayWidth(c.name));
    }
  }
  void Row(const std::vector<json>& cells) override {
    std::string s = rows_++ ? "\n" : "";
    for (size_t i = 0; i < cells.size() && i < names_.size(); ++i) {
      s += std::string(width_ - DisplayWidth(names_[i]), ' ') + names_[i] + " = " +
           CellText(cells[i], "NULL") + "\n";
    }
    out_ << s;
  }
  void End(bool truncated) override {
    if (truncated) out_ << "\n(truncated after " << rows_ << " rows)\n";
    out_.flush();
  }

 private:
  std::ostream& out_;
  std::vector<std::string> names_;
  size_t width_ = 0;
  int64_t rows_ = 0;
};

}  // namespace

std::unique_ptr<ResultSink> MakeResultSink(OutputFormat format, std::ostream& out) {
  switch (format) {
    case OutputFormat::kCsv:
      return std::make_unique<CsvSink>(out);
    case OutputFormat::kJson:
      return std::make_unique<JsonSink>(out);
    case OutputFormat::kLine:
      return std::make_unique<LineSink>(out);
    case OutputFormat::kTable:
      break;
  }
  return std::make_unique<TableSink>(out);
}

}  // namespace supertable
