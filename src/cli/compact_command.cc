// bazof compact: rewrite deltas per segment and build bases, as one commit.
#include <unistd.h>

#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/table.h"
#include "cli/commands.h"
#include "metadata/properties.h"

namespace bazof::cli {
namespace {

struct CompactFlags {
  TableFlags table;
  std::string segment_duration;
  std::string target_file_size;
  std::optional<std::string> horizon;
  bool dry_run = false;
  bool progress = false;
  int threads = 0;
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
  options.threads = flags.threads;
  if (flags.progress || isatty(STDERR_FILENO)) {
    options.progress = [last = int64_t{0}](int64_t events) mutable {
      if (events - last >= 1000000) {
        std::cerr << "compact: " << events << " events merged" << std::endl;
        last = events;
      }
    };
  }
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(flags.table.path, flags.table.table, flags.table.storage_options()));
  ARROW_ASSIGN_OR_RAISE(auto r, Compact(table, options));

  nlohmann::json j = {{"table", table->location()},
                      {"dry_run", flags.dry_run},
                      {"committed", r.committed},
                      {"built_from_version", r.built_from.value()},
                      {"files_read", r.files_read},
                      {"bytes_read", r.bytes_read},
                      {"events_read", r.events_read},
                      {"segments", r.segments}};
  if (r.horizon) j["horizon"] = FormatEventTime(*r.horizon);
  if (r.committed) {
    j["version"] = r.version.value();
    j["events_written"] = r.events_written;
    j["events_collapsed"] = r.events_collapsed;
    j["bases"] = r.bases;
    j["base_rows"] = r.base_rows;
    j["files_added"] = r.files_added;
    j["files_removed"] = r.files_removed;
  }
  if (flags.format == "json") {
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return arrow::Status::OK();
  }
  if (r.files_read == 0) {
    std::cout << "nothing to compact: version " << r.built_from.value() << " has no deltas\n";
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
      "until vacuum.");
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
  cmd->add_flag("--dry-run", flags->dry_run, "Report what would be merged; write nothing");
  cmd->add_flag("--progress", flags->progress, "Report progress on stderr (default when stderr is a terminal)");
  cmd->add_option("--threads", flags->threads, "Threads merging key ranges (default: cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--format", flags->format, "table (default) or json");
  cmd->callback([run, flags] { *run = [flags] { return RunCompact(*flags); }; });
}

}  // namespace bazof::cli
