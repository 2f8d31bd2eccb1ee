#include "read/merge.h"

#include <arrow/api.h>

#include <algorithm>

namespace bazof::read {

namespace {

struct Cursor {
  std::unique_ptr<RunSource> source;
  std::shared_ptr<RunBatch> batch;
  int64_t row = 0;

  std::string_view key() const { return batch->keys.views[row]; }
  // Moves to the next row, loading the next batch when needed; batch becomes
  // null at the end of the run.
  arrow::Status Advance() {
    if (++row < batch->end) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(batch, source->Next());
    row = batch ? batch->begin : 0;
    return arrow::Status::OK();
  }
};

// Appends selected rows to per-column builders, coalescing consecutive rows of
// the same batch into one slice append.
class OutputAssembler {
 public:
  // with_meta: the last two fields of `schema` are the tombstone flag and
  // the committing version, taken from RunBatch::IsDeleted / VersionOf
  // rather than from the batch's columns.
  OutputAssembler(std::shared_ptr<arrow::Schema> schema, bool with_meta)
      : schema_(std::move(schema)), with_meta_(with_meta) {}

  arrow::Status Init() {
    const int n = schema_->num_fields() - (with_meta_ ? 2 : 0);
    for (int i = 0; i < n; ++i) {
      const auto& f = schema_->field(i);
      ARROW_ASSIGN_OR_RAISE(auto b, arrow::MakeBuilder(f->type()));
      builders_.push_back(std::move(b));
    }
    return arrow::Status::OK();
  }

  arrow::Status Add(const std::shared_ptr<RunBatch>& batch, int64_t row) {
    if (with_meta_) {
      ARROW_RETURN_NOT_OK(deleted_.Append(batch->IsDeleted(row)));
      ARROW_RETURN_NOT_OK(versions_.Append(batch->VersionOf(row)));
    }
    if (pending_ && pending_.get() == batch.get() && pending_start_ + pending_len_ == row) {
      ++pending_len_;
    } else {
      ARROW_RETURN_NOT_OK(FlushPending());
      pending_ = batch;
      pending_start_ = row;
      pending_len_ = 1;
    }
    ++rows_;
    return arrow::Status::OK();
  }

  int64_t rows() const { return rows_; }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Finish() {
    ARROW_RETURN_NOT_OK(FlushPending());
    std::vector<std::shared_ptr<arrow::Array>> cols;
    for (auto& b : builders_) {
      ARROW_ASSIGN_OR_RAISE(auto a, b->Finish());
      cols.push_back(std::move(a));
    }
    if (with_meta_) {
      ARROW_ASSIGN_OR_RAISE(auto d, deleted_.Finish());
      cols.push_back(std::move(d));
      ARROW_ASSIGN_OR_RAISE(auto v, versions_.Finish());
      cols.push_back(std::move(v));
    }
    auto out = arrow::RecordBatch::Make(schema_, rows_, std::move(cols));
    rows_ = 0;
    return out;
  }

 private:
  arrow::Status FlushPending() {
    if (!pending_) return arrow::Status::OK();
    const auto& rb = *pending_->batch;
    for (int c = 0; c < rb.num_columns(); ++c) {
      arrow::ArraySpan span(*rb.column_data(c));
      ARROW_RETURN_NOT_OK(builders_[c]->AppendArraySlice(span, pending_start_, pending_len_));
    }
    pending_.reset();
    return arrow::Status::OK();
  }

  std::shared_ptr<arrow::Schema> schema_;
  bool with_meta_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
  arrow::BooleanBuilder deleted_;
  arrow::Int64Builder versions_;
  std::shared_ptr<RunBatch> pending_;
  int64_t pending_start_ = 0, pending_len_ = 0;
  int64_t rows_ = 0;
};

}  // namespace

struct MergeReader::Impl {
  std::vector<Cursor> cursors;
  std::vector<int> heap;  // indices of live cursors; min-heap on key
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

  // Heap ordered so the smallest key is on top.
  bool Greater(int a, int b) const { return cursors[a].key() > cursors[b].key(); }
  void PushHeap(int i) {
    heap.push_back(i);
    std::push_heap(heap.begin(), heap.end(), [this](int a, int b) { return Greater(a, b); });
  }
  int PopHeap() {
    std::pop_heap(heap.begin(), heap.end(), [this](int a, int b) { return Greater(a, b); });
    int i = heap.back();
    heap.pop_back();
    return i;
  }

  arrow::Status Start() {
    started = true;
    ARROW_RETURN_NOT_OK(out.Init());
    for (size_t i = 0; i < cursors.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(cursors[i].batch, cursors[i].source->Next());
      if (cursors[i].batch) {
        cursors[i].row = cursors[i].batch->begin;
        PushHeap(static_cast<int>(i));
      }
    }
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
    int first = PopHeap();
    // The key's bytes may live in a batch that its cursor is about to leave.
    std::shared_ptr<RunBatch> key_owner = cursors[first].batch;
    std::string_view key = cursors[first].key();
    const bool wanted = Wanted(key);

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
      if (c.batch) PushHeap(ci);
      if (heap.empty() || cursors[heap.front()].key() != key) break;
      ci = PopHeap();
    }
    if (best_batch && !best_batch->IsDeleted(best_row)) {
      ARROW_RETURN_NOT_OK(out.Add(best_batch, best_row));
    }
    return arrow::Status::OK();
  }

  // Consumes every row of the smallest key; appends, per event time, the row
  // that wins ties there.
  arrow::Status StepAllEvents() {
    int first = PopHeap();
    std::shared_ptr<RunBatch> key_owner = cursors[first].batch;
    std::string_view key = cursors[first].key();
    const bool wanted = Wanted(key);
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
      if (c.batch) PushHeap(ci);
      if (heap.empty() || cursors[heap.front()].key() != key) break;
      ci = PopHeap();
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
  while (!impl_->heap.empty() && impl_->out.rows() < impl_->batch_size) {
    ARROW_RETURN_NOT_OK(impl_->Step());
  }
  if (impl_->out.rows() == 0) return nullptr;
  return impl_->out.Finish();
}

}  // namespace bazof::read
