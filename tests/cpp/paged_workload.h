// A random workload over small pages, shared by the page-level read tests
// (join_asof_test.cc, keyed_read_test.cc): appends and compactions of a
// key-value table whose files have pages of `page_rows` rows in row groups of
// 8 to 64 rows, with ties, tombstones and late events.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/write.h"
#include "test_util.h"

namespace bazof::testing {

struct PagedWorkload {
  std::shared_ptr<Table> table;  // opened after the last commit
  std::vector<OracleEvent> events;
  int64_t keys = 0;  // k0 ... k<keys - 1>
  int64_t days = 0;  // event days from 2024-01-01
};

/// Writes the workload to `storage` (an empty location), drawing from `rng`.
inline arrow::Result<PagedWorkload> WritePagedWorkload(std::shared_ptr<io::Storage> storage, int64_t page_rows,
                                                       std::mt19937_64& rng) {
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  PagedWorkload w;
  w.keys = 5 + pick(40);
  w.days = 3 + pick(30);
  std::map<std::string, std::string> props;
  props["write.page_rows"] = std::to_string(page_rows);
  props["write.row_group_rows"] = std::to_string(8 + pick(57));
  ARROW_ASSIGN_OR_RAISE(auto table, CreateTable(storage, KvSchema(), props));
  const int commits = 3 + static_cast<int>(pick(6));
  for (int64_t v = 1; v <= commits; ++v) {
    ARROW_ASSIGN_OR_RAISE(table, Table::Open(storage));
    if (v > 2 && pick(3) == 0) {
      CompactOptions co;
      co.segment_duration_us = (1 + pick(10)) * day * 1000;
      ARROW_ASSIGN_OR_RAISE(auto r, Compact(table, co));
      if (r.committed && r.version.value() != v) return arrow::Status::Invalid("compaction committed ", r.version.value());
      if (!r.committed) --v;
      continue;
    }
    std::vector<Ev> rows;
    for (int64_t i = 0, n = 20 + pick(200); i < n; ++i) {
      Ev e{"k" + std::to_string(pick(w.keys)), t0 + pick(w.days) * day,
           "v" + std::to_string(v) + "." + std::to_string(i), pick(5) == 0};
      if (e.deleted) e.value.clear();
      rows.push_back(e);
      w.events.push_back({e, v, i});
    }
    ARROW_ASSIGN_OR_RAISE(auto r, Append(table, *AppendInput(rows, 7)));
    if (r.version.value() != v) return arrow::Status::Invalid("append committed ", r.version.value());
  }
  ARROW_ASSIGN_OR_RAISE(w.table, Table::Open(storage));
  return w;
}

}  // namespace bazof::testing
