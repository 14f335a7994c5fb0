//! Extractors: the signed-in actor (session cookie with CSRF check, or API token), and JSON
//! bodies and query strings whose rejections become our JSON errors naming the field.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{Method, request::Parts};
use serde::de::DeserializeOwned;
use wuzhi_app::AppError;
use wuzhi_domain::Actor;

pub const SESSION_COOKIE: &str = "wuzhi_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The person making the request.
pub struct Authed {
    pub actor: Actor,
    /// The session token when signed in through the browser (not an API token).
    pub session: Option<String>,
    /// The API token when signed in with one.
    pub bearer: Option<String>,
}

impl Authed {
    /// The person behind the same credential now: their posts as they are, or `None` once the
    /// session has ended, the token was revoked or the account disabled.
    pub async fn again(&self, app: &wuzhi_app::App) -> Result<Option<wuzhi_domain::Actor>, AppError> {
        if let Some(token) = &self.bearer {
            return match wuzhi_app::auth::token_person(app, token).await? {
                Some(person) => Ok(Some(app.actor(person).await?)),
                None => Ok(None),
            };
        }
        match &self.session {
            Some(token) => Ok(wuzhi_app::auth::session_actor(app, token).await?.map(|(actor, _)| actor)),
            None => Ok(None),
        }
    }
}

pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let app = &state.app;
        if let Some(auth) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).ok_or(AppError::Unauthenticated)?;
            let person = wuzhi_app::auth::token_person(app, token.trim()).await?.ok_or(AppError::Unauthenticated)?;
            let bearer = Some(token.trim().to_owned());
            return Ok(Authed { actor: app.actor(person).await?, session: None, bearer });
        }
        let token = cookie(parts, SESSION_COOKIE).ok_or(AppError::Unauthenticated)?.to_owned();
        let (actor, csrf) = wuzhi_app::auth::session_actor(app, &token).await?.ok_or(AppError::Unauthenticated)?;
        // A cookie is sent by the browser on its own; a state change must also prove it came
        // from our page by echoing the session's CSRF token.
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
                return Err(AppError::Csrf.into());
            }
        }
        Ok(Authed { actor, session: Some(token), bearer: None })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Splits axum's rejection text into the field and the reason. After axum's own prefix
/// ("Failed to deserialize …: "), serde either starts with the field's path
/// ("lon: invalid float literal") or names it in backticks ("missing field `name`").
fn field_and_reason(msg: &str) -> (String, String) {
    let rest = msg.split_once(": ").map(|(_, r)| r).unwrap_or(msg);
    if let Some((path, reason)) = rest.split_once(": ") {
        if !path.is_empty() && path.chars().all(|c| c.is_alphanumeric() || "_.[]".contains(c)) {
            return (path.to_owned(), reason.to_owned());
        }
    }
    if rest.starts_with("missing field") || rest.starts_with("unknown field") {
        if let Some(f) = rest.split('`').nth(1) {
            return (f.to_owned(), rest.to_owned());
        }
    }
    ("body".to_owned(), rest.to_owned())
}

/// A JSON body whose errors name the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = axum::response::Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            // A body over the route's limit is 413 (in our shape, by `json_errors`), not a
            // field's fault.
            Err(rej) if rej.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(rej.into_response()),
            Err(rej) => {
                let (field, reason) = field_and_reason(&rej.body_text());
                Err(ApiError::from(AppError::invalid(field, reason)).into_response())
            }
        }
    }
}

/// A query string whose errors name the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rej) => {
                let (field, reason) = field_and_reason(&rej.body_text());
                Err(AppError::invalid(field, reason).into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::field_and_reason;

    #[test]
    fn rejection_texts_name_their_field() {
        let check = |msg: &str, field: &str| assert_eq!(field_and_reason(msg).0, field, "{msg}");
        check("Failed to deserialize query string: lon: invalid float literal", "lon");
        check(
            "Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 9",
            "name",
        );
        check(
            "Failed to deserialize the JSON body into the target type: name: invalid type: integer `5`, expected a string at line 1 column 9",
            "name",
        );
        check("Failed to parse the request body as JSON: key must be a string at line 1 column 2", "body");
    }
}

/// The client's address: the connection's peer, or — when the peer is one of the configured
/// proxies (`Settings::trusted_proxies`) — the rightmost address of `X-Forwarded-For` that is
/// not itself one of them. From anyone else the header is ignored, so nobody chooses the
/// address their sign-in attempts are counted under.
pub struct Source(pub String);

impl FromRequestParts<AppState> for Source {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| ApiError(AppError::Internal("the connection's address is unknown".into())))?;
        let trusted = &state.app.settings.trusted_proxies;
        if !trusted.contains(&peer) {
            return Ok(Source(peer.to_string()));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
            .collect::<Vec<_>>();
        let client = forwarded.into_iter().rev().find(|a| !trusted.contains(a)).unwrap_or(peer);
        Ok(Source(client.to_string()))
    }
}
