//! The fleet's wire: HTTP/1.1 over one keep-alive TCP connection per lane and
//! server. A request is serialised before the step (`plan.rs`), so sending it
//! is one write; the answer is parsed in place with `httparse`. A general
//! client cost more CPU per request than the server it measured: reqwest took
//! 63 µs per `GET /healthz` on this kind of machine, where both share two
//! cores.
//!
//! Only what the server answers is handled: a `Content-Length` body (actix
//! sends one for every answer the bench asks for; a chunked answer is an
//! error). A connection the server closed while idle (its keep-alive ran
//! out) is reopened and the request sent again, once: nothing of it reached
//! the server, and a write's Idempotency-Key would make a second delivery
//! harmless anyway.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What came back.
pub struct Answer<'a> {
    pub status: u16,
    /// `Idempotent-Replayed` was set.
    pub replayed: bool,
    pub body: &'a [u8],
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("unreadable answer: {0}")]
    Unreadable(&'static str),
}

/// One keep-alive connection to one server.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, stream: None, buf: Vec::with_capacity(16 * 1024) }
    }

    /// Forget the connection (after a time-out: its answer may still come).
    pub fn reset(&mut self) {
        self.stream = None;
    }

    /// Send `request` (a whole HTTP/1.1 request) and read its answer.
    pub async fn exchange(&mut self, request: &[u8]) -> Result<Answer<'_>, WireError> {
        for attempt in 0..2 {
            let reused = self.stream.is_some();
            if !reused {
                let stream = TcpStream::connect(self.addr).await?;
                stream.set_nodelay(true)?;
                self.stream = Some(stream);
            }
            match self.round_trip(request).await {
                Ok((header_len, body_len, status, replayed, close)) => {
                    if close {
                        self.stream = None;
                    }
                    let body = &self.buf[header_len..header_len + body_len];
                    return Ok(Answer { status, replayed, body });
                }
                // The server closed a connection that sat idle: once more on a new one.
                Err(WireError::Closed) if reused && attempt == 0 => self.stream = None,
                Err(e) => {
                    self.stream = None;
                    return Err(e);
                }
            }
        }
        Err(WireError::Closed)
    }

    /// (header length, body length, status, replayed, connection closes).
    async fn round_trip(&mut self, request: &[u8]) -> Result<(usize, usize, u16, bool, bool), WireError> {
        let stream = self.stream.as_mut().ok_or(WireError::Closed)?;
        if let Err(e) = stream.write_all(request).await {
            return Err(closed_or(e));
        }
        self.buf.clear();
        loop {
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(16 * 1024);
            }
            let n = stream.read_buf(&mut self.buf).await.map_err(closed_or)?;
            if n == 0 {
                return Err(if self.buf.is_empty() { WireError::Closed } else { WireError::Unreadable("cut short") });
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut res = httparse::Response::new(&mut headers);
            let header_len = match res.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) => continue,
                Err(_) => return Err(WireError::Unreadable("bad status line or headers")),
            };
            let status = res.code.ok_or(WireError::Unreadable("no status"))?;
            let (mut length, mut replayed, mut close) = (None, false, false);
            for h in res.headers.iter() {
                if h.name.eq_ignore_ascii_case("content-length") {
                    length = std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse::<usize>().ok());
                } else if h.name.eq_ignore_ascii_case("idempotent-replayed") {
                    replayed = true;
                } else if h.name.eq_ignore_ascii_case("connection") {
                    close = h.value.eq_ignore_ascii_case(b"close");
                } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(WireError::Unreadable("a chunked answer"));
                }
            }
            let length = length.ok_or(WireError::Unreadable("no Content-Length"))?;
            while self.buf.len() < header_len + length {
                self.buf.reserve(header_len + length - self.buf.len());
                if stream.read_buf(&mut self.buf).await.map_err(closed_or)? == 0 {
                    return Err(WireError::Unreadable("body cut short"));
                }
            }
            return Ok((header_len, length, status, replayed, close));
        }
    }
}

/// A reset or broken pipe on a reused connection means the server had
/// closed it.
fn closed_or(e: std::io::Error) -> WireError {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    match e.kind() {
        BrokenPipe | ConnectionReset | ConnectionAborted | UnexpectedEof => WireError::Closed,
        _ => WireError::Io(e),
    }
}

/// A whole HTTP/1.1 request: `method` `path` to `host`, with `headers` and
/// `body` (a `Content-Length` when there is one).
pub fn request(method: &str, path: &str, host: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n").as_bytes());
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !body.is_empty() || method == "POST" {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::{Conn, request};

    /// A server that answers each request on a connection with `answers` in
    /// turn, then closes it; every new connection starts over.
    async fn server(answers: Vec<&'static str>) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.expect("accept");
                let answers = answers.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    for a in answers {
                        if s.read(&mut buf).await.unwrap_or(0) == 0 {
                            return;
                        }
                        s.write_all(a.as_bytes()).await.expect("write");
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn answers_are_read_and_a_connection_closed_while_idle_is_reopened() {
        let ok = "HTTP/1.1 201 Created\r\ncontent-length: 5\r\nidempotent-replayed: true\r\n\r\nhello";
        let addr = server(vec![ok, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"]).await;
        let mut conn = Conn::new(addr);
        let req = request("POST", "/x", "h", &[("Idempotency-Key", "k")], b"{}");
        assert!(String::from_utf8_lossy(&req).ends_with("Content-Length: 2\r\n\r\n{}"));
        let a = conn.exchange(&req).await.expect("first");
        assert_eq!((a.status, a.replayed, a.body), (201, true, &b"hello"[..]));
        let b = conn.exchange(&req).await.expect("second");
        assert_eq!((b.status, b.replayed, b.body), (200, false, &b"hi"[..]));
        // The server closed after two: the third goes on a new connection.
        let c = conn.exchange(&req).await.expect("third, on a new connection");
        assert_eq!(c.status, 201);
    }

    #[tokio::test]
    async fn a_chunked_answer_is_refused() {
        let addr = server(vec!["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"]).await;
        let mut conn = Conn::new(addr);
        assert!(conn.exchange(&request("GET", "/", "h", &[], b"")).await.is_err());
    }
}
