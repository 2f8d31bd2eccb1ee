// Text that ends up in an error message or comes from a user: escaping for
// one-line messages and UTF-8 validation. One place for every surface (CLI,
// C API, Python), so they all print the same line.
#pragma once

#include <arrow/status.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace bazof {

/// `text` with control characters and malformed UTF-8 escaped so the result
/// is one line of valid UTF-8: \n, \r, \t, other bytes < 0x20 and 0x7f as
/// \xNN, C1 controls (U+0080..U+009F) and U+2028/U+2029 as \uNNNN, and each
/// byte of an invalid UTF-8 sequence as \xNN. Other text is unchanged.
std::string EscapeForMessage(std::string_view text);

/// EscapeForMessage of at most the first `max_bytes` bytes of `text`, with
/// "..." appended when it was cut (for quoting file contents in errors).
std::string QuoteForMessage(std::string_view text, size_t max_bytes = 40);

/// The status's message, followed by the operating system's reason
/// ("(No space left on device)") when Arrow kept that only in the status's
/// errno detail. Use it wherever a message is copied into a new status or
/// shown to a user.
std::string MessageWithReason(const arrow::Status& status);

/// How every surface shows an error: the message with the OS reason
/// (MessageWithReason), escaped to one line (EscapeForMessage). The CLI
/// prints it after "bazof: error: ", the C API returns it, Python raises it.
std::string ErrorLine(const arrow::Status& status);

/// The status with its message escaped (same code and detail); OK unchanged.
arrow::Status OneLine(const arrow::Status& status);

/// True if `text` is valid UTF-8.
bool IsValidUtf8(std::string_view text);

/// kInvalidArgument "<what>: not valid UTF-8 (byte N)" unless `text` is valid
/// UTF-8. `what` names the argument ("--key", "column 'v' row 3").
arrow::Status CheckUtf8(std::string_view text, std::string_view what);

}  // namespace bazof
