//! Links libbazof_c.so, the C API built by CMake (scripts/setup.sh).
//!
//! The library is looked for in `$BAZOF_BUILD_DIR` (default: `<repo>/build`).
//! Test, example and binary targets of this package get an rpath to it, so
//! they run without LD_LIBRARY_PATH; the library's own rpath finds Arrow C++.
use std::path::PathBuf;

/// The C API version these bindings were written against (BAZOF_C_API_VERSION).
const C_API_VERSION: &str = "1";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest.join("../..").canonicalize().expect("repository root");
    println!("cargo:rerun-if-env-changed=BAZOF_BUILD_DIR");
    let build_dir = match std::env::var_os("BAZOF_BUILD_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repo.join("build"),
    };
    let lib = build_dir.join("libbazof_c.so");
    if !lib.exists() {
        panic!(
            "{} not found: build the C API first (scripts/setup.sh), or point BAZOF_BUILD_DIR at a CMake build of bazof",
            lib.display()
        );
    }
    let build_dir = build_dir.canonicalize().unwrap();

    // The header and the bindings in src/ffi.rs must agree on the version.
    let header = repo.join("include/bazof/bazof.h");
    let text = std::fs::read_to_string(&header).expect("include/bazof/bazof.h");
    let declared = text.lines().find_map(|l| l.strip_prefix("#define BAZOF_C_API_VERSION ")).map(str::trim);
    if declared != Some(C_API_VERSION) {
        panic!(
            "{} declares BAZOF_C_API_VERSION {:?}; src/ffi.rs is written for {}",
            header.display(),
            declared,
            C_API_VERSION
        );
    }

    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed={}", lib.display());
    println!("cargo:rustc-link-search=native={}", build_dir.display());
    println!("cargo:rustc-link-lib=dylib=bazof_c");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", build_dir.display());
    // For dependents' build scripts (DEP_BAZOF_C_LIB_DIR).
    println!("cargo:lib_dir={}", build_dir.display());
}
