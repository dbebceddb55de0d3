//! Shared request-input helpers: field validation that collects every problem
//! of a body into one 422, the client address for rate limits, rate-limit checks.

use std::net::IpAddr;

use actix_web::HttpRequest;
use serde::{Deserialize, Deserializer};
use stampede_domain::email::Email;
use stampede_domain::ports::{Decision, Limit};
use stampede_domain::text::Name;

use super::problem::{ApiError, FieldError};
use crate::state::AppState;

/// Collects field errors; `finish` turns them into one 422.
#[derive(Default)]
pub struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.to_owned(), message: message.into() });
    }

    pub fn email(&mut self, field: &str, raw: &str) -> Option<Email> {
        Email::parse(raw).map_err(|e| self.push(field, e.to_string())).ok()
    }

    pub fn name(&mut self, field: &str, raw: &str) -> Option<Name> {
        Name::parse(raw).map_err(|e| self.push(field, e.to_string())).ok()
    }

    /// NIST SP 800-63B: a minimum length, a generous maximum, nothing else.
    pub fn password(&mut self, field: &str, raw: &str, min: usize) -> bool {
        let n = raw.chars().count();
        if n < min {
            self.push(field, format!("must be at least {min} characters"));
            false
        } else if n > 256 {
            self.push(field, "must be at most 256 characters");
            false
        } else {
            true
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::validation(self.errors)) }
    }
}

/// Where a request comes from, as rate limits count it.
///
/// The peer address, unless the peer is one of `server.trusted_proxies`: then
/// `X-Forwarded-For` is read from the right, each trusted proxy's entry
/// skipped, and the first address no trusted proxy vouches for is the
/// client. Entries to its left are whatever the client sent and are never
/// believed. IPv6 clients count by their /64, the block one subscriber
/// holds, so a client cannot step around a limit by changing its address
/// within it.
pub struct ClientIp {
    trusted: Vec<ipnet::IpNet>,
}

impl ClientIp {
    pub fn new(trusted: Vec<ipnet::IpNet>) -> Self {
        Self { trusted }
    }

    /// The rate-limit key of the request's client.
    pub fn of(&self, req: &HttpRequest) -> String {
        self.address(req).map(bucket).unwrap_or_default()
    }

    /// The request's client, as the security log records it.
    pub fn address(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        let forwarded = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok());
        Some(client_addr(peer, forwarded, &self.trusted))
    }
}

/// The client behind `peer`: see [`ClientIp`]. `forwarded` are the values of
/// every `X-Forwarded-For` header, in order.
pub fn client_addr<'a>(peer: IpAddr, forwarded: impl Iterator<Item = &'a str>, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An entry no proxy of ours could have written: stop at the last
        // address we can vouch for.
        let Some(ip) = parse_hop(hop) else { break };
        client = canonical(ip);
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`[v6]:port`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, from dual-stack sockets) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The rate-limit key of an address: IPv4 as it is, IPv6 by its /64.
pub fn bucket(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Count one request against a limit; 429 with `Retry-After` when over it.
pub async fn limit(state: &AppState, limit: &Limit, key: &str) -> Result<(), ApiError> {
    match state.limiter.check(limit, key).await {
        Decision::Allow => Ok(()),
        Decision::Deny { retry_after } => Err(ApiError::rate_limited(retry_after)),
    }
}

/// For PATCH bodies: tell "absent" (`None`) from "null" (`Some(None)`).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter().map(|n| n.parse().expect("cidr")).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_addr(ip("203.0.113.7"), ["1.2.3.4"].into_iter(), &trusted), ip("203.0.113.7"));
        assert_eq!(client_addr(ip("203.0.113.7"), std::iter::empty(), &[]), ip("203.0.113.7"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_address_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.0/24"]);
        // The client claims 1.1.1.1; the edge saw 198.51.100.9; an inner proxy 10.1.1.1.
        let xff = ["1.1.1.1, 198.51.100.9", "192.0.2.10"];
        assert_eq!(client_addr(ip("10.0.0.2"), xff.into_iter(), &trusted), ip("198.51.100.9"));
        // A fresh left-most claim per request changes nothing.
        let xff = ["9.9.9.9, 8.8.8.8, 198.51.100.9"];
        assert_eq!(client_addr(ip("10.0.0.2"), xff.into_iter(), &trusted), ip("198.51.100.9"));
    }

    #[test]
    fn garbage_or_a_chain_of_proxies_only_stops_at_what_we_can_vouch_for() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_addr(ip("10.0.0.2"), ["unknown, 10.0.0.5"].into_iter(), &trusted), ip("10.0.0.5"));
        assert_eq!(client_addr(ip("10.0.0.2"), ["10.0.0.4"].into_iter(), &trusted), ip("10.0.0.4"));
        assert_eq!(client_addr(ip("10.0.0.2"), std::iter::empty(), &trusted), ip("10.0.0.2"));
        assert_eq!(client_addr(ip("10.0.0.2"), ["[2001:db8::1]:443"].into_iter(), &trusted), ip("2001:db8::1"));
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(bucket(ip("2001:db8:aa:bb:1:2:3:4")), "2001:db8:aa:bb::/64");
        assert_eq!(bucket(ip("2001:db8:aa:bb:ffff::9")), bucket(ip("2001:db8:aa:bb::1")));
        assert_ne!(bucket(ip("2001:db8:aa:bc::1")), bucket(ip("2001:db8:aa:bb::1")));
        assert_eq!(bucket(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(bucket(ip("203.0.113.7")), "203.0.113.7");
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_addr(ip("::ffff:10.0.0.2"), ["198.51.100.9"].into_iter(), &trusted), ip("198.51.100.9"));
    }
}

/// What the document says of text fields, in the words of the checks above:
/// JSON Schema patterns (ECMA-262, read alike by Python's `re`) and lengths
/// in characters, as sent.
pub mod text {
    /// A name ([`Name`]): not blank, no control characters, at most
    /// `Name::MAX` characters.
    pub const NAME: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$";
    /// A note (a reason): as a name, with lines and tabs.
    pub const NOTE: &str = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$";
    /// Optional text (a description): empty means none; lines allowed, no
    /// other control characters.
    pub const OPTIONAL: &str = r"^[^\u0000-\u0009\u000b-\u001f\u007f-\u009f]*$";
    /// An email address ([`Email`]): one `@`, a dot in the domain, no
    /// spaces or control characters.
    pub const EMAIL: &str = r"^[^\s@\u0000-\u001f\u007f-\u009f]+@[^\s@.\u0000-\u001f\u007f-\u009f]+(\.[^\s@.\u0000-\u001f\u007f-\u009f]+)+$";
    /// A website: empty (none) or an http(s) URL without spaces.
    pub const WEBSITE: &str = r"^(https?://[^\s\u0000-\u001f\u007f-\u009f]*)?$";
}
