// The k-way as-of merge alone (read::MergeReader), over k in-memory sorted runs (issue #8):
//   build/merge_bench [--benchmark_filter=...] [--benchmark_min_time=...]
// K keys x E events per key (string keys "k0000000", one int64 value), the events of each key
// dealt round-robin over the k runs, so every run holds every key when k <= E. The as-of time
// falls in the middle of each key's events, so the merge chooses among rows on both sides of
// it. No Parquet, no decoding: the runs' batches are built once, before timing. rows/s
// counts input rows merged (items_per_second), on one thread.
#include <arrow/api.h>
#include <benchmark/benchmark.h>

#include <cstdio>

#include "read/merge.h"

namespace {

using bazof::read::RunBatch;
using bazof::read::RunSource;

constexpr int64_t kEventsPerKey = 16;
constexpr int64_t kRows = 1 << 20;
constexpr int64_t kBatch = 64 * 1024;

class VectorRun : public RunSource {
 public:
  VectorRun(const std::vector<std::shared_ptr<RunBatch>>* batches, int64_t rank)
      : batches_(batches), rank_(rank) {}
  arrow::Result<std::shared_ptr<RunBatch>> Next() override {
    if (next_ >= batches_->size()) return nullptr;
    return (*batches_)[next_++];
  }
  int64_t rank() const override { return rank_; }
  const std::string& name() const override { return name_; }

 private:
  const std::vector<std::shared_ptr<RunBatch>>* batches_;
  int64_t rank_;
  size_t next_ = 0;
  std::string name_ = "memory";
};

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema({arrow::field("key", arrow::utf8(), false),
                        arrow::field("event_time", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false),
                        arrow::field("v", arrow::int64(), true)});
}

// Batches of one run: the rows (key, event e) with e % k == run, sorted by (key, time).
std::vector<std::shared_ptr<RunBatch>> MakeRun(int k, int run) {
  const int64_t keys = kRows / kEventsPerKey;
  std::vector<std::shared_ptr<RunBatch>> out;
  arrow::StringBuilder kb;
  arrow::TimestampBuilder tb(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), arrow::default_memory_pool());
  arrow::Int64Builder vb;
  std::vector<int64_t> micros;
  auto flush = [&] {
    if (micros.empty()) return;
    auto rb = std::make_shared<RunBatch>();
    std::shared_ptr<arrow::Array> ka, ta, va;
    (void)kb.Finish(&ka);
    (void)tb.Finish(&ta);
    (void)vb.Finish(&va);
    rb->batch = arrow::RecordBatch::Make(Schema(), ka->length(), {ka, ta, va});
    rb->event_micros.assign(micros.begin(), micros.end());
    const auto& s = static_cast<const arrow::StringArray&>(*ka);
    for (int64_t i = 0; i < s.length(); ++i) rb->keys.views.push_back(s.GetView(i));
    rb->begin = 0;
    rb->end = ka->length();
    out.push_back(std::move(rb));
    micros.clear();
  };
  char buf[16];
  for (int64_t key = 0; key < keys; ++key) {
    std::snprintf(buf, sizeof buf, "k%07lld", static_cast<long long>(key));
    for (int64_t e = run; e < kEventsPerKey; e += k) {
      (void)kb.Append(buf);
      (void)tb.Append(e * 1000);
      (void)vb.Append(key * kEventsPerKey + e);
      micros.push_back(e * 1000);
      if (static_cast<int64_t>(micros.size()) == kBatch) flush();
    }
  }
  flush();
  return out;
}

void BM_AsOfMerge(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  std::vector<std::vector<std::shared_ptr<RunBatch>>> runs;
  for (int r = 0; r < k; ++r) runs.push_back(MakeRun(k, r));
  const auto as_of = bazof::EventTime::FromMicros(kEventsPerKey / 2 * 1000 - 1);
  int64_t out_rows = 0;
  for (auto _ : state) {
    std::vector<std::unique_ptr<RunSource>> sources;
    for (int r = 0; r < k; ++r) sources.push_back(std::make_unique<VectorRun>(&runs[r], r));
    bazof::read::MergeReader merge(std::move(sources), Schema(), as_of, {}, kBatch);
    out_rows = 0;
    while (true) {
      auto b = merge.Next().ValueOrDie();
      if (!b) break;
      out_rows += b->num_rows();
    }
    benchmark::DoNotOptimize(out_rows);
  }
  if (out_rows != kRows / kEventsPerKey) state.SkipWithError("wrong number of output rows");
  state.SetItemsProcessed(state.iterations() * kRows);
  state.counters["k"] = k;
}
BENCHMARK(BM_AsOfMerge)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
