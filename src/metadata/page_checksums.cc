#include "metadata/page_checksums.h"

#include <arrow/util/key_value_metadata.h>
#include <parquet/metadata.h>

#include "bazof/error.h"

namespace bazof::metadata {

parquet::ReaderProperties DataFileReaderProperties() {
  parquet::ReaderProperties props = parquet::default_reader_properties();
  props.set_page_checksum_verification(true);
  return props;
}

bool HasPageChecksums(const parquet::FileMetaData& metadata) {
  const auto& kv = metadata.key_value_metadata();
  if (!kv) return false;
  auto value = kv->Get(kPageChecksumsKey);
  return value.ok() && *value == kPageChecksumsCrc32;
}

namespace {

// Parquet's messages can span lines and quote raw bytes (a thrift error names
// the byte it choked on): one line, control characters as '?'.
std::string OneLine(const std::string& text) {
  std::string out;
  for (unsigned char ch : text) {
    if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += ch < 0x20 || ch == 0x7f ? '?' : static_cast<char>(ch);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

arrow::Status PageReadError(const arrow::Status& status, const std::string& where) {
  if (status.ok()) return status;
  const std::string m = OneLine(status.message());
  // Parquet's reader reports these as IOError; they are damaged bytes in the
  // file, not a failing storage.
  if (m.find("CRC checksum verification failed") != std::string::npos) {
    return Corruption(where, "page checksum mismatch (", m, ")");
  }
  if (m.find("deserialize thrift") != std::string::npos || m.find("Invalid page header") != std::string::npos) {
    return Corruption(where, "unreadable page header (", m, ")");
  }
  // A header that decodes but gives a page fewer values than it holds: the
  // column comes out shorter than the row group (Arrow's table check).
  if (m.find(" expected length ") != std::string::npos && m.find(" but got length ") != std::string::npos) {
    return Corruption(where, "a column's pages hold fewer rows than the footer gives (", m, ")");
  }
  if (m == status.message()) return where.empty() ? status : WithContext(status, where);
  return MakeError(ErrorKindOf(status), where + m);
}

}  // namespace bazof::metadata
