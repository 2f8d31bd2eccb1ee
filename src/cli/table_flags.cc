// How every CLI command names its table: one positional URI, or --path and
// --table (docs/spec.md, "Command line").
#include <arrow/memory_pool.h>

#include <filesystem>
#include <string_view>

#include "bazof/error.h"
#include "bazof/inspect.h"
#include "cli/commands.h"
#include "util/byte_size.h"
#include "util/memory_budget.h"

namespace bazof::cli {
namespace {

// The commands with table flags, in registration order. The flags live as
// long as the CLI::App (they are owned by its callbacks).
std::vector<std::pair<CLI::App*, TableFlags*>>& Registry() {
  static std::vector<std::pair<CLI::App*, TableFlags*>> registry;
  return registry;
}

bool IsObjectStoreUri(std::string_view s) {
  return s.find("://") != std::string_view::npos && s.substr(0, 7) != "file://";
}

// One spelling per location, so that "lake", "./lake/" and
// "file:///abs/lake" compare equal when they are the same directory.
std::string Canonical(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (IsObjectStoreUri(s)) return s;
  if (s.substr(0, 7) == "file://") s = s.substr(7);
  std::error_code ec;
  auto abs = std::filesystem::absolute(s, ec);
  if (ec) return s;
  std::string out = abs.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

arrow::Result<std::pair<std::string, std::string>> SplitTableUri(const std::string& uri) {
  if (uri.empty()) return InvalidArgument("table URI is empty");
  const bool is_uri = uri.find("://") != std::string::npos;
  std::string stripped = uri;
  while (!stripped.empty() && stripped.back() == '/') stripped.pop_back();
  if (stripped.empty()) stripped = "/";
  const size_t slash = stripped.rfind('/');
  std::string location = slash == std::string::npos ? "" : stripped.substr(0, slash);
  std::string name = slash == std::string::npos ? stripped : stripped.substr(slash + 1);
  const bool scheme_only = is_uri && location.size() >= 2 && location.compare(location.size() - 2, 2, ":/") == 0;
  if (name.empty() || scheme_only) {
    return InvalidArgument("table URI '", uri, "' does not name a table directory (e.g. lake/stocks or ",
                           "s3://bucket/lake/stocks)");
  }
  if (location.empty()) location = stripped[0] == '/' ? "/" : ".";
  return std::make_pair(std::move(location), std::move(name));
}

void TableFlags::Add(CLI::App* cmd) {
  cmd->add_option("table_uri", uri,
                  "The table: a directory (lake/stocks), file:///... or s3://bucket/prefix/table\n"
                  "(or give --path and --table)");
  cmd->add_option("--path", path, "Directory or URI (file://, s3://bucket/prefix) holding the table");
  cmd->add_option("--table", table, "Table name (a directory under --path)");
  cmd->add_option("--s3-endpoint", s3_endpoint,
                  "S3-compatible server, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL_S3, "
                  "AWS_ENDPOINT_URL, else AWS)");
  cmd->add_option("--s3-region", s3_region, "S3 region (default: AWS_REGION, AWS_DEFAULT_REGION)");
  cmd->add_option("--s3-option", s3_options,
                  "S3 option KEY=VALUE, repeatable: anonymous, conditional_writes, max_attempts, "
                  "connect_timeout, request_timeout, scheme, session_token, ...");
  Registry().emplace_back(cmd, this);
}

arrow::Status TableFlags::Resolve() {
  const bool flags_name_it = !path.empty() && !table.empty();
  if (uri.empty()) {
    if (flags_name_it) return arrow::Status::OK();
    if (!path.empty()) return InvalidArgument("--path '", path, "' needs --table NAME (or give the table URI: ", path, "/NAME)");
    if (!table.empty()) return InvalidArgument("--table '", table, "' needs --path DIR (or give the table URI: DIR/", table, ")");
    return InvalidArgument("no table given: name it by URI (e.g. lake/stocks or s3://bucket/lake/stocks) "
                           "or by --path DIR --table NAME");
  }
  auto split = SplitTableUri(uri);
  const bool agrees = split.ok() && (table.empty() || table == split->second) &&
                      (path.empty() || Canonical(path) == Canonical(split->first));
  if (!agrees && flags_name_it && claim && claim(uri)) {
    uri.clear();
    return arrow::Status::OK();
  }
  ARROW_RETURN_NOT_OK(split.status());
  if (!agrees) {
    return InvalidArgument("table URI '", uri, "' names table '", split->second, "' under '", split->first,
                           "', but --path '", path.empty() ? split->first : path, "' --table '",
                           table.empty() ? split->second : table, "' name another: give one of them");
  }
  path = split->first;
  table = split->second;
  return arrow::Status::OK();
}

void CommitTimeFlag::Add(CLI::App* cmd, CLI::Option* version) {
  auto* opt = cmd->add_option("--as-of-commit", time,
                              "Read the latest version committed at or before this wall-clock time\n"
                              "(ISO-8601; no zone = UTC): commit-time travel, instead of --version");
  if (version) opt->excludes(version);
}

arrow::Result<int64_t> CommitTimeFlag::Resolve(const Table& table, int64_t version) const {
  if (!time) return version;
  ARROW_ASSIGN_OR_RAISE(auto t, ParseCommitTime(*time, "--as-of-commit"));
  ARROW_ASSIGN_OR_RAISE(auto v, VersionAtCommitTime(table, t));
  return v.value();
}

arrow::Status ResolveTableFlags() {
  for (auto& [cmd, flags] : Registry()) {
    if (cmd->parsed()) ARROW_RETURN_NOT_OK(flags->Resolve());
  }
  return arrow::Status::OK();
}

arrow::Result<int64_t> ParseMemoryLimitFlag(const std::string& text) {
  return ParseMemoryLimit(text, "--memory-limit");
}

std::string MemoryStatsJson(int64_t limit) {
  return "{\"memory_limit_bytes\":" + std::to_string(limit) + ",\"peak_memory_bytes\":" +
         std::to_string(PeakMemoryBytes()) + ",\"allocator\":\"" + arrow::default_memory_pool()->backend_name() +
         "\"}";
}

}  // namespace bazof::cli
