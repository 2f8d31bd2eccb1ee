// bazof forget: remove keys' events from the current version (rewrite); the
// next vacuum removes them from storage (docs/spec.md §20.4).
#include <iostream>
#include <nlohmann/json.hpp>

#include "bazof/error.h"
#include "bazof/timeline.h"
#include "cli/commands.h"

namespace bazof::cli {

void AddForgetCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    std::vector<std::string> keys;
    std::string format = "table";
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "forget",
      "Erase keys (e.g. GDPR): rewrite every file of the current version that holds their events\n"
      "without them, as one commit F. Versions before F still return the keys until the next\n"
      "vacuum, which expires them all (whatever its retention flags) and deletes the old files.\n"
      "The keys are not recorded in the table's metadata.");
  f->table.Add(cmd);
  cmd->add_option("--key", f->keys,
                  "A key to forget: K, or col=value,col=value for a composite key (repeat for several)")
      ->required();
  cmd->add_option("--format", f->format, "table (default) or json");
  cmd->callback([run, f] {
    *run = [f]() -> arrow::Status {
      if (f->format != "table" && f->format != "json") {
        return InvalidArgument("--format '", f->format, "': expected table or json");
      }
      ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f->table.path, f->table.table, f->table.storage_options()));
      ARROW_ASSIGN_OR_RAISE(auto r, ForgetKeys(table, KeyArgs(*table, f->keys)));
      if (f->format == "json") {
        nlohmann::json j = {{"table", table->location()},        {"committed", r.committed},
                            {"events_removed", r.events_removed}, {"files_rewritten", r.files_rewritten},
                            {"files_dropped", r.files_dropped},   {"files_added", r.files_added},
                            {"files_removed", r.files_removed}};
        if (r.committed) j["version"] = r.version.value();
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
      } else if (!r.committed) {
        std::cout << "no event of the given key(s) in version " << table->current_version().value()
                  << "; nothing committed" << std::endl;
      } else {
        std::cout << "committed version " << r.version.value() << ": " << r.events_removed
                  << " event(s) removed (" << r.files_rewritten << " file(s) rewritten, " << r.files_dropped
                  << " dropped); versions before " << r.version.value()
                  << " keep them until the next vacuum" << std::endl;
      }
      return arrow::Status::OK();
    };
  });
}

}  // namespace bazof::cli
