// bazof alter: schema evolution and table properties, one commit per change.
#include <iostream>

#include "bazof/alter.h"
#include "bazof/error.h"
#include "cli/commands.h"
#include "metadata/types.h"

namespace bazof::cli {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// "name:type", optionally followed by "not null" (which Alter refuses with
// its reason rather than the parser with a syntax error).
arrow::Result<std::pair<std::string, std::shared_ptr<arrow::DataType>>> ParseColumnArg(
    const std::string& arg, const char* op, bool* not_null) {
  auto colon = arg.find(':');
  if (colon == std::string::npos) return InvalidArgument(op, " '", arg, "': expected name:type");
  std::string name = Trim(arg.substr(0, colon));
  std::string type = Trim(arg.substr(colon + 1));
  std::string lower = type;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string suffix = "not null";
  if (not_null && lower.size() > suffix.size() && lower.ends_with(suffix) &&
      (lower[lower.size() - suffix.size() - 1] == ' ')) {
    *not_null = true;
    type = Trim(type.substr(0, type.size() - suffix.size()));
  }
  auto parsed = metadata::ParseUserTypeName(type);
  if (!parsed.ok()) return InvalidArgument(op, " '", arg, "': ", parsed.status().message());
  return std::make_pair(name, *parsed);
}

arrow::Status RunAlter(const TableFlags& flags, const AlterOp& op) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(flags.path, flags.table, flags.storage_options()));
  ARROW_ASSIGN_OR_RAISE(auto result, Alter(table, op));
  if (result.committed) {
    std::cout << "committed version " << result.version.value() << " (" << DescribeAlterOp(op) << ")" << std::endl;
  } else if (const auto* set = std::get_if<SetProperty>(&op)) {
    std::cout << "property " << set->name << " is already '" << set->value << "'; nothing committed" << std::endl;
  } else if (const auto* unset = std::get_if<UnsetProperty>(&op)) {
    std::cout << "property " << unset->name << " is not set; nothing committed" << std::endl;
  }
  return arrow::Status::OK();
}

}  // namespace

void AddAlterCommand(CLI::App& app, Action* run) {
  struct Flags {
    TableFlags table;
    std::string column, from, to, assignment, name;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "alter",
      "Change a table's schema or properties: one change, one commit. Data files are not\n"
      "rewritten: rows written before read an added column as null, a renamed column under\n"
      "its new name, a widened column in its new type. Scans of older versions keep their\n"
      "version's schema.");
  f->table.Add(cmd);
  cmd->require_subcommand(0, 1);
  // Without an operation, say which ones exist (CLI11's message does not).
  cmd->callback([run, cmd] {
    if (cmd->get_subcommands().empty()) {
      *run = [] {
        return InvalidArgument(
            "alter: name one operation: add-column, drop-column, rename-column, widen-column, "
            "set-property or unset-property (see bazof alter --help)");
      };
    }
  });

  auto add_op = [&](const char* name, const char* help, std::function<arrow::Result<AlterOp>()> make) {
    auto* op = cmd->add_subcommand(name, help);
    op->fallthrough();  // --path / --table may also follow the operation
    op->callback([run, f, make] {
      *run = [f, make]() -> arrow::Status {
        ARROW_ASSIGN_OR_RAISE(auto alter_op, make());
        return RunAlter(f->table, alter_op);
      };
    });
    return op;
  };

  add_op("add-column",
         "Add a nullable value column at the end, with a new column id. Types as in create:\n"
         "string, binary, bool, int8..int64, uint8..uint64, float32, float64, date,\n"
         "timestamp[s|ms|us|ns], decimal(p,s). Rows written before read it as null.",
         [f]() -> arrow::Result<AlterOp> {
           bool not_null = false;
           ARROW_ASSIGN_OR_RAISE(auto parsed, ParseColumnArg(f->column, "add-column", &not_null));
           return AddColumn{parsed.first, parsed.second, !not_null};
         })
      ->add_option("column", f->column, "name:type")
      ->required();
  add_op("drop-column",
         "Remove a value column from the schema (its id is never reused; key and event-time\n"
         "columns cannot be dropped). Scans of older versions still show it.",
         [f]() -> arrow::Result<AlterOp> { return DropColumn{f->name}; })
      ->add_option("name", f->name, "Column to drop")
      ->required();
  auto* rename = add_op("rename-column",
                        "Rename a value column, keeping its id (key and event-time columns cannot be renamed).",
                        [f]() -> arrow::Result<AlterOp> { return RenameColumn{f->from, f->to}; });
  rename->add_option("old", f->from, "Current name")->required();
  rename->add_option("new", f->to, "New name")->required();
  add_op("widen-column",
         "Change a value column to a type that holds every old value exactly: a wider integer\n"
         "(uintN also to a wider signed one), float32 to float64, integers of up to 16 bits to\n"
         "float32 and of up to 32 bits to float64, a decimal with as many or more integer and\n"
         "fraction digits. Older files are converted on read.",
         [f]() -> arrow::Result<AlterOp> {
           ARROW_ASSIGN_OR_RAISE(auto parsed, ParseColumnArg(f->column, "widen-column", nullptr));
           return WidenColumn{parsed.first, parsed.second};
         })
      ->add_option("column", f->column, "name:type (the new type)")
      ->required();
  add_op("set-property",
         "Set a table property (dotted lower case, like compaction.segment_duration=7d).",
         [f]() -> arrow::Result<AlterOp> {
           auto eq = f->assignment.find('=');
           if (eq == std::string::npos) {
             return InvalidArgument("set-property '", f->assignment, "': expected name=value");
           }
           return SetProperty{f->assignment.substr(0, eq), f->assignment.substr(eq + 1)};
         })
      ->add_option("assignment", f->assignment, "name=value")
      ->required();
  add_op("unset-property", "Remove a table property (a known property reverts to its default).",
         [f]() -> arrow::Result<AlterOp> { return UnsetProperty{f->name}; })
      ->add_option("name", f->name, "Property to remove")
      ->required();
}

}  // namespace bazof::cli
