//! The table functions bazof_intervals, bazof_changes and bazof_join_asof:
//! SQL answers against the core's own (the C API called directly) and, for
//! the join, against the model of the contract.
use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use bazof_datafusion::ffi::{parse_event_time, ScanOptions, Table};
use bazof_datafusion::BazofContext;
use datafusion::datasource::MemTable;

use crate::common::*;
use crate::time_travel::prices_table;

fn rows_of(reader: arrow::ffi_stream::ArrowArrayStreamReader) -> Vec<Vec<String>> {
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    to_rows(&batches)
}

#[tokio::test]
async fn intervals_match_the_core() {
    let (dir, _) = prices_table();
    let ctx = BazofContext::new();
    ctx.register("prices", dir.path().to_str().unwrap(), "prices").unwrap();
    let table = Table::open(dir.path().to_str().unwrap(), "prices").unwrap();
    let all = ScanOptions::default();

    let sql = query(&ctx, "SELECT * FROM bazof_intervals('prices')").await;
    assert_eq!(sql, rows_of(table.intervals(None, None, false, &all).unwrap()));
    // A's tombstone closes its second interval and has no row of its own.
    let a = query(&ctx, "SELECT price, valid_to IS NULL FROM bazof_intervals('prices') WHERE symbol = 'A'").await;
    assert_eq!(a, vec![vec!["5", "false"], vec!["10", "false"], vec!["30", "true"]]);

    let sql = query(&ctx, "SELECT * FROM bazof_intervals('prices', '2024-01-03', '2024-01-05')").await;
    let core = rows_of(table.intervals(Some("2024-01-03"), Some("2024-01-05"), false, &all).unwrap());
    assert_eq!(sql, core);
    assert!(!core.is_empty());

    let at_v3 = ScanOptions { version: Some(3), ..Default::default() };
    let sql = query(&ctx, "SELECT * FROM bazof_intervals(table => 'prices', version => 3)").await;
    assert_eq!(sql, rows_of(table.intervals(None, None, false, &at_v3).unwrap()));
    let b = query(&ctx, "SELECT symbol FROM bazof_intervals('prices', keys => 'B')").await;
    // B: 01-02 (15), then 01-03 twice (20 at v3, 21 at v6: the later version wins the tie).
    assert_eq!(b, vec![vec!["B"]; 2]);
    // A table's directory works as well as a registered name.
    let path = dir.path().join("prices");
    let sql = format!("SELECT count(*) FROM bazof_intervals('{}')", path.display());
    let n = query(&ctx, &sql).await;
    assert_eq!(n, vec![vec![rows_of(table.intervals(None, None, false, &all).unwrap()).len().to_string()]]);
}

#[tokio::test]
async fn changes_match_the_core() {
    let (dir, _) = prices_table();
    let ctx = BazofContext::new();
    ctx.register("prices", dir.path().to_str().unwrap(), "prices").unwrap();
    let table = Table::open(dir.path().to_str().unwrap(), "prices").unwrap();
    let all = ScanOptions::default();

    let sql = query(&ctx, "SELECT * FROM bazof_changes('prices', '2024-01-02', '2024-01-05')").await;
    let core = rows_of(table.changes(Some("2024-01-02"), None, Some("2024-01-05"), None, &all).unwrap());
    assert_eq!(sql, core);
    let kinds = query(&ctx, "SELECT symbol, kind FROM bazof_changes('prices', '2024-01-02', '2024-01-05')").await;
    assert_eq!(
        kinds,
        vec![vec!["A", "update"], vec!["B", "update"], vec!["C", "delete"]]
            .into_iter()
            .filter(|r| { core.iter().any(|c| c[0] == r[0]) })
            .collect::<Vec<_>>()
    );

    // What version 4 (A's tombstone) changed about the latest state.
    let sql = query(&ctx, "SELECT symbol, kind FROM bazof_changes('prices', from_version => 3, to_version => 4)").await;
    assert_eq!(sql, vec![vec!["A", "delete"]]);
    let core = rows_of(table.changes(None, Some(3), None, Some(4), &all).unwrap());
    assert_eq!(
        query(&ctx, "SELECT * FROM bazof_changes('prices', NULL, NULL, from_version => 3, to_version => 4)").await,
        core
    );
}

/// The spine rows of the join tests: (symbol, time).
const SPINE: [(&str, &str); 7] = [
    ("B", "2024-01-02T12:00:00Z"),
    ("A", "2023-12-31T00:00:00Z"), // before every event of A
    ("A", "2024-01-01T00:00:00Z"), // exactly at an event: inclusive
    ("A", "2024-01-04T00:00:00Z"), // at the tombstone
    ("Z", "2024-01-09T00:00:00Z"), // absent key
    ("A", "2024-01-09T00:00:00Z"),
    ("B", "2024-01-02T12:00:00Z"), // a duplicate row
];

#[tokio::test]
async fn join_asof_matches_the_model_in_spine_order() {
    let (dir, events) = prices_table();
    let ctx = BazofContext::new();
    ctx.register("prices", dir.path().to_str().unwrap(), "prices").unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
    ]));
    let micros: Vec<i64> = SPINE.iter().map(|r| parse_event_time(r.1).unwrap()).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(SPINE.iter().map(|r| r.0).collect::<Vec<_>>())),
            Arc::new(TimestampMicrosecondArray::from(micros.clone()).with_timezone("UTC")),
        ],
    )
    .unwrap();
    ctx.session().register_table("spine", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())).unwrap();

    let expect = |version: i64| -> Vec<Vec<String>> {
        SPINE
            .iter()
            .zip(&micros)
            .map(|(r, t)| {
                let state: BTreeMap<String, String> = oracle(&events, Some(*t), version).into_iter().collect();
                vec![r.0.to_string(), state.get(r.0).cloned().unwrap_or_else(|| "null".into())]
            })
            .collect()
    };
    let sql = "SELECT symbol, price FROM bazof_join_asof('prices', 'spine', on => 'ts')";
    assert_eq!(query(&ctx, sql).await, expect(6));
    let sql = "SELECT symbol, price FROM bazof_join_asof('prices', 'spine', 'ts', 'symbol', version => 3)";
    assert_eq!(query(&ctx, sql).await, expect(3));
    // The spine as a query; DataFusion then filters and aggregates the join.
    let sql = "SELECT count(*), sum(price) FROM bazof_join_asof('prices', \
               'SELECT symbol, ts FROM spine WHERE symbol = ''A''', on => 'ts') WHERE price IS NOT NULL";
    let a: Vec<i64> =
        expect(6).iter().filter(|r| r[0] == "A" && r[1] != "null").map(|r| r[1].parse().unwrap()).collect();
    assert_eq!(query(&ctx, sql).await, vec![vec![a.len().to_string(), a.iter().sum::<i64>().to_string()]]);
}

#[tokio::test]
async fn table_function_errors_name_the_problem() {
    let (dir, _) = prices_table();
    let ctx = BazofContext::new();
    ctx.register("prices", dir.path().to_str().unwrap(), "prices").unwrap();
    for (sql, needle) in [
        ("SELECT * FROM bazof_intervals('nope')", "'nope' is neither a registered bazof table"),
        ("SELECT * FROM bazof_intervals('prices', 'yesterday')", "yesterday"),
        ("SELECT * FROM bazof_intervals('prices', colour => 'red')", "unknown argument 'colour'"),
        ("SELECT * FROM bazof_intervals('prices', version => 99)", "99"),
        ("SELECT * FROM bazof_changes('prices', '2024-01-01', 'soon')", "soon"),
        ("SELECT * FROM bazof_join_asof('prices', 'spine')", "argument on is required"),
        ("SELECT * FROM bazof_join_asof('prices', 'no_such_spine', on => 'ts')", "no_such_spine"),
        ("SELECT * FROM bazof_join_asof('prices', 'SELECT 1 AS symbol, 2 AS ts', on => 'ts')", "'ts'"),
        ("SELECT * FROM bazof_intervals(1)", "names a bazof table"),
    ] {
        let err = try_query(&ctx, sql).await.expect_err(sql).to_string();
        assert!(err.contains(needle), "{sql}: {err}");
        assert!(!err.contains('\n'), "{sql}: {err}");
    }
}
