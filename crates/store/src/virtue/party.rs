//! 双报到's storage (migration 0027): registrations of party members with the community
//! where they live; `uq_party_report_active` keeps one in force per person. What a member did
//! is summed from volunteer service: the minutes confirmed for activities of the community
//! since the registration.

use crate::{Conn, Result};
use sqlx::Row;

/// The party organisations the person holds a post in now: (organisation, its name).
pub async fn party_posts(conn: &mut Conn, person: i64, now_ms: i64) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT o.id, o.name FROM memberships m JOIN organisations o ON o.id = m.organisation_id \
         WHERE m.person_id = $1 AND o.kind = 'party_organisation' AND m.start_ms <= $2 \
         AND (m.end_ms IS NULL OR m.end_ms > $2) ORDER BY o.id",
    )
    .bind(person)
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("name")?))).collect()
}

#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub party_org_id: i64,
    pub party_org_name: String,
    pub community_code: String,
    pub posts: String,
    pub registered_at_ms: i64,
    /// Verified minutes of service for the community's activities since registering.
    pub minutes: i64,
    pub activities: i64,
}

const REPORT: &str = "SELECT r.id, r.person_id, p.name, r.party_org_id, o.name AS party_org_name, r.community_code, \
     r.posts, r.registered_at_ms, \
     CAST(COALESCE(SUM(s.minutes), 0) AS BIGINT) AS minutes, COUNT(s.id) AS activities \
     FROM party_reports r JOIN people p ON p.id = r.person_id JOIN organisations o ON o.id = r.party_org_id \
     LEFT JOIN volunteer_signups s ON s.person_id = r.person_id AND s.minutes IS NOT NULL \
       AND s.confirmed_at_ms >= r.registered_at_ms \
       AND s.activity_id IN (SELECT a.id FROM volunteer_activities a \
         WHERE a.territory_code >= r.community_code AND a.territory_code < r.community_code || ':') \
     WHERE r.ended_at_ms IS NULL";
const GROUP: &str =
    "GROUP BY r.id, r.person_id, p.name, r.party_org_id, o.name, r.community_code, r.posts, r.registered_at_ms";

fn report(r: &sqlx::any::AnyRow) -> Result<ReportRow> {
    Ok(ReportRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        name: r.try_get("name")?,
        party_org_id: r.try_get("party_org_id")?,
        party_org_name: r.try_get("party_org_name")?,
        community_code: r.try_get("community_code")?,
        posts: r.try_get("posts")?,
        registered_at_ms: r.try_get("registered_at_ms")?,
        minutes: r.try_get("minutes")?,
        activities: r.try_get("activities")?,
    })
}

/// The person's registration in force, with what they did.
pub async fn active(conn: &mut Conn, person: i64) -> Result<Option<ReportRow>> {
    let sql = format!("{REPORT} AND r.person_id = $1 {GROUP}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(report)
        .transpose()
}

/// The community's registered party members, in the order they registered.
pub async fn of_community(conn: &mut Conn, community: &str) -> Result<Vec<ReportRow>> {
    let sql = format!("{REPORT} AND r.community_code = $1 {GROUP} ORDER BY r.id");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(community).fetch_all(&mut *conn).await?.iter().map(report).collect()
}

/// Ends the person's registration in force, if any.
pub async fn end(conn: &mut Conn, person: i64, now_ms: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE party_reports SET ended_at_ms = $2 WHERE person_id = $1 AND ended_at_ms IS NULL")
        .bind(person)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0)
}

/// A new registration, counted from `since_ms`; the unique index refuses a second one in
/// force.
pub async fn insert(
    conn: &mut Conn,
    person: i64,
    party_org: i64,
    community: &str,
    posts: &str,
    since_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO party_reports (person_id, party_org_id, community_code, posts, registered_at_ms) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(person)
    .bind(party_org)
    .bind(community)
    .bind(posts)
    .bind(since_ms)
    .fetch_one(&mut *conn)
    .await?)
}
