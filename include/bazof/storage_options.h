// Options for the storage a table lives on (today: S3-compatible object
// stores). docs/spec.md, "Object storage".
#pragma once

#include <map>
#include <string>

namespace bazof {

/// Key/value options for opening a table location. Ignored for local paths.
/// For s3://bucket/prefix locations the keys are:
///
///   endpoint            URL (http://127.0.0.1:9000) or host:port of an
///                       S3-compatible server; http is allowed. Default: AWS.
///   region              signing region (default: the endpoint's us-east-1,
///                       or the bucket's region on AWS)
///   access_key_id, secret_access_key, session_token
///                       credentials (default: the AWS credential chain)
///   anonymous           "true": unsigned requests (public buckets)
///   scheme              "http" or "https" when `endpoint` has no scheme
///   conditional_writes  "true" (default): commits use If-None-Match: *;
///                       "false": the server lacks it, single writer only
///   max_attempts        attempts per request, retries included (default 3)
///   connect_timeout, request_timeout
///                       seconds (default 10 and 60)
///
/// Precedence: these options, then the location's query parameters
/// (s3://b/p?endpoint_override=host:port&scheme=http&region=r, as Arrow's
/// S3 filesystem accepts them), then the environment (AWS_ENDPOINT_URL_S3,
/// AWS_ENDPOINT_URL, AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
/// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_MAX_ATTEMPTS).
/// An unknown key is kInvalidArgument. Credentials never appear in messages.
using StorageOptions = std::map<std::string, std::string>;

}  // namespace bazof
