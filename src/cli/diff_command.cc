// bazof diff: the changes between two event times or two versions,
// include/bazof/views.h.
#include <arrow/api.h>

#include <optional>

#include "bazof/error.h"
#include "bazof/views.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace bazof::cli {
namespace {

struct DiffFlags {
  TableFlags table;
  std::optional<std::string> from, to, at;
  int64_t from_version = -1, to_version = -1, version = -1;
  std::string columns;
  ResultFlags result;
  int threads = 0;
};

arrow::Status RunDiff(const DiffFlags& f) {
  ARROW_RETURN_NOT_OK(f.result.Check().status());
  if (f.at && (f.from || f.to)) return InvalidArgument("--at is both --from and --to: give one or the others");
  if (f.version >= 0 && (f.from_version >= 0 || f.to_version >= 0)) {
    return InvalidArgument("--version is both --from-version and --to-version: give one or the others");
  }
  if (!f.from && !f.to && f.from_version < 0 && f.to_version < 0) {
    return InvalidArgument("diff needs two points: --from T1 --to T2, or --from-version V1 --to-version V2");
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
  if (f.version >= 0) o.from_version = o.to_version = Version(f.version);
  if (f.from_version >= 0) o.from_version = Version(f.from_version);
  if (f.to_version >= 0) o.to_version = Version(f.to_version);
  if (!f.columns.empty()) o.columns = SplitCommas(f.columns);
  if (f.threads > 0) o.threads = f.threads;
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f.table.path, f.table.table, f.table.storage_options()));
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
  cmd->add_option("--from-version", flags->from_version, "Old version (default: current)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--to-version", flags->to_version, "New version (default: current)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--version", flags->version, "Both versions (default: current)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--columns", flags->columns, "Comma-separated value columns to compare and return (default: all)");
  flags->result.Add(cmd);
  cmd->add_option("--threads", flags->threads, "Merge threads (default: number of cores)")
      ->check(CLI::PositiveNumber);
  cmd->callback([run, flags] { *run = [flags] { return RunDiff(*flags); }; });
}

}  // namespace bazof::cli
