// bazof delete --where: the CLI side of a predicate delete (the core is
// bazof::DeleteWhere). A condition is "column OP value" with OP one of
// = == != < <= > >=; the value is parsed by the column's type; several
// --where are joined by `and`.
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <iostream>

#include "bazof/error.h"
#include "bazof/write.h"
#include "cli/commands.h"
#include "cli/delete_where.h"
#include "bazof/result_json.h"
#include "write/text_parse.h"

namespace bazof::cli {
namespace {

const ColumnSpec* FindColumn(const TableSchema& schema, const std::string& name) {
  for (const auto& k : schema.key_columns) {
    if (k.name == name) return &k;
  }
  if (schema.event_time.name == name) return &schema.event_time;
  int i = schema.FindValueColumn(name);
  return i < 0 ? nullptr : &schema.value_columns[i];
}

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

arrow::Result<arrow::compute::Expression> ParseWhere(const TableSchema& schema, const std::vector<std::string>& conds) {
  namespace cp = arrow::compute;
  static const std::vector<std::pair<std::string, std::string>> kOps = {
      {"<=", "less_equal"}, {">=", "greater_equal"}, {"!=", "not_equal"}, {"==", "equal"},
      {"=", "equal"},       {"<", "less"},           {">", "greater"}};
  std::vector<cp::Expression> parts;
  for (const auto& c : conds) {
    size_t pos = std::string::npos;
    std::string op, fn;
    for (const auto& [o, f] : kOps) {
      size_t p = c.find(o);
      if (p != std::string::npos && (pos == std::string::npos || p < pos || (p == pos && o.size() > op.size()))) {
        pos = p;
        op = o;
        fn = f;
      }
    }
    if (pos == std::string::npos) {
      return InvalidArgument("--where '", c, "': expected column OP value, with OP one of = != < <= > >=");
    }
    const std::string name = Trim(c.substr(0, pos)), text = Trim(c.substr(pos + op.size()));
    const ColumnSpec* col = FindColumn(schema, name);
    if (!col) return InvalidArgument("--where '", c, "': the table has no column '", name, "'");
    arrow::StringBuilder b;
    ARROW_RETURN_NOT_OK(b.Append(text));
    ARROW_ASSIGN_OR_RAISE(auto array, b.Finish());
    auto parsed = write::ParseText(static_cast<const arrow::StringArray&>(*array), col->type, col->name, 1);
    if (!parsed.ok() || (*parsed)->null_count() > 0) {
      return InvalidArgument("--where '", c, "': '", text, "' is not a valid ", col->type->ToString(),
                             " for column '", col->name, "'");
    }
    ARROW_ASSIGN_OR_RAISE(auto scalar, (*parsed)->GetScalar(0));
    parts.push_back(cp::call(fn, {cp::field_ref(col->name), cp::literal(scalar)}));
  }
  return parts.size() == 1 ? parts[0] : cp::and_(parts);
}

arrow::Status RunDeleteWhere(const std::shared_ptr<Table>& table, const DeleteWhereFlags& f) {
  if (f.format != "table" && f.format != "json") {
    return InvalidArgument("--format '", f.format, "': expected table or json");
  }
  if (!f.event_time) return InvalidArgument("delete --where: --event-time is required (the tombstones' time)");
  DeleteWhereOptions o;
  ARROW_ASSIGN_OR_RAISE(o.as_of, ParseEventTime(*f.event_time, "--event-time"));
  ARROW_ASSIGN_OR_RAISE(o.filter, ParseWhere(table->current_snapshot()->schema, f.where));
  o.dry_run = f.dry_run;
  ARROW_ASSIGN_OR_RAISE(auto r, DeleteWhere(table, o));
  if (f.format == "json") {
    std::cout << ToJson(r, table->location(), f.dry_run) << std::endl;
    return arrow::Status::OK();
  }
  if (f.dry_run) {
    std::cout << "would delete " << r.keys << " key(s) as of " << FormatEventTime(o.as_of) << "; nothing committed"
              << std::endl;
    // One key per line, key columns comma-separated.
    ARROW_ASSIGN_OR_RAISE(auto batches, r.matched->CombineChunksToBatch());
    if (r.keys > 0) {
      for (int64_t i = 0; i < r.keys; ++i) {
        std::string line;
        for (int c = 0; c < batches->num_columns(); ++c) {
          auto s = batches->column(c)->GetScalar(i);
          line += (c ? "," : "") + (s.ok() ? (*s)->ToString() : std::string("?"));
        }
        std::cout << line << std::endl;
      }
    }
  } else if (!r.commit.committed) {
    std::cout << "no key matches as of " << FormatEventTime(o.as_of) << "; nothing committed" << std::endl;
  } else {
    std::cout << "deleted " << r.keys << " key(s) as of " << FormatEventTime(o.as_of) << ": committed version "
              << r.commit.version.value() << std::endl;
  }
  return arrow::Status::OK();
}

}  // namespace bazof::cli
