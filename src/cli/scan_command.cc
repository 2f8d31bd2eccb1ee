#include <arrow/api.h>

#include <iostream>
#include <optional>

#include "bazof/error.h"
#include "bazof/table.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "util/memory_budget.h"

namespace bazof::cli {
namespace {

struct ScanFlags {
  TableFlags table;
  std::optional<std::string> as_of;
  int64_t version = -1;
  CommitTimeFlag as_of_commit;
  std::string columns;
  std::vector<std::string> keys;
  ResultFlags result;
  int threads = 0;
  bool require_complete = false;
  std::optional<std::string> memory_limit;
  bool memory_stats = false;
};

arrow::Status RunScan(const ScanFlags& f) {
  ARROW_RETURN_NOT_OK(f.result.Check().status());
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f.table.path, f.table.table, f.table.storage_options()));
  auto scan = table->NewScan();
  if (f.as_of) {
    ARROW_ASSIGN_OR_RAISE(auto t, ParseEventTime(*f.as_of, "--as-of"));
    scan.AsOf(t);
  }
  ARROW_ASSIGN_OR_RAISE(int64_t version, f.as_of_commit.Resolve(*table, f.version));
  if (version >= 0) scan.AtVersion(Version(version));
  if (!f.columns.empty()) scan.Columns(SplitCommas(f.columns));
  if (!f.keys.empty()) {
    scan.KeysIn(KeyArgs(*table, f.keys));
  }
  if (f.threads > 0) scan.Threads(f.threads);
  int64_t memory_limit = 0;
  if (f.memory_limit) {
    ARROW_ASSIGN_OR_RAISE(memory_limit, ParseMemoryLimitFlag(*f.memory_limit));
    scan.MemoryLimit(memory_limit);
  }
  scan.RequireComplete(f.require_complete);
  ARROW_ASSIGN_OR_RAISE(auto built, scan.Build());
  // The result's metadata says whether it is complete (parquet output keeps
  // it); the other formats hold rows only, so an incomplete scan says so here.
  if (auto md = built->schema()->metadata()) {
    auto complete = md->Get("bazof.complete");
    auto watermark = md->Get("bazof.watermark");
    if (complete.ok() && *complete == "false" && watermark.ok()) {
      std::cerr << "bazof: note: the scan is past the completeness watermark " << *watermark
                << " of table '" << table->location() << "'; its result may still change" << std::endl;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto reader, built->ToReader());
  ARROW_RETURN_NOT_OK(f.result.Write(*reader));
  if (f.memory_stats) {
    ARROW_ASSIGN_OR_RAISE(int64_t limit, ResolveMemoryLimit(memory_limit, table->current_snapshot()->properties,
                                                            "scan of '" + table->location() + "'"));
    std::cerr << MemoryStatsJson(limit) << std::endl;
  }
  return arrow::Status::OK();
}

}  // namespace

void AddScanCommand(CLI::App& app, Action* run) {
  auto flags = std::make_shared<ScanFlags>();
  auto* cmd = app.add_subcommand(
      "scan",
      "Read the state of every key as of an event time (and a version).\n"
      "Output rows are sorted by key: key column(s), event time, value columns.");
  flags->table.Add(cmd);
  cmd->add_option("--as-of", flags->as_of,
                  "Event time, inclusive: 2019-01-17 (midnight UTC), 2019-01-17T10:00:00 (UTC), "
                  "...Z or ...+02:00. Default: latest");
  auto* version = cmd->add_option("--version", flags->version,
                                  "Read the table as committed at this version (default: current)")
                      ->check(CLI::NonNegativeNumber);
  flags->as_of_commit.Add(cmd, version);
  cmd->add_option("--columns", flags->columns, "Comma-separated value columns to return (default: all)");
  cmd->add_option("--key", flags->keys,
                  "Only this key: K, or col=value,col=value for a composite key (repeat for several)");
  flags->result.Add(cmd);
  cmd->add_option("--threads", flags->threads, "Merge threads (default: number of cores)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--memory-limit", flags->memory_limit, kMemoryLimitHelp);
  cmd->add_flag("--memory-stats", flags->memory_stats,
                "After the rows, print {\"memory_limit_bytes\":...,\"peak_memory_bytes\":...,\"allocator\":...} (JSON, "
                "one line) on stderr: the budget, the peak of Arrow's memory pool and its allocator");
  cmd->add_flag("--require-complete", flags->require_complete,
               "Fail unless the as-of time is at or before the table's completeness watermark");
  cmd->callback([run, flags] { *run = [flags] { return RunScan(*flags); }; });
}

}  // namespace bazof::cli
