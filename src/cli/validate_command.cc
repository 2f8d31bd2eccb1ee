// bazof validate.
#include <iostream>

#include "bazof/error.h"
#include "bazof/result_json.h"
#include "bazof/validate.h"
#include "text_escape.h"
#include "cli/commands.h"

namespace bazof::cli {
namespace {

std::string VersionSpan(const std::vector<Version>& vs) {
  if (vs.empty()) return "no versions";
  if (vs.size() == 1) return "version " + std::to_string(vs.front().value());
  return "versions " + std::to_string(vs.front().value()) + "-" + std::to_string(vs.back().value());
}

arrow::Status RunValidate(const TableFlags& flags, int64_t version, bool deep, const std::string& format) {
  if (format != "text" && format != "json") {
    return InvalidArgument("--format '", format, "': expected text or json");
  }
  ValidateOptions options;
  if (version >= 0) options.version = Version(version);
  options.deep = deep;
  ARROW_ASSIGN_OR_RAISE(auto report, ValidateTable(flags.path, flags.table, options, flags.storage_options()));
  const std::string checked = VersionSpan(report.versions_checked) + ", " + std::to_string(report.files_checked) +
                              " data file(s) checked" + (report.deep ? " (deep)" : "");
  if (format == "json") {
    std::cout << ToJson(report) << std::endl;
  } else {
    // One line per problem, whatever a message (a Parquet error) holds.
    for (const auto& p : report.problems) std::cout << EscapeForMessage(p.ToString()) << "\n";
    for (const auto& p : report.unverifiable) std::cout << "unverifiable: " << EscapeForMessage(p.ToString()) << "\n";
    if (report.ok() && report.unverifiable.empty()) {
      std::cout << "table '" << report.table << "' is valid: " << checked << std::endl;
    } else if (report.ok()) {
      std::cout << "table '" << report.table << "' has no problems, but " << report.unverifiable.size()
                << " data file(s) are unverifiable (no page checksums): " << checked << std::endl;
    }
    std::cout.flush();
  }
  if (!report.ok()) {
    return Corruption("table '", report.table, "': ", report.problems.size(), " problem(s) found (", checked, ")");
  }
  return arrow::Status::OK();
}

}  // namespace

void AddValidateCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    int64_t version = -1;
    bool deep = false;
    std::string format = "text";
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "validate",
      "Check a table against the format: version pointer, every retained snapshot, every file they\n"
      "name (exists, size, rows, schema, statistics), segment layout and commit records. Lists every\n"
      "problem, one per line, and exits 1 if there is any (0 and a one-line summary if none).");
  f->table.Add(cmd);
  cmd->add_option("--version", f->version, "Check only this version (default: every retained version)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--deep", f->deep,
                "Also read every row: actual counts, event-time and key ranges, sort order, one row per key\n"
                "in bases, no null keys or event times; decode every page, verifying its checksum (files\n"
                "written without page checksums are listed as unverifiable, exit code 0)");
  cmd->add_option("--format", f->format, "text (default) or json (one object with a list of problems)");
  cmd->callback([run, f] { *run = [f] { return RunValidate(f->table, f->version, f->deep, f->format); }; });
}

}  // namespace bazof::cli
