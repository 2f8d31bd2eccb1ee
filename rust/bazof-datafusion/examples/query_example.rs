//! The seed's showcase through DataFusion: last-twelve-months revenue of AAPL
//! and GOOG now and as of 2019-01-17, from the bazof 0.1 `ltm_revenue` table.
//!
//!     cargo run --example query_example -p bazof-datafusion
use std::sync::Arc;

use bazof_datafusion::{BazofContext, BazofTableProvider};
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

#[tokio::main]
async fn main() -> Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/bazof-0.1");

    // The providers, as the seed's example registered them.
    let ctx = SessionContext::new();
    ctx.register_table("ltm_revenue_current", Arc::new(BazofTableProvider::current(path, "ltm_revenue")?))?;
    ctx.register_table(
        "ltm_revenue_jan17",
        Arc::new(BazofTableProvider::as_of(path, "ltm_revenue", "2019-01-17T00:00:00Z")?),
    )?;
    println!("Current revenue:");
    ctx.sql("SELECT key, value FROM ltm_revenue_current WHERE key IN ('AAPL', 'GOOG') ORDER BY key")
        .await?
        .show()
        .await?;
    println!("Revenue as of 2019-01-17:");
    ctx.sql("SELECT key, value FROM ltm_revenue_jan17 WHERE key IN ('AAPL', 'GOOG') ORDER BY key")
        .await?
        .show()
        .await?;

    // The same in one query, with AT (...) time travel.
    let bazof = BazofContext::new();
    bazof.register("ltm_revenue", path, "ltm_revenue")?;
    println!("Now and then, one query:");
    bazof
        .sql(
            "SELECT now.key, now.value AS revenue_now, then_.value AS revenue_2019_01_17 \
             FROM ltm_revenue now JOIN ltm_revenue AT ('2019-01-17T00:00:00Z') then_ ON now.key = then_.key \
             WHERE now.key IN ('AAPL', 'GOOG') ORDER BY now.key",
        )
        .await?
        .show()
        .await?;
    Ok(())
}
