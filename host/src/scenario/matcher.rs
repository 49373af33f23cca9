//! Subset matching of a received message against a stage's expected value.

use serde_json::Value;

/// The first difference between the expected and the received value.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where: member names joined with `.`, array indices as `[i]`.
    pub path: String,
    /// What the script expected there.
    pub expected: Value,
    /// What arrived there; `None` when the member is absent.
    pub received: Option<Value>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() { "the message".to_owned() } else { self.path.clone() };
        match &self.received {
            None => write!(f, "{at}: expected {}, received nothing (member absent)", self.expected),
            Some(r) => write!(f, "{at}: expected {}, received {r}", self.expected),
        }
    }
}

/// `None` when `received` matches `expected`: objects as subsets (recursively),
/// arrays element by element with equal length, numbers by value, `null`
/// matching an absent member; otherwise the first difference.
pub fn mismatch(expected: &Value, received: &Value) -> Option<Mismatch> {
    walk(expected, Some(received), &mut String::new())
}

fn walk(expected: &Value, received: Option<&Value>, path: &mut String) -> Option<Mismatch> {
    let differ = |path: &String| {
        Some(Mismatch { path: path.clone(), expected: expected.clone(), received: received.cloned() })
    };
    match (expected, received) {
        (Value::Null, None | Some(Value::Null)) => None,
        (_, None) => differ(path),
        (Value::Object(e), Some(Value::Object(r))) => e.iter().find_map(|(k, v)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let m = walk(v, r.get(k), path);
            path.truncate(len);
            m
        }),
        (Value::Array(e), Some(Value::Array(r))) => {
            if e.len() != r.len() {
                return differ(path);
            }
            e.iter().zip(r).enumerate().find_map(|(i, (ev, rv))| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let m = walk(ev, Some(rv), path);
                path.truncate(len);
                m
            })
        }
        (Value::Number(e), Some(Value::Number(r))) => {
            if numbers_equal(e, r) {
                None
            } else {
                differ(path)
            }
        }
        (e, Some(r)) if e == r => None,
        _ => differ(path),
    }
}

/// Integers compare exactly; anything with a fraction or exponent by value.
fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(e: Value, r: Value) {
        assert_eq!(mismatch(&e, &r), None, "{e} vs {r}");
    }

    fn path(e: Value, r: Value) -> String {
        mismatch(&e, &r).unwrap_or_else(|| panic!("{e} should not match {r}")).path
    }

    #[test]
    fn subset_of_members() {
        ok(json!({"Code": 200}), json!({"Code": 200, "CSeq": 1, "Desc": "OK"}));
        ok(json!({}), json!({"anything": 1}));
        assert_eq!(path(json!({"Code": 200, "CSeq": 2}), json!({"Code": 200, "CSeq": 1})), "CSeq");
        assert_eq!(path(json!({"Reason": "x"}), json!({"Code": 200})), "Reason");
    }

    #[test]
    fn numbers_by_value() {
        ok(json!({"Code": 200}), serde_json::from_str(r#"{"Code": 200.0}"#).unwrap());
        ok(serde_json::from_str(r#"{"Code": 2e2}"#).unwrap(), json!({"Code": 200}));
        ok(json!({"n": u64::MAX}), json!({"n": u64::MAX}));
        assert_eq!(path(json!({"n": 9007199254740993u64}), json!({"n": 9007199254740992u64})), "n");
        assert_eq!(path(json!({"Code": 200}), json!({"Code": "200"})), "Code");
    }

    #[test]
    fn nested_objects_and_arrays() {
        ok(json!({"Body": {"a": {"b": 1}}}), json!({"Body": {"a": {"b": 1, "c": 2}, "d": 3}}));
        assert_eq!(path(json!({"Body": {"a": {"b": 1}}}), json!({"Body": {"a": {"b": 2}}})), "Body.a.b");
        ok(json!({"l": [1, {"x": 1}]}), json!({"l": [1.0, {"x": 1, "y": 2}]}));
        assert_eq!(path(json!({"l": [1, 2]}), json!({"l": [1, 3]})), "l[1]");
        assert_eq!(path(json!({"l": [1]}), json!({"l": [1, 2]})), "l");
        assert_eq!(path(json!({"Body": {"a": 1}}), json!({"Body": "text"})), "Body");
    }

    #[test]
    fn null_means_absent_or_null() {
        ok(json!({"Body": null}), json!({"Code": 200}));
        ok(json!({"Body": null}), json!({"Body": null}));
        assert_eq!(path(json!({"Body": null}), json!({"Body": "x"})), "Body");
    }

    #[test]
    fn mismatch_text() {
        let m = mismatch(&json!({"Code": 404}), &json!({"Code": 200})).unwrap();
        assert_eq!(m.to_string(), "Code: expected 404, received 200");
        let m = mismatch(&json!({"Reason": "x"}), &json!({})).unwrap();
        assert_eq!(m.to_string(), "Reason: expected \"x\", received nothing (member absent)");
    }
}
