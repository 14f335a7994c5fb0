//! Civilised-rating campaigns' storage (migration 0030). Each stage and each standing moves
//! by a conditional UPDATE from the one it starts from, so two clicks move it once; a vote
//! records the voter (once per campaign: the primary key) apart from the count it adds.

use crate::{Conn, Result};
use sqlx::Row;
use wuzhi_domain::virtue::campaigns::Stage;

#[derive(Debug, Clone)]
pub struct CampaignRow {
    pub id: i64,
    pub territory_code: String,
    pub kind: String,
    pub honour: String,
    pub title: String,
    pub criteria: String,
    pub places: i64,
    pub stage: String,
    pub nominations_close_ms: i64,
    pub vote_days: i64,
    pub publicity_days: i64,
    pub vote_closes_at_ms: Option<i64>,
    pub publicity_ends_at_ms: Option<i64>,
    pub awarded_at_ms: Option<i64>,
    pub rule_id: Option<i64>,
    pub created_by: i64,
    pub created_at_ms: i64,
}

const CAMPAIGN_COLS: &str = "id, territory_code, kind, honour, title, criteria, places, stage, nominations_close_ms, \
     vote_days, publicity_days, vote_closes_at_ms, publicity_ends_at_ms, awarded_at_ms, rule_id, created_by, created_at_ms \
     FROM rating_campaigns";

fn campaign(r: &sqlx::any::AnyRow) -> Result<CampaignRow> {
    Ok(CampaignRow {
        id: r.try_get("id")?,
        territory_code: r.try_get("territory_code")?,
        kind: r.try_get("kind")?,
        honour: r.try_get("honour")?,
        title: r.try_get("title")?,
        criteria: r.try_get("criteria")?,
        places: r.try_get("places")?,
        stage: r.try_get("stage")?,
        nominations_close_ms: r.try_get("nominations_close_ms")?,
        vote_days: r.try_get("vote_days")?,
        publicity_days: r.try_get("publicity_days")?,
        vote_closes_at_ms: r.try_get("vote_closes_at_ms")?,
        publicity_ends_at_ms: r.try_get("publicity_ends_at_ms")?,
        awarded_at_ms: r.try_get("awarded_at_ms")?,
        rule_id: r.try_get("rule_id")?,
        created_by: r.try_get("created_by")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

pub struct NewCampaign<'a> {
    pub territory_code: &'a str,
    pub kind: &'a str,
    pub honour: &'a str,
    pub title: &'a str,
    pub criteria: &'a str,
    pub places: i64,
    pub nominations_close_ms: i64,
    pub vote_days: i64,
    pub publicity_days: i64,
    pub rule_id: Option<i64>,
    pub created_by: i64,
    pub created_at_ms: i64,
}

pub async fn insert_campaign(conn: &mut Conn, n: &NewCampaign<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO rating_campaigns (territory_code, kind, honour, title, criteria, places, stage, nominations_close_ms, \
         vote_days, publicity_days, rule_id, created_by, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, 'nominating', $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(n.territory_code)
    .bind(n.kind)
    .bind(n.honour)
    .bind(n.title)
    .bind(n.criteria)
    .bind(n.places)
    .bind(n.nominations_close_ms)
    .bind(n.vote_days)
    .bind(n.publicity_days)
    .bind(n.rule_id)
    .bind(n.created_by)
    .bind(n.created_at_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_campaign(conn: &mut Conn, id: i64) -> Result<Option<CampaignRow>> {
    let sql = format!("SELECT {CAMPAIGN_COLS} WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(campaign).transpose()
}

/// Campaigns of the territory subtree of `prefix` and of the territories above it (a
/// district's campaign is its communities' too), newest first.
pub async fn campaigns_for(conn: &mut Conn, prefix: &str, above: &[String], limit: i64) -> Result<Vec<CampaignRow>> {
    let (scope, binds) = crate::scope_filter("territory_code", &[prefix], 2);
    let n = 2 + binds.len();
    let above_in = if above.is_empty() {
        "1 = 0".to_owned()
    } else {
        let ps: Vec<String> = (0..above.len()).map(|i| format!("${}", n + i)).collect();
        format!("territory_code IN ({})", ps.join(", "))
    };
    let sql =
        format!("SELECT {CAMPAIGN_COLS} WHERE {scope} OR {above_in} ORDER BY created_at_ms DESC, id DESC LIMIT $1");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit);
    for b in binds {
        q = q.bind(b);
    }
    for a in above {
        q = q.bind(a.clone());
    }
    q.fetch_all(&mut *conn).await?.iter().map(campaign).collect()
}

/// Moves the campaign from `from` to the stage that follows it, stamping that stage's time;
/// false when it was not in `from` (another request moved it first).
pub async fn move_stage(conn: &mut Conn, id: i64, from: Stage, at_ms: i64) -> Result<bool> {
    let (to, column) = match from.next() {
        Some(to @ Stage::Voting) => (to, "vote_closes_at_ms"),
        Some(to @ Stage::Publicity) => (to, "publicity_ends_at_ms"),
        Some(to @ Stage::Awarded) => (to, "awarded_at_ms"),
        _ => return Ok(false),
    };
    let sql = format!("UPDATE rating_campaigns SET stage = $3, {column} = $4 WHERE id = $1 AND stage = $2");
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(at_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

#[derive(Debug, Clone)]
pub struct NominationRow {
    pub id: i64,
    pub campaign_id: i64,
    pub nominee_person_id: Option<i64>,
    pub nominee_territory: Option<String>,
    pub household_key: Option<String>,
    pub shown_name: String,
    pub by_kind: String,
    pub nominated_by: i64,
    pub nominator_name: String,
    pub deeds: String,
    pub standing: String,
    pub review_note: String,
    pub reviewed_at_ms: Option<i64>,
    pub votes: i64,
    pub created_at_ms: i64,
}

const NOMINATION_COLS: &str = "n.id, n.campaign_id, n.nominee_person_id, n.nominee_territory, n.household_key, \
     n.shown_name, n.by_kind, n.nominated_by, p.name AS nominator_name, n.deeds, n.standing, n.review_note, \
     n.reviewed_at_ms, n.votes, n.created_at_ms FROM rating_nominations n JOIN people p ON p.id = n.nominated_by";

fn nomination(r: &sqlx::any::AnyRow) -> Result<NominationRow> {
    Ok(NominationRow {
        id: r.try_get("id")?,
        campaign_id: r.try_get("campaign_id")?,
        nominee_person_id: r.try_get("nominee_person_id")?,
        nominee_territory: r.try_get("nominee_territory")?,
        household_key: r.try_get("household_key")?,
        shown_name: r.try_get("shown_name")?,
        by_kind: r.try_get("by_kind")?,
        nominated_by: r.try_get("nominated_by")?,
        nominator_name: r.try_get("nominator_name")?,
        deeds: r.try_get("deeds")?,
        standing: r.try_get("standing")?,
        review_note: r.try_get("review_note")?,
        reviewed_at_ms: r.try_get("reviewed_at_ms")?,
        votes: r.try_get("votes")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

pub struct NewNomination<'a> {
    pub campaign_id: i64,
    pub nominee_person_id: Option<i64>,
    pub nominee_territory: Option<&'a str>,
    pub household_key: Option<&'a str>,
    pub shown_name: &'a str,
    pub by_kind: &'a str,
    pub nominated_by: i64,
    pub deeds: &'a str,
    pub standing: &'a str,
    pub created_at_ms: i64,
}

pub async fn insert_nomination(conn: &mut Conn, n: &NewNomination<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO rating_nominations (campaign_id, nominee_person_id, nominee_territory, household_key, shown_name, \
         by_kind, nominated_by, deeds, standing, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(n.campaign_id)
    .bind(n.nominee_person_id)
    .bind(n.nominee_territory)
    .bind(n.household_key)
    .bind(n.shown_name)
    .bind(n.by_kind)
    .bind(n.nominated_by)
    .bind(n.deeds)
    .bind(n.standing)
    .bind(n.created_at_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_nomination(conn: &mut Conn, id: i64) -> Result<Option<NominationRow>> {
    let sql = format!("SELECT {NOMINATION_COLS} WHERE n.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(nomination)
        .transpose()
}

pub async fn nominations_of(conn: &mut Conn, campaign: i64) -> Result<Vec<NominationRow>> {
    let sql = format!("SELECT {NOMINATION_COLS} WHERE n.campaign_id = $1 ORDER BY n.id");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(campaign).fetch_all(&mut *conn).await?.iter().map(nomination).collect()
}

/// Nominations naming the person or put forward by them, newest first.
pub async fn nominations_involving(conn: &mut Conn, person: i64, limit: i64) -> Result<Vec<NominationRow>> {
    let sql = format!(
        "SELECT {NOMINATION_COLS} WHERE n.nominee_person_id = $1 OR n.nominated_by = $1 ORDER BY n.id DESC LIMIT $2"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(nomination)
        .collect()
}

/// Moves a nomination from one of `from` to `to` with the reviewer's note; false when it
/// stood elsewhere.
pub async fn set_standing(
    conn: &mut Conn,
    id: i64,
    from: &str,
    to: &str,
    review: Option<(i64, &str, i64)>,
) -> Result<bool> {
    let q = match review {
        Some((by, note, at)) => sqlx::query(
            "UPDATE rating_nominations SET standing = $3, reviewed_by = $4, review_note = $5, reviewed_at_ms = $6 \
             WHERE id = $1 AND standing = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(by)
        .bind(note)
        .bind(at),
        None => sqlx::query("UPDATE rating_nominations SET standing = $3 WHERE id = $1 AND standing = $2")
            .bind(id)
            .bind(from)
            .bind(to),
    };
    Ok(q.execute(&mut *conn).await?.rows_affected() == 1)
}

/// Moves every nomination of the campaign in `from` to `to` whose id is in `ids` (all of
/// them when `ids` is none); how many moved.
pub async fn set_standings(conn: &mut Conn, campaign: i64, from: &str, to: &str, ids: Option<&[i64]>) -> Result<u64> {
    let mut moved = 0;
    match ids {
        None => {
            moved +=
                sqlx::query("UPDATE rating_nominations SET standing = $3 WHERE campaign_id = $1 AND standing = $2")
                    .bind(campaign)
                    .bind(from)
                    .bind(to)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
        }
        Some(ids) => {
            for id in ids {
                moved += sqlx::query(
                    "UPDATE rating_nominations SET standing = $4 WHERE id = $1 AND campaign_id = $2 AND standing = $3",
                )
                .bind(id)
                .bind(campaign)
                .bind(from)
                .bind(to)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            }
        }
    }
    Ok(moved)
}

/// Records that `person` voted in the campaign and counts the vote for the nomination, apart;
/// false (nothing counted) when they had voted in it already.
pub async fn vote(conn: &mut Conn, campaign: i64, person: i64, nomination: i64) -> Result<bool> {
    let first =
        sqlx::query("INSERT INTO rating_voters (campaign_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(campaign)
            .bind(person)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1;
    if first {
        sqlx::query("UPDATE rating_nominations SET votes = votes + 1 WHERE id = $1")
            .bind(nomination)
            .execute(&mut *conn)
            .await?;
    }
    Ok(first)
}

pub async fn has_voted(conn: &mut Conn, campaign: i64, person: i64) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM rating_voters WHERE campaign_id = $1 AND person_id = $2")
        .bind(campaign)
        .bind(person)
        .fetch_one(&mut *conn)
        .await?
        > 0)
}

pub async fn voters(conn: &mut Conn, campaign: i64) -> Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM rating_voters WHERE campaign_id = $1")
        .bind(campaign)
        .fetch_one(&mut *conn)
        .await?)
}

#[derive(Debug, Clone)]
pub struct ObjectionRow {
    pub id: i64,
    pub nomination_id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub reason: String,
    pub created_at_ms: i64,
    pub decision: Option<String>,
    pub answer: Option<String>,
    pub answered_at_ms: Option<i64>,
}

const OBJECTION_COLS: &str = "o.id, o.nomination_id, o.person_id, p.name AS person_name, o.reason, o.created_at_ms, \
     o.decision, o.answer, o.answered_at_ms FROM rating_objections o JOIN people p ON p.id = o.person_id";

fn objection(r: &sqlx::any::AnyRow) -> Result<ObjectionRow> {
    Ok(ObjectionRow {
        id: r.try_get("id")?,
        nomination_id: r.try_get("nomination_id")?,
        person_id: r.try_get("person_id")?,
        person_name: r.try_get("person_name")?,
        reason: r.try_get("reason")?,
        created_at_ms: r.try_get("created_at_ms")?,
        decision: r.try_get("decision")?,
        answer: r.try_get("answer")?,
        answered_at_ms: r.try_get("answered_at_ms")?,
    })
}

pub async fn insert_objection(conn: &mut Conn, nomination: i64, person: i64, reason: &str, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO rating_objections (nomination_id, person_id, reason, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(nomination)
    .bind(person)
    .bind(reason)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_objection(conn: &mut Conn, id: i64) -> Result<Option<ObjectionRow>> {
    let sql = format!("SELECT {OBJECTION_COLS} WHERE o.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(objection).transpose()
}

/// The objections to the campaign's nominations, in the order they came.
pub async fn objections_of(conn: &mut Conn, campaign: i64) -> Result<Vec<ObjectionRow>> {
    let sql = format!(
        "SELECT {OBJECTION_COLS} JOIN rating_nominations n ON n.id = o.nomination_id WHERE n.campaign_id = $1 ORDER BY o.id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(campaign).fetch_all(&mut *conn).await?.iter().map(objection).collect()
}

/// Answers an objection not answered yet; false when it was.
pub async fn answer_objection(
    conn: &mut Conn,
    id: i64,
    decision: &str,
    answer: &str,
    by: i64,
    now_ms: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE rating_objections SET decision = $2, answer = $3, answered_by = $4, answered_at_ms = $5 \
         WHERE id = $1 AND decision IS NULL",
    )
    .bind(id)
    .bind(decision)
    .bind(answer)
    .bind(by)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

#[derive(Debug, Clone)]
pub struct HonourRow {
    pub nomination_id: i64,
    pub campaign_id: i64,
    pub shown_name: String,
    pub deeds: String,
    pub kind: String,
    pub honour: String,
    pub title: String,
    pub territory_code: String,
    pub nominee_territory: Option<String>,
    pub awarded_at_ms: i64,
}

/// The honours awarded by campaigns of the territory subtree of `prefix`, newest first.
pub async fn honours_within(conn: &mut Conn, prefix: &str, limit: i64) -> Result<Vec<HonourRow>> {
    let (scope, binds) = crate::scope_filter("c.territory_code", &[prefix], 2);
    let sql = format!(
        "SELECT n.id, n.campaign_id, n.shown_name, n.deeds, c.kind, c.honour, c.title, c.territory_code, \
         n.nominee_territory, c.awarded_at_ms FROM rating_nominations n JOIN rating_campaigns c ON c.id = n.campaign_id \
         WHERE n.standing = 'awarded' AND {scope} ORDER BY c.awarded_at_ms DESC, n.votes DESC, n.id LIMIT $1"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit);
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(HonourRow {
                nomination_id: r.try_get(0)?,
                campaign_id: r.try_get(1)?,
                shown_name: r.try_get(2)?,
                deeds: r.try_get(3)?,
                kind: r.try_get(4)?,
                honour: r.try_get(5)?,
                title: r.try_get(6)?,
                territory_code: r.try_get(7)?,
                nominee_territory: r.try_get(8)?,
                awarded_at_ms: r.try_get(9)?,
            })
        })
        .collect()
}

/// The people of this name whose account has this phone and whose home lies in the territory
/// subtree of `prefix`.
pub async fn residents_with_phone(conn: &mut Conn, phone: &str, name: &str, prefix: &str) -> Result<Vec<i64>> {
    let (scope, binds) = crate::scope_filter("home_territory", &[prefix], 3);
    let sql = format!("SELECT id FROM people WHERE phone = $1 AND name = $2 AND {scope} ORDER BY id LIMIT 2");
    let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(phone).bind(name);
    for b in binds {
        q = q.bind(b);
    }
    Ok(q.fetch_all(&mut *conn).await?)
}
