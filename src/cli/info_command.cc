#include <arrow/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/table.h"
#include "cli/commands.h"
#include "metadata/properties.h"
#include "io/storage.h"
#include "metadata/types.h"
#include "util/memory_budget.h"

namespace bazof::cli {
namespace {

using nlohmann::json;

// Legacy snapshots do not record row counts: read them from the footer.
arrow::Result<int64_t> RowCount(io::Storage& storage, const DataFileRef& f) {
  if (f.rows >= 0) return f.rows;
  ARROW_ASSIGN_OR_RAISE(auto input, storage.OpenForRead(f.path));
  auto reader = parquet::arrow::OpenFile(input, arrow::default_memory_pool());
  if (!reader.ok()) {
    return Corruption("data file '", storage.Describe(f.path), "': not a Parquet file (",
                      reader.status().message(), ")");
  }
  return (*reader)->parquet_reader()->metadata()->num_rows();
}

std::string TypeText(const ColumnSpec& c) {
  auto name = metadata::TypeName(*c.type);
  return name.ok() ? *name : c.type->ToString();
}

arrow::Result<json> FileJson(io::Storage& storage, const DataFileRef& f, const char* kind) {
  json j;
  j["kind"] = kind;
  j["file"] = f.path;
  ARROW_ASSIGN_OR_RAISE(j["rows"], RowCount(storage, f));
  if (f.start) j["min_event_time"] = FormatEventTime(*f.start);
  if (f.end) j["max_event_time"] = FormatEventTime(*f.end);
  if (f.version) j[std::string(kind) == "base" ? "built_from_version" : "version"] = f.version->value();
  if (f.size >= 0) j["size"] = f.size;
  if (f.tombstones >= 0) j["tombstones"] = f.tombstones;
  return j;
}

arrow::Result<json> SegmentsJson(io::Storage& storage, const std::vector<Segment>& segs) {
  json arr = json::array();
  for (const auto& s : segs) {
    json j;
    j["id"] = s.id;
    j["start"] = FormatEventTime(s.start);
    j["end"] = s.end ? json(FormatEventTime(*s.end)) : json(nullptr);
    json files = json::array();
    if (s.base) {
      ARROW_ASSIGN_OR_RAISE(auto f, FileJson(storage, *s.base, "base"));
      files.push_back(f);
    }
    for (const auto& d : s.deltas) {
      ARROW_ASSIGN_OR_RAISE(auto f, FileJson(storage, d, "delta"));
      files.push_back(f);
    }
    j["files"] = files;
    if (!s.segments.empty()) {
    ARROW_ASSIGN_OR_RAISE(j["segments"], SegmentsJson(storage, s.segments));
  }
    arr.push_back(j);
  }
  return arr;
}

void PrintSegments(const json& segs, int depth) {
  std::string pad(depth * 2, ' ');
  for (const auto& s : segs) {
    std::cout << pad << "segment " << s["id"].get<std::string>() << "  "
              << s["start"].get<std::string>() << " .. "
              << (s["end"].is_null() ? std::string("(open)") : s["end"].get<std::string>()) << "\n";
    for (const auto& f : s["files"]) {
      std::cout << pad << "  " << f["kind"].get<std::string>() << "  " << f["file"].get<std::string>()
                << "  rows=" << f["rows"].get<int64_t>();
      if (f.contains("min_event_time")) {
        std::cout << "  events=" << f["min_event_time"].get<std::string>() << ".."
                  << f["max_event_time"].get<std::string>();
      }
      if (f.contains("version")) std::cout << "  version=" << f["version"].get<int64_t>();
      if (f.contains("built_from_version")) std::cout << "  built_from=" << f["built_from_version"].get<int64_t>();
      std::cout << "\n";
    }
    if (s.contains("segments")) PrintSegments(s["segments"], depth + 1);
  }
}

/// Rows in the answer of scan(latest) at `version`: the scan is run, reading
/// only the key and event-time columns.
arrow::Result<int64_t> LatestAnswerRows(const Table& table, Version version) {
  ARROW_ASSIGN_OR_RAISE(auto scan, table.NewScan().AtVersion(version).Columns({}).Build());
  ARROW_ASSIGN_OR_RAISE(auto reader, scan->ToReader());
  int64_t rows = 0;
  for (;;) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
    if (!batch) return rows;
    rows += batch->num_rows();
  }
}

/// Rows of the files a scan reads (`paths`, as Scan::files() names them):
/// from the snapshot's row counts, or the footers of legacy files.
arrow::Result<int64_t> RowsRead(io::Storage& storage, const Snapshot& snap, const std::vector<std::string>& paths) {
  std::map<std::string, const DataFileRef*> by_path;
  std::function<void(const std::vector<Segment>&)> walk = [&](const std::vector<Segment>& segs) {
    for (const auto& s : segs) {
      if (s.base) by_path[s.base->path] = &*s.base;
      for (const auto& d : s.deltas) by_path[d.path] = &d;
      walk(s.segments);
    }
  };
  walk(snap.segments);
  int64_t rows = 0;
  for (const auto& p : paths) {
    auto it = by_path.find(p);
    if (it == by_path.end()) return -1;  // not a file of the snapshot's tree: unknown
    ARROW_ASSIGN_OR_RAISE(int64_t n, RowCount(storage, *it->second));
    rows += n;
  }
  return rows;
}

/// The Python interpreter that runs bazof.plot: $BAZOF_PYTHON, else the one
/// installed beside this executable (pip installs the CLI next to it), else
/// the one this executable was built with (the project's .venv, for
/// build/bazof), else python3 on PATH.
std::string PlotPython() {
  if (const char* env = std::getenv("BAZOF_PYTHON"); env && *env) return env;
  auto runnable = [](const std::filesystem::path& p) {
    std::error_code ec;
    // A file, not build/python (a directory) beside build/bazof.
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const char* name : {"python3", "python"}) {
      auto candidate = exe.parent_path() / name;
      if (runnable(candidate)) return candidate.string();
    }
  }
#ifdef BAZOF_BUILD_PYTHON
  if (std::string built = BAZOF_BUILD_PYTHON; !built.empty() && runnable(built)) return built;
#endif
  return "python3";
}

/// Draws the table (its info JSON) into `out` (.png or .svg) by running
/// `python -m bazof.plot`; its one-line error becomes ours.
arrow::Status Plot(const json& info, const std::string& out) {
  auto ext = std::filesystem::path(out).extension().string();
  if (ext != ".png" && ext != ".svg") {
    return InvalidArgument("--plot '", out, "': expected a .png or .svg file name");
  }
  auto dir = std::filesystem::temp_directory_path();
  std::string in_path = (dir / "bazof-info-XXXXXX").string();
  int fd = ::mkstemp(in_path.data());
  if (fd < 0) return arrow::Status::IOError("--plot: cannot create a temporary file in ", dir.string());
  ::close(fd);
  std::string err_path = in_path + ".err";
  struct Cleanup {
    std::string a, b;
    ~Cleanup() {
      std::remove(a.c_str());
      std::remove(b.c_str());
    }
  } cleanup{in_path, err_path};
  {
    std::ofstream f(in_path);
    f << info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!f) return arrow::Status::IOError("--plot: cannot write ", in_path);
  }
  std::string python = PlotPython();
  std::vector<std::string> args = {python, "-m", "bazof.plot", "--info", in_path, out};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return InvalidArgument("--plot needs Python with bazof and matplotlib: cannot run '", python,
                           "' (set BAZOF_PYTHON)");
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return arrow::Status::OK();
  std::ifstream errors(err_path);
  std::string line, last;
  while (std::getline(errors, line)) {
    if (!line.empty()) last = line;
  }
  if (last.rfind("bazof.plot: ", 0) == 0) last = last.substr(12);
  if (last.find("No module named bazof") != std::string::npos ||
      last.find("No module named 'bazof'") != std::string::npos) {
    last = "'" + python + "' has no bazof package (set BAZOF_PYTHON to the Python bazof is installed in)";
  }
  return InvalidArgument("--plot '", out, "': ", last.empty() ? std::string("the plot failed") : last);
}

arrow::Status RunInfo(const TableFlags& flags, int64_t version, const std::string& format,
                      const std::string& plot) {
  if (format != "table" && format != "json") {
    return InvalidArgument("--format '", format, "': expected table or json");
  }
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(flags.path, flags.table, flags.storage_options()));
  std::shared_ptr<const Snapshot> snap = table->current_snapshot();
  if (version >= 0) {
    ARROW_ASSIGN_OR_RAISE(snap, table->SnapshotAt(Version(version)));
  }
  auto& storage = *table->storage();

  json info;
  info["table"] = table->location();
  info["format_version"] = snap->format_version;
  info["current_version"] = table->current_version().value();
  info["version"] = snap->version.value();
  json cols = json::array();
  auto add = [&](const ColumnSpec& c, const char* role) {
    cols.push_back({{"name", c.name}, {"type", TypeText(c)}, {"role", role}, {"id", c.id}});
  };
  for (const auto& k : snap->schema.key_columns) add(k, "key");
  add(snap->schema.event_time, "event_time");
  for (const auto& v : snap->schema.value_columns) add(v, "value");
  info["schema"] = cols;
  if (snap->commit) {
    info["commit"] = {{"operation", snap->commit->operation}, {"timestamp", snap->commit->timestamp},
                      {"rows_added", snap->commit->rows_added}};
    if (!snap->commit->description.empty()) info["commit"]["description"] = snap->commit->description;
  }
  {
    // The timeline (docs/spec.md, "Completeness watermark", "History horizon").
    json tl;
    tl["watermark"] = snap->watermark ? json(FormatEventTime(*snap->watermark)) : json(nullptr);
    tl["horizon"] = snap->horizon ? json(FormatEventTime(*snap->horizon)) : json(nullptr);
    const LatenessProfile& p = snap->lateness;
    json late = {{"count", p.count}, {"max_lateness_us", p.max_us}};
    for (auto [name, q] : {std::pair{"p50_lateness_us", 0.5}, std::pair{"p90_lateness_us", 0.9},
                           std::pair{"p99_lateness_us", 0.99}}) {
      late[name] = p.Quantile(q);
    }
    json buckets = json::array();
    for (size_t i = 0; i < kLatenessBuckets; ++i) {
      json b;
      b["le_us"] = i + 1 < kLatenessBuckets ? json(kLatenessBucketBounds[i]) : json(nullptr);
      b["count"] = i < p.buckets.size() ? p.buckets[i] : 0;
      buckets.push_back(b);
    }
    late["buckets"] = buckets;
    tl["late_events"] = late;
    info["timeline"] = tl;
  }
  info["properties"] = json::object();
  for (const auto& [name, value] : snap->properties) info["properties"][name] = value;
  ARROW_ASSIGN_OR_RAISE(info["segments"], SegmentsJson(storage, snap->segments));
  ARROW_ASSIGN_OR_RAISE(auto latest, table->NewScan().AtVersion(snap->version).Build());
  info["latest_scan_files"] = latest->files();
  ARROW_ASSIGN_OR_RAISE(auto cost, LatestReadCost(*snap));
  // Read amplification by rows actually read: the rows a latest scan decodes
  // (every row of the files it reads) over the rows of its answer.
  ARROW_ASSIGN_OR_RAISE(int64_t answered, LatestAnswerRows(*table, snap->version));
  ARROW_ASSIGN_OR_RAISE(int64_t rows_read, RowsRead(storage, *snap, latest->files()));
  if (rows_read < 0) rows_read = cost.rows;
  double amplification = answered > 0 ? static_cast<double>(rows_read) / static_cast<double>(answered) : 0.0;
  info["latest_scan"] = {{"files", cost.files},
                         {"deltas", cost.deltas},
                         {"bytes", cost.bytes},
                         {"rows", cost.rows},
                         {"rows_read", rows_read},
                         {"rows_answered", answered},
                         {"read_amplification", answered > 0 ? json(amplification) : json(nullptr)},
                         {"largest_file_amplification", cost.read_amplification},
                         {"compaction_advised", cost.compaction_advised},
                         {"reason", cost.reason}};
  // The memory the latest scan above ran under and the peak of Arrow's pool
  // (this process; docs/spec.md, "Memory budget").
  ARROW_ASSIGN_OR_RAISE(int64_t memory_limit, ResolveMemoryLimit(0, snap->properties,
                                                                 "table '" + table->location() + "'"));
  info["memory"] = {{"memory_limit_bytes", memory_limit}, {"peak_memory_bytes", PeakMemoryBytes()}};
  info["time_zone"] = "UTC";

  if (!plot.empty()) {
    ARROW_RETURN_NOT_OK(Plot(info, plot));
    if (format != "json") std::cout << "plot written to " << plot << "\n";
  }

  if (format == "json") {
    std::cout << info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return arrow::Status::OK();
  }
  std::cout << "table:   " << info["table"].get<std::string>() << "\n"
            << "format:  "
            << (snap->format_version == 0 ? std::string("legacy (bazof 0.1 / azof 0.2)")
                                          : std::to_string(snap->format_version))
            << "\n"
            << "version: " << snap->version.value() << " (current " << table->current_version().value()
            << ")\n";
  if (snap->commit) {
    std::cout << "commit:  " << snap->commit->operation << " at " << snap->commit->timestamp << ", "
              << snap->commit->rows_added << " rows";
    if (!snap->commit->description.empty()) std::cout << " (" << snap->commit->description << ")";
    std::cout << "\n";
  }
  std::cout << "schema:\n";
  for (const auto& c : cols) {
    std::cout << "  " << c["name"].get<std::string>() << "  " << c["type"].get<std::string>() << "  ("
              << c["role"].get<std::string>() << ")\n";
  }
  std::cout << "watermark: " << (snap->watermark ? FormatEventTime(*snap->watermark) : std::string("(none)"))
            << "\n";
  if (snap->horizon) std::cout << "horizon: " << FormatEventTime(*snap->horizon) << " (scans before it are refused)\n";
  if (snap->lateness.count > 0) {
    const LatenessProfile& p = snap->lateness;
    std::cout << "late events: " << p.count << " arrived behind the watermark; lateness max "
              << metadata::FormatDuration(p.max_us) << ", p50 <= " << metadata::FormatDuration(p.Quantile(0.5))
              << ", p90 <= " << metadata::FormatDuration(p.Quantile(0.9))
              << ", p99 <= " << metadata::FormatDuration(p.Quantile(0.99)) << "\n";
  } else if (snap->watermark) {
    std::cout << "late events: none\n";
  }
  std::cout << "properties:" << (snap->properties.empty() ? " (none)" : "") << "\n";
  for (const auto& [name, value] : snap->properties) std::cout << "  " << name << " = " << value << "\n";
  std::cout << "memory:  budget " << memory_limit << " bytes (memory.limit); the latest scan's pool peak "
            << info["memory"]["peak_memory_bytes"].get<int64_t>() << " bytes\n";
  std::cout << "segments:\n";
  PrintSegments(info["segments"], 1);
  char amp[32], largest[32];
  std::snprintf(amp, sizeof(amp), "%.2f", amplification);
  std::snprintf(largest, sizeof(largest), "%.1f", cost.read_amplification);
  std::cout << "a latest scan reads " << cost.files << " file(s): " << cost.deltas << " delta(s), "
            << cost.bytes << " bytes, " << rows_read << " rows for an answer of " << answered << " rows\n"
            << "read amplification " << (answered > 0 ? std::string(amp) : std::string("n/a (empty answer)"))
            << " (rows read / rows answered); " << largest << "x the rows of its largest file\n"
            << "times are UTC (ISO-8601, Z)\n";
  if (cost.compaction_advised) {
    std::cout << "hint: compaction would help: " << cost.reason << "; run: bazof compact "
              << table->location() << "\n";
  }
  return arrow::Status::OK();
}

}  // namespace

void AddInfoCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    int64_t version = -1;
    std::string format = "table";
    std::string plot;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "info",
      "Show a table's format, versions, schema, segments and files (rows, event-time ranges), and what a\n"
      "latest scan costs. Read amplification = rows a latest scan decodes (every row of the files it\n"
      "reads) / rows in its answer (measured by running the scan over keys and event times only).\n"
      "Times are UTC, ISO-8601 with 'Z'.");
  flags->table.Add(cmd);
  cmd->add_option("--version", flags->version, "Describe this version (default: current)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--format", flags->format, "table (default) or json");
  cmd->add_option("--plot", flags->plot,
                  "Also draw the segments, bases and deltas on an event-time axis, labelled with their\n"
                  "commit versions, into FILE (.png or .svg). Needs Python with bazof and matplotlib\n"
                  "(pip install 'bazof[plot]'); the Python beside this executable, or $BAZOF_PYTHON");
  cmd->callback([run, flags] {
    *run = [flags] { return RunInfo(flags->table, flags->version, flags->format, flags->plot); };
  });
}

}  // namespace bazof::cli
