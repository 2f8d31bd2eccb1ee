#include "read/views_util.h"

#include <arrow/compare.h>
#include <arrow/compute/api.h>

namespace bazof::read {

void TimestampMicros(const arrow::Array& a, std::vector<int64_t>* out) {
  const auto& ts = static_cast<const arrow::TimestampArray&>(a);
  const auto unit = static_cast<const arrow::TimestampType&>(*a.type()).unit();
  const int64_t n = ts.length();
  const int64_t* v = ts.raw_values();
  out->resize(n);
  for (int64_t i = 0; i < n; ++i) {
    switch (unit) {
      case arrow::TimeUnit::SECOND: (*out)[i] = v[i] * 1000000; break;
      case arrow::TimeUnit::MILLI: (*out)[i] = v[i] * 1000; break;
      case arrow::TimeUnit::MICRO: (*out)[i] = v[i]; break;
      case arrow::TimeUnit::NANO: {
        const int64_t q = v[i] / 1000;
        (*out)[i] = v[i] % 1000 < 0 ? q - 1 : q;
        break;
      }
    }
  }
}

bool CellsEqual(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  static const arrow::EqualOptions options = arrow::EqualOptions::Defaults().nans_equal(true);
  return arrow::ArrayRangeEquals(a, b, i, i + 1, j, options);
}

arrow::Result<std::shared_ptr<arrow::Array>> TakeRows(const std::shared_ptr<arrow::Array>& values,
                                                      const std::shared_ptr<arrow::Array>& indices) {
  ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Take(values, indices));
  return d.make_array();
}

}  // namespace bazof::read
