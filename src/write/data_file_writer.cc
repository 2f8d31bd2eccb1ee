#include "write/data_file_writer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/writer.h>

#include <random>

#include "bazof/error.h"
#include "compute_init.h"

namespace bazof::write {
namespace {

std::shared_ptr<arrow::Field> WithId(const ColumnSpec& c, bool nullable) {
  auto md = arrow::key_value_metadata({"PARQUET:field_id"}, {std::to_string(c.id)});
  return arrow::field(c.name, c.type, nullable, c.id > 0 ? md : nullptr);
}

arrow::Result<KeyValue> KeyAt(const arrow::Table& rows, size_t num_keys, int64_t row) {
  KeyValue key;
  for (size_t k = 0; k < num_keys; ++k) {
    ARROW_ASSIGN_OR_RAISE(auto s, rows.column(static_cast<int>(k))->GetScalar(row));
    key.push_back(std::move(s));
  }
  return key;
}

}  // namespace

std::string NewDataFileName(Version v) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "data/v%lld-%016llx.parquet", static_cast<long long>(v.value()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::shared_ptr<arrow::Schema> DataFileSchema(const TableSchema& schema, bool with_deleted) {
  arrow::FieldVector fields;
  for (const auto& k : schema.key_columns) fields.push_back(WithId(k, false));
  fields.push_back(WithId(schema.event_time, false));
  for (const auto& v : schema.value_columns) fields.push_back(WithId(v, true));
  if (with_deleted) fields.push_back(arrow::field(kDeletedColumn, arrow::boolean(), false));
  return arrow::schema(std::move(fields));
}

arrow::Result<DataFileRef> WriteDataFile(io::Storage& storage, const TableSchema& schema,
                                         const std::string& name,
                                         const std::shared_ptr<arrow::Table>& rows,
                                         Version version, int64_t row_group_rows) {
  ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
  DataFileRef ref;
  ref.path = name;
  ref.version = version;
  ref.rows = rows->num_rows();
  ref.sorted = true;
  ref.tombstones = 0;

  const int et_col = static_cast<int>(schema.key_columns.size());
  if (ref.rows > 0) {
    ARROW_ASSIGN_OR_RAISE(ref.min_key, KeyAt(*rows, schema.key_columns.size(), 0));
    ARROW_ASSIGN_OR_RAISE(ref.max_key, KeyAt(*rows, schema.key_columns.size(), ref.rows - 1));
    ARROW_ASSIGN_OR_RAISE(auto et_micros, arrow::compute::Cast(rows->column(et_col),
                                                               arrow::timestamp(arrow::TimeUnit::MICRO)));
    ARROW_ASSIGN_OR_RAISE(auto mm, arrow::compute::MinMax(et_micros));
    const auto& st = mm.scalar_as<arrow::StructScalar>();
    ref.start = EventTime::FromMicros(static_cast<const arrow::TimestampScalar&>(*st.value[0]).value);
    ref.end = EventTime::FromMicros(static_cast<const arrow::TimestampScalar&>(*st.value[1]).value);
    int del = rows->schema()->GetFieldIndex(kDeletedColumn);
    if (del >= 0) {
      ARROW_ASSIGN_OR_RAISE(auto sum, arrow::compute::Sum(rows->column(del)));
      auto s = sum.scalar_as<arrow::UInt64Scalar>();
      ref.tombstones = s.is_valid ? static_cast<int64_t>(s.value) : 0;
    }
  }

  ARROW_ASSIGN_OR_RAISE(auto out, storage.OpenForWrite(name));
  auto props = parquet::WriterProperties::Builder()
                   .compression(parquet::Compression::SNAPPY)
                   ->max_row_group_length(row_group_rows)
                   ->enable_statistics()
                   ->build();
  auto arrow_props = parquet::ArrowWriterProperties::Builder().store_schema()->build();
  auto st = parquet::arrow::WriteTable(*rows, arrow::default_memory_pool(), out, row_group_rows,
                                       props, arrow_props);
  if (st.ok()) {
    auto pos = out->Tell();
    st = pos.status();
    if (pos.ok()) ref.size = *pos;
  }
  if (st.ok()) st = out->Close();
  if (!st.ok()) {
    (void)out->Abort();  // never publish a truncated object
    return WithContext(st, "writing data file '" + storage.Describe(name) + "': ");
  }
  return ref;
}

}  // namespace bazof::write
