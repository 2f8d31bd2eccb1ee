// The CLI's progress bars, drawn by barkeep (cmake/Barkeep.cmake). The core
// reports numbers (include/bazof/progress.h); this file only draws them.
#include "cli/progress_bar.h"

#include <unistd.h>

#include <barkeep/barkeep.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>

namespace bazof::cli {
namespace {

std::string FormatDuration(double seconds) {
  if (!(seconds >= 0) || seconds > 360000) return "--:--";
  auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  }
  return buf;
}

// One bar per phase: a barkeep progress bar (percent, bar, done/total, rate)
// and a status line after it with the ETA; a counter with its rate when the
// total is unknown. The core calls one at a time, but barkeep draws from its
// own thread, so the shown values are atomics.
class Bars {
 public:
  explicit Bars(std::string label) : label_(std::move(label)) {}
  ~Bars() { Close(); }

  void Update(const Progress& p) {
    try {
      if (display_ && p.phase == phase_ && total_ < 0) {
        // A count of unknown total: its end only fixes the total.
        done_.store(p.done);
        if (p.total >= 0) Close();
        return;
      }
      if (!display_ || p.phase != phase_ || p.total != total_) Open(p);
      done_.store(p.done);
      if (eta_) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        const int64_t progressed = p.done - first_done_;
        std::string text = "ETA --:--";
        if (p.done >= p.total) {
          text = "ETA 00:00, took " + FormatDuration(elapsed);
        } else if (progressed > 0 && elapsed > 0) {
          text = "ETA " + FormatDuration(static_cast<double>(p.total - p.done) * elapsed / progressed);
        }
        eta_->message(text);
      }
      if (p.total >= 0 && p.done >= p.total) Close();
    } catch (const std::exception&) {
      // A display that cannot be drawn is not worth failing the command.
    }
  }

 private:
  void Open(const Progress& p) {
    Close();
    phase_ = p.phase;
    total_ = p.total;
    done_.store(p.done);
    first_done_ = p.done;
    started_ = std::chrono::steady_clock::now();
    const std::string message = label_ + " " + p.phase;
    if (p.total >= 0) {
      auto bar = barkeep::ProgressBar(&done_, {.out = &std::cerr,
                                               .total = p.total,
                                               .message = message,
                                               .speed = 0.1,
                                               .speed_unit = p.unit + "/s",
                                               .style = barkeep::ProgressBarStyle::Blocks,
                                               .show = false});
      eta_ = barkeep::Status({.out = &std::cerr,
                              .message = "ETA --:--",
                              .style = barkeep::Strings{""},
                              .show = false});
      display_ = barkeep::Composite({bar, eta_});
    } else {
      display_ = barkeep::Counter(&done_, {.out = &std::cerr,
                                           .message = message,
                                           .speed = 0.1,
                                           .speed_unit = p.unit + "/s",
                                           .show = false});
      eta_.reset();
    }
    display_->show();
  }

  void Close() {
    if (display_) display_->done();
    display_.reset();
    eta_.reset();
  }

  std::string label_;
  std::string phase_;
  int64_t total_ = -1;
  int64_t first_done_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::atomic<int64_t> done_{0};
  std::shared_ptr<barkeep::BaseDisplay> display_;
  std::shared_ptr<barkeep::StatusDisplay> eta_;
};

}  // namespace

void ProgressFlags::Add(CLI::App* cmd) {
  auto* on_flag = cmd->add_flag("--progress", on,
                                "Show progress bars on stderr (total, rate, ETA) even when stderr is not a "
                                "terminal (default: only on a terminal)");
  cmd->add_flag("--no-progress", off, "Never show progress bars")->excludes(on_flag);
}

ProgressCallback ProgressFlags::Callback(const std::string& label) const {
  if (off || (!on && !isatty(STDERR_FILENO))) return {};
  auto bars = std::make_shared<Bars>(label);
  return [bars](const Progress& p) { bars->Update(p); };
}

}  // namespace bazof::cli
