// Reading single rows of a column chunk through the Parquet page index: only
// the bytes of the data pages that hold the rows (and the chunk's dictionary
// page) are read, decompressed and decoded (docs/spec.md §7b, "Page-level
// reads").
#pragma once

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>

#include <memory>
#include <vector>

namespace parquet {
class ColumnChunkMetaData;
class OffsetIndex;
class ReaderProperties;
class RowGroupMetaData;
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

/// The byte ranges in the file that TakeFromPages reads for `rows` (in the
/// row group, ascending) of column chunk `chunk`, whose offset index is
/// `index`: the dictionary page if the chunk has one (from its offset to the
/// first data page), then each data page holding a row (header included), in
/// file order. kCorruption when the index and the chunk's metadata do not
/// describe ascending, disjoint pages of a chunk of `row_group_rows` rows.
arrow::Result<std::vector<arrow::io::ReadRange>> PageRanges(const parquet::ColumnChunkMetaData& chunk,
                                                            const parquet::OffsetIndex& index,
                                                            int64_t row_group_rows,
                                                            const std::vector<int64_t>& rows);

/// Bytes of one file read in few requests: the requested ranges, merged where
/// at most `hole` bytes apart (reading the bytes between them: a request on
/// object storage costs about as much as a MiB). Immutable once read; a
/// slice stays valid after the PageBytes is gone.
class PageBytes {
 public:
  /// Reads `ranges` (any order, may overlap) of `file`. kCorruption if the
  /// file ends before a range does; the file's errors otherwise.
  static arrow::Result<PageBytes> Read(arrow::io::RandomAccessFile& file, std::vector<arrow::io::ReadRange> ranges,
                                       int64_t hole);
  /// The bytes of `range`, which lies inside one of the ranges read (a
  /// zero-copy slice); kIndexError otherwise.
  arrow::Result<std::shared_ptr<arrow::Buffer>> Slice(const arrow::io::ReadRange& range) const;
  /// Requests Read made (merged ranges).
  int64_t requests() const { return static_cast<int64_t>(reads_.size()); }

 private:
  struct Piece {
    int64_t offset;
    std::shared_ptr<arrow::Buffer> bytes;
  };
  std::vector<Piece> reads_;  // ascending, disjoint
};

/// Rows `rows` (in the row group, ascending, distinct) of leaf `field` of row
/// group `row_group`, in that order, as an array of the field's Arrow type.
/// `index` is the leaf's offset index in that row group; `bytes` holds (at
/// least) the leaf's PageRanges for `rows`: data pages holding none of the
/// rows are neither read nor decoded; a dictionary page always is.
/// `properties` give the CRC check (a page failing it is an error) and the
/// pool. Errors: kIOError as Parquet reports them (the caller adds the file
/// and, for a page failing its CRC, makes them kCorruption); an offset index
/// that disagrees with the pages is kCorruption. Parquet exceptions do not
/// escape.
arrow::Result<std::shared_ptr<arrow::Array>> TakeFromPages(const parquet::RowGroupMetaData& row_group,
                                                           const parquet::arrow::SchemaField& field,
                                                           const parquet::OffsetIndex& index,
                                                           const std::vector<int64_t>& rows, const PageBytes& bytes,
                                                           const parquet::ReaderProperties& properties);

}  // namespace bazof::read
