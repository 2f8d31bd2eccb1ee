// Keys as byte strings whose memcmp order is the key order.
//
// A single string/binary key column is used as is (zero copy). Integers,
// dates and timestamps become 8 big-endian bytes with the sign bit flipped;
// bools one byte. Floating-point keys are not supported (docs/spec.md §5). In
// composite keys, strings are escaped (0x00 -> 0x00 0xFF) and terminated by
// 0x00 0x00, so every column's encoding is self-delimiting: a prefix made of
// the first column alone compares correctly against full keys, which is what
// key-range splitting relies on.
#pragma once

#include <arrow/array.h>
#include <arrow/result.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bazof/snapshot.h"
#include "read/recycling_pool.h"

namespace bazof::read {

/// Encoded keys of one batch. Views point into the batch's string data (single
/// string key) or into `arena`; keep the batch alive while using them.
struct KeyCodes {
  RecycledVector<std::string_view> views;
  std::string arena;
};

class KeyCodec {
 public:
  /// Fails for key types the format does not support as keys.
  static arrow::Result<KeyCodec> Make(std::vector<std::shared_ptr<arrow::DataType>> key_types);

  /// Encodes the rows of `columns` (one array per key column, cast to the key
  /// types). Null keys are an error naming the row (caller adds the file).
  arrow::Status Encode(const std::vector<std::shared_ptr<arrow::Array>>& columns,
                       KeyCodes* out) const;

  /// Encodes one key value (one scalar per key column).
  arrow::Result<std::string> EncodeScalars(const KeyValue& key) const;

  /// Encodes a prefix made of the first column only (for key-range bounds).
  arrow::Result<std::string> EncodeFirstColumn(const arrow::Scalar& value) const;

  /// Whether the first key column is a string or binary type, whose
  /// EncodeFirstColumn EncodeFirstColumnBytes gives.
  bool FirstColumnIsBytes() const;

  /// EncodeFirstColumn of a string or binary value given as its bytes (a
  /// Parquet statistic of the first key column's BYTE_ARRAY column), without
  /// making a scalar. Only when FirstColumnIsBytes().
  std::string EncodeFirstColumnBytes(std::string_view bytes) const;

  size_t num_columns() const { return types_.size(); }
  const std::vector<std::shared_ptr<arrow::DataType>>& types() const { return types_; }

 private:
  explicit KeyCodec(std::vector<std::shared_ptr<arrow::DataType>> types)
      : types_(std::move(types)) {}
  std::vector<std::shared_ptr<arrow::DataType>> types_;
};

}  // namespace bazof::read
