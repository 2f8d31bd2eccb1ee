#include "write/gen.h"

#include <arrow/api.h>
#include <arrow/vendored/datetime.h>

#include <algorithm>
#include <random>

#include "bazof/error.h"
#include "bazof/snapshot.h"
#include "write/commit.h"
#include "progress_reporter.h"
#include "write/data_file_writer.h"

namespace bazof::write {
namespace {

struct Event {
  int64_t key;
  int64_t millis;
  uint32_t value;
  bool deleted;
  bool late;
};

constexpr int64_t kStartMs = 1577836800000;  // 2020-01-01T00:00:00Z
constexpr int64_t kEndMs = 1735689600000;    // 2025-01-01T00:00:00Z
constexpr int kMonths = 60;                  // 2020-01 .. 2024-12

// Start of segment `i` of `n`: segments begin on month boundaries.
int64_t SegmentStartMs(int i, int n) {
  using namespace arrow_vendored::date;
  const int month = i * kMonths / n;
  year_month_day ymd{year{2020 + month / 12}, arrow_vendored::date::month{static_cast<unsigned>(month % 12 + 1)}, day{1}};
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys_days{ymd}.time_since_epoch()).count();
}

class TableBuilder {
 public:
  TableBuilder(const TableSchema& schema, const std::vector<std::string>& key_names)
      : schema_(schema), key_names_(key_names) {}

  arrow::Result<std::shared_ptr<arrow::Table>> Build(const std::vector<const Event*>& events) {
    arrow::StringBuilder keys, values;
    arrow::TimestampBuilder times(schema_.event_time.type, arrow::default_memory_pool());
    arrow::BooleanBuilder deleted;
    ARROW_RETURN_NOT_OK(times.Reserve(events.size()));
    ARROW_RETURN_NOT_OK(deleted.Reserve(events.size()));
    char buf[32];
    for (const Event* e : events) {
      ARROW_RETURN_NOT_OK(keys.Append(key_names_[e->key]));
      times.UnsafeAppend(e->millis);
      deleted.UnsafeAppend(e->deleted);
      if (e->deleted) {
        ARROW_RETURN_NOT_OK(values.AppendNull());
      } else {
        int n = std::snprintf(buf, sizeof(buf), "v%u", e->value);
        ARROW_RETURN_NOT_OK(values.Append(buf, n));
      }
    }
    std::shared_ptr<arrow::Array> k, t, v, d;
    ARROW_RETURN_NOT_OK(keys.Finish(&k));
    ARROW_RETURN_NOT_OK(times.Finish(&t));
    ARROW_RETURN_NOT_OK(values.Finish(&v));
    ARROW_RETURN_NOT_OK(deleted.Finish(&d));
    return arrow::Table::Make(DataFileSchema(schema_, true), {k, t, v, d});
  }

 private:
  const TableSchema& schema_;
  const std::vector<std::string>& key_names_;
};

bool Before(const Event* a, const Event* b) {
  return a->key != b->key ? a->key < b->key : a->millis < b->millis;
}

}  // namespace

arrow::Result<GenSummary> GenerateSampleTable(io::Storage& storage, const GenOptions& o) {
  if (o.keys < 1 || o.events_per_key < 1 || o.segments < 1 || o.segments > kMonths) {
    return InvalidArgument("gen needs --keys >= 1, --events >= 1 and 1 <= --segments <= 60");
  }
  for (const char* name : {"version.txt", "s0.json", "s1.json"}) {
    ARROW_ASSIGN_OR_RAISE(bool exists, storage.Exists(name));
    if (exists) return Conflict("table '", storage.display_root(), "' already exists");
  }
  ARROW_RETURN_NOT_OK(storage.CreateRoot());

  TableSchema schema;
  schema.key_columns = {ColumnSpec{"key", 1, arrow::utf8(), false}};
  schema.event_time = ColumnSpec{"event_time", 2, arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), false};
  schema.value_columns = {ColumnSpec{"value", 3, arrow::utf8(), true}};
  schema.next_column_id = 4;

  // Keys sort as text in the same order as their numbers.
  const int width = std::max<int>(6, static_cast<int>(std::to_string(o.keys).size()));
  std::vector<std::string> key_names(o.keys);
  for (int64_t k = 0; k < o.keys; ++k) {
    std::string digits = std::to_string(k);
    key_names[k] = "k" + std::string(width - digits.size(), '0') + digits;
  }

  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int64_t> when(kStartMs / 1000, kEndMs / 1000 - 1);
  std::uniform_real_distribution<double> coin(0, 1);
  std::vector<Event> events;
  events.reserve(o.keys * o.events_per_key);
  for (int64_t k = 0; k < o.keys; ++k) {
    for (int64_t i = 0; i < o.events_per_key; ++i) {
      Event e{k, when(rng) * 1000, static_cast<uint32_t>(rng() % 1000000), false, false};
      e.deleted = i > 0 && coin(rng) < o.tombstone_fraction;
      e.late = coin(rng) < o.late_fraction;
      events.push_back(e);
    }
  }
  std::vector<const Event*> on_time, late;
  for (const auto& e : events) (e.late ? late : on_time).push_back(&e);
  std::stable_sort(on_time.begin(), on_time.end(), Before);
  std::stable_sort(late.begin(), late.end(), Before);

  TableBuilder builder(schema, key_names);
  Snapshot snap;
  snap.format_version = kFormatVersion;
  snap.version = Version(1);
  snap.schema = schema;
  snap.commit = CommitInfo{"gen", WallClockNow(), static_cast<int64_t>(on_time.size()), {}, {}};
  GenSummary summary;
  summary.events = static_cast<int64_t>(events.size());
  internal::ProgressReporter progress(o.progress, "write", "events", summary.events);

  for (int s = 0; s < o.segments; ++s) {
    const int64_t start = SegmentStartMs(s, o.segments);
    const int64_t next = s + 1 < o.segments ? SegmentStartMs(s + 1, o.segments) : INT64_MAX;
    Segment seg;
    seg.id = "seg-" + std::to_string(s);
    seg.start = EventTime::FromMicros(start * 1000);
    if (s + 1 < o.segments) seg.end = EventTime::FromMicros((next - 1) * 1000);
    if (s > 0) {
      // Base: per key, the last event at or before the segment start.
      std::vector<const Event*> base;
      for (size_t i = 0; i < on_time.size(); ++i) {
        const Event* e = on_time[i];
        const bool last_of_key = i + 1 == on_time.size() || on_time[i + 1]->key != e->key ||
                                 on_time[i + 1]->millis > start;
        if (e->millis <= start && last_of_key) base.push_back(e);
      }
      ARROW_ASSIGN_OR_RAISE(auto rows, builder.Build(base));
      auto name = NewDataFileName(snap.version);
      ARROW_ASSIGN_OR_RAISE(auto ref, WriteDataFile(storage, schema, name, rows, Version(1)));
      ARROW_RETURN_NOT_OK(storage.Sync(name));
      seg.base = ref;
      snap.commit->files_added.push_back(name);
    }
    std::vector<const Event*> delta;
    for (const Event* e : on_time) {
      if (e->millis >= start && e->millis < next) delta.push_back(e);
    }
    if (!delta.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto rows, builder.Build(delta));
      auto name = NewDataFileName(snap.version);
      ARROW_ASSIGN_OR_RAISE(auto ref, WriteDataFile(storage, schema, name, rows, Version(1)));
      ARROW_RETURN_NOT_OK(storage.Sync(name));
      seg.deltas.push_back(ref);
      snap.commit->files_added.push_back(name);
      progress.Add(static_cast<int64_t>(delta.size()));
    }
    snap.segments.push_back(std::move(seg));
  }
  ARROW_RETURN_NOT_OK(CommitSnapshot(storage, snap));
  summary.files = static_cast<int64_t>(snap.commit->files_added.size());
  summary.version = 1;

  if (!late.empty()) {
    // Version 2: late events, one file per segment they fall in, so that
    // each delta lies within its segment.
    snap.version = Version(2);
    snap.commit = CommitInfo{"gen", "", static_cast<int64_t>(late.size()), {}, {}};
    for (size_t s = 0; s < snap.segments.size(); ++s) {
      const int64_t start = snap.segments[s].start.micros() / 1000;
      const int64_t next = s + 1 < snap.segments.size() ? snap.segments[s + 1].start.micros() / 1000 : INT64_MAX;
      std::vector<const Event*> in_segment;
      for (const Event* e : late) {
        if (e->millis >= start && e->millis < next) in_segment.push_back(e);
      }
      if (in_segment.empty()) continue;
      auto name = NewDataFileName(snap.version);
      ARROW_ASSIGN_OR_RAISE(auto rows, builder.Build(in_segment));
      ARROW_ASSIGN_OR_RAISE(auto ref, WriteDataFile(storage, schema, name, rows, Version(2)));
      ARROW_RETURN_NOT_OK(storage.Sync(name));
      snap.segments[s].deltas.push_back(ref);
      snap.commit->files_added.push_back(name);
      progress.Add(static_cast<int64_t>(in_segment.size()));
    }
    snap.commit->timestamp = WallClockNow();
    ARROW_RETURN_NOT_OK(CommitSnapshot(storage, snap));
    summary.files += static_cast<int64_t>(snap.commit->files_added.size());
    summary.version = 2;
  }
  progress.Finish();
  return summary;
}

}  // namespace bazof::write
