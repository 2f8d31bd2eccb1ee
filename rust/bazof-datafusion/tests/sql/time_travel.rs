//! AT (...), VERSION and FOR SYSTEM_TIME AS OF on a table with several
//! versions and late events, against the model of the contract.
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, RecordBatchIterator, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use bazof_datafusion::ffi::{parse_event_time, Table};
use bazof_datafusion::BazofContext;
use tempfile::TempDir;

use crate::common::*;

/// A table with seven versions: late events, a tombstone, an append of
/// several rows. Returns (dir, events of the model).
pub fn prices_table() -> (TempDir, Vec<Event>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let t = Table::create(path, "prices", "symbol:string,price:int64", &["symbol"]).unwrap();
    let mut events = Vec::new();
    let mut put = |key: &str, at: &str, price: Option<i64>| {
        let v = match price {
            Some(p) => t.put(&[("symbol", key)], at, &[("price", &p.to_string())]).unwrap(),
            None => t.delete(&[("symbol", key)], at).unwrap(),
        };
        events.push(Event {
            key: key.into(),
            event_time: parse_event_time(at).unwrap(),
            version: v,
            value: price.map(|p| p.to_string()),
        });
        v
    };
    assert_eq!(put("A", "2024-01-02", Some(10)), 1);
    assert_eq!(put("A", "2024-01-01", Some(5)), 2); // late
    assert_eq!(put("B", "2024-01-03", Some(20)), 3);
    assert_eq!(put("A", "2024-01-04", None), 4); // tombstone
    assert_eq!(put("B", "2024-01-02", Some(15)), 5); // late, before B's first event

    // Version 6: an append through an Arrow C stream made in Rust.
    let rows = [("A", "2024-01-05", 30), ("C", "2024-01-01", 1), ("C", "2024-01-06", 2), ("B", "2024-01-03", 21)];
    let micros: Vec<i64> = rows.iter().map(|r| parse_event_time(r.1).unwrap()).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("event_time", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        Field::new("price", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
            Arc::new(TimestampMicrosecondArray::from(micros.clone()).with_timezone("UTC")),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
        ],
    )
    .unwrap();
    let v = t.append(Box::new(RecordBatchIterator::new(vec![Ok(batch)], schema))).unwrap();
    assert_eq!(v, Some(6));
    for (r, m) in rows.iter().zip(micros) {
        events.push(Event { key: r.0.into(), event_time: m, version: 6, value: Some(r.2.to_string()) });
    }
    (dir, events)
}

fn context(dir: &TempDir) -> BazofContext {
    let ctx = BazofContext::new();
    ctx.register("prices", dir.path().to_str().unwrap(), "prices").unwrap();
    ctx
}

const TIMES: [&str; 7] = [
    "2023-12-31",
    "2024-01-01",
    "2024-01-02T00:00:00Z",
    "2024-01-03T12:00:00+02:00",
    "2024-01-04",
    "2024-01-05",
    "2030-01-01",
];

#[tokio::test]
async fn at_event_time_version_and_both() {
    let (dir, events) = prices_table();
    let ctx = context(&dir);
    let q = |clause: String| format!("SELECT symbol, price FROM prices {clause} ORDER BY symbol");
    assert_eq!(pairs(&query(&ctx, &q(String::new())).await), oracle(&events, None, 6));
    for t in TIMES {
        let micros = parse_event_time(t).unwrap();
        assert_eq!(pairs(&query(&ctx, &q(format!("AT ('{t}')"))).await), oracle(&events, Some(micros), 6), "AT {t}");
        assert_eq!(
            pairs(&query(&ctx, &q(format!("AT (TIMESTAMP => '{t}')"))).await),
            oracle(&events, Some(micros), 6),
            "TIMESTAMP => {t}"
        );
        for v in 0..=6 {
            assert_eq!(
                pairs(&query(&ctx, &q(format!("AT (TIMESTAMP => '{t}', VERSION => {v})"))).await),
                oracle(&events, Some(micros), v),
                "AT {t} version {v}"
            );
        }
    }
    for v in 0..=6 {
        let want = oracle(&events, None, v);
        assert_eq!(pairs(&query(&ctx, &q(format!("AT (VERSION => {v})"))).await), want, "version {v}");
        assert_eq!(pairs(&query(&ctx, &q(format!("VERSION AS OF {v}"))).await), want, "VERSION AS OF {v}");
    }
    // The model itself must make these times differ, or the test proves little.
    assert_ne!(oracle(&events, Some(parse_event_time("2024-01-02").unwrap()), 6), oracle(&events, None, 6));
    assert_ne!(
        oracle(&events, Some(parse_event_time("2024-01-02").unwrap()), 4),
        oracle(&events, Some(parse_event_time("2024-01-02").unwrap()), 6)
    );
}

#[tokio::test]
async fn for_system_time_as_of_is_commit_time() {
    let (dir, events) = prices_table();
    let ctx = context(&dir);
    let table = Table::open(dir.path().to_str().unwrap(), "prices").unwrap();
    let log = table.log().unwrap();
    assert_eq!(log.len(), 7);
    let commit_times: Vec<i64> = log.iter().map(|e| parse_event_time(e.timestamp.as_ref().unwrap()).unwrap()).collect();
    for entry in &log {
        let ts = entry.timestamp.clone().unwrap();
        let t = parse_event_time(&ts).unwrap();
        // Commits within one millisecond share a time: the last of them wins.
        let want_version =
            log.iter().zip(&commit_times).filter(|(_, c)| **c <= t).map(|(e, _)| e.version).max().unwrap();
        let want = oracle(&events, None, want_version);
        for sql in [
            format!("SELECT symbol, price FROM prices FOR SYSTEM_TIME AS OF '{ts}' ORDER BY symbol"),
            format!("SELECT symbol, price FROM prices AT (SYSTEM_TIME => '{ts}') ORDER BY symbol"),
            format!("SELECT symbol, price FROM prices TIMESTAMP AS OF '{ts}' ORDER BY symbol"),
        ] {
            assert_eq!(pairs(&query(&ctx, &sql).await), want, "{sql}");
        }
        // Bitemporal with commit time: event time 2024-01-02 as known then.
        let sql = format!("SELECT symbol, price FROM prices AT ('2024-01-02', SYSTEM_TIME => '{ts}') ORDER BY symbol");
        assert_eq!(
            pairs(&query(&ctx, &sql).await),
            oracle(&events, Some(parse_event_time("2024-01-02").unwrap()), want_version),
            "{sql}"
        );
    }
    // After the last commit: the current version.
    let later =
        query(&ctx, "SELECT symbol, price FROM prices FOR SYSTEM_TIME AS OF '2999-01-01T00:00:00Z' ORDER BY symbol")
            .await;
    assert_eq!(pairs(&later), oracle(&events, None, 6));
    // Before the first commit: an error naming the table and the first commit.
    let err = try_query(&ctx, "SELECT * FROM prices FOR SYSTEM_TIME AS OF '2001-01-01'").await.unwrap_err().to_string();
    assert!(
        err.contains("prices")
            && err.contains("no version was committed")
            && err.contains(log[0].timestamp.as_ref().unwrap()),
        "{err}"
    );
}

#[tokio::test]
async fn several_times_in_one_query() {
    let (dir, events) = prices_table();
    let ctx = context(&dir);
    let then = parse_event_time("2024-01-02").unwrap();
    // A self-join of now against then (FULL: keys present at one time only).
    let rows = query(
        &ctx,
        "SELECT coalesce(n.symbol, t.symbol) AS s, n.price, t.price \
         FROM prices n FULL JOIN prices AT ('2024-01-02') t ON n.symbol = t.symbol ORDER BY s",
    )
    .await;
    let now = oracle(&events, None, 6);
    let earlier = oracle(&events, Some(then), 6);
    let mut keys: Vec<String> = now.iter().chain(&earlier).map(|(k, _)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    let find =
        |m: &[(String, String)], k: &str| m.iter().find(|(x, _)| x == k).map_or("null".to_string(), |(_, v)| v.clone());
    let want: Vec<Vec<String>> = keys.iter().map(|k| vec![k.clone(), find(&now, k), find(&earlier, k)]).collect();
    assert_eq!(rows, want);
    assert_ne!(now, earlier);

    // Three readings of one table, as subqueries and a CTE.
    let rows = query(
        &ctx,
        "WITH v1 AS (SELECT count(*) AS c FROM prices AT (VERSION => 1)) \
         SELECT (SELECT c FROM v1) AS v1, (SELECT count(*) FROM prices AT (VERSION => 3)) AS v3, \
         (SELECT count(*) FROM prices) AS now",
    )
    .await;
    let count = |v: i64| oracle(&events, None, v).len().to_string();
    assert_eq!(rows, vec![vec![count(1), count(3), count(6)]]);

    // Qualified columns keep the name written (no alias given).
    let rows = query(&ctx, "SELECT prices.symbol FROM prices AT (VERSION => 1)").await;
    assert_eq!(rows, vec![vec!["A".to_string()]]);
}

#[tokio::test]
async fn a_query_reads_the_version_current_when_planned() {
    let (dir, events) = prices_table();
    let ctx = context(&dir);
    assert_eq!(pairs(&query(&ctx, "SELECT symbol, price FROM prices ORDER BY symbol").await), oracle(&events, None, 6));
    let writer = Table::open(dir.path().to_str().unwrap(), "prices").unwrap();
    writer.put(&[("", "D")], "2024-01-01", &[("price", "4")]).unwrap();
    let rows = query(&ctx, "SELECT symbol, price FROM prices WHERE symbol = 'D'").await;
    assert_eq!(rows, vec![vec!["D".to_string(), "4".to_string()]]);
    // Generated names do not pile up in the catalog.
    let names = ctx.session().catalog("datafusion").unwrap().schema("public").unwrap().table_names();
    assert_eq!(names, vec!["prices".to_string()]);
}
