//! Photos and documents on cases (附件): checked for type (by their first bytes, which must
//! agree with the declared type) and size, stored content-addressed under the data
//! directory (`files/ab/abcdef…`, written to a temporary file, synced and renamed, so a
//! crash never leaves half a file under a real name), and served only to those who may
//! read the case.

use crate::{App, AppError, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use wuzhi_domain::Actor;
use wuzhi_domain::cases::Command;
use wuzhi_domain::text;
use wuzhi_domain::work::Caller;
use wuzhi_store::cases::AttachmentRow;

pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// The types accepted, by their signature bytes.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub case_id: i64,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at_ms: i64,
    /// Where to fetch it.
    pub url: String,
}

fn view(a: AttachmentRow) -> AttachmentView {
    AttachmentView {
        url: format!("/api/attachments/{}", a.id),
        id: a.id,
        case_id: a.case_id,
        name: a.name,
        content_type: a.content_type,
        size_bytes: a.size_bytes,
        sha256: a.sha256,
        created_at_ms: a.created_at_ms,
    }
}

fn path_of(app: &App, sha: &str) -> PathBuf {
    app.settings.files_dir.join(&sha[..2]).join(sha)
}

/// Attaches a file to a case the actor may read.
pub async fn upload(
    app: &App,
    actor: &Actor,
    case_id: i64,
    name: &str,
    declared: Option<&str>,
    bytes: Vec<u8>,
) -> Result<AttachmentView> {
    // Only someone who may read the case may add to it; they are told so before anything else.
    crate::cases::get(app, actor, case_id, false).await?;
    let name = text::name("name", name, 200)?;
    let (sha, kind, size) = store_file(app, declared, bytes).await?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let mut row = AttachmentRow {
        id: 0,
        case_id,
        sha256: sha,
        content_type: kind.into(),
        size_bytes: size,
        name: name.clone(),
        uploaded_by: Some(actor.person_id),
        created_at_ms: now,
    };
    row.id = wuzhi_store::cases::insert_attachment(&mut tx, &row).await?;
    let mut case = wuzhi_store::cases::get(&mut tx, case_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("case {case_id}")))?;
    let state = crate::cases::state_of(&case)?;
    let caller = Caller::Person(actor);
    let rel = crate::cases::relation(caller, &case)?;
    let attach = Command::Attach { attachment: row.id, name };
    crate::cases::step_in(&mut tx, &mut case, &state, &rel, &attach, caller, None, now).await?;
    wuzhi_store::commit(tx).await?;
    Ok(view(row))
}

pub async fn list(app: &App, actor: &Actor, case_id: i64) -> Result<Vec<AttachmentView>> {
    crate::cases::get(app, actor, case_id, false).await?;
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::cases::attachments_of(&mut conn, case_id).await?.into_iter().map(view).collect())
}

/// The file's bytes and type, for someone who may read its case.
pub async fn download(app: &App, actor: &Actor, id: i64) -> Result<(String, String, Vec<u8>)> {
    let mut conn = app.db.read().await?;
    let a = wuzhi_store::cases::get_attachment(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("attachment {id}")))?;
    drop(conn);
    crate::cases::get(app, actor, a.case_id, false).await?;
    let bytes = read_file(app, &a.sha256).await?;
    Ok((a.content_type, a.name, bytes))
}

/// A file kept by its content (checked: a JPEG, PNG or WebP image or a PDF within the size
/// limit, as declared), written durably before its row names it: (sha256, type, bytes).
pub(crate) async fn store_file(
    app: &App,
    declared: Option<&str>,
    bytes: Vec<u8>,
) -> Result<(String, &'static str, i64)> {
    if bytes.is_empty() {
        return Err(AppError::invalid("body", "the file is empty"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(AppError::invalid(
            "body",
            format!("the file has {} bytes; at most {MAX_BYTES} are accepted", bytes.len()),
        ));
    }
    let kind = sniff(&bytes).ok_or_else(|| {
        AppError::invalid("content_type", "only JPEG, PNG, WebP images and PDF documents are accepted")
    })?;
    if let Some(d) = declared.map(|d| d.split(';').next().unwrap_or("").trim()) {
        if d != kind {
            return Err(AppError::invalid("content_type", format!("declared {d} but the file is {kind}")));
        }
    }
    let sha = wuzhi_domain::audit::hex(&Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    if in_database(app) {
        // Every app server sharing the database reads it (a file stored twice is kept once).
        let mut tx = app.db.write().await?;
        wuzhi_store::kernel::put_file(&mut tx, &sha, &bytes, app.now_ms()).await?;
        wuzhi_store::commit(tx).await?;
        return Ok((sha, kind, size));
    }
    let path = path_of(app, &sha);
    if !path.exists() {
        let dir = path.parent().expect("has a parent").to_owned();
        let tmp = dir.join(format!(".{sha}.{}", crate::auth::random_token().get(..8).unwrap_or("0")));
        let target = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            std::fs::create_dir_all(&dir)?;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &target)?;
            std::fs::File::open(&dir)?.sync_all()
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("storing an attachment: {e}")))?;
    }
    Ok((sha, kind, size))
}

/// A stored file's bytes by its sha256 (the caller has checked who may read it).
pub(crate) async fn read_file(app: &App, sha: &str) -> Result<Vec<u8>> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::not_found("file"));
    }
    if in_database(app) {
        let mut conn = app.db.read().await?;
        if let Some(b) = wuzhi_store::kernel::get_file(&mut conn, sha).await? {
            return Ok(b);
        }
        // Stored on disk before the files moved into the database: still read from there.
    }
    tokio::fs::read(path_of(app, sha)).await.map_err(|e| AppError::Internal(format!("reading a file: {e}")))
}

/// Files live in the database on PostgreSQL, where several app servers share it; on SQLite
/// (one server, its data directory) they are files beside the database.
fn in_database(app: &App) -> bool {
    matches!(app.db.backend, wuzhi_store::Backend::Postgres)
}
