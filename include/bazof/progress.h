// Progress of long operations (append, compact, vacuum, gen): a callback the
// caller puts in the operation's options. The core only counts; drawing a bar
// is the surface's business (the CLI's is src/cli/progress_bar.cc).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace bazof {

/// One report of a long operation's progress.
struct Progress {
  /// What the operation is doing now, e.g. "merge", "plan", "read snapshots",
  /// "delete", "write", "read input". An operation may go through several
  /// phases; each starts again from done = 0.
  std::string phase;
  /// What done and total count: "events", "rows", "files", "bytes", ...
  std::string unit;
  /// Units done so far in this phase; never decreases within a phase.
  int64_t done = 0;
  /// Units in this phase; -1 while not known in advance (e.g. rows of a CSV
  /// input). done never exceeds a known total.
  int64_t total = -1;
};

/// Called at a phase's start (done = 0), at most every 100 ms while it runs
/// (only when done changed), and once at its end with done == total (a total
/// unknown until then is set to done). Calls for one operation never overlap
/// (they may come from different threads of the operation, one at a time).
/// It must be quick and must not throw; it cannot stop the operation. An
/// empty callback costs nothing.
using ProgressCallback = std::function<void(const Progress&)>;

}  // namespace bazof
