// Writing bazof tables: create, append, put/delete. Each write is one atomic
// commit (docs/spec.md, "Commit protocol").
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bazof/progress.h"
#include "bazof/snapshot.h"
#include "bazof/table.h"

namespace bazof {

/// Parses a schema like "symbol:string,price:decimal(18,4),ts:timestamp". Key
/// and event-time columns may be listed (with their types) or are added:
/// keys as string, the event time as timestamp[ms]. Column ids are assigned
/// in order. kInvalidArgument names the offending entry.
arrow::Result<TableSchema> ParseSchemaSpec(const std::string& spec,
                                           const std::vector<std::string>& key_columns = {"key"},
                                           const std::string& event_time_column = "event_time");

/// The same from an Arrow schema (the Python API's create_table): every
/// field's type must be one of the format's types (timestamps of any time
/// zone, or none, are stored as UTC); key and event-time columns may be
/// fields or are added as in ParseSchemaSpec. Messages name the parameters
/// schema / key / event_time.
arrow::Result<TableSchema> TableSchemaFromArrow(const arrow::Schema& schema,
                                                const std::vector<std::string>& key_columns = {"key"},
                                                const std::string& event_time_column = "event_time");

/// Creates a table (version 0: the schema, no data) at `location`/`name`
/// (`options` configure object storage, see storage_options.h), with the
/// table `properties` given (docs/spec.md §4a; each is checked as `alter
/// set-property` checks it: kInvalidArgument names a bad one, nothing is
/// created). kConflict if a table is already there.
arrow::Result<std::shared_ptr<Table>> CreateTable(const std::string& location,
                                                  const std::string& name,
                                                  const TableSchema& schema,
                                                  const StorageOptions& options = {},
                                                  const std::map<std::string, std::string>& properties = {});
/// Same, on a Storage (tests, other filesystems).
arrow::Result<std::shared_ptr<Table>> CreateTable(std::shared_ptr<io::Storage> storage,
                                                  const TableSchema& schema,
                                                  const std::map<std::string, std::string>& properties = {});

/// What a write did.
struct CommitResult {
  bool committed = false;  ///< false: no rows, nothing committed
  Version version;         ///< the new version (when committed)
  int64_t rows = 0;
  int64_t files = 0;
  /// With the table property compaction.auto = true, the version the
  /// automatic compaction after this commit made (when the policy advised one).
  std::optional<Version> compacted_version;
  /// Why that automatic compaction failed (the write itself succeeded).
  std::string auto_compaction_error;
  /// Delete only: the key had no event at any time before this tombstone
  /// (committed anyway, unless PutRequest::strict). `warning` says so.
  bool key_had_no_events = false;
  std::string warning;
  /// Append: sorted runs spilled to the spill directory because the input
  /// was larger than the memory budget (0: sorted in memory), and the bytes
  /// written there (merge passes included). The spill files are gone when
  /// Append returns.
  int64_t spilled_runs = 0;
  int64_t spilled_bytes = 0;
  /// Append: merge passes over the spilled runs (0: none spilled; 1: the
  /// runs were merged straight into the table's files).
  int64_t merge_passes = 0;
  /// Append: the budget it ran under, and the peak of Arrow's default memory
  /// pool in the process when it returned (PeakMemoryBytes, docs/spec.md §22:
  /// the whole process's peak, so an earlier larger operation shows here).
  /// 0 for put and delete.
  int64_t memory_limit_bytes = 0;
  int64_t peak_memory_bytes = 0;
};

struct AppendOptions {
  /// Recorded in the snapshot's commit.operation.
  std::string operation = "append";
  /// Names the input in error messages (a file name, "--key", ...).
  std::string source = "input";
  /// Most rows per data file: the sorted input is cut into files of at most
  /// this many rows, in order (docs/spec.md §10a).
  int64_t chunk_rows = 1 << 20;
  /// Memory budget of the append in bytes: the input held for sorting. An
  /// input larger than about a quarter of it is sorted externally: sorted
  /// runs are spilled to `spill_dir` and merged (the result is the same as
  /// an in-memory sort). 0 = the table's `memory.limit` property if set,
  /// else 512 MiB. Negative, or below the minimum of every operation
  /// (32 MiB, docs/spec.md §22; the environment variable
  /// BAZOF_MEMORY_LIMIT_MINIMUM lowers it, for tests): kInvalidArgument.
  int64_t memory_limit_bytes = 0;
  /// Local directory for spilled runs (also for tables on object storage);
  /// empty = $TMPDIR, else /tmp. Spill files have no name there (O_TMPFILE)
  /// or lose it at once, so they vanish however the append ends. Running out
  /// of space there is an error naming the directory; nothing is committed.
  std::string spill_dir;
  /// Commit attempts when another writer wins the race (blind appends rebase).
  int max_attempts = 20;
  /// Advance the completeness watermark to this event time in the same
  /// commit (docs/spec.md, "Completeness watermark"); committed even when
  /// the input has no rows. kInvalidArgument if before the current one.
  std::optional<EventTime> watermark;
  /// Progress (include/bazof/progress.h): phase "append", unit "rows" (rows
  /// taken from the input, sorted and written; total unknown until the end).
  ProgressCallback progress;
};

/// Appends every row of `rows` as one commit. Columns are matched by name:
/// every key column and the event-time column are required; missing value
/// columns are null; a boolean column `_deleted` marks tombstones. Rows with
/// equal (key, event time) are all kept; the later row wins (the tie rule).
/// Zero rows: nothing is committed (result.committed == false).
arrow::Result<CommitResult> Append(const std::shared_ptr<Table>& table,
                                   arrow::RecordBatchReader& rows,
                                   const AppendOptions& options = {});

/// One event given as text, as the CLI's put/delete take it.
struct PutRequest {
  /// (column, value) per key column; for a single-column key the column may
  /// be empty.
  std::vector<std::pair<std::string, std::string>> key;
  std::string event_time;
  std::vector<std::pair<std::string, std::string>> values;
  bool deleted = false;
  /// A partial put: value columns not given are carried forward from the
  /// key's state as of event_time (see CarryForward). Without it a put must
  /// give every value column.
  bool partial = false;
  /// A delete of a key that has no event at any time (a typo?) is refused
  /// (kInvalidArgument) instead of committed with a warning.
  bool strict = false;
};

/// Commits one event (or tombstone). Values are parsed by the column types.
/// A put (not a delete) must give at least one value column, and every value
/// column unless `partial` (CheckPutValues); kInvalidArgument otherwise.
arrow::Result<CommitResult> Put(const std::shared_ptr<Table>& table, const PutRequest& request);

/// A predicate delete: which keys, and when.
struct DeleteWhereOptions {
  /// The tombstones' event time T; keys are matched by their state as of T
  /// at the current version. Must be finite.
  EventTime as_of = EventTime::Max();
  /// Keys whose state as of T this expression holds for (it may name key,
  /// event-time and value columns, as ScanOptions::filter; key comparisons
  /// prune files and row groups). nullopt = no condition beyond key_in.
  std::optional<arrow::compute::Expression> filter;
  /// Only these keys (single-column keys, as text); empty = any key. A
  /// filter or keys are required.
  std::vector<std::string> key_in;
  /// Report the matching keys; commit nothing.
  bool dry_run = false;
};

struct DeleteWhereResult {
  int64_t keys = 0;  ///< keys matched (and deleted, unless a dry run)
  /// The key column(s) of the matched keys, sorted by key.
  std::shared_ptr<arrow::Table> matched;
  /// The commit (committed == false for a dry run or when nothing matched).
  CommitResult commit;
};

/// Commits, as one version, a tombstone at `options.as_of` for every key that
/// exists as of it and whose state there matches the filter (keys already
/// absent then are not matched). The matched keys are held in memory.
/// kInvalidArgument without a filter and keys, or for a bad filter.
arrow::Result<DeleteWhereResult> DeleteWhere(const std::shared_ptr<Table>& table, const DeleteWhereOptions& options);

/// The put rule (docs/spec.md, "put"): `given` names the value columns a put
/// gives. kInvalidArgument, naming `what` and the columns, if it gives none
/// (a table without value columns excepted) or, unless `partial`, not all.
arrow::Status CheckPutValues(const TableSchema& schema, const std::vector<std::string>& given, bool partial,
                             const std::string& what);

/// True if the key of `row` (its key column(s); one row) has any event,
/// tombstones included, at any event time in the table's current version.
/// Reads only the files and row groups that may hold the key.
arrow::Result<bool> KeyHasEvents(const std::shared_ptr<Table>& table, const arrow::RecordBatch& row);

/// The warning of a delete whose key has no event (`key` as text).
std::string UnknownKeyWarning(const std::string& key);

/// A partial put's row: `row` (one row with the key column(s), the
/// event-time column, some value columns and optionally `_deleted`) with each
/// value column it lacks taken from the key's state as of the row's event
/// time at the table's current version; null where the key has no state
/// there or its state is a tombstone. Given columns are kept as they are.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> CarryForward(const std::shared_ptr<Table>& table,
                                                                const std::shared_ptr<arrow::RecordBatch>& row);

}  // namespace bazof
