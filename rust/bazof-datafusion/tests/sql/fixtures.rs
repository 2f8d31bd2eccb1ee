//! The fixtures' expected results (shared/fixtures/README.md) through SQL.
use std::process::Command;
use std::sync::Arc;

use bazof_datafusion::{BazofContext, BazofTableProvider};
use datafusion::prelude::SessionContext;

use crate::common::*;

async fn context(era: &str, table: &str) -> BazofContext {
    let ctx = BazofContext::new();
    ctx.register(table, &fixture_dir(era), table).unwrap();
    ctx
}

#[tokio::test]
async fn table0_both_eras() {
    for era in ["bazof-0.1", "azof-0.2"] {
        let ctx = context(era, "table0").await;
        let latest = query(&ctx, "SELECT key, value FROM table0 ORDER BY key").await;
        assert_eq!(pairs(&latest), kv(&[("1", "abc2"), ("2", "xyz2"), ("3", "www2")]), "{era}");
        let then = query(&ctx, "SELECT key, value FROM table0 AT ('2024-02-17') ORDER BY key").await;
        assert_eq!(pairs(&then), kv(&[("1", "abc2"), ("2", "xyz")]), "{era}");
    }
}

#[tokio::test]
async fn azof_table1() {
    let ctx = context("azof-0.2", "table1").await;
    let at = |t: &'static str| format!("SELECT key, value FROM table1 AT ('{t}') ORDER BY key");
    assert_eq!(
        pairs(&query(&ctx, "SELECT key, value FROM table1 ORDER BY key").await),
        kv(&[("1", "abc4"), ("2", "xyz3")])
    );
    assert_eq!(pairs(&query(&ctx, &at("2024-06-01")).await), kv(&[("1", "abc3"), ("2", "xyz2")]));
    assert_eq!(pairs(&query(&ctx, &at("2024-02-01")).await), kv(&[("1", "abc2")]));
}

#[tokio::test]
async fn azof_table2_typed_columns() {
    let ctx = context("azof-0.2", "table2").await;
    let rows =
        query(&ctx, "SELECT key, value1, value2, is_active, created FROM table2 WHERE key IN ('2', '3') ORDER BY key")
            .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][1..4], ["xyz2", "222", "false"]);
    assert!(rows[0][4].starts_with("2024-01-01T00:00:00"), "{rows:?}");
    assert_eq!(rows[1][1..4], ["www2", "300", "false"]);
    assert!(rows[1][4].starts_with("2024-03-01T00:00:00"), "{rows:?}");
}

/// The CLI's result (proven against an independent pyarrow reading of the
/// legacy rule in tests/python/test_ltm_revenue.py), as key -> value.
fn cli_scan(as_of: Option<&str>) -> Vec<(String, String)> {
    let mut cmd = Command::new(build_dir().join("bazof"));
    cmd.args(["scan", "--path", &fixture_dir("bazof-0.1"), "--table", "ltm_revenue", "--key", "AAPL", "--key", "GOOG"]);
    cmd.args(["--format", "csv"]);
    if let Some(t) = as_of {
        cmd.args(["--as-of", t]);
    }
    let out = cmd.output().expect("build/bazof");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("key,event_time,value"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[2].to_string())
        })
        .collect()
}

#[tokio::test]
async fn ltm_revenue_now_and_as_of_2019_01_17() {
    let path = fixture_dir("bazof-0.1");
    // As the seed's example does it: one provider per time.
    let ctx = SessionContext::new();
    ctx.register_table("now", Arc::new(BazofTableProvider::current(&path, "ltm_revenue").unwrap())).unwrap();
    ctx.register_table(
        "then",
        Arc::new(BazofTableProvider::as_of(&path, "ltm_revenue", "2019-01-17T00:00:00Z").unwrap()),
    )
    .unwrap();
    let now = query_plain(&ctx, "SELECT key, value FROM now WHERE key IN ('AAPL', 'GOOG') ORDER BY key").await;
    let then = query_plain(&ctx, "SELECT key, value FROM then WHERE key IN ('AAPL', 'GOOG') ORDER BY key").await;
    assert_eq!(pairs(&now), cli_scan(None));
    assert_eq!(pairs(&then), cli_scan(Some("2019-01-17T00:00:00Z")));
    assert_ne!(now, then, "the showcase's two times must differ");

    // And with AT (...) in one query.
    let bazof = context("bazof-0.1", "ltm_revenue").await;
    let joined = query(
        &bazof,
        "SELECT n.key, n.value, t.value FROM ltm_revenue n JOIN ltm_revenue AT ('2019-01-17T00:00:00Z') t \
         ON n.key = t.key WHERE n.key IN ('AAPL', 'GOOG') ORDER BY n.key",
    )
    .await;
    let expect: Vec<Vec<String>> =
        now.iter().zip(&then).map(|(n, t)| vec![n[0].clone(), n[1].clone(), t[1].clone()]).collect();
    assert_eq!(joined, expect);
}

#[tokio::test]
async fn whole_ltm_revenue_matches_the_c_api_scan_count() {
    // Aggregates run over every key (no pushdown): the count is the number
    // of keys the scan returns.
    let bazof = context("bazof-0.1", "ltm_revenue").await;
    let n = query(&bazof, "SELECT count(*), count(DISTINCT key) FROM ltm_revenue AT ('2019-01-17')").await;
    assert_eq!(n[0][0], n[0][1], "one row per key");
    let table = bazof_datafusion::ffi::Table::open(&fixture_dir("bazof-0.1"), "ltm_revenue").unwrap();
    let opts = bazof_datafusion::ffi::ScanOptions {
        as_of_micros: Some(bazof_datafusion::ffi::parse_event_time("2019-01-17").unwrap()),
        ..Default::default()
    };
    let rows: usize = table.scan(&opts).unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(n[0][0], rows.to_string());
    assert!(rows > 100, "{rows}");
}
