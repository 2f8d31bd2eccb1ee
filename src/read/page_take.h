// Reading single rows of a column chunk through the Parquet page index: only
// the data pages that hold the rows are decompressed and decoded (docs/spec.md
// §7b, "Page-level reads").
#pragma once

#include <arrow/array.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>

#include <memory>
#include <vector>

namespace parquet {
class OffsetIndex;
class RowGroupReader;
namespace arrow {
struct SchemaField;
}
}  // namespace parquet

namespace bazof::read {

/// Whether TakeFromPages decodes a leaf whose Arrow type (as the Parquet
/// schema alone gives it, SchemaField::field) is `type`: integers, floats,
/// booleans, dates, times, timestamps, strings and binaries. Others (decimals,
/// fixed-size binaries, nested) are read by whole column chunks.
bool PageTakeSupports(const parquet::arrow::SchemaField& field);

/// How many data pages of `index` hold at least one of `rows` (row numbers in
/// the row group, ascending).
int64_t PagesHolding(const parquet::OffsetIndex& index, const std::vector<int64_t>& rows);

/// Rows `rows` (in the row group, ascending, distinct, each < `row_group_rows`)
/// of leaf `field` of `row_group`, in that order, as an array of the field's
/// Arrow type. `index` is the leaf's offset index in that row group: data pages
/// holding none of the rows are skipped unread (their bytes are neither
/// decompressed nor checksummed); a dictionary page is always decoded. Errors:
/// kIOError as Parquet reports them (the caller adds the file and, for a page
/// failing its CRC, makes them kCorruption); an offset index that disagrees
/// with the pages is kCorruption. Parquet exceptions do not escape.
arrow::Result<std::shared_ptr<arrow::Array>> TakeFromPages(parquet::RowGroupReader& row_group,
                                                           const parquet::arrow::SchemaField& field,
                                                           const parquet::OffsetIndex& index,
                                                           int64_t row_group_rows,
                                                           const std::vector<int64_t>& rows,
                                                           arrow::MemoryPool* pool);

}  // namespace bazof::read
