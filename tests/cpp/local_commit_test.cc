#include "io/local_commit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "bazof/error.h"

namespace bazof::io {
namespace {

std::string TempDir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("bazof-commit-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(LocalCommitTest, CreateExclusiveNeverReplaces) {
  auto dir = TempDir();
  auto path = dir + "/s1.json";
  ASSERT_TRUE(LocalCreateExclusive(path, "first").ok());
  auto second = LocalCreateExclusive(path, "second");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(ErrorKindOf(second), ErrorKind::kConflict);
  EXPECT_EQ(Read(path), "first");
  // No temporary files are left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  std::filesystem::remove_all(dir);
}

TEST(LocalCommitTest, RacingWritersExactlyOneWins) {
  auto dir = TempDir();
  for (int round = 0; round < 20; ++round) {
    auto path = dir + "/s" + std::to_string(round) + ".json";
    std::atomic<int> wins{0}, conflicts{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        auto st = LocalCreateExclusive(path, "writer" + std::to_string(w));
        if (st.ok()) ++wins;
        else if (ErrorKindOf(st) == ErrorKind::kConflict) ++conflicts;
      });
    }
    for (auto& t : writers) t.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(conflicts.load(), 3);
  }
  std::filesystem::remove_all(dir);
}

TEST(LocalCommitTest, ReplaceOverwrites) {
  auto dir = TempDir();
  ASSERT_TRUE(LocalReplace(dir + "/version.txt", "1").ok());
  ASSERT_TRUE(LocalReplace(dir + "/version.txt", "2").ok());
  EXPECT_EQ(Read(dir + "/version.txt"), "2");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bazof::io
