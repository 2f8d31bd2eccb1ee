// PlanSplits: a pinned scan cut into key ranges (docs/spec.md, "Scan splits").
//
//   scan options ──Build()──▶ planned files (validated, pruned by the filter's key range)
//   each file ──▶ pieces: its row groups' [min, max] keys and bytes (Parquet
//                 footer), or the file's [min, max] keys (snapshot)
//   pieces ──▶ a cumulative byte curve over the key axis ──▶ cut points at
//              every total/n bytes ──▶ splits [cut_i, cut_i+1)
#include <arrow/api.h>
#include <arrow/compute/expression.h>
#include <arrow/compute/api.h>
#include <parquet/metadata.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

#include "bazof/error.h"
#include "bazof/split.h"
#include "bazof/views.h"
#include "io/storage.h"
#include "metadata/key_text.h"
#include "planning/planner.h"
#include "read/run_reader.h"
#include "read/scan_filter.h"

namespace bazof {
namespace {

constexpr int64_t kDefaultTargetBytes = 128LL << 20;

// A part of a file with known key bounds: a row group, or a whole file.
struct Piece {
  std::string lo, hi;  // encoded keys, inclusive
  double bytes = 0, rows = 0;
};

// Positions on the key axis: the 8 bytes after the prefix every key shares,
// as a number. Keys are byte strings in memcmp order, so the position is
// monotone in the key; between two statistics bounds, data is assumed spread
// evenly along it.
class KeyAxis {
 public:
  KeyAxis(const std::string& min, const std::string& max) {
    size_t n = 0;
    while (n < min.size() && n < max.size() && min[n] == max[n]) ++n;
    prefix_ = min.substr(0, n);
  }
  double Pos(const std::string& key) const {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) {
      const size_t at = prefix_.size() + i;
      v = (v << 8) | (at < key.size() ? static_cast<unsigned char>(key[at]) : 0u);
    }
    return static_cast<double>(v);
  }
  std::string Key(double x) const {
    uint64_t v = x <= 0 ? 0 : x >= 18446744073709551615.0 ? UINT64_MAX : static_cast<uint64_t>(x);
    std::string out = prefix_;
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return out;
  }

 private:
  std::string prefix_;
};

// The share of `p` at key positions below x.
double Below(const Piece& p, const KeyAxis& axis, double x) {
  const double lo = axis.Pos(p.lo), hi = axis.Pos(p.hi);
  if (x <= lo) return 0;
  if (x > hi) return 1;
  return hi > lo ? (x - lo) / (hi - lo) : 1;
}

double BytesBelow(const std::vector<Piece>& pieces, const KeyAxis& axis, double x, bool rows) {
  double sum = 0;
  for (const auto& p : pieces) sum += (rows ? p.rows : p.bytes) * Below(p, axis, x);
  return sum;
}

bool Meets(const std::optional<std::string>& file_lo, const std::optional<std::string>& file_hi,
           const std::optional<std::string>& lower, const std::optional<std::string>& upper) {
  if (!file_lo || !file_hi) return true;  // no recorded range: may hold any key
  if (upper && *file_lo >= *upper) return false;
  if (lower && *file_hi < *lower) return false;
  return true;
}

// The filter with the scan's key list and key range as terms on the
// (single) key column: is_in(key, [...]) and key >= min and key <= max, the
// keys parsed by the key's type as Build() parses them (it validated them).
arrow::Result<std::optional<arrow::compute::Expression>> WithKeyTerms(const ScanOptions& o,
                                                                      const TableSchema& schema,
                                                                      const read::KeyCodec& codec) {
  namespace cp = arrow::compute;
  std::optional<cp::Expression> out = o.filter;
  auto add = [&](cp::Expression term) { out = out ? cp::and_(*out, std::move(term)) : std::move(term); };
  if (!o.keys_in.empty()) {
    // Keys by column: (k1 == a and k2 == b) or ..., one term per listed key.
    std::vector<cp::Expression> any;
    for (const auto& pairs : o.keys_in) {
      ARROW_ASSIGN_OR_RAISE(auto texts, metadata::KeyTexts(schema, pairs));
      std::vector<cp::Expression> all;
      for (size_t c = 0; c < texts.size(); ++c) {
        auto scalar = arrow::Scalar::Parse(codec.types()[c], texts[c]);
        if (!scalar.ok()) {
          return InvalidArgument("key '", texts[c], "' is not a valid ", codec.types()[c]->ToString(),
                                 " (column '", schema.key_columns[c].name, "')");
        }
        all.push_back(cp::equal(cp::field_ref(schema.key_columns[c].name), cp::literal(*std::move(scalar))));
      }
      any.push_back(cp::and_(std::move(all)));
    }
    add(cp::or_(std::move(any)));
  }
  if (o.key_in.empty() && !o.key_min && !o.key_max) return out;
  if (schema.key_columns.size() != 1) {
    return InvalidArgument("key filters on composite keys are not supported yet");
  }
  const auto& type = codec.types()[0];
  const cp::Expression key = cp::field_ref(schema.key_columns[0].name);
  auto parse = [&](const std::string& text) -> arrow::Result<std::shared_ptr<arrow::Scalar>> {
    auto scalar = arrow::Scalar::Parse(type, text);
    if (!scalar.ok()) {
      return InvalidArgument("key '", text, "' is not a valid ", type->ToString(), " (column '",
                             schema.key_columns[0].name, "')");
    }
    return *scalar;
  };
  if (!o.key_in.empty()) {
    std::vector<std::shared_ptr<arrow::Scalar>> values;
    for (const auto& k : o.key_in) {
      ARROW_ASSIGN_OR_RAISE(auto v, parse(k));
      values.push_back(std::move(v));
    }
    ARROW_ASSIGN_OR_RAISE(auto builder, arrow::MakeBuilder(type));
    ARROW_RETURN_NOT_OK(builder->AppendScalars(values));
    ARROW_ASSIGN_OR_RAISE(auto set, builder->Finish());
    add(cp::call("is_in", {key}, cp::SetLookupOptions(set)));
  }
  if (o.key_min) {
    ARROW_ASSIGN_OR_RAISE(auto v, parse(*o.key_min));
    add(cp::greater_equal(key, cp::literal(std::move(v))));
  }
  if (o.key_max) {
    ARROW_ASSIGN_OR_RAISE(auto v, parse(*o.key_max));
    add(cp::less_equal(key, cp::literal(std::move(v))));
  }
  return out;
}

// The encoded keys a scan can return: a sorted key set (from ==/is_in),
// inclusive bounds (from comparisons) and the [lower, upper) encoded range.
struct KeySpace {
  std::optional<std::vector<std::string>> keys;
  std::optional<std::string> lo, hi;  // inclusive
  std::optional<std::string> range_lo, range_hi;  // encoded range: inclusive, exclusive

  bool Holds(const std::string& k) const {
    return (!lo || k >= *lo) && (!hi || k <= *hi) && (!range_lo || k >= *range_lo) && (!range_hi || k < *range_hi);
  }
  // Narrows the inclusive bounds of a piece to the keys the scan can return;
  // false when it holds none.
  bool Narrow(std::string* plo, std::string* phi) const {
    if (keys) {
      auto first = std::lower_bound(keys->begin(), keys->end(), *plo);
      auto last = std::upper_bound(keys->begin(), keys->end(), *phi);
      if (first == last) return false;
      *plo = *first;
      *phi = *(last - 1);
      return true;
    }
    if ((hi && *plo > *hi) || (lo && *phi < *lo)) return false;
    if ((range_hi && *plo >= *range_hi) || (range_lo && *phi < *range_lo)) return false;
    if (lo && *plo < *lo) *plo = *lo;
    if (range_lo && *plo < *range_lo) *plo = *range_lo;
    if (hi && *phi > *hi) *phi = *hi;
    return true;
  }
  // Narrows a split's [lower, upper) to the encoded range.
  void Clip(std::optional<std::string>* lower, std::optional<std::string>* upper) const {
    if (range_lo && (!*lower || **lower < *range_lo)) *lower = range_lo;
    if (range_hi && (!*upper || *range_hi < **upper)) *upper = range_hi;
  }
  // Whether [lower, upper) may hold a key the scan returns.
  bool Meets(const std::optional<std::string>& lower, const std::optional<std::string>& upper) const {
    if (lower && upper && *upper <= *lower) return false;
    if (keys) {
      auto it = lower ? std::lower_bound(keys->begin(), keys->end(), *lower) : keys->begin();
      return it != keys->end() && (!upper || *it < *upper);
    }
    if (hi && lower && *lower > *hi) return false;
    if (lo && upper && *upper <= *lo) return false;
    return true;
  }
};

KeySpace MakeKeySpace(const std::optional<arrow::compute::Expression>& filter, const ScanOptions& o,
                      const TableSchema& schema, const read::KeyCodec& codec) {
  KeySpace space;
  space.range_lo = o.encoded_key_lower;
  space.range_hi = o.encoded_key_upper;
  if (filter && schema.key_columns.size() == 1) {
    auto c = read::DeriveKeyConstraints(*filter, schema.key_columns[0].name, codec);
    space.lo = std::move(c.lower);
    space.hi = std::move(c.upper);
    // Bounds that cross allow no key at all.
    if (space.lo && space.hi && *space.hi < *space.lo) c.key_in.emplace();
    if (c.key_in) {
      std::vector<std::string> kept;
      for (auto& k : *c.key_in) {
        if (space.Holds(k)) kept.push_back(std::move(k));
      }
      space.keys = std::move(kept);
    }
  }
  return space;
}

}  // namespace

arrow::Result<std::vector<Split>> PlanSplits(const ScanBuilder& builder, const SplitOptions& options) {
  const ScanOptions& o = builder.options();
  const auto& table = builder.table();
  if (o.encoded_key_lower && o.encoded_key_upper && *o.encoded_key_upper <= *o.encoded_key_lower) {
    return InvalidArgument("splits: the encoded key range is empty (upper is not above lower)");
  }
  if (options.target_bytes && *options.target_bytes <= 0) {
    return InvalidArgument("splits: target bytes must be positive, not ", *options.target_bytes);
  }
  if (options.max_splits && *options.max_splits <= 0) {
    return InvalidArgument("splits: max splits must be positive, not ", *options.max_splits);
  }

  // Pin the version, and let Build() validate columns, filter, key lists,
  // key ranges and version, exactly as for the unsplit scan.
  ScanBuilder pinned = builder;
  const Version version = o.version ? *o.version : table->current_version();
  pinned.AtVersion(version);
  pinned.AllEvents(options.kind == SplitKind::kEvents);
  ARROW_ASSIGN_OR_RAISE(auto scan, pinned.Build());
  ARROW_ASSIGN_OR_RAISE(auto snap, table->SnapshotAt(version));
  ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(*snap, {}));
  const read::KeyCodec& codec = shape->codec;

  const std::vector<std::string> scan_files = scan->files();
  const std::set<std::string> wanted(scan_files.begin(), scan_files.end());
  const int64_t target_hint = options.target_bytes.value_or(kDefaultTargetBytes);

  struct FileInfo {
    std::string path;
    std::optional<std::string> lo, hi;
  };
  std::vector<FileInfo> files;
  std::vector<Piece> pieces;
  double total = 0;
  double unstated = 0;  // bytes of files without key statistics: every split reads them
  std::set<std::string> seen;
  for (const DataFileRef* ref : snap->AllFiles()) {
    if (!wanted.count(ref->path) || !seen.insert(ref->path).second) continue;
    FileInfo info{ref->path, std::nullopt, std::nullopt};
    if (ref->min_key.size() == codec.num_columns() && ref->max_key.size() == codec.num_columns()) {
      auto lo = codec.EncodeScalars(ref->min_key);
      auto hi = codec.EncodeScalars(ref->max_key);
      if (lo.ok() && hi.ok()) {
        info.lo = *lo;
        info.hi = *hi;
      }
    }
    double bytes = ref->size >= 0 ? static_cast<double>(ref->size) : -1;
    const double rows = ref->rows >= 0 ? static_cast<double>(ref->rows) : 0;
    // A file big enough to matter (or of unknown size) is cut at its row
    // groups: their key bounds come from its footer.
    bool by_row_group = false;
    if (bytes < 0 || bytes > static_cast<double>(target_hint) / 8 || options.max_splits) {
      planning::PlannedFile planned{*ref, false, 0};
      ARROW_ASSIGN_OR_RAISE(auto opened,
                            read::OpenDataFile(*table->storage(), planned, *shape, table->footer_cache().get()));
      const auto& md = *opened->metadata;
      double compressed = 0;
      for (int rg = 0; rg < md.num_row_groups(); ++rg) {
        compressed += static_cast<double>(md.RowGroup(rg)->total_compressed_size());
      }
      if (bytes < 0) bytes = compressed;
      by_row_group = md.num_row_groups() > 0 && compressed > 0 &&
                     std::all_of(opened->row_group_bounds.begin(), opened->row_group_bounds.end(),
                                 [](const auto& b) { return b.has_value(); });
      if (by_row_group) {
        for (int rg = 0; rg < md.num_row_groups(); ++rg) {
          const double share = static_cast<double>(md.RowGroup(rg)->total_compressed_size()) / compressed;
          pieces.push_back(Piece{opened->row_group_bounds[rg]->first, opened->row_group_bounds[rg]->second,
                                 bytes * share, static_cast<double>(md.RowGroup(rg)->num_rows())});
        }
      }
    }
    if (bytes < 0) bytes = 0;
    total += bytes;
    if (!by_row_group && info.lo) pieces.push_back(Piece{*info.lo, *info.hi, bytes, rows});
    if (!by_row_group && !info.lo) unstated += bytes;
    files.push_back(std::move(info));
  }

  // Key lists and key ranges travel in the split's filter (§16): every
  // reader applies them as the unsplit scan does.
  ARROW_ASSIGN_OR_RAISE(auto filter, WithKeyTerms(o, snap->schema, codec));

  // The keys the scan can return (a filter restricting the key, §7a, key
  // lists, key ranges, an encoded range): pieces outside are never read, and
  // splits holding none of them are dropped.
  const KeySpace space = MakeKeySpace(filter, o, snap->schema, codec);
  {
    std::vector<Piece> kept;
    for (auto& p : pieces) {
      const std::string lo = p.lo, hi = p.hi;
      if (!space.Narrow(&p.lo, &p.hi)) continue;
      // A range keeps the share of the piece's bytes and rows between its
      // new bounds (spread evenly along the key axis, as for cuts); a key
      // list keeps the piece whole (its row groups are read whole).
      if (!space.keys && (p.lo != lo || p.hi != hi) && lo < hi) {
        const KeyAxis axis(lo, hi);
        const double width = axis.Pos(hi) - axis.Pos(lo);
        const double share = width > 0 ? std::clamp((axis.Pos(p.hi) - axis.Pos(p.lo)) / width, 0.0, 1.0) : 1.0;
        p.bytes *= share;
        p.rows *= share;
      }
      kept.push_back(std::move(p));
    }
    pieces = std::move(kept);
  }

  // How many parts.
  double known = 0;
  for (const auto& p : pieces) known += p.bytes;
  total = known + unstated;
  int64_t n = 1;
  if (options.target_bytes || !options.max_splits) {
    n = static_cast<int64_t>(std::ceil(total / static_cast<double>(target_hint)));
  } else {
    n = *options.max_splits;
  }
  if (options.max_splits) n = std::min<int64_t>(n, *options.max_splits);
  n = std::max<int64_t>(n, 1);

  std::vector<std::string> cuts;
  if (n > 1 && !pieces.empty() && known > 0) {
    std::string gmin = pieces[0].lo, gmax = pieces[0].hi;
    for (const auto& p : pieces) {
      gmin = std::min(gmin, p.lo);
      gmax = std::max(gmax, p.hi);
    }
    const KeyAxis axis(gmin, gmax);
    const double left = axis.Pos(gmin), right = axis.Pos(gmax) + 1;
    for (int64_t j = 1; j < n; ++j) {
      const double goal = known * static_cast<double>(j) / static_cast<double>(n);
      double a = left, b = right;
      for (int it = 0; it < 80 && a < b; ++it) {
        const double mid = a + (b - a) / 2;
        if (mid == a || mid == b) break;
        if (BytesBelow(pieces, axis, mid, false) < goal) a = mid;
        else b = mid;
      }
      std::string cut = axis.Key(b);
      // Only cuts that leave keys on both sides, strictly increasing.
      if (cut <= gmin || cut > gmax) continue;
      if (!cuts.empty() && cut <= cuts.back()) continue;
      cuts.push_back(std::move(cut));
    }
  }

  // Serialized options every split carries.
  std::optional<std::string> serialized;
  if (filter) {
    ARROW_ASSIGN_OR_RAISE(auto buf, arrow::compute::Serialize(*filter));
    serialized = buf->ToString();
  }
  std::vector<Split> out;
  const int count = static_cast<int>(cuts.size()) + 1;
  std::optional<KeyAxis> axis;
  if (!pieces.empty()) {
    std::string gmin = pieces[0].lo, gmax = pieces[0].hi;
    for (const auto& p : pieces) {
      gmin = std::min(gmin, p.lo);
      gmax = std::max(gmax, p.hi);
    }
    axis.emplace(gmin, gmax);
  }
  for (int i = 0; i < count; ++i) {
    Split s;
    s.kind = options.kind;
    s.version = version;
    s.as_of = o.as_of;
    s.columns = o.columns;
    s.filter = serialized;
    if (i > 0) s.lower = cuts[i - 1];
    if (i + 1 < count) s.upper = cuts[i];
    space.Clip(&s.lower, &s.upper);
    // Keep a split that may return rows; if none may, one split (which
    // returns nothing) still stands for the scan.
    const bool last_chance = i + 1 == count && out.empty();
    if (!space.Meets(s.lower, s.upper) && !last_chance) continue;
    if (last_chance && !space.Meets(s.lower, s.upper)) {
      s.lower = o.encoded_key_lower;
      s.upper = o.encoded_key_upper;
    }
    s.table = table->location();
    for (const auto& f : files) {
      if (Meets(f.lo, f.hi, s.lower, s.upper)) s.files.push_back(f.path);
    }
    if (count == 1) {
      s.estimated_bytes = static_cast<int64_t>(total);
      double rows = 0;
      for (const auto& p : pieces) rows += p.rows;
      s.estimated_rows = static_cast<int64_t>(rows);
    } else if (axis) {
      const double lo = s.lower ? axis->Pos(*s.lower) : -1, hi = s.upper ? axis->Pos(*s.upper) : 1e30;
      s.estimated_bytes = static_cast<int64_t>(BytesBelow(pieces, *axis, hi, false) -
                                               BytesBelow(pieces, *axis, lo, false) + unstated);
      s.estimated_rows =
          static_cast<int64_t>(BytesBelow(pieces, *axis, hi, true) - BytesBelow(pieces, *axis, lo, true));
    }
    out.push_back(std::move(s));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].index = static_cast<int>(i);
    out[i].count = static_cast<int>(out.size());
  }
  return out;
}

arrow::Result<std::vector<Split>> PlanIntervalSplits(const Table& table, const IntervalOptions& intervals,
                                                     const SplitOptions& options) {
  // Pinned and validated as the unsplit view (columns, filter, window, format).
  if (intervals.encoded_key_lower && intervals.encoded_key_upper &&
      *intervals.encoded_key_upper <= *intervals.encoded_key_lower) {
    return InvalidArgument("splits: the encoded key range is empty (upper is not above lower)");
  }
  IntervalOptions pinned = intervals;
  const Version version = intervals.version.value_or(table.current_version());
  pinned.version = version;
  ARROW_RETURN_NOT_OK(MakeIntervals(table, pinned).status());
  ARROW_ASSIGN_OR_RAISE(auto snap, table.SnapshotAt(version));

  // The keys the view can return: the encoded range, narrowed by the
  // filter's terms on a single key column (as MakeIntervals narrows what it
  // reads); the events of other keys are never planned.
  std::optional<std::string> lower = intervals.encoded_key_lower, upper = intervals.encoded_key_upper;
  if (intervals.filter && snap->schema.key_columns.size() == 1) {
    ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(*snap, {}));
    const auto [lo, hi] = read::EncodedRange(
        read::DeriveKeyConstraints(*intervals.filter, snap->schema.key_columns[0].name, shape->codec));
    read::NarrowRange(&lower, &upper, lo, hi);
  }
  // Filter terms that allow no key in the range: the range alone is
  // planned, and its splits return nothing (the filter travels with them).
  if (lower && upper && *upper <= *lower) {
    lower = intervals.encoded_key_lower;
    upper = intervals.encoded_key_upper;
  }

  auto events = table.NewScan();
  events.AtVersion(version).EncodedKeyRange(lower, upper);
  SplitOptions planned = options;
  planned.kind = SplitKind::kEvents;
  ARROW_ASSIGN_OR_RAISE(auto splits, PlanSplits(events, planned));
  std::optional<std::string> serialized;
  if (intervals.filter) {
    ARROW_ASSIGN_OR_RAISE(auto buf, arrow::compute::Serialize(*intervals.filter));
    serialized = buf->ToString();
  }
  for (auto& s : splits) {
    s.kind = SplitKind::kIntervals;
    s.as_of = EventTime::Max();
    s.columns = intervals.columns;
    s.filter = serialized;
    s.start = intervals.start;
    s.end = intervals.end;
    s.coalesce = intervals.coalesce;
  }
  return splits;
}

arrow::Result<std::vector<Split>> PlanChangeSplits(const Table& table, const ChangeOptions& changes,
                                                   const SplitOptions& options) {
  // Both versions pinned now, validated as the unsplit view.
  ChangeOptions pinned = changes;
  pinned.from_version = changes.from_version.value_or(table.current_version());
  pinned.to_version = changes.to_version.value_or(table.current_version());
  ARROW_RETURN_NOT_OK(MakeChanges(table, pinned).status());
  if (changes.encoded_key_lower && changes.encoded_key_upper &&
      *changes.encoded_key_upper <= *changes.encoded_key_lower) {
    return InvalidArgument("splits: the encoded key range is empty (upper is not above lower)");
  }
  // Cut as the new point's as-of scan: its key statistics. The splits tile
  // the key space (or the given range), so keys only the old point holds
  // fall in them too.
  auto scan = table.NewScan();
  scan.AtVersion(*pinned.to_version).AsOf(changes.to_time).EncodedKeyRange(changes.encoded_key_lower,
                                                                          changes.encoded_key_upper);
  SplitOptions planned = options;
  planned.kind = SplitKind::kScan;
  ARROW_ASSIGN_OR_RAISE(auto splits, PlanSplits(scan, planned));
  for (auto& s : splits) {
    s.kind = SplitKind::kChanges;
    s.as_of = EventTime::Max();
    s.from_time = changes.from_time;
    s.to_time = changes.to_time;
    s.from_version = *pinned.from_version;
    s.version = *pinned.to_version;
    s.columns = changes.columns;
    s.filter = std::nullopt;
  }
  return splits;
}

}  // namespace bazof
