// libFuzzer target: bytes as snapshot files (s<N>.json, version.txt, retention.json); see harness.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/harness.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  bazof::fuzz::InitFuzzProcess();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bazof::fuzz::RunSnapshotInput(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
