// bazof log and bazof history.
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include "bazof/error.h"
#include "bazof/inspect.h"
#include "io/storage.h"
#include "metadata/key_text.h"
#include "read/footer_cache.h"
#include "read/run_reader.h"

namespace bazof {

arrow::Result<std::vector<LogEntry>> ReadLog(const Table& table) {
  std::vector<LogEntry> out;
  // Retained versions only: older ones were vacuumed (or, below 1, never
  // existed in tables made by gen or the original implementation).
  ARROW_ASSIGN_OR_RAISE(Version oldest, table.OldestVersion());
  for (int64_t v = oldest.value(); v <= table.current_version().value(); ++v) {
    ARROW_ASSIGN_OR_RAISE(auto snap, table.SnapshotAt(Version(v)));
    out.push_back(LogEntry{Version(v), snap->commit});
  }
  return out;
}

arrow::Result<CommitTime> ParseCommitTime(std::string_view text, std::string_view what) {
  ARROW_ASSIGN_OR_RAISE(auto t, ParseEventTime(text, what));
  return CommitTime{t.micros()};
}

arrow::Result<Version> VersionAtCommitTime(const Table& table, CommitTime t) {
  ARROW_ASSIGN_OR_RAISE(auto log, ReadLog(table));
  std::optional<Version> found;
  std::optional<std::string> first;
  for (const auto& e : log) {
    if (!e.commit || e.commit->timestamp.empty()) continue;
    if (!first) first = e.commit->timestamp;
    auto committed = ParseEventTime(e.commit->timestamp, "commit timestamp");
    if (!committed.ok()) {
      return Corruption("table '", table.location(), "' version ", e.version.value(), ": commit timestamp '",
                        e.commit->timestamp, "' is not RFC 3339");
    }
    // Versions are committed in order; a clock that stepped back does not
    // hide a later version committed at or before t.
    if (committed->micros() <= t.micros) found = e.version;
  }
  const std::string shown = FormatEventTime(EventTime::FromMicros(t.micros));
  if (!first) {
    return InvalidArgument("table '", table.location(), "' records no commit times (legacy snapshots): ",
                           "name a version instead of a commit time");
  }
  if (!found) {
    return NotFound("table '", table.location(), "': no version was committed at or before ",
                                   shown, " (the first retained commit is at ", *first, ")");
  }
  return *found;
}

arrow::Result<std::shared_ptr<arrow::Table>> LogTable(const std::vector<LogEntry>& log) {
  arrow::Int64Builder version, rows, added, removed;
  arrow::StringBuilder timestamp, operation, description;
  for (const auto& e : log) {
    ARROW_RETURN_NOT_OK(version.Append(e.version.value()));
    if (e.commit) {
      ARROW_RETURN_NOT_OK(timestamp.Append(e.commit->timestamp));
      ARROW_RETURN_NOT_OK(operation.Append(e.commit->operation));
      ARROW_RETURN_NOT_OK(rows.Append(e.commit->rows_added));
      ARROW_RETURN_NOT_OK(added.Append(static_cast<int64_t>(e.commit->files_added.size())));
      ARROW_RETURN_NOT_OK(removed.Append(static_cast<int64_t>(e.commit->files_removed.size())));
      ARROW_RETURN_NOT_OK(description.Append(e.commit->description));
    } else {
      ARROW_RETURN_NOT_OK(timestamp.AppendNull());
      ARROW_RETURN_NOT_OK(operation.Append("legacy"));
      ARROW_RETURN_NOT_OK(rows.AppendNull());
      ARROW_RETURN_NOT_OK(added.AppendNull());
      ARROW_RETURN_NOT_OK(removed.AppendNull());
      ARROW_RETURN_NOT_OK(description.AppendNull());
    }
  }
  auto schema = arrow::schema({arrow::field("version", arrow::int64()), arrow::field("timestamp", arrow::utf8()),
                               arrow::field("operation", arrow::utf8()), arrow::field("rows_added", arrow::int64()),
                               arrow::field("files_added", arrow::int64()),
                               arrow::field("files_removed", arrow::int64()),
                               arrow::field("description", arrow::utf8())});
  arrow::ArrayVector cols(7);
  ARROW_RETURN_NOT_OK(version.Finish(&cols[0]));
  ARROW_RETURN_NOT_OK(timestamp.Finish(&cols[1]));
  ARROW_RETURN_NOT_OK(operation.Finish(&cols[2]));
  ARROW_RETURN_NOT_OK(rows.Finish(&cols[3]));
  ARROW_RETURN_NOT_OK(added.Finish(&cols[4]));
  ARROW_RETURN_NOT_OK(removed.Finish(&cols[5]));
  ARROW_RETURN_NOT_OK(description.Finish(&cols[6]));
  return arrow::Table::Make(schema, cols);
}

arrow::Result<std::shared_ptr<arrow::Table>> KeyHistory(
    const Table& table, const std::vector<std::pair<std::string, std::string>>& key,
    std::optional<Version> version) {
  std::shared_ptr<const Snapshot> snap = table.current_snapshot();
  if (version) {
    ARROW_ASSIGN_OR_RAISE(snap, table.SnapshotAt(*version));
  }
  const TableSchema& schema = snap->schema;

  std::vector<int> value_columns(schema.value_columns.size());
  for (size_t i = 0; i < value_columns.size(); ++i) value_columns[i] = static_cast<int>(i);
  ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(*snap, std::move(value_columns)));

  // The key, encoded as the merge encodes it.
  ARROW_ASSIGN_OR_RAISE(auto key_texts, metadata::KeyTexts(schema, key));
  KeyValue key_value;
  for (size_t i = 0; i < schema.key_columns.size(); ++i) {
    const auto& k = schema.key_columns[i];
    auto scalar = arrow::Scalar::Parse(k.type, key_texts[i]);
    if (!scalar.ok()) {
      return InvalidArgument("--key: '", key_texts[i], "' is not a valid ", k.type->ToString());
    }
    key_value.push_back(*scalar);
  }
  ARROW_ASSIGN_OR_RAISE(auto code, shape->codec.EncodeScalars(key_value));

  // Format-1 deltas hold every event; bases are derived and skipped. Legacy
  // tables have no versions: every file counts, as version 1.
  std::vector<std::pair<DataFileRef, int64_t>> files;  // (file, committing version)
  for (const DataFileRef* f : snap->AllFiles()) {
    const bool is_base = std::any_of(snap->segments.begin(), snap->segments.end(),
                                     [&](const Segment& s) { return s.base && s.base->path == f->path; });
    if (snap->format_version >= 1 && is_base) continue;
    files.emplace_back(*f, f->version ? f->version->value() : snap->version.value());
  }

  arrow::FieldVector piece_fields = shape->output_schema->fields();
  piece_fields.insert(piece_fields.begin() + schema.key_columns.size() + 1,
                      {arrow::field("version", arrow::int64(), false),
                       arrow::field("deleted", arrow::boolean(), false),
                       arrow::field("_order", arrow::int64(), false)});
  auto piece_schema = arrow::schema(piece_fields);
  read::KeyBounds bounds;
  bounds.key_in = {code};
  // Files whose recorded key range misses the key are not opened; in the
  // others only the row groups whose statistics admit the key are read.
  std::vector<size_t> wanted;
  for (size_t fi = 0; fi < files.size(); ++fi) {
    if (read::MayHoldKeys(files[fi].first, shape->codec, bounds)) wanted.push_back(fi);
  }
  // The files are independent: read on parallel threads, each file's rows
  // ordered by (file, row) through `_order`.
  std::vector<std::vector<std::shared_ptr<arrow::RecordBatch>>> per_file(wanted.size());
  // The key's rows of a sorted file with a page index, reading only the
  // pages whose key range admits it (docs/spec.md §7b item 8); false when
  // page reads would not pay (ReadKeyPages, object storage) or the file has
  // no page index.
  auto read_pages = [&](size_t wi, const std::shared_ptr<read::OpenedFile>& opened) -> arrow::Result<bool> {
    const size_t fi = wanted[wi];
    // On object storage a request costs more than the bytes it saves: the page
    // index and the two page fetches would be three requests per file where
    // the row groups' chunks are one (measured: bench/s3_requests.py --keyed).
    if (!opened->planned.ref.sorted || table.storage()->high_latency()) return false;
    ARROW_ASSIGN_OR_RAISE(auto access, read::RowGroupAccess::Make(*table.storage(), opened, *shape));
    const std::vector<int> rgs = access->RowGroupsFor(bounds.key_in);
    if (rgs.empty()) return true;
    std::vector<int64_t> file_rows;
    ARROW_ASSIGN_OR_RAISE(auto rb, access->ReadKeyPages(rgs, bounds.key_in, &file_rows));
    if (!rb) return false;
    const auto& views = rb->keys.views;
    auto lo = std::lower_bound(views.begin() + rb->begin, views.begin() + rb->end, std::string_view(code));
    auto hi = std::upper_bound(lo, views.begin() + rb->end, std::string_view(code));
    const int64_t start = lo - views.begin(), n = hi - lo;
    if (n == 0) return true;
    const std::vector<int64_t> rows(file_rows.begin() + start, file_rows.begin() + start + n);
    ARROW_ASSIGN_OR_RAISE(auto taken, access->TakeValues(rows, 64 * 1024, /*with_versions=*/true));
    arrow::Int64Builder vb, ob;
    std::shared_ptr<arrow::Array> da = taken.deleted;
    if (!da) {
      ARROW_ASSIGN_OR_RAISE(da, arrow::MakeArrayFromScalar(arrow::BooleanScalar(false), n));
    }
    std::shared_ptr<arrow::Array> va = taken.versions;
    if (!va) {
      ARROW_ASSIGN_OR_RAISE(va, arrow::MakeArrayFromScalar(arrow::Int64Scalar(files[fi].second), n));
    }
    // Orders as the whole-file read does: (file, row).
    ARROW_RETURN_NOT_OK(ob.Reserve(n));
    for (int64_t r : rows) ob.UnsafeAppend((static_cast<int64_t>(fi) << 32) + r);
    std::shared_ptr<arrow::Array> oa;
    ARROW_RETURN_NOT_OK(ob.Finish(&oa));
    arrow::ArrayVector cols = rb->batch->Slice(start, n)->columns();
    cols.push_back(taken.columns[0]);
    cols.insert(cols.end(), {va, da, oa});
    cols.insert(cols.end(), taken.columns.begin() + 1, taken.columns.end());
    per_file[wi].push_back(arrow::RecordBatch::Make(piece_schema, n, cols));
    return true;
  };
  auto read_file = [&](size_t wi) -> arrow::Status {
    const size_t fi = wanted[wi];
    planning::PlannedFile planned{files[fi].first, false, static_cast<int64_t>(fi)};
    ARROW_ASSIGN_OR_RAISE(auto opened,
                          read::OpenDataFile(*table.storage(), planned, *shape, table.footer_cache().get()));
    ARROW_ASSIGN_OR_RAISE(const bool by_pages, read_pages(wi, opened));
    if (by_pages) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto run, read::RunSource::Make(*table.storage(), opened, *shape, bounds, 64 * 1024));
    int64_t order = static_cast<int64_t>(fi) << 32;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto rb, run->Next());
      if (!rb) break;
      const auto& views = rb->keys.views;
      auto lo = std::lower_bound(views.begin() + rb->begin, views.begin() + rb->end, std::string_view(code));
      auto hi = std::upper_bound(lo, views.begin() + rb->end, std::string_view(code));
      const int64_t start = lo - views.begin(), n = hi - lo;
      if (n == 0) continue;
      auto slice = rb->batch->Slice(start, n);
      arrow::Int64Builder vb, ob;
      arrow::BooleanBuilder db;
      for (int64_t r = 0; r < n; ++r) {
        // Compacted files record each event's own version; others are the file's.
        ARROW_RETURN_NOT_OK(vb.Append(rb->versions ? rb->VersionOf(start + r) : files[fi].second));
        ARROW_RETURN_NOT_OK(db.Append(rb->IsDeleted(start + r)));
        ARROW_RETURN_NOT_OK(ob.Append(order++));
      }
      arrow::ArrayVector cols = slice->columns();
      std::shared_ptr<arrow::Array> va, da, oa;
      ARROW_RETURN_NOT_OK(vb.Finish(&va));
      ARROW_RETURN_NOT_OK(db.Finish(&da));
      ARROW_RETURN_NOT_OK(ob.Finish(&oa));
      cols.insert(cols.begin() + schema.key_columns.size() + 1, {va, da, oa});
      per_file[wi].push_back(arrow::RecordBatch::Make(piece_schema, n, cols));
    }
    return arrow::Status::OK();
  };
  {
    const size_t threads =
        std::min<size_t>(wanted.size(), std::max(1u, std::thread::hardware_concurrency()));
    std::atomic<size_t> next{0};
    std::vector<arrow::Status> status(std::max<size_t>(threads, 1));
    auto work = [&](size_t worker) {
      for (size_t wi = next++; wi < wanted.size(); wi = next++) {
        status[worker] = read_file(wi);
        if (!status[worker].ok()) {
          next = wanted.size();
          return;
        }
      }
    };
    if (threads <= 1) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (size_t w = 0; w < threads; ++w) pool.emplace_back(work, w);
      for (auto& t : pool) t.join();
    }
    for (const auto& st : status) ARROW_RETURN_NOT_OK(st);
  }
  std::vector<std::shared_ptr<arrow::RecordBatch>> pieces;
  for (auto& f : per_file) pieces.insert(pieces.end(), f.begin(), f.end());
  ARROW_ASSIGN_OR_RAISE(auto all, arrow::Table::FromRecordBatches(piece_schema, pieces));
  // Event-time order; ties in commit order (version, then file, then row).
  arrow::compute::SortOptions sort({arrow::compute::SortKey(schema.event_time.name),
                                    arrow::compute::SortKey("version"), arrow::compute::SortKey("_order")});
  ARROW_ASSIGN_OR_RAISE(auto idx, arrow::compute::SortIndices(all, sort));
  ARROW_ASSIGN_OR_RAISE(auto sorted, arrow::compute::Take(all, idx));
  auto result = sorted.table();
  ARROW_ASSIGN_OR_RAISE(result, result->RemoveColumn(result->schema()->GetFieldIndex("_order")));
  if (snap->format_version >= 1 || result->num_rows() < 2) return result;
  // Legacy bases repeat the events before their segment's start that deltas
  // of earlier segments also hold: one event, listed once. Rows equal in
  // every column (all legacy rows are version 1) are the same event.
  ARROW_ASSIGN_OR_RAISE(result, result->CombineChunks());
  arrow::BooleanBuilder keep;
  for (int64_t r = 0; r < result->num_rows(); ++r) {
    bool duplicate = r + 1 < result->num_rows();
    for (int c = 0; duplicate && c < result->num_columns(); ++c) {
      const auto& col = *result->column(c)->chunk(0);
      ARROW_ASSIGN_OR_RAISE(auto here, col.GetScalar(r));
      ARROW_ASSIGN_OR_RAISE(auto next, col.GetScalar(r + 1));
      duplicate = here->Equals(*next);
    }
    ARROW_RETURN_NOT_OK(keep.Append(!duplicate));
  }
  std::shared_ptr<arrow::Array> mask;
  ARROW_RETURN_NOT_OK(keep.Finish(&mask));
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(result, mask));
  return filtered.table();
}

}  // namespace bazof
