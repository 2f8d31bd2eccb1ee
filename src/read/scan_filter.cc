#include "read/scan_filter.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <iterator>
#include <map>

#include "read/run_reader.h"

namespace bazof::read {
namespace {

namespace cp = arrow::compute;

bool IsKeyRef(const cp::Expression& e, const std::string& key) {
  const arrow::FieldRef* ref = e.field_ref();
  return ref != nullptr && ref->name() != nullptr && *ref->name() == key;
}

// The literal converted to the key's type, or nullopt when it is not a
// literal or does not convert without loss (then nothing is pushed down).
std::optional<std::string> EncodeLiteral(const std::shared_ptr<arrow::Scalar>& value, const KeyCodec& codec) {
  if (!value || !value->is_valid) return std::nullopt;
  std::shared_ptr<arrow::Scalar> typed = value;
  if (!value->type->Equals(*codec.types()[0])) {
    auto cast = value->CastTo(codec.types()[0]);
    if (!cast.ok()) return std::nullopt;
    // A lossy conversion would change which keys match: check it round-trips.
    auto back = (*cast)->CastTo(value->type);
    if (!back.ok() || !(*back)->Equals(*value)) return std::nullopt;
    typed = *cast;
  }
  // Composite keys: the first column's self-delimiting prefix (key_codec.h).
  auto code = codec.num_columns() == 1 ? codec.EncodeScalars({typed}) : codec.EncodeFirstColumn(*typed);
  if (!code.ok()) return std::nullopt;
  return *code;
}

// `name == literal` conjuncts of the top-level conjunction, per column name.
void CollectEqualities(const cp::Expression& e, std::map<std::string, std::shared_ptr<arrow::Scalar>>* out) {
  const cp::Expression::Call* call = e.call();
  if (call == nullptr) return;
  if (call->function_name == "and_kleene" || call->function_name == "and") {
    for (const auto& arg : call->arguments) CollectEqualities(arg, out);
    return;
  }
  if (call->function_name != "equal" || call->arguments.size() != 2) return;
  for (int side = 0; side < 2; ++side) {
    const arrow::FieldRef* ref = call->arguments[side].field_ref();
    const arrow::Datum* lit = call->arguments[1 - side].literal();
    if (ref && ref->name() && lit && lit->is_scalar() && lit->scalar()->is_valid) {
      out->emplace(*ref->name(), lit->scalar());
    }
  }
}

std::optional<std::string> EncodeLiteral(const cp::Expression& e, const KeyCodec& codec) {
  const arrow::Datum* d = e.literal();
  if (d == nullptr || !d->is_scalar()) return std::nullopt;
  return EncodeLiteral(d->scalar(), codec);
}

class Deriver {
 public:
  Deriver(const std::string& key, const KeyCodec& codec) : key_(key), codec_(codec) {}

  void Walk(const cp::Expression& e) {
    const cp::Expression::Call* call = e.call();
    if (call == nullptr) return;
    const std::string& fn = call->function_name;
    if (fn == "and_kleene" || fn == "and") {
      for (const auto& arg : call->arguments) Walk(arg);
      return;
    }
    if (fn == "is_in" && call->arguments.size() == 1 && IsKeyRef(call->arguments[0], key_)) {
      auto* options = dynamic_cast<const cp::SetLookupOptions*>(call->options.get());
      if (options == nullptr || !options->value_set.is_array()) return;
      auto values = options->value_set.make_array();
      std::vector<std::string> codes;
      for (int64_t i = 0; i < values->length(); ++i) {
        if (values->IsNull(i)) continue;  // a null key never matches a row
        auto scalar = values->GetScalar(i);
        if (!scalar.ok()) return;
        auto code = EncodeLiteral(*scalar, codec_);
        if (!code) return;
        codes.push_back(std::move(*code));
      }
      Intersect(std::move(codes));
      return;
    }
    static const char* kComparisons[] = {"equal", "less", "less_equal", "greater", "greater_equal"};
    if (call->arguments.size() != 2 ||
        std::find(std::begin(kComparisons), std::end(kComparisons), fn) == std::end(kComparisons)) {
      return;
    }
    std::string op = fn;
    const cp::Expression* literal = &call->arguments[1];
    if (!IsKeyRef(call->arguments[0], key_)) {
      if (!IsKeyRef(call->arguments[1], key_)) return;
      literal = &call->arguments[0];
      // 5 < key  <=>  key > 5
      if (op == "less") op = "greater";
      else if (op == "greater") op = "less";
      else if (op == "less_equal") op = "greater_equal";
      else if (op == "greater_equal") op = "less_equal";
    }
    auto code = EncodeLiteral(*literal, codec_);
    if (!code) return;
    if (op == "equal") {
      Intersect({*code});
    } else if (op == "greater" || op == "greater_equal") {
      if (!out_.lower || *out_.lower < *code) out_.lower = *code;
    } else {
      if (!out_.upper || *code < *out_.upper) out_.upper = *code;
    }
  }

  KeyConstraints Result() && { return std::move(out_); }

 private:
  void Intersect(std::vector<std::string> codes) {
    std::sort(codes.begin(), codes.end());
    codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
    if (!out_.key_in) {
      out_.key_in = std::move(codes);
      return;
    }
    std::vector<std::string> both;
    std::set_intersection(out_.key_in->begin(), out_.key_in->end(), codes.begin(), codes.end(),
                          std::back_inserter(both));
    out_.key_in = std::move(both);
  }

  const std::string& key_;
  const KeyCodec& codec_;
  KeyConstraints out_;
};

class FilterReader : public arrow::RecordBatchReader {
 public:
  FilterReader(std::shared_ptr<arrow::RecordBatchReader> input, cp::Expression filter,
               std::shared_ptr<arrow::Schema> schema)
      : input_(std::move(input)), filter_(std::move(filter)), schema_(std::move(schema)) {
    for (int i = 0; i < schema_->num_fields(); ++i) columns_.push_back(i);
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(input_->ReadNext(&batch));
      if (!batch) {
        *out = nullptr;
        return arrow::Status::OK();
      }
      ARROW_ASSIGN_OR_RAISE(auto mask, cp::ExecuteScalarExpression(filter_, cp::ExecBatch(*batch)));
      ARROW_ASSIGN_OR_RAISE(auto kept, cp::Filter(batch, mask));
      auto filtered = kept.record_batch();
      if (filtered->num_rows() == 0) continue;
      ARROW_ASSIGN_OR_RAISE(*out, filtered->SelectColumns(columns_));
      return arrow::Status::OK();
    }
  }

  arrow::Status Close() override { return input_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> input_;
  cp::Expression filter_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<int> columns_;
};

}  // namespace

std::pair<std::optional<std::string>, std::optional<std::string>> EncodedRange(const KeyConstraints& c) {
  std::optional<std::string> lower = c.lower, upper = c.upper;
  if (c.key_in && !c.key_in->empty()) {
    if (!lower || *lower < c.key_in->front()) lower = c.key_in->front();
    if (!upper || c.key_in->back() < *upper) upper = c.key_in->back();
  }
  if (upper) *upper += std::string(1, '\0');  // inclusive -> exclusive
  return {std::move(lower), std::move(upper)};
}

void NarrowRange(std::optional<std::string>* lower, std::optional<std::string>* upper,
                 const std::optional<std::string>& to_lower, const std::optional<std::string>& to_upper) {
  if (to_lower && (!*lower || **lower < *to_lower)) *lower = to_lower;
  if (to_upper && (!*upper || *to_upper < **upper)) *upper = to_upper;
}

KeyConstraints DeriveKeyConstraints(const cp::Expression& filter, const std::string& key, const KeyCodec& codec) {
  Deriver d(key, codec);
  if (codec.num_columns() == 1) d.Walk(filter);
  return std::move(d).Result();
}

KeyConstraints DeriveKeyConstraints(const cp::Expression& filter, const std::vector<std::string>& keys,
                                    const KeyCodec& codec) {
  if (keys.size() == 1 || codec.num_columns() == 1) return DeriveKeyConstraints(filter, keys.at(0), codec);
  // The first column alone bounds the key by its prefix (inclusive upper
  // bound: the prefix's successor, a superset).
  Deriver d(keys[0], codec);
  d.Walk(filter);
  KeyConstraints first = std::move(d).Result();
  KeyConstraints out;
  if (first.key_in && !first.key_in->empty()) {
    first.lower = first.lower ? std::max(*first.lower, first.key_in->front()) : first.key_in->front();
    first.upper = first.upper ? std::min(*first.upper, first.key_in->back()) : first.key_in->back();
  }
  out.lower = first.lower;
  if (first.upper) out.upper = PrefixSuccessor(*first.upper);
  // Every key column equal to a literal: that one key.
  std::map<std::string, std::shared_ptr<arrow::Scalar>> eq;
  CollectEqualities(filter, &eq);
  KeyValue key;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = eq.find(keys[i]);
    if (it == eq.end()) return out;
    std::shared_ptr<arrow::Scalar> typed = it->second;
    if (!typed->type->Equals(*codec.types()[i])) {
      auto cast = typed->CastTo(codec.types()[i]);
      if (!cast.ok()) return out;
      auto back = (*cast)->CastTo(typed->type);
      if (!back.ok() || !(*back)->Equals(*typed)) return out;
      typed = *cast;
    }
    key.push_back(typed);
  }
  auto code = codec.EncodeScalars(key);
  if (code.ok()) out.key_in = std::vector<std::string>{*code};
  return out;
}

std::shared_ptr<arrow::RecordBatchReader> MakeFilterReader(std::shared_ptr<arrow::RecordBatchReader> input,
                                                           cp::Expression bound_filter,
                                                           std::shared_ptr<arrow::Schema> output_schema) {
  return std::make_shared<FilterReader>(std::move(input), std::move(bound_filter), std::move(output_schema));
}

}  // namespace bazof::read
