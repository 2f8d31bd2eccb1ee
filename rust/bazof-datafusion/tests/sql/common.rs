//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::util::display::array_value_to_string;
use bazof_datafusion::BazofContext;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

/// ../shared/fixtures beside the repository.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures").canonicalize().expect("shared/fixtures")
}

pub fn fixture_dir(era: &str) -> String {
    fixtures().join(era).to_string_lossy().into_owned()
}

/// The repository's CMake build directory (the C API and the CLI).
pub fn build_dir() -> PathBuf {
    match std::env::var_os("BAZOF_BUILD_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../build"),
    }
}

/// Every row as its cells' text ("null" for nulls).
pub fn to_rows(batches: &[arrow::record_batch::RecordBatch]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            rows.push(
                b.columns()
                    .iter()
                    .map(|c| if c.is_null(r) { "null".to_string() } else { array_value_to_string(c, r).unwrap() })
                    .collect(),
            );
        }
    }
    rows
}

pub async fn query(ctx: &BazofContext, sql: &str) -> Vec<Vec<String>> {
    try_query(ctx, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub async fn try_query(ctx: &BazofContext, sql: &str) -> Result<Vec<Vec<String>>, DataFusionError> {
    Ok(to_rows(&ctx.sql(sql).await?.collect().await?))
}

pub async fn query_plain(ctx: &SessionContext, sql: &str) -> Vec<Vec<String>> {
    to_rows(&ctx.sql(sql).await.unwrap().collect().await.unwrap())
}

/// The text of EXPLAIN's physical plan.
pub async fn physical_plan(ctx: &BazofContext, sql: &str) -> String {
    let rows = query(ctx, &format!("EXPLAIN {sql}")).await;
    rows.into_iter().filter(|r| r[0] == "physical_plan").map(|r| r[1].clone()).collect::<Vec<_>>().join("\n")
}

/// Pairs (key, value) from two-column rows.
pub fn pairs(rows: &[Vec<String>]) -> Vec<(String, String)> {
    rows.iter().map(|r| (r[0].clone(), r[1].clone())).collect()
}

pub fn kv(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// One committed event of the model.
#[derive(Debug, Clone)]
pub struct Event {
    pub key: String,
    pub event_time: i64,
    pub version: i64,
    pub value: Option<String>, // None = tombstone
}

/// The contract (DESIGN.md section 1): per key, the event with the greatest
/// event time <= t among versions <= v; ties: later version, then later
/// row; tombstones hide the key.
pub fn oracle(events: &[Event], t: Option<i64>, v: i64) -> Vec<(String, String)> {
    let mut best: BTreeMap<&str, (i64, i64, usize, &Option<String>)> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if e.version > v || t.map_or(false, |t| e.event_time > t) {
            continue;
        }
        let rank = (e.event_time, e.version, i, &e.value);
        let entry = best.entry(&e.key).or_insert(rank);
        if (rank.0, rank.1, rank.2) > (entry.0, entry.1, entry.2) {
            *entry = rank;
        }
    }
    best.into_iter().filter_map(|(k, (_, _, _, v))| v.as_ref().map(|v| (k.to_string(), v.clone()))).collect()
}
