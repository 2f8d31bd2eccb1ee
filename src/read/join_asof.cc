// The as-of join (docs/spec.md, "As-of join").
//
// Every data file is sorted by (key, event time), so each spine row's
// candidate in one file is found from the key and event-time columns alone:
// the last row at or before (key, time). The spine is sorted by (encoded key,
// time) once; each file's row groups that can hold a spine key are read on
// the key side only (keys and event time) and walked together with the
// sorted spine, as runs of one key (files latest first, so a spine row whose
// candidate is later than a file's last event skips that file); the winner
// of a spine row across files is the candidate with
// the greatest (event time, file rank, row position), as the merge decides
// ties. Value columns and tombstone flags are decoded afterwards, only in the
// row groups that hold a winner, and only the winners are taken from them (a
// tombstone winner matches nothing).
// Row groups are read several at a time (up to kReadRows rows per call, their
// column chunks pre-buffered together; on object storage larger calls, merged
// into few requests). Files are independent, so they are walked on parallel threads.
// The winners' values are copied from the decoded chunks straight to their
// spine rows in preallocated output columns (ScatterOutput): one copy of
// each value, no per-file take, concatenation and final take.
//
// A file not sorted by key (never written by format 1) falls back to the
// all-events merge.
#include "bazof/join.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <numeric>
#include <thread>

#include "bazof/error.h"
#include "bazof/table.h"
#include "planning/planner.h"
#include "util/memory_budget.h"
#include "read/recycling_pool.h"
#include "read/run_reader.h"
#include "read/run_reader_internal.h"
#include "read/scan_reader.h"
#include "read/views_util.h"

namespace bazof {
namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000LL;
constexpr int64_t kSparseRowsPerKey = 8192;
// Rows of row groups the join reads in one call: small row groups (spec §6)
// are read several at a time, their column chunks pre-buffered together.
// Measured on W1 (4096-row groups, bench/results/RESULTS.md): locally 16 Ki
// rows cost j1 3% less CPU than one row group per call and j2 the same, 64 Ki
// rows gave j2 +25% CPU and 3x the peak RSS (larger transient buffers). On
// object storage a call is about one request (ranges merge, run_reader.cc),
// so there a call takes up to 256 Ki rows: a file of that size is read in two
// GETs (key side, values), at the cost of decoding that many rows at once.
constexpr int64_t kReadRows = 16 * 1024;
constexpr int64_t kReadRowsHighLatency = 256 * 1024;

int64_t SaturatingMul(int64_t v, int64_t m) {
  int64_t out;
  if (__builtin_mul_overflow(v, m, &out)) {
    return v < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return out;
}

int64_t FloorDiv(int64_t v, int64_t d) {
  int64_t q = v / d;
  return (v % d != 0 && v < 0) ? q - 1 : q;
}

// Microseconds since the epoch of a timestamp/date array, floored: a time of
// 10:00:00.0000009 sees events at 10:00:00.000000, never later ones. Nulls
// get `valid[i] = false`.
arrow::Status ToMicros(const arrow::Array& a, std::vector<int64_t>* micros, std::vector<uint8_t>* valid) {
  const int64_t n = a.length();
  micros->resize(n);
  valid->assign(n, 1);
  auto fill = [&](auto&& values, auto&& convert) {
    for (int64_t i = 0; i < n; ++i) {
      if (a.IsNull(i)) {
        (*valid)[i] = 0;
        (*micros)[i] = 0;
      } else {
        (*micros)[i] = convert(values[i]);
      }
    }
  };
  switch (a.type_id()) {
    case arrow::Type::TIMESTAMP: {
      const auto& t = static_cast<const arrow::TimestampType&>(*a.type());
      const int64_t* v = static_cast<const arrow::TimestampArray&>(a).raw_values();
      switch (t.unit()) {
        case arrow::TimeUnit::SECOND: fill(v, [](int64_t x) { return SaturatingMul(x, 1000000); }); break;
        case arrow::TimeUnit::MILLI: fill(v, [](int64_t x) { return SaturatingMul(x, 1000); }); break;
        case arrow::TimeUnit::MICRO: fill(v, [](int64_t x) { return x; }); break;
        case arrow::TimeUnit::NANO: fill(v, [](int64_t x) { return FloorDiv(x, 1000); }); break;
      }
      return arrow::Status::OK();
    }
    case arrow::Type::DATE32: {
      const int32_t* v = static_cast<const arrow::Date32Array&>(a).raw_values();
      fill(v, [](int32_t x) { return static_cast<int64_t>(x) * kMicrosPerDay; });
      return arrow::Status::OK();
    }
    case arrow::Type::DATE64: {
      const int64_t* v = static_cast<const arrow::Date64Array&>(a).raw_values();
      fill(v, [](int64_t x) { return SaturatingMul(x, 1000); });
      return arrow::Status::OK();
    }
    default:
      return arrow::Status::TypeError(a.type()->ToString());
  }
}

// The first 8 bytes of an encoded key, big-endian, zero-padded: comparing
// these first settles almost every comparison without a memcmp call.
inline uint64_t Prefix8(std::string_view key) {
  uint64_t v = 0;
  if (!key.empty()) std::memcpy(&v, key.data(), std::min<size_t>(8, key.size()));
  return __builtin_bswap64(v);
}

// Three-way comparison of encoded keys a and b, given their Prefix8. Equal
// prefixes of keys no longer than 8 bytes differ only by length (the shorter
// one is a prefix of the other, zero-padded).
inline int CompareKeys(uint64_t pa, std::string_view a, uint64_t pb, std::string_view b) {
  if (pa != pb) return pa < pb ? -1 : 1;
  if (a.size() <= 8 && b.size() <= 8) return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
  return a.compare(b);
}

// `matched` (one row per spine row; -1: no match) as an int64 array, null
// where negative.
arrow::Result<std::shared_ptr<arrow::Array>> MatchedIndices(const std::vector<int64_t>& matched) {
  arrow::Int64Builder idx;
  ARROW_RETURN_NOT_OK(idx.Reserve(static_cast<int64_t>(matched.size())));
  for (int64_t m : matched) {
    if (m < 0) idx.UnsafeAppendNull();
    else idx.UnsafeAppend(m);
  }
  return idx.Finish();
}

// Rows `indices` of `pieces` (of `type`) concatenated, from the read path's pool.
arrow::Result<std::shared_ptr<arrow::Array>> TakeFromPieces(const arrow::ArrayVector& pieces,
                                                            const arrow::Array& indices,
                                                            const std::shared_ptr<arrow::DataType>& type) {
  std::shared_ptr<arrow::Array> all;
  if (pieces.empty()) {
    ARROW_ASSIGN_OR_RAISE(all, arrow::MakeEmptyArray(type));
  } else if (pieces.size() == 1) {
    all = pieces[0];
  } else {
    ARROW_ASSIGN_OR_RAISE(all, arrow::Concatenate(pieces, read::RecyclingPool()));
  }
  arrow::compute::ExecContext ctx(read::RecyclingPool());
  return arrow::compute::Take(*all, indices, arrow::compute::TakeOptions::Defaults(), &ctx);
}

// The spine rows in (encoded key, time) order, with each one's key prefix
// and time. The sort moves small records (key prefix, time, length, row)
// rather than indices into other arrays: almost every comparison is settled
// inside the record. With several threads, as many slices are sorted at once
// and merged (a 1M-row spine: 76 -> 45 ms on two cores).
struct SortedSpine {
  std::vector<int64_t> order;
  std::vector<std::string_view> keys;
  std::vector<uint64_t> prefix;
  std::vector<int64_t> micros;
};

arrow::Result<SortedSpine> SortSpine(const read::KeyCodes& codes, const std::vector<int64_t>& micros, int threads) {
  struct Entry {
    uint64_t prefix;
    int64_t micros;
    int64_t size;
    int64_t row;
  };
  const int64_t n = static_cast<int64_t>(micros.size());
  std::vector<Entry> entries(n);
  for (int64_t i = 0; i < n; ++i) {
    const std::string_view k = codes.views[i];
    entries[i] = Entry{Prefix8(k), micros[i], static_cast<int64_t>(k.size()), i};
  }
  auto less = [&](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    if (a.size <= 8 && b.size <= 8) {
      if (a.size != b.size) return a.size < b.size;
    } else if (const int c = codes.views[a.row].compare(codes.views[b.row]); c != 0) {
      return c < 0;
    }
    return a.micros < b.micros;
  };
  // Slices of at least 64Ki rows; merged pairwise (rows equal under `less`
  // are equal in key and time, so their order among themselves is free).
  const int64_t slices = std::clamp<int64_t>(n / 65536, 1, std::max(1, threads));
  std::vector<int64_t> bounds(slices + 1);
  for (int64_t i = 0; i <= slices; ++i) bounds[i] = n * i / slices;
  ARROW_RETURN_NOT_OK(read::ParallelFor(slices, threads, [&](int64_t i, int) {
    std::sort(entries.begin() + bounds[i], entries.begin() + bounds[i + 1], less);
    return arrow::Status::OK();
  }));
  for (int64_t width = 1; width < slices; width *= 2) {
    for (int64_t i = 0; i + width < slices; i += 2 * width) {
      std::inplace_merge(entries.begin() + bounds[i], entries.begin() + bounds[i + width],
                         entries.begin() + bounds[std::min(slices, i + 2 * width)], less);
    }
  }
  SortedSpine out;
  out.order.resize(n);
  out.keys.resize(n);
  out.prefix.resize(n);
  out.micros.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    out.order[i] = entries[i].row;
    out.keys[i] = codes.views[entries[i].row];
    out.prefix[i] = entries[i].prefix;
    out.micros[i] = entries[i].micros;
  }
  return out;
}

bool IsIntegerType(arrow::Type::type id) { return arrow::is_integer(id); }
bool IsStringType(arrow::Type::type id) {
  return id == arrow::Type::STRING || id == arrow::Type::LARGE_STRING || id == arrow::Type::STRING_VIEW;
}
bool IsBinaryType(arrow::Type::type id) {
  return id == arrow::Type::BINARY || id == arrow::Type::LARGE_BINARY || id == arrow::Type::BINARY_VIEW;
}
bool IsTimeType(arrow::Type::type id) {
  return id == arrow::Type::TIMESTAMP || id == arrow::Type::DATE32 || id == arrow::Type::DATE64;
}

// Whether a spine key column of type `from` may be cast to the table's key
// type `to`: same type, integer to integer (checked: out-of-range values are
// an error), any string flavour, any binary flavour, or timestamps/dates.
bool KeyCastAllowed(const arrow::DataType& from, const arrow::DataType& to) {
  if (from.Equals(to)) return true;
  if (IsIntegerType(from.id()) && IsIntegerType(to.id())) return true;
  if (IsStringType(from.id()) && IsStringType(to.id())) return true;
  if (IsBinaryType(from.id()) && IsBinaryType(to.id())) return true;
  if (IsTimeType(from.id()) && IsTimeType(to.id())) return true;
  return false;
}

class JoinAsOfImpl : public JoinAsOf {
 public:
  struct Plan {
    std::shared_ptr<io::Storage> storage;
    std::shared_ptr<const read::ScanShape> shape;
    std::vector<planning::PlannedFile> files;
    read::ScanReaderOptions reader_options;
    std::shared_ptr<arrow::Table> spine;             // combined chunks
    std::vector<std::shared_ptr<arrow::Array>> keys;  // valid rows only, cast to key types
    std::vector<int64_t> valid_rows;                  // spine rows with key and time
    std::vector<int64_t> micros;                      // per valid row
    // Per valid row, its encoded key (views into `keys` or the arena, hence
    // behind a pointer: a move of the plan must not relocate the arena).
    std::shared_ptr<read::KeyCodes> codes = std::make_shared<read::KeyCodes>();
    std::vector<int64_t> order;                       // valid rows in (encoded key, time) order
    std::vector<std::string_view> sorted_keys;        // the encoded key of order[i] (into `codes`)
    std::vector<uint64_t> sorted_prefix;              // Prefix8 of the key of order[i]
    std::vector<int64_t> sorted_micros;               // the time of order[i]
    std::vector<std::string> unique;                  // the distinct encoded keys, ascending
    std::vector<int64_t> key_first;                   // unique[u]'s rows: order[key_first[u]..key_first[u + 1])
    std::shared_ptr<arrow::Schema> schema;
    std::string table;
    std::shared_ptr<read::FooterCache> footer_cache;
  };

  explicit JoinAsOfImpl(Plan plan) : p_(std::move(plan)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return p_.schema; }
  std::vector<std::string> files() const override {
    std::vector<std::string> out;
    for (const auto& f : p_.files) out.push_back(f.ref.path);
    return out;
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ToReader() const override {
    ARROW_ASSIGN_OR_RAISE(auto table, Run());
    auto reader = std::make_shared<arrow::TableBatchReader>(std::move(table));
    reader->set_chunksize(p_.reader_options.batch_size);  // batches of the requested size, as scans give
    return reader;
  }

 private:
  arrow::Result<std::shared_ptr<arrow::Table>> Run() const {
    const bool sorted = std::all_of(p_.files.begin(), p_.files.end(),
                                    [](const planning::PlannedFile& f) { return f.ref.sorted; });
    return sorted ? RunByFile() : RunMerge();
  }

  // One spine row's best candidate so far.
  struct Candidate {
    int64_t time = std::numeric_limits<int64_t>::min();
    int32_t file = -1;  // index into p_.files; -1 = none
    int64_t row = 0;    // in the file (RowGroupAccess::RowGroupStart counts)
  };

  // Whether a is the later event under the tie rule: event time, then the
  // file's rank, then position in the file.
  bool Later(const Candidate& a, const Candidate& b) const {
    if (b.file < 0) return a.file >= 0;
    if (a.file < 0) return false;
    if (a.time != b.time) return a.time > b.time;  // settles almost every comparison, inline
    return read::Later({a.time, a.file, a.row}, {b.time, b.file, b.row},
                       [&](int64_t f) { return p_.files[f].rank; });
  }

  // A worker's candidates, one per sorted spine row, column by column: the
  // walk's test of whether a row may still need a file reads the times only.
  struct Candidates {
    std::vector<int64_t> time;  // min() while none
    std::vector<int32_t> file;  // -1 while none
    std::vector<int64_t> row;
    bool empty() const { return time.empty(); }
    void Resize(int64_t n) {
      time.assign(n, std::numeric_limits<int64_t>::min());
      file.assign(n, -1);
      row.resize(n);
    }
    Candidate Get(int64_t s) const { return Candidate{time[s], file[s], row[s]}; }
    void Set(int64_t s, const Candidate& c) {
      time[s] = c.time;
      file[s] = c.file;
      row[s] = c.row;
    }
  };

  arrow::Result<std::shared_ptr<arrow::Table>> RunByFile() const {
    const auto& codec = p_.shape->codec;
    const int64_t n_spine = p_.spine->num_rows();
    const int64_t n = static_cast<int64_t>(p_.valid_rows.size());
    const size_t n_keys = codec.num_columns();
    const int n_out = p_.shape->output_schema->num_fields() - static_cast<int>(n_keys);  // event time + values

    // The spine in (key, time) order, keys and times laid out in that order.
    const auto& order = p_.order;
    const auto& unique = p_.unique;
    const std::vector<std::string_view>& skey = p_.sorted_keys;
    const std::vector<uint64_t>& sprefix = p_.sorted_prefix;
    const std::vector<int64_t>& stime = p_.sorted_micros;

    const int threads = std::max(1, p_.reader_options.threads);
    const int64_t read_rows = p_.storage->high_latency() ? kReadRowsHighLatency : kReadRows;
    const int64_t n_files = n > 0 ? static_cast<int64_t>(p_.files.size()) : 0;
    std::vector<std::unique_ptr<read::RowGroupAccess>> access(n_files);
    // Per worker: each sorted spine row's best candidate among its files.
    const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n_files)));
    std::vector<Candidates> best(workers);
    std::vector<read::RowGroupAccess::KeyRuns> runs_of(workers);  // per worker, reused across calls

    // Phase 1: the key side of every file, walked against the spine. Files
    // with the latest events first: a spine row whose candidate is later
    // than every event of a file needs no look-up there (with time-segmented
    // files, as compaction writes them, most rows then look in two or three).
    std::vector<int64_t> by_end(n_files);
    std::iota(by_end.begin(), by_end.end(), 0);
    auto end_of = [&](int64_t fi) {
      const auto& end = p_.files[fi].ref.end;
      return end ? end->micros() : std::numeric_limits<int64_t>::max();
    };
    std::stable_sort(by_end.begin(), by_end.end(), [&](int64_t a, int64_t b) { return end_of(a) > end_of(b); });
    // A file is asked only for the keys a spine row may still need there
    // (below) where that likely pays: finding them costs a look at every
    // spine key per file. That is well under decoding the file's key side
    // when the spine has no more rows than the file, or when no spine row's
    // time falls in the file's event-time range (estimated from a sample of
    // the spine's times), so that every row may already have a later
    // candidate: a spine over the last months of a long history skips the
    // older files. A dense spine with rows in every file's range reads every
    // page anyway (measured on W1: j2 -29% CPU, a 1M-row spine over the last
    // 90 days -38%; the uniform 1M-row j1 +10% had its files been pruned too).
    std::vector<int64_t> sample;  // every step-th spine time, ascending
    const int64_t step = std::max<int64_t>(1, n / 4096);
    for (int64_t s = 0; s < n; s += step) sample.push_back(stime[s]);
    std::sort(sample.begin(), sample.end());
    std::vector<uint8_t> prunes(n_files);  // per file: asked for needed keys only
    for (int64_t fi = 0; fi < n_files; ++fi) {
      const auto& f = p_.files[fi].ref;
      const int64_t start = f.start ? f.start->micros() : std::numeric_limits<int64_t>::min();
      prunes[fi] = f.rows < 0 || n <= f.rows ||
                   std::lower_bound(sample.begin(), sample.end(), start) ==
                       std::upper_bound(sample.begin(), sample.end(), end_of(fi));
    }
    const bool shared = std::find(prunes.begin(), prunes.end(), 1) != prunes.end();
    // Then, per sorted spine row, the event time of a candidate some worker
    // has found: a hint the workers share (each keeps its own candidates;
    // any value stored is a real candidate's, so a stale one only prunes
    // less). Otherwise each worker asks its own candidates, and the workers'
    // walks over the same rows share no cache lines.
    std::unique_ptr<std::atomic<int64_t>[]> found(shared ? new std::atomic<int64_t>[n] : nullptr);
    for (int64_t s = 0; shared && s < n; ++s) {
      found[s].store(std::numeric_limits<int64_t>::min(), std::memory_order_relaxed);
    }
    const auto& key_first = p_.key_first;  // per distinct key u: its sorted rows [key_first[u], key_first[u + 1])
    auto walk_file = [&](int64_t i, int worker) -> arrow::Status {
      const int64_t fi = by_end[i];
      if (best[worker].empty()) best[worker].Resize(n);
      auto& mine = best[worker];
      auto may_need = [&](int64_t s, int64_t file_end) {
        return shared ? found[s].load(std::memory_order_relaxed) <= file_end : mine.time[s] <= file_end;
      };
      const int64_t file_start = p_.files[fi].ref.start ? p_.files[fi].ref.start->micros()
                                                        : std::numeric_limits<int64_t>::min();
      const int64_t file_end = end_of(fi);
      // The spine keys with a row that may find its candidate here: a key
      // whose first row at or after the file's first event has a candidate
      // later than the file's last needs nothing here, nor do its later rows
      // (their winners are at least as late). A file no key needs is not
      // opened; otherwise only the needed keys' row groups and pages are
      // read (a sparse spine over time-segmented files, or one whose times
      // lie in a few of them, looks most keys up in two or three files).
      const bool prune = prunes[fi];
      std::vector<uint8_t> need(prune ? unique.size() : 0, 0);
      size_t needed = prune ? 0 : unique.size();
      for (size_t u = 0; prune && u < unique.size(); ++u) {
        const int64_t first = key_first[u], end = key_first[u + 1];
        if (stime[end - 1] < file_start) continue;  // every row is before the file
        const auto from = stime.begin() + first;
        const int64_t s = *from >= file_start ? first
                                              : std::lower_bound(from, stime.begin() + end, file_start) - stime.begin();
        if (may_need(s, file_end)) {
          need[u] = 1;
          ++needed;
        }
      }
      if (needed == 0) return arrow::Status::OK();
      std::vector<std::string> subset;
      if (needed < unique.size()) {
        subset.reserve(needed);
        for (size_t u = 0; u < unique.size(); ++u) {
          if (need[u]) subset.push_back(unique[u]);
        }
      }
      const std::vector<std::string>& keys = needed == unique.size() ? unique : subset;
      ARROW_ASSIGN_OR_RAISE(auto opened, read::OpenDataFile(*p_.storage, p_.files[fi], *p_.shape,
                                                            p_.footer_cache.get()));
      ARROW_ASSIGN_OR_RAISE(access[fi], read::RowGroupAccess::Make(*p_.storage, opened, *p_.shape));
      auto& runs = runs_of[worker];
      std::vector<uint64_t> rp;  // per run: Prefix8 of its key
      for (const auto& rgs : access[fi]->Batches(access[fi]->RowGroupsFor(keys), read_rows)) {
        // Only the pages that may hold a needed key when the page index
        // allows (few keys per row group), else the row groups whole. On
        // object storage pages are chosen as for every spine key: the
        // needed keys' pages lie further apart, and their extra requests
        // cost more than the bytes they save (bench/s3_requests.py --keyed:
        // j2 217 -> 249 requests for 0.2% fewer bytes).
        std::vector<int64_t> page_rows;
        ARROW_ASSIGN_OR_RAISE(auto rb, access[fi]->ReadKeyPages(rgs, p_.storage->high_latency() ? unique : keys,
                                                                &page_rows));
        if (rb) {
          runs.Clear();
          runs.event_micros.swap(rb->event_micros);
          runs.AddRows(rb->keys.views, static_cast<int64_t>(page_rows.size()),
                       [&](int64_t i) { return page_rows[i]; });
        } else {
          ARROW_RETURN_NOT_OK(access[fi]->ReadKeyRuns(rgs, &runs));
        }
        const auto& rk = runs.keys;
        const auto& rs = runs.starts;
        const auto& e = runs.event_micros;
        const size_t n_runs = rk.size();
        if (n_runs == 0) continue;
        rp.resize(n_runs);
        for (size_t r = 0; r < n_runs; ++r) rp[r] = Prefix8(rk[r]);
        // The spine rows whose keys fall in this call's key range, walked
        // with the runs: both ascend, so the walk only moves forward.
        int64_t s = std::lower_bound(skey.begin(), skey.end(), rk.front()) - skey.begin();
        const int64_t s_end = std::upper_bound(skey.begin() + s, skey.end(), rk.back()) - skey.begin();
        size_t r = 0;
        int64_t cursor = 0;  // rows of run r before it are at or before the previous spine row's time
        // Looks spine row s up in the runs; false once the runs are behind.
        auto visit = [&](int64_t s) {
          const int64_t st = stime[s];
          if (shared && !may_need(s, file_end)) return true;  // a later candidate is known
          const std::string_view sk = skey[s];
          const uint64_t sp = sprefix[s];
          auto key_cmp = [&](size_t x) { return CompareKeys(rp[x], rk[x], sp, sk); };
          if (key_cmp(r) < 0) {
            // The first run of a key at or after sk: gallop, then bisect.
            size_t lo = r, step = 1;
            while (true) {
              const size_t probe = lo + step;
              if (probe >= n_runs || key_cmp(probe) >= 0) {
                size_t a = lo + 1, b = std::min(probe, n_runs);
                while (a < b) {
                  const size_t m = a + (b - a) / 2;
                  if (key_cmp(m) < 0) {
                    a = m + 1;
                  } else {
                    b = m;
                  }
                }
                r = a;
                break;
              }
              lo = probe;
              step <<= 1;
            }
            if (r == n_runs) return false;
            cursor = rs[r];
          }
          if (key_cmp(r) != 0) return true;
          // A key split over several runs: the last one starting at or before st.
          while (r + 1 < n_runs && e[rs[r + 1]] <= st && key_cmp(r + 1) == 0) cursor = rs[++r];
          const int64_t first = rs[r];
          const int64_t after = std::upper_bound(e.begin() + std::max(cursor, first), e.begin() + rs[r + 1], st) -
                                e.begin();
          cursor = after;
          if (after == first) return true;  // every event of the key is later
          Candidate c{e[after - 1], static_cast<int32_t>(fi), runs.file_rows[r] + (after - 1 - first)};
          if (Later(c, mine.Get(s))) {
            mine.Set(s, c);
            if (shared && c.time > found[s].load(std::memory_order_relaxed)) {
              found[s].store(c.time, std::memory_order_relaxed);
            }
          }
          return true;
        };
        // The rows to visit are chosen 64 at a time without branches: a
        // dense spine skips most rows of most files (their times are before
        // the file's, or a later candidate is known), and which ones is as
        // unpredictable as the times.
        const int64_t* times = stime.data();
        const int64_t* known = mine.time.data();
        const int64_t known_cap = shared ? std::numeric_limits<int64_t>::max() : file_end;
        bool more = true;
        for (int64_t base = s; more && base < s_end; base += 64) {
          const int64_t m = std::min<int64_t>(64, s_end - base);
          uint64_t bits = 0;
          for (int64_t j = 0; j < m; ++j) {
            bits |= static_cast<uint64_t>((times[base + j] >= file_start) & (known[base + j] <= known_cap)) << j;
          }
          while (more && bits != 0) {
            more = visit(base + std::countr_zero(bits));
            bits &= bits - 1;
          }
        }
      }
      return arrow::Status::OK();
    };
    // Each worker walks its own share of the files, latest first, then
    // helps with what is left of the others'. A worker prunes with its own
    // candidates only: had the workers taken the files in turns, each would
    // look up again nearly every row the other had just found a candidate
    // for in the next later file; with shares, that happens at the first
    // file of a share and where one worker helps the other at the end
    // (measured on W1's j1: 3.3M look-ups -> 2.6M-3.1M).
    const int64_t share = (n_files + workers - 1) / std::max(1, workers);
    std::unique_ptr<std::atomic<bool>[]> taken(new std::atomic<bool>[n_files]);
    for (int64_t i = 0; i < n_files; ++i) taken[i].store(false, std::memory_order_relaxed);
    std::atomic<bool> failed{false};
    ARROW_RETURN_NOT_OK(read::ParallelFor(workers, workers, [&](int64_t w, int worker) -> arrow::Status {
      auto walk = [&](int64_t from, int64_t to) -> arrow::Status {
        for (int64_t i = from; i < to && !failed.load(std::memory_order_relaxed); ++i) {
          if (taken[i].exchange(true)) continue;
          auto st = walk_file(i, worker);
          if (!st.ok()) {
            failed.store(true);
            return st;
          }
        }
        return arrow::Status::OK();
      };
      ARROW_RETURN_NOT_OK(walk(w * share, std::min(n_files, (w + 1) * share)));
      return walk(0, n_files);
    }));

    // Phase 2: per file, the winners' rows, decoded only there and copied
    // straight to their spine rows in preallocated output columns (a spine
    // row has one winner, so files write disjoint rows); a winner that is a
    // tombstone (its flag is read with the values) matches nothing.
    struct Pick {
      int64_t row;  // in the file
      int64_t s;
      int64_t micros;  // its event time
    };
    // The winner of each sorted spine row across workers, filed under its file.
    std::vector<std::vector<Pick>> picks(n_files);
    std::erase_if(best, [](const Candidates& mine) { return mine.empty(); });
    for (int64_t s = 0; s < n; ++s) {
      Candidate w;
      for (const auto& mine : best) {
        const Candidate c = mine.Get(s);
        if (Later(c, w)) w = c;
      }
      if (w.file >= 0) picks[w.file].push_back(Pick{w.row, s, w.time});
    }
    best.clear();
    ScatterOutput out(*this, n_spine, n_files);
    ARROW_RETURN_NOT_OK(out.status());
    // Per file: its distinct winning rows' spine rows (ScatterOutput::Rows),
    // kept until the output is finished.
    std::vector<std::vector<int64_t>> dstarts(n_files), dests(n_files);
    ARROW_RETURN_NOT_OK(read::ParallelFor(n_files, threads, [&](int64_t fi, int) -> arrow::Status {
      auto& mine = picks[fi];
      if (mine.empty()) return arrow::Status::OK();
      std::sort(mine.begin(), mine.end(), [](const Pick& a, const Pick& b) { return a.row < b.row; });
      // rows: the distinct winning rows; row j's spine rows are
      // dest[dstart[j]..dstart[j + 1]).
      std::vector<int64_t> rows;
      auto& dstart = dstarts[fi];
      auto& dest = dests[fi];
      dest.resize(mine.size());
      for (size_t i = 0; i < mine.size(); ++i) {
        if (rows.empty() || rows.back() != mine[i].row) {
          rows.push_back(mine[i].row);
          dstart.push_back(static_cast<int64_t>(i));
        }
        dest[i] = p_.valid_rows[order[mine[i].s]];
      }
      dstart.push_back(static_cast<int64_t>(mine.size()));
      // The event times found on the key side are the column's values when
      // it is timestamp[us] as the table's (other units convert to micros
      // with a loss): then they are not decoded a second time.
      const bool et_known = access[fi]->event_micros_exact();
      if (et_known) {
        for (size_t i = 0; i < mine.size(); ++i) out.SetMicros(dest[i], mine[i].micros);
      }
      ScatterOutput::Rows where{dstart.data(), dest.data()};
      ARROW_RETURN_NOT_OK(access[fi]->TakeValuesInto(
          rows, read_rows, !et_known,
          [&](int column, const std::shared_ptr<arrow::Array>& source, const int64_t* indices, int64_t k,
              int64_t first) { return out.Put(fi, column, *source, indices, k, first, where); }));
      // Columns whose values are not scattered (ScatterOutput::kOther) need
      // a piece from every file, nulls where the file lacks the column.
      const auto& leaves = access[fi]->file().value_leaves;
      for (int c = 1; c < n_out; ++c) {
        if (leaves[c - 1] < 0) ARROW_RETURN_NOT_OK(out.Missing(fi, c, static_cast<int64_t>(rows.size()), where));
      }
      access[fi].reset();
      return arrow::Status::OK();
    }));
    access.clear();
    arrow::ChunkedArrayVector columns = p_.spine->columns();
    ARROW_ASSIGN_OR_RAISE(auto values, out.Finish(threads));
    for (auto& v : values) columns.push_back(std::make_shared<arrow::ChunkedArray>(std::move(v)));
    return arrow::Table::Make(p_.schema, std::move(columns), n_spine);
  }

  // Phase 2's output columns (event time, values), written at spine rows by
  // parallel threads, one file each: fixed-width values (and booleans, as
  // bytes) straight into the column's buffer; strings and binaries copied
  // to the file's arena, then gathered once in spine order; other types
  // (nested) taken per file, concatenated and taken into spine order.
  // Validity is one byte per spine row until Finish packs it: threads
  // writing neighbouring rows must not share a bitmap byte.
  class ScatterOutput {
   public:
    enum Kind { kFixed, kBool, kString, kLargeString, kOther };
    // The spine rows of a file's distinct winning rows: row j's are
    // dest[dstart[j]..dstart[j + 1]).
    struct Rows {
      const int64_t* dstart;
      const int64_t* dest;
    };

    ScatterOutput(const JoinAsOfImpl& join, int64_t n_spine, int64_t n_files)
        : n_spine_(n_spine), dead_(n_spine, 0), arenas_(n_files) {
      const auto& schema = *join.p_.shape->output_schema;
      const int n_keys = static_cast<int>(join.p_.shape->codec.num_columns());
      for (int f = n_keys; f < schema.num_fields(); ++f) {
        Column c;
        c.type = schema.field(f)->type();
        const auto id = c.type->id();
        if (id == arrow::Type::BOOL) {
          c.kind = kBool;
        } else if (id == arrow::Type::STRING || id == arrow::Type::BINARY) {
          c.kind = kString;
        } else if (id == arrow::Type::LARGE_STRING || id == arrow::Type::LARGE_BINARY) {
          c.kind = kLargeString;
        } else if (arrow::is_fixed_width(id) && id != arrow::Type::DICTIONARY &&
                   static_cast<const arrow::FixedWidthType&>(*c.type).bit_width() % 8 == 0) {
          c.kind = kFixed;
          c.width = static_cast<const arrow::FixedWidthType&>(*c.type).bit_width() / 8;
        } else {
          c.kind = kOther;
        }
        columns_.push_back(std::move(c));
      }
      status_ = Allocate();
    }

    const arrow::Status& status() const { return status_; }

    // Event time `micros` (the column is timestamp[us]) at spine row `d`.
    void SetMicros(int64_t d, int64_t micros) {
      auto& c = columns_[0];
      std::memcpy(c.data->mutable_data() + d * 8, &micros, 8);
      c.valid[d] = 1;
    }

    // A piece of file fi's column (RowGroupAccess::ValueSink): source rows
    // (indices, or [0, k)) are the file's distinct winning rows
    // [first, first + k).
    arrow::Status Put(int64_t fi, int column, const arrow::Array& source, const int64_t* indices, int64_t k,
                      int64_t first, const Rows& rows) {
      if (column == -1) {  // tombstone flags
        const auto& deleted = static_cast<const arrow::BooleanArray&>(source);
        for (int64_t j = 0; j < k; ++j) {
          if (!deleted.Value(indices ? indices[j] : j)) continue;
          for (int64_t x = rows.dstart[first + j]; x < rows.dstart[first + j + 1]; ++x) dead_[rows.dest[x]] = 1;
        }
        return arrow::Status::OK();
      }
      if (column < 0) return arrow::Status::OK();
      auto& c = columns_[column];
      if (c.kind == kOther) {
        std::shared_ptr<arrow::Array> piece = source.Slice(0);
        if (indices) {
          auto idx = std::make_shared<arrow::Int64Array>(k, arrow::Buffer::Wrap(indices, k));
          ARROW_ASSIGN_OR_RAISE(piece, arrow::compute::Take(*piece, *idx));
        }
        ARROW_ASSIGN_OR_RAISE(piece, read::detail::CastTo(piece, c.type));
        std::lock_guard<std::mutex> lock(mu_);
        c.parts.push_back(Part{fi, first, std::move(piece), rows});
        return arrow::Status::OK();
      }
      // The rows as positions in `base` (-1: null): a dictionary's values
      // or the source itself.
      const arrow::Array* base = &source;
      std::vector<int64_t> at(k);
      if (source.type_id() == arrow::Type::DICTIONARY) {
        const auto& dict = static_cast<const arrow::DictionaryArray&>(source);
        base = dict.dictionary().get();
        const auto& ind = *dict.indices();
        for (int64_t j = 0; j < k; ++j) {
          const int64_t i = indices ? indices[j] : j;
          at[j] = ind.IsValid(i) ? dict.GetValueIndex(i) : -1;
        }
      } else {
        for (int64_t j = 0; j < k; ++j) at[j] = indices ? indices[j] : j;
      }
      for (int64_t j = 0; j < k; ++j) {
        if (at[j] >= 0 && !base->IsValid(at[j])) at[j] = -1;
      }
      auto each = [&](auto&& put) {
        for (int64_t j = 0; j < k; ++j) {
          if (at[j] < 0) continue;
          for (int64_t x = rows.dstart[first + j]; x < rows.dstart[first + j + 1]; ++x) {
            put(rows.dest[x], at[j]);
            c.valid[rows.dest[x]] = 1;
          }
        }
      };
      switch (c.kind) {
        case kFixed: {
          const uint8_t* from = base->data()->buffers[1]->data() + base->offset() * c.width;
          uint8_t* to = c.data->mutable_data();
          switch (c.width) {
            case 8: each([&](int64_t d, int64_t i) { std::memcpy(to + d * 8, from + i * 8, 8); }); break;
            case 4: each([&](int64_t d, int64_t i) { std::memcpy(to + d * 4, from + i * 4, 4); }); break;
            default: {
              const int w = c.width;
              each([&](int64_t d, int64_t i) { std::memcpy(to + d * w, from + i * w, w); });
            }
          }
          break;
        }
        case kBool: {
          const auto& b = static_cast<const arrow::BooleanArray&>(*base);
          uint8_t* to = c.data->mutable_data();
          each([&](int64_t d, int64_t i) { to[d] = b.Value(i); });
          break;
        }
        case kString:
        case kLargeString: {
          auto view = [&](int64_t i) -> std::string_view {
            switch (base->type_id()) {
              case arrow::Type::STRING:
              case arrow::Type::BINARY:
                return static_cast<const arrow::BinaryArray&>(*base).GetView(i);
              default:
                return static_cast<const arrow::LargeBinaryArray&>(*base).GetView(i);
            }
          };
          auto& arena = arenas_[fi];
          for (int64_t j = 0; j < k; ++j) {
            if (at[j] < 0) continue;
            const std::string_view v = arena.Copy(view(at[j]));  // once per winning row
            for (int64_t x = rows.dstart[first + j]; x < rows.dstart[first + j + 1]; ++x) {
              c.views[rows.dest[x]] = v;
              c.valid[rows.dest[x]] = 1;
            }
          }
          break;
        }
        case kOther:
          break;
      }
      return arrow::Status::OK();
    }

    // File fi lacks value column `column`: a kOther column gets nulls for
    // its `k` winning rows (the others stay null by default).
    arrow::Status Missing(int64_t fi, int column, int64_t k, const Rows& rows) {
      auto& c = columns_[column];
      if (c.kind != kOther) return arrow::Status::OK();
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(c.type, k));
      std::lock_guard<std::mutex> lock(mu_);
      c.parts.push_back(Part{fi, 0, std::move(nulls), rows});
      return arrow::Status::OK();
    }

    // The columns, each n_spine rows (columns on parallel threads).
    arrow::Result<arrow::ArrayVector> Finish(int threads) {
      ARROW_RETURN_NOT_OK(status_);
      arrow::ArrayVector out(columns_.size());
      ARROW_RETURN_NOT_OK(read::ParallelFor(static_cast<int64_t>(columns_.size()), threads,
                                      [&](int64_t i, int) -> arrow::Status {
        ARROW_ASSIGN_OR_RAISE(out[i], FinishColumn(columns_[i]));
        columns_[i] = Column{};
        return arrow::Status::OK();
      }));
      return out;
    }

   private:
    // Bytes of strings in blocks that never move.
    class Arena {
     public:
      std::string_view Copy(std::string_view v) {
        if (v.empty()) return {};
        if (static_cast<int64_t>(v.size()) > left_) {
          // Blocks double from 4 KiB to 1 MiB: a file with few winners
          // (a sparse spine) holds little.
          next_ = std::min<int64_t>(kMaxBlock, next_ * 2);
          const int64_t size = std::max<int64_t>(next_, static_cast<int64_t>(v.size()));
          blocks_.push_back(std::unique_ptr<char[]>(new char[size]));  // not zeroed
          at_ = blocks_.back().get();
          left_ = size;
        }
        std::memcpy(at_, v.data(), v.size());
        std::string_view out(at_, v.size());
        at_ += v.size();
        left_ -= static_cast<int64_t>(v.size());
        return out;
      }

     private:
      static constexpr int64_t kMaxBlock = 1 << 20;
      int64_t next_ = 2 << 10;
      std::vector<std::unique_ptr<char[]>> blocks_;
      char* at_ = nullptr;
      int64_t left_ = 0;
    };
    struct Part {
      int64_t file;
      int64_t first;  // its first row among the file's winning rows
      std::shared_ptr<arrow::Array> values;
      Rows rows;
    };
    struct Column {
      Kind kind = kOther;
      int width = 0;
      std::shared_ptr<arrow::DataType> type;
      std::shared_ptr<arrow::ResizableBuffer> data;  // kFixed: the values; kBool: one byte each
      std::vector<uint8_t> valid;                     // per spine row (not kOther)
      std::vector<std::string_view> views;            // kString, kLargeString: per spine row
      std::vector<Part> parts;                        // kOther
    };

    arrow::Status Allocate() {
      for (auto& c : columns_) {
        if (c.kind == kOther) continue;
        c.valid.assign(n_spine_, 0);
        if (c.kind == kFixed || c.kind == kBool) {
          ARROW_ASSIGN_OR_RAISE(c.data, arrow::AllocateResizableBuffer(n_spine_ * (c.kind == kBool ? 1 : c.width),
                                                                        read::RecyclingPool()));
        } else {
          c.views.resize(n_spine_);
        }
      }
      return arrow::Status::OK();
    }

    // The validity bitmap of c (valid and not a tombstone), or null when
    // every row is valid; counts the nulls.
    arrow::Result<std::shared_ptr<arrow::Buffer>> Bitmap(Column& c, int64_t* nulls) {
      ARROW_ASSIGN_OR_RAISE(auto bits, arrow::AllocateBitmap(n_spine_, read::RecyclingPool()));
      uint8_t* b = bits->mutable_data();
      std::memset(b, 0, bits->size());
      int64_t valid = 0;
      for (int64_t d = 0; d < n_spine_; ++d) {
        const uint8_t v = c.valid[d] & (dead_[d] ^ 1);
        c.valid[d] = v;
        b[d >> 3] |= static_cast<uint8_t>(v << (d & 7));
        valid += v;
      }
      *nulls = n_spine_ - valid;
      if (*nulls == 0) return nullptr;
      return std::shared_ptr<arrow::Buffer>(std::move(bits));
    }

    arrow::Result<std::shared_ptr<arrow::Array>> FinishColumn(Column& c) {
      const int64_t n = n_spine_;
      if (c.kind == kOther) return FinishOther(c);
      int64_t nulls = 0;
      ARROW_ASSIGN_OR_RAISE(auto bitmap, Bitmap(c, &nulls));
      switch (c.kind) {
        case kFixed: {
          uint8_t* data = c.data->mutable_data();
          for (int64_t d = 0; d < n; ++d) {
            if (!c.valid[d]) std::memset(data + d * c.width, 0, c.width);  // defined bytes under nulls
          }
          return arrow::MakeArray(arrow::ArrayData::Make(c.type, n, {bitmap, c.data}, nulls));
        }
        case kBool: {
          ARROW_ASSIGN_OR_RAISE(auto bits, arrow::AllocateBitmap(n, read::RecyclingPool()));
          uint8_t* b = bits->mutable_data();
          std::memset(b, 0, bits->size());
          const uint8_t* v = c.data->data();
          for (int64_t d = 0; d < n; ++d) b[d >> 3] |= static_cast<uint8_t>((v[d] & c.valid[d]) << (d & 7));
          return arrow::MakeArray(arrow::ArrayData::Make(c.type, n, {bitmap, std::move(bits)}, nulls));
        }
        default:
          return c.kind == kString ? FinishStrings<int32_t>(c, std::move(bitmap), nulls)
                                   : FinishStrings<int64_t>(c, std::move(bitmap), nulls);
      }
    }

    template <typename Offset>
    arrow::Result<std::shared_ptr<arrow::Array>> FinishStrings(Column& c, std::shared_ptr<arrow::Buffer> bitmap,
                                                               int64_t nulls) {
      const int64_t n = n_spine_;
      ARROW_ASSIGN_OR_RAISE(auto offsets, arrow::AllocateBuffer((n + 1) * sizeof(Offset), read::RecyclingPool()));
      auto* o = reinterpret_cast<Offset*>(offsets->mutable_data());
      int64_t total = 0;
      for (int64_t d = 0; d < n; ++d) {
        o[d] = static_cast<Offset>(total);
        if (c.valid[d]) total += static_cast<int64_t>(c.views[d].size());
        if (total > std::numeric_limits<Offset>::max()) {
          return arrow::Status::CapacityError("join-asof: column of type ", c.type->ToString(), " over ",
                                              std::numeric_limits<Offset>::max(), " bytes");
        }
      }
      o[n] = static_cast<Offset>(total);
      ARROW_ASSIGN_OR_RAISE(auto bytes, arrow::AllocateBuffer(total, read::RecyclingPool()));
      uint8_t* to = bytes->mutable_data();
      for (int64_t d = 0; d < n; ++d) {
        if (c.valid[d] && !c.views[d].empty()) std::memcpy(to + o[d], c.views[d].data(), c.views[d].size());
      }
      return arrow::MakeArray(arrow::ArrayData::Make(c.type, n, {std::move(bitmap), std::move(offsets),
                                                                 std::move(bytes)}, nulls));
    }

    // Parts concatenated (in file order, then row order) and taken into
    // spine order.
    arrow::Result<std::shared_ptr<arrow::Array>> FinishOther(Column& c) {
      std::sort(c.parts.begin(), c.parts.end(), [](const Part& a, const Part& b) {
        return a.file != b.file ? a.file < b.file : a.first < b.first;
      });
      std::vector<int64_t> matched(n_spine_, -1);
      arrow::ArrayVector pieces;
      int64_t at = 0;
      for (const auto& part : c.parts) {
        for (int64_t j = 0; j < part.values->length(); ++j) {
          const int64_t row = part.first + j;
          for (int64_t x = part.rows.dstart[row]; x < part.rows.dstart[row + 1]; ++x) {
            if (!dead_[part.rows.dest[x]]) matched[part.rows.dest[x]] = at + j;
          }
        }
        at += part.values->length();
        pieces.push_back(part.values);
      }
      ARROW_ASSIGN_OR_RAISE(auto indices, MatchedIndices(matched));
      return TakeFromPieces(pieces, *indices, c.type);
    }

    const int64_t n_spine_;
    std::vector<uint8_t> dead_;  // per spine row: its winner is a tombstone
    std::vector<Arena> arenas_;  // per file
    std::vector<Column> columns_;
    std::mutex mu_;
    arrow::Status status_;
  };

  // The output: the spine's columns, then columns_parts[c] concatenated and
  // taken by `matched` (-1: null).
  arrow::Result<std::shared_ptr<arrow::Table>> Assemble(const std::vector<int64_t>& matched,
                                                        const std::vector<arrow::ArrayVector>& columns_parts) const {
    const int64_t n_spine = p_.spine->num_rows();
    const size_t n_keys = p_.shape->codec.num_columns();
    ARROW_ASSIGN_OR_RAISE(auto indices, MatchedIndices(matched));
    arrow::ChunkedArrayVector columns = p_.spine->columns();
    const size_t n_spine_columns = columns.size();
    columns.resize(n_spine_columns + columns_parts.size());
    // Columns on parallel threads: the takes are independent.
    ARROW_RETURN_NOT_OK(read::ParallelFor(static_cast<int64_t>(columns_parts.size()), std::max(1, p_.reader_options.threads),
                                    [&](int64_t c, int) -> arrow::Status {
      auto type = p_.shape->output_schema->field(static_cast<int>(n_keys + c))->type();
      ARROW_ASSIGN_OR_RAISE(auto out, TakeFromPieces(columns_parts[c], *indices, type));
      columns[n_spine_columns + c] = std::make_shared<arrow::ChunkedArray>(std::move(out));
      return arrow::Status::OK();
    }));
    return arrow::Table::Make(p_.schema, std::move(columns), n_spine);
  }

  // The all-events merge of the files (when one is not sorted by key).
  arrow::Result<std::shared_ptr<arrow::Table>> RunMerge() const {
    const auto& codec = p_.shape->codec;
    const int64_t n_spine = p_.spine->num_rows();
    const int64_t n = static_cast<int64_t>(p_.valid_rows.size());

    // The spine in (key, time) order.
    const auto& order = p_.order;
    const read::KeyCodes& codes = *p_.codes;

    // matched[spine row] = index into the gathered events, or -1.
    std::vector<int64_t> matched(n_spine, -1);
    arrow::ArrayVector gathered_batches;  // event-time + value columns of kept events, concatenated later
    std::vector<arrow::ArrayVector> gathered_columns;
    const size_t n_keys = codec.num_columns();
    const int n_out = p_.shape->output_schema->num_fields() - static_cast<int>(n_keys);  // event time + values
    gathered_columns.resize(n_out);
    int64_t kept = 0;

    if (n > 0) {
      ARROW_ASSIGN_OR_RAISE(auto reader, read::MakeScanReader(p_.storage, p_.shape, p_.files, p_.reader_options));
      int64_t pos = 0;  // next spine row (in sorted order) to assign
      // The last event seen: the candidate match for spine rows of its key.
      std::string cand_key;
      bool have_cand = false, cand_deleted = false;
      int64_t cand_index = -1;        // index among kept events once gathered
      std::shared_ptr<arrow::RecordBatch> batch;
      const int deleted_col = p_.shape->output_schema->num_fields();
      read::KeyCodes event_codes;
      while (true) {
        ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
        if (!batch) break;
        const int64_t rows = batch->num_rows();
        arrow::ArrayVector key_arrays(batch->columns().begin(), batch->columns().begin() + n_keys);
        ARROW_RETURN_NOT_OK(codec.Encode(key_arrays, &event_codes));
        std::vector<int64_t> ev_micros;
        std::vector<uint8_t> ev_valid;
        ARROW_RETURN_NOT_OK(ToMicros(*batch->column(static_cast<int>(n_keys)), &ev_micros, &ev_valid));
        const auto& deleted = static_cast<const arrow::BooleanArray&>(*batch->column(deleted_col));
        arrow::Int64Builder take;
        int64_t cand_row = -1;  // the candidate's row in this batch, if not yet gathered
        auto cand_match = [&]() -> int64_t {
          if (cand_deleted) return -1;
          if (cand_index < 0) {
            // Gathered lazily: only events some spine row matches are kept.
            (void)take.Append(cand_row);
            cand_index = kept++;
          }
          return cand_index;
        };
        // Assigns the spine rows that sort before (key, t).
        auto assign_before = [&](std::string_view key, int64_t t) {
          while (pos < n) {
            const int64_t s = order[pos];
            const int c = codes.views[s].compare(key);
            if (c > 0 || (c == 0 && p_.micros[s] >= t)) break;
            if (have_cand && codes.views[s] == cand_key) matched[p_.valid_rows[s]] = cand_match();
            ++pos;
          }
        };
        for (int64_t r = 0; r < rows && pos < n; ++r) {
          const std::string_view key = event_codes.views[r];
          assign_before(key, ev_micros[r]);
          if (pos >= n) break;
          // Events of keys the spine does not name are skipped cheaply.
          if (codes.views[order[pos]] != key) continue;
          if (!have_cand || cand_key != key) cand_key.assign(key.data(), key.size());
          have_cand = true;
          cand_deleted = deleted.Value(r);
          cand_index = -1;
          cand_row = r;
        }
        // A candidate not yet gathered that later spine rows may still match.
        if (have_cand && cand_index < 0 && !cand_deleted && pos < n && codes.views[order[pos]] == cand_key &&
            cand_row >= 0) {
          ARROW_RETURN_NOT_OK(take.Append(cand_row));
          cand_index = kept++;
        }
        ARROW_ASSIGN_OR_RAISE(auto indices, take.Finish());
        if (indices->length() > 0) {
          for (int c = 0; c < n_out; ++c) {
            ARROW_ASSIGN_OR_RAISE(auto col, arrow::compute::Take(*batch->column(static_cast<int>(n_keys) + c),
                                                                 *indices));
            gathered_columns[c].push_back(std::move(col));
          }
        }
        if (pos >= n) break;
      }
      // Spine rows after the last event.
      while (pos < n) {
        const int64_t s = order[pos];
        if (have_cand && codes.views[s] == cand_key && !cand_deleted && cand_index >= 0) {
          matched[p_.valid_rows[s]] = cand_index;
        }
        ++pos;
      }
    }

    return Assemble(matched, gathered_columns);
  }

  Plan p_;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::Table>> JoinAsOf::ToTable() const {
  ARROW_ASSIGN_OR_RAISE(auto reader, ToReader());
  return reader->ToTable();
}

arrow::Result<std::shared_ptr<JoinAsOf>> JoinAsOfBuilder::Build() const {
  const auto& o = options_;
  if (!spine_) return InvalidArgument("join-asof: no spine");
  std::shared_ptr<const Snapshot> snap = table_->current_snapshot();
  if (o.version) {
    ARROW_ASSIGN_OR_RAISE(snap, table_->SnapshotAt(*o.version));
  }
  if (o.batch_size <= 0) return InvalidArgument("batch size must be positive");
  const TableSchema& schema = snap->schema;
  if (snap->format_version < 1) {
    return InvalidArgument("join-asof: bazof 0.1 / azof 0.2 tables are not supported (table '",
                           table_->location(), "')");
  }
  if (auto st = spine_->Validate(); !st.ok()) return InvalidArgument("join-asof: invalid spine: ", st.message());
  const auto& spine_schema = *spine_->schema();

  // The spine's columns.
  if (o.on.empty()) return InvalidArgument("join-asof: the spine's time column (on) is required");
  const int on_index = spine_schema.GetFieldIndex(o.on);
  if (on_index < 0) {
    std::string names;
    for (const auto& f : spine_schema.fields()) names += (names.empty() ? "" : ", ") + f->name();
    return InvalidArgument("join-asof: the spine has no time column '", o.on, "' (it has: ",
                           names.empty() ? "none" : names, ")");
  }
  const auto& on_type = *spine_schema.field(on_index)->type();
  if (!IsTimeType(on_type.id())) {
    return InvalidArgument("join-asof: spine column '", o.on, "' is ", on_type.ToString(),
                           ", not a timestamp or date");
  }
  std::vector<std::string> by = o.by;
  if (by.empty()) {
    for (const auto& k : schema.key_columns) by.push_back(k.name);
  }
  if (by.size() != schema.key_columns.size()) {
    return InvalidArgument("join-asof: ", by.size(), " key column(s) given (by), but table '", table_->location(),
                           "' has ", schema.key_columns.size(), " key column(s)");
  }
  std::vector<int> by_index;
  for (size_t i = 0; i < by.size(); ++i) {
    const int idx = spine_schema.GetFieldIndex(by[i]);
    if (idx < 0) {
      return InvalidArgument("join-asof: the spine has no key column '", by[i], "' (", by.size() == 1 ? "" : "by, ",
                             "table key '", schema.key_columns[i].name, "')");
    }
    const auto& from = *spine_schema.field(idx)->type();
    const auto& to = *schema.key_columns[i].type;
    if (!KeyCastAllowed(from, to)) {
      return InvalidArgument("join-asof: spine key column '", by[i], "' is ", from.ToString(), ", but key column '",
                             schema.key_columns[i].name, "' of table '", table_->location(), "' is ", to.ToString());
    }
    by_index.push_back(idx);
  }

  // The value columns.
  std::vector<int> value_columns;
  if (o.columns) {
    for (const auto& c : *o.columns) {
      bool is_key = std::any_of(schema.key_columns.begin(), schema.key_columns.end(),
                                [&](const ColumnSpec& k) { return k.name == c; });
      if (is_key || c == schema.event_time.name) continue;
      int i = schema.FindValueColumn(c);
      if (i < 0) {
        std::string known;
        for (const auto& v : schema.value_columns) known += (known.empty() ? "" : ", ") + v.name;
        return InvalidArgument("unknown column '", c, "' (table '", table_->location(),
                               "' has value columns: ", known.empty() ? "none" : known, ")");
      }
      if (std::find(value_columns.begin(), value_columns.end(), i) == value_columns.end()) value_columns.push_back(i);
    }
  } else {
    for (size_t i = 0; i < schema.value_columns.size(); ++i) value_columns.push_back(static_cast<int>(i));
  }
  ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(*snap, std::move(value_columns)));

  JoinAsOfImpl::Plan p;
  p.storage = table_->storage();
  p.table = table_->location();
  p.footer_cache = table_->footer_cache();
  ARROW_ASSIGN_OR_RAISE(p.spine, spine_->CombineChunks());

  // Output schema: the spine's, then event time and values, renamed on collision.
  arrow::FieldVector fields = spine_schema.fields();
  std::vector<std::string> taken = spine_schema.field_names();
  const size_t n_keys = schema.key_columns.size();
  for (int f = static_cast<int>(n_keys); f < shape->output_schema->num_fields(); ++f) {
    std::string name = shape->output_schema->field(f)->name();
    while (std::find(taken.begin(), taken.end(), name) != taken.end()) name += o.suffix;
    if (o.suffix.empty() && std::find(taken.begin(), taken.end(), name) != taken.end()) {
      return InvalidArgument("join-asof: column '", name, "' is in both the spine and the table (no suffix)");
    }
    taken.push_back(name);
    fields.push_back(arrow::field(name, shape->output_schema->field(f)->type(), true));
  }
  p.schema = arrow::schema(std::move(fields));

  // Rows with a null key or time match nothing (nulls in the output).
  const int64_t n_spine = p.spine->num_rows();
  std::vector<std::shared_ptr<arrow::Array>> key_arrays;
  for (int idx : by_index) {
    // CombineChunks left at most one chunk.
    auto chunked = p.spine->column(idx);
    std::shared_ptr<arrow::Array> a;
    if (chunked->num_chunks() == 0) {
      ARROW_ASSIGN_OR_RAISE(a, arrow::MakeEmptyArray(chunked->type()));
    } else {
      a = chunked->chunk(0);
    }
    key_arrays.push_back(std::move(a));
  }
  std::shared_ptr<arrow::Array> time_array;
  {
    auto chunked = p.spine->column(on_index);
    if (chunked->num_chunks() == 0) {
      ARROW_ASSIGN_OR_RAISE(time_array, arrow::MakeEmptyArray(chunked->type()));
    } else {
      time_array = chunked->chunk(0);
    }
  }
  std::vector<int64_t> micros;
  std::vector<uint8_t> valid;
  ARROW_RETURN_NOT_OK(ToMicros(*time_array, &micros, &valid));
  for (const auto& a : key_arrays) {
    if (a->null_count() == 0) continue;
    for (int64_t i = 0; i < n_spine; ++i) {
      if (a->IsNull(i)) valid[i] = 0;
    }
  }
  const auto n_valid = static_cast<int64_t>(std::count(valid.begin(), valid.end(), uint8_t{1}));
  p.valid_rows.reserve(n_valid);
  if (n_valid == n_spine) {
    p.micros = std::move(micros);
    for (int64_t i = 0; i < n_spine; ++i) p.valid_rows.push_back(i);
  } else {
    p.micros.reserve(n_valid);
    for (int64_t i = 0; i < n_spine; ++i) {
      if (valid[i]) {
        p.valid_rows.push_back(i);
        p.micros.push_back(micros[i]);
      }
    }
  }
  const bool all_valid = static_cast<int64_t>(p.valid_rows.size()) == n_spine;
  std::shared_ptr<arrow::Array> rows;
  if (!all_valid) {
    arrow::Int64Builder b;
    ARROW_RETURN_NOT_OK(b.AppendValues(p.valid_rows));
    ARROW_ASSIGN_OR_RAISE(rows, b.Finish());
  }
  for (size_t i = 0; i < key_arrays.size(); ++i) {
    // Cast first: Take has no kernels for some flavours (string_view).
    std::shared_ptr<arrow::Array> a = key_arrays[i];
    const auto& to = schema.key_columns[i].type;
    if (!a->type()->Equals(*to)) {
      auto cast = arrow::compute::Cast(*a, to);
      if (!cast.ok()) {
        return InvalidArgument("join-asof: spine key column '", by[i], "' does not convert to ", to->ToString(),
                               " (key column '", schema.key_columns[i].name, "'): ", cast.status().message());
      }
      a = *std::move(cast);
    }
    if (!all_valid) {
      ARROW_ASSIGN_OR_RAISE(auto d, arrow::compute::Take(a, rows));
      a = d.make_array();
    }
    p.keys.push_back(std::move(a));
  }

  // The events of the spine's keys: deltas only (they hold every event; a
  // base only the state at its start), as all-events scans read them.
  int64_t max_micros = std::numeric_limits<int64_t>::min();
  for (int64_t t : p.micros) max_micros = std::max(max_micros, t);
  auto plan = planning::PlanScan(planning::WithoutBases(*snap), EventTime::FromMicros(max_micros));

  read::ScanReaderOptions& ro = p.reader_options;
  ro.mode = read::MergeMode::kAllEvents;
  ro.batch_size = o.batch_size;
  ro.threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  ro.as_of = EventTime::FromMicros(max_micros);
  ARROW_ASSIGN_OR_RAISE(ro.memory_limit_bytes, ResolveMemoryLimit(o.memory_limit_bytes, snap->properties,
                                                                  "join-asof on '" + table_->location() + "'"));
  FitCachesToBudget(ro.memory_limit_bytes);
  int64_t planned_rows = 0;
  if (!p.valid_rows.empty()) {
    ARROW_RETURN_NOT_OK(shape->codec.Encode(p.keys, p.codes.get()));
    ARROW_ASSIGN_OR_RAISE(auto sorted, SortSpine(*p.codes, p.micros, ro.threads));
    p.order = std::move(sorted.order);
    p.sorted_keys = std::move(sorted.keys);
    p.sorted_prefix = std::move(sorted.prefix);
    p.sorted_micros = std::move(sorted.micros);
    for (size_t j = 0; j < p.order.size(); ++j) {
      // Equal prefixes of keys within 8 bytes and of equal length are equal keys.
      const std::string_view k = p.sorted_keys[j];
      const bool same = j > 0 && p.sorted_prefix[j] == p.sorted_prefix[j - 1] &&
                        k.size() == p.sorted_keys[j - 1].size() && (k.size() <= 8 || k == p.sorted_keys[j - 1]);
      if (!same) p.key_first.push_back(static_cast<int64_t>(j));
    }
    p.unique.reserve(p.key_first.size());
    for (int64_t j : p.key_first) p.unique.emplace_back(p.sorted_keys[j]);
    p.key_first.push_back(static_cast<int64_t>(p.order.size()));
    const auto& unique = p.unique;
    ro.key_lower = unique.front();
    ro.key_upper = unique.back() + std::string(1, '\0');
    std::vector<planning::PlannedFile> kept;
    for (auto& f : plan.files) {
      if (f.ref.min_key.size() == n_keys && f.ref.max_key.size() == n_keys) {
        auto lo = shape->codec.EncodeScalars(f.ref.min_key);
        auto hi = shape->codec.EncodeScalars(f.ref.max_key);
        if (lo.ok() && hi.ok()) {
          // Files holding none of the spine's keys are not opened.
          auto it = std::lower_bound(unique.begin(), unique.end(), *lo);
          if (it == unique.end() || *it > *hi) continue;
        }
      }
      planned_rows += f.ref.rows > 0 ? f.ref.rows : 0;
      kept.push_back(std::move(f));
    }
    p.files = std::move(kept);
    // A sparse spine (fewer distinct keys than one per 8192 planned rows, so
    // most row groups hold none) reads only its keys' row groups in one
    // merge; a dense one streams the whole key range between its smallest
    // and largest key, merged in parallel partitions.
    if (static_cast<int64_t>(unique.size()) * kSparseRowsPerKey <= planned_rows || ro.threads <= 1) {
      ro.key_in = unique;
    }
  }
  p.shape = std::move(shape);
  return std::shared_ptr<JoinAsOf>(std::make_shared<JoinAsOfImpl>(std::move(p)));
}

arrow::Result<std::shared_ptr<JoinAsOf>> MakeJoinAsOf(std::shared_ptr<const Table> table,
                                                      arrow::RecordBatchReader& spine, JoinAsOfOptions options) {
  ARROW_ASSIGN_OR_RAISE(auto spine_table, spine.ToTable());
  return JoinAsOfBuilder(std::move(table), std::move(spine_table)).Options(std::move(options)).Build();
}

}  // namespace bazof
