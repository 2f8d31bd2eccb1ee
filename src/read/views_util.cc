#include "read/views_util.h"

#include <arrow/compare.h>
#include <arrow/compute/api.h>

#include <cmath>

namespace bazof::read {

namespace {

template <typename T>
bool FixedEqual(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  return a.data()->GetValues<T>(1)[i] == b.data()->GetValues<T>(1)[j];
}

template <typename T>
bool FloatEqual(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  const T x = a.data()->GetValues<T>(1)[i], y = b.data()->GetValues<T>(1)[j];
  return x == y || (std::isnan(x) && std::isnan(y));
}

}  // namespace

bool CellsEqual(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  const bool a_null = a.IsNull(i), b_null = b.IsNull(j);
  if (a_null || b_null) return a_null == b_null;
  // The common types compare in place: this runs once per cell of a view.
  switch (a.type_id()) {
    case arrow::Type::INT8:
    case arrow::Type::UINT8:
      return FixedEqual<uint8_t>(a, i, b, j);
    case arrow::Type::INT16:
    case arrow::Type::UINT16:
      return FixedEqual<uint16_t>(a, i, b, j);
    case arrow::Type::INT32:
    case arrow::Type::UINT32:
    case arrow::Type::DATE32:
      return FixedEqual<uint32_t>(a, i, b, j);
    case arrow::Type::INT64:
    case arrow::Type::UINT64:
    case arrow::Type::DATE64:
    case arrow::Type::TIMESTAMP:
      return FixedEqual<uint64_t>(a, i, b, j);
    case arrow::Type::FLOAT:
      return FloatEqual<float>(a, i, b, j);
    case arrow::Type::DOUBLE:
      return FloatEqual<double>(a, i, b, j);
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(a).Value(i) ==
             static_cast<const arrow::BooleanArray&>(b).Value(j);
    case arrow::Type::STRING:
      return static_cast<const arrow::StringArray&>(a).GetView(i) ==
             static_cast<const arrow::StringArray&>(b).GetView(j);
    case arrow::Type::BINARY:
      return static_cast<const arrow::BinaryArray&>(a).GetView(i) ==
             static_cast<const arrow::BinaryArray&>(b).GetView(j);
    default: {
      static const arrow::EqualOptions options = arrow::EqualOptions::Defaults().nans_equal(true);
      return arrow::ArrayRangeEquals(a, b, i, i + 1, j, options);
    }
  }
}

arrow::Result<std::shared_ptr<arrow::Array>> TakeRows(const std::shared_ptr<arrow::Array>& values,
                                                      const std::shared_ptr<arrow::Array>& indices) {
  ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Take(values, indices));
  return d.make_array();
}

}  // namespace bazof::read
