// Composite keys listed by column (ScanOptions::keys_in) and commit-time
// travel (VersionAtCommitTime): a keyed scan equals the full scan filtered to
// the listed keys on random workloads, and reads only the files that can hold
// them; commit times map to the versions the log shows.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "bazof/error.h"
#include "bazof/inspect.h"
#include "bazof/write.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

using Key = std::pair<std::string, int64_t>;
using State = std::map<Key, std::string>;  // key -> value ("" = null)

arrow::Result<std::shared_ptr<Table>> NewTable() {
  ARROW_ASSIGN_OR_RAISE(auto schema, ParseSchemaSpec("sym:string,venue:int64,v:string", {"sym", "venue"}));
  return CreateTable(MemStorage(), schema);
}

arrow::Status AppendRows(const std::shared_ptr<Table>& table, const std::vector<std::tuple<Key, int64_t, std::string>>& rows) {
  arrow::StringBuilder sym, v;
  arrow::Int64Builder venue;
  arrow::TimestampBuilder et(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), arrow::default_memory_pool());
  for (const auto& [k, ms, value] : rows) {
    ARROW_RETURN_NOT_OK(sym.Append(k.first));
    ARROW_RETURN_NOT_OK(venue.Append(k.second));
    ARROW_RETURN_NOT_OK(et.Append(ms));
    ARROW_RETURN_NOT_OK(v.Append(value));
  }
  std::shared_ptr<arrow::Array> a, b, c, d;
  ARROW_RETURN_NOT_OK(sym.Finish(&a));
  ARROW_RETURN_NOT_OK(venue.Finish(&b));
  ARROW_RETURN_NOT_OK(et.Finish(&c));
  ARROW_RETURN_NOT_OK(v.Finish(&d));
  auto schema = arrow::schema({arrow::field("sym", arrow::utf8()), arrow::field("venue", arrow::int64()),
                               arrow::field("event_time", c->type()), arrow::field("v", arrow::utf8())});
  ARROW_ASSIGN_OR_RAISE(auto reader,
                        arrow::RecordBatchReader::Make({arrow::RecordBatch::Make(schema, a->length(), {a, b, c, d})}));
  return Append(table, *reader).status();
}

arrow::Result<State> Read(const Table& table, std::optional<std::vector<Key>> keys, int64_t as_of_ms,
                          int64_t version, std::vector<std::string>* files = nullptr) {
  auto b = table.NewScan();
  b.AsOf(EventTime::FromMicros(as_of_ms * 1000)).AtVersion(Version(version)).Threads(2).BatchSize(5);
  if (keys) {
    std::vector<std::vector<std::pair<std::string, std::string>>> by_column;
    for (const auto& [s, n] : *keys) by_column.push_back({{"venue", std::to_string(n)}, {"sym", s}});
    b.KeysIn(std::move(by_column));
  }
  ARROW_ASSIGN_OR_RAISE(auto scan, b.Build());
  if (files) *files = scan->files();
  ARROW_ASSIGN_OR_RAISE(auto t, scan->ToTable());
  ARROW_ASSIGN_OR_RAISE(t, t->CombineChunks());
  State out;
  if (t->num_rows() == 0) return out;
  auto sym = std::static_pointer_cast<arrow::StringArray>(t->column(0)->chunk(0));
  auto venue = std::static_pointer_cast<arrow::Int64Array>(t->column(1)->chunk(0));
  auto v = std::static_pointer_cast<arrow::StringArray>(t->column(3)->chunk(0));
  for (int64_t i = 0; i < t->num_rows(); ++i) {
    out[{std::string(sym->GetView(i)), venue->Value(i)}] = v->IsNull(i) ? "" : std::string(v->GetView(i));
  }
  return out;
}

TEST(CompositeKeyTest, KeysInEqualsTheFilteredFullScan) {
  std::mt19937_64 rng(17);
  auto table = NewTable().ValueOrDie();
  const std::vector<std::string> syms = {"AAPL", "IBM", "MSFT", "a,b", "x=y"};
  for (int commit = 0; commit < 6; ++commit) {
    std::vector<std::tuple<Key, int64_t, std::string>> rows;
    for (int i = 0; i < 40; ++i) {
      Key k{syms[rng() % syms.size()], static_cast<int64_t>(rng() % 4) - 1};
      rows.emplace_back(k, static_cast<int64_t>(rng() % 100) * 1000, "v" + std::to_string(commit * 100 + i));
    }
    ASSERT_TRUE(AppendRows(table, rows).ok());
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(table->storage()));
  for (int round = 0; round < 40; ++round) {
    const int64_t t = static_cast<int64_t>(rng() % 110) * 1000;
    const int64_t v = 1 + static_cast<int64_t>(rng() % 6);
    std::vector<Key> keys;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n; ++i) {
      keys.emplace_back(syms[rng() % syms.size()], static_cast<int64_t>(rng() % 5) - 1);  // venue 3: absent
    }
    ASSERT_OK_AND_ASSIGN(auto all, Read(*table, std::nullopt, t, v));
    ASSERT_OK_AND_ASSIGN(auto some, Read(*table, keys, t, v));
    State want;
    for (const auto& k : keys) {
      if (all.count(k)) want[k] = all[k];
    }
    EXPECT_EQ(some, want) << "round " << round;
  }
}

TEST(CompositeKeyTest, KeysInReadsOnlyFilesThatMayHoldTheKeys) {
  auto table = NewTable().ValueOrDie();
  for (int commit = 0; commit < 4; ++commit) {
    std::vector<std::tuple<Key, int64_t, std::string>> rows;
    for (int64_t n = 0; n < 5; ++n) rows.emplace_back(Key{"S" + std::to_string(commit), n}, 1000, "x");
    ASSERT_TRUE(AppendRows(table, rows).ok());
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(table->storage()));
  std::vector<std::string> all_files, key_files;
  ASSERT_OK_AND_ASSIGN(auto all, Read(*table, std::nullopt, 5000, 4, &all_files));
  ASSERT_OK_AND_ASSIGN(auto one, Read(*table, std::vector<Key>{{"S2", 3}}, 5000, 4, &key_files));
  EXPECT_EQ(all.size(), 20u);
  EXPECT_EQ(one, (State{{{"S2", 3}, "x"}}));
  EXPECT_EQ(all_files.size(), 4u);
  EXPECT_EQ(key_files.size(), 1u);
}

TEST(CompositeKeyTest, KeysInErrorsNameTheColumn) {
  auto table = NewTable().ValueOrDie();
  auto b = table->NewScan();
  b.KeysIn({{{"sym", "A"}}});
  auto r = b.Build();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("venue"), std::string::npos) << r.status().message();
  auto c = table->NewScan();
  c.KeysIn({{{"sym", "A"}, {"venue", "one"}}});
  r = c.Build();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'one' is not a valid int64 (column 'venue')"), std::string::npos)
      << r.status().message();
  auto d = table->NewScan();
  d.KeyIn({"A"});
  r = d.Build();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("composite key"), std::string::npos) << r.status().message();
}

TEST(CommitTimeTest, VersionAtCommitTimeFollowsTheLog) {
  auto table = NewTable().ValueOrDie();
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // commit times are kept in ms
    ASSERT_TRUE(AppendRows(table, {{Key{"A", 1}, 1000, std::to_string(i)}}).ok());
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(table->storage()));
  ASSERT_OK_AND_ASSIGN(auto log, ReadLog(*table));
  ASSERT_EQ(log.size(), 4u);
  for (const auto& e : log) {
    ASSERT_OK_AND_ASSIGN(auto t, ParseCommitTime(e.commit->timestamp));
    ASSERT_OK_AND_ASSIGN(auto v, VersionAtCommitTime(*table, t));
    EXPECT_EQ(v.value(), e.version.value());
    if (e.version.value() == 0) continue;  // before the first commit: NotFound, checked below
    ASSERT_OK_AND_ASSIGN(auto before, VersionAtCommitTime(*table, CommitTime{t.micros - 1}));
    EXPECT_EQ(before.value(), e.version.value() - 1);
  }
  ASSERT_OK_AND_ASSIGN(auto first, ParseCommitTime(log[0].commit->timestamp));
  auto r = VersionAtCommitTime(*table, CommitTime{first.micros - 1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kNotFound);
  EXPECT_NE(r.status().message().find("no version was committed at or before"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(auto late, ParseCommitTime("2999-01-01"));
  ASSERT_OK_AND_ASSIGN(auto v, VersionAtCommitTime(*table, late));
  EXPECT_EQ(v.value(), 3);
  EXPECT_FALSE(ParseCommitTime("yesterday").ok());
}

}  // namespace
}  // namespace bazof::testing
