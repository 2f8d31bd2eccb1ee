//! bazof-sql --path DIR [--format table|csv] "SQL"
//!
//! Registers every bazof table directly under DIR (by its directory name)
//! and runs one SQL statement, with AT (...) / FOR SYSTEM_TIME AS OF time
//! travel. Output: a text table (default) or CSV with a header. Errors are
//! one line on stderr, `bazof-sql: error: <message>`, exit code 1.
use std::process::ExitCode;
use std::sync::Arc;

use arrow::csv::WriterBuilder;
use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use bazof_datafusion::BazofContext;
use clap::{Arg, Command};
use datafusion::error::{DataFusionError, Result};

fn cli() -> Command {
    Command::new("bazof-sql")
        .about("Run SQL (DataFusion) on the bazof tables under a directory, with AT (...) time travel")
        .after_help(
            "Time travel:\n  FROM t AT ('2019-01-17')                     event time\n  FROM t AT (VERSION => 3)                     a version\n  FROM t AT (TIMESTAMP => '2019-01-17', VERSION => 3)   both\n  FROM t FOR SYSTEM_TIME AS OF '2024-05-01T12:00:00Z'   commit time",
        )
        .arg(Arg::new("path").long("path").required(true).help("Directory whose sub-directories are bazof tables"))
        .arg(
            Arg::new("format")
                .long("format")
                .default_value("table")
                .value_parser(["table", "csv"])
                .help("Output format: table or csv (with a header)"),
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
    let matches = cli().get_matches();
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
