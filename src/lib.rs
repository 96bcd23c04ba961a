//! xinhuoban (新伙伴): the backend of a WeChat mini-program for delivery riders, couriers and
//! drivers. Read top-down: `config` → `state` (what a running service holds) → `app` (routes; `server` serves them) → `api` (HTTP) → `service` (use
//! cases) → `domain` (rules) and `store` (SQL); `integrations` talk to WeChat.

pub mod api;
pub mod app;
pub mod config;
pub mod console;
pub mod demo;
pub mod domain;
pub mod index;
pub mod integrations;
pub mod metrics;
pub mod outbox;
pub mod server;
pub mod service;
pub mod state;
pub mod store;
pub mod telemetry;
