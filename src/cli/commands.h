// The bazof CLI's subcommands. Each Add*Command registers its flags on `app`
// and sets `*run` to the action to execute when that subcommand was chosen.
#pragma once

#include <arrow/status.h>

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace bazof::cli {

using Action = std::function<arrow::Status()>;

/// Flags every table command takes.
struct TableFlags {
  std::string path;
  std::string table;
  void Add(CLI::App* cmd) {
    cmd->add_option("--path", path, "Directory or URI (file://, s3://bucket/prefix) holding the table")
        ->required();
    cmd->add_option("--table", table, "Table name (a directory under --path)")->required();
  }
};

/// "a,b,,c" -> {"a", "b", "", "c"} (empty parts are kept, so that callers can
/// refuse them by name).
std::vector<std::string> SplitCommas(const std::string& s);

/// `--key K` (single-column keys) or `--key col=value` (any key), repeated.
std::vector<std::pair<std::string, std::string>> ParseKeyArgs(const std::vector<std::string>& args);

void AddScanCommand(CLI::App& app, Action* run);
void AddCreateCommand(CLI::App& app, Action* run);
void AddAppendCommand(CLI::App& app, Action* run);
void AddPutCommands(CLI::App& app, Action* run);
void AddLogCommand(CLI::App& app, Action* run);
void AddHistoryCommand(CLI::App& app, Action* run);
void AddInfoCommand(CLI::App& app, Action* run);
void AddGenCommand(CLI::App& app, Action* run);
void AddCompactCommand(CLI::App& app, Action* run);
void AddAlterCommand(CLI::App& app, Action* run);
void AddValidateCommand(CLI::App& app, Action* run);
void AddVacuumCommand(CLI::App& app, Action* run);

}  // namespace bazof::cli
