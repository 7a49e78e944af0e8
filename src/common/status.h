// Status and Result<T>: how every layer reports failure without exceptions crossing module
// boundaries. A Status carries a code that the CLI maps to an exit code (user errors exit 1,
// internal errors exit 2) and one message written for the person who must fix the problem.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace supertable {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller sent something malformed (name, file, SQL, option)
  kNotFound,         // a super, table, snapshot or object that does not exist
  kAlreadyExists,
  kConflict,   // a compare-and-swap lost against another writer
  kTimeout,    // a lock or query waited longer than allowed
  kCancelled,  // the caller withdrew the request
  // Placed before kIoError so the engine worker codec's range check (up to kInternal) still
  // covers every code; workers and the server are one binary, so the numbers may move.
  kUnauthenticated,   // no credentials, or credentials that do not prove who the caller is
  kPermissionDenied,  // a known caller that may not do this (e.g. a token without a scope)
  kIoError,           // the disk or a remote store failed
  kInternal,          // a bug or an invariant that did not hold
};

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  // For a Status that crossed a process boundary as its code and message.
  static Status FromCode(StatusCode c, std::string m) {
    return c == StatusCode::kOk ? Status() : Status(c, std::move(m));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // True for problems the user can fix by changing their input; the CLI exits 1 for these.
  bool IsUserError() const;
  std::string ToString() const;
  // Prefixes context ("orders.csv: ") while keeping the code.
  Status WithContext(const std::string& context) const;

 private:
  Status(StatusCode c, std::string m) : code_(c), message_(std::move(m)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace supertable

#define ST_CONCAT_INNER(a, b) a##b
#define ST_CONCAT(a, b) ST_CONCAT_INNER(a, b)

// Returns early from the enclosing function when `expr` (a Status) is not ok.
#define ST_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::supertable::Status _st_status = (expr); \
    if (!_st_status.ok()) return _st_status;  \
  } while (0)

// `ST_ASSIGN_OR_RETURN(auto x, MakeX());` unwraps a Result or returns its Status.
#define ST_ASSIGN_OR_RETURN(lhs, expr) \
  ST_ASSIGN_OR_RETURN_IMPL(ST_CONCAT(_st_result_, __LINE__), lhs, expr)
#define ST_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
