#include "io/s3_config.h"

#include <charconv>

#include <arrow/util/uri.h>
#include <curl/curl.h>

#include <cstdlib>
#include <mutex>
#include <set>

#include "bazof/error.h"

namespace bazof::io {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Canonical option names, and the aliases accepted for them (Arrow's URI
// query names among them).
const std::map<std::string, std::string>& Aliases() {
  static const std::map<std::string, std::string> kAliases = {
      {"endpoint", "endpoint"},
      {"endpoint_override", "endpoint"},
      {"endpoint_url", "endpoint"},
      {"region", "region"},
      {"access_key_id", "access_key_id"},
      {"access_key", "access_key_id"},
      {"secret_access_key", "secret_access_key"},
      {"secret_key", "secret_access_key"},
      {"session_token", "session_token"},
      {"anonymous", "anonymous"},
      {"scheme", "scheme"},
      {"conditional_writes", "conditional_writes"},
      {"max_attempts", "max_attempts"},
      {"connect_timeout", "connect_timeout"},
      {"request_timeout", "request_timeout"},
  };
  return kAliases;
}

std::string KnownKeys() {
  std::set<std::string> names;
  for (const auto& [alias, name] : Aliases()) names.insert(name);
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

arrow::Status Canonicalize(const std::map<std::string, std::string>& in, const std::string& what,
                           std::map<std::string, std::string>* out) {
  for (const auto& [key, value] : in) {
    auto it = Aliases().find(key);
    if (it == Aliases().end()) {
      return InvalidArgument("unknown S3 option '", key, "' in ", what, " (known: ", KnownKeys(), ")");
    }
    (*out)[it->second] = value;
  }
  return arrow::Status::OK();
}

arrow::Result<bool> ParseBool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return InvalidArgument("S3 option '", key, "': '", v, "' is not true or false");
}

arrow::Result<double> ParseNumber(const std::string& key, const std::string& v, double min, double max) {
  double d = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  // Bounded, so converting to an integer or a duration cannot overflow.
  if (ec == std::errc() && ptr == v.data() + v.size() && d >= min && d <= max) return d;
  return InvalidArgument("S3 option '", key, "': '", v, "' is not a number from ", min, " to ", max);
}

// "http://host:port/" or "host:port" -> (scheme, host:port).
arrow::Status SplitEndpoint(const std::string& text, S3Config* c) {
  std::string rest = text;
  auto pos = rest.find("://");
  if (pos != std::string::npos) {
    c->scheme = rest.substr(0, pos);
    rest = rest.substr(pos + 3);
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos || rest.find('@') != std::string::npos) {
    return InvalidArgument("S3 endpoint '", text, "' is not host[:port] or scheme://host[:port]");
  }
  c->endpoint = rest;
  return arrow::Status::OK();
}

}  // namespace

arrow::Status EnsureS3() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] {
    arrow::fs::S3GlobalOptions global = arrow::fs::S3GlobalOptions::Defaults();
    // bazof writes errors as one line; the AWS SDK's own log stays quiet
    // unless ARROW_S3_LOG_LEVEL asks for it.
    if (std::getenv("ARROW_S3_LOG_LEVEL") == nullptr) global.log_level = arrow::fs::S3LogLevel::Fatal;
    status = arrow::fs::IsS3Initialized() ? arrow::Status::OK() : arrow::fs::InitializeS3(global);
    if (!status.ok()) return;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      status = MakeError(ErrorKind::kIOError, "libcurl failed to initialize");
      return;
    }
  });
  return status;
}

void FinalizeS3IfInitialized() {
  // Filesystems still alive afterwards fail cleanly. libcurl needs no
  // cleanup: its global state is released with the process.
  if (arrow::fs::IsS3Initialized()) (void)arrow::fs::EnsureS3Finalized();
}

arrow::Result<std::shared_ptr<S3Config>> ResolveS3(const std::string& location,
                                                   const StorageOptions& options) {
  ARROW_RETURN_NOT_OK(EnsureS3());
  auto uri = arrow::util::Uri::FromString(location);
  if (!uri.ok()) return InvalidArgument("path '", location, "': not a valid URI");
  auto c = std::make_shared<S3Config>();
  c->bucket = uri->host();
  if (c->bucket.empty()) return InvalidArgument("path '", location, "': no bucket (want s3://bucket/prefix)");
  if (!uri->username().empty() || !uri->password().empty()) {
    // Arrow accepts s3://key:secret@bucket; bazof keeps secrets out of
    // locations, which end up in messages.
    return InvalidArgument("path: credentials in an s3:// URI are not accepted; use AWS_ACCESS_KEY_ID/"
                           "AWS_SECRET_ACCESS_KEY or storage options");
  }
  std::string path = uri->path();
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  while (!path.empty() && path.back() == '/') path.pop_back();
  c->prefix = path;
  c->display = "s3://" + c->bucket + (path.empty() ? "" : "/" + path);

  // Environment < URI query < explicit options.
  std::map<std::string, std::string> merged;
  std::map<std::string, std::string> env;
  std::string env_endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (env_endpoint.empty()) env_endpoint = Env("AWS_ENDPOINT_URL");
  if (!env_endpoint.empty()) env["endpoint"] = env_endpoint;
  std::string env_region = Env("AWS_REGION");
  if (env_region.empty()) env_region = Env("AWS_DEFAULT_REGION");
  if (!env_region.empty()) env["region"] = env_region;
  if (!Env("AWS_ACCESS_KEY_ID").empty()) {
    env["access_key_id"] = Env("AWS_ACCESS_KEY_ID");
    env["secret_access_key"] = Env("AWS_SECRET_ACCESS_KEY");
    env["session_token"] = Env("AWS_SESSION_TOKEN");
  }
  if (!Env("AWS_MAX_ATTEMPTS").empty()) env["max_attempts"] = Env("AWS_MAX_ATTEMPTS");
  merged = env;
  ARROW_ASSIGN_OR_RAISE(auto query, uri->query_items());
  std::map<std::string, std::string> from_query(query.begin(), query.end());
  for (const auto& [key, value] : from_query) {
    auto it = Aliases().find(key);
    if (it != Aliases().end() && (it->second == "access_key_id" || it->second == "secret_access_key" ||
                                  it->second == "session_token")) {
      return InvalidArgument("path '", c->display, "': credentials in the URI query are not accepted; use "
                             "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or storage options");
    }
  }
  ARROW_RETURN_NOT_OK(Canonicalize(from_query, "the query of '" + c->display + "'", &merged));
  // Credentials given explicitly replace the environment's as a set.
  if (options.count("access_key_id") || options.count("access_key")) merged.erase("session_token");
  ARROW_RETURN_NOT_OK(Canonicalize(options, "storage options", &merged));

  auto get = [&](const char* k) {
    auto it = merged.find(k);
    return it == merged.end() ? std::string() : it->second;
  };
  if (!get("scheme").empty()) c->scheme = get("scheme");
  if (!get("endpoint").empty()) {
    ARROW_RETURN_NOT_OK(SplitEndpoint(get("endpoint"), c.get()));
  }
  if (c->scheme != "http" && c->scheme != "https") {
    return InvalidArgument("S3 scheme '", c->scheme, "' is not http or https");
  }
  c->region = get("region");
  c->access_key = get("access_key_id");
  c->secret_key = get("secret_access_key");
  c->session_token = get("session_token");
  if (!get("anonymous").empty()) {
    ARROW_ASSIGN_OR_RAISE(c->anonymous, ParseBool("anonymous", get("anonymous")));
  }
  if (!get("conditional_writes").empty()) {
    ARROW_ASSIGN_OR_RAISE(c->conditional_writes, ParseBool("conditional_writes", get("conditional_writes")));
  }
  if (!get("max_attempts").empty()) {
    ARROW_ASSIGN_OR_RAISE(double n, ParseNumber("max_attempts", get("max_attempts"), 1, 1000));
    c->max_attempts = static_cast<int>(n);
  }
  if (!get("connect_timeout").empty()) {
    ARROW_ASSIGN_OR_RAISE(c->connect_timeout, ParseNumber("connect_timeout", get("connect_timeout"), 0.001, 86400));
  }
  if (!get("request_timeout").empty()) {
    ARROW_ASSIGN_OR_RAISE(c->request_timeout, ParseNumber("request_timeout", get("request_timeout"), 0.001, 86400));
  }
  if (!c->access_key.empty() && c->secret_key.empty()) {
    return InvalidArgument("S3 access key given without a secret access key");
  }

  if (c->region.empty()) {
    if (!c->endpoint.empty()) {
      c->region = "us-east-1";  // what S3-compatible servers expect by default
    } else {
      auto region = arrow::fs::ResolveS3BucketRegion(c->bucket);
      if (!region.ok()) {
        return MakeError(ErrorKind::kIOError, "'" + c->display + "': cannot find the bucket's region (" +
                                                  region.status().message() + "); set AWS_REGION");
      }
      c->region = *region;
    }
  }

  // Retries with backoff on throttling, 5xx and dropped connections: the
  // AWS SDK's standard strategy, shared with the metadata client.
  c->retry_strategy = arrow::fs::S3RetryStrategy::GetAwsStandardRetryStrategy(c->max_attempts);

  arrow::fs::S3Options o;
  if (c->anonymous) {
    o.ConfigureAnonymousCredentials();
  } else if (!c->access_key.empty()) {
    o.ConfigureAccessKey(c->access_key, c->secret_key, c->session_token);
  } else {
    o.ConfigureDefaultCredentials();
    // The metadata client signs with what the chain resolves to.
    c->access_key = o.GetAccessKey();
    c->secret_key = o.GetSecretKey();
    c->session_token = o.GetSessionToken();
    if (c->access_key.empty()) c->anonymous = true;
  }
  o.region = c->region;
  o.scheme = c->scheme;
  o.endpoint_override = c->endpoint;
  o.connect_timeout = c->connect_timeout;
  o.request_timeout = c->request_timeout;
  o.retry_strategy = c->retry_strategy;
  o.allow_bucket_creation = false;
  o.allow_bucket_deletion = false;
  auto fs = arrow::fs::S3FileSystem::Make(o);
  if (!fs.ok()) {
    return MakeError(ErrorKind::kIOError, "'" + c->display + "': " + fs.status().message());
  }
  c->fs = *fs;
  return c;
}

}  // namespace bazof::io
