#include "read/run_reader.h"
#include "read/run_reader_internal.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/caching.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/page_index.h>
#include <parquet/statistics.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <numeric>
#include <optional>

#include "bazof/error.h"
#include "metadata/column_match.h"
#include "metadata/page_checksums.h"
#include "metadata/types.h"
#include "read/footer_cache.h"
#include "read/page_take.h"
#include "read/recycling_pool.h"

namespace bazof::read {
namespace detail {

// Read buffer of a run that streams its column chunks (no pre-buffering).
constexpr int64_t kStreamBufferBytes = 64 * 1024;

std::string Quote(io::Storage& storage, const std::string& name) {
  return "data file '" + storage.Describe(name) + "': ";
}

// Whether a file column of type `file` can be read as the schema's `table`
// type: the same type (up to string / binary flavour and timestamp unit), or
// one the column was widened from (docs/spec.md §12.1), cast on read.
bool ReadableAs(const arrow::DataType& file, const arrow::DataType& table) {
  if (file.Equals(table) || metadata::IsExactWidening(file, table)) return true;
  if (arrow::is_string(file.id()) && arrow::is_string(table.id())) return true;
  if (arrow::is_binary(file.id()) && arrow::is_binary(table.id())) return true;
  return file.id() == arrow::Type::TIMESTAMP && table.id() == arrow::Type::TIMESTAMP;
}

arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> MakeReader(
    io::Storage& storage, const std::string& name,
    std::shared_ptr<parquet::FileMetaData> metadata, int64_t batch_size, int64_t size, bool pre_buffer,
    const arrow::io::CacheOptions* cache_options, const std::vector<int>& dictionary_leaves) {
  ARROW_ASSIGN_OR_RAISE(auto input, storage.OpenForRead(name, size));
  parquet::arrow::FileReaderBuilder builder;
  // Decoded pages and batches recycle their blocks (read/recycling_pool.h).
  parquet::ReaderProperties reader_props = ::bazof::metadata::DataFileReaderProperties();
  reader_props.set_memory_pool(RecyclingPool());
  if (!pre_buffer) {
    reader_props.enable_buffered_stream();
    reader_props.set_buffer_size(kStreamBufferBytes);
  }
  auto st = builder.Open(input, reader_props, std::move(metadata));
  if (!st.ok()) {
    return Corruption(Quote(storage, name), "not a Parquet file (", st.message(), ")");
  }
  parquet::ArrowReaderProperties props;
  props.set_batch_size(batch_size);
  props.set_pre_buffer(pre_buffer);
  if (cache_options) props.set_cache_options(*cache_options);
  props.set_use_threads(false);  // parallelism comes from key-range partitions
  for (int leaf : dictionary_leaves) props.set_read_dictionary(leaf, true);
  std::unique_ptr<parquet::arrow::FileReader> reader;
  ARROW_RETURN_NOT_OK(builder.memory_pool(RecyclingPool())->properties(props)->Build(&reader));
  return reader;
}

arrow::Result<std::shared_ptr<arrow::Array>> CastTo(const std::shared_ptr<arrow::Array>& a,
                                                    const std::shared_ptr<arrow::DataType>& t) {
  if (a->type()->Equals(*t)) return a;
  ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Cast(*a, t));
  return d;
}

arrow::Status EventMicros(const arrow::Array& et, RecycledVector<int64_t>* out) {
  const auto& ts = static_cast<const arrow::TimestampArray&>(et);
  const auto unit = static_cast<const arrow::TimestampType&>(*et.type()).unit();
  const int64_t n = ts.length();
  if (ts.null_count() > 0) {
    for (int64_t i = 0; i < n; ++i) {
      if (ts.IsNull(i)) return Corruption("null event_time at row ", i);
    }
  }
  out->resize(n);
  ScaleToMicros(ts.raw_values(), n, unit, out->data());
  return arrow::Status::OK();
}

std::optional<std::pair<std::string, std::string>> StatisticsKeyBounds(const parquet::ColumnDescriptor* column,
                                                                       const std::string& min, const std::string& max,
                                                                       const KeyCodec& codec, bool composite) {
  std::string lo, hi;
  if (column->physical_type() == parquet::Type::BYTE_ARRAY && codec.FirstColumnIsBytes()) {
    // No Statistics, scalars or arrays: a keyed read bounds every row group
    // of the files it plans and every page of the row groups it reads.
    lo = codec.EncodeFirstColumnBytes(min);
    hi = codec.EncodeFirstColumnBytes(max);
  } else {
    auto stats = parquet::Statistics::Make(column, min, max, 0, 0, 0, true, false, false);
    std::shared_ptr<arrow::Scalar> slo, shi;
    if (!stats || !parquet::arrow::StatisticsAsScalars(*stats, &slo, &shi).ok()) return std::nullopt;
    auto elo = codec.EncodeFirstColumn(*slo);
    auto ehi = codec.EncodeFirstColumn(*shi);
    if (!elo.ok() || !ehi.ok()) return std::nullopt;
    lo = *std::move(elo);
    hi = *std::move(ehi);
  }
  if (!composite) return std::make_pair(std::move(lo), std::move(hi));
  auto upper = PrefixSuccessor(std::move(hi));
  if (!upper) return std::nullopt;
  return std::make_pair(std::move(lo), *std::move(upper));
}

void ScaleToMicros(const int64_t* in, int64_t n, arrow::TimeUnit::type unit, int64_t* out) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      for (int64_t i = 0; i < n; ++i) out[i] = in[i] * 1000000;
      break;
    case arrow::TimeUnit::MILLI:
      for (int64_t i = 0; i < n; ++i) out[i] = in[i] * 1000;
      break;
    case arrow::TimeUnit::MICRO:
      if (out != in) std::copy(in, in + n, out);
      break;
    case arrow::TimeUnit::NANO:
      for (int64_t i = 0; i < n; ++i) {
        int64_t q = in[i] / 1000;
        out[i] = (in[i] % 1000 < 0) ? q - 1 : q;  // floor
      }
      break;
  }
}

}  // namespace detail

using namespace detail;

namespace {

std::atomic<int64_t> row_groups_read_by_pages{0};

// Rows `local` of row group `rg`, read page by page (RowGroupAccess::
// ReadPageRows) in batches of at most `batch_size` rows, as a run reads
// whole row groups: what it holds stays a batch, not the row group.
class PageRowsReader final : public arrow::RecordBatchReader {
 public:
  PageRowsReader(RowGroupAccess& access, int rg, std::vector<int64_t> local, std::vector<int> leaves,
                 int64_t batch_size)
      : access_(access),
        rg_(rg),
        local_(std::move(local)),
        leaves_(std::move(leaves)),
        batch_size_(std::max<int64_t>(1, batch_size)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    if (next_ >= local_.size()) return arrow::Status::OK();
    const size_t end = std::min(local_.size(), next_ + static_cast<size_t>(batch_size_));
    const std::vector<int64_t> rows(local_.begin() + static_cast<std::ptrdiff_t>(next_),
                                    local_.begin() + static_cast<std::ptrdiff_t>(end));
    next_ = end;
    ARROW_ASSIGN_OR_RAISE(*out, access_.ReadPageRows(rg_, rows, leaves_));
    schema_ = (*out)->schema();
    return arrow::Status::OK();
  }

 private:
  RowGroupAccess& access_;
  int rg_;
  std::vector<int64_t> local_;
  std::vector<int> leaves_;
  int64_t batch_size_;
  size_t next_ = 0;
  std::shared_ptr<arrow::Schema> schema_ = arrow::schema({});
};

class ParquetRun : public RunSource {
 public:
  ParquetRun(io::Storage& storage, std::shared_ptr<OpenedFile> file, const ScanShape& shape,
             KeyBounds bounds)
      : storage_(storage), file_(std::move(file)), shape_(shape), bounds_(std::move(bounds)) {}

  arrow::Status Init(int64_t batch_size, bool pre_buffer) {
    batch_size_ = batch_size;
    pre_buffer_ = pre_buffer;
    std::vector<int> row_groups = SelectRowGroups();
    if (row_groups.empty()) {
      done_ = true;
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(reader_, MakeReader(storage_, file_->planned.ref.path, file_->metadata, batch_size,
                                             file_->planned.ref.size, pre_buffer));
    std::vector<int> leaves = file_->key_leaves;
    leaves.push_back(file_->event_time_leaf);
    if (file_->deleted_leaf >= 0) leaves.push_back(file_->deleted_leaf);
    if (file_->version_leaf >= 0) leaves.push_back(file_->version_leaf);
    for (int l : file_->value_leaves) {
      if (l >= 0) leaves.push_back(l);
    }
    std::sort(leaves.begin(), leaves.end());
    leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
    leaves_ = std::move(leaves);
    row_groups_ = std::move(row_groups);
    ARROW_RETURN_NOT_OK(RoutePages());
    return arrow::Status::OK();
  }

  // Row groups that hold keys outside the bounds (the one a key-range
  // partition starts or ends in, if large, or any of a key-list read) are
  // read page by page when the page index says a quarter of their pages or
  // more hold no wanted key (RowGroupAccess::PageRowsWithin): a partition
  // then decodes about a page of each run twice at its split points, not a
  // row group (spec §7b).
  arrow::Status RoutePages() {
    page_rows_.assign(row_groups_.size(), std::nullopt);
    StreamLargeGroupsByPages();
    // On object storage the page index and the pages would each be a request
    // more per row group (as for histories, §7b): row groups are read whole.
    if (!file_->planned.ref.sorted || storage_.high_latency() ||
        (!bounds_.lower && !bounds_.upper && bounds_.key_in.empty())) {
      return arrow::Status::OK();
    }
    const auto& key_in = bounds_.key_in;
    for (size_t g = 0; g < row_groups_.size(); ++g) {
      const int rg = row_groups_[g];
      const auto& b = file_->row_group_bounds[rg];
      if (!b) continue;
      const bool straddles = (bounds_.lower && b->first < *bounds_.lower) || (bounds_.upper && b->second >= *bounds_.upper);
      if (key_in.empty() && (!straddles || file_->metadata->RowGroup(rg)->num_rows() < kMinPagedStraddleRows)) {
        continue;
      }
      const int64_t pages = file_->DataPages(rg);
      if (pages <= 1) continue;
      if (!straddles && file_->metadata->RowGroup(rg)->num_rows() < kMinPagedStraddleRows) {
        // From the footer alone: listed keys in a small group's range at
        // least half its pages likely need half of them or more (a dense
        // list). A large group's page index is consulted whatever the count:
        // listed keys often cluster (the first hundred tickers of W2 fill
        // about 10 of the 128 pages of a 65536-row group), and reading the
        // index costs little beside decoding the group.
        const int64_t listed = std::upper_bound(key_in.begin(), key_in.end(), b->second) -
                               std::lower_bound(key_in.begin(), key_in.end(), b->first);
        if (2 * listed > pages) continue;
      }
      if (!pages_) {
        auto made = RowGroupAccess::Make(storage_, file_, shape_);
        if (!made.ok()) return arrow::Status::OK();  // read whole, as before
        pages_ = *std::move(made);
      }
      page_rows_[g] = pages_->PageRowsWithin(rg, bounds_, leaves_);
    }
    // A row group none of whose pages may hold a wanted key is not read.
    size_t kept = 0;
    for (size_t g = 0; g < row_groups_.size(); ++g) {
      if (page_rows_[g] && page_rows_[g]->empty()) continue;
      if (kept != g) {
        row_groups_[kept] = row_groups_[g];
        page_rows_[kept] = std::move(page_rows_[g]);
        all_pages_[kept] = all_pages_[g];
      }
      ++kept;
    }
    row_groups_.resize(kept);
    page_rows_.resize(kept);
    all_pages_.resize(kept);
    if (row_groups_.empty()) done_ = true;
    return arrow::Status::OK();
  }

  // Without pre-buffering, Parquet streams a column chunk through a buffer
  // that its page-header peeks grow, never shrink, keeping the bytes already
  // read: by the end of a large row group each column's buffer holds about
  // its whole chunk (W1 at 65536-row groups: compaction's 49 runs held ~150
  // MB over a 128 MiB budget). Large row groups are therefore read through
  // the page index instead, every page, in batches of the run's size
  // (PageRowsReader: only a batch's pages are held). Local storage, sorted
  // files with a page index only; others stream as before.
  void StreamLargeGroupsByPages() {
    all_pages_.assign(row_groups_.size(), false);
    if (pre_buffer_ || storage_.high_latency() || !file_->planned.ref.sorted) return;
    for (size_t g = 0; g < row_groups_.size(); ++g) {
      const int rg = row_groups_[g];
      if (file_->metadata->RowGroup(rg)->num_rows() < kMinPagedStraddleRows || file_->DataPages(rg) <= 1) continue;
      if (!pages_) {
        auto made = RowGroupAccess::Make(storage_, file_, shape_);
        if (!made.ok()) return;  // streamed as before
        pages_ = *std::move(made);
      }
      // A page index that page reads can use for every leaf read.
      all_pages_[g] = pages_->CanReadPages(rg, leaves_);
    }
  }

  // Opens the reader of the next selected row groups; false when none is left.
  // Consecutive row groups are read together up to a batch of rows (small
  // row groups, spec §6, then still give full batches, not a batch per
  // group); pre-buffering coalesces their column chunks into few reads,
  // without holding the whole file in memory.
  arrow::Result<bool> NextRowGroup() {
    if (next_row_group_ >= row_groups_.size()) return false;
    if (page_rows_[next_row_group_] || all_pages_[next_row_group_]) {
      // Only the pages that may hold wanted keys, or every page, in batches
      // of the run's size (each reads and decodes the pages of its rows).
      auto& kept = page_rows_[next_row_group_];
      const int rg = row_groups_[next_row_group_++];
      std::vector<int64_t> local;
      if (kept) {
        local = *std::move(kept);
        kept.reset();
      } else {
        local.resize(static_cast<size_t>(file_->metadata->RowGroup(rg)->num_rows()));
        std::iota(local.begin(), local.end(), int64_t{0});
      }
      current_row_group_ = last_row_group_ = rg;
      rows_expected_ = static_cast<int64_t>(local.size());
      rows_read_ = 0;
      batches_ = std::make_shared<PageRowsReader>(*pages_, rg, std::move(local), leaves_, batch_size_);
      row_groups_read_by_pages.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    std::vector<int> group = {row_groups_[next_row_group_++]};
    int64_t rows = file_->metadata->RowGroup(group[0])->num_rows();
    while (next_row_group_ < row_groups_.size() && row_groups_[next_row_group_] == group.back() + 1 &&
           !page_rows_[next_row_group_] && !all_pages_[next_row_group_]) {
      const int64_t more = file_->metadata->RowGroup(row_groups_[next_row_group_])->num_rows();
      if (rows + more > batch_size_) break;
      rows += more;
      group.push_back(row_groups_[next_row_group_++]);
    }
    current_row_group_ = group.front();
    last_row_group_ = group.back();
    rows_expected_ = rows;
    rows_read_ = 0;
    ARROW_ASSIGN_OR_RAISE(batches_, reader_->GetRecordBatchReader(group, leaves_));
    return true;
  }

  // Parquet's batch reader ends a row group early, without an error, when a
  // column's pages hold fewer values than the footer says (a damaged page
  // header that still decodes: spec §6.1). Every batch must have all its
  // columns of its length (CheckBatch), and the row groups being read must
  // give the footer's rows (CheckAllRead, at their end).
  arrow::Status CheckBatch(const arrow::RecordBatch& raw) {
    for (int c = 0; c < raw.num_columns(); ++c) {
      if (raw.column(c)->length() != raw.num_rows()) {
        return Corruption("column '", raw.schema()->field(c)->name(), "' holds ", raw.column(c)->length(),
                          " rows where the others hold ", raw.num_rows());
      }
    }
    rows_read_ += raw.num_rows();
    return rows_read_ <= rows_expected_ ? arrow::Status::OK() : CheckAllRead();
  }
  arrow::Status CheckAllRead() const {
    if (rows_read_ == rows_expected_) return arrow::Status::OK();
    return Corruption("its pages hold ", rows_read_, " rows where the footer gives ", rows_expected_,
                      " (a damaged page header?)");
  }

  arrow::Result<std::shared_ptr<RunBatch>> Next() override {
    auto r = NextImpl();
    if (!r.ok()) {
      // A page failing its CRC is damage to this file (kCorruption).
      std::string where;
      if (current_row_group_ >= 0) {
        where = current_row_group_ == last_row_group_
                    ? "row group " + std::to_string(current_row_group_) + ": "
                    : "row groups " + std::to_string(current_row_group_) + "-" + std::to_string(last_row_group_) + ": ";
      }
      // The page route's errors name the file and row group already.
      if (r.status().message().find(Quote(storage_, name())) != std::string::npos) return r;
      return WithContext(metadata::PageReadError(r.status(), where), Quote(storage_, name()));
    }
    return r;
  }

  int64_t rank() const override { return file_->planned.rank; }
  const std::string& name() const override { return file_->planned.ref.path; }

 private:
  std::vector<int> SelectRowGroups() const {
    std::vector<int> out;
    for (int rg = 0; rg < file_->metadata->num_row_groups(); ++rg) {
      const auto& b = file_->row_group_bounds[rg];
      if (b && !bounds_.Meets(b->first, b->second)) continue;
      out.push_back(rg);
    }
    return out;
  }

  arrow::Result<std::shared_ptr<RunBatch>> NextImpl() {
    while (!done_) {
      std::shared_ptr<arrow::RecordBatch> raw;
      if (!file_->planned.ref.sorted) {
        // Legacy files are not sorted: read the selected row groups whole
        // (such files are small) and sort them once. Among rows of equal
        // (key, event time) the original reader returns the first in file
        // order (spec §9): SortRun puts it last, where the merge's
        // later-row-wins tie rule picks it.
        ARROW_ASSIGN_OR_RAISE(batches_, reader_->GetRecordBatchReader(row_groups_, leaves_));
        ARROW_ASSIGN_OR_RAISE(auto table, batches_->ToTable());
        ARROW_ASSIGN_OR_RAISE(raw, table->CombineChunksToBatch());
        done_ = true;
        rows_expected_ = 0;
        for (int rg : row_groups_) rows_expected_ += file_->metadata->RowGroup(rg)->num_rows();
        rows_read_ = 0;
        ARROW_RETURN_NOT_OK(CheckBatch(*raw));
        ARROW_RETURN_NOT_OK(CheckAllRead());
        ARROW_ASSIGN_OR_RAISE(auto rb, Convert(raw));
        ARROW_ASSIGN_OR_RAISE(rb, SortRun(std::move(rb)));
        if (ApplyBounds(rb.get())) return rb;
        continue;
      }
      if (batches_) {
        ARROW_RETURN_NOT_OK(batches_->ReadNext(&raw));
        ARROW_RETURN_NOT_OK(raw ? CheckBatch(*raw) : CheckAllRead());
      }
      if (!raw) {
        ARROW_ASSIGN_OR_RAISE(bool more, NextRowGroup());
        if (!more) {
          done_ = true;
          break;
        }
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto rb, Convert(raw));
      if (ApplyBounds(rb.get())) return rb;
    }
    return nullptr;
  }

  // Narrows rb to [lower, upper); marks the run done once past upper.
  // Returns true if rows remain.
  bool ApplyBounds(RunBatch* rb) {
    const auto& v = rb->keys.views;
    rb->begin = 0;
    rb->end = static_cast<int64_t>(v.size());
    if (bounds_.lower) {
      rb->begin = std::lower_bound(v.begin(), v.end(), std::string_view(*bounds_.lower)) - v.begin();
    }
    if (bounds_.upper) {
      rb->end = std::lower_bound(v.begin() + rb->begin, v.end(), std::string_view(*bounds_.upper)) - v.begin();
      if (rb->end < static_cast<int64_t>(v.size())) done_ = true;
    }
    if (!bounds_.key_in.empty() && rb->begin < rb->end) {
      // Only [first listed key, last listed key] can match: the merge picks
      // the listed keys out of that.
      rb->begin = std::lower_bound(v.begin() + rb->begin, v.begin() + rb->end,
                                   std::string_view(bounds_.key_in.front())) - v.begin();
      const int64_t last = std::upper_bound(v.begin() + rb->begin, v.begin() + rb->end,
                                            std::string_view(bounds_.key_in.back())) - v.begin();
      if (last < rb->end) {
        rb->end = last;
        done_ = true;
      }
    }
    return rb->begin < rb->end;
  }

  arrow::Result<std::shared_ptr<RunBatch>> Convert(const std::shared_ptr<arrow::RecordBatch>& raw) {
    auto rb = std::make_shared<RunBatch>();
    const auto& schema = shape_.schema;
    std::vector<std::shared_ptr<arrow::Array>> columns;
    std::vector<std::shared_ptr<arrow::Array>> keys;
    for (size_t k = 0; k < schema.key_columns.size(); ++k) {
      auto a = raw->GetColumnByName(schema.key_columns[k].name);
      ARROW_ASSIGN_OR_RAISE(a, CastTo(a, schema.key_columns[k].type));
      keys.push_back(a);
      columns.push_back(a);
    }
    auto et = raw->GetColumnByName(file_et_name_);
    ARROW_RETURN_NOT_OK(EventMicros(*et, &rb->event_micros));
    ARROW_ASSIGN_OR_RAISE(et, CastTo(et, schema.event_time.type));
    columns.push_back(et);
    for (size_t i = 0; i < shape_.value_columns.size(); ++i) {
      const auto& spec = schema.value_columns[shape_.value_columns[i]];
      std::shared_ptr<arrow::Array> a;
      if (file_->value_leaves[i] >= 0) {
        a = raw->GetColumnByName(file_value_names_[i]);
        ARROW_ASSIGN_OR_RAISE(a, CastTo(a, spec.type));
      } else {
        ARROW_ASSIGN_OR_RAISE(a, arrow::MakeArrayOfNull(spec.type, raw->num_rows()));
      }
      columns.push_back(a);
    }
    if (file_->deleted_leaf >= 0) {
      rb->deleted = raw->GetColumnByName(kDeletedColumn);
      if (rb->deleted->null_count() > 0) return Corruption("null in column '", kDeletedColumn, "'");
    }
    if (file_->version_leaf >= 0) {
      rb->versions = raw->GetColumnByName(kVersionColumn);
      if (rb->versions->null_count() > 0) return Corruption("null in column '", kVersionColumn, "'");
    }
    rb->file_version = file_->planned.ref.version ? file_->planned.ref.version->value() : 0;
    rb->batch = arrow::RecordBatch::Make(shape_.output_schema, raw->num_rows(), std::move(columns));
    ARROW_RETURN_NOT_OK(shape_.codec.Encode(keys, &rb->keys));
    return rb;
  }

  arrow::Result<std::shared_ptr<RunBatch>> SortRun(std::shared_ptr<RunBatch> rb) {
    std::vector<int64_t> order;
    order.reserve(rb->batch->num_rows());
    const auto& views = rb->keys.views;
    for (int64_t i = 0; i < rb->batch->num_rows(); ++i) {
      // Rows outside the bounds are dropped before sorting (keyed reads of
      // unsorted legacy files keep a handful of rows per file).
      if (bounds_.Holds(views[i])) order.push_back(i);
    }
    const int64_t n = static_cast<int64_t>(order.size());
    // By (key, event time), and among equal ones by descending file position.
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      if (int c = views[a].compare(views[b]); c != 0) return c < 0;
      if (rb->event_micros[a] != rb->event_micros[b]) return rb->event_micros[a] < rb->event_micros[b];
      return a > b;
    });
    arrow::Int64Builder ib;
    ARROW_RETURN_NOT_OK(ib.AppendValues(order));
    ARROW_ASSIGN_OR_RAISE(auto indices, ib.Finish());
    auto sorted = std::make_shared<RunBatch>();
    ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(rb->batch, indices));
    sorted->batch = taken.record_batch();
    sorted->event_micros.resize(n);
    for (int64_t i = 0; i < n; ++i) sorted->event_micros[i] = rb->event_micros[order[i]];
    if (rb->deleted) {
      ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Take(rb->deleted, indices));
      sorted->deleted = d.make_array();
    }
    if (rb->versions) {
      ARROW_ASSIGN_OR_RAISE(auto v, arrow::compute::Take(rb->versions, indices));
      sorted->versions = v.make_array();
    }
    sorted->file_version = rb->file_version;
    std::vector<std::shared_ptr<arrow::Array>> keys;
    for (size_t k = 0; k < shape_.schema.key_columns.size(); ++k) keys.push_back(sorted->batch->column(k));
    ARROW_RETURN_NOT_OK(shape_.codec.Encode(keys, &sorted->keys));
    return sorted;
  }

 public:
  std::string file_et_name_;
  std::vector<std::string> file_value_names_;

 private:
  io::Storage& storage_;
  std::shared_ptr<OpenedFile> file_;
  const ScanShape& shape_;
  KeyBounds bounds_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::vector<int> row_groups_;
  // Per selected row group: the rows of the pages read (RoutePages), or
  // nullopt: read whole.
  std::vector<std::optional<std::vector<int64_t>>> page_rows_;
  std::vector<bool> all_pages_;  // every page, by pages (StreamLargeGroupsByPages)
  bool pre_buffer_ = true;
  std::unique_ptr<RowGroupAccess> pages_;  // made when a row group is read by pages
  std::vector<int> leaves_;
  size_t next_row_group_ = 0;
  int current_row_group_ = -1;  // first being read; -1 before the first (or all at once)
  int last_row_group_ = -1;     // last being read
  int64_t rows_expected_ = 0;   // of the row groups being read, by the footer
  int64_t rows_read_ = 0;       // of them, so far
  int64_t batch_size_ = 64 * 1024;
  std::shared_ptr<arrow::RecordBatchReader> batches_;
  bool done_ = false;
};

}  // namespace

arrow::Result<std::shared_ptr<const ScanShape>> MakeScanShape(const Snapshot& snapshot,
                                                             std::vector<int> value_columns) {
  const TableSchema& schema = snapshot.schema;
  std::vector<std::shared_ptr<arrow::DataType>> key_types;
  arrow::FieldVector fields;
  for (const auto& k : schema.key_columns) {
    key_types.push_back(k.type);
    fields.push_back(arrow::field(k.name, k.type, false));
  }
  fields.push_back(arrow::field(schema.event_time.name, schema.event_time.type, false));
  for (int i : value_columns) {
    const auto& v = schema.value_columns[i];
    fields.push_back(arrow::field(v.name, v.type, true));
  }
  ARROW_ASSIGN_OR_RAISE(auto codec, KeyCodec::Make(key_types));
  return std::make_shared<const ScanShape>(ScanShape{schema, std::move(value_columns), arrow::schema(fields),
                                                     std::move(codec), snapshot.format_version >= 1});
}

int64_t RowGroupsReadByPages() { return row_groups_read_by_pages.load(std::memory_order_relaxed); }

int64_t OpenedFile::DataPages(int rg) const {
  const auto chunk = metadata->RowGroup(rg)->ColumnChunk(event_time_leaf);
  int64_t n = 0;
  for (const auto& e : chunk->encoding_stats()) {
    if (e.page_type == parquet::PageType::DATA_PAGE || e.page_type == parquet::PageType::DATA_PAGE_V2) n += e.count;
  }
  return chunk->encoding_stats().empty() ? 2 : n;
}

std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

bool MayHoldKeys(const DataFileRef& ref, const KeyCodec& codec, const KeyBounds& bounds) {
  if (ref.min_key.size() != codec.num_columns() || ref.max_key.size() != codec.num_columns()) return true;
  auto lo = codec.EncodeScalars(ref.min_key);
  auto hi = codec.EncodeScalars(ref.max_key);
  if (!lo.ok() || !hi.ok()) return true;
  return bounds.Meets(*lo, *hi);
}

arrow::Result<std::shared_ptr<OpenedFile>> OpenDataFile(io::Storage& storage,
                                                        const planning::PlannedFile& planned,
                                                        const ScanShape& shape) {
  return OpenDataFile(storage, planned, shape, nullptr);
}

arrow::Result<std::shared_ptr<OpenedFile>> OpenDataFile(io::Storage& storage,
                                                        const planning::PlannedFile& planned,
                                                        const ScanShape& shape, FooterCache* cache) {
  const std::string& name = planned.ref.path;
  std::shared_ptr<parquet::FileMetaData> cached = cache ? cache->Get(name) : nullptr;
  ARROW_ASSIGN_OR_RAISE(auto reader, MakeReader(storage, name, cached, 1024, planned.ref.size));
  auto file = std::make_shared<OpenedFile>();
  file->planned = planned;
  file->metadata = reader->parquet_reader()->metadata();
  if (cache && !cached) cache->Put(name, file->metadata);
  file->num_rows = file->metadata->num_rows();
  std::shared_ptr<arrow::Schema> schema;
  auto st = reader->GetSchema(&schema);
  if (!st.ok()) return Corruption(Quote(storage, name), "unreadable schema (", st.message(), ")");
  const auto& fields = reader->manifest().schema_fields;

  auto leaf_of = [&](int field_index) -> int {
    return field_index < 0 ? -1 : fields[field_index].column_index;
  };
  auto require = [&](const std::string& col) -> arrow::Result<int> {
    int i = schema->GetFieldIndex(col);
    if (i < 0) return Corruption(Quote(storage, name), "no column '", col, "'");
    if (leaf_of(i) < 0) return Corruption(Quote(storage, name), "column '", col, "' is nested");
    return i;
  };

  for (const auto& k : shape.schema.key_columns) {
    ARROW_ASSIGN_OR_RAISE(int i, require(k.name));
    file->key_leaves.push_back(leaf_of(i));
  }
  ARROW_ASSIGN_OR_RAISE(int et, require(shape.schema.event_time.name));
  if (schema->field(et)->type()->id() != arrow::Type::TIMESTAMP) {
    return Corruption(Quote(storage, name), "column '", shape.schema.event_time.name, "' is ",
                      schema->field(et)->type()->ToString(), ", not a timestamp");
  }
  file->event_time_leaf = leaf_of(et);
  int del = schema->GetFieldIndex(kDeletedColumn);
  if (del >= 0) {
    if (schema->field(del)->type()->id() != arrow::Type::BOOL) {
      return Corruption(Quote(storage, name), "column '", kDeletedColumn, "' is not boolean");
    }
    file->deleted_leaf = leaf_of(del);
  }
  if (int ver = schema->GetFieldIndex(kVersionColumn); ver >= 0) {
    if (schema->field(ver)->type()->id() != arrow::Type::INT64) {
      return Corruption(Quote(storage, name), "column '", kVersionColumn, "' is not int64");
    }
    file->version_leaf = leaf_of(ver);
  }
  for (int vi : shape.value_columns) {
    const auto& spec = shape.schema.value_columns[vi];
    const int found = metadata::FindValueColumn(*schema, spec, shape.match_by_id);
    if (found >= 0 && leaf_of(found) < 0) {
      return Corruption(Quote(storage, name), "column '", spec.name, "' is nested");
    }
    if (found >= 0 && shape.match_by_id && !ReadableAs(*schema->field(found)->type(), *spec.type)) {
      // Format-1 files hold the column's type when they were written; the
      // schema may since have widened it, never changed it otherwise.
      auto type_name = [](const arrow::DataType& t) { return metadata::TypeName(t).ValueOr(t.ToString()); };
      return Corruption(Quote(storage, name), "column '", spec.name, "' is ",
                        type_name(*schema->field(found)->type()), ", which is neither the table's type ",
                        type_name(*spec.type), " nor a type that widens to it");
    }
    file->value_leaves.push_back(leaf_of(found));
  }

  // Row-group key bounds from Parquet statistics of the first key column.
  // For a composite key the first column's encoding is a prefix of the key
  // (key_codec.h): [prefix(min), successor(prefix(max))) holds every key of
  // the group, which is all pruning and splitting need.
  file->row_group_bounds.resize(file->metadata->num_row_groups());
  const bool composite = shape.schema.key_columns.size() > 1;
  const auto* key_column = file->metadata->schema()->Column(file->key_leaves[0]);
  for (int rg = 0; rg < file->metadata->num_row_groups(); ++rg) {
    auto stats = file->metadata->RowGroup(rg)->ColumnChunk(file->key_leaves[0])->statistics();
    if (!stats || !stats->HasMinMax()) continue;
    file->row_group_bounds[rg] =
        StatisticsKeyBounds(key_column, stats->EncodeMin(), stats->EncodeMax(), shape.codec, composite);
  }
  return file;
}

arrow::Result<std::unique_ptr<RunSource>> RunSource::Make(io::Storage& storage,
                                                          std::shared_ptr<OpenedFile> file,
                                                          const ScanShape& shape,
                                                          const KeyBounds& bounds,
                                                          int64_t batch_size, bool pre_buffer) {
  auto run = std::make_unique<ParquetRun>(storage, file, shape, bounds);
  // Names of the columns as the file spells them (value columns may be
  // matched by id under another name).
  const auto& fields = file->metadata->schema();
  auto leaf_name = [&](int leaf) { return fields->Column(leaf)->path()->ToDotVector()[0]; };
  run->file_et_name_ = leaf_name(file->event_time_leaf);
  for (int l : file->value_leaves) run->file_value_names_.push_back(l >= 0 ? leaf_name(l) : "");
  auto st = run->Init(batch_size, pre_buffer);
  if (!st.ok()) return WithContext(st, Quote(storage, file->planned.ref.path));
  return run;
}

}  // namespace bazof::read
