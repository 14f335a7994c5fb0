//! Historical cases from another system, all or nothing, each timeline starting with an `imported` event that carries the history.

use super::*;
use wuzhi_domain::cases::CaseFlow;
use wuzhi_store::work::NewEvent;

/// Parses `YYYY-MM-DD HH:MM[:SS]` (or with `T`) in Asia/Shanghai time.
pub(crate) fn parse_local(field: &str, s: &str) -> Result<i64> {
    let s = s.trim();
    let bad = || AppError::invalid(field, format!("`{s}` is not a time YYYY-MM-DD HH:MM[:SS]"));
    let (d, t) = s.split_once([' ', 'T']).ok_or_else(bad)?;
    let day = wuzhi_domain::calendar::parse_day(field, d).map_err(|_| bad())?;
    let parts: Vec<i64> = t.split(':').map(|p| p.parse::<i64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (*h, *m, 0),
        [h, m, s] => (*h, *m, *s),
        _ => return Err(bad()),
    };
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return Err(bad());
    }
    Ok(day * wuzhi_domain::calendar::DAY_MS + (h * 3600 + m * 60 + sec) * 1000 - wuzhi_domain::calendar::OFFSET_MS)
}

/// Where a historical row lies: its point (`lon`, `lat` in WGS 84) located to its grid, else
/// its `territory` code, else the territory its `address` names; a failure names the column.
pub fn place_of_row(
    loc: &crate::locate::Locator,
    lon: Option<&str>,
    lat: Option<&str>,
    territory: Option<&str>,
    address: Option<&str>,
) -> Result<(String, Option<(f64, f64)>)> {
    match (lon, lat, territory, address) {
        (Some(x), Some(y), _, _) => {
            let (x, y): (f64, f64) = (
                x.parse().map_err(|_| AppError::invalid("lon", "is not a number"))?,
                y.parse().map_err(|_| AppError::invalid("lat", "is not a number"))?,
            );
            let (x, y) = crate::locate::point(x, y, Crs::Wgs84)?;
            let g = loc.locate(x, y).ok_or_else(|| AppError::invalid("lon", "the point is outside every grid"))?;
            Ok((g.grid.code, Some((x, y))))
        }
        (_, _, Some(t), _) => {
            if !loc.knows(t) {
                return Err(AppError::invalid("territory", format!("{t} is not a territory of this city")));
            }
            Ok((t.to_owned(), None))
        }
        (_, _, _, Some(a)) => Ok((
            loc.match_address(a).ok_or_else(|| AppError::invalid("address", "names no territory of this city"))?.code,
            None,
        )),
        _ => Err(AppError::invalid("address", "give lon and lat, a territory, or an address")),
    }
}

/// Imports historical cases from CSV (`external_id,kind,subject,description,category,lon,lat,
/// address,created_at,status,closed_at,satisfaction`, and optional `territory`, `supports` and
/// `public` — true when the other system published the case; status `open` or `closed`), all
/// or nothing: every bad row is reported by line. A row whose `external_id` was imported before
/// is skipped. City administrators only. Returns (imported, skipped).
pub async fn import_csv(app: &App, caller: Caller<'_>, text: &str) -> Result<(usize, usize)> {
    let actor = caller.person();
    crate::require_city_admin(caller, "import cases")?;
    use wuzhi_geo::ImportError;
    let mut conn = app.db.read().await?;
    let cats: std::collections::HashMap<String, CategoryRow> =
        wuzhi_store::cases::categories(&mut conn).await?.into_iter().map(|c| (c.code.clone(), c)).collect();
    drop(conn);
    let cal = app.calendar();
    let loc = app.locator();
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| AppError::invalid("header", e.to_string()))?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    for required in ["external_id", "subject", "created_at"] {
        if col(required).is_none() {
            return Err(AppError::invalid("header", format!("needs a {required} column")));
        }
    }
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(ImportError {
                    location: format!("line {line}"),
                    field: "row".into(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |n: &str| col(n).and_then(|c| rec.get(c)).map(str::trim).filter(|s| !s.is_empty());
        let one = || -> Result<(CaseRow, String, i64)> {
            let ext = get("external_id").ok_or_else(|| AppError::invalid("external_id", "is empty"))?;
            let kind = get("kind").unwrap_or("request");
            if !KINDS.contains(&kind) {
                return Err(AppError::invalid("kind", format!("`{kind}` is not one of {}", KINDS.join(", "))));
            }
            let subject = text::required("subject", get("subject").unwrap_or(""))?;
            let description = get("description").unwrap_or(&subject).chars().take(5000).collect::<String>();
            let closed_row = get("status") == Some("closed");
            let cat = match get("category") {
                // A closed historical case may carry a coarser class than today's leaves.
                Some(c) => Some(
                    cats.get(c)
                        .filter(|c| closed_row || c.accept_limit.is_some())
                        .ok_or_else(|| AppError::invalid("category", format!("{c} is not a leaf of the taxonomy")))?,
                ),
                None => None,
            };
            let supports = match get("supports") {
                Some(n) => n
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| AppError::invalid("supports", format!("`{n}` is not a count")))?,
                None => 0,
            };
            // Whether the other system published it (a message posted on a public board):
            // the rule for imported history is "not public" unless a column says so.
            let public = match get("public") {
                None | Some("false") | Some("0") => false,
                Some("true") | Some("1") => true,
                Some(v) => return Err(AppError::invalid("public", format!("`{v}` is not true or false"))),
            };
            let (territory, point) = place_of_row(&loc, get("lon"), get("lat"), get("territory"), get("address"))?;
            let created = parse_local("created_at", get("created_at").unwrap_or(""))?;
            let closed = match get("status").unwrap_or("open") {
                "open" => None,
                "closed" => {
                    let c = parse_local(
                        "closed_at",
                        get("closed_at").ok_or_else(|| AppError::invalid("closed_at", "a closed case needs it"))?,
                    )?;
                    if c < created {
                        return Err(AppError::invalid("closed_at", "is before created_at"));
                    }
                    Some(c)
                }
                s => return Err(AppError::invalid("status", format!("`{s}` is not open or closed"))),
            };
            let satisfaction = get("satisfaction").map(Satisfaction::parse).transpose()?;
            if satisfaction.is_some() && closed.is_none() {
                return Err(AppError::invalid("satisfaction", "only a closed case is rated"));
            }
            let handle_due = cal.due(created, limit(cat, "handle"));
            let row = CaseRow {
                channel: "import".into(),
                kind: kind.into(),
                subject,
                description,
                category_code: cat.map(|c| c.code.clone()),
                priority: cat.and_then(|c| c.priority.clone()),
                status: if closed.is_some() { "closed" } else { "filed" }.into(),
                lon: point.map(|p| p.0),
                lat: point.map(|p| p.1),
                address: get("address").map(str::to_owned),
                territory_code: territory,
                filed_at_ms: Some(created),
                closed_at_ms: closed,
                closed_late: closed.is_some_and(|c| c > handle_due),
                due_at_ms: if closed.is_some() { None } else { Some(handle_due) },
                satisfaction: satisfaction.map(|s| s.as_str().to_owned()),
                public,
                created_at_ms: created,
                updated_at_ms: created,
                version: 1,
                ..Default::default()
            };
            Ok((row, ext.to_owned(), supports))
        };
        match one() {
            Ok(r) => rows.push(r),
            Err(AppError::Invalid { field, reason }) => {
                errors.push(ImportError { location: format!("line {line}"), field, reason })
            }
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Import(errors));
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let (mut imported, mut skipped) = (0, 0);
    for (mut row, ext, supports) in rows {
        let Some(id) = wuzhi_store::cases::insert_counted(&mut tx, &row, Some(&format!("import:{ext}"))).await? else {
            skipped += 1;
            continue;
        };
        row.id = id;
        if supports > 0 {
            wuzhi_store::text::add_supports(&mut tx, id, supports).await?;
        }
        // The insert counted the row as a whole; this writes the fields it does not take.
        wuzhi_store::cases::update(&mut tx, &row, &row).await?;
        // The timeline starts with the history as the other system recorded it: a real event,
        // so replaying it gives the row just written.
        let history = History {
            external_id: ext,
            category: row.category_code.clone(),
            priority: row.priority.clone(),
            filed_at_ms: row.filed_at_ms.unwrap_or(row.created_at_ms),
            closed_at_ms: row.closed_at_ms,
            closed_late: row.closed_late,
            due_ms: row.due_at_ms,
            satisfaction: row.satisfaction.as_deref().map(Satisfaction::parse).transpose()?,
        };
        debug_assert_eq!(history.state().status.as_str(), row.status);
        let e = Event::Imported { history };
        let data = crate::work::event_data(&e, None, Some(System::CommandLine));
        let first = NewEvent { at_ms: row.created_at_ms, written_ms: now, actor: None, name: e.kind(), data: &data };
        let state = CaseState::reported(0).apply(&e, row.created_at_ms);
        let head = crate::work::head_of::<CaseFlow>(&state, &row.territory_code);
        wuzhi_store::work::create(&mut tx, &wuzhi_store::cases::KIND, id, row.version, &head, &[first], now).await?;
        imported += 1;
    }
    crate::audit::record(
        &mut tx,
        now,
        actor,
        "import_cases",
        "case",
        "*",
        json!({"imported": imported, "skipped": skipped}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok((imported, skipped))
}
