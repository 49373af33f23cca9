//! Script variables: values captured from received messages, the built-ins
//! (`userid`, `<peer>.userid`, `uniq`) and `${name}` substitution.

use std::collections::HashMap;

use serde_json::Value;

/// The variables of one run of a script.
pub struct Vars {
    captured: HashMap<String, Value>,
    /// (peer name, userid), in script order.
    peers: Vec<(String, String)>,
    uniq: String,
}

impl Vars {
    /// Variables for a run with these peers and this unique token.
    pub fn new(peers: Vec<(String, String)>, uniq: String) -> Vars {
        Vars { captured: HashMap::new(), peers, uniq }
    }

    /// Stores a captured value.
    pub fn set(&mut self, name: &str, value: Value) {
        self.captured.insert(name.to_owned(), value);
    }

    /// The value of `name` for a stage of peer `peer`: captured values first,
    /// then the built-ins.
    pub fn get(&self, name: &str, peer: usize) -> Option<Value> {
        if let Some(v) = self.captured.get(name) {
            return Some(v.clone());
        }
        match name {
            "userid" => self.peers.get(peer).map(|(_, u)| Value::String(u.clone())),
            "uniq" => Some(Value::String(self.uniq.clone())),
            _ => {
                let p = name.strip_suffix(".userid")?;
                self.peers.iter().find(|(n, _)| n == p).map(|(_, u)| Value::String(u.clone()))
            }
        }
    }

    /// `v` with every `${name}` in its strings (not in member names) replaced.
    pub fn substitute(&self, v: &Value, peer: usize) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => self.substitute_str(s, peer)?,
            Value::Array(a) => {
                Value::Array(a.iter().map(|x| self.substitute(x, peer)).collect::<Result<_, _>>()?)
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| Ok((k.clone(), self.substitute(x, peer)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    /// A string that is exactly `${name}` becomes the typed value; elsewhere
    /// the value's text is spliced in. `$${` is a literal `${`.
    fn substitute_str(&self, s: &str, peer: usize) -> Result<Value, String> {
        if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
            && !name.contains('}')
        {
            return self.get(name, peer).ok_or_else(|| unknown(name));
        }
        if !s.contains("${") {
            return Ok(Value::String(s.to_owned()));
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find("${") {
            if rest[..at].ends_with('$') {
                out.push_str(&rest[..at - 1]);
                out.push_str("${");
                rest = &rest[at + 2..];
                continue;
            }
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let end = after.find('}').ok_or_else(|| format!("unterminated ${{ in {s:?}"))?;
            let name = &after[..end];
            match self.get(name, peer).ok_or_else(|| unknown(name))? {
                Value::String(t) => out.push_str(&t),
                other => out.push_str(&other.to_string()),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }
}

fn unknown(name: &str) -> String {
    format!("unknown variable ${{{name}}} (capture it with \"vars\" in an earlier recv stage)")
}

/// The member of `msg` a capture names: a top-level member, or a JSON pointer
/// when it starts with `/`.
pub fn member<'a>(msg: &'a Value, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') { msg.pointer(name) } else { msg.get(name) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v =
            Vars::new(vec![("alice".into(), "a@x".into()), ("bob".into(), "b@x".into())], "r7".into());
        v.set("cseq", json!(42));
        v.set("dlg", json!("d-1"));
        v
    }

    #[test]
    fn whole_string_keeps_the_type() {
        let v = vars();
        assert_eq!(v.substitute(&json!({"CSeq": "${cseq}"}), 0).unwrap(), json!({"CSeq": 42}));
        assert_eq!(v.substitute(&json!(["${dlg}", 1, null]), 0).unwrap(), json!(["d-1", 1, null]));
    }

    #[test]
    fn inside_strings_is_text() {
        let v = vars();
        assert_eq!(v.substitute(&json!("n=${cseq} d=${dlg}"), 0).unwrap(), json!("n=42 d=d-1"));
        assert_eq!(v.substitute(&json!("call-${uniq}"), 0).unwrap(), json!("call-r7"));
        assert_eq!(v.substitute(&json!("$${dlg} ${dlg}"), 0).unwrap(), json!("${dlg} d-1"));
        assert_eq!(v.substitute(&json!("no vars $ here"), 0).unwrap(), json!("no vars $ here"));
    }

    #[test]
    fn builtins() {
        let v = vars();
        assert_eq!(v.substitute(&json!("${userid}"), 0).unwrap(), json!("a@x"));
        assert_eq!(v.substitute(&json!("${userid}"), 1).unwrap(), json!("b@x"));
        assert_eq!(v.substitute(&json!("${bob.userid}"), 0).unwrap(), json!("b@x"));
    }

    #[test]
    fn unknown_and_unterminated() {
        let v = vars();
        assert!(v.substitute(&json!({"a": "${nope}"}), 0).unwrap_err().contains("unknown variable ${nope}"));
        assert!(v.substitute(&json!("x ${dlg"), 0).unwrap_err().contains("unterminated"));
    }

    #[test]
    fn members_and_pointers() {
        let m = json!({"CSeq": 3, "Body": {"room": "r1"}});
        assert_eq!(member(&m, "CSeq"), Some(&json!(3)));
        assert_eq!(member(&m, "/Body/room"), Some(&json!("r1")));
        assert_eq!(member(&m, "Nope"), None);
    }
}
