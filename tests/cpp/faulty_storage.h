// A Storage that fails at its k-th call, for testing what a write leaves
// behind at every point. Modes:
//  kFail:  the k-th call returns an IOError; later calls go through (the
//          writer sees one failure and reacts to it).
//  kCrash: the k-th call and every later one are lost and return an error,
//          as if the process died there (nothing after it reaches storage).
#pragma once

#include "io/storage.h"

namespace bazof::testing {

class FaultyStorage : public io::Storage {
 public:
  enum Mode { kFail, kCrash };

  FaultyStorage(std::shared_ptr<io::Storage> inner, int64_t fail_at, Mode mode)
      : inner_(std::move(inner)), fail_at_(fail_at), mode_(mode) {}

  /// Calls made so far (to size a sweep over every k).
  int64_t calls() const { return calls_; }

  std::string Describe(std::string_view name) const override { return inner_->Describe(name); }
  const std::string& display_root() const override { return inner_->display_root(); }

  arrow::Result<bool> RootExists() override {
    ARROW_RETURN_NOT_OK(Tick("RootExists"));
    return inner_->RootExists();
  }
  arrow::Result<bool> Exists(std::string_view name) override {
    ARROW_RETURN_NOT_OK(Tick("Exists"));
    return inner_->Exists(name);
  }
  arrow::Result<std::string> ReadFile(std::string_view name) override {
    ARROW_RETURN_NOT_OK(Tick("ReadFile"));
    return inner_->ReadFile(name);
  }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(std::string_view name,
                                                                     int64_t size = -1) override {
    ARROW_RETURN_NOT_OK(Tick("OpenForRead"));
    return inner_->OpenForRead(name, size);
  }
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(std::string_view name) override {
    ARROW_RETURN_NOT_OK(Tick("OpenForWrite"));
    return inner_->OpenForWrite(name);
  }
  arrow::Status Sync(std::string_view name) override {
    ARROW_RETURN_NOT_OK(Tick("Sync"));
    return inner_->Sync(name);
  }
  arrow::Status CreateExclusive(std::string_view name, std::string_view bytes) override {
    ARROW_RETURN_NOT_OK(Tick("CreateExclusive"));
    return inner_->CreateExclusive(name, bytes);
  }
  arrow::Status ReplaceFile(std::string_view name, std::string_view bytes) override {
    ARROW_RETURN_NOT_OK(Tick("ReplaceFile"));
    return inner_->ReplaceFile(name, bytes);
  }
  arrow::Status CreateRoot() override {
    ARROW_RETURN_NOT_OK(Tick("CreateRoot"));
    return inner_->CreateRoot();
  }
  arrow::Result<std::vector<io::ListedFile>> ListFiles(std::string_view dir, bool recursive) override {
    ARROW_RETURN_NOT_OK(Tick("ListFiles"));
    return inner_->ListFiles(dir, recursive);
  }
  arrow::Status DeleteFile(std::string_view name) override {
    ARROW_RETURN_NOT_OK(Tick("DeleteFile"));
    return inner_->DeleteFile(name);
  }

 private:
  arrow::Status Tick(const char* op) {
    ++calls_;
    if (crashed_) return arrow::Status::IOError("crashed before ", op);
    if (calls_ == fail_at_) {
      if (mode_ == kCrash) crashed_ = true;
      return arrow::Status::IOError("injected fault at call ", calls_, " (", op, ")");
    }
    return arrow::Status::OK();
  }

  std::shared_ptr<io::Storage> inner_;
  int64_t fail_at_;
  Mode mode_;
  int64_t calls_ = 0;
  bool crashed_ = false;
};

}  // namespace bazof::testing
