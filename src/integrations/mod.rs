//! Clients for outside HTTP services. Every base URL is configuration, so tests point them at
//! real fake servers on loopback.

pub mod webhooks;
pub mod wechat;

use std::time::Duration;

/// A reqwest client with our timeouts. TLS uses rustls with the `ring` provider, installed here
/// once per process (ring builds faster and smaller than the default aws-lc).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    // Err only means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build()
}
