//! Integration tests of bazof-datafusion: SQL over the C API on the shared
//! fixtures and on tables the tests write. One test binary (DataFusion
//! links are slow), one module per concern.
#![allow(dead_code)]
mod cli;
mod common;
mod errors;
mod fixtures;
mod pushdown;
mod time_travel;
mod views;
