// bazof delete --where: a tombstone as of T for every key whose state as of T
// matches a filter (docs/spec.md, "Predicate delete").
//
//   scan(T, current) with the filter ──keys──▶ rows (key, T, _deleted = true)
//     ──Append (operation "delete")──▶ one new version
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "bazof/error.h"
#include "bazof/write.h"

namespace bazof {

arrow::Result<DeleteWhereResult> DeleteWhere(const std::shared_ptr<Table>& table, const DeleteWhereOptions& options) {
  const std::string& where = table->location();
  if (!options.filter && options.key_in.empty()) {
    return InvalidArgument("delete of '", where, "': give a filter or keys (a predicate delete never means every key)");
  }
  if (options.as_of.is_max() || options.as_of == EventTime::Min()) {
    return InvalidArgument("delete of '", where, "': the event time of the tombstones must be a finite time");
  }
  auto scan = table->NewScan();
  scan.AsOf(options.as_of).Columns({});
  if (options.filter) scan.Filter(*options.filter);
  if (!options.key_in.empty()) scan.KeyIn(options.key_in);
  ARROW_ASSIGN_OR_RAISE(auto built, scan.Build());
  ARROW_ASSIGN_OR_RAISE(auto state, built->ToTable());
  const TableSchema& schema = table->current_snapshot()->schema;

  DeleteWhereResult result;
  result.keys = state->num_rows();
  std::vector<std::string> key_names;
  for (const auto& k : schema.key_columns) key_names.push_back(k.name);
  ARROW_ASSIGN_OR_RAISE(result.matched, state->SelectColumns([&] {
    std::vector<int> idx;
    for (const auto& n : key_names) idx.push_back(state->schema()->GetFieldIndex(n));
    return idx;
  }()));
  if (options.dry_run || result.keys == 0) return result;

  // The tombstones: the matched keys, the event time T, _deleted = true.
  ARROW_ASSIGN_OR_RAISE(auto keys, result.matched->CombineChunksToBatch());
  const int64_t n = keys->num_rows();
  auto fields = keys->schema()->fields();
  auto arrays = keys->columns();
  ARROW_ASSIGN_OR_RAISE(auto times, arrow::MakeArrayFromScalar(
                                        arrow::TimestampScalar(options.as_of.micros(), arrow::TimeUnit::MICRO, "UTC"), n));
  fields.push_back(arrow::field(schema.event_time.name, times->type()));
  arrays.push_back(times);
  ARROW_ASSIGN_OR_RAISE(auto deleted, arrow::MakeArrayFromScalar(arrow::BooleanScalar(true), n));
  fields.push_back(arrow::field("_deleted", arrow::boolean()));
  arrays.push_back(deleted);
  auto batch = arrow::RecordBatch::Make(arrow::schema(fields), n, arrays);
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::RecordBatchReader::Make({batch}));
  AppendOptions append;
  append.operation = "delete";
  append.source = "delete --where";
  ARROW_ASSIGN_OR_RAISE(result.commit, Append(table, *reader, append));
  return result;
}

}  // namespace bazof
