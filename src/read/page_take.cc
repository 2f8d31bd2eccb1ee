#include "read/page_take.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/memory.h>
#include <arrow/util/bit_util.h>
#include <parquet/arrow/schema.h>
#include <parquet/column_page.h>
#include <parquet/column_reader.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/page_index.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "bazof/error.h"

namespace bazof::read {
namespace {

// The first row of each page of the chunk, then the chunk's rows; kCorruption
// when the index does not describe pages of [0, rows).
arrow::Result<std::vector<int64_t>> PageStarts(const parquet::OffsetIndex& index, int64_t rows) {
  const auto& locs = index.page_locations();
  std::vector<int64_t> starts;
  starts.reserve(locs.size() + 1);
  for (const auto& loc : locs) {
    const int64_t prev = starts.empty() ? -1 : starts.back();
    if ((starts.empty() && loc.first_row_index != 0) || loc.first_row_index <= prev || loc.first_row_index >= rows) {
      return Corruption("offset index: page first rows not ascending within the row group's ", rows, " rows");
    }
    starts.push_back(loc.first_row_index);
  }
  if (starts.empty()) return Corruption("offset index: no pages");
  starts.push_back(rows);
  return starts;
}

// The page of `starts` (PageStarts) that holds `row`.
size_t PageOf(const std::vector<int64_t>& starts, int64_t row) {
  return static_cast<size_t>(std::upper_bound(starts.begin(), starts.end() - 1, row) - starts.begin()) - 1;
}

// The pages PageRanges chose, one buffer each (header and body), as one
// stream for a PageReader. A read never runs from one page into the next: a
// header claiming more bytes than its page holds gets a short read, which
// Parquet reports.
class PageStream final : public arrow::io::InputStream {
 public:
  explicit PageStream(std::vector<std::shared_ptr<arrow::Buffer>> pages) : pages_(std::move(pages)) {}
  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return position_; }
  bool supports_zero_copy() const override { return true; }
  arrow::Result<std::string_view> Peek(int64_t nbytes) override {
    if (!NextByte()) return std::string_view();
    const auto& page = pages_[page_];
    return std::string_view(reinterpret_cast<const char*>(page->data()) + at_,
                            static_cast<size_t>(std::min(nbytes, page->size() - at_)));
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    if (!NextByte()) return std::make_shared<arrow::Buffer>(nullptr, 0);
    const int64_t n = std::min(nbytes, pages_[page_]->size() - at_);
    auto out = arrow::SliceBuffer(pages_[page_], at_, n);
    at_ += n;
    position_ += n;
    return out;
  }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(auto b, Read(nbytes));
    if (b->size() > 0) std::memcpy(out, b->data(), static_cast<size_t>(b->size()));
    return b->size();
  }

 private:
  // Moves past exhausted pages; false at the end of the last.
  bool NextByte() {
    while (page_ < pages_.size() && at_ >= pages_[page_]->size()) {
      ++page_;
      at_ = 0;
    }
    return page_ < pages_.size();
  }
  std::vector<std::shared_ptr<arrow::Buffer>> pages_;
  size_t page_ = 0;
  int64_t at_ = 0;        // in pages_[page_]
  int64_t position_ = 0;  // in the stream
  bool closed_ = false;
};

// The pages of `starts` (PageStarts) holding `rows`.
arrow::Result<std::vector<uint8_t>> KeptPages(const std::vector<int64_t>& starts, int64_t row_group_rows,
                                              const std::vector<int64_t>& rows) {
  std::vector<uint8_t> keep(starts.size() - 1, 0);
  // Rows ascend: one walk over the pages, skipping the rest of a kept page's
  // rows by binary search (a page's rows are often all listed).
  size_t page = 0;
  for (size_t i = 0; i < rows.size();) {
    const int64_t r = rows[i];
    if (r < 0 || r >= row_group_rows) return arrow::Status::IndexError("row ", r, " out of the row group");
    if (r < starts[page]) page = PageOf(starts, r);
    while (starts[page + 1] <= r) ++page;
    keep[page] = 1;
    i = static_cast<size_t>(std::lower_bound(rows.begin() + i + 1, rows.end(), starts[page + 1]) - rows.begin());
  }
  return keep;
}

// PageRanges for the kept pages `keep` of the chunk.
arrow::Result<std::vector<arrow::io::ReadRange>> RangesOf(const parquet::ColumnChunkMetaData& chunk,
                                                          const parquet::OffsetIndex& index,
                                                          const std::vector<uint8_t>& keep) {
  const auto& locs = index.page_locations();
  std::vector<arrow::io::ReadRange> out;
  int64_t end = 0;  // of the previous page
  for (size_t p = 0; p < locs.size(); ++p) {
    const auto& loc = locs[p];
    if (loc.offset < end || loc.compressed_page_size <= 0) {
      return Corruption("offset index: page ", p, " at byte ", loc.offset, " (", loc.compressed_page_size,
                        " bytes) overlaps the page before it or is empty");
    }
    end = loc.offset + loc.compressed_page_size;
  }
  if (chunk.has_dictionary_page()) {
    const int64_t dict = chunk.dictionary_page_offset();
    // Every writer puts the dictionary right before the first data page.
    if (dict < 0 || dict >= locs[0].offset || locs[0].offset - dict > chunk.total_compressed_size()) {
      return Corruption("dictionary page at byte ", dict, " is not before the first data page (byte ",
                        locs[0].offset, ")");
    }
    out.push_back({dict, locs[0].offset - dict});
  }
  for (size_t p = 0; p < locs.size(); ++p) {
    if (keep[p]) out.push_back({locs[p].offset, locs[p].compressed_page_size});
  }
  return out;
}

// The decoded values of a fixed-width column as an array of `physical`.
arrow::Result<std::shared_ptr<arrow::Array>> FixedWidthArray(parquet::internal::RecordReader& rr,
                                                             const std::shared_ptr<arrow::DataType>& physical,
                                                             arrow::MemoryPool* pool) {
  const int64_t n = rr.values_written();
  const int64_t nulls = rr.nullable_values() ? rr.null_count() : 0;
  std::shared_ptr<arrow::Buffer> valid;
  if (rr.nullable_values()) valid = rr.ReleaseIsValid();
  if (nulls == 0) valid = nullptr;
  std::shared_ptr<arrow::Buffer> values = rr.ReleaseValues();
  if (physical->id() == arrow::Type::BOOL) {
    // The record reader keeps one byte per boolean.
    ARROW_ASSIGN_OR_RAISE(auto bits, arrow::AllocateEmptyBitmap(n, pool));
    const uint8_t* bytes = values->data();
    for (int64_t i = 0; i < n; ++i) {
      if (bytes[i]) arrow::bit_util::SetBit(bits->mutable_data(), i);
    }
    values = std::move(bits);
  }
  return arrow::MakeArray(arrow::ArrayData::Make(physical, n, {std::move(valid), std::move(values)}, nulls));
}

// `a` (of the leaf's physical type) as `type`: the same bits under another
// name (int64 -> timestamp, int32 -> date32 or uint32), or a cast to a
// narrower integer.
arrow::Result<std::shared_ptr<arrow::Array>> AsType(const std::shared_ptr<arrow::Array>& a,
                                                    const std::shared_ptr<arrow::DataType>& type) {
  if (a->type()->Equals(*type)) return a;
  const auto* from = dynamic_cast<const arrow::FixedWidthType*>(a->type().get());
  const auto* to = dynamic_cast<const arrow::FixedWidthType*>(type.get());
  const bool same_width = from && to && from->bit_width() == to->bit_width();
  const bool same_layout = (arrow::is_binary_like(a->type_id()) && arrow::is_binary_like(type->id()));
  if (same_width || same_layout) {
    auto data = a->data()->Copy();
    data->type = type;
    return arrow::MakeArray(std::move(data));
  }
  return arrow::compute::Cast(*a, type);
}

arrow::Result<std::shared_ptr<arrow::Array>> Take(const parquet::RowGroupMetaData& row_group,
                                                  const parquet::arrow::SchemaField& field,
                                                  const parquet::OffsetIndex& index, const std::vector<int64_t>& rows,
                                                  const PageBytes& bytes, const parquet::ReaderProperties& properties) {
  const int64_t row_group_rows = row_group.num_rows();
  ARROW_ASSIGN_OR_RAISE(const auto starts, PageStarts(index, row_group_rows));
  const size_t pages = starts.size() - 1;
  // The pages to decode and, for each, its first row's position among the
  // decoded rows.
  ARROW_ASSIGN_OR_RAISE(const auto keep, KeptPages(starts, row_group_rows, rows));
  std::vector<int64_t> at(pages, 0);
  int64_t decoded_rows = 0;
  for (size_t p = 0; p < pages; ++p) {
    at[p] = decoded_rows;
    if (keep[p]) decoded_rows += starts[p + 1] - starts[p];
  }

  const int leaf = field.column_index;
  const parquet::ColumnDescriptor* descr = row_group.schema()->Column(leaf);
  const auto chunk_metadata = row_group.ColumnChunk(leaf);
  const parquet::ColumnChunkMetaData& chunk = *chunk_metadata;
  ARROW_ASSIGN_OR_RAISE(const auto ranges, RangesOf(chunk, index, keep));
  std::vector<std::shared_ptr<arrow::Buffer>> page_bytes;
  page_bytes.reserve(ranges.size());
  for (const auto& r : ranges) {
    ARROW_ASSIGN_OR_RAISE(auto b, bytes.Slice(r));
    page_bytes.push_back(std::move(b));
  }
  // Only the kept pages are in the stream: the reader never sees the others'
  // headers.
  std::unique_ptr<parquet::PageReader> pager =
      parquet::PageReader::Open(std::make_shared<PageStream>(std::move(page_bytes)), chunk.num_values(),
                                chunk.compression(), properties, *descr);
  arrow::MemoryPool* pool = properties.memory_pool();
  const auto& type = field.field->type();
  auto rr = parquet::internal::RecordReader::Make(descr, field.level_info, pool, /*read_dictionary=*/false,
                                                  /*read_dense_for_nullable=*/false, type);
  rr->SetPageReader(std::move(pager));
  rr->Reserve(decoded_rows);
  int64_t got = 0;
  while (got < decoded_rows) {
    const int64_t n = rr->ReadRecords(decoded_rows - got);
    if (n == 0) break;
    got += n;
  }
  if (got != decoded_rows) {
    return Corruption("column '", descr->name(), "': its pages hold ", got, " of the ", decoded_rows,
                      " rows its offset index gives them");
  }

  std::shared_ptr<arrow::Array> decoded;
  if (descr->physical_type() == parquet::Type::BYTE_ARRAY) {
    auto* binary = dynamic_cast<parquet::internal::BinaryRecordReader*>(rr.get());
    if (!binary) return arrow::Status::NotImplemented("column '", descr->name(), "': not a binary reader");
    auto chunks = binary->GetBuilderChunks();
    if (chunks.size() == 1) {
      decoded = std::move(chunks[0]);
    } else {
      ARROW_ASSIGN_OR_RAISE(decoded, arrow::Concatenate(chunks, pool));
    }
  } else {
    std::shared_ptr<arrow::DataType> physical;
    switch (descr->physical_type()) {
      case parquet::Type::BOOLEAN: physical = arrow::boolean(); break;
      case parquet::Type::INT32: physical = arrow::int32(); break;
      case parquet::Type::INT64: physical = arrow::int64(); break;
      case parquet::Type::FLOAT: physical = arrow::float32(); break;
      case parquet::Type::DOUBLE: physical = arrow::float64(); break;
      default:
        return arrow::Status::NotImplemented("column '", descr->name(), "': physical type ",
                                             parquet::TypeToString(descr->physical_type()));
    }
    ARROW_ASSIGN_OR_RAISE(decoded, FixedWidthArray(*rr, physical, pool));
  }
  if (decoded->length() != decoded_rows) {
    return Corruption("column '", descr->name(), "': decoded ", decoded->length(), " rows, expected ", decoded_rows);
  }
  ARROW_ASSIGN_OR_RAISE(decoded, AsType(decoded, type));

  // Rows that are one run of the decoded rows (every row of the kept pages,
  // or a single row) are a slice: no Take kernel call.
  if (!rows.empty()) {
    const size_t p0 = PageOf(starts, rows.front());
    const int64_t first = at[p0] + (rows.front() - starts[p0]);
    const size_t p1 = PageOf(starts, rows.back());
    const int64_t last = at[p1] + (rows.back() - starts[p1]);
    if (last - first + 1 == static_cast<int64_t>(rows.size())) return decoded->Slice(first, last - first + 1);
  }
  arrow::Int64Builder positions(pool);
  ARROW_RETURN_NOT_OK(positions.Reserve(static_cast<int64_t>(rows.size())));
  size_t p = 0;
  for (int64_t r : rows) {
    if (r < starts[p]) p = PageOf(starts, r);
    while (starts[p + 1] <= r) ++p;
    positions.UnsafeAppend(at[p] + (r - starts[p]));
  }
  ARROW_ASSIGN_OR_RAISE(auto indices, positions.Finish());
  return arrow::compute::Take(*decoded, *indices);
}

}  // namespace

bool PageTakeSupports(const parquet::arrow::SchemaField& field) {
  if (!field.is_leaf() || !field.field || field.level_info.rep_level != 0 || field.level_info.def_level > 1) {
    return false;
  }
  switch (field.field->type()->id()) {
    case arrow::Type::BOOL:
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
    case arrow::Type::UINT64:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::DATE32:
    case arrow::Type::TIME32:
    case arrow::Type::TIME64:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return true;
    default:
      return false;
  }
}

int64_t PagesHolding(const parquet::OffsetIndex& index, const std::vector<int64_t>& rows) {
  const auto& locs = index.page_locations();
  int64_t out = 0;
  size_t page = 0;
  bool counted = false;
  for (int64_t r : rows) {
    while (page + 1 < locs.size() && locs[page + 1].first_row_index <= r) {
      ++page;
      counted = false;
    }
    if (!counted) {
      ++out;
      counted = true;
    }
  }
  return out;
}

arrow::Result<std::vector<arrow::io::ReadRange>> PageRanges(const parquet::ColumnChunkMetaData& chunk,
                                                            const parquet::OffsetIndex& index,
                                                            int64_t row_group_rows,
                                                            const std::vector<int64_t>& rows) {
  ARROW_ASSIGN_OR_RAISE(const auto starts, PageStarts(index, row_group_rows));
  ARROW_ASSIGN_OR_RAISE(const auto keep, KeptPages(starts, row_group_rows, rows));
  return RangesOf(chunk, index, keep);
}

arrow::Result<PageBytes> PageBytes::Read(arrow::io::RandomAccessFile& file, std::vector<arrow::io::ReadRange> ranges,
                                         int64_t hole) {
  std::sort(ranges.begin(), ranges.end(),
            [](const auto& a, const auto& b) { return a.offset < b.offset; });
  PageBytes out;
  for (size_t i = 0; i < ranges.size();) {
    const int64_t begin = ranges[i].offset;
    int64_t end = begin + ranges[i].length;
    size_t j = i + 1;
    for (; j < ranges.size() && ranges[j].offset <= end + hole; ++j) {
      end = std::max(end, ranges[j].offset + ranges[j].length);
    }
    ARROW_ASSIGN_OR_RAISE(auto b, file.ReadAt(begin, end - begin));
    if (b->size() != end - begin) {
      return Corruption("pages at bytes ", begin, "-", end, " lie past the end of the file (", b->size(),
                        " of their ", end - begin, " bytes read)");
    }
    out.reads_.push_back({begin, std::move(b)});
    i = j;
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> PageBytes::Slice(const arrow::io::ReadRange& range) const {
  auto it = std::upper_bound(reads_.begin(), reads_.end(), range.offset,
                             [](int64_t offset, const Piece& p) { return offset < p.offset; });
  if (it != reads_.begin()) {
    const Piece& p = *(it - 1);
    if (range.offset + range.length <= p.offset + p.bytes->size()) {
      return arrow::SliceBuffer(p.bytes, range.offset - p.offset, range.length);
    }
  }
  return arrow::Status::IndexError("bytes ", range.offset, "-", range.offset + range.length, " were not read");
}

arrow::Result<std::shared_ptr<arrow::Array>> TakeFromPages(const parquet::RowGroupMetaData& row_group,
                                                           const parquet::arrow::SchemaField& field,
                                                           const parquet::OffsetIndex& index,
                                                           const std::vector<int64_t>& rows, const PageBytes& bytes,
                                                           const parquet::ReaderProperties& properties) {
  // Parquet's page and record readers report damage by throwing.
  try {
    return Take(row_group, field, index, rows, bytes, properties);
  } catch (const parquet::ParquetException& e) {
    return arrow::Status::IOError(e.what());
  } catch (const std::exception& e) {
    return arrow::Status::IOError(e.what());
  }
}

}  // namespace bazof::read
