//! Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the use cases behind
//! `/open311/v2/`. Services are the leaf categories with their attributes; a request is a
//! case, posted through the same intake path as every other channel; reads are public and
//! carry no personal data (reporter fields are never returned, numbers in texts are masked).
//! Integrating systems hold API keys, each with a rate limit shared by all app servers.

use crate::audit::record;
use crate::cases::{Channel, NewCase, report_checked};
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use wuzhi_domain::calendar::{format_local, parse_datetime};
use wuzhi_domain::cases::{Command as DomainCommand, Status, public};
use wuzhi_domain::work::{Caller, System};
use wuzhi_domain::{Actor, text};
use wuzhi_geo::ImportError;
use wuzhi_store::cases::CaseRow;
use wuzhi_store::open311::{AttributeRow, KeyRow, RequestFilter};

pub const DEFAULT_ATTRIBUTES: &str = include_str!("../../../../data/categories/attributes.csv");
const DATATYPES: [&str; 6] = ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"];
/// GeoReport's defaults for `GET requests` without a period or a page size.
pub const DEFAULT_DAYS: i64 = 90;
pub const MAX_REQUESTS: i64 = 1000;
pub const DEFAULT_RATE_PER_MINUTE: i64 = 600;

mod keys;
mod posting;
mod reading;
mod services;
mod updates;

pub use keys::*;
pub use posting::*;
pub use reading::*;
pub use services::*;
pub use updates::*;
