//! The SSRF guard of webhook targets: which URLs a subscription may have (https, or http
//! with `WEBHOOK_ALLOW_HTTP`; no credentials), and which addresses a delivery may connect
//! to. Every address a host resolves to is checked — loopback, private, link-local (incl.
//! 169.254.169.254), CGNAT, multicast, unspecified, reserved and their IPv6 equivalents
//! (also when embedded in IPv4-mapped, NAT64 or 6to4 addresses) are refused unless
//! `WEBHOOK_ALLOW_PRIVATE` — and the sender connects to the addresses checked here, never
//! resolving the name again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// A target URL that passed the syntactic checks.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    pub host: String,
    pub port: u16,
    /// The host when it is an address literal (no resolution).
    pub ip: Option<IpAddr>,
}

/// Longest accepted URL.
pub const URL_MAX: usize = 2000;

/// Parses and checks a subscription URL (scheme, host, no credentials, no fragment).
pub fn parse_target(text: &str, allow_http: bool) -> Result<Target, String> {
    if text.len() > URL_MAX {
        return Err(format!("must be at most {URL_MAX} characters"));
    }
    let url = Url::parse(text.trim()).map_err(|_| "must be an absolute URL".to_owned())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err("must use https (http is refused on this server)".into()),
        _ => return Err("must be an https URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    let (host, ip) = match url.host() {
        Some(Host::Domain(d)) => (d.to_owned(), None),
        Some(Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
        Some(Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
        None => return Err("must have a host".into()),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "must have a port".to_owned())?;
    Ok(Target {
        url,
        host,
        port,
        ip,
    })
}

/// Resolves the target (or takes its literal address) and checks every address; returns
/// the addresses to connect to.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    literal: Option<IpAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = match literal {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| format!("the host {host} does not resolve"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("the host {host} does not resolve"));
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
        return Err(format!(
            "the host {host} resolves to {}, a private, loopback or otherwise non-public address",
            bad.ip()
        ));
    }
    Ok(addrs)
}

/// Whether deliveries must never connect to `ip`.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x2001 && s[1] == 0)
        || (s[0..6] == [0; 6] && forbidden_v4(embedded_v4(s[6], s[7])))
        || (s[0] == 0x64 && s[1] == 0xff9b && forbidden_v4(embedded_v4(s[6], s[7])))
        || (s[0] == 0x2002 && forbidden_v4(embedded_v4(s[1], s[2])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_refused_and_public_ones_pass() {
        for bad in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(is_forbidden(ip(bad)), "{bad} must be refused");
        }
        for good in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_forbidden(ip(good)), "{good} must pass");
        }
    }

    #[test]
    fn urls_need_https_a_host_and_no_credentials() {
        assert!(parse_target("https://example.com/hook", false).is_ok());
        assert!(parse_target("http://example.com/hook", false).is_err());
        assert!(parse_target("http://example.com/hook", true).is_ok());
        assert!(parse_target("https://u:p@example.com/", false).is_err());
        assert!(parse_target("ftp://example.com/", true).is_err());
        assert!(parse_target("not a url", true).is_err());
        let t = parse_target("http://[::1]:8080/x", true).unwrap();
        assert_eq!((t.ip, t.port), (Some(ip("::1")), 8080));
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_unless_allowed() {
        assert!(resolve_checked("localhost", 80, None, false).await.is_err());
        assert!(resolve_checked("localhost", 80, None, true).await.is_ok());
        let lit = Some(ip("169.254.169.254"));
        assert!(resolve_checked("x", 80, lit, false).await.is_err());
    }
}
