//! The geography engine: coordinate systems (GCJ-02 ↔ WGS84), territory import and
//! validation (division-code CSV and GeoJSON), the demo city's derived polygons, and the
//! in-memory grid index. Pure computation: no database, no HTTP.

pub mod demo;
pub mod gcj;
pub mod index;
pub mod partition;
mod prepared;
pub mod territory;

pub use index::GridIndex;
pub use territory::{Batch, Crs, ImportError, Record};
