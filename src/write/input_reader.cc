#include "write/input_reader.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/csv/api.h>
#include <arrow/filesystem/api.h>
#include <arrow/io/api.h>
#include <arrow/io/memory.h>
#include <arrow/io/stdio.h>
#include <arrow/io/transform.h>
#include <arrow/json/api.h>
#include <arrow/util/value_parsing.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "bazof/error.h"
#include "bazof/snapshot.h"
#include "progress_reporter.h"
#include "write/external_sort.h"
#include "write/text_parse.h"

namespace bazof::write {
namespace {

constexpr const char* kInputDeleted = "_deleted";

// Text columns (all of CSV, timestamps of JSON) -> columns typed by the table (columns it does not know
// stay text; the append refuses them by name).
class TextColumnsReader : public arrow::RecordBatchReader {
 public:
  TextColumnsReader(std::shared_ptr<arrow::RecordBatchReader> inner,
                 std::unordered_map<std::string, std::shared_ptr<arrow::DataType>> types,
                 std::vector<std::shared_ptr<arrow::TimestampParser>> timestamp_formats = {})
      : inner_(std::move(inner)), types_(std::move(types)), timestamp_formats_(std::move(timestamp_formats)) {
    arrow::FieldVector fields;
    for (const auto& f : inner_->schema()->fields()) {
      auto it = types_.find(f->name());
      fields.push_back(it == types_.end() ? f : arrow::field(f->name(), it->second));
    }
    schema_ = arrow::schema(fields);
  }
  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(inner_->ReadNext(&batch));
    *out = nullptr;
    if (!batch) return arrow::Status::OK();
    arrow::ArrayVector cols;
    for (int c = 0; c < batch->num_columns(); ++c) {
      auto it = types_.find(batch->schema()->field(c)->name());
      if (it == types_.end()) {
        cols.push_back(batch->column(c));
      } else {
        ARROW_ASSIGN_OR_RAISE(auto typed, ParseText(static_cast<const arrow::StringArray&>(*batch->column(c)),
                                                    it->second, it->first, rows_ + 1, timestamp_formats_));
        cols.push_back(typed);
      }
    }
    rows_ += batch->num_rows();
    *out = arrow::RecordBatch::Make(schema_, batch->num_rows(), cols);
    return arrow::Status::OK();
  }

 private:
  std::shared_ptr<arrow::RecordBatchReader> inner_;
  std::unordered_map<std::string, std::shared_ptr<arrow::DataType>> types_;
  std::vector<std::shared_ptr<arrow::TimestampParser>> timestamp_formats_;
  std::shared_ptr<arrow::Schema> schema_;
  int64_t rows_ = 0;
};

// Arrow's JSON reader dereferences a null pointer on a line whose value is a
// bare `null` (apache/arrow#47409, open in Arrow 26): the process dies. Such a
// line is never a row, so this stream refuses it, with its line number,
// before Arrow parses it. Only what begins a line is looked at (Arrow's JSON
// lines hold no newlines inside values), as the bytes stream through.
class JsonLinesGuard : public arrow::io::InputStream {
 public:
  explicit JsonLinesGuard(std::shared_ptr<arrow::io::InputStream> inner) : inner_(std::move(inner)) {}
  arrow::Status Close() override { return inner_->Close(); }
  bool closed() const override { return inner_->closed(); }
  arrow::Result<int64_t> Tell() const override { return inner_->Tell(); }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(auto n, inner_->Read(nbytes, out));
    ARROW_RETURN_NOT_OK(Check(static_cast<const char*>(out), n));
    return n;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(auto buffer, inner_->Read(nbytes));
    ARROW_RETURN_NOT_OK(Check(reinterpret_cast<const char*>(buffer->data()), buffer->size()));
    return buffer;
  }

 private:
  arrow::Status Check(const char* data, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const char c = data[i];
      if (c == '\n') {
        ++line_;
        start_.clear();
        in_start_ = true;
      } else if (in_start_ && c != ' ' && c != '\t' && c != '\r') {
        start_.push_back(c);
        if (std::string_view("null").substr(0, start_.size()) != start_) {
          in_start_ = false;
        } else if (start_.size() == 4) {
          return InvalidArgument("line ", line_, ": a JSON line must be an object, not null");
        }
      }
    }
    return arrow::Status::OK();
  }

  std::shared_ptr<arrow::io::InputStream> inner_;
  int64_t line_ = 1;
  std::string start_;  // the line's first non-blank characters, while they spell a prefix of "null"
  bool in_start_ = true;
};

// Keeps the Parquet file reader alive as long as the batch reader it made.
class OwningReader : public arrow::RecordBatchReader {
 public:
  OwningReader(std::shared_ptr<arrow::RecordBatchReader> inner, std::shared_ptr<void> owner)
      : inner_(std::move(inner)), owner_(std::move(owner)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return inner_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override { return inner_->ReadNext(out); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> inner_;
  std::shared_ptr<void> owner_;
};

// Ends the input's progress phase with its last batch; counts rows when the
// phase's unit is rows (Parquet), not bytes.
class ProgressReader : public arrow::RecordBatchReader {
 public:
  ProgressReader(std::shared_ptr<arrow::RecordBatchReader> inner,
                 std::shared_ptr<internal::ProgressReporter> progress, bool count_rows)
      : inner_(std::move(inner)), progress_(std::move(progress)), count_rows_(count_rows) {}
  std::shared_ptr<arrow::Schema> schema() const override { return inner_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    ARROW_RETURN_NOT_OK(inner_->ReadNext(out));
    if (!*out) {
      progress_->Finish();
    } else if (count_rows_) {
      progress_->Add((*out)->num_rows());
    }
    return arrow::Status::OK();
  }

 private:
  std::shared_ptr<arrow::RecordBatchReader> inner_;
  std::shared_ptr<internal::ProgressReporter> progress_;
  bool count_rows_;
};

// CSV rows must fit in one block of Arrow's reader ("straddling object"
// otherwise). Blocks start small, so ordinary inputs use little memory; on
// that error the file is opened again with a 4x larger block, skipping the
// rows already returned, up to kMaxCsvBlock (a 16 MB field is fine).
constexpr int32_t kFirstCsvBlock = 1 << 20;
constexpr int32_t kMaxCsvBlock = 1 << 30;

bool IsStraddling(const arrow::Status& st) { return st.message().find("straddling") != std::string::npos; }

class CsvReader : public arrow::RecordBatchReader {
 public:
  using Opener = std::function<arrow::Result<std::shared_ptr<arrow::io::InputStream>>()>;

  static arrow::Result<std::shared_ptr<CsvReader>> Make(Opener open, arrow::csv::ReadOptions read,
                                                       arrow::csv::ParseOptions parse,
                                                       arrow::csv::ConvertOptions convert) {
    auto r = std::shared_ptr<CsvReader>(new CsvReader(std::move(open), read, parse, convert));
    ARROW_RETURN_NOT_OK(r->Reopen());
    return r;
  }
  std::shared_ptr<arrow::Schema> schema() const override { return inner_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    for (;;) {
      auto st = inner_->ReadNext(out);
      if (st.ok()) {
        if (*out) rows_ += (*out)->num_rows();
        return st;
      }
      if (!IsStraddling(st) || read_.block_size >= kMaxCsvBlock) return st;
      read_.block_size *= 4;
      ARROW_RETURN_NOT_OK(Reopen());
    }
  }

 private:
  CsvReader(Opener open, arrow::csv::ReadOptions read, arrow::csv::ParseOptions parse,
            arrow::csv::ConvertOptions convert)
      : open_(std::move(open)), read_(read), parse_(parse), convert_(convert) {}

  arrow::Status Reopen() {
    for (;;) {
      ARROW_ASSIGN_OR_RAISE(auto file, open_());
      auto read = read_;
      read.skip_rows_after_names = static_cast<int32_t>(std::min<int64_t>(rows_, INT32_MAX));
      auto reader = arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), file, read, parse_, convert_);
      if (reader.ok()) {
        if (inner_ && !reader.ValueUnsafe()->schema()->Equals(*inner_->schema())) {
          return arrow::Status::Invalid("the columns changed while reading");
        }
        inner_ = *reader;
        return arrow::Status::OK();
      }
      if (!IsStraddling(reader.status()) || read_.block_size >= kMaxCsvBlock) return reader.status();
      read_.block_size *= 4;
    }
  }

  Opener open_;
  arrow::csv::ReadOptions read_;
  arrow::csv::ParseOptions parse_;
  arrow::csv::ConvertOptions convert_;
  std::shared_ptr<arrow::csv::StreamingReader> inner_;
  int64_t rows_ = 0;
};

std::unordered_map<std::string, std::shared_ptr<arrow::DataType>> ColumnTypes(const TableSchema& s) {
  std::unordered_map<std::string, std::shared_ptr<arrow::DataType>> types;
  for (const auto& k : s.key_columns) types[k.name] = k.type;
  types[s.event_time.name] = s.event_time.type;
  for (const auto& v : s.value_columns) types[v.name] = v.type;
  types[kInputDeleted] = arrow::boolean();
  return types;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenFormat(
    const std::string& path, InputFormat format, const TableSchema& schema, const InputOptions& options,
    const std::shared_ptr<arrow::io::RandomAccessFile>& file,
    const std::function<arrow::Result<std::shared_ptr<arrow::io::InputStream>>()>& open,
    std::vector<std::shared_ptr<arrow::TimestampParser>> formats);

}  // namespace

arrow::Result<InputFormat> ResolveInputFormat(const std::string& name, const std::string& path) {
  std::string n = name;
  if (n.empty() && path == "-") {
    return InvalidArgument("input '-' (standard input): name its format with --input-format csv|parquet|jsonl");
  }
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
                                                                   const TableSchema& schema,
                                                                   const InputOptions& options) {
  if (format == InputFormat::kParquet &&
      (options.csv_delimiter != ',' || !options.timestamp_formats.empty() || options.null_values)) {
    return InvalidArgument("input '", path, "': --csv-delimiter, --timestamp-format and --null-values apply to ",
                           "text inputs (csv, jsonl), not parquet");
  }
  if (format == InputFormat::kJsonl && (options.csv_delimiter != ',' || options.null_values)) {
    return InvalidArgument("input '", path, "': --csv-delimiter and --null-values apply to csv inputs");
  }
  std::vector<std::shared_ptr<arrow::TimestampParser>> formats;
  for (const auto& f : options.timestamp_formats) {
    if (f.find('%') == std::string::npos) {
      return InvalidArgument("--timestamp-format '", f, "': not a strptime format (e.g. %d/%m/%Y %H:%M:%S)");
    }
    formats.push_back(arrow::TimestampParser::MakeStrptime(f));
  }
  // The input as random access (Parquet) and as a stream that can be opened
  // again (CSV restarts with larger blocks when a field outgrows one).
  std::shared_ptr<arrow::io::RandomAccessFile> file;
  std::function<arrow::Result<std::shared_ptr<arrow::io::InputStream>>()> open;
  if (path == "-") {
    // Standard input is copied whole first, into an unnamed file in the
    // spill directory (not memory: it may be larger), since both needs above
    // require it (docs/spec.md §10a).
    const std::string dir = SpillDirOrDefault(options.spill_dir);
    ARROW_ASSIGN_OR_RAISE(int fd, OpenSpillFile(dir));
    int write_fd = ::dup(fd);
    if (write_fd < 0) {
      ::close(fd);
      return arrow::Status::IOError("spill directory '", dir, "': dup failed");
    }
    auto copy = [&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(write_fd));
      arrow::io::StdinStream in;
      internal::ProgressReporter reading(options.progress, "read standard input", "bytes", -1);
      while (true) {
        auto chunk = in.Read(1 << 20);
        if (!chunk.ok()) return InvalidArgument("input '-' (standard input): ", chunk.status().message());
        if ((*chunk)->size() == 0) break;
        auto st = out->Write(*chunk);
        if (!st.ok()) return WithContext(st, "spill directory '" + dir + "': copying standard input: ");
        reading.Add((*chunk)->size());
      }
      reading.Finish();
      return out->Close();
    };
    auto copied = copy();
    if (!copied.ok()) {
      ::close(fd);
      return copied;
    }
    ARROW_ASSIGN_OR_RAISE(auto spooled, arrow::io::ReadableFile::Open(fd));
    ARROW_ASSIGN_OR_RAISE(const int64_t size, spooled->GetSize());
    // The descriptor shares its offset with the one written through: rewind.
    ARROW_RETURN_NOT_OK(spooled->Seek(0));
    file = spooled;
    open = [spooled, size]() -> arrow::Result<std::shared_ptr<arrow::io::InputStream>> {
      return arrow::io::RandomAccessFile::GetStream(spooled, 0, size);
    };
  } else {
    std::string resolved = path;
    if (path.find("://") == std::string::npos) resolved = std::filesystem::absolute(path).string();
    std::string inner;
    auto fs = arrow::fs::FileSystemFromUriOrPath(resolved, &inner);
    if (!fs.ok()) return InvalidArgument("input '", path, "': ", fs.status().message());
    auto info = (*fs)->GetFileInfo(inner);
    if (!info.ok() || info->type() != arrow::fs::FileType::File) {
      return NotFound("input '", path, "' does not exist");
    }
    ARROW_ASSIGN_OR_RAISE(file, (*fs)->OpenInputFile(*info));
    std::shared_ptr<arrow::fs::FileSystem> filesystem = *fs;
    arrow::fs::FileInfo file_info = *info;
    open = [filesystem, file_info]() -> arrow::Result<std::shared_ptr<arrow::io::InputStream>> {
      return filesystem->OpenInputStream(file_info);
    };
  }

  // Progress in bytes of the input consumed (csv, jsonl; a stream opened
  // again re-reads, so each counts from 0 and done is the largest), or in
  // rows (parquet).
  std::shared_ptr<internal::ProgressReporter> progress;
  if (options.progress) {
    int64_t total = -1;
    if (format == InputFormat::kParquet) {
      try {
        total = parquet::ReadMetaData(file)->num_rows();
      } catch (const std::exception&) {
        // Not a Parquet file: said clearly when it is opened below.
      }
    } else {
      auto size = file->GetSize();
      if (size.ok()) total = *size;
    }
    progress = std::make_shared<internal::ProgressReporter>(
        options.progress, "read input", format == InputFormat::kParquet ? "rows" : "bytes", total);
    if (format != InputFormat::kParquet) {
      open = [inner = std::move(open), progress]() -> arrow::Result<std::shared_ptr<arrow::io::InputStream>> {
        ARROW_ASSIGN_OR_RAISE(auto stream, inner());
        auto seen = std::make_shared<int64_t>(0);
        return std::make_shared<arrow::io::TransformInputStream>(
            std::move(stream),
            [progress, seen](const std::shared_ptr<arrow::Buffer>& b) -> arrow::Result<std::shared_ptr<arrow::Buffer>> {
              *seen += b->size();
              progress->Set(*seen);
              return b;
            });
      };
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenFormat(path, format, schema, options, file, open, std::move(formats)));
  if (!progress) return reader;
  return std::make_shared<ProgressReader>(std::move(reader), progress, format == InputFormat::kParquet);
}

namespace {

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenFormat(
    const std::string& path, InputFormat format, const TableSchema& schema, const InputOptions& options,
    const std::shared_ptr<arrow::io::RandomAccessFile>& file,
    const std::function<arrow::Result<std::shared_ptr<arrow::io::InputStream>>()>& open,
    std::vector<std::shared_ptr<arrow::TimestampParser>> formats) {
  switch (format) {
    case InputFormat::kCsv: {
      auto read = arrow::csv::ReadOptions::Defaults();
      read.block_size = kFirstCsvBlock;
      auto parse = arrow::csv::ParseOptions::Defaults();
      parse.delimiter = options.csv_delimiter;
      auto convert = arrow::csv::ConvertOptions::Defaults();
      // docs/spec.md §10a: by default an empty field (quoted or not) is null,
      // and only that: "NA", "null", "NaN", "#N/A" ... are text, as put keeps
      // them; --null-values names the markers instead.
      convert.null_values = options.null_values ? *options.null_values : std::vector<std::string>{""};
      convert.strings_can_be_null = !convert.null_values.empty();
      convert.quoted_strings_can_be_null = !convert.null_values.empty();
      // UTF-8 is checked by the append, which names the row and the column.
      convert.check_utf8 = false;
      // Fields are read as text and converted by TypedCsvReader, whose errors
      // can name the row, the column and the value.
      auto types = ColumnTypes(schema);
      for (auto& [name, type] : types) convert.column_types[name] = arrow::utf8();
      auto reader = CsvReader::Make(open, read, parse, convert);
      if (!reader.ok()) return InvalidArgument("input '", path, "': ", reader.status().message());
      return std::make_shared<TextColumnsReader>(*reader, std::move(types), std::move(formats));
    }
    case InputFormat::kJsonl: {
      auto read = arrow::json::ReadOptions::Defaults();
      auto parse = arrow::json::ParseOptions::Defaults();
      // Only the columns the input names are parsed; unknown ones are
      // inferred here and refused by the append with a clear message.
      arrow::FieldVector fields;
      std::unordered_map<std::string, std::shared_ptr<arrow::DataType>> timestamps;
      for (auto& [name, type] : ColumnTypes(schema)) {
        // Timestamps are read as text and parsed like CSV's (zone-less = UTC).
        if (type->id() == arrow::Type::TIMESTAMP) timestamps[name] = type;
        fields.push_back(arrow::field(name, type->id() == arrow::Type::TIMESTAMP ? arrow::utf8() : type));
      }
      parse.explicit_schema = arrow::schema(fields);
      parse.unexpected_field_behavior = arrow::json::UnexpectedFieldBehavior::InferType;
      ARROW_ASSIGN_OR_RAISE(auto stream, open());
      auto reader = arrow::json::StreamingReader::Make(std::make_shared<JsonLinesGuard>(stream), read, parse);
      if (!reader.ok()) {
        // An input with no rows at all is an empty input, not an error.
        if (reader.status().message().find("Empty JSON stream") != std::string::npos) {
          return arrow::RecordBatchReader::Make({}, arrow::schema(fields));
        }
        return InvalidArgument("input '", path, "': ", reader.status().message());
      }
      return std::make_shared<TextColumnsReader>(*reader, std::move(timestamps), std::move(formats));
    }
    case InputFormat::kParquet: {
      parquet::arrow::FileReaderBuilder builder;
      auto opened = builder.Open(file);
      if (!opened.ok()) return InvalidArgument("input '", path, "': not a Parquet file (", opened.message(), ")");
      // Sequential reading without pre-buffering: pre-buffering every row
      // group would hold the whole (compressed) input in memory.
      parquet::ArrowReaderProperties props;
      props.set_pre_buffer(false);
      props.set_batch_size(64 * 1024);
      std::unique_ptr<parquet::arrow::FileReader> reader;
      ARROW_RETURN_NOT_OK(builder.properties(props)->Build(&reader));
      std::shared_ptr<parquet::arrow::FileReader> owned(std::move(reader));
      std::vector<int> row_groups((*owned).num_row_groups());
      for (size_t i = 0; i < row_groups.size(); ++i) row_groups[i] = static_cast<int>(i);
      ARROW_ASSIGN_OR_RAISE(auto batches, owned->GetRecordBatchReader(row_groups));
      return std::make_shared<OwningReader>(std::move(batches), owned);
    }
  }
  return InvalidArgument("unknown input format");
}

}  // namespace

}  // namespace bazof::write
