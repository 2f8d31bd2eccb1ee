// bazof append: input rows -> sorted delta files -> one commit.
//
//   input batches ──normalize/validate──▶ sort by (key, event_time), stable, the
//        whole input (write/external_sort.h: spilled runs beyond the memory budget)
//        ──cut every chunk_rows rows──▶ data/<unique>.parquet ... ──sync
//   all chunks written ──▶ s<N+1>.json (CreateExclusive) ──▶ version.txt
//   another writer took N+1 (kConflict) ──▶ re-read s<M>, same files, try s<M+1>.json
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/type_traits.h>

#include <thread>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/write.h"
#include "compute_init.h"
#include "io/storage.h"
#include "metadata/properties.h"
#include "metadata/types.h"
#include "progress_reporter.h"
#include "util/memory_budget.h"
#include "write/append_internal.h"
#include "write/commit.h"
#include "write/lateness.h"
#include "write/data_file_writer.h"
#include "write/external_sort.h"
#include "write/utf8_check.h"

namespace bazof {
namespace {

constexpr const char* kInputDeleted = "_deleted";

bool StringLike(const arrow::DataType& t) {
  return arrow::is_base_binary_like(t.id()) || t.id() == arrow::Type::STRING_VIEW ||
         t.id() == arrow::Type::BINARY_VIEW;
}

// Input types that convert to the table's type without losing information:
// same type, any string flavour, another timestamp unit (checked value by
// value), or an exact widening (a wider integer, a float or decimal that
// holds every value: what alter allows, so inputs made for a column before
// it was widened still append).
bool Convertible(const arrow::DataType& from, const arrow::DataType& to) {
  if (from.Equals(to)) return true;
  if (StringLike(from) && StringLike(to)) return from.id() != arrow::Type::BINARY || to.id() != arrow::Type::STRING;
  if (from.id() == arrow::Type::TIMESTAMP && to.id() == arrow::Type::TIMESTAMP) return true;
  if (metadata::IsExactWidening(from, to)) return true;
  // Another precision or scale: the safe cast fails on any value that would
  // lose digits or overflow (pandas and Polars infer their own precision).
  if (from.id() == arrow::Type::DECIMAL128 && to.id() == arrow::Type::DECIMAL128) return true;
  if (from.id() == arrow::Type::NA) return true;  // an all-null column
  // Floats into a decimal column when exact (FloatsToDecimal).
  if (arrow::is_floating(from.id()) && to.id() == arrow::Type::DECIMAL128) return true;
  return false;
}

// Floats into a decimal column (docs/spec.md §10a): each float is read as its
// shortest decimal text (0.1, not 0.1000000000000000055...) and must fit the
// column's precision and scale exactly; otherwise the first value that does
// not is named. Arrow's direct float->decimal cast rounds silently.
arrow::Result<std::shared_ptr<arrow::Array>> FloatsToDecimal(const arrow::Array& a,
                                                             const std::shared_ptr<arrow::DataType>& to,
                                                             const std::string& where, const std::string& column,
                                                             int64_t first_row) {
  ARROW_ASSIGN_OR_RAISE(auto text, arrow::compute::Cast(a, arrow::utf8()));
  auto cast = arrow::compute::Cast(*text, to, arrow::compute::CastOptions::Safe());
  if (cast.ok()) return *cast;
  const auto& strings = static_cast<const arrow::StringArray&>(*text);
  for (int64_t r = 0; r < strings.length(); ++r) {
    if (strings.IsNull(r) || arrow::compute::Cast(*strings.Slice(r, 1), to).ok()) continue;
    return InvalidArgument(where, ": row ", first_row + r, ": column '", column, "': float ", strings.GetView(r),
                           " is not exactly a ", to->ToString(),
                           " value (floats go into a decimal column only when their shortest decimal form "
                           "fits its precision and scale; round them first)");
  }
  return InvalidArgument(where, ": column '", column, "': ", cast.status().message());
}

// Turns input batches into data-file batches (DataFileSchema order), checking
// everything a reader relies on. Errors name the source, row and column.
class Normalizer {
 public:
  Normalizer(const TableSchema& schema, std::string source, std::string table)
      : schema_(schema),
        source_(std::move(source)),
        table_(std::move(table)),
        out_schema_(write::DataFileSchema(schema, true)) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Normalize(const arrow::RecordBatch& in) {
    const auto& fields = in.schema()->fields();
    ARROW_RETURN_NOT_OK(write::CheckDistinctColumns(*in.schema(), source_));
    std::vector<bool> used(fields.size(), false);
    auto find = [&](const std::string& name) -> int {
      int i = in.schema()->GetFieldIndex(name);
      if (i >= 0) used[i] = true;
      return i;
    };
    std::vector<std::shared_ptr<arrow::Array>> cols;
    auto convert = [&](int i, const ColumnSpec& spec) -> arrow::Result<std::shared_ptr<arrow::Array>> {
      auto a = in.column(i);
      if (a->type()->Equals(*spec.type)) return a;
      if (!Convertible(*a->type(), *spec.type)) {
        return InvalidArgument(source_, ": column '", spec.name, "' is ", a->type()->ToString(),
                               ", the table has ", spec.type->ToString());
      }
      if (arrow::is_floating(a->type_id()) && spec.type->id() == arrow::Type::DECIMAL128) {
        return FloatsToDecimal(*a, spec.type, source_, spec.name, rows_seen_ + 1);
      }
      auto cast = arrow::compute::Cast(*a, spec.type, arrow::compute::CastOptions::Safe());
      if (!cast.ok() && a->type_id() == arrow::Type::TIMESTAMP && spec.type->id() == arrow::Type::TIMESTAMP) {
        // Typed timestamps finer than the column are refused, not floored
        // (docs/spec.md §10a): name the first such value.
        for (int64_t r = 0; r < a->length(); ++r) {
          if (a->IsNull(r) || arrow::compute::Cast(*a->Slice(r, 1), spec.type).ok()) continue;
          ARROW_ASSIGN_OR_RAISE(auto value, a->GetScalar(r));
          return InvalidArgument(source_, ": row ", rows_seen_ + r + 1, ": column '", spec.name, "': ",
                                 value->ToString(), " has more precision than the column's ",
                                 spec.type->ToString(), "; typed timestamps are not truncated (floor them to the "
                                 "column's unit first)");
        }
      }
      if (!cast.ok()) {
        return InvalidArgument(source_, ": column '", spec.name, "': ", cast.status().message());
      }
      return *cast;
    };
    for (const auto& k : schema_.key_columns) {
      int i = find(k.name);
      if (i < 0) return InvalidArgument(source_, ": missing key column '", k.name, "'");
      ARROW_ASSIGN_OR_RAISE(auto a, convert(i, k));
      ARROW_RETURN_NOT_OK(write::CheckUtf8Column(*a, source_, k.name, rows_seen_ + 1));
      ARROW_RETURN_NOT_OK(CheckKey(*a, k.name));
      cols.push_back(a);
    }
    int et = find(schema_.event_time.name);
    if (et < 0) return InvalidArgument(source_, ": missing event-time column '", schema_.event_time.name, "'");
    ARROW_ASSIGN_OR_RAISE(auto et_array, convert(et, schema_.event_time));
    if (et_array->null_count() > 0) {
      return InvalidArgument(source_, ": row ", FirstNull(*et_array), ": column '",
                             schema_.event_time.name, "' is empty");
    }
    cols.push_back(et_array);
    for (const auto& v : schema_.value_columns) {
      int i = find(v.name);
      if (i < 0) {
        ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(v.type, in.num_rows()));
        cols.push_back(nulls);
      } else {
        ARROW_ASSIGN_OR_RAISE(auto a, convert(i, v));
        ARROW_RETURN_NOT_OK(write::CheckUtf8Column(*a, source_, v.name, rows_seen_ + 1));
        cols.push_back(a);
      }
    }
    // A tombstone has no values (docs/spec.md §6): whatever the input gave
    // on such rows is dropped.
    const size_t first_value = schema_.key_columns.size() + 1;
    int del = find(kInputDeleted);
    if (del < 0) {
      arrow::BooleanBuilder b;
      ARROW_RETURN_NOT_OK(b.AppendEmptyValues(in.num_rows()));
      ARROW_ASSIGN_OR_RAISE(auto falses, b.Finish());
      cols.push_back(falses);
    } else {
      auto a = in.column(del);
      if (a->type_id() != arrow::Type::BOOL) {
        return InvalidArgument(source_, ": column '", kInputDeleted, "' must be boolean, not ",
                               a->type()->ToString());
      }
      ARROW_ASSIGN_OR_RAISE(auto filled, arrow::compute::CallFunction("coalesce", {a, arrow::MakeScalar(false)}));
      auto deleted = filled.make_array();
      ARROW_ASSIGN_OR_RAISE(auto any, arrow::compute::Any(deleted));
      if (any.scalar_as<arrow::BooleanScalar>().value) {
        for (size_t c = first_value; c < cols.size(); ++c) {
          ARROW_ASSIGN_OR_RAISE(auto cleared, arrow::compute::IfElse(deleted, arrow::MakeNullScalar(cols[c]->type()), cols[c]));
          cols[c] = cleared.make_array();
        }
      }
      cols.push_back(deleted);
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!used[i]) {
        return InvalidArgument(source_, ": unknown column '", fields[i]->name(), "' (table '",
                               table_, "' has no such column)");
      }
    }
    rows_seen_ += in.num_rows();
    return arrow::RecordBatch::Make(out_schema_, in.num_rows(), std::move(cols));
  }

  const std::shared_ptr<arrow::Schema>& schema() const { return out_schema_; }

 private:
  int64_t FirstNull(const arrow::Array& a) const {
    for (int64_t r = 0; r < a.length(); ++r) {
      if (a.IsNull(r)) return rows_seen_ + r + 1;
    }
    return -1;
  }

  arrow::Status CheckKey(const arrow::Array& a, const std::string& name) const {
    if (a.null_count() > 0) {
      return InvalidArgument(source_, ": row ", FirstNull(a), ": key column '", name, "' is empty");
    }
    if (a.type_id() == arrow::Type::STRING || a.type_id() == arrow::Type::BINARY) {
      const auto& s = static_cast<const arrow::BinaryArray&>(a);
      for (int64_t r = 0; r < s.length(); ++r) {
        if (s.value_length(r) == 0) {
          return InvalidArgument(source_, ": row ", rows_seen_ + r + 1, ": key column '", name, "' is empty");
        }
      }
    }
    return arrow::Status::OK();
  }

  const TableSchema& schema_;
  std::string source_;
  std::string table_;
  std::shared_ptr<arrow::Schema> out_schema_;
  int64_t rows_seen_ = 0;
};

// The next snapshot: everything of `base` plus `files`, all filed together
// in their order under the segment with the greatest start <= their earliest
// event (else the first): the tie rule ranks a commit's files by their order
// in the snapshot, so they must not be spread over segments.
Snapshot NextSnapshot(const Snapshot& base, const std::vector<DataFileRef>& files, Version v,
                      CommitInfo commit) {
  Snapshot next = base;
  next.version = v;
  next.commit = std::move(commit);
  std::optional<EventTime> earliest;
  for (const auto& f : files) {
    if (f.start && (!earliest || *f.start < *earliest)) earliest = f.start;
  }
  size_t target = 0;
  for (size_t s = 0; s < next.segments.size(); ++s) {
    if (earliest && next.segments[s].start <= *earliest) target = s;
  }
  for (DataFileRef f : files) {
    f.version = v;
    next.segments[target].deltas.push_back(std::move(f));
  }
  return next;
}

// compaction.auto: compact right after the commit when the policy advises
// it. The write has succeeded whatever happens here; losing a race to another
// writer just skips the compaction.
void MaybeAutoCompact(const std::shared_ptr<Table>& table, const Snapshot& committed, CommitResult* result) {
  auto policy = metadata::PolicyFromProperties(committed.properties);
  if (!policy.ok() || !policy->auto_compact) return;
  auto cost = LatestReadCost(committed);
  if (!cost.ok() || !cost->compaction_advised) return;
  auto fresh = Table::Open(table->storage());
  arrow::Result<CompactResult> compacted =
      fresh.ok() ? Compact(*fresh) : arrow::Result<CompactResult>(fresh.status());
  if (compacted.ok()) {
    if (compacted->committed) result->compacted_version = compacted->version;
  } else if (ErrorKindOf(compacted.status()) != ErrorKind::kConflict) {
    result->auto_compaction_error = compacted.status().message();
  }
}

}  // namespace

namespace write {

static bool SameColumns(const std::vector<ColumnSpec>& a, const std::vector<ColumnSpec>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].id != b[i].id || !a[i].type->Equals(*b[i].type)) return false;
  }
  return true;
}

bool SameSchema(const TableSchema& a, const TableSchema& b) {
  return SameColumns(a.key_columns, b.key_columns) && SameColumns({a.event_time}, {b.event_time}) &&
         SameColumns(a.value_columns, b.value_columns);
}

arrow::Result<WrittenFiles> WriteInputFiles(const Table& table, const TableSchema& schema,
                                            arrow::RecordBatchReader& rows, const WriteInputOptions& options,
                                            Version planned) {
  ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
  if (options.chunk_rows <= 0) return InvalidArgument(options.source, ": chunk rows must be positive");
  auto& storage = *table.storage();
  Normalizer normalizer(schema, options.source, table.location());
  ARROW_ASSIGN_OR_RAISE(auto budget, ResolveMemoryLimit(options.memory_limit_bytes,
                                                        table.current_snapshot()->properties,
                                                        "append to '" + table.location() + "'"));
  ARROW_ASSIGN_OR_RAISE(auto limits, LimitsForBudget(budget, options.spill_dir));
  ARROW_ASSIGN_OR_RAISE(auto sorter, ExternalSorter::Make(normalizer.schema(), schema.key_columns, std::move(limits)));
  ARROW_ASSIGN_OR_RAISE(auto row_group_rows, metadata::RowGroupRows(table.current_snapshot()->properties,
                                                                    metadata::kAppendedRowGroupRows));
  ARROW_ASSIGN_OR_RAISE(auto page_bytes, metadata::PageBytes(table.current_snapshot()->properties,
                                                             metadata::kAppendedPageBytes));
  ARROW_ASSIGN_OR_RAISE(auto page_rows, metadata::PageRows(table.current_snapshot()->properties,
                                                           metadata::kDefaultPageRows));
  WrittenFiles out;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    auto st = rows.ReadNext(&batch);
    if (!st.ok()) return WithContext(st, options.source + ": ");
    if (!batch) break;
    if (batch->num_rows() == 0) continue;
    ARROW_ASSIGN_OR_RAISE(auto normalized, normalizer.Normalize(*batch));
    out.rows += batch->num_rows();
    ARROW_RETURN_NOT_OK(sorter->Add(std::move(normalized)));
  }
  // The sorted rows, cut into files of at most chunk_rows rows in order:
  // equal (key, event time) rows split over two files keep their order in
  // the commit's file order, which the tie rule ranks by.
  std::unique_ptr<DataFileStream> file;
  auto close = [&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto ref, file->Close());
    file.reset();
    ARROW_RETURN_NOT_OK(storage.Sync(ref.path));
    out.files.push_back(std::move(ref));
    return arrow::Status::OK();
  };
  ARROW_RETURN_NOT_OK(sorter->Finish([&](const std::shared_ptr<arrow::RecordBatch>& sorted) -> arrow::Status {
    for (int64_t off = 0; off < sorted->num_rows();) {
      if (!file) {
        ARROW_ASSIGN_OR_RAISE(file, DataFileStream::Open(storage, schema, NewDataFileName(planned), planned,
                                                         /*with_deleted=*/true, /*with_versions=*/false,
                                                         row_group_rows, page_bytes, /*parallel_columns=*/true,
                                                         page_rows));
      }
      const int64_t n = std::min(sorted->num_rows() - off, options.chunk_rows - file->rows());
      ARROW_RETURN_NOT_OK(file->Write(*sorted->Slice(off, n)));
      off += n;
      if (file->rows() == options.chunk_rows) ARROW_RETURN_NOT_OK(close());
    }
    return arrow::Status::OK();
  }));
  if (file) ARROW_RETURN_NOT_OK(close());
  out.spilled_runs = sorter->spilled_runs();
  out.spilled_bytes = sorter->spilled_bytes();
  out.merge_passes = sorter->merge_passes();
  out.memory_limit_bytes = budget;
  return out;
}

arrow::Result<CommitResult> CommitFiles(const std::shared_ptr<Table>& table,
                                        std::shared_ptr<const Snapshot> base, const TableSchema& schema,
                                        const std::vector<DataFileRef>& files, int64_t rows,
                                        const std::string& operation, int max_attempts,
                                        std::optional<EventTime> watermark) {
  auto& storage = *table->storage();
  CommitInfo commit{operation, "", rows, {}, {}};
  for (const auto& f : files) commit.files_added.push_back(f.path);
  if (watermark) commit.description = "watermark " + FormatEventTime(*watermark);
  // Lateness against the watermark of the version the commit lands on; a
  // rebase onto a version with another watermark computes it again.
  std::optional<std::pair<EventTime, LatenessProfile>> lateness;
  for (int attempt = 1;; ++attempt) {
    // The files were written for `schema`; a concurrent schema change would
    // need them rewritten, so refuse rather than guess.
    if (!SameSchema(base->schema, schema)) {
      return Conflict("table '", table->location(), "': schema changed since the files were written (version ",
                      base->version.value(), " has another schema)");
    }
    if (watermark && base->watermark && *watermark < *base->watermark) {
      return InvalidArgument("table '", table->location(), "': watermark ", FormatEventTime(*watermark),
                             " is before the current watermark ", FormatEventTime(*base->watermark),
                             " (version ", base->version.value(), "); watermarks never move back");
    }
    commit.timestamp = WallClockNow();
    Snapshot next = NextSnapshot(*base, files, Version(base->version.value() + 1), commit);
    if (base->watermark && !files.empty()) {
      if (!lateness || lateness->first != *base->watermark) {
        ARROW_ASSIGN_OR_RAISE(auto profile, LatenessOf(storage, schema, files, *base->watermark));
        lateness.emplace(*base->watermark, std::move(profile));
      }
      next.lateness.Merge(lateness->second);
    }
    if (watermark) next.watermark = *watermark;
    auto st = CommitSnapshot(storage, next);
    if (st.ok()) {
      CommitResult result{true, next.version, rows, static_cast<int64_t>(files.size())};
      MaybeAutoCompact(table, next, &result);
      return result;
    }
    if (ErrorKindOf(st) != ErrorKind::kConflict || attempt >= max_attempts) {
      return WithContext(st, "commit of '" + table->location() + "': ");
    }
    // Another writer committed first. An append does not depend on what it
    // read, so it rebases onto the newest version and tries again.
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt));
    ARROW_ASSIGN_OR_RAISE(auto fresh, Table::Open(table->storage()));
    base = fresh->current_snapshot();
  }
}

}  // namespace write

arrow::Result<CommitResult> Append(const std::shared_ptr<Table>& table,
                                   arrow::RecordBatchReader& rows, const AppendOptions& options) {
  ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
  auto snapshot = table->current_snapshot();
  if (snapshot->format_version < 1) {
    return InvalidArgument("table '", table->location(),
                           "' is a bazof 0.1 / azof 0.2 table: bazof reads it but does not write it");
  }
  if (snapshot->segments.empty()) {
    return Corruption("table '", table->location(), "': snapshot has no segment to file deltas under");
  }
  // Data files carry no version, so the name's version is only a hint.
  const Version planned(snapshot->version.value() + 1);
  internal::ProgressReporter progress(options.progress, "append", "rows", -1);
  internal::CountingReader counted(rows, progress);
  write::WriteInputOptions input;
  input.source = options.source;
  input.chunk_rows = options.chunk_rows;
  input.memory_limit_bytes = options.memory_limit_bytes;
  input.spill_dir = options.spill_dir;
  ARROW_ASSIGN_OR_RAISE(auto written, write::WriteInputFiles(*table, snapshot->schema,
                                                             progress.enabled() ? counted : rows, input, planned));
  progress.Finish();
  CommitResult result;
  if (written.rows > 0 || options.watermark) {
    ARROW_ASSIGN_OR_RAISE(result, write::CommitFiles(table, snapshot, snapshot->schema, written.files, written.rows,
                                                     options.operation, options.max_attempts, options.watermark));
  }
  result.spilled_runs = written.spilled_runs;
  result.spilled_bytes = written.spilled_bytes;
  result.merge_passes = written.merge_passes;
  result.memory_limit_bytes = written.memory_limit_bytes;
  result.peak_memory_bytes = PeakMemoryBytes();
  return result;
}

}  // namespace bazof
