// The bodies of the fuzz targets (fuzz_snapshot.cc, fuzz_input.cc), also run
// over the checked-in corpus by tests/cpp/fuzz_corpus_test.cc, so every seed
// and every past finding is replayed by the ordinary test suite.
#pragma once

#include <string_view>

namespace bazof::fuzz {

/// Bytes as a snapshot file (and as version.txt and retention.json), read the
/// way readers read them, then planned, costed and re-serialized. Aborts with
/// a message on a broken invariant; a sanitizer or an escaping exception
/// reports everything else.
void RunSnapshotInput(std::string_view bytes);

/// Bytes as a CSV and as a JSON-lines append input, appended to a fresh
/// in-memory table of a fixed schema and read back. Same reporting.
void RunAppendInput(std::string_view bytes);

/// Once per process, before any Arrow call: Arrow's buffers from malloc, so
/// ASan guards them (Arrow itself is not instrumented; our code reading its
/// buffers is).
void InitFuzzProcess();

}  // namespace bazof::fuzz
