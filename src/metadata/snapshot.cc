#include "bazof/snapshot.h"

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

std::vector<const DataFileRef*> Snapshot::AllFiles() const {
  std::vector<const DataFileRef*> out;
  Collect(segments, &out);
  return out;
}

}  // namespace bazof
