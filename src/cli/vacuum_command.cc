// bazof vacuum.
#include <iostream>

#include "bazof/error.h"
#include "bazof/result_json.h"
#include "bazof/vacuum.h"
#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "metadata/properties.h"

namespace bazof::cli {
namespace {

std::string Span(const std::vector<Version>& vs) {
  if (vs.size() == 1) return "version " + std::to_string(vs.front().value());
  return "versions " + std::to_string(vs.front().value()) + "-" + std::to_string(vs.back().value());
}

struct VacuumFlags {
  TableFlags table;
  int64_t retain_versions = 0;
  std::string older_than;
  std::string grace = "1h";
  bool dry_run = false;
  std::string format = "text";
  ProgressFlags progress;
};

arrow::Status RunVacuum(const VacuumFlags& f, bool has_retain_versions) {
  if (f.format != "text" && f.format != "json") {
    return InvalidArgument("--format '", f.format, "': expected text or json");
  }
  VacuumOptions o;
  if (has_retain_versions) o.retain_versions = f.retain_versions;
  if (!f.older_than.empty()) {
    ARROW_ASSIGN_OR_RAISE(o.retain_micros, metadata::ParseDuration(f.older_than, "--older-than"));
  }
  ARROW_ASSIGN_OR_RAISE(o.grace_micros, metadata::ParseDurationOrZero(f.grace, "--grace"));
  if (o.grace_micros == 0 && !f.dry_run) {
    std::cerr << "bazof: warning: --grace " << f.grace
              << ": unreferenced files are deleted however young; a write to this table in flight "
                 "now may fail to commit (use it only when no writer is running)"
              << std::endl;
  }
  o.dry_run = f.dry_run;
  o.progress = f.progress.Callback("vacuum");
  if (o.retain_versions && *o.retain_versions < 1) {
    return InvalidArgument("--retain-versions ", *o.retain_versions,
                           ": must be at least 1 (the current version is always kept)");
  }
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f.table.path, f.table.table, f.table.storage_options()));
  ARROW_ASSIGN_OR_RAISE(auto r, Vacuum(table, o));

  if (f.format == "json") {
    std::cout << ToJson(r, table->location()) << std::endl;
    return arrow::Status::OK();
  }
  const char* verb = r.dry_run ? "would delete " : "deleted ";
  for (const auto& d : r.deleted) {
    std::cout << verb << d.name << " (" << d.bytes << " bytes, " << d.reason << ")\n";
  }
  for (const auto& u : r.aborted_uploads) {
    std::cout << (r.dry_run ? "would abort" : "aborted") << " incomplete upload of " << u.name << " (upload id "
              << u.upload_id << ", initiated " << (u.initiated ? FormatEventTime(*u.initiated) : "?") << ")\n";
  }
  std::cout << (r.dry_run ? "dry run: " : "") << (r.dry_run ? "would expire " : "expired ")
            << (r.expired_versions.empty() ? std::string("no versions") : Span(r.expired_versions)) << "; " << verb
            << r.deleted.size() << " file(s), " << r.deleted_bytes << " bytes; oldest retained version "
            << r.oldest_retained.value() << ", current " << r.current_version.value();
  if (r.versions_kept_by_grace > 0) {
    std::cout << "; kept " << r.versions_kept_by_grace << " version(s) younger than the grace period (" << f.grace
              << ")";
  }
  if (r.orphans_kept_by_grace > 0) {
    std::cout << "; kept " << r.orphans_kept_by_grace << " unreferenced file(s) younger than the grace period ("
              << f.grace << ")";
  }
  if (!r.aborted_uploads.empty()) {
    std::cout << "; " << (r.dry_run ? "would abort " : "aborted ") << r.aborted_uploads.size()
              << " incomplete upload(s)";
  }
  if (r.uploads_kept_by_grace > 0) {
    std::cout << "; kept " << r.uploads_kept_by_grace << " incomplete upload(s) younger than the grace period ("
              << f.grace << ")";
  }
  std::cout << std::endl;
  return arrow::Status::OK();
}

}  // namespace

void AddVacuumCommand(CLI::App& app, Action* run) {
  auto f = std::make_shared<VacuumFlags>();
  auto* cmd = app.add_subcommand(
      "vacuum",
      "Expire old versions and delete the files no retained version needs: data files only expired\n"
      "versions reference, and orphans (files in data/ no snapshot references, temporary files) older\n"
      "than the grace period. With neither --retain-versions nor --older-than every version is kept.\n"
      "The current version is always kept; a vacuumed version can no longer be scanned.");
  f->table.Add(cmd);
  auto* retain = cmd->add_option("--retain-versions", f->retain_versions, "Keep the newest N versions (N >= 1)");
  cmd->add_option("--older-than", f->older_than,
                  "Expire versions committed longer ago than this (30d, 12h, 15m, ...); with\n"
                  "--retain-versions, a version either rule keeps is kept");
  cmd->add_option("--grace", f->grace,
                  "Never delete a file or expire a snapshot younger than this, so writes in flight are\n"
                  "safe; 0 removes every orphan now (only when no writer is running)")
      ->capture_default_str();
  cmd->add_flag("--dry-run", f->dry_run, "List what would be deleted; delete nothing");
  cmd->add_option("--format", f->format, "text (default) or json");
  f->progress.Add(cmd);
  cmd->callback([run, f, retain] {
    const bool has_retain = retain->count() > 0;
    *run = [f, has_retain] { return RunVacuum(*f, has_retain); };
  });
}

}  // namespace bazof::cli
