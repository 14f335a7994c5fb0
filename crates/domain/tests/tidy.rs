//! Tidy checks of the layout (ARCHITECTURE.md): the arrows between crates, and between the
//! domain's modules. Each module is a folder (`src/cases/`, and the modules to come); the
//! kernel is the top-level files (`work.rs`, `permission.rs`, `mask.rs`, …). A module may use
//! the kernel and nothing of another module: where two modules meet, the one that needs the
//! other goes through the kernel (an event, a shared type), and a failure here names the file
//! and the line.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The crates a crate's `[dependencies]` name.
fn dependencies(krate: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_deps = t == "[dependencies]";
            continue;
        }
        if in_deps {
            if let Some(name) = t.split(['=', '.', ' ']).next().filter(|n| !n.is_empty() && !n.starts_with('#')) {
                out.push(name.to_owned());
            }
        }
    }
    out
}

#[test]
fn the_arrows_between_crates_point_downwards() {
    let forbidden: [(&str, &[&str]); 5] = [
        (
            "domain",
            &[
                "sqlx",
                "axum",
                "tokio",
                "serde_json",
                "wuzhi-store",
                "wuzhi-app",
                "wuzhi-web",
                "wuzhi-geo",
                "wuzhi-text",
            ],
        ),
        ("geo", &["sqlx", "axum", "tokio", "wuzhi-store", "wuzhi-app", "wuzhi-web"]),
        ("text", &["sqlx", "axum", "tokio", "wuzhi-store", "wuzhi-app", "wuzhi-web"]),
        ("store", &["axum", "wuzhi-app", "wuzhi-web", "wuzhi-geo", "wuzhi-text"]),
        ("app", &["axum", "sqlx", "wuzhi-web"]),
    ];
    for (krate, bad) in forbidden {
        let deps = dependencies(krate);
        assert!(!deps.is_empty(), "{krate} has no [dependencies] section to read");
        for b in bad {
            assert!(!deps.iter().any(|d| d == b), "crates/{krate} must not depend on {b} (ARCHITECTURE.md invariants)");
        }
    }
    // Only the store and the web edge write SQL or HTTP types in their sources.
    for (krate, words) in [("domain", &["sqlx::", "axum::", "tokio::"][..]), ("app", &["sqlx::", "axum::"][..])] {
        for f in rust_files(&root().join("crates").join(krate).join("src")) {
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, line) in text.lines().enumerate() {
                for w in words {
                    assert!(!line.contains(w), "{}:{}: {w} has no place in crates/{krate}", f.display(), i + 1);
                }
            }
        }
    }
}

#[test]
fn a_domain_module_uses_the_kernel_and_no_other_module() {
    let src = root().join("crates/domain/src");
    let modules: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            p.is_dir().then(|| p.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    assert!(modules.iter().any(|m| m == "cases"), "the case hub is a module folder: {modules:?}");
    for m in &modules {
        for f in rust_files(&src.join(m)) {
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, line) in text.lines().enumerate() {
                for other in modules.iter().filter(|o| *o != m) {
                    let bad = [format!("crate::{other}::"), format!("crate::{other};"), format!("crate::{other}}}")];
                    assert!(
                        !bad.iter().any(|b| line.contains(b.as_str())),
                        "{}:{}: module `{m}` uses module `{other}`; go through the kernel instead",
                        f.display(),
                        i + 1
                    );
                }
            }
        }
    }
}
