//! The rules of the service, free of HTTP and SQL.

pub mod credentials;
pub mod delivery;
pub mod error;
pub mod geo;
pub mod identity;
pub mod notify;
pub mod photo;
pub mod throttle;
pub mod time;

pub use error::{DomainError, DomainResult};
