//! Integration tests: one binary, one module per area, all through real HTTP on loopback.

mod auth;
mod errors;
mod helpers;
mod open311;
mod reports;
mod service;
