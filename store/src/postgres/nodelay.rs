//! `TCP_NODELAY` on the pool's connections, which sqlx 0.9.0 no longer sets.
//!
//! sqlx 0.8 turned Nagle's algorithm off on its TCP sockets; 0.9.0 dropped
//! that (launchbadge/sqlx#4335, fixed upstream by #4336, not yet released
//! on crates.io). With Nagle on, a message the client writes in two parts
//! waits for the server's delayed ACK (40 ms on Linux) before its second part
//! leaves, while PostgreSQL, which has not got the whole message, has
//! nothing to answer. A group commit (`ledger::write_ops`) is one message
//! whose size grows with the batch, so it depends on this.
//!
//! What it does not cover is the connection's start-up, which runs before
//! the option can be set. On the bench that was the visible cost: a
//! connection opened under load took ~100 ms over TCP (pool wait and
//! `BEGIN`, in the slow-commit log) and held a group commit and every write
//! behind it (p99.9 93–135 ms at 844–1,898 ops/s on PostgreSQL), while over
//! the Unix socket the same steps stayed under 28 ms. Hence the pool also
//! opens its connections at start-up (`min_connections`).
//!
//! sqlx gives no access to its socket, so after each new connection the
//! process's TCP sockets whose peer is the database's port get the option
//! (all of them are database connections; setting it twice is harmless).
//! Linux only (`/proc/self/fd`); elsewhere nothing changes. Remove this once
//! a sqlx release sets the option itself.

/// Turn Nagle's algorithm off on this process's TCP sockets connected to
/// `port`; returns how many it changed.
pub fn set_on_sockets_to(port: u16) -> usize {
    let mut changed = 0;
    for_each_tcp_socket(|s| {
        if s.peer_addr().is_ok_and(|a| a.port() == port)
            && s.nodelay().is_ok_and(|on| !on)
            && s.set_nodelay(true).is_ok()
        {
            changed += 1;
        }
    });
    changed
}

/// Whether the socket bound to the local `port` has `TCP_NODELAY` (`None`:
/// no such socket here). Lets a test check a pooled connection from outside.
pub fn is_set_on_local_port(port: u16) -> Option<bool> {
    let mut found = None;
    for_each_tcp_socket(|s| {
        if s.local_addr().is_ok_and(|a| a.port() == port) {
            found = s.nodelay().ok();
        }
    });
    found
}

/// Call `f` on every socket this process has open (Linux; elsewhere none).
fn for_each_tcp_socket(mut f: impl FnMut(&std::net::TcpStream)) {
    #[cfg(target_os = "linux")]
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        for entry in dir.flatten() {
            let is_socket = std::fs::read_link(entry.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
            if let Some(fd) = entry.file_name().to_str().and_then(|s| s.parse::<std::os::fd::RawFd>().ok())
                && is_socket
            {
                with_socket(fd, &mut f);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = &mut f;
}

/// Run `f` on the socket `fd` without taking it over (it is never closed here).
#[cfg(target_os = "linux")]
#[expect(unsafe_code, reason = "sqlx keeps its sockets private; see the SAFETY note")]
fn with_socket(fd: std::os::fd::RawFd, f: &mut impl FnMut(&std::net::TcpStream)) {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` was listed in /proc/self/fd as a socket. The stream is
    // never dropped (`ManuallyDrop`), so this never closes it, and callers
    // only call getpeername/getsockname/getsockopt/setsockopt on it. If another thread
    // closed the fd meanwhile, they fail with EBADF; if the number was reused
    // for another socket, the caller's address checks decide as for any other
    // socket; a socket that is not TCP fails those checks.
    let stream = std::mem::ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(fd) });
    f(&stream);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::*;

    #[test]
    fn sockets_to_the_port_get_nodelay_and_others_do_not() {
        let db = TcpListener::bind("127.0.0.1:0").expect("bind");
        let other = TcpListener::bind("127.0.0.1:0").expect("bind");
        let to_db = TcpStream::connect(db.local_addr().expect("addr")).expect("connect");
        let to_other = TcpStream::connect(other.local_addr().expect("addr")).expect("connect");
        assert!(!to_db.nodelay().expect("nodelay"), "Nagle is on by default");

        let port = db.local_addr().expect("addr").port();
        assert_eq!(set_on_sockets_to(port), 1);
        assert!(to_db.nodelay().expect("nodelay"));
        assert!(!to_other.nodelay().expect("nodelay"), "a socket to another port is left alone");
        // Already set: nothing more to change, and the socket still works.
        assert_eq!(set_on_sockets_to(port), 0);
        assert!(to_db.peer_addr().is_ok());
    }
}
