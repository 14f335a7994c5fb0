//! The archives' storage: buildings, houses, people with their tags, vehicles, components and
//! businesses, each attached to a grid; the history of every change; who read whom; and the
//! rows of people's requests (whose heads live in `work_heads`). Sealed fields arrive and
//! leave sealed: this layer never sees a key.

pub mod requests;

use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};

pub use crate::bulk::{Val, insert_rows, insert_rows_returning};
use crate::bulk::{bind, marks};

/// The ids of rows of `table` by their `key` column (`ref`, `code`, …), for the keys given.
pub async fn ids_by(conn: &mut Conn, table: &str, key: &str, keys: &[String]) -> Result<Vec<(String, i64, String)>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        if chunk.is_empty() {
            continue;
        }
        let sql = format!("SELECT {key}, id, grid_code FROM {table} WHERE {key} IN ({})", marks(conn, chunk.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(k.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
        }
    }
    Ok(out)
}

/// The territory codes among `codes` that exist at grid level.
pub async fn existing_grids(conn: &mut Conn, codes: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(500) {
        let sql =
            format!("SELECT code FROM territories WHERE level = 'grid' AND code IN ({})", marks(conn, chunk.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(k.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(r.try_get(0)?);
        }
    }
    Ok(out)
}

pub const BUILDING_COLUMNS: &[&str] = &["ref", "grid_code", "address", "kind", "floors", "lat", "lon", "updated_at_ms"];
pub const HOUSE_COLUMNS: &[&str] =
    &["ref", "building_id", "grid_code", "number", "area_m2", "use_kind", "ownership", "updated_at_ms"];
pub const PERSON_COLUMNS: &[&str] = &[
    "ref",
    "grid_code",
    "house_id",
    "household_ref",
    "relation",
    "name",
    "sex",
    "birth_year",
    "birth_enc",
    "id_kind",
    "id_enc",
    "id_hash",
    "id_mask",
    "phone_enc",
    "phone_hash",
    "phone_mask",
    "special_enc",
    "residence",
    "moved_in_ms",
    "moved_out_ms",
    "key_id",
    "updated_at_ms",
];
pub const TAG_COLUMNS: &[&str] = &["person_id", "tag", "grid_code"];
pub const VEHICLE_COLUMNS: &[&str] =
    &["plate", "new_energy", "grid_code", "owner_person_id", "owner_business_id", "parking", "updated_at_ms"];
pub const COMPONENT_COLUMNS: &[&str] =
    &["code", "name", "grid_code", "lat", "lon", "state", "owner_org_id", "updated_at_ms"];
pub const BUSINESS_COLUMNS: &[&str] = &[
    "credit_code",
    "name",
    "kind",
    "grid_code",
    "address",
    "lat",
    "lon",
    "contact_phone_enc",
    "contact_phone_mask",
    "key_id",
    "updated_at_ms",
];

// ---- people ----

#[derive(Debug, Clone, Default)]
pub struct PersonRow {
    pub id: i64,
    pub grid_code: String,
    pub house_id: Option<i64>,
    pub household_ref: Option<String>,
    pub relation: String,
    pub name: String,
    pub sex: String,
    pub birth_year: Option<i64>,
    pub birth_enc: Option<Vec<u8>>,
    pub id_kind: String,
    pub id_enc: Option<Vec<u8>>,
    pub id_mask: Option<String>,
    pub phone_enc: Option<Vec<u8>>,
    pub phone_mask: Option<String>,
    pub phone_hash: Option<String>,
    pub special_enc: Option<Vec<u8>>,
    pub residence: String,
    pub moved_in_ms: Option<i64>,
    pub moved_out_ms: Option<i64>,
    pub person_id: Option<i64>,
    pub anonymised_at_ms: Option<i64>,
    pub version: i64,
    /// Care tags (the sensitive class; special groups are inside `special_enc`).
    pub tags: Vec<String>,
}

const PERSON_SELECT: &str = "SELECT id, grid_code, house_id, household_ref, relation, name, sex, birth_year, birth_enc, id_kind, id_enc, id_mask, phone_enc, phone_mask, phone_hash, special_enc, residence, moved_in_ms, moved_out_ms, person_id, anonymised_at_ms, version FROM archive_people";

fn person(r: &sqlx::any::AnyRow) -> Result<PersonRow> {
    Ok(PersonRow {
        id: r.try_get(0)?,
        grid_code: r.try_get(1)?,
        house_id: r.try_get(2)?,
        household_ref: r.try_get(3)?,
        relation: r.try_get(4)?,
        name: r.try_get(5)?,
        sex: r.try_get(6)?,
        birth_year: r.try_get(7)?,
        birth_enc: r.try_get(8)?,
        id_kind: r.try_get(9)?,
        id_enc: r.try_get(10)?,
        id_mask: r.try_get(11)?,
        phone_enc: r.try_get(12)?,
        phone_mask: r.try_get(13)?,
        phone_hash: r.try_get(14)?,
        special_enc: r.try_get(15)?,
        residence: r.try_get(16)?,
        moved_in_ms: r.try_get(17)?,
        moved_out_ms: r.try_get(18)?,
        person_id: r.try_get(19)?,
        anonymised_at_ms: r.try_get(20)?,
        version: r.try_get(21)?,
        tags: vec![],
    })
}

async fn with_tags(conn: &mut Conn, mut people: Vec<PersonRow>) -> Result<Vec<PersonRow>> {
    for chunk in people.chunks_mut(500) {
        if chunk.is_empty() {
            continue;
        }
        let ids: Vec<String> = chunk.iter().map(|p| p.id.to_string()).collect();
        let sql = format!(
            "SELECT person_id, tag FROM archive_person_tags WHERE person_id IN ({}) ORDER BY person_id, tag",
            ids.join(", ")
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
        let at: std::collections::HashMap<i64, usize> = chunk.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        for r in rows {
            let (pid, tag): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
            if let Some(i) = at.get(&pid) {
                chunk[*i].tags.push(tag);
            }
        }
    }
    Ok(people)
}

pub async fn get_person(conn: &mut Conn, id: i64) -> Result<Option<PersonRow>> {
    let sql = format!("{PERSON_SELECT} WHERE id = $1");
    let Some(r) = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    Ok(with_tags(conn, vec![person(&r)?]).await?.pop())
}

/// The person whose identity number has this blind index.
pub async fn person_by_id_hash(conn: &mut Conn, hash: &str) -> Result<Option<PersonRow>> {
    let sql = format!("{PERSON_SELECT} WHERE id_hash = $1");
    let Some(r) = sqlx::query(AssertSqlSafe(sql)).bind(hash).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    Ok(with_tags(conn, vec![person(&r)?]).await?.pop())
}

/// Which of these identity-number hashes are already in the archives.
pub async fn existing_id_hashes(conn: &mut Conn, hashes: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in hashes.chunks(500) {
        let sql = format!("SELECT id_hash FROM archive_people WHERE id_hash IN ({})", marks(conn, chunk.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(k.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(r.try_get(0)?);
        }
    }
    Ok(out)
}

/// The people linked to an account.
pub async fn people_of_account(conn: &mut Conn, account_person: i64) -> Result<Vec<PersonRow>> {
    let sql = format!("{PERSON_SELECT} WHERE person_id = $1 ORDER BY id");
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(account_person).fetch_all(&mut *conn).await?;
    let people = rows.iter().map(person).collect::<Result<Vec<_>>>()?;
    with_tags(conn, people).await
}

pub async fn link_account(conn: &mut Conn, id: i64, account_person: i64) -> Result<()> {
    sqlx::query("UPDATE archive_people SET person_id = $1 WHERE id = $2")
        .bind(account_person)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The people living in the given houses, still there (not moved out), by house and relation.
pub async fn people_in_houses(conn: &mut Conn, houses: &[i64]) -> Result<Vec<PersonRow>> {
    let mut out = Vec::new();
    for chunk in houses.chunks(500) {
        if chunk.is_empty() {
            continue;
        }
        let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let sql = format!(
            "{PERSON_SELECT} WHERE house_id IN ({}) AND moved_out_ms IS NULL ORDER BY house_id, household_ref, id",
            ids.join(", ")
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
        out.extend(rows.iter().map(person).collect::<Result<Vec<_>>>()?);
    }
    with_tags(conn, out).await
}

/// A grid's people still living there, by house: one indexed range over the grid.
pub async fn people_in_grid(conn: &mut Conn, grid: &str, limit: i64) -> Result<Vec<PersonRow>> {
    let sql = format!(
        "{PERSON_SELECT} WHERE grid_code = $1 AND moved_out_ms IS NULL ORDER BY house_id, household_ref, id LIMIT {}",
        limit.max(0)
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(grid).fetch_all(&mut *conn).await?;
    let people = rows.iter().map(person).collect::<Result<Vec<_>>>()?;
    // The grid's tags in one range read instead of per person.
    let tags =
        sqlx::query("SELECT person_id, tag FROM archive_person_tags WHERE grid_code = $1 ORDER BY person_id, tag")
            .bind(grid)
            .fetch_all(&mut *conn)
            .await?;
    let mut by_person: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    for r in tags {
        by_person.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
    }
    Ok(people
        .into_iter()
        .map(|mut p| {
            p.tags = by_person.remove(&p.id).unwrap_or_default();
            p
        })
        .collect())
}

/// Everyone living in the grids under `prefix`, in house and household order, with their
/// tags: (house, household reference, grid, tags).
pub async fn households_under(
    conn: &mut Conn,
    prefix: &str,
) -> Result<Vec<(Option<i64>, Option<String>, String, Vec<String>)>> {
    let (scope, binds) = scope_filter("grid_code", &[prefix], 1);
    let sql = format!(
        "SELECT id, house_id, household_ref, grid_code FROM archive_people WHERE {scope} AND moved_out_ms IS NULL AND anonymised_at_ms IS NULL ORDER BY house_id, household_ref, id"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b.as_str());
    }
    let people = q.fetch_all(&mut *conn).await?;
    let (scope_t, binds_t) = scope_filter("grid_code", &[prefix], 1);
    let mut q = sqlx::query(AssertSqlSafe(format!("SELECT person_id, tag FROM archive_person_tags WHERE {scope_t}")));
    for b in &binds_t {
        q = q.bind(b.as_str());
    }
    let mut tags: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    for r in q.fetch_all(&mut *conn).await? {
        tags.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
    }
    people
        .iter()
        .map(|r| {
            let id: i64 = r.try_get(0)?;
            Ok((r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, tags.remove(&id).unwrap_or_default()))
        })
        .collect()
}

/// The grid of the household living in house `house` (none: no house) under `household`.
pub async fn grid_of_household(conn: &mut Conn, house: Option<i64>, household: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT grid_code FROM archive_people WHERE ((house_id IS NULL AND $1 = 0) OR house_id = $1) AND COALESCE(household_ref, '') = $2 AND moved_out_ms IS NULL AND anonymised_at_ms IS NULL LIMIT 1",
    )
    .bind(house.unwrap_or(0))
    .bind(household)
    .fetch_optional(&mut *conn)
    .await?)
}

/// People whose name starts with `prefix` in the given scopes (masked by the caller).
pub async fn people_named(conn: &mut Conn, scopes: &[&str], prefix: &str, limit: i64) -> Result<Vec<PersonRow>> {
    let (scope_sql, binds) = scope_filter("grid_code", scopes, 2);
    let sql = format!(
        "{PERSON_SELECT} WHERE name LIKE $1 AND anonymised_at_ms IS NULL AND {scope_sql} ORDER BY name, id LIMIT {}",
        limit.max(0)
    );
    let pattern = format!("{}%", prefix.replace(['%', '_', '\\'], ""));
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(pattern);
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let people = rows.iter().map(person).collect::<Result<Vec<_>>>()?;
    with_tags(conn, people).await
}

/// Writes one person's changed columns and bumps the version, if it is still `version`.
/// False when someone changed the record meanwhile.
pub async fn update_person(conn: &mut Conn, id: i64, version: i64, sets: &[(&str, Val)], now_ms: i64) -> Result<bool> {
    update_record(conn, "archive_people", id, version, sets, now_ms).await
}

/// The same for any archive table with `version` and `updated_at_ms`.
pub async fn update_record(
    conn: &mut Conn,
    table: &str,
    id: i64,
    version: i64,
    sets: &[(&str, Val)],
    now_ms: i64,
) -> Result<bool> {
    let mut sql = format!("UPDATE {table} SET version = version + 1, updated_at_ms = $1");
    for (i, (col, _)) in sets.iter().enumerate() {
        sql.push_str(&format!(", {col} = ${}", i + 2));
    }
    sql.push_str(&format!(" WHERE id = ${} AND version = ${}", sets.len() + 2, sets.len() + 3));
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now_ms);
    for (_, v) in sets {
        q = bind(q, v);
    }
    Ok(q.bind(id).bind(version).execute(&mut *conn).await?.rows_affected() == 1)
}

pub async fn set_tags(conn: &mut Conn, person: i64, grid: &str, tags: &[&str]) -> Result<()> {
    sqlx::query("DELETE FROM archive_person_tags WHERE person_id = $1").bind(person).execute(&mut *conn).await?;
    let rows: Vec<Vec<Val>> = tags.iter().map(|t| vec![person.into(), (*t).into(), grid.into()]).collect();
    insert_rows(conn, "archive_person_tags", TAG_COLUMNS, &rows).await
}

// ---- history ----

#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub record: &'a str,
    pub record_id: i64,
    pub version: i64,
    pub field: &'a str,
    pub old_text: Option<String>,
    pub new_text: Option<String>,
    pub old_enc: Option<Vec<u8>>,
    pub new_enc: Option<Vec<u8>>,
    pub key_id: i64,
    pub actor_id: Option<i64>,
    pub at_ms: i64,
    /// Where the change came from besides its actor (`gridwork.visit:12`), if anywhere.
    pub source: Option<String>,
}

pub async fn insert_changes(conn: &mut Conn, changes: &[Change<'_>]) -> Result<()> {
    let rows: Vec<Vec<Val>> = changes
        .iter()
        .map(|c| {
            vec![
                c.record.into(),
                c.record_id.into(),
                c.version.into(),
                c.field.into(),
                c.old_text.clone().into(),
                c.new_text.clone().into(),
                c.old_enc.clone().into(),
                c.new_enc.clone().into(),
                c.key_id.into(),
                c.actor_id.into(),
                c.at_ms.into(),
                c.source.clone().into(),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "archive_changes",
        &[
            "record",
            "record_id",
            "version",
            "field",
            "old_text",
            "new_text",
            "old_enc",
            "new_enc",
            "key_id",
            "actor_id",
            "at_ms",
            "source",
        ],
        &rows,
    )
    .await
}

#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub version: i64,
    pub field: String,
    pub old_text: Option<String>,
    pub new_text: Option<String>,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub at_ms: i64,
    pub source: Option<String>,
}

pub async fn changes_of(conn: &mut Conn, record: &str, id: i64) -> Result<Vec<ChangeRow>> {
    let rows = sqlx::query(
        "SELECT c.version, c.field, c.old_text, c.new_text, c.actor_id, p.name, c.at_ms, c.source FROM archive_changes c LEFT JOIN people p ON p.id = c.actor_id WHERE c.record = $1 AND c.record_id = $2 ORDER BY c.id",
    )
    .bind(record)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ChangeRow {
                version: r.try_get(0)?,
                field: r.try_get(1)?,
                old_text: r.try_get(2)?,
                new_text: r.try_get(3)?,
                actor_id: r.try_get(4)?,
                actor_name: r.try_get(5)?,
                at_ms: r.try_get(6)?,
                source: r.try_get(7)?,
            })
        })
        .collect()
}

// ---- reads of personal data ----

pub async fn insert_read(
    conn: &mut Conn,
    archive_person: i64,
    actor: i64,
    at_ms: i64,
    fields: &str,
    purpose: &str,
    audit_seq: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO archive_reads (archive_person_id, actor_id, at_ms, fields, purpose, audit_seq) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(archive_person)
    .bind(actor)
    .bind(at_ms)
    .bind(fields)
    .bind(purpose)
    .bind(audit_seq)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many different people `actor` read in clear since `since_ms`.
pub async fn people_read_since(conn: &mut Conn, actor: i64, since_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(DISTINCT archive_person_id) FROM archive_reads WHERE actor_id = $1 AND at_ms >= $2",
    )
    .bind(actor)
    .bind(since_ms)
    .fetch_one(&mut *conn)
    .await?)
}

#[derive(Debug, Clone)]
pub struct ReadRow {
    pub at_ms: i64,
    pub actor_name: String,
    pub fields: String,
    pub purpose: String,
}

/// Who read this person's data in clear, newest first.
pub async fn reads_of(conn: &mut Conn, archive_person: i64, limit: i64) -> Result<Vec<ReadRow>> {
    let rows = sqlx::query(
        "SELECT r.at_ms, p.name, r.fields, r.purpose FROM archive_reads r JOIN people p ON p.id = r.actor_id WHERE r.archive_person_id = $1 ORDER BY r.id DESC LIMIT $2",
    )
    .bind(archive_person)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReadRow {
                at_ms: r.try_get(0)?,
                actor_name: r.try_get(1)?,
                fields: r.try_get(2)?,
                purpose: r.try_get(3)?,
            })
        })
        .collect()
}

// ---- buildings and houses ----

#[derive(Debug, Clone)]
pub struct BuildingRow {
    pub id: i64,
    pub reference: String,
    pub grid_code: String,
    pub address: String,
    pub kind: String,
    pub floors: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

fn building(r: &sqlx::any::AnyRow) -> Result<BuildingRow> {
    Ok(BuildingRow {
        id: r.try_get(0)?,
        reference: r.try_get(1)?,
        grid_code: r.try_get(2)?,
        address: r.try_get(3)?,
        kind: r.try_get(4)?,
        floors: r.try_get(5)?,
        lat: r.try_get(6)?,
        lon: r.try_get(7)?,
    })
}

const BUILDING_SELECT: &str = "SELECT id, ref, grid_code, address, kind, floors, lat, lon FROM archive_buildings";

pub async fn get_building(conn: &mut Conn, id: i64) -> Result<Option<BuildingRow>> {
    let sql = format!("{BUILDING_SELECT} WHERE id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(building).transpose()
}

/// Buildings in the scopes, optionally only those whose address contains `q`.
pub async fn buildings(conn: &mut Conn, scopes: &[&str], q: Option<&str>, limit: i64) -> Result<Vec<BuildingRow>> {
    let (scope_sql, binds) = scope_filter("grid_code", scopes, 2);
    let sql = format!(
        "{BUILDING_SELECT} WHERE ($1 = '' OR address LIKE $1) AND {scope_sql} ORDER BY grid_code, id LIMIT {}",
        limit.max(0)
    );
    let like = q.map(|q| format!("%{}%", q.replace(['%', '_'], ""))).unwrap_or_default();
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(like);
    for b in &binds {
        query = query.bind(b);
    }
    query.fetch_all(&mut *conn).await?.iter().map(building).collect()
}

#[derive(Debug, Clone)]
pub struct HouseRow {
    pub id: i64,
    pub building_id: i64,
    pub grid_code: String,
    pub number: String,
    pub area_m2: Option<f64>,
    pub use_kind: String,
    pub ownership: String,
    pub version: i64,
}

pub async fn houses_of(conn: &mut Conn, building: i64) -> Result<Vec<HouseRow>> {
    let rows = sqlx::query(
        "SELECT id, building_id, grid_code, number, area_m2, use_kind, ownership, version FROM archive_houses WHERE building_id = $1 ORDER BY number, id",
    )
    .bind(building)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(house).collect()
}

fn house(r: &sqlx::any::AnyRow) -> Result<HouseRow> {
    Ok(HouseRow {
        id: r.try_get(0)?,
        building_id: r.try_get(1)?,
        grid_code: r.try_get(2)?,
        number: r.try_get(3)?,
        area_m2: r.try_get(4)?,
        use_kind: r.try_get(5)?,
        ownership: r.try_get(6)?,
        version: r.try_get(7)?,
    })
}

/// The houses of the given ids with their building's address.
pub async fn houses_with_address(conn: &mut Conn, ids: &[i64]) -> Result<Vec<(HouseRow, String, i64)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        if chunk.is_empty() {
            continue;
        }
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT h.id, h.building_id, h.grid_code, h.number, h.area_m2, h.use_kind, h.ownership, h.version, b.address, b.id FROM archive_houses h JOIN archive_buildings b ON b.id = h.building_id WHERE h.id IN ({})",
            list.join(", ")
        );
        for r in sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await? {
            out.push((house(&r)?, r.try_get(8)?, r.try_get(9)?));
        }
    }
    Ok(out)
}

/// Per building in the scopes with a point: its care-tag count and open linked cases, for the map.
pub async fn building_layer(conn: &mut Conn, scopes: &[&str], limit: i64) -> Result<Vec<(BuildingRow, i64, i64)>> {
    let (scope_sql, binds) = scope_filter("b.grid_code", scopes, 1);
    let sql = format!(
        "SELECT b.id, b.ref, b.grid_code, b.address, b.kind, b.floors, b.lat, b.lon, \
         (SELECT COUNT(*) FROM archive_houses h JOIN archive_people p ON p.house_id = h.id JOIN archive_person_tags t ON t.person_id = p.id WHERE h.building_id = b.id AND p.moved_out_ms IS NULL), \
         (SELECT COUNT(*) FROM archive_links l JOIN work_heads w ON w.kind = l.item_kind AND w.item_id = l.item_id WHERE l.record = 'building' AND l.record_id = b.id AND w.open = 1) \
         FROM archive_buildings b WHERE b.lat IS NOT NULL AND {scope_sql} ORDER BY b.id LIMIT {}",
        limit.max(0)
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((building(r)?, r.try_get(8)?, r.try_get(9)?))).collect()
}

// ---- components, vehicles, businesses ----

#[derive(Debug, Clone)]
pub struct ComponentRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub grid_code: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub state: String,
    pub owner_org_id: Option<i64>,
    pub owner_org_name: Option<String>,
    pub version: i64,
}

const COMPONENT_SELECT: &str = "SELECT c.id, c.code, c.name, c.grid_code, c.lat, c.lon, c.state, c.owner_org_id, o.name, c.version FROM archive_components c LEFT JOIN organisations o ON o.id = c.owner_org_id";

fn component(r: &sqlx::any::AnyRow) -> Result<ComponentRow> {
    Ok(ComponentRow {
        id: r.try_get(0)?,
        code: r.try_get(1)?,
        name: r.try_get(2)?,
        grid_code: r.try_get(3)?,
        lat: r.try_get(4)?,
        lon: r.try_get(5)?,
        state: r.try_get(6)?,
        owner_org_id: r.try_get(7)?,
        owner_org_name: r.try_get(8)?,
        version: r.try_get(9)?,
    })
}

pub async fn get_component(conn: &mut Conn, id: i64) -> Result<Option<ComponentRow>> {
    let sql = format!("{COMPONENT_SELECT} WHERE c.id = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(component).transpose()
}

pub async fn components(conn: &mut Conn, scopes: &[&str], limit: i64) -> Result<Vec<ComponentRow>> {
    let (scope_sql, binds) = scope_filter("c.grid_code", scopes, 1);
    let sql = format!("{COMPONENT_SELECT} WHERE {scope_sql} ORDER BY c.id LIMIT {}", limit.max(0));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(component).collect()
}

// ---- links from work items ----

pub async fn link(
    conn: &mut Conn,
    item_kind: &str,
    item_id: i64,
    record: &str,
    record_id: i64,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO archive_links (item_kind, item_id, record, record_id, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(item_kind)
    .bind(item_id)
    .bind(record)
    .bind(record_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The records a work item names.
pub async fn links_of_item(conn: &mut Conn, item_kind: &str, item_id: i64) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT record, record_id FROM archive_links WHERE item_kind = $1 AND item_id = $2 ORDER BY record, record_id",
    )
    .bind(item_kind)
    .bind(item_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// The open work items that name a record: (kind, id, status).
pub async fn open_items_of(conn: &mut Conn, record: &str, record_id: i64) -> Result<Vec<(String, i64, String)>> {
    let rows = sqlx::query(
        "SELECT l.item_kind, l.item_id, w.status FROM archive_links l JOIN work_heads w ON w.kind = l.item_kind AND w.item_id = l.item_id WHERE l.record = $1 AND l.record_id = $2 AND w.open = 1 ORDER BY l.item_id",
    )
    .bind(record)
    .bind(record_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

// ---- retention and keys ----

/// People who moved out before `before_ms` and still hold special-group data.
pub async fn special_due(conn: &mut Conn, before_ms: i64, limit: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT id FROM archive_people WHERE moved_out_ms < $1 AND special_enc IS NOT NULL AND anonymised_at_ms IS NULL ORDER BY id LIMIT $2",
    )
    .bind(before_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// People who moved out before `before_ms` and are not yet anonymised.
pub async fn anonymise_due(conn: &mut Conn, before_ms: i64, limit: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT id FROM archive_people WHERE moved_out_ms < $1 AND anonymised_at_ms IS NULL ORDER BY id LIMIT $2",
    )
    .bind(before_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Erases a person's personal fields (they keep their grid, house, sex and birth year, which
/// are counted but name nobody), their tags, and the sealed values of their history.
pub async fn anonymise(conn: &mut Conn, id: i64, now_ms: i64) -> Result<()> {
    sqlx::query(
        "UPDATE archive_people SET name = '已匿名', birth_enc = NULL, id_enc = NULL, id_hash = NULL, id_mask = NULL, phone_enc = NULL, phone_hash = NULL, phone_mask = NULL, special_enc = NULL, household_ref = NULL, person_id = NULL, anonymised_at_ms = $1, version = version + 1, updated_at_ms = $1 WHERE id = $2",
    )
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM archive_person_tags WHERE person_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query(
        "UPDATE archive_changes SET old_text = NULL, new_text = NULL, old_enc = NULL, new_enc = NULL WHERE record = 'person' AND record_id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE archive_vehicles SET owner_person_id = NULL WHERE owner_person_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn clear_special(conn: &mut Conn, id: i64, now_ms: i64) -> Result<()> {
    sqlx::query(
        "UPDATE archive_people SET special_enc = NULL, version = version + 1, updated_at_ms = $1 WHERE id = $2",
    )
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sealed columns of each table that holds them, for re-sealing under a new key.
pub const SEALED: &[(&str, &[&str])] = &[
    ("archive_people", &["birth_enc", "id_enc", "phone_enc", "special_enc"]),
    ("archive_businesses", &["contact_phone_enc"]),
    ("archive_changes", &["old_enc", "new_enc"]),
];

/// A slice of rows of `table` sealed under another key than `current`: id and the blobs.
pub async fn sealed_under_other_key(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    current: i64,
    limit: i64,
) -> Result<Vec<(i64, Vec<Option<Vec<u8>>>)>> {
    let sql = format!("SELECT id, {} FROM {table} WHERE key_id <> $1 ORDER BY id LIMIT $2", columns.join(", "));
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(current).bind(limit).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            let mut blobs = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                blobs.push(r.try_get(i + 1)?);
            }
            Ok((r.try_get(0)?, blobs))
        })
        .collect()
}

pub async fn reseal(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    id: i64,
    blobs: &[Option<Vec<u8>>],
    key: i64,
) -> Result<()> {
    let mut sql = format!("UPDATE {table} SET key_id = $1");
    for (i, c) in columns.iter().enumerate() {
        sql.push_str(&format!(", {c} = ${}", i + 2));
    }
    sql.push_str(&format!(" WHERE id = ${}", columns.len() + 2));
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(key);
    for b in blobs {
        q = q.bind(b.as_deref());
    }
    q.bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// Counts for the size figures: people, houses, buildings.
pub async fn counts(conn: &mut Conn) -> Result<(i64, i64, i64)> {
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM archive_people), (SELECT COUNT(*) FROM archive_houses), (SELECT COUNT(*) FROM archive_buildings)",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
}
