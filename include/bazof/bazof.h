/* The stable C API of bazof (plain C99; usable from C, Rust, Go, Python ...).
 *
 * Handles are opaque. Data crosses as the Arrow C data interface
 * (ArrowSchema, ArrowArrayStream), so any Arrow implementation reads scans
 * and feeds appends without copies. No C++ type and no C++ exception crosses
 * this boundary.
 *
 * Errors: every function that can fail returns a bazof_code (BAZOF_OK = 0,
 * the others mirror bazof::ErrorKind) and, when `error` is not NULL, sets
 * *error to NULL on success or to a message naming the object and the
 * problem on failure. The caller frees that message with bazof_string_free.
 *
 * Thread-safety: a bazof_table may be used from several threads at once;
 * a bazof_scan_options must not be changed while another thread uses it.
 * Streams returned by this API are independent of the handle that made
 * them: they may outlive it, and each is used by one thread at a time (as
 * the Arrow C stream interface says).
 */
#ifndef BAZOF_BAZOF_H
#define BAZOF_BAZOF_H

#include <stddef.h>
#include <stdint.h>

/* Incremented whenever a declaration below changes incompatibly. */
#define BAZOF_C_API_VERSION 1

#if defined(__GNUC__)
#define BAZOF_C_EXPORT __attribute__((visibility("default")))
#else
#define BAZOF_C_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The Arrow C data and stream interfaces, as specified by Apache Arrow
 * (https://arrow.apache.org/docs/format/CDataInterface.html); the guards
 * let this header coexist with Arrow's own copy (arrow/c/abi.h). */
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream*, struct ArrowSchema* out);
  int (*get_next)(struct ArrowArrayStream*, struct ArrowArray* out);
  const char* (*get_last_error)(struct ArrowArrayStream*);
  void (*release)(struct ArrowArrayStream*);
  void* private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* ---- Errors -------------------------------------------------------------- */

/* Result of a call. The values are frozen. */
typedef int32_t bazof_code;
#define BAZOF_OK 0
#define BAZOF_NOT_FOUND 1            /* table, version, file or key column does not exist */
#define BAZOF_INVALID_ARGUMENT 2     /* the caller's input is wrong (times, columns, options) */
#define BAZOF_CORRUPTION 3           /* stored metadata or data violates the format */
#define BAZOF_CONFLICT 4             /* another writer won; retrying may help */
#define BAZOF_COMMIT_STATE_UNKNOWN 5 /* a commit may or may not have happened */
#define BAZOF_IO_ERROR 6             /* the storage failed */
#define BAZOF_INTERNAL 7             /* a bug in bazof, or out of memory */

/* BAZOF_C_API_VERSION of the library actually loaded (compare it with the
 * header's to detect a mismatched shared library). */
BAZOF_C_EXPORT int32_t bazof_c_api_version(void);

/* Stable lower-case name of a code ("ok", "not_found", ...; "unknown" for
 * values not listed above). The string is static: do not free it. */
BAZOF_C_EXPORT const char* bazof_code_name(bazof_code code);

/* Frees an error message (or any string) returned by this API. NULL is a no-op. */
BAZOF_C_EXPORT void bazof_string_free(char* s);

/* ---- Time ---------------------------------------------------------------- */

/* Parses an ISO-8601 date or timestamp as bazof does everywhere
 * ("2019-01-17" = midnight UTC, "2019-01-17T10:00:00Z", offsets like
 * "+02:00", up to 6 fractional digits) into microseconds since the Unix
 * epoch (UTC). BAZOF_INVALID_ARGUMENT if it is not one. */
BAZOF_C_EXPORT bazof_code bazof_parse_event_time(const char* text, int64_t* out_micros,
                                                 char** error);

/* ---- Tables -------------------------------------------------------------- */

/* An open table: a snapshot of its current version, refreshed by
 * bazof_table_refresh and after every write made through the handle. */
typedef struct bazof_table bazof_table;

/* Opens table `name` under `location` (a local directory, a file:// URI or an
 * s3://bucket/prefix URI); the table's root is location/name.
 * Options are `n_options` key/value pairs (keys and values may be NULL when
 * n_options is 0):
 *   "threads"     threads merging key ranges in a scan (default: cores)
 *   "batch_size"  rows per batch of a scan (default 65536)
 *   "s3.<key>"    an object-storage option for s3:// locations, <key> as in
 *                 docs/spec.md §10b: "s3.endpoint", "s3.region",
 *                 "s3.access_key_id", "s3.secret_access_key", ... (the AWS_*
 *                 environment variables apply too)
 * An unknown key or a malformed value is BAZOF_INVALID_ARGUMENT. A missing
 * location or table is BAZOF_NOT_FOUND. On success *out is a handle the
 * caller frees with bazof_table_free. */
BAZOF_C_EXPORT bazof_code bazof_table_open(const char* location, const char* name,
                                           const char* const* option_keys,
                                           const char* const* option_values, size_t n_options,
                                           bazof_table** out, char** error);

/* Creates table `name` under `location` (version 0: the schema, no data) and
 * opens it. `schema_spec` lists columns as "name:type,..." (the CLI's
 * `create --schema` grammar); `key_columns` name the key (default {"key"}
 * when n_key_columns is 0); `event_time_column` may be NULL ("event_time").
 * BAZOF_CONFLICT if a table is already there. */
BAZOF_C_EXPORT bazof_code bazof_table_create(const char* location, const char* name,
                                             const char* schema_spec,
                                             const char* const* key_columns, size_t n_key_columns,
                                             const char* event_time_column, bazof_table** out,
                                             char** error);

/* Frees a handle. Streams made from it stay valid. NULL is a no-op. */
BAZOF_C_EXPORT void bazof_table_free(bazof_table* table);

/* Re-reads the table's version pointer, so later calls see commits made by
 * other writers since the handle was opened. */
BAZOF_C_EXPORT bazof_code bazof_table_refresh(bazof_table* table, char** error);

/* The handle's current version (>= 0), or -1 if `table` is NULL. */
BAZOF_C_EXPORT int64_t bazof_table_current_version(const bazof_table* table);

/* Exports the schema scans of `version` return (version < 0: current):
 * the key column(s), the event-time column, then the value columns. Each
 * field's metadata has "bazof.role" = "key", "event_time" or "value".
 * The caller releases *out (out->release(out)). */
BAZOF_C_EXPORT bazof_code bazof_table_schema(const bazof_table* table, int64_t version,
                                             struct ArrowSchema* out, char** error);

/* Exports the table's log (what `bazof log` shows): one row per version
 * from the oldest present to the current one, with columns version (int64),
 * timestamp (utf8: the commit's wall-clock time, RFC 3339 UTC; null for
 * legacy snapshots), operation (utf8; "legacy" for legacy snapshots),
 * rows_added, files_added, files_removed (int64; null for legacy). */
BAZOF_C_EXPORT bazof_code bazof_table_log(const bazof_table* table, struct ArrowArrayStream* out,
                                          char** error);

/* ---- Scans --------------------------------------------------------------- */

/* What to read: as-of event time, version, columns, key filters. Defaults:
 * latest event time, current version, all columns, all keys, and the
 * table's "threads"/"batch_size" options. Validated by bazof_table_scan. */
typedef struct bazof_scan_options bazof_scan_options;

/* A new options object (NULL only when out of memory); free it with
 * bazof_scan_options_free. */
BAZOF_C_EXPORT bazof_scan_options* bazof_scan_options_new(void);
BAZOF_C_EXPORT void bazof_scan_options_free(bazof_scan_options* options);

/* As of event time `event_time` (text as bazof_parse_event_time takes it;
 * inclusive). NULL resets to latest. */
BAZOF_C_EXPORT bazof_code bazof_scan_options_set_as_of(bazof_scan_options* options,
                                                       const char* event_time, char** error);
/* As of event time given in microseconds since the Unix epoch (UTC). */
BAZOF_C_EXPORT bazof_code bazof_scan_options_set_as_of_micros(bazof_scan_options* options,
                                                              int64_t micros, char** error);
/* Read version `version` (>= 0) instead of the current one; a negative
 * value resets to current. A version that does not exist is reported by
 * bazof_table_scan as BAZOF_NOT_FOUND. */
BAZOF_C_EXPORT bazof_code bazof_scan_options_set_version(bazof_scan_options* options,
                                                         int64_t version, char** error);
/* Return exactly these value columns (n may be 0: keys and event time only);
 * key and event-time columns are always returned first. */
BAZOF_C_EXPORT bazof_code bazof_scan_options_set_columns(bazof_scan_options* options,
                                                         const char* const* columns, size_t n,
                                                         char** error);
/* Keep only these keys (single-column keys, as text parsed by the key's
 * type); n = 0 removes the filter. */
BAZOF_C_EXPORT bazof_code bazof_scan_options_set_key_in(bazof_scan_options* options,
                                                        const char* const* keys, size_t n,
                                                        char** error);
/* Keep only these keys, for keys of any number of columns: `values` holds
 * n_keys rows of n_columns texts (row-major: key k, column c at
 * values[k * n_columns + c]), each parsed by its column's type; `key_columns`
 * names the n_columns columns (every key column once, any order; it may be
 * NULL for a single-column key). n_keys = 0 removes the filter. Adds to
 * set_key_in. Same encoding as bazof_table_put's key_columns/key_values. */
BAZOF_C_EXPORT bazof_code bazof_scan_options_set_keys(bazof_scan_options* options,
                                                      const char* const* key_columns, size_t n_columns,
                                                      const char* const* values, size_t n_keys,
                                                      char** error);
/* Keep only keys in [min, max] (inclusive; NULL = unbounded on that side). */
BAZOF_C_EXPORT bazof_code bazof_scan_options_set_key_range(bazof_scan_options* options,
                                                           const char* min, const char* max,
                                                           char** error);
/* Rows per batch (> 0). */
BAZOF_C_EXPORT bazof_code bazof_scan_options_set_batch_size(bazof_scan_options* options,
                                                            int64_t rows, char** error);
/* Threads merging key ranges (> 0). */
BAZOF_C_EXPORT bazof_code bazof_scan_options_set_threads(bazof_scan_options* options,
                                                         int32_t threads, char** error);

/* Starts a scan (options may be NULL: defaults) and exports its result as a
 * stream: one row per key present as of the event time in the version,
 * sorted by key; columns as bazof_table_schema says, less unrequested value
 * columns. Errors found while planning (unknown column, missing version,
 * bad key text) are returned here; errors while reading come from the
 * stream's get_next, with get_last_error giving the message. The caller
 * releases *out. */
BAZOF_C_EXPORT bazof_code bazof_table_scan(const bazof_table* table,
                                           const bazof_scan_options* options,
                                           struct ArrowArrayStream* out, char** error);

/* Plans a scan without reading data: *out_files = number of data files it
 * reads; *out_max_rows = their total row count, an upper bound on the rows
 * the scan returns, or -1 when a file's row count is not recorded (legacy
 * tables). Either pointer may be NULL. */
BAZOF_C_EXPORT bazof_code bazof_table_scan_estimate(const bazof_table* table,
                                                    const bazof_scan_options* options,
                                                    int64_t* out_files, int64_t* out_max_rows,
                                                    char** error);

/* ---- As-of join ------------------------------------------------------------ */

/* The as-of (point-in-time) join (docs/spec.md, "As-of join"): for every row
 * of `spine`, in spine order, the spine's columns followed by the table's
 * event-time column (the matched event's time) and value columns as of that
 * row's time `on` (a timestamp of any unit or zone, or a date = midnight
 * UTC). `by`/`n_by` name the spine's key columns in table key order (n_by = 0:
 * the table's key column names). Rows with a null key or time, no event at or
 * before their time, or a tombstone there get nulls. A table column whose
 * name a spine column already has gets the suffix "_right" (repeated until
 * unique). `options` (may be NULL) gives the version (bitemporal form:
 * "as known at version V"), value columns, batch size and threads; as-of and
 * key filters are an error. `spine` is always consumed (released) when it is
 * not NULL. The spine is read whole into memory. The caller releases *out. */
BAZOF_C_EXPORT bazof_code bazof_table_join_asof(const bazof_table* table, struct ArrowArrayStream* spine,
                                                const char* on, const char* const* by, size_t n_by,
                                                const bazof_scan_options* options,
                                                struct ArrowArrayStream* out, char** error);

/* ---- Timeline views (docs/spec.md, "Validity intervals", "Changes") ------- */

/* Validity intervals (SCD type 2): one row per key and event that is not a
 * tombstone: key column(s), valid_from (the event's time), valid_to (the
 * key's next event time, tombstones included; null while current), then the
 * value columns; sorted by key, then valid_from; same tie rules as scans.
 * Keeps the intervals overlapping [start, end) (ISO-8601 text as in
 * bazof_scan_options_set_as_of; NULL = unbounded); times are not clipped.
 * coalesce != 0 merges consecutive events whose returned values are equal.
 * `options` (may be NULL) gives the version, value columns, key filters
 * (single-column keys: key_in and key range narrow what is read), batch size
 * and threads; an as-of time is an error. The caller releases *out. */
BAZOF_C_EXPORT bazof_code bazof_table_intervals(const bazof_table* table, const char* start,
                                                const char* end, int coalesce,
                                                const bazof_scan_options* options,
                                                struct ArrowArrayStream* out, char** error);

/* The keys whose state differs between two points (event time, version):
 * the old one (from_time, from_version) and the new one (to_time,
 * to_version). Times are ISO-8601 text, inclusive (NULL = latest); versions
 * < 0 = the handle's current version. Columns: key(s), kind (utf8:
 * "insert", "update" or "delete"), old_<event time>, new_<event time>, then
 * old_<c>, new_<c> per value column; rows sorted by key; a new event with
 * equal values is no change. `options` (may be NULL) gives the value columns
 * compared, batch size and threads; as-of, version and key filters are an
 * error. The caller releases *out. */
BAZOF_C_EXPORT bazof_code bazof_table_changes(const bazof_table* table, const char* from_time,
                                              int64_t from_version, const char* to_time,
                                              int64_t to_version, const bazof_scan_options* options,
                                              struct ArrowArrayStream* out, char** error);

/* ---- Files ----------------------------------------------------------------- */

/* Writes every batch of `input` to a new local Parquet file at `path`
 * (replacing a file there; snappy, the Arrow schema stored), for clients that
 * have no Parquet writer of their own (bazof-sql's COPY ... (FORMAT parquet)).
 * `input` is always consumed (released) when it is not NULL. *out_rows (may
 * be NULL) is the number of rows written. */
BAZOF_C_EXPORT bazof_code bazof_write_parquet(struct ArrowArrayStream* input, const char* path,
                                              int64_t* out_rows, char** error);

/* ---- Writes (each is one atomic commit) ---------------------------------- */

/* After a commit the handle re-reads the table, so its next scan sees the
 * write (if that re-read fails, the write is still reported as committed
 * and bazof_table_refresh can be retried). */

/* Appends every row of `input` as one commit. Columns are matched by name:
 * every key column and the event-time column are required, missing value
 * columns are null, a boolean column "_deleted" marks tombstones. The
 * stream is consumed: this call releases it, also on error. *out_version
 * (may be NULL) is the new version, or -1 when the input had no rows and
 * nothing was committed. */
BAZOF_C_EXPORT bazof_code bazof_table_append(bazof_table* table, struct ArrowArrayStream* input,
                                             int64_t* out_version, char** error);

/* bazof_table_append with options: `n_options` key/value pairs (keys and
 * values may be NULL when n_options is 0), each key at most once:
 *   "memory_limit"  the append's memory budget, a byte size ("512MiB",
 *                   "2GiB", "1GB" = 10^9, "1048576"); default: the table
 *                   property memory.limit, else 512MiB; at least 32MiB
 *                   (docs/spec.md §22). An input larger than about a quarter
 *                   of it is sorted in runs spilled to spill_dir and merged,
 *                   with the same result as an in-memory sort.
 *   "spill_dir"     local directory for those runs (default: $TMPDIR, else
 *                   /tmp; also for tables on S3); the files have no name and
 *                   vanish when the call returns, also on error.
 * An unknown or repeated key, a malformed size or a budget below the minimum
 * is BAZOF_INVALID_ARGUMENT, before any row is read; a spill directory that
 * cannot take the runs is BAZOF_IO_ERROR naming it. Nothing is committed on
 * error. The stream is consumed as by bazof_table_append. (Added in C API
 * version 1: an addition, so the version is unchanged.) */
BAZOF_C_EXPORT bazof_code bazof_table_append_with_options(bazof_table* table, struct ArrowArrayStream* input,
                                                          const char* const* option_keys,
                                                          const char* const* option_values, size_t n_options,
                                                          int64_t* out_version, char** error);

/* Commits one event: key columns = values (text parsed by the column types;
 * for a single-column key, key_columns may be NULL or hold ""), the event
 * time as text, and value columns = values. Every value column must be
 * given (BAZOF_INVALID_ARGUMENT otherwise; see bazof_table_put_partial). */
BAZOF_C_EXPORT bazof_code bazof_table_put(bazof_table* table, const char* const* key_columns,
                                          const char* const* key_values, size_t n_key,
                                          const char* event_time,
                                          const char* const* value_columns,
                                          const char* const* values, size_t n_values,
                                          int64_t* out_version, char** error);

/* A partial put: as bazof_table_put, but the value columns not given keep
 * the key's values as of `event_time` at the latest version (null where the
 * key has no state there or is deleted). At least one value is required. */
BAZOF_C_EXPORT bazof_code bazof_table_put_partial(bazof_table* table, const char* const* key_columns,
                                                  const char* const* key_values, size_t n_key,
                                                  const char* event_time,
                                                  const char* const* value_columns,
                                                  const char* const* values, size_t n_values,
                                                  int64_t* out_version, char** error);

/* Commits a tombstone: from `event_time` on, the key does not exist. */
BAZOF_C_EXPORT bazof_code bazof_table_delete(bazof_table* table, const char* const* key_columns,
                                             const char* const* key_values, size_t n_key,
                                             const char* event_time, int64_t* out_version,
                                             char** error);

/* ---- Distribution: scan splits and staged commits ------------------------ */

/* Engines read a table in parallel by planning splits on one process and
 * reading each split anywhere, and write it by staging files on many
 * processes and committing them on one (docs/spec.md, "Scan splits" and
 * "Staged commits"). Splits and staged descriptors cross this API as JSON
 * text (UTF-8, NUL-terminated) that may be shipped between processes. */

/* Frees an array of n strings returned by this API (and the strings). */
BAZOF_C_EXPORT void bazof_strings_free(char** strings, size_t n);

/* Plans the scan `options` describes (as-of, version, columns, key list,
 * key range; options may be NULL) as splits: key ranges of the version
 * pinned now, in key order, which together return exactly the scan's rows
 * with no key in two splits. Only splits that may hold a listed key or a key
 * in the range are planned (at least one split); key text is checked as
 * bazof_table_scan checks it (BAZOF_INVALID_ARGUMENT).
 * `target_bytes` <= 0: 128 MiB per split (or, with max_splits, the data cut
 * into max_splits parts); `max_splits` <= 0: no limit. *out_splits is an
 * array of *out_n JSON texts, freed with bazof_strings_free. */
BAZOF_C_EXPORT bazof_code bazof_table_plan_splits(const bazof_table* table,
                                                  const bazof_scan_options* options,
                                                  int64_t target_bytes, int32_t max_splits,
                                                  char*** out_splits, size_t* out_n, char** error);

/* Plans the validity intervals bazof_table_intervals(table, start, end,
 * coalesce, options) returns as splits of kind "intervals": key ranges of
 * the version pinned now, in key order, whose results (read with
 * bazof_table_scan_split), concatenated in order, are those intervals.
 * target_bytes, max_splits and *out_splits as in bazof_table_plan_splits. */
BAZOF_C_EXPORT bazof_code bazof_table_plan_interval_splits(const bazof_table* table, const char* start,
                                                           const char* end, int coalesce,
                                                           const bazof_scan_options* options,
                                                           int64_t target_bytes, int32_t max_splits,
                                                           char*** out_splits, size_t* out_n, char** error);

/* Plans the changes bazof_table_changes(table, from_time, from_version,
 * to_time, to_version, options) returns as splits of kind "changes": key
 * ranges, both versions pinned now, whose results (read with
 * bazof_table_scan_split), concatenated in order, are those changes.
 * target_bytes, max_splits and *out_splits as in bazof_table_plan_splits. */
BAZOF_C_EXPORT bazof_code bazof_table_plan_change_splits(const bazof_table* table, const char* from_time,
                                                         int64_t from_version, const char* to_time,
                                                         int64_t to_version, const bazof_scan_options* options,
                                                         int64_t target_bytes, int32_t max_splits,
                                                         char*** out_splits, size_t* out_n, char** error);

/* Reads one split (its JSON text, from any process that planned it on the
 * same table) as a stream like bazof_table_scan's (or, for an intervals or
 * changes split, bazof_table_intervals' or bazof_table_changes'). A malformed split is
 * BAZOF_INVALID_ARGUMENT; a pinned version vacuum removed, BAZOF_NOT_FOUND. */
BAZOF_C_EXPORT bazof_code bazof_table_scan_split(const bazof_table* table, const char* split_json,
                                                 struct ArrowArrayStream* out, char** error);

/* Writes every row of `input` (as bazof_table_append takes it) as data files
 * of the table without committing them; *out_staged is the descriptor's JSON
 * (free with bazof_string_free). `task` (>= 0) orders descriptors at commit:
 * on equal (key, event time) the row of the higher task wins. The stream is
 * consumed: this call releases it, also on error. */
BAZOF_C_EXPORT bazof_code bazof_table_stage(const bazof_table* table, struct ArrowArrayStream* input,
                                            int64_t task, char** out_staged, char** error);

/* Commits the files of n staged descriptors (JSON texts) as ONE version
 * (operation may be NULL: "append"); *out_version (may be NULL) is the new
 * version, or -1 when they held no rows and nothing was committed.
 * BAZOF_CONFLICT if the table's schema changed since staging;
 * BAZOF_INVALID_ARGUMENT for a malformed descriptor or a missing file. */
BAZOF_C_EXPORT bazof_code bazof_table_commit_staged(bazof_table* table, const char* const* staged_json,
                                                    size_t n, const char* operation,
                                                    int64_t* out_version, char** error);

/* Deletes the files of n uncommitted staged descriptors (idempotent). */
BAZOF_C_EXPORT bazof_code bazof_table_abort_staged(const bazof_table* table,
                                                   const char* const* staged_json, size_t n,
                                                   char** error);

#ifdef __cplusplus
}
#endif

#endif /* BAZOF_BAZOF_H */
