//! Small wishes' storage (migration 0028). Each step is a conditional UPDATE from the state
//! it starts from, so two givers claiming at once get one wish between them, and a step on
//! a wish that moved meanwhile changes nothing.

use crate::{Conn, Result};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct WishRow {
    pub id: i64,
    pub territory_code: String,
    pub title: String,
    pub description: String,
    pub value_yuan: i64,
    pub beneficiary_person_id: Option<i64>,
    pub consent: String,
    pub posted_by: i64,
    pub posted_at_ms: i64,
    pub state: String,
    pub giver_person_id: Option<i64>,
    pub giver_name: Option<String>,
    pub giver_org_id: Option<i64>,
    pub giver_org_name: Option<String>,
    pub thank_publicly: bool,
    pub claimed_at_ms: Option<i64>,
    pub evidence: Option<String>,
    pub fulfilled_at_ms: Option<i64>,
    pub confirmed_at_ms: Option<i64>,
    pub thanks: Option<String>,
    pub withdrawn_reason: Option<String>,
}

const COLS: &str = "w.id, w.territory_code, w.title, w.description, w.value_yuan, w.beneficiary_person_id, w.consent, \
     w.posted_by, w.posted_at_ms, w.state, w.giver_person_id, g.name AS giver_name, w.giver_org_id, o.name AS giver_org_name, \
     w.thank_publicly, w.claimed_at_ms, w.evidence, w.fulfilled_at_ms, w.confirmed_at_ms, w.thanks, w.withdrawn_reason \
     FROM small_wishes w LEFT JOIN people g ON g.id = w.giver_person_id LEFT JOIN organisations o ON o.id = w.giver_org_id";

fn wish(r: &sqlx::any::AnyRow) -> Result<WishRow> {
    Ok(WishRow {
        id: r.try_get("id")?,
        territory_code: r.try_get("territory_code")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        value_yuan: r.try_get("value_yuan")?,
        beneficiary_person_id: r.try_get("beneficiary_person_id")?,
        consent: r.try_get("consent")?,
        posted_by: r.try_get("posted_by")?,
        posted_at_ms: r.try_get("posted_at_ms")?,
        state: r.try_get("state")?,
        giver_person_id: r.try_get("giver_person_id")?,
        giver_name: r.try_get("giver_name")?,
        giver_org_id: r.try_get("giver_org_id")?,
        giver_org_name: r.try_get("giver_org_name")?,
        thank_publicly: r.try_get::<i64, _>("thank_publicly")? != 0,
        claimed_at_ms: r.try_get("claimed_at_ms")?,
        evidence: r.try_get("evidence")?,
        fulfilled_at_ms: r.try_get("fulfilled_at_ms")?,
        confirmed_at_ms: r.try_get("confirmed_at_ms")?,
        thanks: r.try_get("thanks")?,
        withdrawn_reason: r.try_get("withdrawn_reason")?,
    })
}

pub struct NewWish<'a> {
    pub territory_code: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub value_yuan: i64,
    pub beneficiary_person_id: Option<i64>,
    pub consent: &'a str,
    pub posted_by: i64,
    pub posted_at_ms: i64,
}

pub async fn insert(conn: &mut Conn, n: &NewWish<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO small_wishes (territory_code, title, description, value_yuan, beneficiary_person_id, consent, \
         posted_by, posted_at_ms, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open') RETURNING id",
    )
    .bind(n.territory_code)
    .bind(n.title)
    .bind(n.description)
    .bind(n.value_yuan)
    .bind(n.beneficiary_person_id)
    .bind(n.consent)
    .bind(n.posted_by)
    .bind(n.posted_at_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<WishRow>> {
    let sql = format!("SELECT {COLS} WHERE w.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(wish).transpose()
}

/// Wishes in the territory subtree of `prefix`, open ones first, then newest.
pub async fn within(conn: &mut Conn, prefix: &str, limit: i64) -> Result<Vec<WishRow>> {
    let (scope, binds) = crate::scope_filter("w.territory_code", &[prefix], 2);
    let sql = format!(
        "SELECT {COLS} WHERE {scope} AND w.state <> 'withdrawn' \
         ORDER BY CASE WHEN w.state = 'open' THEN 0 ELSE 1 END, w.id DESC LIMIT $1"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit);
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(wish).collect()
}

/// The wishes the person claimed, newest first.
pub async fn claimed_by(conn: &mut Conn, person: i64, limit: i64) -> Result<Vec<WishRow>> {
    let sql = format!("SELECT {COLS} WHERE w.giver_person_id = $1 ORDER BY w.id DESC LIMIT $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(wish)
        .collect()
}

/// Claims an open wish; false when someone was first (or it is no longer open).
pub async fn claim(
    conn: &mut Conn,
    id: i64,
    giver: i64,
    org: Option<i64>,
    thank_publicly: bool,
    now_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE small_wishes SET state = 'claimed', giver_person_id = $2, giver_org_id = $3, thank_publicly = $4, \
         claimed_at_ms = $5 WHERE id = $1 AND state = 'open'",
    )
    .bind(id)
    .bind(giver)
    .bind(org)
    .bind(i64::from(thank_publicly))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// The giver lets a claimed wish go: open again for someone else.
pub async fn release(conn: &mut Conn, id: i64, giver: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE small_wishes SET state = 'open', giver_person_id = NULL, giver_org_id = NULL, thank_publicly = 0, \
         claimed_at_ms = NULL WHERE id = $1 AND state = 'claimed' AND giver_person_id = $2",
    )
    .bind(id)
    .bind(giver)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn fulfil(conn: &mut Conn, id: i64, giver: i64, evidence: &str, now_ms: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE small_wishes SET state = 'fulfilled', evidence = $3, fulfilled_at_ms = $4 \
         WHERE id = $1 AND state = 'claimed' AND giver_person_id = $2",
    )
    .bind(id)
    .bind(giver)
    .bind(evidence)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn confirm(conn: &mut Conn, id: i64, by: i64, thanks: Option<&str>, now_ms: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE small_wishes SET state = 'confirmed', confirmed_by = $2, confirmed_at_ms = $3, thanks = $4 \
         WHERE id = $1 AND state = 'fulfilled'",
    )
    .bind(id)
    .bind(by)
    .bind(now_ms)
    .bind(thanks)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn withdraw(conn: &mut Conn, id: i64, reason: &str) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE small_wishes SET state = 'withdrawn', withdrawn_reason = $2 WHERE id = $1 AND state IN ('open', 'claimed')",
    )
    .bind(id)
    .bind(reason)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}
