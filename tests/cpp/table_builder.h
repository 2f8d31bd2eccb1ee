// Builds format-1 tables commit by commit, for tests.
#pragma once

#include "test_util.h"
#include "write/commit.h"
#include "write/data_file_writer.h"

namespace bazof::testing {

class TableBuilder {
 public:
  explicit TableBuilder(std::shared_ptr<io::Storage> storage = MemStorage())
      : storage_(std::move(storage)) {
    snap_.format_version = kFormatVersion;
    snap_.schema = KvSchema();
  }

  /// Adds a segment starting at `start_ms` (segments must be added in order).
  void AddSegment(int64_t start_ms) {
    Segment s;
    s.id = "seg" + std::to_string(snap_.segments.size());
    s.start = EventTime::FromMicros(start_ms * 1000);
    if (!snap_.segments.empty()) snap_.segments.back().end = EventTime::FromMicros(start_ms * 1000 - 1000);
    snap_.segments.push_back(std::move(s));
  }

  /// Stages a delta of `events` committed at `version` under segment `seg`.
  arrow::Status AddDelta(int64_t version, std::vector<Ev> events, size_t seg = 0,
                         int64_t row_group_rows = write::kRowGroupRows,
                         int64_t page_rows = metadata::kDefaultPageRows) {
    if (snap_.segments.empty()) AddSegment(0);
    auto name = write::NewDataFileName(Version(version));
    ARROW_ASSIGN_OR_RAISE(auto ref, write::WriteDataFile(*storage_, snap_.schema, name,
                                                         EventsTable(snap_.schema, std::move(events)),
                                                         Version(version), row_group_rows, page_rows));
    if (!ref.start) ref.start = snap_.segments[seg].start;  // empty file
    if (!ref.end) ref.end = snap_.segments[seg].start;
    snap_.segments[seg].deltas.push_back(ref);
    return arrow::Status::OK();
  }

  /// Sets the base of segment `seg`: `events` must be the state at its start.
  arrow::Status SetBase(size_t seg, int64_t built_from, std::vector<Ev> events) {
    auto name = write::NewDataFileName(Version(built_from));
    ARROW_ASSIGN_OR_RAISE(auto ref, write::WriteDataFile(*storage_, snap_.schema, name,
                                                         EventsTable(snap_.schema, std::move(events)),
                                                         Version(built_from)));
    snap_.segments[seg].base = ref;
    return arrow::Status::OK();
  }

  /// Publishes what was staged as `version`.
  arrow::Status Commit(int64_t version) {
    snap_.version = Version(version);
    return write::CommitSnapshot(*storage_, snap_);
  }

  arrow::Result<std::shared_ptr<Table>> Open() { return Table::Open(storage_); }
  const std::shared_ptr<io::Storage>& storage() const { return storage_; }
  Snapshot& snapshot() { return snap_; }

 private:
  std::shared_ptr<io::Storage> storage_;
  Snapshot snap_;
};

}  // namespace bazof::testing
