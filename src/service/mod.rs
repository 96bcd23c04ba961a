//! Use cases that join the domain's rules to the store: what the API, the CLI and the demo
//! seeding share.

pub mod content;
pub mod demand;
pub mod media;
pub mod notify;
pub mod open311;
pub mod places;
pub mod points;
pub mod privacy;
pub mod reports;
pub mod rewards;
pub mod sessions;
pub mod staff;
pub mod triage;
pub mod units;
pub mod webhooks;
