// bazof vacuum (docs/spec.md, "Vacuum and retention").
//
//   list root and data/ ── read every snapshot ── choose the oldest retained
//   version M (rules, then the grace period) ── plan: expired snapshots,
//   data files only expired versions reference, old orphans
//   then, in this order (each step keeps every remaining snapshot readable):
//   1. retention.json = {M}            readers learn which versions are gone
//   2. version.txt -> current if it names a version below M
//   3. delete s<v>.json for v < M, oldest first
//   4. delete data files no retained snapshot references
//   5. delete orphans older than the grace period
//   6. abort incomplete multipart uploads of data/ initiated before the
//      grace period (object stores: a writer killed mid-upload leaves one,
//      invisible to listings, its parts stored until aborted)
#include "bazof/vacuum.h"

#include <map>
#include <set>

#include "bazof/error.h"
#include "io/storage.h"
#include "metadata/table_files.h"
#include "progress_reporter.h"

namespace bazof {
namespace {

using Clock = std::chrono::system_clock;

constexpr const char* kExpiredSnapshot = "expired snapshot";
constexpr const char* kUnreferenced = "unreferenced data file";
constexpr const char* kOrphan = "orphan";

// Temporary files of bazof's atomic writes (io/local_commit.cc): "<name>.tmp-<hex>"
// for a snapshot, version.txt or retention.json. Left behind only by a crash.
bool IsTempFileOfTable(const std::string& name) {
  auto pos = name.find(".tmp-");
  if (pos == std::string::npos) return false;
  const std::string target = name.substr(0, pos);
  return target == metadata::kVersionFile || target == metadata::kRetentionFile ||
         metadata::ParseSnapshotFileName(target).has_value();
}

struct Loaded {
  std::shared_ptr<Snapshot> snapshot;  // null if it could not be read
  arrow::Status status;
};

}  // namespace

arrow::Result<VacuumResult> Vacuum(const std::shared_ptr<Table>& table, const VacuumOptions& o) {
  if (o.retain_versions && *o.retain_versions < 1) {
    return InvalidArgument("--retain-versions ", *o.retain_versions,
                           ": must be at least 1 (the current version is always kept)");
  }
  if (o.retain_micros && *o.retain_micros <= 0) return InvalidArgument("--older-than must be positive");
  if (o.grace_micros < 0) return InvalidArgument("--grace must not be negative");
  io::Storage& storage = *table->storage();
  const auto now = o.now.value_or(Clock::now());
  const arrow::fs::TimePoint grace_cutoff =
      std::chrono::time_point_cast<arrow::fs::TimePoint::duration>(now - std::chrono::microseconds(o.grace_micros));
  auto old_enough = [&](const io::ListedFile& f) {
    return f.mtime != arrow::fs::kNoTime && f.mtime <= grace_cutoff;
  };
  const int64_t current = table->current_version().value();

  VacuumResult result;
  result.dry_run = o.dry_run;
  result.current_version = Version(current);

  // What is there.
  ARROW_ASSIGN_OR_RAISE(auto root_files, storage.ListFiles("", /*recursive=*/false));
  ARROW_ASSIGN_OR_RAISE(auto data_files, storage.ListFiles("data", /*recursive=*/true));
  std::map<int64_t, io::ListedFile> snaps;
  std::map<std::string, io::ListedFile> files;  // every other listed file
  for (const auto& f : root_files) {
    if (auto v = metadata::ParseSnapshotFileName(f.name)) {
      snaps[*v] = f;
    } else {
      files[f.name] = f;
    }
  }
  for (const auto& f : data_files) files[f.name] = f;
  if (!snaps.count(current)) {
    return MakeError(ErrorKind::kIOError, "vacuum of '" + storage.display_root() + "': listing does not show " +
                                              metadata::SnapshotFileName(current) + ", the current snapshot");
  }
  // The unbroken run of snapshots ending at the current version. Newer
  // snapshots (a writer committed since the open) are retained like it.
  int64_t lowest = current;
  while (snaps.count(lowest - 1)) --lowest;

  std::map<int64_t, Loaded> loaded;
  internal::ProgressReporter reading(o.progress, "read snapshots", "snapshots", static_cast<int64_t>(snaps.size()));
  for (const auto& [v, _] : snaps) {
    auto s = metadata::ReadSnapshotFile(storage, v);
    loaded[v] = s.ok() ? Loaded{*s, arrow::Status::OK()} : Loaded{nullptr, s.status()};
    reading.Add(1);
  }
  reading.Finish();

  // The oldest retained version M: every rule given keeps what it keeps.
  int64_t oldest = lowest;
  if (o.retain_versions || o.retain_micros) {
    int64_t kept_from = current;
    if (o.retain_versions) kept_from = std::min(kept_from, current - *o.retain_versions + 1);
    if (o.retain_micros) {
      const int64_t cutoff =
          std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() - *o.retain_micros;
      for (int64_t v = lowest; v < current; ++v) {
        // The commit's wall-clock time; without one (legacy, hand-made), the
        // snapshot's modification time. Unknown: keep.
        std::optional<int64_t> at;
        const auto& l = loaded[v];
        if (l.snapshot && l.snapshot->commit) {
          if (auto t = ParseEventTime(l.snapshot->commit->timestamp); t.ok()) at = t->micros();
        }
        if (!at && snaps[v].mtime != arrow::fs::kNoTime) {
          at = std::chrono::duration_cast<std::chrono::microseconds>(snaps[v].mtime.time_since_epoch()).count();
        }
        if (!at || *at > cutoff) {
          kept_from = std::min(kept_from, v);
          break;
        }
      }
    }
    oldest = std::max(lowest, kept_from);
  }
  // A writer that read version v-1 may still be about to create s<v>.json:
  // never expire a snapshot younger than the grace period.
  for (int64_t v = lowest; v < oldest; ++v) {
    if (!old_enough(snaps[v])) {
      result.versions_kept_by_grace = oldest - v;
      oldest = v;
      break;
    }
  }
  // Forget (docs/spec.md §20.4): versions below its erase floor may hold
  // forgotten keys; they go whatever the rules and the grace period say (a
  // committed snapshot below the current one is never an in-flight write).
  if (const auto& cur = loaded[current].snapshot; cur && cur->erase_below) {
    oldest = std::max(oldest, std::min(cur->erase_below->value(), current));
  }
  result.oldest_retained = Version(oldest);
  // Snapshots below a gap in the versions (only damage makes them) are
  // expired only when a rule asks for it, and only once old enough.
  const bool rules = o.retain_versions || o.retain_micros;
  auto expires = [&](int64_t v) {
    if (v >= oldest) return false;
    return v >= lowest || (rules && old_enough(snaps[v]));
  };

  // References: retained snapshots must all be readable.
  std::set<std::string> retained_refs, expired_refs;
  for (const auto& [v, l] : loaded) {
    if (!expires(v)) {
      if (!l.snapshot) {
        return WithContext(l.status, "vacuum: retained version " + std::to_string(v) +
                                         " cannot be read, nothing was deleted: ");
      }
      for (const auto* f : l.snapshot->AllFiles()) retained_refs.insert(f->path);
    } else if (l.snapshot) {
      for (const auto* f : l.snapshot->AllFiles()) expired_refs.insert(f->path);
    }
  }
  auto protected_name = [&](const std::string& name) {
    if (name == metadata::kVersionFile || name == metadata::kRetentionFile) return true;
    auto v = metadata::ParseSnapshotFileName(name);
    return v && !expires(*v);
  };

  // The plan, in deletion order.
  std::vector<VacuumedFile> plan;
  for (const auto& [v, f] : snaps) {
    if (!expires(v)) continue;
    plan.push_back(VacuumedFile{f.name, f.size, kExpiredSnapshot});
    result.expired_versions.push_back(Version(v));
  }
  for (const auto& name : expired_refs) {
    if (retained_refs.count(name) || protected_name(name)) continue;
    auto it = files.find(name);
    if (it == files.end()) continue;  // already gone
    plan.push_back(VacuumedFile{name, it->second.size, kUnreferenced});
  }
  for (const auto& [name, f] : files) {
    if (retained_refs.count(name) || expired_refs.count(name) || protected_name(name)) continue;
    // bazof owns data/; at the root only its own temporary files are orphans
    // (other files there, like a legacy table's sources, are left alone).
    if (!name.starts_with("data/") && !IsTempFileOfTable(name)) continue;
    if (!old_enough(f)) {
      ++result.orphans_kept_by_grace;
      continue;
    }
    plan.push_back(VacuumedFile{name, f.size, kOrphan});
  }
  for (const auto& f : plan) result.deleted_bytes += std::max<int64_t>(f.bytes, 0);
  // Leaked uploads: only bazof's data files are uploaded in parts.
  std::vector<io::PendingUpload> aborts;
  ARROW_ASSIGN_OR_RAISE(auto uploads, storage.ListPendingUploads());
  for (auto& u : uploads) {
    if (!u.name.starts_with("data/")) continue;
    if (u.initiated == arrow::fs::kNoTime || u.initiated > grace_cutoff) {
      ++result.uploads_kept_by_grace;
      continue;
    }
    AbortedUpload a{u.name, u.upload_id, std::nullopt};
    a.initiated = EventTime::FromMicros(
        std::chrono::duration_cast<std::chrono::microseconds>(u.initiated.time_since_epoch()).count());
    result.aborted_uploads.push_back(std::move(a));
    aborts.push_back(std::move(u));
  }
  if (o.dry_run) {
    result.deleted = std::move(plan);
    return result;
  }

  // 1. The retention hint, before any snapshot goes.
  ARROW_ASSIGN_OR_RAISE(auto hint, metadata::ReadRetentionHint(storage));
  metadata::RetentionHint want{oldest, hint ? hint->first_version : snaps.begin()->first};
  if (want.first_version > oldest) want.first_version = oldest;
  if ((hint || !result.expired_versions.empty()) &&
      (!hint || hint->oldest_retained != want.oldest_retained || hint->first_version != want.first_version)) {
    ARROW_RETURN_NOT_OK(storage.ReplaceFile(metadata::kRetentionFile, metadata::SerializeRetentionHint(want)));
  }
  // 2. The pointer must name a snapshot that stays.
  auto pointer_text = storage.ReadFile(metadata::kVersionFile);
  bool pointer_ok = false;
  if (pointer_text.ok()) {
    auto p = metadata::ParseVersionPointer(*pointer_text, metadata::kVersionFile);
    pointer_ok = p.ok() && *p >= oldest && snaps.count(*p);
  } else if (ErrorKindOf(pointer_text.status()) != ErrorKind::kNotFound) {
    return pointer_text.status();
  }
  if (!pointer_ok) ARROW_RETURN_NOT_OK(storage.ReplaceFile(metadata::kVersionFile, std::to_string(current)));
  // 3-5. Delete, in plan order: snapshots (oldest first) before the files
  // they reference, so a crash never leaves a snapshot without its files.
  internal::ProgressReporter deleting(o.progress, "delete", "files", static_cast<int64_t>(plan.size() + aborts.size()));
  for (auto& f : plan) {
    ARROW_RETURN_NOT_OK(WithContext(storage.DeleteFile(f.name), "vacuum: "));
    result.deleted.push_back(std::move(f));
    deleting.Add(1);
  }
  // 6. Leaked uploads (nothing references an object never completed).
  for (const auto& u : aborts) {
    ARROW_RETURN_NOT_OK(WithContext(storage.AbortUpload(u), "vacuum: "));
    deleting.Add(1);
  }
  deleting.Finish();
  return result;
}

}  // namespace bazof
