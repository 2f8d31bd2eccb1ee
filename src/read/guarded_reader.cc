#include "read/guarded_reader.h"

#include <exception>
#include <string>

#include "text_escape.h"

namespace bazof::read {
namespace {

class GuardedReader : public arrow::RecordBatchReader {
 public:
  explicit GuardedReader(std::shared_ptr<arrow::RecordBatchReader> inner) : inner_(std::move(inner)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return inner_->schema(); }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    return Guard([&] { return inner_->ReadNext(out); });
  }

  arrow::Status Close() override {
    return Guard([&] { return inner_->Close(); });
  }

 private:
  template <typename F>
  static arrow::Status Guard(F&& body) noexcept {
    try {
      return body();
    } catch (const std::exception& e) {
      return arrow::Status::UnknownError("internal error: ", EscapeForMessage(e.what()));
    } catch (...) {
      return arrow::Status::UnknownError("internal error: unknown exception");
    }
  }

  std::shared_ptr<arrow::RecordBatchReader> inner_;
};

}  // namespace

std::shared_ptr<arrow::RecordBatchReader> GuardReader(std::shared_ptr<arrow::RecordBatchReader> inner) {
  return std::make_shared<GuardedReader>(std::move(inner));
}

}  // namespace bazof::read
