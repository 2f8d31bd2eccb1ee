// Staged commits (docs/spec.md, "Staged commits"):
//
//   worker k: rows ──sort/write (as append)──▶ data/<unique>.parquet ──▶ StagedFiles{task k, files+stats} (JSON)
//   driver:   [StagedFiles...] ──order by (task, sequence)──▶ check schema, names, sizes
//             ──▶ s<N+1>.json with every file (CreateExclusive; conflict: rebase, retry)
//   abort:    delete the files; a dead worker's files are orphans vacuum removes after its grace
#include <arrow/api.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>
#include <set>
#include <tuple>

#include "bazof/error.h"
#include "bazof/stage.h"
#include "io/storage.h"
#include "metadata/path_safety.h"
#include "metadata/snapshot_json.h"
#include "write/append_internal.h"

namespace bazof {
namespace {

using json = nlohmann::json;

constexpr const char* kDataDir = "data/";

arrow::Status CheckStagedName(const std::string& name) {
  auto safe = metadata::CheckRelativeFileName(name);
  if (!safe.ok()) return InvalidArgument("staged file '", name, "': ", safe.message());
  if (name.rfind(kDataDir, 0) != 0) {
    return InvalidArgument("staged file '", name, "' is not under data/");
  }
  return arrow::Status::OK();
}

arrow::Result<int64_t> Int(const json& doc, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end() || !it->is_number_integer()) {
    return InvalidArgument("staged files: field '", field, "' is missing or not an integer");
  }
  return it->get<int64_t>();
}

}  // namespace

arrow::Result<std::string> StagedFiles::ToJson() const {
  // The files and schema are written as a snapshot's are (docs/spec.md,
  // "Snapshot JSON"), so they are parsed with the same checks.
  Snapshot snap;
  snap.format_version = kFormatVersion;
  snap.version = staged_against;
  snap.schema = schema;
  Segment seg;
  seg.id = "staged";
  seg.start = EventTime::FromMicros(0);
  for (const auto& f : files) {
    if (f.start && (seg.deltas.empty() || *f.start < seg.start)) seg.start = *f.start;
    DataFileRef d = f;
    d.version = Version(staged_against.value() + 1);
    seg.deltas.push_back(std::move(d));
  }
  snap.segments.push_back(std::move(seg));
  ARROW_ASSIGN_OR_RAISE(auto snap_text, metadata::SerializeSnapshot(snap));
  json doc;
  doc["staged_format"] = kStagedFormat;
  doc["table"] = table;
  doc["staged_against"] = staged_against.value();
  doc["task"] = task;
  doc["sequence"] = sequence;
  doc["rows"] = rows;
  doc["snapshot"] = json::parse(snap_text);
  return doc.dump();
}

arrow::Result<StagedFiles> StagedFiles::FromJson(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgument("staged files: not valid JSON");
  if (!doc.is_object()) return InvalidArgument("staged files: not a JSON object");
  StagedFiles s;
  ARROW_ASSIGN_OR_RAISE(auto format, Int(doc, "staged_format"));
  if (format < 1 || format > kStagedFormat) {
    return InvalidArgument("staged files: unsupported staged_format ", format, " (this build reads 1..",
                           kStagedFormat, ")");
  }
  if (auto it = doc.find("table"); it != doc.end() && it->is_string()) s.table = it->get<std::string>();
  ARROW_ASSIGN_OR_RAISE(auto against, Int(doc, "staged_against"));
  if (against < 0) return InvalidArgument("staged files: field 'staged_against' is negative");
  s.staged_against = Version(against);
  ARROW_ASSIGN_OR_RAISE(s.task, Int(doc, "task"));
  ARROW_ASSIGN_OR_RAISE(s.sequence, Int(doc, "sequence"));
  ARROW_ASSIGN_OR_RAISE(s.rows, Int(doc, "rows"));
  auto it = doc.find("snapshot");
  if (it == doc.end() || !it->is_object()) return InvalidArgument("staged files: field 'snapshot' is missing");
  auto snap = metadata::ParseSnapshot(it->dump(), "staged files");
  if (!snap.ok()) return InvalidArgument(snap.status().message());
  if (snap->segments.size() != 1 || !snap->segments[0].segments.empty() || snap->segments[0].base) {
    return InvalidArgument("staged files: 'snapshot' must have exactly one segment of deltas");
  }
  s.schema = snap->schema;
  int64_t rows = 0;
  for (auto& f : snap->segments[0].deltas) {
    ARROW_RETURN_NOT_OK(CheckStagedName(f.path));
    if (f.rows < 0 || f.size < 0) {
      return InvalidArgument("staged file '", f.path, "': rows and size must be recorded");
    }
    rows += f.rows;
    f.version.reset();
    s.files.push_back(std::move(f));
  }
  if (rows != s.rows) {
    return InvalidArgument("staged files: 'rows' is ", s.rows, " but the files hold ", rows);
  }
  return s;
}

arrow::Result<StagedFiles> Stage(const Table& table, arrow::RecordBatchReader& rows, const StageOptions& options) {
  auto snapshot = table.current_snapshot();
  if (snapshot->format_version < 1) {
    return InvalidArgument("table '", table.location(),
                           "' is a bazof 0.1 / azof 0.2 table: bazof reads it but does not write it");
  }
  if (options.chunk_rows <= 0) return InvalidArgument("stage: chunk rows must be positive");
  const Version planned(snapshot->version.value() + 1);
  write::WriteInputOptions input;
  input.source = options.source;
  input.chunk_rows = options.chunk_rows;
  ARROW_ASSIGN_OR_RAISE(auto written, write::WriteInputFiles(table, snapshot->schema, rows, input, planned));
  StagedFiles out;
  out.table = table.location();
  out.staged_against = snapshot->version;
  out.task = options.task;
  out.sequence = options.sequence;
  out.schema = snapshot->schema;
  out.rows = written.rows;
  for (auto& f : written.files) {
    f.version.reset();
    out.files.push_back(std::move(f));
  }
  return out;
}

arrow::Result<CommitResult> CommitStaged(const std::shared_ptr<Table>& table,
                                         const std::vector<StagedFiles>& staged,
                                         const CommitStagedOptions& options) {
  // Tie order: (task, sequence), then the caller's order.
  std::vector<size_t> order(staged.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(staged[a].task, staged[a].sequence) < std::tie(staged[b].task, staged[b].sequence);
  });
  ARROW_ASSIGN_OR_RAISE(auto fresh, Table::Open(table->storage()));
  auto base = fresh->current_snapshot();
  if (base->format_version < 1) {
    return InvalidArgument("table '", table->location(),
                           "' is a bazof 0.1 / azof 0.2 table: bazof reads it but does not write it");
  }
  if (base->segments.empty()) {
    return Corruption("table '", table->location(), "': snapshot has no segment to file deltas under");
  }
  std::set<std::string> referenced;
  for (const DataFileRef* f : base->AllFiles()) referenced.insert(f->path);

  std::vector<DataFileRef> files;
  std::set<std::string> names;
  int64_t rows = 0;
  auto& storage = *table->storage();
  for (size_t i : order) {
    const StagedFiles& s = staged[i];
    if (s.files.empty()) continue;
    if (!write::SameSchema(s.schema, base->schema)) {
      return Conflict("staged files of task ", s.task, " were written for the schema of version ",
                      s.staged_against.value(), " of table '", table->location(),
                      "', which has changed since (current version ", base->version.value(), "): stage them again");
    }
    for (const auto& f : s.files) {
      ARROW_RETURN_NOT_OK(CheckStagedName(f.path));
      if (!names.insert(f.path).second) {
        return InvalidArgument("staged file '", f.path, "' is given twice");
      }
      if (referenced.count(f.path)) {
        return InvalidArgument("staged file '", f.path, "' is already committed (table '", table->location(), "')");
      }
      files.push_back(f);
      rows += f.rows;
    }
  }
  if (files.empty()) return CommitResult{};
  // Every file must be there, whole.
  for (const auto& f : files) {
    auto file = storage.OpenForRead(f.path);
    if (!file.ok()) {
      if (ErrorKindOf(file.status()) == ErrorKind::kNotFound) {
        return InvalidArgument("staged file '", storage.Describe(f.path), "' does not exist (aborted, or vacuumed?)");
      }
      return file.status();
    }
    ARROW_ASSIGN_OR_RAISE(auto size, (*file)->GetSize());
    if (size != f.size) {
      return InvalidArgument("staged file '", storage.Describe(f.path), "' is ", size,
                             " bytes, its descriptor says ", f.size);
    }
  }
  return write::CommitFiles(table, base, base->schema, files, rows, options.operation, options.max_attempts);
}

arrow::Status AbortStaged(const Table& table, const std::vector<StagedFiles>& staged) {
  ARROW_ASSIGN_OR_RAISE(auto fresh, Table::Open(table.storage()));
  std::set<std::string> referenced;
  for (const DataFileRef* f : fresh->current_snapshot()->AllFiles()) referenced.insert(f->path);
  auto& storage = *table.storage();
  for (const auto& s : staged) {
    for (const auto& f : s.files) {
      ARROW_RETURN_NOT_OK(CheckStagedName(f.path));
      if (referenced.count(f.path)) {
        return InvalidArgument("staged file '", f.path, "' is committed (table '", table.location(),
                               "'): not deleted");
      }
    }
  }
  for (const auto& s : staged) {
    for (const auto& f : s.files) {
      ARROW_RETURN_NOT_OK(storage.DeleteFile(f.path));
    }
  }
  return arrow::Status::OK();
}

}  // namespace bazof
