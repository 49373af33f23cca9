//! Builds the example SLPs in `slp-guests/` for `wasm32-wasip2`, so that one
//! `cargo build` of the host builds everything and the binary can embed the
//! bundled SLPs. Outputs: `target/guests/wasm32-wasip2/release/{echo,conformance,hostile}.wasm`.
//!
//! Installs the `wasm32-wasip2` target through rustup when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const GUESTS: [&str; 5] = ["echo", "conformance", "hostile", "versioned", "hunt"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.parent().expect("host/ has a parent").to_path_buf();
    let guests = root.join("slp-guests");
    for watched in [
        "slp-guests/Cargo.toml",
        "slp-guests/Cargo.lock",
        "slp-guests/.cargo/config.toml",
        "slp-guests/sdk",
        "slp-guests/echo",
        "slp-guests/conformance",
        "slp-guests/hostile",
        "slp-guests/versioned",
        "slp-guests/hunt",
        "wit",
        "host/jsip/src",
        "host/jsip/Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target").join("guests");
    let out = target_dir.join(TARGET).join("release");
    println!("cargo:rustc-env=SLP_GUEST_DIR={}", out.display());

    ensure_target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&guests)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    // The outer build's flags and wrappers are for the host, not for guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run cargo to build the SLP guests: {e}"));
    if !status.success() {
        panic!("building the SLP guests in {} failed ({status})", guests.display());
    }
    for g in GUESTS {
        let wasm = out.join(format!("{g}.wasm"));
        assert!(wasm.exists(), "guest build did not produce {}", wasm.display());
    }
}

/// Adds the wasm32-wasip2 target with rustup when the toolchain lacks it.
fn ensure_target() {
    let sysroot = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let installed = sysroot.is_some_and(|s| Path::new(&s).join("lib/rustlib").join(TARGET).exists());
    if installed {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup (needed to build the example SLPs)");
    let ok = Command::new("rustup").args(["target", "add", TARGET]).status().is_ok_and(|s| s.success());
    if !ok {
        panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed; install it and build again"
        );
    }
}
