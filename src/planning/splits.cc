// PlanSplits: a pinned scan cut into key ranges (docs/spec.md, "Scan splits").
//
//   scan options ──Build()──▶ planned files (validated, pruned by the filter's key range)
//   each file ──▶ pieces: its row groups' [min, max] keys and bytes (Parquet
//                 footer), or the file's [min, max] keys (snapshot)
//   pieces ──▶ a cumulative byte curve over the key axis ──▶ cut points at
//              every total/n bytes ──▶ splits [cut_i, cut_i+1)
#include <arrow/api.h>
#include <arrow/compute/expression.h>
#include <parquet/metadata.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

#include "bazof/error.h"
#include "bazof/split.h"
#include "io/storage.h"
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

}  // namespace

arrow::Result<std::vector<Split>> PlanSplits(const ScanBuilder& builder, const SplitOptions& options) {
  const ScanOptions& o = builder.options();
  const auto& table = builder.table();
  if (!o.key_in.empty() || o.key_min || o.key_max || o.encoded_key_lower || o.encoded_key_upper) {
    return InvalidArgument("splits: restrict keys with a filter, not with key lists or key ranges");
  }
  if (options.target_bytes && *options.target_bytes <= 0) {
    return InvalidArgument("splits: target bytes must be positive, not ", *options.target_bytes);
  }
  if (options.max_splits && *options.max_splits <= 0) {
    return InvalidArgument("splits: max splits must be positive, not ", *options.max_splits);
  }

  // Pin the version, and let Build() validate columns, filter and version.
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

  // A filter restricting the key (§7a) leaves pieces outside its range
  // unread: cut only what the scan reads.
  if (o.filter && snap->schema.key_columns.size() == 1) {
    auto keys = read::DeriveKeyConstraints(*o.filter, snap->schema.key_columns[0].name, codec);
    if (keys.key_in && !keys.key_in->empty()) {
      if (!keys.lower || *keys.lower < keys.key_in->front()) keys.lower = keys.key_in->front();
      if (!keys.upper || keys.key_in->back() < *keys.upper) keys.upper = keys.key_in->back();
    }
    std::vector<Piece> kept;
    for (auto& p : pieces) {
      if ((keys.lower && p.hi < *keys.lower) || (keys.upper && p.lo > *keys.upper)) continue;
      if (keys.lower && p.lo < *keys.lower) p.lo = *keys.lower;
      if (keys.upper && p.hi > *keys.upper) p.hi = *keys.upper;
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
  std::optional<std::string> filter;
  if (o.filter) {
    ARROW_ASSIGN_OR_RAISE(auto buf, arrow::compute::Serialize(*o.filter));
    filter = buf->ToString();
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
    s.filter = filter;
    if (i > 0) s.lower = cuts[i - 1];
    if (i + 1 < count) s.upper = cuts[i];
    s.index = i;
    s.count = count;
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
  return out;
}

}  // namespace bazof
