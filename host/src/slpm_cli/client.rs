//! A minimal blocking HTTP/1.1 client for the management API: one request
//! per connection (`Connection: close`), plain `http://` only. The API is
//! loopback by default and answers small JSON documents, so this is all the
//! command line needs, without pulling an HTTP client library into the host.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Longest wait for an answer: an upload compiles the component (up to 30 s, spec §14.2).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(90);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the API is: `host:port` and an optional path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    pub authority: String,
    pub prefix: String,
}

impl BaseUrl {
    /// Parses `http://host:port[/prefix]` (the scheme may be left out).
    pub fn parse(url: &str) -> Result<BaseUrl, String> {
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => {
                return Err(format!("{url}: https is not supported here; use the API's plain http listener"));
            }
            Some((scheme, _)) => return Err(format!("{url}: unsupported scheme {scheme:?} (expected http)")),
            None => url,
        };
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if authority.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let authority =
            if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
        let prefix = path.trim_end_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("/{prefix}") };
        Ok(BaseUrl { authority, prefix })
    }

    /// `http://authority/prefix`, for messages.
    pub fn display(&self) -> String {
        format!("http://{}{}", self.authority, self.prefix)
    }
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends one request and reads the whole answer.
pub fn request(
    base: &BaseUrl,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> Result<Answer, String> {
    let unreachable =
        |e: std::io::Error| format!("cannot reach the management API at {}: {e}", base.display());
    let addr = base
        .authority
        .to_socket_addrs()
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| format!("{}: the host name has no address", base.authority))?;
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(unreachable)?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(unreachable)?;
    let (content_type, bytes) = body.unwrap_or(("", b""));
    let mut head = format!(
        "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\nUser-Agent: slp-host-slpm\r\n",
        base.prefix,
        base.authority,
        bytes.len()
    );
    if !content_type.is_empty() {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    let lost = |e: std::io::Error| format!("management API at {}: {e}", base.display());
    stream.write_all(head.as_bytes()).map_err(lost)?;
    stream.write_all(bytes).map_err(lost)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(lost)?;
    parse_answer(&raw).ok_or_else(|| format!("management API at {}: malformed HTTP answer", base.display()))
}

fn parse_answer(raw: &[u8]) -> Option<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().skip(1).any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = &raw[split + 4..];
    let body = if chunked { dechunk(body)? } else { body.to_vec() };
    Some(Answer { status, body })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..nl]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(nl + 2..nl + 2 + size)?);
        b = b.get(nl + 2 + size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let b = BaseUrl::parse("http://127.0.0.1:2539").unwrap();
        assert_eq!((b.authority.as_str(), b.prefix.as_str()), ("127.0.0.1:2539", ""));
        let b = BaseUrl::parse("localhost:9/api/").unwrap();
        assert_eq!((b.authority.as_str(), b.prefix.as_str()), ("localhost:9", "/api"));
        assert_eq!(BaseUrl::parse("http://h").unwrap().authority, "h:80");
        assert!(BaseUrl::parse("https://h:1").unwrap_err().contains("https is not supported"));
        assert!(BaseUrl::parse("ftp://h:1").unwrap_err().contains("unsupported scheme"));
    }

    #[test]
    fn answers_plain_and_chunked() {
        let a = parse_answer(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((a.status, a.body.as_slice()), (201, &b"{}"[..]));
        let a = parse_answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(a.body, b"abcde");
        assert!(parse_answer(b"garbage").is_none());
    }
}
