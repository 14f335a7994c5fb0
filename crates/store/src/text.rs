//! Text intelligence's tables: classifier models and settings, the training cases, the
//! outbox read by the search indexer, the recent cases near a place, and supports.

use crate::cases::{COLS, CaseRow, row};
use crate::{Conn, Result};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone)]
pub struct ModelRow {
    pub id: i64,
    pub created_at_ms: i64,
    pub created_by: Option<i64>,
    pub examples: i64,
    pub labels: i64,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// JSON: the cross-validated per-class figures.
    pub report: String,
    pub active: bool,
}

const MODEL_COLS: &str = "id, created_at_ms, created_by, examples, labels, accuracy, macro_f1, report, active";

fn model_row(r: &sqlx::any::AnyRow) -> Result<ModelRow> {
    Ok(ModelRow {
        id: r.try_get("id")?,
        created_at_ms: r.try_get("created_at_ms")?,
        created_by: r.try_get("created_by")?,
        examples: r.try_get("examples")?,
        labels: r.try_get("labels")?,
        accuracy: r.try_get("accuracy")?,
        macro_f1: r.try_get("macro_f1")?,
        report: r.try_get("report")?,
        active: r.try_get::<i64, _>("active")? != 0,
    })
}

/// Stores a new model version and makes it the active one.
pub async fn insert_model(conn: &mut Conn, m: &ModelRow, model_json: &str) -> Result<i64> {
    sqlx::query("UPDATE text_models SET active = 0 WHERE active = 1").execute(&mut *conn).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO text_models (created_at_ms, created_by, examples, labels, accuracy, macro_f1, report, model, active) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) RETURNING id",
    )
    .bind(m.created_at_ms)
    .bind(m.created_by)
    .bind(m.examples)
    .bind(m.labels)
    .bind(m.accuracy)
    .bind(m.macro_f1)
    .bind(&m.report)
    .bind(model_json)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Makes version `id` the active one; false when there is no such version.
pub async fn activate_model(conn: &mut Conn, id: i64) -> Result<bool> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM text_models WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    if exists.is_none() {
        return Ok(false);
    }
    sqlx::query("UPDATE text_models SET active = CASE WHEN id = $1 THEN 1 ELSE 0 END")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

pub async fn models(conn: &mut Conn) -> Result<Vec<ModelRow>> {
    let sql = format!("SELECT {MODEL_COLS} FROM text_models ORDER BY id DESC");
    sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?.iter().map(model_row).collect()
}

pub async fn active_model_id(conn: &mut Conn) -> Result<Option<i64>> {
    // Two trainings committing at once may both leave theirs active: the newer one counts.
    Ok(sqlx::query_scalar("SELECT id FROM text_models WHERE active = 1 ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?)
}

/// The stored model text of a version.
pub async fn model_json(conn: &mut Conn, id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT model FROM text_models WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?)
}

pub async fn setting(conn: &mut Conn, name: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM text_settings WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Sets (or, with None, removes) a setting.
pub async fn set_setting(conn: &mut Conn, name: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => {
            sqlx::query(
                "INSERT INTO text_settings (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(name)
            .bind(v)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM text_settings WHERE name = $1").bind(name).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Cases whose category a person confirmed: closed ones (the category survived the whole
/// loop) and those a member of staff filed (including corrections of a suggestion), newest
/// first: (subject, description, category).
pub async fn training_cases(conn: &mut Conn, limit: i64) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT c.subject, c.description, c.category_code FROM cases c \
         WHERE c.category_code IS NOT NULL AND c.merged_into IS NULL AND (c.status = 'closed' OR EXISTS \
         (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.kind = 'filed' AND e.actor_id IS NOT NULL)) \
         ORDER BY c.id DESC LIMIT $1",
    )
    .bind(limit)
    .bind(crate::cases::KIND.name)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// Outbox rows (id, case id when the row is a case's, time) from `since_ms` on, after
/// `(after_ms, after_id)`, in time order: the search indexer's feed (it follows the cases'
/// topics).
pub async fn outbox_feed(
    conn: &mut Conn,
    since_ms: i64,
    after: (i64, i64),
    limit: i64,
) -> Result<Vec<(i64, Option<i64>, i64)>> {
    let rows = sqlx::query(
        "SELECT id, CASE WHEN item_kind = $5 THEN item_id END, created_at_ms FROM outbox WHERE created_at_ms >= $1 \
         AND (created_at_ms > $2 OR (created_at_ms = $2 AND id > $3)) ORDER BY created_at_ms, id LIMIT $4",
    )
    .bind(since_ms)
    .bind(after.0)
    .bind(after.1)
    .bind(limit)
    .bind(crate::cases::KIND.name)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// Cases by id order, after `after_id`: a rebuild's pages.
pub async fn cases_after(conn: &mut Conn, after_id: i64, limit: i64) -> Result<Vec<CaseRow>> {
    let sql = format!("SELECT {COLS} FROM cases WHERE id > $1 ORDER BY id LIMIT $2");
    sqlx::query(AssertSqlSafe(sql)).bind(after_id).bind(limit).fetch_all(&mut *conn).await?.iter().map(row).collect()
}

/// Records a person's support; false when they had supported it already.
pub async fn support(conn: &mut Conn, case_id: i64, person_id: i64, now: i64) -> Result<bool> {
    let added = sqlx::query(
        "INSERT INTO case_supporters (case_id, person_id, at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (case_id, person_id) DO NOTHING",
    )
    .bind(case_id)
    .bind(person_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 0 {
        return Ok(false);
    }
    add_supports(conn, case_id, 1).await?;
    Ok(true)
}

/// Adds to a case's support total.
pub async fn add_supports(conn: &mut Conn, case_id: i64, n: i64) -> Result<()> {
    // One statement: two servers adding the first supports at once cannot collide.
    sqlx::query(
        "INSERT INTO case_support_totals (case_id, supports) VALUES ($1, $2) \
         ON CONFLICT (case_id) DO UPDATE SET supports = case_support_totals.supports + excluded.supports",
    )
    .bind(case_id)
    .bind(n)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Support totals of these cases (absent: none).
pub async fn supports_of(conn: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let sql = format!("SELECT case_id, supports FROM case_support_totals WHERE case_id IN ({})", list.join(", "));
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Cases reported inside `prefix` in [from, to), not merged, newest first, at most `limit`
/// (duplicate candidates and hot topics).
pub async fn reported_between(
    conn: &mut Conn,
    prefix: &str,
    from_ms: i64,
    to_ms: i64,
    limit: i64,
) -> Result<Vec<CaseRow>> {
    let sql = format!(
        "SELECT {COLS} FROM cases WHERE created_at_ms >= $1 AND created_at_ms < $2 AND territory_code >= $3 \
         AND territory_code < $4 AND merged_into IS NULL ORDER BY created_at_ms DESC LIMIT $5"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(from_ms)
        .bind(to_ms)
        .bind(prefix)
        .bind(crate::prefix_upper_bound(prefix))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(row)
        .collect()
}

/// For benchmarks: gives generated cases real texts, case `id` taking text `id % n` of
/// `texts` (subject, description), through a scratch table and one update.
pub async fn fill_generated_texts(conn: &mut Conn, texts: &[(String, String)]) -> Result<u64> {
    sqlx::query("CREATE TABLE bench_texts (k BIGINT PRIMARY KEY, subject TEXT NOT NULL, description TEXT NOT NULL)")
        .execute(&mut *conn)
        .await?;
    for (k, (s, d)) in texts.iter().enumerate() {
        sqlx::query("INSERT INTO bench_texts (k, subject, description) VALUES ($1, $2, $3)")
            .bind(k as i64)
            .bind(s)
            .bind(d)
            .execute(&mut *conn)
            .await?;
    }
    let updated = sqlx::query(
        "UPDATE cases SET subject = (SELECT b.subject FROM bench_texts b WHERE b.k = cases.id % $1), \
         description = (SELECT b.description FROM bench_texts b WHERE b.k = cases.id % $1) WHERE subject = 'generated'",
    )
    .bind(texts.len() as i64)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("DROP TABLE bench_texts").execute(&mut *conn).await?;
    Ok(updated)
}
