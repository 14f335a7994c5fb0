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

/// The modules as folders of `crates/app/src` (the work-item kernel `work` is a layer, not a
/// module).
fn modules() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("crates/app/src"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (p.is_dir() && name != "work" && name != "kernel").then_some(name)
        })
        .collect();
    out.sort();
    out
}

/// The files of module `m` in a crate's `src`: its folder's, or its one file.
fn module_files(src: &Path, m: &str) -> Vec<PathBuf> {
    if src.join(m).is_dir() {
        rust_files(&src.join(m))
    } else if src.join(format!("{m}.rs")).is_file() {
        vec![src.join(format!("{m}.rs"))]
    } else {
        Vec::new()
    }
}

/// The names of module `m`'s inner files in a crate's `src` (`cases/steps.rs` → `steps`).
fn insides(src: &Path, m: &str) -> Vec<String> {
    module_files(src, m)
        .iter()
        .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| s != "mod" && s != m)
        .collect()
}

#[test]
fn the_modules_have_the_same_folder_in_every_layer() {
    let modules = modules();
    for m in ["cases", "open311", "text"] {
        assert!(modules.iter().any(|x| x == m), "crates/app/src/{m}/ is a module folder: {modules:?}");
    }
    assert!(root().join("crates/app/src/work").is_dir() && root().join("crates/store/src/work.rs").is_file());
    for m in &modules {
        assert!(
            root().join("crates/web/src/api").join(format!("{m}.rs")).is_file(),
            "crates/web/src/api/{m}.rs declares the routes of module `{m}`"
        );
        let routes = std::fs::read_to_string(root().join("crates/web/src/api").join(format!("{m}.rs"))).unwrap();
        assert!(routes.contains("pub fn routes() -> OpenApiRouter<AppState>"), "api/{m}.rs declares its routes once");
    }
    assert!(root().join("crates/store/src/cases").is_dir() && root().join("crates/domain/src/cases").is_dir());
}

/// A module reaches another only through what the other offers at its root (its public use
/// cases, its published types), never through its inner files — in the store, the use cases
/// and the web edge alike. An API file uses the shared types of `api/mod.rs`, never another
/// module's handlers.
#[test]
fn a_module_uses_no_other_modules_insides() {
    let modules = modules();
    for krate in ["store", "app"] {
        let src = root().join("crates").join(krate).join("src");
        for m in &modules {
            for f in module_files(&src, m) {
                let text = std::fs::read_to_string(&f).unwrap();
                for other in modules.iter().filter(|o| *o != m) {
                    for inner in insides(&src, other) {
                        let bad = [
                            format!("crate::{other}::{inner}::"),
                            format!("crate::{other}::{inner};"),
                            format!("crate::{other}::{{{inner}"),
                        ];
                        for (i, line) in text.lines().enumerate() {
                            assert!(
                                !bad.iter().any(|b| line.contains(b.as_str())),
                                "{}:{}: module `{m}` reaches into `{other}::{inner}`; use what `{other}` offers at its root",
                                f.display(),
                                i + 1
                            );
                        }
                    }
                }
            }
        }
    }
    let api = root().join("crates/web/src/api");
    for m in &modules {
        let f = api.join(format!("{m}.rs"));
        let text = std::fs::read_to_string(&f).unwrap();
        for other in modules.iter().chain(std::iter::once(&"kernel".to_owned())).filter(|o| *o != m) {
            for (i, line) in text.lines().enumerate() {
                assert!(
                    !line.contains(&format!("super::{other}::")) && !line.contains(&format!("api::{other}::")),
                    "{}:{}: api/{m}.rs uses api/{other}.rs; shared types live in api/mod.rs",
                    f.display(),
                    i + 1
                );
            }
        }
    }
}

/// The OpenAPI document names each schema after its type, and two types of one name (a
/// module's `PersonView` and the kernel's) would silently share one schema, the second
/// overwriting the first, so that the document described the wrong shape for one of them.
/// Each `ToSchema` type's name is unique across the crates, or renamed with
/// `#[schema(as = …)]`.
#[test]
fn schema_names_are_unique() {
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for krate in ["domain", "app", "web", "store"] {
        for f in rust_files(&root().join("crates").join(krate).join("src")) {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if !(line.contains("derive(") && line.contains("ToSchema")) {
                    continue;
                }
                // The attributes up to the item, then its name.
                let mut renamed = false;
                for l in &lines[i + 1..(i + 12).min(lines.len())] {
                    let t = l.trim();
                    renamed |= t.contains("schema(as");
                    let item = ["pub struct ", "pub enum ", "struct ", "enum "].iter().find_map(|k| t.strip_prefix(k));
                    if let Some(rest) = item {
                        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        if !renamed {
                            let at = format!("{}:{}", f.strip_prefix(root()).unwrap_or(&f).display(), i + 1);
                            seen.entry(name).or_default().push(at);
                        }
                        break;
                    }
                }
            }
        }
    }
    let twice: Vec<String> =
        seen.iter().filter(|(_, at)| at.len() > 1).map(|(n, at)| format!("{n}: {}", at.join(", "))).collect();
    assert!(twice.is_empty(), "schema names used twice (rename one with #[schema(as = …)]):\n{}", twice.join("\n"));
}
