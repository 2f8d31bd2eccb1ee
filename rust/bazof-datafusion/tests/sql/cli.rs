//! The bazof-sql binary.
use std::process::{Command, Output};

use crate::common::*;

fn bazof_sql(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bazof-sql")).args(args).output().expect("bazof-sql runs")
}

#[test]
fn csv_with_header_and_time_travel() {
    let dir = fixture_dir("bazof-0.1");
    let out =
        bazof_sql(&["--path", &dir, "--format", "csv", "SELECT key, value FROM table0 AT ('2024-02-17') ORDER BY key"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "key,value\n1,abc2\n2,xyz\n");
    // No rows: the header alone.
    let out = bazof_sql(&["--path", &dir, "--format", "csv", "SELECT key, value FROM table0 AT ('2000-01-01')"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "key,value\n");
}

#[test]
fn registers_every_table_under_the_directory() {
    let dir = fixture_dir("bazof-0.1");
    let sql =
        "SELECT (SELECT count(*) FROM table0), (SELECT value FROM ltm_revenue AT ('2019-01-17') WHERE key = 'AAPL')";
    let out = bazof_sql(&["--path", &dir, "--format", "csv", sql]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let row = text.lines().nth(1).expect("a data row");
    assert!(row.starts_with("3,") && row.len() > 2, "{text}");

    let out = bazof_sql(&["--path", &fixture_dir("azof-0.2"), "SELECT key, value FROM table1 ORDER BY key"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| key | value |") && text.contains("| 1   | abc4  |"), "{text}");
}

#[test]
fn errors_are_one_line_with_exit_code_1() {
    let dir = fixture_dir("bazof-0.1");
    for (args, needle) in [
        (vec!["--path", dir.as_str(), "SELECT * FROM nope"], "nope"),
        (vec!["--path", dir.as_str(), "SELECT * FROM table0 AT ('yesterday')"], "yesterday"),
        (vec!["--path", "/no/such/dir", "SELECT 1"], "/no/such/dir"),
        (vec!["--path", dir.as_str(), "SELEC 1"], "SELEC"),
    ] {
        let out = bazof_sql(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("bazof-sql: error: ") && err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
    // Usage errors too: one line, exit code 1.
    for args in [vec!["--path", dir.as_str(), "--format", "xml", "SELECT 1"], vec!["SELECT 1"], vec!["--bogus"]] {
        let out = bazof_sql(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("bazof-sql: error: "), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    assert!(bazof_sql(&["--help"]).status.success());
}

#[test]
fn json_output_is_one_object_per_line() {
    let dir = fixture_dir("bazof-0.1");
    let out = bazof_sql(&[
        "--path",
        &dir,
        "--format",
        "json",
        "SELECT key, value FROM table0 AT ('2024-02-17') ORDER BY key",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"key\":\"1\",\"value\":\"abc2\"}\n{\"key\":\"2\",\"value\":\"xyz\"}\n"
    );
}

#[test]
fn show_tables_lists_the_tables_under_the_path() {
    let dir = fixture_dir("bazof-0.1");
    let out = bazof_sql(&["--path", &dir, "--format", "csv", "SHOW TABLES"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("table_name,location,table,version"));
    let names: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert!(names.contains(&"table0") && names.contains(&"ltm_revenue"), "{text}");
}

#[test]
fn copy_to_parquet_csv_and_json() {
    let dir = fixture_dir("bazof-0.1");
    let out_dir = tempfile::tempdir().unwrap();
    let query = "SELECT key, value FROM table0 AT ('2024-02-17') ORDER BY key";
    for format in ["parquet", "csv", "json"] {
        let target = out_dir.path().join(format!("out.{format}"));
        let sql = format!("COPY ({query}) TO '{}' (FORMAT {format})", target.display());
        let out = bazof_sql(&["--path", &dir, "--format", "csv", &sql]);
        assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "count\n2\n", "{format}");
        assert!(target.is_file(), "{format}: no file");
    }
    // The files' contents (Parquet: its magic at both ends).
    let csv = std::fs::read_to_string(out_dir.path().join("out.csv")).unwrap();
    assert_eq!(csv, "key,value\n1,abc2\n2,xyz\n");
    let json = std::fs::read_to_string(out_dir.path().join("out.json")).unwrap();
    assert_eq!(json.lines().count(), 2, "{json}");
    let parquet = std::fs::read(out_dir.path().join("out.parquet")).unwrap();
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    // An unwritable target: one line, exit code 1.
    let sql = format!("COPY ({query}) TO '/no/such/dir/x.parquet' (FORMAT parquet)");
    let out = bazof_sql(&["--path", &dir, &sql]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("/no/such/dir/x.parquet") && err.trim_end().lines().count() == 1, "{err}");
}
