// Page checksums of data files (docs/spec.md §6.1, "Integrity").
//
// Every data file bazof writes carries a CRC-32 in each page header (the
// Parquet PageHeader.crc field) and says so in its footer's key-value
// metadata (bazof.page_checksums = crc32). Every data file bazof reads is
// opened with CRC verification on: a page whose bytes do not match its CRC is
// kCorruption, never rows. Pages without a CRC (files written before, or by
// other writers) are read unverified, as Parquet allows.
#pragma once

#include <arrow/status.h>
#include <parquet/properties.h>

#include <string>

namespace parquet {
class FileMetaData;
}

namespace bazof::metadata {

/// Footer key-value metadata key recording that every page carries a CRC.
inline constexpr const char* kPageChecksumsKey = "bazof.page_checksums";
/// Its value: CRC-32 (the Parquet spec's page checksum).
inline constexpr const char* kPageChecksumsCrc32 = "crc32";

/// Reader properties for every data file bazof opens: the default ones with
/// page CRC verification on.
parquet::ReaderProperties DataFileReaderProperties();

/// Whether the footer records that every page of the file carries a CRC.
bool HasPageChecksums(const parquet::FileMetaData& metadata);

/// Arrow's error for a page that fails its CRC, whose header cannot be
/// decoded, or whose column comes out shorter than its row group, as
/// kCorruption ("page checksum mismatch (...)"); other errors unchanged.
/// `where` ("row group 2, column 'v': ") goes in front.
arrow::Status PageReadError(const arrow::Status& status, const std::string& where = "");

}  // namespace bazof::metadata
