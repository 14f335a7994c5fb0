//! Handlers of risk early warning (风险隐患监测预警): the warnings of one's territories with
//! their evidence, chart and timeline, the steps of their lifecycle, the map layer and the
//! digest, and the detectors' parameters and lexicon (administrators).

use super::*;
use wuzhi_app::warnings::{
    self as warnings, Digest, LayerCell, LexiconItem, ListParams, RulesView, Step, Unit, WarningPage, WarningView,
};

/// The warnings the caller reads (their territories', and those assigned to their unit),
/// newest first; open ones unless `open=false` or a status is asked for.
#[utoipa::path(get, path = "/api/warnings", tag = "warnings", params(ListParams),
    responses((status = 200, body = [WarningView]), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<WarningView>>> {
    Ok(Json(warnings::list(&state.app, &a.actor, &p).await?))
}

/// A warning's page: why it was raised, its evidence cases, observed against expected, and
/// its timeline.
#[utoipa::path(get, path = "/api/warnings/{id}", tag = "warnings", params(("id" = i64, Path)),
    responses((status = 200, body = WarningPage), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<WarningPage>> {
    Ok(Json(warnings::get(&state.app, &a.actor, id).await?))
}

/// One step under the version last read: `acknowledge`, `assign` (to `org_id`, due
/// `due_ms`), `resolve` or `dismiss` (as a false alarm), the last two with a `reason`.
#[derive(Deserialize, ToSchema)]
pub struct WarningStep {
    /// The warning's version as last read; a stale one is refused with 409.
    pub version: i64,
    #[serde(flatten)]
    pub step: Step,
}

#[utoipa::path(post, path = "/api/warnings/{id}/actions", tag = "warnings", params(("id" = i64, Path)), request_body = WarningStep,
    responses((status = 200, body = WarningPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<WarningStep>,
) -> ApiResult<Json<WarningPage>> {
    Ok(Json(warnings::act(&state.app, &a.actor, id, b.version, &b.step).await?))
}

/// The units a handler may assign the warning to, nearest first.
#[utoipa::path(get, path = "/api/warnings/{id}/units", tag = "warnings", params(("id" = i64, Path)),
    responses((status = 200, body = [Unit]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn units(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<Vec<Unit>>> {
    Ok(Json(warnings::units(&state.app, &a.actor, id).await?))
}

/// The warnings a case is evidence of.
#[utoipa::path(get, path = "/api/cases/{id}/warnings", tag = "warnings", params(("id" = i64, Path)),
    responses((status = 200, body = [WarningView])))]
pub async fn of_case(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<WarningView>>> {
    Ok(Json(warnings::of_case(&state.app, &a.actor, id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct LayerParams {
    /// The territory whose children are coloured (default: the caller's own).
    pub under: Option<String>,
}

/// The warnings layer of the one map: open warnings per child territory, with the highest
/// level.
#[utoipa::path(get, path = "/api/warnings/layer", tag = "warnings", params(LayerParams),
    responses((status = 200, body = [LayerCell]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn layer(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<LayerParams>,
) -> ApiResult<Json<Vec<LayerCell>>> {
    Ok(Json(warnings::layer(&state.app, &a.actor, p.under.as_deref()).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct DigestParams {
    /// The end of the 24 hours (ms; default now).
    pub until_ms: Option<i64>,
}

/// The digest of the 24 hours before `until_ms` in the caller's territories.
#[utoipa::path(get, path = "/api/warnings/digest", tag = "warnings", params(DigestParams),
    responses((status = 200, body = Digest)))]
pub async fn digest(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<DigestParams>,
) -> ApiResult<Json<Digest>> {
    Ok(Json(warnings::digest(&state.app, &a.actor, p.until_ms).await?))
}

/// The detectors' parameters: the city's set and each territory's own.
#[utoipa::path(get, path = "/api/warnings/rules", tag = "warnings",
    responses((status = 200, body = [RulesView]), (status = 403, body = ErrorBody)))]
pub async fn rules(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Vec<RulesView>>> {
    Ok(Json(warnings::rules(&state.app, &a.actor).await?))
}

/// Sets a territory's parameters (`city` for the city's set); every detector reloads.
#[utoipa::path(put, path = "/api/warnings/rules/{territory}", tag = "warnings", params(("territory" = String, Path)),
    request_body = Object, responses((status = 200, body = RulesView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_rules(
    State(state): State<AppState>,
    a: Authed,
    Path(territory): Path<String>,
    ApiJson(p): ApiJson<wuzhi_domain::warnings::rules::Params>,
) -> ApiResult<Json<RulesView>> {
    let t = if territory == "city" { "" } else { territory.as_str() };
    Ok(Json(warnings::set_rules(&state.app, &a.actor, t, &p).await?))
}

/// Removes a territory's own parameters (its parent's apply again).
#[utoipa::path(delete, path = "/api/warnings/rules/{territory}", tag = "warnings", params(("territory" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_rules(
    State(state): State<AppState>,
    a: Authed,
    Path(territory): Path<String>,
) -> ApiResult<StatusCode> {
    let t = if territory == "city" { "" } else { territory.as_str() };
    warnings::delete_rules(&state.app, &a.actor, t).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The sensitive-word lexicon.
#[utoipa::path(get, path = "/api/warnings/lexicon", tag = "warnings",
    responses((status = 200, body = [LexiconItem]), (status = 403, body = ErrorBody)))]
pub async fn lexicon(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Vec<LexiconItem>>> {
    Ok(Json(warnings::lexicon(&state.app, &a.actor).await?))
}

/// Adds or changes an entry by its phrase (`active: false` retires it).
#[utoipa::path(put, path = "/api/warnings/lexicon", tag = "warnings", request_body = LexiconItem,
    responses((status = 200, body = LexiconItem), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_lexicon(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<LexiconItem>,
) -> ApiResult<Json<LexiconItem>> {
    Ok(Json(warnings::put_lexicon(&state.app, &a.actor, &b).await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(layer))
        .routes(routes!(digest))
        .routes(routes!(rules))
        .routes(routes!(set_rules, delete_rules))
        .routes(routes!(lexicon, put_lexicon))
        .routes(routes!(get))
        .routes(routes!(act))
        .routes(routes!(units))
        .routes(routes!(of_case))
}
