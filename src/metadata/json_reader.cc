#include "metadata/json_reader.h"

#include "bazof/error.h"
#include "text_escape.h"

namespace bazof::metadata {

using nlohmann::json;

JsonDoc::JsonDoc(json value, std::string kind, std::string file)
    : value_(std::move(value)), kind_(std::move(kind)), file_(std::move(file)) {}

arrow::Result<std::unique_ptr<JsonDoc>> JsonDoc::Parse(std::string_view text, std::string kind,
                                                       std::string file) {
  // The parser refuses malformed UTF-8 inside strings, so every string a
  // document yields is valid UTF-8 (and can be dumped again without throwing).
  json value;
  try {
    value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  } catch (const std::exception& e) {  // e.g. bad_alloc; parse itself does not throw
    return Corruption(kind, " '", file, "': not valid JSON (", EscapeForMessage(e.what()), ")");
  }
  if (value.is_discarded()) {
    return Corruption(kind, " '", file, "': not valid JSON (or not valid UTF-8)");
  }
  return std::unique_ptr<JsonDoc>(new JsonDoc(std::move(value), std::move(kind), std::move(file)));
}

JsonNode JsonDoc::Root() const { return JsonNode(this, &value_, ""); }

arrow::Status JsonDoc::Error(std::string_view path, std::string_view problem) const {
  if (path.empty()) return Corruption(kind_, " '", file_, "': ", problem);
  return Corruption(kind_, " '", file_, "': field '", path, "': ", problem);
}

std::string_view JsonNode::TypeDescription() const {
  switch (value_->type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::binary:
      return "binary data";
    case json::value_t::discarded:
      break;
  }
  return "an invalid value";
}

arrow::Status JsonNode::Expected(std::string_view what) const {
  return Error(std::string("expected ") + std::string(what) + ", found " +
               std::string(TypeDescription()));
}

std::string JsonNode::Child(std::string_view name) const {
  return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
}

arrow::Status JsonNode::ExpectObject() const {
  if (!value_->is_object()) return Expected("an object");
  return arrow::Status::OK();
}

arrow::Result<std::optional<JsonNode>> JsonNode::OptField(std::string_view name) const {
  ARROW_RETURN_NOT_OK(ExpectObject());
  auto it = value_->find(name);
  if (it == value_->end() || it->is_null()) return std::nullopt;
  return JsonNode(doc_, &*it, Child(name));
}

arrow::Result<JsonNode> JsonNode::Field(std::string_view name) const {
  ARROW_ASSIGN_OR_RAISE(auto f, OptField(name));
  if (!f) return doc_->Error(Child(name), "missing");
  return std::move(*f);
}

arrow::Result<std::vector<std::pair<std::string, JsonNode>>> JsonNode::Members() const {
  ARROW_RETURN_NOT_OK(ExpectObject());
  std::vector<std::pair<std::string, JsonNode>> out;
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    out.emplace_back(it.key(), JsonNode(doc_, &it.value(), Child(it.key())));
  }
  return out;
}

arrow::Result<std::vector<JsonNode>> JsonNode::Elements() const {
  if (!value_->is_array()) return Expected("an array");
  std::vector<JsonNode> out;
  out.reserve(value_->size());
  for (size_t i = 0; i < value_->size(); ++i) {
    out.emplace_back(doc_, &(*value_)[i], path_ + "[" + std::to_string(i) + "]");
  }
  return out;
}

arrow::Result<std::string> JsonNode::String() const {
  if (!value_->is_string()) return Expected("a string");
  return value_->get_ref<const std::string&>();
}

arrow::Result<bool> JsonNode::Bool() const {
  if (!value_->is_boolean()) return Expected("a boolean");
  return value_->get<bool>();
}

arrow::Result<int64_t> JsonNode::Int(int64_t min, int64_t max) const {
  auto range = [&]() {
    std::string bounds;
    if (min != std::numeric_limits<int64_t>::min()) bounds = ">= " + std::to_string(min);
    if (max != std::numeric_limits<int64_t>::max()) {
      bounds += (bounds.empty() ? "<= " : " and <= ") + std::to_string(max);
    }
    return Error(value_->dump() + " is out of range (expected an integer " + bounds + ")");
  };
  if (value_->is_number_unsigned()) {
    const uint64_t u = value_->get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) {
      if (max == std::numeric_limits<int64_t>::max()) {
        return Error(value_->dump() + " is out of range (expected a 64-bit signed integer)");
      }
      return range();
    }
    const auto v = static_cast<int64_t>(u);
    if (v < min) return range();
    return v;
  }
  if (!value_->is_number_integer()) return Expected("an integer");
  const int64_t v = value_->get<int64_t>();
  if (v < min || v > max) return range();
  return v;
}

arrow::Result<std::vector<std::string>> JsonNode::StringList() const {
  ARROW_ASSIGN_OR_RAISE(auto elements, Elements());
  std::vector<std::string> out;
  out.reserve(elements.size());
  for (const auto& e : elements) {
    ARROW_ASSIGN_OR_RAISE(auto s, e.String());
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace bazof::metadata
