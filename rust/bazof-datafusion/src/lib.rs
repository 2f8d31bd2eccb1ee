//! SQL on bazof tables with Apache DataFusion.
//!
//! * [`BazofTableProvider`]: a bazof table as of an event time and/or a
//!   version, as a DataFusion `TableProvider` (projection, key-filter and
//!   limit pushdown; row-count estimates from the snapshot).
//! * [`BazofContext`]: a `SessionContext` whose SQL reads `FROM t AT (...)`
//!   (event time), `FOR SYSTEM_TIME AS OF` (commit time) and
//!   `AT (VERSION => n)`; see the crate README for the syntax.
//! * [`views`]: table functions `bazof_intervals`, `bazof_changes` and
//!   `bazof_join_asof` (the as-of join) in [`BazofContext`]'s SQL.
//! * [`ffi`]: the bazof C API (`include/bazof/bazof.h`) and a thin safe
//!   layer over it; bazof itself is C++, reached only through that API.
//!
//! ```no_run
//! # async fn demo() -> datafusion::error::Result<()> {
//! use bazof_datafusion::BazofContext;
//! let ctx = BazofContext::new();
//! ctx.register("ltm_revenue", "../shared/fixtures/bazof-0.1", "ltm_revenue")?;
//! let df = ctx
//!     .sql("SELECT key, value FROM ltm_revenue AT ('2019-01-17') WHERE key IN ('AAPL', 'GOOG')")
//!     .await?;
//! df.show().await?;
//! # Ok(()) }
//! ```
pub mod context;
pub mod dialect;
pub mod ffi;
pub mod filters;
pub mod provider;
pub mod views;

pub use context::BazofContext;
pub use dialect::BazofDialect;
pub use ffi::{BazofError, ErrorKind};
pub use provider::{BazofScanExec, BazofTableProvider};
