//! JSON API handlers, one file per module (`kernel`, `cases`, `kpi`, `open311`, `text`,
//! `archives`, `gridwork`). Each
//! handler extracts the caller and its input, calls one use case, and shapes the answer;
//! none holds a rule of its own.

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
use utoipa_axum::{router::OpenApiRouter, routes};
use wuzhi_app::audit::EntryView;
use wuzhi_app::auth::{NewToken, SignedIn, TokenView};
use wuzhi_app::locate::Located;
use wuzhi_app::org::{NewOrg, OrgView};
use wuzhi_app::people::{AccountPatch, MembershipView, NewMembership, NewPerson, PersonPatch, PersonView};
use wuzhi_app::second_factor::{self, Challenge, SecondFactorState};
use wuzhi_app::territory::{Format, ImportReport, ListQuery, Page, TerritoryView};
use wuzhi_app::{AppError, auth, org, people, territory};
use wuzhi_domain::work::Caller;
use wuzhi_domain::{Grant, Level, TerritoryCode};
use wuzhi_geo::Crs;

/// How many rows an import took (shared by the modules' imports).
#[derive(serde::Serialize, ToSchema)]
pub struct Imported {
    pub imported: usize,
}

/// `?reveal=true` on reads of personal data (shared by people and cases).
#[derive(Deserialize, IntoParams)]
pub struct RevealParams {
    /// Show personal data in full (roles that need it only; audited).
    pub reveal: Option<bool>,
}

/// The largest body most routes take: a case, a step, a form.
pub const SMALL_BODY: usize = 1024 * 1024;
/// The largest body of the routes that take files: imports (a city's territories as GeoJSON,
/// a history of cases) and attachments.
pub const LARGE_BODY: usize = 64 * 1024 * 1024;

/// Routes that take files: their bodies may reach [`LARGE_BODY`] (every other route takes at
/// most [`SMALL_BODY`]).
pub(super) fn large(routes: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    routes.layer(axum::extract::DefaultBodyLimit::max(LARGE_BODY))
}

pub(super) fn crs(s: Option<&str>) -> Result<Crs, AppError> {
    Ok(s.map(Crs::parse).transpose()?.unwrap_or(Crs::Wgs84))
}

pub mod archives;
pub mod cases;
pub mod gridwork;
pub mod kernel;
pub mod kpi;
pub mod open311;
pub mod text;
pub mod virtue;
pub mod warnings;
