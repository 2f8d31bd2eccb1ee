//! Errors arrive as DataFusion errors carrying bazof's message (and kind).
use bazof_datafusion::{BazofContext, BazofError, BazofTableProvider, ErrorKind};
use datafusion::error::DataFusionError;

use crate::common::*;

fn bazof_error(e: &DataFusionError) -> Option<&BazofError> {
    match e.find_root() {
        DataFusionError::External(inner) => inner.downcast_ref::<BazofError>(),
        _ => None,
    }
}

fn fixture_context() -> BazofContext {
    let ctx = BazofContext::new();
    ctx.register("table0", &fixture_dir("bazof-0.1"), "table0").unwrap();
    ctx
}

#[tokio::test]
async fn unknown_table() {
    // A table bazof cannot find: bazof's message, kind NotFound.
    let e = BazofTableProvider::current(&fixture_dir("bazof-0.1"), "no_such_table").unwrap_err();
    let b = bazof_error(&e).expect("a bazof error");
    assert_eq!(b.kind, ErrorKind::NotFound);
    assert!(b.message.contains("no_such_table") && b.message.contains("not found"), "{}", b.message);
    assert!(e.to_string().contains(&b.message), "{e}");
    let e = BazofContext::new().register("t", "/no/such/dir", "t").unwrap_err();
    assert_eq!(bazof_error(&e).map(|b| b.kind), Some(ErrorKind::NotFound), "{e}");

    // A name SQL does not know: DataFusion's planning error.
    let ctx = fixture_context();
    let e = try_query(&ctx, "SELECT * FROM no_such_table").await.unwrap_err();
    assert!(matches!(e.find_root(), DataFusionError::Plan(_)), "{e:?}");
    assert!(e.to_string().contains("no_such_table"), "{e}");
    let e = try_query(&ctx, "SELECT * FROM no_such_table AT ('2024-01-01')").await.unwrap_err();
    assert!(e.to_string().contains("no_such_table") && e.to_string().contains("not a bazof table"), "{e}");
}

#[tokio::test]
async fn bad_timestamps() {
    let e = BazofTableProvider::as_of(&fixture_dir("bazof-0.1"), "table0", "yesterday").unwrap_err();
    let b = bazof_error(&e).expect("a bazof error");
    assert_eq!(b.kind, ErrorKind::InvalidArgument);
    assert!(b.message.contains("'yesterday'"), "{}", b.message);

    let ctx = fixture_context();
    for (sql, needle) in [
        ("SELECT * FROM table0 AT ('yesterday')", "yesterday"),
        ("SELECT * FROM table0 AT ('2024-13-01')", "2024-13-01"),
        ("SELECT * FROM table0 FOR SYSTEM_TIME AS OF 'soon'", "soon"),
        ("SELECT * FROM table0 AT (TIMESTAMP => 20240101)", "string literal"),
    ] {
        let e = try_query(&ctx, sql).await.unwrap_err();
        let b = bazof_error(&e).unwrap_or_else(|| panic!("{sql}: {e:?}"));
        assert_eq!(b.kind, ErrorKind::InvalidArgument, "{sql}");
        assert!(b.message.contains(needle) && b.message.contains("table0"), "{sql}: {}", b.message);
    }
    // bazof's own wording for a bad time is kept.
    let direct = bazof_datafusion::ffi::parse_event_time("yesterday").unwrap_err().message;
    let e = try_query(&ctx, "SELECT * FROM table0 AT ('yesterday')").await.unwrap_err();
    assert!(e.to_string().contains(&direct), "{e} lacks {direct}");
}

#[tokio::test]
async fn bad_versions_and_clauses() {
    let ctx = fixture_context();
    let e = try_query(&ctx, "SELECT * FROM table0 AT (VERSION => 99)").await.unwrap_err();
    let b = bazof_error(&e).expect("bazof error");
    assert_eq!(b.kind, ErrorKind::NotFound);
    assert!(b.message.contains("version 99"), "{}", b.message);
    let e = BazofTableProvider::at_version(&fixture_dir("bazof-0.1"), "table0", 99).unwrap_err();
    assert_eq!(bazof_error(&e).map(|b| b.kind), Some(ErrorKind::NotFound));

    for (sql, needle) in [
        ("SELECT * FROM table0 AT (VERSION => -1)", "non-negative"),
        ("SELECT * FROM table0 AT (COLOUR => 1)", "unknown AT argument"),
        ("SELECT * FROM table0 AT (VERSION => 1, VERSION => 1)", "twice"),
        ("SELECT * FROM table0 AT (VERSION => 1, SYSTEM_TIME => '2024-01-01')", "not both"),
        ("SELECT * FROM table0 BEFORE (VERSION => 1)", "not supported"),
        ("SELECT * FROM table0 AT ()", "needs arguments"),
        // Legacy tables record no commit times.
        ("SELECT * FROM table0 FOR SYSTEM_TIME AS OF '2024-01-01'", "no commit times"),
        // A CTE is not a bazof table, even if it shares a name.
        ("WITH table0 AS (SELECT 1 AS x) SELECT * FROM table0 AT (VERSION => 1)", "not a bazof table"),
    ] {
        let e = try_query(&ctx, sql).await.unwrap_err();
        assert!(e.to_string().contains(needle), "{sql}: {e}");
    }
    // A CTE shadowing a table name reads the CTE.
    let rows = query(&ctx, "WITH table0 AS (SELECT 1 AS x) SELECT x FROM table0").await;
    assert_eq!(rows, vec![vec!["1".to_string()]]);
}
