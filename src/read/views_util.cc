#include "read/views_util.h"

#include <arrow/compare.h>
#include <arrow/compute/api.h>

#include <atomic>
#include <cmath>
#include <thread>

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

arrow::Status ParallelFor(int64_t n, int threads, const std::function<arrow::Status(int64_t, int)>& fn) {
  const int t = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  std::atomic<int64_t> next{0};
  std::vector<arrow::Status> status(t);
  auto work = [&](int worker) {
    while (true) {
      const int64_t i = next.fetch_add(1);
      if (i >= n) return;
      auto st = fn(i, worker);
      if (!st.ok()) {
        status[worker] = st;
        next.store(n);
        return;
      }
    }
  };
  if (t == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (int w = 0; w < t; ++w) pool.emplace_back(work, w);
    for (auto& th : pool) th.join();
  }
  for (auto& st : status) ARROW_RETURN_NOT_OK(st);
  return arrow::Status::OK();
}

}  // namespace bazof::read
