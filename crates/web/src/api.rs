//! JSON API handlers. Each one extracts the actor and its input, calls one use case, and
//! shapes the answer; none holds a rule of its own.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Authed, SESSION_COOKIE};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use wuzhi_app::audit::EntryView;
use wuzhi_app::auth::{NewToken, SignedIn, TokenView};
use wuzhi_app::locate::Located;
use wuzhi_app::org::{NewOrg, OrgView};
use wuzhi_app::people::{AccountPatch, MembershipView, NewMembership, NewPerson, PersonPatch, PersonView};
use wuzhi_app::territory::{Format, ImportReport, ListQuery, Page, TerritoryView};
use wuzhi_app::{AppError, auth, org, people, territory};
use wuzhi_domain::work::Caller;
use wuzhi_domain::{Grant, Level, TerritoryCode};
use wuzhi_geo::Crs;

fn crs(s: Option<&str>) -> Result<Crs, AppError> {
    Ok(s.map(Crs::parse).transpose()?.unwrap_or(Crs::Wgs84))
}

// ---- session ----

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

fn session_cookie(state: &AppState, headers: &HeaderMap, value: &str, max_age_s: i64) -> HeaderValue {
    let behind_tls = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    let secure = if state.secure_cookies || behind_tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie is ASCII")
}

/// Sign in with username and password; sets the session cookie and returns the CSRF token
/// to send as `X-CSRF-Token` on every state-changing request.
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = LoginBody,
    responses((status = 200, body = SignedIn), (status = 401, body = ErrorBody), (status = 423, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let s = auth::login(&state.app, &body.username, &body.password).await?;
    let max_age = (s.expires_at_ms - state.app.now_ms()) / 1000;
    let cookie = session_cookie(&state, &headers, &s.session_token, max_age);
    Ok(([(header::SET_COOKIE, cookie)], Json(s)).into_response())
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/session", tag = "session", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, authed: Authed) -> ApiResult<Response> {
    if let Some(t) = &authed.session {
        auth::logout(&state.app, t).await?;
    }
    let cookie = session_cookie(&state, &headers, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

#[derive(serde::Serialize, ToSchema)]
pub struct Me {
    pub person: PersonView,
    pub memberships: Vec<MembershipView>,
    #[schema(value_type = Vec<Object>)]
    pub grants: Vec<Grant>,
}

/// The signed-in person, their posts and the grants they give.
#[utoipa::path(get, path = "/api/me", tag = "session", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Me>> {
    let person = people::get(&state.app, &a.actor, a.actor.person_id, true).await?;
    let memberships = people::memberships(&state.app, &a.actor, a.actor.person_id).await?;
    Ok(Json(Me { person, memberships, grants: a.actor.grants.clone() }))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    pub current_password: String,
    pub new_password: String,
}

/// Change one's own password; other sessions end.
#[utoipa::path(post, path = "/api/me/password", tag = "session", request_body = PasswordBody,
    responses((status = 204), (status = 400, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    auth::change_password(&state.app, &a.actor, &b.current_password, &b.new_password, a.session.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    pub name: String,
}

/// Create an API token for machine clients (`Authorization: Bearer …`); shown once.
#[utoipa::path(post, path = "/api/me/tokens", tag = "session", request_body = TokenBody, responses((status = 201, body = NewToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<TokenBody>,
) -> ApiResult<(StatusCode, Json<NewToken>)> {
    Ok((StatusCode::CREATED, Json(auth::create_api_token(&state.app, &a.actor, &b.name).await?)))
}

#[utoipa::path(get, path = "/api/me/tokens", tag = "session", responses((status = 200, body = Vec<TokenView>)))]
pub async fn list_tokens(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Vec<TokenView>>> {
    Ok(Json(auth::list_api_tokens(&state.app, &a.actor).await?))
}

#[utoipa::path(delete, path = "/api/me/tokens/{id}", tag = "session", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    auth::revoke_api_token(&state.app, &a.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- territories ----

#[derive(Deserialize, IntoParams)]
pub struct TerritoryListParams {
    /// city, district, township, village or grid
    pub level: Option<String>,
    pub parent: Option<String>,
    /// Paging: the `next` of the previous page.
    pub after: Option<String>,
    /// 1–1000, default 100.
    pub limit: Option<i64>,
    /// Include polygons.
    pub geometry: Option<bool>,
    /// wgs84 (default) or gcj02, for polygons.
    pub crs: Option<String>,
}

/// Territories the caller may read, by code.
#[utoipa::path(get, path = "/api/territories", tag = "territories", params(TerritoryListParams),
    responses((status = 200, body = Page<TerritoryView>), (status = 403, body = ErrorBody)))]
pub async fn list_territories(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<TerritoryListParams>,
) -> ApiResult<Json<Page<TerritoryView>>> {
    let parse_code = |field: &str, v: &Option<String>| -> Result<Option<TerritoryCode>, AppError> {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| TerritoryCode::parse(s).map_err(|e| AppError::invalid(field, e.reason)))
            .transpose()
    };
    let q = ListQuery {
        level: p.level.as_deref().filter(|s| !s.is_empty()).map(Level::parse).transpose()?,
        parent: parse_code("parent", &p.parent)?,
        after: parse_code("after", &p.after)?,
        limit: p.limit,
        with_geometry: p.geometry.unwrap_or(false),
        crs: Some(crs(p.crs.as_deref())?),
    };
    Ok(Json(territory::list(&state.app, &a.actor, &q).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct GeometryParams {
    pub geometry: Option<bool>,
    pub crs: Option<String>,
}

#[utoipa::path(get, path = "/api/territories/{code}", tag = "territories", params(("code" = String, Path), GeometryParams),
    responses((status = 200, body = TerritoryView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_territory(
    State(state): State<AppState>,
    a: Authed,
    Path(code): Path<String>,
    ApiQuery(p): ApiQuery<GeometryParams>,
) -> ApiResult<Json<TerritoryView>> {
    Ok(Json(territory::get(&state.app, &a.actor, &code, p.geometry.unwrap_or(false), crs(p.crs.as_deref())?).await?))
}

/// A territory's name and outline for the map (WGS84), for anyone signed in: boundaries are
/// public geography; nothing else of the territory is shown.
#[utoipa::path(get, path = "/api/map/outline/{code}", tag = "territories", params(("code" = String, Path)),
    responses((status = 200, body = territory::Outline), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn map_outline(
    State(state): State<AppState>,
    _a: Authed,
    Path(code): Path<String>,
) -> ApiResult<Json<territory::Outline>> {
    Ok(Json(territory::outline(&state.app, &code).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct ExportParams {
    pub level: Option<String>,
    pub crs: Option<String>,
}

/// The territory and everything under it as a GeoJSON FeatureCollection.
#[utoipa::path(get, path = "/api/territories/{code}/export.geojson", tag = "territories", params(("code" = String, Path), ExportParams),
    responses((status = 200, content_type = "application/geo+json", body = Object), (status = 403, body = ErrorBody)))]
pub async fn export_territories(
    State(state): State<AppState>,
    a: Authed,
    Path(code): Path<String>,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let level = p.level.as_deref().filter(|s| !s.is_empty()).map(Level::parse).transpose()?;
    let fc =
        territory::export_geojson(&state.app, Caller::Person(&a.actor), &code, level, crs(p.crs.as_deref())?).await?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], fc.to_string()).into_response())
}

#[derive(Deserialize, IntoParams)]
pub struct ImportParams {
    /// csv (division-code table) or geojson
    pub format: String,
    /// Coordinates of a GeoJSON body: wgs84 (default) or gcj02.
    pub crs: Option<String>,
    /// Only validate; write nothing.
    pub dry_run: Option<bool>,
}

/// Import territories from the request body, all or nothing. A rejected import lists every
/// problem with its row or feature.
#[utoipa::path(post, path = "/api/territories/import", tag = "territories", params(ImportParams), request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import_territories(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<ImportParams>,
    body: String,
) -> ApiResult<Json<ImportReport>> {
    let format = Format::parse(&p.format)?;
    let report = territory::import(
        &state.app,
        Caller::Person(&a.actor),
        format,
        crs(p.crs.as_deref())?,
        &body,
        p.dry_run.unwrap_or(false),
    )
    .await?;
    Ok(Json(report))
}

/// How many territories of each level the caller may read.
#[utoipa::path(get, path = "/api/territories/counts", tag = "territories", responses((status = 200, body = BTreeMap<String, i64>)))]
pub async fn territory_counts(State(state): State<AppState>, a: Authed) -> ApiResult<Json<BTreeMap<String, i64>>> {
    Ok(Json(territory::counts(&state.app, &a.actor).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct LocateParams {
    pub lon: f64,
    pub lat: f64,
    /// wgs84 (default) or gcj02
    pub crs: Option<String>,
}

/// The grid a point lies in, with its ancestors.
#[utoipa::path(get, path = "/api/locate", tag = "territories", params(LocateParams),
    responses((status = 200, body = Located), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn locate(
    State(state): State<AppState>,
    _a: Authed,
    ApiQuery(p): ApiQuery<LocateParams>,
) -> ApiResult<Json<Located>> {
    Ok(Json(wuzhi_app::locate::locate(&state.app, p.lon, p.lat, crs(p.crs.as_deref())?)?))
}

// ---- organisations ----

#[derive(Deserialize, IntoParams)]
pub struct OrgListParams {
    pub kind: Option<String>,
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/organisations", tag = "organisations", params(OrgListParams), responses((status = 200, body = Vec<OrgView>), (status = 403, body = ErrorBody)))]
pub async fn list_orgs(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<OrgListParams>,
) -> ApiResult<Json<Vec<OrgView>>> {
    Ok(Json(
        org::list(&state.app, &a.actor, p.kind.as_deref().filter(|s| !s.is_empty()), p.after.unwrap_or(0), p.limit)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct OrgBody {
    pub name: String,
    /// party_organisation, department, street_office, community_committee, command_centre,
    /// volunteer_team, legal_service or admin_office
    pub kind: String,
    pub territory_code: String,
    pub parent_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/organisations", tag = "organisations", request_body = OrgBody,
    responses((status = 201, body = OrgView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_org(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<OrgBody>,
) -> ApiResult<(StatusCode, Json<OrgView>)> {
    let v = org::create(
        &state.app,
        Caller::Person(&a.actor),
        NewOrg { name: &b.name, kind: &b.kind, territory_code: &b.territory_code, parent_id: b.parent_id },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(get, path = "/api/organisations/{id}", tag = "organisations", params(("id" = i64, Path)),
    responses((status = 200, body = OrgView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_org(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<OrgView>> {
    Ok(Json(org::get(&state.app, &a.actor, id).await?))
}

// ---- people ----

#[derive(Deserialize, IntoParams)]
pub struct PeopleListParams {
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

/// People living or working in the caller's territory; phones masked.
#[utoipa::path(get, path = "/api/people", tag = "people", params(PeopleListParams), responses((status = 200, body = Vec<PersonView>), (status = 403, body = ErrorBody)))]
pub async fn list_people(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<PeopleListParams>,
) -> ApiResult<Json<Vec<PersonView>>> {
    Ok(Json(people::list(&state.app, &a.actor, p.after.unwrap_or(0), p.limit).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PersonBody {
    pub name: String,
    pub phone: Option<String>,
    pub home_territory: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[utoipa::path(post, path = "/api/people", tag = "people", request_body = PersonBody,
    responses((status = 201, body = PersonView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_person(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<PersonBody>,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    let v = people::create(
        &state.app,
        Caller::Person(&a.actor),
        NewPerson {
            name: &b.name,
            phone: b.phone.as_deref(),
            home_territory: &b.home_territory,
            username: b.username.as_deref(),
            password: b.password.as_deref(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Deserialize, IntoParams)]
pub struct RevealParams {
    /// Show personal data in full (roles that need it only; audited).
    pub reveal: Option<bool>,
}

#[utoipa::path(get, path = "/api/people/{id}", tag = "people", params(("id" = i64, Path), RevealParams),
    responses((status = 200, body = PersonView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_person(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<RevealParams>,
) -> ApiResult<Json<PersonView>> {
    Ok(Json(people::get(&state.app, &a.actor, id, p.reveal.unwrap_or(false)).await?))
}

/// Edit a person (name, phone, home territory).
#[utoipa::path(patch, path = "/api/people/{id}", tag = "people", params(("id" = i64, Path)), request_body = PersonPatch,
    responses((status = 200, body = PersonView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_person(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PersonPatch>,
) -> ApiResult<Json<PersonView>> {
    Ok(Json(people::update(&state.app, &a.actor, id, b).await?))
}

/// Disable or enable a person's account, or set a new password; their sessions end.
#[utoipa::path(post, path = "/api/people/{id}/account", tag = "people", params(("id" = i64, Path)), request_body = AccountPatch,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn manage_account(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<AccountPatch>,
) -> ApiResult<StatusCode> {
    people::manage_account(&state.app, &a.actor, id, b).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/people/{id}/memberships", tag = "people", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<MembershipView>), (status = 403, body = ErrorBody)))]
pub async fn person_memberships(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<MembershipView>>> {
    Ok(Json(people::memberships(&state.app, &a.actor, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct MembershipBody {
    pub person_id: i64,
    pub organisation_id: i64,
    /// resident, grid_worker, steward, community_staff, street_commander,
    /// department_handler, dispatcher, district_leader, city_leader or admin
    pub role: String,
    pub scope_code: String,
    pub post: String,
}

#[utoipa::path(post, path = "/api/memberships", tag = "people", request_body = MembershipBody,
    responses((status = 201, body = MembershipView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn grant_membership(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<MembershipBody>,
) -> ApiResult<(StatusCode, Json<MembershipView>)> {
    let v = people::grant(
        &state.app,
        Caller::Person(&a.actor),
        NewMembership {
            person_id: b.person_id,
            organisation_id: b.organisation_id,
            role: &b.role,
            scope_code: &b.scope_code,
            post: &b.post,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(delete, path = "/api/memberships/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_membership(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    people::end_membership(&state.app, &a.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- audit ----

#[derive(Deserialize, IntoParams)]
pub struct AuditParams {
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

/// The audit log, oldest first (city administrators only).
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditParams), responses((status = 200, body = Vec<EntryView>), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Vec<EntryView>>> {
    let limit = wuzhi_app::page_limit(p.limit)?;
    Ok(Json(wuzhi_app::audit::list(&state.app, &a.actor, p.after.unwrap_or(0), limit).await?))
}

// ---- cases ----

/// Report a case (信息收集) from the app, the hotline or a grid patrol. A repeated
/// `idempotency_key` returns the case the first submission created, with status 200.
#[utoipa::path(post, path = "/api/cases", tag = "cases", request_body = wuzhi_app::cases::NewCase,
    responses((status = 201, body = wuzhi_app::cases::CaseView), (status = 200, body = wuzhi_app::cases::CaseView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn report_case(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<wuzhi_app::cases::NewCase>,
) -> ApiResult<(StatusCode, Json<wuzhi_app::cases::CaseView>)> {
    let (view, created) = wuzhi_app::cases::report(&state.app, &a.actor, b).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view)))
}

#[derive(Deserialize, IntoParams)]
pub struct CaseListParams {
    pub status: Option<String>,
    /// A category code or the code of a class (prefix).
    pub category: Option<String>,
    pub overdue: Option<bool>,
    /// Paging: ids below this one (newest first).
    pub before: Option<i64>,
    pub limit: Option<i64>,
    /// Only inside this territory (its code).
    pub territory: Option<String>,
    /// app, hotline, grid, sensor or open311
    pub channel: Option<String>,
    /// Reported on or after this day (YYYY-MM-DD).
    pub from: Option<String>,
    /// Reported on or before this day (YYYY-MM-DD).
    pub to: Option<String>,
}

/// Cases in the caller's territories, owned by the caller's units, or reported by the caller.
#[utoipa::path(get, path = "/api/cases", tag = "cases", params(CaseListParams), responses((status = 200, body = Vec<wuzhi_app::cases::CaseView>)))]
pub async fn list_cases(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<CaseListParams>,
) -> ApiResult<Json<Vec<wuzhi_app::cases::CaseView>>> {
    let q = wuzhi_app::cases::ListQuery {
        status: p.status.filter(|s| !s.is_empty()),
        category: p.category.filter(|s| !s.is_empty()),
        overdue: p.overdue,
        before: p.before,
        limit: p.limit,
        territory: p.territory.filter(|s| !s.is_empty()),
        channel: p.channel.filter(|s| !s.is_empty()),
        from: p.from.filter(|s| !s.is_empty()),
        to: p.to.filter(|s| !s.is_empty()),
    };
    Ok(Json(wuzhi_app::cases::list(&state.app, &a.actor, &q).await?))
}

/// One case with its timeline and the steps the caller may take now.
#[utoipa::path(get, path = "/api/cases/{id}", tag = "cases", params(("id" = i64, Path), RevealParams),
    responses((status = 200, body = wuzhi_app::cases::CaseView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<RevealParams>,
) -> ApiResult<Json<wuzhi_app::cases::CaseView>> {
    Ok(Json(wuzhi_app::cases::get(&state.app, &a.actor, id, p.reveal.unwrap_or(false)).await?))
}

/// Take one step of the loop: `{"action": "file", "category": "E0102"}`, `dispatch`,
/// `accept`, `return`, `handle`, `verify`, `rework`, `request_extension`,
/// `decide_extension`, `park`, `unpark`, `escalate`, `merge`, `comment`, `reopen`, `rate`.
/// A step the case's state does not allow is refused with 409 and changes nothing.
#[utoipa::path(post, path = "/api/cases/{id}/actions", tag = "cases", params(("id" = i64, Path)), request_body = wuzhi_app::cases::Command,
    responses((status = 200, body = wuzhi_app::cases::CaseView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn case_action(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(cmd): ApiJson<wuzhi_app::cases::Command>,
) -> ApiResult<Json<wuzhi_app::cases::CaseView>> {
    Ok(Json(wuzhi_app::cases::act(&state.app, &a.actor, id, cmd).await?))
}

/// The category taxonomy with time limits and responsible units.
#[utoipa::path(get, path = "/api/categories", tag = "cases", responses((status = 200, body = Vec<wuzhi_app::categories::CategoryView>)))]
pub async fn list_categories(
    State(state): State<AppState>,
    _a: Authed,
) -> ApiResult<Json<Vec<wuzhi_app::categories::CategoryView>>> {
    Ok(Json(wuzhi_app::categories::list(&state.app).await?))
}

#[derive(serde::Serialize, ToSchema)]
pub struct Imported {
    pub imported: usize,
}

/// Add or replace categories from a CSV body (columns of `data/categories/default.csv`),
/// all or nothing (city administrators).
#[utoipa::path(post, path = "/api/categories/import", tag = "cases", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Imported), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import_categories(State(state): State<AppState>, a: Authed, body: String) -> ApiResult<Json<Imported>> {
    Ok(Json(Imported { imported: wuzhi_app::categories::import(&state.app, Caller::Person(&a.actor), &body).await? }))
}

/// Replace the working calendar's holidays and adjusted working days with a
/// `date,kind,name` CSV body (city administrators).
#[utoipa::path(put, path = "/api/calendar", tag = "cases", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Imported), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn replace_calendar(State(state): State<AppState>, a: Authed, body: String) -> ApiResult<Json<Imported>> {
    Ok(Json(Imported {
        imported: wuzhi_app::categories::store_calendar(&state.app, Caller::Person(&a.actor), &body).await?,
    }))
}

// ---- inbox ----

#[derive(Deserialize, IntoParams)]
pub struct InboxParams {
    pub unread: Option<bool>,
    pub limit: Option<i64>,
}

/// The caller's in-app messages, newest first.
#[utoipa::path(get, path = "/api/me/notifications", tag = "session", params(InboxParams),
    responses((status = 200, body = Vec<wuzhi_app::notify::NotificationView>)))]
pub async fn notifications(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<InboxParams>,
) -> ApiResult<Json<Vec<wuzhi_app::notify::NotificationView>>> {
    let limit = wuzhi_app::page_limit(p.limit)?;
    Ok(Json(wuzhi_app::notify::inbox(&state.app, a.actor.person_id, p.unread.unwrap_or(false), limit).await?))
}

#[utoipa::path(post, path = "/api/me/notifications/{id}/read", tag = "session", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn read_notification(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    wuzhi_app::notify::mark_read(&state.app, a.actor.person_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

fn kpi_query(p: KpiParams) -> wuzhi_app::kpi::Query {
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

// ---- devices ----

#[derive(Deserialize, ToSchema)]
pub struct DeviceBody {
    pub name: String,
    pub territory_code: String,
}

/// Register a sensor for a territory; the answer holds its signing key, shown once.
#[utoipa::path(post, path = "/api/devices", tag = "cases", request_body = DeviceBody,
    responses((status = 201, body = wuzhi_app::devices::DeviceView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn register_device(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<DeviceBody>,
) -> ApiResult<(StatusCode, Json<wuzhi_app::devices::DeviceView>)> {
    Ok((
        StatusCode::CREATED,
        Json(wuzhi_app::devices::register(&state.app, &a.actor, &b.name, &b.territory_code).await?),
    ))
}

#[utoipa::path(get, path = "/api/devices", tag = "cases", responses((status = 200, body = Vec<wuzhi_app::devices::DeviceView>), (status = 403, body = ErrorBody)))]
pub async fn list_devices(
    State(state): State<AppState>,
    a: Authed,
) -> ApiResult<Json<Vec<wuzhi_app::devices::DeviceView>>> {
    Ok(Json(wuzhi_app::devices::list(&state.app, &a.actor).await?))
}

#[utoipa::path(delete, path = "/api/devices/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_device(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    wuzhi_app::devices::revoke(&state.app, &a.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A device reports an event as a case. Headers: `X-Wuzhi-Timestamp` (ms since the epoch)
/// and `X-Wuzhi-Signature: sha256=<hex HMAC-SHA256(key, "{timestamp}.{body}")>`.
#[utoipa::path(post, path = "/api/devices/{id}/events", tag = "cases", params(("id" = i64, Path)), request_body = wuzhi_app::devices::DeviceEvent,
    responses((status = 201, body = wuzhi_app::cases::CaseView), (status = 200, body = wuzhi_app::cases::CaseView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn device_event(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<wuzhi_app::cases::CaseView>)> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (view, created) =
        wuzhi_app::devices::receive(&state.app, id, h("x-wuzhi-timestamp"), h("x-wuzhi-signature"), &body).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view)))
}

// ---- attachments ----

#[derive(Deserialize, IntoParams)]
pub struct AttachParams {
    /// The file's name as the uploader knows it.
    pub name: String,
}

/// Attach a photo (JPEG, PNG, WebP) or PDF, at most 10 MB, sent as the raw body with its
/// Content-Type.
#[utoipa::path(post, path = "/api/cases/{id}/attachments", tag = "cases", params(("id" = i64, Path), AttachParams),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = wuzhi_app::attachments::AttachmentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn upload_attachment(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<AttachParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<wuzhi_app::attachments::AttachmentView>)> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let v = wuzhi_app::attachments::upload(&state.app, &a.actor, id, &p.name, declared, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(get, path = "/api/cases/{id}/attachments", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<wuzhi_app::attachments::AttachmentView>), (status = 403, body = ErrorBody)))]
pub async fn list_attachments(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<wuzhi_app::attachments::AttachmentView>>> {
    Ok(Json(wuzhi_app::attachments::list(&state.app, &a.actor, id).await?))
}

/// The file itself, for those who may read its case.
#[utoipa::path(get, path = "/api/attachments/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download_attachment(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Response> {
    let (content_type, name, bytes) = wuzhi_app::attachments::download(&state.app, &a.actor, id).await?;
    let disposition = format!("inline; filename*=UTF-8''{}", percent_encode(&name));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// RFC 5987 encoding of a file name for Content-Disposition.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Deserialize, IntoParams)]
pub struct CaseExportParams {
    /// csv, xlsx or geojson
    pub format: String,
    pub status: Option<String>,
    pub category: Option<String>,
    pub overdue: Option<bool>,
}

/// The cases the caller may see, as CSV, Excel or GeoJSON points (no personal data).
#[utoipa::path(get, path = "/api/cases/export", tag = "cases", params(CaseExportParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody)))]
pub async fn export_cases(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<CaseExportParams>,
) -> ApiResult<Response> {
    let q = wuzhi_app::cases::ListQuery {
        status: p.status.filter(|s| !s.is_empty()),
        category: p.category.filter(|s| !s.is_empty()),
        overdue: p.overdue,
        before: None,
        limit: None,
        ..Default::default()
    };
    let (content_type, bytes) = wuzhi_app::cases::export(&state.app, &a.actor, &q, &p.format).await?;
    let ext = match p.format.as_str() {
        "geojson" => "geojson",
        f => f,
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"cases.{ext}\"")),
        ],
        bytes,
    )
        .into_response())
}

#[derive(serde::Serialize, ToSchema)]
pub struct CaseImportReport {
    pub imported: usize,
    /// Rows whose external_id was imported before.
    pub skipped: usize,
}

/// Import historical cases from a CSV body, all or nothing (city administrators).
#[utoipa::path(post, path = "/api/cases/import", tag = "cases", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = CaseImportReport), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import_cases(State(state): State<AppState>, a: Authed, body: String) -> ApiResult<Json<CaseImportReport>> {
    let (imported, skipped) = wuzhi_app::cases::import_csv(&state.app, Caller::Person(&a.actor), &body).await?;
    Ok(Json(CaseImportReport { imported, skipped }))
}

// ---- webhooks ----

#[derive(Deserialize, ToSchema)]
pub struct WebhookBody {
    pub url: String,
    /// `*` or topics such as `case.dispatched,case.verified`
    pub topics: String,
}

/// Subscribe an integration to case events; the answer holds its signing secret, once.
#[utoipa::path(post, path = "/api/webhooks", tag = "integrations", request_body = WebhookBody,
    responses((status = 201, body = wuzhi_app::webhooks::WebhookView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn register_webhook(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<WebhookBody>,
) -> ApiResult<(StatusCode, Json<wuzhi_app::webhooks::WebhookView>)> {
    Ok((StatusCode::CREATED, Json(wuzhi_app::webhooks::register(&state.app, &a.actor, &b.url, &b.topics).await?)))
}

#[utoipa::path(get, path = "/api/webhooks", tag = "integrations", responses((status = 200, body = Vec<wuzhi_app::webhooks::WebhookView>), (status = 403, body = ErrorBody)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    a: Authed,
) -> ApiResult<Json<Vec<wuzhi_app::webhooks::WebhookView>>> {
    Ok(Json(wuzhi_app::webhooks::list(&state.app, &a.actor).await?))
}

#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "integrations", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_webhook(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    wuzhi_app::webhooks::revoke(&state.app, &a.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recent deliveries of a subscription, with attempts and the last error (dead letters included).
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "integrations", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<wuzhi_app::webhooks::DeliveryView>), (status = 403, body = ErrorBody)))]
pub async fn webhook_deliveries(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<wuzhi_app::webhooks::DeliveryView>>> {
    Ok(Json(wuzhi_app::webhooks::deliveries(&state.app, &a.actor, id).await?))
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

// ---- Open311 ----

#[derive(Deserialize, ToSchema)]
pub struct Open311KeyBody {
    pub name: String,
    /// Requests a minute (default 600).
    pub rate_per_minute: Option<i64>,
}

/// Issue an Open311 API key for an integrating system (city administrators); the answer
/// holds the key, shown once.
#[utoipa::path(post, path = "/api/open311/keys", tag = "open311", request_body = Open311KeyBody,
    responses((status = 201, body = wuzhi_app::open311::KeyView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_open311_key(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<Open311KeyBody>,
) -> ApiResult<(StatusCode, Json<wuzhi_app::open311::KeyView>)> {
    let k = wuzhi_app::open311::create_key(&state.app, Caller::Person(&a.actor), &b.name, b.rate_per_minute).await?;
    Ok((StatusCode::CREATED, Json(k)))
}

/// The Open311 API keys (city administrators).
#[utoipa::path(get, path = "/api/open311/keys", tag = "open311",
    responses((status = 200, body = Vec<wuzhi_app::open311::KeyView>), (status = 403, body = ErrorBody)))]
pub async fn list_open311_keys(
    State(state): State<AppState>,
    a: Authed,
) -> ApiResult<Json<Vec<wuzhi_app::open311::KeyView>>> {
    Ok(Json(wuzhi_app::open311::list_keys(&state.app, &a.actor).await?))
}

/// Revoke an Open311 API key; requests with it are refused from then on.
#[utoipa::path(delete, path = "/api/open311/keys/{id}", tag = "open311", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_open311_key(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    wuzhi_app::open311::revoke_key(&state.app, Caller::Person(&a.actor), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the attributes (Open311 service questions) of the categories a CSV names
/// (columns of `data/categories/attributes.csv`), all or nothing (city administrators).
#[utoipa::path(post, path = "/api/categories/attributes", tag = "cases", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Imported), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import_category_attributes(
    State(state): State<AppState>,
    a: Authed,
    body: String,
) -> ApiResult<Json<Imported>> {
    Ok(Json(Imported {
        imported: wuzhi_app::open311::import_attributes(&state.app, Caller::Person(&a.actor), &body).await?,
    }))
}

// ---- live updates ----

/// How long a live stream trusts its person's posts without a new look.
const RECHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Who a live stream tells, and when that was last checked.
struct Watch {
    epoch: i64,
    at: std::time::Instant,
    actor: wuzhi_domain::Actor,
    who: Authed,
}

/// Server-sent events: one `change` event (`{id, case_id, kind, status, territory_code}`)
/// for each change to a case the signed-in person may read, as it happens on any app
/// server; a comment every 15 seconds keeps the connection open. Not in the OpenAPI
/// document (it is a stream, not JSON).
pub async fn events(
    State(state): State<AppState>,
    a: Authed,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let rx = state.app.live.subscribe();
    // The person is checked again before a batch is told whenever rights may have shrunk
    // anywhere since the last check (the authorisation epoch moved), and at least every
    // minute (a session that simply expired): a stream never outlives its session or posts.
    let watch = Watch { epoch: state.app.live.epoch(), at: std::time::Instant::now(), actor: a.actor.clone(), who: a };
    let stream = futures_util::stream::unfold(
        (rx, watch, state, std::collections::VecDeque::new()),
        |(mut rx, mut watch, state, mut queue)| async move {
            loop {
                if let Some(ev) = queue.pop_front() {
                    return Some((Ok(ev), (rx, watch, state, queue)));
                }
                match rx.recv().await {
                    Ok(batch) => {
                        if batch.epoch != watch.epoch || watch.at.elapsed() > RECHECK_EVERY {
                            match watch.who.again(&state.app).await {
                                Ok(Some(actor)) => {
                                    watch.actor = actor;
                                    watch.epoch = batch.epoch;
                                    watch.at = std::time::Instant::now();
                                }
                                // Signed out, revoked, disabled, or the check failed: the stream ends.
                                _ => return None,
                            }
                        }
                        for s in batch.seen.iter().filter(|s| s.visible_to(&watch.actor)) {
                            let data = serde_json::to_string(&s.change).unwrap_or_default();
                            queue.push_back(Event::default().event("change").id(s.change.id.to_string()).data(data));
                        }
                    }
                    // A slow reader missed some: tell it to reload.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        queue.push_back(Event::default().event("reload").data("{}"));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
}

/// Who is on duty in a territory (the posts covering exactly it: grid workers, stewards,
/// community staff, …), for those who may read the territory.
#[utoipa::path(get, path = "/api/territories/{code}/duty", tag = "territories", params(("code" = String, Path)),
    responses((status = 200, body = Vec<wuzhi_app::people::OnDuty>), (status = 403, body = ErrorBody)))]
pub async fn territory_duty(
    State(state): State<AppState>,
    a: Authed,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<wuzhi_app::people::OnDuty>>> {
    Ok(Json(wuzhi_app::people::on_duty(&state.app, &a.actor, &code).await?))
}

// ---- Text intelligence: search, classification, duplicates, hot topics ----

/// Search the cases the caller may read: Chinese words (segmented), filters, highlighted
/// passages; by relevance (tempered by recency) or newest first.
#[utoipa::path(get, path = "/api/search", tag = "text", params(wuzhi_app::search::SearchParams),
    responses((status = 200, body = wuzhi_app::search::SearchResults), (status = 400, body = ErrorBody)))]
pub async fn search_cases(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<wuzhi_app::search::SearchParams>,
) -> ApiResult<Json<wuzhi_app::search::SearchResults>> {
    let blank = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    let p = wuzhi_app::search::SearchParams {
        territory: blank(p.territory),
        category: blank(p.category),
        status: blank(p.status),
        channel: blank(p.channel),
        from: blank(p.from),
        to: blank(p.to),
        sort: blank(p.sort),
        ..p
    };
    Ok(Json(wuzhi_app::search::search(&state.app, &a.actor, &p).await?))
}

#[derive(serde::Serialize, ToSchema)]
pub struct RebuildAnswer {
    /// The generation every server's index is now rebuilt for.
    pub generation: i64,
}

/// Ask every server to rebuild its search index from the cases (city administrators).
#[utoipa::path(post, path = "/api/search/rebuild", tag = "text",
    responses((status = 202, body = RebuildAnswer), (status = 403, body = ErrorBody)))]
pub async fn rebuild_search(State(state): State<AppState>, a: Authed) -> ApiResult<(StatusCode, Json<RebuildAnswer>)> {
    let generation = wuzhi_app::search::request_rebuild(&state.app, Caller::Person(&a.actor)).await?;
    Ok((StatusCode::ACCEPTED, Json(RebuildAnswer { generation })))
}

#[derive(Deserialize, ToSchema)]
pub struct ClassifyBody {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub detail: String,
}

/// The likely categories of a text, with confidence (by the active model).
#[utoipa::path(post, path = "/api/classify", tag = "text", request_body = ClassifyBody,
    responses((status = 200, body = wuzhi_app::classify::Suggestions), (status = 400, body = ErrorBody)))]
pub async fn classify_text(
    State(state): State<AppState>,
    _a: Authed,
    ApiJson(b): ApiJson<ClassifyBody>,
) -> ApiResult<Json<wuzhi_app::classify::Suggestions>> {
    Ok(Json(wuzhi_app::classify::suggest(&state.app, &b.subject, &b.detail).await?))
}

/// The classifier's versions with their cross-validated figures (city administrators).
#[utoipa::path(get, path = "/api/classifier/models", tag = "text",
    responses((status = 200, body = Vec<wuzhi_app::classify::ModelView>), (status = 403, body = ErrorBody)))]
pub async fn classifier_models(
    State(state): State<AppState>,
    a: Authed,
) -> ApiResult<Json<Vec<wuzhi_app::classify::ModelView>>> {
    Ok(Json(wuzhi_app::classify::models(&state.app, &a.actor).await?))
}

/// Train a new version on the confirmed cases and make it active (city administrators).
#[utoipa::path(post, path = "/api/classifier/models", tag = "text",
    responses((status = 201, body = wuzhi_app::classify::ModelView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn train_classifier(
    State(state): State<AppState>,
    a: Authed,
) -> ApiResult<(StatusCode, Json<wuzhi_app::classify::ModelView>)> {
    Ok((StatusCode::CREATED, Json(wuzhi_app::classify::train(&state.app, Caller::Person(&a.actor)).await?)))
}

/// Make a version the active one (city administrators).
#[utoipa::path(post, path = "/api/classifier/models/{id}/activate", tag = "text", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn activate_classifier(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    wuzhi_app::classify::activate(&state.app, &a.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The automatic dispatch threshold.
#[utoipa::path(get, path = "/api/classifier/settings", tag = "text",
    responses((status = 200, body = wuzhi_app::classify::ClassifierSettings)))]
pub async fn classifier_settings(
    State(state): State<AppState>,
    _a: Authed,
) -> ApiResult<Json<wuzhi_app::classify::ClassifierSettings>> {
    Ok(Json(wuzhi_app::classify::settings(&state.app).await?))
}

/// Set the automatic dispatch threshold (city administrators).
#[utoipa::path(put, path = "/api/classifier/settings", tag = "text", request_body = wuzhi_app::classify::ClassifierSettings,
    responses((status = 200, body = wuzhi_app::classify::ClassifierSettings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_classifier_settings(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<wuzhi_app::classify::ClassifierSettings>,
) -> ApiResult<Json<wuzhi_app::classify::ClassifierSettings>> {
    Ok(Json(wuzhi_app::classify::set_settings(&state.app, Caller::Person(&a.actor), &b).await?))
}

/// Cases that may already report what a draft reports: the same matter nearby and lately.
#[utoipa::path(post, path = "/api/cases/similar", tag = "text", request_body = wuzhi_app::similar::Draft,
    responses((status = 200, body = Vec<wuzhi_app::similar::Candidate>), (status = 400, body = ErrorBody)))]
pub async fn similar_to_draft(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<wuzhi_app::similar::Draft>,
) -> ApiResult<Json<Vec<wuzhi_app::similar::Candidate>>> {
    Ok(Json(wuzhi_app::similar::for_draft(&state.app, &a.actor, &b).await?))
}

/// Cases that may be the same matter as this one (merge candidates).
#[utoipa::path(get, path = "/api/cases/{id}/similar", tag = "text", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<wuzhi_app::similar::Candidate>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn similar_to_case(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<wuzhi_app::similar::Candidate>>> {
    Ok(Json(wuzhi_app::similar::for_case(&state.app, &a.actor, id).await?))
}

/// Support an open case (附议, "me too") instead of reporting it again.
#[utoipa::path(post, path = "/api/cases/{id}/support", tag = "text", params(("id" = i64, Path)),
    responses((status = 200, body = wuzhi_app::similar::Supported), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn support_case(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<wuzhi_app::similar::Supported>> {
    Ok(Json(wuzhi_app::similar::support(&state.app, &a.actor, id).await?))
}

/// The topics most residents raised or supported in a territory and period.
#[utoipa::path(get, path = "/api/hot-topics", tag = "text", params(wuzhi_app::similar::HotParams),
    responses((status = 200, body = wuzhi_app::similar::HotTopics), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn hot_topics(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<wuzhi_app::similar::HotParams>,
) -> ApiResult<Json<wuzhi_app::similar::HotTopics>> {
    Ok(Json(wuzhi_app::similar::hot(&state.app, &a.actor, &p).await?))
}
