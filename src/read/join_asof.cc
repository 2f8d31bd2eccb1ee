// The as-of join (docs/spec.md, "As-of join").
//
// The table's history is already sorted by (key, event time), so the join is
// one streaming pass: sort the spine by (encoded key, time), read the events
// of the spine's keys (the all-events merge: each event time's tie winner,
// tombstones included) in the same order, and walk both together. Each spine
// row gets the index of its matched event among the events kept; the kept
// events are gathered once, and one Take per column produces the output in
// the spine's own order (the assignment is indexed by the original row, so
// no inverse permutation is needed).
#include "bazof/join.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <numeric>
#include <thread>

#include "bazof/error.h"
#include "bazof/table.h"
#include "planning/planner.h"
#include "read/run_reader.h"
#include "read/scan_reader.h"

namespace bazof {
namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000LL;
constexpr int64_t kSparseRowsPerKey = 8192;

int64_t SaturatingMul(int64_t v, int64_t m) {
  int64_t out;
  if (__builtin_mul_overflow(v, m, &out)) {
    return v < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return out;
}

int64_t FloorDiv(int64_t v, int64_t d) {
  int64_t q = v / d;
  return (v % d != 0 && v < 0) ? q - 1 : q;
}

// Microseconds since the epoch of a timestamp/date array, floored: a time of
// 10:00:00.0000009 sees events at 10:00:00.000000, never later ones. Nulls
// get `valid[i] = false`.
arrow::Status ToMicros(const arrow::Array& a, std::vector<int64_t>* micros, std::vector<uint8_t>* valid) {
  const int64_t n = a.length();
  micros->resize(n);
  valid->assign(n, 1);
  auto fill = [&](auto&& values, auto&& convert) {
    for (int64_t i = 0; i < n; ++i) {
      if (a.IsNull(i)) {
        (*valid)[i] = 0;
        (*micros)[i] = 0;
      } else {
        (*micros)[i] = convert(values[i]);
      }
    }
  };
  switch (a.type_id()) {
    case arrow::Type::TIMESTAMP: {
      const auto& t = static_cast<const arrow::TimestampType&>(*a.type());
      const int64_t* v = static_cast<const arrow::TimestampArray&>(a).raw_values();
      switch (t.unit()) {
        case arrow::TimeUnit::SECOND: fill(v, [](int64_t x) { return SaturatingMul(x, 1000000); }); break;
        case arrow::TimeUnit::MILLI: fill(v, [](int64_t x) { return SaturatingMul(x, 1000); }); break;
        case arrow::TimeUnit::MICRO: fill(v, [](int64_t x) { return x; }); break;
        case arrow::TimeUnit::NANO: fill(v, [](int64_t x) { return FloorDiv(x, 1000); }); break;
      }
      return arrow::Status::OK();
    }
    case arrow::Type::DATE32: {
      const int32_t* v = static_cast<const arrow::Date32Array&>(a).raw_values();
      fill(v, [](int32_t x) { return static_cast<int64_t>(x) * kMicrosPerDay; });
      return arrow::Status::OK();
    }
    case arrow::Type::DATE64: {
      const int64_t* v = static_cast<const arrow::Date64Array&>(a).raw_values();
      fill(v, [](int64_t x) { return SaturatingMul(x, 1000); });
      return arrow::Status::OK();
    }
    default:
      return arrow::Status::TypeError(a.type()->ToString());
  }
}

bool IsIntegerType(arrow::Type::type id) { return arrow::is_integer(id); }
bool IsStringType(arrow::Type::type id) {
  return id == arrow::Type::STRING || id == arrow::Type::LARGE_STRING || id == arrow::Type::STRING_VIEW;
}
bool IsBinaryType(arrow::Type::type id) {
  return id == arrow::Type::BINARY || id == arrow::Type::LARGE_BINARY || id == arrow::Type::BINARY_VIEW;
}
bool IsTimeType(arrow::Type::type id) {
  return id == arrow::Type::TIMESTAMP || id == arrow::Type::DATE32 || id == arrow::Type::DATE64;
}

// Whether a spine key column of type `from` may be cast to the table's key
// type `to`: same type, integer to integer (checked: out-of-range values are
// an error), any string flavour, any binary flavour, or timestamps/dates.
bool KeyCastAllowed(const arrow::DataType& from, const arrow::DataType& to) {
  if (from.Equals(to)) return true;
  if (IsIntegerType(from.id()) && IsIntegerType(to.id())) return true;
  if (IsStringType(from.id()) && IsStringType(to.id())) return true;
  if (IsBinaryType(from.id()) && IsBinaryType(to.id())) return true;
  if (IsTimeType(from.id()) && IsTimeType(to.id())) return true;
  return false;
}

class JoinAsOfImpl : public JoinAsOf {
 public:
  struct Plan {
    std::shared_ptr<io::Storage> storage;
    std::shared_ptr<const read::ScanShape> shape;
    std::vector<planning::PlannedFile> files;
    read::ScanReaderOptions reader_options;
    std::shared_ptr<arrow::Table> spine;             // combined chunks
    std::vector<std::shared_ptr<arrow::Array>> keys;  // valid rows only, cast to key types
    std::vector<int64_t> valid_rows;                  // spine rows with key and time
    std::vector<int64_t> micros;                      // per valid row
    std::shared_ptr<arrow::Schema> schema;
    std::string table;
  };

  explicit JoinAsOfImpl(Plan plan) : p_(std::move(plan)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return p_.schema; }
  std::vector<std::string> files() const override {
    std::vector<std::string> out;
    for (const auto& f : p_.files) out.push_back(f.ref.path);
    return out;
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ToReader() const override {
    ARROW_ASSIGN_OR_RAISE(auto table, Run());
    auto reader = std::make_shared<arrow::TableBatchReader>(std::move(table));
    reader->set_chunksize(p_.reader_options.batch_size);  // batches of the requested size, as scans give
    return reader;
  }

 private:
  arrow::Result<std::shared_ptr<arrow::Table>> Run() const {
    const auto& codec = p_.shape->codec;
    const int64_t n_spine = p_.spine->num_rows();
    const int64_t n = static_cast<int64_t>(p_.valid_rows.size());

    // The spine in (key, time) order.
    read::KeyCodes codes;
    if (n > 0) ARROW_RETURN_NOT_OK(codec.Encode(p_.keys, &codes));
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      int c = codes.views[a].compare(codes.views[b]);
      if (c != 0) return c < 0;
      return p_.micros[a] < p_.micros[b];
    });

    // matched[spine row] = index into the gathered events, or -1.
    std::vector<int64_t> matched(n_spine, -1);
    arrow::ArrayVector gathered_batches;  // event-time + value columns of kept events, concatenated later
    std::vector<arrow::ArrayVector> gathered_columns;
    const size_t n_keys = codec.num_columns();
    const int n_out = p_.shape->output_schema->num_fields() - static_cast<int>(n_keys);  // event time + values
    gathered_columns.resize(n_out);
    int64_t kept = 0;

    if (n > 0) {
      ARROW_ASSIGN_OR_RAISE(auto reader, read::MakeScanReader(p_.storage, p_.shape, p_.files, p_.reader_options));
      int64_t pos = 0;  // next spine row (in sorted order) to assign
      // The last event seen: the candidate match for spine rows of its key.
      std::string cand_key;
      bool have_cand = false, cand_deleted = false;
      int64_t cand_index = -1;        // index among kept events once gathered
      std::shared_ptr<arrow::RecordBatch> batch;
      const int deleted_col = p_.shape->output_schema->num_fields();
      read::KeyCodes event_codes;
      while (true) {
        ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
        if (!batch) break;
        const int64_t rows = batch->num_rows();
        arrow::ArrayVector key_arrays(batch->columns().begin(), batch->columns().begin() + n_keys);
        ARROW_RETURN_NOT_OK(codec.Encode(key_arrays, &event_codes));
        std::vector<int64_t> ev_micros;
        std::vector<uint8_t> ev_valid;
        ARROW_RETURN_NOT_OK(ToMicros(*batch->column(static_cast<int>(n_keys)), &ev_micros, &ev_valid));
        const auto& deleted = static_cast<const arrow::BooleanArray&>(*batch->column(deleted_col));
        arrow::Int64Builder take;
        int64_t cand_row = -1;  // the candidate's row in this batch, if not yet gathered
        auto cand_match = [&]() -> int64_t {
          if (cand_deleted) return -1;
          if (cand_index < 0) {
            // Gathered lazily: only events some spine row matches are kept.
            (void)take.Append(cand_row);
            cand_index = kept++;
          }
          return cand_index;
        };
        // Assigns the spine rows that sort before (key, t).
        auto assign_before = [&](std::string_view key, int64_t t) {
          while (pos < n) {
            const int64_t s = order[pos];
            const int c = codes.views[s].compare(key);
            if (c > 0 || (c == 0 && p_.micros[s] >= t)) break;
            if (have_cand && codes.views[s] == cand_key) matched[p_.valid_rows[s]] = cand_match();
            ++pos;
          }
        };
        for (int64_t r = 0; r < rows && pos < n; ++r) {
          const std::string_view key = event_codes.views[r];
          assign_before(key, ev_micros[r]);
          if (pos >= n) break;
          // Events of keys the spine does not name are skipped cheaply.
          if (codes.views[order[pos]] != key) continue;
          if (!have_cand || cand_key != key) cand_key.assign(key.data(), key.size());
          have_cand = true;
          cand_deleted = deleted.Value(r);
          cand_index = -1;
          cand_row = r;
        }
        // A candidate not yet gathered that later spine rows may still match.
        if (have_cand && cand_index < 0 && !cand_deleted && pos < n && codes.views[order[pos]] == cand_key &&
            cand_row >= 0) {
          ARROW_RETURN_NOT_OK(take.Append(cand_row));
          cand_index = kept++;
        }
        ARROW_ASSIGN_OR_RAISE(auto indices, take.Finish());
        if (indices->length() > 0) {
          for (int c = 0; c < n_out; ++c) {
            ARROW_ASSIGN_OR_RAISE(auto col, arrow::compute::Take(*batch->column(static_cast<int>(n_keys) + c),
                                                                 *indices));
            gathered_columns[c].push_back(std::move(col));
          }
        }
        if (pos >= n) break;
      }
      // Spine rows after the last event.
      while (pos < n) {
        const int64_t s = order[pos];
        if (have_cand && codes.views[s] == cand_key && !cand_deleted && cand_index >= 0) {
          matched[p_.valid_rows[s]] = cand_index;
        }
        ++pos;
      }
    }

    arrow::Int64Builder idx;
    ARROW_RETURN_NOT_OK(idx.Reserve(n_spine));
    for (int64_t i = 0; i < n_spine; ++i) {
      if (matched[i] < 0) idx.UnsafeAppendNull();
      else idx.UnsafeAppend(matched[i]);
    }
    ARROW_ASSIGN_OR_RAISE(auto indices, idx.Finish());
    arrow::ChunkedArrayVector columns = p_.spine->columns();
    for (int c = 0; c < n_out; ++c) {
      auto type = p_.shape->output_schema->field(static_cast<int>(n_keys) + c)->type();
      std::shared_ptr<arrow::Array> all;
      if (gathered_columns[c].empty()) {
        ARROW_ASSIGN_OR_RAISE(all, arrow::MakeEmptyArray(type));
      } else {
        ARROW_ASSIGN_OR_RAISE(all, arrow::Concatenate(gathered_columns[c]));
      }
      ARROW_ASSIGN_OR_RAISE(auto out, arrow::compute::Take(*all, *indices));
      columns.push_back(std::make_shared<arrow::ChunkedArray>(std::move(out)));
    }
    return arrow::Table::Make(p_.schema, std::move(columns), n_spine);
  }

  Plan p_;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::Table>> JoinAsOf::ToTable() const {
  ARROW_ASSIGN_OR_RAISE(auto reader, ToReader());
  return reader->ToTable();
}

arrow::Result<std::shared_ptr<JoinAsOf>> JoinAsOfBuilder::Build() const {
  const auto& o = options_;
  if (!spine_) return InvalidArgument("join-asof: no spine");
  std::shared_ptr<const Snapshot> snap = table_->current_snapshot();
  if (o.version) {
    ARROW_ASSIGN_OR_RAISE(snap, table_->SnapshotAt(*o.version));
  }
  if (o.batch_size <= 0) return InvalidArgument("batch size must be positive");
  const TableSchema& schema = snap->schema;
  if (snap->format_version < 1) {
    return InvalidArgument("join-asof: bazof 0.1 / azof 0.2 tables are not supported (table '",
                           table_->location(), "')");
  }
  if (auto st = spine_->Validate(); !st.ok()) return InvalidArgument("join-asof: invalid spine: ", st.message());
  const auto& spine_schema = *spine_->schema();

  // The spine's columns.
  if (o.on.empty()) return InvalidArgument("join-asof: the spine's time column (on) is required");
  const int on_index = spine_schema.GetFieldIndex(o.on);
  if (on_index < 0) {
    std::string names;
    for (const auto& f : spine_schema.fields()) names += (names.empty() ? "" : ", ") + f->name();
    return InvalidArgument("join-asof: the spine has no time column '", o.on, "' (it has: ",
                           names.empty() ? "none" : names, ")");
  }
  const auto& on_type = *spine_schema.field(on_index)->type();
  if (!IsTimeType(on_type.id())) {
    return InvalidArgument("join-asof: spine column '", o.on, "' is ", on_type.ToString(),
                           ", not a timestamp or date");
  }
  std::vector<std::string> by = o.by;
  if (by.empty()) {
    for (const auto& k : schema.key_columns) by.push_back(k.name);
  }
  if (by.size() != schema.key_columns.size()) {
    return InvalidArgument("join-asof: ", by.size(), " key column(s) given (by), but table '", table_->location(),
                           "' has ", schema.key_columns.size(), " key column(s)");
  }
  std::vector<int> by_index;
  for (size_t i = 0; i < by.size(); ++i) {
    const int idx = spine_schema.GetFieldIndex(by[i]);
    if (idx < 0) {
      return InvalidArgument("join-asof: the spine has no key column '", by[i], "' (", by.size() == 1 ? "" : "by, ",
                             "table key '", schema.key_columns[i].name, "')");
    }
    const auto& from = *spine_schema.field(idx)->type();
    const auto& to = *schema.key_columns[i].type;
    if (!KeyCastAllowed(from, to)) {
      return InvalidArgument("join-asof: spine key column '", by[i], "' is ", from.ToString(), ", but key column '",
                             schema.key_columns[i].name, "' of table '", table_->location(), "' is ", to.ToString());
    }
    by_index.push_back(idx);
  }

  // The value columns.
  std::vector<int> value_columns;
  if (o.columns) {
    for (const auto& c : *o.columns) {
      bool is_key = std::any_of(schema.key_columns.begin(), schema.key_columns.end(),
                                [&](const ColumnSpec& k) { return k.name == c; });
      if (is_key || c == schema.event_time.name) continue;
      int i = schema.FindValueColumn(c);
      if (i < 0) {
        std::string known;
        for (const auto& v : schema.value_columns) known += (known.empty() ? "" : ", ") + v.name;
        return InvalidArgument("unknown column '", c, "' (table '", table_->location(),
                               "' has value columns: ", known.empty() ? "none" : known, ")");
      }
      if (std::find(value_columns.begin(), value_columns.end(), i) == value_columns.end()) value_columns.push_back(i);
    }
  } else {
    for (size_t i = 0; i < schema.value_columns.size(); ++i) value_columns.push_back(static_cast<int>(i));
  }
  ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(*snap, std::move(value_columns)));

  JoinAsOfImpl::Plan p;
  p.storage = table_->storage();
  p.table = table_->location();
  ARROW_ASSIGN_OR_RAISE(p.spine, spine_->CombineChunks());

  // Output schema: the spine's, then event time and values, renamed on collision.
  arrow::FieldVector fields = spine_schema.fields();
  std::vector<std::string> taken = spine_schema.field_names();
  const size_t n_keys = schema.key_columns.size();
  for (int f = static_cast<int>(n_keys); f < shape->output_schema->num_fields(); ++f) {
    std::string name = shape->output_schema->field(f)->name();
    while (std::find(taken.begin(), taken.end(), name) != taken.end()) name += o.suffix;
    if (o.suffix.empty() && std::find(taken.begin(), taken.end(), name) != taken.end()) {
      return InvalidArgument("join-asof: column '", name, "' is in both the spine and the table (no suffix)");
    }
    taken.push_back(name);
    fields.push_back(arrow::field(name, shape->output_schema->field(f)->type(), true));
  }
  p.schema = arrow::schema(std::move(fields));

  // Rows with a null key or time match nothing (nulls in the output).
  const int64_t n_spine = p.spine->num_rows();
  std::vector<std::shared_ptr<arrow::Array>> key_arrays;
  for (int idx : by_index) {
    // CombineChunks left at most one chunk.
    auto chunked = p.spine->column(idx);
    std::shared_ptr<arrow::Array> a;
    if (chunked->num_chunks() == 0) {
      ARROW_ASSIGN_OR_RAISE(a, arrow::MakeEmptyArray(chunked->type()));
    } else {
      a = chunked->chunk(0);
    }
    key_arrays.push_back(std::move(a));
  }
  std::shared_ptr<arrow::Array> time_array;
  {
    auto chunked = p.spine->column(on_index);
    if (chunked->num_chunks() == 0) {
      ARROW_ASSIGN_OR_RAISE(time_array, arrow::MakeEmptyArray(chunked->type()));
    } else {
      time_array = chunked->chunk(0);
    }
  }
  std::vector<int64_t> micros;
  std::vector<uint8_t> valid;
  ARROW_RETURN_NOT_OK(ToMicros(*time_array, &micros, &valid));
  for (const auto& a : key_arrays) {
    if (a->null_count() == 0) continue;
    for (int64_t i = 0; i < n_spine; ++i) {
      if (a->IsNull(i)) valid[i] = 0;
    }
  }
  for (int64_t i = 0; i < n_spine; ++i) {
    if (valid[i]) {
      p.valid_rows.push_back(i);
      p.micros.push_back(micros[i]);
    }
  }
  const bool all_valid = static_cast<int64_t>(p.valid_rows.size()) == n_spine;
  std::shared_ptr<arrow::Array> rows;
  if (!all_valid) {
    arrow::Int64Builder b;
    ARROW_RETURN_NOT_OK(b.AppendValues(p.valid_rows));
    ARROW_ASSIGN_OR_RAISE(rows, b.Finish());
  }
  for (size_t i = 0; i < key_arrays.size(); ++i) {
    // Cast first: Take has no kernels for some flavours (string_view).
    std::shared_ptr<arrow::Array> a = key_arrays[i];
    const auto& to = schema.key_columns[i].type;
    if (!a->type()->Equals(*to)) {
      auto cast = arrow::compute::Cast(*a, to);
      if (!cast.ok()) {
        return InvalidArgument("join-asof: spine key column '", by[i], "' does not convert to ", to->ToString(),
                               " (key column '", schema.key_columns[i].name, "'): ", cast.status().message());
      }
      a = *std::move(cast);
    }
    if (!all_valid) {
      ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Take(a, rows));
      a = d.make_array();
    }
    p.keys.push_back(std::move(a));
  }

  // The events of the spine's keys: deltas only (they hold every event; a
  // base only the state at its start), as all-events scans read them.
  int64_t max_micros = std::numeric_limits<int64_t>::min();
  for (int64_t t : p.micros) max_micros = std::max(max_micros, t);
  auto plan = planning::PlanScan(planning::WithoutBases(*snap), EventTime::FromMicros(max_micros));

  read::ScanReaderOptions& ro = p.reader_options;
  ro.mode = read::MergeMode::kAllEvents;
  ro.batch_size = o.batch_size;
  ro.threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  ro.as_of = EventTime::FromMicros(max_micros);
  int64_t planned_rows = 0;
  if (!p.valid_rows.empty()) {
    read::KeyCodes codes;
    ARROW_RETURN_NOT_OK(shape->codec.Encode(p.keys, &codes));
    std::vector<std::string> unique(codes.views.begin(), codes.views.end());
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    ro.key_lower = unique.front();
    ro.key_upper = unique.back() + std::string(1, '\0');
    std::vector<planning::PlannedFile> kept;
    for (auto& f : plan.files) {
      if (f.ref.min_key.size() == n_keys && f.ref.max_key.size() == n_keys) {
        auto lo = shape->codec.EncodeScalars(f.ref.min_key);
        auto hi = shape->codec.EncodeScalars(f.ref.max_key);
        if (lo.ok() && hi.ok()) {
          // Files holding none of the spine's keys are not opened.
          auto it = std::lower_bound(unique.begin(), unique.end(), *lo);
          if (it == unique.end() || *it > *hi) continue;
        }
      }
      planned_rows += f.ref.rows > 0 ? f.ref.rows : 0;
      kept.push_back(std::move(f));
    }
    p.files = std::move(kept);
    // A sparse spine (fewer distinct keys than one per 8192 planned rows, so
    // most row groups hold none) reads only its keys' row groups in one
    // merge; a dense one streams the whole key range between its smallest
    // and largest key, merged in parallel partitions.
    if (static_cast<int64_t>(unique.size()) * kSparseRowsPerKey <= planned_rows || ro.threads <= 1) {
      ro.key_in = std::move(unique);
    }
  }
  p.shape = std::move(shape);
  return std::shared_ptr<JoinAsOf>(std::make_shared<JoinAsOfImpl>(std::move(p)));
}

arrow::Result<std::shared_ptr<JoinAsOf>> MakeJoinAsOf(std::shared_ptr<const Table> table,
                                                      arrow::RecordBatchReader& spine, JoinAsOfOptions options) {
  ARROW_ASSIGN_OR_RAISE(auto spine_table, spine.ToTable());
  return JoinAsOfBuilder(std::move(table), std::move(spine_table)).Options(std::move(options)).Build();
}

}  // namespace bazof
