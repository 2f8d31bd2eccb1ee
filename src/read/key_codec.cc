#include "read/key_codec.h"

#include <arrow/array.h>
#include <arrow/scalar.h>
#include <arrow/type.h>
#include <arrow/type_traits.h>
#include <arrow/visit_type_inline.h>

#include <cstring>

#include "bazof/error.h"

namespace bazof::read {
namespace {

bool IsStringLike(arrow::Type::type id) {
  return id == arrow::Type::STRING || id == arrow::Type::BINARY ||
         id == arrow::Type::LARGE_STRING || id == arrow::Type::LARGE_BINARY;
}

void PutU64(uint64_t v, std::string* out) {
  v = __builtin_bswap64(v);  // big-endian
  out->append(reinterpret_cast<const char*>(&v), 8);
}

void PutSigned(int64_t v, std::string* out) {
  PutU64(static_cast<uint64_t>(v) ^ (uint64_t{1} << 63), out);
}

void PutEscaped(std::string_view s, std::string* out) {
  for (char c : s) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xff');
  }
  out->push_back('\0');
  out->push_back('\0');
}

// Appends the encoding of row `i` of `array` (non-null) to `out`.
void EncodeValue(const arrow::Array& array, int64_t i, bool escape, std::string* out) {
  using arrow::Type;
  switch (array.type_id()) {
    case Type::STRING:
    case Type::BINARY: {
      auto v = static_cast<const arrow::BinaryArray&>(array).GetView(i);
      if (escape) PutEscaped(v, out); else out->append(v);
      return;
    }
    case Type::LARGE_STRING:
    case Type::LARGE_BINARY: {
      auto v = static_cast<const arrow::LargeBinaryArray&>(array).GetView(i);
      if (escape) PutEscaped(v, out); else out->append(v);
      return;
    }
    case Type::BOOL:
      out->push_back(static_cast<const arrow::BooleanArray&>(array).Value(i) ? 1 : 0);
      return;
    case Type::INT8:
      return PutSigned(static_cast<const arrow::Int8Array&>(array).Value(i), out);
    case Type::INT16:
      return PutSigned(static_cast<const arrow::Int16Array&>(array).Value(i), out);
    case Type::INT32:
      return PutSigned(static_cast<const arrow::Int32Array&>(array).Value(i), out);
    case Type::DATE32:
      return PutSigned(static_cast<const arrow::Date32Array&>(array).Value(i), out);
    case Type::INT64:
      return PutSigned(static_cast<const arrow::Int64Array&>(array).Value(i), out);
    case Type::TIMESTAMP:
      return PutSigned(static_cast<const arrow::TimestampArray&>(array).Value(i), out);
    case Type::UINT8:
      return PutU64(static_cast<const arrow::UInt8Array&>(array).Value(i), out);
    case Type::UINT16:
      return PutU64(static_cast<const arrow::UInt16Array&>(array).Value(i), out);
    case Type::UINT32:
      return PutU64(static_cast<const arrow::UInt32Array&>(array).Value(i), out);
    case Type::UINT64:
      return PutU64(static_cast<const arrow::UInt64Array&>(array).Value(i), out);
    default:
      return;  // rejected by KeyCodec::Make
  }
}

bool SupportedKeyType(const arrow::DataType& t) {
  return IsStringLike(t.id()) || arrow::is_integer(t.id()) || t.id() == arrow::Type::BOOL ||
         t.id() == arrow::Type::DATE32 || t.id() == arrow::Type::TIMESTAMP;
}

}  // namespace

arrow::Result<KeyCodec> KeyCodec::Make(std::vector<std::shared_ptr<arrow::DataType>> key_types) {
  if (key_types.empty()) return InvalidArgument("a table needs at least one key column");
  for (const auto& t : key_types) {
    if (!SupportedKeyType(*t)) return InvalidArgument("type ", t->ToString(), " cannot be a key");
  }
  return KeyCodec(std::move(key_types));
}

arrow::Status KeyCodec::Encode(const std::vector<std::shared_ptr<arrow::Array>>& columns,
                               KeyCodes* out) const {
  const int64_t n = columns.empty() ? 0 : columns[0]->length();
  out->views.clear();
  out->arena.clear();
  out->views.reserve(n);
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c]->null_count() > 0) {
      for (int64_t i = 0; i < n; ++i) {
        if (columns[c]->IsNull(i)) return Corruption("null key at row ", i);
      }
    }
  }
  if (columns.size() == 1 && IsStringLike(columns[0]->type_id())) {
    const auto& a = *columns[0];
    for (int64_t i = 0; i < n; ++i) {
      if (a.type_id() == arrow::Type::STRING || a.type_id() == arrow::Type::BINARY) {
        out->views.push_back(static_cast<const arrow::BinaryArray&>(a).GetView(i));
      } else {
        out->views.push_back(static_cast<const arrow::LargeBinaryArray&>(a).GetView(i));
      }
    }
    return arrow::Status::OK();
  }
  const bool escape = columns.size() > 1;
  std::vector<size_t> offsets(n + 1);
  for (int64_t i = 0; i < n; ++i) {
    offsets[i] = out->arena.size();
    for (const auto& col : columns) EncodeValue(*col, i, escape, &out->arena);
  }
  offsets[n] = out->arena.size();
  for (int64_t i = 0; i < n; ++i) {
    out->views.emplace_back(out->arena.data() + offsets[i], offsets[i + 1] - offsets[i]);
  }
  return arrow::Status::OK();
}

arrow::Result<std::string> KeyCodec::EncodeScalars(const KeyValue& key) const {
  if (key.size() != types_.size()) {
    return InvalidArgument("key has ", key.size(), " values, the table has ", types_.size(),
                           " key columns");
  }
  std::string out;
  const bool escape = types_.size() > 1;
  for (size_t c = 0; c < key.size(); ++c) {
    ARROW_ASSIGN_OR_RAISE(auto scalar, key[c]->CastTo(types_[c]));
    ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*scalar, 1));
    if (array->IsNull(0)) return InvalidArgument("null key value");
    EncodeValue(*array, 0, escape, &out);
  }
  return out;
}

bool KeyCodec::FirstColumnIsBytes() const { return !types_.empty() && IsStringLike(types_[0]->id()); }

std::string KeyCodec::EncodeFirstColumnBytes(std::string_view bytes) const {
  if (types_.size() == 1) return std::string(bytes);
  std::string out;
  PutEscaped(bytes, &out);
  return out;
}

arrow::Result<std::string> KeyCodec::EncodeFirstColumn(const arrow::Scalar& value) const {
  ARROW_ASSIGN_OR_RAISE(auto scalar, value.CastTo(types_[0]));
  ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*scalar, 1));
  std::string out;
  EncodeValue(*array, 0, types_.size() > 1, &out);
  return out;
}

}  // namespace bazof::read
