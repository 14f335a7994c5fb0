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
            return Ok(Authed { actor: app.actor(person).await?, session: None });
        }
        let token = cookie(parts, SESSION_COOKIE).ok_or(AppError::Unauthenticated)?.to_owned();
        let (person, csrf) = wuzhi_app::auth::session(app, &token).await?.ok_or(AppError::Unauthenticated)?;
        // A cookie is sent by the browser on its own; a state change must also prove it came
        // from our page by echoing the session's CSRF token.
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
                return Err(AppError::Csrf.into());
            }
        }
        Ok(Authed { actor: app.actor(person).await?, session: Some(token) })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// serde's messages name the field in backticks: "missing field `name`".
fn field_of(msg: &str) -> String {
    msg.split('`').nth(1).unwrap_or("body").to_owned()
}

/// A JSON body whose errors name the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let msg = rej.body_text();
                let reason = msg.split_once(": ").map(|(_, r)| r.to_owned()).unwrap_or(msg.clone());
                Err(AppError::Invalid { field: field_of(&msg), reason }.into())
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
                let msg = rej.body_text();
                let reason = msg.split_once(": ").map(|(_, r)| r.to_owned()).unwrap_or(msg.clone());
                Err(AppError::Invalid { field: field_of(&msg), reason }.into())
            }
        }
    }
}
