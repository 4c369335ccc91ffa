//! A raw HTTP/1.1 client that reads a streamed (chunked) body as it arrives, and the
//! in-process server the byte-level suites talk to.

use signalr::hub::HubDispatcher;
use signalr::prelude::*;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound for anything a test expects to arrive: a failure never hangs a test.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// Serves `server` at `/hub` on a free port; the server lives as long as the test's runtime.
pub(crate) async fn serve<D: HubDispatcher>(server: HubServer<D>) -> SocketAddr {
    let app = axum::Router::new().route_hub("/hub", server);
    let listener = signalr::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

/// How the rest of a response body is delimited.
#[derive(Debug, Clone, Copy)]
enum Framing {
    Chunked,
    Length(usize),
    UntilClose,
    Done,
}

/// One request's connection after its response head was read.
#[derive(Debug)]
pub(crate) struct HttpStream {
    stream: TcpStream,
    /// Bytes received and not yet consumed (raw, still chunk-encoded).
    buffer: Vec<u8>,
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    framing: Framing,
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header_of<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Sends one request (with `Content-Length`, and `Connection: close` unless `headers` name
/// a `Connection`) and reads the response head.
pub(crate) async fn start(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpStream {
    let stream = send_request(addr, method, target, headers, body).await;
    HttpStream::read_head(stream).await
}

/// Sends one request like [`start`] and returns the connection without reading anything.
pub(crate) async fn send_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("could not connect in time")
        .unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(key, _)| key.eq_ignore_ascii_case("connection"))
    {
        head.push_str("Connection: close\r\n");
    }
    for (key, value) in headers {
        head.push_str(&format!("{key}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await.unwrap();
    stream
}

impl HttpStream {
    /// Reads more bytes into the buffer, within `WAIT`; `false` at the end of the stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        let read = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "nothing received within {WAIT:?} (status {}, buffered {:?})",
                    self.status,
                    String::from_utf8_lossy(&self.buffer)
                )
            });
        match read {
            Ok(0) => false,
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read failed: {e}"),
        }
    }

    pub(crate) async fn read_head(stream: TcpStream) -> HttpStream {
        let mut this = HttpStream {
            stream,
            buffer: Vec::new(),
            status: 0,
            headers: Vec::new(),
            framing: Framing::Done,
        };
        let end = loop {
            if let Some(end) = find(&this.buffer, b"\r\n\r\n") {
                break end;
            }
            assert!(
                this.fill().await,
                "the connection closed before the end of the response head: {:?}",
                String::from_utf8_lossy(&this.buffer)
            );
        };
        let head = String::from_utf8(this.buffer[..end].to_vec()).unwrap();
        this.buffer.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line:?}");
        this.status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        this.headers = lines
            .map(|line| {
                let (key, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad header line {line:?}"));
                (key.trim().to_owned(), value.trim().to_owned())
            })
            .collect();
        this.framing = if this.status < 200 || this.status == 204 || this.status == 304 {
            Framing::Done
        } else if header_of(&this.headers, "transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            Framing::Chunked
        } else if let Some(length) = header_of(&this.headers, "content-length") {
            Framing::Length(length.parse().unwrap())
        } else {
            Framing::UntilClose
        };
        this
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.headers, name)
    }

    /// The next piece of the decoded body as it arrives (one whole chunk of a chunked
    /// body), or `None` once the body ended.
    pub(crate) async fn next_piece(&mut self) -> Option<Vec<u8>> {
        loop {
            match self.framing {
                Framing::Done => return None,
                Framing::Length(0) => {
                    self.framing = Framing::Done;
                    return None;
                }
                Framing::Length(remaining) => {
                    if !self.buffer.is_empty() {
                        let take = remaining.min(self.buffer.len());
                        self.framing = Framing::Length(remaining - take);
                        return Some(self.buffer.drain(..take).collect());
                    }
                    assert!(
                        self.fill().await,
                        "the connection closed with {remaining} body bytes missing"
                    );
                }
                Framing::UntilClose => {
                    if !self.buffer.is_empty() {
                        return Some(std::mem::take(&mut self.buffer));
                    }
                    if !self.fill().await {
                        self.framing = Framing::Done;
                        return None;
                    }
                }
                Framing::Chunked => {
                    if let Some(line_end) = find(&self.buffer, b"\r\n") {
                        let size_line = std::str::from_utf8(&self.buffer[..line_end]).unwrap();
                        let size_text = size_line.split(';').next().unwrap().trim();
                        let size = usize::from_str_radix(size_text, 16)
                            .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
                        if size == 0 {
                            self.framing = Framing::Done;
                            return None;
                        }
                        let start = line_end + 2;
                        if self.buffer.len() >= start + size + 2 {
                            assert_eq!(
                                &self.buffer[start + size..start + size + 2],
                                b"\r\n",
                                "a chunk not followed by CRLF"
                            );
                            let data = self.buffer[start..start + size].to_vec();
                            self.buffer.drain(..start + size + 2);
                            return Some(data);
                        }
                    }
                    assert!(
                        self.fill().await,
                        "the connection closed inside a chunked body (buffered {:?})",
                        String::from_utf8_lossy(&self.buffer)
                    );
                }
            }
        }
    }

    /// The rest of the body.
    pub(crate) async fn body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        while let Some(piece) = self.next_piece().await {
            body.extend(piece);
        }
        body
    }

    pub(crate) async fn into_response(mut self) -> HttpResponse {
        let body = self.body().await;
        HttpResponse {
            status: self.status,
            headers: self.headers,
            body,
        }
    }
}

/// A whole response.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.headers, name)
    }

    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts a `text/plain` response with this status and body.
    pub(crate) fn assert_text(&self, status: u16, body: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.text(), body, "{self:?}");
        assert_eq!(self.header("content-type"), Some("text/plain"), "{self:?}");
    }
}

/// One whole request/response exchange.
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    start(addr, method, target, headers, body)
        .await
        .into_response()
        .await
}

/// Negotiates with `negotiateVersion=1` on `/hub` and returns the connection token.
pub(crate) async fn negotiate(addr: SocketAddr) -> String {
    let response = request(addr, "POST", "/hub/negotiate?negotiateVersion=1", &[], b"").await;
    assert_eq!(response.status, 200, "{response:?}");
    response.json()["connectionToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A WebSocket upgrade request on `/hub{query}` over raw HTTP.
pub(crate) async fn websocket_upgrade(addr: SocketAddr, query: &str) -> HttpStream {
    websocket_upgrade_with(addr, query, &[]).await
}

/// A WebSocket upgrade request on `/hub{query}` over raw HTTP, with extra headers.
pub(crate) async fn websocket_upgrade_with(
    addr: SocketAddr,
    query: &str,
    extra: &[(&str, &str)],
) -> HttpStream {
    let mut headers = vec![
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    headers.extend_from_slice(extra);
    start(addr, "GET", &format!("/hub{query}"), &headers, b"").await
}

/// One request with an empty body, read whole.
pub(crate) async fn http(addr: SocketAddr, method: &str, target: &str) -> HttpResponse {
    request(addr, method, target, &[], b"").await
}

/// `POST /hub?id={token}` with `body`: a send of the SSE and Long Polling transports.
pub(crate) async fn post(addr: SocketAddr, token: &str, body: &[u8]) -> HttpResponse {
    request(addr, "POST", &format!("/hub?id={token}"), &[], body).await
}
