// The key side of changes (docs/spec.md §19.3).
//
// Two as-of scans decode every column of every planned row at both points.
// Here each point's winners are found from the key and event-time columns
// alone (every format-1 file is sorted by (key, event time), so a key's last
// row at or before the time is its candidate in that file; across files the
// greatest (event time, file rank, row) wins, as the merge decides ties); a
// file both points plan is read once for both. Keys whose winner is the same
// stored event at both points are unchanged and dropped. Values and
// tombstone flags are then decoded only for the remaining winners' row
// groups (page by page where the page index allows, RowGroupAccess::
// TakeValues). It pays where the points share most files (KeySideApplies):
// where they share none, nearly every key's winners differ and every row
// group is decoded anyway.
#include "read/changes_keys.h"

#include <arrow/api.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "bazof/error.h"
#include "planning/planner.h"
#include "read/footer_cache.h"
#include "read/views_util.h"

namespace bazof::read {
namespace {

// Rows of row groups read in one key-side call (as the as-of join does).
constexpr int64_t kReadRows = 16 * 1024;

// One file's candidates: per key (ascending) its last row at or before the
// point's time.
struct FileCandidates {
  std::string arena;             // the keys, encoded, back to back
  std::vector<size_t> offsets;   // key i is arena[offsets[i], offsets[i + 1])
  std::vector<int64_t> micros;   // its event time
  std::vector<int64_t> rows;     // its file row
  std::string_view Key(size_t i) const {
    return std::string_view(arena).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
  size_t size() const { return rows.size(); }
  int64_t bytes() const {
    return static_cast<int64_t>(arena.capacity() + sizeof(size_t) * offsets.capacity() +
                                sizeof(int64_t) * (micros.capacity() + rows.capacity()));
  }
};

// What the key side holds, against its share of the memory budget: each
// file's candidates as their buffers grow, then the winners, then the
// estimated decoded values of the keys that changed.
class KeySideBudget {
 public:
  explicit KeySideBudget(int64_t share) : share_(share) {}
  // Counts `bytes` more (or fewer, when negative); kCapacityError once the
  // total exceeds the share.
  arrow::Status Add(int64_t bytes) {
    const int64_t now = used_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (now <= share_) return arrow::Status::OK();
    return arrow::Status::CapacityError("changes: the key side would hold more than ", share_,
                                        " bytes, its share of the memory budget");
  }

 private:
  const int64_t share_;
  std::atomic<int64_t> used_{0};
};

// A key's winner at one point.
struct Winner {
  std::string_view key;  // into a FileCandidates arena
  int32_t file = -1;     // index into the point's plan
  int64_t row = 0;
  int64_t micros = 0;
};

struct PointState {
  const ChangesPoint* point = nullptr;
  std::vector<planning::PlannedFile> files;
  std::vector<std::unique_ptr<RowGroupAccess>> access;
  std::vector<FileCandidates> candidates;
  std::vector<uint8_t> exact;  // per file: the key side's event micros are the column's values
  std::vector<Winner> winners;  // key order
};

// The key side of one file for every point that plans it (`targets`: the
// point and the file's index in its plan; one or both points), read once.
arrow::Status ReadCandidates(io::Storage& storage, FooterCache* cache,
                             const std::vector<std::pair<PointState*, size_t>>& targets, const KeyBounds& range,
                             KeySideBudget* budget) {
  for (const auto& [p, fi] : targets) {
    ARROW_ASSIGN_OR_RAISE(auto opened, OpenDataFile(storage, p->files[fi], *p->point->shape, cache));
    ARROW_ASSIGN_OR_RAISE(p->access[fi], RowGroupAccess::Make(storage, opened, *p->point->shape));
    p->candidates[fi].offsets.push_back(0);
  }
  auto& access = *targets[0].first->access[targets[0].second];
  const int n_groups = access.file().metadata->num_row_groups();
  std::vector<int> groups;
  for (int g = 0; g < n_groups; ++g) {
    const auto& b = access.file().row_group_bounds[g];
    if (b && !range.Meets(b->first, b->second)) continue;
    groups.push_back(g);
  }
  RowGroupAccess::KeyRuns runs;
  int64_t held = 0;  // the targets' candidate bytes counted so far
  for (const auto& rgs : access.Batches(groups, kReadRows)) {
    ARROW_RETURN_NOT_OK(access.ReadKeyRuns(rgs, &runs));
    const auto& e = runs.event_micros;
    for (const auto& [p, fi] : targets) {
      const int64_t t = p->point->time.micros();
      auto& out = p->candidates[fi];
      for (size_t r = 0; r < runs.keys.size(); ++r) {
        if (!range.Holds(runs.keys[r])) continue;
        const int64_t first = runs.starts[r], end = runs.starts[r + 1];
        const int64_t after = std::upper_bound(e.begin() + first, e.begin() + end, t) - e.begin();
        if (after == first) continue;  // every event of the key here is later
        const int64_t row = runs.file_rows[r] + (after - 1 - first);
        // One key may span adjacent runs: its later run holds its later rows.
        if (out.size() > 0 && out.Key(out.size() - 1) == runs.keys[r]) {
          out.micros.back() = e[after - 1];
          out.rows.back() = row;
          continue;
        }
        out.arena.append(runs.keys[r]);
        out.offsets.push_back(out.arena.size());
        out.micros.push_back(e[after - 1]);
        out.rows.push_back(row);
      }
    }
    int64_t now = 0;
    for (const auto& [p, fi] : targets) now += p->candidates[fi].bytes();
    ARROW_RETURN_NOT_OK(budget->Add(now - held));
    held = now;
  }
  for (const auto& [p, fi] : targets) p->exact[fi] = access.event_micros_exact();
  return arrow::Status::OK();
}

// Merges the files' candidates by key: the winner of each key is the
// greatest (event time, file rank, file index, row).
void MergeWinners(PointState* p) {
  const size_t n_files = p->candidates.size();
  std::vector<size_t> pos(n_files, 0);
  size_t most = 0;  // a lower bound of the winners (the keys)
  for (const auto& c : p->candidates) most = std::max(most, c.size());
  p->winners.reserve(most);
  auto later = [&](int32_t fa, int64_t ta, int64_t ra, const Winner& b) {
    return b.file < 0 ||
           Later({ta, fa, ra}, {b.micros, b.file, b.row}, [&](int64_t f) { return p->files[f].rank; });
  };
  while (true) {
    std::string_view least;
    bool any = false;
    for (size_t f = 0; f < n_files; ++f) {
      if (pos[f] >= p->candidates[f].size()) continue;
      const std::string_view k = p->candidates[f].Key(pos[f]);
      if (!any || k < least) least = k;
      any = true;
    }
    if (!any) break;
    Winner w;
    w.key = least;
    for (size_t f = 0; f < n_files; ++f) {
      auto& c = p->candidates[f];
      if (pos[f] >= c.size() || c.Key(pos[f]) != least) continue;
      const auto fi = static_cast<int32_t>(f);
      if (later(fi, c.micros[pos[f]], c.rows[pos[f]], w)) {
        w.file = fi;
        w.row = c.rows[pos[f]];
        w.micros = c.micros[pos[f]];
        w.key = c.Key(pos[f]);
      }
      ++pos[f];
    }
    p->winners.push_back(w);
  }
}

// Reads an encoded key value back (the inverse of KeyCodec's encoding: string
// and binary keys as their bytes, escaped and terminated when the key is
// composite; integers, dates and timestamps as 8 big-endian bytes, signed
// ones with the sign bit flipped; booleans as one byte).
class KeyDecoder {
 public:
  KeyDecoder(const std::vector<std::shared_ptr<arrow::DataType>>& types) : types_(types) {}

  arrow::Result<arrow::ArrayVector> Decode(const std::vector<std::string_view>& keys) const {
    const bool escaped = types_.size() > 1;
    std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders;
    for (const auto& t : types_) {
      ARROW_ASSIGN_OR_RAISE(auto b, arrow::MakeBuilder(t));
      ARROW_RETURN_NOT_OK(b->Reserve(static_cast<int64_t>(keys.size())));
      builders.push_back(std::move(b));
    }
    std::string unescaped;
    for (std::string_view key : keys) {
      size_t at = 0;
      for (size_t c = 0; c < types_.size(); ++c) {
        const auto id = types_[c]->id();
        auto* b = builders[c].get();
        if (id == arrow::Type::STRING || id == arrow::Type::BINARY || id == arrow::Type::LARGE_STRING ||
            id == arrow::Type::LARGE_BINARY) {
          std::string_view v;
          if (!escaped) {
            v = key.substr(at);
            at = key.size();
          } else {
            unescaped.clear();
            while (true) {
              if (at + 1 >= key.size()) return arrow::Status::Invalid("changes: truncated key");
              const char ch = key[at++];
              if (ch != '\0') {
                unescaped.push_back(ch);
                continue;
              }
              const char next = key[at++];
              if (next == '\0') break;
              unescaped.push_back('\0');  // "\0\xff"
            }
            v = unescaped;
          }
          if (id == arrow::Type::STRING) {
            ARROW_RETURN_NOT_OK(static_cast<arrow::StringBuilder*>(b)->Append(v));
          } else if (id == arrow::Type::BINARY) {
            ARROW_RETURN_NOT_OK(static_cast<arrow::BinaryBuilder*>(b)->Append(v));
          } else if (id == arrow::Type::LARGE_STRING) {
            ARROW_RETURN_NOT_OK(static_cast<arrow::LargeStringBuilder*>(b)->Append(v));
          } else {
            ARROW_RETURN_NOT_OK(static_cast<arrow::LargeBinaryBuilder*>(b)->Append(v));
          }
          continue;
        }
        if (id == arrow::Type::BOOL) {
          if (at >= key.size()) return arrow::Status::Invalid("changes: truncated key");
          static_cast<arrow::BooleanBuilder*>(b)->UnsafeAppend(key[at++] != 0);
          continue;
        }
        if (at + 8 > key.size()) return arrow::Status::Invalid("changes: truncated key");
        uint64_t u;
        std::memcpy(&u, key.data() + at, 8);
        at += 8;
        u = __builtin_bswap64(u);
        const bool is_signed = !arrow::is_unsigned_integer(id);
        const uint64_t v = is_signed ? u ^ (uint64_t{1} << 63) : u;
        switch (id) {
          case arrow::Type::INT8: static_cast<arrow::Int8Builder*>(b)->UnsafeAppend(static_cast<int8_t>(v)); break;
          case arrow::Type::INT16: static_cast<arrow::Int16Builder*>(b)->UnsafeAppend(static_cast<int16_t>(v)); break;
          case arrow::Type::INT32: static_cast<arrow::Int32Builder*>(b)->UnsafeAppend(static_cast<int32_t>(v)); break;
          case arrow::Type::INT64: static_cast<arrow::Int64Builder*>(b)->UnsafeAppend(static_cast<int64_t>(v)); break;
          case arrow::Type::UINT8: static_cast<arrow::UInt8Builder*>(b)->UnsafeAppend(static_cast<uint8_t>(v)); break;
          case arrow::Type::UINT16: static_cast<arrow::UInt16Builder*>(b)->UnsafeAppend(static_cast<uint16_t>(v)); break;
          case arrow::Type::UINT32: static_cast<arrow::UInt32Builder*>(b)->UnsafeAppend(static_cast<uint32_t>(v)); break;
          case arrow::Type::UINT64: static_cast<arrow::UInt64Builder*>(b)->UnsafeAppend(v); break;
          case arrow::Type::DATE32:
            static_cast<arrow::Date32Builder*>(b)->UnsafeAppend(static_cast<int32_t>(v));
            break;
          case arrow::Type::TIMESTAMP:
            static_cast<arrow::TimestampBuilder*>(b)->UnsafeAppend(static_cast<int64_t>(v));
            break;
          default:
            return arrow::Status::NotImplemented("changes: key type ", types_[c]->ToString());
        }
      }
    }
    arrow::ArrayVector out;
    for (auto& b : builders) {
      ARROW_ASSIGN_OR_RAISE(auto a, b->Finish());
      out.push_back(std::move(a));
    }
    return out;
  }

 private:
  const std::vector<std::shared_ptr<arrow::DataType>>& types_;
};

}  // namespace

bool KeySideApplies(const ChangesPoint& from, const ChangesPoint& to) {
  int64_t rows = 0, shared = 0;
  std::vector<std::string> paths[2];
  std::vector<int64_t> sizes[2];
  int s = 0;
  for (const ChangesPoint* p : {&from, &to}) {
    const Snapshot& snap = *p->snapshot;
    if (snap.format_version < 1) return false;
    // The key side compares event times as microseconds: exact only for the
    // format's usual timestamp[us] (other types keep the scans' path).
    const auto& type = snap.schema.event_time.type;
    if (type->id() != arrow::Type::TIMESTAMP ||
        static_cast<const arrow::TimestampType&>(*type).unit() != arrow::TimeUnit::MICRO) {
      return false;
    }
    for (const auto& f : planning::PlanScan(snap, p->time).files) {
      if (!f.ref.sorted) return false;
      rows += std::max<int64_t>(0, f.ref.rows);
      paths[s].push_back(f.ref.path);
      sizes[s].push_back(std::max<int64_t>(0, f.ref.rows));
    }
    ++s;
  }
  for (size_t i = 0; i < paths[0].size(); ++i) {
    if (std::find(paths[1].begin(), paths[1].end(), paths[0][i]) != paths[1].end()) shared += 2 * sizes[0][i];
  }
  // Only where the points share most of their rows' files does it pay: then
  // most keys have the same winner at both and are never decoded. Where the
  // files differ, (almost) every key's winners differ and their row groups
  // are decoded anyway (measured on W1, bench/results/RESULTS.md: 1.7x the
  // scans' CPU with 4096-row groups of one page per column).
  return 2 * shared >= rows;
}

arrow::Result<ChangedWinners> FindChangedWinners(io::Storage& storage, FooterCache* footer_cache,
                                                 const ChangesPoint& from, const ChangesPoint& to,
                                                 const KeyBounds& range, bool drop_same_winners, int threads,
                                                 int64_t memory_limit) {
  KeySideBudget budget(KeySideMemoryShare(memory_limit));
  PointState ps[2];
  ps[0].point = &from;
  ps[1].point = &to;
  for (int s = 0; s < 2; ++s) {
    ps[s].files = planning::PlanScan(*ps[s].point->snapshot, ps[s].point->time).files;
    ps[s].access.resize(ps[s].files.size());
    ps[s].candidates.resize(ps[s].files.size());
    ps[s].exact.assign(ps[s].files.size(), 0);
  }
  // The key side of every planned file, once for both points when both plan it.
  std::vector<std::vector<std::pair<PointState*, size_t>>> jobs;
  std::vector<uint8_t> paired(ps[1].files.size(), 0);
  for (size_t f = 0; f < ps[0].files.size(); ++f) {
    jobs.push_back({{&ps[0], f}});
    for (size_t g = 0; g < ps[1].files.size(); ++g) {
      if (!paired[g] && ps[1].files[g].ref.path == ps[0].files[f].ref.path) {
        jobs.back().emplace_back(&ps[1], g);
        paired[g] = 1;
        break;
      }
    }
  }
  for (size_t g = 0; g < ps[1].files.size(); ++g) {
    if (!paired[g]) jobs.push_back({{&ps[1], g}});
  }
  ARROW_RETURN_NOT_OK(ParallelFor(static_cast<int64_t>(jobs.size()), threads, [&](int64_t j, int) {
    return ReadCandidates(storage, footer_cache, jobs[j], range, &budget);
  }));
  ARROW_RETURN_NOT_OK(ParallelFor(2, threads, [&](int64_t s, int) {
    MergeWinners(&ps[s]);
    return budget.Add(static_cast<int64_t>(sizeof(Winner) * ps[s].winners.capacity()));
  }));

  // The keys whose winners are not the same stored event: per such key, its
  // winner's index at each side (-1: none).
  std::vector<int64_t> pick[2];
  {
    const auto& a = ps[0].winners;
    const auto& b = ps[1].winners;
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
      const int cmp = i == a.size() ? 1 : j == b.size() ? -1 : a[i].key.compare(b[j].key);
      if (cmp < 0) {
        pick[0].push_back(static_cast<int64_t>(i++));
        pick[1].push_back(-1);
      } else if (cmp > 0) {
        pick[0].push_back(-1);
        pick[1].push_back(static_cast<int64_t>(j++));
      } else {
        const bool same = drop_same_winners && a[i].row == b[j].row &&
                          ps[0].files[a[i].file].ref.path == ps[1].files[b[j].file].ref.path;
        if (!same) {
          pick[0].push_back(static_cast<int64_t>(i));
          pick[1].push_back(static_cast<int64_t>(j));
        }
        ++i;
        ++j;
      }
    }
  }
  const size_t n = pick[0].size();

  ChangedWinners out;
  {
    std::vector<std::string_view> keys(n);
    for (size_t k = 0; k < n; ++k) {
      keys[k] = pick[0][k] >= 0 ? ps[0].winners[pick[0][k]].key : ps[1].winners[pick[1][k]].key;
    }
    KeyDecoder decoder(to.shape->codec.types());
    ARROW_ASSIGN_OR_RAISE(out.keys, decoder.Decode(keys));
  }

  // Per side and file: the winners' rows there (ascending: key order is file
  // order), decoded together.
  struct FileTake {
    std::vector<int64_t> rows, micros;
    RowGroupAccess::Taken got;
  };
  std::vector<FileTake> takes[2];
  std::vector<std::pair<int, size_t>> take_jobs;
  for (int s = 0; s < 2; ++s) {
    takes[s].resize(ps[s].files.size());
    out.rows[s].assign(n, -1);
    for (size_t k = 0; k < n; ++k) {
      if (pick[s][k] < 0) continue;
      const Winner& w = ps[s].winners[pick[s][k]];
      auto& t = takes[s][w.file];
      out.rows[s][k] = static_cast<int64_t>(t.rows.size());  // local for now
      t.rows.push_back(w.row);
      t.micros.push_back(w.micros);
    }
    for (size_t f = 0; f < takes[s].size(); ++f) {
      if (!takes[s][f].rows.empty()) take_jobs.emplace_back(s, f);
    }
    int64_t freed = 0;
    for (const auto& c : ps[s].candidates) freed -= c.bytes();
    ps[s].candidates.clear();  // the winners' keys are decoded; the arenas may go
    ps[s].candidates.shrink_to_fit();
    ARROW_RETURN_NOT_OK(budget.Add(freed));
  }
  // The values about to be decoded, estimated from each file's uncompressed
  // bytes per row (all its columns: an upper bound of those returned).
  for (const auto& [s, f] : take_jobs) {
    const auto& meta = *ps[s].access[f]->file().metadata;
    int64_t bytes = 0;
    for (int g = 0; g < meta.num_row_groups(); ++g) bytes += meta.RowGroup(g)->total_byte_size();
    const int64_t per_row = meta.num_rows() > 0 ? bytes / meta.num_rows() + 1 : 0;
    ARROW_RETURN_NOT_OK(budget.Add(per_row * static_cast<int64_t>(takes[s][f].rows.size())));
  }
  ARROW_RETURN_NOT_OK(ParallelFor(static_cast<int64_t>(take_jobs.size()), threads, [&](int64_t j, int) -> arrow::Status {
    const auto [s, f] = take_jobs[j];
    auto& t = takes[s][f];
    // The event times found on the key side are the column's values when
    // the file's column is timestamp[us] as the table's: not decoded twice.
    const bool exact = ps[s].exact[f];
    ARROW_ASSIGN_OR_RAISE(t.got, ps[s].access[f]->TakeValues(t.rows, kReadRows, false, !exact));
    ps[s].access[f].reset();
    if (!exact) return arrow::Status::OK();
    const auto& shape = *ps[s].point->shape;
    const auto& type = shape.output_schema->field(static_cast<int>(shape.codec.num_columns()))->type();
    const auto count = static_cast<int64_t>(t.micros.size());
    t.got.columns[0] = arrow::MakeArray(
        arrow::ArrayData::Make(type, count, {nullptr, arrow::Buffer::FromVector(std::move(t.micros))}, 0));
    return arrow::Status::OK();
  }));

  for (int s = 0; s < 2; ++s) {
    const auto& shape = *ps[s].point->shape;
    const int n_keys = static_cast<int>(shape.codec.num_columns());
    const int n_cols = shape.output_schema->num_fields() - n_keys;
    std::vector<int64_t> offset(takes[s].size() + 1, 0);
    std::vector<arrow::ArrayVector> parts(n_cols);
    for (size_t f = 0; f < takes[s].size(); ++f) {
      const auto& t = takes[s][f];
      offset[f + 1] = offset[f] + static_cast<int64_t>(t.rows.size());
      if (t.rows.empty()) continue;
      for (int c = 0; c < n_cols; ++c) parts[c].push_back(t.got.columns[c]);
    }
    for (size_t k = 0; k < n; ++k) {
      if (pick[s][k] < 0) continue;
      const int32_t f = ps[s].winners[pick[s][k]].file;
      const int64_t local = out.rows[s][k];
      const auto& deleted = takes[s][f].got.deleted;
      const bool tombstone = deleted && static_cast<const arrow::BooleanArray&>(*deleted).Value(local);
      out.rows[s][k] = tombstone ? -1 : offset[f] + local;
    }
    for (int c = 0; c < n_cols; ++c) {
      const auto& type = shape.output_schema->field(n_keys + c)->type();
      if (parts[c].empty()) {
        ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(type));
        out.columns[s].push_back(std::move(empty));
      } else if (parts[c].size() == 1) {
        out.columns[s].push_back(parts[c][0]);
      } else {
        ARROW_ASSIGN_OR_RAISE(auto all, arrow::Concatenate(parts[c]));
        out.columns[s].push_back(std::move(all));
      }
    }
  }
  return out;
}

}  // namespace bazof::read
