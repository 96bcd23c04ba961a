//! The rules of the service, free of HTTP and SQL.

pub mod credentials;
pub mod error;
pub mod geo;
pub mod identity;
pub mod report;
pub mod routing;
pub mod sla;
pub mod time;

pub use error::{DomainError, DomainResult};
