// bazof forget: every event of some keys removed from the current version by
// rewriting the files that hold them, as one commit F whose snapshot tells
// vacuum to expire every version below F (docs/spec.md §20.4).
//
//   files of s<V> whose key range may hold a key ──read, drop the keys' rows──▶
//     new file (same columns, version and order) | nothing (file held only them)
//   files synced ──▶ s<F>.json, F = V+1, erase_below = F (CreateExclusive)
//   later: vacuum expires s<v> for v < F and deletes the replaced files
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>

#include <charconv>

#include "bazof/error.h"
#include "bazof/timeline.h"
#include "compute_init.h"
#include "io/storage.h"
#include "metadata/key_text.h"
#include "metadata/page_checksums.h"
#include "text_escape.h"
#include "write/commit.h"
#include "write/data_file_writer.h"

namespace bazof {
namespace {

// True unless the file's recorded key range excludes every key.
arrow::Result<bool> MayHold(const DataFileRef& f, const std::vector<std::vector<std::shared_ptr<arrow::Scalar>>>& tuples) {
  if (f.min_key.size() != 1 || f.max_key.size() != 1) return true;  // composite: no cheap test, read it
  for (const auto& tuple : tuples) {
    const auto& k = tuple[0];
    ARROW_ASSIGN_OR_RAISE(auto below, arrow::compute::CallFunction("less", {k, f.min_key[0]}));
    ARROW_ASSIGN_OR_RAISE(auto above, arrow::compute::CallFunction("greater", {k, f.max_key[0]}));
    const auto& b = below.scalar_as<arrow::BooleanScalar>();
    const auto& a = above.scalar_as<arrow::BooleanScalar>();
    if (!(b.is_valid && b.value) && !(a.is_valid && a.value)) return true;
  }
  return false;
}

// The table schema a data file was written for, from its own columns: a
// rewrite keeps exactly those columns (with their ids), whatever the table's
// schema is now.
TableSchema FileTableSchema(const arrow::Schema& file, size_t nkeys) {
  auto spec = [](const arrow::Field& f) {
    ColumnSpec c{f.name(), 0, f.type(), f.nullable()};
    if (f.metadata()) {
      if (auto id = f.metadata()->Get("PARQUET:field_id"); id.ok()) {
        int32_t n = 0;
        auto [p, ec] = std::from_chars(id->data(), id->data() + id->size(), n);
        if (ec == std::errc() && p == id->data() + id->size()) c.id = n;
      }
    }
    return c;
  };
  TableSchema out;
  for (int i = 0; i < file.num_fields(); ++i) {
    const auto& f = *file.field(i);
    if (f.name() == kDeletedColumn || f.name() == kVersionColumn) continue;
    if (static_cast<size_t>(i) < nkeys) {
      out.key_columns.push_back(spec(f));
    } else if (static_cast<size_t>(i) == nkeys) {
      out.event_time = spec(f);
    } else {
      out.value_columns.push_back(spec(f));
    }
  }
  return out;
}

struct Rewritten {
  std::optional<DataFileRef> ref;  // nullopt: the file held only forgotten rows
  int64_t removed = 0;
};

// The rows of `rows` whose key is one of `tuples` (one scalar per key column).
// A single-column key is looked up in a set; a composite one compared column
// by column (forget takes few keys).
arrow::Result<arrow::Datum> KeyHits(const arrow::Table& rows, const TableSchema& schema,
                                    const std::vector<std::vector<std::shared_ptr<arrow::Scalar>>>& tuples,
                                    const std::shared_ptr<arrow::Array>& value_set) {
  const size_t nkeys = schema.key_columns.size();
  std::vector<arrow::Datum> columns;
  for (size_t c = 0; c < nkeys; ++c) {
    // Key columns may have been written narrower than the table's type; widening is lossless.
    ARROW_ASSIGN_OR_RAISE(auto col, arrow::compute::Cast(rows.column(static_cast<int>(c)), schema.key_columns[c].type));
    columns.push_back(std::move(col));
  }
  if (nkeys == 1) return arrow::compute::IsIn(columns[0], arrow::compute::SetLookupOptions(value_set));
  arrow::Datum any;
  for (const auto& tuple : tuples) {
    arrow::Datum all;
    for (size_t c = 0; c < nkeys; ++c) {
      ARROW_ASSIGN_OR_RAISE(auto eq, arrow::compute::CallFunction("equal", {columns[c], tuple[c]}));
      if (all.is_value()) {
        ARROW_ASSIGN_OR_RAISE(all, arrow::compute::And(all, eq));
      } else {
        all = std::move(eq);
      }
    }
    if (any.is_value()) {
      ARROW_ASSIGN_OR_RAISE(any, arrow::compute::Or(any, all));
    } else {
      any = std::move(all);
    }
  }
  // Key columns are never null, so neither is the mask.
  return any;
}

arrow::Result<Rewritten> RewriteWithout(io::Storage& storage, const DataFileRef& f, const TableSchema& schema,
                                        const std::vector<std::vector<std::shared_ptr<arrow::Scalar>>>& tuples,
                                        const std::shared_ptr<arrow::Array>& value_set, Version planned) {
  const std::string where = "'" + storage.Describe(f.path) + "'";
  ARROW_ASSIGN_OR_RAISE(auto input, storage.OpenForRead(f.path, f.size));
  parquet::arrow::FileReaderBuilder builder;
  if (auto st = builder.Open(input, metadata::DataFileReaderProperties()); !st.ok()) {
    return Corruption("data file ", where, ": not a Parquet file (", st.message(), ")");
  }
  parquet::ArrowReaderProperties props;
  props.set_use_threads(false);
  std::unique_ptr<parquet::arrow::FileReader> reader;
  ARROW_RETURN_NOT_OK(builder.properties(props)->Build(&reader));
  auto read = reader->ReadTable();
  ARROW_RETURN_NOT_OK(WithContext(metadata::PageReadError(read.status(), ""), "data file " + where + ": "));
  std::shared_ptr<arrow::Table> rows = *std::move(read);
  if (rows->num_columns() < static_cast<int>(schema.key_columns.size()) + 1) {
    return Corruption("data file ", where, ": fewer columns than the key and event time");
  }
  ARROW_ASSIGN_OR_RAISE(auto hit, KeyHits(*rows, schema, tuples, value_set));
  ARROW_ASSIGN_OR_RAISE(auto keep, arrow::compute::Invert(hit));
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(rows, keep));
  auto kept = filtered.table();
  Rewritten out;
  out.removed = rows->num_rows() - kept->num_rows();
  if (out.removed == 0) {
    out.ref = f;
    return out;
  }
  if (kept->num_rows() == 0) return out;
  const TableSchema file_schema = FileTableSchema(*rows->schema(), schema.key_columns.size());
  const bool with_deleted = rows->schema()->GetFieldIndex(kDeletedColumn) >= 0;
  const bool with_versions = rows->schema()->GetFieldIndex(kVersionColumn) >= 0;
  ARROW_ASSIGN_OR_RAISE(auto stream,
                        write::DataFileStream::Open(storage, file_schema, write::NewDataFileName(planned),
                                                    f.version.value_or(Version(0)), with_deleted, with_versions));
  const auto file_arrow_schema = write::DataFileSchema(file_schema, with_deleted, with_versions);
  arrow::TableBatchReader batches(*kept);
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(batches.ReadNext(&batch));
    if (!batch) break;
    // The file's own Arrow schema (field ids included) is the stream's.
    auto same = arrow::RecordBatch::Make(file_arrow_schema, batch->num_rows(), batch->columns());
    ARROW_RETURN_NOT_OK(stream->Write(*same));
  }
  ARROW_ASSIGN_OR_RAISE(auto ref, stream->Close());
  ARROW_RETURN_NOT_OK(storage.Sync(ref.path));
  ref.version = f.version;
  ref.sorted = f.sorted;
  out.ref = std::move(ref);
  return out;
}

}  // namespace

arrow::Result<ForgetResult> Forget(const std::shared_ptr<Table>& table, const std::vector<std::string>& keys) {
  std::vector<std::vector<std::pair<std::string, std::string>>> named;
  for (const auto& k : keys) named.push_back({{"", k}});
  return ForgetKeys(table, named);
}

arrow::Result<ForgetResult> ForgetKeys(const std::shared_ptr<Table>& table,
                                       const std::vector<std::vector<std::pair<std::string, std::string>>>& keys) {
  ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
  auto snap = table->current_snapshot();
  const std::string& where = table->location();
  if (snap->format_version < 1) {
    return InvalidArgument("table '", where, "' is a bazof 0.1 / azof 0.2 table: bazof reads it but does not rewrite it");
  }
  if (keys.empty()) return InvalidArgument("forget on '", where, "': no key given");
  const auto& key_columns = snap->schema.key_columns;
  std::vector<std::vector<std::shared_ptr<arrow::Scalar>>> tuples;
  for (const auto& key : keys) {
    auto texts = metadata::KeyTexts(snap->schema, key);
    if (!texts.ok()) return InvalidArgument("forget on '", where, "': ", texts.status().message());
    std::vector<std::shared_ptr<arrow::Scalar>> tuple;
    for (size_t c = 0; c < key_columns.size(); ++c) {
      const auto& k = (*texts)[c];
      const auto& type = key_columns[c].type;
      if (arrow::is_string(type->id())) {
        ARROW_RETURN_NOT_OK(CheckUtf8(k, "key (column '" + key_columns[c].name + "')"));
      }
      auto s = arrow::Scalar::Parse(type, k);
      if (!s.ok()) {
        return InvalidArgument("forget on '", where, "': key '", QuoteForMessage(k), "' is not a ",
                               type->ToString(), " (column '", key_columns[c].name, "')");
      }
      tuple.push_back(*s);
    }
    tuples.push_back(std::move(tuple));
  }
  std::shared_ptr<arrow::Array> value_set;
  if (key_columns.size() == 1) {
    ARROW_ASSIGN_OR_RAISE(auto builder, arrow::MakeBuilder(key_columns[0].type));
    for (const auto& t : tuples) ARROW_RETURN_NOT_OK(builder->AppendScalar(*t[0]));
    ARROW_ASSIGN_OR_RAISE(value_set, builder->Finish());
  }

  auto& storage = *table->storage();
  const Version planned(snap->version.value() + 1);
  ForgetResult result;
  Snapshot next = *snap;
  auto visit = [&](DataFileRef& f) -> arrow::Result<std::optional<DataFileRef>> {
    ARROW_ASSIGN_OR_RAISE(bool may, MayHold(f, tuples));
    if (!may) return std::optional<DataFileRef>(f);
    ARROW_ASSIGN_OR_RAISE(auto r, RewriteWithout(storage, f, snap->schema, tuples, value_set, planned));
    if (r.removed == 0) return std::optional<DataFileRef>(f);
    result.events_removed += r.removed;
    result.files_removed.push_back(f.path);
    if (r.ref) {
      ++result.files_rewritten;
      result.files_added.push_back(r.ref->path);
    } else {
      ++result.files_dropped;
    }
    return r.ref;
  };
  auto walk = [&](auto&& self, std::vector<Segment>& segs) -> arrow::Status {
    for (auto& s : segs) {
      // A base is derived from the deltas; dropping an emptied one only makes
      // scans read more deltas (docs/spec.md §8).
      if (s.base) {
        ARROW_ASSIGN_OR_RAISE(s.base, visit(*s.base));
      }
      std::vector<DataFileRef> deltas;
      for (auto& d : s.deltas) {
        ARROW_ASSIGN_OR_RAISE(auto kept, visit(d));
        // Dropping a delta keeps the order of the others: the tie rule holds.
        if (kept) deltas.push_back(std::move(*kept));
      }
      s.deltas = std::move(deltas);
      ARROW_RETURN_NOT_OK(self(self, s.segments));
    }
    return arrow::Status::OK();
  };
  ARROW_RETURN_NOT_OK(walk(walk, next.segments));
  if (result.files_removed.empty()) return result;

  next.version = planned;
  next.erase_below = planned;
  CommitInfo commit;
  commit.operation = "forget";
  commit.timestamp = write::WallClockNow();
  commit.rows_added = 0;
  commit.files_added = result.files_added;
  commit.files_removed = result.files_removed;
  // The keys are not recorded: the point is that they are gone.
  commit.description = "forget " + std::to_string(keys.size()) + " key(s): " + std::to_string(result.events_removed) +
                       " event(s) removed";
  next.commit = commit;
  auto st = write::CommitSnapshot(storage, next);
  if (!st.ok()) {
    for (const auto& f : result.files_added) (void)storage.DeleteFile(f);
    if (ErrorKindOf(st) == ErrorKind::kConflict) {
      return Conflict("forget on '", where, "': version ", planned.value(),
                      " was committed by another writer meanwhile; nothing changed, run forget again");
    }
    return WithContext(st, "commit of '" + where + "': ");
  }
  result.committed = true;
  result.version = planned;
  return result;
}

}  // namespace bazof
