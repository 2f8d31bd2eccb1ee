// bazof validate: every rule of docs/spec.md a table can be checked against,
// reported all at once (docs/spec.md, "Validation").
//
//   list the root ── version.txt, retention.json ── which versions exist and
//   which are retained ── per snapshot: parse, schema, segments, commit vs the
//   previous snapshot ── per data file (once): footer, schema, statistics,
//   and with --deep every row
#include "bazof/validate.h"

#include <arrow/api.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "bazof/error.h"
#include "io/storage.h"
#include "maintenance/file_check.h"
#include "metadata/path_safety.h"
#include "metadata/table_files.h"
#include "read/key_codec.h"

namespace bazof {
namespace {

using maintenance::FileFooter;
using maintenance::FooterStats;
using maintenance::RowFacts;

std::string Ts(int64_t micros) { return FormatEventTime(EventTime::FromMicros(micros)); }
std::string Ts(EventTime t) { return FormatEventTime(t); }

std::string RangeText(const std::optional<EventTime>& end) { return end ? Ts(*end) : "open"; }

std::string VersionsText(const std::vector<Version>& vs) {
  std::string out;
  for (size_t i = 0; i < vs.size();) {
    size_t j = i;
    while (j + 1 < vs.size() && vs[j + 1].value() == vs[j].value() + 1) ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(vs[i].value());
    if (j > i) out += "-" + std::to_string(vs[j].value());
    i = j + 1;
  }
  return (vs.size() == 1 ? "version " : "versions ") + out;
}

// Every file name in a snapshot's JSON, found without the parser (which
// stops at the first unsafe one).
void CollectFileNames(const nlohmann::json& j, std::vector<std::string>* out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "file" && v.is_string()) out->push_back(v.get<std::string>());
      CollectFileNames(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) CollectFileNames(v, out);
  }
}

// Deltas of each version, in snapshot order (pre-order over segments).
std::map<int64_t, std::vector<std::string>> DeltasByVersion(const Snapshot& snap) {
  std::map<int64_t, std::vector<std::string>> out;
  std::function<void(const std::vector<Segment>&)> walk = [&](const std::vector<Segment>& segs) {
    for (const auto& s : segs) {
      for (const auto& d : s.deltas) out[d.version ? d.version->value() : -1].push_back(d.path);
      walk(s.segments);
    }
  };
  walk(snap.segments);
  return out;
}

struct FileState {
  FileFooter footer;
  std::optional<arrow::Status> pages;  // deep: every page decoded (and CRC-checked)
  std::optional<FooterStats> stats;
  std::optional<RowFacts> rows;
};

class Validator {
 public:
  Validator(std::shared_ptr<io::Storage> storage, ValidateOptions options)
      : storage_(std::move(storage)), options_(std::move(options)) {}

  arrow::Result<ValidationReport> Run();

 private:
  void Add(const std::string& object, const std::string& problem, std::optional<int64_t> version = std::nullopt) {
    auto key = std::make_pair(object, problem);
    auto it = index_.find(key);
    if (it == index_.end()) {
      it = index_.emplace(key, problems_.size()).first;
      problems_.push_back(ValidationProblem{object, problem, {}});
    }
    auto& versions = problems_[it->second].versions;
    if (version && (versions.empty() || versions.back().value() != *version)) versions.push_back(Version(*version));
  }

  void CheckUnsafeNames(const std::string& text, int64_t v);
  void CheckSnapshot(const Snapshot& snap, const Snapshot* prev);
  void CheckSchema(const Snapshot& snap);
  void CheckSegments(const Snapshot& snap, const std::vector<Segment>& segs, const Segment* parent);
  void CheckFile(const Snapshot& snap, const DataFileRef& ref, const Segment& seg, bool is_base);
  void CheckCommit(const Snapshot& snap, const Snapshot* prev);

  std::shared_ptr<io::Storage> storage_;
  ValidateOptions options_;
  std::vector<ValidationProblem> problems_;
  std::map<std::pair<std::string, std::string>, size_t> index_;
  std::map<std::string, FileState> files_;
  std::vector<ValidationProblem> unverifiable_;
  std::map<std::string, size_t> unverifiable_index_;
};

arrow::Result<ValidationReport> Validator::Run() {
  ValidationReport report;
  report.table = storage_->display_root();
  report.deep = options_.deep;
  ARROW_ASSIGN_OR_RAISE(bool root_exists, storage_->RootExists());
  if (!root_exists) return NotFound("table '", report.table, "' not found (no such directory)");
  ARROW_ASSIGN_OR_RAISE(auto listed, storage_->ListFiles("", /*recursive=*/false));
  std::set<int64_t> snaps;
  for (const auto& f : listed) {
    if (auto v = metadata::ParseSnapshotFileName(f.name)) snaps.insert(*v);
  }
  if (snaps.empty()) return NotFound("table '", report.table, "' not found (no snapshot s<N>.json)");

  // The version pointer and the retention hint.
  std::optional<int64_t> pointer;
  auto text = storage_->ReadFile(metadata::kVersionFile);
  if (text.ok()) {
    auto v = metadata::ParseVersionPointer(*text, storage_->Describe(metadata::kVersionFile));
    if (v.ok()) {
      pointer = *v;
    } else {
      Add(metadata::kVersionFile, v.status().message());
    }
  } else if (ErrorKindOf(text.status()) != ErrorKind::kNotFound) {
    Add(metadata::kVersionFile, text.status().message());
  }
  std::optional<metadata::RetentionHint> hint;
  if (auto h = metadata::ReadRetentionHint(*storage_); h.ok()) {
    hint = *h;
  } else {
    Add(metadata::kRetentionFile, h.status().message());
  }

  // The current version, found as readers find it (docs/spec.md §3).
  int64_t start = -1;
  if (pointer) {
    start = *pointer;
    if (!snaps.count(start)) {
      if (hint && hint->oldest_retained > start && snaps.count(hint->oldest_retained)) {
        start = hint->oldest_retained;  // a lagging pointer; readers follow the hint
      } else {
        Add(metadata::kVersionFile, "names version " + std::to_string(*pointer) + ", but " +
                                        metadata::SnapshotFileName(*pointer) + " does not exist");
        start = -1;
      }
    }
  }
  if (start < 0) {
    if (snaps.count(0)) start = 0;
    else if (snaps.count(1)) start = 1;
    else if (hint && snaps.count(hint->oldest_retained)) start = hint->oldest_retained;
    else start = *snaps.begin();
  }
  int64_t current = start;
  while (snaps.count(current + 1)) ++current;
  for (auto it = snaps.upper_bound(current); it != snaps.end(); ++it) {
    Add(metadata::SnapshotFileName(*it), "is not reachable: " + metadata::SnapshotFileName(current + 1) +
                                              " is missing, so readers stop at version " + std::to_string(current));
  }
  if (pointer && *pointer > current) {
    Add(metadata::kVersionFile, "names version " + std::to_string(*pointer) + ", above the current version " +
                                    std::to_string(current));
  }

  // Retained versions must all exist.
  int64_t oldest = snaps.count(0) ? 0 : 1;
  if (hint) {
    oldest = hint->oldest_retained;
    if (oldest > current) {
      Add(metadata::kRetentionFile, "says the oldest retained version is " + std::to_string(oldest) +
                                        ", above the current version " + std::to_string(current));
      oldest = current;
    }
  }
  for (int64_t v = oldest; v <= current; ++v) {
    if (snaps.count(v)) continue;
    int64_t end = v;
    while (end + 1 <= current && !snaps.count(end + 1)) ++end;
    std::string what = v == end ? "version " + std::to_string(v) + " has"
                                : "versions " + std::to_string(v) + "-" + std::to_string(end) + " have";
    Add(metadata::SnapshotFileName(v),
        "missing: " + what + " no snapshot, yet " +
            (hint ? "the retention hint says versions from " + std::to_string(hint->oldest_retained) + " on are retained"
                  : std::string("no vacuum removed them (there is no retention hint)")));
    v = end;
  }

  // Which snapshots to check.
  std::vector<int64_t> versions;
  if (options_.version) {
    const int64_t v = options_.version->value();
    if (v < 0 || v > current) {
      return NotFound("version ", v, " of table '", report.table, "' does not exist (current version is ",
                      current, ")");
    }
    if (!snaps.count(v)) {
      if (hint && hint->first_version <= v && v < hint->oldest_retained) {
        return NotFound("version ", v, " of table '", report.table, "' was vacuumed (oldest retained version: ",
                        hint->oldest_retained, ")");
      }
      return NotFound("version ", v, " of table '", report.table, "' does not exist (no ",
                      metadata::SnapshotFileName(v), ")");
    }
    versions.push_back(v);
  } else {
    // Every readable snapshot, including any an interrupted vacuum left
    // below the oldest retained version: readers can still open them.
    for (int64_t v : snaps) {
      if (v <= current) versions.push_back(v);
    }
  }

  std::shared_ptr<Snapshot> prev;
  if (options_.version && snaps.count(versions[0] - 1)) {
    auto p = metadata::ReadSnapshotFile(*storage_, versions[0] - 1);
    if (p.ok()) prev = *p;
  }
  for (int64_t v : versions) {
    auto snap = metadata::ReadSnapshotFile(*storage_, v);
    if (!snap.ok()) {
      Add(metadata::SnapshotFileName(v), snap.status().message(), v);
      if (auto raw = storage_->ReadFile(metadata::SnapshotFileName(v)); raw.ok()) CheckUnsafeNames(*raw, v);
      prev.reset();
      continue;
    }
    auto st = metadata::InferLegacySchema(*storage_, snap->get());
    if (!st.ok()) {
      Add(metadata::SnapshotFileName(v), "cannot infer the value columns of this bazof 0.1 table: " + st.message(), v);
    }
    report.versions_checked.push_back(Version(v));
    CheckSnapshot(**snap, prev && prev->version.value() == v - 1 ? prev.get() : nullptr);
    prev = *snap;
  }
  report.files_checked = static_cast<int64_t>(files_.size());
  report.problems = std::move(problems_);
  report.unverifiable = std::move(unverifiable_);
  return report;
}

void Validator::CheckUnsafeNames(const std::string& text, int64_t v) {
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return;
  std::vector<std::string> names;
  CollectFileNames(doc, &names);
  for (const auto& n : names) {
    auto st = metadata::CheckRelativeFileName(n);
    if (!st.ok()) Add(n, st.message(), v);
  }
}

void Validator::CheckSnapshot(const Snapshot& snap, const Snapshot* prev) {
  const int64_t n = snap.version.value();
  if (snap.format_version >= 1) CheckSchema(snap);

  std::map<std::string, int> ids;
  std::function<void(const std::vector<Segment>&)> count_ids = [&](const std::vector<Segment>& segs) {
    for (const auto& s : segs) {
      ++ids[s.id];
      count_ids(s.segments);
    }
  };
  count_ids(snap.segments);
  for (const auto& [id, count] : ids) {
    if (count > 1) Add("segment '" + id + "'", "id used by " + std::to_string(count) + " segments", n);
  }
  CheckSegments(snap, snap.segments, nullptr);

  std::map<std::string, int> refs;
  for (const auto* f : snap.AllFiles()) ++refs[f->path];
  for (const auto& [path, count] : refs) {
    if (count > 1) Add(path, "referenced " + std::to_string(count) + " times by one snapshot", n);
  }
  std::set<std::string> seen;
  std::function<void(const std::vector<Segment>&)> files = [&](const std::vector<Segment>& segs) {
    for (const auto& s : segs) {
      if (s.base && seen.insert(s.base->path).second) CheckFile(snap, *s.base, s, true);
      for (const auto& d : s.deltas) {
        if (seen.insert(d.path).second) CheckFile(snap, d, s, false);
      }
      files(s.segments);
    }
  };
  files(snap.segments);
  if (snap.format_version >= 1) CheckCommit(snap, prev && prev->format_version >= 1 ? prev : nullptr);
}

void Validator::CheckSchema(const Snapshot& snap) {
  const int64_t n = snap.version.value();
  const TableSchema& schema = snap.schema;
  std::vector<const ColumnSpec*> cols;
  for (const auto& k : schema.key_columns) cols.push_back(&k);
  cols.push_back(&schema.event_time);
  for (const auto& v : schema.value_columns) cols.push_back(&v);
  std::map<std::string, int> names;
  std::map<int32_t, std::string> ids;
  for (const auto* c : cols) {
    if (++names[c->name] == 2) Add("schema", "column name '" + c->name + "' is used twice", n);
    if (c->name.starts_with(kReservedPrefix)) {
      Add("schema", "column '" + c->name + "' uses the reserved prefix '" + kReservedPrefix + "'", n);
    }
    if (c->id <= 0) {
      Add("schema", "column '" + c->name + "' has no id", n);
      continue;
    }
    if (auto [it, fresh] = ids.emplace(c->id, c->name); !fresh) {
      Add("schema", "columns '" + it->second + "' and '" + c->name + "' share id " + std::to_string(c->id), n);
    }
    if (c->id >= schema.next_column_id) {
      Add("schema", "column '" + c->name + "' has id " + std::to_string(c->id) + ", not below next_column_id " +
                        std::to_string(schema.next_column_id),
          n);
    }
  }
  std::vector<std::shared_ptr<arrow::DataType>> key_types;
  for (const auto& k : schema.key_columns) key_types.push_back(k.type);
  if (auto codec = read::KeyCodec::Make(key_types); !codec.ok()) Add("schema", codec.status().message(), n);
}

void Validator::CheckSegments(const Snapshot& snap, const std::vector<Segment>& segs, const Segment* parent) {
  const int64_t n = snap.version.value();
  const bool format1 = snap.format_version >= 1;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment& seg = segs[i];
    const std::string obj = "segment '" + seg.id + "'";
    if (seg.end && *seg.end < seg.start) {
      Add(obj, "ends (" + Ts(*seg.end) + ") before it starts (" + Ts(seg.start) + ")", n);
    }
    if (parent && (seg.start < parent->start || (parent->end && (!seg.end || *seg.end > *parent->end)))) {
      Add(obj, "[" + Ts(seg.start) + ", " + RangeText(seg.end) + "] is not within its parent segment '" + parent->id +
                   "' [" + Ts(parent->start) + ", " + RangeText(parent->end) + "]",
          n);
    }
    // Format 1 promises ordered, disjoint segments; legacy tables only nest.
    if (format1 && i > 0) {
      const Segment& before = segs[i - 1];
      if (seg.start < before.start) {
        Add(obj, "starts (" + Ts(seg.start) + ") before the preceding segment '" + before.id + "' (" +
                     Ts(before.start) + "): segments must be in ascending start order",
            n);
      } else if (!before.end || *before.end >= seg.start) {
        Add(obj, "starting " + Ts(seg.start) + ", overlaps the preceding segment '" + before.id + "' [" +
                     Ts(before.start) + ", " + RangeText(before.end) + "]",
            n);
      }
    }
    for (const auto& d : seg.deltas) {
      if (d.start && d.end && *d.start > *d.end) {
        Add(d.path, "event-time range starts (" + Ts(*d.start) + ") after it ends (" + Ts(*d.end) + ")", n);
      }
      // The first segment also takes events earlier than its start (an
      // append files them there, docs/spec.md §10a).
      const bool first = format1 && !parent && i == 0;
      if (d.start && *d.start < seg.start && !first) {
        Add(d.path, "delta starts at " + Ts(*d.start) + ", before its segment '" + seg.id + "' starts (" +
                        Ts(seg.start) + ")",
            n);
      }
      // In format 1 a commit's deltas are filed together under the segment
      // of its earliest event, so they may start (and end) past the
      // segment's end (docs/spec.md §10a); legacy readers need containment.
      if (!format1 && d.start && seg.end && *d.start > *seg.end) {
        Add(d.path, "delta starts at " + Ts(*d.start) + ", after its segment '" + seg.id + "' ends (" +
                        Ts(*seg.end) + ")",
            n);
      }
      if (format1 && (!d.version || d.version->value() < 1 || d.version->value() > n)) {
        Add(d.path, "delta version " + (d.version ? std::to_string(d.version->value()) : std::string("(none)")) +
                        " is not between 1 and the snapshot's version " + std::to_string(n),
            n);
      }
    }
    if (format1 && seg.base) {
      const auto& b = *seg.base;
      if (!b.version || b.version->value() < 0 || b.version->value() > n) {
        Add(b.path, "base built_from_version " + (b.version ? std::to_string(b.version->value()) : "(none)") +
                        " is not between 0 and the snapshot's version " + std::to_string(n),
            n);
      }
      if (b.end && *b.end > seg.start) {
        Add(b.path, "base records events up to " + Ts(*b.end) + ", after its segment '" + seg.id + "' starts (" +
                        Ts(seg.start) + ")",
            n);
      }
    }
    CheckSegments(snap, seg.segments, &seg);
  }
}

void Validator::CheckFile(const Snapshot& snap, const DataFileRef& ref, const Segment& seg, bool is_base) {
  const int64_t n = snap.version.value();
  const bool format1 = snap.format_version >= 1;
  const std::string& path = ref.path;
  auto [it, fresh] = files_.try_emplace(path);
  FileState& state = it->second;
  if (fresh) state.footer = maintenance::ReadFooter(*storage_, path);
  const FileFooter& footer = state.footer;
  if (!footer.status.ok()) {
    Add(path, ErrorKindOf(footer.status) == ErrorKind::kNotFound ? std::string("missing: the file does not exist")
                                                                 : footer.status.message(),
        n);
    return;
  }
  if (ref.size >= 0 && ref.size != footer.size) {
    Add(path, "recorded size " + std::to_string(ref.size) + " bytes, the file has " + std::to_string(footer.size), n);
  }
  if (ref.rows >= 0 && ref.rows != footer.rows) {
    Add(path, "recorded " + std::to_string(ref.rows) + " rows, the file has " + std::to_string(footer.rows), n);
  }
  auto schema_problems = maintenance::SchemaProblems(footer, snap.schema, format1);
  for (const auto& p : schema_problems) Add(path, p, n);
  if (!schema_problems.empty()) return;

  if (!state.stats) state.stats = maintenance::ReadFooterStats(footer, snap.schema);
  const FooterStats& stats = *state.stats;
  if (stats.null_keys > 0) Add(path, std::to_string(stats.null_keys) + " null key value(s) (column statistics)", n);
  if (stats.null_event_times > 0) {
    Add(path, std::to_string(stats.null_event_times) + " null event time(s) (column statistics)", n);
  }
  if (stats.null_versions > 0) {
    Add(path, std::to_string(stats.null_versions) + " null value(s) in column '" + kVersionColumn +
                  "' (column statistics)",
        n);
  }
  const RowFacts* rows = nullptr;
  if (options_.deep) {
    if (!footer.page_checksums) {
      auto [u, added] = unverifiable_index_.try_emplace(path, unverifiable_.size());
      if (added) {
        unverifiable_.push_back(ValidationProblem{
            path, "written without page checksums: its pages decode, but damage to them cannot be detected", {}});
      }
      auto& vs = unverifiable_[u->second].versions;
      if (vs.empty() || vs.back().value() != n) vs.push_back(Version(n));
    }
    if (!state.pages) state.pages = maintenance::DecodeAllPages(*storage_, path, footer.size);
    if (!state.pages->ok()) {
      // The rows cannot be trusted either: report the damage once.
      Add(path, state.pages->message(), n);
      return;
    }
    if (!state.rows) state.rows = maintenance::ReadRows(*storage_, path, snap);
    if (!state.rows->status.ok()) {
      Add(path, "rows cannot be read: " + state.rows->status.message(), n);
    } else {
      rows = &*state.rows;
      if (rows->rows != footer.rows) {
        Add(path, "the footer says " + std::to_string(footer.rows) + " rows, " + std::to_string(rows->rows) +
                      " were read",
            n);
      }
    }
  }
  // The footer's column statistics (which planning and row-group pruning
  // trust) against the rows.
  if (rows && rows->rows > 0 && stats.event_micros && rows->min_event_micros &&
      (stats.event_micros->first != *rows->min_event_micros || stats.event_micros->second != *rows->max_event_micros)) {
    Add(path, "column statistics say event times [" + Ts(stats.event_micros->first) + ", " +
                  Ts(stats.event_micros->second) + "], the rows have [" + Ts(*rows->min_event_micros) + ", " +
                  Ts(*rows->max_event_micros) + "]",
        n);
  }
  if (rows && rows->rows > 0 && stats.first_key && !rows->min_key.empty()) {
    std::vector<std::shared_ptr<arrow::DataType>> key_types;
    for (const auto& k : snap.schema.key_columns) key_types.push_back(k.type);
    if (auto codec = read::KeyCodec::Make(key_types); codec.ok()) {
      // The least (greatest) key's first column is the first column's min (max).
      auto slo = codec->EncodeFirstColumn(*stats.first_key->first);
      auto shi = codec->EncodeFirstColumn(*stats.first_key->second);
      auto rlo = codec->EncodeFirstColumn(*rows->min_key[0]);
      auto rhi = codec->EncodeFirstColumn(*rows->max_key[0]);
      if (slo.ok() && shi.ok() && rlo.ok() && rhi.ok() && (*slo != *rlo || *shi != *rhi)) {
        Add(path, "column statistics say the first key column spans [" + stats.first_key->first->ToString() + ", " +
                      stats.first_key->second->ToString() + "], the rows have [" + rows->min_key[0]->ToString() +
                      ", " + rows->max_key[0]->ToString() + "]",
            n);
      }
    }
  }
  if (!format1) return;  // legacy files record no statistics and need not be sorted

  if (rows && ref.tombstones >= 0 && ref.tombstones != rows->tombstones) {
    Add(path, "recorded " + std::to_string(ref.tombstones) + " tombstones, the rows have " +
                  std::to_string(rows->tombstones),
        n);
  }
  // Event-time range: from the rows (deep) or the column statistics.
  std::optional<std::pair<int64_t, int64_t>> actual;
  std::string source;
  if (rows) {
    if (rows->min_event_micros) actual = std::make_pair(*rows->min_event_micros, *rows->max_event_micros);
    source = "the rows have";
  } else if (stats.event_micros) {
    actual = stats.event_micros;
    source = "its statistics say";
  }
  if (actual && footer.rows > 0) {
    if (ref.start && ref.end && (ref.start->micros() != actual->first || ref.end->micros() != actual->second)) {
      Add(path, "recorded event times [" + Ts(*ref.start) + ", " + Ts(*ref.end) + "], " + source + " [" +
                    Ts(actual->first) + ", " + Ts(actual->second) + "]",
          n);
    }
    if (is_base && actual->second > seg.start.micros()) {
      Add(path, "base holds an event at " + Ts(actual->second) + ", after its segment '" + seg.id + "' starts (" +
                    Ts(seg.start) + ")",
          n);
    }
  }
  // Key range.
  if (!ref.min_key.empty() && !ref.max_key.empty() && footer.rows > 0) {
    std::vector<std::shared_ptr<arrow::DataType>> key_types;
    for (const auto& k : snap.schema.key_columns) key_types.push_back(k.type);
    auto codec = read::KeyCodec::Make(key_types);
    if (codec.ok()) {
      const std::string recorded =
          "recorded keys [" + maintenance::KeyText(ref.min_key) + ", " + maintenance::KeyText(ref.max_key) + "]";
      if (rows) {
        auto lo = codec->EncodeScalars(ref.min_key), hi = codec->EncodeScalars(ref.max_key);
        if (!lo.ok() || !hi.ok() || *lo != rows->min_key_code || *hi != rows->max_key_code) {
          Add(path, recorded + ", the rows have [" + maintenance::KeyText(rows->min_key) + ", " +
                        maintenance::KeyText(rows->max_key) + "]",
              n);
        }
      } else if (stats.first_key) {
        auto lo = codec->EncodeFirstColumn(*ref.min_key[0]), hi = codec->EncodeFirstColumn(*ref.max_key[0]);
        auto slo = codec->EncodeFirstColumn(*stats.first_key->first);
        auto shi = codec->EncodeFirstColumn(*stats.first_key->second);
        if (lo.ok() && hi.ok() && slo.ok() && shi.ok() && (*lo != *slo || *hi != *shi)) {
          Add(path, recorded + ", its statistics say the first key column spans [" +
                        stats.first_key->first->ToString() + ", " + stats.first_key->second->ToString() + "]",
              n);
        }
      }
    }
  }
  if (rows && ref.sorted && rows->first_unsorted_row >= 0) {
    Add(path, "marked sorted, but row " + std::to_string(rows->first_unsorted_row) +
                  " (0-based) comes before its predecessor in (key, event time) order",
        n);
  }
  if (rows && is_base && rows->first_unsorted_row < 0 && rows->first_repeated_key_row >= 0) {
    Add(path, "base holds more than one row for a key (row " + std::to_string(rows->first_repeated_key_row) +
                  ", 0-based, repeats the key of the row before)",
        n);
  }
}

void Validator::CheckCommit(const Snapshot& snap, const Snapshot* prev) {
  if (!snap.commit) return;
  const int64_t n = snap.version.value();
  const CommitInfo& c = *snap.commit;
  std::set<std::string> cur, added(c.files_added.begin(), c.files_added.end()),
      removed(c.files_removed.begin(), c.files_removed.end());
  for (const auto* f : snap.AllFiles()) cur.insert(f->path);
  for (const auto& a : added) {
    if (!cur.count(a)) Add(a, "listed in commit.files_added, but the snapshot does not reference it", n);
  }
  for (const auto& r : removed) {
    if (cur.count(r)) Add(r, "listed in commit.files_removed, but the snapshot still references it", n);
  }
  for (const auto& [version, files] : DeltasByVersion(snap)) {
    if (version != n) continue;
    for (const auto& f : files) {
      if (!added.count(f)) Add(f, "a delta of this version, but not listed in commit.files_added", n);
    }
  }
  if (!prev) return;
  std::set<std::string> before;
  for (const auto* f : prev->AllFiles()) before.insert(f->path);
  const std::string pv = std::to_string(n - 1);
  for (const auto& a : added) {
    if (before.count(a)) Add(a, "listed in commit.files_added, but version " + pv + " already references it", n);
  }
  for (const auto& r : removed) {
    if (!before.count(r)) Add(r, "listed in commit.files_removed, but version " + pv + " does not reference it", n);
  }
  for (const auto& f : cur) {
    if (!before.count(f) && !added.count(f)) {
      Add(f, "new in this version (not in version " + pv + "), but not listed in commit.files_added", n);
    }
  }
  for (const auto& f : before) {
    if (!cur.count(f) && !removed.count(f)) {
      Add(f, "referenced by version " + pv + ", dropped by this version, but not listed in commit.files_removed", n);
    }
  }
  // The tie rule ranks the files of one version by snapshot order; a later
  // snapshot must keep that order (docs/spec.md §4).
  auto now = DeltasByVersion(snap), then = DeltasByVersion(*prev);
  for (const auto& [version, files] : now) {
    auto it = then.find(version);
    if (it == then.end()) continue;
    std::set<std::string> earlier(it->second.begin(), it->second.end());
    std::vector<std::string> a, b;
    for (const auto& f : files) {
      if (earlier.count(f)) a.push_back(f);
    }
    for (const auto& f : it->second) {
      if (cur.count(f)) b.push_back(f);
    }
    if (a != b) {
      Add("deltas of version " + std::to_string(version),
          "listed in a different order than in version " + pv + " (the tie rule depends on their order)", n);
    }
  }
}

}  // namespace

std::string ValidationProblem::ToString() const {
  std::string out = object + ": " + problem;
  if (!versions.empty()) out += " (" + VersionsText(versions) + ")";
  return out;
}

arrow::Result<ValidationReport> ValidateTable(const std::string& location, const std::string& name,
                                              const ValidateOptions& options,
                                              const StorageOptions& storage_options) {
  ARROW_ASSIGN_OR_RAISE(auto storage, io::OpenStorage(location, name, /*create_location=*/false, storage_options));
  return ValidateTable(storage, options);
}

arrow::Result<ValidationReport> ValidateTable(const std::shared_ptr<io::Storage>& storage,
                                              const ValidateOptions& options) {
  return Validator(storage, options).Run();
}

}  // namespace bazof
