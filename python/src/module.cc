// bazof._core: the Python package's bridge to the C++ core.
//
// Thin by design: every operation is one call into include/bazof/. Data
// crosses as Arrow C data interface structs in PyCapsules ("arrow_schema",
// "arrow_array_stream"), so no column data is copied and no Python object is
// made per row. Errors become bazof.BazofError subclasses (bazof/_errors.py)
// carrying the core's message, the one the CLI prints.
#include <arrow/c/bridge.h>
#include <arrow/api.h>
#include <arrow/compute/expression.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bazof/alter.h"
#include "bazof/compact.h"
#include "bazof/restore.h"
#include "bazof/result_json.h"
#include "bazof/error.h"
#include "read/guarded_reader.h"
#include "text_escape.h"
#include "util/byte_size.h"
#include "util/memory_budget.h"
#include "bazof/event_time.h"
#include "bazof/inspect.h"
#include "bazof/join.h"
#include "bazof/split.h"
#include "bazof/stage.h"
#include "bazof/table.h"
#include "bazof/vacuum.h"
#include "bazof/validate.h"
#include "bazof/views.h"
#include "bazof/write.h"
#include "bazof/timeline.h"
#include "metadata/properties.h"
#include "metadata/types.h"

namespace nb = nanobind;

namespace bazof::python {
namespace {

constexpr const char* kStreamCapsule = "arrow_array_stream";
constexpr const char* kSchemaCapsule = "arrow_schema";

/// A core error on its way to Python: `kind` picks the exception class.
struct CoreError {
  std::string kind;
  std::string message;
};

/// Throws CoreError for a failed status. `not_found_kind` renames kNotFound
/// where the operation knows what was missing (opening: the table).
void Check(const arrow::Status& st, const char* not_found_kind = nullptr) {
  if (st.ok()) return;
  ErrorKind kind = ErrorKindOf(st);
  std::string name(ErrorKindName(kind));
  if (kind == ErrorKind::kNotFound && not_found_kind != nullptr) name = not_found_kind;
  throw CoreError{std::move(name), ErrorLine(st)};
}

template <typename T>
T Get(arrow::Result<T> r, const char* not_found_kind = nullptr) {
  Check(r.status(), not_found_kind);
  return std::move(r).ValueUnsafe();
}

void ReleaseStream(PyObject* capsule) {
  auto* stream = static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(capsule, kStreamCapsule));
  if (stream == nullptr) {
    PyErr_Clear();
    return;
  }
  if (stream->release != nullptr) stream->release(stream);
  std::free(stream);
}

void ReleaseSchema(PyObject* capsule) {
  auto* schema = static_cast<ArrowSchema*>(PyCapsule_GetPointer(capsule, kSchemaCapsule));
  if (schema == nullptr) {
    PyErr_Clear();
    return;
  }
  if (schema->release != nullptr) schema->release(schema);
  std::free(schema);
}

/// Exports a reader as an "arrow_array_stream" capsule (the consumer moves it).
nb::object StreamCapsule(std::shared_ptr<arrow::RecordBatchReader> reader) {
  auto* stream = static_cast<ArrowArrayStream*>(std::malloc(sizeof(ArrowArrayStream)));
  if (stream == nullptr) throw std::bad_alloc();
  stream->release = nullptr;
  auto st = arrow::ExportRecordBatchReader(bazof::read::GuardReader(std::move(reader)), stream);
  if (!st.ok()) {
    std::free(stream);
    Check(st);
  }
  PyObject* capsule = PyCapsule_New(stream, kStreamCapsule, ReleaseStream);
  if (capsule == nullptr) {
    stream->release(stream);
    std::free(stream);
    throw nb::python_error();
  }
  return nb::steal(capsule);
}

nb::object TableCapsule(const std::shared_ptr<arrow::Table>& table) {
  return StreamCapsule(std::make_shared<arrow::TableBatchReader>(table));
}

nb::object SchemaCapsule(const arrow::Schema& schema) {
  auto* out = static_cast<ArrowSchema*>(std::malloc(sizeof(ArrowSchema)));
  if (out == nullptr) throw std::bad_alloc();
  out->release = nullptr;
  auto st = arrow::ExportSchema(schema, out);
  if (!st.ok()) {
    std::free(out);
    Check(st);
  }
  PyObject* capsule = PyCapsule_New(out, kSchemaCapsule, ReleaseSchema);
  if (capsule == nullptr) {
    out->release(out);
    std::free(out);
    throw nb::python_error();
  }
  return nb::steal(capsule);
}

template <typename T>
T* CapsulePointer(const nb::handle& capsule, const char* name) {
  void* p = PyCapsule_GetPointer(capsule.ptr(), name);
  if (p == nullptr) throw nb::python_error();
  return static_cast<T*>(p);
}

/// Imports (moves) the stream out of an "arrow_array_stream" capsule.
std::shared_ptr<arrow::RecordBatchReader> ImportStream(const nb::handle& capsule) {
  auto* stream = CapsulePointer<ArrowArrayStream>(capsule, kStreamCapsule);
  if (stream->release == nullptr) throw CoreError{"invalid_argument", "the Arrow stream was already consumed"};
  return Get(arrow::ImportRecordBatchReader(stream));
}

std::shared_ptr<arrow::Schema> ImportSchemaCapsule(const nb::handle& capsule) {
  auto* schema = CapsulePointer<ArrowSchema>(capsule, kSchemaCapsule);
  if (schema->release == nullptr) throw CoreError{"invalid_argument", "the Arrow schema was already consumed"};
  return Get(arrow::ImportSchema(schema));
}

/// The table's columns as an Arrow schema: key column(s), event time, values.
std::shared_ptr<arrow::Schema> ArrowSchemaOf(const TableSchema& s) {
  arrow::FieldVector fields;
  for (const auto& k : s.key_columns) fields.push_back(arrow::field(k.name, k.type, false));
  fields.push_back(arrow::field(s.event_time.name, s.event_time.type, false));
  for (const auto& v : s.value_columns) fields.push_back(arrow::field(v.name, v.type, true));
  return arrow::schema(std::move(fields));
}

// A result's JSON (include/bazof/result_json.h, the form the CLI prints) as
// a Python dict: one serializer for both surfaces.
nb::dict JsonDict(const std::string& json) {
  return nb::cast<nb::dict>(nb::module_::import_("json").attr("loads")(json));
}

class PyScan {
 public:
  explicit PyScan(std::shared_ptr<Scan> scan) : scan_(std::move(scan)) {}
  nb::object schema() const { return SchemaCapsule(*scan_->schema()); }
  std::vector<std::string> files() const { return scan_->files(); }
  nb::object stream() const {
    std::shared_ptr<arrow::RecordBatchReader> reader;
    {
      nb::gil_scoped_release release;
      auto r = scan_->ToReader();
      if (r.ok()) reader = *std::move(r);
      else {
        nb::gil_scoped_acquire acquire;
        Check(r.status());
      }
    }
    return StreamCapsule(std::move(reader));
  }

 private:
  std::shared_ptr<Scan> scan_;
};

/// An as-of join, read like a scan (bazof.Scan wraps either).
class PyJoin {
 public:
  explicit PyJoin(std::shared_ptr<JoinAsOf> join) : join_(std::move(join)) {}
  nb::object schema() const { return SchemaCapsule(*join_->schema()); }
  std::vector<std::string> files() const { return join_->files(); }
  nb::object stream() const {
    arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> r;
    {
      nb::gil_scoped_release release;
      r = join_->ToReader();
    }
    return StreamCapsule(Get(std::move(r)));
  }

 private:
  std::shared_ptr<JoinAsOf> join_;
};

using CommitTuple = std::tuple<bool, int64_t, int64_t, int64_t>;  // committed, version, rows, files

/// A Python callable(phase, unit, done, total) as a ProgressCallback
/// (include/bazof/progress.h), called with the GIL held; an exception it
/// raises is reported as unraisable and does not stop the operation. None =
/// no callback.
ProgressCallback PyProgress(const nb::object& callable) {
  if (callable.is_none()) return {};
  // Released with the options, with the GIL held (after the operation).
  auto held = std::make_shared<nb::object>(callable);
  return [held](const Progress& p) {
    nb::gil_scoped_acquire gil;
    try {
      (*held)(p.phase, p.unit, p.done, p.total);
    } catch (nb::python_error& e) {
      e.discard_as_unraisable("bazof progress callback");
    }
  };
}

class PyTable {
 public:
  explicit PyTable(std::shared_ptr<Table> table) : table_(std::move(table)) {}

  static PyTable Open(const std::string& location, const std::string& name, const StorageOptions& options) {
    arrow::Result<std::shared_ptr<Table>> r;
    {
      nb::gil_scoped_release release;
      r = Table::Open(location, name, options);
    }
    return PyTable(Get(std::move(r), "table_not_found"));
  }

  static PyTable Create(const std::string& location, const std::string& name, nb::handle schema_capsule,
                        const std::vector<std::string>& keys, const std::string& event_time,
                        const StorageOptions& options, const std::map<std::string, std::string>& properties) {
    auto arrow_schema = ImportSchemaCapsule(schema_capsule);
    auto schema = Get(TableSchemaFromArrow(*arrow_schema, keys, event_time));
    arrow::Result<std::shared_ptr<Table>> r;
    {
      nb::gil_scoped_release release;
      r = CreateTable(location, name, schema, options, properties);
    }
    if (!r.ok() && ErrorKindOf(r.status()) == ErrorKind::kConflict) {
      throw CoreError{"table_exists", ErrorLine(r.status())};
    }
    return PyTable(Get(std::move(r)));
  }

  int64_t version() const { return table_->current_version().value(); }
  const std::string& location() const { return table_->location(); }
  nb::object schema() const { return SchemaCapsule(*ArrowSchemaOf(table_->current_snapshot()->schema)); }
  std::vector<std::string> key_columns() const {
    std::vector<std::string> out;
    for (const auto& k : table_->current_snapshot()->schema.key_columns) out.push_back(k.name);
    return out;
  }
  std::string event_time_column() const { return table_->current_snapshot()->schema.event_time.name; }
  std::vector<std::pair<std::string, std::string>> properties() const {
    const auto& p = table_->current_snapshot()->properties;
    return {p.begin(), p.end()};
  }

  PyScan Scan(std::optional<int64_t> as_of_micros, std::optional<int64_t> version,
              std::optional<std::vector<std::string>> columns,
              std::vector<std::vector<std::pair<std::string, std::string>>> keys_in,
              std::optional<std::string> key_min, std::optional<std::string> key_max,
              std::optional<nb::bytes> filter, int threads, int64_t batch_size,
              bool require_complete) const {
    auto builder = table_->NewScan();
    builder.RequireComplete(require_complete);
    if (as_of_micros) builder.AsOf(EventTime::FromMicros(*as_of_micros));
    if (version) {
      if (*version < 0) throw CoreError{"invalid_argument", "version must be >= 0"};
      builder.AtVersion(Version(*version));
    }
    if (columns) builder.Columns(std::move(*columns));
    if (!keys_in.empty()) builder.KeysIn(std::move(keys_in));
    if (key_min || key_max) builder.KeyRange(std::move(key_min), std::move(key_max));
    if (filter) {
      // pyarrow serializes expressions with Arrow's own format (what
      // Expression.__reduce__ pickles); the core deserializes the same.
      auto buffer = arrow::Buffer::FromString(std::string(filter->c_str(), filter->size()));
      auto expr = arrow::compute::Deserialize(std::move(buffer));
      if (!expr.ok()) throw CoreError{"invalid_argument", "filter: " + ErrorLine(expr.status())};
      builder.Filter(*std::move(expr));
    }
    if (threads > 0) builder.Threads(threads);
    builder.BatchSize(batch_size);
    arrow::Result<std::shared_ptr<bazof::Scan>> r;
    {
      nb::gil_scoped_release release;
      r = builder.Build();
    }
    return PyScan(Get(std::move(r)));
  }

  /// Validity intervals (bazof/views.h, MakeIntervals).
  PyScan Intervals(std::optional<int64_t> start_us, std::optional<int64_t> end_us, std::optional<int64_t> version,
                   std::optional<std::vector<std::string>> columns, std::optional<nb::bytes> filter, bool coalesce,
                   int threads, int64_t batch_size) const {
    IntervalOptions o = MakeIntervalOptions(start_us, end_us, version, std::move(columns), std::move(filter),
                                            coalesce);
    o.threads = threads;
    o.batch_size = batch_size;
    arrow::Result<std::shared_ptr<bazof::Scan>> r;
    {
      nb::gil_scoped_release release;
      r = MakeIntervals(*table_, o);
    }
    return PyScan(Get(std::move(r)));
  }

  /// The intervals' options from Python's arguments (times in microseconds,
  /// the filter as serialized Arrow expression bytes).
  static IntervalOptions MakeIntervalOptions(std::optional<int64_t> start_us, std::optional<int64_t> end_us,
                                             std::optional<int64_t> version,
                                             std::optional<std::vector<std::string>> columns,
                                             std::optional<nb::bytes> filter, bool coalesce) {
    IntervalOptions o;
    if (start_us) o.start = EventTime::FromMicros(*start_us);
    if (end_us) o.end = EventTime::FromMicros(*end_us);
    if (version) {
      if (*version < 0) throw CoreError{"invalid_argument", "version must be >= 0"};
      o.version = Version(*version);
    }
    o.columns = std::move(columns);
    if (filter) {
      auto buffer = arrow::Buffer::FromString(std::string(filter->c_str(), filter->size()));
      auto expr = arrow::compute::Deserialize(std::move(buffer));
      if (!expr.ok()) throw CoreError{"invalid_argument", "filter: " + ErrorLine(expr.status())};
      o.filter = *std::move(expr);
    }
    o.coalesce = coalesce;
    return o;
  }

  /// The changes' options from Python's arguments (times in microseconds).
  static ChangeOptions MakeChangeOptions(std::optional<int64_t> from_us, std::optional<int64_t> to_us,
                                         std::optional<int64_t> from_version, std::optional<int64_t> to_version,
                                         std::optional<std::vector<std::string>> columns) {
    ChangeOptions o;
    if (from_us) o.from_time = EventTime::FromMicros(*from_us);
    if (to_us) o.to_time = EventTime::FromMicros(*to_us);
    for (auto [in, out] : {std::pair{from_version, &o.from_version}, std::pair{to_version, &o.to_version}}) {
      if (!in) continue;
      if (*in < 0) throw CoreError{"invalid_argument", "version must be >= 0"};
      *out = Version(*in);
    }
    o.columns = std::move(columns);
    return o;
  }

  /// Changes between two (event time, version) points (bazof/views.h, MakeChanges).
  PyScan Changes(std::optional<int64_t> from_us, std::optional<int64_t> to_us, std::optional<int64_t> from_version,
                 std::optional<int64_t> to_version, std::optional<std::vector<std::string>> columns, int threads,
                 int64_t batch_size, const std::string& memory_limit) const {
    ChangeOptions o = MakeChangeOptions(from_us, to_us, from_version, to_version, std::move(columns));
    if (!memory_limit.empty()) o.memory_limit_bytes = Get(ParseMemoryLimit(memory_limit, "memory_limit"));
    o.threads = threads;
    o.batch_size = batch_size;
    arrow::Result<std::shared_ptr<bazof::Scan>> r;
    {
      nb::gil_scoped_release release;
      r = MakeChanges(*table_, o);
    }
    return PyScan(Get(std::move(r)));
  }

  PyJoin JoinAsOfSpine(nb::handle spine_capsule, const std::string& on, std::vector<std::string> by,
                       std::optional<std::vector<std::string>> columns, std::optional<int64_t> version, int threads,
                       int64_t batch_size) const {
    auto reader = ImportStream(spine_capsule);
    JoinAsOfOptions o;
    o.on = on;
    o.by = std::move(by);
    o.columns = std::move(columns);
    if (version) {
      if (*version < 0) throw CoreError{"invalid_argument", "version must be >= 0"};
      o.version = Version(*version);
    }
    o.threads = threads;
    o.batch_size = batch_size;
    arrow::Result<std::shared_ptr<JoinAsOf>> r;
    {
      // A spine produced by Python code takes the GIL itself when read.
      nb::gil_scoped_release release;
      r = MakeJoinAsOf(table_, *reader, std::move(o));
    }
    return PyJoin(Get(std::move(r)));
  }

  CommitTuple Append(nb::handle stream_capsule, const std::string& operation, const std::string& source,
                     std::optional<int64_t> watermark_micros, const std::string& memory_limit,
                     const std::string& spill_dir) {
    AppendOptions options;
    if (!memory_limit.empty()) {
      options.memory_limit_bytes = Get(ParseMemoryLimit(memory_limit, "memory_limit"));
    }
    options.spill_dir = spill_dir;
    auto reader = ImportStream(stream_capsule);
    options.operation = operation;
    options.source = source;
    if (watermark_micros) options.watermark = EventTime::FromMicros(*watermark_micros);
    arrow::Result<CommitResult> r;
    {
      // A stream produced by Python code takes the GIL itself when read.
      nb::gil_scoped_release release;
      r = bazof::Append(table_, *reader, options);
    }
    auto c = Get(std::move(r));
    if (c.committed) Reopen();
    return {c.committed, c.version.value(), c.rows, c.files};
  }

  /// The put rule (bazof::CheckPutValues) for the value columns `given`.
  void CheckPut(const std::vector<std::string>& given, bool partial, const std::string& what) const {
    Check(CheckPutValues(table_->current_snapshot()->schema, given, partial, what));
  }

  /// A partial put's row (bazof::CarryForward) from the latest version: the
  /// one-row stream with the value columns it lacks carried forward.
  nb::object CarryForwardRow(nb::handle stream_capsule) {
    Reopen();
    auto reader = ImportStream(stream_capsule);
    arrow::Result<std::shared_ptr<arrow::RecordBatch>> r;
    {
      nb::gil_scoped_release release;
      r = [&]() -> arrow::Result<std::shared_ptr<arrow::RecordBatch>> {
        ARROW_ASSIGN_OR_RAISE(auto t, reader->ToTable());
        ARROW_ASSIGN_OR_RAISE(auto batch, t->CombineChunksToBatch());
        return CarryForward(table_, batch);
      }();
    }
    auto batch = Get(std::move(r));
    return TableCapsule(Get(arrow::Table::FromRecordBatches({batch})));
  }

  /// Whether the key of a one-row stream has any event (bazof::KeyHasEvents)
  /// at the latest version.
  bool KeyHasEventsRow(nb::handle stream_capsule) {
    Reopen();
    auto reader = ImportStream(stream_capsule);
    arrow::Result<bool> r;
    {
      nb::gil_scoped_release release;
      r = [&]() -> arrow::Result<bool> {
        ARROW_ASSIGN_OR_RAISE(auto t, reader->ToTable());
        ARROW_ASSIGN_OR_RAISE(auto batch, t->CombineChunksToBatch());
        return KeyHasEvents(table_, *batch);
      }();
    }
    return Get(std::move(r));
  }

  nb::object History(const std::vector<std::pair<std::string, std::string>>& key,
                     std::optional<int64_t> version) const {
    std::optional<Version> v;
    if (version) v = Version(*version);
    arrow::Result<std::shared_ptr<arrow::Table>> r;
    {
      nb::gil_scoped_release release;
      r = KeyHistory(*table_, key, v);
    }
    return TableCapsule(Get(std::move(r)));
  }

  /// The latest version committed at or before a wall-clock time (bazof/inspect.h).
  int64_t VersionAt(int64_t commit_micros) const {
    arrow::Result<Version> r;
    {
      nb::gil_scoped_release release;
      r = VersionAtCommitTime(*table_, CommitTime{commit_micros});
    }
    return Get(std::move(r)).value();
  }

  nb::object Log() const {
    arrow::Result<std::shared_ptr<arrow::Table>> r;
    {
      nb::gil_scoped_release release;
      auto log = ReadLog(*table_);
      r = log.ok() ? LogTable(*log) : arrow::Result<std::shared_ptr<arrow::Table>>(log.status());
    }
    return TableCapsule(Get(std::move(r)));
  }

  /// Advances the completeness watermark (bazof watermark set); the new version.
  int64_t SetWatermark(int64_t micros) {
    arrow::Result<CommitResult> r;
    {
      nb::gil_scoped_release release;
      r = bazof::SetWatermark(table_, EventTime::FromMicros(micros));
    }
    auto c = Get(std::move(r));
    Reopen();
    return c.version.value();
  }

  /// The current version's timeline: watermark, horizon (micros or None) and
  /// lateness profile (as bazof info --format json shows it).
  nb::dict Timeline() const {
    const auto& snap = *table_->current_snapshot();
    nb::dict d;
    d["watermark"] = snap.watermark ? nb::cast(snap.watermark->micros()) : nb::none();
    d["horizon"] = snap.horizon ? nb::cast(snap.horizon->micros()) : nb::none();
    const LatenessProfile& p = snap.lateness;
    nb::dict late;
    late["count"] = p.count;
    late["max_lateness_us"] = p.max_us;
    late["p50_lateness_us"] = p.Quantile(0.5);
    late["p90_lateness_us"] = p.Quantile(0.9);
    late["p99_lateness_us"] = p.Quantile(0.99);
    nb::list buckets;
    for (size_t i = 0; i < kLatenessBuckets; ++i) {
      nb::dict b;
      b["le_us"] = i + 1 < kLatenessBuckets ? nb::cast(kLatenessBucketBounds[i]) : nb::none();
      b["count"] = i < p.buckets.size() ? p.buckets[i] : 0;
      buckets.append(b);
    }
    late["buckets"] = buckets;
    d["late_events"] = late;
    return d;
  }

  /// Forgets keys (bazof forget).
  nb::dict ForgetKeys(const std::vector<std::vector<std::pair<std::string, std::string>>>& keys) {
    Reopen();
    arrow::Result<ForgetResult> r;
    {
      nb::gil_scoped_release release;
      r = bazof::ForgetKeys(table_, keys);
    }
    auto f = Get(std::move(r));
    nb::dict d;
    d["committed"] = f.committed;
    d["version"] = f.committed ? nb::cast(f.version.value()) : nb::none();
    d["events_removed"] = f.events_removed;
    d["files_rewritten"] = f.files_rewritten;
    d["files_dropped"] = f.files_dropped;
    d["files_added"] = f.files_added;
    d["files_removed"] = f.files_removed;
    if (f.committed) Reopen();
    return d;
  }

  /// Compacts the latest version (bazof compact). Durations and sizes come
  /// parsed (bazof/_maintenance.py): nullopt = the table's property, a
  /// segment duration of 0 = auto.
  nb::dict Compact(std::optional<int64_t> segment_duration_us, std::optional<int64_t> target_file_bytes,
                   bool dry_run, int threads, std::optional<int64_t> horizon_micros, bool force,
                   std::optional<int64_t> min_segment_rows, nb::object progress, const std::string& memory_limit,
                   const std::string& spill_dir) {
    Reopen();
    CompactOptions options;
    if (!memory_limit.empty()) options.memory_limit_bytes = Get(ParseMemoryLimit(memory_limit, "memory_limit"));
    options.spill_dir = spill_dir;
    options.progress = PyProgress(progress);
    if (horizon_micros) options.horizon = EventTime::FromMicros(*horizon_micros);
    options.segment_duration_us = segment_duration_us;
    options.target_file_bytes = target_file_bytes;
    options.dry_run = dry_run;
    options.threads = threads;
    options.force = force;
    options.min_segment_rows = min_segment_rows;
    arrow::Result<CompactResult> r;
    {
      nb::gil_scoped_release release;
      r = bazof::Compact(table_, options);
    }
    auto c = Get(std::move(r));
    if (c.committed) Reopen();
    return JsonDict(ToJson(c, table_->location(), dry_run));
  }

  /// A predicate delete (bazof::DeleteWhere) as of `as_of_micros` with a
  /// serialized Arrow expression.
  nb::dict DeleteWhereFilter(int64_t as_of_micros, nb::bytes filter, bool dry_run) {
    Reopen();
    DeleteWhereOptions o;
    o.as_of = EventTime::FromMicros(as_of_micros);
    auto buffer = arrow::Buffer::FromString(std::string(filter.c_str(), filter.size()));
    auto expr = arrow::compute::Deserialize(std::move(buffer));
    if (!expr.ok()) throw CoreError{"invalid_argument", "filter: " + ErrorLine(expr.status())};
    o.filter = *std::move(expr);
    o.dry_run = dry_run;
    arrow::Result<DeleteWhereResult> r;
    {
      nb::gil_scoped_release release;
      r = bazof::DeleteWhere(table_, o);
    }
    auto c = Get(std::move(r));
    if (c.commit.committed) Reopen();
    return JsonDict(ToJson(c, table_->location(), dry_run));
  }

  /// Restores version `version` as a new version (bazof restore).
  nb::dict RestoreVersion(int64_t version) {
    Reopen();
    if (version < 0) throw CoreError{"invalid_argument", "restore: version must be >= 0"};
    arrow::Result<RestoreResult> r;
    {
      nb::gil_scoped_release release;
      r = bazof::Restore(table_, Version(version));
    }
    auto c = Get(std::move(r));
    Reopen();
    return JsonDict(ToJson(c, table_->location()));
  }

  /// Validates every retained version, or `version` (bazof validate).
  nb::dict Validate(std::optional<int64_t> version, bool deep) const {
    ValidateOptions options;
    if (version) {
      if (*version < 0) throw CoreError{"invalid_argument", "version must be >= 0"};
      options.version = Version(*version);
    }
    options.deep = deep;
    arrow::Result<ValidationReport> r;
    {
      nb::gil_scoped_release release;
      r = ValidateTable(table_->storage(), options);
    }
    return JsonDict(ToJson(Get(std::move(r)), /*with_text=*/true));
  }

  /// Expires old versions and deletes unneeded files (bazof vacuum).
  nb::dict Vacuum(std::optional<int64_t> retain_versions, std::optional<int64_t> retain_micros,
                  int64_t grace_micros, bool dry_run, nb::object progress) {
    Reopen();
    VacuumOptions options;
    options.progress = PyProgress(progress);
    options.retain_versions = retain_versions;
    options.retain_micros = retain_micros;
    options.grace_micros = grace_micros;
    options.dry_run = dry_run;
    arrow::Result<VacuumResult> r;
    {
      nb::gil_scoped_release release;
      r = bazof::Vacuum(table_, options);
    }
    return JsonDict(ToJson(Get(std::move(r)), table_->location()));
  }

  /// One alter operation (bazof alter). `op` names it; `type_capsule` is a
  /// one-field Arrow schema carrying the type for add/widen.
  CommitTuple Alter(const std::string& op, const std::string& a, const std::string& b,
                    std::optional<nb::handle> type_capsule, bool nullable) {
    std::shared_ptr<arrow::DataType> type;
    if (type_capsule) {
      auto schema = ImportSchemaCapsule(*type_capsule);
      if (schema->num_fields() != 1) throw CoreError{"invalid_argument", "alter: expected one type"};
      type = schema->field(0)->type();
    }
    AlterOp alter_op;
    if (op == "add_column") alter_op = AddColumn{a, type, nullable};
    else if (op == "drop_column") alter_op = DropColumn{a};
    else if (op == "rename_column") alter_op = RenameColumn{a, b};
    else if (op == "widen_column") alter_op = WidenColumn{a, type};
    else if (op == "set_property") alter_op = SetProperty{a, b};
    else if (op == "unset_property") alter_op = UnsetProperty{a};
    else throw CoreError{"invalid_argument", "alter: unknown operation '" + op + "'"};
    arrow::Result<CommitResult> r;
    {
      nb::gil_scoped_release release;
      r = bazof::Alter(table_, alter_op);
    }
    auto c = Get(std::move(r));
    if (c.committed) Reopen();
    return {c.committed, c.version.value(), c.rows, c.files};
  }

  /// Plans splits (bazof/split.h); each comes back as its JSON text.
  std::vector<std::string> PlanSplits(std::optional<int64_t> as_of_micros, std::optional<int64_t> version,
                                      std::optional<std::vector<std::string>> columns,
                                      std::optional<nb::bytes> filter, std::optional<int64_t> target_bytes,
                                      std::optional<int64_t> max_splits, bool events) const {
    auto builder = table_->NewScan();
    if (as_of_micros) builder.AsOf(EventTime::FromMicros(*as_of_micros));
    if (version) {
      if (*version < 0) throw CoreError{"invalid_argument", "version must be >= 0"};
      builder.AtVersion(Version(*version));
    }
    if (columns) builder.Columns(std::move(*columns));
    if (filter) {
      auto buffer = arrow::Buffer::FromString(std::string(filter->c_str(), filter->size()));
      auto expr = arrow::compute::Deserialize(std::move(buffer));
      if (!expr.ok()) throw CoreError{"invalid_argument", "filter: " + expr.status().message()};
      builder.Filter(*std::move(expr));
    }
    SplitOptions options = SplitOptionsOf(target_bytes, max_splits);
    options.kind = events ? SplitKind::kEvents : SplitKind::kScan;
    arrow::Result<std::vector<Split>> r;
    {
      nb::gil_scoped_release release;
      r = bazof::PlanSplits(builder, options);
    }
    std::vector<std::string> out;
    for (const auto& s : Get(std::move(r))) out.push_back(s.ToJson());
    return out;
  }

  /// Plans validity intervals as splits (PlanIntervalSplits); JSON texts.
  std::vector<std::string> PlanIntervalSplits(std::optional<int64_t> start_us, std::optional<int64_t> end_us,
                                              std::optional<int64_t> version,
                                              std::optional<std::vector<std::string>> columns,
                                              std::optional<nb::bytes> filter, bool coalesce,
                                              std::optional<int64_t> target_bytes,
                                              std::optional<int64_t> max_splits) const {
    IntervalOptions o = MakeIntervalOptions(start_us, end_us, version, std::move(columns), std::move(filter),
                                            coalesce);
    SplitOptions options = SplitOptionsOf(target_bytes, max_splits);
    arrow::Result<std::vector<Split>> r;
    {
      nb::gil_scoped_release release;
      r = bazof::PlanIntervalSplits(*table_, o, options);
    }
    std::vector<std::string> out;
    for (const auto& s : Get(std::move(r))) out.push_back(s.ToJson());
    return out;
  }

  /// Plans the changes between two points as splits (PlanChangeSplits); JSON texts.
  std::vector<std::string> PlanChangeSplits(std::optional<int64_t> from_us, std::optional<int64_t> to_us,
                                            std::optional<int64_t> from_version, std::optional<int64_t> to_version,
                                            std::optional<std::vector<std::string>> columns,
                                            std::optional<int64_t> target_bytes,
                                            std::optional<int64_t> max_splits) const {
    ChangeOptions o = MakeChangeOptions(from_us, to_us, from_version, to_version, std::move(columns));
    SplitOptions options = SplitOptionsOf(target_bytes, max_splits);
    arrow::Result<std::vector<Split>> r;
    {
      nb::gil_scoped_release release;
      r = bazof::PlanChangeSplits(*table_, o, options);
    }
    std::vector<std::string> out;
    for (const auto& s : Get(std::move(r))) out.push_back(s.ToJson());
    return out;
  }

  static SplitOptions SplitOptionsOf(std::optional<int64_t> target_bytes, std::optional<int64_t> max_splits) {
    SplitOptions options;
    options.target_bytes = target_bytes;
    if (max_splits) {
      if (*max_splits <= 0 || *max_splits > (1 << 30)) {
        throw CoreError{"invalid_argument", "max_splits must be a positive count"};
      }
      options.max_splits = static_cast<int>(*max_splits);
    }
    return options;
  }

  /// The scan of one split given as its JSON text.
  PyScan ScanSplit(const std::string& split_json, int threads, int64_t batch_size) const {
    auto split = Get(Split::FromJson(split_json));
    if (batch_size <= 0) throw CoreError{"invalid_argument", "batch_size must be positive"};
    arrow::Result<std::shared_ptr<bazof::Scan>> r;
    {
      nb::gil_scoped_release release;
      r = bazof::ReadSplit(*table_, split, threads, batch_size);
    }
    return PyScan(Get(std::move(r)));
  }

  /// Stages the rows of a stream (bazof/stage.h); returns the descriptor's JSON.
  std::string Stage(nb::handle stream_capsule, int64_t task, int64_t sequence) const {
    auto reader = ImportStream(stream_capsule);
    StageOptions options;
    options.task = task;
    options.sequence = sequence;
    options.source = "stage";
    arrow::Result<StagedFiles> r;
    {
      nb::gil_scoped_release release;
      r = bazof::Stage(*table_, *reader, options);
    }
    return Get(Get(std::move(r)).ToJson());
  }

  /// Commits staged descriptors (JSON texts) as one version.
  CommitTuple CommitStaged(const std::vector<std::string>& staged_json, const std::string& operation) {
    std::vector<StagedFiles> staged;
    for (const auto& j : staged_json) staged.push_back(Get(StagedFiles::FromJson(j)));
    CommitStagedOptions options;
    options.operation = operation;
    arrow::Result<CommitResult> r;
    {
      nb::gil_scoped_release release;
      r = bazof::CommitStaged(table_, staged, options);
    }
    auto c = Get(std::move(r));
    if (c.committed) Reopen();
    return {c.committed, c.version.value(), c.rows, c.files};
  }

  /// Deletes the files of staged descriptors (JSON texts).
  void AbortStaged(const std::vector<std::string>& staged_json) const {
    std::vector<StagedFiles> staged;
    for (const auto& j : staged_json) staged.push_back(Get(StagedFiles::FromJson(j)));
    arrow::Status st;
    {
      nb::gil_scoped_release release;
      st = bazof::AbortStaged(*table_, staged);
    }
    Check(st);
  }

  /// Re-reads the table's current version (after our own or others' commits).
  void Reopen() {
    arrow::Result<std::shared_ptr<Table>> r;
    {
      nb::gil_scoped_release release;
      r = Table::Open(table_->storage());
    }
    table_ = Get(std::move(r), "table_not_found");
  }

 private:
  std::shared_ptr<Table> table_;
};

int64_t ParseTime(const std::string& text, const std::string& what) {
  return Get(ParseEventTime(text, what)).micros();
}

int64_t ParseDuration(const std::string& text, const std::string& what) {
  return Get(metadata::ParseDuration(text, what));
}

int64_t ParseByteSize(const std::string& text, const std::string& what) {
  return Get(metadata::ParseByteSize(text, what));
}

nb::object ParseType(const std::string& text, const std::string& what) {
  auto t = metadata::ParseUserTypeName(text);
  if (!t.ok()) throw CoreError{"invalid_argument", EscapeForMessage(what + ": " + t.status().message())};
  return SchemaCapsule(*arrow::schema({arrow::field("type", *t)}));
}

/// A split's JSON text -> its fields (checked), for bazof.Split.
nb::dict SplitInfo(const std::string& text) {
  auto s = Get(Split::FromJson(text));
  nb::dict d;
  d["kind"] = KindName(s.kind);
  d["version"] = s.version.value();
  d["index"] = s.index;
  d["count"] = s.count;
  d["estimated_bytes"] = s.estimated_bytes;
  d["estimated_rows"] = s.estimated_rows;
  d["files"] = s.files;
  d["table"] = s.table;
  d["json"] = s.ToJson();
  return d;
}

/// A staged descriptor's JSON text -> its fields (checked), for bazof.StagedFiles.
nb::dict StagedInfo(const std::string& text) {
  auto s = Get(StagedFiles::FromJson(text));
  std::vector<std::string> files;
  for (const auto& f : s.files) files.push_back(f.path);
  nb::dict d;
  d["table"] = s.table;
  d["staged_against"] = s.staged_against.value();
  d["task"] = s.task;
  d["sequence"] = s.sequence;
  d["rows"] = s.rows;
  d["files"] = files;
  return d;
}

}  // namespace
}  // namespace bazof::python

NB_MODULE(_core, m) {
  using namespace bazof::python;
  m.doc() = "bazof's C++ core (internal; use the bazof package)";
  // Tables still referenced by module globals when the interpreter exits
  // are not leaks worth a warning.
  nb::set_leak_warnings(false);

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const CoreError& e) {
      nb::object cls = nb::module_::import_("bazof._errors").attr("error_class")(e.kind);
      PyErr_SetString(cls.ptr(), e.message.c_str());
    } catch (const nb::python_error&) {
      throw;  // nanobind's own translators handle these
    } catch (const nb::builtin_exception&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;  // MemoryError
    } catch (const std::exception& e) {
      // Last resort: a bug escaped the core. An error, not an abort.
      nb::object cls = nb::module_::import_("bazof._errors").attr("error_class")("internal");
      PyErr_SetString(cls.ptr(), ("internal error: " + bazof::EscapeForMessage(e.what())).c_str());
    }
  });

  m.def("parse_event_time", &ParseTime, nb::arg("text"), nb::arg("what"),
        "ISO-8601 text -> microseconds since the epoch (UTC), as the CLI parses --as-of.");
  m.def("parse_duration", &ParseDuration, nb::arg("text"), nb::arg("what"),
        "'30d', '12h', ... -> microseconds, as the CLI parses --older-than.");
  m.def("parse_byte_size", &ParseByteSize, nb::arg("text"), nb::arg("what"),
        "'128MiB', ... -> bytes, as the CLI parses --target-file-size.");
  m.def("parse_type", &ParseType, nb::arg("text"), nb::arg("what"),
        "A format type name ('int32', 'decimal(10,2)') -> a one-field Arrow schema capsule.");

  nb::class_<PyScan>(m, "Scan")
      .def("schema", &PyScan::schema, "The result's Arrow schema (capsule).")
      .def("files", &PyScan::files, "Data files the scan reads, relative to the table root.")
      .def("stream", &PyScan::stream, "Starts reading: an arrow_array_stream capsule.");

  nb::class_<PyJoin>(m, "JoinAsOf")
      .def("schema", &PyJoin::schema, "The result's Arrow schema (capsule).")
      .def("files", &PyJoin::files, "Data files the join reads, relative to the table root.")
      .def("stream", &PyJoin::stream, "Runs the join: an arrow_array_stream capsule.");

  nb::class_<PyTable>(m, "Table")
      .def_static("open", &PyTable::Open, nb::arg("location"), nb::arg("name"), nb::arg("options"))
      .def_static("create", &PyTable::Create, nb::arg("location"), nb::arg("name"), nb::arg("schema"),
                  nb::arg("keys"), nb::arg("event_time"), nb::arg("options"), nb::arg("properties"))
      .def_prop_ro("version", &PyTable::version)
      .def_prop_ro("location", &PyTable::location)
      .def_prop_ro("key_columns", &PyTable::key_columns)
      .def_prop_ro("event_time_column", &PyTable::event_time_column)
      .def_prop_ro("properties", &PyTable::properties)
      .def("schema", &PyTable::schema)
      .def("scan", &PyTable::Scan, nb::arg("as_of").none(), nb::arg("version").none(), nb::arg("columns").none(),
           nb::arg("keys_in"), nb::arg("key_min").none(), nb::arg("key_max").none(), nb::arg("filter").none(),
           nb::arg("threads"), nb::arg("batch_size"), nb::arg("require_complete") = false)
      .def("intervals", &PyTable::Intervals, nb::arg("start").none(), nb::arg("end").none(),
           nb::arg("version").none(), nb::arg("columns").none(), nb::arg("filter").none(), nb::arg("coalesce"),
           nb::arg("threads"), nb::arg("batch_size"))
      .def("changes", &PyTable::Changes, nb::arg("from_time").none(), nb::arg("to_time").none(),
           nb::arg("from_version").none(), nb::arg("to_version").none(), nb::arg("columns").none(),
           nb::arg("threads"), nb::arg("batch_size"), nb::arg("memory_limit") = "")
      .def("join_asof", &PyTable::JoinAsOfSpine, nb::arg("spine"), nb::arg("on"), nb::arg("by"),
           nb::arg("columns").none(), nb::arg("version").none(), nb::arg("threads"), nb::arg("batch_size"))
      .def("append", &PyTable::Append, nb::arg("stream"), nb::arg("operation"), nb::arg("source"),
           nb::arg("watermark").none() = nb::none(), nb::arg("memory_limit") = "", nb::arg("spill_dir") = "")
      .def("set_watermark", &PyTable::SetWatermark, nb::arg("micros"))
      .def("timeline", &PyTable::Timeline)
      .def("forget", &PyTable::ForgetKeys, nb::arg("keys"))
      .def("history", &PyTable::History, nb::arg("key"), nb::arg("version").none())
      .def("log", &PyTable::Log)
      .def("version_at", &PyTable::VersionAt, nb::arg("commit_micros"))
      .def("restore", &PyTable::RestoreVersion, nb::arg("version"))
      .def("delete_where", &PyTable::DeleteWhereFilter, nb::arg("as_of"), nb::arg("filter"), nb::arg("dry_run"))
      .def("check_put", &PyTable::CheckPut, nb::arg("given"), nb::arg("partial"), nb::arg("what"))
      .def("carry_forward", &PyTable::CarryForwardRow, nb::arg("stream"))
      .def("key_has_events", &PyTable::KeyHasEventsRow, nb::arg("stream"))
      .def_static("unknown_key_warning", &bazof::UnknownKeyWarning, nb::arg("key"))
      .def("compact", &PyTable::Compact, nb::arg("segment_duration_us").none(),
           nb::arg("target_file_bytes").none(), nb::arg("dry_run"), nb::arg("threads"),
           nb::arg("horizon").none() = nb::none(), nb::arg("force") = false,
           nb::arg("min_segment_rows").none() = nb::none(), nb::arg("progress").none() = nb::none(),
           nb::arg("memory_limit") = "", nb::arg("spill_dir") = "")
      .def("validate", &PyTable::Validate, nb::arg("version").none(), nb::arg("deep"))
      .def("vacuum", &PyTable::Vacuum, nb::arg("retain_versions").none(), nb::arg("retain_micros").none(),
           nb::arg("grace_micros"), nb::arg("dry_run"), nb::arg("progress").none() = nb::none())
      .def("alter", &PyTable::Alter, nb::arg("op"), nb::arg("a"), nb::arg("b"), nb::arg("type").none(),
           nb::arg("nullable"))
      .def("plan_splits", &PyTable::PlanSplits, nb::arg("as_of").none(), nb::arg("version").none(),
           nb::arg("columns").none(), nb::arg("filter").none(), nb::arg("target_bytes").none(),
           nb::arg("max_splits").none(), nb::arg("events"))
      .def("plan_interval_splits", &PyTable::PlanIntervalSplits, nb::arg("start").none(), nb::arg("end").none(),
           nb::arg("version").none(), nb::arg("columns").none(), nb::arg("filter").none(), nb::arg("coalesce"),
           nb::arg("target_bytes").none(), nb::arg("max_splits").none())
      .def("plan_change_splits", &PyTable::PlanChangeSplits, nb::arg("from_time").none(), nb::arg("to_time").none(),
           nb::arg("from_version").none(), nb::arg("to_version").none(), nb::arg("columns").none(),
           nb::arg("target_bytes").none(), nb::arg("max_splits").none())
      .def("scan_split", &PyTable::ScanSplit, nb::arg("split"), nb::arg("threads"), nb::arg("batch_size"))
      .def("stage", &PyTable::Stage, nb::arg("stream"), nb::arg("task"), nb::arg("sequence"))
      .def("commit_staged", &PyTable::CommitStaged, nb::arg("staged"), nb::arg("operation"))
      .def("abort_staged", &PyTable::AbortStaged, nb::arg("staged"))
      .def("reopen", &PyTable::Reopen);
  m.def("split_info", &SplitInfo, nb::arg("json"), "A split's JSON -> its fields (checked).");
  m.def("staged_info", &StagedInfo, nb::arg("json"), "A staged descriptor's JSON -> its fields (checked).");
}
