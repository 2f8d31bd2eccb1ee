// Error vocabulary shared by every bazof surface (C++ API, CLI, C API, Python).
//
// Errors are arrow::Status values. A bazof error carries an ErrorDetail that
// names its kind; the message names the object (table, version, file, column,
// row) and the problem. Use ErrorKindOf() to branch on the kind.
#pragma once

#include <arrow/status.h>

#include <memory>
#include <string>
#include <string_view>

namespace bazof {

/// What a caller can do about an error.
enum class ErrorKind {
  kNotFound,            ///< table, version or file does not exist
  kInvalidArgument,     ///< the caller's input is wrong (flags, as-of, columns)
  kCorruption,          ///< stored metadata or data violates the format
  kConflict,            ///< another writer won; retrying may help
  kCommitStateUnknown,  ///< a commit may or may not have happened
  kIOError,             ///< the storage failed
};

/// Stable lower-case name of a kind ("not_found", "corruption", ...).
std::string_view ErrorKindName(ErrorKind kind);

/// Returns the kind of a non-OK status. Statuses not made by bazof map from
/// Arrow's codes (IOError -> kIOError, Invalid -> kInvalidArgument, ...).
ErrorKind ErrorKindOf(const arrow::Status& status);

/// Builds a status of the given kind with the concatenated message.
arrow::Status MakeError(ErrorKind kind, std::string message);

template <typename... Args>
arrow::Status NotFound(Args&&... args) {
  return MakeError(ErrorKind::kNotFound, arrow::internal::JoinToString(std::forward<Args>(args)...));
}
template <typename... Args>
arrow::Status InvalidArgument(Args&&... args) {
  return MakeError(ErrorKind::kInvalidArgument,
                   arrow::internal::JoinToString(std::forward<Args>(args)...));
}
template <typename... Args>
arrow::Status Corruption(Args&&... args) {
  return MakeError(ErrorKind::kCorruption,
                   arrow::internal::JoinToString(std::forward<Args>(args)...));
}
template <typename... Args>
arrow::Status Conflict(Args&&... args) {
  return MakeError(ErrorKind::kConflict, arrow::internal::JoinToString(std::forward<Args>(args)...));
}

/// Prefixes a status's message with context ("data file 'x': ") keeping its kind.
arrow::Status WithContext(const arrow::Status& status, std::string_view context);

}  // namespace bazof
