// bazof: the command-line surface of the bazof core.
// Exit codes: 0 success; 1 any error (usage, input, data, storage), reported
// as one line "bazof: error: <message>" on stderr.
#include <stdlib.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "bazof/error.h"
#include "cli/commands.h"
#include "io/s3_config.h"
#include "text_escape.h"

namespace {

// Edit distance (insertions, deletions, substitutions, adjacent swaps) of two
// short words: how close a misspelt command is to a real one.
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// "unknown command 'scna', did you mean 'scan'?" when the first argument is
// not an option and names no command (or there is none); empty when fine.
std::string UnknownCommand(CLI::App& app, int argc, char** argv) {
  if (argc < 2) return "a command is required (see --help for the commands)";
  if (argv[1][0] == '-' || argv[1][0] == '\0') return "";
  const std::string word = argv[1];
  std::string best;
  size_t best_distance = std::string::npos;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == word) return "";
    const size_t distance = EditDistance(word, sub->get_name());
    if (distance < best_distance) best_distance = distance, best = sub->get_name();
  }
  std::string message = "unknown command '" + word + "'";
  if (!best.empty() && best_distance <= std::max<size_t>(1, word.size() / 3)) {
    message += ", did you mean '" + best + "'?";
  } else {
    message += " (see --help for the commands)";
  }
  return message;
}

}  // namespace

int main(int argc, char** argv) {
  // The CLI allocates through the system allocator unless the user chose one:
  // on scans, joins and compaction it cost the least CPU and (but for
  // compaction, where jemalloc holds less) the least peak RSS of the three the
  // pyarrow wheel offers, mimalloc the most (docs/spec.md §22, measured by
  // bench/allocator_ab.py). Arrow reads the variable on its first allocation,
  // so this comes before anything else.
  setenv("ARROW_DEFAULT_MEMORY_POOL", "system", /*overwrite=*/0);
  bazof::io::S3Shutdown s3_shutdown;  // before statics are destroyed
  CLI::App app{"bazof: event-time travel over keyed tables stored as Parquet", "bazof"};
  app.require_subcommand(1);
  // `--version` / `-V` before any command; after a command, `--version N`
  // is the table version that command reads.
  app.set_version_flag("--version,-V,--version-info", "bazof 0.1.0 (format 1)");
  bazof::cli::Action run;
  bazof::cli::AddCreateCommand(app, &run);
  bazof::cli::AddAppendCommand(app, &run);
  bazof::cli::AddPutCommands(app, &run);
  bazof::cli::AddScanCommand(app, &run);
  bazof::cli::AddJoinAsOfCommand(app, &run);
  bazof::cli::AddHistoryCommand(app, &run);
  bazof::cli::AddIntervalsCommand(app, &run);
  bazof::cli::AddDiffCommand(app, &run);
  bazof::cli::AddLogCommand(app, &run);
  bazof::cli::AddInfoCommand(app, &run);
  bazof::cli::AddGenCommand(app, &run);
  bazof::cli::AddCompactCommand(app, &run);
  bazof::cli::AddAlterCommand(app, &run);
  bazof::cli::AddValidateCommand(app, &run);
  bazof::cli::AddVacuumCommand(app, &run);
  bazof::cli::AddWatermarkCommand(app, &run);
  bazof::cli::AddForgetCommand(app, &run);
  bazof::cli::AddRestoreCommand(app, &run);
  bazof::cli::AddCompletionCommand(app, &run);
  if (std::string unknown = UnknownCommand(app, argc, argv); !unknown.empty()) {
    std::cerr << "bazof: error: " << bazof::EscapeForMessage(unknown) << std::endl;
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "bazof: error: " << bazof::EscapeForMessage(e.what()) << " (see --help)" << std::endl;
    return 1;
  }
  // The one place the CLI prints an error: escaped to one line.
  auto fail = [](std::string_view message) {
    std::cerr << "bazof: error: " << bazof::EscapeForMessage(message) << std::endl;
    return 1;
  };
  try {
    arrow::Status st = bazof::cli::ResolveTableFlags();
    if (st.ok()) st = run();
    if (!st.ok()) {
      std::cerr << "bazof: error: " << bazof::ErrorLine(st) << std::endl;
      return 1;
    }
  } catch (const std::exception& e) {
    // Last resort: a bug escaped the core. One line and exit 1, not an abort.
    return fail(std::string("internal error: ") + e.what());
  } catch (...) {
    return fail("internal error: unknown exception");
  }
  return 0;
}
