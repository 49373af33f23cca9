//! `slp-host scenario`: the same scripts over real WebSockets against a
//! running server; one connection per script peer.

use super::report::{Failure, Report, ScriptReport};
use super::runner::{self, Peer};
use super::script::Script;
use super::{Options, userids};

/// Runs each script against the server at `url` (`ws://host:port/rtc?userid=…`);
/// each peer connects with the url's `userid` replaced by its own.
pub async fn run_live(url: &str, scripts: &[Script], options: &Options) -> Report {
    let mut report = Report::default();
    for script in scripts {
        report.scripts.push(run_one(url, script, options).await);
    }
    report
}

async fn run_one(url: &str, script: &Script, options: &Options) -> ScriptReport {
    let uniq = runner::uniq();
    let mut peers = Vec::new();
    for (name, userid) in userids(script, &options.userid, &uniq) {
        let target = with_userid(url, &userid);
        match tokio_tungstenite::connect_async(target.as_str()).await {
            Ok((ws, _)) => peers.push(Peer::spawn(&name, &userid, ws)),
            Err(e) => {
                for p in peers {
                    p.close().await;
                }
                return ScriptReport {
                    name: script.name.clone(),
                    failure: Some(Failure::setup(format!("peer {name} cannot connect to {target}: {e}"))),
                    transcript: Vec::new(),
                };
            }
        }
    }
    let report = runner::run(script, &mut peers, &uniq, options.verbose).await;
    for p in peers {
        p.close().await;
    }
    report
}

/// The `userid` query parameter of a URL, percent-decoded.
pub fn userid_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == "userid").then(|| percent_decode(v))
    })
}

/// `url` with its `userid` query parameter set to `userid` (added when absent).
pub fn with_userid(url: &str, userid: &str) -> String {
    let encoded = percent_encode(userid);
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some("userid"))
        .map(str::to_owned)
        .collect();
    pairs.insert(0, format!("userid={encoded}"));
    format!("{base}?{}", pairs.join("&"))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userid_in_urls() {
        assert_eq!(userid_of("ws://h:1/rtc?userid=alice"), Some("alice".into()));
        assert_eq!(userid_of("ws://h:1/rtc?x=1&userid=a%40b"), Some("a@b".into()));
        assert_eq!(userid_of("ws://h:1/rtc"), None);
        assert_eq!(with_userid("ws://h:1/rtc?userid=alice", "bob"), "ws://h:1/rtc?userid=bob");
        assert_eq!(with_userid("ws://h:1/rtc?x=1&userid=alice", "b b"), "ws://h:1/rtc?userid=b%20b&x=1");
        assert_eq!(with_userid("ws://h:1/rtc", "carol@x.org"), "ws://h:1/rtc?userid=carol@x.org");
    }
}
