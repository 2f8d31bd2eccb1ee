//! Table functions over bazof's timeline views and the as-of join, for SQL
//! run through [`crate::BazofContext::sql`]:
//!
//! ```sql
//! SELECT * FROM bazof_intervals('t')                                   -- SCD2 validity intervals
//! SELECT * FROM bazof_intervals('t', '2024-01-01', '2024-02-01')      -- overlapping [start, end)
//! SELECT * FROM bazof_intervals('t', version => 3, coalesce => true, columns => 'price')
//! SELECT * FROM bazof_changes('t', '2024-01-01', '2024-02-01')        -- changes between two times
//! SELECT * FROM bazof_changes('t', from_version => 3, to_version => 4) -- what version 4 changed
//! SELECT * FROM bazof_join_asof('t', 'spine', on => 'ts')              -- point-in-time join
//! SELECT * FROM bazof_join_asof('t', 'spine.parquet', on => 'ts', by => 'symbol', version => 3)
//! SELECT * FROM bazof_join_asof('t', 'SELECT symbol, ts FROM s WHERE ...', on => 'ts')
//! ```
//!
//! The first argument names a registered bazof table (or is a table's
//! directory). Arguments are positional in the order shown or named (`=>`).
//! Times are ISO-8601 text as in `AT (...)`; NULL = unbounded (intervals) or
//! latest (changes). The spine of the join is a registered table (any
//! DataFusion table), a Parquet/CSV/JSON file, or a query (text starting with
//! SELECT or WITH); it is read whole into memory at planning (as the C API's
//! join reads it) and joined by bazof in one streaming pass (docs/spec.md,
//! "As-of join"). Every view is computed by the C API (`bazof_table_intervals`,
//! `bazof_table_changes`, `bazof_table_join_asof`); DataFusion applies the
//! rest of the query (filters, projections, joins) to its rows.
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use arrow::ffi_stream::ArrowArrayStreamReader;
use arrow::record_batch::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, TableFunctionArgs, UnaryOperator, Value,
};

use crate::ffi::{self, BazofError, ErrorKind, ScanOptions, Table};
use crate::provider::df_error;

/// The table functions this module provides (lower-case SQL names).
pub const FUNCTIONS: [&str; 3] = ["bazof_intervals", "bazof_changes", "bazof_join_asof"];

fn invalid(message: String) -> DataFusionError {
    df_error(BazofError::new(ErrorKind::InvalidArgument, message))
}

/// A literal argument of a table function.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
}

/// A call of one of [`FUNCTIONS`], its arguments by name.
#[derive(Debug, Clone)]
pub struct ViewCall {
    pub function: String,
    pub args: BTreeMap<String, Arg>,
}

/// Positional parameter names per function, then the named-only ones.
fn parameters(function: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match function {
        "bazof_intervals" => (&["table", "start", "end"], &["version", "columns", "coalesce", "keys"]),
        "bazof_changes" => (&["table", "from", "to"], &["from_version", "to_version", "columns"]),
        _ => (&["table", "spine", "on", "by"], &["version", "columns"]),
    }
}

fn literal(e: &SqlExpr, function: &str, param: &str) -> Result<Arg> {
    let bad = || invalid(format!("{function}: argument {param} must be a literal, not {e}"));
    match e {
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Ok(Arg::Text(s.clone())),
            Value::Number(n, _) => n.parse().map(Arg::Int).map_err(|_| bad()),
            Value::Boolean(b) => Ok(Arg::Bool(*b)),
            Value::Null => Ok(Arg::Null),
            _ => Err(bad()),
        },
        SqlExpr::TypedString(ts) => match &ts.value.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Ok(Arg::Text(s.clone())),
            _ => Err(bad()),
        },
        // A bare name (a table or column) reads as its text.
        SqlExpr::Identifier(ident) => Ok(Arg::Text(ident.value.clone())),
        SqlExpr::UnaryOp { op: UnaryOperator::Minus, expr } => match literal(expr, function, param)? {
            Arg::Int(n) => Ok(Arg::Int(-n)),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

impl ViewCall {
    /// Reads the arguments of `function(args)`.
    pub fn parse(function: &str, args: &TableFunctionArgs) -> Result<ViewCall> {
        let (positional, named_only) = parameters(function);
        let mut out = BTreeMap::new();
        for (i, arg) in args.args.iter().enumerate() {
            let (param, expr) = match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => {
                    let Some(p) = positional.get(i) else {
                        return Err(invalid(format!(
                            "{function}: too many positional arguments ({} at most: {}); name the others (e.g. version => 3)",
                            positional.len(),
                            positional.join(", ")
                        )));
                    };
                    (p.to_string(), e)
                }
                FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), .. } => (name.value.to_lowercase(), e),
                other => return Err(invalid(format!("{function}: unexpected argument {other}"))),
            };
            if !positional.contains(&param.as_str()) && !named_only.contains(&param.as_str()) {
                let all: Vec<&str> = positional.iter().chain(named_only.iter()).copied().collect();
                return Err(invalid(format!("{function}: unknown argument '{param}'; expected {}", all.join(", "))));
            }
            let value = literal(expr, function, &param)?;
            if out.insert(param.clone(), value).is_some() {
                return Err(invalid(format!("{function}: argument {param} is given twice")));
            }
        }
        if !matches!(out.get("table"), Some(Arg::Text(_))) {
            return Err(invalid(format!(
                "{function}: the first argument names a bazof table, e.g. {function}('t', ...)"
            )));
        }
        if function == "bazof_join_asof" {
            for p in ["spine", "on"] {
                if !matches!(out.get(p), Some(Arg::Text(_))) {
                    return Err(invalid(format!(
                        "bazof_join_asof: argument {p} is required (text), e.g. bazof_join_asof('t', 'spine', on => 'ts')"
                    )));
                }
            }
        }
        Ok(ViewCall { function: function.to_string(), args: out })
    }

    pub fn text(&self, param: &str) -> Result<Option<String>> {
        match self.args.get(param) {
            None | Some(Arg::Null) => Ok(None),
            Some(Arg::Text(s)) => Ok(Some(s.clone())),
            Some(other) => Err(invalid(format!("{}: argument {param} must be text, not {other:?}", self.function))),
        }
    }

    fn int(&self, param: &str) -> Result<Option<i64>> {
        match self.args.get(param) {
            None | Some(Arg::Null) => Ok(None),
            Some(Arg::Int(n)) if *n >= 0 => Ok(Some(*n)),
            Some(other) => Err(invalid(format!(
                "{}: argument {param} must be a non-negative integer, not {other:?}",
                self.function
            ))),
        }
    }

    fn flag(&self, param: &str) -> Result<bool> {
        match self.args.get(param) {
            None | Some(Arg::Null) => Ok(false),
            Some(Arg::Bool(b)) => Ok(*b),
            Some(other) => {
                Err(invalid(format!("{}: argument {param} must be true or false, not {other:?}", self.function)))
            }
        }
    }

    fn list(&self, param: &str) -> Result<Option<Vec<String>>> {
        Ok(self.text(param)?.map(|s| s.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect()))
    }

    /// The scan options of the call (version, columns, keys).
    fn options(&self) -> Result<ScanOptions> {
        Ok(ScanOptions {
            version: self.int("version")?,
            columns: self.list("columns")?,
            key_in: self.list("keys")?.unwrap_or_default(),
            ..Default::default()
        })
    }

    /// The provider computing this call on `table`; `spine` (the join's
    /// spine, already read) is required for bazof_join_asof.
    pub fn provider(&self, table: Arc<Table>, spine: Option<(SchemaRef, Vec<RecordBatch>)>) -> Result<ViewProvider> {
        let options = self.options()?;
        let label = format!("{}(table={}/{})", self.function, table.location(), table.name());
        let open: Opener = match self.function.as_str() {
            "bazof_intervals" => {
                let (start, end, coalesce) = (self.text("start")?, self.text("end")?, self.flag("coalesce")?);
                Arc::new(move || table.intervals(start.as_deref(), end.as_deref(), coalesce, &options))
            }
            "bazof_changes" => {
                let (from, to) = (self.text("from")?, self.text("to")?);
                let (from_version, to_version) = (self.int("from_version")?, self.int("to_version")?);
                Arc::new(move || table.changes(from.as_deref(), from_version, to.as_deref(), to_version, &options))
            }
            _ => {
                let on = self.text("on")?.unwrap();
                let by = self.list("by")?.unwrap_or_default();
                let Some((spine_schema, batches)) = spine else {
                    return Err(DataFusionError::Internal("bazof_join_asof without its spine".into()));
                };
                // Planning asks for the schema only: an empty spine gives it.
                let plan_only = std::sync::atomic::AtomicBool::new(true);
                Arc::new(move || {
                    let rows = if plan_only.swap(false, std::sync::atomic::Ordering::Relaxed) {
                        Vec::new()
                    } else {
                        batches.clone()
                    };
                    let reader = RecordBatchIterator::new(rows.into_iter().map(Ok), spine_schema.clone());
                    table.join_asof(Box::new(reader), &on, &by, &options)
                })
            }
        };
        ViewProvider::new(label, open)
    }
}

type Opener = Arc<dyn Fn() -> ffi::Result<ArrowArrayStreamReader> + Send + Sync>;

/// The rows of one bazof view (intervals, changes or an as-of join) as a
/// DataFusion table: one partition streaming the C API's Arrow stream.
#[derive(Clone)]
pub struct ViewProvider {
    label: String,
    schema: SchemaRef,
    open: Opener,
}

impl fmt::Debug for ViewProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ViewProvider").field("label", &self.label).field("schema", &self.schema).finish()
    }
}

impl ViewProvider {
    /// Opens the view once, for its schema (argument errors surface here).
    fn new(label: String, open: Opener) -> Result<Self> {
        let reader = open().map_err(df_error)?;
        let (schema, _) = ffi::split_roles(&reader.schema());
        drop(reader);
        // Field metadata off, and every field nullable: bazof's schema marks
        // keys non-nullable, which a join's output need not honour.
        let fields: Vec<_> = schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect();
        Ok(ViewProvider { label, schema: Arc::new(Schema::new(fields)), open })
    }
}

#[async_trait]
impl TableProvider for ViewProvider {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Arc::new(ViewExec { label: self.label.clone(), schema, open: self.open.clone(), properties }))
    }
}

/// The physical plan of a [`ViewProvider`].
#[derive(Clone)]
pub struct ViewExec {
    label: String,
    schema: SchemaRef,
    open: Opener,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for ViewExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl DisplayAs for ViewExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "BazofViewExec: {}", self.label)
    }
}

impl ExecutionPlan for ViewExec {
    fn name(&self) -> &'static str {
        "BazofViewExec"
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
            return Err(DataFusionError::Internal(format!("BazofViewExec has one partition, not {partition}")));
        }
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        let tx = builder.tx();
        let open = self.open.clone();
        let schema = self.schema.clone();
        builder.spawn_blocking(move || {
            let reader = open().map_err(df_error)?;
            for batch in reader {
                let batch = batch.map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?;
                if tx.blocking_send(Ok(crate::provider::project(&batch, &schema)?)).is_err() {
                    break; // the consumer is gone
                }
            }
            Ok(())
        });
        Ok(builder.build())
    }
}
