#include "bazof/error.h"

#include <arrow/util/io_util.h>

#include <cstring>

#include "text_escape.h"

namespace bazof {
namespace {

constexpr const char* kDetailTypeId = "bazof::ErrorDetail";

class ErrorDetail : public arrow::StatusDetail {
 public:
  explicit ErrorDetail(ErrorKind kind) : kind_(kind) {}
  const char* type_id() const override { return kDetailTypeId; }
  std::string ToString() const override { return std::string(ErrorKindName(kind_)); }
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

arrow::StatusCode CodeFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound:
      return arrow::StatusCode::KeyError;
    case ErrorKind::kInvalidArgument:
      return arrow::StatusCode::Invalid;
    case ErrorKind::kCorruption:
      return arrow::StatusCode::SerializationError;
    case ErrorKind::kConflict:
      return arrow::StatusCode::AlreadyExists;
    case ErrorKind::kCommitStateUnknown:
      return arrow::StatusCode::UnknownError;
    case ErrorKind::kIOError:
      return arrow::StatusCode::IOError;
  }
  return arrow::StatusCode::UnknownError;
}

}  // namespace

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kInvalidArgument:
      return "invalid_argument";
    case ErrorKind::kCorruption:
      return "corruption";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kCommitStateUnknown:
      return "commit_state_unknown";
    case ErrorKind::kIOError:
      return "io_error";
  }
  return "unknown";
}

ErrorKind ErrorKindOf(const arrow::Status& status) {
  if (auto detail = status.detail(); detail && detail->type_id() == std::string(kDetailTypeId)) {
    return static_cast<const ErrorDetail&>(*detail).kind();
  }
  switch (status.code()) {
    case arrow::StatusCode::KeyError:
      return ErrorKind::kNotFound;
    case arrow::StatusCode::Invalid:
    case arrow::StatusCode::TypeError:
    case arrow::StatusCode::NotImplemented:
      return ErrorKind::kInvalidArgument;
    case arrow::StatusCode::SerializationError:
      return ErrorKind::kCorruption;
    case arrow::StatusCode::AlreadyExists:
      return ErrorKind::kConflict;
    default:
      return ErrorKind::kIOError;
  }
}

arrow::Status MakeError(ErrorKind kind, std::string message) {
  return arrow::Status(CodeFor(kind), std::move(message), std::make_shared<ErrorDetail>(kind));
}

std::string MessageWithReason(const arrow::Status& status) {
  std::string message = status.message();
  // Arrow's file errors keep errno in a detail, not in the message
  // ("Error writing bytes to file" + ENOSPC): the reason is the useful part.
  const int err = arrow::internal::ErrnoFromStatus(status);
  if (err > 0) {
    const std::string reason = std::strerror(err);
    if (message.find(reason) == std::string::npos) message += " (" + reason + ")";
  }
  return message;
}

arrow::Status WithContext(const arrow::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return MakeError(ErrorKindOf(status), std::string(context) + MessageWithReason(status));
}

}  // namespace bazof
