#include <iostream>

#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "io/storage.h"
#include "write/gen.h"

namespace bazof::cli {

void AddGenCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    write::GenOptions gen;
    ProgressFlags progress;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "gen",
      "Write a sample key-value table: keys k000000, k000001, ... (zero-padded to one width),\n"
      "events spread over 2020-2024 in yearly segments,\n"
      "committed as version 1, with ~5% late events committed as version 2 and ~1% tombstones.");
  flags->table.Add(cmd);
  cmd->add_option("--keys", flags->gen.keys, "Number of keys")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--events", flags->gen.events_per_key, "Events per key")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--seed", flags->gen.seed, "Random seed")->capture_default_str();
  cmd->add_option("--segments", flags->gen.segments, "Event-time segments over 2020-2024 (month-aligned)")
      ->check(CLI::Range(1, 60))->capture_default_str();
  flags->progress.Add(cmd);
  cmd->callback([run, flags] {
    *run = [flags]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto storage, io::OpenStorage(flags->table.path, flags->table.table, /*create_location=*/true,
                                                                   flags->table.storage_options()));
      write::GenOptions gen = flags->gen;  // the bar ends with this scope, before any error is printed
      gen.progress = flags->progress.Callback("gen");
      ARROW_ASSIGN_OR_RAISE(auto summary, write::GenerateSampleTable(*storage, gen));
      std::cout << "wrote " << summary.events << " events in " << summary.files
                << " files to " << storage->display_root() << "; version " << summary.version
                << std::endl;
      return arrow::Status::OK();
    };
  });
}

}  // namespace bazof::cli
