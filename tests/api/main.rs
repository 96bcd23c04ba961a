//! Integration tests: one binary, one module per area, all through real HTTP on loopback.

mod admin;
mod auth;
mod cli;
mod console;
mod content_check;
mod contract;
mod demand;
mod errors;
mod helpers;
mod hostile;
mod media;
mod nearby_paths;
mod notifications;
mod open311;
mod places;
mod points;
mod privacy;
mod races;
mod reports;
mod rewards;
mod service;
mod statements;
mod webhooks;
mod wire;
