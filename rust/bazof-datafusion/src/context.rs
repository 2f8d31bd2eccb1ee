//! `BazofContext`: a DataFusion `SessionContext` whose SQL understands time
//! travel on bazof tables.
//!
//! ```sql
//! SELECT * FROM t AT ('2019-01-17T00:00:00Z')             -- event time
//! SELECT * FROM t AT (VERSION => 3)                       -- a version
//! SELECT * FROM t AT (TIMESTAMP => '2019-01-17', VERSION => 3)  -- both (bitemporal)
//! SELECT * FROM t AT (SYSTEM_TIME => '2024-05-01T12:00:00Z')    -- commit time
//! SELECT * FROM t FOR SYSTEM_TIME AS OF '2024-05-01T12:00:00Z'  -- commit time (SQL:2011)
//! SELECT * FROM t VERSION AS OF 3                          -- a version
//! SELECT * FROM t TIMESTAMP AS OF '2024-05-01T12:00:00Z'   -- commit time
//! ```
//!
//! How: the statement is parsed with [`BazofDialect`] (DataFusion's generic
//! dialect plus table versioning clauses); every reference to a registered
//! bazof table is replaced by a provider opened for that query at the time
//! asked for (registered under a generated name, aliased back to the name
//! written, and removed once the query is planned); then DataFusion plans
//! the statement as usual. So one query may read several tables, or one
//! table at several times (a self-join of now against then), and a query
//! without time travel reads the version current when it is planned.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use datafusion::common::{plan_err, DataFusionError, Result, TableReference};
use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{CopyToSource, DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, Query,
    Statement as SqlStatement, TableAlias, TableFactor, TableVersion, Value, Visit, VisitMut, Visitor, VisitorMut,
};

use crate::dialect::BazofDialect;
use crate::ffi::{self, BazofError, ErrorKind, Table};
use crate::provider::{df_error, BazofTableProvider};
use crate::views::{ViewCall, ViewProvider};
use arrow::record_batch::RecordBatch;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions};

/// Where a registered table lives.
#[derive(Debug, Clone)]
struct Registered {
    path: String,
    table: String,
}

/// A SessionContext plus the bazof tables registered in it.
pub struct BazofContext {
    ctx: SessionContext,
    tables: RwLock<BTreeMap<String, Registered>>,
    next_id: AtomicU64,
}

impl Default for BazofContext {
    fn default() -> Self {
        Self::new()
    }
}

fn invalid(message: String) -> DataFusionError {
    df_error(BazofError::new(ErrorKind::InvalidArgument, message))
}

/// An identifier as DataFusion resolves it: unquoted ones are lower-cased.
fn normalize(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

impl BazofContext {
    pub fn new() -> Self {
        Self::with_context(SessionContext::new())
    }

    /// Wraps an existing context (its configuration, functions and other
    /// tables stay as they are).
    pub fn with_context(ctx: SessionContext) -> Self {
        BazofContext { ctx, tables: RwLock::new(BTreeMap::new()), next_id: AtomicU64::new(1) }
    }

    /// The wrapped context (e.g. for the DataFrame API; its plain table names
    /// read the version current at registration).
    pub fn session(&self) -> &SessionContext {
        &self.ctx
    }

    /// Registers bazof table `table` under `path` as `name` (resolved like a
    /// SQL identifier: unquoted names are lower-case). Fails if the table
    /// cannot be opened.
    pub fn register(&self, name: &str, path: &str, table: &str) -> Result<()> {
        let provider = BazofTableProvider::current(path, table)?;
        let name = name.to_string();
        self.ctx.register_table(TableReference::bare(name.clone()), Arc::new(provider))?;
        self.tables.write().unwrap().insert(name, Registered { path: path.to_string(), table: table.to_string() });
        Ok(())
    }

    /// Registers every bazof table directly under local directory `path` (a
    /// directory holding `version.txt` or `s<N>.json`) under its directory
    /// name. Returns the names, sorted.
    pub fn register_dir(&self, path: &str) -> Result<Vec<String>> {
        let entries = std::fs::read_dir(path)
            .map_err(|e| df_error(BazofError::new(ErrorKind::NotFound, format!("path '{path}': {e}"))))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| df_error(BazofError::new(ErrorKind::IoError, format!("path '{path}': {e}"))))?;
            let dir = entry.path();
            if !dir.is_dir() || !is_table_dir(&dir) {
                continue;
            }
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        names.sort();
        for name in &names {
            self.register(name, path, name)?;
        }
        Ok(names)
    }

    /// Names of the registered bazof tables.
    pub fn table_names(&self) -> Vec<String> {
        self.tables.read().unwrap().keys().cloned().collect()
    }

    /// Plans one SQL statement, with time travel on bazof tables, and returns
    /// it as a DataFrame (run it with `collect()` or `show()`).
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        let dialect = BazofDialect;
        let sql = copy_format_clause(sql);
        let mut statements = DFParserBuilder::new(&*sql).with_dialect(&dialect).build()?.parse_statements()?;
        if statements.len() != 1 {
            return plan_err!("expected one SQL statement, found {}", statements.len());
        }
        let mut statement = statements.pop_front().unwrap();
        if let DFStatement::Statement(s) = &statement {
            if matches!(s.as_ref(), SqlStatement::ShowTables { .. }) {
                return self.show_tables();
            }
        }
        if let DFStatement::CopyTo(copy) = &statement {
            if copy_is_parquet(copy) {
                return self.copy_to_parquet(copy).await;
            }
        }
        let mut scope = QueryScope { ctx: &self.ctx, generated: Vec::new(), views: Vec::new() };
        self.rewrite(&mut statement, &mut scope)?;
        for (name, call) in std::mem::take(&mut scope.views) {
            let provider = self.view_provider(&call).await?;
            self.ctx.register_table(TableReference::bare(name.clone()), Arc::new(provider))?;
            scope.generated.push(name);
        }
        let plan = self.ctx.state().statement_to_plan(statement).await?;
        drop(scope); // the plan holds its providers; the names can go
        self.ctx.execute_logical_plan(plan).await
    }

    /// `SHOW TABLES`: the registered bazof tables (table_name, location,
    /// table, version = the current one).
    fn show_tables(&self) -> Result<DataFrame> {
        use arrow::array::{Int64Array, StringArray};
        use arrow::datatypes::{DataType, Field, Schema};
        let tables = self.tables.read().unwrap().clone();
        let mut versions = Vec::new();
        for r in tables.values() {
            versions.push(Table::open(&r.path, &r.table).map_err(df_error)?.current_version());
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("table_name", DataType::Utf8, false),
            Field::new("location", DataType::Utf8, false),
            Field::new("table", DataType::Utf8, false),
            Field::new("version", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(tables.keys())),
                Arc::new(StringArray::from_iter_values(tables.values().map(|r| r.path.as_str()))),
                Arc::new(StringArray::from_iter_values(tables.values().map(|r| r.table.as_str()))),
                Arc::new(Int64Array::from(versions)),
            ],
        )?;
        self.ctx.read_batch(batch)
    }

    /// `COPY (query) TO 'file' (FORMAT parquet)`: run when planned; the file
    /// is written by bazof's Parquet writer (`bazof_write_parquet`), so this
    /// crate builds without DataFusion's Parquet support. Returns `count`.
    async fn copy_to_parquet(&self, copy: &datafusion::sql::parser::CopyToStatement) -> Result<DataFrame> {
        use arrow::array::UInt64Array;
        use arrow::datatypes::{DataType, Field, Schema};
        if !copy.partitioned_by.is_empty() {
            return Err(invalid("COPY ... (FORMAT parquet): PARTITIONED BY is not supported".into()));
        }
        if let Some((k, _)) = copy.options.iter().find(|(k, _)| !k.eq_ignore_ascii_case("format")) {
            return Err(invalid(format!("COPY ... (FORMAT parquet): option '{k}' is not supported")));
        }
        let source = match &copy.source {
            CopyToSource::Query(q) => q.to_string(),
            CopyToSource::Relation(name) => format!("SELECT * FROM {name}"),
        };
        let df = Box::pin(self.sql(&source)).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let reader = arrow::record_batch::RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
        let rows = ffi::write_parquet(Box::new(reader), &copy.target).map_err(df_error)?;
        let schema = Arc::new(Schema::new(vec![Field::new("count", DataType::UInt64, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(UInt64Array::from(vec![rows as u64]))])?;
        self.ctx.read_batch(batch)
    }

    /// The provider of a table-function call (crate::views): opens the table,
    /// reads the join's spine, and asks bazof for the view's schema.
    async fn view_provider(&self, call: &ViewCall) -> Result<ViewProvider> {
        let name = call.text("table")?.unwrap();
        let registered = {
            let tables = self.tables.read().unwrap();
            tables.get(&name).or_else(|| tables.get(&name.to_lowercase())).cloned()
        };
        let table = match registered {
            Some(r) => Table::open(&r.path, &r.table),
            None => {
                let path = std::path::Path::new(&name);
                match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
                    (Some(parent), Some(base)) if path.is_dir() && is_table_dir(path) => {
                        let parent = if parent.as_os_str().is_empty() { "." } else { parent.to_str().unwrap_or(".") };
                        Table::open(parent, base)
                    }
                    _ => {
                        return Err(invalid(format!(
                            "{}: '{name}' is neither a registered bazof table (registered: {}) nor a table directory",
                            call.function,
                            self.table_names().join(", ")
                        )))
                    }
                }
            }
        }
        .map_err(df_error)?;
        let spine = match call.text("spine")? {
            Some(spine) => Some(self.spine(&call.function, &spine).await?),
            None => None,
        };
        call.provider(Arc::new(table), spine)
    }

    /// The rows of a join's spine: a query, a table of the context, or a CSV
    /// or JSON (newline-delimited) file.
    async fn spine(&self, function: &str, spine: &str) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let head = spine.trim_start().get(..6).unwrap_or("").to_ascii_lowercase();
        let df = if head.starts_with("select") || head.starts_with("with") {
            Box::pin(self.sql(spine)).await?
        } else if self.ctx.table_exist(spine)? {
            self.ctx.table(spine).await?
        } else if std::path::Path::new(spine).is_file() {
            let lower = spine.to_ascii_lowercase();
            if lower.ends_with(".csv") {
                self.ctx.read_csv(spine, CsvReadOptions::new()).await?
            } else if lower.ends_with(".json") || lower.ends_with(".ndjson") {
                self.ctx
                    .read_json(
                        spine,
                        JsonReadOptions::default().file_extension(if lower.ends_with(".json") {
                            ".json"
                        } else {
                            ".ndjson"
                        }),
                    )
                    .await?
            } else {
                return Err(invalid(format!(
                    "{function}: spine file '{spine}': expected a .csv or .json (newline-delimited) file; read Parquet through a registered table or a query"
                )));
            }
        } else {
            return Err(invalid(format!(
                "{function}: spine '{spine}' is neither a query (SELECT ...), a table of the context, nor a file"
            )));
        };
        let schema = Arc::new(df.schema().as_arrow().clone());
        Ok((schema, df.collect().await?))
    }

    fn rewrite(&self, statement: &mut DFStatement, scope: &mut QueryScope<'_>) -> Result<()> {
        match statement {
            DFStatement::Statement(s) => self.rewrite_ast(s.as_mut(), scope),
            DFStatement::Explain(e) => self.rewrite(e.statement.as_mut(), scope),
            DFStatement::CopyTo(c) => match &mut c.source {
                CopyToSource::Query(q) => self.rewrite_ast(q.as_mut(), scope),
                CopyToSource::Relation(_) => Ok(()),
            },
            DFStatement::CreateExternalTable(_) | DFStatement::Reset(_) => Ok(()),
        }
    }

    fn rewrite_ast<T: Visit + VisitMut>(&self, node: &mut T, scope: &mut QueryScope<'_>) -> Result<()> {
        let mut ctes = CteNames(HashSet::new());
        let _ = Visit::visit(&*node, &mut ctes);
        let mut rewriter = Rewriter {
            context: self,
            tables: self.tables.read().unwrap().clone(),
            ctes: ctes.0,
            opened: HashMap::new(),
            scope,
        };
        match VisitMut::visit(node, &mut rewriter) {
            ControlFlow::Break(e) => Err(e),
            ControlFlow::Continue(()) => Ok(()),
        }
    }
}

/// DuckDB's `COPY ... TO 'f' (FORMAT x)` as DataFusion's `... STORED AS x`.
fn copy_format_clause(sql: &str) -> std::borrow::Cow<'_, str> {
    let t = sql.trim().trim_end_matches(';').trim_end();
    let is_copy = t.get(..4).map_or(false, |head| head.eq_ignore_ascii_case("copy"));
    if is_copy && t.ends_with(')') {
        if let Some(open) = t.rfind('(') {
            let words: Vec<&str> = t[open + 1..t.len() - 1].split_whitespace().collect();
            if let [kw, format] = words.as_slice() {
                if kw.eq_ignore_ascii_case("format") {
                    return format!("{} STORED AS {format}", &t[..open]).into();
                }
            }
        }
    }
    sql.into()
}

/// Whether a COPY writes Parquet: STORED AS PARQUET, (FORMAT parquet), or
/// no format and a target ending in .parquet.
fn copy_is_parquet(copy: &datafusion::sql::parser::CopyToStatement) -> bool {
    let format = copy.stored_as.clone().or_else(|| {
        copy.options.iter().find(|(k, _)| k.eq_ignore_ascii_case("format")).map(|(_, v)| match v {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        })
    });
    match format {
        Some(f) => f.eq_ignore_ascii_case("parquet"),
        None => copy.target.to_ascii_lowercase().ends_with(".parquet"),
    }
}

fn is_table_dir(dir: &std::path::Path) -> bool {
    if dir.join("version.txt").is_file() {
        return true;
    }
    std::fs::read_dir(dir).map_or(false, |entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix('s')
                .and_then(|r| r.strip_suffix(".json"))
                .map_or(false, |n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// Providers registered for one query; removed when it is planned (or fails).
struct QueryScope<'a> {
    ctx: &'a SessionContext,
    generated: Vec<String>,
    /// Table-function calls found by the rewrite, under their generated names.
    views: Vec<(String, ViewCall)>,
}

impl Drop for QueryScope<'_> {
    fn drop(&mut self) {
        for name in &self.generated {
            let _ = self.ctx.deregister_table(TableReference::bare(name.clone()));
        }
    }
}

/// Collects the names of common table expressions: a reference to one of
/// those is not a reference to a bazof table.
struct CteNames(HashSet<String>);

impl Visitor for CteNames {
    type Break = ();
    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.0.insert(normalize(&cte.alias.name));
            }
        }
        ControlFlow::Continue(())
    }
}

/// What a table reference asks for.
#[derive(Debug, Default, PartialEq)]
struct TimeTravel {
    event_time: Option<i64>,
    version: Option<i64>,
    /// Wall-clock commit time, resolved to the last version committed by then.
    system_time: Option<(i64, String)>,
}

struct Rewriter<'a, 'b> {
    context: &'a BazofContext,
    tables: BTreeMap<String, Registered>,
    ctes: HashSet<String>,
    /// Tables opened for this query: every reference to a table reads the
    /// same "current" version.
    opened: HashMap<String, Arc<Table>>,
    scope: &'a mut QueryScope<'b>,
}

impl VisitorMut for Rewriter<'_, '_> {
    type Break = DataFusionError;

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<DataFusionError> {
        match self.rewrite_factor(factor) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

impl Rewriter<'_, '_> {
    fn rewrite_factor(&mut self, factor: &mut TableFactor) -> Result<()> {
        let TableFactor::Table { name, alias, version, args, .. } = factor else {
            return Ok(());
        };
        let written = name.to_string();
        // Only single-part names can be registered bazof tables.
        let ident = match name.0.as_slice() {
            [part] => part.as_ident().cloned(),
            _ => None,
        };
        let key = ident.as_ref().map(normalize);
        if let (Some(function), Some(call_args)) = (key.as_deref(), args.as_ref()) {
            if crate::views::FUNCTIONS.contains(&function) {
                let call = ViewCall::parse(function, call_args)?;
                let id = self.context.next_id.fetch_add(1, Ordering::Relaxed);
                let shown = format!("{function}#{id}");
                self.scope.views.push((shown.clone(), call));
                *name = ObjectName::from(vec![Ident::with_quote('"', shown)]);
                *args = None;
                if alias.is_none() {
                    *alias = Some(TableAlias {
                        explicit: true,
                        name: Ident::new(function.to_string()),
                        columns: vec![],
                        at: None,
                    });
                }
                return Ok(());
            }
        }
        let bazof = key
            .as_ref()
            .filter(|k| args.is_none() && !self.ctes.contains(*k))
            .and_then(|k| self.tables.get(k).cloned());
        let Some(registered) = bazof else {
            if version.is_some() {
                return Err(invalid(format!(
                    "time travel on '{written}': it is not a bazof table (registered: {})",
                    self.tables.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            return Ok(());
        };
        let key = key.unwrap();
        let ident = ident.unwrap();

        let travel = match version.take() {
            Some(v) => parse_time_travel(&v, &written)?,
            None => TimeTravel::default(),
        };
        let table = match self.opened.get(&key) {
            Some(t) => t.clone(),
            None => {
                let t = Arc::new(Table::open(&registered.path, &registered.table).map_err(df_error)?);
                self.opened.insert(key.clone(), t.clone());
                t
            }
        };
        let version = match (&travel.system_time, travel.version) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!("time travel on '{written}': give a version or a commit time, not both")))
            }
            (Some((t, text)), None) => Some(version_at_commit_time(&table, &written, *t, text)?),
            (None, v) => v,
        };
        let provider = BazofTableProvider::new(table, travel.event_time, version)?;

        let id = self.context.next_id.fetch_add(1, Ordering::Relaxed);
        let shown = match travel.event_time {
            Some(t) => format!("{key}@v{}@{}#{id}", provider.version(), crate::provider::format_micros(t)),
            None => format!("{key}@v{}#{id}", provider.version()),
        };
        self.scope.ctx.register_table(TableReference::bare(shown.clone()), Arc::new(provider))?;
        self.scope.generated.push(shown.clone());
        *name = ObjectName::from(vec![Ident::with_quote('"', shown)]);
        if alias.is_none() {
            *alias = Some(TableAlias { explicit: true, name: ident, columns: vec![], at: None });
        }
        Ok(())
    }
}

fn literal_text(e: &SqlExpr) -> Option<String> {
    let value = match e {
        SqlExpr::Value(v) => &v.value,
        SqlExpr::TypedString(ts) => &ts.value.value,
        _ => return None,
    };
    match value {
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
        _ => None,
    }
}

fn literal_int(e: &SqlExpr) -> Option<i64> {
    match e {
        SqlExpr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn event_time(e: &SqlExpr, table: &str, what: &str) -> Result<i64> {
    let Some(text) = literal_text(e) else {
        return Err(invalid(format!("time travel on '{table}': {what} must be a string literal, not {e}")));
    };
    ffi::parse_event_time(&text).map_err(|err| invalid(format!("time travel on '{table}': {what}: {}", err.message)))
}

fn version_number(e: &SqlExpr, table: &str) -> Result<i64> {
    match literal_int(e) {
        Some(v) if v >= 0 => Ok(v),
        _ => Err(invalid(format!("time travel on '{table}': VERSION must be a non-negative integer, not {e}"))),
    }
}

fn system_time(e: &SqlExpr, table: &str, what: &str) -> Result<(i64, String)> {
    let t = event_time(e, table, what)?;
    Ok((t, literal_text(e).unwrap()))
}

/// Reads the time-travel clause of a table reference.
fn parse_time_travel(v: &TableVersion, table: &str) -> Result<TimeTravel> {
    let mut travel = TimeTravel::default();
    match v {
        TableVersion::ForSystemTimeAsOf(e) => {
            travel.system_time = Some(system_time(e, table, "FOR SYSTEM_TIME AS OF")?)
        }
        TableVersion::TimestampAsOf(e) => travel.system_time = Some(system_time(e, table, "TIMESTAMP AS OF")?),
        TableVersion::VersionAsOf(e) => travel.version = Some(version_number(e, table)?),
        TableVersion::Function(SqlExpr::Function(f)) => {
            let fname = f.name.to_string();
            if !fname.eq_ignore_ascii_case("AT") {
                return Err(invalid(format!("time travel on '{table}': {fname} (...) is not supported; use AT (...)")));
            }
            let FunctionArguments::List(list) = &f.args else {
                return Err(invalid(format!("time travel on '{table}': AT needs arguments, e.g. AT ('2019-01-17')")));
            };
            if list.args.is_empty() {
                return Err(invalid(format!("time travel on '{table}': AT needs arguments, e.g. AT ('2019-01-17')")));
            }
            for (i, arg) in list.args.iter().enumerate() {
                match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if i == 0 => {
                        travel.event_time = Some(event_time(e, table, "AT")?)
                    }
                    FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), .. } => {
                        let n = name.value.to_ascii_uppercase();
                        let slot_taken = match n.as_str() {
                            "TIMESTAMP" | "EVENT_TIME" => {
                                travel.event_time.replace(event_time(e, table, &n)?).is_some()
                            }
                            "VERSION" => travel.version.replace(version_number(e, table)?).is_some(),
                            "SYSTEM_TIME" => travel.system_time.replace(system_time(e, table, &n)?).is_some(),
                            _ => {
                                return Err(invalid(format!(
                                    "time travel on '{table}': unknown AT argument {}; expected TIMESTAMP, EVENT_TIME, VERSION or SYSTEM_TIME",
                                    name.value
                                )))
                            }
                        };
                        if slot_taken {
                            return Err(invalid(format!("time travel on '{table}': {n} is given twice")));
                        }
                    }
                    other => {
                        return Err(invalid(format!(
                            "time travel on '{table}': unexpected AT argument {other}; expected AT ('<event time>') or AT (TIMESTAMP => '...', VERSION => n, SYSTEM_TIME => '...')"
                        )))
                    }
                }
            }
        }
        other => return Err(invalid(format!("time travel on '{table}': {other} is not supported"))),
    }
    Ok(travel)
}

/// SQL:2011 system time: the last version committed at or before `t`
/// (commit times are the wall clock recorded in each snapshot).
fn version_at_commit_time(table: &Table, name: &str, t: i64, shown: &str) -> Result<i64> {
    let log = table.log().map_err(df_error)?;
    let mut first: Option<&str> = None;
    let mut found = None;
    for entry in &log {
        let Some(ts) = &entry.timestamp else { continue };
        first.get_or_insert(ts);
        let committed = ffi::parse_event_time(ts).map_err(df_error)?;
        if committed <= t {
            found = Some(entry.version);
        }
    }
    match (found, first) {
        (Some(v), _) => Ok(v),
        (None, None) => Err(invalid(format!(
            "time travel on '{name}': the table records no commit times (written by bazof 0.1 / azof 0.2); name a version with AT (VERSION => n)"
        ))),
        (None, Some(first)) => Err(df_error(BazofError::new(
            ErrorKind::NotFound,
            format!("time travel on '{name}': no version was committed at or before {shown} (the first commit is at {first})"),
        ))),
    }
}
