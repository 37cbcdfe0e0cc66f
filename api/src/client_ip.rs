//! The client's address, for per-address limits: the TCP peer, or — behind
//! `TRUSTED_PROXY_HOPS` reverse proxies — the address the outermost trusted proxy saw, read
//! from the right of `X-Forwarded-For`. Without trusted proxies the header is ignored: any
//! client can write it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::state::AppState;

/// The client address of a request (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// `peer` unless `hops` proxies are trusted; then the `hops`-th address counted from the right
/// of the chain `X-Forwarded-For…, peer` (the peer being the nearest proxy). A chain shorter
/// than that yields its leftmost address; an unparsable entry yields the peer.
pub fn client_ip(headers: &HeaderMap, peer: IpAddr, hops: usize) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    forwarded
        .get(forwarded.len().saturating_sub(hops))
        .and_then(|s| s.parse::<IpAddr>().ok())
        .unwrap_or(peer)
}

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        // Served by `crate::server`, every request carries its peer; a router driven some
        // other way (no socket) counts as one unknown client.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientIp(client_ip(
            &parts.headers,
            peer,
            state.config.http.trusted_proxy_hops,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_header_counts_only_behind_trusted_proxies() {
        let peer: IpAddr = "10.0.0.9".parse().unwrap();
        let h = headers(&["1.1.1.1, 2.2.2.2", "3.3.3.3"]);
        assert_eq!(client_ip(&h, peer, 0), peer);
        assert_eq!(client_ip(&h, peer, 1), "3.3.3.3".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(&h, peer, 2), "2.2.2.2".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(&h, peer, 9), "1.1.1.1".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(&headers(&["junk"]), peer, 1), peer);
        assert_eq!(client_ip(&headers(&[]), peer, 1), peer);
    }
}
