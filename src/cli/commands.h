// The bazof CLI's subcommands. Each Add*Command registers its flags on `app`
// and sets `*run` to the action to execute when that subcommand was chosen.
#pragma once

#include <arrow/status.h>

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bazof::cli {

using Action = std::function<arrow::Status()>;

/// Flags every table command takes.
struct TableFlags {
  std::string path;
  std::string table;
  // Object storage (include/bazof/storage_options.h); AWS_* environment
  // variables apply too. Credentials are best given by the environment.
  std::string s3_endpoint;
  std::string s3_region;
  std::vector<std::string> s3_options;
  void Add(CLI::App* cmd) {
    cmd->add_option("--path", path, "Directory or URI (file://, s3://bucket/prefix) holding the table")
        ->required();
    cmd->add_option("--table", table, "Table name (a directory under --path)")->required();
    cmd->add_option("--s3-endpoint", s3_endpoint,
                    "S3-compatible server, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL_S3, "
                    "AWS_ENDPOINT_URL, else AWS)");
    cmd->add_option("--s3-region", s3_region, "S3 region (default: AWS_REGION, AWS_DEFAULT_REGION)");
    cmd->add_option("--s3-option", s3_options,
                    "S3 option KEY=VALUE, repeatable: anonymous, conditional_writes, max_attempts, "
                    "connect_timeout, request_timeout, scheme, session_token, ...");
  }
  /// The storage options the flags give; unknown keys are refused when the
  /// storage is opened.
  std::map<std::string, std::string> storage_options() const {
    std::map<std::string, std::string> out;
    for (const auto& kv : s3_options) {
      auto eq = kv.find('=');
      out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    if (!s3_endpoint.empty()) out["endpoint"] = s3_endpoint;
    if (!s3_region.empty()) out["region"] = s3_region;
    return out;
  }
};

/// "a,b,,c" -> {"a", "b", "", "c"} (empty parts are kept, so that callers can
/// refuse them by name).
std::vector<std::string> SplitCommas(const std::string& s);

/// `--key K` (single-column keys) or `--key col=value` (any key), repeated.
std::vector<std::pair<std::string, std::string>> ParseKeyArgs(const std::vector<std::string>& args);

void AddScanCommand(CLI::App& app, Action* run);
void AddJoinAsOfCommand(CLI::App& app, Action* run);
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
void AddIntervalsCommand(CLI::App& app, Action* run);
void AddDiffCommand(CLI::App& app, Action* run);
void AddWatermarkCommand(CLI::App& app, Action* run);
void AddForgetCommand(CLI::App& app, Action* run);
void AddRestoreCommand(CLI::App& app, Action* run);

}  // namespace bazof::cli
