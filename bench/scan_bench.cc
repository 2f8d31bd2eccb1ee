// Times scans through the C++ API, without any output encoding:
//   scan_bench --path P --table T [--as-of TS] [--threads N] [--runs R]
// Prints one line per run (total time, time to the first batch) and the
// median, as JSON lines.
#include <arrow/api.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>

#include "bazof/table.h"

int main(int argc, char** argv) {
  std::string path, table, as_of;
  int threads = 0, runs = 5;
  CLI::App app{"bazof scan benchmark"};
  app.add_option("--path", path)->required();
  app.add_option("--table", table)->required();
  app.add_option("--as-of", as_of);
  app.add_option("--threads", threads);
  app.add_option("--runs", runs);
  CLI11_PARSE(app, argc, argv);

  std::vector<double> secs;
  for (int r = 0; r < runs; ++r) {
    auto start = std::chrono::steady_clock::now();
    auto t = bazof::Table::Open(path, table).ValueOrDie();
    auto b = t->NewScan();
    if (!as_of.empty()) b.AsOf(bazof::ParseEventTime(as_of).ValueOrDie());
    if (threads > 0) b.Threads(threads);
    auto reader = b.Build().ValueOrDie()->ToReader().ValueOrDie();
    int64_t rows = 0;
    double first_batch = -1;
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      auto st = reader->ReadNext(&batch);
      if (!st.ok()) {
        std::cerr << st.ToString() << std::endl;
        return 1;
      }
      if (!batch) break;
      if (first_batch < 0) {
        first_batch = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      rows += batch->num_rows();
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    secs.push_back(s);
    std::cout << "{\"run\":" << r << ",\"seconds\":" << s << ",\"first_batch_seconds\":" << first_batch
              << ",\"rows\":" << rows << "}\n";
  }
  std::sort(secs.begin(), secs.end());
  std::cout << "{\"median_seconds\":" << secs[secs.size() / 2] << ",\"threads\":" << threads << "}\n";
  return 0;
}
