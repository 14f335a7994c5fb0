//! Performance evaluation of every unit and territory over any period, rankings, and their
//! export to CSV and Excel. The formulas are in `wuzhi_domain::kpi`.

use crate::{App, AppError, Result};
use serde::Serialize;
use wuzhi_domain::calendar::{DAY_MS, OFFSET_MS, format_day, local_day, parse_day};
use wuzhi_domain::kpi::{Indicators, indicators};
use wuzhi_domain::{Action, Actor, Level, Target, TerritoryCode};
use wuzhi_store::kpi::{Cohort, GroupBy};

#[derive(Debug, Default)]
pub struct Query {
    pub territory: Option<String>,
    pub org: Option<i64>,
    /// First and last day (local dates, inclusive); default the last 30 days.
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KpiView {
    pub territory: Option<String>,
    pub org: Option<i64>,
    pub from: String,
    pub to: String,
    #[schema(value_type = Object)]
    pub indicators: Indicators,
}

fn period(app: &App, q: &Query) -> Result<(i64, i64, String, String)> {
    day_period(app.now_ms(), q.from.as_deref(), q.to.as_deref())
}

/// A period of whole local days, `from` to `to` (YYYY-MM-DD) inclusive — by default the 30
/// days ending today — as its first and past-the-end milliseconds and its two days; at most
/// ten years. The indicators of every module read their periods through this.
pub fn day_period(now_ms: i64, from: Option<&str>, to: Option<&str>) -> Result<(i64, i64, String, String)> {
    let to = match to.filter(|t| !t.is_empty()) {
        Some(t) => parse_day("to", t)?,
        None => local_day(now_ms),
    };
    let from = match from.filter(|f| !f.is_empty()) {
        Some(f) => parse_day("from", f)?,
        None => to - 29,
    };
    if from > to {
        return Err(AppError::invalid("from", "is after to"));
    }
    if to - from > 3660 {
        return Err(AppError::invalid("from", "a period is at most ten years"));
    }
    Ok((from * DAY_MS - OFFSET_MS, (to + 1) * DAY_MS - OFFSET_MS, format_day(from), format_day(to)))
}

/// The scopes the query covers, checked against the actor.
async fn scopes(app: &App, actor: &Actor, q: &Query) -> Result<Vec<String>> {
    if let Some(o) = q.org {
        let mut conn = app.db.read().await?;
        let org = wuzhi_store::org::get(&mut conn, o)
            .await?
            .ok_or_else(|| AppError::invalid("org", format!("organisation {o} does not exist")))?;
        let t = TerritoryCode::parse(&org.territory_code)?;
        if !(actor.member_of(o) || actor.can(Action::ReadCase, &Target::territory(&t)).is_ok()) {
            return Err(AppError::Forbidden { action: "evaluate this organisation".into() });
        }
    }
    match &q.territory {
        Some(t) => {
            let t = TerritoryCode::parse(t).map_err(|e| AppError::invalid("territory", e.reason))?;
            actor.can(Action::ReadCase, &Target::territory(&t))?;
            Ok(vec![t.scope_prefix().to_owned()])
        }
        None if q.org.is_some() => Ok(vec![]),
        None => {
            let s = actor.scopes_for(Action::ReadCase);
            if s.is_empty() {
                return Err(AppError::Forbidden { action: Action::ReadCase.as_str().into() });
            }
            Ok(s.iter().map(|c| c.scope_prefix().to_owned()).collect())
        }
    }
}

/// Above this many closed cases the 90th percentile comes from the roll-up histogram
/// (30-minute buckets: the figure is the upper edge of its bucket); below it, exactly.
const EXACT_P90_LIMIT: i64 = 20_000;

pub async fn evaluate(app: &App, actor: &Actor, q: &Query) -> Result<KpiView> {
    let (from_ms, to_ms, from, to) = period(app, q)?;
    let scopes = scopes(app, actor, q).await?;
    let cohort = Cohort { from_ms, to_ms, scopes: scopes.iter().map(String::as_str).collect(), org: q.org };
    let mut conn = app.db.read().await?;
    // City and district questions read the roll-ups; finer ones (a township, a village, a
    // grid, one unit) aggregate their cases directly, which are few.
    let coarse = q.org.is_none() && cohort.scopes.iter().all(|s| s.len() <= 6);
    let (counts, p90) = if coarse {
        let (from_day, to_day) =
            (wuzhi_domain::calendar::local_day(from_ms), wuzhi_domain::calendar::local_day(to_ms - 1));
        let mut c = wuzhi_store::kpi::rollup_totals(&mut conn, from_day, to_day, &cohort.scopes).await?;
        c.should_close = c.closed + wuzhi_store::kpi::open_due(&mut conn, from_ms, to_ms, &cohort.scopes).await?;
        let p90 = if c.closed <= EXACT_P90_LIMIT {
            wuzhi_store::kpi::p90_exact(&mut conn, &cohort, c.closed).await?
        } else {
            let hist = wuzhi_store::kpi::histogram(&mut conn, from_day, to_day, &cohort.scopes).await?;
            let rank = wuzhi_domain::kpi::p90_offset(c.closed).unwrap_or(0) + 1;
            let mut seen = 0;
            hist.into_iter()
                .find(|(_, n)| {
                    seen += n;
                    seen >= rank
                })
                .map(|(b, _)| (b + 1) * wuzhi_store::rollup::BUCKET_MS)
        };
        (c, p90)
    } else {
        wuzhi_store::kpi::totals(&mut conn, &cohort).await?
    };
    Ok(KpiView { territory: q.territory.clone(), org: q.org, from, to, indicators: indicators(counts, p90) })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RankRow {
    pub rank: usize,
    /// Territory code, or organisation id.
    pub key: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub indicators: Indicators,
}

/// The indicator rankings sort by.
pub const SORT_KEYS: [&str; 7] = [
    "closing_rate",
    "on_time_closing_rate",
    "satisfaction_rate",
    "accurate_dispatch_rate",
    "on_time_filing_rate",
    "rework_rate",
    "filed",
];

fn sort_value(i: &Indicators, key: &str) -> Option<f64> {
    match key {
        "closing_rate" => i.closing_rate,
        "on_time_closing_rate" => i.on_time_closing_rate,
        "satisfaction_rate" => i.satisfaction_rate,
        "accurate_dispatch_rate" => i.accurate_dispatch_rate,
        "on_time_filing_rate" => i.on_time_filing_rate,
        // Less rework ranks higher.
        "rework_rate" => i.rework_rate.map(|r| -r),
        _ => Some(i.counts.filed as f64),
    }
}

/// Ranks the units (`by` = org) or the territories of a level (`by` = district, township,
/// village, grid) inside the query's scope, best first; groups without a value come last.
pub async fn ranking(app: &App, actor: &Actor, q: &Query, by: &str, sort: &str) -> Result<Vec<RankRow>> {
    if !SORT_KEYS.contains(&sort) {
        return Err(AppError::invalid("sort", format!("`{sort}` is not one of {}", SORT_KEYS.join(", "))));
    }
    let group = match by {
        "org" => GroupBy::OwnerOrg,
        other => match Level::parse(other).map_err(|_| {
            AppError::invalid("by", format!("`{other}` is not org, district, township, village or grid"))
        })? {
            Level::District => GroupBy::TerritoryPrefix(6),
            Level::Township => GroupBy::TerritoryPrefix(9),
            Level::Village => GroupBy::TerritoryPrefix(12),
            Level::Grid => GroupBy::TerritoryPrefix(15),
            Level::City => {
                return Err(AppError::invalid(
                    "by",
                    "rank the districts, townships, villages, grids or units of a city",
                ));
            }
        },
    };
    let (from_ms, to_ms, _, _) = period(app, q)?;
    let scopes = scopes(app, actor, q).await?;
    let cohort = Cohort { from_ms, to_ms, scopes: scopes.iter().map(String::as_str).collect(), org: q.org };
    let mut conn = app.db.read().await?;
    let groups = wuzhi_store::kpi::grouped(&mut conn, &cohort, group).await?;
    let loc = app.locator();
    let org_names = match group {
        GroupBy::OwnerOrg => {
            let ids: Vec<i64> = groups.iter().filter_map(|(k, _)| k.parse().ok()).collect();
            wuzhi_store::org::names(&mut conn, &ids).await?
        }
        GroupBy::TerritoryPrefix(_) => Default::default(),
    };
    let mut rows = Vec::with_capacity(groups.len());
    for (key, counts) in groups {
        let name = match group {
            GroupBy::OwnerOrg => key.parse::<i64>().ok().and_then(|id| org_names.get(&id).cloned()).unwrap_or_default(),
            GroupBy::TerritoryPrefix(_) => loc.name_of(&key).unwrap_or_default(),
        };
        rows.push(RankRow { rank: 0, key, name, indicators: indicators(counts, None) });
    }
    rows.sort_by(|a, b| {
        let (x, y) = (sort_value(&a.indicators, sort), sort_value(&b.indicators, sort));
        match (x, y) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then(a.key.cmp(&b.key))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Ok(rows)
}

const COLUMNS: [&str; 20] = [
    "名次",
    "编码",
    "名称",
    "立案数",
    "按时立案数",
    "应结案数",
    "结案数",
    "按期结案数",
    "超期结案数",
    "返工数",
    "派遣数",
    "退回数",
    "评价数",
    "满意数",
    "结案率",
    "按期结案率",
    "超期结案率",
    "返工率",
    "准确派遣率",
    "满意率",
];

fn cells(r: &RankRow) -> Vec<String> {
    let c = &r.indicators.counts;
    let i = &r.indicators;
    let rate = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    vec![
        r.rank.to_string(),
        r.key.clone(),
        r.name.clone(),
        c.filed.to_string(),
        c.filed_on_time.to_string(),
        c.should_close.to_string(),
        c.closed.to_string(),
        c.closed_on_time.to_string(),
        c.closed_late.to_string(),
        c.reworked.to_string(),
        c.dispatches.to_string(),
        c.returns.to_string(),
        c.rated.to_string(),
        c.satisfied.to_string(),
        rate(i.closing_rate),
        rate(i.on_time_closing_rate),
        rate(i.late_closing_rate),
        rate(i.rework_rate),
        rate(i.accurate_dispatch_rate),
        rate(i.satisfaction_rate),
    ]
}

/// A ranking as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read Chinese).
pub fn to_csv(rows: &[RankRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(COLUMNS).map_err(|e| AppError::Internal(e.to_string()))?;
    for r in rows {
        w.write_record(cells(r).iter().map(|v| crate::cases::csv_cell(v)))
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    w.into_inner().map_err(|e| AppError::Internal(e.to_string()))
}

/// A ranking as an Excel workbook; counts and rates are numbers, not text.
pub fn to_xlsx(rows: &[RankRow]) -> Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let e = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
    sheet.set_name("绩效排名").map_err(e)?;
    for (c, h) in COLUMNS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).map_err(e)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        for (c, v) in cells(r).into_iter().enumerate() {
            let col = c as u16;
            if c == 1 || c == 2 {
                sheet.write_string(row, col, v).map_err(e)?;
            } else if let Ok(n) = v.parse::<f64>() {
                sheet.write_number(row, col, n).map_err(e)?;
            }
        }
    }
    book.save_to_buffer().map_err(e)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GridCount {
    pub code: String,
    pub open: i64,
}

/// Open cases per grid (or per the most specific territory a case is located to) in the
/// actor's territory, for colouring the map.
pub async fn open_per_grid(app: &App, actor: &Actor) -> Result<Vec<GridCount>> {
    per_grid(app, actor, false).await
}

/// Open cases per grid (`overdue`: only those past their stage's due time).
pub async fn per_grid(app: &App, actor: &Actor, overdue: bool) -> Result<Vec<GridCount>> {
    let scopes = actor.scopes_for(Action::ReadCase);
    if scopes.is_empty() {
        return Err(AppError::Forbidden { action: Action::ReadCase.as_str().into() });
    }
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let mut conn = app.db.read().await?;
    let rows = if overdue {
        wuzhi_store::kpi::overdue_per_grid(&mut conn, &prefixes, app.now_ms()).await?
    } else {
        wuzhi_store::kpi::open_per_grid(&mut conn, &prefixes).await?
    };
    Ok(rows.into_iter().map(|(code, open)| GridCount { code, open }).collect())
}
