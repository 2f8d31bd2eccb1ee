#include "read/scan_reader.h"
#include "util/memory_budget.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <parquet/metadata.h>

#include "read/merge.h"

namespace bazof::read {
// Rows of decoded input batches a merge aims to hold across its runs (each
// run holds a few batches of this / runs rows, at least 8192). Measured on
// 20 uncompacted appends of W3's shape (bench/results/RESULTS.md, "Scan
// memory on uncompacted tables"): 512 Ki rows held ~100 MB more than 128 Ki
// for the same CPU.
constexpr int64_t kRunRowsBudget = 128 * 1024;
// A merge thread beyond the first must save more than it costs: the row
// groups that straddle a split point are decoded by both partitions. More
// threads are used only while these duplicated rows stay under this fraction
// (1 / kMaxDuplicateShare) of the rows the scan decodes.
constexpr int64_t kMaxDuplicateShare = 8;
// Rows a partition of a key-list scan should decode to pay for its thread,
// its own footers' reader set-up and the row groups that straddle two
// partitions (decoded by both): below it, one partition seeks the keys.
constexpr int64_t kMinRowsPerKeyListPartition = 256 * 1024;
// Largest data page bazof's writers make (data_file_writer.h: 1 MiB): what a
// run holds per column, at most, besides its batches.
constexpr int64_t kPageBytesBound = 1024 * 1024;
// Most key ranges per thread the automatic choice makes (each split point
// costs a row group, or a page, per run decoded twice).
constexpr int64_t kMaxPartitionsPerThread = 4;
// The largest file's row-group starts are the split candidates when it has
// at least this many row groups per key range the scan wants (ranges then
// differ by at most about an eighth); fewer, larger groups are cut between
// pages.
constexpr int64_t kRowGroupsPerPartition = 8;

namespace {

// The decompressed size of a page of `chunk`: its bytes over its data pages
// (the footer's encoding stats count them; bazof's writers record them),
// else the chunk up to the largest page bazof's writers make.
int64_t PageBytes(const parquet::ColumnChunkMetaData& chunk) {
  const int64_t bytes = std::max<int64_t>(chunk.total_uncompressed_size(), 0);
  int64_t pages = 0;
  for (const auto& s : chunk.encoding_stats()) {
    if (s.page_type == parquet::PageType::DATA_PAGE || s.page_type == parquet::PageType::DATA_PAGE_V2) {
      pages += std::max<int32_t>(s.count, 0);
    }
  }
  if (pages > 0) return (bytes + pages - 1) / pages;
  return std::min(bytes, kPageBytesBound);
}

// What a run of `file` holds in pages whatever its batch size: per column of
// its largest row group a decompressed page (the compressed page is
// transient). Measured on W3's 20 uncompacted runs: the pool peak of a
// one-thread scan is about this.
int64_t PageFloor(const OpenedFile& file) {
  const auto& md = *file.metadata;
  int64_t floor = 0;
  for (int rg = 0; rg < md.num_row_groups(); ++rg) {
    auto g = md.RowGroup(rg);
    int64_t pages = 0;
    for (int c = 0; c < g->num_columns(); ++c) pages += PageBytes(*g->ColumnChunk(c));
    floor = std::max(floor, pages);
  }
  return floor;
}

// Where the key space may be cut into `wanted` ranges: the row-group starts
// of the largest file (roughly equal row counts between them, without
// reading data), or, `by_pages`, when it has too few row groups for that and
// they are large (kMinPagedStraddleRows), of several pages and with a page
// index, its page starts (key ranges then cut between pages: each partition
// reads only the pages of a row group that may hold its keys, run_reader.cc).
std::vector<std::string> SplitCandidates(io::Storage& storage, const ScanShape& shape,
                                         const std::vector<std::shared_ptr<OpenedFile>>& files, bool by_pages,
                                         int wanted) {
  std::shared_ptr<OpenedFile> largest;
  for (const auto& f : files) {
    if (!largest || f->num_rows > largest->num_rows) largest = f;
  }
  std::vector<std::string> candidates;
  if (!largest) return candidates;
  const int groups = largest->metadata->num_row_groups();
  if (by_pages && largest->planned.ref.sorted && groups > 0 && groups < kRowGroupsPerPartition * wanted &&
      largest->metadata->RowGroup(0)->num_rows() >= kMinPagedStraddleRows && largest->DataPages(0) > 1) {
    if (auto access = RowGroupAccess::Make(storage, largest, shape); access.ok()) {
      const std::vector<int> leaves = largest->key_leaves;
      for (int rg = 0; rg < groups; ++rg) {
        auto pages = (*access)->PageKeys(rg, leaves);
        if (!pages) {
          candidates.clear();
          break;
        }
        for (auto& lo : *pages) {
          if (lo) candidates.push_back(*std::move(lo));
        }
      }
      if (!candidates.empty()) candidates.erase(candidates.begin());  // the file's first key
    }
  }
  if (candidates.empty()) {
    for (int rg = 1; rg < groups; ++rg) {
      if (largest->row_group_bounds[rg]) candidates.push_back(largest->row_group_bounds[rg]->first);
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  return candidates;
}

// `wanted` - 1 split points (fewer when there are fewer candidates), evenly
// spaced among the candidates.
std::vector<std::string> SplitPoints(const std::vector<std::string>& candidates, int wanted) {
  std::vector<std::string> out;
  const int parts = std::min<int>(wanted, static_cast<int>(candidates.size()) + 1);
  for (int p = 1; p < parts; ++p) {
    out.push_back(candidates[candidates.size() * p / parts]);
  }
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Rows of the row groups `files` hold in [lower, upper): what a scan decodes.
int64_t RowsInRange(const std::vector<std::shared_ptr<OpenedFile>>& files, const KeyBounds& range) {
  int64_t rows = 0;
  for (const auto& f : files) {
    for (size_t rg = 0; rg < f->row_group_bounds.size(); ++rg) {
      const auto& b = f->row_group_bounds[rg];
      if (b && ((range.lower && b->second < *range.lower) || (range.upper && b->first >= *range.upper))) continue;
      rows += f->metadata->RowGroup(static_cast<int>(rg))->num_rows();
    }
  }
  return rows;
}

// Rows decoded twice when the key space is cut at `splits`: a row group
// whose keys straddle a split point (first < s <= last), or whose bounds are
// unknown, is read by the partitions on both sides: whole, or, `by_pages`,
// about a page when it has kMinPagedStraddleRows rows or more, several pages
// and a page index (each side reads only the pages that may hold its keys,
// run_reader.cc).
int64_t DuplicatedRows(const std::vector<std::shared_ptr<OpenedFile>>& files,
                       const std::vector<std::string>& splits, bool by_pages) {
  int64_t rows = 0;
  for (const auto& f : files) {
    for (size_t rg = 0; rg < f->row_group_bounds.size(); ++rg) {
      const auto& b = f->row_group_bounds[rg];
      int64_t cuts = 0;
      for (const auto& s : splits) cuts += !b || (b->first < s && b->second >= s);
      if (cuts == 0) continue;
      const auto group = f->metadata->RowGroup(static_cast<int>(rg));
      const int64_t pages = by_pages && b && f->planned.ref.sorted && group->num_rows() >= kMinPagedStraddleRows &&
                                    group->ColumnChunk(f->event_time_leaf)->GetOffsetIndexLocation()
                                ? f->DataPages(static_cast<int>(rg))
                                : 1;
      rows += cuts * ((group->num_rows() + pages - 1) / std::max<int64_t>(1, pages));
    }
  }
  return rows;
}

// Files read one after another as a single run of the merge. An append
// writes one sorted run cut into files of about 1M rows, each holding a key
// range of its own: merging them as separate runs would hold every file's
// pages and batches at once (W3's 20 appends: 103 files open instead of 20).
using Chain = std::vector<std::shared_ptr<OpenedFile>>;

// Groups `files` into chains: files of consecutive ranks (no other file's
// rank between them, so the chain, ranked as its first file, compares with
// every other run as each of its files does) whose key ranges do not
// overlap, in key order. A key can then be in two files of a chain only at
// their boundary, and only when the later file in key order ranks higher
// (below): the chain's order decides that tie as the ranks did. Unsorted
// (legacy) files and files without key bounds stay alone.
std::vector<Chain> ChainFiles(const std::vector<std::shared_ptr<OpenedFile>>& files) {
  std::vector<std::shared_ptr<OpenedFile>> by_rank = files;
  std::stable_sort(by_rank.begin(), by_rank.end(),
                   [](const auto& a, const auto& b) { return a->planned.rank < b->planned.rank; });
  auto range = [](const OpenedFile& f) -> std::optional<std::pair<std::string, std::string>> {
    const auto& b = f.row_group_bounds;
    if (!f.planned.ref.sorted || b.empty() || !b.front() || !b.back()) return std::nullopt;
    return std::make_pair(b.front()->first, b.back()->second);
  };
  std::vector<Chain> chains;
  std::map<std::string, std::pair<std::string, std::shared_ptr<OpenedFile>>> open;  // lo -> (hi, file)
  int64_t last_rank = 0;
  auto flush = [&] {
    if (open.empty()) return;
    Chain c;
    for (auto& [lo, v] : open) c.push_back(std::move(v.second));
    chains.push_back(std::move(c));
    open.clear();
  };
  for (const auto& f : by_rank) {
    const auto r = range(*f);
    if (!r) {
      flush();
      chains.push_back(Chain{f});
      continue;
    }
    bool joins = !open.empty() && f->planned.rank == last_rank + 1;
    if (joins) {
      // Its neighbours in key order: the next range must start above this
      // one's end; the previous may end at this one's first key (an append
      // cuts its sorted run into files mid-key), since this file ranks
      // higher and comes later in the chain, so its rows still win ties
      // (the merge lets the later row of a run win, as the higher rank).
      auto next = open.lower_bound(r->first);
      if (next != open.end() && next->first <= r->second) joins = false;
      if (joins && next != open.begin() && std::prev(next)->second.first > r->first) joins = false;
    }
    if (!joins) flush();
    open.emplace(r->first, std::make_pair(r->second, f));
    last_rank = f->planned.rank;
  }
  flush();
  return chains;
}

// What a chain holds at once: the pages of its largest file.
int64_t PageFloor(const Chain& chain) {
  int64_t floor = 0;
  for (const auto& f : chain) floor = std::max(floor, PageFloor(*f));
  return floor;
}

// A chain's files as one run: each opened when the previous one ends.
class ChainedRun : public RunSource {
 public:
  ChainedRun(io::Storage& storage, Chain chain, const ScanShape& shape, KeyBounds bounds,
             int64_t batch_size, bool pre_buffer)
      : storage_(storage), chain_(std::move(chain)), shape_(shape), bounds_(std::move(bounds)),
        batch_size_(batch_size), pre_buffer_(pre_buffer) {}

  arrow::Result<std::shared_ptr<RunBatch>> Next() override {
    while (next_ < chain_.size()) {
      if (!current_) {
        ARROW_ASSIGN_OR_RAISE(current_, RunSource::Make(storage_, chain_[next_], shape_, bounds_, batch_size_,
                                                        pre_buffer_));
      }
      ARROW_ASSIGN_OR_RAISE(auto batch, current_->Next());
      if (batch) return batch;
      current_.reset();
      ++next_;
    }
    return nullptr;
  }
  int64_t rank() const override { return chain_.front()->planned.rank; }
  const std::string& name() const override {
    return chain_[std::min(next_, chain_.size() - 1)]->planned.ref.path;
  }

 private:
  io::Storage& storage_;
  Chain chain_;
  const ScanShape& shape_;
  KeyBounds bounds_;
  int64_t batch_size_;
  bool pre_buffer_;
  size_t next_ = 0;
  std::unique_ptr<RunSource> current_;
};

class Partition {
 public:
  Partition(KeyBounds bounds) : bounds_(std::move(bounds)) {}
  ~Partition() { Cancel(); }

  // Runs the merge of this key range on a thread, queueing its batches.
  void Start(std::function<arrow::Result<std::unique_ptr<MergeReader>>(const KeyBounds&)> make,
             int max_queued) {
    thread_ = std::thread([this, make = std::move(make), max_queued] {
      arrow::Status st = Produce(make, max_queued);
      std::lock_guard<std::mutex> lock(mu_);
      status_ = st;
      done_ = true;
      cv_.notify_all();
    });
  }

  // Next batch of this range; nullptr when the range is exhausted.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Take() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (!queue_.empty()) {
      auto b = std::move(queue_.front());
      queue_.pop_front();
      cv_.notify_all();
      return b;
    }
    ARROW_RETURN_NOT_OK(status_);
    return nullptr;
  }

  void Cancel() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  const KeyBounds& bounds() const { return bounds_; }

 private:
  arrow::Status Produce(
      const std::function<arrow::Result<std::unique_ptr<MergeReader>>(const KeyBounds&)>& make,
      int max_queued) {
    ARROW_ASSIGN_OR_RAISE(auto merge, make(bounds_));
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return cancelled_ || static_cast<int>(queue_.size()) < max_queued; });
        if (cancelled_) return arrow::Status::OK();
      }
      ARROW_ASSIGN_OR_RAISE(auto batch, merge->Next());
      if (!batch) return arrow::Status::OK();
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(batch));
      cv_.notify_all();
    }
  }

  KeyBounds bounds_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<arrow::RecordBatch>> queue_;
  arrow::Status status_;
  bool done_ = false;
  bool cancelled_ = false;
};

class PartitionedReader : public arrow::RecordBatchReader {
 public:
  PartitionedReader(std::shared_ptr<io::Storage> storage, std::shared_ptr<const ScanShape> shape,
                    std::vector<std::shared_ptr<OpenedFile>> files, std::vector<Chain> chains,
                    ScanReaderOptions options, std::vector<KeyBounds> ranges)
      : storage_(std::move(storage)),
        shape_(std::move(shape)),
        files_(std::move(files)),
        chains_(std::move(chains)),
        options_(std::move(options)),
        schema_(shape_->output_schema) {
    if (options_.mode == MergeMode::kAllEvents) {
      arrow::FieldVector fields = schema_->fields();
      fields.push_back(arrow::field(kDeletedColumn, arrow::boolean(), false));
      fields.push_back(arrow::field(kVersionColumn, arrow::int64(), false));
      schema_ = arrow::schema(std::move(fields));
    } else if (options_.mode == MergeMode::kIntervals) {
      options_.intervals.num_keys = shape_->schema.key_columns.size();
      schema_ = IntervalSchema(*schema_, options_.intervals.num_keys);
    }
    for (auto& r : ranges) partitions_.push_back(std::make_unique<Partition>(std::move(r)));
    FitToBudget();
  }
  ~PartitionedReader() override { (void)Close(); }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    if (!started_) {
      started_ = true;
      const size_t window = std::max(1, options_.threads);
      for (size_t i = 0; i < std::min(window, partitions_.size()); ++i) StartPartition(i);
    }
    while (current_ < partitions_.size()) {
      ARROW_ASSIGN_OR_RAISE(auto batch, partitions_[current_]->Take());
      if (batch) {
        *out = std::move(batch);
        return arrow::Status::OK();
      }
      partitions_[current_]->Cancel();  // joins the finished thread
      partitions_[current_].reset();
      const size_t next = current_ + std::max(1, options_.threads);
      if (next < partitions_.size()) StartPartition(next);
      ++current_;
    }
    return arrow::Status::OK();
  }

  arrow::Status Close() override {
    for (auto& p : partitions_) {
      if (p) p->Cancel();
    }
    return arrow::Status::OK();
  }

 private:
  void StartPartition(size_t i) {
    // Each run holds a few decoded batches while the merge consumes them:
    // with many runs, smaller batches keep memory bounded by the budget
    // rather than growing with the number of runs.
    int64_t run_batch = std::clamp<int64_t>(kRunRowsBudget / std::max<int64_t>(1, std::ssize(chains_)),
                                            std::min<int64_t>(8192, options_.batch_size), options_.batch_size);
    if (budget_run_batch_ > 0) run_batch = std::min(run_batch, budget_run_batch_);
    auto make = [this, run_batch](const KeyBounds& bounds) -> arrow::Result<std::unique_ptr<MergeReader>> {
      std::vector<std::unique_ptr<RunSource>> runs;
      for (const auto& c : chains_) {
        if (c.size() == 1) {
          ARROW_ASSIGN_OR_RAISE(auto run, RunSource::Make(*storage_, c.front(), *shape_, bounds, run_batch, pre_buffer_));
          runs.push_back(std::move(run));
        } else {
          runs.push_back(std::make_unique<ChainedRun>(*storage_, c, *shape_, bounds, run_batch, pre_buffer_));
        }
      }
      return std::make_unique<MergeReader>(std::move(runs), schema_, options_.as_of,
                                           options_.key_in, options_.batch_size, options_.mode,
                                           options_.intervals);
    };
    partitions_[i]->Start(make, options_.max_queued_batches);
  }

  // Under a memory budget: each of the `threads` concurrent merges gets an
  // equal share. Every run first needs its pages (PageFloor); the data
  // dictates them. Of what is left, a quarter may hold
  // pre-buffered row groups (one per run; otherwise runs stream their pages
  // through a small buffer), half the runs' decoded batches (about four per
  // run in flight: Parquet's decoder, the converted batch, the merge's
  // current one, the next), a quarter the output batches (the one being
  // gathered and the queue). Row sizes are the files' uncompressed bytes per
  // row, all columns: an overestimate.
  void FitToBudget() {
    if (options_.memory_limit_bytes <= 0 || files_.empty()) return;
    const int64_t share = options_.memory_limit_bytes / std::max(1, options_.threads);
    const int64_t runs = std::ssize(chains_);
    int64_t row_bytes = 16, rg_bytes = 0, pages = 0;
    for (const auto& f : files_) {
      const auto& md = *f->metadata;
      int64_t rows = 0, bytes = 0;
      for (int rg = 0; rg < md.num_row_groups(); ++rg) {
        auto g = md.RowGroup(rg);
        rows += g->num_rows();
        bytes += g->total_byte_size();
        rg_bytes = std::max(rg_bytes, std::max(g->total_compressed_size(), int64_t{0}));
      }
      if (rows > 0) row_bytes = std::max(row_bytes, (bytes + rows - 1) / rows);
    }
    for (const auto& c : chains_) pages += PageFloor(c);
    const int64_t rest = std::max<int64_t>(share - pages, 0);
    pre_buffer_ = runs * rg_bytes <= rest / 4;
    budget_run_batch_ = std::max<int64_t>(256, rest / 2 / (runs * row_bytes * 4));
    options_.max_queued_batches = std::min(options_.max_queued_batches, 4);
    const int64_t out_batch = rest / 4 / ((options_.max_queued_batches + 2) * row_bytes);
    options_.batch_size = std::clamp<int64_t>(out_batch, 256, options_.batch_size);
  }

  std::shared_ptr<io::Storage> storage_;
  std::shared_ptr<const ScanShape> shape_;
  std::vector<std::shared_ptr<OpenedFile>> files_;
  std::vector<Chain> chains_;  // the merge's runs
  ScanReaderOptions options_;
  bool pre_buffer_ = true;
  int64_t budget_run_batch_ = 0;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::unique_ptr<Partition>> partitions_;
  size_t current_ = 0;
  bool started_ = false;
};

// partitions_per_thread 0 (auto): the ordered partitions hand out their
// batches in key order, so while the consumer drains one, the others run
// ahead only as far as their queues (max_queued_batches x batch_size rows)
// reach, then wait. As-of output is at most a row per key, usually far less
// than a partition decodes: one partition per thread. Interval and
// all-events output is about a row per input row: enough partitions that one
// decodes at most twice what its queue holds, so that the partition running
// ahead fills its queue no sooner than the one being drained ends (up to
// kMaxPartitionsPerThread; the duplicate-share loop may lower it).
int AutoPartitionsPerThread(const std::vector<std::shared_ptr<OpenedFile>>& files, const KeyBounds& wanted,
                            const ScanReaderOptions& options) {
  if (options.mode == MergeMode::kAsOf || options.threads <= 1) return 1;
  const int64_t ahead = std::max<int64_t>(1, options.max_queued_batches) * std::max<int64_t>(1, options.batch_size);
  const int64_t rows = RowsInRange(files, wanted);
  const int64_t wanted_partitions = (rows + 2 * ahead - 1) / (2 * ahead);
  const int64_t per_thread = (wanted_partitions + options.threads - 1) / options.threads;
  return static_cast<int>(std::clamp<int64_t>(per_thread, 1, kMaxPartitionsPerThread));
}

}  // namespace

KeyListPlan PlanKeyList(const std::vector<std::shared_ptr<OpenedFile>>& files,
                        const std::vector<std::string>& key_in, int max_partitions) {
  KeyListPlan plan;
  for (const auto& f : files) {
    for (size_t rg = 0; rg < f->row_group_bounds.size(); ++rg) {
      const auto& b = f->row_group_bounds[rg];
      if (b) {
        auto it = std::lower_bound(key_in.begin(), key_in.end(), b->first);
        if (it == key_in.end() || *it > b->second) continue;
      }
      ++plan.row_groups_touched;
      plan.rows_touched += f->metadata->RowGroup(static_cast<int>(rg))->num_rows();
    }
  }
  const int64_t by_rows = plan.rows_touched / kMinRowsPerKeyListPartition;
  plan.partitions = static_cast<int>(std::clamp<int64_t>(by_rows, 1, std::max(1, max_partitions)));
  return plan;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> MakeScanReader(
    std::shared_ptr<io::Storage> storage, std::shared_ptr<const ScanShape> shape,
    std::vector<planning::PlannedFile> planned, ScanReaderOptions options) {
  const KeyBounds wanted{options.key_lower, options.key_upper, options.key_in};
  std::vector<std::shared_ptr<OpenedFile>> files;
  for (const auto& p : planned) {
    // A file whose recorded key range misses the keys is not opened.
    if (!MayHoldKeys(p.ref, shape->codec, wanted)) continue;
    ARROW_ASSIGN_OR_RAISE(auto f, OpenDataFile(*storage, p, *shape, options.footer_cache.get()));
    files.push_back(std::move(f));
  }
  auto chains = ChainFiles(files);
  if (options.memory_limit_bytes > 0 && options.threads > 1) {
    // Every thread's runs hold their pages whatever the batch size: fewer
    // threads when the pages of all would take more than half the budget.
    int64_t floor = 0;
    for (const auto& c : chains) floor += PageFloor(c);
    const int64_t fit = options.memory_limit_bytes / std::max<int64_t>(1, 2 * floor);
    options.threads = static_cast<int>(std::clamp<int64_t>(fit, 1, options.threads));
  }
  if (options.partitions_per_thread <= 0) {
    options.partitions_per_thread = AutoPartitionsPerThread(files, wanted, options);
  }
  // Split points fall between pages, and cost a page rather than a row
  // group, only on local storage (object storage reads row groups whole) and
  // under a budget of at least the default (or none): below it, the threads
  // that more partitions would bring hold more than the budget's model of
  // them (tests/python/test_memory_budget.py: 3 appends in 131072-row groups
  // under 32 MiB held 30-34 MB on two threads), so tight budgets keep the
  // split points and threads whole row groups allow.
  const bool by_pages = !storage->high_latency() &&
                        (options.memory_limit_bytes <= 0 || options.memory_limit_bytes >= kDefaultMemoryLimit);
  std::vector<std::string> candidates;
  if (options.threads > 1) {
    candidates = SplitCandidates(*storage, *shape, files, by_pages,
                                 options.threads * std::max(1, options.partitions_per_thread));
  }
  if (options.threads > 1 && options.key_in.empty()) {
    // Thread choice by cost: many runs that each span the key space (an
    // uncompacted table's appends) make every split point cost a row group
    // per run decoded twice, and every thread holds all runs' pages and
    // batches. Fewer partitions, then fewer threads, while the duplicated
    // rows exceed their share: a thread's partitions are a balance, the
    // thread itself the parallelism.
    const int64_t rows = RowsInRange(files, wanted);
    while (options.threads > 1) {
      std::vector<std::string> splits;
      for (auto& s : SplitPoints(candidates, options.threads * options.partitions_per_thread)) {
        if ((options.key_lower && s <= *options.key_lower) || (options.key_upper && s >= *options.key_upper)) continue;
        splits.push_back(std::move(s));
      }
      if (DuplicatedRows(files, splits, by_pages) * kMaxDuplicateShare <= rows) break;
      if (options.partitions_per_thread > 1) {
        --options.partitions_per_thread;
      } else {
        --options.threads;
      }
    }
  }
  int partitions = options.threads * options.partitions_per_thread;
  if (!options.key_in.empty()) partitions = PlanKeyList(files, options.key_in, partitions).partitions;
  std::vector<KeyBounds> ranges;
  if (options.threads > 1 && partitions > 1) {
    // Split points strictly inside the requested range cut it into parts;
    // a key list is cut with them, each part keeping its own keys.
    auto keys_in = [&](const std::optional<std::string>& lo, const std::optional<std::string>& hi) {
      if (options.key_in.empty()) return std::vector<std::string>{};
      auto b = lo ? std::lower_bound(options.key_in.begin(), options.key_in.end(), *lo) : options.key_in.begin();
      auto e = hi ? std::lower_bound(b, options.key_in.end(), *hi) : options.key_in.end();
      return std::vector<std::string>(b, e);
    };
    std::optional<std::string> lower = options.key_lower;
    for (const auto& s : SplitPoints(candidates, partitions)) {
      if ((lower && s <= *lower) || (options.key_upper && s >= *options.key_upper)) continue;
      auto keys = keys_in(lower, s);
      if (options.key_in.empty() || !keys.empty()) ranges.push_back(KeyBounds{lower, s, std::move(keys)});
      lower = s;
    }
    auto keys = keys_in(lower, options.key_upper);
    if (options.key_in.empty() || !keys.empty()) {
      ranges.push_back(KeyBounds{lower, options.key_upper, std::move(keys)});
    } else if (ranges.empty()) {
      ranges.push_back(wanted);  // no listed key in the range: reads nothing
    }
  } else {
    ranges.push_back(wanted);
  }
  return std::make_shared<PartitionedReader>(std::move(storage), std::move(shape), std::move(files),
                                             std::move(chains), std::move(options), std::move(ranges));
}

}  // namespace bazof::read
