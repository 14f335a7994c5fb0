//! Territory use cases: import (CSV or GeoJSON, all or nothing), read, list, export.

use crate::audit::record;
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use wuzhi_domain::work::Caller;
use wuzhi_domain::{Action, Actor, Level, Target, TerritoryCode};
use wuzhi_geo::territory::{Existing, feature_json, geometry_from_stored, geometry_json, validate};
use wuzhi_geo::{Batch, Crs};
use wuzhi_store::territory::{Filter, TerritoryRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "csv" => Ok(Format::Csv),
            "geojson" | "json" => Ok(Format::GeoJson),
            _ => Err(AppError::invalid("format", format!("`{s}` is not csv or geojson"))),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub imported: usize,
    pub by_level: BTreeMap<String, usize>,
    /// True when only validated (nothing written).
    pub dry_run: bool,
}

/// Parses and validates an import. The returned batch has every parent filled in.
pub async fn check_import(app: &App, format: Format, crs: Crs, text: &str) -> Result<Batch> {
    let mut batch = match format {
        Format::Csv => wuzhi_geo::territory::parse_divisions_csv(text),
        Format::GeoJson => wuzhi_geo::territory::parse_geojson(text, crs),
    }
    .map_err(AppError::Import)?;
    // Fetch the existing territories the batch may attach to (parents not in the batch and
    // the cities a parentless district may join), so validation itself is pure.
    let in_batch: std::collections::HashSet<&TerritoryCode> = batch.records.iter().map(|r| &r.code).collect();
    let mut wanted: Vec<String> = Vec::new();
    for r in &batch.records {
        let candidates = match (&r.parent, r.level()) {
            (Some(p), _) => vec![p.as_str().to_owned()],
            (None, Level::District) => {
                vec![format!("{}0000", &r.code.as_str()[..2]), format!("{}00", &r.code.as_str()[..4])]
            }
            (None, _) => r.code.implied_parent().map(|p| vec![p.as_str().to_owned()]).unwrap_or_default(),
        };
        for c in candidates {
            if !in_batch.iter().any(|b| b.as_str() == c) && !wanted.contains(&c) {
                wanted.push(c);
            }
        }
    }
    let mut existing: HashMap<String, Option<String>> = HashMap::new();
    let mut conn = app.db.read().await?;
    for c in wanted {
        if let Some(row) = wuzhi_store::territory::get(&mut conn, &c, true).await? {
            existing.insert(c, row.geometry);
        }
    }
    drop(conn);
    let lookup = |code: &TerritoryCode| {
        existing.get(code.as_str()).map(|g| Existing { geometry: g.as_deref().and_then(geometry_from_stored) })
    };
    let errors = validate(&mut batch, &lookup);
    if errors.is_empty() { Ok(batch) } else { Err(AppError::Import(errors)) }
}

/// Imports a flat set of named areas (a city without division codes) as a coded tree: see
/// [`wuzhi_geo::territory::areas_to_geojson`]; then as [`import`].
pub async fn import_areas(
    app: &App,
    caller: Caller<'_>,
    text: &str,
    spec: &wuzhi_geo::territory::AreasSpec<'_>,
    dry_run: bool,
) -> Result<ImportReport> {
    let fc = wuzhi_geo::territory::areas_to_geojson(text, spec).map_err(AppError::Import)?;
    import(app, caller, Format::GeoJson, Crs::Wgs84, &fc.to_string(), dry_run).await
}

/// Imports territories all or nothing. `actor` is `None` for the system (command line).
/// Each record needs `manage_territory` over its own code.
pub async fn import(
    app: &App,
    caller: Caller<'_>,
    format: Format,
    crs: Crs,
    text: &str,
    dry_run: bool,
) -> Result<ImportReport> {
    let actor = caller.person();
    let batch = check_import(app, format, crs, text).await?;
    if let Some(a) = actor {
        for r in &batch.records {
            a.can(Action::ManageTerritory, &Target::territory(&r.code))?;
        }
    }
    store_batch(app, caller, batch, dry_run).await
}

/// Writes a validated batch in one transaction, bumps the territory version and rebuilds the
/// grid index.
pub async fn store_batch(app: &App, caller: Caller<'_>, batch: Batch, dry_run: bool) -> Result<ImportReport> {
    let actor = caller.person();
    let now = app.now_ms();
    let mut by_level: BTreeMap<String, usize> = BTreeMap::new();
    let rows: Vec<TerritoryRow> = batch
        .records
        .iter()
        .map(|r| {
            *by_level.entry(r.level().as_str().to_owned()).or_default() += 1;
            TerritoryRow {
                code: r.code.to_string(),
                name: r.name.clone(),
                level: r.level().as_str().to_owned(),
                parent_code: r.parent.as_ref().map(|p| p.to_string()),
                geometry: r.geometry.as_ref().map(|g| geometry_json(g, Crs::Wgs84).to_string()),
                urban_rural: r.urban_rural.clone(),
                updated_at_ms: now,
            }
        })
        .collect();
    let report = ImportReport { imported: rows.len(), by_level, dry_run };
    if dry_run {
        return Ok(report);
    }
    let mut tx = app.db.write().await?;
    wuzhi_store::territory::upsert_many(&mut tx, &rows).await?;
    let version = wuzhi_store::territory::bump_version(&mut tx).await?;
    let first = rows.first().map(|r| r.code.as_str()).unwrap_or("");
    record(
        &mut tx,
        now,
        actor,
        "import_territories",
        "territory",
        first,
        json!({"by_level": report.by_level, "version": version}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    app.reload_index().await?;
    Ok(report)
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct TerritoryView {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urban_rural: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<serde_json::Value>,
}

fn view(r: TerritoryRow, crs: Crs) -> TerritoryView {
    let geometry = r.geometry.as_deref().and_then(|g| {
        let mp = geometry_from_stored(g)?;
        Some(geometry_json(&mp, crs))
    });
    TerritoryView {
        code: r.code,
        name: r.name,
        level: r.level,
        parent_code: r.parent_code,
        urban_rural: r.urban_rural,
        geometry,
    }
}

pub async fn get(app: &App, actor: &Actor, code: &str, with_geometry: bool, crs: Crs) -> Result<TerritoryView> {
    let code = TerritoryCode::parse(code)?;
    actor.can(Action::ReadTerritory, &Target::territory(&code))?;
    let mut conn = app.db.read().await?;
    let row = wuzhi_store::territory::get(&mut conn, code.as_str(), with_geometry)
        .await?
        .ok_or_else(|| AppError::not_found(format!("territory {code}")))?;
    Ok(view(row, crs))
}

/// A territory's name and outline for the map, for anyone signed in: boundaries are public
/// geography, like which grid a point is in (`locate`); nothing else of the territory is
/// shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Outline {
    pub code: String,
    pub name: String,
    pub level: String,
    /// GeoJSON geometry (WGS84), absent where none was imported.
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<serde_json::Value>,
}

pub async fn outline(app: &App, code: &str) -> Result<Outline> {
    let code = TerritoryCode::parse(code)?;
    let mut conn = app.db.read().await?;
    let row = wuzhi_store::territory::get(&mut conn, code.as_str(), true)
        .await?
        .ok_or_else(|| AppError::not_found(format!("territory {code}")))?;
    let v = view(row, Crs::Wgs84);
    Ok(Outline { code: v.code, name: v.name, level: v.level, geometry: v.geometry })
}

#[derive(Debug, Default)]
pub struct ListQuery {
    pub level: Option<Level>,
    pub parent: Option<TerritoryCode>,
    pub after: Option<TerritoryCode>,
    pub limit: Option<i64>,
    pub with_geometry: bool,
    pub crs: Option<Crs>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Territories the actor may read, by code, a page at a time.
pub async fn list(app: &App, actor: &Actor, q: &ListQuery) -> Result<Page<TerritoryView>> {
    let limit = crate::page_limit(q.limit)?;
    let scopes = actor.scopes_for(Action::ReadTerritory);
    if scopes.is_empty() {
        return Err(AppError::Forbidden { action: Action::ReadTerritory.as_str().into() });
    }
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let filter = Filter {
        level: q.level.map(|l| l.as_str()),
        parent: q.parent.as_ref().map(|p| p.as_str()),
        scopes: prefixes,
        after: q.after.as_ref().map(|a| a.as_str()),
        limit: limit + 1,
        with_geometry: q.with_geometry,
    };
    let mut conn = app.db.read().await?;
    let mut rows = wuzhi_store::territory::list(&mut conn, &filter).await?;
    let total = wuzhi_store::territory::count(&mut conn, &filter).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.code.clone())
    } else {
        None
    };
    let crs = q.crs.unwrap_or(Crs::Wgs84);
    Ok(Page { items: rows.into_iter().map(|r| view(r, crs)).collect(), total, next })
}

/// A GeoJSON FeatureCollection of the territories under `root` the actor may read (the
/// root itself included), optionally of one level, in `crs`.
pub async fn export_geojson(
    app: &App,
    caller: Caller<'_>,
    root: &str,
    level: Option<Level>,
    crs: Crs,
) -> Result<serde_json::Value> {
    let root = TerritoryCode::parse(root)?;
    // A person reads what their posts cover; the command line reads the whole tree.
    if let Some(actor) = caller.person() {
        actor.can(Action::ReadTerritory, &Target::territory(&root))?;
    }
    let mut conn = app.db.read().await?;
    let mut features = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let filter = Filter {
            level: level.map(|l| l.as_str()),
            parent: None,
            scopes: vec![root.scope_prefix()],
            after: after.as_deref(),
            limit: 5000,
            with_geometry: true,
        };
        let rows = wuzhi_store::territory::list(&mut conn, &filter).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.code.clone());
        for r in rows {
            let level = Level::parse(&r.level)?;
            let geometry = r.geometry.as_deref().and_then(geometry_from_stored).map(|g| geometry_json(&g, crs));
            features.push(feature_json(&r.code, &r.name, level, r.parent_code.as_deref(), geometry));
        }
    }
    Ok(json!({"type": "FeatureCollection", "features": features}))
}

/// Counts by level under the actor's scopes (for the overview page and the demo check).
pub async fn counts(app: &App, actor: &Actor) -> Result<BTreeMap<String, i64>> {
    let scopes = actor.scopes_for(Action::ReadTerritory);
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let mut conn = app.db.read().await?;
    let mut out = BTreeMap::new();
    for level in Level::ALL {
        let f = Filter { level: Some(level.as_str()), scopes: prefixes.clone(), limit: 0, ..Default::default() };
        out.insert(level.as_str().to_owned(), wuzhi_store::territory::count(&mut conn, &f).await?);
    }
    Ok(out)
}
