// What a data file really holds, for validation: its Parquet footer (size,
// rows, columns, statistics) and, read in full, its rows.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bazof/snapshot.h"
#include "io/storage.h"

namespace parquet {
class FileMetaData;
}

namespace bazof::maintenance {

/// A data file's footer.
struct FileFooter {
  arrow::Status status;  ///< not OK: missing (kNotFound), not Parquet (kCorruption), unreadable
  int64_t size = -1;     ///< bytes
  int64_t rows = -1;
  std::shared_ptr<arrow::Schema> schema;  ///< as Arrow reads the file
  std::shared_ptr<parquet::FileMetaData> metadata;
  std::vector<int> leaves;  ///< per top-level field of `schema`: its Parquet leaf, -1 if nested
  /// The footer records page CRCs (metadata/page_checksums.h); false for
  /// files written without them, whose pages cannot be verified.
  bool page_checksums = false;
};

/// Opens `name` and reads its footer. Never fails: problems go to `status`.
FileFooter ReadFooter(io::Storage& storage, const std::string& name);

/// Every way the file's columns disagree with `schema` (docs/spec.md §6):
/// a missing or nested key / event-time column, a type that does not convert
/// to the table's, a non-boolean `_bazof_deleted`, a non-int64 `_bazof_version`. Value columns are matched
/// by field id when `match_by_id` and the file has ids, else by name; a
/// missing value column is fine (it reads as null).
std::vector<std::string> SchemaProblems(const FileFooter& footer, const TableSchema& schema,
                                        bool match_by_id);

/// Ranges and null counts from the Parquet column statistics.
struct FooterStats {
  /// Event-time [min, max] in microseconds, if every row group has statistics.
  std::optional<std::pair<int64_t, int64_t>> event_micros;
  /// [min, max] of the first key column (cast to its type), likewise.
  std::optional<std::pair<std::shared_ptr<arrow::Scalar>, std::shared_ptr<arrow::Scalar>>> first_key;
  int64_t null_keys = 0;         ///< nulls counted by statistics in key columns
  int64_t null_event_times = 0;  ///< same for the event-time column
  int64_t null_versions = 0;     ///< same for `_bazof_version`
};

/// Reads the statistics of a footer whose schema passed SchemaProblems.
FooterStats ReadFooterStats(const FileFooter& footer, const TableSchema& schema);

/// What the rows of a file hold, read in file order.
struct RowFacts {
  arrow::Status status;  ///< not OK: the rows could not be read (null key, ...)
  int64_t rows = 0;
  int64_t tombstones = 0;
  std::optional<int64_t> min_event_micros, max_event_micros;
  std::string min_key_code, max_key_code;  ///< encoded (memcmp order = key order)
  KeyValue min_key, max_key;
  int64_t first_unsorted_row = -1;       ///< first row before its predecessor in (key, event_time)
  int64_t first_repeated_key_row = -1;   ///< first row with its predecessor's key
};

/// Reads every row of `name` (key, event time and tombstone columns only),
/// with `snapshot`'s key and event-time columns. Memory: one batch.
RowFacts ReadRows(io::Storage& storage, const std::string& name, const Snapshot& snapshot);

/// Decodes every page of every column chunk of `name` (all columns, every
/// row group), verifying page CRCs where the file has them. OK, or
/// kCorruption naming the row group and column of the first bad page (a CRC
/// mismatch, an undecodable page), or the storage's error. Memory: one column
/// chunk.
arrow::Status DecodeAllPages(io::Storage& storage, const std::string& name, int64_t size = -1);

/// A key as text: "k1" for one column, "(a, 3)" for several.
std::string KeyText(const KeyValue& key);

}  // namespace bazof::maintenance
