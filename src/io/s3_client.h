// Small-object requests to S3 through libcurl, signed with its built-in AWS
// Signature V4 (CURLOPT_AWS_SIGV4). bazof uses it for metadata (snapshots and
// version.txt) because Arrow's S3 filesystem has no conditional write; data
// files go through arrow::fs. Retries use the same S3RetryStrategy as Arrow.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>
#include <string_view>

#include "io/s3_config.h"

namespace bazof::io {

/// The outcome of one HTTP exchange.
struct S3Response {
  long status = 0;            ///< HTTP status; 0 = no response (see transport_error)
  std::string transport_error;  ///< libcurl's error when there is no response
  bool maybe_sent = false;    ///< the request may have reached the server
  std::string body;
  std::string code;           ///< S3 error <Code>, if any
  std::string message;        ///< S3 error <Message>, if any

  bool ok() const { return status >= 200 && status < 300; }
  /// A throttling, 5xx or transport failure that a retry may fix.
  bool transient() const;
  /// "HTTP 403 AccessDenied: Access Denied" or the transport error.
  std::string Describe() const;
};

/// Thread-safe: each request uses its own curl handle.
class S3Client {
 public:
  explicit S3Client(std::shared_ptr<const S3Config> config) : config_(std::move(config)) {}

  /// One attempt, no retry. `method`: GET, HEAD, PUT or DELETE.
  /// `if_none_match_any` adds If-None-Match: *.
  /// `query`, if any, must be canonical for Signature V4 (parameters sorted
  /// by name, each "name=value" with the value S3Client::QueryValue-encoded,
  /// "name=" for one without a value): libcurl 7.88 signs it as given.
  S3Response Send(std::string_view method, const std::string& key, std::string_view body = {},
                  std::string_view content_type = {}, bool if_none_match_any = false,
                  std::string_view query = {}) const;

  /// Send() with retries of transient failures (safe for GET, HEAD, DELETE,
  /// unconditional PUT, and a conditional PUT of a probe whose outcome does
  /// not matter).
  S3Response Call(std::string_view method, const std::string& key, std::string_view body = {},
                  std::string_view content_type = {}, bool if_none_match_any = false,
                  std::string_view query = {}) const;

  /// A query parameter's value, encoded as Signature V4 wants it (everything
  /// but unreserved characters, '/' included, as %XX).
  static std::string QueryValue(std::string_view value);

  /// Whether to retry after `attempted` failed attempts ending in `r`; if so,
  /// sleeps the strategy's backoff first.
  bool BackoffBeforeRetry(const S3Response& r, int attempted) const;

  const S3Config& config() const { return *config_; }

 private:
  std::string Url(const std::string& key, std::string_view query) const;
  std::shared_ptr<const S3Config> config_;
};

}  // namespace bazof::io
