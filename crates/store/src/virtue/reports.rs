//! Officials' reports to residents (migration 0029): reports, commitments with progress, and
//! ratings kept as "who rated" (once, by the primary key) apart from "how many gave each
//! score" — written together in the rater's transaction, never linked.

use crate::{Conn, Result};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: i64,
    pub territory_code: String,
    pub official_person_id: i64,
    pub official_name: String,
    pub title: String,
    pub way: String,
    pub held_at_ms: i64,
    pub place: String,
    pub done: String,
    pub rating_closes_at_ms: i64,
    pub created_at_ms: i64,
}

const REPORT_COLS: &str = "r.id, r.territory_code, r.official_person_id, p.name AS official_name, r.title, r.way, \
     r.held_at_ms, r.place, r.done, r.rating_closes_at_ms, r.created_at_ms \
     FROM official_reports r JOIN people p ON p.id = r.official_person_id";

fn report(r: &sqlx::any::AnyRow) -> Result<ReportRow> {
    Ok(ReportRow {
        id: r.try_get("id")?,
        territory_code: r.try_get("territory_code")?,
        official_person_id: r.try_get("official_person_id")?,
        official_name: r.try_get("official_name")?,
        title: r.try_get("title")?,
        way: r.try_get("way")?,
        held_at_ms: r.try_get("held_at_ms")?,
        place: r.try_get("place")?,
        done: r.try_get("done")?,
        rating_closes_at_ms: r.try_get("rating_closes_at_ms")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

pub struct NewReport<'a> {
    pub territory_code: &'a str,
    pub official_person_id: i64,
    pub title: &'a str,
    pub way: &'a str,
    pub held_at_ms: i64,
    pub place: &'a str,
    pub done: &'a str,
    pub rating_closes_at_ms: i64,
    pub created_at_ms: i64,
}

pub async fn insert_report(conn: &mut Conn, n: &NewReport<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO official_reports (territory_code, official_person_id, title, way, held_at_ms, place, done, \
         rating_closes_at_ms, created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $2, $9) RETURNING id",
    )
    .bind(n.territory_code)
    .bind(n.official_person_id)
    .bind(n.title)
    .bind(n.way)
    .bind(n.held_at_ms)
    .bind(n.place)
    .bind(n.done)
    .bind(n.rating_closes_at_ms)
    .bind(n.created_at_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_report(conn: &mut Conn, id: i64) -> Result<Option<ReportRow>> {
    let sql = format!("SELECT {REPORT_COLS} WHERE r.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(report).transpose()
}

/// Reports in the territory subtree of `prefix`, newest first.
pub async fn reports_within(conn: &mut Conn, prefix: &str, limit: i64) -> Result<Vec<ReportRow>> {
    let (scope, binds) = crate::scope_filter("r.territory_code", &[prefix], 2);
    let sql = format!("SELECT {REPORT_COLS} WHERE {scope} ORDER BY r.held_at_ms DESC, r.id DESC LIMIT $1");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit);
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(report).collect()
}

/// Reports of exactly these territories (the ones a home lies in), newest first.
pub async fn reports_of(conn: &mut Conn, codes: &[String], limit: i64) -> Result<Vec<ReportRow>> {
    let mut out = Vec::new();
    for c in codes {
        let sql = format!("SELECT {REPORT_COLS} WHERE r.territory_code = $1 ORDER BY r.held_at_ms DESC LIMIT $2");
        for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(c).bind(limit).fetch_all(&mut *conn).await? {
            out.push(report(&r)?);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse((r.held_at_ms, r.id)));
    out.truncate(limit as usize);
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct CommitmentRow {
    pub id: i64,
    pub report_id: i64,
    pub text: String,
    pub due_ms: i64,
    pub progress: i64,
    pub progress_note: String,
    pub updated_at_ms: i64,
}

fn commitment(r: &sqlx::any::AnyRow) -> Result<CommitmentRow> {
    Ok(CommitmentRow {
        id: r.try_get("id")?,
        report_id: r.try_get("report_id")?,
        text: r.try_get("text")?,
        due_ms: r.try_get("due_ms")?,
        progress: r.try_get("progress")?,
        progress_note: r.try_get("progress_note")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

const COMMITMENT_COLS: &str = "id, report_id, text, due_ms, progress, progress_note, updated_at_ms";

pub async fn insert_commitment(conn: &mut Conn, report: i64, text: &str, due_ms: i64, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO official_commitments (report_id, text, due_ms, updated_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(report)
    .bind(text)
    .bind(due_ms)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn commitments_of(conn: &mut Conn, report: i64) -> Result<Vec<CommitmentRow>> {
    let sql = format!("SELECT {COMMITMENT_COLS} FROM official_commitments WHERE report_id = $1 ORDER BY id");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(report).fetch_all(&mut *conn).await?.iter().map(commitment).collect()
}

pub async fn get_commitment(conn: &mut Conn, id: i64) -> Result<Option<CommitmentRow>> {
    let sql = format!("SELECT {COMMITMENT_COLS} FROM official_commitments WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(commitment)
        .transpose()
}

pub async fn set_progress(conn: &mut Conn, id: i64, progress: i64, note: &str, now_ms: i64) -> Result<()> {
    sqlx::query("UPDATE official_commitments SET progress = $2, progress_note = $3, updated_at_ms = $4 WHERE id = $1")
        .bind(id)
        .bind(progress)
        .bind(note)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records that `person` rated the subject and counts the score, apart; false (and nothing
/// counted) when they had rated it already.
pub async fn rate(conn: &mut Conn, subject: &str, id: i64, person: i64, score: i64) -> Result<bool> {
    let first = sqlx::query(
        "INSERT INTO official_raters (subject, subject_id, person_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(subject)
    .bind(id)
    .bind(person)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if first {
        sqlx::query(
            "INSERT INTO official_scores (subject, subject_id, score, n) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (subject, subject_id, score) DO UPDATE SET n = official_scores.n + 1",
        )
        .bind(subject)
        .bind(id)
        .bind(score)
        .execute(&mut *conn)
        .await?;
    }
    Ok(first)
}

pub async fn has_rated(conn: &mut Conn, subject: &str, id: i64, person: i64) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM official_raters WHERE subject = $1 AND subject_id = $2 AND person_id = $3",
    )
    .bind(subject)
    .bind(id)
    .bind(person)
    .fetch_one(&mut *conn)
    .await?
        > 0)
}

/// (score, how many) of the subject.
pub async fn scores(conn: &mut Conn, subject: &str, id: i64) -> Result<Vec<(i64, i64)>> {
    let rows =
        sqlx::query("SELECT score, n FROM official_scores WHERE subject = $1 AND subject_id = $2 ORDER BY score")
            .bind(subject)
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| Ok((r.try_get("score")?, r.try_get("n")?))).collect()
}

/// (score, how many) over every report (and, with `commitments`, every commitment) of the
/// territory subtree: what the unit's evaluation counts.
pub async fn scores_within(conn: &mut Conn, prefix: &str, subject: &str) -> Result<Vec<(i64, i64)>> {
    let (scope, binds) = crate::scope_filter("r.territory_code", &[prefix], 2);
    let join = if subject == "report" {
        "JOIN official_reports r ON r.id = s.subject_id"
    } else {
        "JOIN official_commitments c ON c.id = s.subject_id JOIN official_reports r ON r.id = c.report_id"
    };
    let sql = format!(
        "SELECT s.score, CAST(SUM(s.n) AS BIGINT) AS n FROM official_scores s {join} \
         WHERE s.subject = $1 AND {scope} GROUP BY s.score ORDER BY s.score"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(subject);
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get("score")?, r.try_get("n")?))).collect()
}
