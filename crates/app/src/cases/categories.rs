//! The category taxonomy (事项分类) and the working calendar, both data that
//! administrators import; the defaults ship with wuzhi and are loaded into an empty database.

use crate::audit::record;
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;
use wuzhi_domain::calendar::{Calendar, DayKind, TimeLimit, parse_day};
use wuzhi_domain::work::{Caller, System};
use wuzhi_domain::{Action, Actor, OrgKind, Target, TerritoryCode};
use wuzhi_geo::ImportError;
use wuzhi_store::cases::CategoryRow;

pub const DEFAULT_CATEGORIES: &str = include_str!("../../../../data/categories/default.csv");
pub const DEFAULT_CALENDAR: &str = include_str!("../../../../data/calendar/cn_2025_2026.csv");
const PRIORITIES: [&str; 3] = ["emergency", "urgent", "normal"];
const KINDS: [&str; 3] = ["hotline", "event", "component"];

/// Parses a category CSV (the columns of `data/categories/default.csv`); every problem is
/// reported with its line. `known` are codes already in the database.
pub fn parse_csv(text: &str, known: &HashSet<String>) -> Result<Vec<CategoryRow>, Vec<ImportError>> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![err(1, "header", &e.to_string())]),
    };
    let col = |n: &str| headers.iter().position(|h| h == n);
    let Some(c_code) = col("code") else {
        return Err(vec![err(1, "header", "needs a code column")]);
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut codes: HashSet<String> = known.clone();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(e.position().map(|p| p.line()).unwrap_or(0), "row", &e.to_string()));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |n: &str| col(n).and_then(|c| rec.get(c)).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let code = rec.get(c_code).unwrap_or("").trim().to_owned();
        let mut problem = |field: &str, reason: String| errors.push(err(line, field, &reason));
        if code.is_empty() || code.len() > 16 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            problem("code", format!("`{code}` must be 1–16 letters and digits"));
            continue;
        }
        let Some(name) = get("name") else {
            problem("name", "is empty".into());
            continue;
        };
        let parent = get("parent_code");
        if let Some(p) = &parent {
            if !codes.contains(p) {
                problem("parent_code", format!("{p} is not defined above this line nor in the taxonomy"));
            }
        }
        let kind = get("kind").unwrap_or_else(|| "hotline".into());
        if !KINDS.contains(&kind.as_str()) {
            problem("kind", format!("`{kind}` is not hotline, event or component"));
        }
        for f in ["accept_limit", "handle_limit", "verify_limit"] {
            if let Some(v) = get(f) {
                if let Err(e) = TimeLimit::parse(f, &v) {
                    problem(f, e.reason);
                }
            }
        }
        if let Some(p) = get("priority") {
            if !PRIORITIES.contains(&p.as_str()) {
                problem("priority", format!("`{p}` is not emergency, urgent or normal"));
            }
        }
        if let Some(o) = get("default_org") {
            let kind_part = o.split(':').next().unwrap_or("");
            if OrgKind::parse(kind_part).is_err() {
                problem("default_org", format!("`{o}` must be an organisation kind, optionally with :NAME"));
            }
        }
        let emergency = match get("emergency").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(v) => {
                problem("emergency", format!("`{v}` is not true or false"));
                false
            }
        };
        codes.insert(code.clone());
        rows.push(CategoryRow {
            code,
            name,
            parent_code: parent,
            kind,
            emergency,
            accept_limit: get("accept_limit"),
            handle_limit: get("handle_limit"),
            verify_limit: get("verify_limit"),
            priority: get("priority"),
            default_org: get("default_org"),
            filing_condition: get("filing_condition"),
            closing_condition: get("closing_condition"),
        });
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

fn err(line: u64, field: &str, reason: &str) -> ImportError {
    ImportError { location: format!("line {line}"), field: field.into(), reason: reason.into() }
}

/// Loads the default taxonomy and calendar into an empty database.
pub async fn seed_defaults(app: &App) -> Result<()> {
    let mut conn = app.db.read().await?;
    let have = wuzhi_store::cases::count_categories(&mut conn).await?;
    let days = wuzhi_store::kernel::calendar(&mut conn).await?;
    drop(conn);
    let now = app.now_ms();
    if have == 0 {
        let rows = parse_csv(DEFAULT_CATEGORIES, &HashSet::new()).map_err(AppError::Import)?;
        let leaves: HashSet<String> =
            rows.iter().filter(|r| r.accept_limit.is_some()).map(|r| r.code.clone()).collect();
        let attributes = crate::open311::parse_attributes_csv(crate::open311::DEFAULT_ATTRIBUTES, &leaves)
            .map_err(AppError::Import)?;
        let mut tx = app.db.write().await?;
        wuzhi_store::cases::upsert_categories(&mut tx, &rows, now).await?;
        wuzhi_store::open311::replace_attributes(&mut tx, &[], &attributes).await?;
        wuzhi_store::commit(tx).await?;
    }
    if days.is_empty() {
        store_calendar(app, Caller::System(System::CommandLine), DEFAULT_CALENDAR).await?;
    }
    Ok(())
}

/// Imports categories (added or replaced by code), all or nothing.
pub async fn import(app: &App, caller: Caller<'_>, text: &str) -> Result<usize> {
    let actor = caller.person();
    crate::require_city_admin(caller, Action::ManageCategories.as_str())?;
    let mut conn = app.db.read().await?;
    let known: HashSet<String> = wuzhi_store::cases::categories(&mut conn).await?.into_iter().map(|c| c.code).collect();
    drop(conn);
    let rows = parse_csv(text, &known).map_err(AppError::Import)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    wuzhi_store::cases::upsert_categories(&mut tx, &rows, now).await?;
    record(&mut tx, now, actor, "import_categories", "category", "*", json!({"rows": rows.len()})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(rows.len())
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct CategoryView {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub kind: String,
    pub leaf: bool,
    pub emergency: bool,
    pub accept_limit: Option<String>,
    pub handle_limit: Option<String>,
    pub verify_limit: Option<String>,
    pub priority: Option<String>,
    pub default_org: Option<String>,
    pub filing_condition: Option<String>,
    pub closing_condition: Option<String>,
}

/// The whole taxonomy; anyone signed in may read it (residents choose a category).
pub async fn list(app: &App) -> Result<Vec<CategoryView>> {
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::cases::categories(&mut conn).await?;
    let parents: HashSet<String> = rows.iter().filter_map(|r| r.parent_code.clone()).collect();
    Ok(rows
        .into_iter()
        .map(|r| CategoryView {
            leaf: !parents.contains(&r.code),
            code: r.code,
            name: r.name,
            parent_code: r.parent_code,
            kind: r.kind,
            emergency: r.emergency,
            accept_limit: r.accept_limit,
            handle_limit: r.handle_limit,
            verify_limit: r.verify_limit,
            priority: r.priority,
            default_org: r.default_org,
            filing_condition: r.filing_condition,
            closing_condition: r.closing_condition,
        })
        .collect())
}

/// Replaces the calendar's exceptions with a `date,kind,name` CSV.
pub async fn store_calendar(app: &App, caller: Caller<'_>, text: &str) -> Result<usize> {
    let actor = caller.person();
    crate::require_city_admin(caller, Action::ManageCategories.as_str())?;
    let cal = Calendar::parse_csv(text)?;
    let mut days = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let mut cols = line.splitn(3, ',');
        let day = parse_day("date", cols.next().unwrap_or(""))?;
        let kind = cols.next().unwrap_or("").trim().to_owned();
        days.push((day, kind, cols.next().unwrap_or("").trim().to_owned()));
    }
    // A calendar with no days would make every weekday a working day and drop the holidays:
    // an empty upload is a mistake, not a wish.
    if days.is_empty() {
        return Err(AppError::invalid("body", "names no day; send the whole calendar (date,kind,name rows)"));
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    wuzhi_store::kernel::replace_calendar(&mut tx, &days).await?;
    record(&mut tx, now, actor, "replace_calendar", "calendar", "*", json!({"days": days.len()})).await?;
    wuzhi_store::commit(tx).await?;
    app.set_calendar(cal);
    Ok(days.len())
}

/// The calendar as stored.
pub async fn load_calendar(app: &App) -> Result<Calendar> {
    let mut conn = app.db.read().await?;
    let days = wuzhi_store::kernel::calendar(&mut conn).await?;
    Ok(Calendar::new(
        days.into_iter().map(|(d, k, _)| (d, if k == "holiday" { DayKind::Holiday } else { DayKind::Workday })),
    ))
}

/// Whether an actor may see a territory at all (used to keep dispatch targets honest).
pub fn within(actor: &Actor, action: Action, code: &TerritoryCode) -> bool {
    actor.can(action, &Target::territory(code)).is_ok()
}
