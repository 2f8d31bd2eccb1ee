// Helpers for building small tables in memory and reading them back.
#pragma once

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bazof/snapshot.h"
#include "bazof/table.h"
#include "io/storage.h"

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    auto _st = (expr);                                        \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                   \
  auto BAZOF_CONCAT(_res_, __LINE__) = (rexpr);                            \
  ASSERT_TRUE(BAZOF_CONCAT(_res_, __LINE__).ok())                          \
      << #rexpr << ": " << BAZOF_CONCAT(_res_, __LINE__).status().ToString(); \
  lhs = std::move(BAZOF_CONCAT(_res_, __LINE__)).ValueUnsafe()
#define BAZOF_CONCAT_INNER(a, b) a##b
#define BAZOF_CONCAT(a, b) BAZOF_CONCAT_INNER(a, b)

namespace bazof::testing {

/// One event of a key-value test table (times in milliseconds since epoch).
struct Ev {
  std::string key;
  int64_t ms;
  std::string value;
  bool deleted = false;
};

/// The schema of `bazof gen` tables: key string, event_time ms, value string.
TableSchema KvSchema();

/// A Storage over a fresh in-memory filesystem.
std::shared_ptr<io::Storage> MemStorage();

/// Events as a data-file table, stably sorted by (key, event_time).
std::shared_ptr<arrow::Table> EventsTable(const TableSchema& schema, std::vector<Ev> events);

/// Events as append input, with the column names a user gives (`_deleted`
/// for tombstones), in batches of `batch_rows`.
std::shared_ptr<arrow::RecordBatchReader> AppendInput(std::vector<Ev> events, int64_t batch_rows = 1 << 20);

/// key -> (event ms, value): the result of a scan, for comparisons.
using KvState = std::map<std::string, std::pair<int64_t, std::string>>;

/// Scans `table` as of `as_of_ms` (nullopt = latest) at `version`.
arrow::Result<KvState> ScanKv(const std::shared_ptr<Table>& table, std::optional<int64_t> as_of_ms,
                              std::optional<int64_t> version = std::nullopt, int threads = 1,
                              int64_t batch_size = 1024);

/// An event as the oracle sees it: with its committing version and its
/// position within that commit.
struct OracleEvent {
  Ev ev;
  int64_t version;
  int64_t seq;
};

/// scan(T, V) evaluated directly from docs/spec.md §7: per key the event with
/// the greatest (event time, version, seq) among events with event time <= t
/// and version <= v; tombstone winners are absent.
KvState Oracle(const std::vector<OracleEvent>& events, int64_t t_ms, int64_t v);

/// The state at `s_ms` (tombstones kept) of versions <= v: what a base holds.
std::vector<Ev> BaseRows(const std::vector<OracleEvent>& events, int64_t s_ms, int64_t v);

/// Milliseconds of an ISO timestamp (test convenience; aborts on bad input).
int64_t Ms(const std::string& iso);

}  // namespace bazof::testing
