// C API: writing an Arrow C stream to a Parquet file with bazof's Arrow (so
// clients such as bazof-sql need no Parquet writer of their own).
#include <arrow/api.h>
#include <arrow/c/bridge.h>
#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "bazof/bazof.h"
#include "capi/capi_internal.h"

using bazof::capi::Guard;
using bazof::capi::NullArgument;

extern "C" {

bazof_code bazof_write_parquet(struct ArrowArrayStream* input, const char* path, int64_t* out_rows,
                               char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!input || !input->release) return NullArgument("input");
    // The input is consumed (released) whatever happens next.
    ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ImportRecordBatchReader(input));
    if (!path) return NullArgument("path");
    auto sink = arrow::io::FileOutputStream::Open(path);
    if (!sink.ok()) return bazof::InvalidArgument("parquet file '", path, "': ", sink.status().message());
    auto props = parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
    auto arrow_props = parquet::ArrowWriterProperties::Builder().store_schema()->build();
    ARROW_ASSIGN_OR_RAISE(auto writer, parquet::arrow::FileWriter::Open(*reader->schema(), arrow::default_memory_pool(),
                                                                        *sink, props, arrow_props));
    int64_t rows = 0;
    for (;;) {
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
      if (!batch) break;
      rows += batch->num_rows();
      ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(*batch));
    }
    ARROW_RETURN_NOT_OK(writer->Close());
    ARROW_RETURN_NOT_OK((*sink)->Close());
    if (out_rows) *out_rows = rows;
    return arrow::Status::OK();
  });
}

}  // extern "C"
