#include "write/lateness.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>

#include "bazof/error.h"
#include "metadata/page_checksums.h"

namespace bazof::write {

arrow::Result<LatenessProfile> LatenessOf(io::Storage& storage, const TableSchema& schema,
                                          const std::vector<DataFileRef>& files, EventTime watermark) {
  LatenessProfile profile;
  const int64_t w = watermark.micros();
  for (const auto& f : files) {
    if (f.start && *f.start > watermark) continue;  // nothing late in it
    ARROW_ASSIGN_OR_RAISE(auto input, storage.OpenForRead(f.path, f.size));
    parquet::arrow::FileReaderBuilder builder;
    if (auto st = builder.Open(input, metadata::DataFileReaderProperties()); !st.ok()) {
      return Corruption(storage.Describe(f.path), ": not a Parquet file (", st.message(), ")");
    }
    parquet::ArrowReaderProperties props;
    props.set_use_threads(false);
    std::unique_ptr<parquet::arrow::FileReader> reader;
    ARROW_RETURN_NOT_OK(builder.properties(props)->Build(&reader));
    std::shared_ptr<arrow::Schema> file_schema;
    ARROW_RETURN_NOT_OK(reader->GetSchema(&file_schema));
    const int col = file_schema->GetFieldIndex(schema.event_time.name);
    if (col < 0) {
      return Corruption(storage.Describe(f.path), ": no event-time column '", schema.event_time.name, "'");
    }
    std::shared_ptr<arrow::ChunkedArray> times;
    ARROW_RETURN_NOT_OK(reader->ReadColumn(col, &times));
    ARROW_ASSIGN_OR_RAISE(auto micros, arrow::compute::Cast(times, arrow::timestamp(arrow::TimeUnit::MICRO),
                                                             arrow::compute::CastOptions::Unsafe()));
    for (const auto& chunk : micros.chunked_array()->chunks()) {
      const auto& a = static_cast<const arrow::TimestampArray&>(*chunk);
      for (int64_t i = 0; i < a.length(); ++i) {
        if (!a.IsValid(i) || a.Value(i) > w) continue;
        int64_t late = 0;
        if (__builtin_sub_overflow(w, a.Value(i), &late)) late = INT64_MAX;
        profile.Add(late);
      }
    }
  }
  return profile;
}

}  // namespace bazof::write
