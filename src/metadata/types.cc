#include "metadata/types.h"

#include <arrow/type.h>
#include <arrow/type_traits.h>


#include <cctype>
#include <charconv>
#include <utility>

#include "bazof/error.h"

namespace bazof::metadata {
namespace {

bool ParseInt(std::string_view s, int32_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(std::string_view name) {
  using namespace arrow;
  if (name == "string") return utf8();
  if (name == "binary") return binary();
  if (name == "bool") return boolean();
  if (name == "int8") return int8();
  if (name == "int16") return int16();
  if (name == "int32") return int32();
  if (name == "int64") return int64();
  if (name == "uint8") return uint8();
  if (name == "uint16") return uint16();
  if (name == "uint32") return uint32();
  if (name == "uint64") return uint64();
  if (name == "float32") return float32();
  if (name == "float64") return float64();
  if (name == "date") return date32();
  if (name == "timestamp") return timestamp(TimeUnit::MICRO, "UTC");
  if (name == "timestamp[s]") return timestamp(TimeUnit::SECOND, "UTC");
  if (name == "timestamp[ms]") return timestamp(TimeUnit::MILLI, "UTC");
  if (name == "timestamp[us]") return timestamp(TimeUnit::MICRO, "UTC");
  if (name == "timestamp[ns]") return timestamp(TimeUnit::NANO, "UTC");
  if (name.starts_with("decimal(") && name.ends_with(")")) {
    auto inner = name.substr(8, name.size() - 9);
    auto comma = inner.find(',');
    int32_t p = 0, s = 0;
    if (comma != std::string_view::npos && ParseInt(inner.substr(0, comma), &p) &&
        ParseInt(inner.substr(comma + 1), &s) && p >= 1 && p <= 38 && s >= 0 && s <= p) {
      return decimal128(p, s);
    }
    return InvalidArgument("type '", name, "': decimal(p,s) needs 1 <= p <= 38 and 0 <= s <= p");
  }
  return InvalidArgument("unknown type '", name,
                         "' (expected string, binary, bool, int8..int64, uint8..uint64, "
                         "float32, float64, date, timestamp[s|ms|us|ns], decimal(p,s))");
}

arrow::Result<std::shared_ptr<arrow::DataType>> ParseUserTypeName(std::string_view name) {
  std::string n;
  for (char c : name) {
    if (c != ' ' && c != '\t') n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  static const std::pair<const char*, const char*> kAliases[] = {
      {"str", "string"},     {"utf8", "string"},     {"large_string", "string"}, {"large_utf8", "string"},
      {"boolean", "bool"},   {"int", "int32"},       {"integer", "int32"},       {"long", "int64"},
      {"bigint", "int64"},   {"float", "float32"},   {"double", "float64"},      {"date32", "date"},
      {"date32[day]", "date"}, {"large_binary", "binary"}, {"bytes", "binary"},
  };
  for (const auto& [alias, canonical] : kAliases) {
    if (n == alias) return ParseTypeName(canonical);
  }
  // Arrow's spelling of a zoned timestamp: timestamp[us,tz=UTC].
  if (n.starts_with("timestamp[") && n.ends_with("]")) {
    const auto comma = n.find(",tz=");
    if (comma != std::string::npos) {
      const std::string zone = n.substr(comma + 4, n.size() - comma - 5);
      if (zone != "utc" && zone != "+00:00" && zone != "z" && zone != "etc/utc") {
        return InvalidArgument("type '", name, "': timestamps are stored in UTC; use timestamp[",
                               n.substr(10, comma - 10), ", tz=UTC] (values in other zones are converted on write)");
      }
      n = n.substr(0, comma) + "]";
    }
  }
  if (n.starts_with("decimal128(")) n = "decimal(" + n.substr(11);
  auto parsed = ParseTypeName(n);
  if (!parsed.ok() && parsed.status().message().starts_with("unknown type")) {
    // The message names what the user typed.
    return InvalidArgument("unknown type '", name,
                           "' (expected string, binary, bool, int8..int64, uint8..uint64, float32 (float), "
                           "float64 (double), date, timestamp[s|ms|us|ns] (or timestamp[us, tz=UTC]), "
                           "decimal(p,s))");
  }
  return parsed;
}

arrow::Result<std::string> TypeName(const arrow::DataType& type) {
  using arrow::Type;
  switch (type.id()) {
    case Type::STRING:
    case Type::LARGE_STRING:
    case Type::STRING_VIEW:
      return "string";
    case Type::BINARY:
    case Type::LARGE_BINARY:
      return "binary";
    case Type::BOOL:
      return "bool";
    case Type::INT8:
      return "int8";
    case Type::INT16:
      return "int16";
    case Type::INT32:
      return "int32";
    case Type::INT64:
      return "int64";
    case Type::UINT8:
      return "uint8";
    case Type::UINT16:
      return "uint16";
    case Type::UINT32:
      return "uint32";
    case Type::UINT64:
      return "uint64";
    case Type::FLOAT:
      return "float32";
    case Type::DOUBLE:
      return "float64";
    case Type::DATE32:
      return "date";
    case Type::TIMESTAMP: {
      switch (static_cast<const arrow::TimestampType&>(type).unit()) {
        case arrow::TimeUnit::SECOND:
          return "timestamp[s]";
        case arrow::TimeUnit::MILLI:
          return "timestamp[ms]";
        case arrow::TimeUnit::MICRO:
          return "timestamp[us]";
        case arrow::TimeUnit::NANO:
          return "timestamp[ns]";
      }
      break;
    }
    case Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Type&>(type);
      return arrow::internal::JoinToString("decimal(", d.precision(), ",", d.scale(), ")");
    }
    default:
      break;
  }
  return InvalidArgument("type ", type.ToString(), " is not supported by the bazof format");
}

arrow::Result<std::shared_ptr<arrow::DataType>> ParseLegacyTypeName(std::string_view name) {
  if (name == "String") return arrow::utf8();
  if (name == "Int") return arrow::int64();
  if (name == "Boolean") return arrow::boolean();
  if (name == "DateTime") return arrow::timestamp(arrow::TimeUnit::MILLI, "UTC");
  return InvalidArgument("unknown legacy data_type '", name,
                         "' (expected String, Int, Boolean or DateTime)");
}

std::optional<std::string> LegacyTypeName(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::STRING:
      return "String";
    case arrow::Type::INT64:
      return "Int";
    case arrow::Type::BOOL:
      return "Boolean";
    case arrow::Type::TIMESTAMP:
      if (static_cast<const arrow::TimestampType&>(type).unit() == arrow::TimeUnit::MILLI) {
        return "DateTime";
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

bool IsExactWidening(const arrow::DataType& from, const arrow::DataType& to) {
  using arrow::Type;
  if (from.Equals(to)) return false;
  if (arrow::is_integer(from.id()) && arrow::is_integer(to.id())) {
    const int fw = arrow::bit_width(from.id()), tw = arrow::bit_width(to.id());
    if (arrow::is_signed_integer(from.id()) == arrow::is_signed_integer(to.id())) return fw < tw;
    return arrow::is_unsigned_integer(from.id()) && fw < tw;  // uintN fits intM for M > N
  }
  if (arrow::is_integer(from.id()) && arrow::is_floating(to.id())) {
    // A float holds every integer up to 2^(mantissa bits + 1) exactly.
    const int fw = arrow::bit_width(from.id());
    if (to.id() == Type::FLOAT) return fw <= 16;
    if (to.id() == Type::DOUBLE) return fw <= 32;
    return false;
  }
  if (from.id() == Type::FLOAT && to.id() == Type::DOUBLE) return true;
  if (from.id() == Type::DECIMAL128 && to.id() == Type::DECIMAL128) {
    const auto& f = static_cast<const arrow::Decimal128Type&>(from);
    const auto& t = static_cast<const arrow::Decimal128Type&>(to);
    return t.scale() >= f.scale() && t.precision() - t.scale() >= f.precision() - f.scale();
  }
  return false;
}

}  // namespace bazof::metadata
