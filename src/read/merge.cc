#include "read/merge.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "compute_init.h"

namespace bazof::read {

namespace {

// An encoded key with its first 8 bytes as a big-endian integer (zero
// padded), so most comparisons are one integer comparison.
struct KeyRef {
  std::string_view view;
  uint64_t prefix = 0;

  static KeyRef Of(std::string_view v) {
    uint64_t p = 0;
    if (v.size() >= 8) {
      std::memcpy(&p, v.data(), 8);
    } else if (!v.empty()) {  // an empty view's data() may be null
      std::memcpy(&p, v.data(), v.size());
    }
    if constexpr (std::endian::native == std::endian::little) p = __builtin_bswap64(p);
    return KeyRef{v, p};
  }
  // memcmp order of the views.
  bool operator<(const KeyRef& o) const {
    if (prefix != o.prefix) return prefix < o.prefix;
    if (view.size() <= 8 && o.view.size() <= 8) return view.size() < o.view.size();
    return view < o.view;
  }
  bool operator==(const KeyRef& o) const {
    if (prefix != o.prefix) return false;
    if (view.size() <= 8 || o.view.size() <= 8) return view.size() == o.view.size();
    return view == o.view;
  }
};

struct Cursor {
  std::unique_ptr<RunSource> source;
  std::shared_ptr<RunBatch> batch;
  int64_t row = 0;
  KeyRef current;  // the key at row, while batch is not null

  const KeyRef& key() const { return current; }
  // Positions on the batch's first row (batch may be null: the end).
  void Load(std::shared_ptr<RunBatch> b) {
    batch = std::move(b);
    row = batch ? batch->begin : 0;
    if (batch) current = KeyRef::Of(batch->keys.views[row]);
  }
  // Moves to the next row, loading the next batch when needed; batch becomes
  // null at the end of the run.
  arrow::Status Advance() {
    if (++row < batch->end) {
      current = KeyRef::Of(batch->keys.views[row]);
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(auto next, source->Next());
    Load(std::move(next));
    return arrow::Status::OK();
  }
};

// Gathers the selected rows into output columns. Rows are recorded as indices
// into the source batches they come from and gathered column by column with
// one Take per output batch (vectorized, no per-row virtual calls). Source
// batches are held until then, at most max_sources at a time: past that, the
// rows so far are gathered into a piece and the batches released, so memory
// stays bounded however many source rows one output batch spans.
class OutputAssembler {
 public:
  // with_meta: the last two fields of `schema` are the tombstone flag and
  // the committing version, taken from RunBatch::IsDeleted / VersionOf
  // rather than from the batch's columns.
  OutputAssembler(std::shared_ptr<arrow::Schema> schema, bool with_meta)
      : schema_(std::move(schema)), with_meta_(with_meta) {}

  arrow::Status Init(size_t num_runs) {
    ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
    num_columns_ = schema_->num_fields() - (with_meta_ ? 2 : 0);
    max_sources_ = 2 * num_runs + 2;
    return arrow::Status::OK();
  }

  arrow::Status Add(const std::shared_ptr<RunBatch>& batch, int64_t row) {
    if (with_meta_) {
      ARROW_RETURN_NOT_OK(deleted_.Append(batch->IsDeleted(row)));
      ARROW_RETURN_NOT_OK(versions_.Append(batch->VersionOf(row)));
    }
    if (batch.get() != last_) {
      // A cursor's batches arrive in order, so the batch is new or recent.
      auto it = std::find_if(sources_.rbegin(), sources_.rend(),
                             [&](const Source& s) { return s.batch.get() == batch.get(); });
      if (it != sources_.rend()) {
        last_source_ = static_cast<int32_t>(sources_.rend() - it) - 1;
      } else {
        if (sources_.size() >= max_sources_) ARROW_RETURN_NOT_OK(Gather());
        sources_.push_back(Source{batch, next_base_, row, row});
        last_source_ = static_cast<int32_t>(sources_.size()) - 1;
        next_base_ += batch->batch->num_rows();
      }
      last_ = batch.get();
    }
    Source& src = sources_[last_source_];
    src.min_row = std::min(src.min_row, row);
    src.max_row = std::max(src.max_row, row);
    indices_.push_back(src.base + row);
    source_of_.push_back(last_source_);
    ++rows_;
    return arrow::Status::OK();
  }

  int64_t rows() const { return rows_; }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Finish() {
    ARROW_RETURN_NOT_OK(Gather());
    std::vector<std::shared_ptr<arrow::Array>> cols;
    for (int c = 0; c < num_columns_; ++c) {
      if (pieces_.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto a, arrow::MakeEmptyArray(schema_->field(c)->type()));
        cols.push_back(std::move(a));
      } else if (pieces_.size() == 1) {
        cols.push_back(pieces_[0][c]);
      } else {
        arrow::ArrayVector parts;
        for (const auto& p : pieces_) parts.push_back(p[c]);
        ARROW_ASSIGN_OR_RAISE(auto a, arrow::Concatenate(parts));
        cols.push_back(std::move(a));
      }
    }
    if (with_meta_) {
      ARROW_ASSIGN_OR_RAISE(auto d, deleted_.Finish());
      cols.push_back(std::move(d));
      ARROW_ASSIGN_OR_RAISE(auto v, versions_.Finish());
      cols.push_back(std::move(v));
    }
    auto out = arrow::RecordBatch::Make(schema_, rows_, std::move(cols));
    pieces_.clear();
    rows_ = 0;
    return out;
  }

 private:
  struct Source {
    std::shared_ptr<RunBatch> batch;
    int64_t base;  // index of its first row among all sources' rows
    int64_t min_row, max_row;  // the rows taken from it lie in [min_row, max_row]
  };

  // Takes the recorded rows from the held sources into a new piece.
  arrow::Status Gather() {
    if (indices_.empty()) {
      source_of_.clear();
      sources_.clear();
      last_ = nullptr;
      next_base_ = 0;
      return arrow::Status::OK();
    }
    // Only the row range each source contributes is handed to Take: a
    // chunked Take may concatenate its chunks, and whole source batches
    // would make that many times the rows taken.
    std::vector<int64_t> shift(sources_.size());
    int64_t sliced_base = 0;
    for (size_t i = 0; i < sources_.size(); ++i) {
      const Source& s = sources_[i];
      shift[i] = sliced_base - s.base - s.min_row;
      sliced_base += s.max_row - s.min_row + 1;
    }
    for (size_t r = 0; r < indices_.size(); ++r) indices_[r] += shift[source_of_[r]];
    auto indices = std::make_shared<arrow::Int64Array>(static_cast<int64_t>(indices_.size()),
                                                       arrow::Buffer::Wrap(indices_));
    auto slice = [](const Source& s, int c) {
      return s.batch->batch->column(c)->Slice(s.min_row, s.max_row - s.min_row + 1);
    };
    std::vector<std::shared_ptr<arrow::Array>> piece;
    for (int c = 0; c < num_columns_; ++c) {
      std::shared_ptr<arrow::Array> taken;
      if (sources_.size() == 1) {
        ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Take(slice(sources_[0], c), indices));
        taken = d.make_array();
      } else {
        arrow::ArrayVector chunks;
        for (const auto& s : sources_) chunks.push_back(slice(s, c));
        auto values = std::make_shared<arrow::ChunkedArray>(std::move(chunks), schema_->field(c)->type());
        ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Take(values, indices));
        const auto& ca = d.chunked_array();
        if (ca->num_chunks() == 1) {
          taken = ca->chunk(0);
        } else {
          ARROW_ASSIGN_OR_RAISE(taken, arrow::Concatenate(ca->chunks()));
        }
      }
      piece.push_back(std::move(taken));
    }
    pieces_.push_back(std::move(piece));
    sources_.clear();
    indices_.clear();
    source_of_.clear();
    last_ = nullptr;
    next_base_ = 0;
    return arrow::Status::OK();
  }

  std::shared_ptr<arrow::Schema> schema_;
  bool with_meta_;
  int num_columns_ = 0;
  size_t max_sources_ = 4;
  arrow::BooleanBuilder deleted_;
  arrow::Int64Builder versions_;
  std::vector<Source> sources_;
  std::vector<int64_t> indices_;
  std::vector<int32_t> source_of_;  // per index: its source in sources_
  std::vector<std::vector<std::shared_ptr<arrow::Array>>> pieces_;
  const RunBatch* last_ = nullptr;
  int32_t last_source_ = 0;
  int64_t next_base_ = 0;
  int64_t rows_ = 0;
};

}  // namespace

struct MergeReader::Impl {
  std::vector<Cursor> cursors;
  // Tree of losers over the cursors (padded to a power of two with cursors
  // that are always exhausted): tree[0] is the cursor with the smallest key,
  // tree[n] for n >= 1 the loser of the match at internal node n. Replacing
  // the winner costs one comparison per level (log2 k), half a binary heap's
  // pop plus push.
  std::vector<int> tree;
  int leaves = 1;
  EventTime as_of;
  std::vector<std::string> key_in;  // sorted; empty = all
  size_t key_in_pos = 0;
  int64_t batch_size;
  MergeMode mode;
  OutputAssembler out;
  bool started = false;
  // kAllEvents: the rows of the current key, gathered from every run.
  struct Event {
    int64_t time;
    int64_t rank;
    std::shared_ptr<RunBatch> batch;
    int64_t row;
  };
  std::vector<Event> events;

  Impl(std::shared_ptr<arrow::Schema> schema, EventTime t, std::vector<std::string> keys, int64_t bs,
       MergeMode m)
      : as_of(t),
        key_in(std::move(keys)),
        batch_size(bs),
        mode(m),
        out(std::move(schema), m == MergeMode::kAllEvents) {}

  bool Exhausted(int i) const {
    return i >= static_cast<int>(cursors.size()) || cursors[i].batch == nullptr;
  }
  // Whether cursor a goes before cursor b: smaller key; exhausted last.
  bool Before(int a, int b) const {
    if (Exhausted(a)) return false;
    if (Exhausted(b)) return true;
    return cursors[a].key() < cursors[b].key();
  }
  bool Done() const { return Exhausted(tree[0]); }
  // Builds the tree from every cursor's current row.
  void BuildTree() {
    leaves = 1;
    while (leaves < static_cast<int>(cursors.size())) leaves *= 2;
    tree.assign(leaves, 0);
    std::vector<int> winner(2 * leaves);
    for (int i = 0; i < leaves; ++i) winner[leaves + i] = i;
    for (int n = leaves - 1; n >= 1; --n) {
      const int l = winner[2 * n], r = winner[2 * n + 1];
      const bool left_wins = !Before(r, l);
      winner[n] = left_wins ? l : r;
      tree[n] = left_wins ? r : l;
    }
    tree[0] = winner[1];
  }
  // Cursor i (the winner) moved: replays its matches up to the root.
  void Replay(int i) {
    int w = i;
    for (int n = (i + leaves) / 2; n >= 1; n /= 2) {
      if (Before(tree[n], w)) std::swap(tree[n], w);
    }
    tree[0] = w;
  }

  arrow::Status Start() {
    started = true;
    ARROW_RETURN_NOT_OK(out.Init(cursors.size()));
    for (size_t i = 0; i < cursors.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto first, cursors[i].source->Next());
      cursors[i].Load(std::move(first));
    }
    BuildTree();
    return arrow::Status::OK();
  }

  bool Wanted(std::string_view key) {
    if (key_in.empty()) return true;
    // Keys arrive in ascending order, so a moving pointer suffices.
    while (key_in_pos < key_in.size() && std::string_view(key_in[key_in_pos]) < key) ++key_in_pos;
    return key_in_pos < key_in.size() && std::string_view(key_in[key_in_pos]) == key;
  }

  // Consumes every row of the smallest key; appends the winner if any.
  arrow::Status Step() { return mode == MergeMode::kAsOf ? StepAsOf() : StepAllEvents(); }

  arrow::Status StepAsOf() {
    const int first = tree[0];
    // The key's bytes may live in a batch that its cursor is about to leave.
    std::shared_ptr<RunBatch> key_owner = cursors[first].batch;
    const KeyRef key = cursors[first].key();
    const bool wanted = Wanted(key.view);

    std::shared_ptr<RunBatch> best_batch;
    int64_t best_row = 0, best_time = 0, best_rank = 0;
    const int64_t t = as_of.micros();
    int ci = first;
    while (true) {
      Cursor& c = cursors[ci];
      const int64_t rank = c.source->rank();
      while (c.batch && c.key() == key) {
        const int64_t et = c.batch->event_micros[c.row];
        // Within a run, rows of a key ascend in event time and a later row
        // wins a tie, hence ">=" on (time, rank) for the same run.
        if (wanted && et <= t &&
            (!best_batch || et > best_time || (et == best_time && rank >= best_rank))) {
          best_batch = c.batch;
          best_row = c.row;
          best_time = et;
          best_rank = rank;
        }
        ARROW_RETURN_NOT_OK(c.Advance());
      }
      Replay(ci);
      ci = tree[0];
      if (Exhausted(ci) || cursors[ci].key() != key) break;
    }
    if (best_batch && !best_batch->IsDeleted(best_row)) {
      ARROW_RETURN_NOT_OK(out.Add(best_batch, best_row));
    }
    return arrow::Status::OK();
  }

  // Consumes every row of the smallest key; appends, per event time, the row
  // that wins ties there.
  arrow::Status StepAllEvents() {
    const int first = tree[0];
    std::shared_ptr<RunBatch> key_owner = cursors[first].batch;
    const KeyRef key = cursors[first].key();
    const bool wanted = Wanted(key.view);
    const int64_t t = as_of.micros();
    events.clear();
    int ci = first;
    while (true) {
      Cursor& c = cursors[ci];
      const int64_t rank = c.source->rank();
      while (c.batch && c.key() == key) {
        const int64_t et = c.batch->event_micros[c.row];
        if (wanted && et <= t) events.push_back(Event{et, rank, c.batch, c.row});
        ARROW_RETURN_NOT_OK(c.Advance());
      }
      Replay(ci);
      ci = tree[0];
      if (Exhausted(ci) || cursors[ci].key() != key) break;
    }
    // Each run's rows are in (time, row) order, so a stable sort on (time,
    // rank) leaves every tie group ordered by rank, then row: its last row wins.
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      return a.time != b.time ? a.time < b.time : a.rank < b.rank;
    });
    for (size_t i = 0; i < events.size(); ++i) {
      if (i + 1 < events.size() && events[i + 1].time == events[i].time) continue;
      ARROW_RETURN_NOT_OK(out.Add(events[i].batch, events[i].row));
    }
    events.clear();
    return arrow::Status::OK();
  }
};

MergeReader::MergeReader(std::vector<std::unique_ptr<RunSource>> runs,
                         std::shared_ptr<arrow::Schema> schema, EventTime as_of,
                         std::vector<std::string> key_in, int64_t batch_size, MergeMode mode)
    : impl_(std::make_unique<Impl>(std::move(schema), as_of, std::move(key_in), batch_size, mode)) {
  for (auto& r : runs) impl_->cursors.push_back(Cursor{std::move(r), nullptr, 0});
}

MergeReader::~MergeReader() = default;

arrow::Result<std::shared_ptr<arrow::RecordBatch>> MergeReader::Next() {
  if (!impl_->started) ARROW_RETURN_NOT_OK(impl_->Start());
  while (!impl_->Done() && impl_->out.rows() < impl_->batch_size) {
    ARROW_RETURN_NOT_OK(impl_->Step());
  }
  if (impl_->out.rows() == 0) return nullptr;
  return impl_->out.Finish();
}

}  // namespace bazof::read
