// Progress bars of the CLI's long commands: --progress / --no-progress, and
// the ProgressCallback (include/bazof/progress.h) that draws them on stderr
// with barkeep. Never on stdout: results and --format json stay clean.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "bazof/progress.h"

namespace bazof::cli {

struct ProgressFlags {
  bool on = false;
  bool off = false;
  /// Registers --progress and --no-progress on `cmd`.
  void Add(CLI::App* cmd);
  /// A callback drawing a bar per phase on stderr (total, percent, rate and
  /// ETA; a count and rate when the total is unknown), labelled `label`; empty
  /// with --no-progress, or without --progress when stderr is not a terminal.
  ProgressCallback Callback(const std::string& label) const;
};

}  // namespace bazof::cli
