// Schema evolution and table properties: `alter`, one change per commit
// (docs/spec.md §12.1). Data files are never rewritten: older files are read
// under the new schema (missing columns as null, renamed columns by id,
// widened columns cast exactly), and scans of older versions keep the schema
// of their version.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <variant>

#include "bazof/table.h"
#include "bazof/write.h"

namespace bazof {

/// Adds a value column at the end of the value columns, with a new id from
/// next_column_id. Rows written before read it as null, so the column must
/// be nullable: `nullable = false` is refused. `type` must be a format type
/// (docs/spec.md §5).
struct AddColumn {
  std::string name;
  std::shared_ptr<arrow::DataType> type;
  bool nullable = true;
};

/// Removes a value column from the schema; its id is never reused. Key and
/// event-time columns cannot be dropped.
struct DropColumn {
  std::string name;
};

/// Renames a value column, keeping its id (data files are matched by id).
/// Key and event-time columns are matched by name in data files and cannot
/// be renamed.
struct RenameColumn {
  std::string from;
  std::string to;
};

/// Changes a value column's type to one that holds every old value exactly
/// (docs/spec.md §12.1 lists the widenings). Older files are cast on read.
struct WidenColumn {
  std::string name;
  std::shared_ptr<arrow::DataType> type;
};

/// Sets a table property (dotted lower-case name; values of the properties
/// bazof knows are checked).
struct SetProperty {
  std::string name;
  std::string value;
};

/// Removes a table property (a property bazof knows reverts to its default).
struct UnsetProperty {
  std::string name;
};

/// One change to a table.
using AlterOp =
    std::variant<AddColumn, DropColumn, RenameColumn, WidenColumn, SetProperty, UnsetProperty>;

/// A short description of `op`, as recorded in commit.description
/// ("add column 'c' int32").
std::string DescribeAlterOp(const AlterOp& op);

struct AlterOptions {
  /// Commit attempts. When another writer wins the race, the change is
  /// validated again against the new current version before retrying.
  int max_attempts = 20;
};

/// Applies `op` to the current version of `table` as one commit (operation
/// "alter", commit.description = DescribeAlterOp(op)). A refused change is
/// kInvalidArgument naming the column (or property) and the reason; nothing
/// is committed. A property change that changes nothing (same value, or
/// unsetting an absent property) commits nothing: result.committed == false.
/// If a concurrent commit makes the change invalid, or the attempts run out,
/// the result is kConflict. Legacy (bazof 0.1 / azof 0.2) tables are refused.
arrow::Result<CommitResult> Alter(const std::shared_ptr<Table>& table, const AlterOp& op,
                                  const AlterOptions& options = {});

}  // namespace bazof
