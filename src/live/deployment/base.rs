//! A deployment's base address, `http://host:port`, resolved once.

use std::net::SocketAddr;

/// An `http://host:port` base address.
#[derive(Clone, Debug)]
pub struct Base {
    pub url: String,
    pub host: String,
    pub addr: SocketAddr,
}

impl Base {
    pub(crate) fn parse(url: &str) -> Result<Base, String> {
        let rest = match url.strip_prefix("http://") {
            Some(rest) => rest,
            // A bare host:port: say what to write, not a word about TLS.
            None if !url.contains("://") => return Err(format!("--target {url:?}: add http:// (http://{url})")),
            None => return Err(format!("--target {url:?}: only http:// targets are supported (no TLS in this build)")),
        };
        let hostport = rest.trim_end_matches('/');
        if hostport.contains('/') {
            return Err(format!("--target {url:?}: give the base address only (http://host:port); paths come from the contract"));
        }
        use std::net::ToSocketAddrs;
        let addr = hostport
            .to_socket_addrs()
            .map_err(|e| format!("--target {url:?}: cannot resolve {hostport}: {e}"))?
            .next()
            .ok_or_else(|| format!("--target {url:?}: {hostport} resolves to no address"))?;
        Ok(Base { url: format!("http://{hostport}"), host: hostport.to_string(), addr })
    }
}
