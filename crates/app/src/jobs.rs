//! Background jobs: long work (training the classifier takes tens of seconds) is queued by
//! a request, which answers at once with the job, and run by a worker of whichever app server
//! claims it (`wuzhi_store::jobs::claim`: one statement, a lease renewed while it runs, taken
//! again when a server died). The job's stage and progress are in the database, so any server
//! answers `GET /api/jobs/{id}`. At most one job of a kind is queued or running; asking again
//! gives the one under way.
//!
//! The kinds and their runners are listed in [`crate::job_kinds`] (the composition root), so
//! this kernel file knows no module.

use crate::{App, AppError, Result};
use serde::Serialize;
use wuzhi_domain::Actor;

/// How long a claim holds without a word from its runner.
const LEASE_MS: i64 = 60_000;
/// Claims that may lapse (the server stopped while running it) before the job is given up.
const MAX_ATTEMPTS: i64 = 3;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    /// queued, running, done or failed.
    pub state: String,
    /// 0 to 1.
    pub progress: f64,
    /// What the job is doing now, as a code (training: `reading`, `training`, `saving`).
    pub stage: String,
    /// What a finished job made (for training: the new version).
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Why a failed job failed.
    pub error: Option<String>,
    pub created_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
}

fn view(r: wuzhi_store::jobs::JobRow) -> JobView {
    JobView {
        id: r.id,
        kind: r.kind,
        state: r.state,
        progress: r.progress,
        stage: r.stage,
        result: r.result.and_then(|t| serde_json::from_str(&t).ok()),
        error: r.error,
        created_at_ms: r.created_at_ms,
        started_at_ms: r.started_at_ms,
        finished_at_ms: r.finished_at_ms,
    }
}

/// Queues a job of `kind` (the caller has checked the permission and the input), or gives
/// the one of that kind already under way: one in the whole system, or with `per_person` one
/// per asker — whose parameters must then be the same, or the answer is a conflict naming
/// the one under way.
pub(crate) async fn enqueue(
    app: &App,
    kind: &str,
    requested_by: Option<i64>,
    per_person: bool,
    params: Option<serde_json::Value>,
) -> Result<JobView> {
    let scope_key = match (per_person, requested_by) {
        (true, Some(p)) => p.to_string(),
        (true, None) => "system".to_owned(),
        (false, _) => String::new(),
    };
    let params = params.map(|p| p.to_string());
    let same = |j: &wuzhi_store::jobs::JobRow| -> Result<()> {
        if per_person && j.params != params {
            return Err(AppError::Conflict {
                field: "job".into(),
                reason: format!("job {} of yours is under way; wait for it to end", j.id),
            });
        }
        Ok(())
    };
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if let Some(j) = wuzhi_store::jobs::active(&mut tx, kind, &scope_key).await? {
        same(&j)?;
        return Ok(view(j));
    }
    let id = match wuzhi_store::jobs::insert(&mut tx, kind, &scope_key, requested_by, params.as_deref(), now).await {
        Ok(id) => id,
        // Another server queued one between the look and the insert: that one it is.
        Err(wuzhi_store::StoreError::Unique(_)) => {
            drop(tx);
            let mut conn = app.db.read().await?;
            let j = wuzhi_store::jobs::active(&mut conn, kind, &scope_key)
                .await?
                .ok_or_else(|| AppError::Internal("a job of this kind vanished".into()))?;
            same(&j)?;
            return Ok(view(j));
        }
        Err(e) => return Err(e.into()),
    };
    let row = wuzhi_store::jobs::get(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("job {id}")))?;
    wuzhi_store::commit(tx).await?;
    Ok(view(row))
}

/// A job, for the person who asked for it or a city administrator.
pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<JobView> {
    let mut conn = app.db.read().await?;
    let row = wuzhi_store::jobs::get(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("job {id}")))?;
    if row.requested_by != Some(actor.person_id) && !actor.is_city_admin() {
        return Err(AppError::not_found(format!("job {id}")));
    }
    Ok(view(row))
}

/// The newest jobs (city administrators).
pub async fn recent(app: &App, actor: &Actor) -> Result<Vec<JobView>> {
    crate::require_city_admin(wuzhi_domain::work::Caller::Person(actor), "read the background jobs")?;
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::jobs::recent(&mut conn, 50).await?.into_iter().map(view).collect())
}

/// What a runner reports while it works; each report renews the claim.
#[derive(Clone)]
pub struct Progress {
    app: std::sync::Arc<App>,
    id: i64,
    worker: String,
}

impl Progress {
    /// The job's id.
    pub fn job_id(&self) -> i64 {
        self.id
    }

    /// Records the stage and progress (0 to 1). An error here (the claim lapsed and another
    /// server took the job) stops the runner.
    pub async fn report(&self, stage: &str, progress: f64) -> Result<()> {
        let now = self.app.now_ms();
        let mut tx = self.app.db.write().await?;
        let held = wuzhi_store::jobs::progress(&mut tx, self.id, &self.worker, stage, progress, now + LEASE_MS).await?;
        wuzhi_store::commit(tx).await?;
        if held { Ok(()) } else { Err(AppError::Internal(format!("job {} was taken by another server", self.id))) }
    }
}

/// A runner: does the job (asked by the person, with the parameters) and gives its result.
pub type Runner = for<'a> fn(
    &'a std::sync::Arc<App>,
    Option<i64>,
    Option<serde_json::Value>,
    Progress,
) -> futures_util::future::BoxFuture<'a, Result<serde_json::Value>>;

/// Runs at most one job: claims the oldest waiting one and runs it to its end, renewing its
/// claim every 20 seconds meanwhile. Returns the job's id when one ran.
pub async fn run_once(app: &std::sync::Arc<App>, worker: &str) -> Result<Option<i64>> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    wuzhi_store::jobs::give_up_lapsed(&mut tx, now, MAX_ATTEMPTS).await?;
    let claimed = wuzhi_store::jobs::claim(&mut tx, worker, now, now + LEASE_MS).await?;
    wuzhi_store::commit(tx).await?;
    let Some(job) = claimed else { return Ok(None) };
    let progress = Progress { app: app.clone(), id: job.id, worker: worker.to_owned() };
    let outcome = match crate::job_kinds().iter().find(|(k, _)| *k == job.kind) {
        Some((_, run)) => {
            // The claim is renewed while the runner works, even through a long step that
            // reports nothing.
            let keeper = progress.clone();
            let renew = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(20)).await;
                    let _ = keeper.report_lease().await;
                }
            });
            let params = job.params.as_deref().and_then(|p| serde_json::from_str(p).ok());
            let out = run(app, job.requested_by, params, progress).await;
            renew.abort();
            out
        }
        None => Err(AppError::Internal(format!("no runner for jobs of kind {}", job.kind))),
    };
    let text = match &outcome {
        Ok(v) => Ok(v.to_string()),
        Err(e) => Err(match e {
            AppError::Internal(d) => {
                tracing::error!(job = job.id, kind = %job.kind, error = %d, "job failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        }),
    };
    let mut tx = app.db.write().await?;
    let text = text.as_ref().map(String::as_str).map_err(String::as_str);
    wuzhi_store::jobs::finish(&mut tx, job.id, worker, text, app.now_ms()).await?;
    wuzhi_store::commit(tx).await?;
    Ok(Some(job.id))
}

impl Progress {
    /// Adds the next chunk (numbered from 0) of the file the job makes; an error when the
    /// claim lapsed and another server took the job.
    pub async fn write_chunk(&self, seq: i64, bytes: &[u8]) -> Result<()> {
        let mut tx = self.app.db.write().await?;
        if seq == 0 {
            wuzhi_store::jobs::clear_file(&mut tx, self.id).await?;
        }
        let held = wuzhi_store::jobs::add_file_chunk(&mut tx, self.id, &self.worker, seq, bytes).await?;
        wuzhi_store::commit(tx).await?;
        if held { Ok(()) } else { Err(AppError::Internal(format!("job {} was taken by another server", self.id))) }
    }

    /// Renews the claim without a new stage.
    async fn report_lease(&self) -> Result<()> {
        let now = self.app.now_ms();
        let mut tx = self.app.db.write().await?;
        wuzhi_store::jobs::renew(&mut tx, self.id, &self.worker, now + LEASE_MS).await?;
        wuzhi_store::commit(tx).await?;
        Ok(())
    }
}

/// A file a job made: its type and name (from the job's result) and its chunks.
pub struct JobFile {
    pub content_type: String,
    pub name: String,
    pub chunks: i64,
}

/// The file job `id` made, for the person who asked for it only (what an export holds is
/// what its asker may read). Not found while the job runs, when it made none, or after the
/// retention period ([`crate::retention::JOB_FILE_DAYS`]).
pub async fn file(app: &App, actor: &Actor, id: i64) -> Result<JobFile> {
    let mut conn = app.db.read().await?;
    let missing = || AppError::not_found(format!("file of job {id}"));
    let row = wuzhi_store::jobs::get(&mut conn, id).await?.ok_or_else(missing)?;
    if row.requested_by != Some(actor.person_id) || row.state != "done" {
        return Err(missing());
    }
    let result: serde_json::Value =
        row.result.as_deref().and_then(|r| serde_json::from_str(r).ok()).ok_or_else(missing)?;
    let (Some(content_type), Some(name)) = (result["content_type"].as_str(), result["file_name"].as_str()) else {
        return Err(missing());
    };
    let chunks = wuzhi_store::jobs::file_chunks(&mut conn, id).await?;
    if chunks == 0 {
        return Err(missing());
    }
    Ok(JobFile { content_type: content_type.to_owned(), name: name.to_owned(), chunks })
}

/// Chunk `seq` of job `id`'s file (after [`file`] allowed it).
pub async fn file_chunk(app: &App, id: i64, seq: i64) -> Result<Vec<u8>> {
    let mut conn = app.db.read().await?;
    wuzhi_store::jobs::file_chunk(&mut conn, id, seq)
        .await?
        .ok_or_else(|| AppError::not_found(format!("chunk {seq} of job {id}")))
}
