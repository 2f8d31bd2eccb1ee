// bazof diff: the changes between two event times or two versions,
// include/bazof/views.h.
#include <arrow/api.h>

#include <optional>

#include "bazof/error.h"
#include "bazof/inspect.h"
#include "bazof/views.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace bazof::cli {
namespace {

struct DiffFlags {
  TableFlags table;
  std::optional<std::string> from, to, at;
  std::optional<std::string> as_of_commit, from_commit, to_commit;
  int64_t from_version = -1, to_version = -1, version = -1;
  std::string columns;
  ResultFlags result;
  int threads = 0;
  std::optional<std::string> memory_limit;
};

arrow::Status RunDiff(const DiffFlags& f) {
  ARROW_RETURN_NOT_OK(f.result.Check().status());
  if (f.at && (f.from || f.to)) return InvalidArgument("--at is both --from and --to: give one or the others");
  if (f.version >= 0 && (f.from_version >= 0 || f.to_version >= 0)) {
    return InvalidArgument("--version is both --from-version and --to-version: give one or the others");
  }
  if (!f.from && !f.to && f.from_version < 0 && f.to_version < 0 && !f.from_commit && !f.to_commit) {
    return InvalidArgument(
        "diff needs two points: --from T1 --to T2, or --from-version V1 --to-version V2 (or "
        "--from-commit C1 --to-commit C2)");
  }
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f.table.path, f.table.table, f.table.storage_options()));
  // Commit-time travel: the latest version committed at or before a time.
  auto at_commit = [&](const std::string& text, const char* flag) -> arrow::Result<int64_t> {
    ARROW_ASSIGN_OR_RAISE(auto t, ParseCommitTime(text, flag));
    ARROW_ASSIGN_OR_RAISE(auto v, VersionAtCommitTime(*table, t));
    return v.value();
  };
  int64_t version = f.version, from_version = f.from_version, to_version = f.to_version;
  if (f.as_of_commit) {
    ARROW_ASSIGN_OR_RAISE(version, at_commit(*f.as_of_commit, "--as-of-commit"));
  }
  if (f.from_commit) {
    ARROW_ASSIGN_OR_RAISE(from_version, at_commit(*f.from_commit, "--from-commit"));
  }
  if (f.to_commit) {
    ARROW_ASSIGN_OR_RAISE(to_version, at_commit(*f.to_commit, "--to-commit"));
  }
  ChangeOptions o;
  if (f.at) {
    ARROW_ASSIGN_OR_RAISE(o.from_time, ParseEventTime(*f.at, "--at"));
    o.to_time = o.from_time;
  }
  if (f.from) {
    ARROW_ASSIGN_OR_RAISE(o.from_time, ParseEventTime(*f.from, "--from"));
  }
  if (f.to) {
    ARROW_ASSIGN_OR_RAISE(o.to_time, ParseEventTime(*f.to, "--to"));
  }
  if (version >= 0) o.from_version = o.to_version = Version(version);
  if (from_version >= 0) o.from_version = Version(from_version);
  if (to_version >= 0) o.to_version = Version(to_version);
  if (!f.columns.empty()) o.columns = SplitCommas(f.columns);
  if (f.threads > 0) o.threads = f.threads;
  if (f.memory_limit) {
    ARROW_ASSIGN_OR_RAISE(o.memory_limit_bytes, ParseMemoryLimitFlag(*f.memory_limit));
  }
  ARROW_ASSIGN_OR_RAISE(auto view, MakeChanges(*table, o));
  ARROW_ASSIGN_OR_RAISE(auto reader, view->ToReader());
  return f.result.Write(*reader);
}

}  // namespace

void AddDiffCommand(CLI::App& app, Action* run) {
  auto flags = std::make_shared<DiffFlags>();
  auto* cmd = app.add_subcommand(
      "diff",
      "The keys whose state differs between two points (event time, version): --from T1 --to T2\n"
      "(at one version), or --at T --from-version V1 --to-version V2 (\"what did version V2 change\n"
      "about T?\"). Columns: key(s), kind (insert, update, delete), old_/new_ event time, then\n"
      "old_<col>, new_<col> per value column. A new event with equal values is no change.");
  flags->table.Add(cmd);
  cmd->add_option("--from", flags->from, "Old event time, inclusive (default: latest)");
  cmd->add_option("--to", flags->to, "New event time, inclusive (default: latest)");
  cmd->add_option("--at", flags->at, "Both event times (with --from-version/--to-version)");
  auto* from_version = cmd->add_option("--from-version", flags->from_version, "Old version (default: current)")
                           ->check(CLI::NonNegativeNumber);
  auto* to_version = cmd->add_option("--to-version", flags->to_version, "New version (default: current)")
                         ->check(CLI::NonNegativeNumber);
  auto* version =
      cmd->add_option("--version", flags->version, "Both versions (default: current)")->check(CLI::NonNegativeNumber);
  auto* from_commit = cmd->add_option("--from-commit", flags->from_commit,
                                      "Old version: the latest committed at or before this wall-clock time "
                                      "(ISO-8601; no zone = UTC), instead of --from-version");
  from_commit->excludes(from_version)->excludes(version);
  auto* to_commit = cmd->add_option("--to-commit", flags->to_commit,
                                    "New version: the latest committed at or before this wall-clock time, "
                                    "instead of --to-version");
  to_commit->excludes(to_version)->excludes(version);
  cmd->add_option("--as-of-commit", flags->as_of_commit,
                  "Both versions: the latest committed at or before this wall-clock time (commit-time "
                  "travel, as scan's), instead of --version")
      ->excludes(version)
      ->excludes(from_version)
      ->excludes(to_version)
      ->excludes(from_commit)
      ->excludes(to_commit);
  cmd->add_option("--columns", flags->columns, "Comma-separated value columns to compare and return (default: all)");
  flags->result.Add(cmd);
  cmd->add_option("--threads", flags->threads, "Merge threads (default: number of cores)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--memory-limit", flags->memory_limit, kMemoryLimitHelp);
  cmd->callback([run, flags] { *run = [flags] { return RunDiff(*flags); }; });
}

}  // namespace bazof::cli
