// Retention and vacuum: expiring old versions and deleting the files no
// retained version needs (docs/spec.md, "Vacuum and retention").
#pragma once

#include <arrow/result.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bazof/progress.h"
#include "bazof/table.h"

namespace bazof {

struct VacuumOptions {
  /// Keep the newest N versions (N >= 1). nullopt: this rule keeps nothing.
  std::optional<int64_t> retain_versions;
  /// Keep versions committed less than this many microseconds ago (by
  /// commit.timestamp). nullopt: this rule keeps nothing.
  /// A version is kept if any given rule keeps it; with neither rule every
  /// version is kept and only unreferenced files are deleted. The current
  /// version is always kept.
  std::optional<int64_t> retain_micros;
  /// Files and snapshots younger than this (by modification time) are never
  /// deleted as orphans or expired, so an in-flight write is never harmed.
  int64_t grace_micros = 3600LL * 1000 * 1000;
  /// Report what would be deleted; delete nothing.
  bool dry_run = false;
  /// The time vacuum compares against; nullopt = the wall clock (tests set it).
  std::optional<std::chrono::system_clock::time_point> now;
  /// Progress (include/bazof/progress.h): phase "read snapshots" (unit
  /// "snapshots"; also in a dry run), then phase "delete" (unit "files":
  /// files deleted and uploads aborted; not in a dry run).
  ProgressCallback progress;
};

/// One file vacuum deleted (or, in a dry run, would delete).
struct VacuumedFile {
  std::string name;   ///< relative to the table root
  int64_t bytes = 0;  ///< -1 if the storage did not say
  /// "expired snapshot", "unreferenced data file" (referenced only by
  /// expired versions) or "orphan" (referenced by no snapshot).
  std::string reason;
};

/// An incomplete multipart upload vacuum aborted (or, in a dry run, would
/// abort): left by a writer killed while uploading a data file (object stores).
struct AbortedUpload {
  std::string name;       ///< the object it was uploading, relative to the table root
  std::string upload_id;  ///< the store's upload id
  /// When it was initiated (UTC, as the store reports it); nullopt if unknown.
  std::optional<EventTime> initiated;
};

/// What a vacuum did.
struct VacuumResult {
  bool dry_run = false;
  Version current_version;
  Version oldest_retained;                ///< after this vacuum
  std::vector<Version> expired_versions;  ///< snapshots removed, ascending
  std::vector<VacuumedFile> deleted;      ///< in deletion order
  int64_t deleted_bytes = 0;
  /// Versions the rules would have expired but whose snapshot is younger
  /// than the grace period.
  int64_t versions_kept_by_grace = 0;
  /// Unreferenced files kept because they are younger than the grace period.
  int64_t orphans_kept_by_grace = 0;
  /// Incomplete multipart uploads under data/ initiated before the grace
  /// period, aborted (object stores; always empty on a local disk).
  std::vector<AbortedUpload> aborted_uploads;
  /// Incomplete multipart uploads kept: younger than the grace period (a
  /// writer may still complete them) or of unknown age.
  int64_t uploads_kept_by_grace = 0;
};

/// Expires old versions and deletes the data files no retained version
/// references, plus orphans older than the grace period, and aborts the
/// incomplete multipart uploads of data files initiated before the grace
/// period (object stores). Never deletes
/// version.txt, the current snapshot, a file a retained version needs, or
/// anything outside the table root; leaves version.txt naming an existing
/// snapshot. Safe against a crash at any point: every snapshot still present
/// reads as before, and running vacuum again finishes the work. Run one vacuum
/// per table at a time; concurrent writers are safe. kInvalidArgument for bad
/// options; kCorruption if a retained snapshot cannot be read (nothing is
/// deleted then).
arrow::Result<VacuumResult> Vacuum(const std::shared_ptr<Table>& table, const VacuumOptions& options = {});

}  // namespace bazof
