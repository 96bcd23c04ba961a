//! The rules of the service, free of HTTP and SQL.

pub mod city;
pub mod content;
pub mod credentials;
pub mod delivery;
pub mod demand;
pub mod error;
pub mod geo;
pub mod hours;
pub mod identity;
pub mod named_enum;
pub mod notify;
pub mod photo;
pub mod photo_url;
pub mod place_files;
pub mod places;
pub mod points;
pub mod report;
pub mod rewards;
pub mod routing;
pub mod sla;
pub mod throttle;
pub mod time;
pub mod webhooks;
pub mod wechat_push;

pub use error::{DomainError, DomainResult};
