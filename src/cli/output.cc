#include "cli/output.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/file.h>
#include <arrow/type_traits.h>
#include <parquet/arrow/writer.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "bazof/error.h"
#include "text_escape.h"

namespace bazof::cli {
namespace {

// Standard output as a stream that counts what it wrote: Parquet's writer asks
// for the position, which a pipe cannot tell (lseek fails).
class CountingStdout : public arrow::io::OutputStream {
 public:
  static arrow::Result<std::shared_ptr<CountingStdout>> Open() {
    auto s = std::shared_ptr<CountingStdout>(new CountingStdout());
    ARROW_ASSIGN_OR_RAISE(s->out_, arrow::io::FileOutputStream::Open(1));
    return s;
  }
  arrow::Status Write(const void* data, int64_t nbytes) override {
    ARROW_RETURN_NOT_OK(out_->Write(data, nbytes));
    position_ += nbytes;
    return arrow::Status::OK();
  }
  arrow::Status Flush() override { return out_->Flush(); }
  arrow::Status Close() override { return out_->Close(); }
  bool closed() const override { return out_->closed(); }
  arrow::Result<int64_t> Tell() const override { return position_; }

 private:
  CountingStdout() = default;
  std::shared_ptr<arrow::io::OutputStream> out_;
  int64_t position_ = 0;
};

// A column rendered as text, plus how json should emit it.
struct TextColumn {
  std::shared_ptr<arrow::StringArray> text;
  bool json_bare = false;  // numbers and booleans are not quoted in json
};

// Decimals in plain notation ("-0.0000000001"); Arrow's own text form
// switches to scientific notation for small exponents.
arrow::Result<std::shared_ptr<arrow::Array>> PlainDecimals(const arrow::Decimal128Array& a) {
  const int32_t scale = static_cast<const arrow::Decimal128Type&>(*a.type()).scale();
  arrow::StringBuilder b;
  for (int64_t i = 0; i < a.length(); ++i) {
    if (a.IsNull(i)) {
      ARROW_RETURN_NOT_OK(b.AppendNull());
      continue;
    }
    arrow::Decimal128 v(a.GetValue(i));
    const bool negative = v.IsNegative();
    if (negative) v.Negate();
    std::string digits = v.ToIntegerString();
    if (scale > 0) {
      if (static_cast<int32_t>(digits.size()) <= scale) digits.insert(0, scale - digits.size() + 1, '0');
      digits.insert(digits.size() - scale, ".");
    }
    ARROW_RETURN_NOT_OK(b.Append((negative ? "-" : "") + digits));
  }
  return b.Finish();
}

arrow::Result<TextColumn> Render(const std::shared_ptr<arrow::Array>& a) {
  TextColumn out;
  std::shared_ptr<arrow::Array> s;
  if (a->type_id() == arrow::Type::DECIMAL128) {
    ARROW_ASSIGN_OR_RAISE(s, PlainDecimals(static_cast<const arrow::Decimal128Array&>(*a)));
    out.json_bare = true;
  } else if (a->type_id() == arrow::Type::TIMESTAMP) {
    auto ts = std::static_pointer_cast<arrow::TimestampType>(a->type());
    std::shared_ptr<arrow::Array> utc = a;
    if (ts->timezone().empty()) {
      ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Cast(*a, arrow::timestamp(ts->unit(), "UTC")));
      utc = d;
    }
    arrow::compute::StrftimeOptions opts("%Y-%m-%dT%H:%M:%SZ");
    ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Strftime(utc, opts));
    s = d.make_array();
  } else if (a->type_id() == arrow::Type::STRING) {
    s = a;
  } else {
    ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Cast(*a, arrow::utf8()));
    s = d;
    const auto id = a->type_id();
    out.json_bare = arrow::is_integer(id) || arrow::is_floating(id) || arrow::is_decimal(id) ||
                    id == arrow::Type::BOOL;
  }
  out.text = std::static_pointer_cast<arrow::StringArray>(s);
  return out;
}

std::string CsvField(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string q = "\"";
  for (char c : v) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string JsonValue(const TextColumn& c, int64_t row) {
  if (c.text->IsNull(row)) return "null";
  auto v = c.text->GetView(row);
  // JSON has no NaN or infinity: those floats are written as strings.
  const bool non_finite = v == "nan" || v == "inf" || v == "-inf";
  if (c.json_bare && !non_finite) return std::string(v);
  return nlohmann::json(std::string(v)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class TextWriter {
 public:
  TextWriter(OutputFormat format, std::shared_ptr<arrow::io::OutputStream> out,
             std::shared_ptr<arrow::Schema> schema)
      : format_(format), out_(std::move(out)), schema_(std::move(schema)) {}

  arrow::Status Begin() {
    if (format_ == OutputFormat::kCsv) {
      std::string line;
      for (int c = 0; c < schema_->num_fields(); ++c) {
        line += (c ? "," : "") + CsvField(schema_->field(c)->name());
      }
      return Put(line + "\n");
    }
    return arrow::Status::OK();
  }

  arrow::Status Write(const arrow::RecordBatch& batch) {
    std::vector<TextColumn> cols;
    for (int c = 0; c < batch.num_columns(); ++c) {
      ARROW_ASSIGN_OR_RAISE(auto t, Render(batch.column(c)));
      cols.push_back(std::move(t));
    }
    std::string buf;
    switch (format_) {
      case OutputFormat::kCsv:
        for (int64_t r = 0; r < batch.num_rows(); ++r) {
          for (size_t c = 0; c < cols.size(); ++c) {
            if (c) buf += ',';
            if (cols[c].text->IsValid(r)) buf += CsvField(cols[c].text->GetView(r));
          }
          buf += '\n';
        }
        break;
      case OutputFormat::kJson:
        for (int64_t r = 0; r < batch.num_rows(); ++r) {
          buf += '{';
          for (size_t c = 0; c < cols.size(); ++c) {
            if (c) buf += ',';
            buf += nlohmann::json(schema_->field(static_cast<int>(c))->name()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            buf += ':';
            buf += JsonValue(cols[c], r);
          }
          buf += "}\n";
        }
        break;
      case OutputFormat::kTable:
        WriteTable(cols, batch.num_rows(), &buf);
        break;
      case OutputFormat::kParquet:
        break;
    }
    return Put(buf);
  }

  arrow::Status End() {
    if (format_ == OutputFormat::kTable && !header_written_) {
      std::string buf;
      WriteTable({}, 0, &buf);
      ARROW_RETURN_NOT_OK(Put(buf));
    }
    return arrow::Status::OK();
  }

 private:
  // Column widths come from the header and the first batch; later values
  // that are wider simply push the line.
  void WriteTable(const std::vector<TextColumn>& cols, int64_t rows, std::string* buf) {
    const int n = schema_->num_fields();
    if (!header_written_) {
      widths_.assign(n, 0);
      for (int c = 0; c < n; ++c) {
        widths_[c] = schema_->field(c)->name().size();
        for (int64_t r = 0; r < rows && static_cast<size_t>(c) < cols.size(); ++r) {
          widths_[c] = std::max(widths_[c], Cell(cols[c], r).size());
        }
      }
      std::string sep;
      for (int c = 0; c < n; ++c) {
        Pad(schema_->field(c)->name(), widths_[c], c + 1 == n, buf);
        sep += std::string(widths_[c], '-') + (c + 1 == n ? "" : "  ");
      }
      *buf += "\n" + sep + "\n";
      header_written_ = true;
    }
    for (int64_t r = 0; r < rows; ++r) {
      for (int c = 0; c < n; ++c) Pad(Cell(cols[c], r), widths_[c], c + 1 == n, buf);
      *buf += '\n';
    }
  }
  static std::string Cell(const TextColumn& c, int64_t r) {
    return c.text->IsNull(r) ? "null" : std::string(c.text->GetView(r));
  }
  static void Pad(const std::string& v, size_t w, bool last, std::string* buf) {
    *buf += v;
    if (!last) *buf += std::string(w > v.size() ? w - v.size() : 0, ' ') + "  ";
  }

  arrow::Status Put(const std::string& s) {
    return out_->Write(s.data(), static_cast<int64_t>(s.size()));
  }

  OutputFormat format_;
  std::shared_ptr<arrow::io::OutputStream> out_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<size_t> widths_;
  bool header_written_ = false;
};

}  // namespace

arrow::Result<OutputFormat> ParseOutputFormat(const std::string& name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  if (name == "parquet") return OutputFormat::kParquet;
  return InvalidArgument("--format '", name, "': expected table, csv, json or parquet");
}

arrow::Status CheckOutput(OutputFormat format, const std::string& output_path, bool overwrite) {
  if (format == OutputFormat::kParquet && output_path.empty()) {
    return InvalidArgument("--format parquet needs --output FILE (or --output - for stdout)");
  }
  if (output_path.empty() || output_path == "-" || overwrite) return arrow::Status::OK();
  std::error_code ec;
  if (std::filesystem::is_regular_file(output_path, ec)) {
    return InvalidArgument("--output '", output_path, "': the file exists (pass --overwrite to replace it)");
  }
  return arrow::Status::OK();
}

void ResultFlags::Add(CLI::App* cmd) {
  cmd->add_option("--format", format, "table (default), csv, json (one object per line) or parquet");
  cmd->add_option("--output", output,
                  "Write to this file instead of stdout (required for parquet; - = stdout); an existing\n"
                  "file is refused unless --overwrite");
  cmd->add_flag("--overwrite", overwrite, "Replace the --output file if it exists");
  cmd->add_option("--limit", limit, "Return at most N rows")->check(CLI::NonNegativeNumber);
}

arrow::Result<OutputFormat> ResultFlags::Check() const {
  ARROW_ASSIGN_OR_RAISE(auto f, ParseOutputFormat(format));
  ARROW_RETURN_NOT_OK(CheckOutput(f, output, overwrite));
  return f;
}

arrow::Status ResultFlags::Write(arrow::RecordBatchReader& reader) const {
  ARROW_ASSIGN_OR_RAISE(auto f, ParseOutputFormat(format));
  return WriteResult(reader, f, output, limit, overwrite);
}

arrow::Status WriteResult(arrow::RecordBatchReader& reader, OutputFormat format,
                          const std::string& output_path, int64_t limit, bool overwrite) {
  ARROW_RETURN_NOT_OK(CheckOutput(format, output_path, overwrite));
  std::shared_ptr<arrow::io::OutputStream> out;
  if (output_path.empty() || output_path == "-") {
    ARROW_ASSIGN_OR_RAISE(out, CountingStdout::Open());
  } else {
    auto opened = arrow::io::FileOutputStream::Open(output_path);
    if (!opened.ok()) return InvalidArgument("--output '", output_path, "': ", MessageWithReason(opened.status()));
    out = *opened;
  }
  auto schema = reader.schema();
  std::unique_ptr<parquet::arrow::FileWriter> pq;
  std::unique_ptr<TextWriter> text;
  if (format == OutputFormat::kParquet) {
    auto props = parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
    ARROW_ASSIGN_OR_RAISE(pq, parquet::arrow::FileWriter::Open(*schema, arrow::default_memory_pool(), out, props));
    // The scan's metadata (bazof.watermark, bazof.complete: docs/spec.md §20.1).
    if (schema->metadata()) ARROW_RETURN_NOT_OK(pq->AddKeyValueMetadata(schema->metadata()));
  } else {
    text = std::make_unique<TextWriter>(format, out, schema);
    ARROW_RETURN_NOT_OK(text->Begin());
  }
  int64_t written = 0;
  while (limit < 0 || written < limit) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    if (limit >= 0 && written + batch->num_rows() > limit) batch = batch->Slice(0, limit - written);
    written += batch->num_rows();
    if (pq) {
      ARROW_RETURN_NOT_OK(pq->WriteRecordBatch(*batch));
    } else {
      ARROW_RETURN_NOT_OK(text->Write(*batch));
    }
  }
  if (pq) ARROW_RETURN_NOT_OK(pq->Close());
  if (text) ARROW_RETURN_NOT_OK(text->End());
  return out->Close();
}

}  // namespace bazof::cli
