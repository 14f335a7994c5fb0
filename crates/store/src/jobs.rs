//! Background jobs (the kernel's `jobs` table, migration 0023).

use crate::{Conn, Result};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub requested_by: Option<i64>,
    pub progress: f64,
    pub stage: String,
    pub result: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    /// The job's parameters, as JSON (an export's filter and format).
    pub params: Option<String>,
    pub created_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
}

const COLS: &str = "id, kind, state, requested_by, progress, stage, result, error, attempts, params, created_at_ms, started_at_ms, finished_at_ms";

fn job(r: &sqlx::any::AnyRow) -> Result<JobRow> {
    Ok(JobRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        requested_by: r.try_get("requested_by")?,
        progress: r.try_get("progress")?,
        stage: r.try_get("stage")?,
        result: r.try_get("result")?,
        error: r.try_get("error")?,
        attempts: r.try_get("attempts")?,
        params: r.try_get("params")?,
        created_at_ms: r.try_get("created_at_ms")?,
        started_at_ms: r.try_get("started_at_ms")?,
        finished_at_ms: r.try_get("finished_at_ms")?,
    })
}

/// Queues a job; a job of the same kind and scope key already queued or running is a unique
/// violation (`uq_jobs_active`). The scope key is '' for a job one at a time in the whole
/// system, the asker's id for one at a time per person.
pub async fn insert(
    conn: &mut Conn,
    kind: &str,
    scope_key: &str,
    requested_by: Option<i64>,
    params: Option<&str>,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO jobs (kind, scope_key, state, requested_by, params, created_at_ms) VALUES ($1, $2, 'queued', $3, $4, $5) RETURNING id",
    )
    .bind(kind)
    .bind(scope_key)
    .bind(requested_by)
    .bind(params)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<JobRow>> {
    let sql = format!("SELECT {COLS} FROM jobs WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(job).transpose()
}

/// The job of `kind` and `scope_key` queued or running, if any.
pub async fn active(conn: &mut Conn, kind: &str, scope_key: &str) -> Result<Option<JobRow>> {
    let sql = format!("SELECT {COLS} FROM jobs WHERE kind = $1 AND scope_key = $2 AND state IN ('queued', 'running')");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kind)
        .bind(scope_key)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(job)
        .transpose()
}

/// Adds the next chunk of the file job `id` makes, while `worker` still holds it; false when
/// it does not.
pub async fn add_file_chunk(conn: &mut Conn, id: i64, worker: &str, seq: i64, bytes: &[u8]) -> Result<bool> {
    let held: Option<i64> =
        sqlx::query_scalar("SELECT id FROM jobs WHERE id = $1 AND worker = $2 AND state = 'running'")
            .bind(id)
            .bind(worker)
            .fetch_optional(&mut *conn)
            .await?;
    if held.is_none() {
        return Ok(false);
    }
    sqlx::query("INSERT INTO job_files (job_id, seq, bytes) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(seq)
        .bind(bytes)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// Forgets what an earlier run of job `id` wrote (a lapsed claim taken again starts over).
pub async fn clear_file(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM job_files WHERE job_id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// The number of chunks of job `id`'s file.
pub async fn file_chunks(conn: &mut Conn, id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM job_files WHERE job_id = $1").bind(id).fetch_one(&mut *conn).await?)
}

/// Chunk `seq` of job `id`'s file.
pub async fn file_chunk(conn: &mut Conn, id: i64, seq: i64) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar("SELECT bytes FROM job_files WHERE job_id = $1 AND seq = $2")
        .bind(id)
        .bind(seq)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Deletes the files of at most `limit` jobs that ended before `cutoff_ms`.
pub async fn purge_files(conn: &mut Conn, cutoff_ms: i64, limit: i64) -> Result<u64> {
    let sql = format!(
        "DELETE FROM job_files WHERE job_id IN (SELECT DISTINCT f.job_id FROM job_files f JOIN jobs j ON j.id = f.job_id \
         WHERE j.state IN ('done', 'failed') AND j.finished_at_ms < $1 LIMIT {limit})"
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cutoff_ms).execute(&mut *conn).await?.rows_affected())
}

/// The newest jobs, newest first.
pub async fn recent(conn: &mut Conn, limit: i64) -> Result<Vec<JobRow>> {
    let sql = format!("SELECT {COLS} FROM jobs ORDER BY id DESC LIMIT $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(&mut *conn).await?.iter().map(job).collect()
}

/// Claims the oldest job that is queued, or running under a lease that lapsed (its server
/// stopped), for `worker` until `lease_until_ms`. One statement: two servers never both
/// claim one job.
pub async fn claim(conn: &mut Conn, worker: &str, now_ms: i64, lease_until_ms: i64) -> Result<Option<JobRow>> {
    let sql = format!(
        "UPDATE jobs SET state = 'running', worker = $1, lease_until_ms = $2, attempts = attempts + 1, \
         started_at_ms = COALESCE(started_at_ms, $3) \
         WHERE id = (SELECT id FROM jobs WHERE state = 'queued' OR (state = 'running' AND lease_until_ms < $3) ORDER BY id LIMIT 1) \
         AND (state = 'queued' OR (state = 'running' AND lease_until_ms < $3)) RETURNING {COLS}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(worker)
        .bind(lease_until_ms)
        .bind(now_ms)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(job)
        .transpose()
}

/// Renews the lease and records progress, while `worker` still holds the job; false when it
/// does not (it lapsed and another server took the job).
pub async fn progress(
    conn: &mut Conn,
    id: i64,
    worker: &str,
    stage: &str,
    progress: f64,
    lease_until_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE jobs SET stage = $3, progress = $4, lease_until_ms = $5 WHERE id = $1 AND worker = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(stage)
    .bind(progress)
    .bind(lease_until_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Gives up the jobs whose claim lapsed `max_attempts` times (their server stopped each time,
/// perhaps because of the job itself), so they do not run forever nor hold their kind.
pub async fn give_up_lapsed(conn: &mut Conn, now_ms: i64, max_attempts: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE jobs SET state = 'failed', error = 'its server stopped each time it ran', finished_at_ms = $1 \
         WHERE state = 'running' AND lease_until_ms < $1 AND attempts >= $2",
    )
    .bind(now_ms)
    .bind(max_attempts)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Renews the lease of the job `worker` holds.
pub async fn renew(conn: &mut Conn, id: i64, worker: &str, lease_until_ms: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE jobs SET lease_until_ms = $3 WHERE id = $1 AND worker = $2 AND state = 'running'")
        .bind(id)
        .bind(worker)
        .bind(lease_until_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

/// Ends the job `worker` holds: done with its result, or failed with the reason.
pub async fn finish(
    conn: &mut Conn,
    id: i64,
    worker: &str,
    result: std::result::Result<&str, &str>,
    now_ms: i64,
) -> Result<bool> {
    let (state, result, error) = match result {
        Ok(r) => ("done", Some(r), None),
        Err(e) => ("failed", None, Some(e)),
    };
    Ok(sqlx::query(
        "UPDATE jobs SET state = $3, result = $4, error = $5, finished_at_ms = $6, progress = CASE WHEN $3 = 'done' THEN 1.0 ELSE progress END \
         WHERE id = $1 AND worker = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(state)
    .bind(result)
    .bind(error)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}
