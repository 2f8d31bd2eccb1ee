// Scan filters (ScanOptions::filter): which keys an Arrow expression lets
// through, so that the scan reads only those, and the exact row filter
// applied to the merged result.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "read/key_codec.h"

namespace bazof::read {

/// Key restrictions implied by a filter, encoded by the scan's KeyCodec.
/// They are a superset of what the filter allows: exclusive bounds become
/// inclusive ones and parts not understood are ignored.
struct KeyConstraints {
  std::optional<std::vector<std::string>> key_in;  ///< sorted, unique; nullopt = any key
  std::optional<std::string> lower;                ///< inclusive
  std::optional<std::string> upper;                ///< inclusive
};

/// Derives KeyConstraints from the top-level conjunction of `filter`:
/// comparisons (==, <, <=, >, >=, either side) and is_in of the single key
/// column `key` with literals that convert losslessly to the key's type.
KeyConstraints DeriveKeyConstraints(const arrow::compute::Expression& filter, const std::string& key,
                                    const KeyCodec& codec);

/// The same for a key of any number of columns `keys` (in key order):
/// composite keys are bounded by comparisons of their first column (as
/// prefixes) and, when every key column is compared equal to a literal, by
/// that one key.
KeyConstraints DeriveKeyConstraints(const arrow::compute::Expression& filter, const std::vector<std::string>& keys,
                                    const KeyCodec& codec);

/// The encoded key range [lower, upper) (upper exclusive; nullopt =
/// unbounded) that `c` allows, a key list counting for its first and last
/// key: what a read plans when it cannot seek per listed key.
std::pair<std::optional<std::string>, std::optional<std::string>> EncodedRange(const KeyConstraints& c);

/// Narrows the encoded range [*lower, *upper) (upper exclusive; nullopt =
/// unbounded) to [to_lower, to_upper).
void NarrowRange(std::optional<std::string>* lower, std::optional<std::string>* upper,
                 const std::optional<std::string>& to_lower, const std::optional<std::string>& to_upper);

/// Wraps `input`: keeps the rows for which `bound_filter` (bound to input's
/// schema) is true, then the first output_schema->num_fields() columns.
/// Batches left empty are skipped.
std::shared_ptr<arrow::RecordBatchReader> MakeFilterReader(std::shared_ptr<arrow::RecordBatchReader> input,
                                                           arrow::compute::Expression bound_filter,
                                                           std::shared_ptr<arrow::Schema> output_schema);

}  // namespace bazof::read
