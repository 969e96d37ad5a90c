//! GETs of the issuer's discovery document and JWKS: HTTPS (rustls with the system's
//! roots), plain HTTP only to a loopback address (tests, a local issuer), a size cap,
//! a timeout, no redirects.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::OnceCell;

use super::OidcError;

/// Largest JWKS or discovery document read (issuers publish a few keys).
pub const MAX_DOCUMENT: usize = 256 * 1024;

const TIMEOUT: Duration = Duration::from_secs(10);

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Fetches small JSON documents from the issuer.
#[derive(Default)]
pub struct Fetcher {
    /// Built on first use: loading the system's roots can fail, and a loopback issuer
    /// never needs them.
    https: OnceCell<Client<Https, Empty<Bytes>>>,
    /// Loopback `http` only.
    plain: OnceCell<Client<HttpConnector, Empty<Bytes>>>,
}

/// Whether `url` may be fetched: `https`, or `http` to a loopback host.
pub fn check_url(url: &str) -> Result<url::Url, OidcError> {
    let u = url::Url::parse(url).map_err(|e| OidcError::Config(format!("{url:?}: {e}")))?;
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err(OidcError::Config(format!(
            "{url:?}: the issuer and its jwks_uri must be https (http only on loopback)"
        ))),
    }
}

impl Fetcher {
    async fn https(&self) -> Result<&Client<Https, Empty<Bytes>>, OidcError> {
        self.https
            .get_or_try_init(|| async {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(provider)
                    .map_err(|e| OidcError::Jwks(format!("TLS roots: {e}")))?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(Client::builder(TokioExecutor::new()).build(connector))
            })
            .await
    }

    /// The body of a 200 answer to `GET url`, at most [`MAX_DOCUMENT`] bytes.
    pub async fn get(&self, url: &str) -> Result<Bytes, OidcError> {
        let u = check_url(url)?;
        let uri: http::Uri = u
            .as_str()
            .parse()
            .map_err(|e| OidcError::Config(format!("{url:?}: {e}")))?;
        let req = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| OidcError::Jwks(e.to_string()))?;
        let fetch = async {
            let resp = if u.scheme() == "https" {
                self.https().await?.request(req).await
            } else {
                let plain = self
                    .plain
                    .get_or_init(|| async {
                        Client::builder(TokioExecutor::new()).build(HttpConnector::new())
                    })
                    .await;
                plain.request(req).await
            };
            let resp = resp.map_err(|e| OidcError::Jwks(format!("GET {url}: {e}")))?;
            if resp.status() != http::StatusCode::OK {
                return Err(OidcError::Jwks(format!("GET {url}: {}", resp.status())));
            }
            // A JSON document parsed whole, capped at MAX_DOCUMENT (256 KiB).
            #[allow(clippy::disallowed_methods)]
            let body = Limited::new(resp.into_body(), MAX_DOCUMENT)
                .collect()
                .await
                .map_err(|e| OidcError::Jwks(format!("GET {url}: {e}")))?;
            Ok(body.to_bytes())
        };
        tokio::time::timeout(TIMEOUT, fetch)
            .await
            .map_err(|_| OidcError::Jwks(format!("GET {url}: timed out")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_http_only() {
        assert!(check_url("https://issuer.example.com").is_ok());
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("http://[::1]:8080/x").is_ok());
        assert!(check_url("http://localhost/x").is_ok());
        assert!(check_url("http://issuer.example.com").is_err());
        assert!(check_url("http://10.0.0.1").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("not a url").is_err());
    }
}
