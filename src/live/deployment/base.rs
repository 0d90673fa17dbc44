//! A deployment's base address, `http://host:port` or `https://host:port`, resolved once,
//! with how to trust its certificate.

use std::net::SocketAddr;
use std::sync::Arc;

/// How to trust an `https://` deployment's certificate.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// PEM certificates to trust besides the system's (`--ca-file`): a staging CA.
    pub ca_pem: Option<Arc<Vec<u8>>>,
    /// Accept any certificate, unverified (`--accept-invalid-certificate`): a self-signed
    /// staging certificate, never production.
    pub accept_invalid: bool,
}

/// A deployment's base address.
#[derive(Clone, Debug)]
pub struct Base {
    /// `http://host:port` or `https://host:port`.
    pub url: String,
    pub host: String,
    pub addr: SocketAddr,
    /// `Some` for `https://`.
    pub tls: Option<Tls>,
}

impl Base {
    pub(crate) fn parse(url: &str, tls: &Tls) -> Result<Base, String> {
        let (scheme, rest) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => ("http", rest),
            (_, Some(rest)) => ("https", rest),
            // A bare host:port: say what to write.
            _ if !url.contains("://") => return Err(format!("--target {url:?}: add http:// or https:// (http://{url})")),
            _ => return Err(format!("--target {url:?}: only http:// and https:// targets are supported")),
        };
        let hostport = rest.trim_end_matches('/');
        if hostport.contains('/') {
            return Err(format!("--target {url:?}: give the base address only ({scheme}://host:port); paths come from the contract"));
        }
        // Without a port, the scheme's.
        let with_port = match hostport.rsplit_once(':') {
            Some((_, p)) if p.chars().all(|c| c.is_ascii_digit()) && !hostport.ends_with(']') => hostport.to_string(),
            _ => format!("{hostport}:{}", if scheme == "https" { 443 } else { 80 }),
        };
        use std::net::ToSocketAddrs;
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| format!("--target {url:?}: cannot resolve {hostport}: {e}"))?
            .next()
            .ok_or_else(|| format!("--target {url:?}: {hostport} resolves to no address"))?;
        let tls = (scheme == "https").then(|| tls.clone());
        Ok(Base { url: format!("{scheme}://{hostport}"), host: hostport.to_string(), addr, tls })
    }
}
