// bazof join-asof: the as-of join of a spine file (CSV, Parquet, JSON lines)
// against a table, written in the scan's output formats.
#include <arrow/api.h>

#include <optional>

#include "bazof/error.h"
#include "bazof/join.h"
#include "bazof/table.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "write/input_reader.h"

namespace bazof::cli {
namespace {

struct JoinFlags {
  TableFlags table;
  std::string spine;
  std::string spine_format;
  std::string on;
  std::string by;
  int64_t version = -1;
  CommitTimeFlag as_of_commit;
  std::string columns;
  ResultFlags result;
  int threads = 0;
  std::optional<std::string> memory_limit;
};

arrow::Status RunJoin(const JoinFlags& f) {
  ARROW_RETURN_NOT_OK(f.result.Check().status());  // before the table is opened
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f.table.path, f.table.table, f.table.storage_options()));
  JoinAsOfOptions o;
  o.on = f.on;
  if (!f.by.empty()) o.by = SplitCommas(f.by);
  if (!f.columns.empty()) o.columns = SplitCommas(f.columns);
  ARROW_ASSIGN_OR_RAISE(int64_t version, f.as_of_commit.Resolve(*table, f.version));
  if (version >= 0) o.version = Version(version);
  o.threads = f.threads;
  if (f.memory_limit) {
    ARROW_ASSIGN_OR_RAISE(o.memory_limit_bytes, ParseMemoryLimitFlag(*f.memory_limit));
  }

  // Text formats parse the key columns as the table's key types and the time
  // column as a UTC timestamp (zone-less text = UTC, as append reads it);
  // errors name the row and the column. Other columns keep inferred types.
  const TableSchema& ts = table->current_snapshot()->schema;
  std::vector<std::string> by = o.by;
  if (by.empty()) {
    for (const auto& k : ts.key_columns) by.push_back(k.name);
  }
  if (by.size() != ts.key_columns.size()) {
    return InvalidArgument("--by names ", by.size(), " column(s), but table '", table->location(), "' has ",
                           ts.key_columns.size(), " key column(s)");
  }
  TableSchema spine_schema;
  for (size_t i = 0; i < by.size(); ++i) {
    spine_schema.key_columns.push_back(ColumnSpec{by[i], 0, ts.key_columns[i].type, true});
  }
  spine_schema.event_time = ColumnSpec{f.on, 0, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), true};
  ARROW_ASSIGN_OR_RAISE(auto input_format, write::ResolveInputFormat(f.spine_format, f.spine));
  ARROW_ASSIGN_OR_RAISE(auto spine, write::OpenInput(f.spine, input_format, spine_schema));
  auto read = spine->ToTable();
  if (!read.ok()) return InvalidArgument("spine '", f.spine, "': ", read.status().message());
  ARROW_ASSIGN_OR_RAISE(auto join, JoinAsOfBuilder(table, *read).Options(std::move(o)).Build());
  ARROW_ASSIGN_OR_RAISE(auto reader, join->ToReader());
  return f.result.Write(*reader);
}

}  // namespace

void AddJoinAsOfCommand(CLI::App& app, Action* run) {
  auto flags = std::make_shared<JoinFlags>();
  auto* cmd = app.add_subcommand(
      "join-asof",
      "Point-in-time join: for every row of a spine file (key, time, ...), in file order, the\n"
      "table's event time and value columns as of that row's time (the last event at or before\n"
      "it; nulls when there is none, it is a tombstone, or the key or time is null). Table\n"
      "columns whose names the spine already has get the suffix _right.");
  flags->table.Add(cmd);
  cmd->add_option("--spine", flags->spine, "Spine file: .csv, .parquet or .jsonl (local path or URI)")
      ->required();
  cmd->add_option("--spine-format", flags->spine_format, "csv, parquet or jsonl (default: from the extension)");
  cmd->add_option("--on", flags->on, "The spine's time column (timestamp or date; text = UTC)")->required();
  cmd->add_option("--by", flags->by,
                  "Comma-separated spine key column(s), in table key order (default: the table's key names)");
  auto* version = cmd->add_option("--version", flags->version,
                                  "Join the table as committed at this version (default: current)")
                      ->check(CLI::NonNegativeNumber);
  flags->as_of_commit.Add(cmd, version);
  cmd->add_option("--columns", flags->columns, "Comma-separated value columns to return (default: all)");
  flags->result.Add(cmd);
  cmd->add_option("--memory-limit", flags->memory_limit, kMemoryLimitHelp);
  cmd->add_option("--threads", flags->threads, "Merge threads (default: number of cores)")
      ->check(CLI::PositiveNumber);
  cmd->callback([run, flags] { *run = [flags] { return RunJoin(*flags); }; });
}

}  // namespace bazof::cli
