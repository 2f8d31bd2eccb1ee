//! Raw bindings to the bazof C API (`include/bazof/bazof.h`), and a small
//! safe layer over them: [`Table`], [`ScanOptions`] and [`BazofError`].
//!
//! Arrow data crosses as the Arrow C data interface, imported with the
//! `arrow` crate's FFI (`FFI_ArrowSchema`, `FFI_ArrowArrayStream`).
#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr, CString};
use std::fmt;
use std::ptr;

use arrow::datatypes::{Schema, SchemaRef};
use arrow::ffi::FFI_ArrowSchema;
use arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow::record_batch::RecordBatchReader;
use std::sync::Arc;

/// The C API version these bindings follow (checked against the header by
/// build.rs and against the loaded library by [`Table::open`]).
pub const BAZOF_C_API_VERSION: i32 = 1;

pub type bazof_code = i32;
#[repr(C)]
pub struct bazof_table {
    _private: [u8; 0],
}
#[repr(C)]
pub struct bazof_scan_options {
    _private: [u8; 0],
}

extern "C" {
    pub fn bazof_c_api_version() -> i32;
    pub fn bazof_code_name(code: bazof_code) -> *const c_char;
    pub fn bazof_string_free(s: *mut c_char);
    pub fn bazof_parse_event_time(text: *const c_char, out: *mut i64, error: *mut *mut c_char) -> bazof_code;
    pub fn bazof_table_open(
        location: *const c_char,
        name: *const c_char,
        keys: *const *const c_char,
        values: *const *const c_char,
        n: usize,
        out: *mut *mut bazof_table,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_create(
        location: *const c_char,
        name: *const c_char,
        schema_spec: *const c_char,
        key_columns: *const *const c_char,
        n_key_columns: usize,
        event_time_column: *const c_char,
        out: *mut *mut bazof_table,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_free(table: *mut bazof_table);
    pub fn bazof_table_refresh(table: *mut bazof_table, error: *mut *mut c_char) -> bazof_code;
    pub fn bazof_table_current_version(table: *const bazof_table) -> i64;
    pub fn bazof_table_schema(
        table: *const bazof_table,
        version: i64,
        out: *mut FFI_ArrowSchema,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_log(
        table: *const bazof_table,
        out: *mut FFI_ArrowArrayStream,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_scan_options_new() -> *mut bazof_scan_options;
    pub fn bazof_scan_options_free(o: *mut bazof_scan_options);
    pub fn bazof_scan_options_set_as_of_micros(
        o: *mut bazof_scan_options,
        micros: i64,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_scan_options_set_version(
        o: *mut bazof_scan_options,
        version: i64,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_scan_options_set_columns(
        o: *mut bazof_scan_options,
        columns: *const *const c_char,
        n: usize,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_scan_options_set_key_in(
        o: *mut bazof_scan_options,
        keys: *const *const c_char,
        n: usize,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_scan_options_set_key_range(
        o: *mut bazof_scan_options,
        min: *const c_char,
        max: *const c_char,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_scan_options_set_batch_size(
        o: *mut bazof_scan_options,
        rows: i64,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_scan(
        table: *const bazof_table,
        options: *const bazof_scan_options,
        out: *mut FFI_ArrowArrayStream,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_scan_estimate(
        table: *const bazof_table,
        options: *const bazof_scan_options,
        out_files: *mut i64,
        out_max_rows: *mut i64,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_join_asof(
        table: *const bazof_table,
        spine: *mut FFI_ArrowArrayStream,
        on: *const c_char,
        by: *const *const c_char,
        n_by: usize,
        options: *const bazof_scan_options,
        out: *mut FFI_ArrowArrayStream,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_intervals(
        table: *const bazof_table,
        start: *const c_char,
        end: *const c_char,
        coalesce: i32,
        options: *const bazof_scan_options,
        out: *mut FFI_ArrowArrayStream,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_changes(
        table: *const bazof_table,
        from_time: *const c_char,
        from_version: i64,
        to_time: *const c_char,
        to_version: i64,
        options: *const bazof_scan_options,
        out: *mut FFI_ArrowArrayStream,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_write_parquet(
        input: *mut FFI_ArrowArrayStream,
        path: *const c_char,
        out_rows: *mut i64,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_append(
        table: *mut bazof_table,
        input: *mut FFI_ArrowArrayStream,
        out_version: *mut i64,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_put(
        table: *mut bazof_table,
        key_columns: *const *const c_char,
        key_values: *const *const c_char,
        n_key: usize,
        event_time: *const c_char,
        value_columns: *const *const c_char,
        values: *const *const c_char,
        n_values: usize,
        out_version: *mut i64,
        error: *mut *mut c_char,
    ) -> bazof_code;
    pub fn bazof_table_delete(
        table: *mut bazof_table,
        key_columns: *const *const c_char,
        key_values: *const *const c_char,
        n_key: usize,
        event_time: *const c_char,
        out_version: *mut i64,
        error: *mut *mut c_char,
    ) -> bazof_code;
}

/// The kind of a bazof error (the C API's codes, mirroring bazof::ErrorKind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    InvalidArgument,
    Corruption,
    Conflict,
    CommitStateUnknown,
    IoError,
    Internal,
}

impl ErrorKind {
    fn from_code(code: bazof_code) -> Self {
        match code {
            1 => ErrorKind::NotFound,
            2 => ErrorKind::InvalidArgument,
            3 => ErrorKind::Corruption,
            4 => ErrorKind::Conflict,
            5 => ErrorKind::CommitStateUnknown,
            6 => ErrorKind::IoError,
            _ => ErrorKind::Internal,
        }
    }
}

/// An error from bazof: its kind and bazof's message (which names the
/// table, version, file, column or row, and the problem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BazofError {
    pub kind: ErrorKind,
    pub message: String,
}

impl BazofError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        BazofError { kind, message: message.into() }
    }
}

impl fmt::Display for BazofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BazofError {}

pub type Result<T> = std::result::Result<T, BazofError>;

/// Turns a call's code and message into a Result, freeing the message.
fn check(code: bazof_code, message: *mut c_char) -> Result<()> {
    let text = if message.is_null() {
        None
    } else {
        // SAFETY: the C API returns a NUL-terminated string we own.
        let s = unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned();
        unsafe { bazof_string_free(message) };
        Some(s)
    };
    if code == 0 {
        return Ok(());
    }
    let message = text.unwrap_or_else(|| {
        // SAFETY: bazof_code_name returns a static string.
        let name = unsafe { CStr::from_ptr(bazof_code_name(code)) };
        format!("bazof error ({})", name.to_string_lossy())
    });
    Err(BazofError::new(ErrorKind::from_code(code), message))
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s)
        .map_err(|_| BazofError::new(ErrorKind::InvalidArgument, format!("{what} '{s}' contains a NUL byte")))
}

/// C strings and the pointer array the C API takes for a list of strings.
struct CStrings {
    _owned: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CStrings {
    fn new<S: AsRef<str>>(items: &[S], what: &str) -> Result<Self> {
        let owned = items.iter().map(|s| cstring(s.as_ref(), what)).collect::<Result<Vec<_>>>()?;
        let ptrs = owned.iter().map(|c| c.as_ptr()).collect();
        Ok(CStrings { _owned: owned, ptrs })
    }
    fn as_ptr(&self) -> *const *const c_char {
        if self.ptrs.is_empty() {
            ptr::null()
        } else {
            self.ptrs.as_ptr()
        }
    }
    fn len(&self) -> usize {
        self.ptrs.len()
    }
}

/// Parses an event time as bazof does (ISO-8601 date or timestamp, UTC
/// unless an offset is given) into microseconds since the Unix epoch.
pub fn parse_event_time(text: &str) -> Result<i64> {
    let c = cstring(text, "event time")?;
    let mut micros = 0i64;
    let mut err = ptr::null_mut();
    // SAFETY: valid C string and out pointers.
    let code = unsafe { bazof_parse_event_time(c.as_ptr(), &mut micros, &mut err) };
    check(code, err)?;
    Ok(micros)
}

/// Writes every batch of `input` to a new local Parquet file at `path` with
/// bazof's Arrow (`bazof_write_parquet`); returns the number of rows.
pub fn write_parquet(input: Box<dyn RecordBatchReader + Send>, path: &str) -> Result<i64> {
    let mut stream = FFI_ArrowArrayStream::new(input);
    let path = cstring(path, "path")?;
    let mut rows = 0i64;
    let mut err = ptr::null_mut();
    // SAFETY: the C API consumes (releases) the stream.
    check(unsafe { bazof_write_parquet(&mut stream, path.as_ptr(), &mut rows, &mut err) }, err)?;
    Ok(rows)
}

/// What a scan reads (see `bazof_scan_options` in bazof.h).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanOptions {
    /// Event time (microseconds, UTC), inclusive; None = latest.
    pub as_of_micros: Option<i64>,
    /// Version; None = the table handle's current version.
    pub version: Option<i64>,
    /// Value columns to return; None = all.
    pub columns: Option<Vec<String>>,
    /// Keep only these keys (as text); empty = all.
    pub key_in: Vec<String>,
    /// Keep only keys in [min, max] (inclusive, as text).
    pub key_min: Option<String>,
    pub key_max: Option<String>,
    /// Rows per batch; None = the C API's default.
    pub batch_size: Option<i64>,
}

struct OptionsHandle(*mut bazof_scan_options);

impl Drop for OptionsHandle {
    fn drop(&mut self) {
        // SAFETY: made by bazof_scan_options_new, freed once.
        unsafe { bazof_scan_options_free(self.0) }
    }
}

impl ScanOptions {
    fn to_c(&self) -> Result<OptionsHandle> {
        // SAFETY: the handle is freed by OptionsHandle's Drop.
        let o = OptionsHandle(unsafe { bazof_scan_options_new() });
        if o.0.is_null() {
            return Err(BazofError::new(ErrorKind::Internal, "out of memory"));
        }
        let mut err = ptr::null_mut();
        unsafe {
            if let Some(t) = self.as_of_micros {
                check(bazof_scan_options_set_as_of_micros(o.0, t, &mut err), err)?;
            }
            if let Some(v) = self.version {
                check(bazof_scan_options_set_version(o.0, v, &mut err), err)?;
            }
            if let Some(columns) = &self.columns {
                let c = CStrings::new(columns, "column")?;
                check(bazof_scan_options_set_columns(o.0, c.as_ptr(), c.len(), &mut err), err)?;
            }
            if !self.key_in.is_empty() {
                let c = CStrings::new(&self.key_in, "key")?;
                check(bazof_scan_options_set_key_in(o.0, c.as_ptr(), c.len(), &mut err), err)?;
            }
            if self.key_min.is_some() || self.key_max.is_some() {
                let min = self.key_min.as_deref().map(|s| cstring(s, "key")).transpose()?;
                let max = self.key_max.as_deref().map(|s| cstring(s, "key")).transpose()?;
                check(
                    bazof_scan_options_set_key_range(
                        o.0,
                        min.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                        max.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                        &mut err,
                    ),
                    err,
                )?;
            }
            if let Some(rows) = self.batch_size {
                check(bazof_scan_options_set_batch_size(o.0, rows, &mut err), err)?;
            }
        }
        Ok(o)
    }
}

/// One version in a table's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub version: i64,
    /// Wall-clock commit time, RFC 3339 UTC; None for legacy snapshots.
    pub timestamp: Option<String>,
    pub operation: String,
}

/// An open bazof table (a `bazof_table` handle). Thread-safe, as the C API's
/// handle is.
#[derive(Debug)]
pub struct Table {
    raw: *mut bazof_table,
    location: String,
    name: String,
}

// SAFETY: the C API documents bazof_table as usable from several threads.
unsafe impl Send for Table {}
unsafe impl Sync for Table {}

impl Drop for Table {
    fn drop(&mut self) {
        // SAFETY: opened by this wrapper, freed once.
        unsafe { bazof_table_free(self.raw) }
    }
}

fn check_library_version() -> Result<()> {
    // SAFETY: no arguments.
    let loaded = unsafe { bazof_c_api_version() };
    if loaded != BAZOF_C_API_VERSION {
        return Err(BazofError::new(
            ErrorKind::Internal,
            format!("libbazof_c has C API version {loaded}, these bindings need {BAZOF_C_API_VERSION}"),
        ));
    }
    Ok(())
}

impl Table {
    /// Opens table `name` under `location` (its root is location/name).
    pub fn open(location: &str, name: &str) -> Result<Table> {
        Self::open_with_options(location, name, &[])
    }

    /// Opens with the C API's options ("threads", "batch_size").
    pub fn open_with_options(location: &str, name: &str, options: &[(&str, &str)]) -> Result<Table> {
        check_library_version()?;
        let loc = cstring(location, "location")?;
        let n = cstring(name, "table name")?;
        let keys = CStrings::new(&options.iter().map(|(k, _)| *k).collect::<Vec<_>>(), "option")?;
        let values = CStrings::new(&options.iter().map(|(_, v)| *v).collect::<Vec<_>>(), "option value")?;
        let mut raw = ptr::null_mut();
        let mut err = ptr::null_mut();
        // SAFETY: valid strings and arrays of keys.len() pointers.
        let code = unsafe {
            bazof_table_open(loc.as_ptr(), n.as_ptr(), keys.as_ptr(), values.as_ptr(), keys.len(), &mut raw, &mut err)
        };
        check(code, err)?;
        Ok(Table { raw, location: location.to_string(), name: name.to_string() })
    }

    /// Creates a table (version 0) from a schema like "symbol:string,price:int64".
    pub fn create(location: &str, name: &str, schema_spec: &str, key_columns: &[&str]) -> Result<Table> {
        check_library_version()?;
        let loc = cstring(location, "location")?;
        let n = cstring(name, "table name")?;
        let spec = cstring(schema_spec, "schema")?;
        let keys = CStrings::new(key_columns, "key column")?;
        let mut raw = ptr::null_mut();
        let mut err = ptr::null_mut();
        // SAFETY: valid strings and pointer arrays.
        let code = unsafe {
            bazof_table_create(
                loc.as_ptr(),
                n.as_ptr(),
                spec.as_ptr(),
                keys.as_ptr(),
                keys.len(),
                ptr::null(),
                &mut raw,
                &mut err,
            )
        };
        check(code, err)?;
        Ok(Table { raw, location: location.to_string(), name: name.to_string() })
    }

    pub fn location(&self) -> &str {
        &self.location
    }
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version this handle reads by default.
    pub fn current_version(&self) -> i64 {
        // SAFETY: live handle.
        unsafe { bazof_table_current_version(self.raw) }
    }

    /// Re-reads the version pointer (sees other writers' commits).
    pub fn refresh(&self) -> Result<()> {
        let mut err = ptr::null_mut();
        // SAFETY: live handle; the C API guards its state.
        check(unsafe { bazof_table_refresh(self.raw, &mut err) }, err)
    }

    /// The schema scans of `version` (None: current) return, with the
    /// "bazof.role" field metadata (key, event_time, value).
    pub fn schema(&self, version: Option<i64>) -> Result<Schema> {
        let mut out = FFI_ArrowSchema::empty();
        let mut err = ptr::null_mut();
        // SAFETY: live handle, out is a valid empty schema struct.
        check(unsafe { bazof_table_schema(self.raw, version.unwrap_or(-1), &mut out, &mut err) }, err)?;
        Schema::try_from(&out).map_err(|e| BazofError::new(ErrorKind::Internal, e.to_string()))
    }

    /// Every version from the oldest present to the current one.
    pub fn log(&self) -> Result<Vec<LogEntry>> {
        use arrow::array::{Array, AsArray};
        use arrow::datatypes::Int64Type;
        let mut stream = FFI_ArrowArrayStream::empty();
        let mut err = ptr::null_mut();
        // SAFETY: live handle, out is a valid empty stream struct.
        check(unsafe { bazof_table_log(self.raw, &mut stream, &mut err) }, err)?;
        let reader = import(stream)?;
        let mut out = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|e| BazofError::new(ErrorKind::Internal, e.to_string()))?;
            let version = batch.column_by_name("version").unwrap().as_primitive::<Int64Type>().clone();
            let ts = batch.column_by_name("timestamp").unwrap().as_string::<i32>().clone();
            let op = batch.column_by_name("operation").unwrap().as_string::<i32>().clone();
            for i in 0..batch.num_rows() {
                out.push(LogEntry {
                    version: version.value(i),
                    timestamp: if ts.is_null(i) { None } else { Some(ts.value(i).to_string()) },
                    operation: op.value(i).to_string(),
                });
            }
        }
        Ok(out)
    }

    /// Starts a scan; batches arrive through the returned reader (errors
    /// while reading carry bazof's message).
    pub fn scan(&self, options: &ScanOptions) -> Result<ArrowArrayStreamReader> {
        let o = options.to_c()?;
        let mut stream = FFI_ArrowArrayStream::empty();
        let mut err = ptr::null_mut();
        // SAFETY: live handles; out is a valid empty stream struct.
        check(unsafe { bazof_table_scan(self.raw, o.0, &mut stream, &mut err) }, err)?;
        import(stream)
    }

    /// The as-of join (`bazof_table_join_asof`): every row of `spine`, in
    /// spine order, with the table's event time and value columns as of the
    /// row's time column `on`. `by`: the spine's key columns (empty = the
    /// table's key names). `options` may give the version, value columns and
    /// batch size (an as-of time or key filters are an error).
    pub fn join_asof(
        &self,
        spine: Box<dyn RecordBatchReader + Send>,
        on: &str,
        by: &[String],
        options: &ScanOptions,
    ) -> Result<ArrowArrayStreamReader> {
        let mut spine = FFI_ArrowArrayStream::new(spine);
        let on = cstring(on, "column")?;
        let by = CStrings::new(by, "column")?;
        let o = options.to_c()?;
        let mut stream = FFI_ArrowArrayStream::empty();
        let mut err = ptr::null_mut();
        // SAFETY: live handles; the C API consumes (releases) the spine.
        let code = unsafe {
            bazof_table_join_asof(self.raw, &mut spine, on.as_ptr(), by.as_ptr(), by.len(), o.0, &mut stream, &mut err)
        };
        check(code, err)?;
        import(stream)
    }

    /// Validity intervals (`bazof_table_intervals`) overlapping [start, end)
    /// (ISO-8601 text; None = unbounded). `options` may give the version,
    /// value columns, key filters and batch size.
    pub fn intervals(
        &self,
        start: Option<&str>,
        end: Option<&str>,
        coalesce: bool,
        options: &ScanOptions,
    ) -> Result<ArrowArrayStreamReader> {
        let start = start.map(|s| cstring(s, "start")).transpose()?;
        let end = end.map(|s| cstring(s, "end")).transpose()?;
        let o = options.to_c()?;
        let mut stream = FFI_ArrowArrayStream::empty();
        let mut err = ptr::null_mut();
        // SAFETY: live handles, valid (or NULL) strings, a valid empty stream.
        let code = unsafe {
            bazof_table_intervals(
                self.raw,
                start.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                end.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                coalesce as i32,
                o.0,
                &mut stream,
                &mut err,
            )
        };
        check(code, err)?;
        import(stream)
    }

    /// Changes (`bazof_table_changes`) between (from, from_version) and (to,
    /// to_version): times ISO-8601 text, None = latest; versions None = the
    /// handle's current version. `options` may give value columns and batch
    /// size.
    pub fn changes(
        &self,
        from: Option<&str>,
        from_version: Option<i64>,
        to: Option<&str>,
        to_version: Option<i64>,
        options: &ScanOptions,
    ) -> Result<ArrowArrayStreamReader> {
        let from = from.map(|s| cstring(s, "from")).transpose()?;
        let to = to.map(|s| cstring(s, "to")).transpose()?;
        let o = options.to_c()?;
        let mut stream = FFI_ArrowArrayStream::empty();
        let mut err = ptr::null_mut();
        // SAFETY: live handles, valid (or NULL) strings, a valid empty stream.
        let code = unsafe {
            bazof_table_changes(
                self.raw,
                from.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                from_version.unwrap_or(-1),
                to.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                to_version.unwrap_or(-1),
                o.0,
                &mut stream,
                &mut err,
            )
        };
        check(code, err)?;
        import(stream)
    }

    /// Plans a scan: (files read, upper bound on rows or None if unknown).
    pub fn scan_estimate(&self, options: &ScanOptions) -> Result<(i64, Option<i64>)> {
        let o = options.to_c()?;
        let (mut files, mut rows) = (0i64, 0i64);
        let mut err = ptr::null_mut();
        // SAFETY: live handles and valid out pointers.
        check(unsafe { bazof_table_scan_estimate(self.raw, o.0, &mut files, &mut rows, &mut err) }, err)?;
        Ok((files, if rows < 0 { None } else { Some(rows) }))
    }

    /// Appends every row of `input` as one commit; Some(new version), or
    /// None when the input had no rows.
    pub fn append(&self, input: Box<dyn RecordBatchReader + Send>) -> Result<Option<i64>> {
        let mut stream = FFI_ArrowArrayStream::new(input);
        let mut version = -1i64;
        let mut err = ptr::null_mut();
        // SAFETY: the C API consumes (releases) the stream.
        check(unsafe { bazof_table_append(self.raw, &mut stream, &mut version, &mut err) }, err)?;
        Ok((version >= 0).then_some(version))
    }

    /// Commits one event: key (column, value) pairs ("" column for a single
    /// key), event time and (column, value) pairs, as text.
    pub fn put(&self, key: &[(&str, &str)], event_time: &str, values: &[(&str, &str)]) -> Result<i64> {
        let kc = CStrings::new(&key.iter().map(|(c, _)| *c).collect::<Vec<_>>(), "key column")?;
        let kv = CStrings::new(&key.iter().map(|(_, v)| *v).collect::<Vec<_>>(), "key")?;
        let vc = CStrings::new(&values.iter().map(|(c, _)| *c).collect::<Vec<_>>(), "column")?;
        let vv = CStrings::new(&values.iter().map(|(_, v)| *v).collect::<Vec<_>>(), "value")?;
        let et = cstring(event_time, "event time")?;
        let mut version = -1i64;
        let mut err = ptr::null_mut();
        // SAFETY: valid strings and arrays of the given lengths.
        let code = unsafe {
            bazof_table_put(
                self.raw,
                kc.as_ptr(),
                kv.as_ptr(),
                kv.len(),
                et.as_ptr(),
                vc.as_ptr(),
                vv.as_ptr(),
                vv.len(),
                &mut version,
                &mut err,
            )
        };
        check(code, err)?;
        Ok(version)
    }

    /// Commits a tombstone for the key from `event_time` on.
    pub fn delete(&self, key: &[(&str, &str)], event_time: &str) -> Result<i64> {
        let kc = CStrings::new(&key.iter().map(|(c, _)| *c).collect::<Vec<_>>(), "key column")?;
        let kv = CStrings::new(&key.iter().map(|(_, v)| *v).collect::<Vec<_>>(), "key")?;
        let et = cstring(event_time, "event time")?;
        let mut version = -1i64;
        let mut err = ptr::null_mut();
        // SAFETY: valid strings and arrays of the given lengths.
        let code = unsafe {
            bazof_table_delete(self.raw, kc.as_ptr(), kv.as_ptr(), kv.len(), et.as_ptr(), &mut version, &mut err)
        };
        check(code, err)?;
        Ok(version)
    }
}

fn import(stream: FFI_ArrowArrayStream) -> Result<ArrowArrayStreamReader> {
    ArrowArrayStreamReader::try_new(stream).map_err(|e| BazofError::new(ErrorKind::Internal, e.to_string()))
}

/// The table's schema without bazof's field metadata, and the number of
/// key columns (fields before the event-time column).
pub fn split_roles(schema: &Schema) -> (SchemaRef, usize) {
    let keys = schema
        .fields()
        .iter()
        .take_while(|f| f.metadata().get("bazof.role").map(String::as_str) == Some("key"))
        .count();
    let fields: Vec<_> = schema.fields().iter().map(|f| f.as_ref().clone().with_metadata(Default::default())).collect();
    (Arc::new(Schema::new(fields)), keys)
}
