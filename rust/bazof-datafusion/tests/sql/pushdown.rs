//! Projection, filter and limit pushdown: visible in EXPLAIN, and never
//! changing a result (checked against DataFusion filtering the same rows).
use std::sync::Arc;

use bazof_datafusion::ffi::Table;
use bazof_datafusion::{BazofContext, BazofTableProvider};
use datafusion::catalog::TableProvider;
use datafusion::common::stats::Precision;
use datafusion::datasource::MemTable;

use crate::common::*;
use crate::time_travel::prices_table;

/// Registers `name` both as bazof and as an in-memory copy of its rows
/// ("mem_<name>"), filtered by DataFusion itself.
async fn with_copy(ctx: &BazofContext, name: &str) {
    let df = ctx.sql(&format!("SELECT * FROM {name}")).await.unwrap();
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.unwrap();
    let mem = MemTable::try_new(schema, vec![batches]).unwrap();
    ctx.session().register_table(format!("mem_{name}"), Arc::new(mem)).unwrap();
}

#[tokio::test]
async fn key_filters_give_datafusion_s_results() {
    let (dir, _) = prices_table();
    let ctx = BazofContext::new();
    ctx.register("prices", dir.path().to_str().unwrap(), "prices").unwrap();
    with_copy(&ctx, "prices").await;
    let filters = [
        "symbol = 'B'",
        "'B' = symbol",
        "symbol IN ('A', 'C', 'Z')",
        "symbol >= 'B'",
        "symbol > 'B'",
        "'B' < symbol",
        "symbol < 'C'",
        "symbol <= 'B'",
        "symbol BETWEEN 'A' AND 'B'",
        "symbol NOT BETWEEN 'A' AND 'B'",
        "symbol = 'A' AND symbol = 'B'",
        "symbol >= 'C' AND symbol <= 'A'",
        "symbol IN ('B', 'C') AND symbol > 'B'",
        "symbol NOT IN ('B')",
        "symbol <> 'B'",
        "price > 10",
        "symbol = 'B' OR price = 1",
        "symbol = 'B' OR symbol = 'C'",
        "symbol = 'B' OR symbol >= 'C'",
        "symbol LIKE 'B%'",
    ];
    let mut nonempty = 0;
    for f in filters {
        let got = query(&ctx, &format!("SELECT symbol, price FROM prices WHERE {f} ORDER BY symbol")).await;
        let want = query(&ctx, &format!("SELECT symbol, price FROM mem_prices WHERE {f} ORDER BY symbol")).await;
        assert_eq!(got, want, "WHERE {f}");
        nonempty += usize::from(!got.is_empty());
    }
    assert!(nonempty >= 10, "the filters must select something to prove anything");
}

#[tokio::test]
async fn integer_keys_filter_in_numeric_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let t = Table::create(path, "ids", "id:int64,name:string", &["id"]).unwrap();
    for id in [-300i64, -3, -1, 0, 2, 10, 255, 256, 70000] {
        t.put(&[("id", &id.to_string())], "2024-01-01", &[("name", &format!("n{id}"))]).unwrap();
    }
    let ctx = BazofContext::new();
    ctx.register("ids", path, "ids").unwrap();
    with_copy(&ctx, "ids").await;
    for f in
        ["id = -1", "id IN (0, 256, 7)", "id BETWEEN -3 AND 255", "id > -2", "id < 10", "id >= 256 AND id <= 70000"]
    {
        let got = query(&ctx, &format!("SELECT id, name FROM ids WHERE {f} ORDER BY id")).await;
        let want = query(&ctx, &format!("SELECT id, name FROM mem_ids WHERE {f} ORDER BY id")).await;
        assert_eq!(got, want, "WHERE {f}");
        assert!(!got.is_empty(), "WHERE {f}");
    }
    let plan = physical_plan(&ctx, "SELECT name FROM ids WHERE id BETWEEN -3 AND 255").await;
    assert!(plan.contains("key_range=[-3..255]"), "{plan}");
    assert!(!plan.contains("FilterExec"), "BETWEEN on the key is exact:\n{plan}");
}

#[tokio::test]
async fn explain_shows_what_bazof_does() {
    let (dir, _) = prices_table();
    let ctx = BazofContext::new();
    ctx.register("prices", dir.path().to_str().unwrap(), "prices").unwrap();

    // Exact: key IN and projection go to bazof, no filter is left above it.
    let plan = physical_plan(&ctx, "SELECT symbol FROM prices WHERE symbol IN ('A', 'B')").await;
    assert!(plan.contains("BazofScanExec"), "{plan}");
    assert!(plan.contains("key_in=[A, B]"), "{plan}");
    assert!(plan.contains("value_columns=[]"), "{plan}");
    assert!(!plan.contains("FilterExec"), "{plan}");

    // Inexact: '>' becomes an inclusive bound, and DataFusion filters again.
    let plan = physical_plan(&ctx, "SELECT symbol, price FROM prices WHERE symbol > 'A'").await;
    assert!(plan.contains("key_range=[A..]"), "{plan}");
    assert!(plan.contains("value_columns=[price]"), "{plan}");
    assert!(plan.contains("FilterExec"), "{plan}");

    // Not on the key: nothing pushed.
    let plan = physical_plan(&ctx, "SELECT symbol FROM prices WHERE price = 5").await;
    assert!(!plan.contains("key_in") && !plan.contains("key_range") && plan.contains("FilterExec"), "{plan}");

    // Limit: passed to the scan, which stops early.
    let plan = physical_plan(&ctx, "SELECT symbol FROM prices LIMIT 2").await;
    assert!(plan.contains("limit=2"), "{plan}");
    assert_eq!(query(&ctx, "SELECT symbol FROM prices LIMIT 2").await.len(), 2);
    assert_eq!(query(&ctx, "SELECT symbol FROM prices WHERE symbol IN ('A', 'B', 'C') LIMIT 1").await.len(), 1);

    // Time travel shows in the scan.
    let plan = physical_plan(&ctx, "SELECT symbol FROM prices AT ('2024-01-02', VERSION => 3)").await;
    assert!(plan.contains("as_of=2024-01-02T00:00:00.000000Z") && plan.contains("version=3"), "{plan}");
}

#[tokio::test]
async fn row_count_statistics_from_the_snapshot() {
    let (dir, _) = prices_table();
    let path = dir.path().to_str().unwrap();
    let p = BazofTableProvider::current(path, "prices").unwrap();
    let stats = p.statistics().expect("format-1 tables record row counts");
    // Nine events committed: an upper bound on the keys a scan returns.
    assert_eq!(stats.num_rows, Precision::Inexact(9));
    let p = BazofTableProvider::at_version(path, "prices", 1).unwrap();
    assert_eq!(p.statistics().unwrap().num_rows, Precision::Inexact(1));
    // Legacy tables record none: unknown, not made up.
    let legacy = BazofTableProvider::current(&fixture_dir("bazof-0.1"), "table0").unwrap();
    assert_eq!(legacy.statistics().unwrap().num_rows, Precision::Absent);
}
