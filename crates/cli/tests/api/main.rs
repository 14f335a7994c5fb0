//! Black-box tests of the wuzhi server over HTTP and of the `wuzhi` command line, on SQLite
//! by default and on PostgreSQL when `WUZHI_TEST_DATABASE_URL` is set.

mod helpers;

mod archives;
mod audit;
mod auth;
mod backup;
mod campaigns;
mod cases;
mod core;
mod durability;
mod gridwork;
mod hardening;
mod live;
mod multiserver;
mod open311;
mod permissions;
mod platform;
mod rollups;
mod second_factor;
mod territories;
mod text;
mod ui;
mod virtue;
mod volunteers;
mod warnings;
