// In-process latency of bazof::Put on a local table (no process start):
//   put_bench --path DIR [--puts N]
// Creates table `putbench` under DIR, commits N single-row puts, prints the
// median and p90 of the first and the last 50 as JSON lines.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>

#include "bazof/write.h"

namespace {
double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}
}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int puts = 1000;
  CLI::App app{"bazof put latency"};
  app.add_option("--path", path)->required();
  app.add_option("--puts", puts);
  CLI11_PARSE(app, argc, argv);
  auto schema = bazof::ParseSchemaSpec("value:int64").ValueOrDie();
  auto created = bazof::CreateTable(path, "putbench", schema);
  if (!created.ok()) {
    std::cerr << created.status().ToString() << std::endl;
    return 1;
  }
  std::vector<double> ms;
  for (int i = 0; i < puts; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto table = bazof::Table::Open(path, "putbench").ValueOrDie();
    bazof::PutRequest req{{{"", "k" + std::to_string(i % 100)}}, "2024-01-01T00:00:00Z", {{"value", std::to_string(i)}}, false};
    auto r = bazof::Put(table, req);
    if (!r.ok()) {
      std::cerr << r.status().ToString() << std::endl;
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  const size_t n = std::min<size_t>(50, ms.size());
  std::vector<double> first(ms.begin(), ms.begin() + n), last(ms.end() - n, ms.end());
  std::cout << "{\"first_median_ms\":" << Percentile(first, 0.5) << ",\"first_p90_ms\":" << Percentile(first, 0.9)
            << ",\"last_median_ms\":" << Percentile(last, 0.5) << ",\"last_p90_ms\":" << Percentile(last, 0.9)
            << ",\"puts\":" << puts << "}" << std::endl;
  return 0;
}
