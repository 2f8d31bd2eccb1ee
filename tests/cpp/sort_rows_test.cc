// The in-memory sort of an append (src/write/sort_rows.h) against a
// std::stable_sort oracle on random workloads: duplicate (key, event time)
// rows (the earlier input row first, so the later one wins a scan), long keys
// sharing 8- and 16-byte prefixes, embedded zero bytes, negative and extreme
// event times, composite and integer keys; the gather; null keys refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <arrow/compute/api.h>

#include "bazof/error.h"
#include "test_util.h"
#include "write/sort_rows.h"

namespace bazof::testing {
namespace {

std::shared_ptr<arrow::DataType> Ms() { return arrow::timestamp(arrow::TimeUnit::MILLI); }

// key (utf8), event_time, row (the input position, to check the gather).
std::shared_ptr<arrow::RecordBatch> StringBatch(const std::vector<std::string>& keys, const std::vector<int64_t>& times) {
  arrow::StringBuilder k;
  arrow::TimestampBuilder t(Ms(), arrow::default_memory_pool());
  arrow::Int64Builder r;
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_TRUE(k.Append(keys[i]).ok());
    EXPECT_TRUE(t.Append(times[i]).ok());
    EXPECT_TRUE(r.Append(static_cast<int64_t>(i)).ok());
  }
  auto schema = arrow::schema({arrow::field("key", arrow::utf8()), arrow::field("event_time", Ms()),
                               arrow::field("row", arrow::int64())});
  return arrow::RecordBatch::Make(schema, static_cast<int64_t>(keys.size()),
                                  {k.Finish().ValueOrDie(), t.Finish().ValueOrDie(), r.Finish().ValueOrDie()});
}

// The order `less` gives, stably: the oracle.
template <typename Less>
std::vector<uint32_t> StableOrder(size_t n, Less less) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), less);
  return order;
}

// SortOrder's permutation (identity when it says "already sorted").
std::vector<uint32_t> Sorted(const arrow::RecordBatch& batch, size_t num_keys) {
  auto r = write::SortOrder(batch, num_keys);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  if (*r) return **r;
  std::vector<uint32_t> identity(batch.num_rows());
  std::iota(identity.begin(), identity.end(), 0u);
  return identity;
}

// Key families that stress the packed 64-bit sort key.
std::string RandomKey(std::mt19937_64& rng, int family, int64_t distinct) {
  const auto id = static_cast<int64_t>(rng() % distinct);
  switch (family) {
    case 0:  // W1-like: k00012345 (9 bytes, decimal digits)
      return "k" + std::string(8 - std::min<size_t>(8, std::to_string(id).size()), '0') + std::to_string(id);
    case 1:  // a long shared prefix: ties on the first 8 and 16 bytes, decided past them
      return std::string("tenant-0001/sensor-") + std::to_string(id % 7) + "/" + std::to_string(id);
    case 2: {  // random bytes, lengths 1-24, zero bytes included (prefixes of each other too)
      std::mt19937_64 k(static_cast<uint64_t>(id));
      std::string s(1 + k() % 24, '\0');
      for (auto& c : s) c = static_cast<char>(k() % 4 == 0 ? 0 : k() % 256);
      return s;
    }
    default: {  // 15-17 bytes: the 16-byte boundary, a prefix of each other
      std::string s = "abcdefghijklmnop" + std::string(1, static_cast<char>('a' + id % 3));
      return s.substr(0, 15 + static_cast<size_t>(id % 3));
    }
  }
}

TEST(SortRowsTest, RandomStringKeysEqualAStableSort) {
  for (int seed = 1; seed <= 24; ++seed) {
    std::mt19937_64 rng(900 + seed);
    const int family = seed % 4;
    const int64_t n = seed == 24 ? 150000 : 1 + static_cast<int64_t>(rng() % 5000);
    const int64_t distinct = 1 + static_cast<int64_t>(rng() % (seed % 3 == 0 ? 20 : 100000));
    const int time_mode = static_cast<int>(rng() % 3);
    std::vector<std::string> keys;
    std::vector<int64_t> times;
    for (int64_t i = 0; i < n; ++i) {
      keys.push_back(RandomKey(rng, family, distinct));
      if (time_mode == 0) {
        times.push_back(static_cast<int64_t>(rng() % 4) * 1000);  // many (key, time) duplicates
      } else if (time_mode == 1) {
        times.push_back(1577836800000 + static_cast<int64_t>(rng() % (5LL * 365 * 86400000)));
      } else {  // the whole range: negative, extreme
        const int64_t pick[] = {std::numeric_limits<int64_t>::min(), -1, 0, 1, std::numeric_limits<int64_t>::max()};
        times.push_back(rng() % 2 ? pick[rng() % 5] : static_cast<int64_t>(rng()));
      }
    }
    auto batch = StringBatch(keys, times);
    auto want = StableOrder(n, [&](uint32_t a, uint32_t b) {
      return std::tie(keys[a], times[a]) < std::tie(keys[b], times[b]);
    });
    ASSERT_EQ(Sorted(*batch, 1), want) << "seed " << seed << " family " << family << " n " << n;
  }
}

TEST(SortRowsTest, SortedInputNeedsNoOrderAndTheGatherTakesTheSortedRows) {
  std::mt19937_64 rng(5);
  std::vector<std::string> keys;
  std::vector<int64_t> times;
  for (int i = 0; i < 3000; ++i) {
    keys.push_back(RandomKey(rng, 1, 50));
    times.push_back(static_cast<int64_t>(rng() % 3));
  }
  auto shuffled = StringBatch(keys, times);
  ASSERT_OK_AND_ASSIGN(auto order, write::SortOrder(*shuffled, 1));
  ASSERT_TRUE(order.has_value());
  // Gathered in three pieces, then concatenated: the rows in sorted order.
  std::vector<std::string> sorted_keys;
  std::vector<int64_t> sorted_times, rows;
  for (int64_t off = 0; off < 3000; off += 1100) {
    ASSERT_OK_AND_ASSIGN(auto part, write::GatherRows(shuffled, *order, off, std::min<int64_t>(3000, off + 1100)));
    const auto& k = static_cast<const arrow::StringArray&>(*part->column(0));
    const auto& t = static_cast<const arrow::TimestampArray&>(*part->column(1));
    const auto& r = static_cast<const arrow::Int64Array&>(*part->column(2));
    for (int64_t i = 0; i < part->num_rows(); ++i) {
      sorted_keys.emplace_back(k.GetView(i));
      sorted_times.push_back(t.Value(i));
      rows.push_back(r.Value(i));
    }
  }
  ASSERT_EQ(rows.size(), 3000u);
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i], (*order)[i]);
    ASSERT_EQ(sorted_keys[i], keys[rows[i]]);
    if (i > 0) {
      ASSERT_LE(std::tie(sorted_keys[i - 1], sorted_times[i - 1]), std::tie(sorted_keys[i], sorted_times[i]));
      if (sorted_keys[i - 1] == sorted_keys[i] && sorted_times[i - 1] == sorted_times[i]) {
        ASSERT_LT(rows[i - 1], rows[i]) << "duplicates keep input order";
      }
    }
  }
  // That order is sorted already (duplicates included): nothing to do.
  auto again = StringBatch(sorted_keys, sorted_times);
  ASSERT_OK_AND_ASSIGN(auto none, write::SortOrder(*again, 1));
  EXPECT_FALSE(none.has_value());
}

// Composite (string, int64) and integer keys: the oracle compares the values
// (strings bytewise with a prefix first, integers signed), not encodings.
TEST(SortRowsTest, CompositeAndIntegerKeysEqualAStableSort) {
  for (int seed = 1; seed <= 10; ++seed) {
    std::mt19937_64 rng(77 + seed);
    const int64_t n = 1 + static_cast<int64_t>(rng() % 4000);
    std::vector<std::string> sym;
    std::vector<int64_t> venue, times;
    arrow::StringBuilder sb;
    arrow::Int64Builder vb, rb;
    arrow::TimestampBuilder tb(Ms(), arrow::default_memory_pool());
    for (int64_t i = 0; i < n; ++i) {
      std::string s = RandomKey(rng, seed % 2 == 0 ? 2 : 1, 30);
      const int64_t v = static_cast<int64_t>(rng() % 9) - 4 + (rng() % 5 == 0 ? std::numeric_limits<int64_t>::min() / 2 : 0);
      const int64_t t = static_cast<int64_t>(rng() % 5);
      sym.push_back(s);
      venue.push_back(v);
      times.push_back(t);
      ASSERT_OK(sb.Append(s));
      ASSERT_OK(vb.Append(v));
      ASSERT_OK(tb.Append(t));
      ASSERT_OK(rb.Append(i));
    }
    auto composite = arrow::RecordBatch::Make(
        arrow::schema({arrow::field("sym", arrow::utf8()), arrow::field("venue", arrow::int64()),
                       arrow::field("event_time", Ms()), arrow::field("row", arrow::int64())}),
        n, {sb.Finish().ValueOrDie(), vb.Finish().ValueOrDie(), tb.Finish().ValueOrDie(), rb.Finish().ValueOrDie()});
    auto want = StableOrder(n, [&](uint32_t a, uint32_t b) {
      return std::tie(sym[a], venue[a], times[a]) < std::tie(sym[b], venue[b], times[b]);
    });
    ASSERT_EQ(Sorted(*composite, 2), want) << "seed " << seed;
    // The int64 column alone as the key.
    auto by_int = arrow::RecordBatch::Make(
        arrow::schema({arrow::field("venue", arrow::int64()), arrow::field("event_time", Ms())}), n,
        {composite->column(1), composite->column(2)});
    auto want_int = StableOrder(n, [&](uint32_t a, uint32_t b) {
      return std::tie(venue[a], times[a]) < std::tie(venue[b], times[b]);
    });
    ASSERT_EQ(Sorted(*by_int, 1), want_int) << "seed " << seed;
  }
}

// The gather against Arrow's Take (the oracle) on every column layout a
// table holds, with nulls, on a sliced input (non-zero offsets), long and
// short strings, and values at the very end of the data buffer.
TEST(SortRowsTest, GatherEqualsArrowTakeOnEveryLayout) {
  std::mt19937_64 rng(31);
  const int64_t n = 3000;
  arrow::StringBuilder key, text;
  arrow::LargeStringBuilder large;
  arrow::BinaryBuilder bin;
  arrow::TimestampBuilder t(Ms(), arrow::default_memory_pool());
  arrow::Int32Builder i32;
  arrow::Int8Builder i8;
  arrow::Int16Builder i16;
  arrow::DoubleBuilder dbl;
  arrow::BooleanBuilder flag;
  arrow::Date32Builder day;
  arrow::Decimal128Builder dec(arrow::decimal128(20, 3));
  auto maybe_null = [&] { return rng() % 5 == 0; };
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_OK(key.Append("k" + std::to_string(rng() % 500)));
    ASSERT_OK(t.Append(static_cast<int64_t>(rng() % 7)));
    const std::string s(rng() % 40, static_cast<char>('a' + rng() % 26));
    if (maybe_null()) ASSERT_OK(text.AppendNull()); else ASSERT_OK(text.Append(s));
    if (maybe_null()) ASSERT_OK(large.AppendNull()); else ASSERT_OK(large.Append(s + "!"));
    ASSERT_OK(bin.Append(std::string(rng() % 3, '\0')));
    if (maybe_null()) ASSERT_OK(i32.AppendNull()); else ASSERT_OK(i32.Append(static_cast<int32_t>(rng())));
    ASSERT_OK(i8.Append(static_cast<int8_t>(rng())));
    ASSERT_OK(i16.Append(static_cast<int16_t>(rng())));
    if (maybe_null()) ASSERT_OK(dbl.AppendNull()); else ASSERT_OK(dbl.Append(static_cast<double>(rng() % 1000) / 7));
    if (maybe_null()) ASSERT_OK(flag.AppendNull()); else ASSERT_OK(flag.Append(rng() % 2 == 0));
    ASSERT_OK(day.Append(static_cast<int32_t>(rng() % 20000)));
    if (maybe_null()) ASSERT_OK(dec.AppendNull()); else ASSERT_OK(dec.Append(arrow::Decimal128(static_cast<int64_t>(rng() % 100000) - 50000)));
  }
  auto schema = arrow::schema({arrow::field("key", arrow::utf8()), arrow::field("event_time", Ms()),
                               arrow::field("text", arrow::utf8()), arrow::field("large", arrow::large_utf8()),
                               arrow::field("bin", arrow::binary()), arrow::field("i32", arrow::int32()),
                               arrow::field("i8", arrow::int8()), arrow::field("i16", arrow::int16()),
                               arrow::field("dbl", arrow::float64()), arrow::field("flag", arrow::boolean()),
                               arrow::field("day", arrow::date32()), arrow::field("dec", arrow::decimal128(20, 3))});
  auto whole = arrow::RecordBatch::Make(
      schema, n,
      {key.Finish().ValueOrDie(), t.Finish().ValueOrDie(), text.Finish().ValueOrDie(), large.Finish().ValueOrDie(),
       bin.Finish().ValueOrDie(), i32.Finish().ValueOrDie(), i8.Finish().ValueOrDie(), i16.Finish().ValueOrDie(),
       dbl.Finish().ValueOrDie(), flag.Finish().ValueOrDie(), day.Finish().ValueOrDie(), dec.Finish().ValueOrDie()});
  for (int64_t offset : {int64_t{0}, int64_t{13}}) {
    auto batch = whole->Slice(offset, n - offset);
    ASSERT_OK_AND_ASSIGN(auto order, write::SortOrder(*batch, 1));
    ASSERT_TRUE(order.has_value());
    for (int64_t begin : {int64_t{0}, int64_t{1}, int64_t{977}}) {
      const int64_t end = std::min<int64_t>(batch->num_rows(), begin + 1500);
      ASSERT_OK_AND_ASSIGN(auto got, write::GatherRows(batch, *order, begin, end));
      ASSERT_OK(got->ValidateFull());
      std::vector<uint32_t> part(order->begin() + begin, order->begin() + end);
      auto indices = std::make_shared<arrow::UInt32Array>(end - begin, arrow::Buffer::Wrap(part));
      ASSERT_OK_AND_ASSIGN(auto want, arrow::compute::Take(batch, indices));
      ASSERT_TRUE(got->Equals(*want.record_batch())) << "offset " << offset << " begin " << begin;
    }
  }
}

TEST(SortRowsTest, NullKeysAreRefused) {
  arrow::StringBuilder k;
  ASSERT_OK(k.Append("b"));
  ASSERT_OK(k.AppendNull());
  ASSERT_OK(k.Append("a"));
  arrow::TimestampBuilder t(Ms(), arrow::default_memory_pool());
  ASSERT_OK(t.AppendValues({1, 2, 3}));
  auto batch = arrow::RecordBatch::Make(arrow::schema({arrow::field("key", arrow::utf8()), arrow::field("event_time", Ms())}),
                                        3, {k.Finish().ValueOrDie(), t.Finish().ValueOrDie()});
  auto r = write::SortOrder(*batch, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kCorruption);
  EXPECT_NE(r.status().message().find("null key at row 1"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace bazof::testing
