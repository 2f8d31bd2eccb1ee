// bazof create, append, put, delete.
#include <iostream>
#include <optional>

#include "bazof/error.h"
#include "bazof/result_json.h"
#include "bazof/write.h"
#include "cli/commands.h"
#include "cli/delete_where.h"
#include "cli/progress_bar.h"
#include "util/byte_size.h"
#include "write/input_reader.h"

namespace bazof::cli {
namespace {

void PrintCommit(const CommitResult& r, const std::string& source) {
  if (!r.committed) {
    std::cout << "no rows in " << source << "; nothing committed" << std::endl;
  } else {
    std::cout << "committed version " << r.version.value() << " (" << r.rows << (r.rows == 1 ? " row" : " rows")
              << ")" << std::endl;
    if (r.compacted_version) {
      std::cout << "compacted into version " << r.compacted_version->value() << " (compaction.auto)" << std::endl;
    }
    if (!r.auto_compaction_error.empty()) {
      std::cerr << "bazof: warning: automatic compaction failed (the write is committed): "
                << r.auto_compaction_error << std::endl;
    }
  }
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

}  // namespace

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t next = s.find(',', pos);
    if (next == std::string::npos) next = s.size();
    out.push_back(s.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseKeyArg(const std::string& arg) {
  // col=value,col=value when every comma-separated part is col=value;
  // otherwise the whole argument is one part (a value may hold commas).
  std::vector<std::pair<std::string, std::string>> parts;
  for (const auto& part : SplitCommas(arg)) {
    auto eq = part.find('=');
    if (eq == std::string::npos || !IsIdentifier(std::string_view(part).substr(0, eq))) {
      parts.clear();
      break;
    }
    parts.emplace_back(part.substr(0, eq), part.substr(eq + 1));
  }
  if (!parts.empty()) return parts;
  // One column named, its value holding ',' (col=a,b), or a bare value.
  auto eq = arg.find('=');
  if (eq != std::string::npos && IsIdentifier(std::string_view(arg).substr(0, eq))) {
    return {{arg.substr(0, eq), arg.substr(eq + 1)}};
  }
  return {{"", arg}};
}

std::vector<std::pair<std::string, std::string>> ParseKeyArgs(const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& a : args) {
    for (auto& part : ParseKeyArg(a)) out.push_back(std::move(part));
  }
  return out;
}

std::vector<std::vector<std::pair<std::string, std::string>>> KeyArgs(const Table& table,
                                                                      const std::vector<std::string>& args) {
  std::vector<std::vector<std::pair<std::string, std::string>>> keys;
  const auto& key_columns = table.current_snapshot()->schema.key_columns;
  for (const auto& k : args) {
    const bool whole = key_columns.size() == 1 && k.rfind(key_columns[0].name + "=", 0) != 0;
    keys.push_back(whole ? std::vector<std::pair<std::string, std::string>>{{"", k}} : ParseKeyArg(k));
  }
  return keys;
}

void AddCreateCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    std::string schema;
    std::string key = "key";
    std::string event_time = "event_time";
    std::vector<std::string> properties;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("create", "Create an empty table (version 0).");
  f->table.Add(cmd);
  cmd->add_option("--schema", f->schema,
                  "Columns as name:type,... Types: string, binary, bool, int8..int64, uint8..uint64, "
                  "float32, float64, date, timestamp (=timestamp[us]), timestamp[s|ms|us|ns], decimal(p,s). "
                  "Key and event-time columns may be listed; otherwise added as string / timestamp[ms]")
      ->required();
  cmd->add_option("--key", f->key, "Key column(s), comma-separated")->capture_default_str();
  cmd->add_option("--event-time", f->event_time, "Event-time column")->capture_default_str();
  cmd->add_option("--property", f->properties,
                  "Table property name=value, like write.row_group_rows=4096 (repeatable; as alter\n"
                  "set-property checks it; docs/spec.md lists the properties)");
  cmd->callback([run, f] {
    *run = [f]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto schema, ParseSchemaSpec(f->schema, SplitCommas(f->key), f->event_time));
      std::map<std::string, std::string> properties;
      for (const auto& assignment : f->properties) {
        const auto eq = assignment.find('=');
        if (eq == std::string::npos || eq == 0) {
          return InvalidArgument("--property '", assignment, "': expected name=value");
        }
        const std::string name = assignment.substr(0, eq);
        if (properties.count(name)) return InvalidArgument("--property: '", name, "' is given twice");
        properties[name] = assignment.substr(eq + 1);
      }
      ARROW_ASSIGN_OR_RAISE(auto table, CreateTable(f->table.path, f->table.table, schema,
                                                    f->table.storage_options(), properties));
      std::cout << "created " << table->location() << " (version 0)" << std::endl;
      return arrow::Status::OK();
    };
  });
}

void AddAppendCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    std::string input;
    std::string format;
    std::optional<std::string> watermark;
    std::string delimiter = ",";
    std::vector<std::string> timestamp_formats;
    std::vector<std::string> null_values;
    CLI::Option* null_values_option = nullptr;
    ProgressFlags progress;
    std::string memory_limit;
    std::string spill_dir;
    std::string output = "table";
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "append",
      "Append the rows of a file as one commit. Columns are matched by name; the key and\n"
      "event-time columns are required; a boolean column _deleted marks tombstones.\n"
      "Rows with equal (key, event time) are kept and the later one wins. An empty input\n"
      "commits nothing (unless --watermark is given).");
  f->table.Add(cmd);
  cmd->add_option("--input", f->input,
                  "CSV (with header), Parquet or JSON Lines file; - reads standard input (with\n"
                  "--input-format; standard input is first copied to an unnamed file in --spill-dir)")
      ->required();
  cmd->add_option("--input-format", f->format, "csv, parquet or jsonl (default: from the extension)");
  cmd->add_option("--csv-delimiter", f->delimiter, "CSV field delimiter: one character, or tab (default ,)");
  cmd->add_option("--timestamp-format", f->timestamp_formats,
                  "strptime format of timestamp text not in ISO-8601, e.g. '%d/%m/%Y %H:%M' (repeatable,\n"
                  "tried in order after ISO-8601; no zone = UTC; csv and jsonl)");
  f->null_values_option = cmd->add_option("--null-values", f->null_values,
                  "CSV null markers, comma-separated, e.g. NA,null (they replace the default, under which\n"
                  "only an empty field is null; --null-values '' keeps that, --null-values none has no\n"
                  "null marker)")
      ->delimiter(',');
  cmd->add_option("--watermark", f->watermark,
                  "Advance the completeness watermark to this event time in the same commit "
                  "(never backwards)");
  f->progress.Add(cmd);
  cmd->add_option("--memory-limit", f->memory_limit,
                  "Memory budget of the append, e.g. 512MiB, 2GiB, 1GB (default: the table property\n"
                  "memory.limit, else 512MiB; at least 32MiB). An input larger than about a quarter of it is\n"
                  "sorted in runs spilled to --spill-dir and merged, with the same result");
  cmd->add_option("--spill-dir", f->spill_dir,
                  "Local directory for the sorted runs of a large input (default: $TMPDIR, else /tmp;\n"
                  "also for tables on S3); the files have no name there and vanish when the append ends");
  cmd->add_option("--format", f->output,
                  "table (default) or json (one object: version, rows, files, spilled_runs, spilled_bytes,\n"
                  "merge_passes, memory_limit_bytes and peak_memory_bytes, the peak of Arrow's memory pool)");
  cmd->callback([run, f] {
    *run = [f]() -> arrow::Status {
      if (f->output != "table" && f->output != "json") {
        return InvalidArgument("--format '", f->output, "': expected table or json");
      }
      AppendOptions options;
      if (!f->memory_limit.empty()) {
        ARROW_ASSIGN_OR_RAISE(options.memory_limit_bytes, ParseMemoryLimitFlag(f->memory_limit));
      }
      options.spill_dir = f->spill_dir;
      ARROW_ASSIGN_OR_RAISE(auto format, write::ResolveInputFormat(f->format, f->input));
      ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f->table.path, f->table.table, f->table.storage_options()));
      write::InputOptions input_options;
      if (f->delimiter == "tab" || f->delimiter == "\\t") f->delimiter = "\t";
      if (f->delimiter.size() != 1 || f->delimiter == "\n" || f->delimiter == "\r" || f->delimiter == "\"") {
        return InvalidArgument("--csv-delimiter '", f->delimiter, "': expected one character (or tab)");
      }
      input_options.csv_delimiter = f->delimiter[0];
      input_options.timestamp_formats = f->timestamp_formats;
      input_options.spill_dir = f->spill_dir;
      if (f->null_values_option->count() > 0) {
        input_options.null_values = f->null_values;
        if (f->null_values.empty()) input_options.null_values = std::vector<std::string>{""};
        if (f->null_values == std::vector<std::string>{"none"}) input_options.null_values->clear();
      }
      // The bar follows the input (bytes of a text file, rows of a Parquet
      // file), which the append consumes as it sorts and writes.
      input_options.progress = f->progress.Callback("append");
      ARROW_ASSIGN_OR_RAISE(auto input,
                            write::OpenInput(f->input, format, table->current_snapshot()->schema, input_options));
      options.source = f->input == "-" ? std::string("standard input") : "input '" + f->input + "'";
      if (f->watermark) {
        ARROW_ASSIGN_OR_RAISE(options.watermark, ParseEventTime(*f->watermark, "--watermark"));
      }
      ARROW_ASSIGN_OR_RAISE(auto result, Append(table, *input, options));
      if (f->output == "json") {
        std::cout << ToJson(result, table->location()) << std::endl;
      } else {
        PrintCommit(result, f->input);
      }
      return arrow::Status::OK();
    };
  });
}

void AddPutCommands(CLI::App& app, Action* run) {
  for (bool deleted : {false, true}) {
    struct Flags {
      TableFlags table;
      std::vector<std::string> key;
      std::string event_time;
      std::vector<std::string> values;
      bool partial = false;
      bool strict = false;
      std::string format = "table";
      DeleteWhereFlags where;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd = deleted ? app.add_subcommand("delete", "Delete a key from an event time on (one commit).")
                        : app.add_subcommand("put",
                                             "Set a key's values from an event time on (one commit). Give "
                                             "every value column as col=value, or --partial to give some and "
                                             "carry the others forward from the key's state at that event "
                                             "time (null where it has none, or is deleted). A put with no "
                                             "value is refused.");
    f->table.Add(cmd);
    auto* key = cmd->add_option("--key", f->key, kKeyHelp);
    cmd->add_option("--event-time", f->event_time, "When it happened (ISO-8601; no zone = UTC)")->required();
    if (!deleted) key->required();
    if (!deleted) {
      cmd->add_option("values", f->values, "col=value ... (every value column, unless --partial)");
      // With --path/--table, the first col=value lands in the table URI's place.
      // A raw pointer: the flags own the claim (no cycle).
      f->table.claim = [values = &f->values](const std::string& text) {
        if (text.find('=') == std::string::npos) return false;
        values->insert(values->begin(), text);
        return true;
      };
      cmd->add_flag("--partial", f->partial,
                    "Partial put: value columns not given keep the key's values as of --event-time "
                    "(at the latest version); null where the key has no state there or is deleted");
    } else {
      cmd->add_flag("--strict", f->strict,
                    "Refuse to delete a key that has no event at any time (by default such a delete "
                    "is committed with a warning on stderr)");
      cmd->add_option("--format", f->format, "table (default) or json (with key_had_no_events and warning)");
      cmd->add_option("--where", f->where.where,
                      "Predicate delete instead of --key: a tombstone at --event-time for every key whose "
                      "state then matches 'column OP value' (OP: = != < <= > >=; repeat to join with and)")
          ->excludes(key);
      cmd->add_flag("--dry-run", f->where.dry_run, "With --where: list the matching keys; commit nothing");
    }
    cmd->callback([run, f, deleted] {
      *run = [f, deleted]() -> arrow::Status {
        if (deleted && !f->where.where.empty()) {
          ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f->table.path, f->table.table, f->table.storage_options()));
          f->where.event_time = f->event_time;
          f->where.format = f->format;
          return RunDeleteWhere(table, f->where);
        }
        if (f->key.empty()) return InvalidArgument("--key is required (or, for delete, --where)");
        if (f->where.dry_run) return InvalidArgument("--dry-run needs --where");
        PutRequest req;
        req.key = ParseKeyArgs(f->key);
        req.event_time = f->event_time;
        req.deleted = deleted;
        req.partial = f->partial;
        req.strict = f->strict;
        if (f->format != "table" && f->format != "json") {
          return InvalidArgument("--format '", f->format, "': expected table or json");
        }
        for (const auto& v : f->values) {
          auto eq = v.find('=');
          if (eq == std::string::npos || eq == 0) return InvalidArgument("'", v, "' is not col=value");
          req.values.emplace_back(v.substr(0, eq), v.substr(eq + 1));
        }
        ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(f->table.path, f->table.table, f->table.storage_options()));
        ARROW_ASSIGN_OR_RAISE(auto result, Put(table, req));
        if (!result.warning.empty()) std::cerr << "bazof: warning: " << result.warning << std::endl;
        if (f->format == "json") {
          std::cout << ToJson(result, table->location()) << std::endl;
        } else {
          PrintCommit(result, deleted ? "delete" : "put");
        }
        return arrow::Status::OK();
      };
    });
  }
}

}  // namespace bazof::cli
