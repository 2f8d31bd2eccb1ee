//! bazof-sql --path DIR [--format table|csv|json] "SQL"
//!
//! Registers every bazof table directly under DIR (by its directory name)
//! and runs one SQL statement, with AT (...) / FOR SYSTEM_TIME AS OF time
//! travel, SHOW TABLES, COPY (query) TO 'file' (FORMAT parquet|csv|json) and
//! the table functions bazof_intervals, bazof_changes and bazof_join_asof.
//! Output: a text table (default), CSV with a header, or JSON (one object
//! per line, as `bazof scan --format json`). Errors are one line on stderr,
//! `bazof-sql: error: <message>`, exit code 1.
use std::process::ExitCode;
use std::sync::Arc;

use arrow::csv::WriterBuilder;
use arrow::json::LineDelimitedWriter;
use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use bazof_datafusion::BazofContext;
use clap::{Arg, Command};
use datafusion::error::{DataFusionError, Result};

fn cli() -> Command {
    Command::new("bazof-sql")
        .about("Run SQL (DataFusion) on the bazof tables under a directory, with AT (...) time travel")
        .after_help(
            "Time travel:\n  FROM t AT ('2019-01-17')                     event time\n  FROM t AT (VERSION => 3)                     a version\n  FROM t AT (TIMESTAMP => '2019-01-17', VERSION => 3)   both\n  FROM t FOR SYSTEM_TIME AS OF '2024-05-01T12:00:00Z'   commit time\n\nAlso:\n  SHOW TABLES                                  the tables under --path, with their current version\n  COPY (SELECT ...) TO 'out.parquet' (FORMAT parquet)   also csv, json\n  FROM bazof_intervals('t' [, start, end])     validity intervals (SCD type 2)\n  FROM bazof_changes('t', t1, t2)              the keys whose state differs between t1 and t2\n  FROM bazof_join_asof('t', 'spine', on => 'ts' [, by => 'k'])   as-of join of a spine\n                                               (a table, a .csv/.json file or a query)\n\nErrors: one line on stderr, exit code 1.",
        )
        .arg(Arg::new("path").long("path").required(true).help("Directory whose sub-directories are bazof tables"))
        .arg(
            Arg::new("format")
                .long("format")
                .default_value("table")
                .value_parser(["table", "csv", "json"])
                .help("Output format: table, csv (with a header) or json (one object per line)"),
        )
        .arg(Arg::new("sql").required(true).help("One SQL statement"))
}

async fn run(path: &str, format: &str, sql: &str) -> Result<()> {
    let ctx = BazofContext::new();
    ctx.register_dir(path)?;
    let df = ctx.sql(sql).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let mut batches = df.collect().await?;
    if batches.is_empty() {
        // No rows: still show the columns (the CSV header).
        batches.push(RecordBatch::new_empty(schema));
    }
    match format {
        "csv" => {
            let mut out = std::io::stdout().lock();
            let mut writer = WriterBuilder::new().with_header(true).build(&mut out);
            for b in &batches {
                writer.write(b)?;
            }
        }
        "json" => {
            let mut out = std::io::stdout().lock();
            let mut writer = LineDelimitedWriter::new(&mut out);
            for b in &batches {
                writer.write(b)?;
            }
            writer.finish()?;
        }
        _ => println!("{}", pretty_format_batches(&batches)?),
    }
    Ok(())
}

/// The innermost message: bazof's own when bazof failed.
fn message(e: &DataFusionError) -> String {
    match e.find_root() {
        DataFusionError::External(inner) => inner.to_string(),
        root => root.to_string(),
    }
}

fn main() -> ExitCode {
    let matches = match cli().try_get_matches() {
        Ok(m) => m,
        Err(e) if !e.use_stderr() => e.exit(), // --help: printed on stdout, exit 0
        Err(e) => {
            // Usage errors are one line and exit code 1, as `bazof`'s.
            let detail = e.render().to_string();
            let head = detail.split("\n\n").next().unwrap_or("");
            let line = head.trim_start_matches("error: ").split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("bazof-sql: error: {line} (see --help)");
            return ExitCode::FAILURE;
        }
    };
    let path = matches.get_one::<String>("path").unwrap();
    let format = matches.get_one::<String>("format").unwrap();
    let sql = matches.get_one::<String>("sql").unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(path, format, sql)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bazof-sql: error: {}", message(&e).replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
