// In-memory sort and gather of an append's rows (src/write/sort_rows.h).
//
// The sort packs each row into one 64-bit integer whose order is the row
// order, and sorts (integer, row) pairs with an LSD radix sort:
//
//   row ──▶ words (16-byte key prefix as two big-endian words, key length,
//           event time with the sign bit flipped): their lexicographic
//           order is the (key, event time) order for keys <= 16 bytes
//   all rows ──▶ which bits of each word vary at all (OR of XORs with row 0)
//   row ──▶ K = the varying bits, most significant first, at most 64
//           (bits equal in every row never decide a comparison, so dropping
//           them keeps the order: W1's keys `k00012345` and 5 years of
//           millisecond times take 62 bits)
//   (K, row) ──radix, 8 bits a pass, stable──▶ sorted by (K, row)
//   K not exact (more than 64 varying bits, or keys over 16 bytes: then K
//           holds key bits only) ──▶ each run of equal K sorted by the full
//           comparison
//
// Measured against the previous std::sort over (prefix, length, time, row)
// entries in bench/results/RESULTS.md (issue #15, branch `shuffle`).
#include "write/sort_rows.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>

#include "bazof/error.h"
#include "read/key_codec.h"

namespace bazof::write {
namespace {

uint64_t LoadBigEndian(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// A row as four words compared in order: key bytes 0-7, key bytes 8-15
// (zero padded), key length (capped at 17: longer keys tie here and are
// compared whole), event time (sign bit flipped: unsigned order).
using Words = std::array<uint64_t, 4>;

Words WordsOf(std::string_view key, int64_t time) {
  char b[16] = {0};
  std::memcpy(b, key.data(), std::min<size_t>(16, key.size()));
  return {LoadBigEndian(b), LoadBigEndian(b + 8), std::min<uint64_t>(key.size(), 17),
          static_cast<uint64_t>(time) ^ (uint64_t{1} << 63)};
}

// Bits [shift, shift + width) of one word, a piece of the packed key.
struct Piece {
  int word, shift, width;
};

uint64_t LowBits(int width) { return width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1; }

struct Packing {
  std::vector<Piece> pieces;
  int bits = 0;
  bool exact = true;  // K orders every row (else: ties of K need the full comparison)

  uint64_t Pack(const Words& w) const {
    uint64_t k = 0;
    for (const Piece& p : pieces) {
      const uint64_t v = (w[p.word] >> p.shift) & LowBits(p.width);
      k = p.width >= 64 ? v : (k << p.width) | v;
    }
    return k;
  }
};

// The pieces of the words that vary, byte by byte from the most significant
// (within a byte, from its highest varying bit down), at most 64 bits. With
// keys over 16 bytes, rows equal in the first three words may still differ
// in their keys, so the event time must not decide before them: K is then
// made of the key words only.
Packing PlanPacking(const Words& vary, bool long_keys) {
  Packing p;
  p.exact = !long_keys;
  for (int word = 0; word < (long_keys ? 3 : 4); ++word) {
    for (int byte = 7; byte >= 0; --byte) {
      const auto v = static_cast<unsigned>((vary[word] >> (8 * byte)) & 0xFF);
      if (v == 0) continue;
      int width = std::bit_width(v);
      int shift = 8 * byte;
      if (p.bits + width > 64) {  // keep the top bits that fit; ties need the full comparison
        shift += width - (64 - p.bits);
        width = 64 - p.bits;
        p.exact = false;
      }
      if (width == 0) return p;
      // A whole byte right below the previous piece of the same word extends it.
      if (!p.pieces.empty() && p.pieces.back().word == word && p.pieces.back().shift == shift + width) {
        p.pieces.back().shift = shift;
        p.pieces.back().width += width;
      } else {
        p.pieces.push_back({word, shift, width});
      }
      p.bits += width;
      if (!p.exact) return p;
    }
  }
  return p;
}

struct Keyed {
  uint64_t k;
  uint32_t row;
};

// Stable LSD radix sort of items[0, n) by k's low `bits` bits, 8 bits a
// pass, using `other` (n slots) as the second buffer; returns the buffer that
// holds the result. The counts of every pass come from one read of the
// input, and passes whose digit is the same for every row are skipped.
Keyed* RadixSort(Keyed* items, Keyed* other, size_t n, int bits) {
  const int passes = (bits + 7) / 8;
  std::vector<std::array<uint32_t, 256>> counts(passes);
  for (auto& c : counts) c.fill(0);
  for (size_t i = 0; i < n; ++i) {
    for (int p = 0; p < passes; ++p) ++counts[p][(items[i].k >> (8 * p)) & 0xFF];
  }
  for (int p = 0; p < passes; ++p) {
    auto& c = counts[p];
    if (std::any_of(c.begin(), c.end(), [&](uint32_t x) { return x == n; })) continue;
    uint32_t sum = 0;
    for (auto& x : c) {
      const uint32_t here = x;
      x = sum;
      sum += here;
    }
    for (size_t i = 0; i < n; ++i) other[c[(items[i].k >> (8 * p)) & 0xFF]++] = items[i];
    std::swap(items, other);
  }
  return items;
}

}  // namespace

arrow::Result<std::optional<std::vector<uint32_t>>> SortOrder(const arrow::RecordBatch& batch, size_t num_keys) {
  const int64_t n = batch.num_rows();
  if (n > std::numeric_limits<uint32_t>::max()) {
    return InvalidArgument("sort: ", n, " rows in one run (at most ", std::numeric_limits<uint32_t>::max(), ")");
  }
  std::vector<std::shared_ptr<arrow::DataType>> types;
  std::vector<std::shared_ptr<arrow::Array>> key_cols;
  for (size_t k = 0; k < num_keys; ++k) {
    types.push_back(batch.column(static_cast<int>(k))->type());
    key_cols.push_back(batch.column(static_cast<int>(k)));
  }
  ARROW_ASSIGN_OR_RAISE(auto codec, read::KeyCodec::Make(std::move(types)));
  read::KeyCodes keys;
  ARROW_RETURN_NOT_OK(codec.Encode(key_cols, &keys));
  const int64_t* times = batch.column_data(static_cast<int>(num_keys))->GetValues<int64_t>(1);
  const auto& views = keys.views;

  // Input that arrives sorted (common: exports, replays) needs no order.
  bool sorted = true;
  for (int64_t i = 1; sorted && i < n; ++i) {
    const int c = views[i - 1].compare(views[i]);
    sorted = c < 0 || (c == 0 && times[i - 1] <= times[i]);
  }
  if (sorted) return std::nullopt;

  const Words first = WordsOf(views[0], times[0]);
  Words vary{};
  bool long_keys = false;
  for (int64_t i = 0; i < n; ++i) {
    const Words w = WordsOf(views[i], times[i]);
    for (int j = 0; j < 4; ++j) vary[j] |= w[j] ^ first[j];
    long_keys = long_keys || views[i].size() > 16;
  }
  const Packing packing = PlanPacking(vary, long_keys);
  // Not value-initialized: every slot is written before it is read.
  auto buffer = std::make_unique_for_overwrite<Keyed[]>(static_cast<size_t>(n));
  auto spare = std::make_unique_for_overwrite<Keyed[]>(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    buffer[i] = Keyed{packing.Pack(WordsOf(views[i], times[i])), static_cast<uint32_t>(i)};
  }
  Keyed* const items = RadixSort(buffer.get(), spare.get(), static_cast<size_t>(n), packing.bits);
  if (!packing.exact) {
    // Equal K: the rows may still differ past the packed bits.
    auto less = [&](const Keyed& a, const Keyed& b) {
      if (const int c = views[a.row].compare(views[b.row]); c != 0) return c < 0;
      if (times[a.row] != times[b.row]) return times[a.row] < times[b.row];
      return a.row < b.row;
    };
    for (int64_t s = 0; s < n;) {
      int64_t e = s + 1;
      while (e < n && items[e].k == items[s].k) ++e;
      if (e - s > 1) std::sort(items + s, items + e, less);
      s = e;
    }
  }
  std::vector<uint32_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = items[i].row;
  return order;
}

namespace {

// Rows idx[0, n) of `in` as a validity bitmap (nullptr when none is null).
arrow::Result<std::shared_ptr<arrow::Buffer>> GatherValidity(const arrow::ArrayData& in, const uint32_t* idx,
                                                             int64_t n, int64_t* nulls) {
  *nulls = 0;
  if (in.GetNullCount() == 0 || !in.buffers[0]) return nullptr;
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::AllocateEmptyBitmap(n));
  const uint8_t* bits = in.buffers[0]->data();
  uint8_t* o = out->mutable_data();
  for (int64_t i = 0; i < n; ++i) {
    if (arrow::bit_util::GetBit(bits, in.offset + idx[i])) {
      arrow::bit_util::SetBit(o, i);
    } else {
      ++*nulls;
    }
  }
  return std::shared_ptr<arrow::Buffer>(std::move(out));
}

template <typename T>
arrow::Result<std::shared_ptr<arrow::Buffer>> GatherFixed(const arrow::ArrayData& in, const uint32_t* idx, int64_t n) {
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(T))));
  const T* src = in.GetValues<T>(1);
  T* dst = reinterpret_cast<T*>(out->mutable_data());
  for (int64_t i = 0; i < n; ++i) dst[i] = src[idx[i]];
  return std::shared_ptr<arrow::Buffer>(std::move(out));
}

arrow::Result<std::shared_ptr<arrow::Buffer>> GatherBits(const arrow::ArrayData& in, const uint32_t* idx, int64_t n) {
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::AllocateEmptyBitmap(n));
  const uint8_t* bits = in.buffers[1]->data();
  uint8_t* o = out->mutable_data();
  for (int64_t i = 0; i < n; ++i) {
    if (arrow::bit_util::GetBit(bits, in.offset + idx[i])) arrow::bit_util::SetBit(o, i);
  }
  return std::shared_ptr<arrow::Buffer>(std::move(out));
}

// Strings and binaries: the offsets in one pass over the rows, then the
// bytes. Arrow's Take copies each value with a memcpy call of its length,
// which was most of the gather for short keys (perf of an append of shuffled
// input); values of up to 16 bytes are copied here as 16 fixed bytes into a
// buffer with 16 bytes of slack.
template <typename Offset>
arrow::Status GatherBinary(const arrow::ArrayData& in, const uint32_t* idx, int64_t n,
                           std::shared_ptr<arrow::Buffer>* offsets_out, std::shared_ptr<arrow::Buffer>* data_out) {
  const Offset* offsets = in.GetValues<Offset>(1);
  const uint8_t* data = in.buffers[2] ? in.buffers[2]->data() : nullptr;
  const int64_t data_size = in.buffers[2] ? in.buffers[2]->size() : 0;
  ARROW_ASSIGN_OR_RAISE(auto offsets_buffer, arrow::AllocateBuffer((n + 1) * static_cast<int64_t>(sizeof(Offset))));
  auto* out = reinterpret_cast<Offset*>(offsets_buffer->mutable_data());
  int64_t total = 0;
  out[0] = 0;
  for (int64_t i = 0; i < n; ++i) {
    total += offsets[idx[i] + 1] - offsets[idx[i]];
    out[i + 1] = static_cast<Offset>(total);  // a subset of the input's rows: fits as the input did
  }
  ARROW_ASSIGN_OR_RAISE(auto data_buffer, arrow::AllocateResizableBuffer(total + 16));
  uint8_t* dst = data_buffer->mutable_data();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t begin = offsets[idx[i]];
    const int64_t length = offsets[idx[i] + 1] - begin;
    if (length <= 16 && begin + 16 <= data_size) {
      std::memcpy(dst + out[i], data + begin, 16);
    } else if (length > 0) {
      std::memcpy(dst + out[i], data + begin, static_cast<size_t>(length));
    }
  }
  ARROW_RETURN_NOT_OK(data_buffer->Resize(total, /*shrink_to_fit=*/false));
  *offsets_out = std::move(offsets_buffer);
  *data_out = std::move(data_buffer);
  return arrow::Status::OK();
}

// One column's rows idx[0, n), or nullptr for a type gathered by Arrow's Take.
arrow::Result<std::shared_ptr<arrow::ArrayData>> GatherColumn(const arrow::ArrayData& in, const uint32_t* idx,
                                                              int64_t n) {
  using arrow::Type;
  std::shared_ptr<arrow::Buffer> values;
  switch (in.type->id()) {
    case Type::BOOL: {
      int64_t nulls = 0;
      ARROW_ASSIGN_OR_RAISE(auto validity, GatherValidity(in, idx, n, &nulls));
      ARROW_ASSIGN_OR_RAISE(values, GatherBits(in, idx, n));
      return arrow::ArrayData::Make(in.type, n, {std::move(validity), std::move(values)}, nulls);
    }
    case Type::STRING:
    case Type::BINARY:
    case Type::LARGE_STRING:
    case Type::LARGE_BINARY: {
      int64_t nulls = 0;
      ARROW_ASSIGN_OR_RAISE(auto validity, GatherValidity(in, idx, n, &nulls));
      std::shared_ptr<arrow::Buffer> offsets, data;
      if (in.type->id() == Type::STRING || in.type->id() == Type::BINARY) {
        ARROW_RETURN_NOT_OK(GatherBinary<int32_t>(in, idx, n, &offsets, &data));
      } else {
        ARROW_RETURN_NOT_OK(GatherBinary<int64_t>(in, idx, n, &offsets, &data));
      }
      return arrow::ArrayData::Make(in.type, n, {std::move(validity), std::move(offsets), std::move(data)}, nulls);
    }
    default:
      break;
  }
  // Primitive layouts (integers, floats, timestamps, dates, decimals): one
  // values buffer of a fixed byte width.
  const bool fixed = arrow::is_primitive(in.type->id()) || in.type->id() == Type::DECIMAL128 ||
                     in.type->id() == Type::DECIMAL256 || in.type->id() == Type::FIXED_SIZE_BINARY;
  if (!fixed || in.buffers.size() != 2 || !in.buffers[1]) return nullptr;
  const int bits = in.type->byte_width() * 8;
  arrow::Result<std::shared_ptr<arrow::Buffer>> gathered;
  switch (bits) {
    case 8: gathered = GatherFixed<uint8_t>(in, idx, n); break;
    case 16: gathered = GatherFixed<uint16_t>(in, idx, n); break;
    case 32: gathered = GatherFixed<uint32_t>(in, idx, n); break;
    case 64: gathered = GatherFixed<uint64_t>(in, idx, n); break;
    case 128: gathered = GatherFixed<std::array<uint64_t, 2>>(in, idx, n); break;
    default: return nullptr;
  }
  ARROW_ASSIGN_OR_RAISE(values, std::move(gathered));
  int64_t nulls = 0;
  ARROW_ASSIGN_OR_RAISE(auto validity, GatherValidity(in, idx, n, &nulls));
  return arrow::ArrayData::Make(in.type, n, {std::move(validity), std::move(values)}, nulls);
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatch>> GatherRows(const std::shared_ptr<arrow::RecordBatch>& batch,
                                                              const std::vector<uint32_t>& order, int64_t begin,
                                                              int64_t end) {
  const int64_t n = end - begin;
  const uint32_t* idx = order.data() + begin;
  auto indices = std::make_shared<arrow::UInt32Array>(n, arrow::Buffer::Wrap(idx, n));
  std::vector<std::shared_ptr<arrow::ArrayData>> columns(batch->num_columns());
  for (size_t c = 0; c < columns.size(); ++c) {
    ARROW_ASSIGN_OR_RAISE(columns[c], GatherColumn(*batch->column_data(static_cast<int>(c)), idx, n));
    if (!columns[c]) {
      // Other types (none a table has today): Arrow's Take. The indices come
      // from SortOrder over this batch: all in bounds.
      ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(batch->column(static_cast<int>(c)), indices,
                                                             arrow::compute::TakeOptions::NoBoundsCheck()));
      columns[c] = taken.make_array()->data();
    }
  }
  return arrow::RecordBatch::Make(batch->schema(), n, std::move(columns));
}

}  // namespace bazof::write
