// Type names of the format (docs/spec.md, "Types") <-> Arrow types.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace bazof::metadata {

/// Parses a format type name: string, binary, bool, int8..int64, uint8..uint64,
/// float32, float64, date, timestamp[s|ms|us|ns] (UTC), timestamp (=us),
/// decimal(p,s).
arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(std::string_view name);

/// A type as a user may type it (create --schema, alter, Python): the
/// format's names, plus Arrow's and common aliases -- float/double,
/// int (int32), long (int64), boolean, utf8/large_string/str, date32,
/// date32[day], timestamp[us, tz=UTC] (any unit; the zone must be UTC),
/// decimal128(p, s) -- case-insensitive, spaces ignored. Errors list the
/// names accepted.
arrow::Result<std::shared_ptr<arrow::DataType>> ParseUserTypeName(std::string_view name);

/// The format's name for an Arrow type; error if the type is not supported.
arrow::Result<std::string> TypeName(const arrow::DataType& type);

/// The legacy (bazof 0.1 / azof 0.2) type for a legacy name: String, Int,
/// Boolean, DateTime. Error for other names.
arrow::Result<std::shared_ptr<arrow::DataType>> ParseLegacyTypeName(std::string_view name);

/// The legacy name of a type if it has one (string, int64, bool, timestamp[ms]).
std::optional<std::string> LegacyTypeName(const arrow::DataType& type);

/// True if every value of `from` converts to `to` exactly and back (the type
/// changes schema evolution allows, docs/spec.md §12.1): a wider integer of the
/// same signedness; an unsigned integer into a strictly wider signed one;
/// float32 to float64; an integer of at most 16 bits to float32 and of at most
/// 32 bits to float64; a decimal with at least as many integer and fraction
/// digits. Equal types are not a widening.
bool IsExactWidening(const arrow::DataType& from, const arrow::DataType& to);

}  // namespace bazof::metadata
