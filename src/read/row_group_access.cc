// RowGroupAccess (read/run_reader.h): random access to the row groups and,
// through the page index, the pages of one sorted data file (the as-of join).
#include "read/run_reader.h"
#include "read/run_reader_internal.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/caching.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/column_reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/page_index.h>
#include <parquet/statistics.h>

#include <algorithm>
#include <cstring>
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

using namespace detail;

namespace {

// Locally a request costs about as much as copying a few KiB: pages closer
// than this are read as one range.
constexpr int64_t kLocalHoleBytes = 8 << 10;

parquet::ReaderProperties PageProperties() {
  parquet::ReaderProperties props = metadata::DataFileReaderProperties();
  props.set_memory_pool(RecyclingPool());
  return props;
}

}  // namespace

struct RowGroupAccess::Impl {
  std::unique_ptr<parquet::arrow::FileReader> reader;
  std::string et_name;
  std::vector<std::string> value_names;  // as the file spells them; "" = absent
  std::vector<int64_t> starts;           // per row group: its first row in the file; then the file's rows
  // Page-level reads (TakeValues): the leaves' Arrow types as the Parquet
  // schema gives them, and the page index; made on first use.
  std::optional<parquet::arrow::SchemaManifest> manifest;
  std::shared_ptr<parquet::PageIndexReader> page_index;
  int64_t by_pages = 0;  // row groups TakeValues read page by page
  // Whether every event-time column the key side read was the table's
  // type, timestamp[us] (so its micros are the values); unset before.
  std::optional<bool> et_exact;
  void SawEventTime(const arrow::DataType& file_type, const arrow::DataType& table_type) {
    const bool exact = file_type.Equals(table_type) &&
                       static_cast<const arrow::TimestampType&>(table_type).unit() == arrow::TimeUnit::MICRO;
    et_exact = et_exact.value_or(true) && exact;
  }
  // Page-level reads: their own handle on the file (FetchPages), and the
  // properties of the main reader (CRC checks, the recycling pool).
  std::shared_ptr<arrow::io::RandomAccessFile> page_file;
  parquet::ReaderProperties page_properties = PageProperties();
  // Parsed offset indexes by (row group, leaf): phase 1 and 2 of a join
  // and the route choice read the same ones.
  std::map<std::pair<int, int>, std::shared_ptr<parquet::OffsetIndex>> offsets;
  // The offset index of `leaf` in `rg`, or null; may throw (Parquet).
  std::shared_ptr<parquet::OffsetIndex> OffsetIndexOf(int rg, int leaf) {
    auto [it, added] = offsets.try_emplace({rg, leaf});
    if (added) {
      auto index = RowGroupIndex(rg);
      if (index) it->second = index->GetOffsetIndex(leaf);
    }
    return it->second;
  }
  // The page index reader of row group `rg`, or null; may throw (Parquet).
  // One per row group: each reads the group's column (offset) indexes of
  // every column in one read, on first use.
  std::map<int, std::shared_ptr<parquet::RowGroupPageIndexReader>> row_group_indexes;
  std::shared_ptr<parquet::RowGroupPageIndexReader> RowGroupIndex(int rg) {
    auto [it, added] = row_group_indexes.try_emplace(rg);
    if (added) it->second = page_index->RowGroup(rg);
    return it->second;
  }
};

arrow::Result<PageBytes> RowGroupAccess::FetchPages(
    const std::vector<std::pair<int, const std::vector<int64_t>*>>& picks, const std::vector<int>& leaves) {
  const std::string file = Quote(storage_, file_->planned.ref.path);
  std::vector<arrow::io::ReadRange> ranges;
  for (const auto& [rg, local] : picks) {
    if (local->empty()) continue;
    const auto row_group = file_->metadata->RowGroup(rg);
    for (int leaf : leaves) {
      std::shared_ptr<parquet::OffsetIndex> offsets;
      try {
        offsets = impl_->OffsetIndexOf(rg, leaf);
      } catch (const std::exception& e) {
        return Corruption(file, Where({rg}), "offset index: ", e.what());
      }
      if (!offsets) return Corruption(file, Where({rg}), "no offset index for leaf ", leaf);
      auto more = PageRanges(*row_group->ColumnChunk(leaf), *offsets, impl_->starts[rg + 1] - impl_->starts[rg], *local);
      if (!more.ok()) return WithContext(more.status(), file + Where({rg}));
      ranges.insert(ranges.end(), more->begin(), more->end());
    }
  }
  // A handle of its own: the main reader's is behind its pre-buffer cache.
  if (!impl_->page_file) {
    ARROW_ASSIGN_OR_RAISE(impl_->page_file, storage_.OpenForRead(file_->planned.ref.path, file_->planned.ref.size));
  }
  auto bytes = PageBytes::Read(*impl_->page_file, std::move(ranges),
                               storage_.high_latency() ? kObjectStoreHoleBytes : kLocalHoleBytes);
  if (!bytes.ok()) return WithContext(bytes.status(), file);
  return bytes;
}

arrow::Result<std::shared_ptr<arrow::Array>> RowGroupAccess::TakePageRows(const PageBytes& bytes, int rg, int leaf,
                                                                          const std::vector<int64_t>& local) {
  const parquet::arrow::SchemaField* field = nullptr;
  ARROW_RETURN_NOT_OK(impl_->manifest->GetColumnField(leaf, &field));
  std::shared_ptr<parquet::OffsetIndex> offsets;
  try {
    offsets = impl_->OffsetIndexOf(rg, leaf);
  } catch (const std::exception& e) {
    return Corruption(Quote(storage_, file_->planned.ref.path), Where({rg}), "offset index: ", e.what());
  }
  auto a = TakeFromPages(*file_->metadata->RowGroup(rg), *field, *offsets, local, bytes, impl_->page_properties);
  if (!a.ok()) {
    return WithContext(metadata::PageReadError(a.status(), Where({rg})), Quote(storage_, file_->planned.ref.path));
  }
  return *a;
}

namespace {

// Whether `leaf` is a string or binary column whose data pages are all
// dictionary-encoded, judged from the first row group's encoding stats.
bool DictionaryEncoded(const parquet::FileMetaData& metadata, int leaf) {
  if (metadata.num_row_groups() == 0) return false;
  if (metadata.schema()->Column(leaf)->physical_type() != parquet::Type::BYTE_ARRAY) return false;
  const auto chunk = metadata.RowGroup(0)->ColumnChunk(leaf);
  bool any = false;
  for (const auto& e : chunk->encoding_stats()) {
    if (e.page_type != parquet::PageType::DATA_PAGE && e.page_type != parquet::PageType::DATA_PAGE_V2) continue;
    if (e.encoding != parquet::Encoding::RLE_DICTIONARY && e.encoding != parquet::Encoding::PLAIN_DICTIONARY) {
      return false;
    }
    any = true;
  }
  return any;
}

}  // namespace

RowGroupAccess::RowGroupAccess(io::Storage& storage, std::shared_ptr<OpenedFile> file, const ScanShape& shape)
    : storage_(storage), file_(std::move(file)), shape_(shape), impl_(std::make_unique<Impl>()) {}

RowGroupAccess::~RowGroupAccess() = default;

arrow::Result<std::unique_ptr<RowGroupAccess>> RowGroupAccess::Make(io::Storage& storage,
                                                                    std::shared_ptr<OpenedFile> file,
                                                                    const ScanShape& shape) {
  if (!file->planned.ref.sorted) {
    return arrow::Status::NotImplemented(Quote(storage, file->planned.ref.path), "not sorted by key");
  }
  std::unique_ptr<RowGroupAccess> out(new RowGroupAccess(storage, file, shape));
  // Pre-buffering merges the column chunks of one call into few reads. On
  // object storage ranges up to 1 MiB apart are merged too (reading the
  // bytes between them: a GET costs tens of ms, 1 MiB about as much), so a
  // call over many small row groups is a few GETs rather than one per row
  // group; locally only adjacent ranges are (Arrow's default).
  std::optional<arrow::io::CacheOptions> cache;
  if (storage.high_latency()) {
    cache = arrow::io::CacheOptions::LazyDefaults();
    cache->hole_size_limit = kObjectStoreHoleBytes;
  }
  // Dictionary-encoded string columns are read as their dictionary indices:
  // ReadKeyRuns encodes each key once per dictionary, TakeValues decodes only
  // the taken strings. Plain-encoded ones are read as they are (building a
  // dictionary for them would cost a hash per row).
  std::vector<int> dictionary_leaves;
  if (shape.schema.key_columns.size() == 1 && file->key_leaves.size() == 1 &&
      DictionaryEncoded(*file->metadata, file->key_leaves[0])) {
    dictionary_leaves.push_back(file->key_leaves[0]);
  }
  for (int l : file->value_leaves) {
    if (l >= 0 && DictionaryEncoded(*file->metadata, l)) dictionary_leaves.push_back(l);
  }
  ARROW_ASSIGN_OR_RAISE(out->impl_->reader,
                        MakeReader(storage, file->planned.ref.path, file->metadata, 1 << 30, file->planned.ref.size,
                                   true, cache ? &*cache : nullptr, dictionary_leaves));
  const auto& fields = file->metadata->schema();
  auto leaf_name = [&](int leaf) { return fields->Column(leaf)->path()->ToDotVector()[0]; };
  out->impl_->et_name = leaf_name(file->event_time_leaf);
  for (int l : file->value_leaves) out->impl_->value_names.push_back(l >= 0 ? leaf_name(l) : "");
  auto& starts = out->impl_->starts;
  starts.assign(1, 0);
  for (int rg = 0; rg < file->metadata->num_row_groups(); ++rg) {
    starts.push_back(starts.back() + file->metadata->RowGroup(rg)->num_rows());
  }
  return out;
}

std::vector<int> RowGroupAccess::RowGroupsFor(const std::vector<std::string>& key_in) const {
  std::vector<int> out;
  for (int rg = 0; rg < file_->metadata->num_row_groups(); ++rg) {
    if (file_->metadata->RowGroup(rg)->num_rows() == 0) continue;
    const auto& b = file_->row_group_bounds[rg];
    if (b && !key_in.empty()) {
      auto it = std::lower_bound(key_in.begin(), key_in.end(), b->first);
      if (it == key_in.end() || *it > b->second) continue;
    }
    out.push_back(rg);
  }
  return out;
}

int64_t RowGroupAccess::RowGroupStart(int rg) const { return impl_->starts[rg]; }

int64_t RowGroupAccess::row_groups_read_by_pages() const { return impl_->by_pages; }

bool RowGroupAccess::event_micros_exact() const { return impl_->et_exact.value_or(false); }

std::vector<std::vector<int>> RowGroupAccess::Batches(const std::vector<int>& row_groups, int64_t max_rows) const {
  std::vector<std::vector<int>> out;
  int64_t rows = 0;
  for (int rg : row_groups) {
    const int64_t n = impl_->starts[rg + 1] - impl_->starts[rg];
    if (out.empty() || (rows + n > max_rows && !out.back().empty())) {
      out.emplace_back();
      rows = 0;
    }
    out.back().push_back(rg);
    rows += n;
  }
  return out;
}

bool RowGroupAccess::EnsurePageIndex() {
  if (!impl_->manifest) {
    try {
      // Without the stored Arrow schema: the types the pages hold (a
      // timestamp[s] column is stored in ms), cast to the table's.
      parquet::arrow::SchemaManifest manifest;
      if (!parquet::arrow::SchemaManifest::Make(file_->metadata->schema(), nullptr, parquet::ArrowReaderProperties(),
                                                &manifest)
               .ok()) {
        return false;
      }
      impl_->manifest = std::move(manifest);
      impl_->page_index = impl_->reader->parquet_reader()->GetPageIndexReader();
    } catch (const std::exception&) {
      impl_->page_index = nullptr;
    }
  }
  return impl_->page_index != nullptr;
}

std::vector<uint8_t> RowGroupAccess::PageRouted(const std::vector<int>& groups, const std::vector<int64_t>& rows,
                                                const std::vector<int>& leaves) {
  std::vector<uint8_t> out(groups.size(), 0);
  const auto& starts = impl_->starts;
  size_t next = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    const int rg = groups[g];
    std::vector<int64_t> local;
    for (; next < rows.size() && rows[next] < starts[rg + 1]; ++next) local.push_back(rows[next] - starts[rg]);
    // One page per chunk (files written before page-sized pages) needs no
    // page index read; nor do more rows than pages (a dense pick, likely
    // spread over most pages).
    const int64_t data_pages = file_->DataPages(rg);
    if (data_pages <= 1 || static_cast<int64_t>(local.size()) > data_pages) continue;
    if (!EnsurePageIndex()) return out;
    try {
      auto index = impl_->RowGroupIndex(rg);
      if (!index) continue;
      bool ok = true;
      int64_t pages = 0, holding = 0;
      for (int leaf : leaves) {
        const parquet::arrow::SchemaField* field = nullptr;
        auto offsets = impl_->OffsetIndexOf(rg, leaf);
        if (!offsets || !impl_->manifest->GetColumnField(leaf, &field).ok() || !PageTakeSupports(*field)) {
          ok = false;
          break;
        }
      }
      // Pages counted in the event-time column (read or not: a join takes
      // the event times from its key side).
      if (auto et = ok ? impl_->OffsetIndexOf(rg, file_->event_time_leaf) : nullptr) {
        pages = static_cast<int64_t>(et->page_locations().size());
        holding = PagesHolding(*et, local);
      }
      // Decoding half of the pages or more: the whole chunks cost about the
      // same and are read in fewer, batched calls.
      out[g] = ok && pages > 1 && 2 * holding <= pages;
    } catch (const std::exception&) {
      // An unreadable page index: the chunks are read whole (they carry
      // their own checks).
      out[g] = 0;
    }
  }
  return out;
}

bool RowGroupAccess::PageKeyRanges(int rg, const std::vector<int>& leaves, std::vector<PageRange>* out,
                                   bool with_keys) {
  out->clear();
  if (!EnsurePageIndex()) return false;
  const int key_leaf = file_->key_leaves[0];
  const bool composite = shape_.schema.key_columns.size() > 1;
  const auto* descr = file_->metadata->schema()->Column(key_leaf);
  try {
    auto index = impl_->RowGroupIndex(rg);
    if (!index) return false;
    auto keys = index->GetColumnIndex(key_leaf);
    auto offsets = impl_->OffsetIndexOf(rg, key_leaf);
    if (!keys || !offsets) return false;
    for (int leaf : leaves) {
      const parquet::arrow::SchemaField* field = nullptr;
      if (!impl_->manifest->GetColumnField(leaf, &field).ok() || !PageTakeSupports(*field) ||
          !impl_->OffsetIndexOf(rg, leaf)) {
        return false;
      }
    }
    const auto& locs = offsets->page_locations();
    const auto& mins = keys->encoded_min_values();
    const auto& maxs = keys->encoded_max_values();
    const auto& nulls = keys->null_pages();
    if (mins.size() != locs.size() || maxs.size() != locs.size() || nulls.size() != locs.size()) return false;
    const int64_t rg_rows = impl_->starts[rg + 1] - impl_->starts[rg];
    for (size_t p = 0; p < locs.size(); ++p) {
      PageRange page;
      page.begin = locs[p].first_row_index;
      page.end = p + 1 < locs.size() ? locs[p + 1].first_row_index : rg_rows;
      if (page.begin < 0 || page.end > rg_rows || page.begin > page.end) return false;
      page.empty = nulls[p];  // keys are never null
      // The page's key bounds as the row groups' (OpenDataFile).
      if (with_keys && !page.empty) {
        page.keys = StatisticsKeyBounds(descr, mins[p], maxs[p], shape_.codec, composite);
      }
      out->push_back(std::move(page));
    }
  } catch (const std::exception&) {
    return false;  // an unreadable page index: whole row groups
  }
  return true;
}

template <typename Meets>
int64_t RowGroupAccess::KeptRows(const std::vector<PageRange>& pages, Meets&& meets, std::vector<int64_t>* local) {
  int64_t kept = 0;
  for (const auto& page : pages) {
    if (page.empty || (page.keys && !meets(page.keys->first, page.keys->second))) continue;
    ++kept;
    for (int64_t r = page.begin; r < page.end; ++r) local->push_back(r);
  }
  return kept;
}

std::optional<std::vector<int64_t>> RowGroupAccess::PageRowsWithin(int rg, const KeyBounds& bounds,
                                                                   const std::vector<int>& leaves) {
  if (file_->DataPages(rg) <= 1) return std::nullopt;  // no page index read for one page
  std::vector<PageRange> pages;
  if (!PageKeyRanges(rg, leaves, &pages)) return std::nullopt;
  std::vector<int64_t> local;
  const int64_t kept =
      KeptRows(pages, [&](std::string_view lo, std::string_view hi) { return bounds.Meets(lo, hi); }, &local);
  // Pages decoded one by one pay when they skip a quarter of the group or
  // more; otherwise the whole chunks are read as usual.
  if (4 * kept > 3 * static_cast<int64_t>(pages.size())) return std::nullopt;
  ++impl_->by_pages;
  return local;
}

bool RowGroupAccess::CanReadPages(int rg, const std::vector<int>& leaves) {
  std::vector<PageRange> pages;
  return PageKeyRanges(rg, leaves, &pages, /*with_keys=*/false);
}

std::optional<std::vector<std::optional<std::string>>> RowGroupAccess::PageKeys(int rg,
                                                                               const std::vector<int>& leaves) {
  std::vector<PageRange> pages;
  if (!PageKeyRanges(rg, leaves, &pages)) return std::nullopt;
  std::vector<std::optional<std::string>> out;
  for (auto& p : pages) {
    if (p.keys && !p.empty) {
      out.push_back(std::move(p.keys->first));
    } else {
      out.push_back(std::nullopt);
    }
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> RowGroupAccess::ReadPageRows(int rg,
                                                                                const std::vector<int64_t>& local,
                                                                                const std::vector<int>& leaves) {
  std::vector<std::pair<int, const std::vector<int64_t>*>> picks{{rg, &local}};
  ARROW_ASSIGN_OR_RAISE(const auto bytes, FetchPages(picks, leaves));
  arrow::FieldVector fields;
  arrow::ArrayVector columns;
  for (int leaf : leaves) {
    ARROW_ASSIGN_OR_RAISE(auto a, TakePageRows(bytes, rg, leaf, local));
    fields.push_back(arrow::field(file_->metadata->schema()->Column(leaf)->name(), a->type()));
    columns.push_back(std::move(a));
  }
  return arrow::RecordBatch::Make(arrow::schema(std::move(fields)), static_cast<int64_t>(local.size()),
                                  std::move(columns));
}

arrow::Result<std::shared_ptr<RunBatch>> RowGroupAccess::ReadKeyPages(const std::vector<int>& rgs,
                                                                      const std::vector<std::string>& key_in,
                                                                      std::vector<int64_t>* file_rows) {
  if (key_in.empty() || rgs.empty() || file_->DataPages(rgs[0]) <= 1) return nullptr;
  // From the footer alone: a row group whose key range holds at least half
  // as many listed keys as it has pages likely needs half its pages or more
  // (a dense spine): read whole, without parsing page indexes.
  int64_t footer_pages = 0, likely = 0;
  for (int rg : rgs) {
    const int64_t n = file_->DataPages(rg);
    footer_pages += n;
    const auto& b = file_->row_group_bounds[rg];
    if (!b) return nullptr;
    const int64_t keys = std::upper_bound(key_in.begin(), key_in.end(), b->second) -
                         std::lower_bound(key_in.begin(), key_in.end(), b->first);
    likely += std::min(n, keys);
  }
  if (2 * likely > footer_pages || !EnsurePageIndex()) return nullptr;
  std::vector<int> leaves = file_->key_leaves;
  leaves.push_back(file_->event_time_leaf);
  // Per row group: the rows of its pages that may hold a listed key.
  std::vector<std::vector<int64_t>> local(rgs.size());
  auto listed = [&](std::string_view lo, std::string_view hi) {
    auto it = std::lower_bound(key_in.begin(), key_in.end(), lo, std::less<>());
    return it != key_in.end() && std::string_view(*it) <= hi;
  };
  int64_t pages = 0, chosen = 0;
  for (size_t g = 0; g < rgs.size(); ++g) {
    std::vector<PageRange> page_keys;
    if (!PageKeyRanges(rgs[g], leaves, &page_keys)) return nullptr;
    pages += static_cast<int64_t>(page_keys.size());
    chosen += KeptRows(page_keys, listed, &local[g]);
  }
  if (2 * chosen > pages) return nullptr;

  const auto& schema = shape_.schema;
  std::vector<std::pair<int, const std::vector<int64_t>*>> picks;
  for (size_t g = 0; g < rgs.size(); ++g) picks.emplace_back(rgs[g], &local[g]);
  ARROW_ASSIGN_OR_RAISE(const auto bytes, FetchPages(picks, leaves));
  std::vector<arrow::ArrayVector> key_parts(schema.key_columns.size());
  arrow::ArrayVector et_parts;
  file_rows->clear();
  for (size_t g = 0; g < rgs.size(); ++g) {
    if (local[g].empty()) continue;
    const int rg = rgs[g];
    auto take = [&](int leaf) {
      return TakePageRows(bytes, rg, leaf, local[g]);
    };
    for (size_t k = 0; k < schema.key_columns.size(); ++k) {
      ARROW_ASSIGN_OR_RAISE(auto a, take(file_->key_leaves[k]));
      ARROW_ASSIGN_OR_RAISE(a, CastTo(a, schema.key_columns[k].type));
      key_parts[k].push_back(std::move(a));
    }
    ARROW_ASSIGN_OR_RAISE(auto et, take(file_->event_time_leaf));
    et_parts.push_back(std::move(et));
    for (int64_t r : local[g]) file_rows->push_back(impl_->starts[rg] + r);
  }
  auto join = [&](arrow::ArrayVector& v, const std::shared_ptr<arrow::DataType>& type)
      -> arrow::Result<std::shared_ptr<arrow::Array>> {
    if (v.empty()) return arrow::MakeEmptyArray(type);
    if (v.size() == 1) return v[0];
    return arrow::Concatenate(v, RecyclingPool());
  };
  auto rb = std::make_shared<RunBatch>();
  arrow::ArrayVector keys;
  arrow::FieldVector fields;
  for (size_t k = 0; k < schema.key_columns.size(); ++k) {
    ARROW_ASSIGN_OR_RAISE(auto a, join(key_parts[k], schema.key_columns[k].type));
    keys.push_back(std::move(a));
    fields.push_back(shape_.output_schema->field(static_cast<int>(k)));
  }
  auto where = [&](const arrow::Status& st) {
    return WithContext(st, Quote(storage_, file_->planned.ref.path) + Where(rgs));
  };
  ARROW_ASSIGN_OR_RAISE(auto et, join(et_parts, arrow::timestamp(arrow::TimeUnit::MICRO)));
  if (et->type_id() != arrow::Type::TIMESTAMP) return where(Corruption("event time is not a timestamp"));
  if (auto st = EventMicros(*et, &rb->event_micros); !st.ok()) return where(st);
  impl_->SawEventTime(*et->type(), *schema.event_time.type);
  rb->file_version = file_->planned.ref.version ? file_->planned.ref.version->value() : 0;
  const int64_t rows = static_cast<int64_t>(file_rows->size());
  rb->batch = arrow::RecordBatch::Make(arrow::schema(fields), rows, keys);
  if (auto st = shape_.codec.Encode(keys, &rb->keys); !st.ok()) return where(st);
  rb->begin = 0;
  rb->end = rows;
  return rb;
}

std::string RowGroupAccess::Where(const std::vector<int>& rgs) const {
  if (rgs.size() == 1) return "row group " + std::to_string(rgs[0]) + ": ";
  return "row groups " + std::to_string(rgs.front()) + "-" + std::to_string(rgs.back()) + ": ";
}

arrow::Result<std::shared_ptr<arrow::Table>> RowGroupAccess::Read(const std::vector<int>& rgs,
                                                                  const std::vector<int>& leaves) {
  auto table = impl_->reader->ReadRowGroups(rgs, leaves);
  if (!table.ok()) {
    return WithContext(metadata::PageReadError(table.status(), Where(rgs)), Quote(storage_, file_->planned.ref.path));
  }
  return *table;
}

arrow::Result<std::shared_ptr<RunBatch>> RowGroupAccess::ReadKeys(const std::vector<int>& rgs) {
  std::vector<int> leaves = file_->key_leaves;
  leaves.push_back(file_->event_time_leaf);
  std::sort(leaves.begin(), leaves.end());
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
  ARROW_ASSIGN_OR_RAISE(auto table, Read(rgs, leaves));
  auto column = [&](const std::string& name,
                    const std::shared_ptr<arrow::DataType>& type) -> arrow::Result<std::shared_ptr<arrow::Array>> {
    auto c = table->GetColumnByName(name);
    if (!c) return nullptr;
    // Cast per chunk: dictionary-read keys carry one dictionary per chunk.
    arrow::ArrayVector chunks;
    for (const auto& chunk : c->chunks()) {
      ARROW_ASSIGN_OR_RAISE(auto a, CastTo(chunk, type));
      chunks.push_back(std::move(a));
    }
    if (chunks.size() == 1) return chunks[0];
    // Several row groups: one array, so the walk and the key codec see
    // contiguous rows.
    return arrow::Concatenate(chunks, RecyclingPool());
  };
  auto rb = std::make_shared<RunBatch>();
  const auto& schema = shape_.schema;
  arrow::ArrayVector keys;
  arrow::FieldVector fields;
  for (size_t k = 0; k < schema.key_columns.size(); ++k) {
    ARROW_ASSIGN_OR_RAISE(auto a, column(schema.key_columns[k].name, schema.key_columns[k].type));
    if (!a) return Corruption(Quote(storage_, file_->planned.ref.path), Where(rgs), "no key column");
    keys.push_back(a);
    fields.push_back(shape_.output_schema->field(static_cast<int>(k)));
  }
  auto where = [&](const arrow::Status& st) {
    return WithContext(st, Quote(storage_, file_->planned.ref.path) + Where(rgs));
  };
  auto et_chunks = table->GetColumnByName(impl_->et_name);
  if (!et_chunks) return Corruption(Quote(storage_, file_->planned.ref.path), Where(rgs), "no event time");
  ARROW_ASSIGN_OR_RAISE(auto et, column(impl_->et_name, et_chunks->type()));
  if (auto st = EventMicros(*et, &rb->event_micros); !st.ok()) return where(st);
  rb->file_version = file_->planned.ref.version ? file_->planned.ref.version->value() : 0;
  const int64_t rows = table->num_rows();
  rb->batch = arrow::RecordBatch::Make(arrow::schema(fields), rows, keys);
  if (auto st = shape_.codec.Encode(keys, &rb->keys); !st.ok()) return where(st);
  rb->begin = 0;
  rb->end = rows;
  return rb;
}

void RowGroupAccess::KeyRuns::Clear() {
  keys.clear();
  starts.clear();
  file_rows.clear();
  event_micros.clear();
  codes.clear();
  hold.clear();
}

namespace {

// a == b, inline for short keys (most differ within their first 8 bytes).
bool SameBytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.size() >= 8) {
    uint64_t x, y;
    std::memcpy(&x, a.data(), 8);
    std::memcpy(&y, b.data(), 8);
    return x == y && std::memcmp(a.data() + 8, b.data() + 8, a.size() - 8) == 0;
  }
  return std::memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

arrow::Result<bool> RowGroupAccess::ReadPlainKeyRuns(const std::vector<int>& rgs, KeyRuns* out) {
  const auto& schema = shape_.schema;
  if (schema.key_columns.size() != 1 || file_->key_leaves.size() != 1 || !shape_.codec.FirstColumnIsBytes()) {
    return false;
  }
  const auto& et_type = *schema.event_time.type;
  if (et_type.id() != arrow::Type::TIMESTAMP) return false;
  const int key_leaf = file_->key_leaves[0];
  const int et_leaf = file_->event_time_leaf;
  const auto* fields = file_->metadata->schema();
  const auto* key_column = fields->Column(key_leaf);
  const auto* et_column = fields->Column(et_leaf);
  if (key_column->physical_type() != parquet::Type::BYTE_ARRAY || key_column->max_repetition_level() != 0 ||
      et_column->physical_type() != parquet::Type::INT64 || et_column->max_repetition_level() != 0) {
    return false;
  }
  const auto& et_logical = et_column->logical_type();
  if (!et_logical || !et_logical->is_timestamp()) return false;
  // Stored in ms, us or ns (a timestamp[s] column is stored in ms): read as
  // micros the way EventMicros converts them.
  arrow::TimeUnit::type unit;
  switch (static_cast<const parquet::TimestampLogicalType&>(*et_logical).time_unit()) {
    case parquet::LogicalType::TimeUnit::MILLIS:
      unit = arrow::TimeUnit::MILLI;
      break;
    case parquet::LogicalType::TimeUnit::MICROS:
      unit = arrow::TimeUnit::MICRO;
      break;
    case parquet::LogicalType::TimeUnit::NANOS:
      unit = arrow::TimeUnit::NANO;
      break;
    default:
      return false;
  }
  // Dictionary-encoded keys are read as their indices (ReadKeyRuns).
  if (DictionaryEncoded(*file_->metadata, key_leaf)) return false;

  out->Clear();
  const std::string file = Quote(storage_, file_->planned.ref.path);
  auto* reader = impl_->reader->parquet_reader();
  const auto& props = impl_->reader->properties();
  int64_t rows = 0;
  for (int rg : rgs) rows += impl_->starts[rg + 1] - impl_->starts[rg];
  out->event_micros.resize(rows);
  out->codes.emplace_back();
  std::string& arena = out->codes.back().arena;  // the runs' keys, one copy each
  std::vector<size_t> key_end;                   // per run: the end of its key in `arena`
  key_end.reserve(rows);
  out->starts.reserve(rows + 1);
  out->file_rows.reserve(rows);
  constexpr int64_t kBatch = 4096;
  std::vector<parquet::ByteArray> keys(kBatch);
  std::vector<int16_t> levels(kBatch);
  int64_t row = 0;  // in this call
  size_t run_key = 0;  // where the last run's key starts in `arena`
  for (int rg : rgs) {
    const int64_t n = impl_->starts[rg + 1] - impl_->starts[rg];
    const std::string where = Where({rg});
    auto short_by = [&](const char* column, int64_t got) {
      return Corruption(file, where, "a column's pages hold fewer rows than the footer gives (", column, ": ", got,
                        " of ", n, ")");
    };
    try {
      if (rg == rgs.front() && props.pre_buffer()) {
        reader->PreBuffer(rgs, {key_leaf, et_leaf}, props.io_context(), props.cache_options());
      }
      auto group = reader->RowGroup(rg);
      auto et = std::static_pointer_cast<parquet::Int64Reader>(group->Column(et_leaf));
      auto key = std::static_pointer_cast<parquet::ByteArrayReader>(group->Column(key_leaf));
      int64_t* micros = out->event_micros.data() + row;
      int64_t done = 0;
      while (done < n) {
        int64_t values = 0;
        const int64_t got = et->ReadBatch(std::min(kBatch, n - done), levels.data(), nullptr, micros + done, &values);
        if (got == 0) break;
        if (values != got) return Corruption(file, where, "null event_time");
        done += got;
      }
      if (done != n) return short_by("event time", done);
      ScaleToMicros(micros, n, unit, micros);
      done = 0;
      while (done < n) {
        int64_t values = 0;
        const int64_t got = key->ReadBatch(std::min(kBatch, n - done), levels.data(), nullptr, keys.data(), &values);
        if (got == 0) break;
        if (values != got) {
          return Corruption(file, where, "null in key column '", schema.key_columns[0].name, "'");
        }
        for (int64_t i = 0; i < got; ++i, ++row) {
          const std::string_view k(reinterpret_cast<const char*>(keys[i].ptr), keys[i].len);
          // A run goes on while the key does, within the row group.
          if (done + i > 0 && SameBytes(std::string_view(arena).substr(run_key), k)) continue;
          if (arena.capacity() - arena.size() < k.size()) {
            // Room for the rows left at this key's length: few regrowths.
            arena.reserve(arena.size() + k.size() * (rows - row + 1));
          }
          run_key = arena.size();
          arena.append(k);
          key_end.push_back(arena.size());
          out->starts.push_back(row);
          out->file_rows.push_back(impl_->starts[rg] + done + i);
        }
        done += got;
      }
      if (done != n) return short_by("key", done);
    } catch (const std::exception& e) {
      return WithContext(metadata::PageReadError(arrow::Status::IOError(e.what()), where), file);
    }
  }
  out->starts.push_back(row);
  size_t begin = 0;
  out->keys.reserve(key_end.size());
  for (size_t end : key_end) {
    out->keys.emplace_back(arena.data() + begin, end - begin);
    begin = end;
  }
  // The micros are the column's values (phase 2 of a join need not decode
  // it again) when both it and the table's are in microseconds.
  const bool exact = unit == arrow::TimeUnit::MICRO &&
                     static_cast<const arrow::TimestampType&>(et_type).unit() == arrow::TimeUnit::MICRO;
  impl_->et_exact = impl_->et_exact.value_or(true) && exact;
  return true;
}

arrow::Status RowGroupAccess::ReadKeyRuns(const std::vector<int>& rgs, KeyRuns* out) {
  ARROW_ASSIGN_OR_RAISE(const bool read, ReadPlainKeyRuns(rgs, out));
  if (read) return arrow::Status::OK();
  out->Clear();
  std::vector<int> leaves = file_->key_leaves;
  leaves.push_back(file_->event_time_leaf);
  std::sort(leaves.begin(), leaves.end());
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
  ARROW_ASSIGN_OR_RAISE(auto table, Read(rgs, leaves));
  auto where = [&](const arrow::Status& st) {
    return WithContext(st, Quote(storage_, file_->planned.ref.path) + Where(rgs));
  };
  const auto& schema = shape_.schema;
  auto et = table->GetColumnByName(impl_->et_name);
  if (!et) return Corruption(Quote(storage_, file_->planned.ref.path), Where(rgs), "no event time");
  if (et->type()->id() != arrow::Type::TIMESTAMP) return where(Corruption("event time is not a timestamp"));
  RecycledVector<int64_t> chunk_micros;
  for (const auto& chunk : et->chunks()) {
    if (auto st = EventMicros(*chunk, &chunk_micros); !st.ok()) return where(st);
    out->event_micros.insert(out->event_micros.end(), chunk_micros.begin(), chunk_micros.end());
  }
  impl_->SawEventTime(*et->type(), *schema.event_time.type);
  const int64_t rows = table->num_rows();
  // The file row of call row i, and the call rows where row groups start.
  std::vector<int64_t> first(rgs.size() + 1, 0);
  for (size_t g = 0; g < rgs.size(); ++g) first[g + 1] = first[g] + impl_->starts[rgs[g] + 1] - impl_->starts[rgs[g]];
  if (first.back() != rows) return where(Corruption("the key columns hold ", rows, " rows, not ", first.back()));

  std::vector<std::shared_ptr<arrow::ChunkedArray>> keys;
  for (const auto& k : schema.key_columns) {
    auto c = table->GetColumnByName(k.name);
    if (!c) return Corruption(Quote(storage_, file_->planned.ref.path), Where(rgs), "no key column");
    keys.push_back(std::move(c));
  }
  if (keys.size() == 1 && keys[0]->type()->id() == arrow::Type::DICTIONARY) {
    // Per chunk: its dictionary encoded once, runs where the index changes.
    size_t g = 0;
    int64_t row = 0;
    out->codes.reserve(keys[0]->num_chunks());
    for (const auto& chunk : keys[0]->chunks()) {
      const auto& dict = static_cast<const arrow::DictionaryArray&>(*chunk);
      if (dict.null_count() > 0) return where(Corruption("null in key column '", schema.key_columns[0].name, "'"));
      ARROW_ASSIGN_OR_RAISE(auto values, CastTo(dict.dictionary(), schema.key_columns[0].type));
      out->codes.emplace_back();
      if (auto st = shape_.codec.Encode({values}, &out->codes.back()); !st.ok()) return where(st);
      const auto& views = out->codes.back().views;
      out->hold.push_back(std::move(values));
      const int64_t n = dict.length();
      auto add = [&](const auto* idx) -> arrow::Status {
        const int64_t n_dict = static_cast<int64_t>(views.size());
        for (int64_t i = 0; i < n; ++i, ++row) {
          while (g + 1 < rgs.size() && first[g + 1] <= row) ++g;
          const bool group_start = row == first[g];
          if (i > 0 && idx[i] == idx[i - 1] && !group_start) continue;
          const int64_t v = static_cast<int64_t>(idx[i]);
          if (v < 0 || v >= n_dict) return where(Corruption("dictionary index ", v, " out of range"));
          out->keys.push_back(views[v]);
          out->starts.push_back(row);
          out->file_rows.push_back(impl_->starts[rgs[g]] + (row - first[g]));
        }
        return arrow::Status::OK();
      };
      const auto& indices = *dict.indices();
      switch (indices.type_id()) {
        case arrow::Type::INT32:
          ARROW_RETURN_NOT_OK(add(static_cast<const arrow::Int32Array&>(indices).raw_values()));
          break;
        case arrow::Type::INT64:
          ARROW_RETURN_NOT_OK(add(static_cast<const arrow::Int64Array&>(indices).raw_values()));
          break;
        default:
          return where(arrow::Status::NotImplemented("dictionary indices of type ", indices.type()->ToString()));
      }
    }
    out->starts.push_back(row);
    return arrow::Status::OK();
  }
  // Other keys: every row encoded, runs where the encoding changes.
  arrow::ArrayVector arrays;
  for (size_t k = 0; k < keys.size(); ++k) {
    std::shared_ptr<arrow::Array> a;
    if (keys[k]->num_chunks() == 1) {
      a = keys[k]->chunk(0);
    } else {
      ARROW_ASSIGN_OR_RAISE(a, arrow::Concatenate(keys[k]->chunks(), RecyclingPool()));
    }
    ARROW_ASSIGN_OR_RAISE(a, CastTo(a, schema.key_columns[k].type));
    arrays.push_back(std::move(a));
  }
  out->codes.emplace_back();
  if (auto st = shape_.codec.Encode(arrays, &out->codes.back()); !st.ok()) return where(st);
  out->hold = std::move(arrays);
  size_t g = 0;
  out->AddRows(out->codes.back().views, rows, [&](int64_t i) {
    while (g + 1 < rgs.size() && first[g + 1] <= i) ++g;
    return impl_->starts[rgs[g]] + (i - first[g]);
  });
  return arrow::Status::OK();
}

arrow::Result<RowGroupAccess::Taken> RowGroupAccess::TakeValues(const std::vector<int64_t>& rows, int64_t max_rows,
                                                                bool with_versions, bool with_event_time) {
  return Take(rows, max_rows, with_versions, with_event_time, nullptr);
}

arrow::Status RowGroupAccess::TakeValuesInto(const std::vector<int64_t>& rows, int64_t max_rows,
                                             bool with_event_time, const ValueSink& sink) {
  return Take(rows, max_rows, false, with_event_time, &sink).status();
}

arrow::Result<RowGroupAccess::Taken> RowGroupAccess::Take(const std::vector<int64_t>& rows, int64_t max_rows,
                                                          bool with_versions, bool with_event_time,
                                                          const ValueSink* sink) {
  const int version_leaf = with_versions ? file_->version_leaf : -1;
  std::vector<int> leaves;
  if (with_event_time) leaves.push_back(file_->event_time_leaf);
  for (int l : file_->value_leaves) {
    if (l >= 0) leaves.push_back(l);
  }
  if (file_->deleted_leaf >= 0) leaves.push_back(file_->deleted_leaf);
  if (version_leaf >= 0) leaves.push_back(version_leaf);
  std::sort(leaves.begin(), leaves.end());
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
  const auto& starts = impl_->starts;
  const int64_t file_rows = starts.back();
  // The row groups holding the rows, in calls of at most max_rows rows.
  std::vector<int> groups;
  for (int64_t r : rows) {
    if (r < 0 || r >= file_rows) {
      return arrow::Status::IndexError(Quote(storage_, file_->planned.ref.path), "row ", r, " out of range");
    }
    const int rg = static_cast<int>(std::upper_bound(starts.begin(), starts.end(), r) - starts.begin()) - 1;
    if (groups.empty() || groups.back() != rg) groups.push_back(rg);
  }
  std::vector<arrow::ArrayVector> parts(1 + shape_.value_columns.size());
  arrow::ArrayVector deleted_parts, version_parts;
  // A column's pieces: source rows idx[0..k) (all of source when idx is
  // null) are rows[first..first + k).
  using Pieces = std::function<arrow::Status(const std::shared_ptr<arrow::Array>&, const int64_t*, int64_t, int64_t)>;
  // The taken rows of one call (k rows): the event time, each
  // value column (nulls where the file lacks it), the tombstone flags, into
  // `parts` and `deleted_parts`, or to the sink. `take(leaf, name, type,
  // direct, pieces)` reads one column's rows (the chunk route finds columns
  // by name, the page route by leaf); `direct`: pieces may be the chunks as
  // read (of `type` or dictionaries of it) with indices, else they are the
  // taken rows of `type`.
  auto collect = [&](auto&& take, int64_t k, const std::vector<int>& where) -> arrow::Status {
    auto to = [&](int column, arrow::ArrayVector* out) -> Pieces {
      if (sink) {
        return [&, column](const std::shared_ptr<arrow::Array>& a, const int64_t* idx, int64_t n, int64_t f) {
          return (*sink)(column, a, idx, n, f);
        };
      }
      return [out](const std::shared_ptr<arrow::Array>& a, const int64_t*, int64_t, int64_t) {
        out->push_back(a);
        return arrow::Status::OK();
      };
    };
    const bool direct = sink != nullptr;
    if (with_event_time) {
      ARROW_RETURN_NOT_OK(take(file_->event_time_leaf, impl_->et_name, shape_.schema.event_time.type, direct,
                               to(0, &parts[0])));
    }
    for (size_t i = 0; i < shape_.value_columns.size(); ++i) {
      const auto& spec = shape_.schema.value_columns[shape_.value_columns[i]];
      if (file_->value_leaves[i] < 0) {
        if (sink) continue;
        ARROW_ASSIGN_OR_RAISE(auto a, arrow::MakeArrayOfNull(spec.type, k));
        parts[1 + i].push_back(std::move(a));
      } else {
        ARROW_RETURN_NOT_OK(take(file_->value_leaves[i], impl_->value_names[i], spec.type, direct,
                                 to(static_cast<int>(1 + i), &parts[1 + i])));
      }
    }
    // Tombstone flags and versions: checked for nulls before they go on.
    auto checked = [&](int column, int leaf, std::string_view name, const std::shared_ptr<arrow::DataType>& type,
                       arrow::ArrayVector* out) -> arrow::Status {
      std::vector<std::pair<std::shared_ptr<arrow::Array>, int64_t>> got;
      ARROW_RETURN_NOT_OK(take(leaf, std::string(name), type, false,
                               [&](const std::shared_ptr<arrow::Array>& a, const int64_t*, int64_t, int64_t f) {
                                 got.emplace_back(a, f);
                                 return arrow::Status::OK();
                               }));
      for (auto& [a, f] : got) {
        if (a->null_count() > 0) {
          return Corruption(Quote(storage_, file_->planned.ref.path), Where(where), "null in column '", name, "'");
        }
        if (sink) {
          ARROW_RETURN_NOT_OK((*sink)(column, a, nullptr, a->length(), f));
        } else {
          out->push_back(std::move(a));
        }
      }
      return arrow::Status::OK();
    };
    if (file_->deleted_leaf >= 0) {
      ARROW_RETURN_NOT_OK(checked(-1, file_->deleted_leaf, kDeletedColumn, arrow::boolean(), &deleted_parts));
    }
    if (version_leaf >= 0) {
      ARROW_RETURN_NOT_OK(checked(-2, version_leaf, kVersionColumn, arrow::int64(), &version_parts));
    }
    return arrow::Status::OK();
  };
  size_t next = 0;  // first row of `rows` not yet taken
  const std::vector<uint8_t> by_pages = PageRouted(groups, rows, leaves);

  // Row groups `batch` read whole (every page of their column chunks).
  auto take_chunks = [&](const std::vector<int>& batch) -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto table, Read(batch, leaves));
    // Positions of the batch's rows in the rows it read.
    std::vector<int64_t> base(batch.size());
    int64_t at = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      base[i] = at;
      at += starts[batch[i] + 1] - starts[batch[i]];
    }
    const int64_t first = static_cast<int64_t>(next);
    std::vector<int64_t> indices;
    size_t g = 0;
    for (; next < rows.size(); ++next) {
      const int64_t r = rows[next];
      while (g < batch.size() && r >= starts[batch[g] + 1]) ++g;
      if (g == batch.size()) break;
      indices.push_back(base[g] + r - starts[batch[g]]);
    }
    const int64_t k = static_cast<int64_t>(indices.size());
    auto take = [&](int, const std::string& name, const std::shared_ptr<arrow::DataType>& type, bool direct,
                    const Pieces& pieces) -> arrow::Status {
      auto c = table->GetColumnByName(name);
      if (!c) return Corruption(Quote(storage_, file_->planned.ref.path), Where(batch), "no column '", name, "'");
      // Per chunk (a row group each): a Take over the chunked column would
      // first concatenate all of it.
      arrow::compute::ExecContext ctx(RecyclingPool());
      const int64_t* idx = indices.data();
      int64_t i = 0, chunk_start = 0;
      std::vector<int64_t> local;
      for (const auto& chunk : c->chunks()) {
        const int64_t chunk_end = chunk_start + chunk->length();
        int64_t j = i;
        while (j < k && idx[j] < chunk_end) ++j;
        if (j > i) {
          local.resize(j - i);
          for (int64_t x = i; x < j; ++x) local[x - i] = idx[x] - chunk_start;
          const auto& ct = *chunk->type();
          if (direct && (ct.Equals(*type) ||
                         (ct.id() == arrow::Type::DICTIONARY &&
                          static_cast<const arrow::DictionaryType&>(ct).value_type()->Equals(*type)))) {
            // The sink copies the rows from the chunk itself.
            ARROW_RETURN_NOT_OK(pieces(chunk, local.data(), j - i, first + i));
          } else {
            auto local_indices = std::make_shared<arrow::Int64Array>(
                j - i, arrow::Buffer::Wrap(local.data(), static_cast<int64_t>(local.size())));
            ARROW_ASSIGN_OR_RAISE(auto piece, arrow::compute::Take(*chunk, *local_indices,
                                                                   arrow::compute::TakeOptions::Defaults(), &ctx));
            // Pieces of dictionary columns (each its chunk's dictionary)
            // become plain strings, only the taken ones.
            ARROW_ASSIGN_OR_RAISE(piece, CastTo(piece, type));
            ARROW_RETURN_NOT_OK(pieces(piece, nullptr, j - i, first + i));
          }
        }
        i = j;
        chunk_start = chunk_end;
      }
      return arrow::Status::OK();
    };
    return collect(take, k, batch);
  };

  // Row groups `batch`, only the data pages that hold their rows: the pages
  // of the whole batch read first, in few requests.
  auto take_pages = [&](const std::vector<int>& batch) -> arrow::Status {
    std::vector<std::vector<int64_t>> local(batch.size());
    std::vector<int64_t> firsts(batch.size());
    std::vector<std::pair<int, const std::vector<int64_t>*>> picks;
    for (size_t g = 0; g < batch.size(); ++g) {
      const int rg = batch[g];
      firsts[g] = static_cast<int64_t>(next);
      for (; next < rows.size() && rows[next] < starts[rg + 1]; ++next) local[g].push_back(rows[next] - starts[rg]);
      picks.emplace_back(rg, &local[g]);
    }
    ARROW_ASSIGN_OR_RAISE(const auto bytes, FetchPages(picks, leaves));
    for (size_t g = 0; g < batch.size(); ++g) {
      const int rg = batch[g];
      ++impl_->by_pages;
      auto take = [&](int leaf, const std::string&, const std::shared_ptr<arrow::DataType>& type, bool,
                      const Pieces& pieces) -> arrow::Status {
        ARROW_ASSIGN_OR_RAISE(auto a, TakePageRows(bytes, rg, leaf, local[g]));
        ARROW_ASSIGN_OR_RAISE(a, CastTo(a, type));
        return pieces(a, nullptr, a->length(), firsts[g]);
      };
      ARROW_RETURN_NOT_OK(collect(take, static_cast<int64_t>(local[g].size()), {rg}));
    }
    return arrow::Status::OK();
  };

  // Runs of row groups of one route, in file order, so the taken rows stay
  // in the order of `rows`.
  for (size_t i = 0; i < groups.size();) {
    size_t j = i;
    while (j < groups.size() && by_pages[j] == by_pages[i]) ++j;
    const std::vector<int> run(groups.begin() + i, groups.begin() + j);
    for (const auto& batch : Batches(run, max_rows)) {
      ARROW_RETURN_NOT_OK(by_pages[i] ? take_pages(batch) : take_chunks(batch));
    }
    i = j;
  }
  Taken taken_rows;
  auto join = [](arrow::ArrayVector& v) -> arrow::Result<std::shared_ptr<arrow::Array>> {
    if (v.size() == 1) return v[0];
    return arrow::Concatenate(v, RecyclingPool());
  };
  if (rows.empty()) {
    for (int f = static_cast<int>(shape_.codec.num_columns()); f < shape_.output_schema->num_fields(); ++f) {
      ARROW_ASSIGN_OR_RAISE(auto a, arrow::MakeEmptyArray(shape_.output_schema->field(f)->type()));
      taken_rows.columns.push_back(std::move(a));
    }
    return taken_rows;
  }
  if (sink) return taken_rows;
  for (auto& p : parts) {
    std::shared_ptr<arrow::Array> a;
    if (!p.empty()) {
      ARROW_ASSIGN_OR_RAISE(a, join(p));
    }
    taken_rows.columns.push_back(std::move(a));
  }
  if (!deleted_parts.empty()) {
    ARROW_ASSIGN_OR_RAISE(taken_rows.deleted, join(deleted_parts));
  }
  if (!version_parts.empty()) {
    ARROW_ASSIGN_OR_RAISE(taken_rows.versions, join(version_parts));
  }
  return taken_rows;
}

}  // namespace bazof::read
