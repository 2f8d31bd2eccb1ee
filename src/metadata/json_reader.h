// Checked access to metadata JSON (snapshots, retention.json): the one place
// where a stored JSON value is turned into a C++ value.
//
// Every accessor checks the value's type (and, for integers, its range) and
// returns kCorruption naming the file and the field's path on a mismatch:
//   snapshot '/t/s3.json': field 'segments[0].delta[1].rows': expected an
//   integer, found an array
// No accessor throws; nlohmann::json is only ever read through them.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bazof::metadata {

class JsonNode;

/// A parsed metadata document. `kind` and `file` name it in every error
/// ("snapshot", "/t/s3.json"). Not copyable: nodes point into it.
class JsonDoc {
 public:
  /// Parses `text`. kCorruption ("<kind> '<file>': not valid JSON ...") if it
  /// is not JSON or not valid UTF-8. Never throws.
  static arrow::Result<std::unique_ptr<JsonDoc>> Parse(std::string_view text, std::string kind,
                                                       std::string file);

  /// The top-level value (path "").
  JsonNode Root() const;

  /// kCorruption "<kind> '<file>': field '<path>': <problem>" (no field part
  /// for the root).
  arrow::Status Error(std::string_view path, std::string_view problem) const;

  JsonDoc(const JsonDoc&) = delete;
  JsonDoc& operator=(const JsonDoc&) = delete;

 private:
  JsonDoc(nlohmann::json value, std::string kind, std::string file);
  nlohmann::json value_;
  std::string kind_, file_;
};

/// A value inside a JsonDoc together with its path ("segments[0].base.rows").
/// Cheap to copy; valid while its JsonDoc lives.
class JsonNode {
 public:
  JsonNode(const JsonDoc* doc, const nlohmann::json* value, std::string path)
      : doc_(doc), value_(value), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  bool is_null() const { return value_->is_null(); }
  /// "null", "a boolean", "an integer", "a number", "a string", "an array",
  /// "an object": how errors name a value's type.
  std::string_view TypeDescription() const;

  /// kCorruption naming this node's path.
  arrow::Status Error(std::string_view problem) const { return doc_->Error(path_, problem); }

  /// The member `name` of this object; "missing" if absent or null. Error if
  /// this node is not an object.
  arrow::Result<JsonNode> Field(std::string_view name) const;
  /// The member `name`, or nullopt if absent or null.
  arrow::Result<std::optional<JsonNode>> OptField(std::string_view name) const;
  /// The members of this object, in document order of keys (sorted).
  arrow::Result<std::vector<std::pair<std::string, JsonNode>>> Members() const;
  /// The elements of this array.
  arrow::Result<std::vector<JsonNode>> Elements() const;

  arrow::Result<std::string> String() const;
  arrow::Result<bool> Bool() const;
  /// An integer within [min, max] (JSON numbers with a fraction or exponent,
  /// and integers beyond int64, are refused).
  arrow::Result<int64_t> Int(int64_t min = std::numeric_limits<int64_t>::min(),
                             int64_t max = std::numeric_limits<int64_t>::max()) const;
  /// A list of strings.
  arrow::Result<std::vector<std::string>> StringList() const;

  /// Checks that this node is an object.
  arrow::Status ExpectObject() const;

  /// The raw value, for callers that only inspect it (never for conversion).
  const nlohmann::json& raw() const { return *value_; }

 private:
  arrow::Status Expected(std::string_view what) const;
  std::string Child(std::string_view name) const;

  const JsonDoc* doc_;
  const nlohmann::json* value_;
  std::string path_;
};

}  // namespace bazof::metadata
