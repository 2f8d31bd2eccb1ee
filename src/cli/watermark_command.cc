// bazof watermark: show or advance the completeness watermark
// (docs/spec.md, "Completeness watermark").
#include <iostream>
#include <nlohmann/json.hpp>

#include "bazof/error.h"
#include "bazof/timeline.h"
#include "cli/commands.h"

namespace bazof::cli {

void AddWatermarkCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    std::string time;
    std::string format = "table";
  };
  auto* cmd = app.add_subcommand(
      "watermark",
      "The completeness watermark: scans as of it or earlier are complete. Events at or before it\n"
      "that arrive later are accepted and counted as late (see info).");
  cmd->require_subcommand(1);

  auto set = std::make_shared<Flags>();
  auto* set_cmd = cmd->add_subcommand("set", "Advance the watermark to an event time, as one commit (never backwards).");
  set->table.Add(set_cmd);
  set_cmd->add_option("time", set->time, "Event time (ISO-8601; no zone = UTC)");
  // With --path/--table, the time lands in the table URI's place.
  set->table.claim = [time = &set->time](const std::string& text) {  // a raw pointer: no cycle
    if (!time->empty()) return false;
    *time = text;
    return true;
  };
  set_cmd->add_option("--format", set->format, "table (default) or json");
  set_cmd->callback([run, set] {
    *run = [set]() -> arrow::Status {
      if (set->format != "table" && set->format != "json") {
        return InvalidArgument("--format '", set->format, "': expected table or json");
      }
      if (set->time.empty()) return InvalidArgument("watermark set: give the event time (e.g. 2024-01-31)");
      ARROW_ASSIGN_OR_RAISE(auto t, ParseEventTime(set->time, "watermark"));
      ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(set->table.path, set->table.table, set->table.storage_options()));
      ARROW_ASSIGN_OR_RAISE(auto r, SetWatermark(table, t));
      if (set->format == "json") {
        nlohmann::json j = {{"table", table->location()}, {"version", r.version.value()},
                            {"watermark", FormatEventTime(t)}};
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
      } else {
        std::cout << "committed version " << r.version.value() << " (watermark " << FormatEventTime(t) << ")"
                  << std::endl;
      }
      return arrow::Status::OK();
    };
  });

  auto show = std::make_shared<Flags>();
  auto* show_cmd = cmd->add_subcommand("show", "Print the watermark of the current version (or 'none').");
  show->table.Add(show_cmd);
  show_cmd->add_option("--format", show->format, "table (default) or json");
  show_cmd->callback([run, show] {
    *run = [show]() -> arrow::Status {
      if (show->format != "table" && show->format != "json") {
        return InvalidArgument("--format '", show->format, "': expected table or json");
      }
      ARROW_ASSIGN_OR_RAISE(auto table,
                            Table::Open(show->table.path, show->table.table, show->table.storage_options()));
      const auto& snap = *table->current_snapshot();
      if (show->format == "json") {
        nlohmann::json j = {{"table", table->location()}, {"version", snap.version.value()}};
        j["watermark"] = snap.watermark ? nlohmann::json(FormatEventTime(*snap.watermark)) : nlohmann::json(nullptr);
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
      } else {
        std::cout << (snap.watermark ? FormatEventTime(*snap.watermark) : std::string("none")) << std::endl;
      }
      return arrow::Status::OK();
    };
  });
}

}  // namespace bazof::cli
