// bazof delete --where (src/cli/delete_where.cc).
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bazof/table.h"

namespace bazof::cli {

/// The flags of a predicate delete.
struct DeleteWhereFlags {
  std::vector<std::string> where;  ///< "column OP value", joined by `and`
  std::optional<std::string> event_time;
  bool dry_run = false;
  std::string format = "table";
};

/// "column OP value" conditions (OP: = == != < <= > >=; the value parsed by
/// the column's type) joined by `and`. kInvalidArgument names the condition.
arrow::Result<arrow::compute::Expression> ParseWhere(const TableSchema& schema, const std::vector<std::string>& conds);

/// Runs `bazof delete --where ...` on `table`, printing the count (and, for a
/// dry run, the keys) or, with json, the result object.
arrow::Status RunDeleteWhere(const std::shared_ptr<Table>& table, const DeleteWhereFlags& flags);

}  // namespace bazof::cli
