//! Frames on the wire: requests are written from a per-connection template
//! with the numbers substituted, and inbound frames are classified by
//! scanning for a few keys instead of building a JSON tree.

use std::fmt::Write as _;

/// The request templates of one connection.
pub struct Frames {
    /// `","Request-URI":"<target>","From":"<userid>","To":"<target>","DialogueID":"b<conn>-`
    head: String,
}

impl Frames {
    pub fn new(userid: &str, target: &str, conn: usize) -> Frames {
        Frames {
            head: format!(
                "\",\"Request-URI\":\"{target}\",\"From\":\"{userid}\",\"To\":\"{target}\",\"DialogueID\":\"b{conn}-"
            ),
        }
    }

    /// A request of `method` on DialogueID `b<conn>-<unit>`; `related` is
    /// the RelatedID of an ACK.
    pub fn request(&self, method: &str, unit: u64, cseq: u64, related: Option<u64>) -> String {
        let mut s = String::with_capacity(self.head.len() + method.len() + 64);
        s.push_str("{\"Type\":\"");
        s.push_str(method);
        s.push_str(&self.head);
        // Writing into a String cannot fail.
        let _ = write!(s, "{unit}\",\"CSeq\":{cseq}");
        if let Some(r) = related {
            let _ = write!(s, ",\"RelatedID\":{r}");
        }
        s.push('}');
        s
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    Response {
        cseq: u64,
        code: u16,
    },
    /// A request from the server (answered 200 unless it is an ACK).
    Request,
    /// Not recognisable as JSIP.
    Invalid,
}

/// Classifies a frame. The server writes compact JSON with its members in
/// byte order, so the top-level `CSeq`, `Code` and `DialogueID` come before
/// any `Body` and the first occurrence of each key is the top-level one.
pub fn classify(frame: &str) -> Inbound {
    if frame.contains("\"Type\":\"RESPONSE\"") {
        match (int_after(frame, "\"CSeq\":"), int_after(frame, "\"Code\":")) {
            (Some(cseq), Some(code)) if (100..700).contains(&code) => {
                Inbound::Response { cseq, code: code as u16 }
            }
            _ => Inbound::Invalid,
        }
    } else if frame.contains("\"Type\":\"") {
        Inbound::Request
    } else {
        Inbound::Invalid
    }
}

/// The unsigned integer that follows `key` (spaces allowed before it).
fn int_after(frame: &str, key: &str) -> Option<u64> {
    let at = frame.find(key)? + key.len();
    let digits = frame[at..].trim_start();
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// The 200 answer to a request the server sent us (rare, e.g. a session
/// refresh), or `None` for an ACK or something unparseable.
pub fn answer(frame: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(frame).ok()?;
    let obj = v.as_object()?;
    if obj.get("Type")?.as_str()? == "ACK" {
        return None;
    }
    let mut r = serde_json::Map::new();
    for k in ["CSeq", "DialogueID", "From", "To"] {
        r.insert(k.to_owned(), obj.get(k)?.clone());
    }
    r.insert("Code".into(), 200.into());
    r.insert("Type".into(), "RESPONSE".into());
    Some(serde_json::Value::Object(r).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_valid_json() {
        let f = Frames::new("bench-3", "svc@example.org", 3);
        let m: serde_json::Value = serde_json::from_str(&f.request("ACK", 17, 42, Some(41))).unwrap();
        assert_eq!(
            m,
            serde_json::json!({"Type":"ACK","Request-URI":"svc@example.org","From":"bench-3",
                "To":"svc@example.org","DialogueID":"b3-17","CSeq":42,"RelatedID":41})
        );
    }

    #[test]
    fn classifies_frames() {
        let ok = r#"{"CSeq":12,"Code":200,"Desc":"OK","DialogueID":"k2-77","From":"c","To":"n","Type":"RESPONSE"}"#;
        assert_eq!(classify(ok), Inbound::Response { cseq: 12, code: 200 });
        assert_eq!(classify(r#"{"CSeq":1,"DialogueID":"x","Type":"UPDATE"}"#), Inbound::Request);
        assert_eq!(classify("{}"), Inbound::Invalid);
        let upd = r#"{"CSeq":5,"DialogueID":"d","From":"a","To":"b","Type":"UPDATE"}"#;
        let a: serde_json::Value = serde_json::from_str(&answer(upd).unwrap()).unwrap();
        assert_eq!(a["Code"], 200);
        assert_eq!(a["CSeq"], 5);
    }

    #[test]
    fn durations_parse() {
        use super::super::args::duration;
        use std::time::Duration;
        assert_eq!(duration("x", "1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("x", "250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(duration("x", "2").unwrap(), Duration::from_secs(2));
        assert!(duration("x", "2x").is_err());
    }
}
