// Replays every checked-in input of the fuzz targets (fuzz/corpus/<target>/:
// seeds and past findings) through the targets' bodies (fuzz/harness.h), so
// the ordinary build and the ASan build catch a regression without libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz/harness.h"

namespace bazof::fuzz {
namespace {

std::vector<std::filesystem::path> Corpus(const std::string& target) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(BAZOF_FUZZ_CORPUS_DIR) + "/" + target)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(FuzzCorpusTest, SnapshotInputs) {
  auto files = Corpus("fuzz_snapshot");
  EXPECT_GE(files.size(), 10u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    RunSnapshotInput(Read(f));
  }
}

TEST(FuzzCorpusTest, AppendInputs) {
  auto files = Corpus("fuzz_input");
  EXPECT_GE(files.size(), 10u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    RunAppendInput(Read(f));
  }
}

}  // namespace
}  // namespace bazof::fuzz
