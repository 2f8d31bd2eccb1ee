// A Storage that counts what readers fetch: data files opened and bytes read
// through them, to prove that keyed reads skip files, row groups and footers.
#pragma once

#include <arrow/io/interfaces.h>

#include <atomic>
#include <mutex>
#include <set>

#include "io/storage.h"

namespace bazof::testing {

class CountingStorage : public io::Storage {
 public:
  explicit CountingStorage(std::shared_ptr<io::Storage> inner) : inner_(std::move(inner)) {}

  /// Bytes read through files opened with OpenForRead, and the reads.
  int64_t bytes_read() const { return bytes_->load(); }
  int64_t reads() const { return reads_->load(); }
  /// Distinct files opened with OpenForRead.
  std::set<std::string> opened() const {
    std::lock_guard<std::mutex> lock(mu_);
    return opened_;
  }
  void Reset() {
    bytes_->store(0);
    reads_->store(0);
    std::lock_guard<std::mutex> lock(mu_);
    opened_.clear();
  }

  std::string Describe(std::string_view name) const override { return inner_->Describe(name); }
  const std::string& display_root() const override { return inner_->display_root(); }
  bool high_latency() const override { return high_latency_ || inner_->high_latency(); }
  /// Makes readers treat this storage as an object store (coalesced reads).
  void set_high_latency(bool v) { high_latency_ = v; }
  arrow::Result<bool> RootExists() override { return inner_->RootExists(); }
  arrow::Result<bool> Exists(std::string_view name) override { return inner_->Exists(name); }
  arrow::Result<std::string> ReadFile(std::string_view name) override { return inner_->ReadFile(name); }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(std::string_view name,
                                                                     int64_t size = -1) override {
    ARROW_ASSIGN_OR_RAISE(auto f, inner_->OpenForRead(name, size));
    {
      std::lock_guard<std::mutex> lock(mu_);
      opened_.insert(std::string(name));
    }
    return std::make_shared<CountingFile>(std::move(f), bytes_, reads_);
  }
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(std::string_view name) override {
    return inner_->OpenForWrite(name);
  }
  arrow::Status Sync(std::string_view name) override { return inner_->Sync(name); }
  arrow::Status CreateExclusive(std::string_view name, std::string_view bytes) override {
    return inner_->CreateExclusive(name, bytes);
  }
  arrow::Status ReplaceFile(std::string_view name, std::string_view bytes) override {
    return inner_->ReplaceFile(name, bytes);
  }
  arrow::Status CreateRoot() override { return inner_->CreateRoot(); }
  arrow::Result<std::vector<io::ListedFile>> ListFiles(std::string_view dir, bool recursive) override {
    return inner_->ListFiles(dir, recursive);
  }
  arrow::Status DeleteFile(std::string_view name) override { return inner_->DeleteFile(name); }

 private:
  using Counter = std::shared_ptr<std::atomic<int64_t>>;

  class CountingFile : public arrow::io::RandomAccessFile {
   public:
    CountingFile(std::shared_ptr<arrow::io::RandomAccessFile> inner, Counter bytes, Counter reads)
        : inner_(std::move(inner)), bytes_(std::move(bytes)), reads_(std::move(reads)) {}
    arrow::Status Close() override { return inner_->Close(); }
    bool closed() const override { return inner_->closed(); }
    arrow::Result<int64_t> Tell() const override { return inner_->Tell(); }
    arrow::Status Seek(int64_t position) override { return inner_->Seek(position); }
    arrow::Result<int64_t> GetSize() override { return inner_->GetSize(); }
    arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
      ARROW_ASSIGN_OR_RAISE(auto n, inner_->Read(nbytes, out));
      Count(n);
      return n;
    }
    arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
      ARROW_ASSIGN_OR_RAISE(auto b, inner_->Read(nbytes));
      Count(b->size());
      return b;
    }
    arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
      ARROW_ASSIGN_OR_RAISE(auto n, inner_->ReadAt(position, nbytes, out));
      Count(n);
      return n;
    }
    arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
      ARROW_ASSIGN_OR_RAISE(auto b, inner_->ReadAt(position, nbytes));
      Count(b->size());
      return b;
    }

   private:
    void Count(int64_t n) {
      *bytes_ += n;
      ++*reads_;
    }
    std::shared_ptr<arrow::io::RandomAccessFile> inner_;
    Counter bytes_, reads_;
  };

  std::shared_ptr<io::Storage> inner_;
  Counter bytes_ = std::make_shared<std::atomic<int64_t>>(0);
  Counter reads_ = std::make_shared<std::atomic<int64_t>>(0);
  mutable std::mutex mu_;
  std::set<std::string> opened_;
  bool high_latency_ = false;
};

}  // namespace bazof::testing
