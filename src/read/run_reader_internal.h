// Helpers shared by the run reader (run_reader.cc) and RowGroupAccess
// (row_group_access.cc); not part of any interface.
#pragma once

#include <arrow/array.h>
#include <arrow/io/caching.h>
#include <arrow/result.h>
#include <parquet/arrow/reader.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/storage.h"
#include "read/key_codec.h"
#include "read/recycling_pool.h"

namespace bazof::read::detail {

/// Object storage: column-chunk ranges of one read this close are fetched in
/// one request (RowGroupAccess::Make).
inline constexpr int64_t kObjectStoreHoleBytes = 1 << 20;

/// "data file '<name as storage describes it>': ", the start of errors about it.
std::string Quote(io::Storage& storage, const std::string& name);

/// A parquet::arrow reader of data file `name` over `metadata` (its footer),
/// reading through the recycling pool with CRC checks; `pre_buffer` false
/// streams chunks through a small buffer; leaves in `dictionary_leaves`
/// (string or binary) are read as dictionary arrays. kCorruption if it is
/// not Parquet.
arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> MakeReader(
    io::Storage& storage, const std::string& name, std::shared_ptr<parquet::FileMetaData> metadata,
    int64_t batch_size, int64_t size, bool pre_buffer = true, const arrow::io::CacheOptions* cache_options = nullptr,
    const std::vector<int>& dictionary_leaves = {});

/// `a` as type `t` (a cast when the types differ).
arrow::Result<std::shared_ptr<arrow::Array>> CastTo(const std::shared_ptr<arrow::Array>& a,
                                                    const std::shared_ptr<arrow::DataType>& t);

/// Microseconds since the epoch of a timestamp array (floored); kCorruption
/// on a null.
arrow::Status EventMicros(const arrow::Array& et, RecycledVector<int64_t>* out);

/// `in[0..n)` in `unit` as microseconds (floored) into `out` (may be `in`).
void ScaleToMicros(const int64_t* in, int64_t n, arrow::TimeUnit::type unit, int64_t* out);

/// The key bounds of a row group or page from the first key column's
/// statistics (`min`, `max` Parquet-encoded, as footers and column indexes
/// hold them; `column` the column): the first column's encoding, the upper
/// bound its PrefixSuccessor for a composite key; nullopt when they do not
/// decode. A string or binary key's bounds are the bytes themselves.
std::optional<std::pair<std::string, std::string>> StatisticsKeyBounds(const parquet::ColumnDescriptor* column,
                                                                       const std::string& min, const std::string& max,
                                                                       const KeyCodec& codec, bool composite);

}  // namespace bazof::read::detail
