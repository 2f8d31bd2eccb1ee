#include "io/s3_client.h"

#include <curl/curl.h>

#include <chrono>
#include <thread>

namespace bazof::io {
namespace {

// AWS error types (Aws::Client::CoreErrors) as Arrow's retry strategy takes them.
constexpr int kInternalFailure = 1;
constexpr int kThrottling = 13;
constexpr int kNetworkConnection = 99;

#define kEmptySha256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// AWS's URI encoding: everything but unreserved characters and '/'.
std::string UriEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

std::string XmlField(const std::string& xml, const std::string& tag) {
  auto b = xml.find("<" + tag + ">");
  if (b == std::string::npos) return {};
  b += tag.size() + 2;
  auto e = xml.find("</" + tag + ">", b);
  return e == std::string::npos ? std::string() : xml.substr(b, e - b);
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Handle {
  CURL* curl = curl_easy_init();
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

// One handle per thread, reset between requests: keeps its connection
// cache, so consecutive requests reuse the connection.
CURL* ThreadHandle() {
  thread_local Handle h;
  if (h.curl) curl_easy_reset(h.curl);
  return h.curl;
}

}  // namespace

bool S3Response::transient() const {
  if (status == 0) return true;
  if (status == 429 || status >= 500) return true;
  return code == "SlowDown" || code == "RequestTimeout";
}

std::string S3Response::Describe() const {
  if (status == 0) return transport_error;
  std::string out = "HTTP " + std::to_string(status);
  if (!code.empty()) {
    out += " " + code;
  } else if (status == 403) {
    out += " Forbidden (wrong credentials or no permission)";
  } else if (status >= 500) {
    out += " server error";
  }
  if (!message.empty()) out += ": " + message;
  return out;
}

std::string S3Client::QueryValue(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : value) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

std::string S3Client::Url(const std::string& key, std::string_view query) const {
  const S3Config& c = *config_;
  std::string url;
  if (c.endpoint.empty()) {
    // AWS: virtual-hosted style unless the bucket name cannot be a host name.
    if (c.bucket.find('.') == std::string::npos) {
      url = "https://" + c.bucket + ".s3." + c.region + ".amazonaws.com/" + UriEncode(key);
    } else {
      url = "https://s3." + c.region + ".amazonaws.com/" + UriEncode(c.bucket) + "/" + UriEncode(key);
    }
  } else {
    url = c.scheme + "://" + c.endpoint + "/" + UriEncode(c.bucket) + "/" + UriEncode(key);
  }
  if (!query.empty()) url += "?" + std::string(query);
  return url;
}

S3Response S3Client::Send(std::string_view method, const std::string& key, std::string_view body,
                          std::string_view content_type, bool if_none_match_any,
                          std::string_view query) const {
  const S3Config& c = *config_;
  S3Response r;
  CURL* curl = ThreadHandle();
  if (curl == nullptr) {
    r.transport_error = "libcurl: no handle";
    return r;
  }
  const std::string url = Url(key, query);
  const std::string m(method);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(c.connect_timeout * 1000));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(c.request_timeout * 1000));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!c.anonymous) {
    const std::string sigv4 = "aws:amz:" + c.region + ":s3";
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, c.access_key.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, c.secret_key.c_str());
  }
  curl_slist* headers = nullptr;
  if (!c.anonymous) {
    // S3 wants the payload's hash in a header, which libcurl 7.88 neither
    // computes nor adds; given one, it signs it. Bodies are sent unsigned
    // (their length is checked by the server; https protects them).
    headers = curl_slist_append(headers, m == "PUT" ? "x-amz-content-sha256: UNSIGNED-PAYLOAD"
                                                    : "x-amz-content-sha256: " kEmptySha256);
  }
  std::string token_header;
  if (!c.anonymous && !c.session_token.empty()) {
    token_header = "x-amz-security-token: " + c.session_token;
    headers = curl_slist_append(headers, token_header.c_str());
  }
  if (m == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (m == "DELETE") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else if (m == "PUT") {
    // POSTFIELDS (not a read callback): a body libcurl holds whole. The
    // method and content type are set explicitly (POSTFIELDS would make it a
    // form POST). No "Expect:" override: libcurl 7.88 signs the removed
    // header as if it were sent, and the server's signature differs.
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    std::string ct = "Content-Type: " + std::string(content_type.empty() ? "application/octet-stream" : content_type);
    headers = curl_slist_append(headers, ct.c_str());
    if (if_none_match_any) headers = curl_slist_append(headers, "If-None-Match: *");
  }
  if (headers) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    r.status = 0;
    r.transport_error = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    // Nothing reached the server if the connection was never made.
    r.maybe_sent = !(rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                     rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR);
    return r;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  r.maybe_sent = true;
  if (!r.ok() && !r.body.empty()) {
    r.code = XmlField(r.body, "Code");
    r.message = XmlField(r.body, "Message");
  }
  return r;
}

bool S3Client::BackoffBeforeRetry(const S3Response& r, int attempted) const {
  if (!r.transient() && r.status != 409) return false;
  arrow::fs::S3RetryStrategy::AWSErrorDetail detail;
  detail.error_type = r.status == 0 ? kNetworkConnection
                      : (r.status == 429 || r.code == "SlowDown" || r.status == 503) ? kThrottling
                                                                                       : kInternalFailure;
  detail.message = r.Describe();
  detail.exception_name = r.code;
  detail.should_retry = true;
  auto& strategy = *config_->retry_strategy;
  if (!strategy.ShouldRetry(detail, attempted - 1)) return false;
  int64_t ms = strategy.CalculateDelayBeforeNextRetry(detail, attempted - 1);
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return true;
}

S3Response S3Client::Call(std::string_view method, const std::string& key, std::string_view body,
                          std::string_view content_type, bool if_none_match_any,
                          std::string_view query) const {
  for (int attempt = 1;; ++attempt) {
    S3Response r = Send(method, key, body, content_type, if_none_match_any, query);
    if (!r.transient() || !BackoffBeforeRetry(r, attempt)) return r;
  }
}

}  // namespace bazof::io
