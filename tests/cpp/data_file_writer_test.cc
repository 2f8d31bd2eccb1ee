// DataFileStream's encoding choice (docs/spec.md §6): columns whose first rows
// are nearly all distinct are written plain (no dictionary attempt), and such
// fixed-width columns that Snappy cannot shrink are stored uncompressed; the
// rows read back are the rows written, whatever was chosen.
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include <random>

#include "test_util.h"
#include "write/data_file_writer.h"

namespace bazof::testing {
namespace {

TableSchema WideSchema() {
  TableSchema s;
  s.key_columns.push_back(ColumnSpec{"key", 1, arrow::utf8(), false});
  s.event_time = ColumnSpec{"event_time", 2, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false};
  s.value_columns.push_back(ColumnSpec{"unique_f", 3, arrow::float64(), true});
  s.value_columns.push_back(ColumnSpec{"few_i", 4, arrow::int64(), true});
  s.value_columns.push_back(ColumnSpec{"few_s", 5, arrow::utf8(), true});
  s.value_columns.push_back(ColumnSpec{"counter", 6, arrow::int64(), true});
  s.next_column_id = 7;
  return s;
}

// `n` rows sorted by key: `per_key` rows a key, distinct times; unique_f
// random doubles, few_i and few_s 10 values, counter 0, 1, 2, ... (unique and
// compressible: Snappy finds the repeated high bytes).
std::shared_ptr<arrow::RecordBatch> Rows(const TableSchema& schema, int64_t n, int per_key, uint64_t seed) {
  std::mt19937_64 rng(seed);
  arrow::StringBuilder key, few_s;
  arrow::TimestampBuilder et(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), arrow::default_memory_pool());
  arrow::DoubleBuilder unique_f;
  arrow::Int64Builder few_i, counter;
  for (int64_t i = 0; i < n; ++i) {
    char k[32];
    std::snprintf(k, sizeof(k), "k%07lld", static_cast<long long>(i / per_key));
    EXPECT_TRUE(key.Append(k).ok());
    EXPECT_TRUE(et.Append(1'700'000'000'000'000LL + static_cast<int64_t>(rng() % 1'000'000'000'000ULL)).ok());
    EXPECT_TRUE(unique_f.Append(std::uniform_real_distribution<double>(0, 1000)(rng)).ok());
    EXPECT_TRUE(few_i.Append(static_cast<int64_t>(rng() % 10)).ok());
    EXPECT_TRUE(few_s.Append("word" + std::to_string(rng() % 10)).ok());
    EXPECT_TRUE(counter.Append(i).ok());
  }
  arrow::BooleanBuilder deleted;
  arrow::Int64Builder version;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(deleted.Append(i % 7 == 0).ok());
    EXPECT_TRUE(version.Append(1 + i % 3).ok());
  }
  arrow::ArrayVector cols;
  for (arrow::ArrayBuilder* b : std::initializer_list<arrow::ArrayBuilder*>{
           &key, &et, &unique_f, &few_i, &few_s, &counter, &deleted, &version}) {
    cols.push_back(b->Finish().ValueOrDie());
  }
  return arrow::RecordBatch::Make(write::DataFileSchema(schema, true, true), n, cols);
}

struct Chunk {
  bool dictionary = false;
  parquet::Compression::type codec;
};

// Encoding and codec of each column of row group 0, by name.
std::map<std::string, Chunk> Chunks(const std::shared_ptr<parquet::FileMetaData>& md) {
  std::map<std::string, Chunk> out;
  auto rg = md->RowGroup(0);
  for (int c = 0; c < rg->num_columns(); ++c) {
    auto chunk = rg->ColumnChunk(c);
    Chunk k;
    k.codec = chunk->compression();
    for (auto e : chunk->encodings()) {
      k.dictionary = k.dictionary || e == parquet::Encoding::RLE_DICTIONARY || e == parquet::Encoding::PLAIN_DICTIONARY;
    }
    out[md->schema()->Column(c)->name()] = k;
  }
  return out;
}

struct Written {
  DataFileRef ref;
  std::shared_ptr<parquet::FileMetaData> metadata;
  std::shared_ptr<arrow::Table> rows;
};

// Writes `batches` to one file (4096-row groups unless `row_group_rows`
// says otherwise, Parquet's 20000-row pages unless `page_rows` does) and
// reads it back.
Written WriteAndRead(const TableSchema& schema, const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
                     int64_t row_group_rows = 4096, int64_t page_rows = metadata::kDefaultPageRows) {
  auto storage = MemStorage();
  auto stream = write::DataFileStream::Open(*storage, schema, "data/f.parquet", Version(3), true, true,
                                            row_group_rows, 64 * 1024, /*parallel_columns=*/false, page_rows)
                    .ValueOrDie();
  for (const auto& b : batches) EXPECT_TRUE(stream->Write(*b).ok());
  Written w;
  w.ref = stream->Close().ValueOrDie();
  auto bytes = storage->ReadFile(w.ref.path).ValueOrDie();
  auto buffer = arrow::Buffer::FromString(std::move(bytes));
  auto reader = parquet::ParquetFileReader::Open(std::make_shared<arrow::io::BufferReader>(buffer));
  w.metadata = reader->metadata();
  auto arrow_reader = parquet::arrow::FileReader::Make(arrow::default_memory_pool(), std::move(reader)).ValueOrDie();
  w.rows = arrow_reader->ReadTable().ValueOrDie();
  return w;
}

TEST(DataFileWriterTest, NearUniqueColumnsArePlainAndIncompressibleOnesUncompressed) {
  const auto schema = WideSchema();
  // One row a key (a base): the key column is unique too.
  auto batch = Rows(schema, 10000, 1, 1);
  auto w = WriteAndRead(schema, {batch->Slice(0, 1000), batch->Slice(1000)});
  auto chunks = Chunks(w.metadata);
  EXPECT_FALSE(chunks["key"].dictionary);
  EXPECT_FALSE(chunks["event_time"].dictionary);
  EXPECT_FALSE(chunks["unique_f"].dictionary);
  EXPECT_FALSE(chunks["counter"].dictionary);
  EXPECT_TRUE(chunks["few_i"].dictionary);
  EXPECT_TRUE(chunks["few_s"].dictionary);
  EXPECT_TRUE(chunks["_bazof_version"].dictionary);
  // Random doubles and times: Snappy saves nothing, so stored raw; a counter
  // compresses and keeps Snappy, as do the dictionary-encoded columns.
  EXPECT_EQ(chunks["unique_f"].codec, parquet::Compression::UNCOMPRESSED);
  EXPECT_EQ(chunks["event_time"].codec, parquet::Compression::UNCOMPRESSED);
  EXPECT_EQ(chunks["counter"].codec, parquet::Compression::SNAPPY);
  EXPECT_EQ(chunks["key"].codec, parquet::Compression::SNAPPY);
  EXPECT_EQ(chunks["few_i"].codec, parquet::Compression::SNAPPY);
  // The rows and the recorded statistics are those written.
  auto expected = arrow::Table::FromRecordBatches({batch}).ValueOrDie();
  EXPECT_TRUE(w.rows->Equals(*expected)) << w.rows->ToString().substr(0, 2000);
  EXPECT_EQ(w.ref.rows, 10000);
  EXPECT_EQ(w.ref.tombstones, (10000 + 6) / 7);
  ASSERT_EQ(w.ref.min_key.size(), 1u);
  EXPECT_EQ(w.ref.min_key[0]->ToString(), "k0000000");
  EXPECT_EQ(w.ref.max_key[0]->ToString(), "k0009999");
  auto times = std::static_pointer_cast<arrow::TimestampArray>(batch->column(1));
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (int64_t i = 0; i < times->length(); ++i) {
    lo = std::min(lo, times->Value(i));
    hi = std::max(hi, times->Value(i));
  }
  EXPECT_EQ(w.ref.start->micros(), lo);
  EXPECT_EQ(w.ref.end->micros(), hi);
}

TEST(DataFileWriterTest, RepeatedKeysKeepTheDictionaryAttempt) {
  const auto schema = WideSchema();
  // Four rows a key (25% distinct): the key column keeps its dictionary.
  auto batch = Rows(schema, 8192, 4, 2);
  auto w = WriteAndRead(schema, {batch});
  auto chunks = Chunks(w.metadata);
  EXPECT_TRUE(chunks["key"].dictionary);
  EXPECT_FALSE(chunks["unique_f"].dictionary);
  EXPECT_TRUE(w.rows->Equals(*arrow::Table::FromRecordBatches({batch}).ValueOrDie()));
}

TEST(DataFileWriterTest, KeysWhoseDictionaryOutnumbersAPagesRowsArePlain) {
  const auto schema = WideSchema();
  // Four rows a key: 1024 keys in a 4096-row group. Under compaction's
  // 512-row pages the dictionary would hold more keys than a page holds
  // rows: plain. Under 20000-row pages (the test above) it stays.
  auto batch = Rows(schema, 8192, 4, 2);
  auto w = WriteAndRead(schema, {batch}, 4096, 512);
  auto chunks = Chunks(w.metadata);
  EXPECT_FALSE(chunks["key"].dictionary);
  EXPECT_TRUE(chunks["few_i"].dictionary);
  EXPECT_TRUE(w.rows->Equals(*arrow::Table::FromRecordBatches({batch}).ValueOrDie()));
  // 1024 rows a key: 4 keys a group, far fewer than a page's rows.
  auto few = Rows(schema, 8192, 1024, 2);
  auto f = WriteAndRead(schema, {few}, 4096, 512);
  EXPECT_TRUE(Chunks(f.metadata)["key"].dictionary);
  // The first 2048 rows of 4096-row groups, 512 keys: projected to a group
  // while the keys keep coming (1024 > 512 rows a page), plain.
  auto g = WriteAndRead(schema, {batch->Slice(0, 2048), batch->Slice(2048)}, 4096, 512);
  EXPECT_FALSE(Chunks(g.metadata)["key"].dictionary);
  EXPECT_TRUE(g.rows->Equals(*arrow::Table::FromRecordBatches({batch}).ValueOrDie()));
}

TableSchema LabelSchema() {
  TableSchema s;
  s.key_columns.push_back(ColumnSpec{"key", 1, arrow::utf8(), false});
  s.event_time = ColumnSpec{"event_time", 2, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false};
  s.value_columns.push_back(ColumnSpec{"labels", 3, arrow::utf8(), true});
  s.value_columns.push_back(ColumnSpec{"growing", 4, arrow::utf8(), true});
  s.next_column_id = 5;
  return s;
}

// `n` rows, 16 a key: `labels` drawn from 3000 14-byte labels (a 54 KB
// dictionary, under the 64 KiB limit), `growing` half-distinct 30-byte
// strings (each value twice, new values all along).
std::shared_ptr<arrow::RecordBatch> LabelRows(const TableSchema& schema, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  arrow::StringBuilder key, labels, growing;
  arrow::TimestampBuilder et(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), arrow::default_memory_pool());
  arrow::BooleanBuilder deleted;
  arrow::Int64Builder version;
  for (int64_t i = 0; i < n; ++i) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "k%07lld", static_cast<long long>(i / 16));
    EXPECT_TRUE(key.Append(buf).ok());
    EXPECT_TRUE(et.Append(1'700'000'000'000'000LL + i).ok());
    std::snprintf(buf, sizeof(buf), "label-%08llu", static_cast<unsigned long long>(rng() % 3000));
    EXPECT_TRUE(labels.Append(buf).ok());
    std::snprintf(buf, sizeof(buf), "growing-value-number-%09lld", static_cast<long long>(i / 2));
    EXPECT_TRUE(growing.Append(buf).ok());
    EXPECT_TRUE(deleted.Append(false).ok());
    EXPECT_TRUE(version.Append(1).ok());
  }
  arrow::ArrayVector cols;
  for (arrow::ArrayBuilder* b :
       std::initializer_list<arrow::ArrayBuilder*>{&key, &et, &labels, &growing, &deleted, &version}) {
    cols.push_back(b->Finish().ValueOrDie());
  }
  return arrow::RecordBatch::Make(write::DataFileSchema(schema, true, true), n, cols);
}

TEST(DataFileWriterTest, ValueDictionariesThatWouldOverflowArePlainBoundedLabelsKeepTheirs) {
  const auto schema = LabelSchema();
  auto batch = LabelRows(schema, 32768, 4);
  const auto expected = arrow::Table::FromRecordBatches({batch}).ValueOrDie();
  // A whole 16384-row group in the first batch: `growing`'s 8192 values
  // (278 KB) outgrow the limit; the 3000 labels fit.
  auto w = WriteAndRead(schema, {batch}, 16384);
  auto chunks = Chunks(w.metadata);
  EXPECT_FALSE(chunks["growing"].dictionary);
  EXPECT_TRUE(chunks["labels"].dictionary);
  EXPECT_TRUE(w.rows->Equals(*expected));
  // Half a group first: the labels level off (about 2800 of the 3000 seen,
  // the second half of the sample bringing a quarter as many new ones as
  // the first), so their dictionary is not projected, and stays.
  auto h = WriteAndRead(schema, {batch->Slice(0, 8192), batch->Slice(8192)}, 16384);
  EXPECT_FALSE(Chunks(h.metadata)["growing"].dictionary);
  EXPECT_TRUE(Chunks(h.metadata)["labels"].dictionary);
  EXPECT_TRUE(h.rows->Equals(*expected));
  // An eighth of a group: 1024 `growing` values (35 KB) projected to 8x: plain.
  auto e = WriteAndRead(schema, {batch->Slice(0, 2048), batch->Slice(2048)}, 16384);
  EXPECT_FALSE(Chunks(e.metadata)["growing"].dictionary);
  EXPECT_TRUE(e.rows->Equals(*expected));
}

TEST(DataFileWriterTest, ASmallFirstBatchKeepsParquetsDefaults) {
  const auto schema = WideSchema();
  // 100 rows say too little: every hashable column tries a dictionary (which
  // 4096 near-unique values never outgrow), all compressed.
  auto batch = Rows(schema, 4096, 1, 3);
  auto w = WriteAndRead(schema, {batch->Slice(0, 100), batch->Slice(100)});
  auto chunks = Chunks(w.metadata);
  EXPECT_TRUE(chunks["key"].dictionary);
  EXPECT_TRUE(chunks["unique_f"].dictionary);
  EXPECT_EQ(chunks["unique_f"].codec, parquet::Compression::SNAPPY);
  EXPECT_TRUE(w.rows->Equals(*arrow::Table::FromRecordBatches({batch}).ValueOrDie()));
}

TEST(DataFileWriterTest, AnEmptyFileIsStillAValidDataFile) {
  const auto schema = WideSchema();
  auto w = WriteAndRead(schema, {});
  EXPECT_EQ(w.ref.rows, 0);
  EXPECT_EQ(w.rows->num_rows(), 0);
  EXPECT_EQ(w.metadata->num_columns(), 8);
}

}  // namespace
}  // namespace bazof::testing
