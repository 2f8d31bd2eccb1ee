// The rules of put and delete (docs/spec.md, "put and delete"): what a put
// must give (every value column, unless partial), how a partial put carries
// the other columns forward, and whether a deleted key has any event.
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>

#include "bazof/error.h"
#include "bazof/write.h"

namespace bazof {
namespace {

// key column == the row's key, for every key column (an Arrow expression the
// scan prunes files and row groups with).
arrow::Result<arrow::compute::Expression> KeyFilter(const TableSchema& schema, const arrow::RecordBatch& row,
                                                    const std::string& what) {
  namespace cp = arrow::compute;
  std::vector<cp::Expression> conds;
  for (const auto& k : schema.key_columns) {
    auto col = row.GetColumnByName(k.name);
    if (!col) return InvalidArgument(what, ": key column '", k.name, "' is missing");
    ARROW_ASSIGN_OR_RAISE(auto scalar, col->GetScalar(0));
    ARROW_ASSIGN_OR_RAISE(auto typed, scalar->CastTo(k.type));
    conds.push_back(cp::equal(cp::field_ref(k.name), cp::literal(typed)));
  }
  return cp::and_(conds);
}

}  // namespace

std::string UnknownKeyWarning(const std::string& key) {
  return "delete of key '" + key + "': the key has no event at any time (a typo?); the tombstone is "
         "committed anyway (strict refuses such a delete)";
}

arrow::Result<bool> KeyHasEvents(const std::shared_ptr<Table>& table, const arrow::RecordBatch& row) {
  if (row.num_rows() != 1) return InvalidArgument("delete: one key, not ", row.num_rows());
  ARROW_ASSIGN_OR_RAISE(auto filter, KeyFilter(table->current_snapshot()->schema, row, "delete"));
  ARROW_ASSIGN_OR_RAISE(auto scan, ScanBuilder(table).AllEvents().Columns({}).Filter(filter).Threads(1).Build());
  ARROW_ASSIGN_OR_RAISE(auto events, scan->ToTable());
  return events->num_rows() > 0;
}

arrow::Status CheckPutValues(const TableSchema& schema, const std::vector<std::string>& given, bool partial,
                             const std::string& what) {
  if (schema.value_columns.empty()) return arrow::Status::OK();
  auto list = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
    return out;
  };
  std::vector<std::string> all, missing;
  for (const auto& c : schema.value_columns) {
    all.push_back(c.name);
    if (std::find(given.begin(), given.end(), c.name) == given.end()) missing.push_back(c.name);
  }
  if (missing.size() == all.size()) {
    return InvalidArgument(what, ": no value column given (the table's value columns: ", list(all),
                           "); give column=value for them, or use delete for a tombstone");
  }
  if (!missing.empty() && !partial) {
    return InvalidArgument(what, ": value column(s) ", list(missing),
                           " not given; give every value column, or make it a partial put "
                           "(--partial, Python partial=True) to carry them forward from the key's state "
                           "at that event time");
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> CarryForward(const std::shared_ptr<Table>& table,
                                                                const std::shared_ptr<arrow::RecordBatch>& row) {
  const TableSchema& schema = table->current_snapshot()->schema;
  if (row->num_rows() != 1) return InvalidArgument("a partial put writes one row, not ", row->num_rows());
  // The key's state as of the row's event time, at the current version.
  ARROW_ASSIGN_OR_RAISE(auto filter, KeyFilter(schema, *row, "partial put"));
  auto et = row->GetColumnByName(schema.event_time.name);
  if (!et) return InvalidArgument("partial put: event-time column '", schema.event_time.name, "' is missing");
  ARROW_ASSIGN_OR_RAISE(auto et_scalar, et->GetScalar(0));
  ARROW_ASSIGN_OR_RAISE(auto micros, et_scalar->CastTo(arrow::timestamp(arrow::TimeUnit::MICRO)));
  if (!micros->is_valid) return InvalidArgument("partial put: the event time is null");
  const auto t = EventTime::FromMicros(static_cast<const arrow::TimestampScalar&>(*micros).value);
  ARROW_ASSIGN_OR_RAISE(auto scan, ScanBuilder(table).AsOf(t).Filter(filter).Threads(1).Build());
  ARROW_ASSIGN_OR_RAISE(auto state, scan->ToTable());
  ARROW_ASSIGN_OR_RAISE(state, state->CombineChunks());

  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  for (const auto& f : row->schema()->fields()) {
    if (schema.FindValueColumn(f->name()) >= 0) continue;  // value columns go in table order below
    fields.push_back(f);
    arrays.push_back(row->GetColumnByName(f->name()));
  }
  for (const auto& c : schema.value_columns) {
    if (auto given = row->GetColumnByName(c.name)) {
      fields.push_back(row->schema()->GetFieldByName(c.name));
      arrays.push_back(given);
    } else if (state->num_rows() == 1) {  // no state, or a tombstone: no row
      auto col = state->GetColumnByName(c.name);
      fields.push_back(arrow::field(c.name, col->type()));
      arrays.push_back(col->chunk(0));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(c.type, 1));
      fields.push_back(arrow::field(c.name, c.type));
      arrays.push_back(nulls);
    }
  }
  return arrow::RecordBatch::Make(arrow::schema(fields), 1, arrays);
}

}  // namespace bazof
