//! Builds the web pages (`ui/`, front-end libraries from npm through its lockfile) into
//! OUT_DIR, where `lib.rs` embeds them: the binary serves its pages with nothing else
//! installed. A fresh clone has no `ui/node_modules`: `npm ci` fetches them first.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{what}: cannot start it ({e}); install Node.js 20+ and npm"));
    assert!(status.success(), "{what} failed ({status})");
}

fn main() {
    let ui: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
    for p in ["src", "build.mjs", "package.json", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", ui.join(p).display());
    }
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    if !ui.join("node_modules/.package-lock.json").exists() {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&ui), "npm ci (in ui/)");
    }
    run(Command::new("node").arg("build.mjs").arg(&out).current_dir(&ui), "node build.mjs (in ui/)");
}
