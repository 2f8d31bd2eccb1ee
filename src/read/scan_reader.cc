#include "read/scan_reader.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <parquet/metadata.h>

#include "read/merge.h"

namespace bazof::read {
// Rows of decoded input batches a merge aims to hold across its runs.
constexpr int64_t kRunRowsBudget = 512 * 1024;
// Rows a partition of a key-list scan should decode to pay for its thread,
// its own footers' reader set-up and the row groups that straddle two
// partitions (decoded by both): below it, one partition seeks the keys.
constexpr int64_t kMinRowsPerKeyListPartition = 256 * 1024;
// Largest data page bazof's writers make (data_file_writer.h: 1 MiB): what a
// run holds per column, at most, besides its batches.
constexpr int64_t kPageBytesBound = 1024 * 1024;

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

// Split points for the key space, from the row-group key bounds of the
// largest file: roughly equal row counts per range without reading data.
std::vector<std::string> SplitPoints(const std::vector<std::shared_ptr<OpenedFile>>& files,
                                     int wanted) {
  const OpenedFile* largest = nullptr;
  for (const auto& f : files) {
    if (!largest || f->num_rows > largest->num_rows) largest = f.get();
  }
  std::vector<std::string> candidates;
  if (largest) {
    for (size_t rg = 1; rg < largest->row_group_bounds.size(); ++rg) {
      if (largest->row_group_bounds[rg]) candidates.push_back(largest->row_group_bounds[rg]->first);
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::vector<std::string> out;
  const int parts = std::min<int>(wanted, static_cast<int>(candidates.size()) + 1);
  for (int p = 1; p < parts; ++p) {
    out.push_back(candidates[candidates.size() * p / parts]);
  }
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

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
                    std::vector<std::shared_ptr<OpenedFile>> files, ScanReaderOptions options,
                    std::vector<KeyBounds> ranges)
      : storage_(std::move(storage)),
        shape_(std::move(shape)),
        files_(std::move(files)),
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
    int64_t run_batch = std::clamp<int64_t>(kRunRowsBudget / std::max<int64_t>(1, std::ssize(files_)),
                                            std::min<int64_t>(8192, options_.batch_size), options_.batch_size);
    if (budget_run_batch_ > 0) run_batch = std::min(run_batch, budget_run_batch_);
    auto make = [this, run_batch](const KeyBounds& bounds) -> arrow::Result<std::unique_ptr<MergeReader>> {
      std::vector<std::unique_ptr<RunSource>> runs;
      for (const auto& f : files_) {
        ARROW_ASSIGN_OR_RAISE(auto run, RunSource::Make(*storage_, f, *shape_, bounds, run_batch, pre_buffer_));
        runs.push_back(std::move(run));
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
    const int64_t runs = std::ssize(files_);
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
      pages += PageFloor(*f);
      if (rows > 0) row_bytes = std::max(row_bytes, (bytes + rows - 1) / rows);
    }
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
  ScanReaderOptions options_;
  bool pre_buffer_ = true;
  int64_t budget_run_batch_ = 0;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::unique_ptr<Partition>> partitions_;
  size_t current_ = 0;
  bool started_ = false;
};

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
  if (options.memory_limit_bytes > 0 && options.threads > 1) {
    // Every thread's runs hold their pages whatever the batch size: fewer
    // threads when the pages of all would take more than half the budget.
    int64_t floor = 0;
    for (const auto& f : files) floor += PageFloor(*f);
    const int64_t fit = options.memory_limit_bytes / std::max<int64_t>(1, 2 * floor);
    options.threads = static_cast<int>(std::clamp<int64_t>(fit, 1, options.threads));
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
    for (const auto& s : SplitPoints(files, partitions)) {
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
                                             std::move(options), std::move(ranges));
}

}  // namespace bazof::read
