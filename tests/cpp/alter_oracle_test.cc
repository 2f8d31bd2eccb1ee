// Differential test of schema evolution: random workloads interleaving
// appends (tombstones, missing columns, inputs typed for a column before it
// was widened) with alters (add, drop, rename, widen, properties), checked
// after every commit, for every version and several T, against a model: the
// scan oracle of test_util picks each key's winning row, and the model says
// what that row holds under the schema of the version scanned.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bazof/alter.h"
#include "bazof/write.h"
#include "compute_init.h"
#include "metadata/types.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

std::shared_ptr<arrow::DataType> T(const std::string& name) {
  return metadata::ParseTypeName(name).ValueOrDie();
}

// Each type the test widens, and what it may widen to (written out here,
// independently of the library's rule).
const std::map<std::string, std::vector<std::string>>& Widenings() {
  static const std::map<std::string, std::vector<std::string>> w = {
      {"int8", {"int16", "int32", "int64", "float32", "float64"}},
      {"int16", {"int32", "int64", "float32", "float64"}},
      {"int32", {"int64", "float64"}},
      {"uint8", {"uint16", "uint32", "int16", "int32", "int64", "float32", "float64"}},
      {"uint16", {"uint32", "int32", "int64", "float64"}},
      {"uint32", {"uint64", "int64", "float64"}},
      {"float32", {"float64"}},
      {"decimal(5,2)", {"decimal(7,2)", "decimal(9,3)"}},
      {"decimal(7,2)", {"decimal(9,3)"}}};
  return w;
}

struct ModelColumn {
  int32_t id;
  std::string name;
  std::vector<std::string> types;  // every type it had; the last is current
};

struct ModelVersion {
  std::vector<ModelColumn> columns;  // value columns in schema order
  std::map<std::string, std::string> properties;
};

// One row's values by column id; absent = null. Numbers as integer text
// (every generated number is a small integer, exact in every type used).
using RowValues = std::map<int32_t, std::string>;

// key -> (event ms, values of the scanned schema's columns; nullopt = null)
using Rows = std::map<std::string, std::pair<int64_t, std::vector<std::optional<std::string>>>>;

// Scans as of `t_ms` (kLatest: no as-of) at `version`.
constexpr int64_t kLatest = INT64_MAX / 1000;
arrow::Result<Rows> ScanRows(const std::shared_ptr<Table>& table, int64_t t_ms, int64_t version, int threads,
                             std::shared_ptr<arrow::Schema>* schema) {
  auto b = table->NewScan().AtVersion(Version(version)).Threads(threads).BatchSize(7);
  if (t_ms != kLatest) b.AsOf(EventTime::FromMicros(t_ms * 1000));
  ARROW_ASSIGN_OR_RAISE(auto scan, b.Build());
  ARROW_ASSIGN_OR_RAISE(auto result, scan->ToTable());
  ARROW_ASSIGN_OR_RAISE(result, result->CombineChunks());
  *schema = result->schema();
  Rows out;
  if (result->num_rows() == 0) return out;
  auto keys = std::static_pointer_cast<arrow::StringArray>(result->column(0)->chunk(0));
  auto times = std::static_pointer_cast<arrow::TimestampArray>(result->column(1)->chunk(0));
  std::vector<std::vector<std::optional<std::string>>> cells(result->num_rows());
  for (int c = 2; c < result->num_columns(); ++c) {
    auto a = result->column(c)->chunk(0);
    std::shared_ptr<arrow::Array> numbers;
    if (a->type_id() != arrow::Type::STRING) {
      ARROW_ASSIGN_OR_RAISE(numbers, arrow::compute::Cast(*a, arrow::float64()));
    }
    for (int64_t r = 0; r < a->length(); ++r) {
      if (a->IsNull(r)) {
        cells[r].push_back(std::nullopt);
      } else if (!numbers) {
        cells[r].push_back(std::string(static_cast<const arrow::StringArray&>(*a).GetView(r)));
      } else {
        const double x = static_cast<const arrow::DoubleArray&>(*numbers).Value(r);
        if (std::nearbyint(x) != x) return arrow::Status::Invalid("not an integer: ", x);
        cells[r].push_back(std::to_string(static_cast<int64_t>(x)));
      }
    }
  }
  for (int64_t r = 0; r < result->num_rows(); ++r) {
    out[std::string(keys->GetView(r))] = {times->Value(r), std::move(cells[r])};
  }
  return out;
}

class AlterOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(AlterOracleTest, EveryVersionMatchesTheModel) {
  ASSERT_OK(internal::EnsureComputeInitialized());
  std::mt19937_64 rng(5000 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t num_keys = 3 + pick(12), days = 3 + pick(20);
  // Few names, so that dropped and renamed-away names come back as other columns.
  const std::vector<std::string> names = {"value", "a", "b", "c", "d"};
  const std::vector<std::string> add_types = {"int8", "int16", "int32", "uint8", "uint16", "uint32",
                                              "float32", "string", "decimal(5,2)"};

  auto storage = MemStorage();
  ASSERT_OK(CreateTable(storage, KvSchema()).status());
  std::vector<ModelVersion> model = {ModelVersion{{ModelColumn{3, "value", {"string"}}}, {}}};
  int32_t next_id = 4;
  std::vector<RowValues> row_values;
  std::vector<OracleEvent> events;
  std::string ops;  // for failure messages

  const int commits = 6 + static_cast<int>(pick(12));
  for (int64_t v = 1; v <= commits; ++v) {
    ASSERT_OK_AND_ASSIGN(auto table, Table::Open(storage));
    ModelVersion next = model.back();
    auto unused_name = [&]() -> std::optional<std::string> {
      std::vector<std::string> free;
      for (const auto& n : names) {
        if (std::none_of(next.columns.begin(), next.columns.end(), [&](const ModelColumn& c) { return c.name == n; })) {
          free.push_back(n);
        }
      }
      if (free.empty()) return std::nullopt;
      return free[pick(free.size())];
    };
    const int kind = static_cast<int>(pick(11));  // 0-3 append, then alters
    std::optional<AlterOp> op;
    if (kind == 4 || kind == 5) {
      if (auto n = unused_name()) {
        const std::string type = add_types[pick(add_types.size())];
        op = AddColumn{*n, T(type)};
        next.columns.push_back(ModelColumn{next_id++, *n, {type}});
      }
    } else if (kind == 6 && !next.columns.empty()) {
      const size_t i = pick(next.columns.size());
      op = DropColumn{next.columns[i].name};
      next.columns.erase(next.columns.begin() + i);
    } else if (kind == 7 && !next.columns.empty()) {
      const size_t i = pick(next.columns.size());
      if (auto n = unused_name()) {
        op = RenameColumn{next.columns[i].name, *n};
        next.columns[i].name = *n;
      }
    } else if (kind == 8 || kind == 9) {
      std::vector<size_t> widenable;
      for (size_t i = 0; i < next.columns.size(); ++i) {
        if (Widenings().count(next.columns[i].types.back())) widenable.push_back(i);
      }
      if (!widenable.empty()) {
        auto& c = next.columns[widenable[pick(widenable.size())]];
        const auto& targets = Widenings().at(c.types.back());
        const std::string to = targets[pick(targets.size())];
        op = WidenColumn{c.name, T(to)};
        c.types.push_back(to);
      }
    } else if (kind == 10) {
      const std::string name = "test.p" + std::to_string(pick(3));
      if (next.properties.count(name) && pick(2) == 0) {
        op = UnsetProperty{name};
        next.properties.erase(name);
      } else {
        const std::string value = "x" + std::to_string(v);
        op = SetProperty{name, value};
        next.properties[name] = value;
      }
    }

    if (op) {
      ops += " v" + std::to_string(v) + ":" + DescribeAlterOp(*op);
      ASSERT_OK_AND_ASSIGN(auto r, Alter(table, *op));
      ASSERT_TRUE(r.committed);
      ASSERT_EQ(r.version.value(), v);
    } else {
      // An append: every row has a key and an event time; each column is in
      // the input or not, typed as now or as before a widening.
      ops += " v" + std::to_string(v) + ":append";
      const int64_t n = 1 + pick(15);
      arrow::StringBuilder kb;
      arrow::TimestampBuilder tb(KvSchema().event_time.type, arrow::default_memory_pool());
      arrow::BooleanBuilder db;
      arrow::FieldVector fields = {arrow::field("key", arrow::utf8()),
                                   arrow::field("event_time", KvSchema().event_time.type),
                                   arrow::field("_deleted", arrow::boolean())};
      std::vector<RowValues> batch_values(n);
      for (int64_t r = 0; r < n; ++r) {
        Ev e{"k" + std::to_string(pick(num_keys)), t0 + pick(days) * day, std::to_string(row_values.size() + r),
             pick(8) == 0};
        ASSERT_OK(kb.Append(e.key));
        ASSERT_OK(tb.Append(e.ms));
        ASSERT_OK(db.Append(e.deleted));
        events.push_back({e, v, r});
      }
      arrow::ArrayVector arrays(3);
      ASSERT_OK(kb.Finish(&arrays[0]));
      ASSERT_OK(tb.Finish(&arrays[1]));
      ASSERT_OK(db.Finish(&arrays[2]));
      for (const auto& c : next.columns) {
        if (pick(4) == 0) continue;  // not in the input: null
        const std::string type = pick(3) == 0 ? c.types[pick(c.types.size())] : c.types.back();
        std::shared_ptr<arrow::Array> a;
        if (type == "string") {
          arrow::StringBuilder sb;
          for (int64_t r = 0; r < n; ++r) {
            if (pick(6) == 0) {
              ASSERT_OK(sb.AppendNull());
            } else {
              const std::string text = "s" + std::to_string(row_values.size() + r);
              ASSERT_OK(sb.Append(text));
              batch_values[r][c.id] = text;
            }
          }
          ASSERT_OK(sb.Finish(&a));
        } else {
          arrow::Int64Builder ib;
          for (int64_t r = 0; r < n; ++r) {
            if (pick(6) == 0) {
              ASSERT_OK(ib.AppendNull());
            } else {
              const int64_t x = pick(101);
              ASSERT_OK(ib.Append(x));
              batch_values[r][c.id] = std::to_string(x);
            }
          }
          std::shared_ptr<arrow::Array> ints;
          ASSERT_OK(ib.Finish(&ints));
          if (T(type)->id() == arrow::Type::DECIMAL128) {
            // Arrow casts int64 only to decimals that hold every int64.
            const int32_t scale = static_cast<const arrow::Decimal128Type&>(*T(type)).scale();
            ASSERT_OK_AND_ASSIGN(ints, arrow::compute::Cast(*ints, arrow::decimal128(38, scale)));
          }
          ASSERT_OK_AND_ASSIGN(a, arrow::compute::Cast(*ints, T(type)));
        }
        fields.push_back(arrow::field(c.name, a->type()));
        arrays.push_back(a);
      }
      for (int64_t r = 0; r < n; ++r) row_values.push_back(std::move(batch_values[r]));
      auto batch = arrow::RecordBatch::Make(arrow::schema(fields), n, arrays);
      std::vector<std::shared_ptr<arrow::RecordBatch>> pieces;
      for (int64_t off = 0; off < n; off += 4) pieces.push_back(batch->Slice(off, 4));
      ASSERT_OK_AND_ASSIGN(auto reader, arrow::RecordBatchReader::Make(pieces, batch->schema()));
      AppendOptions o;
      o.chunk_rows = 1 + pick(10);
      auto r = Append(table, *reader, o);
      ASSERT_TRUE(r.ok()) << r.status().ToString() << " after" << ops;
      ASSERT_EQ(r->version.value(), v);
    }
    model.push_back(std::move(next));

    // Every version, as the model says it reads.
    ASSERT_OK_AND_ASSIGN(auto reopened, Table::Open(storage));
    for (int64_t version = 0; version <= v; ++version) {
      const ModelVersion& m = model[version];
      ASSERT_OK_AND_ASSIGN(auto snap, reopened->SnapshotAt(Version(version)));
      EXPECT_EQ(snap->properties, m.properties) << "seed " << GetParam() << " version " << version;
      for (int probe = 0; probe < 4; ++probe) {
        const int64_t t = probe == 0 ? kLatest : t0 + pick(days + 1) * day - pick(2);
        std::shared_ptr<arrow::Schema> schema;
        auto got = ScanRows(reopened, t, version, 1 + static_cast<int>(pick(2)), &schema);
        ASSERT_TRUE(got.ok()) << got.status().ToString() << " seed " << GetParam() << ops;
        const std::string where = "seed " + std::to_string(GetParam()) + " after commit " + std::to_string(v) +
                                  " version " + std::to_string(version) + " T " + std::to_string(t) + ";" + ops;
        ASSERT_EQ(schema->num_fields(), static_cast<int>(m.columns.size()) + 2) << where << " " << schema->ToString();
        for (size_t c = 0; c < m.columns.size(); ++c) {
          EXPECT_EQ(schema->field(c + 2)->name(), m.columns[c].name) << where;
          EXPECT_TRUE(schema->field(c + 2)->type()->Equals(T(m.columns[c].types.back())))
              << where << " column " << m.columns[c].name << " is " << schema->field(c + 2)->type()->ToString();
        }
        Rows want;
        for (const auto& [key, winner] : Oracle(events, t, version)) {
          const RowValues& values = row_values[std::stoul(winner.second)];
          std::vector<std::optional<std::string>> cells;
          for (const auto& c : m.columns) {
            auto it = values.find(c.id);
            cells.push_back(it == values.end() ? std::nullopt : std::optional<std::string>(it->second));
          }
          want[key] = {winner.first, std::move(cells)};
        }
        ASSERT_EQ(*got, want) << where;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RandomEvolutions, AlterOracleTest, ::testing::Range(1, 31));

}  // namespace
}  // namespace bazof::testing
