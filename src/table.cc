#include "bazof/table.h"

#include <arrow/api.h>
#include <arrow/filesystem/filesystem.h>
#include <parquet/arrow/reader.h>

#include <algorithm>
#include <thread>

#include "bazof/error.h"
#include "compute_init.h"
#include "io/storage.h"
#include "metadata/snapshot_json.h"
#include "planning/planner.h"
#include "read/scan_reader.h"

namespace bazof {
namespace {

std::string SnapshotName(int64_t v) { return "s" + std::to_string(v) + ".json"; }

arrow::Result<int64_t> ParseVersionFile(const std::string& text, const std::string& what) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  std::string_view digits(text.data() + b, e - b);
  int64_t v = 0;
  bool ok = !digits.empty() && digits.size() <= 18;
  for (char c : digits) {
    if (c < '0' || c > '9') ok = false;
    else v = v * 10 + (c - '0');
  }
  if (!ok) {
    std::string shown(digits.substr(0, 40));
    return Corruption("version pointer '", what, "': '", shown, "' is not a version number");
  }
  return v;
}

arrow::Result<std::shared_ptr<Snapshot>> LoadSnapshot(io::Storage& storage, int64_t v) {
  const std::string name = SnapshotName(v);
  auto text = storage.ReadFile(name);
  if (!text.ok()) {
    if (ErrorKindOf(text.status()) == ErrorKind::kNotFound) {
      return NotFound("version ", v, " of table '", storage.display_root(), "' does not exist (no ",
                      name, ")");
    }
    return text.status();
  }
  ARROW_ASSIGN_OR_RAISE(auto snap, metadata::ParseSnapshot(*text, storage.Describe(name)));
  if (snap.format_version >= 1 && snap.version.value() != v) {
    return Corruption("snapshot '", storage.Describe(name), "': field 'version' is ",
                      snap.version.value(), ", the file name says ", v);
  }
  snap.version = Version(v);
  return std::make_shared<Snapshot>(std::move(snap));
}

// bazof 0.1 snapshots carry no schema: value columns are the data files'
// other columns (the first referenced file decides).
arrow::Status InferLegacySchema(io::Storage& storage, Snapshot* snap) {
  auto files = snap->AllFiles();
  if (files.empty()) return arrow::Status::OK();
  const std::string& name = files.front()->path;
  ARROW_ASSIGN_OR_RAISE(auto input, storage.OpenForRead(name));
  auto reader = parquet::arrow::OpenFile(input, arrow::default_memory_pool());
  if (!reader.ok()) {
    return Corruption("data file '", storage.Describe(name), "': not a Parquet file (",
                      reader.status().message(), ")");
  }
  std::shared_ptr<arrow::Schema> schema;
  ARROW_RETURN_NOT_OK((*reader)->GetSchema(&schema));
  for (const auto& f : schema->fields()) {
    if (f->name() == snap->schema.key_columns[0].name || f->name() == snap->schema.event_time.name ||
        f->name().starts_with(kReservedPrefix)) {
      continue;
    }
    snap->schema.value_columns.push_back(ColumnSpec{f->name(), 0, f->type(), true});
  }
  return arrow::Status::OK();
}

class ScanImpl : public Scan {
 public:
  ScanImpl(std::shared_ptr<io::Storage> storage, std::shared_ptr<const read::ScanShape> shape,
           planning::ScanPlan plan, read::ScanReaderOptions options)
      : storage_(std::move(storage)),
        shape_(std::move(shape)),
        plan_(std::move(plan)),
        options_(std::move(options)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return shape_->output_schema; }

  std::vector<std::string> files() const override {
    std::vector<std::string> out;
    for (const auto& f : plan_.files) out.push_back(f.ref.path);
    return out;
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ToReader() const override {
    return read::MakeScanReader(storage_, shape_, plan_.files, options_);
  }

 private:
  std::shared_ptr<io::Storage> storage_;
  std::shared_ptr<const read::ScanShape> shape_;
  planning::ScanPlan plan_;
  read::ScanReaderOptions options_;
};

}  // namespace

arrow::Result<std::shared_ptr<Table>> Table::Open(const std::string& location,
                                                  const std::string& name,
                                                  const StorageOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto storage, io::OpenStorage(location, name, false, options));
  return Open(std::move(storage));
}

arrow::Result<std::shared_ptr<Table>> Table::Open(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                  const std::string& root) {
  return Open(io::Storage::Make(std::move(fs), root, root));
}

arrow::Result<std::shared_ptr<Table>> Table::Open(std::shared_ptr<io::Storage> storage) {
  ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
  ARROW_ASSIGN_OR_RAISE(bool root_exists, storage->RootExists());
  if (!root_exists) {
    return NotFound("table '", storage->display_root(), "' not found (no such directory)");
  }
  // The pointer is a hint; the highest existing snapshot is the truth.
  int64_t v = -1;
  auto text = storage->ReadFile("version.txt");
  if (text.ok()) {
    ARROW_ASSIGN_OR_RAISE(v, ParseVersionFile(*text, storage->Describe("version.txt")));
  } else if (ErrorKindOf(text.status()) == ErrorKind::kNotFound) {
    for (int64_t probe : {0, 1}) {
      ARROW_ASSIGN_OR_RAISE(bool exists, storage->Exists(SnapshotName(probe)));
      if (exists) {
        v = probe;
        break;
      }
    }
    if (v < 0) {
      return NotFound("table '", storage->display_root(), "' not found (no version.txt and no s0.json or s1.json)");
    }
  } else {
    return text.status();
  }
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool newer, storage->Exists(SnapshotName(v + 1)));
    if (!newer) break;
    ++v;
  }
  auto snap = LoadSnapshot(*storage, v);
  if (!snap.ok() && ErrorKindOf(snap.status()) == ErrorKind::kNotFound) {
    return Corruption("version pointer '", storage->Describe("version.txt"), "' names version ", v,
                      " but ", storage->Describe(SnapshotName(v)), " does not exist");
  }
  ARROW_RETURN_NOT_OK(snap.status());
  if (!(*snap)->schema_recorded) ARROW_RETURN_NOT_OK(InferLegacySchema(*storage, snap->get()));
  return std::shared_ptr<Table>(new Table(std::move(storage), *std::move(snap)));
}

arrow::Result<std::shared_ptr<const Snapshot>> Table::SnapshotAt(Version v) const {
  if (v == current_->version) return current_;
  if (v > current_->version || v.value() < 0) {
    return NotFound("version ", v.value(), " of table '", storage_->display_root(),
                    "' does not exist (current version is ", current_->version.value(), ")");
  }
  ARROW_ASSIGN_OR_RAISE(auto snap, LoadSnapshot(*storage_, v.value()));
  if (!snap->schema_recorded) ARROW_RETURN_NOT_OK(InferLegacySchema(*storage_, snap.get()));
  return snap;
}

const std::string& Table::location() const { return storage_->display_root(); }

ScanBuilder Table::NewScan() const { return ScanBuilder(shared_from_this()); }

arrow::Result<std::shared_ptr<Scan>> ScanBuilder::Build() const {
  const auto& o = options_;
  std::shared_ptr<const Snapshot> snap = table_->current_snapshot();
  if (o.version) {
    ARROW_ASSIGN_OR_RAISE(snap, table_->SnapshotAt(*o.version));
  }
  if (o.batch_size <= 0) return InvalidArgument("batch size must be positive");

  const TableSchema& schema = snap->schema;
  std::vector<int> value_columns;
  if (o.columns) {
    for (const auto& c : *o.columns) {
      bool is_key = std::any_of(schema.key_columns.begin(), schema.key_columns.end(),
                                [&](const ColumnSpec& k) { return k.name == c; });
      if (is_key || c == schema.event_time.name) continue;  // always returned
      int i = schema.FindValueColumn(c);
      if (i < 0) {
        std::string known;
        for (const auto& v : schema.value_columns) known += (known.empty() ? "" : ", ") + v.name;
        return InvalidArgument("unknown column '", c, "' (table '", table_->location(),
                               "' has value columns: ", known.empty() ? "none" : known, ")");
      }
      if (std::find(value_columns.begin(), value_columns.end(), i) == value_columns.end()) {
        value_columns.push_back(i);
      }
    }
  } else {
    for (size_t i = 0; i < schema.value_columns.size(); ++i) value_columns.push_back(static_cast<int>(i));
  }

  ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(*snap, std::move(value_columns)));
  const read::KeyCodec& codec = shape->codec;
  const auto& key_types = codec.types();

  read::ScanReaderOptions ro;
  ro.as_of = o.as_of;
  ro.batch_size = o.batch_size;
  ro.threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  if (!o.key_in.empty()) {
    if (schema.key_columns.size() != 1) {
      return InvalidArgument("key filters on composite keys are not supported yet");
    }
    for (const auto& k : o.key_in) {
      auto scalar = arrow::Scalar::Parse(key_types[0], k);
      if (!scalar.ok()) {
        return InvalidArgument("key '", k, "' is not a valid ", key_types[0]->ToString(),
                               " (column '", schema.key_columns[0].name, "')");
      }
      ARROW_ASSIGN_OR_RAISE(auto code, codec.EncodeScalars({*scalar}));
      ro.key_in.push_back(std::move(code));
    }
    std::sort(ro.key_in.begin(), ro.key_in.end());
    ro.key_in.erase(std::unique(ro.key_in.begin(), ro.key_in.end()), ro.key_in.end());
  }

  if (o.key_min || o.key_max) {
    if (schema.key_columns.size() != 1) {
      return InvalidArgument("key filters on composite keys are not supported yet");
    }
    auto encode = [&](const std::string& k, const char* what) -> arrow::Result<std::string> {
      auto scalar = arrow::Scalar::Parse(key_types[0], k);
      if (!scalar.ok()) {
        return InvalidArgument(what, " '", k, "' is not a valid ", key_types[0]->ToString(),
                               " (column '", schema.key_columns[0].name, "')");
      }
      return codec.EncodeScalars({*scalar});
    };
    if (o.key_min) {
      ARROW_ASSIGN_OR_RAISE(ro.key_lower, encode(*o.key_min, "key minimum"));
    }
    if (o.key_max) {
      ARROW_ASSIGN_OR_RAISE(auto max, encode(*o.key_max, "key maximum"));
      // The smallest byte string above `max`: turns the inclusive bound into
      // the exclusive one the reader takes.
      ro.key_upper = max + std::string(1, '\0');
    }
  }

  auto plan = planning::PlanScan(*snap, o.as_of);
  return std::make_shared<ScanImpl>(table_->storage(), std::move(shape), std::move(plan), std::move(ro));
}

arrow::Result<std::shared_ptr<arrow::Table>> Scan::ToTable() const {
  ARROW_ASSIGN_OR_RAISE(auto reader, ToReader());
  return reader->ToTable();
}

}  // namespace bazof
