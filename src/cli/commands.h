// The bazof CLI's subcommands. Each Add*Command registers its flags on `app`
// and sets `*run` to the action to execute when that subcommand was chosen.
#pragma once

#include <arrow/status.h>

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

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

void AddScanCommand(CLI::App& app, Action* run);
void AddInfoCommand(CLI::App& app, Action* run);
void AddGenCommand(CLI::App& app, Action* run);

}  // namespace bazof::cli
