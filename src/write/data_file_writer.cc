#include "write/data_file_writer.h"

#include <algorithm>
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/compression.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/writer.h>

#include <random>

#include "bazof/error.h"
#include "compute_init.h"
#include "metadata/page_checksums.h"

namespace bazof::write {

namespace {

constexpr int64_t kDictionaryPageBytes = 64 * 1024;

std::shared_ptr<arrow::Field> WithId(const ColumnSpec& c, bool nullable) {
  auto md = arrow::key_value_metadata({"PARQUET:field_id"}, {std::to_string(c.id)});
  return arrow::field(c.name, c.type, nullable, c.id > 0 ? md : nullptr);
}

}  // namespace

std::string NewDataFileName(Version v) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "data/v%lld-%016llx.parquet", static_cast<long long>(v.value()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::shared_ptr<arrow::Schema> DataFileSchema(const TableSchema& schema, bool with_deleted,
                                              bool with_versions) {
  arrow::FieldVector fields;
  for (const auto& k : schema.key_columns) fields.push_back(WithId(k, false));
  fields.push_back(WithId(schema.event_time, false));
  for (const auto& v : schema.value_columns) fields.push_back(WithId(v, true));
  if (with_deleted) fields.push_back(arrow::field(kDeletedColumn, arrow::boolean(), false));
  if (with_versions) fields.push_back(arrow::field(kVersionColumn, arrow::int64(), false));
  return arrow::schema(std::move(fields));
}

struct DataFileStream::Impl {
  io::Storage* storage = nullptr;
  const TableSchema* schema = nullptr;
  std::shared_ptr<arrow::Schema> file_schema;
  int64_t row_group_rows = kRowGroupRows;
  int64_t page_bytes = metadata::kAppendedPageBytes;
  int64_t page_rows = metadata::kDefaultPageRows;
  bool parallel_columns = false;
  std::shared_ptr<arrow::io::OutputStream> out;
  // Created by the first Write (its rows choose the encodings), or by Close
  // when nothing was written.
  std::unique_ptr<parquet::arrow::FileWriter> writer;
  bool closed = false;
};

namespace {

// Columns whose first rows are nearly all distinct are written plain, without
// trying a dictionary first: Parquet falls back to plain only once a chunk's
// dictionary outgrows the limit, which a small row group (compaction writes
// 4096 rows) of near-unique values never does, so every value was hashed
// into a dictionary as large as the data, and read back through it. Value
// columns: at least 90% distinct; key columns (sorted, so Snappy already
// folds their repeats) at least 50%. Judged on at most kEncodingSampleRows
// rows; fewer than kMinEncodingSampleRows say too little, and the column
// keeps the dictionary attempt.
constexpr int64_t kEncodingSampleRows = 4096;
constexpr int64_t kMinEncodingSampleRows = 128;
// Rows DictionaryUseless hashes at most: a few milliseconds a column, once a
// file.
constexpr int64_t kDictionarySampleRows = 16384;

// Whether Parquet can dictionary-encode a column of this type (and Arrow
// count its distinct values).
bool Hashable(arrow::Type::type id) {
  return arrow::is_integer(id) || arrow::is_floating(id) || arrow::is_temporal(id) || arrow::is_base_binary_like(id) ||
         arrow::is_decimal(id) || id == arrow::Type::FIXED_SIZE_BINARY;
}

arrow::Result<bool> NearUnique(const arrow::Array& column, bool key) {
  if (!Hashable(column.type_id())) return false;
  const auto sample = column.Slice(0, std::min<int64_t>(column.length(), kEncodingSampleRows));
  const int64_t valid = sample->length() - sample->null_count();
  if (valid < kMinEncodingSampleRows) return false;
  ARROW_ASSIGN_OR_RAISE(auto distinct, arrow::compute::CallFunction("count_distinct", {sample}));
  const int64_t d = static_cast<const arrow::Int64Scalar&>(*distinct.scalar()).value;
  return key ? d * 2 >= valid : d * 10 >= valid * 9;
}

// The distinct values of a sample, as a dictionary page would hold them:
// the PLAIN page's bytes (4 length bytes and the bytes of each string, or the
// width of each fixed value), the entries, and the entries the sample's
// first half alone holds. One hash pass: dictionary encoding numbers the
// values in order of first appearance, so the first half's largest index
// counts its distinct values.
struct SampleDictionary {
  int64_t bytes = 0;
  int64_t entries = 0;
  int64_t first_half_entries = 0;
};

arrow::Result<SampleDictionary> DictionaryOf(const std::shared_ptr<arrow::Array>& sample) {
  ARROW_ASSIGN_OR_RAISE(auto datum, arrow::compute::DictionaryEncode(sample));
  const auto array = datum.make_array();
  const auto& encoded = static_cast<const arrow::DictionaryArray&>(*array);
  const auto& distinct = encoded.dictionary();  // nulls are not entries
  SampleDictionary out;
  out.entries = distinct->length();
  if (arrow::is_base_binary_like(distinct->type_id())) {
    ARROW_ASSIGN_OR_RAISE(auto lengths, arrow::compute::CallFunction("binary_length", {distinct}));
    ARROW_ASSIGN_OR_RAISE(auto sum, arrow::compute::Sum(lengths));
    const auto& total = static_cast<const arrow::Int64Scalar&>(*sum.scalar());
    out.bytes = (total.is_valid ? total.value : 0) + 4 * out.entries;
  } else {
    out.bytes = distinct->type()->byte_width() * out.entries;
  }
  ARROW_ASSIGN_OR_RAISE(auto range, arrow::compute::MinMax(encoded.indices()->Slice(0, sample->length() / 2)));
  const auto& max = *range.scalar_as<arrow::StructScalar>().value[1];
  if (max.is_valid) {
    ARROW_ASSIGN_OR_RAISE(auto wide, max.CastTo(arrow::int64()));
    out.first_half_entries = static_cast<const arrow::Int64Scalar&>(*wide).value + 1;
  }
  return out;
}

// Whether a column like the first rows of `column` is better written plain
// than through a dictionary, in chunks of `row_group_rows` rows and pages of
// at most `page_rows` rows, with a dictionary page of at most `limit` bytes.
// A keyed read decodes a chunk's whole dictionary page for the rows of one
// data page. Judged on the first row group's worth of `column`, at most
// kDictionarySampleRows rows (at least 2 * kMinEncodingSampleRows), its
// dictionary projected linearly to a chunk while its distinct values keep
// coming (the second half of the sample brings at least 80% as many new
// ones as the first: sorted keys, measurements), not once they level off (a
// bounded set of labels):
// - a key column, when the dictionary would hold more entries than a data
//   page holds rows: the file is sorted, so Snappy already folds a key's
//   repeats, and the dictionary only adds to every keyed read;
// - a value column, when the dictionary would outgrow `limit`: Parquet then
//   writes the rest of the chunk plain anyway, after a full dictionary page.
// W2's tickers and reported figures: the history of a key 3.2 -> 1.9 ms with
// both plain, files 3% smaller; W1 unchanged (bench/results/RESULTS.md,
// "Dictionaries that overflow").
arrow::Result<bool> DictionaryUseless(const arrow::Array& column, bool key, int64_t limit, int64_t row_group_rows,
                                      int64_t page_rows) {
  const int64_t n = std::min({column.length(), row_group_rows, kDictionarySampleRows});
  if (!Hashable(column.type_id()) || n < 2 * kMinEncodingSampleRows) return false;
  const auto sample = column.Slice(0, n);
  if (sample->length() - sample->null_count() < kMinEncodingSampleRows) return false;
  ARROW_ASSIGN_OR_RAISE(const auto whole, DictionaryOf(sample));
  const int64_t first = whole.first_half_entries;
  const bool coming = (whole.entries - first) * 10 >= first * 8;
  const double scale = coming ? static_cast<double>(row_group_rows) / static_cast<double>(n) : 1.0;
  if (key) return static_cast<double>(whole.entries) * scale > static_cast<double>(page_rows);
  return static_cast<double>(whole.bytes) * scale > static_cast<double>(limit);
}

// A plain fixed-width column whose sample Snappy shrinks by less than 5%
// (random numbers, microsecond times) is stored uncompressed: compressing
// it costs the writer and every reader and saves nothing.
arrow::Result<bool> Incompressible(const arrow::Array& column, arrow::util::Codec& codec) {
  if (!arrow::is_fixed_width(column.type_id()) || column.type_id() == arrow::Type::BOOL ||
      column.null_count() > 0) {
    return false;
  }
  const int width = column.type()->byte_width();
  const int64_t rows = std::min<int64_t>(column.length(), kEncodingSampleRows);
  if (width <= 0 || rows < kMinEncodingSampleRows || !column.data()->buffers[1]) return false;
  const uint8_t* raw = column.data()->buffers[1]->data() + column.offset() * width;
  const int64_t len = rows * width;
  std::vector<uint8_t> out(static_cast<size_t>(codec.MaxCompressedLen(len, raw)));
  ARROW_ASSIGN_OR_RAISE(const int64_t packed, codec.Compress(len, raw, static_cast<int64_t>(out.size()), out.data()));
  return packed * 20 >= len * 19;
}

}  // namespace

arrow::Result<std::unique_ptr<DataFileStream>> DataFileStream::Open(io::Storage& storage,
                                                                    const TableSchema& schema,
                                                                    std::string name, Version version,
                                                                    bool with_deleted, bool with_versions,
                                                                    int64_t row_group_rows,
                                                                    int64_t page_bytes,
                                                                    bool parallel_columns, int64_t page_rows) {
  ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
  std::unique_ptr<DataFileStream> s(new DataFileStream());
  s->impl_ = std::make_unique<Impl>();
  s->impl_->storage = &storage;
  s->impl_->schema = &schema;
  s->impl_->file_schema = DataFileSchema(schema, with_deleted, with_versions);
  s->impl_->row_group_rows = row_group_rows;
  s->impl_->page_bytes = page_bytes;
  s->impl_->page_rows = page_rows;
  s->impl_->parallel_columns = parallel_columns;
  s->ref_.path = std::move(name);
  s->ref_.version = version;
  s->ref_.rows = 0;
  s->ref_.tombstones = 0;
  s->ref_.sorted = true;
  ARROW_ASSIGN_OR_RAISE(s->impl_->out, storage.OpenForWrite(s->ref_.path));
  return s;
}

arrow::Status DataFileStream::StartWriter(const arrow::RecordBatch* first) {
  const int64_t dictionary_limit = std::min<int64_t>(impl_->page_bytes, kDictionaryPageBytes);
  auto builder = parquet::WriterProperties::Builder();
  builder.compression(parquet::Compression::SNAPPY)
      ->max_row_group_length(impl_->row_group_rows)
      ->data_pagesize(impl_->page_bytes)
      // Small pages in compacted files: the page index then lets a keyed
      // read decode a few hundred rows of a row group, not all of it.
      ->max_rows_per_page(impl_->page_rows)
      // A column whose dictionary outgrows 64 KiB in a row group
      // (near-unique numbers, keys) falls back to plain encoding
      // early: with 128K-row groups a 1 MiB limit is never hit,
      // so every value was hashed for a dictionary as large as
      // the data (W1 append: 3x slower, 24% larger files).
      ->dictionary_pagesize_limit(dictionary_limit)
      ->enable_statistics()
      // A CRC-32 in every page header, verified on every read
      // (metadata/page_checksums.h): a flipped bit is an error,
      // never different rows.
      ->enable_page_checksum();
  if (first) {
    const int nkeys = static_cast<int>(impl_->schema->key_columns.size());
    ARROW_ASSIGN_OR_RAISE(auto snappy, arrow::util::Codec::Create(arrow::Compression::SNAPPY));
    for (int i = 0; i < first->num_columns(); ++i) {
      const auto& name = impl_->file_schema->field(i)->name();
      ARROW_ASSIGN_OR_RAISE(bool plain, NearUnique(*first->column(i), i < nkeys));
      if (!plain) {
        ARROW_ASSIGN_OR_RAISE(plain, DictionaryUseless(*first->column(i), i < nkeys, dictionary_limit,
                                                       impl_->row_group_rows, impl_->page_rows));
      }
      if (!plain) continue;
      builder.disable_dictionary(name);
      ARROW_ASSIGN_OR_RAISE(const bool raw, Incompressible(*first->column(i), *snappy));
      if (raw) builder.compression(name, parquet::Compression::UNCOMPRESSED);
    }
  }
  auto props = builder.build();
  parquet::ArrowWriterProperties::Builder arrow_builder;
  arrow_builder.store_schema();
  arrow_builder.set_use_threads(impl_->parallel_columns);
  auto arrow_props = arrow_builder.build();
  ARROW_ASSIGN_OR_RAISE(impl_->writer, parquet::arrow::FileWriter::Open(*impl_->file_schema,
                                                                        arrow::default_memory_pool(), impl_->out,
                                                                        props, arrow_props));
  // Recorded in the footer, so validate tells a verified file from one
  // written without CRCs (docs/spec.md §6.1).
  return impl_->writer->AddKeyValueMetadata(
      arrow::key_value_metadata({metadata::kPageChecksumsKey}, {metadata::kPageChecksumsCrc32}));
}

DataFileStream::~DataFileStream() { Abort(); }

void DataFileStream::Abort() {
  if (impl_ && !impl_->closed && impl_->out) {
    (void)impl_->out->Abort();  // never publish a truncated object
    impl_->closed = true;
  }
}

int64_t DataFileStream::bytes_flushed() const {
  auto pos = impl_->out->Tell();
  return pos.ok() ? *pos : 0;
}

arrow::Status DataFileStream::Write(const arrow::RecordBatch& rows) {
  if (rows.num_rows() == 0) return arrow::Status::OK();
  auto status = WriteImpl(rows);
  if (!status.ok()) {
    Abort();
    return WithContext(status, "writing data file '" + impl_->storage->Describe(ref_.path) + "': ");
  }
  return arrow::Status::OK();
}

arrow::Status DataFileStream::WriteImpl(const arrow::RecordBatch& rows) {
  if (!impl_->writer) ARROW_RETURN_NOT_OK(StartWriter(&rows));
  const TableSchema& schema = *impl_->schema;
  const size_t nkeys = schema.key_columns.size();
  auto key_at = [&](int64_t row) -> arrow::Result<KeyValue> {
    KeyValue key;
    for (size_t k = 0; k < nkeys; ++k) {
      ARROW_ASSIGN_OR_RAISE(auto v, rows.column(static_cast<int>(k))->GetScalar(row));
      key.push_back(std::move(v));
    }
    return key;
  };
  if (ref_.rows == 0) {
    ARROW_ASSIGN_OR_RAISE(ref_.min_key, key_at(0));
  }
  ARROW_ASSIGN_OR_RAISE(ref_.max_key, key_at(rows.num_rows() - 1));
  // Event-time range. Microseconds (every table bazof writes) by a loop: the
  // compute calls cost more than the loop on the small batches compaction
  // writes per segment file; other units through Cast, as before.
  const auto& et = *rows.column(static_cast<int>(nkeys));
  int64_t lo_us, hi_us;
  if (et.type_id() == arrow::Type::TIMESTAMP &&
      static_cast<const arrow::TimestampType&>(*et.type()).unit() == arrow::TimeUnit::MICRO && et.null_count() == 0) {
    const int64_t* v = et.data()->GetValues<int64_t>(1);
    lo_us = INT64_MAX;
    hi_us = INT64_MIN;
    for (int64_t i = 0; i < et.length(); ++i) {
      lo_us = std::min(lo_us, v[i]);
      hi_us = std::max(hi_us, v[i]);
    }
  } else {
    ARROW_ASSIGN_OR_RAISE(auto et_micros, arrow::compute::Cast(rows.column(static_cast<int>(nkeys)),
                                                               arrow::timestamp(arrow::TimeUnit::MICRO)));
    ARROW_ASSIGN_OR_RAISE(auto mm, arrow::compute::MinMax(et_micros));
    const auto& st = mm.scalar_as<arrow::StructScalar>();
    lo_us = static_cast<const arrow::TimestampScalar&>(*st.value[0]).value;
    hi_us = static_cast<const arrow::TimestampScalar&>(*st.value[1]).value;
  }
  const auto lo = EventTime::FromMicros(lo_us), hi = EventTime::FromMicros(hi_us);
  if (!ref_.start || lo < *ref_.start) ref_.start = lo;
  if (!ref_.end || *ref_.end < hi) ref_.end = hi;
  if (int del = rows.schema()->GetFieldIndex(kDeletedColumn); del >= 0) {
    const auto& flags = *rows.column(del);
    if (flags.type_id() != arrow::Type::BOOL) {
      return arrow::Status::Invalid("column '", kDeletedColumn, "' is ", flags.type()->ToString(), ", not boolean");
    }
    ref_.tombstones += static_cast<const arrow::BooleanArray&>(flags).true_count();
  }
  ref_.rows += rows.num_rows();
  return impl_->writer->WriteRecordBatch(rows);
}

arrow::Result<DataFileRef> DataFileStream::Close() {
  auto st = impl_->writer ? arrow::Status::OK() : StartWriter(nullptr);
  if (st.ok()) st = impl_->writer->Close();
  if (st.ok()) {
    auto pos = impl_->out->Tell();
    st = pos.status();
    if (pos.ok()) ref_.size = *pos;
  }
  if (st.ok()) st = impl_->out->Close();
  if (!st.ok()) {
    Abort();
    return WithContext(st, "writing data file '" + impl_->storage->Describe(ref_.path) + "': ");
  }
  impl_->closed = true;
  return ref_;
}

arrow::Result<DataFileRef> WriteDataFile(io::Storage& storage, const TableSchema& schema,
                                         const std::string& name,
                                         const std::shared_ptr<arrow::Table>& rows,
                                         Version version, int64_t row_group_rows, int64_t page_rows) {
  const bool with_deleted = rows->schema()->GetFieldIndex(kDeletedColumn) >= 0;
  const bool with_versions = rows->schema()->GetFieldIndex(kVersionColumn) >= 0;
  ARROW_ASSIGN_OR_RAISE(auto stream, DataFileStream::Open(storage, schema, name, version, with_deleted,
                                                          with_versions, row_group_rows,
                                                          metadata::kAppendedPageBytes, false, page_rows));
  arrow::TableBatchReader batches(*rows);
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(batches.ReadNext(&batch));
    if (!batch) break;
    ARROW_RETURN_NOT_OK(stream->Write(*batch));
  }
  return stream->Close();
}

}  // namespace bazof::write
