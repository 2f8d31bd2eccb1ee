// Keys given as text by column: `--key K` or `--key col=value`, repeated.
#pragma once

#include <arrow/result.h>

#include <string>
#include <utility>
#include <vector>

#include "bazof/snapshot.h"

namespace bazof::metadata {

/// The text of each key column, in key-column order, from (column, value)
/// pairs. A single-column key may be given without its column (empty name).
/// kInvalidArgument for an unknown key column, a wrong count, or a key
/// column without a value; messages start with "--key".
arrow::Result<std::vector<std::string>> KeyTexts(
    const TableSchema& schema, const std::vector<std::pair<std::string, std::string>>& key);

}  // namespace bazof::metadata
