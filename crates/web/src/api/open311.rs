//! Handlers of the Open311 administration (API keys); the GeoReport v2 reads and writes are in `crate::open311`.

use super::*;

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

/// Open311 administration under /api (the GeoReport endpoints themselves are in `crate::open311`). Each route is declared here once, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // The routes that take files.
        .merge(large(OpenApiRouter::new().routes(routes!(import_category_attributes))))
        .routes(routes!(create_open311_key, list_open311_keys))
        .routes(routes!(revoke_open311_key))
}
