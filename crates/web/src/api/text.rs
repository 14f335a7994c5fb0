//! Handlers of Chinese text intelligence: search, classification, duplicates and hot topics.

use super::*;

// ---- Text intelligence: search, classification, duplicates, hot topics ----

/// Search the cases the caller may read: Chinese words (segmented), filters, highlighted
/// passages; by relevance (tempered by recency) or newest first.
#[utoipa::path(get, path = "/api/search", tag = "text", params(wuzhi_app::text::search::SearchParams),
    responses((status = 200, body = wuzhi_app::text::search::SearchResults), (status = 400, body = ErrorBody)))]
pub async fn search_cases(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<wuzhi_app::text::search::SearchParams>,
) -> ApiResult<Json<wuzhi_app::text::search::SearchResults>> {
    let blank = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    let p = wuzhi_app::text::search::SearchParams {
        territory: blank(p.territory),
        category: blank(p.category),
        status: blank(p.status),
        channel: blank(p.channel),
        from: blank(p.from),
        to: blank(p.to),
        sort: blank(p.sort),
        ..p
    };
    Ok(Json(wuzhi_app::text::search::search(&state.app, &a.actor, &p).await?))
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
    let generation = wuzhi_app::text::search::request_rebuild(&state.app, Caller::Person(&a.actor)).await?;
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
    responses((status = 200, body = wuzhi_app::text::classify::Suggestions), (status = 400, body = ErrorBody)))]
pub async fn classify_text(
    State(state): State<AppState>,
    _a: Authed,
    ApiJson(b): ApiJson<ClassifyBody>,
) -> ApiResult<Json<wuzhi_app::text::classify::Suggestions>> {
    Ok(Json(wuzhi_app::text::classify::suggest(&state.app, &b.subject, &b.detail).await?))
}

/// The classifier's versions with their cross-validated figures (city administrators).
#[utoipa::path(get, path = "/api/classifier/models", tag = "text",
    responses((status = 200, body = Vec<wuzhi_app::text::classify::ModelView>), (status = 403, body = ErrorBody)))]
pub async fn classifier_models(
    State(state): State<AppState>,
    a: Authed,
) -> ApiResult<Json<Vec<wuzhi_app::text::classify::ModelView>>> {
    Ok(Json(wuzhi_app::text::classify::models(&state.app, &a.actor).await?))
}

/// Train a new version on the confirmed cases and make it active (city administrators). It
/// takes tens of seconds, so it runs as a background job: the answer is the job (or the
/// training already under way); follow it at `GET /api/jobs/{id}`, whose `result` is the new
/// version. Too few confirmed cases are refused at once.
#[utoipa::path(post, path = "/api/classifier/models", tag = "text",
    responses((status = 202, body = wuzhi_app::jobs::JobView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn train_classifier(
    State(state): State<AppState>,
    a: Authed,
) -> ApiResult<(StatusCode, Json<wuzhi_app::jobs::JobView>)> {
    Ok((StatusCode::ACCEPTED, Json(wuzhi_app::text::classify::queue_training(&state.app, &a.actor).await?)))
}

/// Make a version the active one (city administrators).
#[utoipa::path(post, path = "/api/classifier/models/{id}/activate", tag = "text", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn activate_classifier(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    wuzhi_app::text::classify::activate(&state.app, &a.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The automatic dispatch threshold.
#[utoipa::path(get, path = "/api/classifier/settings", tag = "text",
    responses((status = 200, body = wuzhi_app::text::classify::ClassifierSettings)))]
pub async fn classifier_settings(
    State(state): State<AppState>,
    _a: Authed,
) -> ApiResult<Json<wuzhi_app::text::classify::ClassifierSettings>> {
    Ok(Json(wuzhi_app::text::classify::settings(&state.app).await?))
}

/// Set the automatic dispatch threshold (city administrators).
#[utoipa::path(put, path = "/api/classifier/settings", tag = "text", request_body = wuzhi_app::text::classify::ClassifierSettings,
    responses((status = 200, body = wuzhi_app::text::classify::ClassifierSettings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_classifier_settings(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<wuzhi_app::text::classify::ClassifierSettings>,
) -> ApiResult<Json<wuzhi_app::text::classify::ClassifierSettings>> {
    Ok(Json(wuzhi_app::text::classify::set_settings(&state.app, Caller::Person(&a.actor), &b).await?))
}

/// Cases that may already report what a draft reports: the same matter nearby and lately.
#[utoipa::path(post, path = "/api/cases/similar", tag = "text", request_body = wuzhi_app::text::similar::Draft,
    responses((status = 200, body = Vec<wuzhi_app::text::similar::Candidate>), (status = 400, body = ErrorBody)))]
pub async fn similar_to_draft(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<wuzhi_app::text::similar::Draft>,
) -> ApiResult<Json<Vec<wuzhi_app::text::similar::Candidate>>> {
    Ok(Json(wuzhi_app::text::similar::for_draft(&state.app, &a.actor, &b).await?))
}

/// Cases that may be the same matter as this one (merge candidates).
#[utoipa::path(get, path = "/api/cases/{id}/similar", tag = "text", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<wuzhi_app::text::similar::Candidate>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn similar_to_case(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<wuzhi_app::text::similar::Candidate>>> {
    Ok(Json(wuzhi_app::text::similar::for_case(&state.app, &a.actor, id).await?))
}

/// Support an open case (附议, "me too") instead of reporting it again.
#[utoipa::path(post, path = "/api/cases/{id}/support", tag = "text", params(("id" = i64, Path)),
    responses((status = 200, body = wuzhi_app::text::similar::Supported), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn support_case(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<wuzhi_app::text::similar::Supported>> {
    Ok(Json(wuzhi_app::text::similar::support(&state.app, &a.actor, id).await?))
}

/// The topics most residents raised or supported in a territory and period.
#[utoipa::path(get, path = "/api/hot-topics", tag = "text", params(wuzhi_app::text::similar::HotParams),
    responses((status = 200, body = wuzhi_app::text::similar::HotTopics), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn hot_topics(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<wuzhi_app::text::similar::HotParams>,
) -> ApiResult<Json<wuzhi_app::text::similar::HotTopics>> {
    Ok(Json(wuzhi_app::text::similar::hot(&state.app, &a.actor, &p).await?))
}

/// Text intelligence's routes. Each route is declared here once, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_cases))
        .routes(routes!(rebuild_search))
        .routes(routes!(classify_text))
        .routes(routes!(classifier_models, train_classifier))
        .routes(routes!(activate_classifier))
        .routes(routes!(classifier_settings, set_classifier_settings))
        .routes(routes!(similar_to_draft))
        .routes(routes!(similar_to_case))
        .routes(routes!(support_case))
        .routes(routes!(hot_topics))
}
