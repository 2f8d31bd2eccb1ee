// Table properties bazof defines (docs/spec.md §4a), and the value grammars
// shared by properties and CLI flags: durations ("30d") and byte sizes
// ("128MiB").
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bazof::metadata {

/// "<integer><unit>" with unit us, ms, s, m, h, d, w or y (365 d); > 0. Returns
/// microseconds. kInvalidArgument names `what` and the text.
arrow::Result<int64_t> ParseDuration(const std::string& text, const std::string& what);

/// ParseDuration, or 0 for a zero ("0", "0s", "0h", ...): vacuum's grace.
arrow::Result<int64_t> ParseDurationOrZero(const std::string& text, const std::string& what);

/// Formats microseconds in the largest unit that divides them ("30d").
std::string FormatDuration(int64_t micros);

/// "<integer>[unit]" with unit B, KB, MB, GB (powers of 1000) or KiB, MiB,
/// GiB (powers of 1024); no unit = bytes; > 0.
arrow::Result<int64_t> ParseByteSize(const std::string& text, const std::string& what);

/// A property bazof knows: its name, default value and meaning.
struct KnownProperty {
  const char* name;
  const char* default_value;
  const char* description;
};

/// Every property bazof defines, in documentation order.
const std::vector<KnownProperty>& KnownProperties();

/// Checks a property assignment: names are dotted lower case
/// ([a-z0-9_] parts separated by '.'); a known name's value must parse.
/// Unknown names are allowed (kept for other tools).
arrow::Status ValidateProperty(const std::string& name, const std::string& value);

/// The compaction policy of a table, from its properties (defaults for the
/// names not set).
struct CompactionPolicy {
  int64_t segment_duration_us = 0;  ///< compaction.segment_duration; 0 = auto
  int64_t min_segment_rows = 0;     ///< compaction.min_segment_rows (auto layout)
  int64_t target_file_bytes = 0;    ///< compaction.target_file_size
  int64_t max_deltas = 0;           ///< compaction.max_deltas
  double max_read_amplification = 0;  ///< compaction.max_read_amplification
  bool auto_compact = false;        ///< compaction.auto
};

/// kCorruption if a stored property value does not parse.
arrow::Result<CompactionPolicy> PolicyFromProperties(const std::map<std::string, std::string>& properties);

/// Rows per Parquet row group of the files compaction writes (bases and
/// deltas) when write.row_group_rows is auto (at most: the memory budget may
/// allow fewer). Whole reads decode large groups in about half the CPU of
/// 4096-row ones; keyed reads and scan partitions still decode by page
/// (docs/spec.md §7b; bench/results/RESULTS.md).
inline constexpr int64_t kCompactedRowGroupRows = 64 * 1024;
/// The same for the files appends, puts and deletes write.
inline constexpr int64_t kAppendedRowGroupRows = 128 * 1024;
/// Largest value write.row_group_rows accepts.
inline constexpr int64_t kMaxRowGroupRows = 64 * 1024 * 1024;

/// write.row_group_rows, write.page_rows or write.page_bytes as stored:
/// nullopt when the property is unset or auto, else its value (rows, or
/// bytes). kCorruption if the stored value does not parse; `name` must be one
/// of the three.
arrow::Result<std::optional<int64_t>> StoredWriteSize(const std::map<std::string, std::string>& properties,
                                                     const std::string& name);

/// Rows per row group for a data file written under `properties`: the
/// write.row_group_rows property when set to a number, else `auto_rows` (the
/// default of the kind of file being written). kCorruption if the stored value
/// does not parse.
arrow::Result<int64_t> RowGroupRows(const std::map<std::string, std::string>& properties, int64_t auto_rows);

/// Data page size of appended (and put, deleted) files when write.page_bytes
/// is auto. Every file a merge reads holds a decoded page per column, so this
/// sets the read side's floor of a scan or compaction over many deltas; chosen
/// by measurement (bench/results/RESULTS.md, "Page size").
inline constexpr int64_t kAppendedPageBytes = 128 * 1024;
/// Smallest and largest value write.page_bytes accepts.
inline constexpr int64_t kMinPageBytes = 4 * 1024;
inline constexpr int64_t kMaxPageBytes = 64 * 1024 * 1024;

/// Most rows per data page in the files compaction writes when
/// write.page_rows is auto: a keyed read or as-of join decodes only the pages
/// holding its rows (the page index), so small pages bound what it decodes
/// per row group; chosen by measurement (bench/results/RESULTS.md, "Page-level
/// reads").
inline constexpr int64_t kCompactedPageRows = 512;
/// Parquet's default (appended files when write.page_rows is auto).
inline constexpr int64_t kDefaultPageRows = 20000;
/// Largest value write.page_rows accepts.
inline constexpr int64_t kMaxPageRows = 1024 * 1024;

/// Most rows per data page of a file written under `properties`:
/// write.page_rows when set to a number, else `auto_rows`. kCorruption if the
/// stored value does not parse.
arrow::Result<int64_t> PageRows(const std::map<std::string, std::string>& properties, int64_t auto_rows);

/// The data page size of a file written under `properties`: write.page_bytes
/// when set to a byte size, else `auto_bytes`. kCorruption if the stored value
/// does not parse.
arrow::Result<int64_t> PageBytes(const std::map<std::string, std::string>& properties, int64_t auto_bytes);

}  // namespace bazof::metadata
