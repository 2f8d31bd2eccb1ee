#include "test_util.h"

#include <arrow/filesystem/mockfs.h>

#include <algorithm>

#include "write/data_file_writer.h"

namespace bazof::testing {

TableSchema KvSchema() {
  TableSchema s;
  s.key_columns = {ColumnSpec{"key", 1, arrow::utf8(), false}};
  s.event_time = ColumnSpec{"event_time", 2, arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), false};
  s.value_columns = {ColumnSpec{"value", 3, arrow::utf8(), true}};
  s.next_column_id = 4;
  return s;
}

std::shared_ptr<io::Storage> MemStorage() {
  auto fs = std::make_shared<arrow::fs::internal::MockFileSystem>(std::chrono::system_clock::now());
  return io::Storage::Make(fs, "t", "mem://t");
}

namespace {

std::shared_ptr<arrow::Table> EventsInOrder(const TableSchema& schema, const std::vector<Ev>& events) {
  arrow::StringBuilder k, v;
  arrow::TimestampBuilder t(schema.event_time.type, arrow::default_memory_pool());
  arrow::BooleanBuilder d;
  for (const auto& e : events) {
    (void)k.Append(e.key);
    (void)t.Append(e.ms);
    (void)d.Append(e.deleted);
    if (e.deleted) (void)v.AppendNull(); else (void)v.Append(e.value);
  }
  std::shared_ptr<arrow::Array> ka, ta, va, da;
  (void)k.Finish(&ka);
  (void)t.Finish(&ta);
  (void)v.Finish(&va);
  (void)d.Finish(&da);
  return arrow::Table::Make(write::DataFileSchema(schema, true), {ka, ta, va, da});
}

}  // namespace

std::shared_ptr<arrow::Table> EventsTable(const TableSchema& schema, std::vector<Ev> events) {
  std::stable_sort(events.begin(), events.end(), [](const Ev& a, const Ev& b) {
    return a.key != b.key ? a.key < b.key : a.ms < b.ms;
  });
  return EventsInOrder(schema, events);
}

std::shared_ptr<arrow::RecordBatchReader> AppendInput(std::vector<Ev> events, int64_t batch_rows) {
  auto t = EventsInOrder(KvSchema(), events);  // input order, not sorted
  t = t->RenameColumns({"key", "event_time", "value", "_deleted"}).ValueOrDie();
  auto batch = t->CombineChunksToBatch().ValueOrDie();
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (int64_t off = 0; off < batch->num_rows(); off += batch_rows) batches.push_back(batch->Slice(off, batch_rows));
  return arrow::RecordBatchReader::Make(batches, batch->schema()).ValueOrDie();
}

arrow::Result<KvState> ScanKv(const std::shared_ptr<Table>& table, std::optional<int64_t> as_of_ms,
                              std::optional<int64_t> version, int threads, int64_t batch_size) {
  auto b = table->NewScan();
  if (as_of_ms) b.AsOf(EventTime::FromMicros(*as_of_ms * 1000));
  if (version) b.AtVersion(Version(*version));
  b.Threads(threads).BatchSize(batch_size);
  ARROW_ASSIGN_OR_RAISE(auto scan, b.Build());
  ARROW_ASSIGN_OR_RAISE(auto result, scan->ToTable());
  ARROW_ASSIGN_OR_RAISE(result, result->CombineChunks());
  KvState out;
  if (result->num_rows() == 0) return out;
  auto keys = std::static_pointer_cast<arrow::StringArray>(result->column(0)->chunk(0));
  auto times = std::static_pointer_cast<arrow::TimestampArray>(result->column(1)->chunk(0));
  auto values = std::static_pointer_cast<arrow::StringArray>(result->column(2)->chunk(0));
  std::string prev;
  for (int64_t i = 0; i < result->num_rows(); ++i) {
    std::string key(keys->GetView(i));
    if (i > 0 && !(prev < key)) return arrow::Status::Invalid("scan output not sorted by key at ", key);
    prev = key;
    out[key] = {times->Value(i), values->IsNull(i) ? "<null>" : std::string(values->GetView(i))};
  }
  return out;
}

namespace {

std::map<std::string, const OracleEvent*> Winners(const std::vector<OracleEvent>& events,
                                                  int64_t t_ms, int64_t v) {
  std::map<std::string, const OracleEvent*> best;
  for (const auto& e : events) {
    if (e.version > v || e.ev.ms > t_ms) continue;
    auto& b = best[e.ev.key];
    if (!b || std::tie(e.ev.ms, e.version, e.seq) > std::tie(b->ev.ms, b->version, b->seq)) b = &e;
  }
  return best;
}

}  // namespace

KvState Oracle(const std::vector<OracleEvent>& events, int64_t t_ms, int64_t v) {
  KvState out;
  for (auto& [k, e] : Winners(events, t_ms, v)) {
    if (!e->ev.deleted) out[k] = {e->ev.ms, e->ev.value};
  }
  return out;
}

std::vector<Ev> BaseRows(const std::vector<OracleEvent>& events, int64_t s_ms, int64_t v) {
  std::vector<Ev> rows;
  for (auto& [k, e] : Winners(events, s_ms, v)) rows.push_back(e->ev);
  return rows;
}

int64_t Ms(const std::string& iso) {
  return ParseEventTime(iso).ValueOrDie().micros() / 1000;
}

}  // namespace bazof::testing
