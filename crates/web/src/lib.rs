//! The HTTP edge: the JSON API under `/api`, its OpenAPI document and an offline
//! interactive page at `/api/docs`, `/healthz` and Prometheus `/metrics`. Handlers call
//! `wuzhi-app` use cases and hold no rules of their own.
//!
//! [`Application::build`] binds (port 0 in tests) and [`Application::run_until_stopped`]
//! serves until the shutdown future resolves; tests start the server through the very same
//! two calls.

pub mod api;
pub mod doc;
pub mod error;
pub mod extract;
pub mod open311;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;
use wuzhi_app::App;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    /// Mark cookies `Secure` even without `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
    pub metrics: PrometheusHandle,
}

/// The document's front matter; its paths come from the routes each module declares (see
/// [`router`]).
#[derive(OpenApi)]
#[openapi(
    info(title = "wuzhi API", description = "wuzhi (五治) social-governance platform. Sign in with POST /api/session (cookie + X-CSRF-Token) or send `Authorization: Bearer <API token>`. Every error is `{\"error\": {\"code\", \"message\", \"field\", \"reason\"}}`."),
    tags((name = "session"), (name = "territories"), (name = "organisations"), (name = "people"), (name = "audit"), (name = "cases"), (name = "evaluation"), (name = "open311"), (name = "text"), (name = "archives"), (name = "gridwork"), (name = "warnings"), (name = "virtue"))
)]
pub struct ApiDoc;

/// The process-wide Prometheus recorder (installed once, shared by every server in a test
/// process).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
                .expect("buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed by an embedding program; ours then
            // renders nothing, which is harmless.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

async fn track_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    // Only the methods the API serves get a series of their own; a made-up method must not
    // add one (each series is kept for the process's life).
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    res
}

/// Errors that axum itself produces (a method the route does not take, a body over the
/// limit, a missing content type) come as plain text; give them the same JSON shape as ours.
async fn json_errors(req: Request, next: Next) -> Response {
    // Open311 answers its errors in its own shape (and in XML when asked).
    let open311 = req.uri().path().starts_with("/open311/");
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let res = next.run(req).await;
    if open311 {
        return res;
    }
    let status = res.status();
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return res;
    }
    let code = match status.as_u16() {
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        s if s >= 500 => "internal",
        _ => "bad_request",
    };
    let allow = res.headers().get(axum::http::header::ALLOW).cloned();
    // A path parameter that does not parse (`/api/cases/abc`, an id past i64) names itself in
    // axum's text; the answer names the parameter, never the value.
    let field = if status == axum::http::StatusCode::BAD_REQUEST {
        let text = axum::body::to_bytes(res.into_body(), 4096).await.unwrap_or_default();
        path_parameter(&String::from_utf8_lossy(&text), route.as_deref())
    } else {
        None
    };
    let error = match &field {
        Some(f) => {
            serde_json::json!({"code": "invalid_input", "message": format!("{f}: must be a whole number in range"), "field": f, "reason": "must be a whole number in range"})
        }
        None => {
            serde_json::json!({"code": code, "message": status.canonical_reason().unwrap_or("error").to_lowercase()})
        }
    };
    let mut out = (status, Json(serde_json::json!({ "error": error }))).into_response();
    if let Some(v) = allow {
        out.headers_mut().insert(axum::http::header::ALLOW, v);
    }
    out
}

/// The path parameter axum refused: named in its text (`Cannot parse `id` with value …`),
/// or, where the text names only the value (`Cannot parse `abc` to a `i64``), the route's one
/// parameter. `None`: not a path's rejection.
fn path_parameter(text: &str, route: Option<&str>) -> Option<String> {
    let rest = text.split_once("Cannot parse `")?.1;
    let (first, after) = rest.split_once('`')?;
    if after.starts_with(" with value `") {
        return Some(first.chars().take(40).collect());
    }
    let params: Vec<&str> =
        route.unwrap_or("").split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
    Some(if params.len() == 1 { params[0].to_owned() } else { "path".to_owned() })
}

/// Headers every answer carries: no sniffing of content types, no framing by other sites,
/// no referrer sent elsewhere, and HSTS when the request came over TLS (directly or through
/// a proxy that says so). The pages' Content-Security-Policy is set by [`home`].
async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, header};
    let tls = behind_tls(&state, req.headers());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

/// Whether the request came over TLS: the server is configured so, or a proxy says it took
/// the request over HTTPS. (Secure cookies and HSTS both follow it.)
pub fn behind_tls(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    state.secure_cookies || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

/// The pages' Content-Security-Policy: scripts, styles and data from this server only (no
/// inline script), images also from the configured tile source, no framing, no plugins.
fn content_security_policy(tiles: Option<&str>) -> String {
    // The tile source's origin (scheme and host), never its path or template.
    let tile_origin = tiles
        .and_then(|u| {
            let (scheme, rest) = u.split_once("://")?;
            let host = rest.split('/').next()?;
            (matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains(['{', '}', ' ', ';', '\'', '"']))
                .then(|| format!(" {scheme}://{host}"))
        })
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{tile_origin}; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

async fn healthz(State(state): State<AppState>) -> Response {
    let db = state.app.db.read().await.is_ok();
    let loc = state.app.locator();
    let body = serde_json::json!({
        "status": if db { "ok" } else { "degraded" },
        "database": state.app.db.backend.name(),
        "grids_indexed": loc.grid_count(),
        "territory_version": loc.version,
    });
    let code = if db { axum::http::StatusCode::OK } else { axum::http::StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body)).into_response()
}

async fn metrics_page(State(state): State<AppState>, source: extract::Source) -> Response {
    if let Some(allow) = &state.app.settings.metrics_allow {
        if !source.0.parse::<std::net::IpAddr>().is_ok_and(|a| allow.contains(&a)) {
            return error::ApiError(wuzhi_app::AppError::not_found("route")).into_response();
        }
    }
    let loc = state.app.locator();
    metrics::gauge!("wuzhi_grids_indexed").set(loc.grid_count() as f64);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// The web pages, built from `ui/` by `build.rs` and embedded.
const INDEX_HTML: &str = include_str!(concat!(env!("OUT_DIR"), "/index.html"));
const APP_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/app.js"));
const APP_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/app.css"));
const APP_JS_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/app.js.gz"));
const APP_CSS_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/app.css.gz"));
const SERVICE_WORKER: &str = include_str!(concat!(env!("OUT_DIR"), "/sw.js"));

/// The service worker that keeps the pages for use without a network (grid work), served at
/// the root so it may serve the page itself; never cached, so a release is seen at once.
async fn service_worker() -> Response {
    use axum::http::header;
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], SERVICE_WORKER)
        .into_response()
}

async fn home(State(state): State<AppState>) -> Response {
    // A configured tile source rides on the page as a data attribute.
    let page = match &state.app.settings.map_tiles {
        Some(url) => {
            let escaped = url.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
            INDEX_HTML.replace("<div id=\"app\"></div>", &format!("<div id=\"app\" data-tiles=\"{escaped}\"></div>"))
        }
        None => INDEX_HTML.to_owned(),
    };
    let csp = content_security_policy(state.app.settings.map_tiles.as_deref());
    // The page itself is never cached, so a new release's script is picked up at once.
    (
        [
            (axum::http::header::CACHE_CONTROL, "no-cache".to_owned()),
            (axum::http::header::CONTENT_SECURITY_POLICY, csp),
        ],
        Html(page),
    )
        .into_response()
}

async fn ui_asset(axum::extract::Path(file): axum::extract::Path<String>, headers: axum::http::HeaderMap) -> Response {
    use axum::http::header;
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let (ct, body, gz) = match file.as_str() {
        "app.js" => ("text/javascript; charset=utf-8", APP_JS, APP_JS_GZ),
        "app.css" => ("text/css; charset=utf-8", APP_CSS, APP_CSS_GZ),
        _ => {
            return (
                axum::http::StatusCode::NOT_FOUND,
                Json(serde_json::json!({"error": {"code": "not_found", "message": "not found"}})),
            )
                .into_response();
        }
    };
    let cached = [(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "no-cache"), (header::VARY, "accept-encoding")];
    if gzip {
        return (cached, [(header::CONTENT_ENCODING, "gzip")], gz).into_response();
    }
    (cached, body).into_response()
}

/// The OpenAPI document and the API's routes, from the routes each module declares once
/// (`api::<module>::routes`).
fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let parts = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::kernel::routes())
        .merge(api::cases::routes())
        .merge(api::kpi::routes())
        .merge(api::text::routes())
        .merge(api::open311::routes())
        .merge(api::archives::routes())
        .merge(api::gridwork::routes())
        .merge(api::warnings::routes())
        .merge(api::virtue::routes())
        .split_for_parts();
    let (router, mut doc) = parts;
    doc::complete(&mut doc);
    (router, doc)
}

/// The OpenAPI document (what `/api/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().1
}

pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes();
    let api = api
        .route("/open311/{file}", get(open311::discovery))
        .route("/open311/v2/{file}", get(open311::get_collection).post(open311::post_collection))
        .route("/open311/v2/services/{file}", get(open311::get_service))
        .route("/open311/v2/requests/{file}", get(open311::get_request))
        .route("/open311/v2/tokens/{file}", get(open311::get_token))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_page))
        .route("/", get(home))
        .route("/ui/{file}", get(ui_asset))
        .route("/sw.js", get(service_worker))
        .fallback(|| async { error::ApiError(wuzhi_app::AppError::not_found("route")) });
    Router::new()
        .merge(if state.app.settings.api_docs {
            Router::new().merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        } else {
            Router::new()
        })
        .merge(api)
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), security_headers))
        .layer(middleware::from_fn(track_metrics))
        .layer(TraceLayer::new_for_http())
        // Most routes take small bodies; the routes that take files raise it for themselves
        // (`api::large`, the inner limit wins).
        .layer(axum::extract::DefaultBodyLimit::max(api::SMALL_BODY))
        .with_state(state)
}

/// A background worker: `pass` every `secs` seconds in a loop of its own, its failures
/// logged (a pass that overruns delays the next one rather than piling up).
fn every<F, Fut>(secs: u64, name: &'static str, app: &Arc<App>, pass: F) -> tokio::task::JoinHandle<()>
where
    F: Fn(Arc<App>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), wuzhi_app::AppError>> + Send + 'static,
{
    let app = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = pass(app.clone()).await {
                tracing::warn!(error = %e, worker = name, "background pass failed");
            }
        }
    })
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    background: bool,
}

impl Application {
    /// Binds the listener (port 0 picks a free port).
    pub async fn build(app: Arc<App>, listen: SocketAddr, secure_cookies: bool) -> std::io::Result<Application> {
        let listener = TcpListener::bind(listen).await?;
        Ok(Application {
            listener,
            state: AppState { app, secure_cookies, metrics: metrics_handle() },
            background: true,
        })
    }

    /// Serve without the background workers (tests step them with `run_once` instead).
    pub fn without_background_workers(mut self) -> Self {
        self.background = false;
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound")
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight. Each
    /// background worker runs in a loop of its own, so a slow one (a webhook receiver that
    /// times out, a search rebuild) holds up none of the others: the outbox and live updates
    /// every second, webhooks every two, the grid index's freshness every five, the deadline
    /// sweep every minute, retention every hour, this server's search index every second.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let app = self.state.app.clone();
        let worker = format!("{}-{}", std::process::id(), wuzhi_app::auth::random_token().get(..8).unwrap_or("0"));
        let mut workers: Vec<tokio::task::JoinHandle<()>> = Vec::new();
        if self.background {
            let w = worker.clone();
            workers.push(every(1, "outbox", &app, move |a| {
                let w = w.clone();
                async move { wuzhi_app::notify::run_once(&a, &w).await.map(drop) }
            }));
            workers.push(every(1, "live", &app, |a| async move { wuzhi_app::live::poll_once(&a).await.map(drop) }));
            let (w, client) = (worker.clone(), reqwest::Client::new());
            workers.push(every(2, "webhooks", &app, move |a| {
                let (w, c) = (w.clone(), client.clone());
                async move { wuzhi_app::webhooks::run_once(&a, &w, &c).await.map(drop) }
            }));
            // Long work (training the classifier), one job at a time on each server.
            let w = worker.clone();
            workers.push(every(1, "jobs", &app, move |a| {
                let w = w.clone();
                async move { wuzhi_app::jobs::run_once(&a, &w).await.map(drop) }
            }));
            workers.push(every(5, "grid index", &app, |a| async move { a.refresh_index_if_stale().await.map(drop) }));
            workers.push(every(60, "sweep", &app, |a| async move {
                let o = wuzhi_app::sweep::run_once(&a).await?;
                if o.marked_overdue + o.escalated + o.warned > 0 {
                    tracing::info!(?o, "deadline sweep");
                }
                Ok(())
            }));
            // The points ledger: pending transfers whose period ended are posted, expired
            // points go back to their fund.
            workers.push(every(60, "points", &app, |a| async move {
                let o = wuzhi_app::virtue::settle_once(&a).await?;
                if o.posted + o.expired > 0 {
                    tracing::info!(?o, "points settled");
                }
                Ok(())
            }));
            workers.push(every(3600, "retention", &app, |a| async move {
                let o = wuzhi_app::retention::run_once(&a).await?;
                tracing::info!(?o, "retention pass");
                // The archives' own retention: people long moved out are anonymised (ids only
                // in the log; the audit chain records the pass).
                // Grid work: patrols left running are ended, tracks past their keeping deleted.
                let g = wuzhi_app::gridwork::keep_once(&a).await?;
                if g.patrols_ended + g.tracks_deleted > 0 {
                    tracing::info!(?g, "grid work keeping");
                }
                let r = wuzhi_app::archives::keep::retention_once(&a).await?;
                if !(r.anonymised.is_empty() && r.special_erased.is_empty()) {
                    tracing::info!(
                        anonymised = r.anonymised.len(),
                        special_erased = r.special_erased.len(),
                        "archives retention"
                    );
                }
                Ok(())
            }));
            // The risk warnings' detectors (one server holds them; the others wait their
            // turn) and the daily digest.
            let w = worker.clone();
            workers.push(every(1, "warnings", &app, move |a| {
                let w = w.clone();
                async move {
                    wuzhi_app::warnings::run_once(&a, &w).await?;
                    wuzhi_app::warnings::digest_once(&a).await.map(drop)
                }
            }));
            // Search indexing: a rebuild takes minutes and holds up nothing else.
            workers.push(every(1, "search", &app, |a| async move {
                wuzhi_app::text::search::index_once(&a).await.map(drop)
            }));
        }
        let router = router(self.state);
        // Each request knows its peer's address (sign-in attempts are counted by source).
        let res = axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        for w in workers {
            w.abort();
        }
        res
    }
}
