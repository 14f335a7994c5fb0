//! `wuzhi backup --to DIR` and `wuzhi restore --from DIR`: a consistent copy of a city's data
//! while its servers run, and its return into a new data directory (or an empty PostgreSQL
//! database), checked against what the backup recorded.
//!
//! A backup holds the database (SQLite: a snapshot by `VACUUM INTO`, one moment of it;
//! PostgreSQL: `pg_dump --format=custom`, one snapshot transaction, with the stored files
//! that live in the database there), the stored files of the data directory (attachments and
//! visit photos on SQLite, content-addressed and never changed, copied after the database,
//! so every file the copy names is there), and `MANIFEST.json` (when, which
//! version, the database file's SHA-256, the rows of the main tables, the files). It does not
//! hold the archives' keys: a city keeps them apart from the database and its backups, and
//! restores them beside it. The search index is rebuilt from the database on the first start.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The tables whose rows a backup counts, and a restore compares.
pub const COUNTED: &[&str] = &[
    "territories",
    "organisations",
    "people",
    "accounts",
    "memberships",
    "cases",
    "case_events",
    "work_heads",
    "outbox",
    "audit_log",
    "attachments",
    "archive_people",
    "archive_changes",
    "gridwork_patrols",
    "gridwork_visits",
    "gridwork_shares",
];

#[derive(serde::Serialize, serde::Deserialize, Debug)]
struct Manifest {
    format: u32,
    created_at_ms: i64,
    wuzhi_version: String,
    backend: String,
    /// The database's file in the backup and its SHA-256.
    database_file: String,
    database_sha256: String,
    /// Rows per table at the moment of the copy (SQLite; from the copy itself).
    counts: Vec<(String, i64)>,
    files: usize,
    file_bytes: u64,
}

fn sha256_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Copies the files under `from` to `to` (two levels: `ab/abcdef…`); returns (files, bytes).
fn copy_files(from: &Path, to: &Path) -> Result<(usize, u64), String> {
    let mut n = 0;
    let mut bytes = 0;
    if !from.is_dir() {
        return Ok((0, 0));
    }
    let mut stack = vec![from.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            let rel = p.strip_prefix(from).map_err(|e| e.to_string())?;
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|f| !f.to_string_lossy().starts_with('.')) {
                let target = to.join(rel);
                std::fs::create_dir_all(target.parent().expect("inside to")).map_err(|e| e.to_string())?;
                bytes += std::fs::copy(&p, &target).map_err(|e| format!("{}: {e}", p.display()))?;
                n += 1;
            }
        }
    }
    Ok((n, bytes))
}

fn empty_or_missing(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(true)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Writes a backup of the database at `url` and the files under `files_dir` into `to`.
pub async fn backup(url: &str, files_dir: &Path, to: &Path) -> Result<(), String> {
    if !empty_or_missing(to) {
        return Err(format!("{}: the backup folder must be new or empty", to.display()));
    }
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let (backend, database_file, counts) = if url.starts_with("sqlite:") {
        let db = wuzhi_store::Db::connect(url, 2).await.map_err(|e| e.to_string())?;
        let file = to.join("wuzhi.sqlite");
        db.snapshot_sqlite(&file).await.map_err(|e| format!("snapshot: {e}"))?;
        db.close().await;
        // The counts are the copy's own.
        let copy =
            wuzhi_store::Db::connect(&format!("sqlite://{}", file.display()), 1).await.map_err(|e| e.to_string())?;
        let counts = copy.count_rows(COUNTED).await.map_err(|e| e.to_string())?;
        copy.close().await;
        // Closing the copy's last connection folds its journal back in; what is left beside
        // it is empty (and removed), so the backup is one file.
        let wal = to.join("wuzhi.sqlite-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return Err(format!("{}: the copy's journal was not folded back in", wal.display()));
        }
        for ext in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(to.join(format!("wuzhi.sqlite{ext}")));
        }
        ("sqlite", "wuzhi.sqlite", counts)
    } else {
        let file = to.join("wuzhi.pgdump");
        let out = std::process::Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
            .arg(&file)
            .arg(url)
            .output()
            .map_err(|e| format!("pg_dump: {e} (install the PostgreSQL client programs)"))?;
        if !out.status.success() {
            return Err(format!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        ("postgres", "wuzhi.pgdump", vec![])
    };
    let database_sha256 = sha256_file(&to.join(database_file))?;
    let (files, file_bytes) = copy_files(files_dir, &to.join("files"))?;
    let m = Manifest {
        format: 1,
        created_at_ms: now_ms(),
        wuzhi_version: env!("CARGO_PKG_VERSION").into(),
        backend: backend.into(),
        database_file: database_file.into(),
        database_sha256,
        counts,
        files,
        file_bytes,
    };
    let text = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
    std::fs::write(to.join("MANIFEST.json"), text).map_err(|e| e.to_string())?;
    println!(
        "backup written to {}: {} database, {} files ({:.1} MB); the archives' keys are not in it — keep them apart",
        to.display(),
        backend,
        files,
        file_bytes as f64 / 1e6
    );
    for (t, n) in &m.counts {
        println!("  {t:<20} {n}");
    }
    Ok(())
}

/// Restores the backup in `from` into the database at `url` (a SQLite file that does not
/// exist yet, or an empty PostgreSQL database) and the files into `files_dir`; checks the
/// database file against its SHA-256 before, and the rows against the manifest after.
/// Returns the restored database's URL for the checks that follow (migrations, audit).
pub async fn restore(from: &Path, url: &str, files_dir: &Path) -> Result<Vec<(String, i64)>, String> {
    let text = std::fs::read_to_string(from.join("MANIFEST.json"))
        .map_err(|e| format!("{}: {e} (not a wuzhi backup?)", from.join("MANIFEST.json").display()))?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| format!("MANIFEST.json: {e}"))?;
    if m.format != 1 {
        return Err(format!("MANIFEST.json: format {} is not one this wuzhi reads", m.format));
    }
    let file = from.join(&m.database_file);
    let sha = sha256_file(&file)?;
    if sha != m.database_sha256 {
        return Err(format!("{}: its SHA-256 is not the one the backup recorded; the copy is damaged", file.display()));
    }
    match (m.backend.as_str(), url.starts_with("sqlite:")) {
        ("sqlite", true) => {
            let path = PathBuf::from(url.trim_start_matches("sqlite://").trim_start_matches("sqlite:"));
            let path = PathBuf::from(path.to_string_lossy().split('?').next().unwrap_or_default());
            if path.exists() {
                return Err(format!(
                    "{}: a database is already there; restore into a new data directory",
                    path.display()
                ));
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::copy(&file, &path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        ("postgres", false) => {
            let db = wuzhi_store::Db::connect(url, 1).await.map_err(|e| e.to_string())?;
            let filled = db.count_rows(&["territories"]).await.map_err(|e| e.to_string())?;
            db.close().await;
            if filled.iter().any(|(_, n)| *n > 0) {
                return Err("the target database is not empty; restore into a new database".into());
            }
            let out = std::process::Command::new("pg_restore")
                .args(["--no-owner", "--no-privileges", "--clean", "--if-exists", "--dbname"])
                .arg(url)
                .arg(&file)
                .output()
                .map_err(|e| format!("pg_restore: {e} (install the PostgreSQL client programs)"))?;
            if !out.status.success() {
                return Err(format!("pg_restore failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
            }
        }
        (b, _) => return Err(format!("a {b} backup goes back into a {b} database")),
    }
    if !empty_or_missing(files_dir) {
        return Err(format!("{}: the files folder must be new or empty", files_dir.display()));
    }
    let (files, _) = copy_files(&from.join("files"), files_dir)?;
    if files != m.files {
        return Err(format!("{files} files restored, the backup recorded {}", m.files));
    }
    let db = wuzhi_store::Db::connect(url, 1).await.map_err(|e| e.to_string())?;
    let counts = db.count_rows(COUNTED).await.map_err(|e| e.to_string())?;
    db.close().await;
    if !m.counts.is_empty() && counts != m.counts {
        let diff: Vec<String> = counts
            .iter()
            .zip(&m.counts)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{}: {} restored, {} recorded", a.0, a.1, b.1))
            .collect();
        return Err(format!("the restored rows differ from the backup's: {}", diff.join("; ")));
    }
    Ok(counts)
}
