//! `BazofTableProvider`: a bazof table as of an event time and a version, as
//! a DataFusion table, with projection, key-filter and limit pushdown.
use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatchOptions;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, StatisticsArgs,
};

use crate::ffi::{self, BazofError, ScanOptions, Table};
use crate::filters::{key_text, KeyFilter, KeyPredicates};

/// Wraps a bazof error as a DataFusion error, keeping bazof's message (and
/// the error itself, for `downcast_ref::<BazofError>()`).
pub fn df_error(e: BazofError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Rows a scan reads per batch unless a limit asks for fewer.
const DEFAULT_BATCH_ROWS: usize = 64 * 1024;

/// A bazof table as a DataFusion table: the state of every key as of an
/// event time (default: latest) in a version (default: the version current
/// when the provider was made). Columns: key(s), event time, value columns.
#[derive(Debug, Clone)]
pub struct BazofTableProvider {
    table: Arc<Table>,
    as_of: Option<i64>,
    version: i64,
    schema: SchemaRef,
    key_columns: usize,
}

impl BazofTableProvider {
    /// The table `table` under `path` as it is now (latest event time,
    /// current version).
    pub fn current(path: &str, table: &str) -> Result<Self> {
        Self::open(path, table, None, None)
    }

    /// As of event time `event_time` (ISO-8601, e.g. "2019-01-17" or
    /// "2019-01-17T00:00:00Z"; inclusive) in the current version.
    pub fn as_of(path: &str, table: &str, event_time: &str) -> Result<Self> {
        let t = ffi::parse_event_time(event_time).map_err(df_error)?;
        Self::open(path, table, Some(t), None)
    }

    /// Latest event time as version `version` knew it (commit-time travel).
    pub fn at_version(path: &str, table: &str, version: i64) -> Result<Self> {
        Self::open(path, table, None, Some(version))
    }

    /// Bitemporal: as of `event_time` as version `version` knew it.
    pub fn as_of_at_version(path: &str, table: &str, event_time: &str, version: i64) -> Result<Self> {
        let t = ffi::parse_event_time(event_time).map_err(df_error)?;
        Self::open(path, table, Some(t), Some(version))
    }

    fn open(path: &str, table: &str, as_of: Option<i64>, version: Option<i64>) -> Result<Self> {
        let t = Table::open(path, table).map_err(df_error)?;
        Self::new(Arc::new(t), as_of, version)
    }

    /// Over an open table: `as_of` in microseconds since the epoch (UTC),
    /// None = latest; `version` None = the table's current version.
    pub fn new(table: Arc<Table>, as_of: Option<i64>, version: Option<i64>) -> Result<Self> {
        let version = version.unwrap_or_else(|| table.current_version());
        if version < 0 {
            return Err(df_error(BazofError::new(
                ffi::ErrorKind::InvalidArgument,
                format!("version {version} of table '{}/{}' is negative", table.location(), table.name()),
            )));
        }
        let (schema, key_columns) = ffi::split_roles(&table.schema(Some(version)).map_err(df_error)?);
        Ok(BazofTableProvider { table, as_of, version, schema, key_columns })
    }

    /// The version read.
    pub fn version(&self) -> i64 {
        self.version
    }
    /// The event time read (microseconds, UTC), None = latest.
    pub fn as_of_micros(&self) -> Option<i64> {
        self.as_of
    }
    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }

    fn predicates(&self) -> Option<KeyPredicates<'_>> {
        if self.key_columns != 1 {
            return None; // bazof filters single-column keys only
        }
        let f = self.schema.field(0);
        Some(KeyPredicates { key: f.name(), key_type: f.data_type() })
    }
}

#[async_trait]
impl TableProvider for BazofTableProvider {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(match self.predicates() {
            Some(p) => filters.iter().map(|e| p.support(e)).collect(),
            None => vec![TableProviderFilterPushDown::Unsupported; filters.len()],
        })
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projected = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        // Value columns the projection needs (keys and event time always come).
        let columns: Vec<String> = projected
            .fields()
            .iter()
            .filter(|f| self.schema.index_of(f.name()).map(|i| i > self.key_columns).unwrap_or(false))
            .map(|f| f.name().clone())
            .collect();
        let key_filter = self.predicates().map(|p| p.combine(filters)).unwrap_or_default();
        let options = ScanOptions {
            as_of_micros: self.as_of,
            version: Some(self.version),
            columns: Some(columns),
            key_in: key_filter.keys.iter().flatten().map(key_text).collect(),
            key_min: key_filter.min.as_ref().map(key_text),
            key_max: key_filter.max.as_ref().map(key_text),
            batch_size: Some(limit.unwrap_or(DEFAULT_BATCH_ROWS).clamp(1, DEFAULT_BATCH_ROWS) as i64),
        };
        // Planning errors (a version gone since, bad key text) surface now.
        let (files, max_rows) = self.table.scan_estimate(&options).map_err(df_error)?;
        Ok(Arc::new(BazofScanExec::new(self.table.clone(), options, key_filter, projected, limit, files, max_rows)))
    }

    fn statistics(&self) -> Option<Statistics> {
        let options = ScanOptions { as_of_micros: self.as_of, version: Some(self.version), ..Default::default() };
        let (_, rows) = self.table.scan_estimate(&options).ok()?;
        let mut stats = Statistics::new_unknown(&self.schema);
        stats.num_rows = rows.map_or(Precision::Absent, |r| Precision::Inexact(r as usize));
        Some(stats)
    }
}

/// The physical scan: one partition streaming bazof's sorted merge.
#[derive(Debug, Clone)]
pub struct BazofScanExec {
    table: Arc<Table>,
    options: ScanOptions,
    key_filter: KeyFilter,
    schema: SchemaRef,
    limit: Option<usize>,
    files: i64,
    max_rows: Option<i64>,
    properties: Arc<PlanProperties>,
}

impl BazofScanExec {
    fn new(
        table: Arc<Table>,
        options: ScanOptions,
        key_filter: KeyFilter,
        schema: SchemaRef,
        limit: Option<usize>,
        files: i64,
        max_rows: Option<i64>,
    ) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        BazofScanExec { table, options, key_filter, schema, limit, files, max_rows, properties }
    }

    /// The scan options sent to bazof (for tests and EXPLAIN).
    pub fn options(&self) -> &ScanOptions {
        &self.options
    }
}

impl DisplayAs for BazofScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "BazofScanExec: table={}/{}", self.table.location(), self.table.name())?;
        match self.options.as_of_micros {
            Some(t) => write!(f, ", as_of={}", format_micros(t))?,
            None => write!(f, ", as_of=latest")?,
        }
        if let Some(v) = self.options.version {
            write!(f, ", version={v}")?;
        }
        if let Some(c) = &self.options.columns {
            write!(f, ", value_columns=[{}]", c.join(", "))?;
        }
        if let Some(keys) = &self.key_filter.keys {
            let keys: Vec<String> = keys.iter().map(key_text).collect();
            write!(f, ", key_in=[{}]", keys.join(", "))?;
        }
        if self.key_filter.min.is_some() || self.key_filter.max.is_some() {
            let show = |v: &Option<datafusion::common::ScalarValue>| v.as_ref().map(key_text).unwrap_or_default();
            write!(f, ", key_range=[{}..{}]", show(&self.key_filter.min), show(&self.key_filter.max))?;
        }
        if let Some(l) = self.limit {
            write!(f, ", limit={l}")?;
        }
        write!(f, ", files={}", self.files)
    }
}

/// RFC 3339 UTC with microseconds, for display.
pub(crate) fn format_micros(t: i64) -> String {
    use arrow::temporal_conversions::timestamp_us_to_datetime;
    match timestamp_us_to_datetime(t) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => format!("{t}us"),
    }
}

impl ExecutionPlan for BazofScanExec {
    fn name(&self) -> &'static str {
        "BazofScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, _children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!("BazofScanExec has one partition, not {partition}")));
        }
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        if self.key_filter.is_empty() || self.limit == Some(0) {
            return Ok(builder.build());
        }
        let tx = builder.tx();
        let table = self.table.clone();
        let options = self.options.clone();
        let schema = self.schema.clone();
        let mut remaining = self.limit;
        // bazof's reader blocks on storage: read on a blocking thread.
        builder.spawn_blocking(move || {
            let reader = table.scan(&options).map_err(df_error)?;
            for batch in reader {
                let batch = batch.map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?;
                let mut out = project(&batch, &schema)?;
                if let Some(r) = remaining.as_mut() {
                    if out.num_rows() >= *r {
                        out = out.slice(0, *r);
                    }
                    *r -= out.num_rows();
                }
                if tx.blocking_send(Ok(out)).is_err() {
                    break; // the consumer is gone (e.g. a LIMIT above was met)
                }
                if remaining == Some(0) {
                    break; // dropping the reader stops bazof's merge
                }
            }
            Ok(())
        });
        Ok(builder.build())
    }

    fn statistics_from_inputs(&self, _inputs: &[Arc<Statistics>], _args: &StatisticsArgs) -> Result<Arc<Statistics>> {
        let mut stats = Statistics::new_unknown(&self.schema);
        let bound = match (self.max_rows, self.limit) {
            _ if self.key_filter.is_empty() => Some(0),
            (Some(r), Some(l)) => Some((r as usize).min(l)),
            (Some(r), None) => Some(r as usize),
            (None, l) => l,
        };
        stats.num_rows = bound.map_or(Precision::Absent, Precision::Inexact);
        Ok(Arc::new(stats))
    }

    fn supports_limit_pushdown(&self) -> bool {
        true
    }

    fn with_fetch(&self, limit: Option<usize>) -> Option<Arc<dyn ExecutionPlan>> {
        let mut exec = self.clone();
        exec.limit = match (self.limit, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(l) = exec.limit {
            exec.options.batch_size = Some(l.clamp(1, DEFAULT_BATCH_ROWS) as i64);
        }
        Some(Arc::new(exec))
    }

    fn fetch(&self) -> Option<usize> {
        self.limit
    }
}

/// Picks the projected columns (by name) out of a bazof batch, typed by the
/// provider's schema (which has no bazof field metadata).
pub(crate) fn project(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            batch
                .column_by_name(f.name())
                .cloned()
                .ok_or_else(|| DataFusionError::Internal(format!("bazof scan returned no column '{}'", f.name())))
        })
        .collect::<Result<Vec<_>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(schema.clone(), columns, &options)?)
}
