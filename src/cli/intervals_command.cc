// bazof intervals: validity intervals (SCD type 2), include/bazof/views.h.
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <optional>

#include "bazof/error.h"
#include "bazof/views.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace bazof::cli {
namespace {

struct IntervalsFlags {
  TableFlags table;
  std::optional<std::string> start, end;
  int64_t version = -1;
  std::string columns;
  std::vector<std::string> keys;
  bool coalesce = false;
  ResultFlags result;
  int threads = 0;
};

arrow::Status RunIntervals(const IntervalsFlags& f) {
  ARROW_RETURN_NOT_OK(f.result.Check().status());
  IntervalOptions o;
  if (f.start) {
    ARROW_ASSIGN_OR_RAISE(o.start, ParseEventTime(*f.start, "--start"));
  }
  if (f.end) {
    ARROW_ASSIGN_OR_RAISE(o.end, ParseEventTime(*f.end, "--end"));
  }
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f.table.path, f.table.table, f.table.storage_options()));
  if (f.version >= 0) o.version = Version(f.version);
  if (!f.columns.empty()) o.columns = SplitCommas(f.columns);
  if (!f.keys.empty()) {
    const auto& key_columns = table->current_snapshot()->schema.key_columns;
    if (key_columns.size() != 1) return InvalidArgument("--key: composite keys are not supported here");
    std::optional<arrow::compute::Expression> any;
    for (const auto& k : f.keys) {
      auto scalar = arrow::Scalar::Parse(key_columns[0].type, k);
      if (!scalar.ok()) {
        return InvalidArgument("--key: '", k, "' is not a valid ", key_columns[0].type->ToString(),
                               " (column '", key_columns[0].name, "')");
      }
      auto eq = arrow::compute::equal(arrow::compute::field_ref(key_columns[0].name),
                                      arrow::compute::literal(*scalar));
      any = any ? arrow::compute::or_(*any, eq) : eq;
    }
    o.filter = any;
  }
  o.coalesce = f.coalesce;
  if (f.threads > 0) o.threads = f.threads;
  ARROW_ASSIGN_OR_RAISE(auto view, MakeIntervals(*table, o));
  ARROW_ASSIGN_OR_RAISE(auto reader, view->ToReader());
  return f.result.Write(*reader);
}

}  // namespace

void AddIntervalsCommand(CLI::App& app, Action* run) {
  auto flags = std::make_shared<IntervalsFlags>();
  auto* cmd = app.add_subcommand(
      "intervals",
      "Validity intervals (SCD type 2): one row per key and event, with valid_from (the event's time)\n"
      "and valid_to (the key's next event time, null while current); a tombstone closes an interval\n"
      "and has no row. Rows sorted by key, then valid_from: key column(s), valid_from, valid_to, values.");
  flags->table.Add(cmd);
  cmd->add_option("--start", flags->start,
                  "Keep intervals that end after this event time (inclusive bound of [start, end)). "
                  "Times are returned unclipped");
  cmd->add_option("--end", flags->end, "Keep intervals that begin before this event time (exclusive)");
  cmd->add_option("--version", flags->version, "Read the table as committed at this version (default: current)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--columns", flags->columns, "Comma-separated value columns to return (default: all)");
  cmd->add_option("--key", flags->keys, "Only this key (repeat for several; single-column keys)");
  cmd->add_flag("--coalesce", flags->coalesce,
                "Merge consecutive events whose returned values are equal into one interval");
  flags->result.Add(cmd);
  cmd->add_option("--threads", flags->threads, "Merge threads (default: number of cores)")
      ->check(CLI::PositiveNumber);
  cmd->callback([run, flags] { *run = [flags] { return RunIntervals(*flags); }; });
}

}  // namespace bazof::cli
