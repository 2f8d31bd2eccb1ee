#include "planning/planner.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace bazof::planning {
namespace {

// Format 1: one base (greatest start <= t) plus the deltas that can hold a
// winner: those not already folded into the base (end > S or version > B).
ScanPlan PlanFormat1(const Snapshot& snap, EventTime t) {
  std::vector<const Segment*> flat;
  auto flatten = [&](auto&& self, const std::vector<Segment>& segs) -> void {
    for (const auto& s : segs) {
      flat.push_back(&s);
      self(self, s.segments);
    }
  };
  flatten(flatten, snap.segments);

  const Segment* base_seg = nullptr;
  for (const Segment* s : flat) {
    if (s->base && s->start <= t && (!base_seg || s->start > base_seg->start)) base_seg = s;
  }

  struct Candidate {
    PlannedFile file;
    std::tuple<int64_t, int64_t> order;  // (version, position); higher wins ties
  };
  std::vector<Candidate> picked;
  int64_t position = 0;
  for (const Segment* s : flat) {
    if (s == base_seg) {
      PlannedFile f{*s->base, true, 0};
      // Base rows outrank every row of the versions it was built from.
      int64_t b = s->base->version ? s->base->version->value() : 0;
      picked.push_back({f, {b, std::numeric_limits<int64_t>::max()}});
    }
    for (const auto& d : s->deltas) {
      ++position;
      if (!d.start || *d.start > t) continue;
      if (base_seg) {
        const int64_t b = base_seg->base->version ? base_seg->base->version->value() : 0;
        const int64_t c = d.version ? d.version->value() : 0;
        const bool after_base = !d.end || *d.end > base_seg->start;
        if (!after_base && c <= b) continue;
      }
      picked.push_back({PlannedFile{d, false, 0}, {d.version ? d.version->value() : 0, position}});
    }
  }
  std::vector<size_t> idx(picked.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(),
            [&](size_t a, size_t b) { return picked[a].order < picked[b].order; });
  for (size_t r = 0; r < idx.size(); ++r) picked[idx[r]].file.rank = static_cast<int64_t>(r);
  ScanPlan plan;
  for (auto& c : picked) plan.files.push_back(std::move(c.file));
  return plan;
}

// Legacy (bazof 0.1 / azof 0.2): the original reader's selection. It read
// files in this order and let the first file win; we keep that as the tie
// rule and otherwise apply the contract.
void LegacyVisit(const Segment& seg, EventTime t, std::vector<PlannedFile>* out) {
  for (const auto& sub : seg.segments) {
    if (sub.Covers(t)) LegacyVisit(sub, t, out);
  }
  std::vector<const DataFileRef*> deltas;
  for (const auto& d : seg.deltas) {
    if (d.start && *d.start <= t) deltas.push_back(&d);
  }
  std::stable_sort(deltas.begin(), deltas.end(),
                   [](const DataFileRef* a, const DataFileRef* b) { return *a->start > *b->start; });
  for (const auto* d : deltas) out->push_back(PlannedFile{*d, false, 0});
  if (seg.Covers(t) && seg.base) out->push_back(PlannedFile{*seg.base, true, 0});
}

ScanPlan PlanLegacy(const Snapshot& snap, EventTime t) {
  ScanPlan plan;
  for (const auto& s : snap.segments) LegacyVisit(s, t, &plan.files);
  const auto n = static_cast<int64_t>(plan.files.size());
  for (int64_t i = 0; i < n; ++i) plan.files[i].rank = n - i;  // read earlier = wins ties
  return plan;
}

}  // namespace

Snapshot WithoutBases(const Snapshot& snapshot) {
  Snapshot out = snapshot;
  auto strip = [](auto&& self, std::vector<Segment>& segs) -> void {
    for (auto& s : segs) {
      s.base.reset();
      self(self, s.segments);
    }
  };
  strip(strip, out.segments);
  return out;
}

ScanPlan PlanScan(const Snapshot& snapshot, EventTime t) {
  return snapshot.format_version >= 1 ? PlanFormat1(snapshot, t) : PlanLegacy(snapshot, t);
}

}  // namespace bazof::planning
