#include "io/s3_storage.h"

#include <arrow/filesystem/s3fs.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/io_util.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <random>

#include "bazof/error.h"
#include "bazof/event_time.h"
#include "io/s3_client.h"
#include "io/s3_config.h"

namespace bazof::io {
namespace {

std::string ContentType(std::string_view name) {
  return name.ends_with(".json") ? "application/json" : "text/plain; charset=utf-8";
}

// The text of the first <tag>...</tag> in `xml` from `from` on, with XML's
// predefined entities (and numeric ones below 128) decoded.
std::string XmlText(std::string_view xml, std::string_view tag, size_t from = 0) {
  const std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  auto b = xml.find(open, from);
  if (b == std::string_view::npos) return {};
  b += open.size();
  auto e = xml.find(close, b);
  if (e == std::string_view::npos) return {};
  std::string_view raw = xml.substr(b, e - b);
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    auto semi = raw.find(';', i);
    if (semi == std::string_view::npos) {
      out += raw.substr(i);
      break;
    }
    std::string_view ent = raw.substr(i + 1, semi - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (ent.size() > 1 && ent[0] == '#') {
      const bool hex = ent[1] == 'x' || ent[1] == 'X';
      long code = std::strtol(std::string(ent.substr(hex ? 2 : 1)).c_str(), nullptr, hex ? 16 : 10);
      if (code > 0 && code < 128) out += static_cast<char>(code);
    } else {
      out += raw.substr(i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

class S3Storage : public Storage {
 public:
  S3Storage(std::shared_ptr<S3Config> config, std::string table)
      : config_(std::move(config)),
        client_(config_),
        key_root_(config_->prefix.empty() ? table : config_->prefix + "/" + table),
        display_root_(config_->display + "/" + table) {}

  std::string Describe(std::string_view name) const override {
    return display_root_ + "/" + std::string(name);
  }
  const std::string& display_root() const override { return display_root_; }
  bool high_latency() const override { return true; }

  // Object stores have no directories: the table exists when its metadata
  // does, which Table::Open finds out without listing.
  arrow::Result<bool> RootExists() override { return true; }

  arrow::Result<bool> Exists(std::string_view name) override {
    S3Response r = client_.Call("HEAD", Key(name));
    if (r.ok()) return true;
    if (r.status == 404) return false;
    return Error(name, r);
  }

  arrow::Result<std::string> ReadFile(std::string_view name) override {
    S3Response r = client_.Call("GET", Key(name));
    if (r.ok()) return std::move(r.body);
    if (r.status == 404 && r.code != "NoSuchBucket") {
      return NotFound("file '", Describe(name), "' does not exist");
    }
    return Error(name, r);
  }

  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(
      std::string_view name, int64_t size = -1) override {
    // With the size known, Arrow skips its HEAD: reads are ranged GETs only.
    arrow::fs::FileInfo info(Path(name), arrow::fs::FileType::File);
    if (size >= 0) info.set_size(size);
    auto file = size >= 0 ? config_->fs->OpenInputFile(info) : config_->fs->OpenInputFile(Path(name));
    if (!file.ok()) {
      if (arrow::internal::ErrnoFromStatus(file.status()) == ENOENT) {
        return NotFound("file '", Describe(name), "' does not exist");
      }
      return Wrap(name, file.status().message());
    }
    return *file;
  }

  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(
      std::string_view name) override {
    // No parent "directories" to make. Callers Abort() the stream on every
    // error: closing it would publish a truncated object.
    auto out = config_->fs->OpenOutputStream(Path(name));
    if (!out.ok()) return Wrap(name, out.status().message());
    return *out;
  }

  // An object is durable once its upload returned OK.
  arrow::Status Sync(std::string_view) override { return arrow::Status::OK(); }

  //   PUT s<N+1>.json, If-None-Match: *
  //     200 ─────────────────────────▶ committed
  //     412 ─────────────────────────▶ Conflict: another writer has N+1
  //     409, 5xx, throttled, dropped ─▶ retry with backoff (max_attempts)
  //   an attempt whose outcome is unknown (5xx, dropped after sending),
  //   then 412 or no attempts left:
  //     GET s<N+1>.json ── our bytes ──▶ committed
  //                     ── others' ───▶ Conflict
  //                     ── absent ────▶ error, nothing committed
  //                     ── unreadable ▶ CommitStateUnknown
  arrow::Status CreateExclusive(std::string_view name, std::string_view bytes) override {
    if (!config_->conditional_writes) return CreateSingleWriter(name, bytes);
    const std::string key = Key(name);
    bool unknown = false;
    S3Response r;
    for (int attempt = 1;; ++attempt) {
      r = client_.Send("PUT", key, bytes, ContentType(name), /*if_none_match_any=*/true);
      if (r.ok()) return arrow::Status::OK();
      if (r.status == 412) {
        if (!unknown) return ConflictOn(name);
        break;
      }
      if (r.status == 501 || r.code == "NotImplemented") return ConditionalWriteError(name, r);
      // A 409 (a concurrent conditional request) means nothing was written.
      if (r.maybe_sent && r.status != 409 && (r.status == 0 || r.status >= 500)) unknown = true;
      if (!client_.BackoffBeforeRetry(r, attempt)) break;
    }
    if (!unknown) return Error(name, r);
    return ReadBack(name, bytes, r);
  }

  arrow::Status ReplaceFile(std::string_view name, std::string_view bytes) override {
    S3Response r = client_.Call("PUT", Key(name), bytes, ContentType(name));
    return r.ok() ? arrow::Status::OK() : Error(name, r);
  }

  // No directory to make. A new table is where a server that ignores
  // If-None-Match is caught (commits would then silently overwrite each
  // other): write a probe object twice with the header; the second PUT must
  // be refused (412). Three small requests, once per table.
  arrow::Status CreateRoot() override {
    if (!config_->conditional_writes) return arrow::Status::OK();
    const std::string name = "_bazof_conditional_write_probe_" + std::to_string(std::random_device{}()) +
                             std::to_string(std::random_device{}());
    // 412 here: an earlier attempt of this retried PUT got through.
    S3Response first = client_.Call("PUT", Key(name), "probe", "text/plain", /*if_none_match_any=*/true);
    if (!first.ok() && first.status != 412) return ConditionalWriteError(name, first);
    S3Response second = client_.Send("PUT", Key(name), "probe", "text/plain", /*if_none_match_any=*/true);
    (void)client_.Call("DELETE", Key(name));
    if (second.status == 412) return arrow::Status::OK();
    if (second.ok()) {
      return MakeError(ErrorKind::kIOError,
                       "'" + display_root_ + "': the server ignores conditional writes (If-None-Match: *), "
                       "so concurrent commits could overwrite each other; set the S3 option "
                       "conditional_writes=false to write as a single writer");
    }
    return ConditionalWriteError(name, second);
  }

  // Maintenance only (vacuum, validate): the read and write paths never
  // list. Arrow's S3 filesystem pages through ListObjectsV2 and reports each
  // object's size and LastModified.
  arrow::Result<std::vector<ListedFile>> ListFiles(std::string_view dir, bool recursive) override {
    arrow::fs::FileSelector selector;
    selector.base_dir = dir.empty() ? config_->bucket + "/" + key_root_ : Path(dir);
    selector.allow_not_found = true;
    selector.recursive = recursive;
    auto infos = config_->fs->GetFileInfo(selector);
    const std::string shown = dir.empty() ? display_root_ : Describe(dir);
    if (!infos.ok()) return MakeError(ErrorKind::kIOError, "listing '" + shown + "': " + infos.status().message());
    const std::string prefix = config_->bucket + "/" + key_root_ + "/";
    std::vector<ListedFile> out;
    for (const auto& info : *infos) {
      if (info.type() != arrow::fs::FileType::File) continue;
      if (!info.path().starts_with(prefix)) {
        return MakeError(ErrorKind::kIOError,
                         "listing '" + shown + "' returned '" + info.path() + "', outside the table root");
      }
      out.push_back(ListedFile{info.path().substr(prefix.size()), info.size(), info.mtime()});
    }
    return out;
  }

  //   GET /bucket/?prefix=<root>/&uploads=   (ListMultipartUploads, 1000 a page)
  //   ... &key-marker=K&upload-id-marker=U   (next page while IsTruncated)
  // A server without the call (501 NotImplemented) has no uploads to show.
  arrow::Result<std::vector<PendingUpload>> ListPendingUploads() override {
    std::vector<PendingUpload> out;
    const std::string prefix = key_root_ + "/";
    std::string key_marker, id_marker;
    for (int page = 0; page < 100000; ++page) {
      // Parameters in Signature V4's canonical order (sorted by name).
      std::string query;
      if (!key_marker.empty()) query += "key-marker=" + S3Client::QueryValue(key_marker) + "&";
      query += "prefix=" + S3Client::QueryValue(prefix) + "&";
      if (!id_marker.empty()) query += "upload-id-marker=" + S3Client::QueryValue(id_marker) + "&";
      query += "uploads=";
      S3Response r = client_.Call("GET", "", {}, {}, false, query);
      if (r.status == 501 || r.code == "NotImplemented") return out;
      if (!r.ok()) {
        return MakeError(ErrorKind::kIOError,
                         "listing the multipart uploads under '" + display_root_ + "': " + r.Describe());
      }
      for (size_t at = r.body.find("<Upload>"); at != std::string::npos; at = r.body.find("<Upload>", at + 1)) {
        const size_t end = r.body.find("</Upload>", at);
        if (end == std::string::npos) break;
        std::string_view one = std::string_view(r.body).substr(at, end - at);
        PendingUpload u;
        const std::string key = XmlText(one, "Key");
        u.upload_id = XmlText(one, "UploadId");
        if (!key.starts_with(prefix) || u.upload_id.empty()) continue;  // not ours to judge
        u.name = key.substr(prefix.size());
        if (auto t = ParseEventTime(XmlText(one, "Initiated"), "Initiated"); t.ok()) {
          u.initiated = arrow::fs::TimePoint(std::chrono::duration_cast<arrow::fs::TimePoint::duration>(
              std::chrono::microseconds(t->micros())));
        }
        out.push_back(std::move(u));
      }
      if (XmlText(r.body, "IsTruncated") != "true") return out;
      std::string next_key = XmlText(r.body, "NextKeyMarker"), next_id = XmlText(r.body, "NextUploadIdMarker");
      if (next_key.empty() || (next_key == key_marker && next_id == id_marker)) return out;  // no progress
      key_marker = std::move(next_key);
      id_marker = std::move(next_id);
    }
    return out;
  }

  //   DELETE /bucket/<key>?uploadId=U   (AbortMultipartUpload)
  // 204 once aborted; 404 NoSuchUpload when already completed or aborted.
  arrow::Status AbortUpload(const PendingUpload& upload) override {
    S3Response r = client_.Call("DELETE", Key(upload.name), {}, {}, false,
                                "uploadId=" + S3Client::QueryValue(upload.upload_id));
    if (r.ok() || (r.status == 404 && r.code != "NoSuchBucket")) return arrow::Status::OK();
    return MakeError(ErrorKind::kIOError, "aborting the multipart upload " + upload.upload_id + " of '" +
                                              Describe(upload.name) + "': " + r.Describe());
  }

  // S3's DELETE answers 204 whether or not the object existed: idempotent.
  arrow::Status DeleteFile(std::string_view name) override {
    S3Response r = client_.Call("DELETE", Key(name));
    if (r.ok() || (r.status == 404 && r.code != "NoSuchBucket")) return arrow::Status::OK();
    return Error(name, r);
  }

 private:
  std::string Key(std::string_view name) const { return key_root_ + "/" + std::string(name); }
  std::string Path(std::string_view name) const { return config_->bucket + "/" + Key(name); }

  arrow::Status ConditionalWriteError(std::string_view name, const S3Response& r) const {
    if (r.status == 501 || r.code == "NotImplemented") {
      return MakeError(ErrorKind::kIOError,
                       "'" + Describe(name) + "': the server does not support conditional writes "
                       "(If-None-Match: *): " + r.Describe() +
                       "; set the S3 option conditional_writes=false to write as a single writer");
    }
    return Error(name, r);
  }

  arrow::Status ConflictOn(std::string_view name) const {
    return Conflict("'", Describe(name), "' already exists (another writer committed first)");
  }

  // Servers without conditional writes: check, then write. Safe only when
  // a single writer commits at a time (docs/spec.md §10).
  arrow::Status CreateSingleWriter(std::string_view name, std::string_view bytes) {
    ARROW_ASSIGN_OR_RAISE(bool exists, Exists(name));
    if (exists) return ConflictOn(name);
    return ReplaceFile(name, bytes);
  }

  // The last attempt's outcome is unknown: whether the snapshot is ours
  // decides. Snapshots name this writer's unique data files, so equal bytes
  // mean this writer's commit.
  arrow::Status ReadBack(std::string_view name, std::string_view bytes, const S3Response& last) {
    S3Response g = client_.Call("GET", Key(name));
    if (g.ok()) return g.body == bytes ? arrow::Status::OK() : ConflictOn(name);
    if (g.status == 404 && g.code != "NoSuchBucket") {
      return MakeError(ErrorKind::kIOError, "'" + Describe(name) + "': " + last.Describe() +
                                                " (not committed)");
    }
    return MakeError(ErrorKind::kCommitStateUnknown,
                     "'" + Describe(name) + "': " + last.Describe() +
                         "; whether the commit happened is unknown (reading it back failed: " +
                         g.Describe() + ")");
  }

  arrow::Status Error(std::string_view name, const S3Response& r) const {
    if (r.code == "NoSuchBucket") {
      return MakeError(ErrorKind::kIOError, "'" + Describe(name) + "': bucket '" + config_->bucket +
                                                 "' does not exist");
    }
    return Wrap(name, r.Describe());
  }

  arrow::Status Wrap(std::string_view name, const std::string& message) const {
    return MakeError(ErrorKind::kIOError, "'" + Describe(name) + "': " + message);
  }

  std::shared_ptr<S3Config> config_;
  S3Client client_;
  std::string key_root_;
  std::string display_root_;
};

}  // namespace

arrow::Result<std::shared_ptr<Storage>> OpenS3Storage(const std::string& location,
                                                      const std::string& table,
                                                      const StorageOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto config, ResolveS3(location, options));
  return std::make_shared<S3Storage>(std::move(config), table);
}

}  // namespace bazof::io
