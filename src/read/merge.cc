#include "read/merge.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/bitmap_ops.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>

#include "compute_init.h"
#include "read/recycling_pool.h"
#include "read/views_util.h"

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
  int64_t rank = 0;
  KeyRef current;  // the key at row, while batch is not null

  const KeyRef& key() const { return current; }
  // Positions on the batch's first row (batch may be null: the end).
  void Load(std::shared_ptr<RunBatch> b) {
    batch = std::move(b);
    row = batch ? batch->begin : 0;
    if (batch) current = KeyRef::Of(batch->keys.views[row]);
  }
  // Moves to the next row, loading the next batch when needed; batch becomes
  // null at the end of the run. A batch left behind goes to `retired`, which
  // keeps it alive while the current step still refers to its rows.
  // The common case (a next row in the batch) inline, the rest out of line.
  arrow::Status Advance(std::vector<std::shared_ptr<RunBatch>>* retired) {
    if (++row < batch->end) [[likely]] {
      // The merge visits a row of each of many runs in turn (more streams
      // than the hardware prefetcher follows): fetch the rows ahead early.
      if (row + 8 < batch->end) {
        __builtin_prefetch(&batch->keys.views[row + 8]);
        __builtin_prefetch(&batch->event_micros[row + 8]);
        __builtin_prefetch(batch->keys.views[row + 4].data());
      }
      current = KeyRef::Of(batch->keys.views[row]);
      return arrow::Status::OK();
    }
    return NextBatch(retired);
  }
  [[gnu::noinline]] arrow::Status NextBatch(std::vector<std::shared_ptr<RunBatch>>* retired) {
    retired->push_back(std::move(batch));
    ARROW_ASSIGN_OR_RAISE(auto next, source->Next());
    Load(std::move(next));
    return arrow::Status::OK();
  }
};

// One output row's origin: row `row` of source `src`. As a gather span
// (GatherColumn) it is one row.
struct RowRef {
  uint32_t src;
  int64_t row;
  static constexpr int64_t len = 1;
};

// Appends `n` bits of `bit(i)` to a new bitmap; returns the number of zeros.
template <typename Bit>
arrow::Result<std::shared_ptr<arrow::Buffer>> MakeBitmap(int64_t n, Bit bit, int64_t* zeros) {
  ARROW_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer(arrow::bit_util::BytesForBits(n), RecyclingPool()));
  uint8_t* out = buf->mutable_data();
  int64_t z = 0;
  for (int64_t i = 0; i < n; i += 8) {
    uint8_t byte = 0;
    const int64_t m = std::min<int64_t>(8, n - i);
    for (int64_t j = 0; j < m; ++j) {
      const bool b = bit(i + j);
      byte |= static_cast<uint8_t>(b) << j;
      z += !b;
    }
    out[i / 8] = byte;
  }
  *zeros = z;
  return std::shared_ptr<arrow::Buffer>(std::move(buf));
}

// Rows [row, row + len) of source `src`: consecutive output rows that are
// consecutive rows of one source (an as-of merge of a compacted segment takes
// most keys' rows from its base in long stretches), copied as one block.
struct Stretch {
  uint32_t src;
  int64_t row;
  int64_t len;
};

// Whether row reference b continues the stretch ending at a.
inline bool Continues(const RowRef& a, const RowRef& b) { return a.src == b.src && a.row + 1 == b.row; }

// The number of stretches `refs` make (no allocation).
int64_t CountStretches(const std::vector<RowRef>& refs) {
  int64_t count = refs.empty() ? 0 : 1;
  for (size_t i = 1; i < refs.size(); ++i) count += !Continues(refs[i - 1], refs[i]);
  return count;
}

// Replaces `out` with the stretches of `refs`.
void MakeStretches(const std::vector<RowRef>& refs, std::vector<Stretch>* out) {
  out->clear();
  for (size_t i = 0; i < refs.size(); ++i) {
    if (i > 0 && Continues(refs[i - 1], refs[i])) {
      ++out->back().len;
    } else {
      out->push_back(Stretch{refs[i].src, refs[i].row, 1});
    }
  }
}

// The rows of a row-at-a-time gather grouped by source: source s's output
// rows are pos[first[s] .. first[s + 1]) and its rows row[...] in the same
// order (ascending: a run's batch reaches the output in row order). Copying
// source by source reads each source's buffers front to back and writes
// into one output batch (in cache); copying in output order read from every
// run at once, more streams than the caches and the prefetcher hold (W1
// intervals: 49 runs, about a row from each in turn).
struct BySource {
  std::vector<uint32_t> first;
  std::vector<uint32_t> pos;
  std::vector<int64_t> row;

  void Build(const std::vector<RowRef>& refs, size_t sources) {
    first.assign(sources + 1, 0);
    for (const RowRef& r : refs) ++first[r.src + 1];
    for (size_t s = 0; s < sources; ++s) first[s + 1] += first[s];
    pos.resize(refs.size());
    row.resize(refs.size());
    std::vector<uint32_t> next(first.begin(), first.end() - 1);
    for (size_t i = 0; i < refs.size(); ++i) {
      const uint32_t at = next[refs[i].src]++;
      pos[at] = static_cast<uint32_t>(i);
      row[at] = refs[i].row;
    }
  }
};

// Copies the rows `spans` (n rows in all) of the arrays `srcs` (one per
// source, all of `type`) into a new array: the vectorized equivalent of a
// Take over a chunked array, without concatenating the sources first. Span
// is RowRef (a row at a time: output rows alternate between sources, as in
// the all-events merge; `by_source` holds the same rows grouped by source,
// and values and binary bytes are copied source by source) or Stretch (a
// block of consecutive source rows at a time: one memcpy per stretch;
// `by_source` unused). Returns nullptr for types it does not handle (the
// caller falls back to Take).
template <typename Span>
arrow::Result<std::shared_ptr<arrow::Array>> GatherColumn(const std::shared_ptr<arrow::DataType>& type,
                                                          const std::vector<const arrow::ArrayData*>& srcs,
                                                          const std::vector<Span>& spans, int64_t n,
                                                          const BySource* by_source = nullptr) {
  constexpr bool kRows = std::is_same_v<Span, RowRef>;
  int width = 0;  // bytes per value of a fixed-width type
  enum { kFixed, kBool, kBinary, kLargeBinary } kind;
  switch (type->id()) {
    case arrow::Type::INT8: case arrow::Type::UINT8: case arrow::Type::INT16: case arrow::Type::UINT16:
    case arrow::Type::INT32: case arrow::Type::UINT32: case arrow::Type::INT64: case arrow::Type::UINT64:
    case arrow::Type::HALF_FLOAT: case arrow::Type::FLOAT: case arrow::Type::DOUBLE:
    case arrow::Type::DATE32: case arrow::Type::DATE64: case arrow::Type::TIME32: case arrow::Type::TIME64:
    case arrow::Type::TIMESTAMP: case arrow::Type::DURATION: case arrow::Type::DECIMAL32:
    case arrow::Type::DECIMAL64: case arrow::Type::DECIMAL128: case arrow::Type::DECIMAL256:
    case arrow::Type::FIXED_SIZE_BINARY: case arrow::Type::INTERVAL_MONTHS: case arrow::Type::INTERVAL_DAY_TIME:
    case arrow::Type::INTERVAL_MONTH_DAY_NANO:
      width = static_cast<const arrow::FixedWidthType&>(*type).bit_width() / 8;
      kind = kFixed;
      break;
    case arrow::Type::BOOL: kind = kBool; break;
    case arrow::Type::STRING: case arrow::Type::BINARY: kind = kBinary; break;
    case arrow::Type::LARGE_STRING: case arrow::Type::LARGE_BINARY: kind = kLargeBinary; break;
    default: return nullptr;
  }
  if (kind == kFixed && width <= 0) return nullptr;
  const bool large = kind == kLargeBinary;
  // Each source's buffers, resolved once per column rather than per row.
  struct From {
    const uint8_t* validity;  // null: no nulls
    const uint8_t* values;    // fixed: row 0's value; bool: the bitmap; binary: row 0's offset
    const uint8_t* data;      // binary: the value bytes
    int64_t offset;           // bit offset of row 0 in the bitmaps
    int64_t data_size;        // binary: bytes readable at data
  };
  std::vector<From> from(srcs.size());
  bool nulls = false;
  for (size_t i = 0; i < srcs.size(); ++i) {
    const arrow::ArrayData& d = *srcs[i];
    From& f = from[i];
    f.validity = d.buffers[0] && d.GetNullCount() > 0 ? d.buffers[0]->data() : nullptr;
    nulls = nulls || f.validity != nullptr;
    f.offset = d.offset;
    f.values = d.buffers[1]->data();
    f.data = nullptr;
    f.data_size = 0;
    if (kind == kFixed) f.values += d.offset * width;
    if (kind == kBinary || kind == kLargeBinary) {
      f.values += d.offset * (large ? 8 : 4);
      f.data = d.buffers[2] ? d.buffers[2]->data() : nullptr;
      f.data_size = d.buffers[2] ? d.buffers[2]->size() : 0;
    }
  }
  // Bits [row, row + len) of each span's source bitmap (`values`: the bool
  // values, else validity; absent: all set) into a new bitmap; returns it
  // with the number of zeros.
  auto copy_bits = [&](bool values, int64_t* zeros) -> arrow::Result<std::shared_ptr<arrow::Buffer>> {
    if constexpr (kRows) {
      return MakeBitmap(n, [&](int64_t i) {
        const From& f = from[spans[i].src];
        const uint8_t* bits = values ? f.values : f.validity;
        return bits == nullptr || arrow::bit_util::GetBit(bits, f.offset + spans[i].row);
      }, zeros);
    } else {
      ARROW_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer(arrow::bit_util::BytesForBits(n), RecyclingPool()));
      uint8_t* out = buf->mutable_data();
      int64_t pos = 0;
      for (const Stretch& s : spans) {
        const From& f = from[s.src];
        const uint8_t* bits = values ? f.values : f.validity;
        if (bits) {
          arrow::internal::CopyBitmap(bits, f.offset + s.row, s.len, out, pos);
        } else {
          arrow::bit_util::SetBitsTo(out, pos, s.len, true);
        }
        pos += s.len;
      }
      *zeros = n - arrow::internal::CountSetBits(out, 0, n);
      return std::shared_ptr<arrow::Buffer>(std::move(buf));
    }
  };
  std::shared_ptr<arrow::Buffer> validity;
  int64_t null_count = 0;
  if (nulls) {
    ARROW_ASSIGN_OR_RAISE(validity, copy_bits(false, &null_count));
  }
  std::vector<std::shared_ptr<arrow::Buffer>> buffers{validity};
  switch (kind) {
    case kFixed: {
      ARROW_ASSIGN_OR_RAISE(auto values, arrow::AllocateBuffer(n * width, RecyclingPool()));
      uint8_t* out = values->mutable_data();
      // Copies of a constant width compile to one load and store per row.
      auto copy = [&]<int W>(std::integral_constant<int, W>) {
        const int64_t w = W > 0 ? W : width;
        if constexpr (kRows) {
          for (size_t s = 0; s + 1 < by_source->first.size(); ++s) {
            const uint8_t* v = from[s].values;
            for (uint32_t j = by_source->first[s]; j < by_source->first[s + 1]; ++j) {
              std::memcpy(out + int64_t{by_source->pos[j]} * w, v + by_source->row[j] * w, w);
            }
          }
        } else {
          for (const Span& s : spans) {
            std::memcpy(out, from[s.src].values + s.row * w, s.len * w);
            out += s.len * w;
          }
        }
      };
      if constexpr (kRows) {
        switch (width) {
          case 8: copy(std::integral_constant<int, 8>{}); break;
          case 4: copy(std::integral_constant<int, 4>{}); break;
          default: copy(std::integral_constant<int, 0>{});
        }
      } else {
        copy(std::integral_constant<int, 0>{});
      }
      buffers.push_back(std::move(values));
      break;
    }
    case kBool: {
      int64_t unused;
      ARROW_ASSIGN_OR_RAISE(auto values, copy_bits(true, &unused));
      buffers.push_back(std::move(values));
      break;
    }
    case kBinary:
    case kLargeBinary: {
      // Exactly bytes [b, e) of `f` to `to`: values land out of order when
      // copied source by source, so no byte past e - b may be written.
      auto copy_exact = [](uint8_t* to, const uint8_t* from_bytes, int64_t len) {
        if (len >= 8 && len <= 16) {
          std::memcpy(to, from_bytes, 8);
          std::memcpy(to + len - 8, from_bytes + len - 8, 8);
        } else if (len >= 4 && len < 8) {
          std::memcpy(to, from_bytes, 4);
          std::memcpy(to + len - 4, from_bytes + len - 4, 4);
        } else if (len > 0) {
          std::memcpy(to, from_bytes, len);
        }
      };
      // Source by source: each row's length into its output slot, the
      // lengths summed into offsets, then each row's bytes to its offset.
      auto scatter = [&]<typename O>(O) -> arrow::Status {
        ARROW_ASSIGN_OR_RAISE(auto offsets, arrow::AllocateBuffer((n + 1) * sizeof(O), RecyclingPool()));
        O* to = reinterpret_cast<O*>(offsets->mutable_data());
        const size_t num_src = by_source->first.size() - 1;
        for (size_t s = 0; s < num_src; ++s) {
          const O* offs = reinterpret_cast<const O*>(from[s].values);
          for (uint32_t j = by_source->first[s]; j < by_source->first[s + 1]; ++j) {
            const int64_t r = by_source->row[j];
            to[by_source->pos[j]] = offs[r + 1] - offs[r];
          }
        }
        int64_t total = 0;
        for (int64_t i = 0; i < n; ++i) {
          const int64_t len = to[i];
          to[i] = static_cast<O>(total);
          total += len;
          if (total > std::numeric_limits<O>::max()) return arrow::Status::CapacityError("binary gather");
        }
        to[n] = static_cast<O>(total);
        ARROW_ASSIGN_OR_RAISE(auto data, arrow::AllocateBuffer(total, RecyclingPool()));
        uint8_t* out = data->mutable_data();
        for (size_t s = 0; s < num_src; ++s) {
          const From& f = from[s];
          const O* offs = reinterpret_cast<const O*>(f.values);
          for (uint32_t j = by_source->first[s]; j < by_source->first[s + 1]; ++j) {
            const int64_t r = by_source->row[j];
            copy_exact(out + to[by_source->pos[j]], f.data + offs[r], offs[r + 1] - offs[r]);
          }
        }
        buffers.push_back(std::move(offsets));
        buffers.push_back(arrow::SliceBuffer(std::shared_ptr<arrow::Buffer>(std::move(data)), 0, total));
        return arrow::Status::OK();
      };
      // Stretch by stretch: offsets of type O (int32 or int64), each row's
      // moved by the same amount within a stretch to where its bytes land.
      auto gather = [&]<typename O>(O) -> arrow::Status {
        if constexpr (kRows) return scatter(O{});
        int64_t total = 0;
        for (const Span& s : spans) {
          const O* offs = reinterpret_cast<const O*>(from[s.src].values);
          total += offs[s.row + s.len] - offs[s.row];
        }
        if (total > std::numeric_limits<O>::max()) return arrow::Status::CapacityError("binary gather");
        ARROW_ASSIGN_OR_RAISE(auto offsets, arrow::AllocateBuffer((n + 1) * sizeof(O), RecyclingPool()));
        // kShort bytes of slack: a short stretch is copied as a constant
        // kShort bytes (no call to memcpy) where its source has them.
        constexpr int64_t kShort = 16;
        ARROW_ASSIGN_OR_RAISE(auto data, arrow::AllocateBuffer(total + kShort, RecyclingPool()));
        uint8_t* out = data->mutable_data();
        O* to = reinterpret_cast<O*>(offsets->mutable_data());
        O pos = 0;
        for (const Span& s : spans) {
          const From& f = from[s.src];
          const O* offs = reinterpret_cast<const O*>(f.values) + s.row;
          const O b = offs[0], e = offs[s.len];
          for (int64_t k = 0; k < s.len; ++k) *to++ = offs[k] - b + pos;
          if (e - b <= kShort && b + kShort <= f.data_size) {
            std::memcpy(out + pos, f.data + b, kShort);
          } else if (e > b) {
            std::memcpy(out + pos, f.data + b, e - b);
          }
          pos += e - b;
        }
        *to = pos;
        buffers.push_back(std::move(offsets));
        buffers.push_back(arrow::SliceBuffer(std::shared_ptr<arrow::Buffer>(std::move(data)), 0, total));
        return arrow::Status::OK();
      };
      const arrow::Status st = large ? gather(int64_t{}) : gather(int32_t{});
      if (st.IsCapacityError()) return nullptr;  // more than int32 offsets hold: Take copes
      ARROW_RETURN_NOT_OK(st);
      break;
    }
  }
  return arrow::MakeArray(arrow::ArrayData::Make(type, n, std::move(buffers), null_count));
}

// Gathers the selected rows into output columns. Rows are recorded as
// (source batch, row) and gathered column by column when the output batch is
// finished (GatherColumn: no per-row virtual calls, no concatenation of the
// sources). Source batches are held until then, at most max_sources at a
// time: past that, the rows so far are gathered into a piece and the batches
// released, so memory stays bounded however many source rows one output
// batch spans.
//
// Output columns come from the sources' columns (keys, event time, values),
// plus, by mode: kAllEvents the tombstone flag and committing version
// (last two fields); kIntervals `valid_to` (after the event time, taken from
// the next event's row).
class OutputAssembler {
 public:
  OutputAssembler(std::shared_ptr<arrow::Schema> schema, MergeMode mode, size_t num_keys)
      : schema_(std::move(schema)), mode_(mode), num_keys_(static_cast<int>(num_keys)) {}

  arrow::Status Init(size_t num_runs) {
    ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
    max_sources_ = 2 * num_runs + 2;
    run_slot_.assign(num_runs, {nullptr, 0});
    if (mode_ == MergeMode::kIntervals) {
      const auto& et = static_cast<const arrow::TimestampType&>(*schema_->field(num_keys_)->type());
      micros_unit_ = et.unit() == arrow::TimeUnit::MICRO;
    }
    // Output column -> source column (-1: valid_to, -2: tombstone flag,
    // -3: version).
    const int fields = schema_->num_fields();
    for (int c = 0; c < fields; ++c) {
      if (mode_ == MergeMode::kAllEvents && c >= fields - 2) {
        source_column_.push_back(c == fields - 2 ? -2 : -3);
      } else if (mode_ == MergeMode::kIntervals && c > num_keys_) {
        source_column_.push_back(c == num_keys_ + 1 ? -1 : c - 1);
      } else {
        source_column_.push_back(c);
      }
    }
    return arrow::Status::OK();
  }

  // A row of the output: row `row` of `batch`, a batch of cursor `run`.
  arrow::Status Add(const RunBatch* batch, int64_t row, uint32_t run) {
    // A piece holds at most kMaxPieceRows rows (BySource's 32-bit positions).
    if (refs_.size() >= kMaxPieceRows) ARROW_RETURN_NOT_OK(Gather());
    ARROW_ASSIGN_OR_RAISE(uint32_t src, SourceOf(batch, run));
    refs_.push_back(RowRef{src, row});
    if (mode_ == MergeMode::kAllEvents) {
      deleted_.push_back(batch->IsDeleted(row));
      versions_.push_back(batch->VersionOf(row));
    }
    return arrow::Status::OK();
  }

  // kIntervals: the row of event (batch, row), closed by the event at row
  // `to_row` of `to` (null: open) whose time is `to_micros`.
  arrow::Status AddInterval(const RunBatch* batch, int64_t row, uint32_t run, const RunBatch* to, int64_t to_row,
                            int64_t to_micros) {
    ARROW_RETURN_NOT_OK(Add(batch, row, run));
    if (to) {
      // The column's own value (exact in any unit); in microseconds it is
      // the merge's event time.
      valid_to_.push_back(micros_unit_ ? to_micros
                                       : to->batch->column_data(num_keys_)->GetValues<int64_t>(1)[to_row]);
      valid_to_set_.push_back(1);
    } else {
      valid_to_.push_back(0);
      valid_to_set_.push_back(0);
    }
    return arrow::Status::OK();
  }

  int64_t rows() const { return rows_ + static_cast<int64_t>(refs_.size()); }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Finish() {
    ARROW_RETURN_NOT_OK(Gather());
    std::vector<std::shared_ptr<arrow::Array>> cols;
    for (int c = 0; c < schema_->num_fields(); ++c) {
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
    auto out = arrow::RecordBatch::Make(schema_, rows_, std::move(cols));
    pieces_.clear();
    rows_ = 0;
    return out;
  }

 private:
  struct Source {
    std::shared_ptr<RunBatch> batch;
    int64_t min_row, max_row;  // the rows taken from it lie in [min_row, max_row]
  };

  arrow::Result<uint32_t> SourceOf(const RunBatch* batch, uint32_t run) {
    // Consecutive rows of the all-events modes come from different runs: a
    // slot per run finds a run's current batch without searching.
    if (run < run_slot_.size() && run_slot_[run].first == batch) return run_slot_[run].second;
    if (batch != last_) {
      // A cursor's batches arrive in order, so the batch is new or recent.
      auto it = std::find_if(sources_.rbegin(), sources_.rend(),
                             [&](const Source& s) { return s.batch.get() == batch; });
      if (it != sources_.rend()) {
        last_source_ = static_cast<uint32_t>(sources_.rend() - it) - 1;
      } else {
        if (sources_.size() >= max_sources_) ARROW_RETURN_NOT_OK(Gather());
        sources_.push_back(Source{const_cast<RunBatch*>(batch)->shared_from_this(), INT64_MAX, -1});
        last_source_ = static_cast<uint32_t>(sources_.size()) - 1;
      }
      last_ = batch;
    }
    if (run < run_slot_.size()) run_slot_[run] = {batch, last_source_};
    return last_source_;
  }

  // Arrow Take over the row ranges the sources contribute (types
  // GatherColumn does not handle).
  arrow::Result<std::shared_ptr<arrow::Array>> TakeColumn(int source_column,
                                                          const std::shared_ptr<arrow::DataType>& type) {
    for (const auto& r : refs_) {
      Source& s = sources_[r.src];
      s.min_row = std::min(s.min_row, r.row);
      s.max_row = std::max(s.max_row, r.row);
    }
    std::vector<int64_t> base(sources_.size());
    arrow::ArrayVector chunks;
    int64_t next = 0;
    for (size_t i = 0; i < sources_.size(); ++i) {
      const Source& s = sources_[i];
      base[i] = next - std::max<int64_t>(0, s.min_row);
      if (s.max_row < 0) continue;
      chunks.push_back(s.batch->batch->column(source_column)->Slice(s.min_row, s.max_row - s.min_row + 1));
      next += s.max_row - s.min_row + 1;
    }
    std::vector<int64_t> idx(refs_.size());
    for (size_t i = 0; i < refs_.size(); ++i) idx[i] = base[refs_[i].src] + refs_[i].row;
    auto indices = std::make_shared<arrow::Int64Array>(static_cast<int64_t>(idx.size()), arrow::Buffer::Wrap(idx));
    auto values = std::make_shared<arrow::ChunkedArray>(std::move(chunks), type);
    ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Take(values, indices));
    const auto& ca = d.chunked_array();
    if (ca->num_chunks() == 1) return ca->chunk(0);
    return arrow::Concatenate(ca->chunks());
  }

  static arrow::Result<std::shared_ptr<arrow::Buffer>> CopyOf(const std::vector<int64_t>& v) {
    ARROW_ASSIGN_OR_RAISE(auto b, arrow::AllocateBuffer(static_cast<int64_t>(v.size()) * 8, RecyclingPool()));
    if (!v.empty()) std::memcpy(b->mutable_data(), v.data(), v.size() * 8);
    return std::shared_ptr<arrow::Buffer>(std::move(b));
  }

  // Copies the recorded rows from the held sources into a new piece.
  arrow::Status Gather() {
    const int64_t n = static_cast<int64_t>(refs_.size());
    if (n > 0) {
      std::vector<std::shared_ptr<arrow::Array>> piece;
      std::vector<const arrow::ArrayData*> srcs(sources_.size());
      // Stretches pay when they average a few rows (an as-of merge of a
      // compacted table); the all-events merge takes a row per run in turn
      // (stretches of one row), where a row at a time is cheaper.
      const bool by_stretch = n >= kMinMeanStretch * CountStretches(refs_);
      if (by_stretch) {
        MakeStretches(refs_, &stretches_);
      } else {
        by_source_.Build(refs_, sources_.size());
      }
      for (int c = 0; c < schema_->num_fields(); ++c) {
        const auto& type = schema_->field(c)->type();
        const int sc = source_column_[c];
        std::shared_ptr<arrow::Array> a;
        if (sc >= 0) {
          for (size_t s = 0; s < sources_.size(); ++s) srcs[s] = sources_[s].batch->batch->column_data(sc).get();
          if (by_stretch) {
            ARROW_ASSIGN_OR_RAISE(a, GatherColumn(type, srcs, stretches_, n));
          } else {
            ARROW_ASSIGN_OR_RAISE(a, GatherColumn(type, srcs, refs_, n, &by_source_));
          }
          if (!a) {
            ARROW_ASSIGN_OR_RAISE(a, TakeColumn(sc, type));
          }
        } else if (sc == -1) {
          int64_t nulls = 0;
          ARROW_ASSIGN_OR_RAISE(auto validity, MakeBitmap(n, [&](int64_t i) { return valid_to_set_[i] != 0; }, &nulls));
          ARROW_ASSIGN_OR_RAISE(auto owned, CopyOf(valid_to_));
          a = arrow::MakeArray(arrow::ArrayData::Make(type, n, {nulls ? validity : nullptr, std::move(owned)}, nulls));
        } else if (sc == -2) {
          int64_t unused;
          ARROW_ASSIGN_OR_RAISE(auto bits, MakeBitmap(n, [&](int64_t i) { return deleted_[i] != 0; }, &unused));
          a = arrow::MakeArray(arrow::ArrayData::Make(type, n, {nullptr, std::move(bits)}, 0));
        } else {
          ARROW_ASSIGN_OR_RAISE(auto owned, CopyOf(versions_));
          a = arrow::MakeArray(arrow::ArrayData::Make(type, n, {nullptr, std::move(owned)}, 0));
        }
        piece.push_back(std::move(a));
      }
      pieces_.push_back(std::move(piece));
      rows_ += n;
    }
    sources_.clear();
    refs_.clear();
    deleted_.clear();
    versions_.clear();
    valid_to_.clear();
    valid_to_set_.clear();
    last_ = nullptr;
    std::fill(run_slot_.begin(), run_slot_.end(), std::pair<const RunBatch*, uint32_t>{nullptr, 0});
    return arrow::Status::OK();
  }

  // Gather copies by stretches when they average at least this many rows.
  static constexpr int64_t kMinMeanStretch = 4;
  static constexpr size_t kMaxPieceRows = std::numeric_limits<uint32_t>::max();

  std::shared_ptr<arrow::Schema> schema_;
  MergeMode mode_;
  int num_keys_;
  bool micros_unit_ = false;  // kIntervals: the event-time column is in microseconds
  std::vector<int> source_column_;
  size_t max_sources_ = 4;
  std::vector<Source> sources_;
  std::vector<RowRef> refs_;
  std::vector<Stretch> stretches_;  // Gather's, kept for its capacity
  BySource by_source_;              // the same
  std::vector<uint8_t> deleted_;
  std::vector<int64_t> versions_;
  std::vector<int64_t> valid_to_;
  std::vector<uint8_t> valid_to_set_;
  std::vector<std::vector<std::shared_ptr<arrow::Array>>> pieces_;
  const RunBatch* last_ = nullptr;
  uint32_t last_source_ = 0;
  std::vector<std::pair<const RunBatch*, uint32_t>> run_slot_;  // per run: its last batch's source
  int64_t rows_ = 0;  // rows gathered into pieces_
};

}  // namespace

struct MergeReader::Impl {
  std::vector<Cursor> cursors;
  // Tree of losers over the cursors (padded to a power of two with cursors
  // that are always exhausted): tree[0] is the cursor with the smallest key,
  // tree[n] for n >= 1 the loser of the match at internal node n. Replacing
  // the winner costs one comparison per level (log2 k), half a binary heap's
  // pop plus push. Equal keys leave in cursor order (ties go to the lower
  // index), so a key's rows arrive run by run in plan order.
  std::vector<int> tree;
  int leaves = 1;
  EventTime as_of;
  std::vector<std::string> key_in;  // sorted; empty = all
  size_t key_in_pos = 0;
  int64_t batch_size;
  MergeMode mode;
  IntervalSpec spec;
  size_t num_keys;
  OutputAssembler out;
  bool started = false;
  // Batches cursors left during the current step (its rows may refer to them).
  std::vector<std::shared_ptr<RunBatch>> retired;
  // kAllEvents, kIntervals: the rows of the current key, gathered from every run.
  struct Event {
    int64_t time;
    int64_t rank;
    const RunBatch* batch;
    int64_t row;
    uint32_t run;  // the cursor
  };
  std::vector<Event> events;

  Impl(std::shared_ptr<arrow::Schema> schema, EventTime t, std::vector<std::string> keys, int64_t bs,
       MergeMode m, IntervalSpec is)
      : as_of(t),
        key_in(std::move(keys)),
        batch_size(bs),
        mode(m),
        spec(is),
        num_keys(is.num_keys),
        out(std::move(schema), m, is.num_keys) {}

  bool Exhausted(int i) const {
    return i >= static_cast<int>(cursors.size()) || cursors[i].batch == nullptr;
  }
  // Whether cursor a goes before cursor b: smaller key, then lower index;
  // exhausted last.
  bool Before(int a, int b) const {
    if (Exhausted(a)) return false;
    if (Exhausted(b)) return true;
    const KeyRef& ka = cursors[a].key();
    const KeyRef& kb = cursors[b].key();
    if (ka < kb) return true;
    return a < b && !(kb < ka);
  }
  bool Done() const { return sweep ? sweep_next < 0 : Exhausted(tree[0]); }
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
      cursors[i].rank = cursors[i].source->rank();
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

  // Consumes every row of the smallest key; appends what the mode emits.
  arrow::Status Step() {
    arrow::Status st = mode == MergeMode::kAsOf ? StepAsOf() : StepEvents();
    retired.clear();
    return st;
  }

  arrow::Status StepAsOf() {
    const int first = tree[0];
    // The key's bytes live in a batch its cursor may leave (then `retired`
    // holds it until the step ends).
    const KeyRef key = cursors[first].key();
    const bool wanted = Wanted(key.view);

    const RunBatch* best_batch = nullptr;
    int64_t best_row = 0, best_time = 0, best_rank = 0;
    uint32_t best_run = 0;
    const int64_t t = as_of.micros();
    int ci = first;
    while (true) {
      Cursor& c = cursors[ci];
      const int64_t rank = c.rank;
      while (c.batch && c.key() == key) {
        const int64_t et = c.batch->event_micros[c.row];
        // Within a run, rows of a key ascend in event time and a later row
        // wins a tie, hence ">=" on (time, rank) for the same run.
        if (wanted && et <= t &&
            (!best_batch || et > best_time || (et == best_time && rank >= best_rank))) {
          best_batch = c.batch.get();
          best_row = c.row;
          best_time = et;
          best_rank = rank;
          best_run = static_cast<uint32_t>(ci);
        }
        ARROW_RETURN_NOT_OK(c.Advance(&retired));
      }
      Replay(ci);
      ci = tree[0];
      if (Exhausted(ci) || cursors[ci].key() != key) break;
    }
    if (best_batch && !best_batch->IsDeleted(best_row)) {
      ARROW_RETURN_NOT_OK(out.Add(best_batch, best_row, best_run));
    }
    return arrow::Status::OK();
  }

  // Whether the first spec.compared value columns of two rows are equal.
  bool SameValues(const Event& a, const Event& b) const {
    for (int c = 0; c < spec.compared; ++c) {
      const int col = static_cast<int>(num_keys) + 1 + c;
      if (!CellsEqual(*a.batch->batch->column(col), a.row, *b.batch->batch->column(col), b.row)) return false;
    }
    return true;
  }

  // Consumes every row of the smallest key; reduces them to one event per
  // event time (the tie winner) and appends those (kAllEvents) or the
  // intervals they make (kIntervals).
  // Appends cursor ci's rows of `key` to `events` (when wanted and at or
  // before t) and moves the cursor past them.
  arrow::Status TakeKeyRows(int ci, const KeyRef& key, bool wanted, int64_t t) {
    Cursor& c = cursors[ci];
    while (c.batch && c.key() == key) {
      const int64_t et = c.batch->event_micros[c.row];
      if (wanted && et <= t) events.push_back(Event{et, c.rank, c.batch.get(), c.row, static_cast<uint32_t>(ci)});
      ARROW_RETURN_NOT_OK(c.Advance(&retired));
    }
    return arrow::Status::OK();
  }

  // The all-events modes find each key's runs either through the tree (log2
  // k comparisons per run holding the key) or, when most runs hold most keys
  // (a compacted table: about one event per key and segment), by one pass
  // over all k cursors per key. Every kSweepProbe keys the cheaper one by
  // the runs the keys were found in is chosen. Both take a key's runs in
  // cursor order, so the events arrive alike.
  static constexpr int64_t kSweepProbe = 1024;
  bool sweep = false;
  int sweep_next = -1;  // sweep: a cursor at the smallest key; -1 = all exhausted
  int64_t probe_keys = 0, probe_runs = 0;

  // Sweep: the cursor with the smallest key (lowest index among equals).
  int SweepMin() const {
    int m = -1;
    for (int i = 0; i < static_cast<int>(cursors.size()); ++i) {
      if (!Exhausted(i) && (m < 0 || cursors[i].key() < cursors[m].key())) m = i;
    }
    return m;
  }

  void ChooseSweep(int runs_of_key) {
    probe_runs += runs_of_key;
    if (++probe_keys < kSweepProbe) return;
    int depth = 0;
    while ((1 << depth) < leaves) ++depth;
    const bool want = probe_runs * depth > probe_keys * static_cast<int64_t>(cursors.size());
    probe_keys = probe_runs = 0;
    if (want == sweep) return;
    sweep = want;
    if (sweep) {
      sweep_next = SweepMin();
    } else {
      BuildTree();
    }
  }

  arrow::Status StepEvents() {
    const int first = sweep ? sweep_next : tree[0];
    const KeyRef key = cursors[first].key();
    const bool wanted = Wanted(key.view);
    const int64_t t = as_of.micros();
    events.clear();
    int runs_of_key = 0;
    if (sweep) {
      // One pass: take the key's rows from every cursor at it, and find the
      // next smallest key among all cursors as it goes.
      int next = -1;
      for (int ci = first; ci < static_cast<int>(cursors.size()); ++ci) {
        if (Exhausted(ci)) continue;
        if (cursors[ci].key() == key) {
          ++runs_of_key;
          ARROW_RETURN_NOT_OK(TakeKeyRows(ci, key, wanted, t));
          if (Exhausted(ci)) continue;
        }
        if (next < 0 || cursors[ci].key() < cursors[next].key()) next = ci;
      }
      // Cursors before `first` hold keys above `key` (first is the lowest
      // index at the smallest key): they only compete for the next key.
      int low = -1;
      for (int ci = 0; ci < first; ++ci) {
        if (!Exhausted(ci) && (low < 0 || cursors[ci].key() < cursors[low].key())) low = ci;
      }
      if (low >= 0 && (next < 0 || !(cursors[next].key() < cursors[low].key()))) next = low;
      sweep_next = next;
    } else {
      int ci = first;
      while (true) {
        ++runs_of_key;
        ARROW_RETURN_NOT_OK(TakeKeyRows(ci, key, wanted, t));
        Replay(ci);
        ci = tree[0];
        if (Exhausted(ci) || cursors[ci].key() != key) break;
      }
    }
    ChooseSweep(runs_of_key);
    // Each run's rows are in (time, row) order, so a stable sort on (time,
    // rank) leaves every tie group ordered by rank, then row: its last row
    // wins. Runs that are disjoint in time and planned in time order (a
    // compacted table's segments) arrive sorted already.
    auto by_time_rank = [](const Event& a, const Event& b) {
      return a.time != b.time ? a.time < b.time : a.rank < b.rank;
    };
    if (!std::is_sorted(events.begin(), events.end(), by_time_rank)) {
      std::stable_sort(events.begin(), events.end(), by_time_rank);
    }
    // Keep the last row of each event time.
    size_t m = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      if (i + 1 < events.size() && events[i + 1].time == events[i].time) continue;
      events[m++] = events[i];
    }
    events.resize(m);
    if (mode == MergeMode::kAllEvents) {
      for (const Event& e : events) ARROW_RETURN_NOT_OK(out.Add(e.batch, e.row, e.run));
      return arrow::Status::OK();
    }
    for (size_t i = 0; i < m; ++i) {
      const Event& e = events[i];
      if (e.batch->IsDeleted(e.row)) continue;  // a tombstone only closes the interval before it
      size_t last = i, next = i + 1;
      if (spec.coalesce) {
        while (next < m && !events[next].batch->IsDeleted(events[next].row) && SameValues(events[last], events[next])) {
          last = next++;
        }
      }
      const bool open = next >= m;
      const int64_t valid_to = open ? std::numeric_limits<int64_t>::max() : events[next].time;
      if (e.time < spec.end && valid_to > spec.start) {
        ARROW_RETURN_NOT_OK(out.AddInterval(e.batch, e.row, e.run, open ? nullptr : events[next].batch,
                                            open ? 0 : events[next].row, valid_to));
      }
      i = last;
    }
    return arrow::Status::OK();
  }
};

std::shared_ptr<arrow::Schema> IntervalSchema(const arrow::Schema& scan_schema, size_t num_keys) {
  const auto& f = scan_schema.fields();
  arrow::FieldVector fields(f.begin(), f.begin() + num_keys);
  const auto& et = f[num_keys]->type();
  fields.push_back(arrow::field("valid_from", et, false));
  fields.push_back(arrow::field("valid_to", et, true));
  fields.insert(fields.end(), f.begin() + num_keys + 1, f.end());
  return arrow::schema(std::move(fields));
}

MergeReader::MergeReader(std::vector<std::unique_ptr<RunSource>> runs,
                         std::shared_ptr<arrow::Schema> schema, EventTime as_of,
                         std::vector<std::string> key_in, int64_t batch_size, MergeMode mode,
                         IntervalSpec intervals)
    : impl_(std::make_unique<Impl>(std::move(schema), as_of, std::move(key_in), batch_size, mode, intervals)) {
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
