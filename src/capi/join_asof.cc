// C API: the as-of join, its spine and result as Arrow C streams.
#include <arrow/api.h>
#include <arrow/c/bridge.h>

#include "bazof/bazof.h"
#include "bazof/join.h"
#include "capi/capi_internal.h"
#include "read/guarded_reader.h"

using bazof::capi::Guard;
using bazof::capi::NullArgument;

extern "C" {

bazof_code bazof_table_join_asof(const bazof_table* table, struct ArrowArrayStream* spine, const char* on,
                                 const char* const* by, size_t n_by, const bazof_scan_options* options,
                                 struct ArrowArrayStream* out, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!spine || !spine->release) return NullArgument("spine");
    // The spine is consumed (released) whatever happens next.
    ARROW_ASSIGN_OR_RAISE(auto spine_reader, arrow::ImportRecordBatchReader(spine));
    if (!table) return NullArgument("table");
    if (!on) return NullArgument("on");
    if (!out) return NullArgument("out");
    bazof::JoinAsOfOptions o;
    o.on = on;
    if (n_by > 0) {
      ARROW_ASSIGN_OR_RAISE(o.by, bazof::capi::Strings(by, n_by, "by"));
    }
    o.batch_size = table->batch_size;
    o.threads = table->threads;
    if (options) {
      if (options->as_of || !options->key_in.empty() || options->key_min || options->key_max) {
        return bazof::InvalidArgument("join-asof: the spine gives the times and keys; "
                                      "as-of and key filters of the options do not apply");
      }
      if (options->version) o.version = bazof::Version(*options->version);
      if (options->columns) o.columns = *options->columns;
      if (options->batch_size) o.batch_size = *options->batch_size;
      if (options->threads) o.threads = *options->threads;
    }
    ARROW_ASSIGN_OR_RAISE(auto join, bazof::MakeJoinAsOf(table->Get(), *spine_reader, std::move(o)));
    ARROW_ASSIGN_OR_RAISE(auto reader, join->ToReader());
    return arrow::ExportRecordBatchReader(bazof::read::GuardReader(std::move(reader)), out);
  });
}

}  // extern "C"
