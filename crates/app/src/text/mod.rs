//! Chinese text intelligence (the `text` module): the classifier that files and dispatches
//! (`classify`), full-text search of what each person may read (`search`), and near
//! duplicates and hot topics (`similar`). It follows the cases' topics on the outbox and calls
//! the case hub's public use cases; the algorithms themselves are in the `wuzhi-text` crate.

pub mod classify;
pub mod search;
pub mod similar;

/// The active classifier (cached by version), for the modules that file by it.
pub use classify::active as classifier;
