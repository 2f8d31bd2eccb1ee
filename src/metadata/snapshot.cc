#include "bazof/snapshot.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace bazof {
namespace {

void Collect(const std::vector<Segment>& segments, std::vector<const DataFileRef*>* out) {
  for (const auto& s : segments) {
    if (s.base) out->push_back(&*s.base);
    for (const auto& d : s.deltas) out->push_back(&d);
    Collect(s.segments, out);
  }
}

}  // namespace

int TableSchema::FindValueColumn(const std::string& name) const {
  for (size_t i = 0; i < value_columns.size(); ++i) {
    if (value_columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void LatenessProfile::Add(int64_t us) {
  if (buckets.size() != kLatenessBuckets) buckets.assign(kLatenessBuckets, 0);
  const auto* end = std::end(kLatenessBucketBounds);
  const auto* it = std::lower_bound(std::begin(kLatenessBucketBounds), end, us);
  ++buckets[static_cast<size_t>(it - std::begin(kLatenessBucketBounds))];
  ++count;
  max_us = std::max(max_us, us);
}

void LatenessProfile::Merge(const LatenessProfile& other) {
  if (other.count == 0) return;
  if (buckets.size() != kLatenessBuckets) buckets.assign(kLatenessBuckets, 0);
  for (size_t i = 0; i < kLatenessBuckets && i < other.buckets.size(); ++i) buckets[i] += other.buckets[i];
  count += other.count;
  max_us = std::max(max_us, other.max_us);
}

int64_t LatenessProfile::Quantile(double q) const {
  if (count == 0 || buckets.size() != kLatenessBuckets) return 0;
  const double want = std::max(1.0, std::ceil(q * static_cast<double>(count)));
  int64_t acc = 0;
  for (size_t i = 0; i + 1 < kLatenessBuckets; ++i) {
    acc += buckets[i];
    if (static_cast<double>(acc) >= want) return std::min(max_us, kLatenessBucketBounds[i]);
  }
  return max_us;
}

std::vector<const DataFileRef*> Snapshot::AllFiles() const {
  std::vector<const DataFileRef*> out;
  Collect(segments, &out);
  return out;
}

}  // namespace bazof
