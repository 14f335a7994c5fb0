//! The base archives (房车人物): reading them through the one classification rule
//! (`wuzhi_domain::archives::fields::access`), with every clear read of personal data tied to
//! a stated purpose and written to the audit chain; edits from the field with their history;
//! links from cases; the map's layers; and a person's own view of what is held about them.
//! Imports are in [`import`], people's correction and deletion requests in [`requests`], the
//! retention sweep and key rotation in [`keep`], the demo's synthetic population in [`demo`].

pub mod demo;
pub mod import;
pub mod keep;
pub mod requests;

use crate::audit::record;
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::json;
use wuzhi_domain::archives::fields::{self, Access, Class, Purpose};
use wuzhi_domain::{Action, Actor, Role, Target, TerritoryCode};
use wuzhi_store::archives::{self as store, PersonRow, Val};

pub(crate) use requests::on_due;

/// The associated data each sealed field is bound to.
pub(crate) const SEAL_ID: &str = "person.id_number";
pub(crate) const SEAL_PHONE: &str = "person.phone";
pub(crate) const SEAL_BIRTH: &str = "person.birth_date";
pub(crate) const SEAL_SPECIAL: &str = "person.special_tags";
pub(crate) const SEAL_CONTACT: &str = "business.contact_phone";
/// Old and new values of sealed fields in a record's history.
pub(crate) const SEAL_HISTORY: &str = "archive_changes";

/// Ten minutes: the window of the bulk-read warning.
const BULK_WINDOW_MS: i64 = 10 * 60 * 1000;

/// One person as a reader may see them. A field the reader may not see at all is `None`;
/// `clear` lists the protected fields shown in clear (the rest are masked).
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = ArchivePerson)]
pub struct PersonView {
    pub id: i64,
    pub grid_code: String,
    pub grid_name: Option<String>,
    pub house_id: Option<i64>,
    pub household: Option<String>,
    pub relation: String,
    pub name: String,
    pub sex: String,
    pub birth_year: Option<i64>,
    pub birth_date: Option<String>,
    pub id_kind: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub residence: String,
    pub moved_in_ms: Option<i64>,
    pub moved_out_ms: Option<i64>,
    /// Care groups (关爱对象), shown to whoever may read the record.
    pub care_tags: Vec<String>,
    /// Special groups: present only for a reader whose post is for that work, with a purpose.
    pub special_tags: Option<Vec<String>>,
    pub anonymised: bool,
    pub version: i64,
    pub clear: Vec<&'static str>,
}

fn class_of(name: &str) -> Class {
    fields::field("person", name).map(|f| f.class).unwrap_or(Class::Special)
}

fn territory(code: &str) -> Result<TerritoryCode> {
    TerritoryCode::parse(code).map_err(|e| AppError::Internal(format!("stored grid code {code}: {e}")))
}

fn open_sealed(app: &App, field: &str, blob: Option<&Vec<u8>>) -> Result<Option<String>> {
    blob.map(|b| app.settings.vault.open_str(field, b).map_err(|e| AppError::Internal(format!("{field}: {e}"))))
        .transpose()
}

/// The person as `actor` may see them: each field through the classification rule. Returns
/// the view and the protected fields it shows in clear (which the caller audits).
pub(crate) fn view(app: &App, actor: &Actor, row: &PersonRow, purpose: bool) -> Result<PersonView> {
    let grid = territory(&row.grid_code)?;
    let own = row.person_id == Some(actor.person_id);
    let see = |name: &str| fields::access(actor, class_of(name), &grid, purpose, own);
    if see("name") == Access::Hidden {
        return Err(AppError::Forbidden { action: Action::ReadArchives.as_str().into() });
    }
    let mut clear = Vec::new();
    let mut shown = |name: &'static str, access: Access| {
        if access == Access::Clear {
            clear.push(name);
        }
        access
    };
    let name = match shown("name", see("name")) {
        Access::Clear => row.name.clone(),
        _ => wuzhi_domain::mask::name(&row.name),
    };
    let phone = match shown("phone", see("phone")) {
        Access::Clear => open_sealed(app, SEAL_PHONE, row.phone_enc.as_ref())?,
        Access::Masked => row.phone_mask.clone(),
        Access::Hidden => None,
    };
    let id_number = match shown("id_number", see("id_number")) {
        Access::Clear => open_sealed(app, SEAL_ID, row.id_enc.as_ref())?,
        Access::Masked => row.id_mask.clone(),
        Access::Hidden => None,
    };
    let birth_date = match shown("birth_date", see("birth_date")) {
        Access::Clear => open_sealed(app, SEAL_BIRTH, row.birth_enc.as_ref())?,
        Access::Masked => row.birth_year.map(|y| format!("{y}-**-**")),
        Access::Hidden => None,
    };
    let special_tags = match shown("special_tags", see("special_tags")) {
        Access::Clear => Some(
            open_sealed(app, SEAL_SPECIAL, row.special_enc.as_ref())?
                .map(|s| s.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
        ),
        _ => None,
    };
    // The rest of the personal class is shown as it is once the record may be read at all
    // (the table gives them no mask): sex, residence, relation.
    Ok(PersonView {
        id: row.id,
        grid_name: app.locator().name_of(&row.grid_code),
        grid_code: row.grid_code.clone(),
        house_id: row.house_id,
        household: row.household_ref.clone(),
        relation: row.relation.clone(),
        name,
        sex: row.sex.clone(),
        birth_year: row.birth_year,
        birth_date,
        id_kind: row.id_kind.clone(),
        id_number,
        phone,
        residence: row.residence.clone(),
        moved_in_ms: row.moved_in_ms,
        moved_out_ms: row.moved_out_ms,
        care_tags: row.tags.clone(),
        special_tags,
        anonymised: row.anonymised_at_ms.is_some(),
        version: row.version,
        clear,
    })
}

/// Checks a purpose: a reason is taken as stated (and audited); a work item must exist and
/// be one the reader may open — inside the territory of one of their staff posts, or owned by
/// their unit. Returns the purpose as the audit records it.
pub(crate) async fn check_purpose(app: &App, actor: &Actor, p: &Purpose) -> Result<String> {
    match p {
        Purpose::Reason { text } => Ok(format!("reason: {text}")),
        Purpose::Item { item_kind, id } => {
            let mut conn = app.db.read().await?;
            let head = wuzhi_store::work::head(&mut conn, item_kind, *id).await?;
            let Some(h) = head else {
                return Err(AppError::invalid("purpose", format!("there is no {item_kind} {id}")));
            };
            let t = territory(&h.territory_code)?;
            let inside = actor.grants.iter().any(|g| g.role != Role::Resident && g.scope.contains(&t));
            if !inside && !h.owner_org_id.is_some_and(|o| actor.member_of(o)) {
                return Err(AppError::invalid("purpose", format!("{item_kind} {id} is not one you may open")));
            }
            Ok(format!("{item_kind}: {id}"))
        }
    }
}

/// Records the clear read of `fields` of `row` by `actor` for `purpose`: in the audit chain
/// and in the person's read log, in one transaction; then warns the data-protection
/// officers when the reader has read many people in a short time.
async fn audit_read(app: &App, actor: &Actor, row: &PersonRow, protected: &[&str], purpose: &str) -> Result<()> {
    // `view` lists in `clear` only the protected fields it showed in clear.
    if protected.is_empty() || row.person_id == Some(actor.person_id) {
        return Ok(());
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    record(
        &mut tx,
        now,
        Some(actor),
        "archives.read_personal",
        "archive_person",
        &row.id.to_string(),
        json!({"fields": protected, "purpose": purpose}),
    )
    .await?;
    let seq = wuzhi_store::audit::head(&mut tx).await?.0;
    store::insert_read(&mut tx, row.id, actor.person_id, now, &protected.join(","), purpose, seq).await?;
    let read = store::people_read_since(&mut tx, actor.person_id, now - BULK_WINDOW_MS).await?;
    if read == app.settings.bulk_read_threshold {
        let officers = officers_over(&mut tx, &row.grid_code, now).await?;
        let body = format!("批量查看预警：人员 #{} 在十分钟内查看了 {read} 人的个人信息原文", actor.person_id);
        for o in &officers {
            wuzhi_store::notifications::insert_notification(&mut tx, *o, None, "archives.bulk_read", &body, now)
                .await?;
        }
        record(
            &mut tx,
            now,
            None,
            "archives.bulk_read_warning",
            "person",
            &actor.person_id.to_string(),
            json!({"people": read, "window_ms": BULK_WINDOW_MS, "told": officers}),
        )
        .await?;
    }
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// The people holding a data-protection officer's post over `code`.
async fn officers_over(conn: &mut wuzhi_store::Conn, code: &str, now: i64) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    let t = territory(code)?;
    for (person, scope) in wuzhi_store::people::holders_of_role(conn, Role::DataProtectionOfficer.as_str(), now).await?
    {
        if TerritoryCode::parse(&scope).is_ok_and(|s| s.contains(&t)) && !out.contains(&person) {
            out.push(person);
        }
    }
    Ok(out)
}

async fn read_person(app: &App, actor: &Actor, row: PersonRow, purpose: Option<&Purpose>) -> Result<PersonView> {
    let purpose_text = match purpose {
        Some(p) => Some(check_purpose(app, actor, p).await?),
        None => None,
    };
    let v = view(app, actor, &row, purpose_text.is_some())?;
    if let Some(p) = &purpose_text {
        audit_read(app, actor, &row, &v.clear, p).await?;
    }
    Ok(v)
}

/// One person: masked, or with a purpose in clear as far as the reader's posts allow.
pub async fn person(app: &App, actor: &Actor, id: i64, purpose: Option<&Purpose>) -> Result<PersonView> {
    let mut conn = app.db.read().await?;
    let row = store::get_person(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("person {id}")))?;
    drop(conn);
    read_person(app, actor, row, purpose).await
}

/// The person with this identity number, found through its blind index (no row is
/// decrypted to find it). Someone who may not read the record learns nothing: the answer
/// is "not found" whether or not the number is in the archives.
pub async fn lookup(app: &App, actor: &Actor, id_number: &str, purpose: Option<&Purpose>) -> Result<PersonView> {
    let id = wuzhi_domain::archives::ids::IdNumber::parse("id_number", id_number)?;
    let hash = app.settings.vault.blind(SEAL_ID, id.as_str());
    let mut conn = app.db.read().await?;
    let row = store::person_by_id_hash(&mut conn, &hash).await?;
    drop(conn);
    let not_found = || AppError::not_found("a person with this identity number");
    let Some(row) = row else { return Err(not_found()) };
    if actor.can(Action::ReadArchives, &Target::territory(&territory(&row.grid_code)?)).is_err() {
        return Err(not_found());
    }
    read_person(app, actor, row, purpose).await
}

/// A household as the grid's pages list it.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct HouseholdView {
    pub house_id: Option<i64>,
    pub building_id: Option<i64>,
    pub address: Option<String>,
    pub house_number: Option<String>,
    pub house_use: Option<String>,
    pub household: Option<String>,
    pub members: Vec<PersonView>,
    /// The care tags of its members, once each.
    pub care_tags: Vec<String>,
}

/// A grid's households with their care tags, masked: what a grid worker plans visits from.
pub async fn grid_households(app: &App, actor: &Actor, grid: &str) -> Result<Vec<HouseholdView>> {
    let code = TerritoryCode::parse(grid).map_err(|e| AppError::invalid("grid", e.reason))?;
    actor.can(Action::ReadArchives, &Target::territory(&code))?;
    let mut conn = app.db.read().await?;
    let people = store::people_in_grid(&mut conn, code.as_str(), 20_000).await?;
    let mut house_ids: Vec<i64> = people.iter().filter_map(|p| p.house_id).collect();
    house_ids.dedup();
    let houses: std::collections::HashMap<i64, (store::HouseRow, String, i64)> =
        store::houses_with_address(&mut conn, &house_ids).await?.into_iter().map(|h| (h.0.id, h)).collect();
    drop(conn);
    let mut out: Vec<HouseholdView> = Vec::new();
    for p in &people {
        let v = view(app, actor, p, false)?;
        let h = p.house_id.and_then(|id| houses.get(&id));
        add_member(&mut out, p, v, || HouseholdView {
            house_id: p.house_id,
            building_id: h.map(|h| h.2),
            address: h.map(|h| h.1.clone()),
            house_number: h.map(|h| h.0.number.clone()),
            house_use: h.map(|h| h.0.use_kind.clone()),
            household: p.household_ref.clone(),
            members: vec![],
            care_tags: vec![],
        });
    }
    Ok(out)
}

/// A household's key: its house and household reference (`12:H0003`; `0:` without a house).
pub fn household_key(house_id: Option<i64>, household_ref: Option<&str>) -> String {
    format!("{}:{}", house_id.unwrap_or(0), household_ref.unwrap_or(""))
}

/// The grid a household (by its [`household_key`]) lives in, if it does.
pub async fn household_grid(app: &App, key: &str) -> Result<Option<String>> {
    let Some((house, household)) = key.split_once(':') else { return Ok(None) };
    let Ok(house) = house.parse::<i64>() else { return Ok(None) };
    let mut conn = app.db.read().await?;
    Ok(store::grid_of_household(&mut conn, (house != 0).then_some(house), household).await?)
}

/// A household as grid work plans visits from it: its key, grid and care tags, and nothing
/// personal.
#[derive(Debug, Clone)]
pub struct CareHousehold {
    pub key: String,
    pub grid_code: String,
    pub house_id: Option<i64>,
    pub care_tags: Vec<String>,
}

/// The households living in the grids under `code` with their care tags (no names, no
/// numbers): what visit plans and their indicators count. It checks nobody's posts, so its
/// callers must: grid work shows single households only to those who read the archives, and
/// sums to those who read grid work.
pub async fn care_households(app: &App, code: &TerritoryCode) -> Result<Vec<CareHousehold>> {
    let mut conn = app.db.read().await?;
    let rows = store::households_under(&mut conn, code.scope_prefix()).await?;
    drop(conn);
    let mut out: Vec<CareHousehold> = Vec::new();
    for (house, household, grid, tags) in rows {
        let key = household_key(house, household.as_deref());
        let care: Vec<String> = tags
            .into_iter()
            .filter(|t| fields::TAGS.iter().any(|(c, _, class)| c == t && *class != fields::Class::Special))
            .collect();
        match out.last_mut() {
            Some(h) if h.key == key => {
                for t in care {
                    if !h.care_tags.contains(&t) {
                        h.care_tags.push(t);
                    }
                }
            }
            _ => out.push(CareHousehold { key, grid_code: grid, house_id: house, care_tags: care }),
        }
    }
    Ok(out)
}

/// Adds a person (read in house and household order) to the list: to the last household
/// when it is theirs, else to a new one made by `new`; the household's care tags once each.
fn add_member(out: &mut Vec<HouseholdView>, p: &PersonRow, v: PersonView, new: impl FnOnce() -> HouseholdView) {
    if !out.last().is_some_and(|h| h.house_id == p.house_id && h.household == p.household_ref) {
        out.push(new());
    }
    let last = out.last_mut().expect("pushed above");
    for t in &v.care_tags {
        if !last.care_tags.contains(t) {
            last.care_tags.push(t.clone());
        }
    }
    last.members.push(v);
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct BuildingView {
    pub id: i64,
    pub reference: String,
    pub grid_code: String,
    pub grid_name: Option<String>,
    pub address: String,
    pub kind: String,
    pub floors: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

fn building_view(app: &App, b: store::BuildingRow) -> BuildingView {
    BuildingView {
        id: b.id,
        reference: b.reference,
        grid_name: app.locator().name_of(&b.grid_code),
        grid_code: b.grid_code,
        address: b.address,
        kind: b.kind,
        floors: b.floors,
        lat: b.lat,
        lon: b.lon,
    }
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct HouseView {
    pub id: i64,
    pub number: String,
    pub area_m2: Option<f64>,
    /// 自住/出租/空置/经营: personal class, shown once the record may be read.
    pub house_use: String,
    pub households: Vec<HouseholdView>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct OpenItem {
    pub kind: String,
    pub id: i64,
    pub status: String,
}

/// A building's page: its houses, their households (masked) and the open work that names it.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct BuildingPage {
    pub building: BuildingView,
    pub houses: Vec<HouseView>,
    pub open_items: Vec<OpenItem>,
}

pub async fn building(app: &App, actor: &Actor, id: i64) -> Result<BuildingPage> {
    let mut conn = app.db.read().await?;
    let b = store::get_building(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("building {id}")))?;
    actor.can(Action::ReadArchives, &Target::territory(&territory(&b.grid_code)?))?;
    let houses = store::houses_of(&mut conn, id).await?;
    let ids: Vec<i64> = houses.iter().map(|h| h.id).collect();
    let people = store::people_in_houses(&mut conn, &ids).await?;
    let open = store::open_items_of(&mut conn, "building", id).await?;
    drop(conn);
    let mut out = Vec::new();
    for h in houses {
        let mut households: Vec<HouseholdView> = Vec::new();
        for p in people.iter().filter(|p| p.house_id == Some(h.id)) {
            let v = view(app, actor, p, false)?;
            add_member(&mut households, p, v, || HouseholdView {
                house_id: Some(h.id),
                building_id: Some(id),
                address: None,
                house_number: Some(h.number.clone()),
                house_use: Some(h.use_kind.clone()),
                household: p.household_ref.clone(),
                members: vec![],
                care_tags: vec![],
            });
        }
        out.push(HouseView { id: h.id, number: h.number, area_m2: h.area_m2, house_use: h.use_kind, households });
    }
    Ok(BuildingPage {
        building: building_view(app, b),
        houses: out,
        open_items: open.into_iter().map(|(kind, id, status)| OpenItem { kind, id, status }).collect(),
    })
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct ComponentView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub major_class: String,
    pub grid_code: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub state: String,
    pub owner_org_id: Option<i64>,
    pub owner_org_name: Option<String>,
    pub version: i64,
}

fn component_view(c: store::ComponentRow) -> ComponentView {
    let major = wuzhi_domain::archives::ids::COMPONENT_CLASSES
        .iter()
        .find(|(code, _)| c.code.get(6..8) == Some(*code))
        .map(|(_, n)| (*n).to_owned())
        .unwrap_or_default();
    ComponentView {
        id: c.id,
        code: c.code,
        name: c.name,
        major_class: major,
        grid_code: c.grid_code,
        lat: c.lat,
        lon: c.lon,
        state: c.state,
        owner_org_id: c.owner_org_id,
        owner_org_name: c.owner_org_name,
        version: c.version,
    }
}

pub async fn component(app: &App, actor: &Actor, id: i64) -> Result<ComponentView> {
    let mut conn = app.db.read().await?;
    let c = store::get_component(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("component {id}")))?;
    actor.can(Action::ReadArchives, &Target::territory(&territory(&c.grid_code)?))?;
    Ok(component_view(c))
}

/// What a search over the archives finds, within the reader's rights, masked.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Found {
    pub people: Vec<PersonView>,
    pub buildings: Vec<BuildingView>,
}

/// People by the start of their name, buildings by a part of their address, in the reader's
/// territory. Names are matched in clear but shown masked.
pub async fn search(app: &App, actor: &Actor, q: &str) -> Result<Found> {
    let q = wuzhi_domain::text::name("q", q, 50)?;
    let scopes = actor.scopes_for(Action::ReadArchives);
    if scopes.is_empty() {
        return Err(AppError::Forbidden { action: Action::ReadArchives.as_str().into() });
    }
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let mut conn = app.db.read().await?;
    let people = store::people_named(&mut conn, &prefixes, &q, 20).await?;
    let buildings = store::buildings(&mut conn, &prefixes, Some(&q), 20).await?;
    drop(conn);
    Ok(Found {
        people: people.iter().map(|p| view(app, actor, p, false)).collect::<Result<_>>()?,
        buildings: buildings.into_iter().map(|b| building_view(app, b)).collect(),
    })
}

/// The map's layers: buildings (with how many care-tagged people live in each and how many
/// open cases name it) and components, as GeoJSON features in the reader's territory.
pub async fn layer(app: &App, actor: &Actor, which: &str, limit: Option<i64>) -> Result<serde_json::Value> {
    let limit = limit.unwrap_or(5_000).clamp(1, 20_000);
    let scopes = actor.scopes_for(Action::ReadArchives);
    if scopes.is_empty() {
        return Err(AppError::Forbidden { action: Action::ReadArchives.as_str().into() });
    }
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let mut conn = app.db.read().await?;
    let features: Vec<serde_json::Value> = match which {
        "buildings" => store::building_layer(&mut conn, &prefixes, limit)
            .await?
            .into_iter()
            .filter_map(|(b, cared, open)| {
                Some(json!({"type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [b.lon?, b.lat?]},
                    "properties": {"id": b.id, "address": b.address, "kind": b.kind, "grid_code": b.grid_code,
                                   "care_tagged": cared, "open_cases": open}}))
            })
            .collect(),
        "components" => store::components(&mut conn, &prefixes, limit)
            .await?
            .into_iter()
            .filter_map(|c| {
                let (lon, lat) = (c.lon?, c.lat?);
                let v = component_view(c);
                Some(json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"id": v.id, "code": v.code, "name": v.name, "class": v.major_class,
                                   "state": v.state, "owner": v.owner_org_name}}))
            })
            .collect(),
        other => return Err(AppError::invalid("layer", format!("`{other}` is not buildings or components"))),
    };
    Ok(json!({"type": "FeatureCollection", "features": features}))
}

/// A change from the field to a person's record; absent fields stay as they are.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct PersonChanges {
    pub version: i64,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub residence: Option<String>,
    pub relation: Option<String>,
    /// `YYYY-MM-DD`: the person moved out on that day.
    pub moved_out: Option<String>,
    /// Care tags (replacing the present ones).
    pub care_tags: Option<Vec<String>>,
    /// Special groups (replacing them): only with `read_special_groups`.
    pub special_tags: Option<Vec<String>>,
    /// Where the change comes from (set by the use case that makes it, never by a client).
    #[serde(skip)]
    pub source: Option<String>,
}

/// Updates a person from the field (grid workers, community staff), keeping each change in
/// the record's history: old → new, sealed where the field is sealed, masked in the listing.
pub async fn update_person(app: &App, actor: &Actor, id: i64, c: &PersonChanges) -> Result<PersonView> {
    let mut tx = app.db.write().await?;
    let changed = update_person_in(app, &mut tx, actor, id, c).await?;
    if changed {
        wuzhi_store::commit(tx).await?;
    } else {
        drop(tx);
    }
    person(app, actor, id, None).await
}

/// [`update_person`] inside the caller's transaction (a visit's updates are written with the
/// visit, or not at all). True when something changed.
pub async fn update_person_in(
    app: &App,
    tx: &mut wuzhi_store::Tx,
    actor: &Actor,
    id: i64,
    c: &PersonChanges,
) -> Result<bool> {
    let row = store::get_person(tx, id).await?.ok_or_else(|| AppError::not_found(format!("person {id}")))?;
    let grid = territory(&row.grid_code)?;
    actor.can(Action::EditArchives, &Target::territory(&grid))?;
    if row.anonymised_at_ms.is_some() {
        return Err(AppError::Conflict { field: "id".into(), reason: "the record was anonymised".into() });
    }
    let vault = &app.settings.vault;
    let key = i64::from(vault.current());
    let now = app.now_ms();
    let mut sets: Vec<(&str, Val)> = Vec::new();
    let mut changes: Vec<store::Change> = Vec::new();
    let change = |field: &'static str, old: Option<String>, new: Option<String>, old_enc, new_enc| store::Change {
        record: "person",
        record_id: id,
        version: row.version + 1,
        field,
        old_text: old,
        new_text: new,
        old_enc,
        new_enc,
        key_id: key,
        actor_id: Some(actor.person_id),
        at_ms: now,
        source: c.source.clone(),
    };
    if let Some(n) = &c.name {
        let n = wuzhi_domain::text::name("name", n, 50)?;
        if n != row.name {
            changes.push(change(
                "name",
                Some(wuzhi_domain::mask::name(&row.name)),
                Some(wuzhi_domain::mask::name(&n)),
                Some(vault.seal_str(SEAL_HISTORY, &row.name)),
                Some(vault.seal_str(SEAL_HISTORY, &n)),
            ));
            sets.push(("name", n.into()));
        }
    }
    if let Some(p) = &c.phone {
        let p = wuzhi_domain::text::phone(p)?;
        let old = open_sealed(app, SEAL_PHONE, row.phone_enc.as_ref())?;
        if old.as_deref() != Some(p.as_str()) {
            let sealed = vault.seal_str(SEAL_PHONE, &p);
            changes.push(change(
                "phone",
                row.phone_mask.clone(),
                Some(wuzhi_domain::mask::phone(&p)),
                old.as_deref().map(|o| vault.seal_str(SEAL_HISTORY, o)),
                Some(vault.seal_str(SEAL_HISTORY, &p)),
            ));
            sets.push(("phone_enc", Some(sealed).into()));
            sets.push(("phone_hash", Some(vault.blind(SEAL_PHONE, &p)).into()));
            sets.push(("phone_mask", Some(wuzhi_domain::mask::phone(&p)).into()));
        }
    }
    if let Some(r) = &c.residence {
        let r = wuzhi_domain::archives::residence(r)?;
        if r != row.residence {
            changes.push(change("residence", Some(row.residence.clone()), Some(r.into()), None, None));
            sets.push(("residence", r.into()));
        }
    }
    if let Some(r) = &c.relation {
        let r = wuzhi_domain::archives::relation(r)?;
        if r != row.relation {
            changes.push(change("relation", Some(row.relation.clone()), Some(r.into()), None, None));
            sets.push(("relation", r.into()));
        }
    }
    if let Some(d) = &c.moved_out {
        let day = wuzhi_domain::calendar::parse_day("moved_out", d)?;
        let ms = day * wuzhi_domain::calendar::DAY_MS - wuzhi_domain::calendar::OFFSET_MS;
        changes.push(change("moved_out", row.moved_out_ms.map(|m| m.to_string()), Some(d.clone()), None, None));
        sets.push(("moved_out_ms", Some(ms).into()));
    }
    let mut new_tags = None;
    if let Some(tags) = &c.care_tags {
        let mut codes: Vec<&str> = Vec::new();
        for t in tags {
            let (code, _, class) = fields::tag("care_tags", t)?;
            if *class == Class::Special {
                return Err(AppError::invalid("care_tags", format!("`{code}` is a special group: use special_tags")));
            }
            if !codes.contains(code) {
                codes.push(code);
            }
        }
        codes.sort_unstable();
        if codes != row.tags.iter().map(String::as_str).collect::<Vec<_>>() {
            changes.push(change("care_tags", Some(row.tags.join(",")), Some(codes.join(",")), None, None));
            new_tags = Some(codes);
        }
    }
    if let Some(tags) = &c.special_tags {
        actor.can(Action::ReadSpecialGroups, &Target::territory(&grid))?;
        let mut codes: Vec<&str> = Vec::new();
        for t in tags {
            let (code, _, class) = fields::tag("special_tags", t)?;
            if *class != Class::Special {
                return Err(AppError::invalid("special_tags", format!("`{code}` is a care group: use care_tags")));
            }
            if !codes.contains(code) {
                codes.push(code);
            }
        }
        codes.sort_unstable();
        let sealed = (!codes.is_empty()).then(|| vault.seal_str(SEAL_SPECIAL, &codes.join(",")));
        let old = open_sealed(app, SEAL_SPECIAL, row.special_enc.as_ref())?;
        changes.push(change(
            "special_tags",
            None,
            None,
            old.as_deref().map(|o| vault.seal_str(SEAL_HISTORY, o)),
            Some(vault.seal_str(SEAL_HISTORY, &codes.join(","))),
        ));
        sets.push(("special_enc", sealed.into()));
    }
    if changes.is_empty() {
        return Ok(false);
    }
    sets.push(("key_id", key.into()));
    if !store::update_person(tx, id, c.version, &sets, now).await? {
        return Err(AppError::Conflict {
            field: "version".into(),
            reason: "the record changed meanwhile; reload it".into(),
        });
    }
    if let Some(tags) = &new_tags {
        store::set_tags(tx, id, &row.grid_code, tags).await?;
    }
    let fields: Vec<&str> = changes.iter().map(|c| c.field).collect();
    store::insert_changes(tx, &changes).await?;
    record(
        tx,
        now,
        Some(actor),
        "archives.update",
        "archive_person",
        &id.to_string(),
        json!({"fields": fields, "source": c.source}),
    )
    .await?;
    Ok(true)
}

/// A change of a component's state from the field (a manhole cover found broken).
pub async fn update_component(app: &App, actor: &Actor, id: i64, version: i64, state: &str) -> Result<ComponentView> {
    let state = wuzhi_domain::archives::component_state(state)?;
    let mut conn = app.db.read().await?;
    let c = store::get_component(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("component {id}")))?;
    drop(conn);
    actor.can(Action::EditArchives, &Target::territory(&territory(&c.grid_code)?))?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if !store::update_record(&mut tx, "archive_components", id, version, &[("state", state.into())], now).await? {
        return Err(AppError::Conflict {
            field: "version".into(),
            reason: "the record changed meanwhile; reload it".into(),
        });
    }
    let ch = store::Change {
        record: "component",
        record_id: id,
        version: version + 1,
        field: "state",
        old_text: Some(c.state.clone()),
        new_text: Some(state.into()),
        old_enc: None,
        new_enc: None,
        key_id: i64::from(app.settings.vault.current()),
        actor_id: Some(actor.person_id),
        at_ms: now,
        source: None,
    };
    store::insert_changes(&mut tx, &[ch]).await?;
    record(
        &mut tx,
        now,
        Some(actor),
        "archives.update",
        "archive_component",
        &id.to_string(),
        json!({"fields": ["state"]}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    component(app, actor, id).await
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct ChangeView {
    pub version: i64,
    pub field: String,
    /// Masked where the field is protected.
    pub old: Option<String>,
    pub new: Option<String>,
    pub by: Option<String>,
    pub at_ms: i64,
    /// Where it came from besides its author: `import`, a visit (`gridwork.visit:12`).
    pub source: Option<String>,
}

/// A record's history (who changed what when), masked.
pub async fn history(app: &App, actor: &Actor, record: &str, id: i64) -> Result<Vec<ChangeView>> {
    let mut conn = app.db.read().await?;
    let grid = match record {
        "person" => store::get_person(&mut conn, id).await?.map(|p| p.grid_code),
        "component" => store::get_component(&mut conn, id).await?.map(|c| c.grid_code),
        other => return Err(AppError::invalid("record", format!("`{other}` is not person or component"))),
    }
    .ok_or_else(|| AppError::not_found(format!("{record} {id}")))?;
    actor.can(Action::ReadArchives, &Target::territory(&territory(&grid)?))?;
    let rows = store::changes_of(&mut conn, record, id).await?;
    Ok(rows
        .into_iter()
        .map(|r| ChangeView {
            version: r.version,
            field: r.field,
            old: r.old_text,
            new: r.new_text,
            by: r.actor_name,
            at_ms: r.at_ms,
            source: r.source,
        })
        .collect())
}

/// What a case names in the archives, with what the dispatch can take from it.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Linked {
    pub record: String,
    pub record_id: i64,
    pub label: String,
    /// For a component: the unit responsible for it, which the dispatch form offers.
    pub owner_org_id: Option<i64>,
    pub owner_org_name: Option<String>,
}

/// Names a record of the archives on a case. The reader must be able to open the case and read
/// the record's archives.
pub async fn link_case(app: &App, actor: &Actor, case_id: i64, record: &str, record_id: i64) -> Result<Linked> {
    let purpose = Purpose::Item { item_kind: "case".into(), id: case_id };
    check_purpose(app, actor, &purpose).await.map_err(|_| AppError::not_found(format!("case {case_id}")))?;
    let mut conn = app.db.read().await?;
    let (grid, label, owner, owner_name) = match record {
        "building" => {
            let b = store::get_building(&mut conn, record_id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("building {record_id}")))?;
            (b.grid_code, b.address, None, None)
        }
        "component" => {
            let c = store::get_component(&mut conn, record_id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("component {record_id}")))?;
            (c.grid_code, format!("{} {}", c.name, c.code), c.owner_org_id, c.owner_org_name)
        }
        "person" => {
            let p = store::get_person(&mut conn, record_id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("person {record_id}")))?;
            let label = wuzhi_domain::mask::name(&p.name);
            (p.grid_code, label, None, None)
        }
        other => return Err(AppError::invalid("record", format!("`{other}` is not building, component or person"))),
    };
    drop(conn);
    actor.can(Action::ReadArchives, &Target::territory(&territory(&grid)?))?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    store::link(&mut tx, "case", case_id, record, record_id, now).await.map_err(|e| {
        if matches!(e, wuzhi_store::StoreError::Unique(_)) {
            AppError::Conflict { field: "record_id".into(), reason: "the case already names this record".into() }
        } else {
            e.into()
        }
    })?;
    record_link(&mut tx, now, actor, case_id, record, record_id).await?;
    wuzhi_store::commit(tx).await?;
    Ok(Linked { record: record.into(), record_id, label, owner_org_id: owner, owner_org_name: owner_name })
}

async fn record_link(
    tx: &mut wuzhi_store::Tx,
    now: i64,
    actor: &Actor,
    case: i64,
    record: &str,
    id: i64,
) -> Result<()> {
    crate::audit::record(
        tx,
        now,
        Some(actor),
        "archives.link",
        "case",
        &case.to_string(),
        json!({"record": record, "id": id}),
    )
    .await
}

/// The records a case names.
pub async fn links_of_case(app: &App, actor: &Actor, case_id: i64) -> Result<Vec<Linked>> {
    let purpose = Purpose::Item { item_kind: "case".into(), id: case_id };
    check_purpose(app, actor, &purpose).await.map_err(|_| AppError::not_found(format!("case {case_id}")))?;
    let mut conn = app.db.read().await?;
    let mut out = Vec::new();
    for (record, id) in store::links_of_item(&mut conn, "case", case_id).await? {
        let item = match record.as_str() {
            "building" => store::get_building(&mut conn, id).await?.map(|b| (b.grid_code, b.address, None, None)),
            "component" => store::get_component(&mut conn, id)
                .await?
                .map(|c| (c.grid_code, format!("{} {}", c.name, c.code), c.owner_org_id, c.owner_org_name)),
            "person" => store::get_person(&mut conn, id)
                .await?
                .map(|p| (p.grid_code, wuzhi_domain::mask::name(&p.name), None, None)),
            _ => None,
        };
        if let Some((grid, label, owner, owner_name)) = item {
            // A record outside the reader's archives is not shown.
            if actor.can(Action::ReadArchives, &Target::territory(&territory(&grid)?)).is_ok() {
                out.push(Linked { record, record_id: id, label, owner_org_id: owner, owner_org_name: owner_name });
            }
        }
    }
    Ok(out)
}

/// A read of one's data as its owner sees it (PIPL art. 45: who read what, when, why).
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct ReadView {
    pub at_ms: i64,
    pub by: String,
    pub fields: Vec<String>,
    pub purpose: String,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct MyRecord {
    pub person: PersonView,
    pub reads: Vec<ReadView>,
}

/// What the archives hold about the signed-in person, and who read it in clear.
pub async fn mine(app: &App, actor: &Actor) -> Result<Vec<MyRecord>> {
    let mut conn = app.db.read().await?;
    let rows = store::people_of_account(&mut conn, actor.person_id).await?;
    let mut out = Vec::new();
    for r in rows {
        let reads = store::reads_of(&mut conn, r.id, 200).await?;
        out.push(MyRecord {
            person: view(app, actor, &r, false)?,
            reads: reads
                .into_iter()
                .map(|x| ReadView {
                    at_ms: x.at_ms,
                    by: x.actor_name,
                    fields: x.fields.split(',').map(str::to_owned).collect(),
                    // A work item's id is told, a reason in words too: the person has a right to both.
                    purpose: x.purpose,
                })
                .collect(),
        });
    }
    Ok(out)
}

/// Links the signed-in person to their record: they give their identity number, and the
/// record's phone must be the phone of their account. The answer is the same whether the
/// number is unknown or the phone differs, so nobody learns whose number is held.
pub async fn claim(app: &App, actor: &Actor, id_number: &str) -> Result<PersonView> {
    let id = wuzhi_domain::archives::ids::IdNumber::parse("id_number", id_number)?;
    let vault = &app.settings.vault;
    let hash = vault.blind(SEAL_ID, id.as_str());
    let mut conn = app.db.read().await?;
    let me = wuzhi_store::people::get_person(&mut conn, actor.person_id).await?;
    let row = store::person_by_id_hash(&mut conn, &hash).await?;
    drop(conn);
    let refused = || AppError::invalid("id_number", "matches no record with the phone of your account");
    let my_phone = me.and_then(|m| m.phone).ok_or_else(refused)?;
    let row = row.ok_or_else(refused)?;
    if row.phone_hash.as_deref() != Some(vault.blind(SEAL_PHONE, &my_phone).as_str()) {
        return Err(refused());
    }
    if row.person_id.is_some_and(|p| p != actor.person_id) {
        return Err(refused());
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    store::link_account(&mut tx, row.id, actor.person_id).await?;
    record(&mut tx, now, Some(actor), "archives.claim", "archive_person", &row.id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    let mut linked = row;
    linked.person_id = Some(actor.person_id);
    view(app, actor, &linked, false)
}

/// A grid's people as CSV for office work: always masked (an export leaves the system, so no
/// purpose unmasks it), and the export itself is audited.
pub async fn export_grid(app: &App, actor: &Actor, grid: &str) -> Result<String> {
    let households = grid_households(app, actor, grid).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| AppError::Internal(e.to_string());
    w.write_record([
        "address",
        "house",
        "household",
        "relation",
        "name",
        "sex",
        "birth_year",
        "id_number",
        "phone",
        "residence",
        "care_tags",
    ])
    .map_err(e)?;
    let mut n = 0;
    for h in &households {
        for m in &h.members {
            n += 1;
            w.write_record([
                h.address.clone().unwrap_or_default(),
                h.house_number.clone().unwrap_or_default(),
                h.household.clone().unwrap_or_default(),
                m.relation.clone(),
                m.name.clone(),
                m.sex.clone(),
                m.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                m.id_number.clone().unwrap_or_default(),
                m.phone.clone().unwrap_or_default(),
                m.residence.clone(),
                m.care_tags.join(";"),
            ])
            .map_err(e)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| AppError::Internal(e.to_string()))?;
    let mut tx = app.db.write().await?;
    record(
        &mut tx,
        app.now_ms(),
        Some(actor),
        "archives.export",
        "territory",
        grid,
        json!({"people": n, "masked": true}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
}
