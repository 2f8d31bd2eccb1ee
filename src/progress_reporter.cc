#include "progress_reporter.h"

#include <algorithm>
#include <utility>

namespace bazof::internal {
namespace {
constexpr auto kInterval = std::chrono::milliseconds(100);
}  // namespace

ProgressReporter::ProgressReporter(const ProgressCallback& callback, std::string phase, std::string unit,
                                   int64_t total)
    : callback_(callback) {
  if (!callback_) return;
  state_.phase = std::move(phase);
  state_.unit = std::move(unit);
  state_.total = total < 0 ? -1 : total;
  last_ = std::chrono::steady_clock::now();
  reported_ = 0;
  callback_(state_);
}

void ProgressReporter::Add(int64_t n) { Update(n, /*add=*/true); }

void ProgressReporter::Set(int64_t done) { Update(done, /*add=*/false); }

void ProgressReporter::Update(int64_t value, bool add) {
  if (!callback_) return;
  std::lock_guard lock(mu_);
  if (finished_) return;
  int64_t done = add ? state_.done + value : std::max(state_.done, value);
  if (state_.total >= 0) done = std::min(done, state_.total);
  state_.done = done;
  const auto now = std::chrono::steady_clock::now();
  if (done == reported_ || now - last_ < kInterval) return;
  last_ = now;
  reported_ = done;
  callback_(state_);
}

void ProgressReporter::Finish() {
  if (!callback_) return;
  std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (state_.total < 0) state_.total = state_.done;
  state_.done = state_.total;
  callback_(state_);
}

}  // namespace bazof::internal
