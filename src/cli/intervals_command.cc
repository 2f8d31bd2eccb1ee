// bazof intervals: validity intervals (SCD type 2), include/bazof/views.h.
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <optional>

#include "bazof/error.h"
#include "bazof/views.h"
#include "cli/commands.h"
#include "metadata/key_text.h"
#include "cli/output.h"

namespace bazof::cli {
namespace {

struct IntervalsFlags {
  TableFlags table;
  std::optional<std::string> start, end;
  int64_t version = -1;
  CommitTimeFlag as_of_commit;
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
  ARROW_ASSIGN_OR_RAISE(int64_t version, f.as_of_commit.Resolve(*table, f.version));
  if (version >= 0) o.version = Version(version);
  if (!f.columns.empty()) o.columns = SplitCommas(f.columns);
  if (!f.keys.empty()) {
    const auto& schema = table->current_snapshot()->schema;
    const auto& key_columns = schema.key_columns;
    std::optional<arrow::compute::Expression> any;
    for (const auto& k : f.keys) {
      // As scan reads --key: a single-column key's value is taken whole.
      const bool whole = key_columns.size() == 1 && k.rfind(key_columns[0].name + "=", 0) != 0;
      auto pairs = whole ? std::vector<std::pair<std::string, std::string>>{{"", k}} : ParseKeyArg(k);
      ARROW_ASSIGN_OR_RAISE(auto texts, metadata::KeyTexts(schema, pairs));
      std::optional<arrow::compute::Expression> all;
      for (size_t c = 0; c < texts.size(); ++c) {
        auto scalar = arrow::Scalar::Parse(key_columns[c].type, texts[c]);
        if (!scalar.ok()) {
          return InvalidArgument("--key: '", texts[c], "' is not a valid ", key_columns[c].type->ToString(),
                                 " (column '", key_columns[c].name, "')");
        }
        auto eq = arrow::compute::equal(arrow::compute::field_ref(key_columns[c].name),
                                        arrow::compute::literal(*scalar));
        all = all ? arrow::compute::and_(*all, eq) : eq;
      }
      any = any ? arrow::compute::or_(*any, *all) : *all;
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
  auto* version =
      cmd->add_option("--version", flags->version, "Read the table as committed at this version (default: current)")
          ->check(CLI::NonNegativeNumber);
  flags->as_of_commit.Add(cmd, version);
  cmd->add_option("--columns", flags->columns, "Comma-separated value columns to return (default: all)");
  cmd->add_option("--key", flags->keys,
                  "Only this key: K, or col=value,col=value for a composite key (repeat for several)");
  cmd->add_flag("--coalesce", flags->coalesce,
                "Merge consecutive events whose returned values are equal into one interval");
  flags->result.Add(cmd);
  cmd->add_option("--threads", flags->threads, "Merge threads (default: number of cores)")
      ->check(CLI::PositiveNumber);
  cmd->callback([run, flags] { *run = [flags] { return RunIntervals(*flags); }; });
}

}  // namespace bazof::cli
