// bazof put / delete: one event from text, committed through Append.
#include <arrow/api.h>

#include "bazof/error.h"
#include "timestamp_text.h"
#include "bazof/write.h"
#include "metadata/key_text.h"
#include "text_escape.h"
#include "write/text_parse.h"

namespace bazof {
namespace {

arrow::Result<std::shared_ptr<arrow::Array>> ParseOne(const ColumnSpec& c, const std::string& text,
                                                      const std::string& what) {
  if (arrow::is_string(c.type->id())) ARROW_RETURN_NOT_OK(CheckUtf8(text, what + " (column '" + c.name + "')"));
  arrow::StringBuilder b;
  ARROW_RETURN_NOT_OK(b.Append(text));
  ARROW_ASSIGN_OR_RAISE(auto array, b.Finish());
  auto parsed = write::ParseText(static_cast<const arrow::StringArray&>(*array), c.type, c.name, 1);
  if (!parsed.ok()) {
    return InvalidArgument(what, ": '", text, "' is not a valid ", c.type->ToString(), " for column '",
                           c.name, "'");
  }
  return parsed;
}

}  // namespace

arrow::Result<CommitResult> Put(const std::shared_ptr<Table>& table, const PutRequest& req) {
  const TableSchema& schema = table->current_snapshot()->schema;
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;

  ARROW_ASSIGN_OR_RAISE(auto key_texts, metadata::KeyTexts(schema, req.key));
  for (size_t i = 0; i < schema.key_columns.size(); ++i) {
    const auto& k = schema.key_columns[i];
    ARROW_ASSIGN_OR_RAISE(auto a, ParseOne(k, key_texts[i], "--key"));
    fields.push_back(arrow::field(k.name, k.type));
    arrays.push_back(a);
  }
  auto et = ParseEventTime(req.event_time, "--event-time");
  if (!et.ok()) return et.status();
  {
    // In the column's unit, finer digits floored as text always is
    // (docs/spec.md §10a), so nanoseconds given to a timestamp[ms] column
    // are not a cast error.
    auto unit = arrow::TimeUnit::MICRO;
    if (schema.event_time.type->id() == arrow::Type::TIMESTAMP) {
      unit = static_cast<const arrow::TimestampType&>(*schema.event_time.type).unit();
    }
    int64_t value = et->micros();
    if (unit != arrow::TimeUnit::MICRO && !ParseTimestampFloored(req.event_time, unit, &value)) {
      return InvalidArgument("--event-time '", req.event_time, "' does not fit column '", schema.event_time.name,
                             "' (", schema.event_time.type->ToString(), ")");
    }
    ARROW_ASSIGN_OR_RAISE(auto times, arrow::MakeArrayFromScalar(arrow::TimestampScalar(value, unit, "UTC"), 1));
    fields.push_back(arrow::field(schema.event_time.name, times->type()));
    arrays.push_back(times);
  }
  for (const auto& [name, text] : req.values) {
    int i = schema.FindValueColumn(name);
    if (i < 0) return InvalidArgument("'", name, "=", text, "': the table has no value column '", name, "'");
    for (const auto& f : fields) {
      if (f->name() == name) return InvalidArgument("column '", name, "' is given twice");
    }
    ARROW_ASSIGN_OR_RAISE(auto a, ParseOne(schema.value_columns[i], text, name));
    fields.push_back(arrow::field(name, a->type()));
    arrays.push_back(a);
  }
  if (!req.deleted) {
    std::vector<std::string> given;
    for (const auto& [name, text] : req.values) given.push_back(name);
    ARROW_RETURN_NOT_OK(CheckPutValues(schema, given, req.partial, "put"));
  }
  ARROW_ASSIGN_OR_RAISE(auto deleted, arrow::MakeArrayFromScalar(arrow::BooleanScalar(req.deleted), 1));
  fields.push_back(arrow::field("_deleted", arrow::boolean()));
  arrays.push_back(deleted);

  auto batch = arrow::RecordBatch::Make(arrow::schema(fields), 1, arrays);
  if (req.partial && !req.deleted) {
    ARROW_ASSIGN_OR_RAISE(batch, CarryForward(table, batch));
  }
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::RecordBatchReader::Make({batch}));
  bool unknown_key = false;
  std::string key_text;
  if (req.deleted) {
    for (const auto& t : key_texts) key_text += (key_text.empty() ? "" : ",") + t;
    ARROW_ASSIGN_OR_RAISE(bool known, KeyHasEvents(table, *batch));
    if (!known && req.strict) {
      return InvalidArgument("delete of key '", key_text,
                             "': the key has no event at any time; nothing committed (strict)");
    }
    unknown_key = !known;
  }
  AppendOptions options;
  options.operation = req.deleted ? "delete" : "put";
  options.source = req.deleted ? "delete" : "put";
  ARROW_ASSIGN_OR_RAISE(auto result, Append(table, *reader, options));
  if (unknown_key) {
    result.key_had_no_events = true;
    result.warning = UnknownKeyWarning(key_text);
  }
  return result;
}

}  // namespace bazof
