//! wuzhi's pure core: the value types that can only be built valid, the roles and the one
//! permission rule, personal-data masking and the audit hash chain.
//!
//! Nothing here does I/O, reads the clock or knows about HTTP or SQL: every function takes its
//! inputs (including `now`) as parameters, so the rules are tested in microseconds.

pub mod archives;
pub mod audit;
pub mod calendar;
pub mod cases;
pub mod classes;
pub mod error;
pub mod gridwork;
pub mod kpi;
pub mod mask;
pub mod org;
pub mod permission;
pub mod territory;
pub mod text;
pub mod virtue;
pub mod warnings;
pub mod work;

pub use error::Invalid;
pub use org::OrgKind;
pub use permission::{Action, Actor, Denied, Grant, Role, Target};
pub use territory::{Level, TerritoryCode};
