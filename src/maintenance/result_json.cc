// The JSON form of operation results (include/bazof/result_json.h).
#include "bazof/result_json.h"

#include <arrow/api.h>
#include <nlohmann/json.hpp>

namespace bazof {
namespace {

std::string Dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

std::string ToJson(const CompactResult& r, const std::string& table, bool dry_run) {
  nlohmann::json j = {{"table", table},
                      {"dry_run", dry_run},
                      {"committed", r.committed},
                      {"nothing_to_compact", r.nothing_to_compact},
                      {"reason", r.reason},
                      {"built_from_version", r.built_from.value()},
                      {"files_read", r.files_read},
                      {"bytes_read", r.bytes_read},
                      {"events_read", r.events_read},
                      {"segments", r.segments},
                      {"memory_limit_bytes", r.memory_limit_bytes},
                      {"peak_memory_bytes", r.peak_memory_bytes}};
  if (r.horizon) j["horizon"] = FormatEventTime(*r.horizon);
  if (r.committed) {
    j["version"] = r.version.value();
    j["events_written"] = r.events_written;
    j["events_collapsed"] = r.events_collapsed;
    j["bases"] = r.bases;
    j["base_rows"] = r.base_rows;
    j["spilled_bytes"] = r.spilled_bytes;
    j["files_added"] = r.files_added;
    j["files_removed"] = r.files_removed;
  }
  return Dump(j);
}

std::string ToJson(const CommitResult& r, const std::string& table) {
  nlohmann::json j = {{"table", table},
                      {"committed", r.committed},
                      {"version", nullptr},
                      {"rows", r.rows},
                      {"files", r.files},
                      {"key_had_no_events", r.key_had_no_events},
                      {"warning", r.warning},
                      {"spilled_runs", r.spilled_runs},
                      {"spilled_bytes", r.spilled_bytes}};
  if (r.committed) j["version"] = r.version.value();
  if (r.memory_limit_bytes > 0) {  // an append
    j["merge_passes"] = r.merge_passes;
    j["memory_limit_bytes"] = r.memory_limit_bytes;
    j["peak_memory_bytes"] = r.peak_memory_bytes;
  }
  return Dump(j);
}

std::string ToJson(const RestoreResult& r, const std::string& table) {
  return Dump({{"table", table},
               {"version", r.version.value()},
               {"restored_version", r.restored.value()},
               {"files", r.files},
               {"files_added", r.files_added},
               {"files_removed", r.files_removed}});
}

std::string ToJson(const DeleteWhereResult& r, const std::string& table, bool dry_run) {
  nlohmann::json matched = nlohmann::json::array();
  if (r.matched) {
    auto batch = r.matched->CombineChunksToBatch();
    if (batch.ok()) {
      for (int64_t i = 0; i < (*batch)->num_rows(); ++i) {
        nlohmann::json key = nlohmann::json::array();
        for (int c = 0; c < (*batch)->num_columns(); ++c) {
          auto s = (*batch)->column(c)->GetScalar(i);
          key.push_back(s.ok() ? (*s)->ToString() : std::string());
        }
        matched.push_back(std::move(key));
      }
    }
  }
  nlohmann::json j = {{"table", table},
                      {"dry_run", dry_run},
                      {"keys", r.keys},
                      {"committed", r.commit.committed},
                      {"version", nullptr},
                      {"matched", std::move(matched)}};
  if (r.commit.committed) j["version"] = r.commit.version.value();
  return Dump(j);
}

std::string ToJson(const ValidationReport& r, bool with_text) {
  auto versions = [](const std::vector<Version>& vs) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : vs) out.push_back(v.value());
    return out;
  };
  auto list = [&](const std::vector<ValidationProblem>& ps) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : ps) {
      nlohmann::json one = {{"object", p.object}, {"problem", p.problem}, {"versions", versions(p.versions)}};
      if (with_text) one["text"] = p.ToString();
      out.push_back(std::move(one));
    }
    return out;
  };
  return Dump({{"table", r.table},
               {"valid", r.ok()},
               {"deep", r.deep},
               {"versions_checked", versions(r.versions_checked)},
               {"files_checked", r.files_checked},
               {"problems", list(r.problems)},
               // Deep only: files whose pages carry no CRC (docs/spec.md §6.1).
               {"unverifiable", list(r.unverifiable)},
               {"verified", r.verified()}});
}

std::string ToJson(const VacuumResult& r, const std::string& table) {
  nlohmann::json expired = nlohmann::json::array(), deleted = nlohmann::json::array(),
                 aborted = nlohmann::json::array();
  for (const auto& v : r.expired_versions) expired.push_back(v.value());
  for (const auto& d : r.deleted) deleted.push_back({{"file", d.name}, {"bytes", d.bytes}, {"reason", d.reason}});
  for (const auto& u : r.aborted_uploads) {
    aborted.push_back({{"file", u.name},
                       {"upload_id", u.upload_id},
                       {"initiated", u.initiated ? FormatEventTime(*u.initiated) : std::string()}});
  }
  return Dump({{"table", table},
               {"dry_run", r.dry_run},
               {"current_version", r.current_version.value()},
               {"oldest_retained_version", r.oldest_retained.value()},
               {"expired_versions", std::move(expired)},
               {"deleted", std::move(deleted)},
               {"deleted_bytes", r.deleted_bytes},
               {"versions_kept_by_grace", r.versions_kept_by_grace},
               {"orphans_kept_by_grace", r.orphans_kept_by_grace},
               {"aborted_uploads", std::move(aborted)},
               {"uploads_kept_by_grace", r.uploads_kept_by_grace}});
}

}  // namespace bazof
