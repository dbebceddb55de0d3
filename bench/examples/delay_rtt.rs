//! What the delay proxy (`--db-delay-us`) really adds to a round trip.
//!
//! An echo server behind the proxy, and a client that sends 100 bytes and
//! waits for them back, one round trip at a time: the round trip's
//! percentiles, without the proxy and with it.
//!
//!     cargo run --release -p stampede-bench --example delay_rtt -- 250 2000

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use stampede_bench::netdelay::DelayProxy;

fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            s.set_nodelay(true).expect("nodelay");
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Round trips of 100 bytes to `addr`, in microseconds, sorted.
fn round_trips(addr: SocketAddr, n: usize) -> Vec<f64> {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_nodelay(true).expect("nodelay");
    let msg = [7u8; 100];
    let mut buf = [0u8; 100];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        c.write_all(&msg).expect("write");
        c.read_exact(&mut buf).expect("read");
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    out.sort_by(f64::total_cmp);
    out
}

fn show(label: &str, v: &[f64]) {
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    println!(
        "{label}: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} round trips)",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        v.len()
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let us: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(250);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let upstream = echo_server();
    show("loopback", &round_trips(upstream, n));
    let proxy = DelayProxy::start(upstream, Duration::from_micros(us)).expect("proxy");
    let via: SocketAddr = ([127, 0, 0, 1], proxy.port()).into();
    show(&format!("through the proxy, {us} µs each way (nominal {} µs more)", 2 * us), &round_trips(via, n));
}
