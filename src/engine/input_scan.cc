// The streaming pre-scan of input files (see input_scan.h).
#include "engine/input_scan.h"

#include "engine/engine.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "common/text.h"

namespace supertable {

Result<InputFormat> ParseInputFormat(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n.empty() || n == "auto") return InputFormat::kAuto;
  if (n == "csv" || n == "tsv") return InputFormat::kCsv;
  if (n == "json" || n == "ndjson" || n == "jsonl") return InputFormat::kJson;
  if (n == "parquet") return InputFormat::kParquet;
  return Status::InvalidArgument(
      fmt::format("unknown format '{}'; expected csv, json, ndjson or parquet", name));
}

namespace {

constexpr const char* kColumnsSetting = "SUPERTABLE_MAX_INPUT_COLUMNS";
constexpr const char* kDepthSetting = "SUPERTABLE_MAX_INPUT_NESTING_DEPTH";
constexpr const char* kRecordSetting = "SUPERTABLE_MAX_INPUT_RECORD_BYTES";

// Sequential reads through one fixed buffer: the scan's memory does not depend on the file.
class ChunkReader {
 public:
  explicit ChunkReader(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ >= 0) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  ~ChunkReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  Status OpenStatus() const {
    if (fd_ >= 0) return Status::Ok();
    return Status::IoError(fmt::format("cannot open {}: {}", path_, std::strerror(errno)));
  }
  // The next chunk, empty at the end of the file.
  Result<std::string_view> Next() {
    for (;;) {
      ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
      if (n >= 0) {
        offset_ += n;
        return std::string_view(buffer_.data(), static_cast<size_t>(n));
      }
      if (errno != EINTR) {
        return Status::IoError(fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
      }
    }
  }
  // Offset in the file of the byte after the last chunk returned.
  int64_t end_offset() const { return offset_; }
  int fd() const { return fd_; }

 private:
  std::string path_;
  int fd_ = -1;
  int64_t offset_ = 0;
  std::array<char, 1 << 20> buffer_;
};

Status RecordTooLong(const std::string& path, const char* what, int64_t line,
                     const InputLimits& limits, const char* hint) {
  return Status::InvalidArgument(
      fmt::format("{}: {} starting on line {} is longer than {} ({} bytes); at most that is "
                  "allowed ({}){}",
                  path, what, line, FormatBytes(limits.max_record_bytes), limits.max_record_bytes,
                  kRecordSetting, hint));
}

// The scan reads bytes as they are in the file, so it cannot check a compressed one; such a file
// (also a way to hide a huge input in a small one) is refused rather than passed unchecked.
Status RefuseCompressed(const std::string& path, int fd) {
  unsigned char magic[4] = {};
  ssize_t n = ::pread(fd, magic, 4, 0);
  bool gzip = n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  bool zstd =
      n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd;
  if (!gzip && !zstd) return Status::Ok();
  return Status::InvalidArgument(fmt::format(
      "{} is {}-compressed; compressed inputs are not accepted because their shape cannot be "
      "checked before reading: decompress it first",
      path, gzip ? "gzip" : "zstd"));
}

constexpr const char* kUnclosedQuoteHint =
    "; a quote (\") that is never closed also makes the rest of the file one record";

}  // namespace

Result<CsvShape> ScanCsv(const std::string& path, const InputLimits& limits) {
  ChunkReader in(path);
  ST_RETURN_IF_ERROR(in.OpenStatus());
  ST_RETURN_IF_ERROR(RefuseCompressed(path, in.fd()));
  constexpr std::array<char, 4> kCandidates = {',', '\t', ';', '|'};
  std::array<int64_t, 4> counts{};
  CsvShape shape;
  bool header = true, blank_header = true, quoted = false;
  int64_t line = 1, record_line = 1, record_start = 0;

  auto too_long = [&]() {
    return RecordTooLong(path, header ? "the header record" : "the record", record_line, limits,
                         kUnclosedQuoteHint);
  };
  // A line end outside quotes at file offset `at` ends the record.
  auto end_record = [&](int64_t at) -> Status {
    if (at - record_start > limits.max_record_bytes) return too_long();
    shape.longest_record = std::max(shape.longest_record, at - record_start);
    if (header) {
      if (blank_header) {
        return Status::InvalidArgument(
            fmt::format("{}: the file is empty; expected a header row naming the columns", path));
      }
      int best = 0;
      for (int i = 1; i < 4; ++i) {
        if (counts[i] > counts[best]) best = i;
      }
      shape.delimiter = kCandidates[best];
      shape.columns = counts[best] + 1;
      if (shape.columns > limits.max_columns) return TooManyColumns(path, shape.columns, limits);
      header = false;
    }
    record_start = at + 1;
    record_line = line;
    return Status::Ok();
  };

  for (;;) {
    ST_ASSIGN_OR_RETURN(std::string_view chunk, in.Next());
    if (chunk.empty()) break;
    const char* const data = chunk.data();
    const int64_t base = in.end_offset() - static_cast<int64_t>(chunk.size());
    const char* p = data;
    const char* const end = data + chunk.size();
    while (header && p < end) {
      // The header, byte by byte: its delimiters are counted. Quotes are RFC 4180's, so a ""
      // inside a quoted field toggles twice.
      const char c = *p;
      if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && (c == '\n' || c == '\r')) {
        ST_RETURN_IF_ERROR(end_record(base + (p - data)));
      } else if (!quoted) {
        for (size_t i = 0; i < kCandidates.size(); ++i) counts[i] += kCandidates[i] == c;
      }
      if (c == '\n') ++line;
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') blank_header = false;
      ++p;
    }
    // The rest only needs its record ends, found with memchr (vectorized) rather than byte by
    // byte: this pass runs over every byte of the file, so it must stay a small fraction of
    // DuckDB's own. The next quote and carriage return are looked up once and reused until
    // passed.
    const char* next_quote = nullptr;  // nullptr: not looked up yet in this chunk
    const char* next_cr = nullptr;
    auto find = [&](const char* from, char c) {
      const char* f = static_cast<const char*>(std::memchr(from, c, end - from));
      return f ? f : end;
    };
    while (p < end) {
      if (!next_quote || next_quote < p) next_quote = find(p, '"');
      if (quoted) {
        // Line breaks inside a quoted field belong to the record.
        for (const char* q = p; q < next_quote; ++q) line += *q == '\n';
        if (next_quote == end) break;
        quoted = false;
        p = next_quote + 1;
        continue;
      }
      if (!next_cr || next_cr < p) next_cr = find(p, '\r');
      const char* nl = find(p, '\n');
      const char* stop = std::min({nl, next_cr, next_quote});
      if (stop == end) break;
      if (stop == next_quote) {
        quoted = true;
      } else {
        if (*stop == '\n') ++line;
        ST_RETURN_IF_ERROR(end_record(base + (stop - data)));
      }
      p = stop + 1;
    }
    // A record still open at a chunk's end is checked here, so a 10 GB line fails after reading
    // just past the limit rather than at its end.
    if (in.end_offset() - record_start > limits.max_record_bytes) return too_long();
  }
  if (header) ST_RETURN_IF_ERROR(end_record(in.end_offset()));
  // The last record may end without a line end.
  shape.longest_record = std::max(shape.longest_record, in.end_offset() - record_start);
  return shape;
}

// The bytes ScanJson must look at outside strings: structure, quotes, white space.
constexpr std::array<bool, 256> kJsonStructural = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : {' ', '\t', '\r', '\n', '"', '{', '}', '[', ']', ','}) t[c] = true;
  return t;
}();

Result<bool> ScanJson(const std::string& path, const InputLimits& limits) {
  ChunkReader in(path);
  ST_RETURN_IF_ERROR(in.OpenStatus());
  ST_RETURN_IF_ERROR(RefuseCompressed(path, in.fd()));
  // One entry per open array or object. Key paths are hashed (FNV-1a over the parent's path and
  // the key's bytes as written) so the set of distinct keys costs 8 bytes each, and it stops
  // growing at the limit.
  struct Level {
    bool object;
    bool expect_key;    // an object, before its next key
    uint64_t path;      // hash of the key path to this container
    uint64_t last_key;  // objects: path hash of the key whose value comes next
  };
  constexpr uint64_t kFnvPrime = 1099511628211ull;
  constexpr uint64_t kRootPath = 14695981039346656037ull;
  std::vector<Level> stack;
  std::unordered_set<uint64_t> keys;
  // A direct-mapped cache in front of `keys`: records repeat the same keys, and a hash set
  // insert per key was most of the scan's time on NDJSON. An entry is set only once its hash is
  // in `keys`.
  struct Seen {
    uint64_t hash = 0;
    bool set = false;
  };
  std::array<Seen, 256> seen{};
  bool started = false, array = false, in_string = false, escaped = false, hashing = false;
  uint64_t key_hash = 0;
  int64_t line = 1, record_line = 1, record_start = 0;
  bool line_pending = false;  // a record has ended; the next one's line is not known yet
  // Records are NDJSON's top-level values and the array's elements: the record level is the
  // depth at which they sit, their separators '\n' (NDJSON) or ',' (array).
  size_t record_level = 0;

  auto depth_error = [&]() {
    return Status::InvalidArgument(fmt::format(
        "{}: the record starting on line {} nests arrays and objects more than {} "
        "levels deep; at most {} are allowed ({})",
        path, record_line, limits.max_nesting_depth, limits.max_nesting_depth, kDepthSetting));
  };
  auto new_record = [&](int64_t at) -> Status {
    if (at - record_start > limits.max_record_bytes) {
      return RecordTooLong(path, "the record", record_line, limits, "");
    }
    record_start = at + 1;
    line_pending = true;
    return Status::Ok();
  };

  for (;;) {
    ST_ASSIGN_OR_RETURN(std::string_view chunk, in.Next());
    if (chunk.empty()) break;
    const int64_t base = in.end_offset() - static_cast<int64_t>(chunk.size());
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (in_string && !escaped) {
        // Skip a string's body to its closing quote or first escape in one memchr each; a
        // key's bytes are hashed on the way in one tight loop.
        const char* from = chunk.data() + i;
        size_t left = chunk.size() - i;
        const char* q = static_cast<const char*>(std::memchr(from, '"', left));
        const char* b = static_cast<const char*>(std::memchr(from, '\\', q ? q - from : left));
        const char* stop = b ? b : q;
        if (!stop) stop = from + left;  // the string goes on in the next chunk
        if (hashing) {
          for (const char* p = from; p < stop; ++p)
            key_hash = (key_hash ^ static_cast<unsigned char>(*p)) * kFnvPrime;
        }
        i += stop - from;
        if (i == chunk.size()) break;
        // chunk[i] is the quote or backslash; it is hashed and handled below as before.
      }
      const char c = chunk[i];
      if (in_string) {
        if (hashing) key_hash = (key_hash ^ static_cast<unsigned char>(c)) * kFnvPrime;
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
          if (hashing) {
            hashing = false;
            stack.back().last_key = key_hash;
            Seen& slot = seen[key_hash & (seen.size() - 1)];
            if (slot.set && slot.hash == key_hash) continue;
            if (keys.size() <= static_cast<size_t>(limits.max_columns)) keys.insert(key_hash);
            slot = {key_hash, true};
            if (keys.size() > static_cast<size_t>(limits.max_columns)) {
              return Status::InvalidArgument(fmt::format(
                  "{} has more than {} distinct object keys (columns and the fields of nested "
                  "objects; the record starting on line {} passes the limit); at most {} are "
                  "allowed ({})",
                  path, limits.max_columns, record_line, limits.max_columns, kColumnsSetting));
            }
          }
        } else if (c == '\n') {
          ++line;
        }
        continue;
      }
      if (line_pending && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        record_line = line;  // errors name the line a record's first byte is on
        line_pending = false;
      }
      switch (c) {
        case ' ':
        case '\t':
        case '\r':
          break;
        case '\n':
          ++line;
          if (!array && stack.empty()) ST_RETURN_IF_ERROR(new_record(base + i));
          break;
        case '"':
          in_string = true;
          if (!stack.empty() && stack.back().object && stack.back().expect_key) {
            stack.back().expect_key = false;
            hashing = true;
            key_hash = stack.back().path;
          }
          break;
        case '{':
        case '[': {
          if (!started) {
            started = true;
            array = c == '[';
            record_level = array ? 1 : 0;
            if (array) record_start = base + i + 1;
          }
          uint64_t path = stack.empty()
                              ? kRootPath
                              : (stack.back().object ? stack.back().last_key : stack.back().path);
          stack.push_back({c == '{', c == '{', path, 0});
          if (static_cast<int64_t>(stack.size() - record_level) > limits.max_nesting_depth) {
            return depth_error();
          }
          break;
        }
        case '}':
        case ']':
          if (!stack.empty()) stack.pop_back();  // a stray close is left to DuckDB's parser
          break;
        case ',':
          if (!stack.empty() && stack.back().object) stack.back().expect_key = true;
          if (array && stack.size() == record_level) ST_RETURN_IF_ERROR(new_record(base + i));
          break;
        default:
          started = true;  // a scalar: NDJSON of one value per line, left to DuckDB
          // The rest of a number, true, false or null (or a ':') has nothing to look at.
          while (i + 1 < chunk.size() && !kJsonStructural[static_cast<unsigned char>(chunk[i + 1])])
            ++i;
          break;
      }
    }
    if (in.end_offset() - record_start > limits.max_record_bytes) {
      return RecordTooLong(path, "the record", record_line, limits, "");
    }
  }
  if (!started) {
    return Status::InvalidArgument(fmt::format(
        "{}: the file is empty; expected a JSON array or JSON objects, one per line", path));
  }
  if (array && !stack.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: the JSON array is not closed: the file ends without its final ']' (truncated?)",
        path));
  }
  return array;
}

namespace {

// Just enough of the Thrift compact protocol to walk FileMetaData's schema list
// (parquet.thrift: FileMetaData field 2, list<SchemaElement>; SchemaElement field 5,
// num_children) and skip everything else, with bounds on every length so a damaged footer is
// an error, never a long read or a deep recursion.
class ThriftReader {
 public:
  ThriftReader(ChunkReader& in, int64_t length, const std::string& path)
      : in_(in), left_(length), path_(path) {}

  Result<uint8_t> Byte() {
    if (pos_ == chunk_.size()) {
      if (left_ <= 0) return Damaged("it ends in the middle of the schema");
      ST_ASSIGN_OR_RETURN(chunk_, in_.Next());
      if (chunk_.empty()) return Damaged("the file ends in the middle of the schema");
      if (static_cast<int64_t>(chunk_.size()) > left_) chunk_ = chunk_.substr(0, left_);
      left_ -= static_cast<int64_t>(chunk_.size());
      pos_ = 0;
    }
    return static_cast<uint8_t>(chunk_[pos_++]);
  }
  Result<uint64_t> Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      ST_ASSIGN_OR_RETURN(uint8_t b, Byte());
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return Damaged("a number is longer than 10 bytes");
  }
  Result<int64_t> Zigzag() {
    ST_ASSIGN_OR_RETURN(uint64_t v, Varint());
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }
  Status Skip(int64_t n) {
    for (; n > 0; --n) ST_RETURN_IF_ERROR(Byte().status());
    return Status::Ok();
  }
  // A field header: its id (0 at the struct's end) and type; `last` is the previous field's id.
  Result<std::pair<int64_t, int>> FieldHeader(int64_t last) {
    ST_ASSIGN_OR_RETURN(uint8_t b, Byte());
    int type = b & 0x0f;
    if (type == 0) return std::pair<int64_t, int>{0, 0};
    int64_t delta = b >> 4;
    if (delta != 0) return std::pair<int64_t, int>{last + delta, type};
    ST_ASSIGN_OR_RETURN(int64_t id, Zigzag());
    return std::pair<int64_t, int>{id, type};
  }
  // A list header: element count and element type.
  Result<std::pair<int64_t, int>> ListHeader() {
    ST_ASSIGN_OR_RETURN(uint8_t b, Byte());
    int64_t size = b >> 4;
    if (size == 15) {
      ST_ASSIGN_OR_RETURN(uint64_t v, Varint());
      if (v > (1ull << 31)) return Damaged("a list claims more than 2^31 elements");
      size = static_cast<int64_t>(v);
    }
    return std::pair<int64_t, int>{size, b & 0x0f};
  }
  Status SkipValue(int type, int depth) {
    if (depth > 32) return Damaged("its structures nest more than 32 deep");
    switch (type) {
      case 1:  // boolean true, in the field header
      case 2:  // boolean false
        return Status::Ok();
      case 3:  // byte
        return Byte().status();
      case 4:  // i16
      case 5:  // i32
      case 6:  // i64
        return Varint().status();
      case 7:  // double
        return Skip(8);
      case 8: {  // binary
        ST_ASSIGN_OR_RETURN(uint64_t n, Varint());
        if (static_cast<int64_t>(n) > left_ + static_cast<int64_t>(chunk_.size() - pos_)) {
          return Damaged("a string is longer than the footer");
        }
        return Skip(static_cast<int64_t>(n));
      }
      case 9:     // list
      case 10: {  // set
        ST_ASSIGN_OR_RETURN(auto h, ListHeader());
        for (int64_t i = 0; i < h.first; ++i) ST_RETURN_IF_ERROR(SkipElement(h.second, depth));
        return Status::Ok();
      }
      case 11: {  // map
        ST_ASSIGN_OR_RETURN(uint64_t n, Varint());
        if (n == 0) return Status::Ok();
        ST_ASSIGN_OR_RETURN(uint8_t kv, Byte());
        for (uint64_t i = 0; i < n; ++i) {
          ST_RETURN_IF_ERROR(SkipElement(kv >> 4, depth));
          ST_RETURN_IF_ERROR(SkipElement(kv & 0x0f, depth));
        }
        return Status::Ok();
      }
      case 12: {  // struct
        int64_t last = 0;
        for (;;) {
          ST_ASSIGN_OR_RETURN(auto f, FieldHeader(last));
          if (f.second == 0) return Status::Ok();
          ST_RETURN_IF_ERROR(SkipValue(f.second, depth + 1));
          last = f.first;
        }
      }
      default:
        return Damaged(fmt::format("it holds an unknown value type {}", type));
    }
  }
  // List and map elements spell booleans as a byte of their own, unlike fields.
  Status SkipElement(int type, int depth) {
    if (type == 1 || type == 2) return Byte().status();
    return SkipValue(type, depth + 1);
  }
  Status Damaged(const std::string& why) const {
    return Status::InvalidArgument(
        fmt::format("{}: the Parquet footer is damaged: {}", path_, why));
  }

 private:
  ChunkReader& in_;
  int64_t left_;  // footer bytes not yet read into chunk_
  std::string path_;
  std::string_view chunk_;
  size_t pos_ = 0;
};

// Walks the schema list: elements come depth first, each group followed by its num_children
// children. Only a stack of the open groups' remaining child counts is kept.
Status WalkSchema(ThriftReader& r, const std::string& path, const InputLimits& limits) {
  ST_ASSIGN_OR_RETURN(auto list, r.ListHeader());
  if (list.second != 12 || list.first == 0) return r.Damaged("its schema is not a list of fields");
  std::vector<int64_t> open;  // children still to come, per open group
  int64_t leaves = 0;
  for (int64_t i = 0; i < list.first; ++i) {
    if (i > 0 && open.empty()) return r.Damaged("its schema has elements after the last column");
    int64_t children = 0, last = 0;
    for (;;) {
      ST_ASSIGN_OR_RETURN(auto f, r.FieldHeader(last));
      if (f.second == 0) break;
      if (f.first == 5 && f.second == 5) {
        ST_ASSIGN_OR_RETURN(children, r.Zigzag());
        if (children < 0) return r.Damaged("a group has a negative number of children");
      } else {
        ST_RETURN_IF_ERROR(r.SkipValue(f.second, 1));
      }
      last = f.first;
    }
    if (!open.empty()) --open.back();
    if (i == 0 || children > 0) {
      open.push_back(children);
      // The root is level 1, as a JSON record's own object is: {"a": {"b": 1}} and a Parquet
      // column a of STRUCT(b) are both 2 deep.
      if (static_cast<int64_t>(open.size()) > limits.max_nesting_depth) {
        return Status::InvalidArgument(
            fmt::format("{}: its schema nests more than {} levels deep; at most {} are allowed "
                        "({})",
                        path, limits.max_nesting_depth, limits.max_nesting_depth, kDepthSetting));
      }
    } else {
      ++leaves;
    }
    while (!open.empty() && open.back() == 0) open.pop_back();
  }
  if (!open.empty()) return r.Damaged("its schema ends before the last column");
  if (leaves > limits.max_columns) return TooManyColumns(path, leaves, limits);
  return Status::Ok();
}

}  // namespace

Status ScanParquet(const std::string& path, const InputLimits& limits) {
  ChunkReader in(path);
  ST_RETURN_IF_ERROR(in.OpenStatus());
  auto fail = [&](const std::string& why) {
    return Status::InvalidArgument(fmt::format("{}: {}", path, why));
  };
  off_t size = ::lseek(in.fd(), 0, SEEK_END);
  char head[4] = {}, tail[8] = {};
  if (size < 12 || ::pread(in.fd(), head, 4, 0) != 4 || ::pread(in.fd(), tail, 8, size - 8) != 8) {
    return fail("not a Parquet file: it is too short to hold the magic bytes and a footer");
  }
  if (std::memcmp(tail + 4, "PARE", 4) == 0) {
    return fail("encrypted Parquet files are not supported");
  }
  if (std::memcmp(head, "PAR1", 4) != 0 || std::memcmp(tail + 4, "PAR1", 4) != 0) {
    return fail("not a Parquet file: it does not start and end with the magic bytes PAR1");
  }
  uint32_t footer = 0;
  for (int i = 3; i >= 0; --i) footer = (footer << 8) | static_cast<unsigned char>(tail[i]);
  if (footer == 0 || static_cast<int64_t>(footer) > size - 12) {
    return fail(fmt::format(
        "the Parquet footer is damaged: its length ({} bytes) does not fit in the file of {} bytes "
        "(truncated?)",
        footer, size));
  }
  if (::lseek(in.fd(), size - 8 - footer, SEEK_SET) < 0) {
    return Status::IoError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  ThriftReader r(in, footer, path);
  int64_t last = 0;
  for (;;) {
    ST_ASSIGN_OR_RETURN(auto f, r.FieldHeader(last));
    if (f.second == 0) return r.Damaged("it has no schema");
    if (f.first == 2 && f.second == 9) return WalkSchema(r, path, limits);
    ST_RETURN_IF_ERROR(r.SkipValue(f.second, 1));
    last = f.first;
  }
}

Status TooManyColumns(const std::string& path, int64_t columns, const InputLimits& limits) {
  return Status::InvalidArgument(fmt::format("{} has {} columns; at most {} are allowed ({})", path,
                                             columns, limits.max_columns, kColumnsSetting));
}

Status CheckTableWidth(const std::string& path, size_t before, size_t after,
                       const InputLimits& limits) {
  if (after <= before || static_cast<int64_t>(after) <= limits.max_columns) return Status::Ok();
  return Status::InvalidArgument(
      fmt::format("{} would give the table {} columns ({} it has and {} new); at most {} are "
                  "allowed ({})",
                  path, after, before, after - before, limits.max_columns, kColumnsSetting));
}

}  // namespace supertable
