// Times the timeline views (issue #18) through the C++ API, consuming the
// stream without any output encoding or Python, to separate the core's cost
// from the glue's:
//   views_stream_bench --path P --table T --view intervals|changes|scan
//       [--from T1] [--to T2] [--columns a,b] [--threads N] [--runs R]
// `scan` is an as-of scan at --to (the unit changes is made of). Prints each
// run's wall and CPU (all threads) time and the medians, as JSON lines.
#include <arrow/api.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <sstream>

#include "bazof/table.h"
#include "bazof/views.h"

int main(int argc, char** argv) {
  std::string path, table, view = "intervals", from, to, columns;
  int threads = 0, runs = 5;
  bool coalesce = false, has_columns = false;
  CLI::App app{"bazof timeline views benchmark"};
  app.add_option("--path", path)->required();
  app.add_option("--table", table)->required();
  app.add_option("--view", view)->check(CLI::IsMember({"intervals", "changes", "scan"}));
  app.add_option("--from", from);
  app.add_option("--to", to);
  app.add_option("--columns", columns)->each([&](const std::string&) { has_columns = true; });
  app.add_flag("--coalesce", coalesce);
  app.add_option("--threads", threads);
  app.add_option("--runs", runs);
  CLI11_PARSE(app, argc, argv);

  std::optional<std::vector<std::string>> cols;
  if (has_columns) {
    cols.emplace();
    std::stringstream ss(columns);
    for (std::string c; std::getline(ss, c, ',');) {
      if (!c.empty()) cols->push_back(c);
    }
  }
  auto t = bazof::Table::Open(path, table).ValueOrDie();
  auto make = [&]() -> arrow::Result<std::shared_ptr<bazof::Scan>> {
    if (view == "intervals") {
      bazof::IntervalOptions o;
      o.columns = cols;
      o.coalesce = coalesce;
      o.threads = threads;
      return bazof::MakeIntervals(*t, o);
    }
    if (view == "changes") {
      bazof::ChangeOptions o;
      if (!from.empty()) {
        ARROW_ASSIGN_OR_RAISE(o.from_time, bazof::ParseEventTime(from));
      }
      if (!to.empty()) {
        ARROW_ASSIGN_OR_RAISE(o.to_time, bazof::ParseEventTime(to));
      }
      o.columns = cols;
      o.threads = threads;
      return bazof::MakeChanges(*t, o);
    }
    auto b = t->NewScan();
    if (!to.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto at, bazof::ParseEventTime(to));
      b.AsOf(at);
    }
    if (cols) b.Columns(*cols);
    if (threads > 0) b.Threads(threads);
    return b.Build();
  };
  std::vector<double> secs, cpu_secs;
  for (int r = 0; r <= runs; ++r) {  // run 0: warm-up
    auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    auto reader = make().ValueOrDie()->ToReader().ValueOrDie();
    int64_t rows = 0;
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      auto st = reader->ReadNext(&batch);
      if (!st.ok()) {
        std::cerr << st.ToString() << std::endl;
        return 1;
      }
      if (!batch) break;
      rows += batch->num_rows();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    std::cout << "{\"view\": \"" << view << "\", \"run\": " << r << ", \"rows\": " << rows << ", \"ms\": " << s * 1000
              << ", \"cpu_ms\": " << cpu * 1000 << "}" << std::endl;
    if (r > 0) {
      secs.push_back(s);
      cpu_secs.push_back(cpu);
    }
  }
  std::sort(secs.begin(), secs.end());
  std::sort(cpu_secs.begin(), cpu_secs.end());
  if (!secs.empty()) {
    std::cout << "{\"view\": \"" << view << "\", \"median_ms\": " << secs[secs.size() / 2] * 1000
              << ", \"median_cpu_ms\": " << cpu_secs[cpu_secs.size() / 2] * 1000 << "}" << std::endl;
  }
  return 0;
}
