//! Open311 GeoReport v2 at `/open311/v2/` and its discovery document, in JSON and XML
//! exactly as the specification writes them: list-shaped answers, `[{code, description}]`
//! errors (`<errors><error>…` in XML), form-encoded posts with an `api_key`.

use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use wuzhi_app::AppError;
use wuzhi_app::open311 as o;

#[derive(Clone, Copy, PartialEq)]
pub enum Format {
    Json,
    Xml,
}

/// Splits `services.json` into (`services`, JSON).
fn split_format(file: &str) -> Result<(&str, Format), Reply> {
    let (name, ext) = file.rsplit_once('.').ok_or_else(|| {
        Reply::error(Format::Json, StatusCode::NOT_FOUND, format!("`{file}` names no format: add .json or .xml"))
    })?;
    match ext {
        "json" => Ok((name, Format::Json)),
        "xml" => Ok((name, Format::Xml)),
        other => Err(Reply::error(
            Format::Json,
            StatusCode::NOT_FOUND,
            format!("`{other}` is not a format here: use .json or .xml"),
        )),
    }
}

/// An Open311 answer: a status, a format and a body.
pub struct Reply {
    status: StatusCode,
    format: Format,
    body: String,
}

impl Reply {
    fn ok(format: Format, status: StatusCode, root: &str, item: &str, items: Value) -> Reply {
        let body = match format {
            Format::Json => items.to_string(),
            Format::Xml => xml_document(root, item, &items),
        };
        Reply { status, format, body }
    }

    fn object(format: Format, root: &str, v: Value) -> Reply {
        let body = match format {
            Format::Json => v.to_string(),
            Format::Xml => {
                let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
                element(&mut s, root, &v);
                s
            }
        };
        Reply { status: StatusCode::OK, format, body }
    }

    fn error(format: Format, status: StatusCode, description: String) -> Reply {
        let items = json!([{"code": status.as_u16(), "description": description}]);
        Reply::ok(format, status, "errors", "error", items).with_status(status)
    }

    fn with_status(mut self, status: StatusCode) -> Reply {
        self.status = status;
        self
    }

    fn from_app(format: Format, e: AppError) -> Reply {
        let status = match &e {
            AppError::Invalid { .. } | AppError::Conflict { .. } | AppError::Import(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::BadKey { .. } | AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(detail) => {
                tracing::error!(%detail, "open311 request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        Reply::error(format, status, e.to_string())
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let ct = match self.format {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        };
        (self.status, [(header::CONTENT_TYPE, ct)], self.body).into_response()
    }
}

// ---------------------------------------------------------------- XML

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// The element name of one member of a list element.
fn singular(list: &str) -> &str {
    match list {
        "attributes" => "attribute",
        "values" => "value",
        "notes" => "note",
        "photos" => "photo",
        "endpoints" => "endpoint",
        "formats" => "format",
        "hazards" => "value",
        _ => "value",
    }
}

fn element(out: &mut String, name: &str, v: &Value) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => escape(s, out),
        Value::Array(items) => {
            for it in items {
                element(out, singular(name), it);
            }
        }
        Value::Object(map) => {
            for (k, x) in map {
                element(out, k, x);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn xml_document(root: &str, item: &str, items: &Value) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><");
    s.push_str(root);
    s.push('>');
    for it in items.as_array().into_iter().flatten() {
        element(&mut s, item, it);
    }
    s.push_str("</");
    s.push_str(root);
    s.push('>');
    s
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------- parameters

/// Query or form pairs; an empty value counts as absent (the specification says so).
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(format: Format, raw: &[u8]) -> Result<Params, Reply> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw).map(Params).map_err(|e| {
            Reply::error(format, StatusCode::BAD_REQUEST, format!("the parameters are not form-encoded: {e}"))
        })
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.iter().rev().find(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.clone())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.clone()).collect()
    }

    /// `attribute[CODE]` and `attribute[CODE][]` pairs as (CODE, value).
    fn attributes(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let code = k.strip_prefix("attribute[")?;
                let code = code.strip_suffix("][]").or_else(|| code.strip_suffix(']'))?;
                Some((code.to_owned(), v.clone()))
            })
            .collect()
    }

    /// When the server is configured for one jurisdiction, another one is refused.
    fn check_jurisdiction(&self, state: &AppState, format: Format) -> Result<(), Reply> {
        match (&state.app.settings.open311_jurisdiction, self.get("jurisdiction_id")) {
            (Some(mine), Some(asked)) if *mine != asked => Err(Reply::error(
                format,
                StatusCode::NOT_FOUND,
                format!("jurisdiction_id: `{asked}` is not served here (this endpoint serves `{mine}`)"),
            )),
            _ => Ok(()),
        }
    }
}

fn query_params(format: Format, raw: Option<String>) -> Result<Params, Reply> {
    Params::parse(format, raw.unwrap_or_default().as_bytes())
}

fn flag(p: &Params, name: &str) -> bool {
    p.get(name).is_some_and(|v| matches!(v.trim(), "true" | "1" | "yes"))
}

// ---------------------------------------------------------------- handlers

/// `/open311/discovery.{json,xml}`.
pub async fn discovery(headers: HeaderMap, Path(file): Path<String>) -> Reply {
    let format = match split_format(&file) {
        Ok(("discovery", f)) => f,
        Ok(_) => return Reply::error(Format::Json, StatusCode::NOT_FOUND, format!("`{file}` is not here")),
        Err(r) => return r,
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    let doc = json!({
        "changeset": "2026-11-27T00:00:00+08:00",
        "contact": "12345 政务服务便民热线 / the city's platform administrators",
        "key_service": format!("{scheme}://{host}/ (an administrator issues keys: wuzhi open311 key create --name NAME)"),
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": format!("{scheme}://{host}/open311/v2"),
            "changeset": "2026-11-27T00:00:00+08:00",
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }],
    });
    Reply::object(format, "discovery", doc)
}

/// `GET /open311/v2/{services,requests,servicerequestupdates}.{fmt}`.
pub async fn get_collection(State(state): State<AppState>, Path(file): Path<String>, RawQuery(q): RawQuery) -> Reply {
    let (name, format, p) = match prelude(&state, &file, q) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let app = &state.app;
    let result = match name {
        "services" => {
            o::services(app).await.map(|s| Reply::ok(format, StatusCode::OK, "services", "service", to_value(&s)))
        }
        "requests" => {
            let q = o::Query {
                ids: p.all("service_request_id"),
                service_codes: p.all("service_code"),
                statuses: p.all("status"),
                start_date: p.get("start_date"),
                end_date: p.get("end_date"),
                page: p.get("page"),
                page_size: p.get("page_size"),
                extensions: flag(&p, "extensions"),
            };
            o::requests(app, &q)
                .await
                .map(|r| Reply::ok(format, StatusCode::OK, "service_requests", "request", to_value(&r)))
        }
        "servicerequestupdates" => o::updates(app, p.get("start_date").as_deref(), p.get("end_date").as_deref())
            .await
            .map(|u| Reply::ok(format, StatusCode::OK, "service_request_updates", "request_update", to_value(&u))),
        other => Err(AppError::not_found(format!("`{other}`"))),
    };
    result.unwrap_or_else(|e| Reply::from_app(format, e))
}

/// `POST /open311/v2/{requests,servicerequestupdates}.{fmt}` (form-encoded, with `api_key`).
pub async fn post_collection(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let (name, format) = match split_format(&file) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !matches!(name, "requests" | "servicerequestupdates") {
        return Reply::error(format, StatusCode::METHOD_NOT_ALLOWED, format!("`{name}` takes no POST"));
    }
    // The form, with any parameters of the query string (some clients put api_key there).
    let mut p = match Params::parse(format, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match query_params(format, q) {
        Ok(extra) => p.0.extend(extra.0),
        Err(r) => return r,
    }
    if let Err(r) = p.check_jurisdiction(&state, format) {
        return r;
    }
    let app = &state.app;
    let key = match o::use_key(app, p.get("api_key").as_deref()).await {
        Ok(k) => k,
        Err(e) => return Reply::from_app(format, e),
    };
    if name == "servicerequestupdates" {
        let u = o::NewUpdate {
            service_request_id: p.get("service_request_id"),
            update_id: p.get("update_id"),
            status: p.get("status"),
            updated_datetime: p.get("updated_datetime"),
            description: p.get("description"),
            media_url: p.get("media_url"),
            first_name: p.get("first_name"),
            last_name: p.get("last_name"),
        };
        return match o::post_update(app, &key, u).await {
            Ok(id) => Reply::ok(
                format,
                StatusCode::OK,
                "service_request_updates",
                "request_update",
                json!([{"update_id": id}]),
            ),
            Err(e) => Reply::from_app(format, e),
        };
    }
    let r = o::NewRequest {
        service_code: p.get("service_code"),
        lat: p.get("lat"),
        long: p.get("long"),
        address_string: p.get("address_string"),
        address_id: p.get("address_id"),
        email: p.get("email"),
        device_id: p.get("device_id"),
        account_id: p.get("account_id"),
        first_name: p.get("first_name"),
        last_name: p.get("last_name"),
        phone: p.get("phone"),
        description: p.get("description"),
        media_url: p.get("media_url"),
        attributes: p.attributes(),
        idempotency_key: headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    match o::post_request(app, &key, r).await {
        Ok(posted) => Reply::ok(format, StatusCode::CREATED, "service_requests", "request", json!([to_value(&posted)])),
        Err(e) => Reply::from_app(format, e),
    }
}

/// What every `GET …/{name}.{fmt}` starts with: the name, the format and the checked
/// query parameters.
fn prelude<'a>(state: &AppState, file: &'a str, q: Option<String>) -> Result<(&'a str, Format, Params), Reply> {
    let (name, format) = split_format(file)?;
    let p = query_params(format, q)?;
    p.check_jurisdiction(state, format)?;
    Ok((name, format, p))
}

/// `GET /open311/v2/services/{code}.{fmt}`: a service definition.
pub async fn get_service(State(state): State<AppState>, Path(file): Path<String>, RawQuery(q): RawQuery) -> Reply {
    let (code, format, _) = match prelude(&state, &file, q) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match o::definition(&state.app, code).await {
        Ok(d) => Reply::object(format, "service_definition", to_value(&d)),
        Err(e) => Reply::from_app(format, e),
    }
}

/// `GET /open311/v2/requests/{id}.{fmt}`: one request, as a list of one.
pub async fn get_request(State(state): State<AppState>, Path(file): Path<String>, RawQuery(q): RawQuery) -> Reply {
    let (id, format, p) = match prelude(&state, &file, q) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match o::request(&state.app, id, flag(&p, "extensions")).await {
        Ok(r) => Reply::ok(format, StatusCode::OK, "service_requests", "request", json!([to_value(&r)])),
        Err(e) => Reply::from_app(format, e),
    }
}

/// `GET /open311/v2/tokens/{token}.{fmt}`: the request a token stands for.
pub async fn get_token(State(state): State<AppState>, Path(file): Path<String>, RawQuery(q): RawQuery) -> Reply {
    let (token, format, _) = match prelude(&state, &file, q) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match o::token(&state.app, token).await {
        Ok(id) => Reply::ok(
            format,
            StatusCode::OK,
            "service_requests",
            "request",
            json!([{"service_request_id": id, "token": token}]),
        ),
        Err(e) => Reply::from_app(format, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_nests_lists_under_singular_names_and_escapes_text() {
        let v = json!([{"service_code": "E0507", "attributes": [{"code": "hazards", "values": [{"key": "a&b", "name": "<x>"}]}]}]);
        let s = xml_document("service_definitions", "service_definition", &v);
        assert_eq!(
            s,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_definitions><service_definition>\
             <service_code>E0507</service_code><attributes><attribute><code>hazards</code><values><value>\
             <key>a&amp;b</key><name>&lt;x&gt;</name></value></values></attribute></attributes>\
             </service_definition></service_definitions>"
        );
    }

    #[test]
    fn attribute_parameters_are_read_in_both_shapes() {
        let p = Params::parse(
            Format::Json,
            b"attribute%5Bdepth%5D=12&attribute%5Bhazards%5D%5B%5D=a&attribute%5Bhazards%5D%5B%5D=b&x=1",
        )
        .ok()
        .unwrap();
        assert_eq!(
            p.attributes(),
            vec![("depth".into(), "12".into()), ("hazards".into(), "a".into()), ("hazards".into(), "b".into())]
        );
        assert_eq!(p.get("x").as_deref(), Some("1"));
        assert_eq!(Params::parse(Format::Json, b"a=&b=2").ok().unwrap().get("a"), None);
    }
}
