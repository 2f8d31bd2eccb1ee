#include "write/input_reader.h"

#include <arrow/api.h>
#include <arrow/csv/api.h>
#include <arrow/filesystem/api.h>
#include <arrow/io/api.h>
#include <arrow/json/api.h>
#include <arrow/util/value_parsing.h>
#include <parquet/arrow/reader.h>

#include <filesystem>

#include "bazof/error.h"
#include "bazof/snapshot.h"

namespace bazof::write {
namespace {

constexpr const char* kInputDeleted = "_deleted";

// Arrow's ISO-8601 parser, with the format's rule that a timestamp without a
// zone is UTC: reporting a zone as present lets Arrow's CSV reader fill
// UTC-zoned columns from "2024-01-01" or "2024-01-01T10:00:00" as well as
// from "...Z" and "...+02:00" (which it converts).
class Iso8601UtcDefault : public arrow::TimestampParser {
 public:
  bool operator()(const char* s, size_t length, arrow::TimeUnit::type unit, int64_t* out,
                  bool* out_zone_offset_present) const override {
    if (!arrow::internal::ParseTimestampISO8601(s, length, unit, out)) return false;
    if (out_zone_offset_present) *out_zone_offset_present = true;
    return true;
  }
  const char* kind() const override { return "iso8601, UTC when no zone"; }
};

// Wraps a reader so that its errors name the input file.
class NamedReader : public arrow::RecordBatchReader {
 public:
  NamedReader(std::shared_ptr<arrow::RecordBatchReader> inner, std::string name,
              std::shared_ptr<void> keep_alive = nullptr)
      : inner_(std::move(inner)), name_(std::move(name)), keep_alive_(std::move(keep_alive)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return inner_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    auto st = inner_->ReadNext(out);
    if (!st.ok()) return InvalidArgument("input '", name_, "': ", st.message());
    return st;
  }

 private:
  std::shared_ptr<arrow::RecordBatchReader> inner_;
  std::string name_;
  std::shared_ptr<void> keep_alive_;
};

std::unordered_map<std::string, std::shared_ptr<arrow::DataType>> ColumnTypes(const TableSchema& s) {
  std::unordered_map<std::string, std::shared_ptr<arrow::DataType>> types;
  for (const auto& k : s.key_columns) types[k.name] = k.type;
  types[s.event_time.name] = s.event_time.type;
  for (const auto& v : s.value_columns) types[v.name] = v.type;
  types[kInputDeleted] = arrow::boolean();
  return types;
}

}  // namespace

arrow::Result<InputFormat> ResolveInputFormat(const std::string& name, const std::string& path) {
  std::string n = name;
  if (n.empty()) {
    auto ext = std::filesystem::path(path).extension().string();
    if (ext == ".csv") n = "csv";
    else if (ext == ".parquet" || ext == ".pq") n = "parquet";
    else if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") n = "jsonl";
    else {
      return InvalidArgument("input '", path,
                             "': cannot tell the format from the extension; use --input-format csv|parquet|jsonl");
    }
  }
  if (n == "csv") return InputFormat::kCsv;
  if (n == "parquet") return InputFormat::kParquet;
  if (n == "jsonl" || n == "json" || n == "ndjson") return InputFormat::kJsonl;
  return InvalidArgument("--input-format '", n, "': expected csv, parquet or jsonl");
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenInput(const std::string& path,
                                                                   InputFormat format,
                                                                   const TableSchema& schema) {
  std::string resolved = path;
  if (path.find("://") == std::string::npos) resolved = std::filesystem::absolute(path).string();
  std::string inner;
  auto fs = arrow::fs::FileSystemFromUriOrPath(resolved, &inner);
  if (!fs.ok()) return InvalidArgument("input '", path, "': ", fs.status().message());
  auto info = (*fs)->GetFileInfo(inner);
  if (!info.ok() || info->type() != arrow::fs::FileType::File) {
    return NotFound("input '", path, "' does not exist");
  }
  ARROW_ASSIGN_OR_RAISE(auto file, (*fs)->OpenInputFile(*info));

  switch (format) {
    case InputFormat::kCsv: {
      auto read = arrow::csv::ReadOptions::Defaults();
      auto parse = arrow::csv::ParseOptions::Defaults();
      auto convert = arrow::csv::ConvertOptions::Defaults();
      convert.strings_can_be_null = true;  // an empty field is null
      convert.timestamp_parsers = {std::make_shared<Iso8601UtcDefault>()};
      for (auto& [name, type] : ColumnTypes(schema)) convert.column_types[name] = type;
      auto reader = arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), file, read,
                                                      parse, convert);
      if (!reader.ok()) return InvalidArgument("input '", path, "': ", reader.status().message());
      return std::make_shared<NamedReader>(*reader, path);
    }
    case InputFormat::kJsonl: {
      auto read = arrow::json::ReadOptions::Defaults();
      auto parse = arrow::json::ParseOptions::Defaults();
      // Only the columns the input names are parsed; unknown ones are
      // inferred here and refused by the append with a clear message.
      arrow::FieldVector fields;
      for (auto& [name, type] : ColumnTypes(schema)) fields.push_back(arrow::field(name, type));
      parse.explicit_schema = arrow::schema(fields);
      parse.unexpected_field_behavior = arrow::json::UnexpectedFieldBehavior::InferType;
      auto reader = arrow::json::StreamingReader::Make(file, read, parse);
      if (!reader.ok()) return InvalidArgument("input '", path, "': ", reader.status().message());
      return std::make_shared<NamedReader>(*reader, path);
    }
    case InputFormat::kParquet: {
      auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool());
      if (!reader.ok()) return InvalidArgument("input '", path, "': not a Parquet file (", reader.status().message(), ")");
      std::shared_ptr<parquet::arrow::FileReader> owned(std::move(*reader));
      std::vector<int> row_groups((*owned).num_row_groups());
      for (size_t i = 0; i < row_groups.size(); ++i) row_groups[i] = static_cast<int>(i);
      ARROW_ASSIGN_OR_RAISE(auto batches, owned->GetRecordBatchReader(row_groups));
      return std::make_shared<NamedReader>(std::move(batches), path, owned);
    }
  }
  return InvalidArgument("unknown input format");
}

}  // namespace bazof::write
