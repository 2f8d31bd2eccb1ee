// bazof log and bazof history.
#include <arrow/api.h>

#include "bazof/error.h"
#include "bazof/inspect.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace bazof::cli {
namespace {

arrow::Status WriteTable(const std::shared_ptr<arrow::Table>& t, const std::string& format) {
  ARROW_ASSIGN_OR_RAISE(auto fmt, ParseOutputFormat(format));
  if (fmt == OutputFormat::kParquet) return InvalidArgument("--format: expected table, csv or json");
  arrow::TableBatchReader reader(*t);
  return WriteResult(reader, fmt, "", -1);
}

arrow::Status RunLog(const TableFlags& flags, const std::string& format) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(flags.path, flags.table, flags.storage_options()));
  ARROW_ASSIGN_OR_RAISE(auto log, ReadLog(*table));
  ARROW_ASSIGN_OR_RAISE(auto t, LogTable(log));
  return WriteTable(t, format);
}

}  // namespace

void AddLogCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    std::string format = "table";
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "log", "One row per retained version (versions removed by vacuum are not listed): version,\ncommit time (wall clock), operation, rows added, files added, files removed,\ndescription (what an alter changed).");
  f->table.Add(cmd);
  cmd->add_option("--format", f->format, "table (default), csv or json");
  cmd->callback([run, f] { *run = [f] { return RunLog(f->table, f->format); }; });
}

void AddHistoryCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    std::vector<std::string> key;
    int64_t version = -1;
    CommitTimeFlag as_of_commit;
    std::string format = "table";
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "history",
      "Every event of one key in event-time order, with the version that committed it\nand whether it is a tombstone.");
  f->table.Add(cmd);
  cmd->add_option("--key", f->key, kKeyHelp)->required();
  auto* version = cmd->add_option("--version", f->version, "As committed at this version (default: current)")
                      ->check(CLI::NonNegativeNumber);
  f->as_of_commit.Add(cmd, version);
  cmd->add_option("--format", f->format, "table (default), csv or json");
  cmd->callback([run, f] {
    *run = [f]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f->table.path, f->table.table, f->table.storage_options()));
      std::optional<Version> v;
      ARROW_ASSIGN_OR_RAISE(int64_t version, f->as_of_commit.Resolve(*table, f->version));
      if (version >= 0) v = Version(version);
      ARROW_ASSIGN_OR_RAISE(auto events, KeyHistory(*table, ParseKeyArgs(f->key), v));
      return WriteTable(events, f->format);
    };
  });
}

}  // namespace bazof::cli
