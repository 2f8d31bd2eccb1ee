// Where an s3:// location lives and how to talk to it: the one place that
// reads S3 options, URI query parameters and AWS environment variables, and
// the one place that initializes and finalizes Arrow's S3 support and
// libcurl.
#pragma once

#include <arrow/filesystem/s3fs.h>
#include <arrow/result.h>

#include <memory>
#include <string>

#include "bazof/storage_options.h"

namespace bazof::io {

/// Resolved settings of one s3:// location. Holds credentials: never print it.
struct S3Config {
  std::string bucket;
  std::string prefix;        ///< key prefix of the location, no leading/trailing '/'
  std::string display;       ///< s3://bucket/prefix (no query, no credentials)
  std::string scheme = "https";
  std::string endpoint;      ///< host[:port]; empty = AWS
  std::string region;
  std::string access_key, secret_key, session_token;
  bool anonymous = false;
  bool conditional_writes = true;
  int max_attempts = 3;
  double connect_timeout = 10;
  double request_timeout = 60;
  /// Shared by Arrow's S3 client (data files) and the metadata client.
  std::shared_ptr<arrow::fs::S3RetryStrategy> retry_strategy;
  std::shared_ptr<arrow::fs::S3FileSystem> fs;
};

/// Resolves `location` (s3://bucket/prefix[?query]) with `options` and the
/// environment, initializes S3 support once per process, and makes the
/// Arrow filesystem. Errors name the location, never a credential.
arrow::Result<std::shared_ptr<S3Config>> ResolveS3(const std::string& location,
                                                   const StorageOptions& options);

/// Initializes Arrow's S3 support and libcurl once per process. Thread-safe.
arrow::Status EnsureS3();

/// Shuts Arrow's S3 support down if it was initialized. A program calls it
/// once, after its last use of S3 and before static destruction (the AWS SDK
/// crashes if it is still up then; an atexit handler runs too late, after
/// statics made by the first request). The CLI does it in main() through
/// S3Shutdown; Python's pyarrow does it itself at exit.
void FinalizeS3IfInitialized();

/// Calls FinalizeS3IfInitialized() when it goes out of scope.
struct S3Shutdown {
  S3Shutdown() = default;
  S3Shutdown(const S3Shutdown&) = delete;
  S3Shutdown& operator=(const S3Shutdown&) = delete;
  ~S3Shutdown() { FinalizeS3IfInitialized(); }
};

}  // namespace bazof::io
