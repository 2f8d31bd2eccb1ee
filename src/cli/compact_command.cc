// bazof compact: rewrite deltas per segment and build bases, as one commit.
#include <iostream>
#include <optional>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/result_json.h"
#include "bazof/table.h"
#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "metadata/properties.h"

namespace bazof::cli {
namespace {

struct CompactFlags {
  TableFlags table;
  std::string segment_duration;
  std::string target_file_size;
  std::optional<std::string> horizon;
  bool dry_run = false;
  bool force = false;
  std::optional<int64_t> min_segment_rows;
  ProgressFlags progress;
  int threads = 0;
  std::optional<std::string> memory_limit;
  std::string spill_dir;
  std::string format = "table";
};

arrow::Status RunCompact(const CompactFlags& flags) {
  if (flags.format != "table" && flags.format != "json") {
    return InvalidArgument("--format '", flags.format, "': expected table or json");
  }
  CompactOptions options;
  if (flags.segment_duration == "auto") {
    options.segment_duration_us = 0;
  } else if (!flags.segment_duration.empty()) {
    ARROW_ASSIGN_OR_RAISE(options.segment_duration_us,
                          metadata::ParseDuration(flags.segment_duration, "--segment-duration"));
  }
  if (!flags.target_file_size.empty()) {
    ARROW_ASSIGN_OR_RAISE(options.target_file_bytes,
                          metadata::ParseByteSize(flags.target_file_size, "--target-file-size"));
  }
  if (flags.horizon) {
    ARROW_ASSIGN_OR_RAISE(options.horizon, ParseEventTime(*flags.horizon, "--horizon"));
  }
  options.dry_run = flags.dry_run;
  options.force = flags.force;
  options.min_segment_rows = flags.min_segment_rows;
  options.threads = flags.threads;
  options.spill_dir = flags.spill_dir;
  options.progress = flags.progress.Callback("compact");
  if (flags.memory_limit) {
    ARROW_ASSIGN_OR_RAISE(options.memory_limit_bytes, ParseMemoryLimitFlag(*flags.memory_limit));
  }
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(flags.table.path, flags.table.table, flags.table.storage_options()));
  ARROW_ASSIGN_OR_RAISE(auto r, Compact(table, options));

  if (flags.format == "json") {
    std::cout << ToJson(r, table->location(), flags.dry_run) << std::endl;
    return arrow::Status::OK();
  }
  if (r.nothing_to_compact) {
    std::cout << "nothing to compact: " << r.reason << "; nothing committed\n";
  } else if (flags.dry_run) {
    std::cout << "would merge " << r.files_read << " delta file(s) (" << r.events_read << " rows, "
              << r.bytes_read << " bytes) of version " << r.built_from.value() << " into " << r.segments
              << " segment(s); nothing written\n";
  } else {
    std::cout << "compacted version " << r.built_from.value() << " into version " << r.version.value()
              << ": " << r.files_read << " delta file(s), " << r.events_read << " rows -> " << r.segments
              << " segment(s), " << (r.files_added.size() - r.bases) << " delta file(s) with "
              << r.events_written << " rows, " << r.bases << " base(s) with " << r.base_rows << " rows\n";
    if (r.horizon) {
      std::cout << "history horizon " << FormatEventTime(*r.horizon) << ": " << r.events_collapsed
                << " older event(s) collapsed; scans before it are refused from version " << r.version.value()
                << "\n";
    }
  }
  return arrow::Status::OK();
}

}  // namespace

void AddCompactCommand(CLI::App& app, Action* run) {
  auto flags = std::make_shared<CompactFlags>();
  auto* cmd = app.add_subcommand(
      "compact",
      "Rewrite the current version's deltas into one set of files per segment of event time and "
      "build a base (the state at the segment's start) for each, as one new version. No scan "
      "result changes; scans then read fewer, larger files. Old files stay for older versions "
      "until vacuum. A table already compacted, with nothing written since, is left as it is "
      "('nothing to compact', exit 0, no new version).");
  flags->table.Add(cmd);
  cmd->add_option("--segment-duration", flags->segment_duration,
                  "Event-time length of segments, e.g. 30d, 12h, 1w, or auto: segments of about "
                  "as many events as the table has keys (default: the table's "
                  "compaction.segment_duration, auto)");
  cmd->add_option("--target-file-size", flags->target_file_size,
                  "Start a new delta file past this size, e.g. 128MiB (default: the table's "
                  "compaction.target_file_size, 128MiB)");
  cmd->add_option("--horizon", flags->horizon,
                  "History horizon: collapse events at or before this event time into each key's "
                  "state there; scans as of it or later are unchanged, earlier ones are refused "
                  "(default: the table's retention.event_time, none)");
  cmd->add_option("--min-segment-rows", flags->min_segment_rows,
                  "Fewest events of an auto-layout segment; a table with fewer is one segment "
                  "(default: the table's compaction.min_segment_rows, 100000)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--force", flags->force,
                "Rewrite even when the table is already compacted (by default that reports "
                "'nothing to compact' and commits nothing)");
  cmd->add_flag("--dry-run", flags->dry_run, "Report what would be merged; write nothing");
  flags->progress.Add(cmd);
  cmd->add_option("--threads", flags->threads,
                  "Threads merging key ranges and, when more than 1, writing the segments' files (default: cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--memory-limit", flags->memory_limit, kMemoryLimitHelp);
  cmd->add_option("--spill-dir", flags->spill_dir,
                  "Local directory where the merge spills each segment's rows until its files are written\n"
                  "(default: $TMPDIR, else /tmp; also for tables on S3; about the size of the new files);\n"
                  "the files have no name there and vanish when the compaction ends");
  cmd->add_option("--format", flags->format,
                  "table (default) or json (with spilled_bytes, memory_limit_bytes and peak_memory_bytes, the "
                  "peak of Arrow's memory pool)");
  cmd->callback([run, flags] { *run = [flags] { return RunCompact(*flags); }; });
}

}  // namespace bazof::cli
