//! A TCP proxy that holds every chunk of bytes for a fixed time before passing
//! it on: the database as if it were across a network (`--db-delay-us`).
//!
//! The reference deployment talks to PostgreSQL on RDS, a network hop away,
//! where every round trip costs a few hundred microseconds; on loopback it
//! costs almost nothing, which hides what the number of round trips per
//! operation does to latency and to how long row locks are held. This machine
//! has no `netem` qdisc, so the delay is added here, between the server and
//! the database. The bench's own seeding and checking go straight to the
//! database.
//!
//! Each direction of a connection is two threads: one reads and stamps each
//! chunk with when it may leave, the other sleeps until then and writes it.
//! Chunks keep their order and several can be in flight, as on a wire.
//! Threads rather than tasks: tokio's timers are millisecond-grained, and the
//! delays wanted are a fraction of that. Even so each leg overshoots by the
//! hand-offs and the sleep's slack (about 110 µs each way on an idle 2-core
//! VM); `examples/delay_rtt.rs` measures the round trip it really gives.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running proxy; dropping it stops accepting (open connections end when
/// either side closes).
pub struct DelayProxy {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl DelayProxy {
    /// Listen on a free loopback port and forward each connection to
    /// `upstream`, holding each chunk `one_way` in each direction.
    pub fn start(upstream: SocketAddr, one_way: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::Builder::new().name("db-delay-accept".into()).spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                match TcpStream::connect(upstream) {
                    Ok(server) => {
                        if let Err(e) = connect(client, server, one_way) {
                            eprintln!("db delay proxy: {e}");
                        }
                    }
                    Err(e) => eprintln!("db delay proxy: cannot reach {upstream}: {e}"),
                }
            }
        })?;
        Ok(Self { port, stop })
    }

    /// A proxy in front of the database of a `postgres://` URL, and the URL
    /// that reaches it through the proxy.
    pub fn for_url(url: &str, one_way: Duration) -> std::io::Result<(Self, String)> {
        let no_host = || std::io::Error::other(format!("no host:port in {url}"));
        let (upstream, _) = reroute(url, 0).ok_or_else(no_host)?;
        let proxy = Self::start(upstream, one_way)?;
        let (_, through) = reroute(url, proxy.port).ok_or_else(no_host)?;
        Ok((proxy, through))
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn connect(client: TcpStream, server: TcpStream, one_way: Duration) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    pump(client.try_clone()?, server.try_clone()?, one_way)?;
    pump(server, client, one_way)
}

/// Bytes from `from` to `to`, each chunk leaving `delay` after it arrived.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::Builder::new().name("db-delay-read".into()).spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping `tx` tells the writer the stream ended.
    })?;
    std::thread::Builder::new().name("db-delay-write".into()).spawn(move || {
        for (due, bytes) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    })?;
    Ok(())
}

/// The `host:port` of a `postgres://` URL, and the URL with that part
/// replaced by `127.0.0.1:<port>`.
pub fn reroute(url: &str, port: u16) -> Option<(SocketAddr, String)> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host_start = rest[..authority_end].rfind('@').map_or(0, |at| at + 1);
    let host_port = &rest[host_start..authority_end];
    let upstream = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&upstream).ok()?.next()?;
    let rerouted = format!("{}{}127.0.0.1:{port}{}", &url[..scheme_end], &rest[..host_start], &rest[authority_end..]);
    Some((addr, rerouted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rerouted_through_the_proxy() {
        let (addr, url) = reroute("postgres://postgres@127.0.0.1:5432/stampede_test_1?sslmode=disable", 40000)
            .expect("a postgres URL");
        assert_eq!(addr, "127.0.0.1:5432".parse().expect("addr"));
        assert_eq!(url, "postgres://postgres@127.0.0.1:40000/stampede_test_1?sslmode=disable");
        let (addr, url) = reroute("postgres://127.0.0.1/db", 40001).expect("no user, no port");
        assert_eq!(addr.port(), 5432);
        assert_eq!(url, "postgres://127.0.0.1:40001/db");
        assert!(reroute("data/stampede.db", 1).is_none());
    }

    #[test]
    fn bytes_arrive_in_order_and_late() {
        let echo = TcpListener::bind("127.0.0.1:0").expect("bind");
        let upstream = echo.local_addr().expect("addr");
        std::thread::spawn(move || {
            let (mut s, _) = echo.accept().expect("accept");
            let mut buf = [0u8; 1024];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
        let proxy = DelayProxy::start(upstream, Duration::from_millis(5)).expect("proxy");
        let mut c = TcpStream::connect(("127.0.0.1", proxy.port())).expect("connect");
        let started = Instant::now();
        c.write_all(b"one,").expect("write");
        c.write_all(b"two").expect("write");
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        while got.len() < 7 {
            let n = c.read(&mut buf).expect("read");
            assert!(n > 0, "closed early");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"one,two");
        // Two legs of at least 5 ms each: a lower bound only, never an upper one.
        assert!(started.elapsed() >= Duration::from_millis(10), "the delay was applied each way");
    }
}
