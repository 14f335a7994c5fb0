//! Handlers of the kernel: sessions and tokens, territories, organisations, people and posts, the audit log, the inbox, webhooks and live updates.

use super::*;

// ---- session ----

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

pub(super) fn session_cookie(state: &AppState, headers: &HeaderMap, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if crate::behind_tls(state, headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie is ASCII")
}

/// Sign in with username and password; sets the session cookie and returns the CSRF token
/// to send as `X-CSRF-Token` on every state-changing request. An account with a second factor
/// (required for administrators and auditors) gets `202` and a challenge instead: send the
/// authenticator app's code with it to `POST /api/session/second-factor`.
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = LoginBody,
    responses((status = 200, body = SignedIn), (status = 202, body = Challenge), (status = 401, body = ErrorBody), (status = 423, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    source: crate::extract::Source,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    match auth::login(&state.app, &body.username, &body.password, &source.0).await? {
        auth::Login::SignedIn(s) => Ok(signed_in(&state, &headers, s)),
        auth::Login::SecondFactor(c) => Ok((StatusCode::ACCEPTED, Json(c)).into_response()),
    }
}

fn signed_in(state: &AppState, headers: &HeaderMap, s: SignedIn) -> Response {
    let max_age = (s.expires_at_ms - state.app.now_ms()) / 1000;
    let cookie = session_cookie(state, headers, &s.session_token, max_age);
    ([(header::SET_COOKIE, cookie)], Json(s)).into_response()
}

#[derive(Deserialize, ToSchema)]
pub struct SecondFactorBody {
    /// The `challenge` of the `202` answer.
    pub challenge: String,
    /// The six digits the authenticator app shows.
    pub code: String,
}

/// The second step of a sign-in: the code for the challenge. A wrong code counts as a failed
/// sign-in; five end the challenge; a code is accepted once.
#[utoipa::path(post, path = "/api/session/second-factor", tag = "session", request_body = SecondFactorBody,
    responses((status = 200, body = SignedIn), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 423, body = ErrorBody)))]
pub async fn login_second_factor(
    State(state): State<AppState>,
    headers: HeaderMap,
    source: crate::extract::Source,
    ApiJson(body): ApiJson<SecondFactorBody>,
) -> ApiResult<Response> {
    let s = second_factor::answer(&state.app, &body.challenge, &body.code, &source.0).await?;
    Ok(signed_in(&state, &headers, s))
}

/// Whether one has a second factor, and whether one's posts require it.
#[utoipa::path(get, path = "/api/me/second-factor", tag = "session",
    responses((status = 200, body = SecondFactorState), (status = 401, body = ErrorBody)))]
pub async fn second_factor_state(State(state): State<AppState>, a: Authed) -> ApiResult<Json<SecondFactorState>> {
    Ok(Json(second_factor::state(&state.app, &a.actor).await?))
}

/// Start adding a second factor: a new secret (and its otpauth address, for a QR code), and
/// the challenge its first code confirms.
#[utoipa::path(post, path = "/api/me/second-factor", tag = "session",
    responses((status = 201, body = Challenge), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start_second_factor(State(state): State<AppState>, a: Authed) -> ApiResult<(StatusCode, Json<Challenge>)> {
    Ok((StatusCode::CREATED, Json(second_factor::start(&state.app, &a.actor).await?)))
}

/// Confirm the new second factor with its first code.
#[utoipa::path(post, path = "/api/me/second-factor/confirm", tag = "session", request_body = SecondFactorBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn confirm_second_factor(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<SecondFactorBody>,
) -> ApiResult<StatusCode> {
    second_factor::confirm(&state.app, &a.actor, &b.challenge, &b.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    pub code: String,
}

/// Remove one's second factor, with a current code; refused while one's posts require it.
#[utoipa::path(delete, path = "/api/me/second-factor", tag = "session", request_body = CodeBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove_second_factor(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<CodeBody>,
) -> ApiResult<StatusCode> {
    second_factor::remove(&state.app, &a.actor, &b.code).await?;
    Ok(StatusCode::NO_CONTENT)
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
    /// volunteer_team, practice_centre, legal_service or admin_office
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

/// Disable or enable a person's account, set a new password, or reset their second factor;
/// their sessions end.
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
    /// Entries after this sequence number, oldest first (paging forward).
    pub after: Option<i64>,
    /// Entries before this sequence number, newest first (reading back; a very large number
    /// gives the newest).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// The audit log (a city's auditors only: the administrators whose acts it records do not
/// read it).
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditParams), responses((status = 200, body = Vec<EntryView>), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Vec<EntryView>>> {
    let limit = wuzhi_app::page_limit(p.limit)?;
    Ok(Json(wuzhi_app::audit::list(&state.app, &a.actor, p.after.unwrap_or(0), p.before, limit).await?))
}

/// Re-reads the whole hash chain of the audit log and names the first broken entry.
#[utoipa::path(get, path = "/api/audit/verify", tag = "audit", responses((status = 200, body = wuzhi_app::audit::Check), (status = 403, body = ErrorBody)))]
pub async fn verify_audit(State(state): State<AppState>, a: Authed) -> ApiResult<Json<wuzhi_app::audit::Check>> {
    Ok(Json(wuzhi_app::audit::check(&state.app, &a.actor).await?))
}

// ---- background jobs ----

/// A background job (its asker's, or any for a city administrator): its state, stage,
/// progress and, when done, its result.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "session", params(("id" = i64, Path)),
    responses((status = 200, body = wuzhi_app::jobs::JobView), (status = 404, body = ErrorBody)))]
pub async fn get_job(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<wuzhi_app::jobs::JobView>> {
    Ok(Json(wuzhi_app::jobs::get(&state.app, &a.actor, id).await?))
}

/// The file a background job made (an export), for the person who asked for it, streamed
/// chunk by chunk. Kept seven days after the job ended.
#[utoipa::path(get, path = "/api/jobs/{id}/file", tag = "session", params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/csv"),
            (String = "application/geo+json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 404, body = ErrorBody)))]
pub async fn job_file(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Response> {
    let f = wuzhi_app::jobs::file(&state.app, &a.actor, id).await?;
    let (app, chunks) = (state.app.clone(), f.chunks);
    let stream = futures_util::stream::unfold(0i64, move |seq| {
        let app = app.clone();
        async move {
            if seq >= chunks {
                return None;
            }
            let chunk = wuzhi_app::jobs::file_chunk(&app, id, seq)
                .await
                .map(axum::body::Bytes::from)
                .map_err(|e| std::io::Error::other(e.to_string()));
            Some((chunk, seq + 1))
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, f.content_type),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", f.name)),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

/// The newest background jobs (city administrators).
#[utoipa::path(get, path = "/api/jobs", tag = "session",
    responses((status = 200, body = Vec<wuzhi_app::jobs::JobView>), (status = 403, body = ErrorBody)))]
pub async fn list_jobs(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Vec<wuzhi_app::jobs::JobView>>> {
    Ok(Json(wuzhi_app::jobs::recent(&state.app, &a.actor).await?))
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

// ---- live updates ----

/// How long a live stream trusts its person's posts without a new look.
pub(super) const RECHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Who a live stream tells, and when that was last checked.
pub(super) struct Watch {
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

/// The kernel's routes: session, territories and the map's outlines, organisations, people, audit, the inbox, webhooks and live updates. Each route is declared here once, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // The routes that take files.
        .merge(large(OpenApiRouter::new().routes(routes!(import_territories))))
        .routes(routes!(login, logout))
        .routes(routes!(login_second_factor))
        .routes(routes!(second_factor_state, start_second_factor, remove_second_factor))
        .routes(routes!(confirm_second_factor))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(list_territories))
        .routes(routes!(territory_counts))
        .routes(routes!(get_territory))
        .routes(routes!(territory_duty))
        .routes(routes!(export_territories))
        .routes(routes!(locate))
        .routes(routes!(map_outline))
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org))
        .routes(routes!(list_people, create_person))
        .routes(routes!(get_person, update_person))
        .routes(routes!(manage_account))
        .routes(routes!(person_memberships))
        .routes(routes!(grant_membership))
        .routes(routes!(end_membership))
        .routes(routes!(job_file))
        .routes(routes!(list_audit))
        .routes(routes!(verify_audit))
        .routes(routes!(get_job))
        .routes(routes!(list_jobs))
        .routes(routes!(notifications))
        .routes(routes!(read_notification))
        .routes(routes!(register_webhook, list_webhooks))
        .routes(routes!(revoke_webhook))
        .routes(routes!(webhook_deliveries))
        // Not in the OpenAPI document: a stream of server-sent events.
        .route("/api/events", axum::routing::get(events))
}
