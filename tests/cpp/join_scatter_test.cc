// The as-of join's output columns of every kind, written at their spine rows
// by parallel files (join_asof.cc, ScatterOutput): fixed-width, boolean,
// string and binary values with nulls, tombstones, a column older files lack,
// spine rows that match nothing and duplicate spine rows, checked against a
// direct oracle.
#include <gtest/gtest.h>

#include <arrow/api.h>

#include <map>
#include <optional>
#include <random>
#include <set>

#include "bazof/alter.h"
#include "bazof/join.h"
#include "bazof/write.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

struct Event {
  int64_t t;  // in the table's unit
  bool deleted;
  std::optional<int64_t> i;
  std::optional<double> f;
  std::optional<bool> b;
  std::optional<std::string> s;
  std::optional<std::string> bin;
  std::optional<int32_t> late;  // the column added after the first commits
};

class JoinAsOfScatterTest : public ::testing::TestWithParam<int> {};

TEST_P(JoinAsOfScatterTest, EveryColumnKindAtItsSpineRows) {
  std::mt19937_64 rng(7700 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  // Even seeds: timestamp[us] (event times from the key side); odd:
  // timestamp[ms] (event times decoded with the values).
  const auto unit = GetParam() % 2 == 0 ? arrow::TimeUnit::MICRO : arrow::TimeUnit::MILLI;
  const auto time_type = arrow::timestamp(unit, "UTC");
  TableSchema schema;
  schema.key_columns = {ColumnSpec{"key", 1, arrow::utf8(), false}};
  schema.event_time = ColumnSpec{"event_time", 2, time_type, false};
  schema.value_columns = {ColumnSpec{"i", 3, arrow::int64(), true}, ColumnSpec{"f", 4, arrow::float64(), true},
                          ColumnSpec{"b", 5, arrow::boolean(), true}, ColumnSpec{"s", 6, arrow::utf8(), true},
                          ColumnSpec{"bin", 7, arrow::binary(), true}};
  schema.next_column_id = 8;
  auto storage = MemStorage();
  std::map<std::string, std::string> props;
  props["write.row_group_rows"] = std::to_string(16 + pick(64));
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, schema, props));

  const int64_t n_keys = 50 + pick(150);
  auto key = [](int64_t k) { return "k" + std::to_string(1000 + k); };
  std::map<std::string, std::vector<Event>> events;  // per key
  std::set<int64_t> used;                            // distinct event times: no ties to break
  const int64_t base = 1'700'000'000'000LL * (unit == arrow::TimeUnit::MICRO ? 1000 : 1);
  const int64_t span = 100'000;
  const int commits = 6 + static_cast<int>(pick(5));
  const int late_from = 2 + static_cast<int>(pick(3));
  for (int c = 0; c < commits; ++c) {
    const bool with_late = c >= late_from;
    if (c == late_from) {
      ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
      ASSERT_OK(Alter(table, AddColumn{"late", arrow::int32()}).status());
    }
    arrow::StringBuilder kb, sb;
    arrow::TimestampBuilder tb(time_type, arrow::default_memory_pool());
    arrow::Int64Builder ib;
    arrow::DoubleBuilder fb;
    arrow::BooleanBuilder bb, db;
    arrow::BinaryBuilder binb;
    arrow::Int32Builder lb;
    for (int64_t r = 0, n = n_keys + pick(2 * n_keys); r < n; ++r) {
      const std::string k = key(pick(n_keys));
      Event e;
      do e.t = base + pick(span); while (!used.insert(e.t).second);
      e.deleted = pick(8) == 0;
      if (!e.deleted) {
        if (pick(5)) e.i = static_cast<int64_t>(rng());
        if (pick(5)) e.f = static_cast<double>(pick(1'000'000)) / 7.0;
        if (pick(5)) e.b = pick(2) == 0;
        if (pick(5)) e.s = std::string(static_cast<size_t>(pick(20)), static_cast<char>('a' + pick(26)));
        if (pick(5)) e.bin = std::string(static_cast<size_t>(pick(6)), static_cast<char>(pick(256)));
        if (with_late && pick(5)) e.late = static_cast<int32_t>(pick(100000));
      }
      ASSERT_OK(kb.Append(k));
      ASSERT_OK(tb.Append(e.t));
      ASSERT_OK(e.i ? ib.Append(*e.i) : ib.AppendNull());
      ASSERT_OK(e.f ? fb.Append(*e.f) : fb.AppendNull());
      ASSERT_OK(e.b ? bb.Append(*e.b) : bb.AppendNull());
      ASSERT_OK(e.s ? sb.Append(*e.s) : sb.AppendNull());
      ASSERT_OK(e.bin ? binb.Append(*e.bin) : binb.AppendNull());
      ASSERT_OK(e.late ? lb.Append(*e.late) : lb.AppendNull());
      ASSERT_OK(db.Append(e.deleted));
      events[k].push_back(e);
    }
    arrow::FieldVector fields = {arrow::field("key", arrow::utf8()), arrow::field("event_time", time_type),
                                 arrow::field("i", arrow::int64()),  arrow::field("f", arrow::float64()),
                                 arrow::field("b", arrow::boolean()), arrow::field("s", arrow::utf8()),
                                 arrow::field("bin", arrow::binary())};
    arrow::ArrayVector arrays = {kb.Finish().ValueOrDie(), tb.Finish().ValueOrDie(), ib.Finish().ValueOrDie(),
                                 fb.Finish().ValueOrDie(), bb.Finish().ValueOrDie(), sb.Finish().ValueOrDie(),
                                 binb.Finish().ValueOrDie()};
    if (with_late) {
      fields.push_back(arrow::field("late", arrow::int32()));
      arrays.push_back(lb.Finish().ValueOrDie());
    }
    fields.push_back(arrow::field("_deleted", arrow::boolean()));
    arrays.push_back(db.Finish().ValueOrDie());
    auto input = arrow::Table::Make(arrow::schema(fields), arrays);
    arrow::TableBatchReader reader(input);
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    ASSERT_OK(Append(table, reader, AppendOptions()).status());
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));

  // The spine: known and absent keys, times before, among and after the
  // events, exact event times, null times, and rows repeated.
  arrow::StringBuilder sk;
  arrow::TimestampBuilder st(time_type, arrow::default_memory_pool());
  std::vector<std::pair<std::string, std::optional<int64_t>>> spine;
  for (int64_t r = 0, n = 3 * n_keys + pick(n_keys); r < n; ++r) {
    if (!spine.empty() && pick(6) == 0) {
      spine.push_back(spine[pick(static_cast<int64_t>(spine.size()))]);
      continue;
    }
    const std::string k = key(pick(n_keys + 10));
    std::optional<int64_t> t = base - span / 10 + pick(span + span / 5);
    if (events.count(k) && pick(4) == 0) t = events[k][pick(static_cast<int64_t>(events[k].size()))].t;
    if (pick(40) == 0) t.reset();
    spine.emplace_back(k, t);
  }
  for (const auto& [k, t] : spine) {
    ASSERT_OK(sk.Append(k));
    ASSERT_OK(t ? st.Append(*t) : st.AppendNull());
  }
  auto spine_table = arrow::Table::Make(arrow::schema({arrow::field("id", arrow::utf8()),
                                                       arrow::field("ts", time_type)}),
                                        {sk.Finish().ValueOrDie(), st.Finish().ValueOrDie()});
  JoinAsOfOptions o;
  o.on = "ts";
  o.by = {"id"};
  o.threads = 1 + static_cast<int>(pick(3));
  ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table, spine_table).Options(o).Build());
  ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
  ASSERT_OK_AND_ASSIGN(got, got->CombineChunks());
  ASSERT_EQ(got->num_rows(), static_cast<int64_t>(spine.size()));
  ASSERT_EQ(got->num_columns(), 2 + 1 + 6) << got->schema()->ToString();
  ASSERT_OK(got->ValidateFull());
  auto col = [&](int c) { return got->column(c)->chunk(0); };
  const auto& et = static_cast<const arrow::TimestampArray&>(*col(2));
  const auto& ic = static_cast<const arrow::Int64Array&>(*col(3));
  const auto& fc = static_cast<const arrow::DoubleArray&>(*col(4));
  const auto& bc = static_cast<const arrow::BooleanArray&>(*col(5));
  const auto& sc = static_cast<const arrow::StringArray&>(*col(6));
  const auto& binc = static_cast<const arrow::BinaryArray&>(*col(7));
  const auto& lc = static_cast<const arrow::Int32Array&>(*col(8));
  int64_t matched = 0;
  for (size_t r = 0; r < spine.size(); ++r) {
    const auto& [k, t] = spine[r];
    const Event* want = nullptr;
    if (t && events.count(k)) {
      for (const auto& e : events[k]) {
        if (e.t <= *t && (!want || e.t > want->t)) want = &e;
      }
    }
    if (want && want->deleted) want = nullptr;
    const std::string where = "seed " + std::to_string(GetParam()) + " row " + std::to_string(r) + " key " + k;
    if (!want) {
      for (int c = 2; c < got->num_columns(); ++c) EXPECT_TRUE(col(c)->IsNull(r)) << where << " column " << c;
      continue;
    }
    ++matched;
    ASSERT_TRUE(et.IsValid(r)) << where;
    EXPECT_EQ(et.Value(r), want->t) << where;
    auto same = [&](const auto& array, const auto& value, const char* name) {
      ASSERT_EQ(array.IsValid(r), value.has_value()) << where << " " << name;
      if (value) {
        EXPECT_EQ(array.GetView(r), *value) << where << " " << name;
      }
    };
    same(ic, want->i, "i");
    same(fc, want->f, "f");
    same(bc, want->b, "b");
    same(sc, want->s, "s");
    same(binc, want->bin, "bin");
    same(lc, want->late, "late");
  }
  EXPECT_GT(matched, static_cast<int64_t>(spine.size()) / 4);
}

INSTANTIATE_TEST_SUITE_P(Seeds, JoinAsOfScatterTest, ::testing::Range(0, 8));

}  // namespace
}  // namespace bazof::testing
