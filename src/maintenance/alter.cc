// bazof alter: one schema or property change per commit (docs/spec.md §12.1).
//
//   read s<N> ──validate the change against s<N>──▶ s<N+1>: same files, new schema / properties
//   s<N+1> exists (kConflict) ──▶ re-read s<M>, validate again against its schema ──▶ s<M+1>
//   the change no longer fits s<M> (a concurrent alter) ──▶ kConflict
//
// No data file is written or rewritten: readers adapt old files to the new
// schema (missing columns are null, renamed ones match by id, widened ones
// are cast exactly).
#include "bazof/alter.h"

#include <arrow/type.h>
#include <arrow/type_traits.h>

#include <chrono>
#include <limits>
#include <thread>

#include "bazof/error.h"
#include "text_escape.h"
#include "io/storage.h"
#include "metadata/column_name.h"
#include "metadata/properties.h"
#include "metadata/types.h"
#include "write/commit.h"

namespace bazof {
namespace {

std::string TypeText(const arrow::DataType& t) { return metadata::TypeName(t).ValueOr(t.ToString()); }

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// The types a column may widen to, for messages.
std::string WideningsOf(const arrow::DataType& from) {
  if (from.id() == arrow::Type::DECIMAL128) {
    return "a decimal with at least as many integer digits and at least as many fraction digits";
  }
  std::string out;
  for (const char* name : {"int16", "int32", "int64", "uint16", "uint32", "uint64", "float32", "float64"}) {
    auto t = metadata::ParseTypeName(name).ValueOrDie();
    if (metadata::IsExactWidening(from, *t)) out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out;
}

// Why changing a column from `from` to `to` is not a widening.
std::string WhyNotWidening(const arrow::DataType& from, const arrow::DataType& to) {
  const std::string f = TypeText(from), t = TypeText(to);
  std::string why;
  if (metadata::IsExactWidening(to, from)) {
    why = f + " to " + t + " narrows the type";
  } else if (arrow::is_integer(from.id()) && arrow::is_floating(to.id())) {
    why = "not every " + f + " value is exact in " + t;
  } else if (arrow::is_integer(from.id()) && arrow::is_integer(to.id())) {
    why = "not every " + f + " value fits in " + t;
  } else if (from.id() == arrow::Type::DECIMAL128 && to.id() == arrow::Type::DECIMAL128) {
    why = f + " to " + t + " loses integer or fraction digits";
  } else {
    why = f + " to " + t + " is not a widening";
  }
  const std::string allowed = WideningsOf(from);
  return why + (allowed.empty() ? " (" + f + " has no widening)" : " (" + f + " widens to " + allowed + ")");
}

class Alteration {
 public:
  explicit Alteration(std::string table) : table_(std::move(table)) {}

  // Applies `op` to `next` (a copy of the base snapshot). Returns false when
  // the change changes nothing (properties only).
  arrow::Result<bool> Apply(const AlterOp& op, Snapshot* next) const {
    TableSchema& s = next->schema;
    if (const auto* add = std::get_if<AddColumn>(&op)) {
      const std::string what = "add column " + Quoted(add->name);
      ARROW_RETURN_NOT_OK(CheckNewName(s, add->name, what));
      if (!add->type) return Refuse(what, "no type given");
      auto name = metadata::TypeName(*add->type);
      if (!name.ok()) return Refuse(what, name.status().message());
      if (!add->nullable) {
        return Refuse(what + " as not null",
                      "rows written before it have no value, so an added column is nullable");
      }
      if (s.next_column_id == std::numeric_limits<int32_t>::max()) return Refuse(what, "no column ids are left");
      ColumnSpec c;
      c.name = add->name;
      c.id = s.next_column_id++;
      ARROW_ASSIGN_OR_RAISE(c.type, metadata::ParseTypeName(*name));  // the format's own spelling
      c.nullable = true;
      s.value_columns.push_back(std::move(c));
      return true;
    }
    if (const auto* drop = std::get_if<DropColumn>(&op)) {
      ARROW_ASSIGN_OR_RAISE(int i, ValueColumn(s, drop->name, "drop"));
      s.value_columns.erase(s.value_columns.begin() + i);
      return true;
    }
    if (const auto* rename = std::get_if<RenameColumn>(&op)) {
      ARROW_ASSIGN_OR_RAISE(int i, ValueColumn(s, rename->from, "rename"));
      const std::string what = "rename column " + Quoted(rename->from) + " to " + Quoted(rename->to);
      if (rename->from == rename->to) return Refuse(what, "the column already has that name");
      ARROW_RETURN_NOT_OK(CheckNewName(s, rename->to, what));
      s.value_columns[i].name = rename->to;
      return true;
    }
    if (const auto* widen = std::get_if<WidenColumn>(&op)) {
      ARROW_ASSIGN_OR_RAISE(int i, ValueColumn(s, widen->name, "widen"));
      ColumnSpec& c = s.value_columns[i];
      const std::string what = "widen column " + Quoted(widen->name);
      if (!widen->type) return Refuse(what, "no type given");
      auto name = metadata::TypeName(*widen->type);
      if (!name.ok()) return Refuse(what, name.status().message());
      ARROW_ASSIGN_OR_RAISE(auto to, metadata::ParseTypeName(*name));
      if (to->Equals(*c.type)) return Refuse(what, "it is already " + *name);
      if (!metadata::IsExactWidening(*c.type, *to)) return Refuse(what, WhyNotWidening(*c.type, *to));
      c.type = std::move(to);
      return true;
    }
    if (const auto* set = std::get_if<SetProperty>(&op)) {
      ARROW_RETURN_NOT_OK(metadata::ValidateProperty(set->name, set->value));
      auto it = next->properties.find(set->name);
      if (it != next->properties.end() && it->second == set->value) return false;
      next->properties[set->name] = set->value;
      return true;
    }
    if (const auto* unset = std::get_if<UnsetProperty>(&op)) {
      return next->properties.erase(unset->name) > 0;
    }
    return arrow::Status::Invalid("unknown alter operation");
  }

 private:
  arrow::Status Refuse(const std::string& what, const std::string& why) const {
    return InvalidArgument("table '", table_, "': cannot ", what, ": ", why);
  }

  arrow::Status CheckNewName(const TableSchema& s, const std::string& name, const std::string& what) const {
    if (auto problem = metadata::ColumnNameProblem(name)) return Refuse(what, *problem);
    bool taken = s.event_time.name == name || s.FindValueColumn(name) >= 0;
    for (const auto& k : s.key_columns) taken = taken || k.name == name;
    if (taken) return Refuse(what, "the table already has a column " + Quoted(name));
    return arrow::Status::OK();
  }

  // The index of value column `name`; refuses key and event-time columns
  // and unknown names.
  arrow::Result<int> ValueColumn(const TableSchema& s, const std::string& name, const std::string& verb) const {
    const std::string what = verb + " column " + Quoted(name);
    for (const auto& k : s.key_columns) {
      if (k.name == name) {
        return Refuse(what, "it is a key column, and key columns cannot be " + Past(verb) + " (" +
                                WhyNot(verb, "its key") + ")");
      }
    }
    if (s.event_time.name == name) {
      return Refuse(what, "it is the event-time column, which cannot be " + Past(verb) + " (" +
                              WhyNot(verb, "its event time") + ")");
    }
    int i = s.FindValueColumn(name);
    if (i < 0) {
      std::string known;
      for (const auto& v : s.value_columns) known += (known.empty() ? "" : ", ") + v.name;
      return Refuse(what, "the table has no such column (value columns: " + (known.empty() ? "none" : known) + ")");
    }
    return i;
  }

  static std::string WhyNot(const std::string& verb, const std::string& part) {
    if (verb == "drop") return "every row needs " + part;
    if (verb == "rename") return "data files find key and event-time columns by name";
    return "key order and event-time comparison depend on the stored type";
  }

  static std::string Past(const std::string& verb) {
    if (verb == "drop") return "dropped";
    if (verb == "widen") return "widened";
    return verb + "d";
  }

  std::string table_;
};

// Every name and value of `op` must be UTF-8 (they are stored in JSON).
arrow::Status CheckOpText(const AlterOp& op) {
  std::vector<std::pair<const std::string*, const char*>> texts;
  if (const auto* a = std::get_if<AddColumn>(&op)) texts = {{&a->name, "column name"}};
  if (const auto* d = std::get_if<DropColumn>(&op)) texts = {{&d->name, "column name"}};
  if (const auto* r = std::get_if<RenameColumn>(&op)) texts = {{&r->from, "column name"}, {&r->to, "new column name"}};
  if (const auto* w = std::get_if<WidenColumn>(&op)) texts = {{&w->name, "column name"}};
  if (const auto* s = std::get_if<SetProperty>(&op)) texts = {{&s->name, "property name"}, {&s->value, "property value"}};
  if (const auto* u = std::get_if<UnsetProperty>(&op)) texts = {{&u->name, "property name"}};
  for (const auto& [text, what] : texts) ARROW_RETURN_NOT_OK(CheckUtf8(*text, std::string("alter: ") + what));
  return arrow::Status::OK();
}

}  // namespace

std::string DescribeAlterOp(const AlterOp& op) {
  auto type = [](const std::shared_ptr<arrow::DataType>& t) { return t ? TypeText(*t) : "?"; };
  if (const auto* a = std::get_if<AddColumn>(&op)) return "add column " + Quoted(a->name) + " " + type(a->type);
  if (const auto* d = std::get_if<DropColumn>(&op)) return "drop column " + Quoted(d->name);
  if (const auto* r = std::get_if<RenameColumn>(&op)) {
    return "rename column " + Quoted(r->from) + " to " + Quoted(r->to);
  }
  if (const auto* w = std::get_if<WidenColumn>(&op)) return "widen column " + Quoted(w->name) + " to " + type(w->type);
  if (const auto* s = std::get_if<SetProperty>(&op)) return "set property " + s->name + "=" + s->value;
  if (const auto* u = std::get_if<UnsetProperty>(&op)) return "unset property " + u->name;
  return "alter";
}

arrow::Result<CommitResult> Alter(const std::shared_ptr<Table>& table, const AlterOp& op,
                                  const AlterOptions& options) {
  std::shared_ptr<const Snapshot> base = table->current_snapshot();
  if (base->format_version < 1) {
    return InvalidArgument("table '", table->location(),
                           "' is a bazof 0.1 / azof 0.2 table: bazof reads it but does not alter it");
  }
  ARROW_RETURN_NOT_OK(CheckOpText(op));
  Alteration alteration(table->location());
  const std::string description = DescribeAlterOp(op);
  for (int attempt = 1;; ++attempt) {
    Snapshot next = *base;
    next.version = Version(base->version.value() + 1);
    auto changed = alteration.Apply(op, &next);
    if (!changed.ok()) {
      if (attempt == 1) return changed.status();
      // Valid against the version we first read, not against the one a
      // concurrent writer committed since.
      return Conflict("table '", table->location(), "': version ", base->version.value(),
                      " was committed concurrently and the change no longer applies: ",
                      changed.status().message());
    }
    if (!*changed) return CommitResult{};
    next.commit = CommitInfo{"alter", write::WallClockNow(), 0, {}, {}, description};
    auto st = write::CommitSnapshot(*table->storage(), next);
    if (st.ok()) return CommitResult{true, next.version, 0, 0};
    if (ErrorKindOf(st) != ErrorKind::kConflict || attempt >= options.max_attempts) {
      return WithContext(st, "commit of '" + table->location() + "': ");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt));
    ARROW_ASSIGN_OR_RAISE(auto fresh, Table::Open(table->storage()));
    base = fresh->current_snapshot();
  }
}

}  // namespace bazof
