#include "write/data_file_writer.h"

#include <algorithm>
#include <arrow/api.h>
#include <arrow/compute/api.h>
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
  std::shared_ptr<arrow::io::OutputStream> out;
  std::unique_ptr<parquet::arrow::FileWriter> writer;
  bool closed = false;
};

arrow::Result<std::unique_ptr<DataFileStream>> DataFileStream::Open(io::Storage& storage,
                                                                    const TableSchema& schema,
                                                                    std::string name, Version version,
                                                                    bool with_deleted, bool with_versions,
                                                                    int64_t row_group_rows,
                                                                    int64_t page_bytes,
                                                                    bool parallel_columns) {
  ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
  std::unique_ptr<DataFileStream> s(new DataFileStream());
  s->impl_ = std::make_unique<Impl>();
  s->impl_->storage = &storage;
  s->impl_->schema = &schema;
  s->ref_.path = std::move(name);
  s->ref_.version = version;
  s->ref_.rows = 0;
  s->ref_.tombstones = 0;
  s->ref_.sorted = true;
  ARROW_ASSIGN_OR_RAISE(s->impl_->out, storage.OpenForWrite(s->ref_.path));
  auto props = parquet::WriterProperties::Builder()
                   .compression(parquet::Compression::SNAPPY)
                   ->max_row_group_length(row_group_rows)
                   ->data_pagesize(page_bytes)
                   // A column whose dictionary outgrows 64 KiB in a row group
                   // (near-unique numbers, keys) falls back to plain encoding
                   // early: with 128K-row groups a 1 MiB limit is never hit,
                   // so every value was hashed for a dictionary as large as
                   // the data (W1 append: 3x slower, 24% larger files).
                   ->dictionary_pagesize_limit(std::min<int64_t>(page_bytes, kDictionaryPageBytes))
                   ->enable_statistics()
                   // A CRC-32 in every page header, verified on every read
                   // (metadata/page_checksums.h): a flipped bit is an error,
                   // never different rows.
                   ->enable_page_checksum()
                   ->build();
  parquet::ArrowWriterProperties::Builder arrow_builder;
  arrow_builder.store_schema();
  arrow_builder.set_use_threads(parallel_columns);
  auto arrow_props = arrow_builder.build();
  auto writer = parquet::arrow::FileWriter::Open(*DataFileSchema(schema, with_deleted, with_versions),
                                                 arrow::default_memory_pool(), s->impl_->out, props,
                                                 arrow_props);
  if (!writer.ok()) {
    s->Abort();
    return WithContext(writer.status(), "writing data file '" + storage.Describe(s->ref_.path) + "': ");
  }
  s->impl_->writer = std::move(*writer);
  // Recorded in the footer, so validate tells a verified file from one
  // written without CRCs (docs/spec.md §6.1).
  auto st = s->impl_->writer->AddKeyValueMetadata(
      arrow::key_value_metadata({metadata::kPageChecksumsKey}, {metadata::kPageChecksumsCrc32}));
  if (!st.ok()) {
    s->Abort();
    return WithContext(st, "writing data file '" + storage.Describe(s->ref_.path) + "': ");
  }
  return s;
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
  ARROW_ASSIGN_OR_RAISE(auto et_micros, arrow::compute::Cast(rows.column(static_cast<int>(nkeys)),
                                                             arrow::timestamp(arrow::TimeUnit::MICRO)));
  ARROW_ASSIGN_OR_RAISE(auto mm, arrow::compute::MinMax(et_micros));
  const auto& st = mm.scalar_as<arrow::StructScalar>();
  auto lo = EventTime::FromMicros(static_cast<const arrow::TimestampScalar&>(*st.value[0]).value);
  auto hi = EventTime::FromMicros(static_cast<const arrow::TimestampScalar&>(*st.value[1]).value);
  if (!ref_.start || lo < *ref_.start) ref_.start = lo;
  if (!ref_.end || *ref_.end < hi) ref_.end = hi;
  if (int del = rows.schema()->GetFieldIndex(kDeletedColumn); del >= 0) {
    ARROW_ASSIGN_OR_RAISE(auto sum, arrow::compute::Sum(rows.column(del)));
    auto s = sum.scalar_as<arrow::UInt64Scalar>();
    ref_.tombstones += s.is_valid ? static_cast<int64_t>(s.value) : 0;
  }
  ref_.rows += rows.num_rows();
  auto status = impl_->writer->WriteRecordBatch(rows);
  if (!status.ok()) {
    Abort();
    return WithContext(status, "writing data file '" + impl_->storage->Describe(ref_.path) + "': ");
  }
  return arrow::Status::OK();
}

arrow::Result<DataFileRef> DataFileStream::Close() {
  auto st = impl_->writer->Close();
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
                                         Version version, int64_t row_group_rows) {
  const bool with_deleted = rows->schema()->GetFieldIndex(kDeletedColumn) >= 0;
  const bool with_versions = rows->schema()->GetFieldIndex(kVersionColumn) >= 0;
  ARROW_ASSIGN_OR_RAISE(auto stream, DataFileStream::Open(storage, schema, name, version, with_deleted,
                                                          with_versions, row_group_rows));
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
