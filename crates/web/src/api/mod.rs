//! JSON API handlers, one file per module (`kernel`, `cases`, `kpi`, `open311`, `text`). Each
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

pub(super) fn crs(s: Option<&str>) -> Result<Crs, AppError> {
    Ok(s.map(Crs::parse).transpose()?.unwrap_or(Crs::Wgs84))
}

mod cases;
mod kernel;
mod kpi;
mod open311;
mod text;

pub use cases::*;
pub use kernel::*;
pub use kpi::*;
pub use open311::*;
pub use text::*;
