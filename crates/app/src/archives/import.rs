//! Importing the archives from CSV or Excel (xlsx): buildings, houses, people, vehicles,
//! components and businesses, all or nothing. Every bad row is named with its line and
//! field (a wrong check digit, an unknown grid, a duplicate identity number, a house outside
//! its building's grid, a point outside its grid) and then nothing is written; a preview
//! (`dry_run`) checks everything and writes nothing. A person whose identity number is
//! already in the archives is the same person: the row is merged into the record (its
//! house, household and residence updated, with history) instead of making a second one.
//! No error message quotes a personal value.

use super::{SEAL_BIRTH, SEAL_CONTACT, SEAL_ID, SEAL_PHONE, SEAL_SPECIAL};
use crate::audit::record;
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use wuzhi_domain::archives::fields::{self, Class};
use wuzhi_domain::archives::ids::{ComponentCode, CreditCode, IdNumber, Plate, Sex};
use wuzhi_domain::work::Caller;
use wuzhi_domain::{Action, Target, TerritoryCode};
use wuzhi_geo::ImportError;
use wuzhi_store::archives::{self as store, Val};

/// What can be imported.
pub const KINDS: &[&str] = &["buildings", "houses", "people", "vehicles", "components", "businesses"];

/// A file's rows: its header and, per row, the line it came from and its cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn col(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h.trim() == name)
    }
}

/// Reads a CSV (UTF-8, with or without a byte-order mark) or an xlsx workbook's first sheet.
pub fn read_table(bytes: &[u8], format: &str) -> Result<Table> {
    match format {
        "csv" => {
            let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
            let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
            let headers = rdr
                .headers()
                .map_err(|e| AppError::invalid("file", format!("the header row does not read: {e}")))?
                .iter()
                .map(|h| h.trim().to_owned())
                .collect();
            let mut rows = Vec::new();
            for rec in rdr.records() {
                let rec = rec.map_err(|e| {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    AppError::invalid("file", format!("line {line} does not read as CSV (is it UTF-8?)"))
                })?;
                let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
                rows.push((line, rec.iter().map(|c| c.trim().to_owned()).collect()));
            }
            Ok(Table { headers, rows })
        }
        "xlsx" => {
            use calamine::Reader;
            let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes))
                .map_err(|e| AppError::invalid("file", format!("is not an xlsx workbook: {e}")))?;
            let range = book
                .worksheet_range_at(0)
                .ok_or_else(|| AppError::invalid("file", "has no sheet"))?
                .map_err(|e| AppError::invalid("file", format!("its first sheet does not read: {e}")))?;
            let mut it = range.rows();
            let headers =
                it.next().map(|r| r.iter().map(|c| c.to_string().trim().to_owned()).collect()).unwrap_or_default();
            let rows = it
                .enumerate()
                .map(|(i, r)| (i + 2, r.iter().map(|c| c.to_string().trim().to_owned()).collect::<Vec<_>>()))
                .filter(|(_, r)| r.iter().any(|c| !c.is_empty()))
                .collect();
            Ok(Table { headers, rows })
        }
        other => Err(AppError::invalid("format", format!("`{other}` is not csv or xlsx"))),
    }
}

#[derive(Debug, Serialize, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = ArchiveImportReport)]
pub struct ImportReport {
    pub kind: String,
    pub rows: usize,
    pub created: usize,
    /// People already in the archives (by identity number) whose record the row updated.
    pub merged: usize,
    /// True when nothing was written (a preview).
    pub dry_run: bool,
}

struct Errors(Vec<ImportError>);

impl Errors {
    fn push(&mut self, line: usize, field: &str, reason: impl Into<String>) {
        self.0.push(ImportError { location: format!("line {line}"), field: field.to_owned(), reason: reason.into() });
    }
}

/// One row's cells by column name.
struct Row<'a> {
    table: &'a Table,
    cells: &'a [String],
    line: usize,
}

impl<'a> Row<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.table.col(name).and_then(|c| self.cells.get(c)).map(String::as_str).filter(|s| !s.is_empty())
    }
    fn need(&self, name: &str, errors: &mut Errors) -> Option<&'a str> {
        let v = self.get(name);
        if v.is_none() {
            errors.push(self.line, name, "is required");
        }
        v
    }
}

fn number(row: &Row<'_>, name: &str, errors: &mut Errors) -> Option<f64> {
    let v = row.get(name)?;
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() => Some(n),
        _ => {
            errors.push(row.line, name, format!("`{v}` is not a number"));
            None
        }
    }
}

fn day_ms(field: &str, s: &str) -> std::result::Result<i64, wuzhi_domain::Invalid> {
    let day = wuzhi_domain::calendar::parse_day(field, s)?;
    Ok(day * wuzhi_domain::calendar::DAY_MS - wuzhi_domain::calendar::OFFSET_MS)
}

/// Imports `table` as archives of `kind`. A person may import into the grids where their
/// posts give `import_archives`; the command line anywhere.
pub async fn import(app: &App, caller: Caller<'_>, kind: &str, table: &Table, dry_run: bool) -> Result<ImportReport> {
    if !KINDS.contains(&kind) {
        return Err(AppError::invalid("kind", format!("`{kind}` is not one of {}", KINDS.join(", "))));
    }
    if let Some(a) = caller.person() {
        if a.scopes_for(Action::ImportArchives).is_empty() {
            return Err(AppError::Forbidden { action: Action::ImportArchives.as_str().into() });
        }
    }
    if table.rows.is_empty() {
        return Err(AppError::invalid("file", "has no rows"));
    }
    let required: &[&str] = match kind {
        "buildings" => &["ref", "grid_code", "address", "kind"],
        "houses" => &["ref", "building_ref", "number", "use"],
        "people" => &["ref", "name", "residence"],
        "vehicles" => &["plate", "grid_code"],
        "components" => &["code", "name", "grid_code"],
        _ => &["credit_code", "name", "kind", "grid_code", "address"],
    };
    for r in required {
        if table.col(r).is_none() {
            return Err(AppError::invalid("header", format!("needs a {r} column")));
        }
    }
    let mut errors = Errors(Vec::new());
    let started = std::time::Instant::now();
    let plan = plan(app, caller, kind, table, &mut errors).await?;
    let planned = started.elapsed();
    if !errors.0.is_empty() {
        errors.0.truncate(200);
        return Err(AppError::Import(errors.0));
    }
    let report = ImportReport {
        kind: kind.into(),
        rows: table.rows.len(),
        created: plan.rows.len(),
        merged: plan.merges.len(),
        dry_run,
    };
    if dry_run {
        return Ok(report);
    }
    write(app, caller, kind, plan, &report).await?;
    tracing::info!(
        kind,
        rows = report.rows,
        check_ms = planned.as_millis() as u64,
        write_ms = (started.elapsed() - planned).as_millis() as u64,
        "archives imported"
    );
    Ok(report)
}

/// What an import will write.
#[derive(Default)]
struct Plan {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Val>>,
    /// People rows: per new row, its ref, grid and care tags (written once ids exist).
    tags: Vec<(String, String, Vec<&'static str>)>,
    merges: Vec<Merge>,
}

/// An imported row of a person already in the archives.
struct Merge {
    id: i64,
    version: i64,
    grid: String,
    sets: Vec<(&'static str, Val)>,
    changed: Vec<(&'static str, Option<String>, Option<String>)>,
    tags: Vec<&'static str>,
}

/// The grids named by a column that exist; every other is reported.
async fn grids(app: &App, table: &Table, column: &str) -> Result<HashSet<String>> {
    let Some(c) = table.col(column) else { return Ok(HashSet::new()) };
    let mut codes: Vec<String> =
        table.rows.iter().filter_map(|(_, r)| r.get(c)).filter(|s| !s.is_empty()).cloned().collect();
    codes.sort_unstable();
    codes.dedup();
    let mut conn = app.db.read().await?;
    Ok(store::existing_grids(&mut conn, &codes).await?.into_iter().collect())
}

fn allowed(caller: Caller<'_>, grid: &str) -> bool {
    match caller.person() {
        None => true,
        Some(a) => {
            TerritoryCode::parse(grid).is_ok_and(|t| a.can(Action::ImportArchives, &Target::territory(&t)).is_ok())
        }
    }
}

/// Checks a row's grid: known, and one the importer may write to.
fn check_grid(
    row: &Row<'_>,
    field: &str,
    grid: &str,
    known: &HashSet<String>,
    caller: Caller<'_>,
    errors: &mut Errors,
) -> bool {
    if !known.contains(grid) {
        errors.push(row.line, field, format!("{grid} is not a grid of the territory tree"));
        return false;
    }
    if !allowed(caller, grid) {
        errors.push(row.line, field, format!("you may not import into grid {grid}"));
        return false;
    }
    true
}

/// Checks that a point lies in the row's grid.
fn check_point(app: &App, row: &Row<'_>, grid: &str, errors: &mut Errors) -> (Option<f64>, Option<f64>) {
    let (lat, lon) = (number(row, "lat", errors), number(row, "lon", errors));
    if let (Some(y), Some(x)) = (lat, lon) {
        match app.locator().locate(x, y) {
            Some(g) if g.grid.code == grid => {}
            Some(g) => errors.push(
                row.line,
                "lon",
                format!("the point lies in grid {} ({}), not in {grid}", g.grid.code, g.grid.name),
            ),
            None => errors.push(row.line, "lon", "the point lies outside every grid"),
        }
    } else if lat.is_some() != lon.is_some() {
        errors.push(row.line, "lat", "give both lat and lon, or neither");
    }
    (lat, lon)
}

fn dup(seen: &mut HashMap<String, usize>, key: &str, row: &Row<'_>, field: &str, errors: &mut Errors) {
    if let Some(first) = seen.insert(key.to_owned(), row.line) {
        errors.push(row.line, field, format!("the same as line {first}"));
    }
}

async fn plan(app: &App, caller: Caller<'_>, kind: &str, table: &Table, errors: &mut Errors) -> Result<Plan> {
    let now = app.now_ms();
    let vault = &app.settings.vault;
    let key = i64::from(vault.current());
    let mut plan = Plan::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let rows = table.rows.iter().map(|(line, cells)| Row { table, cells, line: *line });
    match kind {
        "buildings" => {
            let known = grids(app, table, "grid_code").await?;
            let refs: Vec<String> = rows.clone().filter_map(|r| r.get("ref").map(str::to_owned)).collect();
            let mut conn = app.db.read().await?;
            let existing: HashSet<String> =
                store::ids_by(&mut conn, "archive_buildings", "ref", &refs).await?.into_iter().map(|r| r.0).collect();
            drop(conn);
            plan.table = "archive_buildings";
            plan.columns = store::BUILDING_COLUMNS;
            for row in rows {
                let (Some(r), Some(grid), Some(address), Some(k)) = (
                    row.need("ref", errors),
                    row.need("grid_code", errors),
                    row.need("address", errors),
                    row.need("kind", errors),
                ) else {
                    continue;
                };
                dup(&mut seen, r, &row, "ref", errors);
                if existing.contains(r) {
                    errors.push(row.line, "ref", format!("building {r} is already in the archives"));
                }
                let ok = check_grid(&row, "grid_code", grid, &known, caller, errors);
                let k =
                    wuzhi_domain::archives::building_kind(k).map_err(|e| errors.push(row.line, "kind", e.reason)).ok();
                let address = wuzhi_domain::text::name("address", address, 200)
                    .map_err(|e| errors.push(row.line, "address", e.reason))
                    .ok();
                let floors = number(&row, "floors", errors).map(|f| f as i64);
                let (lat, lon) = if ok { check_point(app, &row, grid, errors) } else { (None, None) };
                if let (Some(k), Some(address)) = (k, address) {
                    plan.rows.push(vec![
                        r.into(),
                        grid.into(),
                        address.into(),
                        k.into(),
                        floors.into(),
                        lat.into(),
                        lon.into(),
                        now.into(),
                    ]);
                }
            }
        }
        "houses" => {
            let brefs: Vec<String> = rows.clone().filter_map(|r| r.get("building_ref").map(str::to_owned)).collect();
            let refs: Vec<String> = rows.clone().filter_map(|r| r.get("ref").map(str::to_owned)).collect();
            let mut conn = app.db.read().await?;
            let buildings: HashMap<String, (i64, String)> =
                store::ids_by(&mut conn, "archive_buildings", "ref", &brefs)
                    .await?
                    .into_iter()
                    .map(|(r, id, g)| (r, (id, g)))
                    .collect();
            let existing: HashSet<String> =
                store::ids_by(&mut conn, "archive_houses", "ref", &refs).await?.into_iter().map(|r| r.0).collect();
            drop(conn);
            plan.table = "archive_houses";
            plan.columns = store::HOUSE_COLUMNS;
            for row in rows {
                let (Some(r), Some(b), Some(n), Some(u)) = (
                    row.need("ref", errors),
                    row.need("building_ref", errors),
                    row.need("number", errors),
                    row.need("use", errors),
                ) else {
                    continue;
                };
                dup(&mut seen, r, &row, "ref", errors);
                if existing.contains(r) {
                    errors.push(row.line, "ref", format!("house {r} is already in the archives"));
                }
                let Some((bid, grid)) = buildings.get(b) else {
                    errors.push(row.line, "building_ref", format!("building {b} is not in the archives"));
                    continue;
                };
                if let Some(g) = row.get("grid_code") {
                    if g != grid {
                        errors.push(row.line, "grid_code", format!("the house's building is in grid {grid}, not {g}"));
                    }
                }
                if !allowed(caller, grid) {
                    errors.push(row.line, "building_ref", format!("you may not import into grid {grid}"));
                }
                let u = wuzhi_domain::archives::house_use(u).map_err(|e| errors.push(row.line, "use", e.reason)).ok();
                let area = number(&row, "area_m2", errors);
                let ownership = row.get("ownership").unwrap_or("").chars().take(50).collect::<String>();
                if let Some(u) = u {
                    plan.rows.push(vec![
                        r.into(),
                        (*bid).into(),
                        grid.as_str().into(),
                        n.chars().take(30).collect::<String>().into(),
                        area.into(),
                        u.into(),
                        ownership.into(),
                        now.into(),
                    ]);
                }
            }
        }
        "people" => plan_people(app, caller, table, errors, &mut plan, key).await?,
        "vehicles" => {
            let known = grids(app, table, "grid_code").await?;
            let owners: Vec<String> = rows.clone().filter_map(|r| r.get("owner_ref").map(str::to_owned)).collect();
            let plates: Vec<String> = rows
                .clone()
                .filter_map(|r| {
                    r.get("plate").and_then(|p| Plate::parse("plate", p).ok()).map(|p| p.as_str().to_owned())
                })
                .collect();
            let mut conn = app.db.read().await?;
            let owner_ids: HashMap<String, i64> = store::ids_by(&mut conn, "archive_people", "ref", &owners)
                .await?
                .into_iter()
                .map(|(r, id, _)| (r, id))
                .collect();
            let existing: HashSet<String> = store::ids_by(&mut conn, "archive_vehicles", "plate", &plates)
                .await?
                .into_iter()
                .map(|r| r.0)
                .collect();
            drop(conn);
            plan.table = "archive_vehicles";
            plan.columns = store::VEHICLE_COLUMNS;
            for row in rows {
                let (Some(p), Some(grid)) = (row.need("plate", errors), row.need("grid_code", errors)) else {
                    continue;
                };
                let plate = match Plate::parse("plate", p) {
                    Ok(p) => p,
                    Err(e) => {
                        errors.push(row.line, "plate", e.reason);
                        continue;
                    }
                };
                dup(&mut seen, plate.as_str(), &row, "plate", errors);
                if existing.contains(plate.as_str()) {
                    errors.push(row.line, "plate", "this plate is already in the archives");
                }
                check_grid(&row, "grid_code", grid, &known, caller, errors);
                let owner = match row.get("owner_ref") {
                    Some(o) => match owner_ids.get(o) {
                        Some(id) => Some(*id),
                        None => {
                            errors.push(row.line, "owner_ref", format!("person {o} is not in the archives"));
                            None
                        }
                    },
                    None => None,
                };
                let parking = row.get("parking").unwrap_or("").chars().take(100).collect::<String>();
                plan.rows.push(vec![
                    plate.as_str().into(),
                    i64::from(plate.is_new_energy()).into(),
                    grid.into(),
                    owner.into(),
                    Val::I(None),
                    parking.into(),
                    now.into(),
                ]);
            }
        }
        "components" => {
            let known = grids(app, table, "grid_code").await?;
            let codes: Vec<String> = rows.clone().filter_map(|r| r.get("code").map(str::to_owned)).collect();
            let mut conn = app.db.read().await?;
            let existing: HashSet<String> = store::ids_by(&mut conn, "archive_components", "code", &codes)
                .await?
                .into_iter()
                .map(|r| r.0)
                .collect();
            let wanted: Vec<i64> =
                rows.clone().filter_map(|r| r.get("owner_org").and_then(|o| o.parse().ok())).collect();
            let orgs: HashSet<i64> = wuzhi_store::org::names(&mut conn, &wanted).await?.into_keys().collect();
            drop(conn);
            plan.table = "archive_components";
            plan.columns = store::COMPONENT_COLUMNS;
            for row in rows {
                let (Some(c), Some(name), Some(grid)) =
                    (row.need("code", errors), row.need("name", errors), row.need("grid_code", errors))
                else {
                    continue;
                };
                let code = match ComponentCode::parse("code", c) {
                    Ok(c) => c,
                    Err(e) => {
                        errors.push(row.line, "code", e.reason);
                        continue;
                    }
                };
                dup(&mut seen, code.as_str(), &row, "code", errors);
                if existing.contains(code.as_str()) {
                    errors.push(row.line, "code", format!("component {} is already in the archives", code.as_str()));
                }
                let ok = check_grid(&row, "grid_code", grid, &known, caller, errors);
                if ok && !grid.starts_with(code.region()) {
                    errors.push(
                        row.line,
                        "code",
                        format!("is registered in {}, but grid {grid} is not there", code.region()),
                    );
                }
                let (lat, lon) = if ok { check_point(app, &row, grid, errors) } else { (None, None) };
                let state = match row.get("state") {
                    Some(s) => wuzhi_domain::archives::component_state(s)
                        .map_err(|e| errors.push(row.line, "state", e.reason))
                        .ok(),
                    None => Some("normal"),
                };
                let owner = match row.get("owner_org") {
                    Some(o) => match o.parse::<i64>().ok().filter(|id| orgs.contains(id)) {
                        Some(id) => Some(id),
                        None => {
                            errors.push(row.line, "owner_org", format!("`{o}` is not the id of an organisation"));
                            None
                        }
                    },
                    None => None,
                };
                if let Some(state) = state {
                    plan.rows.push(vec![
                        code.as_str().into(),
                        name.chars().take(50).collect::<String>().into(),
                        grid.into(),
                        lat.into(),
                        lon.into(),
                        state.into(),
                        owner.into(),
                        now.into(),
                    ]);
                }
            }
        }
        _ => {
            let known = grids(app, table, "grid_code").await?;
            let codes: Vec<String> =
                rows.clone().filter_map(|r| r.get("credit_code").map(|c| c.to_ascii_uppercase())).collect();
            let mut conn = app.db.read().await?;
            let existing: HashSet<String> = store::ids_by(&mut conn, "archive_businesses", "credit_code", &codes)
                .await?
                .into_iter()
                .map(|r| r.0)
                .collect();
            drop(conn);
            plan.table = "archive_businesses";
            plan.columns = store::BUSINESS_COLUMNS;
            for row in rows {
                let (Some(c), Some(name), Some(k), Some(grid), Some(address)) = (
                    row.need("credit_code", errors),
                    row.need("name", errors),
                    row.need("kind", errors),
                    row.need("grid_code", errors),
                    row.need("address", errors),
                ) else {
                    continue;
                };
                let code = match CreditCode::parse("credit_code", c) {
                    Ok(c) => c,
                    Err(e) => {
                        errors.push(row.line, "credit_code", e.reason);
                        continue;
                    }
                };
                dup(&mut seen, code.as_str(), &row, "credit_code", errors);
                if existing.contains(code.as_str()) {
                    errors.push(row.line, "credit_code", format!("{} is already in the archives", code.as_str()));
                }
                let kind = match k {
                    "unit" | "单位" => "unit",
                    "place" | "场所" => "place",
                    other => {
                        errors.push(row.line, "kind", format!("`{other}` is not unit or place (单位/场所)"));
                        continue;
                    }
                };
                let ok = check_grid(&row, "grid_code", grid, &known, caller, errors);
                let (lat, lon) = if ok { check_point(app, &row, grid, errors) } else { (None, None) };
                let phone = match row.get("contact_phone") {
                    Some(p) => match wuzhi_domain::text::phone(p) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            errors.push(row.line, "contact_phone", e.reason);
                            None
                        }
                    },
                    None => None,
                };
                plan.rows.push(vec![
                    code.as_str().into(),
                    name.chars().take(100).collect::<String>().into(),
                    kind.into(),
                    grid.into(),
                    address.chars().take(200).collect::<String>().into(),
                    lat.into(),
                    lon.into(),
                    phone.as_deref().map(|p| vault.seal_str(SEAL_CONTACT, p)).into(),
                    phone.as_deref().map(wuzhi_domain::mask::phone).into(),
                    key.into(),
                    now.into(),
                ]);
            }
        }
    }
    Ok(plan)
}

/// Parses the tags cell: care groups and special groups, separated by `;`, `,`, `、` or `|`.
fn tags(row: &Row<'_>, errors: &mut Errors) -> (Vec<&'static str>, Vec<&'static str>) {
    let (mut care, mut special) = (Vec::new(), Vec::new());
    for t in
        row.get("tags").unwrap_or("").split([';', ',', '、', '|', '；', '，']).map(str::trim).filter(|t| !t.is_empty())
    {
        match fields::tag("tags", t) {
            Ok((code, _, Class::Special)) => special.push(*code),
            Ok((code, _, _)) => care.push(*code),
            Err(e) => errors.push(row.line, "tags", e.reason),
        }
    }
    care.sort_unstable();
    care.dedup();
    special.sort_unstable();
    special.dedup();
    (care, special)
}

async fn plan_people(
    app: &App,
    caller: Caller<'_>,
    table: &Table,
    errors: &mut Errors,
    plan: &mut Plan,
    key: i64,
) -> Result<()> {
    let now = app.now_ms();
    let vault = &app.settings.vault;
    let rows: Vec<Row> = table.rows.iter().map(|(line, cells)| Row { table, cells, line: *line }).collect();
    let known = grids(app, table, "grid_code").await?;
    let hrefs: Vec<String> = rows.iter().filter_map(|r| r.get("house_ref").map(str::to_owned)).collect();
    let refs: Vec<String> = rows.iter().filter_map(|r| r.get("ref").map(str::to_owned)).collect();
    let mut conn = app.db.read().await?;
    let houses: HashMap<String, (i64, String)> = store::ids_by(&mut conn, "archive_houses", "ref", &hrefs)
        .await?
        .into_iter()
        .map(|(r, id, g)| (r, (id, g)))
        .collect();
    let existing_refs: HashSet<String> =
        store::ids_by(&mut conn, "archive_people", "ref", &refs).await?.into_iter().map(|r| r.0).collect();
    drop(conn);
    plan.table = "archive_people";
    plan.columns = store::PERSON_COLUMNS;
    let mut seen_ref: HashMap<String, usize> = HashMap::new();
    let mut seen_id: HashMap<String, usize> = HashMap::new();
    // (row index in plan.rows or merge, hash) for the identity numbers, checked against the
    // archives in one pass after.
    struct Parsed {
        line: usize,
        r: String,
        grid: String,
        house: Option<i64>,
        household: Option<String>,
        relation: &'static str,
        name: String,
        sex: &'static str,
        birth: Option<(u32, u32, u32)>,
        id_kind: &'static str,
        id: Option<(String, String)>,
        phone: Option<String>,
        residence: &'static str,
        moved_in: Option<i64>,
        care: Vec<&'static str>,
        special: Vec<&'static str>,
    }
    let mut parsed: Vec<Parsed> = Vec::with_capacity(rows.len());
    for row in &rows {
        let (Some(r), Some(name), Some(res)) =
            (row.need("ref", errors), row.need("name", errors), row.need("residence", errors))
        else {
            continue;
        };
        dup(&mut seen_ref, r, row, "ref", errors);
        if existing_refs.contains(r) {
            errors.push(row.line, "ref", format!("person {r} is already in the archives"));
        }
        let (grid, house) = match (row.get("house_ref"), row.get("grid_code")) {
            (Some(h), g) => match houses.get(h) {
                Some((id, hg)) => {
                    if g.is_some_and(|g| g != hg) {
                        errors.push(
                            row.line,
                            "grid_code",
                            format!("the house is in grid {hg}, not {}", g.unwrap_or("")),
                        );
                    }
                    (hg.clone(), Some(*id))
                }
                None => {
                    errors.push(row.line, "house_ref", format!("house {h} is not in the archives"));
                    continue;
                }
            },
            (None, Some(g)) => {
                if !check_grid(row, "grid_code", g, &known, caller, errors) {
                    continue;
                }
                (g.to_owned(), None)
            }
            (None, None) => {
                errors.push(row.line, "house_ref", "give the house_ref or the grid_code");
                continue;
            }
        };
        if house.is_some() && !allowed(caller, &grid) {
            errors.push(row.line, "house_ref", format!("you may not import into grid {grid}"));
        }
        let name = match wuzhi_domain::text::name("name", name, 50) {
            Ok(n) => n,
            Err(e) => {
                errors.push(row.line, "name", e.reason);
                continue;
            }
        };
        let residence = match wuzhi_domain::archives::residence(res) {
            Ok(r) => r,
            Err(e) => {
                errors.push(row.line, "residence", e.reason);
                continue;
            }
        };
        let relation = match row.get("relation") {
            Some(r) => match wuzhi_domain::archives::relation(r) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(row.line, "relation", e.reason);
                    continue;
                }
            },
            None => "other",
        };
        let id_kind = match row.get("id_kind").unwrap_or("resident_id") {
            "resident_id" | "居民身份证" => "resident_id",
            "passport" | "护照" => "passport",
            "permit" | "通行证" | "居留证" => "permit",
            other => {
                errors.push(row.line, "id_kind", format!("`{other}` is not resident_id, passport or permit"));
                continue;
            }
        };
        let (mut sex, mut birth, mut id) = (None, None, None);
        if let Some(n) = row.get("id_number") {
            if id_kind == "resident_id" {
                match IdNumber::parse("id_number", n) {
                    Ok(i) => {
                        sex = Some(i.sex().as_str());
                        birth = Some(i.birth_date());
                        let hash = vault.blind(SEAL_ID, i.as_str());
                        id = Some((i.as_str().to_owned(), hash));
                    }
                    Err(e) => {
                        errors.push(row.line, "id_number", e.reason);
                        continue;
                    }
                }
            } else {
                let n = n.trim().to_ascii_uppercase();
                if !(5..=20).contains(&n.len()) || !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    errors.push(row.line, "id_number", "a document number is 5 to 20 letters and digits");
                    continue;
                }
                let hash = vault.blind(SEAL_ID, &format!("{id_kind}:{n}"));
                id = Some((n, hash));
            }
        }
        if let Some((_, h)) = &id {
            dup(&mut seen_id, h, row, "id_number", errors);
        }
        if let Some(s) = row.get("sex") {
            match Sex::parse("sex", s) {
                Ok(s) if sex.is_some_and(|x| x != s.as_str()) => {
                    errors.push(row.line, "sex", "differs from the identity number")
                }
                Ok(s) => sex = Some(s.as_str()),
                Err(e) => errors.push(row.line, "sex", e.reason),
            }
        }
        let Some(sex) = sex else {
            errors.push(row.line, "sex", "is required without a resident identity number");
            continue;
        };
        if birth.is_none() {
            if let Some(b) = row.get("birth_date") {
                match wuzhi_domain::calendar::parse_day("birth_date", b) {
                    Ok(_) => {
                        let p: Vec<u32> = b.split('-').filter_map(|x| x.parse().ok()).collect();
                        birth = (p.len() == 3).then(|| (p[0], p[1], p[2]));
                    }
                    Err(_) => errors.push(row.line, "birth_date", "is not a date YYYY-MM-DD"),
                }
            }
        }
        let phone = match row.get("phone") {
            Some(p) => match wuzhi_domain::text::phone(p) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(row.line, "phone", e.reason);
                    None
                }
            },
            None => None,
        };
        let moved_in = row
            .get("moved_in")
            .and_then(|d| day_ms("moved_in", d).map_err(|e| errors.push(row.line, "moved_in", e.reason)).ok());
        let (care, special) = tags(row, errors);
        parsed.push(Parsed {
            line: row.line,
            r: r.to_owned(),
            grid,
            house,
            household: row.get("household_ref").map(|h| h.chars().take(40).collect()),
            relation,
            name,
            sex,
            birth,
            id_kind,
            id,
            phone,
            residence,
            moved_in,
            care,
            special,
        });
    }
    // Identity numbers already in the archives: those rows are merged into the record.
    let hashes: Vec<String> = parsed.iter().filter_map(|p| p.id.as_ref().map(|i| i.1.clone())).collect();
    let mut conn = app.db.read().await?;
    let known_ids: HashSet<String> = store::existing_id_hashes(&mut conn, &hashes).await?.into_iter().collect();
    for p in parsed {
        if let Some((_, hash)) = p.id.as_ref().filter(|(_, h)| known_ids.contains(h)) {
            let Some(old) = store::person_by_id_hash(&mut conn, hash).await? else { continue };
            if !allowed(caller, &old.grid_code) && caller.person().is_some() {
                errors.push(p.line, "id_number", "this person is held by a grid you may not import into");
                continue;
            }
            let mut m = Merge {
                id: old.id,
                version: old.version,
                grid: p.grid.clone(),
                sets: vec![],
                changed: vec![],
                tags: vec![],
            };
            if old.grid_code != p.grid {
                m.changed.push(("grid_code", Some(old.grid_code.clone()), Some(p.grid.clone())));
                m.sets.push(("grid_code", p.grid.clone().into()));
            }
            if old.house_id != p.house {
                m.changed.push(("house", old.house_id.map(|h| h.to_string()), p.house.map(|h| h.to_string())));
                m.sets.push(("house_id", p.house.into()));
            }
            if old.household_ref != p.household {
                m.changed.push(("household", old.household_ref.clone(), p.household.clone()));
                m.sets.push(("household_ref", p.household.clone().into()));
            }
            if old.relation != p.relation {
                m.changed.push(("relation", Some(old.relation.clone()), Some(p.relation.into())));
                m.sets.push(("relation", p.relation.into()));
            }
            if old.residence != p.residence {
                m.changed.push(("residence", Some(old.residence.clone()), Some(p.residence.into())));
                m.sets.push(("residence", p.residence.into()));
            }
            if old.moved_out_ms.is_some() {
                m.changed.push(("moved_out", old.moved_out_ms.map(|x| x.to_string()), None));
                m.sets.push(("moved_out_ms", Val::I(None)));
            }
            if let Some(ph) = &p.phone {
                if old.phone_hash.as_deref() != Some(vault.blind(SEAL_PHONE, ph).as_str()) {
                    m.changed.push(("phone", old.phone_mask.clone(), Some(wuzhi_domain::mask::phone(ph))));
                    m.sets.push(("phone_enc", Some(vault.seal_str(SEAL_PHONE, ph)).into()));
                    m.sets.push(("phone_hash", Some(vault.blind(SEAL_PHONE, ph)).into()));
                    m.sets.push(("phone_mask", Some(wuzhi_domain::mask::phone(ph)).into()));
                    m.sets.push(("key_id", key.into()));
                }
            }
            let mut all: Vec<&'static str> = p.care.clone();
            for t in &old.tags {
                if let Ok((code, _, _)) = fields::tag("tags", t) {
                    if !all.contains(code) {
                        all.push(code);
                    }
                }
            }
            all.sort_unstable();
            if all.iter().copied().ne(old.tags.iter().map(String::as_str)) {
                m.changed.push(("care_tags", Some(old.tags.join(",")), Some(all.join(","))));
            }
            m.tags = all;
            plan.merges.push(m);
            continue;
        }
        let birth_text = p.birth.map(|(y, mo, d)| format!("{y:04}-{mo:02}-{d:02}"));
        let special = (!p.special.is_empty()).then(|| vault.seal_str(SEAL_SPECIAL, &p.special.join(",")));
        plan.tags.push((p.r.clone(), p.grid.clone(), p.care.clone()));
        plan.rows.push(vec![
            p.r.into(),
            p.grid.into(),
            p.house.into(),
            p.household.into(),
            p.relation.into(),
            p.name.into(),
            p.sex.into(),
            p.birth.map(|b| i64::from(b.0)).into(),
            birth_text.as_deref().map(|b| vault.seal_str(SEAL_BIRTH, b)).into(),
            p.id_kind.into(),
            p.id.as_ref().map(|(n, _)| vault.seal_str(SEAL_ID, n)).into(),
            p.id.as_ref().map(|(_, h)| h.clone()).into(),
            p.id.as_ref().map(|(n, _)| wuzhi_domain::mask::id_number(n)).into(),
            p.phone.as_deref().map(|x| vault.seal_str(SEAL_PHONE, x)).into(),
            p.phone.as_deref().map(|x| vault.blind(SEAL_PHONE, x)).into(),
            p.phone.as_deref().map(wuzhi_domain::mask::phone).into(),
            special.into(),
            p.residence.into(),
            p.moved_in.into(),
            Val::I(None),
            key.into(),
            now.into(),
        ]);
    }
    Ok(())
}

async fn write(app: &App, caller: Caller<'_>, kind: &str, plan: Plan, report: &ImportReport) -> Result<()> {
    let now = app.now_ms();
    let key = i64::from(app.settings.vault.current());
    let mut tx = app.db.write().await?;
    let conflict = |e| match e {
        wuzhi_store::StoreError::Unique(_) => AppError::Conflict {
            field: "file".into(),
            reason: "a record of the file was added meanwhile; check the file again".into(),
        },
        other => AppError::from(other),
    };
    if plan.tags.iter().any(|t| !t.2.is_empty()) {
        // People with tags: their new ids come back from the insert itself.
        let ids: HashMap<String, i64> =
            store::insert_rows_returning(&mut tx, plan.table, plan.columns, &plan.rows, "ref")
                .await
                .map_err(conflict)?
                .into_iter()
                .collect();
        let mut rows = Vec::new();
        for (r, grid, tags) in &plan.tags {
            for t in tags {
                rows.push(vec![ids[r].into(), (*t).into(), grid.as_str().into()]);
            }
        }
        store::insert_rows(&mut tx, "archive_person_tags", store::TAG_COLUMNS, &rows).await?;
    } else {
        store::insert_rows(&mut tx, plan.table, plan.columns, &plan.rows).await.map_err(conflict)?;
    }
    for m in &plan.merges {
        if !m.sets.is_empty() && !store::update_person(&mut tx, m.id, m.version, &m.sets, now).await? {
            return Err(AppError::Conflict {
                field: "file".into(),
                reason: "a merged person changed meanwhile; import again".into(),
            });
        }
        store::set_tags(&mut tx, m.id, &m.grid, &m.tags).await?;
        let changes: Vec<store::Change> = m
            .changed
            .iter()
            .map(|(field, old, new)| store::Change {
                record: "person",
                record_id: m.id,
                version: m.version + 1,
                field,
                old_text: old.clone(),
                new_text: new.clone(),
                old_enc: None,
                new_enc: None,
                key_id: key,
                actor_id: caller.person_id(),
                at_ms: now,
                source: Some("import".into()),
            })
            .collect();
        store::insert_changes(&mut tx, &changes).await?;
    }
    record(
        &mut tx,
        now,
        caller.person(),
        "archives.import",
        "archives",
        kind,
        json!({"rows": report.rows, "created": report.created, "merged": report.merged, "by": caller.system().map(|s| s.as_str())}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}
