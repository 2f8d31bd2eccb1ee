// External sort of an append's rows (src/write/external_sort.h).
#include "write/external_sort.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/ipc/writer.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/compression.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <queue>
#include <unordered_map>

#include "bazof/error.h"
#include "read/key_codec.h"
#include "write/sort_rows.h"

namespace bazof::write {
namespace {

// Most rows in one run (sorted in memory at once).
constexpr int64_t kMaxRunRows = int64_t{1} << 31;
// Rows per batch a merge emits.
constexpr int64_t kMergeBatchRows = 64 * 1024;
// Spilled batches: big enough that per-batch costs (IPC metadata, codec
// frames, key encoding) stay small, small enough that a merge of many runs
// fits its share of the budget.
constexpr int64_t kMinSpillBatch = 64 * 1024;
constexpr int64_t kMaxSpillBatch = 1024 * 1024;
// Runs merged at once at most: each holds a file descriptor.
constexpr int64_t kMaxFanIn = 512;

arrow::Status SpillError(const std::string& dir, const arrow::Status& st) {
  return WithContext(st, "spill directory '" + dir + "': ");
}

}  // namespace

std::string SpillDirOrDefault(std::string dir) {
  if (!dir.empty()) return dir;
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

// Either way the file disappears when the last descriptor closes, whether
// the append succeeds, fails or the process is killed.
arrow::Result<int> OpenSpillFile(const std::string& dir) {
#ifdef O_TMPFILE
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return MakeError(ErrorKind::kIOError, "spill directory '" + dir + "': cannot create a file: " +
                                              std::strerror(errno));
  }
#endif
  std::string path = dir + "/bazof-spill-XXXXXX";
  int named = ::mkstemp(path.data());
  if (named < 0) {
    return MakeError(ErrorKind::kIOError,
                     "spill directory '" + dir + "': cannot create a file: " + std::strerror(errno));
  }
  ::unlink(path.c_str());
  return named;
}

SpillWriter::~SpillWriter() {
  if (out_ && !out_->closed()) (void)out_->Close();
}

// One descriptor while writing; Finish duplicates it for reading just
// before the writing stream closes its own.
arrow::Result<std::unique_ptr<SpillWriter>> SpillWriter::Open(const std::string& dir,
                                                              const std::shared_ptr<arrow::Schema>& schema,
                                                              arrow::Compression::type codec) {
  ARROW_ASSIGN_OR_RAISE(int fd, OpenSpillFile(dir));
  std::unique_ptr<SpillWriter> w(new SpillWriter());
  w->dir_ = dir;
  auto out = arrow::io::FileOutputStream::Open(fd);
  if (!out.ok()) {
    ::close(fd);
    return SpillError(dir, out.status());
  }
  w->out_ = *out;
  auto options = arrow::ipc::IpcWriteOptions::Defaults();
  // One thread: the writer's caller runs other work beside it, and pool
  // threads each keep a malloc arena of their own (RSS, docs/spec.md §22).
  options.use_threads = false;
  if (codec != arrow::Compression::UNCOMPRESSED) {
    auto made = arrow::util::Codec::Create(codec);
    if (!made.ok()) return SpillError(dir, made.status());
    options.codec = std::shared_ptr<arrow::util::Codec>(std::move(*made));
  }
  auto writer = arrow::ipc::MakeFileWriter(w->out_, schema, options);
  if (!writer.ok()) return SpillError(dir, writer.status());
  w->writer_ = *writer;
  return w;
}

arrow::Status SpillWriter::Write(const arrow::RecordBatch& batch) {
  auto st = writer_->WriteRecordBatch(batch);
  if (st.ok()) ++batches_;
  return st.ok() ? st : SpillError(dir_, st);
}

arrow::Result<SpilledRun> SpillWriter::Finish() {
  auto st = writer_->Close();
  if (!st.ok()) return SpillError(dir_, st);
  int read_fd = ::dup(out_->file_descriptor());
  if (read_fd < 0) {
    return MakeError(ErrorKind::kIOError, "spill directory '" + dir_ + "': dup: " + std::strerror(errno));
  }
  st = out_->Close();
  if (!st.ok()) {
    ::close(read_fd);
    return SpillError(dir_, st);
  }
  auto file = arrow::io::ReadableFile::Open(read_fd);
  if (!file.ok()) {
    ::close(read_fd);
    return SpillError(dir_, file.status());
  }
  ARROW_ASSIGN_OR_RAISE(auto size, (*file)->GetSize());
  auto read_options = arrow::ipc::IpcReadOptions::Defaults();
  read_options.use_threads = false;
  auto reader = arrow::ipc::RecordBatchFileReader::Open(*file, read_options);
  if (!reader.ok()) return SpillError(dir_, reader.status());
  return SpilledRun{*reader, size};
}

namespace {

using Run = SpilledRun;
using RunWriter = SpillWriter;

// A run being merged: its current batch with encoded keys.
struct Cursor {
  const Run* run = nullptr;
  size_t order = 0;  // the run's place in the input: earlier wins ties
  int next_batch = 0;
  std::shared_ptr<arrow::RecordBatch> batch;
  read::KeyCodes keys;
  const int64_t* times = nullptr;
  int64_t row = 0;
};

// (key, event time, run order): a strict order, so ties go to the earlier run.
bool Before(const Cursor& a, int64_t ra, const Cursor& b, int64_t rb) {
  const int c = a.keys.views[ra].compare(b.keys.views[rb]);
  if (c != 0) return c < 0;
  if (a.times[ra] != b.times[rb]) return a.times[ra] < b.times[rb];
  return a.order < b.order;
}

// Rows picked for one output batch, gathered with one Take.
class Gatherer {
 public:
  explicit Gatherer(std::shared_ptr<arrow::Schema> schema) : schema_(std::move(schema)) {}

  size_t sources() const { return sources_.size(); }
  int64_t rows() const { return static_cast<int64_t>(refs_.size()); }

  // A cursor consumes its batch's rows in order, so the rows taken from one
  // batch form one growing stretch: one source per batch, however the
  // cursors interleave (shuffled input alternates runs nearly every row).
  void Add(const std::shared_ptr<arrow::RecordBatch>& batch, int64_t begin, int64_t end) {
    auto [it, added] = index_.try_emplace(batch.get(), sources_.size());
    if (added) sources_.push_back(Source{batch, begin, end});
    Source& s = sources_[it->second];
    s.begin = std::min(s.begin, begin);
    s.end = std::max(s.end, end);
    for (int64_t r = begin; r < end; ++r) refs_.push_back({it->second, r});
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Finish() {
    // Sources of one batch may repeat (a cursor's batch interleaved with
    // others); each repeat is its own slice, which Take handles alike.
    arrow::RecordBatchVector slices;
    std::vector<int64_t> base(sources_.size());
    int64_t next = 0;
    bool contiguous = true;
    for (size_t i = 0; i < sources_.size(); ++i) {
      const Source& s = sources_[i];
      slices.push_back(s.batch->Slice(s.begin, s.end - s.begin));
      base[i] = next - s.begin;
      next += s.end - s.begin;
    }
    std::vector<int64_t> idx(refs_.size());
    for (size_t i = 0; i < refs_.size(); ++i) {
      idx[i] = base[refs_[i].first] + refs_[i].second;
      contiguous = contiguous && idx[i] == static_cast<int64_t>(i);
    }
    std::shared_ptr<arrow::RecordBatch> out;
    if (contiguous && next == static_cast<int64_t>(idx.size())) {
      // Each source contributed one whole stretch, in order: no gather.
      ARROW_ASSIGN_OR_RAISE(auto t, arrow::Table::FromRecordBatches(schema_, slices));
      ARROW_ASSIGN_OR_RAISE(out, t->CombineChunksToBatch());
    } else {
      ARROW_ASSIGN_OR_RAISE(auto t, arrow::Table::FromRecordBatches(schema_, slices));
      auto indices = std::make_shared<arrow::Int64Array>(static_cast<int64_t>(idx.size()), arrow::Buffer::Wrap(idx));
      ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(t, indices));
      ARROW_ASSIGN_OR_RAISE(out, taken.table()->CombineChunksToBatch());
    }
    sources_.clear();
    index_.clear();
    refs_.clear();
    return out;
  }

 private:
  struct Source {
    std::shared_ptr<arrow::RecordBatch> batch;
    int64_t begin, end;
  };
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<Source> sources_;
  std::unordered_map<const arrow::RecordBatch*, size_t> index_;
  std::vector<std::pair<size_t, int64_t>> refs_;
};

}  // namespace

arrow::Result<SortLimits> LimitsForBudget(int64_t memory_limit, std::string spill_dir) {
  SortLimits l;
  l.run_bytes = std::max<int64_t>(1, memory_limit / 4);
  l.batch_bytes = std::clamp<int64_t>(memory_limit / 1024, kMinSpillBatch, kMaxSpillBatch);
  l.fan_in = static_cast<int>(std::clamp<int64_t>(memory_limit / 2 / (3 * l.batch_bytes), 2, kMaxFanIn));
  l.release_bytes = std::max<int64_t>(1, memory_limit / 16);
  l.spill_dir = SpillDirOrDefault(std::move(spill_dir));
  if (const char* env = std::getenv("BAZOF_SPILL_CODEC"); env && *env) {
    const std::string name = env;
    if (name == "lz4") {
      l.codec = arrow::Compression::LZ4_FRAME;
    } else if (name == "zstd") {
      l.codec = arrow::Compression::ZSTD;
    } else if (name == "none") {
      l.codec = arrow::Compression::UNCOMPRESSED;
    } else {
      return InvalidArgument("BAZOF_SPILL_CODEC '", name, "': expected lz4, zstd or none");
    }
  }
  return l;
}

struct ExternalSorter::Impl {
  std::shared_ptr<arrow::Schema> schema;
  size_t num_keys = 0;
  read::KeyCodec codec;
  SortLimits limits;
  arrow::RecordBatchVector pending;
  int64_t pending_bytes = 0;
  int64_t pending_rows = 0;
  std::vector<Run> runs;
  int64_t spilled_bytes = 0;
  int64_t spilled_runs = 0;
  int64_t merge_passes = 0;
  int64_t merged_since_release = 0;

  explicit Impl(read::KeyCodec c) : codec(std::move(c)) {}

  // Sorts the pending rows and emits them in batches of `step` rows (0: of
  // the spill batch size), each gathered from the input column by column
  // (no sorted copy of the whole run is ever made).
  arrow::Status SortPending(int64_t step, const Sink& sink) {
    ARROW_ASSIGN_OR_RAISE(auto batch, CombinePending());
    // The input's batches, now copied, are freed in pieces the sort's
    // large arrays do not reuse: give them back first.
    if (limits.release_bytes > 0) arrow::default_memory_pool()->ReleaseUnused();
    ARROW_ASSIGN_OR_RAISE(auto order, SortOrder(*batch, num_keys));
    if (step <= 0) step = BatchRows(*batch);
    for (int64_t off = 0; off < batch->num_rows(); off += step) {
      const int64_t end = std::min(batch->num_rows(), off + step);
      std::shared_ptr<arrow::RecordBatch> part;
      if (order) {
        ARROW_ASSIGN_OR_RAISE(part, GatherRows(batch, *order, off, end));
      } else {
        part = batch->Slice(off, end - off);
      }
      ARROW_RETURN_NOT_OK(sink(part));
    }
    return arrow::Status::OK();
  }

  // The pending rows as one contiguous batch (the gather then reads one
  // array per column), emptying `pending`. Copied column by column, each
  // column's input chunks dropped once copied: at most the rows plus one
  // column are held twice, not all of them.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> CombinePending() {
    const int64_t rows = pending_rows;
    std::shared_ptr<arrow::RecordBatch> one;
    if (pending.size() == 1) one = std::move(pending.front());
    std::vector<arrow::ArrayVector> chunks(static_cast<size_t>(schema->num_fields()));
    if (!one) {
      for (auto& b : pending) {
        for (int c = 0; c < b->num_columns(); ++c) chunks[static_cast<size_t>(c)].push_back(b->column(c));
      }
    }
    pending.clear();
    pending_bytes = 0;
    pending_rows = 0;
    if (one) return one;
    arrow::ArrayVector columns;
    for (auto& parts : chunks) {
      ARROW_ASSIGN_OR_RAISE(auto column, arrow::Concatenate(parts));
      parts.clear();
      columns.push_back(std::move(column));
    }
    return arrow::RecordBatch::Make(schema, rows, std::move(columns));
  }

  int64_t BatchRows(const arrow::RecordBatch& b) const {
    const int64_t bytes = std::max<int64_t>(1, arrow::util::ReferencedBufferSize(b).ValueOr(0));
    const int64_t per_row = std::max<int64_t>(1, bytes / std::max<int64_t>(1, b.num_rows()));
    return std::max<int64_t>(1, limits.batch_bytes / per_row);
  }

  arrow::Status SpillPending() {
    if (pending.empty()) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto w, RunWriter::Open(limits.spill_dir, schema, limits.codec));
    ARROW_RETURN_NOT_OK(SortPending(0, [&](const std::shared_ptr<arrow::RecordBatch>& b) { return w->Write(*b); }));
    ARROW_ASSIGN_OR_RAISE(auto run, w->Finish());
    spilled_bytes += run.bytes;
    ++spilled_runs;
    runs.push_back(std::move(run));
    // The run's rows, keys and sort order are freed; without this the system
    // allocator keeps them, and the process grows past the budget
    // (bench/results/RESULTS.md, branch `spill2`).
    if (limits.release_bytes > 0) arrow::default_memory_pool()->ReleaseUnused();
    return arrow::Status::OK();
  }

  // Counts rows read or merged toward the next ReleaseUnused.
  void CountTowardRelease(const arrow::RecordBatch& b) {
    if (limits.release_bytes <= 0) return;
    merged_since_release += arrow::util::TotalBufferSize(b);
    if (merged_since_release >= limits.release_bytes) {
      arrow::default_memory_pool()->ReleaseUnused();
      merged_since_release = 0;
    }
  }

  arrow::Status Load(Cursor* c) {
    c->batch.reset();
    while (c->next_batch < c->run->reader->num_record_batches()) {
      auto b = c->run->reader->ReadRecordBatch(c->next_batch++);
      if (!b.ok()) return SpillError(limits.spill_dir, b.status());
      if ((*b)->num_rows() == 0) continue;
      c->batch = *b;
      std::vector<std::shared_ptr<arrow::Array>> key_cols;
      for (size_t k = 0; k < num_keys; ++k) key_cols.push_back(c->batch->column(static_cast<int>(k)));
      ARROW_RETURN_NOT_OK(codec.Encode(key_cols, &c->keys));
      c->times = c->batch->column_data(static_cast<int>(num_keys))->GetValues<int64_t>(1);
      c->row = 0;
      return arrow::Status::OK();
    }
    return arrow::Status::OK();
  }

  // Merges runs [first, last) into `sink`, batch by batch.
  arrow::Status Merge(size_t first, size_t last, int64_t out_rows, const Sink& sink) {
    std::vector<Cursor> cursors(last - first);
    auto after = [&](size_t a, size_t b) {  // heap order: the least on top
      return Before(cursors[b], cursors[b].row, cursors[a], cursors[a].row);
    };
    std::priority_queue<size_t, std::vector<size_t>, decltype(after)> heap(after);
    for (size_t i = 0; i < cursors.size(); ++i) {
      cursors[i].run = &runs[first + i];
      cursors[i].order = i;
      ARROW_RETURN_NOT_OK(Load(&cursors[i]));
      if (cursors[i].batch) heap.push(i);
    }
    Gatherer out(schema);
    const size_t max_sources = 2 * cursors.size() + 2;
    while (!heap.empty()) {
      const size_t top = heap.top();
      heap.pop();
      Cursor& c = cursors[top];
      // Take the rows of this cursor's batch that come before every other
      // cursor's next row (a stretch, for sorted or clustered input).
      int64_t end = c.row + 1;
      const int64_t limit = std::min<int64_t>(c.batch->num_rows(), c.row + out_rows - out.rows());
      if (heap.empty()) {
        end = limit;
      } else {
        const Cursor& next = cursors[heap.top()];
        while (end < limit && Before(c, end, next, next.row)) ++end;
      }
      out.Add(c.batch, c.row, end);
      c.row = end;
      if (c.row == c.batch->num_rows()) ARROW_RETURN_NOT_OK(Load(&c));
      if (c.batch) heap.push(top);
      if (out.rows() >= out_rows || out.sources() >= max_sources) {
        ARROW_ASSIGN_OR_RAISE(auto b, out.Finish());
        ARROW_RETURN_NOT_OK(sink(b));
        CountTowardRelease(*b);
      }
    }
    if (out.rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(auto b, out.Finish());
      ARROW_RETURN_NOT_OK(sink(b));
    }
    return arrow::Status::OK();
  }
};

ExternalSorter::ExternalSorter() = default;
ExternalSorter::~ExternalSorter() = default;

arrow::Result<std::unique_ptr<ExternalSorter>> ExternalSorter::Make(std::shared_ptr<arrow::Schema> schema,
                                                                    const std::vector<ColumnSpec>& key_columns,
                                                                    SortLimits limits) {
  std::vector<std::shared_ptr<arrow::DataType>> types;
  for (const auto& k : key_columns) types.push_back(k.type);
  ARROW_ASSIGN_OR_RAISE(auto codec, read::KeyCodec::Make(std::move(types)));
  std::unique_ptr<ExternalSorter> s(new ExternalSorter());
  s->impl_ = std::make_unique<Impl>(std::move(codec));
  s->impl_->schema = std::move(schema);
  s->impl_->num_keys = key_columns.size();
  limits.fan_in = std::max(2, limits.fan_in);
  limits.run_bytes = std::max<int64_t>(1, limits.run_bytes);
  limits.batch_bytes = std::max<int64_t>(1, limits.batch_bytes);
  s->impl_->limits = std::move(limits);
  return s;
}

arrow::Status ExternalSorter::Add(std::shared_ptr<arrow::RecordBatch> batch) {
  const int64_t rows = batch->num_rows();
  if (rows == 0) return arrow::Status::OK();
  // The bytes the rows reference (a slice counts its part of the buffers):
  // a large input cut into slices is not counted whole for each slice.
  ARROW_ASSIGN_OR_RAISE(const int64_t bytes, arrow::util::ReferencedBufferSize(*batch));
  const int64_t run_bytes = impl_->limits.run_bytes;
  // A batch larger than a run is cut into run-sized slices, so runs have the
  // size the budget gives them whatever the reader's batch size.
  const int64_t per_row = std::max<int64_t>(1, bytes / rows);
  const int64_t step = bytes > run_bytes ? std::max<int64_t>(1, run_bytes / per_row) : rows;
  // What the input reader freed while making these rows goes back too.
  impl_->CountTowardRelease(*batch);
  for (int64_t off = 0; off < rows; off += step) {
    const int64_t n = std::min(step, rows - off);
    impl_->pending.push_back(step == rows ? batch : batch->Slice(off, n));
    impl_->pending_bytes += step == rows ? bytes : n * per_row;
    impl_->pending_rows += n;
    // A run's rows are numbered in 32 bits (SortOrder, write/sort_rows.h).
    if (impl_->pending_bytes >= run_bytes || impl_->pending_rows >= kMaxRunRows) {
      ARROW_RETURN_NOT_OK(impl_->SpillPending());
    }
  }
  return arrow::Status::OK();
}

arrow::Status ExternalSorter::Finish(const Sink& sink) {
  if (impl_->runs.empty()) {
    if (impl_->pending.empty()) return arrow::Status::OK();
    return impl_->SortPending(kMergeBatchRows, sink);
  }
  ARROW_RETURN_NOT_OK(impl_->SpillPending());
  // Merge consecutive groups of fan_in runs into one run each, in place, so
  // run order (input order) is kept, until one pass is left.
  auto& runs = impl_->runs;
  const size_t fan_in = static_cast<size_t>(impl_->limits.fan_in);
  while (runs.size() > fan_in) {
    ++impl_->merge_passes;
    std::vector<Run> merged;
    for (size_t first = 0; first < runs.size(); first += fan_in) {
      const size_t last = std::min(runs.size(), first + fan_in);
      if (last - first == 1) {
        merged.push_back(std::move(runs[first]));
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto w, RunWriter::Open(impl_->limits.spill_dir, impl_->schema, impl_->limits.codec));
      // Batches of the spill size, as the input's runs have, so that the
      // next pass holds as little per run.
      ARROW_RETURN_NOT_OK(impl_->Merge(first, last, kMergeBatchRows, [&](const std::shared_ptr<arrow::RecordBatch>& b) {
        const int64_t step = impl_->BatchRows(*b);
        for (int64_t off = 0; off < b->num_rows(); off += step) {
          ARROW_RETURN_NOT_OK(w->Write(*b->Slice(off, std::min(step, b->num_rows() - off))));
        }
        return arrow::Status::OK();
      }));
      ARROW_ASSIGN_OR_RAISE(auto run, w->Finish());
      impl_->spilled_bytes += run.bytes;
      // The merged runs' files close (and vanish) as they are dropped.
      for (size_t i = first; i < last; ++i) runs[i] = Run{};
      merged.push_back(std::move(run));
    }
    runs = std::move(merged);
  }
  ++impl_->merge_passes;
  return impl_->Merge(0, runs.size(), kMergeBatchRows, sink);
}

int64_t ExternalSorter::spilled_runs() const { return impl_->spilled_runs; }
int64_t ExternalSorter::spilled_bytes() const { return impl_->spilled_bytes; }
int64_t ExternalSorter::merge_passes() const { return impl_->merge_passes; }

}  // namespace bazof::write
