//! Handlers of performance evaluation: indicators, rankings and the map's counts.

use super::*;

// ---- performance evaluation ----

#[derive(Deserialize, IntoParams)]
pub struct KpiParams {
    /// A territory code (default: all the caller may see).
    pub territory: Option<String>,
    /// An organisation id: the cases it owns.
    pub org: Option<i64>,
    /// First day, YYYY-MM-DD (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today).
    pub to: Option<String>,
}

pub(super) fn kpi_query(p: KpiParams) -> wuzhi_app::kpi::Query {
    wuzhi_app::kpi::Query {
        territory: p.territory.filter(|s| !s.is_empty()),
        org: p.org,
        from: p.from.filter(|s| !s.is_empty()),
        to: p.to.filter(|s| !s.is_empty()),
    }
}

/// Indicators (结案率, 按期结案率, 返工率, 满意率, …) over the cases filed in a period.
#[utoipa::path(get, path = "/api/kpi", tag = "evaluation", params(KpiParams),
    responses((status = 200, body = wuzhi_app::kpi::KpiView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn kpi(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<KpiParams>,
) -> ApiResult<Json<wuzhi_app::kpi::KpiView>> {
    Ok(Json(wuzhi_app::kpi::evaluate(&state.app, &a.actor, &kpi_query(p)).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct RankingParams {
    /// org, district, township, village or grid
    pub by: String,
    /// closing_rate (default), on_time_closing_rate, satisfaction_rate, accurate_dispatch_rate,
    /// on_time_filing_rate, rework_rate or filed
    pub sort: Option<String>,
    /// json (default), csv or xlsx
    pub format: Option<String>,
    pub territory: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Units or territories ranked by an indicator; also as CSV or Excel.
#[utoipa::path(get, path = "/api/kpi/ranking", tag = "evaluation", params(RankingParams),
    responses((status = 200, body = Vec<wuzhi_app::kpi::RankRow>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn kpi_ranking(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<RankingParams>,
) -> ApiResult<Response> {
    let sort = p.sort.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "closing_rate".into());
    let format = p.format.clone().unwrap_or_else(|| "json".into());
    if !["json", "csv", "xlsx"].contains(&format.as_str()) {
        return Err(AppError::invalid("format", format!("`{format}` is not json, csv or xlsx")).into());
    }
    let q = kpi_query(KpiParams { territory: p.territory, org: None, from: p.from, to: p.to });
    let rows = wuzhi_app::kpi::ranking(&state.app, &a.actor, &q, &p.by, &sort).await?;
    Ok(match format.as_str() {
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"ranking.csv\""),
            ],
            wuzhi_app::kpi::to_csv(&rows)?,
        )
            .into_response(),
        "xlsx" => (
            [
                (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"ranking.xlsx\""),
            ],
            wuzhi_app::kpi::to_xlsx(&rows)?,
        )
            .into_response(),
        _ => Json(rows).into_response(),
    })
}

#[derive(Deserialize, IntoParams)]
pub struct PerGridParams {
    /// Only the open cases past their stage's due time.
    pub overdue: Option<bool>,
}

/// Open cases per grid in the caller's territory, for colouring the map.
#[utoipa::path(get, path = "/api/kpi/open-per-grid", tag = "evaluation", params(PerGridParams),
    responses((status = 200, body = Vec<wuzhi_app::kpi::GridCount>), (status = 403, body = ErrorBody)))]
pub async fn open_per_grid(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<PerGridParams>,
) -> ApiResult<Json<Vec<wuzhi_app::kpi::GridCount>>> {
    Ok(Json(wuzhi_app::kpi::per_grid(&state.app, &a.actor, p.overdue.unwrap_or(false)).await?))
}

/// The evaluation's routes. Each route is declared here once, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(kpi)).routes(routes!(kpi_ranking)).routes(routes!(open_per_grid))
}
