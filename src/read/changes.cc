// Changes between two (event time, version) points (docs/spec.md, "Changes"):
// a streaming merge-join by key of the two as-of scans. Each as-of merge
// starts from the base of its point's segment, so it reads far less than the
// all-events stream would (measured on W1: 16x less time than one pass over
// every event up to max(T1, T2)).
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <thread>

#include "bazof/error.h"
#include "bazof/views.h"
#include "bazof/table.h"
#include "read/changes_keys.h"
#include "read/key_codec.h"
#include "read/run_reader.h"
#include "read/views_util.h"
#include "util/memory_budget.h"

namespace bazof {
namespace {

constexpr std::string_view kInsert = "insert";
constexpr std::string_view kUpdate = "update";
constexpr std::string_view kDelete = "delete";

// Rows of one output batch: where each side's row and the key come from
// (plain vectors, turned into arrays once per batch).
struct ChangeRows {
  enum Kind : uint8_t { kInsertRow, kUpdateRow, kDeleteRow };
  std::vector<int64_t> key, old_row, new_row;  // -1: the side is absent
  std::vector<uint8_t> kind;

  void Add(int64_t key_row, int64_t o, int64_t n, Kind k) {
    key.push_back(key_row);
    old_row.push_back(o);
    new_row.push_back(n);
    kind.push_back(k);
  }
  int64_t size() const { return static_cast<int64_t>(key.size()); }

  // key(s), kind, old/new event time, old/new per value column. `old_cols`
  // and `new_cols` are (event time, values...); key row r < `new_offset` is
  // row r of `old_keys`, else row r - new_offset of `new_keys`.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Finish(const std::shared_ptr<arrow::Schema>& schema,
                                                            const arrow::ArrayVector& old_keys,
                                                            const arrow::ArrayVector& new_keys, int64_t new_offset,
                                                            const arrow::ArrayVector& old_cols,
                                                            const arrow::ArrayVector& new_cols) {
    ARROW_ASSIGN_OR_RAISE(auto ki, Indices(key));
    ARROW_ASSIGN_OR_RAISE(auto oi, Indices(old_row));
    ARROW_ASSIGN_OR_RAISE(auto ni, Indices(new_row));
    ARROW_ASSIGN_OR_RAISE(auto kinds, Kinds());
    const int64_t n = size();
    arrow::ArrayVector cols;
    // Keys: a slice of one side when they are consecutive rows of it (every
    // key of a stretch changed), else taken from both sides concatenated.
    const std::optional<int64_t> k0 = Consecutive(*ki);
    if (k0 && *k0 + n <= new_offset) {
      for (const auto& k : old_keys) cols.push_back(k->Slice(*k0, n));
    } else if (k0 && *k0 >= new_offset) {
      for (const auto& k : new_keys) cols.push_back(k->Slice(*k0 - new_offset, n));
    } else {
      for (size_t k = 0; k < new_keys.size(); ++k) {
        arrow::ArrayVector chunks;
        if (!old_keys.empty()) chunks.push_back(old_keys[k]);
        chunks.push_back(new_keys[k]);
        ARROW_ASSIGN_OR_RAISE(auto joined, arrow::Concatenate(chunks));
        ARROW_ASSIGN_OR_RAISE(auto a, read::TakeRows(joined, ki));
        cols.push_back(std::move(a));
      }
    }
    cols.push_back(kinds);
    const std::optional<int64_t> o0 = Consecutive(*oi), n0 = Consecutive(*ni);
    for (size_t c = 0; c < new_cols.size(); ++c) {
      ARROW_ASSIGN_OR_RAISE(auto a, Rows(old_cols[c], oi, o0));
      ARROW_ASSIGN_OR_RAISE(auto b, Rows(new_cols[c], ni, n0));
      cols.push_back(std::move(a));
      cols.push_back(std::move(b));
    }
    return arrow::RecordBatch::Make(schema, n, std::move(cols));
  }

 private:
  // An int64 array of `rows`, null where negative.
  static arrow::Result<std::shared_ptr<arrow::Array>> Indices(const std::vector<int64_t>& rows) {
    const int64_t n = static_cast<int64_t>(rows.size());
    ARROW_ASSIGN_OR_RAISE(auto values, arrow::AllocateBuffer(n * 8));
    if (n > 0) std::memcpy(values->mutable_data(), rows.data(), n * 8);
    int64_t nulls = 0;
    for (int64_t r : rows) nulls += r < 0;
    std::shared_ptr<arrow::Buffer> validity;
    if (nulls > 0) {
      ARROW_ASSIGN_OR_RAISE(validity, arrow::AllocateBitmap(n));
      uint8_t* bits = validity->mutable_data();
      for (int64_t i = 0; i < n; ++i) arrow::bit_util::SetBitTo(bits, i, rows[i] >= 0);
    }
    return arrow::MakeArray(arrow::ArrayData::Make(arrow::int64(), n, {validity, std::move(values)}, nulls));
  }
  // The utf8 kind column.
  arrow::Result<std::shared_ptr<arrow::Array>> Kinds() const {
    static constexpr std::string_view kNames[] = {kInsert, kUpdate, kDelete};
    const int64_t n = size();
    int64_t bytes = 0;
    for (uint8_t k : kind) bytes += static_cast<int64_t>(kNames[k].size());
    ARROW_ASSIGN_OR_RAISE(auto offsets, arrow::AllocateBuffer((n + 1) * 4));
    ARROW_ASSIGN_OR_RAISE(auto data, arrow::AllocateBuffer(bytes));
    auto* off = reinterpret_cast<int32_t*>(offsets->mutable_data());
    char* out = reinterpret_cast<char*>(data->mutable_data());
    int32_t pos = 0;
    for (int64_t i = 0; i < n; ++i) {
      off[i] = pos;
      const std::string_view name = kNames[kind[i]];
      std::memcpy(out + pos, name.data(), name.size());
      pos += static_cast<int32_t>(name.size());
    }
    off[n] = pos;
    return arrow::MakeArray(arrow::ArrayData::Make(arrow::utf8(), n, {nullptr, std::move(offsets), std::move(data)}, 0));
  }
  // The first index when `idx` (int64) is first, first + 1, ... without nulls.
  static std::optional<int64_t> Consecutive(const arrow::Array& idx) {
    if (idx.length() == 0 || idx.null_count() > 0) return std::nullopt;
    const int64_t* v = static_cast<const arrow::Int64Array&>(idx).raw_values();
    for (int64_t i = 1; i < idx.length(); ++i) {
      if (v[i] != v[0] + i) return std::nullopt;
    }
    return v[0];
  }
  // Rows `idx` of `col`: a zero-copy slice when they are consecutive.
  static arrow::Result<std::shared_ptr<arrow::Array>> Rows(const std::shared_ptr<arrow::Array>& col,
                                                           const std::shared_ptr<arrow::Array>& idx,
                                                           std::optional<int64_t> first) {
    if (first) return col->Slice(*first, idx->length());
    return read::TakeRows(col, idx);
  }
};

// A streaming merge-join by key of two as-of scans (each sorted by key).
class JoinChangesReader : public arrow::RecordBatchReader {
 public:
  // old_map[c]: the old scan's column index for output side column c (0 =
  // event time), or -1 (the older version lacks it: null).
  JoinChangesReader(std::shared_ptr<arrow::RecordBatchReader> old_reader,
                    std::shared_ptr<arrow::RecordBatchReader> new_reader, read::KeyCodec codec,
                    std::shared_ptr<arrow::Schema> schema, std::vector<int> old_map)
      : codec_(std::move(codec)), schema_(std::move(schema)), old_map_(std::move(old_map)) {
    old_.reader = std::move(old_reader);
    new_.reader = std::move(new_reader);
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  arrow::Status Close() override {
    ARROW_RETURN_NOT_OK(old_.reader->Close());
    return new_.reader->Close();
  }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    const int keys = static_cast<int>(codec_.num_columns());
    if (!started_) {
      // A scan starts producing at its first ReadNext: the first batches of
      // both sides are asked for at once, so the two scans run side by side
      // from the start rather than the new one waiting for the old one's
      // first batch (on W1 that wait was 40% of the whole).
      started_ = true;
      ARROW_RETURN_NOT_OK(
          read::ParallelFor(2, 2, [&](int64_t i, int) { return Fill(i == 0 ? &old_ : &new_, i == 0); }));
    }
    while (true) {
      ARROW_RETURN_NOT_OK(Fill(&old_, true));
      ARROW_RETURN_NOT_OK(Fill(&new_, false));
      if (old_.ended && new_.ended) {
        *out = nullptr;
        return arrow::Status::OK();
      }
      ChangeRows rows;
      const int64_t offset = old_.batch ? old_.batch->num_rows() : 0;  // new rows' keys follow old's
      while (old_.Has() || new_.Has()) {
        if (old_.Open() || new_.Open()) break;  // a side needs its next batch
        int cmp = !old_.Has() ? 1 : !new_.Has() ? -1 : old_.Key().compare(new_.Key());
        if (cmp < 0) {
          rows.Add(old_.pos, old_.pos, -1, ChangeRows::kDeleteRow);
          ++old_.pos;
        } else if (cmp > 0) {
          rows.Add(offset + new_.pos, -1, new_.pos, ChangeRows::kInsertRow);
          ++new_.pos;
        } else {
          bool same = true;
          for (size_t c = 1; same && c < new_.side.size(); ++c) {
            same = read::CellsEqual(*old_.side[c], old_.pos, *new_.side[c], new_.pos);
          }
          if (!same) rows.Add(old_.pos, old_.pos, new_.pos, ChangeRows::kUpdateRow);
          ++old_.pos;
          ++new_.pos;
        }
      }
      if (rows.size() == 0) continue;
      arrow::ArrayVector old_keys, new_keys;
      for (int k = 0; k < keys; ++k) {
        if (old_.batch) old_keys.push_back(old_.batch->column(k));
        if (new_.batch) {
          new_keys.push_back(new_.batch->column(k));
        } else {
          ARROW_ASSIGN_OR_RAISE(auto none, arrow::MakeEmptyArray(schema_->field(k)->type()));
          new_keys.push_back(std::move(none));
        }
      }
      ARROW_ASSIGN_OR_RAISE(auto old_side, SideOrNulls(old_));
      ARROW_ASSIGN_OR_RAISE(auto new_side, SideOrNulls(new_));
      ARROW_ASSIGN_OR_RAISE(*out, rows.Finish(schema_, old_keys, new_keys, offset, old_side, new_side));
      return arrow::Status::OK();
    }
  }

 private:
  struct Side {
    std::shared_ptr<arrow::RecordBatchReader> reader;
    std::shared_ptr<arrow::RecordBatch> batch;
    arrow::ArrayVector side;  // event time, values (aligned to the output)
    read::KeyCodes codes;
    int64_t pos = 0;
    bool ended = false;
    bool Has() const { return batch && pos < batch->num_rows(); }
    // Exhausted the current batch but more may come.
    bool Open() const { return !ended && !Has(); }
    std::string_view Key() const { return codes.views[pos]; }
  };

  // Loads the side's next non-empty batch when the current one is used up.
  arrow::Status Fill(Side* s, bool is_old) {
    while (!s->ended && !s->Has()) {
      std::shared_ptr<arrow::RecordBatch> b;
      ARROW_RETURN_NOT_OK(s->reader->ReadNext(&b));
      s->batch = b;
      s->pos = 0;
      s->side.clear();
      if (!b) {
        s->ended = true;
        break;
      }
      const int keys = static_cast<int>(codec_.num_columns());
      s->codes = {};
      ARROW_RETURN_NOT_OK(codec_.Encode(arrow::ArrayVector(b->columns().begin(), b->columns().begin() + keys), &s->codes));
      // Output types are the new side's; the old side is aligned to them.
      for (size_t c = 0; c < old_map_.size(); ++c) {
        const auto& type = schema_->field(keys + 2 + 2 * static_cast<int>(c))->type();
        const int src = is_old ? old_map_[c] : static_cast<int>(c) + keys;
        if (src < 0) {
          ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(type, b->num_rows()));
          s->side.push_back(std::move(nulls));
        } else if (!b->column(src)->type()->Equals(type)) {
          ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(*b->column(src), type));
          s->side.push_back(std::move(cast));
        } else {
          s->side.push_back(b->column(src));
        }
      }
    }
    return arrow::Status::OK();
  }

  arrow::Result<arrow::ArrayVector> SideOrNulls(const Side& s) {
    if (s.batch) return s.side;
    arrow::ArrayVector out;
    const int keys = static_cast<int>(codec_.num_columns());
    for (size_t c = 0; c < old_map_.size(); ++c) {
      ARROW_ASSIGN_OR_RAISE(auto a, arrow::MakeArrayOfNull(schema_->field(keys + 2 + 2 * static_cast<int>(c))->type(), 0));
      out.push_back(std::move(a));
    }
    return out;
  }

  read::KeyCodec codec_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<int> old_map_;
  Side old_, new_;
  bool started_ = false;
};

// The changes of the key-side path (changes_keys.cc): the keys whose winners
// differ, compared cell by cell, in batches of at most `batch_size` keys.
class KeySideChangesReader : public arrow::RecordBatchReader {
 public:
  // old_map[c]: the old point's column (after the keys; 0 = event time) for
  // output side column c, or -1 (the older version lacks it: null).
  static arrow::Result<std::shared_ptr<KeySideChangesReader>> Make(read::ChangedWinners w,
                                                                    std::shared_ptr<arrow::Schema> schema,
                                                                    const std::vector<int>& old_map,
                                                                    int64_t batch_size) {
    auto r = std::shared_ptr<KeySideChangesReader>(new KeySideChangesReader());
    const int keys = static_cast<int>(w.keys.size());
    for (size_t c = 0; c < old_map.size(); ++c) {
      const auto& type = schema->field(keys + 2 + 2 * static_cast<int>(c))->type();
      const int src = old_map[c];
      std::shared_ptr<arrow::Array> a;
      if (src < 0) {
        ARROW_ASSIGN_OR_RAISE(a, arrow::MakeArrayOfNull(type, w.columns[0].empty() ? 0 : w.columns[0][0]->length()));
      } else if (!w.columns[0][src]->type()->Equals(type)) {
        ARROW_ASSIGN_OR_RAISE(a, arrow::compute::Cast(*w.columns[0][src], type));
      } else {
        a = w.columns[0][src];
      }
      r->old_.push_back(std::move(a));
    }
    r->new_ = w.columns[1];
    r->keys_ = std::move(w.keys);
    r->old_rows_ = std::move(w.rows[0]);
    r->new_rows_ = std::move(w.rows[1]);
    r->schema_ = std::move(schema);
    r->batch_size_ = std::max<int64_t>(1, batch_size);
    return r;
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    const auto n = static_cast<int64_t>(old_rows_.size());
    while (next_ < n) {
      const int64_t begin = next_;
      ChangeRows rows;
      for (; next_ < n && rows.size() < batch_size_; ++next_) {
        const int64_t o = old_rows_[next_], w = new_rows_[next_];
        if (o < 0 && w < 0) continue;  // absent at both points (tombstones)
        const int64_t k = next_ - begin;
        if (o < 0) {
          rows.Add(k, -1, w, ChangeRows::kInsertRow);
        } else if (w < 0) {
          rows.Add(k, o, -1, ChangeRows::kDeleteRow);
        } else {
          bool same = true;
          for (size_t c = 1; same && c < new_.size(); ++c) same = read::CellsEqual(*old_[c], o, *new_[c], w);
          if (!same) rows.Add(k, o, w, ChangeRows::kUpdateRow);
        }
      }
      if (rows.size() == 0) continue;
      arrow::ArrayVector keys, none;
      for (const auto& k : keys_) {
        keys.push_back(k->Slice(begin, next_ - begin));
        ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(k->type()));
        none.push_back(std::move(empty));
      }
      ARROW_ASSIGN_OR_RAISE(*out, rows.Finish(schema_, keys, none, next_ - begin, old_, new_));
      return arrow::Status::OK();
    }
    *out = nullptr;
    return arrow::Status::OK();
  }

 private:
  KeySideChangesReader() = default;
  arrow::ArrayVector keys_, old_, new_;
  std::vector<int64_t> old_rows_, new_rows_;
  std::shared_ptr<arrow::Schema> schema_;
  int64_t batch_size_ = 1;
  int64_t next_ = 0;
};

}  // namespace

arrow::Result<std::shared_ptr<Scan>> MakeChanges(const Table& table, const ChangeOptions& o) {
  const Version from_v = o.from_version.value_or(table.current_version());
  const Version to_v = o.to_version.value_or(table.current_version());
  ARROW_ASSIGN_OR_RAISE(auto old_snap, table.SnapshotAt(from_v));
  ARROW_ASSIGN_OR_RAISE(auto new_snap, table.SnapshotAt(to_v));
  const TableSchema& schema = new_snap->schema;
  std::vector<std::shared_ptr<arrow::DataType>> key_types;
  for (const auto& k : schema.key_columns) key_types.push_back(k.type);
  ARROW_ASSIGN_OR_RAISE(auto codec, read::KeyCodec::Make(key_types));

  // The two scans run at once: each gets half the threads. One thread per
  // scan on two cores measured 20% less CPU and wall than two each on W1
  // (the key-range partitions' duplicated row groups and set-up, and four
  // merge threads on two cores).
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int scan_threads = std::max(1, threads / 2);
  // One budget for the whole operation: the key side's share of it, or half
  // to each of the merge-join's scans (never below the minimum).
  ARROW_ASSIGN_OR_RAISE(const int64_t memory_limit,
                        ResolveMemoryLimit(o.memory_limit_bytes, new_snap->properties,
                                           "changes of '" + table.location() + "'"));
  const int64_t scan_limit = std::max(memory_limit / 2, MinimumMemoryLimit());
  auto new_scan = table.NewScan();
  new_scan.AtVersion(to_v).AsOf(o.to_time).BatchSize(o.batch_size).Threads(scan_threads).MemoryLimit(scan_limit);
  new_scan.EncodedKeyRange(o.encoded_key_lower, o.encoded_key_upper);
  if (o.columns) new_scan.Columns(*o.columns);
  ARROW_ASSIGN_OR_RAISE(auto news, new_scan.Build());

  // Output: key(s), kind, then old_/new_ of the event time and each value.
  const auto& nf = news->schema()->fields();
  const size_t nkeys = schema.key_columns.size();
  arrow::FieldVector fields(nf.begin(), nf.begin() + nkeys);
  fields.push_back(arrow::field("kind", arrow::utf8(), false));
  std::vector<std::string> side_names;
  for (size_t c = nkeys; c < nf.size(); ++c) {
    side_names.push_back(nf[c]->name());
    fields.push_back(arrow::field("old_" + nf[c]->name(), nf[c]->type(), true));
    fields.push_back(arrow::field("new_" + nf[c]->name(), nf[c]->type(), true));
  }
  for (const auto& f : fields) {
    if (arrow::schema(fields)->GetAllFieldIndices(f->name()).size() > 1) {
      return InvalidArgument("changes: output column '", f->name(), "' would appear twice (table '",
                             table.location(), "'); choose columns to avoid it");
    }
  }
  auto out_schema = arrow::schema(std::move(fields));

  // The older version's columns of the same names (an alter may have added,
  // dropped or renamed some since).
  std::vector<std::string> old_columns;
  for (size_t c = 1; c < side_names.size(); ++c) {
    if (old_snap->schema.FindValueColumn(side_names[c]) >= 0) old_columns.push_back(side_names[c]);
  }
  auto old_scan = table.NewScan();
  old_scan.AtVersion(from_v).AsOf(o.from_time).BatchSize(o.batch_size).Columns(old_columns).Threads(scan_threads);
  old_scan.MemoryLimit(scan_limit).EncodedKeyRange(o.encoded_key_lower, o.encoded_key_upper);
  ARROW_ASSIGN_OR_RAISE(auto olds, old_scan.Build());
  std::vector<int> old_map;
  for (size_t c = 0; c < side_names.size(); ++c) {
    old_map.push_back(c == 0 ? static_cast<int>(nkeys) : olds->schema()->GetFieldIndex(side_names[c]));
  }
  std::vector<std::string> files = olds->files();
  for (const auto& f : news->files()) {
    if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
  }
  auto merge_join = [=]() -> arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> {
    ARROW_ASSIGN_OR_RAISE(auto old_reader, olds->ToReader());
    ARROW_ASSIGN_OR_RAISE(auto new_reader, news->ToReader());
    return std::make_shared<JoinChangesReader>(std::move(old_reader), std::move(new_reader), codec, out_schema,
                                               old_map);
  };
  // The key-side path when it applies (changes_keys.cc): winners from the
  // key and event-time columns, values only for the keys whose winners
  // differ; the merge-join after all when what it holds would outgrow its
  // share of the memory budget.
  read::ChangesPoint from_point{old_snap, o.from_time, nullptr}, to_point{new_snap, o.to_time, nullptr};
  const read::KeyBounds range{o.encoded_key_lower, o.encoded_key_upper, {}};
  if (read::KeySideApplies(from_point, to_point)) {
    std::vector<int> new_values, old_values;
    for (size_t c = 1; c < side_names.size(); ++c) new_values.push_back(schema.FindValueColumn(side_names[c]));
    for (const auto& c : old_columns) old_values.push_back(old_snap->schema.FindValueColumn(c));
    ARROW_ASSIGN_OR_RAISE(to_point.shape, read::MakeScanShape(*new_snap, std::move(new_values)));
    ARROW_ASSIGN_OR_RAISE(from_point.shape, read::MakeScanShape(*old_snap, std::move(old_values)));
    std::vector<int> side_map;  // old_map, counted after the keys
    for (int m : old_map) side_map.push_back(m < 0 ? -1 : m - static_cast<int>(nkeys));
    // A column the older version lacks reads as null there even for the
    // same stored event (a rename): then every winner is compared.
    const bool drop_same = std::all_of(side_map.begin(), side_map.end(), [](int m) { return m >= 0; });
    auto storage = table.storage();
    auto footer_cache = table.footer_cache();
    const int64_t batch_size = o.batch_size;
    auto make = [=]() -> arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> {
      auto winners = read::FindChangedWinners(*storage, footer_cache.get(), from_point, to_point, range,
                                              drop_same, threads, memory_limit);
      if (winners.status().IsCapacityError()) {
        // What the key side held is freed; give it back to the system before
        // the scans allocate theirs (glibc keeps freed memory otherwise).
        ReleaseFreedMemory();
        return merge_join();
      }
      ARROW_RETURN_NOT_OK(winners.status());
      ARROW_ASSIGN_OR_RAISE(auto reader, KeySideChangesReader::Make(std::move(*winners), out_schema, side_map,
                                                                   batch_size));
      return std::static_pointer_cast<arrow::RecordBatchReader>(reader);
    };
    return std::make_shared<read::FunctionScan>(out_schema, std::move(files), std::move(make));
  }
  return std::make_shared<read::FunctionScan>(out_schema, std::move(files), std::move(merge_join));
}

}  // namespace bazof
