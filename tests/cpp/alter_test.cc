// alter: every allowed change and every refused one, and how data written
// before a change reads after it (and at the versions before it).
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include "bazof/alter.h"
#include "bazof/error.h"
#include "bazof/inspect.h"
#include "bazof/validate.h"
#include "bazof/write.h"
#include "compute_init.h"
#include "metadata/types.h"
#include "table_builder.h"

namespace bazof::testing {
namespace {

std::shared_ptr<arrow::DataType> T(const std::string& name) {
  return metadata::ParseTypeName(name).ValueOrDie();
}

// One column of an input batch or of an expected result: values as JSON.
struct Col {
  std::string name;
  std::string type;
  std::string json;
};

std::shared_ptr<arrow::RecordBatchReader> Input(const std::vector<Col>& cols) {
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  for (const auto& c : cols) {
    fields.push_back(arrow::field(c.name, T(c.type)));
    arrays.push_back(arrow::json::ArrayFromJSONString(T(c.type), c.json).ValueOrDie());
  }
  auto batch = arrow::RecordBatch::Make(arrow::schema(fields), arrays[0]->length(), arrays);
  return arrow::RecordBatchReader::Make({batch}).ValueOrDie();
}

arrow::Result<std::shared_ptr<arrow::Table>> ScanAt(const std::shared_ptr<io::Storage>& storage,
                                                    std::optional<int64_t> version = std::nullopt) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(storage));
  auto b = table->NewScan();
  if (version) b.AtVersion(Version(*version));
  ARROW_ASSIGN_OR_RAISE(auto scan, b.Build());
  return scan->ToTable();
}

// The result has exactly these columns (names, types, values).
void ExpectColumns(const std::shared_ptr<arrow::Table>& got, const std::vector<Col>& want) {
  ASSERT_EQ(got->num_columns(), static_cast<int>(want.size())) << got->schema()->ToString();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got->field(i)->name(), want[i].name);
    EXPECT_TRUE(got->field(i)->type()->Equals(T(want[i].type)))
        << want[i].name << ": " << got->field(i)->type()->ToString() << " != " << want[i].type;
    auto expected = arrow::json::ArrayFromJSONString(T(want[i].type), want[i].json).ValueOrDie();
    EXPECT_TRUE(got->column(i)->Equals(arrow::ChunkedArray(expected)))
        << want[i].name << ": got " << got->column(i)->ToString() << " want " << expected->ToString();
  }
}

// A table with one value column of each widenable kind, and two rows holding
// the extremes of their types, committed as version 1.
class AlterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = MemStorage();
    auto schema = ParseSchemaSpec("s:string,n:int32,f:float32,u:uint32,d:decimal(5,2),small:int16");
    ASSERT_OK(schema.status());
    ASSERT_OK(CreateTable(storage_, *schema).status());
    ASSERT_OK(Append(Open(), *Input(V1())).status());
  }

  static std::vector<Col> V1() {
    return {{"key", "string", R"(["a", "b"])"},
            {"event_time", "timestamp[ms]", R"(["2024-01-01", "2024-01-02"])"},
            {"s", "string", R"(["a1", "b1"])"},
            {"n", "int32", "[2147483647, -2147483648]"},
            {"f", "float32", "[1.5, -0.25]"},
            {"u", "uint32", "[4294967295, 0]"},
            {"d", "decimal(5,2)", R"(["123.45", "-999.99"])"},
            {"small", "int16", "[-32768, 32767]"}};
  }

  std::shared_ptr<Table> Open() { return Table::Open(storage_).ValueOrDie(); }

  // An alter that must succeed as the next version.
  void Do(const AlterOp& op) {
    auto t = Open();
    const int64_t before = t->current_version().value();
    auto r = Alter(t, op);
    ASSERT_TRUE(r.ok()) << DescribeAlterOp(op) << ": " << r.status().ToString();
    EXPECT_TRUE(r->committed);
    EXPECT_EQ(r->version.value(), before + 1);
    auto after = Open();
    ASSERT_EQ(after->current_version().value(), before + 1);
    const auto& commit = after->current_snapshot()->commit;
    ASSERT_TRUE(commit.has_value());
    EXPECT_EQ(commit->operation, "alter");
    EXPECT_EQ(commit->description, DescribeAlterOp(op));
    EXPECT_EQ(commit->rows_added, 0);
    EXPECT_TRUE(commit->files_added.empty());
  }

  // An alter that must be refused (kInvalidArgument naming every `needle`),
  // committing nothing.
  void Refused(const AlterOp& op, std::vector<std::string> needles) {
    auto t = Open();
    const int64_t before = t->current_version().value();
    auto r = Alter(t, op);
    ASSERT_FALSE(r.ok()) << DescribeAlterOp(op) << " was accepted";
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument) << r.status().ToString();
    for (const auto& n : needles) {
      EXPECT_NE(r.status().message().find(n), std::string::npos)
          << DescribeAlterOp(op) << ": '" << n << "' not in: " << r.status().message();
    }
    EXPECT_EQ(Open()->current_version().value(), before);
  }

  // A copy: each call reopens the table.
  TableSchema Schema() { return Open()->current_snapshot()->schema; }

  std::shared_ptr<io::Storage> storage_;
};

TEST(WideningTest, ExactlyTheListedChanges) {
  const std::vector<std::string> types = {
      "string", "binary", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
      "float32", "float64", "date", "timestamp[s]", "timestamp[ms]", "timestamp[us]", "timestamp[ns]",
      "decimal(5,2)", "decimal(7,2)", "decimal(7,4)", "decimal(6,3)", "decimal(4,2)"};
  const std::set<std::pair<std::string, std::string>> allowed = {
      {"int8", "int16"}, {"int8", "int32"}, {"int8", "int64"}, {"int16", "int32"}, {"int16", "int64"},
      {"int32", "int64"}, {"uint8", "uint16"}, {"uint8", "uint32"}, {"uint8", "uint64"},
      {"uint16", "uint32"}, {"uint16", "uint64"}, {"uint32", "uint64"}, {"uint8", "int16"},
      {"uint8", "int32"}, {"uint8", "int64"}, {"uint16", "int32"}, {"uint16", "int64"}, {"uint32", "int64"},
      {"float32", "float64"}, {"int8", "float32"}, {"int16", "float32"}, {"uint8", "float32"},
      {"uint16", "float32"}, {"int8", "float64"}, {"int16", "float64"}, {"int32", "float64"},
      {"uint8", "float64"}, {"uint16", "float64"}, {"uint32", "float64"},
      // more integer digits, more fraction digits, or both
      {"decimal(5,2)", "decimal(7,2)"}, {"decimal(5,2)", "decimal(7,4)"}, {"decimal(5,2)", "decimal(6,3)"},
      {"decimal(4,2)", "decimal(5,2)"}, {"decimal(4,2)", "decimal(7,2)"}, {"decimal(4,2)", "decimal(7,4)"},
      {"decimal(4,2)", "decimal(6,3)"}, {"decimal(6,3)", "decimal(7,4)"}};
  for (const auto& from : types) {
    for (const auto& to : types) {
      EXPECT_EQ(metadata::IsExactWidening(*T(from), *T(to)), allowed.count({from, to}) > 0) << from << " -> " << to;
    }
  }
}

TEST(WideningTest, AllowedWideningsKeepTheExtremesExactly) {
  ASSERT_OK(internal::EnsureComputeInitialized());
  const std::vector<std::string> numeric = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                            "uint64", "float32", "float64"};
  for (const auto& from : numeric) {
    for (const auto& to : numeric) {
      if (!metadata::IsExactWidening(*T(from), *T(to))) continue;
      // The limits of the type, and for floats the largest, the smallest
      // subnormal and values with all mantissa bits set.
      std::string json;
      if (from.starts_with("float")) {
        json = from == "float32" ? "[3.4028234663852886e38, -1.401298464324817e-45, 16777217, 0.1]" : "[0]";
      } else {
        const std::map<std::string, std::string> limits = {
            {"int8", "-128, 127, -127, 126"},
            {"int16", "-32768, 32767"},
            {"int32", "-2147483648, 2147483647"},
            {"int64", "-9223372036854775808, 9223372036854775807"},
            {"uint8", "0, 255"},
            {"uint16", "0, 65535"},
            {"uint32", "0, 4294967295"},
            {"uint64", "0, 18446744073709551615"}};
        json = "[" + limits.at(from) + "]";
      }
      auto values = arrow::json::ArrayFromJSONString(T(from), json).ValueOrDie();
      auto wide = arrow::compute::Cast(*values, T(to));
      ASSERT_TRUE(wide.ok()) << from << " -> " << to << ": " << wide.status().ToString();
      auto back = arrow::compute::Cast(**wide, T(from));
      ASSERT_TRUE(back.ok()) << from << " -> " << to << " -> back: " << back.status().ToString();
      EXPECT_TRUE((*back)->Equals(*values)) << from << " -> " << to;
    }
  }
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"decimal(5,2)", "decimal(7,2)"}, {"decimal(5,2)", "decimal(6,3)"}, {"decimal(5,2)", "decimal(38,10)"}}) {
    ASSERT_TRUE(metadata::IsExactWidening(*T(from), *T(to)));
    auto values = arrow::json::ArrayFromJSONString(T(from), R"(["999.99", "-999.99", "0.01"])").ValueOrDie();
    auto wide = arrow::compute::Cast(*values, T(to));
    ASSERT_TRUE(wide.ok()) << from << " -> " << to << ": " << wide.status().ToString();
    auto back = arrow::compute::Cast(**wide, T(from));
    ASSERT_TRUE(back.ok()) << from << " -> " << to << " -> back: " << back.status().ToString();
    EXPECT_TRUE((*back)->Equals(*values)) << from << " -> " << to;
  }
  // What int64 -> float64 (refused) would lose: 2^53 + 1.
  auto big = arrow::json::ArrayFromJSONString(arrow::int64(), "[9007199254740993]").ValueOrDie();
  arrow::compute::CastOptions unsafe = arrow::compute::CastOptions::Unsafe(arrow::float64());
  auto d = arrow::compute::Cast(arrow::Datum(big), unsafe).ValueOrDie().make_array();
  auto back = arrow::compute::Cast(*d, arrow::int64()).ValueOrDie();
  EXPECT_FALSE(back->Equals(*big));
}

TEST_F(AlterTest, AddColumnGetsTheNextIdAndReadsNullInOlderRows) {
  const int32_t next = Schema().next_column_id;
  Do(AddColumn{"note", T("string")});
  const auto s = Schema();
  ASSERT_EQ(s.value_columns.back().name, "note");
  EXPECT_EQ(s.value_columns.back().id, next);
  EXPECT_TRUE(s.value_columns.back().nullable);
  EXPECT_EQ(s.next_column_id, next + 1);
  ASSERT_OK_AND_ASSIGN(auto got, ScanAt(storage_));
  auto want = V1();
  want.push_back({"note", "string", "[null, null]"});
  ExpectColumns(got, want);
  // Version 1 keeps its schema.
  ASSERT_OK_AND_ASSIGN(auto old, ScanAt(storage_, 1));
  ExpectColumns(old, V1());
  // New rows carry the column; older rows still read null.
  ASSERT_OK(Append(Open(), *Input({{"key", "string", R"(["c"])"},
                                   {"event_time", "timestamp[ms]", R"(["2024-01-03"])"},
                                   {"note", "string", R"(["hello"])"}}))
                .status());
  ASSERT_OK_AND_ASSIGN(got, ScanAt(storage_));
  ASSERT_EQ(got->num_rows(), 3);
  EXPECT_EQ(got->GetColumnByName("note")->ToString(), arrow::ChunkedArray(
      arrow::json::ArrayFromJSONString(arrow::utf8(), R"([null, null, "hello"])").ValueOrDie()).ToString());
}

TEST_F(AlterTest, AddColumnRefusals) {
  Refused(AddColumn{"s", T("int8")}, {"'s'", "already has a column"});
  Refused(AddColumn{"key", T("int8")}, {"'key'", "already has a column"});
  Refused(AddColumn{"event_time", T("int8")}, {"'event_time'", "already has a column"});
  Refused(AddColumn{"_bazof_x", T("int8")}, {"'_bazof_x'", "reserved"});
  Refused(AddColumn{"_deleted", T("bool")}, {"'_deleted'", "reserved"});
  Refused(AddColumn{"", T("bool")}, {"empty column name"});
  Refused(AddColumn{"later", T("int8"), /*nullable=*/false}, {"'later'", "not null", "nullable"});
  Refused(AddColumn{"tags", arrow::list(arrow::utf8())}, {"'tags'", "not supported"});
  Refused(AddColumn{"none", nullptr}, {"'none'", "no type"});
}

TEST_F(AlterTest, DropColumnNeverReusesItsId) {
  const int32_t n_id = Schema().value_columns[Schema().FindValueColumn("n")].id;
  Do(DropColumn{"n"});
  EXPECT_EQ(Schema().FindValueColumn("n"), -1);
  ASSERT_OK_AND_ASSIGN(auto got, ScanAt(storage_));
  auto want = V1();
  want.erase(want.begin() + 3);
  ExpectColumns(got, want);
  // Re-adding the name makes a new column: the old values are not its values.
  Do(AddColumn{"n", T("int32")});
  EXPECT_GT(Schema().value_columns.back().id, n_id);
  ASSERT_OK_AND_ASSIGN(got, ScanAt(storage_));
  want.push_back({"n", "int32", "[null, null]"});
  ExpectColumns(got, want);
  // The versions before the drop still show the dropped column's values.
  for (int64_t v : {1, 2}) {
    ASSERT_OK_AND_ASSIGN(auto old, ScanAt(storage_, v));
    if (v == 1) ExpectColumns(old, V1());
    else EXPECT_EQ(old->schema()->GetFieldIndex("n"), -1);
  }
}

TEST_F(AlterTest, DropColumnRefusals) {
  Refused(DropColumn{"key"}, {"'key'", "key column", "cannot be dropped"});
  Refused(DropColumn{"event_time"}, {"'event_time'", "event-time column", "cannot be dropped"});
  Refused(DropColumn{"nope"}, {"'nope'", "no such column", "value columns: s, n, f, u, d, small"});
}

TEST_F(AlterTest, RenameKeepsTheIdAndOlderFilesMatchById) {
  const int32_t id = Schema().value_columns[0].id;
  Do(RenameColumn{"s", "label"});
  EXPECT_EQ(Schema().value_columns[0].name, "label");
  EXPECT_EQ(Schema().value_columns[0].id, id);
  ASSERT_OK_AND_ASSIGN(auto got, ScanAt(storage_));
  auto want = V1();
  want[2].name = "label";
  ExpectColumns(got, want);
  // A new column under the old name is another column: the file's 's'
  // (the renamed column's id) must not be read as it.
  Do(AddColumn{"s", T("string")});
  ASSERT_OK_AND_ASSIGN(got, ScanAt(storage_));
  want.push_back({"s", "string", "[null, null]"});
  ExpectColumns(got, want);
  // Version 1 shows the old name.
  ASSERT_OK_AND_ASSIGN(auto old, ScanAt(storage_, 1));
  ExpectColumns(old, V1());
  // History of a key uses the current names too.
  ASSERT_OK_AND_ASSIGN(auto history, KeyHistory(*Open(), {{"", "a"}}));
  EXPECT_GE(history->schema()->GetFieldIndex("label"), 0);
  EXPECT_EQ(history->GetColumnByName("label")->GetScalar(0).ValueOrDie()->ToString(), "a1");
}

TEST_F(AlterTest, RenameRefusals) {
  Refused(RenameColumn{"key", "k"}, {"'key'", "key column", "cannot be renamed", "by name"});
  Refused(RenameColumn{"event_time", "ts"}, {"'event_time'", "event-time column", "cannot be renamed"});
  Refused(RenameColumn{"nope", "x"}, {"'nope'", "no such column"});
  Refused(RenameColumn{"s", "n"}, {"'s'", "'n'", "already has a column"});
  Refused(RenameColumn{"s", "key"}, {"'key'", "already has a column"});
  Refused(RenameColumn{"s", "s"}, {"'s'", "already has that name"});
  Refused(RenameColumn{"s", "_bazof_s"}, {"'_bazof_s'", "reserved"});
  Refused(RenameColumn{"s", "_deleted"}, {"'_deleted'", "reserved"});
  Refused(RenameColumn{"s", ""}, {"empty column name"});
}

TEST_F(AlterTest, WidenedColumnsAreCastOnRead) {
  Do(WidenColumn{"n", T("int64")});
  Do(WidenColumn{"f", T("float64")});
  Do(WidenColumn{"u", T("int64")});
  Do(WidenColumn{"d", T("decimal(9,3)")});
  Do(WidenColumn{"small", T("float32")});
  Do(WidenColumn{"small", T("float64")});  // widened twice: the file still holds int16
  ASSERT_OK_AND_ASSIGN(auto got, ScanAt(storage_));
  ExpectColumns(got, {{"key", "string", R"(["a", "b"])"},
                      {"event_time", "timestamp[ms]", R"(["2024-01-01", "2024-01-02"])"},
                      {"s", "string", R"(["a1", "b1"])"},
                      {"n", "int64", "[2147483647, -2147483648]"},
                      {"f", "float64", "[1.5, -0.25]"},
                      {"u", "int64", "[4294967295, 0]"},
                      {"d", "decimal(9,3)", R"(["123.450", "-999.990"])"},
                      {"small", "float64", "[-32768, 32767]"}});
  // Every version before keeps its own types.
  ASSERT_OK_AND_ASSIGN(auto old, ScanAt(storage_, 1));
  ExpectColumns(old, V1());
  ASSERT_OK_AND_ASSIGN(auto mid, ScanAt(storage_, 6));
  EXPECT_TRUE(mid->schema()->GetFieldByName("small")->type()->Equals(arrow::float32()));
  EXPECT_TRUE(mid->schema()->GetFieldByName("n")->type()->Equals(arrow::int64()));
  // validate accepts every widened file, at every version.
  ASSERT_OK_AND_ASSIGN(auto report, ValidateTable(storage_, ValidateOptions{std::nullopt, /*deep=*/true}));
  std::string problems;
  for (const auto& p : report.problems) problems += p.ToString() + "\n";
  EXPECT_TRUE(report.ok()) << problems;
}

TEST_F(AlterTest, WidenRefusals) {
  Refused(WidenColumn{"n", T("int16")}, {"'n'", "int32 to int16 narrows the type", "int32 widens to int64, float64"});
  Refused(WidenColumn{"n", T("float32")}, {"'n'", "not every int32 value is exact in float32"});
  Refused(WidenColumn{"n", T("uint64")}, {"'n'", "not every int32 value fits in uint64"});
  Refused(WidenColumn{"n", T("int32")}, {"'n'", "already int32"});
  Refused(WidenColumn{"s", T("int64")}, {"'s'", "string to int64 is not a widening"});
  Refused(WidenColumn{"f", T("int64")}, {"'f'", "float32 to int64 is not a widening"});
  Refused(WidenColumn{"d", T("decimal(5,3)")}, {"'d'", "loses integer or fraction digits"});
  Refused(WidenColumn{"d", T("decimal(6,1)")}, {"'d'", "loses integer or fraction digits"});
  Refused(WidenColumn{"key", T("binary")}, {"'key'", "key column", "cannot be widened"});
  Refused(WidenColumn{"event_time", T("timestamp[us]")}, {"'event_time'", "event-time column", "cannot be widened"});
  Refused(WidenColumn{"nope", T("int64")}, {"'nope'", "no such column"});
  Do(WidenColumn{"n", T("int64")});
  Refused(WidenColumn{"n", T("float64")}, {"'n'", "not every int64 value is exact in float64", "int64 has no widening"});
  Refused(WidenColumn{"n", T("int32")}, {"'n'", "int64 to int32 narrows the type"});
}

TEST_F(AlterTest, TimestampUnitChangesAreRefused) {
  Do(AddColumn{"seen", T("timestamp[ms]")});
  for (const char* to : {"timestamp[s]", "timestamp[us]", "timestamp[ns]", "date", "int64"}) {
    Refused(WidenColumn{"seen", T(to)}, {"'seen'", "is not a widening"});
  }
}

TEST_F(AlterTest, PropertiesAreSetValidatedAndKept) {
  Do(SetProperty{"compaction.max_deltas", "8"});
  Do(SetProperty{"team.owner", "pricing"});  // unknown names are kept
  EXPECT_EQ(Open()->current_snapshot()->properties,
            (std::map<std::string, std::string>{{"compaction.max_deltas", "8"}, {"team.owner", "pricing"}}));
  // Same value again: nothing to commit.
  const int64_t v = Open()->current_version().value();
  ASSERT_OK_AND_ASSIGN(auto same, Alter(Open(), SetProperty{"team.owner", "pricing"}));
  EXPECT_FALSE(same.committed);
  EXPECT_EQ(Open()->current_version().value(), v);
  Refused(SetProperty{"compaction.max_deltas", "0"}, {"compaction.max_deltas", "'0'"});
  Refused(SetProperty{"Compaction.Auto", "true"}, {"'Compaction.Auto'", "dotted lower case"});
  Refused(SetProperty{"compaction.auto", "yes"}, {"compaction.auto", "'yes'"});
  // Appends keep them.
  ASSERT_OK(Append(Open(), *Input({{"key", "string", R"(["c"])"},
                                   {"event_time", "timestamp[ms]", R"(["2024-01-03"])"}}))
                .status());
  EXPECT_EQ(Open()->current_snapshot()->properties.at("team.owner"), "pricing");
  Do(UnsetProperty{"team.owner"});
  EXPECT_EQ(Open()->current_snapshot()->properties,
            (std::map<std::string, std::string>{{"compaction.max_deltas", "8"}}));
  ASSERT_OK_AND_ASSIGN(auto absent, Alter(Open(), UnsetProperty{"team.owner"}));
  EXPECT_FALSE(absent.committed);
  // Earlier versions keep their properties.
  ASSERT_OK_AND_ASSIGN(auto snap, Open()->SnapshotAt(Version(v)));
  EXPECT_EQ(snap->properties.at("team.owner"), "pricing");
}

TEST_F(AlterTest, AppendsAfterEvolutionUseTheNewSchema) {
  Do(WidenColumn{"n", T("int64")});
  Do(WidenColumn{"f", T("float64")});
  Do(WidenColumn{"d", T("decimal(7,2)")});
  Do(RenameColumn{"s", "label"});
  Do(AddColumn{"extra", T("bool")});
  // Input typed for the schema before the widenings still appends; columns
  // it lacks (the added one) are null.
  ASSERT_OK_AND_ASSIGN(auto r, Append(Open(), *Input({{"key", "string", R"(["c"])"},
                                                      {"event_time", "timestamp[ms]", R"(["2024-01-03"])"},
                                                      {"label", "string", R"(["c1"])"},
                                                      {"n", "int32", "[7]"},
                                                      {"f", "float32", "[0.5]"},
                                                      {"d", "decimal(5,2)", R"(["1.25"])"}})));
  EXPECT_EQ(r.rows, 1);
  // And input in the new types, with values the old types could not hold.
  ASSERT_OK(Append(Open(), *Input({{"key", "string", R"(["d"])"},
                                   {"event_time", "timestamp[ms]", R"(["2024-01-04"])"},
                                   {"n", "int64", "[9007199254740993]"},
                                   {"d", "decimal(7,2)", R"(["12345.67"])"},
                                   {"extra", "bool", "[true]"}}))
                .status());
  ASSERT_OK_AND_ASSIGN(auto got, ScanAt(storage_));
  ExpectColumns(got, {{"key", "string", R"(["a", "b", "c", "d"])"},
                      {"event_time", "timestamp[ms]", R"(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"])"},
                      {"label", "string", R"(["a1", "b1", "c1", null])"},
                      {"n", "int64", "[2147483647, -2147483648, 7, 9007199254740993]"},
                      {"f", "float64", "[1.5, -0.25, 0.5, null]"},
                      {"u", "uint32", "[4294967295, 0, null, null]"},
                      {"d", "decimal(7,2)", R"(["123.45", "-999.99", "1.25", "12345.67"])"},
                      {"small", "int16", "[-32768, 32767, null, null]"},
                      {"extra", "bool", "[null, null, null, true]"}});
  // The old name of the renamed column is refused, by name.
  AppendOptions o;
  o.source = "input 'old.csv'";
  auto old_name = Append(Open(), *Input({{"key", "string", R"(["e"])"},
                                         {"event_time", "timestamp[ms]", R"(["2024-01-05"])"},
                                         {"s", "string", R"(["e1"])"}}),
                         o);
  ASSERT_FALSE(old_name.ok());
  EXPECT_EQ(ErrorKindOf(old_name.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(old_name.status().message().find("unknown column 's'"), std::string::npos) << old_name.status().message();
  // A narrowing input is still refused.
  auto narrow = Append(Open(), *Input({{"key", "string", R"(["e"])"},
                                       {"event_time", "timestamp[ms]", R"(["2024-01-05"])"},
                                       {"f", "int64", "[1]"}}));
  ASSERT_FALSE(narrow.ok());
  EXPECT_NE(narrow.status().message().find("column 'f' is int64, the table has double"), std::string::npos)
      << narrow.status().message();
}

TEST_F(AlterTest, PutUsesTheNewNamesAndTypes) {
  Do(RenameColumn{"s", "label"});
  Do(WidenColumn{"n", T("int64")});
  // Partial: the table has other value columns.
  ASSERT_OK(Put(Open(), PutRequest{{{"", "a"}}, "2024-02-01", {{"label", "a2"}, {"n", "9007199254740993"}}, false, true})
                .status());
  auto bad = Put(Open(), PutRequest{{{"", "a"}}, "2024-02-02", {{"s", "a3"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'s'"), std::string::npos) << bad.status().message();
  ASSERT_OK_AND_ASSIGN(auto got, ScanAt(storage_));
  EXPECT_EQ(got->GetColumnByName("n")->GetScalar(0).ValueOrDie()->ToString(), "9007199254740993");
  EXPECT_EQ(got->GetColumnByName("label")->GetScalar(0).ValueOrDie()->ToString(), "a2");
}

TEST(AlterLegacyTest, LegacyTablesAreRefused) {
  ASSERT_OK_AND_ASSIGN(auto t, Table::Open(std::string(BAZOF_FIXTURES_DIR) + "/azof-0.2", "table0"));
  auto r = Alter(t, AddColumn{"x", arrow::int32()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.status().message().find("does not alter it"), std::string::npos) << r.status().message();
}

// A data file whose column has a type the schema neither has nor widened
// from is corruption, named, rather than converted.
TEST(AlterReadTest, AFileTypeTheSchemaCannotHoldIsCorruption) {
  TableBuilder b;
  ASSERT_OK(b.AddDelta(1, {{"a", Ms("2024-01-01"), "12"}}));
  b.snapshot().schema.value_columns[0].type = arrow::int64();  // the file holds string
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  ASSERT_OK_AND_ASSIGN(auto scan, t->NewScan().Build());
  auto r = scan->ToTable();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kCorruption);
  EXPECT_NE(r.status().message().find("column 'value' is string"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("the table's type int64 nor a type that widens to it"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("data file"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace bazof::testing
