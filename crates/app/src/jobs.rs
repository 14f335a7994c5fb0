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
/// the one of that kind already under way.
pub(crate) async fn enqueue(app: &App, kind: &str, requested_by: Option<i64>) -> Result<JobView> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if let Some(j) = wuzhi_store::jobs::active(&mut tx, kind).await? {
        return Ok(view(j));
    }
    let id = match wuzhi_store::jobs::insert(&mut tx, kind, requested_by, now).await {
        Ok(id) => id,
        // Another server queued one between the look and the insert: that one it is.
        Err(wuzhi_store::StoreError::Unique(_)) => {
            drop(tx);
            let mut conn = app.db.read().await?;
            return wuzhi_store::jobs::active(&mut conn, kind)
                .await?
                .map(view)
                .ok_or_else(|| AppError::Internal("a job of this kind vanished".into()));
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

/// A runner: does the job and gives its result.
pub type Runner = for<'a> fn(
    &'a std::sync::Arc<App>,
    Option<i64>,
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
            let out = run(app, job.requested_by, progress).await;
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
    /// Renews the claim without a new stage.
    async fn report_lease(&self) -> Result<()> {
        let now = self.app.now_ms();
        let mut tx = self.app.db.write().await?;
        wuzhi_store::jobs::renew(&mut tx, self.id, &self.worker, now + LEASE_MS).await?;
        wuzhi_store::commit(tx).await?;
        Ok(())
    }
}
