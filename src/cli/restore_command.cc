// bazof restore: a new version equal to an older one (as Delta's RESTORE).
#include <iostream>

#include "bazof/error.h"
#include "bazof/restore.h"
#include "bazof/result_json.h"
#include "cli/commands.h"

namespace bazof::cli {

void AddRestoreCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    int64_t version = -1;
    std::string format = "table";
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "restore",
      "Commit a new version whose data, schema and properties are those of an older version "
      "(as Delta's RESTORE): every scan of the new version equals the same scan at --version. "
      "Versions in between stay readable; later writes build on the restored state. The "
      "watermark is kept. Refuses versions beyond the current one, vacuumed ones, and those "
      "before a forget.");
  f->table.Add(cmd);
  cmd->add_option("--version", f->version, "The version to restore")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--format", f->format, "table (default) or json");
  cmd->callback([run, f] {
    *run = [f]() -> arrow::Status {
      if (f->format != "table" && f->format != "json") {
        return InvalidArgument("--format '", f->format, "': expected table or json");
      }
      ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f->table.path, f->table.table, f->table.storage_options()));
      ARROW_ASSIGN_OR_RAISE(auto r, Restore(table, Version(f->version)));
      if (f->format == "json") {
        std::cout << ToJson(r, table->location()) << std::endl;
      } else {
        std::cout << "restored version " << r.restored.value() << " as version " << r.version.value() << " ("
                  << r.files << " data file(s), " << r.files_added.size() << " back, " << r.files_removed.size()
                  << " dropped)" << std::endl;
      }
      return arrow::Status::OK();
    };
  });
}

}  // namespace bazof::cli
