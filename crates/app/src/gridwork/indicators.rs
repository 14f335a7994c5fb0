//! Grid work's indicators for a territory and period ([`wuzhi_domain::gridwork::indicators`]):
//! summed by the store over the territory, the visit plan's households counted from the
//! archives' care groups (for a street, a community or a grid: above that the plan is the
//! streets' own), and the breakdown by the territories one level below — aggregated, with no
//! line per person.

use super::{name_of, territory};
use crate::{App, AppError, Result};
use serde::Serialize;
use wuzhi_domain::gridwork::{
    self as domain,
    indicators::{Counts, Rates},
};
use wuzhi_domain::{Action, Actor, Level, Target, TerritoryCode};
use wuzhi_store::gridwork as store;

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct IndicatorsView {
    pub territory_code: String,
    pub territory_name: Option<String>,
    pub level: String,
    pub from_ms: i64,
    pub to_ms: i64,
    #[schema(value_type = Object)]
    pub counts: Counts,
    #[schema(value_type = Object)]
    pub rates: Rates,
    /// Whether the visit plan's households were counted (a street or below).
    pub visit_plan_counted: bool,
}

async fn of(app: &App, t: &TerritoryCode, from: i64, to: i64) -> Result<IndicatorsView> {
    let mut conn = app.db.read().await?;
    let mut counts = store::counts(&mut conn, t.scope_prefix(), from, to).await?;
    let planned = matches!(t.level(), Level::Township | Level::Village | Level::Grid);
    if planned {
        let before = store::last_visits(&mut conn, t.scope_prefix(), from).await?;
        let upto = store::last_visits(&mut conn, t.scope_prefix(), to).await?;
        drop(conn);
        let (_, rules) = super::rules_for(app, t).await?;
        let since = app.settings.gridwork_since_ms;
        let (mut due, mut visited) = (0, 0);
        for h in crate::archives::care_households(app, t).await? {
            let Some(every) = domain::visit_every(&h.care_tags, &rules) else { continue };
            if domain::next_visit_due(before.get(&h.key).copied(), since, every) < to {
                due += 1;
                if upto.get(&h.key).is_some_and(|at| *at >= from) {
                    visited += 1;
                }
            }
        }
        counts.households_due = due;
        counts.households_visited = visited;
    }
    Ok(IndicatorsView {
        territory_code: t.as_str().to_owned(),
        territory_name: name_of(app, t.as_str()),
        level: t.level().as_str().to_owned(),
        from_ms: from,
        to_ms: to,
        rates: counts.rates(),
        counts,
        visit_plan_counted: planned,
    })
}

fn period(from: i64, to: i64) -> Result<()> {
    if to <= from {
        return Err(AppError::invalid("to_ms", "must be after from_ms"));
    }
    if to - from > 400 * domain::DAY_MS {
        return Err(AppError::invalid("to_ms", "a period is at most 400 days"));
    }
    Ok(())
}

pub async fn indicators(app: &App, actor: &Actor, code: &str, from: i64, to: i64) -> Result<IndicatorsView> {
    period(from, to)?;
    let t = territory("territory", code)?;
    actor.can(Action::ReadGridWork, &Target::territory(&t))?;
    of(app, &t, from, to).await
}

/// The territory and each territory one level below it (at most 300).
pub async fn breakdown(app: &App, actor: &Actor, code: &str, from: i64, to: i64) -> Result<Vec<IndicatorsView>> {
    period(from, to)?;
    let t = territory("territory", code)?;
    actor.can(Action::ReadGridWork, &Target::territory(&t))?;
    let len = match t.level() {
        Level::City => 6,
        Level::District => 9,
        Level::Township => 12,
        Level::Village => 15,
        Level::Grid => 0,
    };
    let mut out = vec![of(app, &t, from, to).await?];
    if len == 0 {
        return Ok(out);
    }
    let mut children: Vec<String> =
        super::grids_under(app, &t)?.into_iter().filter_map(|g| g.get(..len).map(str::to_owned)).collect();
    children.dedup();
    if children.len() > 300 {
        return Err(AppError::invalid("territory", "has more than 300 territories below it"));
    }
    for c in children {
        let c = TerritoryCode::parse(&c).map_err(|e| AppError::invalid("territory", e.reason))?;
        out.push(of(app, &c, from, to).await?);
    }
    Ok(out)
}

/// The breakdown as CSV (UTF-8 with a byte-order mark, so spreadsheets read the Chinese).
pub async fn breakdown_csv(app: &App, actor: &Actor, code: &str, from: i64, to: i64) -> Result<String> {
    let rows = breakdown(app, actor, code, from, to).await?;
    let mut out = String::from(
        "\u{feff}territory_code,territory_name,level,grids,grids_patrolled,patrol_coverage,patrols,found,fixed_on_spot,self_fix_rate,households_due,households_visited,visit_rate,visits,needs_raised,notes,key_task_shares_due,key_task_shares_on_time,key_task_on_time_rate\n",
    );
    let r = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    for v in rows {
        let c = v.counts;
        let name = v.territory_name.unwrap_or_default().replace('"', "\"\"");
        out.push_str(&format!(
            "{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            v.territory_code,
            name,
            v.level,
            c.grids,
            c.grids_patrolled,
            r(v.rates.patrol_coverage),
            c.patrols,
            c.found,
            c.fixed_on_spot,
            r(v.rates.self_fix_rate),
            if v.visit_plan_counted { c.households_due.to_string() } else { String::new() },
            c.households_visited,
            r(v.rates.visit_rate),
            c.visits,
            c.needs_raised,
            c.notes,
            c.shares_due,
            c.shares_done_on_time,
            r(v.rates.key_task_on_time_rate),
        ));
    }
    Ok(out)
}
