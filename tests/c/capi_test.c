/* Tests of the C API (include/bazof/bazof.h), compiled as C: every function,
 * its results on the shared fixtures and on tables it writes, and its error
 * paths (code and message). */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bazof/bazof.h"

static int g_checks = 0;
static int g_failures = 0;

#define CHECK(cond, ...)                                     \
  do {                                                       \
    ++g_checks;                                              \
    if (!(cond)) {                                           \
      ++g_failures;                                          \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                          \
      fputc('\n', stderr);                                   \
    }                                                        \
  } while (0)

#define CHECK_OK(code, err)                                                         \
  do {                                                                              \
    bazof_code c_ = (code);                                                         \
    CHECK(c_ == BAZOF_OK, "%s: %s", bazof_code_name(c_), (err) ? (err) : "(no message)"); \
    CHECK((err) == NULL, "an OK call left a message");                              \
    bazof_string_free(err);                                                         \
    (err) = NULL;                                                                   \
  } while (0)

/* Checks the code and that the message mentions `needle`; frees it. */
#define CHECK_ERR(code, expected, err, needle)                                                  \
  do {                                                                                          \
    bazof_code c_ = (code);                                                                     \
    CHECK(c_ == (expected), "got %s, expected %s (message: %s)", bazof_code_name(c_),           \
          bazof_code_name(expected), (err) ? (err) : "(none)");                                 \
    CHECK((err) != NULL && strstr((err), (needle)) != NULL, "message '%s' lacks '%s'",          \
          (err) ? (err) : "(none)", (needle));                                                  \
    bazof_string_free(err);                                                                     \
    (err) = NULL;                                                                               \
  } while (0)

static char g_fixtures[4096];
static char g_tmp[4096];

/* ---- Reading Arrow C data ---------------------------------------------- */

static int child_index(const struct ArrowSchema* schema, const char* name) {
  int64_t i;
  for (i = 0; i < schema->n_children; ++i) {
    if (strcmp(schema->children[i]->name, name) == 0) return (int)i;
  }
  return -1;
}

/* Appends the text of element `i` of `array` (a column of format `format`)
 * to `out`. Supports what the tests use: utf8, int64, bool, timestamps. */
static void append_cell(char* out, size_t cap, const char* format, const struct ArrowArray* array,
                        int64_t i) {
  size_t len = strlen(out);
  int64_t j = array->offset + i;
  const uint8_t* validity = (const uint8_t*)array->buffers[0];
  if (validity && !(validity[j / 8] & (1 << (j % 8)))) {
    snprintf(out + len, cap - len, "null");
  } else if (strcmp(format, "u") == 0) {
    const int32_t* offsets = (const int32_t*)array->buffers[1];
    const char* data = (const char*)array->buffers[2];
    snprintf(out + len, cap - len, "%.*s", (int)(offsets[j + 1] - offsets[j]), data + offsets[j]);
  } else if (strcmp(format, "l") == 0 || strncmp(format, "ts", 2) == 0) {
    snprintf(out + len, cap - len, "%lld", (long long)((const int64_t*)array->buffers[1])[j]);
  } else if (strcmp(format, "b") == 0) {
    const uint8_t* bits = (const uint8_t*)array->buffers[1];
    snprintf(out + len, cap - len, "%s", (bits[j / 8] & (1 << (j % 8))) ? "true" : "false");
  } else {
    snprintf(out + len, cap - len, "<%s>", format);
  }
}

/* Reads a whole stream into "k:v,k:v" using columns `key` and `value` (value
 * NULL: keys only), releases it, and returns the number of batches (-1 on a
 * stream error, whose message goes to `stream_error`). */
static int read_rows(struct ArrowArrayStream* stream, const char* key, const char* value,
                     char* out, size_t cap, char* stream_error, size_t error_cap) {
  struct ArrowSchema schema;
  int batches = 0, k, v = -1;
  out[0] = '\0';
  if (stream->get_schema(stream, &schema) != 0) {
    snprintf(stream_error, error_cap, "%s", stream->get_last_error(stream));
    stream->release(stream);
    return -1;
  }
  k = child_index(&schema, key);
  if (value) v = child_index(&schema, value);
  CHECK(k >= 0 && (!value || v >= 0), "columns %s/%s not in the stream", key, value ? value : "-");
  for (;;) {
    struct ArrowArray batch;
    int64_t i;
    int rc = stream->get_next(stream, &batch);
    if (rc != 0) {
      snprintf(stream_error, error_cap, "%s", stream->get_last_error(stream));
      batches = -1;
      break;
    }
    if (batch.release == NULL) break;
    ++batches;
    for (i = 0; i < batch.length && k >= 0; ++i) {
      size_t len = strlen(out);
      if (len) snprintf(out + len, cap - len, ",");
      append_cell(out, cap, schema.children[k]->format, batch.children[k], batch.offset + i);
      if (v >= 0) {
        len = strlen(out);
        snprintf(out + len, cap - len, ":");
        append_cell(out, cap, schema.children[v]->format, batch.children[v], batch.offset + i);
      }
    }
    batch.release(&batch);
  }
  schema.release(&schema);
  stream->release(stream);
  return batches;
}

/* Scans `table` with `options` and returns "k:v,..." of key/value columns. */
static const char* scan_rows(const bazof_table* table, const bazof_scan_options* options,
                             const char* key, const char* value) {
  static char rows[8192];
  char stream_error[1024];
  char* err = NULL;
  struct ArrowArrayStream stream;
  bazof_code code = bazof_table_scan(table, options, &stream, &err);
  CHECK(code == BAZOF_OK, "scan: %s %s", bazof_code_name(code), err ? err : "");
  bazof_string_free(err);
  if (code != BAZOF_OK) return "<scan failed>";
  if (read_rows(&stream, key, value, rows, sizeof rows, stream_error, sizeof stream_error) < 0) {
    CHECK(0, "stream error: %s", stream_error);
  }
  return rows;
}

/* The value of metadata key `key` in Arrow C metadata (int32 count, then
 * int32-length-prefixed keys and values), copied to `out`. */
static int metadata_value(const char* metadata, const char* key, char* out, size_t cap) {
  int32_t n, i, len;
  const char* p = metadata;
  if (!p) return 0;
  memcpy(&n, p, 4);
  p += 4;
  for (i = 0; i < n; ++i) {
    int match;
    memcpy(&len, p, 4);
    p += 4;
    match = (size_t)len == strlen(key) && memcmp(p, key, (size_t)len) == 0;
    p += len;
    memcpy(&len, p, 4);
    p += 4;
    if (match) {
      snprintf(out, cap, "%.*s", (int)len, p);
      return 1;
    }
    p += len;
  }
  return 0;
}

/* ---- A hand-made stream, to feed append input no scan produces ---------- */

/* One batch of one row with a single utf8 column "symbol" = "k" (no event
 * time), or a stream whose get_next fails with EIO. */
struct fake_stream {
  int fail;
  int batches_left;
  int released;
};
static struct fake_stream g_fake;
static const char* g_fake_error = "boom: the producer failed";

static void release_schema_child(struct ArrowSchema* s) { s->release = NULL; }
static void release_schema(struct ArrowSchema* s) {
  s->children[0]->release(s->children[0]);
  free(s->children[0]);
  free(s->children);
  s->release = NULL;
}
static int fake_get_schema(struct ArrowArrayStream* st, struct ArrowSchema* out) {
  struct ArrowSchema* child = calloc(1, sizeof *child);
  (void)st;
  child->format = "u";
  child->name = "symbol";
  child->flags = ARROW_FLAG_NULLABLE;
  child->release = release_schema_child;
  memset(out, 0, sizeof *out);
  out->format = "+s";
  out->name = "";
  out->n_children = 1;
  out->children = calloc(1, sizeof(struct ArrowSchema*));
  out->children[0] = child;
  out->release = release_schema;
  return 0;
}
static const int32_t g_offsets[2] = {0, 1};
static const void* g_child_buffers[3] = {NULL, g_offsets, "k"};
static const void* g_parent_buffers[1] = {NULL};
static void release_array_child(struct ArrowArray* a) { a->release = NULL; }
static void release_array(struct ArrowArray* a) {
  a->children[0]->release(a->children[0]);
  free(a->children[0]);
  free(a->children);
  a->release = NULL;
}
static int fake_get_next(struct ArrowArrayStream* st, struct ArrowArray* out) {
  struct ArrowArray* child;
  (void)st;
  if (g_fake.fail) return EIO;
  memset(out, 0, sizeof *out);
  if (g_fake.batches_left-- <= 0) return 0; /* end: release == NULL */
  child = calloc(1, sizeof *child);
  child->length = 1;
  child->n_buffers = 3;
  child->buffers = g_child_buffers;
  child->release = release_array_child;
  out->length = 1;
  out->n_buffers = 1;
  out->buffers = g_parent_buffers;
  out->n_children = 1;
  out->children = calloc(1, sizeof(struct ArrowArray*));
  out->children[0] = child;
  out->release = release_array;
  return 0;
}
static const char* fake_last_error(struct ArrowArrayStream* st) {
  (void)st;
  return g_fake_error;
}
static void fake_release(struct ArrowArrayStream* st) {
  g_fake.released++;
  st->release = NULL;
}
static void make_fake(struct ArrowArrayStream* st, int fail) {
  g_fake.fail = fail;
  g_fake.batches_left = 1;
  g_fake.released = 0;
  st->get_schema = fake_get_schema;
  st->get_next = fake_get_next;
  st->get_last_error = fake_last_error;
  st->release = fake_release;
  st->private_data = NULL;
}

/* ---- Tests ---------------------------------------------------------------- */

static void test_version_and_codes(void) {
  CHECK(bazof_c_api_version() == BAZOF_C_API_VERSION, "library %d, header %d",
        (int)bazof_c_api_version(), BAZOF_C_API_VERSION);
  CHECK(strcmp(bazof_code_name(BAZOF_OK), "ok") == 0, "ok");
  CHECK(strcmp(bazof_code_name(BAZOF_NOT_FOUND), "not_found") == 0, "not_found");
  CHECK(strcmp(bazof_code_name(BAZOF_INVALID_ARGUMENT), "invalid_argument") == 0, "invalid");
  CHECK(strcmp(bazof_code_name(BAZOF_CORRUPTION), "corruption") == 0, "corruption");
  CHECK(strcmp(bazof_code_name(BAZOF_CONFLICT), "conflict") == 0, "conflict");
  CHECK(strcmp(bazof_code_name(BAZOF_COMMIT_STATE_UNKNOWN), "commit_state_unknown") == 0, "csu");
  CHECK(strcmp(bazof_code_name(BAZOF_IO_ERROR), "io_error") == 0, "io");
  CHECK(strcmp(bazof_code_name(BAZOF_INTERNAL), "internal") == 0, "internal");
  CHECK(strcmp(bazof_code_name(99), "unknown") == 0, "unknown");
  bazof_string_free(NULL);
}

static void test_parse_event_time(void) {
  char* err = NULL;
  int64_t micros = 0;
  CHECK_OK(bazof_parse_event_time("2019-01-17", &micros, &err), err);
  CHECK(micros == 1547683200000000LL, "%lld", (long long)micros);
  CHECK_OK(bazof_parse_event_time("2019-01-17T02:00:00.5+02:00", &micros, &err), err);
  CHECK(micros == 1547683200500000LL, "%lld", (long long)micros);
  CHECK_ERR(bazof_parse_event_time("yesterday", &micros, &err), BAZOF_INVALID_ARGUMENT, err,
            "yesterday");
  CHECK_ERR(bazof_parse_event_time(NULL, &micros, &err), BAZOF_INVALID_ARGUMENT, err, "NULL");
  CHECK_ERR(bazof_parse_event_time("2019-01-17", NULL, &err), BAZOF_INVALID_ARGUMENT, err, "NULL");
  /* The message is optional. */
  CHECK(bazof_parse_event_time("nope", &micros, NULL) == BAZOF_INVALID_ARGUMENT, "no message");
}

static void test_open_errors(void) {
  char* err = NULL;
  bazof_table* t = (bazof_table*)&err; /* must be reset to NULL on failure */
  char bazof01[4200];
  const char* keys[] = {"threads", "colour"};
  const char* values[] = {"2", "blue"};
  const char* bad_values[] = {"zero"};
  snprintf(bazof01, sizeof bazof01, "%s/bazof-0.1", g_fixtures);

  CHECK_ERR(bazof_table_open(bazof01, "no_such_table", NULL, NULL, 0, &t, &err), BAZOF_NOT_FOUND,
            err, "no_such_table");
  CHECK(t == NULL, "out not reset on failure");
  CHECK_ERR(bazof_table_open("/no/such/dir", "t", NULL, NULL, 0, &t, &err), BAZOF_NOT_FOUND, err,
            "/no/such/dir");
  CHECK_ERR(bazof_table_open(bazof01, "a/b", NULL, NULL, 0, &t, &err), BAZOF_INVALID_ARGUMENT, err,
            "a/b");
  CHECK_ERR(bazof_table_open(NULL, "t", NULL, NULL, 0, &t, &err), BAZOF_INVALID_ARGUMENT, err,
            "location is NULL");
  CHECK_ERR(bazof_table_open(bazof01, NULL, NULL, NULL, 0, &t, &err), BAZOF_INVALID_ARGUMENT, err,
            "NULL");
  CHECK_ERR(bazof_table_open(bazof01, "table0", NULL, NULL, 0, NULL, &err), BAZOF_INVALID_ARGUMENT,
            err, "out is NULL");
  CHECK_ERR(bazof_table_open(bazof01, "table0", keys, values, 2, &t, &err), BAZOF_INVALID_ARGUMENT,
            err, "colour");
  CHECK_ERR(bazof_table_open(bazof01, "table0", keys, bad_values, 1, &t, &err),
            BAZOF_INVALID_ARGUMENT, err, "zero");
  CHECK_ERR(bazof_table_open(bazof01, "table0", NULL, NULL, 1, &t, &err), BAZOF_INVALID_ARGUMENT,
            err, "NULL");
  CHECK(t == NULL, "out not reset on failure");

  /* NULL handles everywhere are errors, not crashes. */
  {
    struct ArrowSchema schema;
    struct ArrowArrayStream stream;
    CHECK(bazof_table_current_version(NULL) == -1, "version of NULL");
    CHECK_ERR(bazof_table_schema(NULL, -1, &schema, &err), BAZOF_INVALID_ARGUMENT, err, "table");
    CHECK_ERR(bazof_table_log(NULL, &stream, &err), BAZOF_INVALID_ARGUMENT, err, "table");
    CHECK_ERR(bazof_table_scan(NULL, NULL, &stream, &err), BAZOF_INVALID_ARGUMENT, err, "table");
    CHECK_ERR(bazof_table_scan_estimate(NULL, NULL, NULL, NULL, &err), BAZOF_INVALID_ARGUMENT, err,
              "table");
    CHECK_ERR(bazof_table_refresh(NULL, &err), BAZOF_INVALID_ARGUMENT, err, "table");
    CHECK_ERR(bazof_scan_options_set_as_of(NULL, "2020-01-01", &err), BAZOF_INVALID_ARGUMENT, err,
              "scan options");
    CHECK_ERR(bazof_scan_options_set_as_of_micros(NULL, 0, &err), BAZOF_INVALID_ARGUMENT, err,
              "scan options");
    CHECK_ERR(bazof_scan_options_set_version(NULL, 1, &err), BAZOF_INVALID_ARGUMENT, err,
              "scan options");
    CHECK_ERR(bazof_scan_options_set_columns(NULL, NULL, 0, &err), BAZOF_INVALID_ARGUMENT, err,
              "scan options");
    CHECK_ERR(bazof_scan_options_set_key_in(NULL, NULL, 0, &err), BAZOF_INVALID_ARGUMENT, err,
              "scan options");
    CHECK_ERR(bazof_scan_options_set_key_range(NULL, NULL, NULL, &err), BAZOF_INVALID_ARGUMENT, err,
              "scan options");
    CHECK_ERR(bazof_scan_options_set_batch_size(NULL, 1, &err), BAZOF_INVALID_ARGUMENT, err,
              "scan options");
    CHECK_ERR(bazof_scan_options_set_threads(NULL, 1, &err), BAZOF_INVALID_ARGUMENT, err,
              "scan options");
    bazof_table_free(NULL);
    bazof_scan_options_free(NULL);
  }
}

static void test_fixture_table0(void) {
  char* err = NULL;
  char bazof01[4200], role[64], stream_error[1024], rows[4096];
  bazof_table* t = NULL;
  bazof_scan_options* o = bazof_scan_options_new();
  struct ArrowSchema schema;
  struct ArrowArrayStream stream;
  int64_t files = 0, max_rows = 0, micros = 0;
  const char* opt_keys[] = {"threads", "batch_size"};
  const char* opt_values[] = {"2", "1"};
  const char* key_in[] = {"3", "2"};
  const char* unknown_column[] = {"nope"};
  snprintf(bazof01, sizeof bazof01, "%s/bazof-0.1", g_fixtures);

  CHECK_OK(bazof_table_open(bazof01, "table0", opt_keys, opt_values, 2, &t, &err), err);
  if (!t) return;
  CHECK(bazof_table_current_version(t) == 1, "%lld", (long long)bazof_table_current_version(t));

  /* Schema: key, event_time, value with their roles. */
  CHECK_OK(bazof_table_schema(t, -1, &schema, &err), err);
  CHECK(schema.n_children == 3, "%lld fields", (long long)schema.n_children);
  if (schema.n_children == 3) {
    CHECK(strcmp(schema.children[0]->name, "key") == 0, "%s", schema.children[0]->name);
    CHECK(strcmp(schema.children[0]->format, "u") == 0, "%s", schema.children[0]->format);
    CHECK(strcmp(schema.children[1]->name, "event_time") == 0, "%s", schema.children[1]->name);
    CHECK(strncmp(schema.children[1]->format, "ts", 2) == 0, "%s", schema.children[1]->format);
    CHECK(strcmp(schema.children[2]->name, "value") == 0, "%s", schema.children[2]->name);
    CHECK(metadata_value(schema.children[0]->metadata, "bazof.role", role, sizeof role) &&
              strcmp(role, "key") == 0, "key role");
    CHECK(metadata_value(schema.children[1]->metadata, "bazof.role", role, sizeof role) &&
              strcmp(role, "event_time") == 0, "event_time role");
    CHECK(metadata_value(schema.children[2]->metadata, "bazof.role", role, sizeof role) &&
              strcmp(role, "value") == 0, "value role");
  }
  schema.release(&schema);
  CHECK_OK(bazof_table_schema(t, 1, &schema, &err), err);
  schema.release(&schema);
  CHECK_ERR(bazof_table_schema(t, 7, &schema, &err), BAZOF_NOT_FOUND, err, "version 7");
  CHECK_ERR(bazof_table_schema(t, -1, NULL, &err), BAZOF_INVALID_ARGUMENT, err, "out");

  /* The fixture's expected results (shared/fixtures/README.md). */
  CHECK(strcmp(scan_rows(t, NULL, "key", "value"), "1:abc2,2:xyz2,3:www2") == 0, "latest: %s",
        scan_rows(t, NULL, "key", "value"));
  CHECK_OK(bazof_scan_options_set_as_of(o, "2024-02-17", &err), err);
  CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc2,2:xyz") == 0, "as of: %s",
        scan_rows(t, o, "key", "value"));
  /* The same instant in microseconds. */
  CHECK_OK(bazof_parse_event_time("2024-02-17", &micros, &err), err);
  CHECK_OK(bazof_scan_options_set_as_of(o, NULL, &err), err);
  CHECK_OK(bazof_scan_options_set_as_of_micros(o, micros, &err), err);
  CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc2,2:xyz") == 0, "as of micros");
  CHECK_OK(bazof_scan_options_set_as_of(o, NULL, &err), err);
  CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc2,2:xyz2,3:www2") == 0, "reset as of");
  CHECK_ERR(bazof_scan_options_set_as_of(o, "17/01/2019", &err), BAZOF_INVALID_ARGUMENT, err,
            "17/01/2019");

  /* Key filters. */
  CHECK_OK(bazof_scan_options_set_key_in(o, key_in, 2, &err), err);
  CHECK(strcmp(scan_rows(t, o, "key", "value"), "2:xyz2,3:www2") == 0, "key in: %s",
        scan_rows(t, o, "key", "value"));
  CHECK_OK(bazof_scan_options_set_key_in(o, NULL, 0, &err), err);
  CHECK_OK(bazof_scan_options_set_key_range(o, "2", NULL, &err), err);
  CHECK(strcmp(scan_rows(t, o, "key", "value"), "2:xyz2,3:www2") == 0, "key >= 2");
  CHECK_OK(bazof_scan_options_set_key_range(o, NULL, "2", &err), err);
  CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc2,2:xyz2") == 0, "key <= 2");
  CHECK_OK(bazof_scan_options_set_key_range(o, NULL, NULL, &err), err);
  CHECK_ERR(bazof_scan_options_set_key_in(o, NULL, 2, &err), BAZOF_INVALID_ARGUMENT, err, "keys");
  /* Keys by column (any number of key columns; NULL names = the single key column). */
  {
    const char* by_column_values[] = {"3", "1"};
    const char* key_column[] = {"key"};
    CHECK_OK(bazof_scan_options_set_keys(o, NULL, 1, by_column_values, 2, &err), err);
    CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc2,3:www2") == 0, "keys: %s",
          scan_rows(t, o, "key", "value"));
    CHECK_OK(bazof_scan_options_set_keys(o, key_column, 1, by_column_values + 1, 1, &err), err);
    CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc2") == 0, "keys by name: %s",
          scan_rows(t, o, "key", "value"));
    CHECK_ERR(bazof_scan_options_set_keys(o, NULL, 2, by_column_values, 1, &err), BAZOF_INVALID_ARGUMENT, err,
              "key_columns");
    CHECK_OK(bazof_scan_options_set_keys(o, NULL, 1, NULL, 0, &err), err);
    CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc2,2:xyz2,3:www2") == 0, "keys removed");
  }

  /* Projection: no value columns -> key and event time only. */
  CHECK_OK(bazof_scan_options_set_columns(o, NULL, 0, &err), err);
  CHECK_OK(bazof_table_scan(t, o, &stream, &err), err);
  CHECK(stream.get_schema(&stream, &schema) == 0, "get_schema");
  CHECK(schema.n_children == 2 && child_index(&schema, "value") < 0, "%lld columns",
        (long long)schema.n_children);
  schema.release(&schema);
  stream.release(&stream);
  CHECK(strcmp(scan_rows(t, o, "key", NULL), "1,2,3") == 0, "keys only");
  CHECK_OK(bazof_scan_options_set_columns(o, unknown_column, 1, &err), err);
  CHECK_ERR(bazof_table_scan(t, o, &stream, &err), BAZOF_INVALID_ARGUMENT, err, "nope");
  bazof_scan_options_free(o);
  o = bazof_scan_options_new();

  /* Version: 1 exists, 5 does not. */
  CHECK_OK(bazof_scan_options_set_version(o, 1, &err), err);
  CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc2,2:xyz2,3:www2") == 0, "version 1");
  CHECK_OK(bazof_scan_options_set_version(o, 5, &err), err);
  CHECK_ERR(bazof_table_scan(t, o, &stream, &err), BAZOF_NOT_FOUND, err, "version 5");
  CHECK_ERR(bazof_table_scan_estimate(t, o, &files, &max_rows, &err), BAZOF_NOT_FOUND, err,
            "version 5");
  CHECK_OK(bazof_scan_options_set_version(o, -1, &err), err);

  /* batch_size=1 from the open options: one row per batch. */
  CHECK_OK(bazof_table_scan(t, NULL, &stream, &err), err);
  CHECK(read_rows(&stream, "key", NULL, rows, sizeof rows, stream_error, sizeof stream_error) == 3,
        "batches");
  CHECK_OK(bazof_scan_options_set_batch_size(o, 2, &err), err);
  CHECK_OK(bazof_scan_options_set_threads(o, 1, &err), err);
  CHECK_OK(bazof_table_scan(t, o, &stream, &err), err);
  CHECK(read_rows(&stream, "key", NULL, rows, sizeof rows, stream_error, sizeof stream_error) == 2,
        "batches of 2");
  CHECK_ERR(bazof_scan_options_set_batch_size(o, 0, &err), BAZOF_INVALID_ARGUMENT, err,
            "batch size");
  CHECK_ERR(bazof_scan_options_set_threads(o, -1, &err), BAZOF_INVALID_ARGUMENT, err, "threads");

  /* Estimates: the legacy table records no row counts. */
  CHECK_OK(bazof_table_scan_estimate(t, NULL, &files, &max_rows, &err), err);
  CHECK(files == 2 && max_rows == -1, "files %lld rows %lld", (long long)files,
        (long long)max_rows);
  CHECK_OK(bazof_table_scan_estimate(t, NULL, NULL, NULL, &err), err);

  /* The log of a legacy table: one version, no commit time. */
  CHECK_OK(bazof_table_log(t, &stream, &err), err);
  read_rows(&stream, "version", "operation", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "1:legacy") == 0, "log: %s", rows);
  CHECK_OK(bazof_table_log(t, &stream, &err), err);
  read_rows(&stream, "version", "timestamp", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "1:null") == 0, "log: %s", rows);

  /* A stream outlives the handle that made it. */
  CHECK_OK(bazof_table_scan(t, NULL, &stream, &err), err);
  bazof_table_free(t);
  read_rows(&stream, "key", "value", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "1:abc2,2:xyz2,3:www2") == 0, "after free: %s", rows);
  bazof_scan_options_free(o);
}

static void test_fixture_azof_table1(void) {
  char* err = NULL;
  char azof[4200];
  bazof_table* t = NULL;
  bazof_scan_options* o = bazof_scan_options_new();
  snprintf(azof, sizeof azof, "%s/azof-0.2", g_fixtures);
  CHECK_OK(bazof_table_open(azof, "table1", NULL, NULL, 0, &t, &err), err);
  if (!t) return;
  CHECK(strcmp(scan_rows(t, NULL, "key", "value"), "1:abc4,2:xyz3") == 0, "latest");
  CHECK_OK(bazof_scan_options_set_as_of(o, "2024-06-01", &err), err);
  CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc3,2:xyz2") == 0, "2024-06-01");
  CHECK_OK(bazof_scan_options_set_as_of(o, "2024-02-01", &err), err);
  CHECK(strcmp(scan_rows(t, o, "key", "value"), "1:abc2") == 0, "2024-02-01");
  bazof_scan_options_free(o);
  bazof_table_free(t);
}

static void test_writes(void) {
  char* err = NULL;
  char rows[4096], stream_error[1024];
  bazof_table *t = NULL, *other = NULL, *copy = NULL, *dup = NULL;
  bazof_scan_options* o = bazof_scan_options_new();
  struct ArrowArrayStream stream;
  int64_t version = 0;
  const char* key_col[] = {"symbol"};
  const char* aapl[] = {"AAPL"};
  const char* msft[] = {"MSFT"};
  const char* price_col[] = {"price"};
  const char* p10[] = {"10"};
  const char* p5[] = {"5"};
  const char* p7[] = {"7"};
  const char* bad_col[] = {"colour"};
  const char* bad_price[] = {"ten"};
  const char* missing[] = {"ZZZZ"};

  CHECK_OK(bazof_table_create(g_tmp, "prices", "symbol:string,price:int64", key_col, 1, NULL, &t,
                              &err), err);
  if (!t) return;
  CHECK(bazof_table_current_version(t) == 0, "created at version 0");
  CHECK_ERR(bazof_table_create(g_tmp, "prices", "symbol:string,price:int64", key_col, 1, NULL, &dup,
                               &err), BAZOF_CONFLICT, err, "prices");
  CHECK(dup == NULL, "no handle on conflict");
  CHECK_ERR(bazof_table_create(g_tmp, "broken", "price:float128", NULL, 0, NULL, &dup, &err),
            BAZOF_INVALID_ARGUMENT, err, "float128");
  CHECK_ERR(bazof_table_create(g_tmp, "broken", NULL, NULL, 0, NULL, &dup, &err),
            BAZOF_INVALID_ARGUMENT, err, "schema");
  CHECK_OK(bazof_table_open(g_tmp, "prices", NULL, NULL, 0, &other, &err), err);

  /* An event, a late event before it, another key, and a tombstone. */
  CHECK_OK(bazof_table_put(t, key_col, aapl, 1, "2024-01-02", price_col, p10, 1, &version, &err),
           err);
  CHECK(version == 1, "version %lld", (long long)version);
  CHECK_OK(bazof_table_put(t, NULL, aapl, 1, "2024-01-01", price_col, p5, 1, &version, &err), err);
  CHECK(version == 2, "version %lld", (long long)version);
  CHECK_OK(bazof_table_put(t, key_col, msft, 1, "2024-01-01", price_col, p7, 1, NULL, &err), err);
  CHECK_OK(bazof_table_delete(t, key_col, msft, 1, "2024-01-03", &version, &err), err);
  CHECK(version == 4 && bazof_table_current_version(t) == 4, "version %lld", (long long)version);

  CHECK(strcmp(scan_rows(t, NULL, "symbol", "price"), "AAPL:10") == 0, "latest: %s",
        scan_rows(t, NULL, "symbol", "price"));
  CHECK_OK(bazof_scan_options_set_as_of(o, "2024-01-01T12:00:00Z", &err), err);
  CHECK(strcmp(scan_rows(t, o, "symbol", "price"), "AAPL:5,MSFT:7") == 0, "as of: %s",
        scan_rows(t, o, "symbol", "price"));
  /* Bitemporal: version 1 knew only the 2024-01-02 event. */
  CHECK_OK(bazof_scan_options_set_version(o, 1, &err), err);
  CHECK(strcmp(scan_rows(t, o, "symbol", "price"), "") == 0, "v1 as of jan 1: %s",
        scan_rows(t, o, "symbol", "price"));
  bazof_scan_options_free(o);
  o = bazof_scan_options_new();

  /* Estimates: format-1 snapshots record row counts (one event per commit here). */
  {
    int64_t files = 0, max_rows = 0;
    CHECK_OK(bazof_table_scan_estimate(t, NULL, &files, &max_rows, &err), err);
    CHECK(files == 4 && max_rows == 4, "latest: files %lld rows %lld", (long long)files,
          (long long)max_rows);
    CHECK_OK(bazof_scan_options_set_version(o, 1, &err), err);
    CHECK_OK(bazof_table_scan_estimate(t, o, &files, &max_rows, &err), err);
    CHECK(files == 1 && max_rows == 1, "v1: files %lld rows %lld", (long long)files,
          (long long)max_rows);
    CHECK_OK(bazof_scan_options_set_version(o, -1, &err), err);
  }

  /* Write errors: nothing is committed. */
  CHECK_ERR(bazof_table_put(t, key_col, aapl, 1, "2024-01-05", bad_col, p10, 1, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "colour");
  CHECK(version == -1, "no version on error");
  CHECK_ERR(bazof_table_put(t, key_col, aapl, 1, "2024-01-05", price_col, bad_price, 1, &version,
                            &err), BAZOF_INVALID_ARGUMENT, err, "ten");
  CHECK_ERR(bazof_table_put(t, key_col, aapl, 1, "soon", price_col, p10, 1, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "soon");
  CHECK_ERR(bazof_table_put(t, key_col, aapl, 1, NULL, price_col, p10, 1, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "event time");
  CHECK_ERR(bazof_table_put(t, key_col, NULL, 0, "2024-01-05", NULL, NULL, 0, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "key");
  CHECK_ERR(bazof_table_put(NULL, key_col, aapl, 1, "2024-01-05", NULL, NULL, 0, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "table");
  CHECK_ERR(bazof_table_delete(t, bad_col, aapl, 1, "2024-01-05", &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "colour");
  CHECK(bazof_table_current_version(t) == 4, "errors committed nothing");

  /* The log: version 0 (create) and four commits with wall-clock times. */
  CHECK_OK(bazof_table_log(t, &stream, &err), err);
  read_rows(&stream, "version", "operation", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "0:create,1:put,2:put,3:put,4:delete") == 0, "log: %s", rows);
  CHECK_OK(bazof_table_log(t, &stream, &err), err);
  read_rows(&stream, "version", "timestamp", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strstr(rows, "null") == NULL && strstr(rows, "4:20") != NULL, "timestamps: %s", rows);

  /* Another handle sees the commits after a refresh. */
  CHECK(bazof_table_current_version(other) == 0, "stale handle");
  CHECK_OK(bazof_table_refresh(other, &err), err);
  CHECK(bazof_table_current_version(other) == 4, "refreshed");

  /* Append from a stream: a scan of every event version 4 knows ... */
  CHECK_OK(bazof_table_create(g_tmp, "copy", "symbol:string,price:int64", key_col, 1, NULL, &copy,
                              &err), err);
  CHECK_OK(bazof_scan_options_set_as_of(o, "2024-01-01T12:00:00Z", &err), err);
  CHECK_OK(bazof_table_scan(t, o, &stream, &err), err);
  CHECK_OK(bazof_table_append(copy, &stream, &version, &err), err);
  CHECK(stream.release == NULL, "append consumed the stream");
  CHECK(version == 1, "append version %lld", (long long)version);
  CHECK(strcmp(scan_rows(copy, NULL, "symbol", "price"), "AAPL:5,MSFT:7") == 0, "copy: %s",
        scan_rows(copy, NULL, "symbol", "price"));
  /* ... an empty stream commits nothing ... */
  CHECK_OK(bazof_scan_options_set_key_in(o, missing, 1, &err), err);
  CHECK_OK(bazof_table_scan(t, o, &stream, &err), err);
  CHECK_OK(bazof_table_append(copy, &stream, &version, &err), err);
  CHECK(version == -1 && bazof_table_current_version(copy) == 1, "empty append: %lld",
        (long long)version);
  /* ... a producer error comes back with its message ... */
  make_fake(&stream, 1);
  CHECK_ERR(bazof_table_append(copy, &stream, &version, &err), BAZOF_IO_ERROR, err, "boom");
  CHECK(g_fake.released == 1, "failed stream released %d times", g_fake.released);
  /* ... input without the event-time column is refused ... */
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_append(copy, &stream, &version, &err), BAZOF_INVALID_ARGUMENT, err,
            "event_time");
  CHECK(g_fake.released == 1, "refused stream released %d times", g_fake.released);
  /* ... and a NULL table still releases the stream. */
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_append(NULL, &stream, &version, &err), BAZOF_INVALID_ARGUMENT, err,
            "table");
  CHECK(g_fake.released == 1, "stream for NULL table released %d times", g_fake.released);
  CHECK_ERR(bazof_table_append(copy, NULL, &version, &err), BAZOF_INVALID_ARGUMENT, err, "input");
  CHECK(bazof_table_current_version(copy) == 1, "failed appends committed nothing");

  bazof_scan_options_free(o);
  bazof_table_free(t);
  bazof_table_free(other);
  bazof_table_free(copy);
}

/* Reads n splits on `reader` and joins their "k:v" rows into `all`. */
static void union_of_columns(const bazof_table* reader, char** splits, size_t n, const char* key,
                             const char* value, char* all, size_t cap) {
  char rows[8192], stream_error[1024];
  char* err = NULL;
  struct ArrowArrayStream stream;
  size_t i;
  all[0] = '\0';
  for (i = 0; i < n; ++i) {
    CHECK_OK(bazof_table_scan_split(reader, splits[i], &stream, &err), err);
    read_rows(&stream, key, value, rows, sizeof rows, stream_error, sizeof stream_error);
    if (rows[0]) {
      if (all[0]) strncat(all, ",", cap - strlen(all) - 1);
      strncat(all, rows, cap - strlen(all) - 1);
    }
  }
}

static void union_of_splits(const bazof_table* reader, char** splits, size_t n, char* all, size_t cap) {
  union_of_columns(reader, splits, n, "k", "v", all, cap);
}

/* Plans at most 8 splits of `t` with key restrictions `o`: 1..max_n of them,
 * whose union (read on `reader`) is `want` and the restricted scan. */
static void check_restricted_splits(const bazof_table* t, const bazof_table* reader, const bazof_scan_options* o,
                                    size_t max_n, const char* want) {
  char* err = NULL;
  char** splits = NULL;
  size_t n = 0;
  char all[8192];
  CHECK_OK(bazof_table_plan_splits(t, o, 0, 8, &splits, &n, &err), err);
  CHECK(n >= 1 && n <= max_n, "restricted splits: %u", (unsigned)n);
  union_of_splits(reader, splits, n, all, sizeof all);
  CHECK(strcmp(all, want) == 0, "restricted splits: %s", all);
  CHECK(strcmp(all, scan_rows(t, o, "k", "v")) == 0, "restricted scan: %s", all);
  bazof_strings_free(splits, n);
}

/* Splits: planned on one handle, read (as JSON text) on another; their rows
 * together are the scan's. Staged commits: two stages, one version, the
 * later task winning the tie; abort; malformed descriptors refused. */
static void test_splits_and_staged_commits(void) {
  bazof_table *t = NULL, *reader = NULL;
  char* err = NULL;
  char** splits = NULL;
  size_t n = 0, i;
  int64_t version = 0;
  const char* key_col[] = {"k"};
  const char* v_col[] = {"v"};
  char rows[8192], all[8192], stream_error[1024];
  struct ArrowArrayStream stream;
  char *staged[3] = {NULL, NULL, NULL};
  const char* bad_staged[] = {"{\"staged_format\": 1}"};
  bazof_scan_options* o = bazof_scan_options_new();

  CHECK_OK(bazof_table_create(g_tmp, "dist", "k:string,v:int64", key_col, 1, NULL, &t, &err), err);
  /* Stage two tasks' rows (from scans of a scratch table), commit as one version. */
  {
    bazof_table* src = NULL;
    const char* keys1[] = {"a"};
    const char* keys2[] = {"b"};
    const char* v1[] = {"1"};
    const char* v2[] = {"2"};
    CHECK_OK(bazof_table_create(g_tmp, "src", "k:string,v:int64", key_col, 1, NULL, &src, &err), err);
    CHECK_OK(bazof_table_put(src, key_col, keys1, 1, "2024-01-01", v_col, v1, 1, NULL, &err), err);
    CHECK_OK(bazof_table_scan(src, NULL, &stream, &err), err);
    CHECK_OK(bazof_table_stage(t, &stream, 1, &staged[0], &err), err);
    CHECK(stream.release == NULL, "stage consumed the stream");
    CHECK_OK(bazof_table_put(src, key_col, keys1, 1, "2024-01-01", v_col, v2, 1, NULL, &err), err);
    CHECK_OK(bazof_table_put(src, key_col, keys2, 1, "2024-01-01", v_col, v2, 1, NULL, &err), err);
    CHECK_OK(bazof_table_scan(src, NULL, &stream, &err), err);
    CHECK_OK(bazof_table_stage(t, &stream, 0, &staged[1], &err), err);
    bazof_table_free(src);
  }
  CHECK(staged[0] && strstr(staged[0], "staged_format") != NULL, "descriptor: %s", staged[0] ? staged[0] : "-");
  CHECK(bazof_table_current_version(t) == 0, "staging commits nothing");
  CHECK_OK(bazof_table_commit_staged(t, (const char* const*)staged, 2, NULL, &version, &err), err);
  CHECK(version == 1 && bazof_table_current_version(t) == 1, "one version: %lld", (long long)version);
  /* Task 1 staged a=1, task 0 staged a=2: the later task wins the tie. */
  CHECK(strcmp(scan_rows(t, NULL, "k", "v"), "a:1,b:2") == 0, "ties: %s", scan_rows(t, NULL, "k", "v"));
  CHECK_ERR(bazof_table_commit_staged(t, bad_staged, 1, NULL, &version, &err), BAZOF_INVALID_ARGUMENT,
            err, "staged");
  CHECK(version == -1, "no version on error");
  /* Abort deletes; committing afterwards is refused. */
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_stage(t, &stream, 0, &staged[2], &err), BAZOF_INVALID_ARGUMENT, err, "missing key column");
  CHECK(g_fake.released == 1, "refused stage released the stream");
  CHECK_OK(bazof_table_scan(t, NULL, &stream, &err), err);
  CHECK_OK(bazof_table_stage(t, &stream, 0, &staged[2], &err), err);
  CHECK_OK(bazof_table_abort_staged(t, (const char* const*)&staged[2], 1, &err), err);
  CHECK_OK(bazof_table_abort_staged(t, (const char* const*)&staged[2], 1, &err), err);
  CHECK_ERR(bazof_table_commit_staged(t, (const char* const*)&staged[2], 1, "x", &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "does not exist");

  /* More keys, then splits. */
  for (i = 0; i < 40; ++i) {
    char key[16];
    const char* kp[1];
    const char* vp[] = {"7"};
    snprintf(key, sizeof key, "k%02u", (unsigned)i);
    kp[0] = key;
    CHECK_OK(bazof_table_put(t, key_col, kp, 1, "2024-01-02", v_col, vp, 1, NULL, &err), err);
  }
  CHECK_OK(bazof_table_plan_splits(t, NULL, 0, 4, &splits, &n, &err), err);
  CHECK(n >= 2 && n <= 4, "splits: %u", (unsigned)n);
  CHECK_OK(bazof_table_open(g_tmp, "dist", NULL, NULL, 0, &reader, &err), err);
  all[0] = '\0';
  for (i = 0; i < n; ++i) {
    CHECK(strstr(splits[i], "split_format") != NULL, "split json: %s", splits[i]);
    CHECK_OK(bazof_table_scan_split(reader, splits[i], &stream, &err), err);
    read_rows(&stream, "k", "v", rows, sizeof rows, stream_error, sizeof stream_error);
    if (rows[0]) {
      if (all[0]) strncat(all, ",", sizeof all - strlen(all) - 1);
      strncat(all, rows, sizeof all - strlen(all) - 1);
    }
  }
  CHECK(strcmp(all, scan_rows(t, NULL, "k", "v")) == 0, "union of splits: %s", all);
  bazof_strings_free(splits, n);
  CHECK_ERR(bazof_table_scan_split(reader, "{\"split_format\": 1}", &stream, &err), BAZOF_INVALID_ARGUMENT,
            err, "version");
  CHECK_ERR(bazof_table_scan_split(reader, "not json", &stream, &err), BAZOF_INVALID_ARGUMENT, err, "JSON");
  /* Key lists and key ranges restrict splits as they restrict the scan:
   * only splits holding wanted keys are planned, and their union is the
   * restricted scan. */
  {
    const char* in_keys[] = {"k03", "k31", "zz"};
    const char* bad_keys[] = {"\xff"};
    CHECK_OK(bazof_scan_options_set_key_in(o, in_keys, 3, &err), err);
    check_restricted_splits(t, reader, o, 3, "k03:7,k31:7");
    CHECK_OK(bazof_scan_options_set_key_in(o, NULL, 0, &err), err);
    CHECK_OK(bazof_scan_options_set_key_range(o, "k10", "k14", &err), err);
    check_restricted_splits(t, reader, o, 8, "k10:7,k11:7,k12:7,k13:7,k14:7");
    CHECK_OK(bazof_scan_options_set_key_range(o, NULL, NULL, &err), err);
    CHECK_OK(bazof_scan_options_set_key_in(o, bad_keys, 1, &err), err);
    CHECK_ERR(bazof_table_plan_splits(t, o, 0, 0, &splits, &n, &err), BAZOF_INVALID_ARGUMENT, err, "UTF-8");
    CHECK(splits == NULL && n == 0, "no splits on error");
  }

  for (i = 0; i < 3; ++i) bazof_string_free(staged[i]);
  bazof_scan_options_free(o);
  bazof_table_free(t);
  bazof_table_free(reader);
}

static int remove_entry(const char* path, const struct stat* sb, int flag, struct FTW* ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Error strings are one line, escaped like the CLI's (issue #16): a version
 * pointer holding control bytes and a snapshot field of the wrong type. */
static void test_error_strings_are_one_line(void) {
  char* err = NULL;
  bazof_table* t = NULL;
  char path[4200];
  FILE* f;
  CHECK_OK(bazof_table_create(g_tmp, "oneline", "v:string", NULL, 0, NULL, &t, &err), err);
  bazof_table_free(t);
  t = NULL;
  snprintf(path, sizeof path, "%s/oneline/version.txt", g_tmp);
  f = fopen(path, "wb");
  CHECK(f != NULL, "cannot write %s", path);
  if (!f) return;
  fputs("0\n\x1b[31m\xff", f);
  fclose(f);
  CHECK_ERR(bazof_table_open(g_tmp, "oneline", NULL, NULL, 0, &t, &err), BAZOF_CORRUPTION, err,
            "'0\\n\\x1b[31m\\xff' is not a version number");
  snprintf(path, sizeof path, "%s/oneline/version.txt", g_tmp);
  f = fopen(path, "wb");
  if (!f) return;
  fputs("0", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/oneline/s0.json", g_tmp);
  f = fopen(path, "wb");
  if (!f) return;
  fputs("{\"format_version\": 1, \"version\": 0, \"schema\": [], \"segments\": []}", f);
  fclose(f);
  CHECK_ERR(bazof_table_open(g_tmp, "oneline", NULL, NULL, 0, &t, &err), BAZOF_CORRUPTION, err,
            "field 'schema': expected an object, found an array");
  CHECK(t == NULL, "out not reset on failure");
}

/* The as-of join: a spine (here: a scan of another table) joined to a table. */
static void test_join_asof(void) {
  char* err = NULL;
  char rows[4096], stream_error[1024];
  bazof_table *ticks = NULL, *spine_src = NULL;
  bazof_scan_options* o = bazof_scan_options_new();
  struct ArrowArrayStream spine, out;
  const char* key_col[] = {"symbol"};
  const char* by[] = {"symbol"};
  const char* aapl[] = {"AAPL"};
  const char* msft[] = {"MSFT"};
  const char* zzzz[] = {"ZZZZ"};
  const char* price_col[] = {"price"};
  const char* n_col[] = {"n"};
  const char* p5[] = {"5"};
  const char* p10[] = {"10"};
  const char* p7[] = {"7"};
  const char* one[] = {"1"};

  CHECK_OK(bazof_table_create(g_tmp, "ticks", "symbol:string,price:int64", key_col, 1, NULL, &ticks, &err), err);
  CHECK_OK(bazof_table_create(g_tmp, "spine_src", "symbol:string,n:int64", key_col, 1, NULL, &spine_src, &err),
           err);
  if (!ticks || !spine_src) return;
  CHECK_OK(bazof_table_put(ticks, key_col, aapl, 1, "2024-01-01", price_col, p5, 1, NULL, &err), err);
  CHECK_OK(bazof_table_put(ticks, key_col, aapl, 1, "2024-01-03", price_col, p10, 1, NULL, &err), err);
  CHECK_OK(bazof_table_put(ticks, key_col, msft, 1, "2024-01-01", price_col, p7, 1, NULL, &err), err);
  CHECK_OK(bazof_table_delete(ticks, key_col, msft, 1, "2024-01-02", NULL, &err), err);
  CHECK_OK(bazof_table_put(spine_src, key_col, zzzz, 1, "2024-01-05", n_col, one, 1, NULL, &err), err);
  CHECK_OK(bazof_table_put(spine_src, key_col, aapl, 1, "2024-01-02", n_col, one, 1, NULL, &err), err);
  CHECK_OK(bazof_table_put(spine_src, key_col, msft, 1, "2024-01-04", n_col, one, 1, NULL, &err), err);

  /* Spine rows (AAPL@01-02, MSFT@01-04, ZZZZ@01-05): the last event at or
   * before each time; MSFT's is a tombstone, ZZZZ has none. */
  CHECK_OK(bazof_table_scan(spine_src, NULL, &spine, &err), err);
  CHECK_OK(bazof_table_join_asof(ticks, &spine, "event_time", by, 1, NULL, &out, &err), err);
  CHECK(spine.release == NULL, "join consumed the spine");
  read_rows(&out, "symbol", "price", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:5,MSFT:null,ZZZZ:null") == 0, "join: %s", rows);
  /* The table's event-time column collides with the spine's: suffixed. */
  CHECK_OK(bazof_table_scan(spine_src, NULL, &spine, &err), err);
  CHECK_OK(bazof_table_join_asof(ticks, &spine, "event_time", NULL, 0, NULL, &out, &err), err);
  read_rows(&out, "symbol", "event_time_right", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:1704067200000,MSFT:null,ZZZZ:null") == 0, "matched times: %s", rows);
  /* Bitemporal: version 3 did not know MSFT's tombstone. */
  CHECK_OK(bazof_scan_options_set_version(o, 3, &err), err);
  CHECK_OK(bazof_table_scan(spine_src, NULL, &spine, &err), err);
  CHECK_OK(bazof_table_join_asof(ticks, &spine, "event_time", NULL, 0, o, &out, &err), err);
  read_rows(&out, "symbol", "price", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:5,MSFT:7,ZZZZ:null") == 0, "version 3: %s", rows);
  /* Errors name the column; the spine is consumed anyway. */
  CHECK_OK(bazof_table_scan(spine_src, NULL, &spine, &err), err);
  CHECK_ERR(bazof_table_join_asof(ticks, &spine, "n", NULL, 0, NULL, &out, &err), BAZOF_INVALID_ARGUMENT, err,
            "spine column 'n' is int64, not a timestamp or date");
  CHECK(spine.release == NULL, "a failed join consumed the spine");
  CHECK_OK(bazof_table_scan(spine_src, NULL, &spine, &err), err);
  CHECK_OK(bazof_scan_options_set_as_of(o, "2024-01-01", &err), err);
  CHECK_ERR(bazof_table_join_asof(ticks, &spine, "event_time", NULL, 0, o, &out, &err), BAZOF_INVALID_ARGUMENT,
            err, "as-of");
  CHECK_ERR(bazof_table_join_asof(ticks, NULL, "event_time", NULL, 0, NULL, &out, &err), BAZOF_INVALID_ARGUMENT,
            err, "spine");
  bazof_scan_options_free(o);
  bazof_table_free(ticks);
  bazof_table_free(spine_src);
}

/* Validity intervals and changes between two points, as Arrow C streams. */
static void test_views(void) {
  char* err = NULL;
  char rows[4096], stream_error[1024];
  bazof_table* t = NULL;
  bazof_scan_options* o = bazof_scan_options_new();
  struct ArrowArrayStream out;
  const char* key_col[] = {"symbol"};
  const char* aapl[] = {"AAPL"};
  const char* msft[] = {"MSFT"};
  const char* price_col[] = {"price"};
  const char* p5[] = {"5"};
  const char* p10[] = {"10"};
  const char* p7[] = {"7"};

  CHECK_OK(bazof_table_create(g_tmp, "views", "symbol:string,price:int64", key_col, 1, NULL, &t, &err), err);
  if (!t) return;
  CHECK_OK(bazof_table_put(t, key_col, aapl, 1, "2024-01-01", price_col, p5, 1, NULL, &err), err);   /* v1 */
  CHECK_OK(bazof_table_put(t, key_col, aapl, 1, "2024-01-03", price_col, p10, 1, NULL, &err), err);  /* v2 */
  CHECK_OK(bazof_table_put(t, key_col, msft, 1, "2024-01-01", price_col, p7, 1, NULL, &err), err);   /* v3 */
  CHECK_OK(bazof_table_delete(t, key_col, msft, 1, "2024-01-02", NULL, &err), err);                  /* v4 */

  /* One interval per event; the tombstone closes MSFT's and has no row. */
  CHECK_OK(bazof_table_intervals(t, NULL, NULL, 0, NULL, &out, &err), err);
  read_rows(&out, "symbol", "price", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:5,AAPL:10,MSFT:7") == 0, "intervals: %s", rows);
  CHECK_OK(bazof_table_intervals(t, NULL, NULL, 0, NULL, &out, &err), err);
  read_rows(&out, "symbol", "valid_to", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:1704240000000,AAPL:null,MSFT:1704153600000") == 0, "valid_to: %s", rows);
  /* [start, end): an interval ending at start is out. */
  CHECK_OK(bazof_table_intervals(t, "2024-01-03", NULL, 0, NULL, &out, &err), err);
  read_rows(&out, "symbol", "price", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:10") == 0, "intervals from 01-03: %s", rows);
  CHECK_OK(bazof_table_intervals(t, NULL, "2024-01-03", 0, NULL, &out, &err), err);
  read_rows(&out, "symbol", "price", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:5,MSFT:7") == 0, "intervals before 01-03: %s", rows);
  /* Key filters and versions of the options. */
  CHECK_OK(bazof_scan_options_set_key_in(o, msft, 1, &err), err);
  CHECK_OK(bazof_table_intervals(t, NULL, NULL, 0, o, &out, &err), err);
  read_rows(&out, "symbol", "price", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "MSFT:7") == 0, "intervals of MSFT: %s", rows);
  CHECK_OK(bazof_scan_options_set_key_in(o, NULL, 0, &err), err);
  CHECK_OK(bazof_scan_options_set_version(o, 1, &err), err);
  CHECK_OK(bazof_table_intervals(t, NULL, NULL, 0, o, &out, &err), err);
  read_rows(&out, "symbol", "valid_to", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:null") == 0, "intervals at version 1: %s", rows);

  /* Changes between two event times, and between two versions. */
  CHECK_OK(bazof_table_changes(t, "2024-01-01", -1, "2024-01-03", -1, NULL, &out, &err), err);
  read_rows(&out, "symbol", "kind", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:update,MSFT:delete") == 0, "changes: %s", rows);
  CHECK_OK(bazof_table_changes(t, "2024-01-01", -1, "2024-01-03", -1, NULL, &out, &err), err);
  read_rows(&out, "symbol", "new_price", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:10,MSFT:null") == 0, "new values: %s", rows);
  CHECK_OK(bazof_table_changes(t, NULL, 3, NULL, 4, NULL, &out, &err), err);
  read_rows(&out, "symbol", "kind", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "MSFT:delete") == 0, "changes of version 4: %s", rows);
  CHECK_OK(bazof_table_changes(t, NULL, 0, NULL, -1, NULL, &out, &err), err);
  read_rows(&out, "symbol", "kind", rows, sizeof rows, stream_error, sizeof stream_error);
  CHECK(strcmp(rows, "AAPL:insert") == 0, "changes since version 0: %s", rows);

  /* Intervals as splits: one per key here, read in order, are the intervals. */
  {
    char** splits = NULL;
    size_t n = 0;
    char all[4096];
    CHECK_OK(bazof_table_plan_interval_splits(t, NULL, NULL, 0, NULL, 0, 2, &splits, &n, &err), err);
    CHECK(n == 2, "interval splits: %u", (unsigned)n);
    CHECK(n > 0 && strstr(splits[0], "\"kind\":\"intervals\"") != NULL, "interval split: %s", n ? splits[0] : "");
    union_of_columns(t, splits, n, "symbol", "price", all, sizeof all);
    CHECK(strcmp(all, "AAPL:5,AAPL:10,MSFT:7") == 0, "intervals of the splits: %s", all);
    union_of_columns(t, splits, n, "symbol", "valid_to", all, sizeof all);
    CHECK(strcmp(all, "AAPL:1704240000000,AAPL:null,MSFT:1704153600000") == 0, "valid_to of the splits: %s", all);
    bazof_strings_free(splits, n);
    CHECK_OK(bazof_table_plan_interval_splits(t, "2024-01-03", NULL, 0, NULL, 0, 2, &splits, &n, &err), err);
    union_of_columns(t, splits, n, "symbol", "price", all, sizeof all);
    CHECK(strcmp(all, "AAPL:10") == 0, "interval splits from 01-03: %s", all);
    bazof_strings_free(splits, n);
    CHECK_ERR(bazof_table_plan_interval_splits(t, "2024-01-03", "2024-01-01", 0, NULL, 0, 0, &splits, &n, &err),
              BAZOF_INVALID_ARGUMENT, err, "start");
    CHECK(splits == NULL && n == 0, "no splits on an error");
    /* Changes as splits: the same rows as bazof_table_changes. */
    CHECK_OK(bazof_table_plan_change_splits(t, "2024-01-01", -1, "2024-01-03", -1, NULL, 0, 2, &splits, &n, &err),
             err);
    CHECK(n == 2 && strstr(splits[0], "\"kind\":\"changes\"") != NULL, "change splits: %u", (unsigned)n);
    union_of_columns(t, splits, n, "symbol", "kind", all, sizeof all);
    CHECK(strcmp(all, "AAPL:update,MSFT:delete") == 0, "changes of the splits: %s", all);
    bazof_strings_free(splits, n);
    CHECK_ERR(bazof_table_plan_change_splits(t, NULL, 99, NULL, -1, NULL, 0, 0, &splits, &n, &err),
              BAZOF_NOT_FOUND, err, "99");
  }

  /* Errors name the argument; nothing is returned. */
  CHECK_ERR(bazof_table_intervals(t, "yesterday", NULL, 0, NULL, &out, &err), BAZOF_INVALID_ARGUMENT, err,
            "yesterday");
  CHECK_ERR(bazof_table_intervals(t, "2024-01-03", "2024-01-01", 0, NULL, &out, &err), BAZOF_INVALID_ARGUMENT,
            err, "start");
  CHECK_ERR(bazof_table_changes(t, NULL, -1, "not a time", -1, NULL, &out, &err), BAZOF_INVALID_ARGUMENT, err,
            "not a time");
  CHECK_ERR(bazof_table_changes(t, NULL, -1, NULL, -1, o, &out, &err), BAZOF_INVALID_ARGUMENT, err,
            "do not apply");
  CHECK_ERR(bazof_table_changes(t, NULL, 99, NULL, -1, NULL, &out, &err), BAZOF_NOT_FOUND, err, "99");
  CHECK_OK(bazof_scan_options_set_as_of(o, "2024-01-01", &err), err);
  CHECK_ERR(bazof_table_intervals(t, NULL, NULL, 0, o, &out, &err), BAZOF_INVALID_ARGUMENT, err, "as-of");
  CHECK_ERR(bazof_table_intervals(NULL, NULL, NULL, 0, NULL, &out, &err), BAZOF_INVALID_ARGUMENT, err, "table");
  CHECK_ERR(bazof_table_changes(t, NULL, -1, NULL, -1, NULL, NULL, &err), BAZOF_INVALID_ARGUMENT, err, "out");

  /* A stream written to a Parquet file; the stream is consumed either way. */
  {
    char path[4200], magic[4] = {0};
    int64_t n = -1;
    FILE* f;
    snprintf(path, sizeof path, "%s/changes.parquet", g_tmp);
    CHECK_OK(bazof_table_changes(t, "2024-01-01", -1, "2024-01-03", -1, NULL, &out, &err), err);
    CHECK_OK(bazof_write_parquet(&out, path, &n, &err), err);
    CHECK(out.release == NULL && n == 2, "write_parquet: %lld rows", (long long)n);
    f = fopen(path, "rb");
    CHECK(f != NULL && fread(magic, 1, 4, f) == 4 && memcmp(magic, "PAR1", 4) == 0, "not a Parquet file");
    if (f) fclose(f);
    CHECK_OK(bazof_table_scan(t, NULL, &out, &err), err);
    CHECK_ERR(bazof_write_parquet(&out, "/no/such/dir/x.parquet", NULL, &err), BAZOF_INVALID_ARGUMENT, err,
              "/no/such/dir/x.parquet");
    CHECK(out.release == NULL, "a failed write consumed the stream");
  }
  bazof_scan_options_free(o);
  bazof_table_free(t);
}

/* A put must give every value column; bazof_table_put_partial carries the
 * others forward from the key's state at that event time. */
static void test_put_partial(void) {
  bazof_table* t = NULL;
  char* err = NULL;
  int64_t version = 0;
  const char* key_col[] = {"symbol"};
  const char* ibm[] = {"IBM"};
  const char* both_cols[] = {"price", "qty"};
  const char* both[] = {"10", "3"};
  const char* qty_col[] = {"qty"};
  const char* q9[] = {"9"};
  CHECK_OK(bazof_table_create(g_tmp, "wide", "symbol:string,price:int64,qty:int64", key_col, 1, NULL, &t, &err),
           err);
  if (!t) return;
  CHECK_ERR(bazof_table_put(t, key_col, ibm, 1, "2024-01-01", NULL, NULL, 0, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "no value column");
  CHECK_ERR(bazof_table_put(t, key_col, ibm, 1, "2024-01-01", qty_col, q9, 1, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "'price' not given");
  CHECK(bazof_table_current_version(t) == 0, "refused puts commit nothing");
  CHECK_OK(bazof_table_put(t, key_col, ibm, 1, "2024-01-01", both_cols, both, 2, &version, &err), err);
  CHECK_OK(bazof_table_put_partial(t, key_col, ibm, 1, "2024-02-01", qty_col, q9, 1, &version, &err), err);
  CHECK(version == 2, "version %lld", (long long)version);
  CHECK(strcmp(scan_rows(t, NULL, "symbol", "price"), "IBM:10") == 0, "carried: %s",
        scan_rows(t, NULL, "symbol", "price"));
  CHECK(strcmp(scan_rows(t, NULL, "symbol", "qty"), "IBM:9") == 0, "given: %s", scan_rows(t, NULL, "symbol", "qty"));
  bazof_table_free(t);
}

/* bazof_table_append_with_options: the memory budget and spill directory
 * reach the append (a tiny budget spills: a missing spill directory is then
 * an IO error naming it, while a large budget never touches it), the result
 * equals the source, and bad options are refused before anything is read,
 * releasing the stream and committing nothing. */
static void test_append_options(void) {
  bazof_table *src = NULL, *big = NULL, *spilled = NULL;
  char* err = NULL;
  char want[8192], missing_dir[4200];
  struct ArrowArrayStream stream;
  int64_t version = 0;
  int i;
  const char* key_col[] = {"symbol"};
  const char* price_col[] = {"price"};
  const char* tiny_keys[] = {"memory_limit", "spill_dir"};
  const char* tiny_values[] = {"512", missing_dir};
  const char* big_values[] = {"1GiB", missing_dir};
  const char* spill_values[] = {"512", g_tmp};
  const char* bad_keys[] = {"threads"};
  const char* bad_values[] = {"2"};
  const char* limit_key[] = {"memory_limit"};
  const char* apples[] = {"12 apples"};
  const char* small[] = {"1MiB"};
  const char* twice_keys[] = {"spill_dir", "spill_dir"};
  const char* twice_values[] = {"/tmp", "/tmp"};
  const char* null_value[] = {NULL};
  snprintf(missing_dir, sizeof missing_dir, "%s/no-such-spill-dir", g_tmp);
  CHECK_OK(bazof_table_create(g_tmp, "spill_src", "symbol:string,price:int64", key_col, 1, NULL, &src, &err), err);
  CHECK_OK(bazof_table_create(g_tmp, "spill_big", "symbol:string,price:int64", key_col, 1, NULL, &big, &err), err);
  CHECK_OK(bazof_table_create(g_tmp, "spill_tiny", "symbol:string,price:int64", key_col, 1, NULL, &spilled, &err),
           err);
  if (!src || !big || !spilled) return;
  for (i = 0; i < 40; ++i) {
    char key[16], price[16], when[32];
    const char* k[1];
    const char* v[1];
    snprintf(key, sizeof key, "K%02d", (i * 17) % 40);
    snprintf(price, sizeof price, "%d", i);
    snprintf(when, sizeof when, "2024-01-%02d", 1 + (i * 7) % 28);
    k[0] = key;
    v[0] = price;
    CHECK_OK(bazof_table_put(src, key_col, k, 1, when, price_col, v, 1, &version, &err), err);
  }
  snprintf(want, sizeof want, "%s", scan_rows(src, NULL, "symbol", "price"));
  CHECK(strlen(want) > 100, "source rows: %s", want);

  /* Budgets below 32MiB are for tests only (docs/spec.md §22). */
  setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1", 1);
  CHECK_OK(bazof_table_scan(src, NULL, &stream, &err), err);
  CHECK_ERR(bazof_table_append_with_options(spilled, &stream, tiny_keys, tiny_values, 2, &version, &err),
            BAZOF_IO_ERROR, err, "no-such-spill-dir");
  CHECK(stream.release == NULL && version == -1, "spill failure: stream consumed, version %lld", (long long)version);
  CHECK_OK(bazof_table_scan(src, NULL, &stream, &err), err);
  CHECK_OK(bazof_table_append_with_options(big, &stream, tiny_keys, big_values, 2, &version, &err), err);
  CHECK(version == 1, "in-memory append: version %lld", (long long)version);
  CHECK(strcmp(scan_rows(big, NULL, "symbol", "price"), want) == 0, "in memory: %s",
        scan_rows(big, NULL, "symbol", "price"));
  CHECK_OK(bazof_table_scan(src, NULL, &stream, &err), err);
  CHECK_OK(bazof_table_append_with_options(spilled, &stream, tiny_keys, spill_values, 2, &version, &err), err);
  CHECK(version == 1, "spilled append: version %lld", (long long)version);
  CHECK(strcmp(scan_rows(spilled, NULL, "symbol", "price"), want) == 0, "spilled: %s",
        scan_rows(spilled, NULL, "symbol", "price"));
  unsetenv("BAZOF_MEMORY_LIMIT_MINIMUM");

  /* Refused options: the stream is released, nothing is committed. */
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_append_with_options(big, &stream, limit_key, small, 1, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "below the minimum");
  CHECK(g_fake.released == 1, "released %d times", g_fake.released);
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_append_with_options(big, &stream, limit_key, apples, 1, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "memory_limit");
  CHECK(g_fake.released == 1, "released %d times", g_fake.released);
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_append_with_options(big, &stream, bad_keys, bad_values, 1, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "unknown append option 'threads'");
  CHECK(g_fake.released == 1, "released %d times", g_fake.released);
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_append_with_options(big, &stream, twice_keys, twice_values, 2, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "twice");
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_append_with_options(big, &stream, limit_key, null_value, 1, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "NULL");
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_append_with_options(NULL, &stream, NULL, NULL, 0, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "table");
  CHECK(g_fake.released == 1, "released %d times", g_fake.released);
  CHECK(bazof_table_current_version(big) == 1, "refused appends committed nothing");
  /* No options: as bazof_table_append (the fake input lacks event_time). */
  make_fake(&stream, 0);
  CHECK_ERR(bazof_table_append_with_options(big, &stream, NULL, NULL, 0, &version, &err),
            BAZOF_INVALID_ARGUMENT, err, "event_time");
  bazof_table_free(src);
  bazof_table_free(big);
  bazof_table_free(spilled);
}

int main(void) {
  const char* tmpdir = getenv("TMPDIR");
  snprintf(g_fixtures, sizeof g_fixtures, "%s", BAZOF_FIXTURES_DIR);
  snprintf(g_tmp, sizeof g_tmp, "%s/bazof_c_test_XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    return 1;
  }

  test_version_and_codes();
  test_parse_event_time();
  test_open_errors();
  test_fixture_table0();
  test_fixture_azof_table1();
  test_writes();
  test_put_partial();
  test_append_options();
  test_error_strings_are_one_line();
  test_splits_and_staged_commits();
  test_join_asof();
  test_views();

  nftw(g_tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  printf("%d checks, %d failed\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
