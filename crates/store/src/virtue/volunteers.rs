//! Volunteer service's storage (migration 0026): volunteers, activities with their places,
//! sign-ups with the verified minutes. A place is taken by a conditional UPDATE of the
//! activity's counter inside the sign-up's transaction, and `ck_volunteer_capacity` refuses
//! a counter past the capacity whatever the interleaving; `uq_volunteer_signup` keeps one
//! sign-up per person and activity; `ck_volunteer_not_self_confirmed` keeps a volunteer from
//! confirming their own attendance.

use crate::{Conn, Result};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct VolunteerRow {
    pub person_id: i64,
    pub name: String,
    pub skills: String,
    pub team_org_id: Option<i64>,
    pub team_name: Option<String>,
    pub registered_at_ms: i64,
}

/// Registers the person as a volunteer, or updates their skills and team.
pub async fn enrol(conn: &mut Conn, person: i64, skills: &str, team: Option<i64>, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO volunteers (person_id, skills, team_org_id, registered_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (person_id) DO UPDATE SET skills = excluded.skills, team_org_id = excluded.team_org_id",
    )
    .bind(person)
    .bind(skills)
    .bind(team)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Registers the person as a volunteer of the team if they are not one yet (an alley
/// steward put on a grid); an existing registration is kept as it is.
pub async fn enrol_if_new(conn: &mut Conn, person: i64, team: Option<i64>, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO volunteers (person_id, skills, team_org_id, registered_at_ms) VALUES ($1, '', $2, $3) \
         ON CONFLICT (person_id) DO NOTHING",
    )
    .bind(person)
    .bind(team)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn volunteer(conn: &mut Conn, person: i64) -> Result<Option<VolunteerRow>> {
    let r = sqlx::query(
        "SELECT v.person_id, p.name, v.skills, v.team_org_id, o.name AS team_name, v.registered_at_ms \
         FROM volunteers v JOIN people p ON p.id = v.person_id LEFT JOIN organisations o ON o.id = v.team_org_id \
         WHERE v.person_id = $1",
    )
    .bind(person)
    .fetch_optional(&mut *conn)
    .await?;
    r.map(|r| {
        Ok(VolunteerRow {
            person_id: r.try_get("person_id")?,
            name: r.try_get("name")?,
            skills: r.try_get("skills")?,
            team_org_id: r.try_get("team_org_id")?,
            team_name: r.try_get("team_name")?,
            registered_at_ms: r.try_get("registered_at_ms")?,
        })
    })
    .transpose()
}

#[derive(Debug, Clone)]
pub struct ActivityRow {
    pub id: i64,
    pub organiser_org_id: i64,
    pub organiser_name: String,
    pub territory_code: String,
    pub title: String,
    pub description: String,
    pub place: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub capacity: i64,
    pub taken: i64,
    pub skills: String,
    pub approval: bool,
    pub rule_id: Option<i64>,
    pub state: String,
    pub created_by: Option<i64>,
    pub created_at_ms: i64,
    pub closed_at_ms: Option<i64>,
}

const ACTIVITY_COLS: &str = "a.id, a.organiser_org_id, o.name AS organiser_name, a.territory_code, a.title, \
     a.description, a.place, a.starts_at_ms, a.ends_at_ms, a.capacity, a.taken, a.skills, a.approval, a.rule_id, \
     a.state, a.created_by, a.created_at_ms, a.closed_at_ms";

fn activity(r: &sqlx::any::AnyRow) -> Result<ActivityRow> {
    Ok(ActivityRow {
        id: r.try_get("id")?,
        organiser_org_id: r.try_get("organiser_org_id")?,
        organiser_name: r.try_get("organiser_name")?,
        territory_code: r.try_get("territory_code")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        place: r.try_get("place")?,
        starts_at_ms: r.try_get("starts_at_ms")?,
        ends_at_ms: r.try_get("ends_at_ms")?,
        capacity: r.try_get("capacity")?,
        taken: r.try_get("taken")?,
        skills: r.try_get("skills")?,
        approval: r.try_get::<i64, _>("approval")? != 0,
        rule_id: r.try_get("rule_id")?,
        state: r.try_get("state")?,
        created_by: r.try_get("created_by")?,
        created_at_ms: r.try_get("created_at_ms")?,
        closed_at_ms: r.try_get("closed_at_ms")?,
    })
}

pub struct NewActivity<'a> {
    pub organiser_org_id: i64,
    pub territory_code: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub place: &'a str,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub capacity: i64,
    pub skills: &'a str,
    pub approval: bool,
    pub rule_id: Option<i64>,
    pub created_by: i64,
    pub created_at_ms: i64,
}

pub async fn insert_activity(conn: &mut Conn, n: &NewActivity<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO volunteer_activities (organiser_org_id, territory_code, title, description, place, starts_at_ms, \
         ends_at_ms, capacity, skills, approval, rule_id, state, created_by, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $13) RETURNING id",
    )
    .bind(n.organiser_org_id)
    .bind(n.territory_code)
    .bind(n.title)
    .bind(n.description)
    .bind(n.place)
    .bind(n.starts_at_ms)
    .bind(n.ends_at_ms)
    .bind(n.capacity)
    .bind(n.skills)
    .bind(i64::from(n.approval))
    .bind(n.rule_id)
    .bind(n.created_by)
    .bind(n.created_at_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_activity(conn: &mut Conn, id: i64) -> Result<Option<ActivityRow>> {
    let sql = format!(
        "SELECT {ACTIVITY_COLS} FROM volunteer_activities a JOIN organisations o ON o.id = a.organiser_org_id WHERE a.id = $1"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(activity).transpose()
}

/// Activities in the territory subtrees of `prefixes` that end after `from_ms`, soonest
/// first; `state` narrows them.
pub async fn activities(
    conn: &mut Conn,
    prefixes: &[&str],
    from_ms: i64,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<ActivityRow>> {
    let (scope, binds) = crate::scope_filter("a.territory_code", prefixes, 4);
    let sql = format!(
        "SELECT {ACTIVITY_COLS} FROM volunteer_activities a JOIN organisations o ON o.id = a.organiser_org_id \
         WHERE a.ends_at_ms > $1 AND ($2 = '' OR a.state = $2) AND {scope} ORDER BY a.starts_at_ms, a.id LIMIT $3"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from_ms).bind(state.unwrap_or("")).bind(limit);
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(activity).collect()
}

/// Takes one of the activity's places; false when it is full or no longer open.
pub async fn take_place(conn: &mut Conn, activity: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE volunteer_activities SET taken = taken + 1 WHERE id = $1 AND state = 'open' AND taken < capacity",
    )
    .bind(activity)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Gives a place back (a volunteer withdrew).
pub async fn free_place(conn: &mut Conn, activity: i64) -> Result<()> {
    sqlx::query("UPDATE volunteer_activities SET taken = taken - 1 WHERE id = $1 AND taken > 0")
        .bind(activity)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Moves an open activity to `state` (completed or cancelled); false when it was not open.
pub async fn close_activity(conn: &mut Conn, activity: i64, state: &str, now_ms: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE volunteer_activities SET state = $2, closed_at_ms = $3 WHERE id = $1 AND state = 'open'")
        .bind(activity)
        .bind(state)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

#[derive(Debug, Clone)]
pub struct SignupRow {
    pub id: i64,
    pub activity_id: i64,
    pub person_id: i64,
    pub name: String,
    pub state: String,
    pub note: String,
    pub applied_at_ms: i64,
    pub decided_at_ms: Option<i64>,
    pub reason: Option<String>,
    pub minutes: Option<i64>,
    pub confirmed_by: Option<i64>,
    pub confirmed_at_ms: Option<i64>,
    pub transfer_id: Option<i64>,
}

const SIGNUP_COLS: &str = "s.id, s.activity_id, s.person_id, p.name, s.state, s.note, s.applied_at_ms, \
     s.decided_at_ms, s.reason, s.minutes, s.confirmed_by, s.confirmed_at_ms, s.transfer_id";

fn signup(r: &sqlx::any::AnyRow) -> Result<SignupRow> {
    Ok(SignupRow {
        id: r.try_get("id")?,
        activity_id: r.try_get("activity_id")?,
        person_id: r.try_get("person_id")?,
        name: r.try_get("name")?,
        state: r.try_get("state")?,
        note: r.try_get("note")?,
        applied_at_ms: r.try_get("applied_at_ms")?,
        decided_at_ms: r.try_get("decided_at_ms")?,
        reason: r.try_get("reason")?,
        minutes: r.try_get("minutes")?,
        confirmed_by: r.try_get("confirmed_by")?,
        confirmed_at_ms: r.try_get("confirmed_at_ms")?,
        transfer_id: r.try_get("transfer_id")?,
    })
}

/// A new sign-up; the unique constraint refuses a second one of the person.
pub async fn insert_signup(
    conn: &mut Conn,
    activity: i64,
    person: i64,
    state: &str,
    note: &str,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO volunteer_signups (activity_id, person_id, state, note, applied_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(activity)
    .bind(person)
    .bind(state)
    .bind(note)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_signup(conn: &mut Conn, id: i64) -> Result<Option<SignupRow>> {
    let sql =
        format!("SELECT {SIGNUP_COLS} FROM volunteer_signups s JOIN people p ON p.id = s.person_id WHERE s.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(signup).transpose()
}

/// The person's sign-up for the activity, if any.
pub async fn signup_of(conn: &mut Conn, activity: i64, person: i64) -> Result<Option<SignupRow>> {
    let sql = format!(
        "SELECT {SIGNUP_COLS} FROM volunteer_signups s JOIN people p ON p.id = s.person_id \
         WHERE s.activity_id = $1 AND s.person_id = $2"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(activity)
        .bind(person)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(signup)
        .transpose()
}

/// An activity's sign-ups in the order they came.
pub async fn signups_of(conn: &mut Conn, activity: i64) -> Result<Vec<SignupRow>> {
    let sql = format!(
        "SELECT {SIGNUP_COLS} FROM volunteer_signups s JOIN people p ON p.id = s.person_id \
         WHERE s.activity_id = $1 ORDER BY s.id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(activity).fetch_all(&mut *conn).await?.iter().map(signup).collect()
}

/// Moves a sign-up from `from` to `to` with who decided and why; false when it was no
/// longer in `from`.
pub async fn move_signup(
    conn: &mut Conn,
    id: i64,
    from: &str,
    to: &str,
    by: i64,
    reason: Option<&str>,
    now_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE volunteer_signups SET state = $3, decided_by = $4, decided_at_ms = $5, reason = $6 \
         WHERE id = $1 AND state = $2 AND minutes IS NULL",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(by)
    .bind(now_ms)
    .bind(reason)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Records the verified minutes of an accepted sign-up, once; false when it was confirmed
/// already or holds no place.
pub async fn confirm(conn: &mut Conn, id: i64, minutes: i64, by: i64, now_ms: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE volunteer_signups SET minutes = $2, confirmed_by = $3, confirmed_at_ms = $4 \
         WHERE id = $1 AND state = 'accepted' AND minutes IS NULL",
    )
    .bind(id)
    .bind(minutes)
    .bind(by)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Links the points the service earned.
pub async fn set_transfer(conn: &mut Conn, id: i64, transfer: i64) -> Result<()> {
    sqlx::query("UPDATE volunteer_signups SET transfer_id = $2 WHERE id = $1")
        .bind(id)
        .bind(transfer)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One activity of a volunteer's record.
#[derive(Debug, Clone)]
pub struct ServiceRow {
    pub signup: SignupRow,
    pub title: String,
    pub organiser_name: String,
    pub territory_code: String,
    pub place: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub activity_state: String,
}

/// The person's sign-ups with their activities, newest activity first.
pub async fn services_of(conn: &mut Conn, person: i64, limit: i64) -> Result<Vec<ServiceRow>> {
    let sql = format!(
        "SELECT {SIGNUP_COLS}, a.title, o.name AS organiser_name, a.territory_code, a.place, a.starts_at_ms, \
         a.ends_at_ms, a.state AS activity_state \
         FROM volunteer_signups s JOIN people p ON p.id = s.person_id \
         JOIN volunteer_activities a ON a.id = s.activity_id JOIN organisations o ON o.id = a.organiser_org_id \
         WHERE s.person_id = $1 ORDER BY a.starts_at_ms DESC, s.id DESC LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(person).bind(limit).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(ServiceRow {
                signup: signup(r)?,
                title: r.try_get("title")?,
                organiser_name: r.try_get("organiser_name")?,
                territory_code: r.try_get("territory_code")?,
                place: r.try_get("place")?,
                starts_at_ms: r.try_get("starts_at_ms")?,
                ends_at_ms: r.try_get("ends_at_ms")?,
                activity_state: r.try_get("activity_state")?,
            })
        })
        .collect()
}

/// (verified minutes, activities served, the last confirmed sign-up) of the person's
/// sign-ups up to `upto`: what a certificate states, summed by the database.
pub async fn totals(conn: &mut Conn, person: i64, upto: i64) -> Result<(i64, i64, i64)> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(minutes), 0) AS BIGINT) AS m, COUNT(*) AS n, CAST(COALESCE(MAX(id), 0) AS BIGINT) AS last \
         FROM volunteer_signups WHERE person_id = $1 AND minutes IS NOT NULL AND id <= $2",
    )
    .bind(person)
    .bind(upto)
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.try_get("m")?, r.try_get("n")?, r.try_get("last")?))
}
