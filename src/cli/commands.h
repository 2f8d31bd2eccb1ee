// The bazof CLI's subcommands. Each Add*Command registers its flags on `app`
// and sets `*run` to the action to execute when that subcommand was chosen.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bazof/table.h"

namespace bazof::cli {

using Action = std::function<arrow::Status()>;

/// Flags every table command takes: the table as one positional URI
/// (`lake/stocks`, `file:///data/lake/stocks`, `s3://bucket/lake/stocks`), or
/// as `--path DIR --table NAME`; both may be given when they agree.
/// Resolved once for the command that ran (ResolveTableFlags, called by
/// main before the action), after which `path` and `table` hold the location
/// and the name.
struct TableFlags {
  std::string uri;  ///< the positional table URI, if given
  std::string path;
  std::string table;
  // Object storage (include/bazof/storage_options.h); AWS_* environment
  // variables apply too. Credentials are best given by the environment.
  std::string s3_endpoint;
  std::string s3_region;
  std::vector<std::string> s3_options;
  /// A command whose own positionals follow the table's gets the first one
  /// back when `--path/--table` named the table: `claim(text)` returns true
  /// if it takes it (e.g. put's col=value), false if it is a (disagreeing)
  /// table URI.
  std::function<bool(const std::string&)> claim;
  /// Registers the flags on `cmd` (and `cmd` for ResolveTableFlags).
  void Add(CLI::App* cmd);
  /// Sets path and table from the URI and the flags; kInvalidArgument when
  /// no table is named or the URI and --path/--table disagree.
  arrow::Status Resolve();
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

/// `--as-of-commit TIME` beside a read command's `--version N`: commit-time
/// travel to the latest version committed at or before TIME (wall clock).
struct CommitTimeFlag {
  std::optional<std::string> time;
  /// Registers the option on `cmd`, exclusive with `version` (may be null).
  void Add(CLI::App* cmd, CLI::Option* version);
  /// The version to read: `version` (-1 = current) unless TIME was given.
  arrow::Result<int64_t> Resolve(const Table& table, int64_t version) const;
};

/// A table's root URI -> (location, name), as Python's open_table splits it:
/// "lake/stocks" -> ("lake", "stocks"), "stocks" -> (".", "stocks"),
/// "s3://b/lake/t/" -> ("s3://b/lake", "t"). kInvalidArgument when it names
/// no table directory ("s3://bucket", "", "/").
arrow::Result<std::pair<std::string, std::string>> SplitTableUri(const std::string& uri);

/// Resolves the TableFlags of every command that was parsed; main calls it
/// once after parsing, before running the action.
arrow::Status ResolveTableFlags();

/// "a,b,,c" -> {"a", "b", "", "c"} (empty parts are kept, so that callers can
/// refuse them by name).
std::vector<std::string> SplitCommas(const std::string& s);

/// One key as the CLI spells it (docs/spec.md "Key text"): `K` for a
/// single-column key, `col=value,col=value` for any key (every key column
/// once). An argument whose comma-separated parts are not all col=value is
/// one part: col=value when it starts with an identifier and '=', else a bare
/// value (empty column name).
std::vector<std::pair<std::string, std::string>> ParseKeyArg(const std::string& arg);

/// The parts of one key given over several `--key` arguments (put, delete,
/// history also take `--key a=1 --key b=2`).
std::vector<std::pair<std::string, std::string>> ParseKeyArgs(const std::vector<std::string>& args);

/// Several keys, one per `--key` argument (scan, forget): each as
/// ParseKeyArg, except that a single-column key's value is taken whole
/// unless it starts with "<key column>=" (a string key may hold '=' and ',').
std::vector<std::vector<std::pair<std::string, std::string>>> KeyArgs(const Table& table,
                                                                      const std::vector<std::string>& args);

/// The help of a one-key `--key` option.
inline constexpr const char* kKeyHelp =
    "The key: K for a single-column key, or col=value,col=value naming every key column";

/// The help of --memory-limit (scan, join-asof, compact).
inline constexpr const char* kMemoryLimitHelp =
    "Memory budget, e.g. 256MiB, 1GiB (units B, KiB, MiB, GiB, KB, MB, GB; at least 32MiB). Default: the\n"
    "table's memory.limit property, else 512MiB. Batches, read-ahead and row groups shrink to fit it";

/// --memory-limit's value in bytes; kInvalidArgument naming the flag.
arrow::Result<int64_t> ParseMemoryLimitFlag(const std::string& text);

/// {"memory_limit_bytes":...,"peak_memory_bytes":...}: the budget and the
/// peak of Arrow's default memory pool in this process.
std::string MemoryStatsJson(int64_t limit);

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
/// Registered last: it lists every command registered before it.
void AddCompletionCommand(CLI::App& app, Action* run);

}  // namespace bazof::cli
