#include "maintenance/file_check.h"

#include <arrow/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>

#include <algorithm>

#include "bazof/error.h"
#include "metadata/page_checksums.h"
#include "metadata/column_match.h"
#include "metadata/types.h"
#include "read/run_reader.h"

namespace bazof::maintenance {
namespace {

bool StringLike(arrow::Type::type id) {
  return id == arrow::Type::STRING || id == arrow::Type::LARGE_STRING || id == arrow::Type::STRING_VIEW ||
         id == arrow::Type::BINARY || id == arrow::Type::LARGE_BINARY || id == arrow::Type::BINARY_VIEW;
}

// Whether a reader can convert a file column of type `from` to the table's
// type `to` without losing information (the conversions the run reader
// casts, and append accepts).
bool Compatible(const arrow::DataType& from, const arrow::DataType& to) {
  if (from.Equals(to)) return true;
  if (from.id() == arrow::Type::NA) return true;  // all null
  if (from.id() == arrow::Type::DICTIONARY) {
    return Compatible(*static_cast<const arrow::DictionaryType&>(from).value_type(), to);
  }
  if (StringLike(from.id()) && StringLike(to.id())) return true;
  if (from.id() == arrow::Type::TIMESTAMP && to.id() == arrow::Type::TIMESTAMP) return true;
  if ((from.id() == arrow::Type::DATE32 || from.id() == arrow::Type::DATE64) &&
      (to.id() == arrow::Type::DATE32 || to.id() == arrow::Type::DATE64)) {
    return true;
  }
  if (from.id() == arrow::Type::FLOAT && to.id() == arrow::Type::DOUBLE) return true;
  if (arrow::is_integer(from.id()) && arrow::is_integer(to.id())) {
    const bool same_sign = arrow::is_signed_integer(from.id()) == arrow::is_signed_integer(to.id());
    return (same_sign && arrow::bit_width(from.id()) <= arrow::bit_width(to.id())) ||
           (arrow::is_unsigned_integer(from.id()) && arrow::bit_width(from.id()) < arrow::bit_width(to.id()));
  }
  if (arrow::is_decimal(from.id()) && arrow::is_decimal(to.id())) {
    const auto& f = static_cast<const arrow::DecimalType&>(from);
    const auto& t = static_cast<const arrow::DecimalType&>(to);
    if (f.scale() == t.scale() && f.precision() <= t.precision()) return true;
  }
  // Files written before `alter widen-column` (integers to floats, decimals
  // to a larger scale): the reader casts them exactly.
  return metadata::IsExactWidening(from, to);
}


int64_t ToMicros(int64_t v, arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return v * 1000000;
    case arrow::TimeUnit::MILLI:
      return v * 1000;
    case arrow::TimeUnit::MICRO:
      return v;
    case arrow::TimeUnit::NANO:
      return v / 1000 - (v % 1000 < 0 ? 1 : 0);
  }
  return v;
}

struct ColumnStats {
  bool complete = true;  // every non-empty row group has min/max
  std::shared_ptr<arrow::Scalar> min, max;
  int64_t nulls = 0;
};

ColumnStats StatsOf(const parquet::FileMetaData& md, int leaf,
                    const std::function<bool(const arrow::Scalar&, const arrow::Scalar&)>& less) {
  ColumnStats out;
  for (int rg = 0; rg < md.num_row_groups(); ++rg) {
    auto group = md.RowGroup(rg);
    if (group->num_rows() == 0) continue;
    auto stats = group->ColumnChunk(leaf)->statistics();
    if (!stats) {
      out.complete = false;
      continue;
    }
    if (stats->HasNullCount()) out.nulls += stats->null_count();
    std::shared_ptr<arrow::Scalar> lo, hi;
    if (!stats->HasMinMax() || !parquet::arrow::StatisticsAsScalars(*stats, &lo, &hi).ok()) {
      // A row group of nulls only has no min/max; any other gap makes the
      // range unknown.
      if (!(stats->HasNullCount() && stats->null_count() == group->num_rows())) out.complete = false;
      continue;
    }
    if (!out.min || less(*lo, *out.min)) out.min = lo;
    if (!out.max || less(*out.max, *hi)) out.max = hi;
  }
  if (!out.min) out.complete = false;
  return out;
}

}  // namespace

FileFooter ReadFooter(io::Storage& storage, const std::string& name) {
  FileFooter f;
  f.status = [&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto input, storage.OpenForRead(name));
    auto size = input->GetSize();
    if (!size.ok()) return MakeError(ErrorKind::kIOError, "cannot get its size: " + size.status().message());
    f.size = *size;
    parquet::arrow::FileReaderBuilder builder;
    if (auto st = builder.Open(input, metadata::DataFileReaderProperties()); !st.ok()) {
      return Corruption("not a Parquet file (", st.message(), ")");
    }
    auto reader = builder.Build();
    if (!reader.ok()) return Corruption("not a Parquet file (", reader.status().message(), ")");
    f.metadata = (*reader)->parquet_reader()->metadata();
    f.page_checksums = metadata::HasPageChecksums(*f.metadata);
    f.rows = f.metadata->num_rows();
    auto st = (*reader)->GetSchema(&f.schema);
    if (!st.ok()) return Corruption("unreadable schema (", st.message(), ")");
    for (const auto& field : (*reader)->manifest().schema_fields) f.leaves.push_back(field.column_index);
    return arrow::Status::OK();
  }();
  return f;
}

std::vector<std::string> SchemaProblems(const FileFooter& footer, const TableSchema& schema,
                                        bool match_by_id) {
  std::vector<std::string> out;
  const arrow::Schema& file = *footer.schema;
  auto check = [&](const ColumnSpec& spec, int index, const char* role) {
    const auto& type = file.field(index)->type();
    if (footer.leaves[index] < 0) {
      out.push_back(std::string(role) + " column '" + spec.name + "' is nested");
    } else if (!Compatible(*type, *spec.type)) {
      out.push_back(std::string(role) + " column '" + file.field(index)->name() + "' is " + type->ToString() +
                    ", the table's type is " + spec.type->ToString());
    }
  };
  for (const auto& k : schema.key_columns) {
    int i = file.GetFieldIndex(k.name);
    if (i < 0) {
      out.push_back("no key column '" + k.name + "'");
    } else {
      check(k, i, "key");
    }
  }
  const ColumnSpec& et = schema.event_time;
  int i = file.GetFieldIndex(et.name);
  if (i < 0) {
    out.push_back("no event-time column '" + et.name + "'");
  } else if (file.field(i)->type()->id() != arrow::Type::TIMESTAMP) {
    out.push_back("event-time column '" + et.name + "' is " + file.field(i)->type()->ToString() +
                  ", not a timestamp");
  } else {
    check(et, i, "event-time");
  }
  int del = file.GetFieldIndex(kDeletedColumn);
  if (del >= 0 && file.field(del)->type()->id() != arrow::Type::BOOL) {
    out.push_back(std::string("column '") + kDeletedColumn + "' is " + file.field(del)->type()->ToString() +
                  ", not bool");
  }
  int ver = file.GetFieldIndex(kVersionColumn);
  if (ver >= 0 && file.field(ver)->type()->id() != arrow::Type::INT64) {
    out.push_back(std::string("column '") + kVersionColumn + "' is " + file.field(ver)->type()->ToString() +
                  ", not int64");
  }
  // The reader's rule (metadata/column_match.h).
  for (const auto& v : schema.value_columns) {
    const int found = metadata::FindValueColumn(file, v, match_by_id);
    if (found >= 0) check(v, found, "value");
  }
  return out;
}

FooterStats ReadFooterStats(const FileFooter& footer, const TableSchema& schema) {
  FooterStats out;
  const auto& md = *footer.metadata;
  auto leaf_of = [&](const std::string& name) {
    int i = footer.schema->GetFieldIndex(name);
    return i < 0 ? -1 : footer.leaves[i];
  };
  // Event time: compare as microseconds, whatever the file's unit.
  auto micros = [](const arrow::Scalar& s) -> std::optional<int64_t> {
    if (s.type->id() != arrow::Type::TIMESTAMP || !s.is_valid) return std::nullopt;
    return ToMicros(static_cast<const arrow::TimestampScalar&>(s).value,
                    static_cast<const arrow::TimestampType&>(*s.type).unit());
  };
  if (int leaf = leaf_of(schema.event_time.name); leaf >= 0) {
    bool ok = true;
    auto less = [&](const arrow::Scalar& a, const arrow::Scalar& b) {
      auto x = micros(a), y = micros(b);
      if (!x || !y) ok = false;
      return x && y && *x < *y;
    };
    auto stats = StatsOf(md, leaf, less);
    out.null_event_times = stats.nulls;
    if (ok && stats.complete && micros(*stats.min) && micros(*stats.max)) {
      out.event_micros = std::make_pair(*micros(*stats.min), *micros(*stats.max));
    }
  }
  if (int leaf = leaf_of(kVersionColumn); leaf >= 0) {
    out.null_versions = StatsOf(md, leaf, [](const arrow::Scalar&, const arrow::Scalar&) { return false; }).nulls;
  }
  // Keys: order as the key codec does (bytes for strings, numbers, ...).
  std::vector<std::shared_ptr<arrow::DataType>> key_types;
  for (const auto& k : schema.key_columns) key_types.push_back(k.type);
  auto codec = read::KeyCodec::Make(key_types);
  for (size_t k = 0; k < schema.key_columns.size(); ++k) {
    int leaf = leaf_of(schema.key_columns[k].name);
    if (leaf < 0) continue;
    bool ok = codec.ok();
    auto encode = [&](const arrow::Scalar& s) -> std::string {
      auto e = codec->EncodeFirstColumn(s);
      if (!e.ok()) ok = false;
      return e.ok() ? *e : std::string();
    };
    std::function<bool(const arrow::Scalar&, const arrow::Scalar&)> less =
        [&](const arrow::Scalar& a, const arrow::Scalar& b) { return ok && encode(a) < encode(b); };
    if (k > 0) less = [](const arrow::Scalar&, const arrow::Scalar&) { return false; };
    auto stats = StatsOf(md, leaf, less);
    out.null_keys += stats.nulls;
    if (k == 0 && ok && stats.complete) {
      auto lo = stats.min->CastTo(key_types[0]);
      auto hi = stats.max->CastTo(key_types[0]);
      if (lo.ok() && hi.ok()) out.first_key = std::make_pair(*lo, *hi);
    }
  }
  return out;
}

RowFacts ReadRows(io::Storage& storage, const std::string& name, const Snapshot& snapshot) {
  RowFacts f;
  f.status = [&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(snapshot, {}));
    planning::PlannedFile planned;
    planned.ref.path = name;
    planned.ref.sorted = true;  // stream the rows in file order, never re-sorted
    ARROW_ASSIGN_OR_RAISE(auto opened, read::OpenDataFile(storage, planned, *shape));
    ARROW_ASSIGN_OR_RAISE(auto run, read::RunSource::Make(storage, opened, *shape, read::KeyBounds{}, 64 * 1024));
    const size_t num_keys = snapshot.schema.key_columns.size();
    std::string last_key;  // the previous batch's last key
    int64_t last_micros = 0;
    auto key_at = [&](const arrow::RecordBatch& b, int64_t row) -> arrow::Result<KeyValue> {
      KeyValue key;
      for (size_t k = 0; k < num_keys; ++k) {
        ARROW_ASSIGN_OR_RAISE(auto s, b.column(static_cast<int>(k))->GetScalar(row));
        key.push_back(std::move(s));
      }
      return key;
    };
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto rb, run->Next());
      if (!rb) break;
      const auto& views = rb->keys.views;
      int64_t lo = rb->begin, hi = rb->begin;
      for (int64_t i = rb->begin; i < rb->end; ++i) {
        const int64_t micros = rb->event_micros[i];
        if (f.rows > 0) {
          std::string_view prev = i > rb->begin ? views[i - 1] : std::string_view(last_key);
          const int64_t prev_micros = i > rb->begin ? rb->event_micros[i - 1] : last_micros;
          const int c = views[i].compare(prev);
          if (f.first_unsorted_row < 0 && (c < 0 || (c == 0 && micros < prev_micros))) {
            f.first_unsorted_row = f.rows;
          }
          if (f.first_repeated_key_row < 0 && c == 0) f.first_repeated_key_row = f.rows;
        }
        if (views[i] < views[lo]) lo = i;
        if (views[i] > views[hi]) hi = i;
        if (!f.min_event_micros || micros < *f.min_event_micros) f.min_event_micros = micros;
        if (!f.max_event_micros || micros > *f.max_event_micros) f.max_event_micros = micros;
        if (rb->IsDeleted(i)) ++f.tombstones;
        ++f.rows;
      }
      if (rb->end > rb->begin) {
        if (f.min_key.empty() || views[lo] < f.min_key_code) {
          f.min_key_code = std::string(views[lo]);
          ARROW_ASSIGN_OR_RAISE(f.min_key, key_at(*rb->batch, lo));
        }
        if (f.max_key.empty() || views[hi] > f.max_key_code) {
          f.max_key_code = std::string(views[hi]);
          ARROW_ASSIGN_OR_RAISE(f.max_key, key_at(*rb->batch, hi));
        }
        last_key = std::string(views[rb->end - 1]);
        last_micros = rb->event_micros[rb->end - 1];
      }
    }
    return arrow::Status::OK();
  }();
  return f;
}

arrow::Status DecodeAllPages(io::Storage& storage, const std::string& name, int64_t size) {
  ARROW_ASSIGN_OR_RAISE(auto input, storage.OpenForRead(name, size));
  parquet::arrow::FileReaderBuilder builder;
  if (auto st = builder.Open(input, metadata::DataFileReaderProperties()); !st.ok()) {
    return Corruption("not a Parquet file (", st.message(), ")");
  }
  parquet::ArrowReaderProperties props;
  props.set_use_threads(false);
  std::unique_ptr<parquet::arrow::FileReader> reader;
  ARROW_RETURN_NOT_OK(builder.properties(props)->Build(&reader));
  std::shared_ptr<arrow::Schema> schema;
  ARROW_RETURN_NOT_OK(reader->GetSchema(&schema));
  const int row_groups = reader->num_row_groups();
  for (int rg = 0; rg < row_groups; ++rg) {
    const int64_t expected = reader->parquet_reader()->metadata()->RowGroup(rg)->num_rows();
    for (int c = 0; c < schema->num_fields(); ++c) {
      const std::string where = "row group " + std::to_string(rg) + ", column '" + schema->field(c)->name() + "': ";
      // Read() decodes (and CRC-checks) every page of the column chunk.
      std::shared_ptr<arrow::ChunkedArray> values;
      auto st = reader->RowGroup(rg)->Column(c)->Read(&values);
      if (!st.ok()) {
        st = metadata::PageReadError(st, where);
        // Anything else the decoder refuses is damage to the file too.
        if (ErrorKindOf(st) == ErrorKind::kCorruption) return st;
        return Corruption(where, "undecodable pages (", st.message(), ")");
      }
      if (values->length() != expected) {
        return Corruption(where, values->length(), " values decoded, the row group has ", expected, " rows");
      }
    }
  }
  return arrow::Status::OK();
}

std::string KeyText(const KeyValue& key) {
  std::string out;
  for (const auto& s : key) out += (out.empty() ? "" : ", ") + (s ? s->ToString() : std::string("null"));
  return key.size() == 1 ? out : "(" + out + ")";
}

}  // namespace bazof::maintenance
