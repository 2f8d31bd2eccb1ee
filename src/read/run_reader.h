// Reading one data file of a scan as a "run": batches sorted by
// (key, event_time), with keys encoded and event times in microseconds.
#pragma once

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bazof/snapshot.h"
#include "io/storage.h"
#include "planning/planner.h"
#include "read/key_codec.h"

namespace parquet {
class FileMetaData;
class ParquetFileReader;
}

namespace bazof::read {

class FooterCache;
class PageBytes;

/// What every run of a scan shares: the table's schema, the output columns and
/// the key codec.
struct ScanShape {
  TableSchema schema;
  std::vector<int> value_columns;  ///< indices into schema.value_columns, output order
  std::shared_ptr<arrow::Schema> output_schema;  ///< keys, event_time, values
  KeyCodec codec;
  bool match_by_id = false;  ///< format 1: value columns matched by field id when present
};

/// The shape of a scan of `snapshot` returning the value columns at
/// `value_columns` (indices into its schema's value columns, in output order).
arrow::Result<std::shared_ptr<const ScanShape>> MakeScanShape(const Snapshot& snapshot,
                                                             std::vector<int> value_columns);

/// A data file opened once per scan (footer read, columns resolved, row-group
/// key bounds decoded); shared by the key-range partitions.
struct OpenedFile {
  planning::PlannedFile planned;
  std::shared_ptr<parquet::FileMetaData> metadata;
  std::vector<int> key_leaves;    ///< Parquet leaf index per key column
  int event_time_leaf = -1;
  int deleted_leaf = -1;          ///< -1: no tombstones in this file
  int version_leaf = -1;          ///< -1: no per-row versions (all rows: the file's)
  std::vector<int> value_leaves;  ///< per output value column; -1 = absent (nulls)
  /// Per row group: encoded [min, max] key bounds, when statistics allow.
  /// Composite keys: bounds of the first column's encoding (a prefix), the
  /// upper one its PrefixSuccessor; both still bound every key of the group.
  std::vector<std::optional<std::pair<std::string, std::string>>> row_group_bounds;
  int64_t num_rows = 0;
  /// The data pages of row group `rg`'s event-time chunk by the footer's
  /// encoding stats (no page index read); 2 when unrecorded.
  int64_t DataPages(int rg) const;
};

/// Opens and validates a data file: Parquet footer, key and event-time columns.
/// Errors name the file (kNotFound, kCorruption).
arrow::Result<std::shared_ptr<OpenedFile>> OpenDataFile(io::Storage& storage,
                                                        const planning::PlannedFile& planned,
                                                        const ScanShape& shape);

/// The same, taking the footer from `cache` when it holds it (no read) and
/// adding it otherwise. `cache` may be null.
arrow::Result<std::shared_ptr<OpenedFile>> OpenDataFile(io::Storage& storage,
                                                        const planning::PlannedFile& planned,
                                                        const ScanShape& shape, FooterCache* cache);

/// The smallest byte string greater than every string that starts with
/// `prefix`; nullopt when there is none (prefix empty or all 0xFF).
std::optional<std::string> PrefixSuccessor(std::string prefix);

/// One batch of a run. `columns` are in output order and output types.
/// Always owned by a shared_ptr (the merge hands out references to it).
struct RunBatch : std::enable_shared_from_this<RunBatch> {
  std::shared_ptr<arrow::RecordBatch> batch;
  KeyCodes keys;
  RecycledVector<int64_t> event_micros;
  std::shared_ptr<arrow::Array> deleted;  ///< BooleanArray or null
  std::shared_ptr<arrow::Array> versions;  ///< Int64Array of _bazof_version, or null
  int64_t file_version = 0;                ///< the file's recorded version
  int64_t begin = 0, end = 0;              ///< rows of this run in [begin, end)
  bool IsDeleted(int64_t row) const {
    return deleted && static_cast<const arrow::BooleanArray&>(*deleted).Value(row);
  }
  /// The version that committed the row's event.
  int64_t VersionOf(int64_t row) const {
    return versions ? static_cast<const arrow::Int64Array&>(*versions).Value(row) : file_version;
  }
};

/// Restriction of a run to part of the key space.
struct KeyBounds {
  std::optional<std::string> lower;  ///< inclusive, encoded
  std::optional<std::string> upper;  ///< exclusive, encoded
  std::vector<std::string> key_in;   ///< sorted encoded keys; empty = all

  /// Whether the encoded `key` lies within the bounds (and is listed, when
  /// key_in lists keys).
  bool Holds(std::string_view key) const {
    if (lower && key < std::string_view(*lower)) return false;
    if (upper && key >= std::string_view(*upper)) return false;
    return key_in.empty() || std::binary_search(key_in.begin(), key_in.end(), key, std::less<>());
  }
  /// Whether the encoded keys [lo, hi] (inclusive: a row group's or a
  /// file's range) may hold a key within the bounds.
  bool Meets(std::string_view lo, std::string_view hi) const {
    if (lower && hi < std::string_view(*lower)) return false;
    if (upper && lo >= std::string_view(*upper)) return false;
    if (!key_in.empty()) {
      auto it = std::lower_bound(key_in.begin(), key_in.end(), lo, std::less<>());
      if (it == key_in.end() || std::string_view(*it) > hi) return false;
    }
    return true;
  }
};

/// Smallest row group a run whose key range starts or ends inside it (a scan
/// partition's split point) reads page by page; a smaller one is read whole
/// by both sides: decoding its other part costs less than setting up page
/// reads (W1's 4096-row groups: as-of scans 3-7% more CPU with them).
inline constexpr int64_t kMinPagedStraddleRows = 16384;

/// Row groups the runs of scans (and of intervals, compaction) have read page
/// by page, keeping only the pages that may hold their keys, since the
/// process started: for tests and profiles.
int64_t RowGroupsReadByPages();

/// Whether the file's recorded key range [min_key, max_key] (metadata only, no
/// footer read) may hold a key of `bounds`. True when the range is not
/// recorded.
bool MayHoldKeys(const DataFileRef& ref, const KeyCodec& codec, const KeyBounds& bounds);

/// Streams the rows of one file within `bounds`, sorted by (key, event_time).
/// `pre_buffer`: read each row group's column chunks at once (few reads; a
/// row group of compressed bytes held per run); false streams them through
/// a small buffer, page by page (a memory budget too small for the former).
class RunSource {
 public:
  static arrow::Result<std::unique_ptr<RunSource>> Make(io::Storage& storage,
                                                        std::shared_ptr<OpenedFile> file,
                                                        const ScanShape& shape,
                                                        const KeyBounds& bounds,
                                                        int64_t batch_size, bool pre_buffer = true);
  virtual ~RunSource() = default;
  /// Next batch with at least one row, or nullptr at the end.
  virtual arrow::Result<std::shared_ptr<RunBatch>> Next() = 0;
  virtual int64_t rank() const = 0;
  virtual const std::string& name() const = 0;
};

}  // namespace bazof::read

namespace bazof::read {

/// Random access to the row groups of one opened, sorted data file, for reads
/// that first locate rows by key and event time and then decode the value
/// columns only of the row groups where rows were picked (the as-of join).
/// Not thread-safe: one thread at a time per object.
class RowGroupAccess {
 public:
  static arrow::Result<std::unique_ptr<RowGroupAccess>> Make(io::Storage& storage,
                                                             std::shared_ptr<OpenedFile> file,
                                                             const ScanShape& shape);
  ~RowGroupAccess();
  /// Row groups whose key statistics admit a key of `key_in` (sorted,
  /// encoded), ascending.
  std::vector<int> RowGroupsFor(const std::vector<std::string>& key_in) const;
  /// The first row of row group `rg` in the file (rows counted across row
  /// groups, file order); `rg` = the number of row groups gives the file's
  /// rows.
  int64_t RowGroupStart(int rg) const;
  /// `row_groups` (ascending) cut into consecutive calls of at most
  /// `max_rows` rows each (a row group larger than that alone).
  std::vector<std::vector<int>> Batches(const std::vector<int>& row_groups, int64_t max_rows) const;
  /// Row groups `rgs` (ascending, not necessarily adjacent) whole, keys and
  /// event times only (`keys`, `event_micros`; `batch` holds the key
  /// columns, the views point into it), their rows concatenated in order;
  /// [begin, end) is every row. One call pre-buffers all their column
  /// chunks: the key and event-time columns are the file's first two, so
  /// each row group's are one range, and on high-latency storage
  /// (io::Storage::high_latency) nearby ranges merge into one request.
  arrow::Result<std::shared_ptr<RunBatch>> ReadKeys(const std::vector<int>& rgs);
  /// The key side of some rows of a sorted file as runs of equal keys: run r
  /// is rows [starts[r], starts[r + 1]) of the call, all of key keys[r], the
  /// first of them file row file_rows[r] and the others the next file rows.
  /// One key may span adjacent runs (runs split where row groups do).
  struct KeyRuns {
    std::vector<std::string_view> keys;  ///< per run, encoded; point into `hold` / `codes`
    std::vector<int64_t> starts;         ///< per run its first row; then the rows
    std::vector<int64_t> file_rows;      ///< per run its first row's file row
    RecycledVector<int64_t> event_micros;  ///< per row
    std::vector<KeyCodes> codes;         ///< the encodings the views point into
    arrow::ArrayVector hold;             ///< the arrays the views point into
    void Clear();
    /// Appends the runs of rows [0, n) of `views` (per-row encoded keys)
    /// whose file rows are `file_row(i)`: a run ends where the key changes or
    /// the file rows stop being consecutive.
    template <typename FileRow>
    void AddRows(std::span<const std::string_view> views, int64_t n, FileRow&& file_row);
  };
  /// Row groups `rgs` (as ReadKeys reads them) as runs, filling `out` (its
  /// buffers are reused from call to call). A single string or binary key is
  /// read as the column chunks' dictionary indices (each dictionary entry is
  /// encoded once and no key string is copied), or, when plain, by Parquet's
  /// column readers (ReadPlainKeyRuns: each run's key copied once).
  arrow::Status ReadKeyRuns(const std::vector<int>& rgs, KeyRuns* out);
  /// The same as ReadKeys for the rows of `rgs` that may hold a key of
  /// `key_in` (sorted, encoded), decoding only the data pages whose key range
  /// (the key column's page index: min/max per page) admits one: whole pages,
  /// so every row of such a key is there, in file order. `file_rows[i]` is
  /// batch row i's file row (as RowGroupStart counts). Returns nullptr when
  /// that would not pay (no page index, or half the pages or more needed):
  /// then ReadKeys reads the row groups whole.
  arrow::Result<std::shared_ptr<RunBatch>> ReadKeyPages(const std::vector<int>& rgs,
                                                        const std::vector<std::string>& key_in,
                                                        std::vector<int64_t>* file_rows);
  /// The rows of row group `rg` (ascending, local to it) in the data pages
  /// whose key range (the first key column's page index) may hold a key of
  /// `bounds`: whole pages, in file order. nullopt when the row group is
  /// better read whole: one data page, no page index, a leaf of `leaves`
  /// page reads do not decode, or more than three quarters of the pages
  /// kept.
  std::optional<std::vector<int64_t>> PageRowsWithin(int rg, const KeyBounds& bounds, const std::vector<int>& leaves);
  /// The first key of each data page of row group `rg` (encoded as the row
  /// groups' bounds; nullopt for a page whose key is unknown or all null),
  /// from the page index; nullopt when there is none usable for `leaves`.
  std::optional<std::vector<std::optional<std::string>>> PageKeys(int rg, const std::vector<int>& leaves);
  /// Whether ReadPageRows can read row group `rg`'s leaves `leaves`: the
  /// checks of PageKeys, without decoding any page's key bounds.
  bool CanReadPages(int rg, const std::vector<int>& leaves);
  /// Rows `local` of row group `rg` (PageRowsWithin's), leaves `leaves`,
  /// decoding only their pages: a batch whose columns are named as the
  /// file's and typed as its Parquet schema gives them (cast as needed).
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReadPageRows(int rg, const std::vector<int64_t>& local,
                                                                  const std::vector<int>& leaves);
  /// Rows picked from the file.
  struct Taken {
    /// Event time and value columns (ScanShape::output_schema after the
    /// keys, output types), one row per requested row.
    arrow::ArrayVector columns;
    /// BooleanArray of the rows' tombstone flags, or null (none in the file).
    std::shared_ptr<arrow::Array> deleted;
    /// Int64Array of the rows' versions (_bazof_version), or null (not asked
    /// for, or the file records none: every row is the file's version).
    std::shared_ptr<arrow::Array> versions;
  };
  /// Rows `rows` of the file (file row numbers as RowGroupStart counts them;
  /// ascending, distinct): their event time, values and tombstone flags.
  /// Only the row groups holding them are decoded, read in calls of at most
  /// `max_rows` rows of row groups (each call's ranges pre-buffered together).
  /// `with_versions`: their versions too (Taken::versions). Without
  /// `with_event_time` the event-time column is not read (columns[0] null).
  arrow::Result<Taken> TakeValues(const std::vector<int64_t>& rows, int64_t max_rows, bool with_versions = false,
                                  bool with_event_time = true);
  /// Receives one column's rows of a TakeValues call in pieces: rows
  /// `rows[first + j]` for j in [0, k) are row `indices[j]` of `source` (row
  /// j when `indices` is null). `column` is 0 for the event time, 1 + i for
  /// value column i (ScanShape::value_columns order), -1 for the tombstone
  /// flags. `source` is of the column's output type, or a dictionary array
  /// whose values are (a chunk as read, not copied); tombstone pieces are
  /// always taken (indices null). Pieces of one column arrive in the order of
  /// `rows`; no piece arrives for a value column the file lacks.
  using ValueSink = std::function<arrow::Status(int column, const std::shared_ptr<arrow::Array>& source,
                                                const int64_t* indices, int64_t k, int64_t first)>;
  /// TakeValues without gathering: every piece goes to `sink` (called on
  /// this thread), so a caller can copy the rows straight to where it wants
  /// them. Versions are not read.
  arrow::Status TakeValuesInto(const std::vector<int64_t>& rows, int64_t max_rows, bool with_event_time,
                               const ValueSink& sink);
  /// Whether the event times ReadKeyRuns / ReadKeyPages gave as micros are
  /// the event-time column's values exactly: the file's column was read as
  /// the table's type, timestamp[us] (false before either was called).
  bool event_micros_exact() const;
  const OpenedFile& file() const { return *file_; }
  /// Row groups TakeValues has read page by page so far (the others it read
  /// whole): for tests and profiles.
  int64_t row_groups_read_by_pages() const;

 private:
  RowGroupAccess(io::Storage& storage, std::shared_ptr<OpenedFile> file, const ScanShape& shape);
  arrow::Result<Taken> Take(const std::vector<int64_t>& rows, int64_t max_rows, bool with_versions,
                            bool with_event_time, const ValueSink* sink);
  arrow::Result<std::shared_ptr<arrow::Table>> Read(const std::vector<int>& rgs, const std::vector<int>& leaves);
  /// ReadKeyRuns for a single string or binary key column not dictionary
  /// encoded and an INT64 event time (ms, us or ns): the pages decoded by
  /// Parquet's column readers, each run's key copied once. false (nothing
  /// read) for other files.
  arrow::Result<bool> ReadPlainKeyRuns(const std::vector<int>& rgs, KeyRuns* out);
  std::string Where(const std::vector<int>& rgs) const;
  /// Per row group of `groups` (ascending, holding `rows`): whether its rows
  /// are read page by page (the chunks have a page index, the rows are in
  /// at most half of the event-time column's pages, every leaf's type is
  /// one page reads decode) rather than whole.
  std::vector<uint8_t> PageRouted(const std::vector<int>& groups, const std::vector<int64_t>& rows,
                                  const std::vector<int>& leaves);
  /// Makes the schema manifest and page index reader (once); false when the
  /// file has none.
  bool EnsurePageIndex();
  /// The bytes of the pages of `leaves` that page-level reads of `picks`
  /// (row group, its rows: ascending, local to it) decode (PageRanges), read
  /// in few requests: ranges close together merge (locally a few KiB apart,
  /// on high-latency storage up to kObjectStoreHoleBytes).
  arrow::Result<PageBytes> FetchPages(const std::vector<std::pair<int, const std::vector<int64_t>*>>& picks,
                                      const std::vector<int>& leaves);
  /// Rows `local` (ascending, of row group `rg`) of leaf `leaf`, decoding
  /// only the data pages that hold them, from `bytes` (FetchPages).
  arrow::Result<std::shared_ptr<arrow::Array>> TakePageRows(const PageBytes& bytes, int rg, int leaf,
                                                            const std::vector<int64_t>& local);
  /// A data page's rows [begin, end) in its row group and its key range as
  /// the row groups' (unknown: may hold any key; empty: all null).
  struct PageRange {
    int64_t begin = 0, end = 0;
    std::optional<std::pair<std::string, std::string>> keys;
    bool empty = false;
  };
  /// The pages of `rg` with their key ranges (without them unless
  /// `with_keys`), from the page index; false when there is none usable or
  /// a leaf of `leaves` has no offset index or a type page reads do not
  /// decode.
  bool PageKeyRanges(int rg, const std::vector<int>& leaves, std::vector<PageRange>* out, bool with_keys = true);
  /// Appends to `local` the rows of the pages for which `meets(lo, hi)`
  /// (or whose range is unknown); returns how many pages that is.
  template <typename Meets>
  static int64_t KeptRows(const std::vector<PageRange>& pages, Meets&& meets, std::vector<int64_t>* local);
  struct Impl;
  io::Storage& storage_;
  std::shared_ptr<OpenedFile> file_;
  const ScanShape& shape_;
  std::unique_ptr<Impl> impl_;
};

template <typename FileRow>
void RowGroupAccess::KeyRuns::AddRows(std::span<const std::string_view> views, int64_t n, FileRow&& file_row) {
  const int64_t base = starts.empty() ? 0 : starts.back();
  if (!starts.empty()) starts.pop_back();
  int64_t previous = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t fr = file_row(i);  // called once per row, in order
    if (i == 0 || views[i] != views[i - 1] || fr != previous + 1) {
      keys.push_back(views[i]);
      starts.push_back(base + i);
      file_rows.push_back(fr);
    }
    previous = fr;
  }
  starts.push_back(base + n);
}

}  // namespace bazof::read
