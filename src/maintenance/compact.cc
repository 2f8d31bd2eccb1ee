// bazof compact: every delta of version B merged into per-segment files, and a
// base per segment, committed as version B+1 (docs/spec.md, "Compaction").
//
//   deltas of s<B> ──all-events merge (tie winners, tombstones)──▶ rows by (key, time)
//     row ──segment of its event time──▶ that segment's delta rows  ┐ spilled, per
//     row ──segments whose start it is the state at──▶ their base rows ┘ segment (IPC)
//   per segment, a few at a time: spill ──▶ delta file(s), base (large row groups)
//   files synced ──▶ s<B+1>.json (CreateExclusive; kConflict if someone was first)
#include "bazof/compact.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/ipc/reader.h>
#include <arrow/util/byte_size.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bazof/error.h"
#include "bazof/timeline.h"
#include "compute_init.h"
#include "io/storage.h"
#include "metadata/properties.h"
#include "planning/planner.h"
#include "progress_reporter.h"
#include "read/run_reader.h"
#include "read/scan_reader.h"
#include "write/commit.h"
#include "util/memory_budget.h"
#include "write/data_file_writer.h"
#include "write/external_sort.h"
#include "write/sort_rows.h"

namespace bazof {
namespace {

// More segments than this is almost certainly a mistaken duration.
constexpr size_t kMaxSegments = 100000;
// Page and dictionary size of compaction outputs (at most; write.page_bytes
// replaces it).
constexpr int64_t kPageBytes = 64 * 1024;
// Of the memory budget: the share of the merge (run readers, merge batches,
// queue) and the share of the output (while merging, the rows each segment
// gathers before they are spilled; then the row group of each file being
// encoded); the rest is slack for the per-batch routing (a gather per
// segment) and Arrow's kernels.
constexpr int64_t kReadShareNum = 2, kWriteShareNum = 2, kShareDen = 5;
// Of the slack: merged batches handed to the writer threads and not yet
// written (a twentieth of the budget; one batch is always admitted). A
// tenth put W3's compaction at 1027 MiB RSS, above the 1 GiB of issue #15.
constexpr int64_t kInFlightShareDen = 20;
// An open Parquet writer keeps every row group's column-chunk metadata
// (statistics, encodings, offsets) until it closes: about 870 bytes per
// chunk measured (bench/footer_probe.py), outside Arrow's pool. The files
// being encoded at once may take a quarter of the budget for their footers
// (besides the pool's shares): past that, a file's row groups grow (auto
// only).
constexpr int64_t kFooterBytesPerChunk = 1024;
constexpr int64_t kFooterShareDen = 4;
// Per data page and column, an open writer's page index (offset and column
// index entries): about 115 bytes measured on W3's compaction (512-row pages
// raised its RSS by 542 MiB for ~4.9M entries; bench/results/RESULTS.md).
constexpr int64_t kPageIndexBytesPerPage = 128;
// A segment's delta (or base) rows are spilled in batches of about this many
// Arrow bytes at most (fewer when many segments share the output's share).
constexpr int64_t kMaxSpillBatchBytes = 1024 * 1024;
constexpr int64_t kMinSpillBatchBytes = 16 * 1024;
// After this share of the budget has been merged (in Arrow bytes), the pool
// gives the memory it holds free back to the system (ReleaseUnused: glibc's
// malloc_trim with the CLI's system allocator). Without it glibc kept what
// the merge and the ~100 writers freed: RSS grew with the table (20M events:
// 1.6 GB for a 486 MB pool peak, 0.96 GB with it; W3's 100M: 2.96 -> 1.37 GB).
// The cost is CPU in page faults: +9% on 20M events, +37% on W3
// (bench/results/RESULTS.md, "Compaction's RSS").
constexpr int64_t kReleaseShareDen = 16;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::vector<const DataFileRef*> AllDeltas(const Snapshot& snap) {
  std::vector<const DataFileRef*> out;
  auto visit = [&](auto&& self, const std::vector<Segment>& segs) -> void {
    for (const auto& s : segs) {
      for (const auto& d : s.deltas) out.push_back(&d);
      self(self, s.segments);
    }
  };
  visit(visit, snap.segments);
  return out;
}

// Segment starts of the new layout: the table's first start, then the start
// of every period of `duration` that some delta's event-time range touches.
arrow::Result<std::vector<int64_t>> SegmentStarts(const Snapshot& snap,
                                                  const std::vector<const DataFileRef*>& deltas,
                                                  int64_t duration, const std::string& table) {
  int64_t first = snap.segments.front().start.micros();
  for (const auto* d : deltas) first = std::min(first, d->start->micros());
  std::set<int64_t> starts{first};
  for (const auto* d : deltas) {
    const int64_t k0 = FloorDiv(d->start->micros(), duration);
    const int64_t k1 = FloorDiv(d->end->micros(), duration);
    if (k1 - k0 >= static_cast<int64_t>(kMaxSegments)) {
      return InvalidArgument("compaction of '", table, "': segment duration ",
                             metadata::FormatDuration(duration), " would make more than ", kMaxSegments,
                             " segments; choose a longer --segment-duration");
    }
    for (int64_t k = k0; k <= k1; ++k) {
      if (k * duration > first) starts.insert(k * duration);
    }
    if (starts.size() > kMaxSegments) {
      return InvalidArgument("compaction of '", table, "': segment duration ",
                             metadata::FormatDuration(duration), " would make more than ", kMaxSegments,
                             " segments; choose a longer --segment-duration");
    }
  }
  return std::vector<int64_t>(starts.begin(), starts.end());
}

// same[j]: row j+1 of `batch` has the same key as row j (null when < 2 rows).
arrow::Result<std::shared_ptr<arrow::BooleanArray>> SameKeyAsNext(const arrow::RecordBatch& batch, int nkeys) {
  const int64_t n = batch.num_rows();
  if (n < 2) return nullptr;
  arrow::Datum acc;
  for (int k = 0; k < nkeys; ++k) {
    auto col = batch.column(k);
    ARROW_ASSIGN_OR_RAISE(auto eq, arrow::compute::CallFunction("equal", {col->Slice(0, n - 1), col->Slice(1, n - 1)}));
    if (k == 0) {
      acc = eq;
    } else {
      ARROW_ASSIGN_OR_RAISE(acc, arrow::compute::And(acc, eq));
    }
  }
  return std::static_pointer_cast<arrow::BooleanArray>(acc.make_array());
}

arrow::Result<std::shared_ptr<arrow::Array>> EventMicros(const arrow::RecordBatch& batch, int nkeys) {
  ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Cast(batch.column(nkeys), arrow::timestamp(arrow::TimeUnit::MICRO),
                                                     arrow::compute::CastOptions::Unsafe()));
  return d.make_array();
}

// Auto layout: one pass over keys and event times only counts the keys and
// the events per time granule, then cuts segments of about `keys` events each,
// so every base (one row per key) is about as large as a segment's deltas.
arrow::Result<std::vector<int64_t>> AutoSegmentStarts(const std::shared_ptr<Table>& table, const Snapshot& snap,
                                                      const std::vector<planning::PlannedFile>& files,
                                                      int64_t first, int64_t min_time, int64_t max_time,
                                                      int64_t min_rows, int threads, int64_t read_budget,
                                                      internal::ProgressReporter& progress) {
  const int64_t span = std::max<int64_t>(1, max_time - min_time);
  int64_t granule = 1;
  for (int64_t g : {86400000000LL, 3600000000LL, 60000000LL, 1000000LL, 1000LL}) {
    if (span / g >= 2000) {
      granule = g;
      break;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(snap, {}));
  read::ScanReaderOptions ro;
  ro.mode = read::MergeMode::kAllEvents;
  ro.threads = threads;
  ro.memory_limit_bytes = read_budget;
  ARROW_ASSIGN_OR_RAISE(auto reader, read::MakeScanReader(table->storage(), shape, files, ro));
  const int nkeys = static_cast<int>(snap.schema.key_columns.size());
  std::map<int64_t, int64_t> per_granule;
  // Counted in a dense vector over the deltas' recorded range (a map lookup
  // per event was 8% of a compaction's CPU), folded into the map at the end.
  const int64_t g0 = FloorDiv(min_time, granule);
  int64_t ng = 0;
  if (__builtin_sub_overflow(FloorDiv(max_time, granule), g0, &ng) || ng < 0 || ng >= (int64_t{1} << 22)) ng = -1;
  std::vector<int64_t> dense(static_cast<size_t>(ng + 1));
  int64_t keys = 0;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
    if (!batch) break;
    if (batch->num_rows() == 0) continue;
    ARROW_ASSIGN_OR_RAISE(auto same, SameKeyAsNext(*batch, nkeys));
    keys += 1 + (same ? same->length() - same->true_count() : 0);  // keys never span batches
    progress.Add(batch->num_rows());
    ARROW_ASSIGN_OR_RAISE(auto micros, EventMicros(*batch, nkeys));
    const auto& m = static_cast<const arrow::TimestampArray&>(*micros);
    for (int64_t j = 0; j < m.length(); ++j) {
      const int64_t g = FloorDiv(m.Value(j), granule);
      const uint64_t at = static_cast<uint64_t>(g) - static_cast<uint64_t>(g0);  // exact when g >= g0
      if (g >= g0 && at < dense.size()) {
        ++dense[at];
      } else {
        ++per_granule[g];
      }
    }
  }
  for (size_t i = 0; i < dense.size(); ++i) {
    if (dense[i] > 0) per_granule[g0 + static_cast<int64_t>(i)] += dense[i];
  }
  // A segment holds at least `threshold` events: a small table is one
  // segment, and no cut leaves a small remainder at the end.
  const int64_t threshold = std::max<int64_t>(keys, min_rows);
  std::vector<int64_t> starts{first};
  int64_t acc = 0;
  for (auto it = per_granule.begin(); it != per_granule.end(); ++it) {
    acc += it->second;
    auto next = std::next(it);
    if (acc >= threshold && next != per_granule.end()) {
      const int64_t start = next->first * granule;
      if (start > starts.back()) {
        starts.push_back(start);
        acc = 0;
      }
    }
  }
  if (starts.size() > 1 && acc < threshold) starts.pop_back();
  return starts;
}

// True if `snap` is laid out as a compaction of its own version would lay it
// out: one flat list of segments, every file from one build (no delta
// appended since), each delta inside its segment, no more files than the
// target size needs, the same horizon; with `starts`, the same segment starts.
// Metadata only.
bool LayoutIsCompacted(const Snapshot& snap, const std::vector<int64_t>* starts, int64_t target_bytes,
                       const std::optional<EventTime>& horizon) {
  if (horizon != snap.horizon) return false;
  // Every file of a compaction records the version it was built from; a file
  // with another version was appended (or put, or deleted) since.
  std::optional<Version> built;
  for (const auto& seg : snap.segments) {
    if (!seg.segments.empty()) return false;
    std::vector<const DataFileRef*> files;
    if (seg.base) files.push_back(&*seg.base);
    for (const auto& d : seg.deltas) files.push_back(&d);
    for (const auto* f : files) {
      if (!f->version || (built && *built != *f->version)) return false;
      built = f->version;
    }
    int64_t bytes = 0;
    for (const auto& d : seg.deltas) {
      if (!d.start || !d.end || *d.start < seg.start || (seg.end && *seg.end < *d.end) || d.size < 0) return false;
      bytes += d.size;
    }
    // Compaction starts a new file only past the target size.
    if (static_cast<int64_t>(seg.deltas.size()) > 1 + bytes / std::max<int64_t>(target_bytes, 1)) return false;
  }
  if (!built) return false;
  if (starts) {
    if (starts->size() != snap.segments.size()) return false;
    for (size_t i = 0; i < starts->size(); ++i) {
      if ((*starts)[i] != snap.segments[i].start.micros()) return false;
    }
  }
  return true;
}

std::string NothingToCompact(const Snapshot& snap) {
  return "version " + std::to_string(snap.version.value()) + " is already compacted (" +
         std::to_string(snap.segments.size()) + " segment(s), nothing written since)";
}

// The history horizon: of each key's events at or before `horizon` only the
// last (its state there) is kept. A key's rows are adjacent, sorted by time,
// and never span batches.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> CollapseBehind(const std::shared_ptr<arrow::RecordBatch>& batch,
                                                                  int nkeys, int64_t horizon) {
  const int64_t n = batch->num_rows();
  if (n < 2) return batch;
  ARROW_ASSIGN_OR_RAISE(auto micros_array, EventMicros(*batch, nkeys));
  const auto& micros = static_cast<const arrow::TimestampArray&>(*micros_array);
  ARROW_ASSIGN_OR_RAISE(auto same, SameKeyAsNext(*batch, nkeys));
  arrow::BooleanBuilder keep;
  ARROW_RETURN_NOT_OK(keep.Reserve(n));
  int64_t dropped = 0;
  for (int64_t j = 0; j < n; ++j) {
    const bool superseded = j + 1 < n && same->Value(j) && micros.Value(j + 1) <= horizon;
    keep.UnsafeAppend(!superseded);
    dropped += superseded;
  }
  if (dropped == 0) return batch;
  ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(batch, mask));
  return filtered.record_batch();
}

// Routes the all-events stream into per-segment delta files and bases, in
// two phases.
//
//   merge:  merged batch ──(consumer thread: each row's segment, and the
//           bases it is the state of)──▶ per segment: delta rows, base rows
//             ──job per writer──▶ writer w = segment mod writers: gathers
//                 the rows, appends them to the segment's spill (IPC, LZ4)
//   encode: segment by segment, `writers` at a time: spill ──▶ its delta
//           file(s) (a new one past the target size), then its base
//
// A segment's rows are spilled by one writer, in the order the batches were
// merged, so every file's rows stay in key order; the writers run in
// parallel with each other and with the merge. Batches handed to the writers
// and not yet spilled are bounded by bytes (in_flight_limit); the consumer
// waits. With 0 writers every job runs on the consumer thread (and one
// encodes). Only the files being encoded are open, so a file's row groups
// are sized by the budget over the encoders, not over every segment's files
// (docs/spec.md §22).
class LayoutWriter {
 public:
  struct Options {
    int64_t target_bytes = 0;       // a delta file ends past this size
    int64_t write_budget = 0;       // the output's share of the budget
    int64_t max_row_group_rows = 0; // write.row_group_rows, or auto's cap
    bool row_group_rows_auto = true;
    int64_t max_page_bytes = 0;     // write.page_bytes, else kPageBytes
    std::optional<int64_t> page_rows;  // write.page_rows
    int64_t footer_budget = 0;      // bytes the open files' footers may take
    int writers = 0;
    int64_t in_flight_limit = 0;    // bytes of merged batches queued for the writers
    std::string spill_dir;
  };

  LayoutWriter(io::Storage& storage, const TableSchema& schema, std::vector<int64_t> starts, Version built_from,
               Options options)
      : storage_(storage),
        schema_(schema),
        file_schema_(write::DataFileSchema(schema, true, true)),
        starts_(std::move(starts)),
        built_from_(built_from),
        options_(std::move(options)),
        page_bytes_(options_.max_page_bytes),
        segments_(starts_.size()),
        writers_(static_cast<size_t>(std::clamp<int64_t>(options_.writers, 0, static_cast<int64_t>(starts_.size())))) {
    for (auto& w : writers_) w.thread = std::thread([this, &w] { RunWriter(w); });
  }

  ~LayoutWriter() {
    abandon_.store(true);
    StopWriters();
  }

  arrow::Status Write(const arrow::RecordBatch& merged) {
    const int64_t n = merged.num_rows();
    if (n == 0) return arrow::Status::OK();
    auto batch = arrow::RecordBatch::Make(file_schema_, n, merged.columns());
    if (row_bytes_ == 0) FitSpill(*batch);
    const int nkeys = static_cast<int>(schema_.key_columns.size());
    ARROW_ASSIGN_OR_RAISE(auto micros_array, EventMicros(*batch, nkeys));
    const int64_t* micros = micros_array->data()->GetValues<int64_t>(1);
    // A key's rows are adjacent and never span batches.
    ARROW_ASSIGN_OR_RAISE(auto same, SameKeyAsNext(*batch, nkeys));
    const size_t nseg = starts_.size();
    if (n > UINT32_MAX) return arrow::Status::Invalid("merged batch of ", n, " rows");
    std::vector<std::vector<uint32_t>> delta_rows(nseg), base_rows(nseg);
    const int64_t* first = starts_.data();
    const int64_t* last = first + nseg;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t t = micros[j];
      // lo: the first segment starting at or after t; row j falls in the one
      // before it unless t is exactly a start.
      const size_t lo = static_cast<size_t>(std::lower_bound(first, last, t) - first);
      const size_t seg = lo < nseg && starts_[lo] == t ? lo : (lo == 0 ? 0 : lo - 1);
      const auto row = static_cast<uint32_t>(j);
      delta_rows[seg].push_back(row);
      // Row j is the state at every segment start S with t <= S < next time.
      size_t hi = nseg;
      if (j + 1 < n && same->Value(j)) {
        const int64_t next = micros[j + 1];
        hi = next <= t ? lo : static_cast<size_t>(std::lower_bound(first + lo, last, next) - first);
      }
      for (size_t i = std::max<size_t>(lo, 1); i < hi; ++i) base_rows[i].push_back(row);
    }
    const size_t nwriters = std::max<size_t>(writers_.size(), 1);
    std::vector<Job> jobs(nwriters);
    for (size_t i = 0; i < nseg; ++i) {
      auto& job = jobs[i % nwriters];
      if (!delta_rows[i].empty()) job.parts.push_back({i, false, std::move(delta_rows[i])});
      if (!base_rows[i].empty()) job.parts.push_back({i, true, std::move(base_rows[i])});
    }
    if (writers_.empty()) return RunJob(batch, jobs[0]);
    ARROW_RETURN_NOT_OK(WaitForRoom(arrow::util::TotalBufferSize(*batch)));
    auto hold = std::make_shared<InFlight>(this, arrow::util::TotalBufferSize(*batch));
    for (size_t w = 0; w < writers_.size(); ++w) {
      if (jobs[w].parts.empty()) continue;
      jobs[w].batch = batch;
      jobs[w].hold = hold;
      auto& writer = writers_[w];
      std::lock_guard<std::mutex> lock(writer.mu);
      writer.queue.push_back(std::move(jobs[w]));
      writer.cv.notify_one();
    }
    return arrow::Status::OK();
  }

  // Spills what the writers hold, then encodes every segment's files (phase
  // "write" of `progress`, in rows); returns the new segments.
  arrow::Result<std::vector<Segment>> Finish(const ProgressCallback& progress) {
    if (writers_.empty()) {
      for (size_t i = 0; i < starts_.size(); ++i) ARROW_RETURN_NOT_OK(FlushSegment(i));
    } else {
      StopWriters();  // each writer spills its segments' rows once its queue is empty
      ARROW_RETURN_NOT_OK(FirstError());
    }
    int64_t rows = 0;
    for (const auto& s : segments_) rows += s.rows[0] + s.rows[1];
    internal::ProgressReporter writing(progress, "write", "rows", rows);
    ARROW_RETURN_NOT_OK(EncodeAll(writing));
    writing.Finish();
    std::vector<Segment> out;
    for (size_t i = 0; i < starts_.size(); ++i) {
      auto& s = segments_[i];
      Segment seg;
      seg.start = EventTime::FromMicros(starts_[i]);
      seg.id = "seg-" + FormatEventTime(seg.start);
      if (i + 1 < starts_.size()) seg.end = EventTime::FromMicros(starts_[i + 1] - 1);
      seg.base = std::move(s.base);
      seg.deltas = std::move(s.deltas);
      out.push_back(std::move(seg));
    }
    return out;
  }

  // Bytes of the spill files (LZ4-compressed Arrow IPC), all segments.
  int64_t spilled_bytes() const { return spilled_bytes_.load(); }

 private:
  static constexpr int kDelta = 0, kBase = 1;
  struct Output {
    std::unique_ptr<write::SpillWriter> spill;  // both kinds' batches, as they came
    std::vector<std::shared_ptr<arrow::RecordBatch>> pending[2];  // not yet spilled
    int64_t pending_bytes[2] = {0, 0};
    std::vector<int> batches[2];  // positions in the spill, per kind
    int64_t rows[2] = {0, 0};
    std::vector<DataFileRef> deltas;  // encoded
    std::optional<DataFileRef> base;
  };
  // The rows of one segment's delta or base in a merged batch.
  struct Part {
    size_t segment;
    bool base;
    std::vector<uint32_t> rows;
  };
  // Counts a merged batch against in_flight_limit until every writer's job
  // holding it is done.
  struct InFlight {
    InFlight(LayoutWriter* w, int64_t b) : writer(w), bytes(b) {
      std::lock_guard<std::mutex> lock(writer->flight_mu_);
      writer->in_flight_ += bytes;
    }
    ~InFlight() {
      std::lock_guard<std::mutex> lock(writer->flight_mu_);
      writer->in_flight_ -= bytes;
      writer->flight_cv_.notify_all();
    }
    LayoutWriter* writer;
    int64_t bytes;
  };
  struct Job {
    std::shared_ptr<arrow::RecordBatch> batch;
    std::shared_ptr<InFlight> hold;
    std::vector<Part> parts;
  };
  struct Writer {
    std::thread thread;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Job> queue;
    bool stop = false;
  };
  // How one output file is written.
  struct FileShape {
    int64_t row_group_rows;
    int64_t page_rows;
  };

  // Waits until the batches in flight leave room for `bytes` more (always
  // admits one batch, however large) or a writer failed.
  arrow::Status WaitForRoom(int64_t bytes) {
    std::unique_lock<std::mutex> lock(flight_mu_);
    flight_cv_.wait(lock, [&] {
      return in_flight_ == 0 || in_flight_ + bytes <= options_.in_flight_limit || failed_.load();
    });
    lock.unlock();
    return FirstError();
  }

  arrow::Status FirstError() {
    if (!failed_.load()) return arrow::Status::OK();
    std::lock_guard<std::mutex> lock(error_mu_);
    return error_;
  }

  void Fail(const arrow::Status& st) {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (!failed_.load()) error_ = st;
    failed_.store(true);
    std::lock_guard<std::mutex> flight(flight_mu_);
    flight_cv_.notify_all();
  }

  void RunWriter(Writer& w) {
    std::vector<bool> mine(starts_.size());
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(w.mu);
        w.cv.wait(lock, [&] { return w.stop || !w.queue.empty(); });
        if (w.queue.empty()) break;  // stopped and drained
        job = std::move(w.queue.front());
        w.queue.pop_front();
      }
      if (failed_.load() || abandon_.load()) continue;
      for (const auto& p : job.parts) mine[p.segment] = true;
      auto st = RunJob(job.batch, job);
      if (!st.ok()) Fail(st);
    }
    if (failed_.load() || abandon_.load()) return;
    for (size_t i = 0; i < mine.size(); ++i) {
      if (!mine[i]) continue;
      auto st = FlushSegment(i);
      if (!st.ok()) return Fail(st);
    }
  }

  // Joins the writers; with `abandon_` unset they first spill what is queued.
  void StopWriters() {
    for (auto& w : writers_) {
      std::lock_guard<std::mutex> lock(w.mu);
      w.stop = true;
      w.cv.notify_one();
    }
    for (auto& w : writers_) {
      if (w.thread.joinable()) w.thread.join();
    }
  }

  arrow::Status RunJob(const std::shared_ptr<arrow::RecordBatch>& batch, const Job& job) {
    for (const auto& p : job.parts) {
      ARROW_ASSIGN_OR_RAISE(auto rows, Rows(batch, p.rows));
      auto& out = segments_[p.segment];
      const int kind = p.base ? kBase : kDelta;
      out.pending[kind].push_back(rows);
      out.pending_bytes[kind] += static_cast<int64_t>(p.rows.size()) * row_bytes_;
      if (out.pending_bytes[kind] >= spill_batch_bytes_) ARROW_RETURN_NOT_OK(Spill(p.segment, kind));
    }
    return arrow::Status::OK();
  }

  // Appends segment i's pending rows of one kind to its spill, as one batch.
  arrow::Status Spill(size_t i, int kind) {
    auto& out = segments_[i];
    auto& pending = out.pending[kind];
    if (pending.empty()) return arrow::Status::OK();
    std::shared_ptr<arrow::RecordBatch> batch = pending.front();
    if (pending.size() > 1) {
      ARROW_ASSIGN_OR_RAISE(batch, arrow::ConcatenateRecordBatches(pending));
    }
    pending.clear();
    out.pending_bytes[kind] = 0;
    if (!out.spill) {
      ARROW_ASSIGN_OR_RAISE(out.spill,
                            write::SpillWriter::Open(options_.spill_dir, file_schema_, arrow::Compression::LZ4_FRAME));
    }
    out.batches[kind].push_back(out.spill->batches());
    out.rows[kind] += batch->num_rows();
    return out.spill->Write(*batch);
  }

  arrow::Status FlushSegment(size_t i) {
    ARROW_RETURN_NOT_OK(Spill(i, kDelta));
    return Spill(i, kBase);
  }

  // Encodes the segments' spills on `writers` threads (at least one) while
  // the calling thread reports their progress.
  arrow::Status EncodeAll(internal::ProgressReporter& progress) {
    const size_t encoders = std::min(std::max<size_t>(writers_.size(), 1), std::max<size_t>(starts_.size(), 1));
    std::atomic<size_t> next{0};
    std::atomic<int64_t> rows{0};
    std::mutex mu;
    std::condition_variable cv;
    size_t running = encoders;
    auto run = [&] {
      while (!failed_.load()) {
        const size_t i = next.fetch_add(1);
        if (i >= starts_.size()) break;
        auto st = EncodeSegment(i, encoders, rows);
        if (!st.ok()) {
          Fail(st);
          break;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      --running;
      cv.notify_all();
    };
    std::vector<std::thread> threads;
    for (size_t t = 0; t < encoders; ++t) threads.emplace_back(run);
    {
      std::unique_lock<std::mutex> lock(mu);
      while (!cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return running == 0; })) {
        progress.Set(rows.load());
      }
    }
    for (auto& t : threads) t.join();
    return FirstError();
  }

  arrow::Status EncodeSegment(size_t i, size_t encoders, std::atomic<int64_t>& encoded) {
    auto& out = segments_[i];
    if (!out.spill) return arrow::Status::OK();  // no rows
    ARROW_ASSIGN_OR_RAISE(auto run, out.spill->Finish());
    out.spill.reset();
    spilled_bytes_.fetch_add(run.bytes);
    // Spilled bytes per row: about what a row takes in the Parquet file.
    const int64_t row_bytes = std::max<int64_t>(1, run.bytes / std::max<int64_t>(1, out.rows[kDelta] + out.rows[kBase]));
    for (int kind : {kDelta, kBase}) {
      if (out.rows[kind] == 0) continue;
      FileShape shape = ShapeFile(out.rows[kind], encoders);
      // A delta file ends at the first row group flushed past the target
      // size: groups of at most half of it keep files near it.
      if (kind == kDelta) {
        shape.row_group_rows = std::clamp<int64_t>(options_.target_bytes / (2 * row_bytes), 1, shape.row_group_rows);
      }
      std::unique_ptr<write::DataFileStream> file;
      for (int at : out.batches[kind]) {
        ARROW_ASSIGN_OR_RAISE(auto batch, run.reader->ReadRecordBatch(at));
        // A delta is written about a row group at a time, so that it can
        // end within a spilled batch, but only between keys: a segment's
        // files hold disjoint key ranges. A base is one file: whole batches.
        const int64_t n = batch->num_rows();
        const int64_t step = kind == kDelta ? shape.row_group_rows : n;
        std::shared_ptr<arrow::BooleanArray> same;
        if (n > step) {
          ARROW_ASSIGN_OR_RAISE(same, SameKeyAsNext(*batch, static_cast<int>(schema_.key_columns.size())));
        }
        for (int64_t at_row = 0, end = 0; at_row < n; at_row = end) {
          end = std::min(n, at_row + step);
          while (end < n && same->Value(end - 1)) ++end;
          if (!file) {
            ARROW_ASSIGN_OR_RAISE(file, OpenFile(shape));
          }
          auto part = end - at_row == n ? batch : batch->Slice(at_row, end - at_row);
          ARROW_RETURN_NOT_OK(file->Write(*part));
          encoded.fetch_add(part->num_rows());
          if (kind == kDelta && file->bytes_flushed() >= options_.target_bytes) {
            ARROW_ASSIGN_OR_RAISE(auto ref, CloseFile(*file));
            file.reset();
            out.deltas.push_back(std::move(ref));
          }
        }
      }
      if (!file) continue;
      ARROW_ASSIGN_OR_RAISE(auto ref, CloseFile(*file));
      if (kind == kDelta) {
        out.deltas.push_back(std::move(ref));
      } else {
        out.base = std::move(ref);
      }
    }
    return arrow::Status::OK();
  }

  arrow::Result<std::unique_ptr<write::DataFileStream>> OpenFile(const FileShape& shape) {
    return write::DataFileStream::Open(storage_, schema_, write::NewDataFileName(Version(built_from_.value() + 1)),
                                       built_from_, true, true, shape.row_group_rows, page_bytes_,
                                       /*parallel_columns=*/false, shape.page_rows);
  }

  arrow::Result<DataFileRef> CloseFile(write::DataFileStream& file) {
    ARROW_ASSIGN_OR_RAISE(auto ref, file.Close());
    ARROW_RETURN_NOT_OK(storage_.Sync(ref.path));
    return ref;
  }

  // `rows` of `batch`: the batch itself when all, a slice when contiguous,
  // else a gather (write::GatherRows: one pass per column; Arrow's Take
  // copied every string with a memcpy call, ~10% of a compaction's CPU).
  static arrow::Result<std::shared_ptr<arrow::RecordBatch>> Rows(const std::shared_ptr<arrow::RecordBatch>& batch,
                                                                 const std::vector<uint32_t>& rows) {
    const auto count = static_cast<int64_t>(rows.size());
    if (count == batch->num_rows()) return batch;
    if (static_cast<int64_t>(rows.back()) - rows.front() + 1 == count) return batch->Slice(rows.front(), count);
    return write::GatherRows(batch, rows, 0, count);
  }

  // Sized from the first merged batch (Arrow bytes per row: an overestimate
  // of the encoded size). While merging, every segment gathers up to a batch
  // of each kind before spilling it: together at most half the output's
  // share. Encoding, each encoder keeps one file open: its row group
  // (encoded) and a page per column.
  void FitSpill(const arrow::RecordBatch& batch) {
    int64_t bytes = 0;
    for (const auto& c : batch.columns()) {
      for (const auto& b : c->data()->buffers) {
        if (b) bytes += b->size();
      }
    }
    row_bytes_ = std::max<int64_t>(16, bytes / std::max<int64_t>(1, batch.num_rows()));
    const int64_t pending = 4 * static_cast<int64_t>(starts_.size());
    spill_batch_bytes_ = std::clamp<int64_t>(options_.write_budget / pending, kMinSpillBatchBytes, kMaxSpillBatchBytes);
    const int64_t encoders = std::max<int64_t>(1, static_cast<int64_t>(writers_.size()));
    const int64_t per_file = options_.write_budget / encoders;
    const int64_t columns = batch.num_columns();
    // A page per column is buffered besides the row group: pages shrink
    // first (down to 8 KiB), then the row group holds what is left.
    page_bytes_ = std::clamp<int64_t>(per_file / (4 * columns), std::min<int64_t>(8 * 1024, options_.max_page_bytes),
                                      options_.max_page_bytes);
    const int64_t for_rows = std::max<int64_t>(per_file - 2 * columns * page_bytes_, per_file / 4);
    // write.row_group_rows (or auto's cap) caps what the budget allows.
    row_group_rows_ = std::min(options_.max_row_group_rows,
                               std::clamp<int64_t>(for_rows / (2 * row_bytes_), 1024, write::kRowGroupRows));
    columns_ = columns;
  }

  // A file of `rows` rows, one of `encoders` open at once: its footer and
  // page index stay within their share of the footer budget. With
  // write.row_group_rows auto, row groups grow to keep the footer there;
  // with write.page_rows auto, pages grow (up to a row group) to keep the
  // page index there.
  FileShape ShapeFile(int64_t rows, size_t encoders) const {
    FileShape shape{row_group_rows_, options_.page_rows.value_or(metadata::kCompactedPageRows)};
    const int64_t budget = options_.footer_budget / static_cast<int64_t>(encoders);
    if (budget <= 0) return shape;
    if (options_.row_group_rows_auto) {
      const int64_t chunks_allowed = std::max<int64_t>(1, budget / kFooterBytesPerChunk);
      const int64_t for_footers = (rows * columns_ + chunks_allowed - 1) / chunks_allowed;
      shape.row_group_rows = std::max(shape.row_group_rows, std::min(for_footers, write::kRowGroupRows));
    }
    if (!options_.page_rows) {
      const int64_t groups = (rows + shape.row_group_rows - 1) / shape.row_group_rows;
      const int64_t pages_allowed = (budget - groups * columns_ * kFooterBytesPerChunk) / kPageIndexBytesPerPage;
      const int64_t for_index =
          pages_allowed > 0 ? (rows * columns_ + pages_allowed - 1) / pages_allowed : shape.row_group_rows;
      shape.page_rows = std::max(shape.page_rows, std::min(for_index, shape.row_group_rows));
    }
    return shape;
  }

  io::Storage& storage_;
  const TableSchema& schema_;
  std::shared_ptr<arrow::Schema> file_schema_;
  std::vector<int64_t> starts_;
  Version built_from_;
  Options options_;
  int64_t row_bytes_ = 0;          // set by FitSpill from the first batch
  int64_t spill_batch_bytes_ = 0;  // ... and these
  int64_t row_group_rows_ = 0;
  int64_t page_bytes_;
  int64_t columns_ = 0;
  std::atomic<int64_t> spilled_bytes_{0};
  std::vector<Output> segments_;
  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  int64_t in_flight_ = 0;
  std::mutex error_mu_;
  arrow::Status error_;  // the first writer's error
  std::atomic<bool> failed_{false};
  std::atomic<bool> abandon_{false};  // set when the compaction failed elsewhere
  std::vector<Writer> writers_;       // last: joined before the rest goes
};

}  // namespace

namespace {

arrow::Result<CompactResult> CompactImpl(const std::shared_ptr<Table>& table, const CompactOptions& options) {
  auto snap = table->current_snapshot();
  const std::string& where = table->location();
  if (snap->format_version < 1) {
    return InvalidArgument("table '", where,
                           "' is a bazof 0.1 / azof 0.2 table: bazof reads it but does not rewrite it");
  }
  if (snap->segments.empty()) {
    return Corruption("table '", where, "': snapshot has no segment");
  }
  ARROW_ASSIGN_OR_RAISE(auto policy, metadata::PolicyFromProperties(snap->properties));
  const int64_t duration = options.segment_duration_us.value_or(policy.segment_duration_us);
  const int64_t target = options.target_file_bytes.value_or(policy.target_file_bytes);
  if (duration < 0) return InvalidArgument("compaction of '", where, "': segment duration must be positive");
  ARROW_ASSIGN_OR_RAISE(const int64_t budget,
                        ResolveMemoryLimit(options.memory_limit_bytes, snap->properties, "compaction of '" + where + "'"));
  FitCachesToBudget(budget);
  if (target <= 0) return InvalidArgument("compaction of '", where, "': target file size must be positive");

  std::optional<EventTime> horizon = options.horizon;
  if (horizon && snap->horizon && *horizon < *snap->horizon) {
    return InvalidArgument("compaction of '", where, "': horizon ", FormatEventTime(*horizon),
                           " is before the table's history horizon ", FormatEventTime(*snap->horizon),
                           " (history before it is already gone)");
  }
  if (horizon && (horizon->is_max() || *horizon == EventTime::Min())) {
    return InvalidArgument("compaction of '", where, "': the horizon must be a finite time");
  }
  if (!horizon) {
    ARROW_ASSIGN_OR_RAISE(horizon, RetentionHorizon(*snap));
    if (horizon && snap->horizon && *horizon < *snap->horizon) horizon = snap->horizon;
  }
  if (!horizon) horizon = snap->horizon;

  CompactResult result;
  result.memory_limit_bytes = budget;
  result.built_from = snap->version;
  result.horizon = horizon;
  auto deltas = AllDeltas(*snap);
  for (const auto* d : deltas) {
    if (!d->start || !d->end) return Corruption("table '", where, "': delta '", d->path, "' has no event-time range");
    ++result.files_read;
    result.bytes_read += std::max<int64_t>(d->size, 0);
    result.events_read += std::max<int64_t>(d->rows, 0);
  }
  if (deltas.empty()) {  // nothing was ever written
    result.nothing_to_compact = true;
    result.reason = "version " + std::to_string(snap->version.value()) + " has no deltas";
    return result;
  }
  const int64_t min_rows = options.min_segment_rows.value_or(policy.min_segment_rows);
  if (min_rows < 1) return InvalidArgument("compaction of '", where, "': minimum segment rows must be >= 1");

  // Deltas hold every event (the complete-deltas invariant); bases are derived
  // from them, so the merge reads deltas only.
  auto plan = planning::PlanScan(planning::WithoutBases(*snap), EventTime::Max());
  const int threads = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<int64_t> starts;
  if (duration > 0) {
    ARROW_ASSIGN_OR_RAISE(starts, SegmentStarts(*snap, deltas, duration, where));
  }
  // Nothing to do when compacting would rewrite the same events into the same
  // layout. An auto layout is judged by its starts, unless the table's last
  // commit was itself a compaction (then the cheap checks suffice).
  const bool clean = !options.force && LayoutIsCompacted(*snap, duration > 0 ? &starts : nullptr, target, horizon);
  auto nothing = [&] {
    result.nothing_to_compact = true;
    result.reason = NothingToCompact(*snap);
    result.segments = static_cast<int64_t>(snap->segments.size());
    return result;
  };
  if (clean && (duration > 0 || (snap->commit && snap->commit->operation == "compact"))) return nothing();
  if (duration == 0) {
    int64_t first = snap->segments.front().start.micros(), lo = INT64_MAX, hi = INT64_MIN;
    for (const auto* d : deltas) {
      lo = std::min(lo, d->start->micros());
      hi = std::max(hi, d->end->micros());
    }
    internal::ProgressReporter planning(options.progress, "plan", "events", result.events_read);
    ARROW_ASSIGN_OR_RAISE(starts, AutoSegmentStarts(table, *snap, plan.files, std::min(first, lo), lo, hi, min_rows,
                                                    threads, budget * kReadShareNum / kShareDen, planning));
    planning.Finish();
    if (clean && LayoutIsCompacted(*snap, &starts, target, horizon)) return nothing();
  }
  result.segments = static_cast<int64_t>(starts.size());
  if (options.dry_run) return result;

  std::vector<int> all_values(snap->schema.value_columns.size());
  for (size_t i = 0; i < all_values.size(); ++i) all_values[i] = static_cast<int>(i);
  ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(*snap, all_values));
  read::ScanReaderOptions ro;
  ro.mode = read::MergeMode::kAllEvents;
  // The writer side already buffers per segment; keep the merge side small.
  ro.max_queued_batches = 2;
  ro.threads = threads;
  ro.memory_limit_bytes = budget * kReadShareNum / kShareDen;
  ARROW_ASSIGN_OR_RAISE(auto reader, read::MakeScanReader(table->storage(), shape, plan.files, ro));

  auto& storage = *table->storage();
  ARROW_ASSIGN_OR_RAISE(auto stored_rows, metadata::StoredWriteSize(snap->properties, "write.row_group_rows"));
  const bool rg_auto = !stored_rows;
  const int64_t row_group_rows = stored_rows.value_or(metadata::kCompactedRowGroupRows);
  ARROW_ASSIGN_OR_RAISE(auto page_bytes, metadata::PageBytes(snap->properties, kPageBytes));
  ARROW_ASSIGN_OR_RAISE(auto page_rows, metadata::StoredWriteSize(snap->properties, "write.page_rows"));
  LayoutWriter::Options lo;
  lo.target_bytes = target;
  lo.write_budget = budget * kWriteShareNum / kShareDen;
  lo.max_row_group_rows = row_group_rows;
  lo.row_group_rows_auto = rg_auto;
  lo.max_page_bytes = page_bytes;
  lo.page_rows = page_rows;
  lo.footer_budget = budget / kFooterShareDen;
  lo.writers = threads > 1 ? threads : 0;
  lo.in_flight_limit = budget / kInFlightShareDen;
  lo.spill_dir = write::SpillDirOrDefault(options.spill_dir);
  LayoutWriter layout(storage, snap->schema, starts, snap->version, std::move(lo));
  internal::ProgressReporter merging(options.progress, "merge", "events", result.events_read);
  const int nkeys = static_cast<int>(snap->schema.key_columns.size());
  const int64_t release_every = std::max<int64_t>(1, budget / kReleaseShareDen);
  int64_t merged_since_release = 0;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
    const int64_t collapsed_before = batch ? batch->num_rows() : 0;
    if (!batch) break;
    merged_since_release += arrow::util::TotalBufferSize(*batch);
    if (merged_since_release >= release_every) {
      arrow::default_memory_pool()->ReleaseUnused();
      merged_since_release = 0;
    }
    if (horizon) {
      ARROW_ASSIGN_OR_RAISE(batch, CollapseBehind(batch, nkeys, horizon->micros()));
      result.events_collapsed += collapsed_before - batch->num_rows();
    }
    result.events_written += batch->num_rows();
    ARROW_RETURN_NOT_OK(layout.Write(*batch));
    merging.Add(collapsed_before);
  }
  merging.Finish();
  ARROW_ASSIGN_OR_RAISE(auto segments, layout.Finish(options.progress));
  result.spilled_bytes = layout.spilled_bytes();

  Snapshot next = *snap;
  next.format_version = horizon ? 2 : 1;
  next.horizon = horizon;
  next.version = Version(snap->version.value() + 1);
  next.segments = std::move(segments);
  CommitInfo commit;
  commit.operation = "compact";
  if (horizon) commit.description = "history horizon " + FormatEventTime(*horizon);
  commit.timestamp = write::WallClockNow();
  for (const auto& s : next.segments) {
    if (s.base) {
      ++result.bases;
      result.base_rows += s.base->rows;
      commit.files_added.push_back(s.base->path);
    }
    for (const auto& d : s.deltas) commit.files_added.push_back(d.path);
  }
  commit.rows_added = result.events_written + result.base_rows;
  for (const auto* f : snap->AllFiles()) commit.files_removed.push_back(f->path);
  next.commit = commit;
  auto st = write::CommitSnapshot(storage, next);
  if (!st.ok()) {
    if (ErrorKindOf(st) == ErrorKind::kConflict) {
      return Conflict("compaction of '", where, "': version ", next.version.value(),
                      " was committed by another writer meanwhile; nothing changed, run compact again");
    }
    return WithContext(st, "commit of '" + where + "': ");
  }
  result.committed = true;
  result.version = next.version;
  result.files_added = std::move(commit.files_added);
  result.files_removed = std::move(commit.files_removed);
  return result;
}

}  // namespace

arrow::Result<CompactResult> Compact(const std::shared_ptr<Table>& table, const CompactOptions& options) {
  ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
  ARROW_ASSIGN_OR_RAISE(auto result, CompactImpl(table, options));
  result.peak_memory_bytes = PeakMemoryBytes();
  return result;
}

arrow::Result<std::optional<EventTime>> RetentionHorizon(const Snapshot& snapshot) {
  auto it = snapshot.properties.find("retention.event_time");
  if (it == snapshot.properties.end() || it->second == "none") return std::nullopt;
  auto keep = metadata::ParseDuration(it->second, "property retention.event_time");
  if (!keep.ok()) return Corruption("table property: ", keep.status().message());
  std::optional<EventTime> anchor = snapshot.watermark;
  if (!anchor) {
    for (const auto* f : snapshot.AllFiles()) {
      if (f->end && (!anchor || *anchor < *f->end)) anchor = f->end;
    }
  }
  if (!anchor) return std::nullopt;
  int64_t h = 0;
  if (__builtin_sub_overflow(anchor->micros(), *keep, &h)) return std::nullopt;
  return EventTime::FromMicros(h);
}

arrow::Result<ReadCost> LatestReadCost(const Snapshot& snapshot) {
  ReadCost cost;
  auto plan = planning::PlanScan(snapshot, EventTime::Max());
  int64_t largest = 0;
  for (const auto& f : plan.files) {
    ++cost.files;
    if (!f.is_base) ++cost.deltas;
    // Saturating: the counts come from metadata, which may hold anything.
    for (auto [sum, add] : {std::pair{&cost.bytes, f.ref.size}, std::pair{&cost.rows, f.ref.rows}}) {
      if (__builtin_add_overflow(*sum, std::max<int64_t>(add, 0), sum)) *sum = INT64_MAX;
    }
    largest = std::max(largest, f.ref.rows);
  }
  cost.read_amplification = largest > 0 ? static_cast<double>(cost.rows) / static_cast<double>(largest) : 1.0;
  if (snapshot.format_version < 1) return cost;  // legacy tables are not compacted
  ARROW_ASSIGN_OR_RAISE(auto policy, metadata::PolicyFromProperties(snapshot.properties));
  if (cost.deltas > policy.max_deltas) {
    cost.compaction_advised = true;
    cost.reason = "a latest scan reads " + std::to_string(cost.deltas) +
                  " delta files (compaction.max_deltas = " + std::to_string(policy.max_deltas) + ")";
  } else if (cost.read_amplification > policy.max_read_amplification) {
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  "a latest scan reads %.1f rows per row of its largest file "
                  "(compaction.max_read_amplification = %g)",
                  cost.read_amplification, policy.max_read_amplification);
    cost.compaction_advised = true;
    cost.reason = buf;
  }
  return cost;
}

}  // namespace bazof
