//! Readable output of `slpm`: tables for the lists, one line per change.

use serde_json::Value;

/// The first 12 hex digits of a hash, as in `git log --oneline`.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn health(v: &Value) -> &'static str {
    if v["unhealthy"].as_bool() == Some(true) { "UNHEALTHY" } else { "ok" }
}

/// Left-aligned columns separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

/// `GET /slpm/v1/slps` as tables: loaded names, then retired versions and
/// skipped state entries when there are any.
pub fn list(v: &Value) -> String {
    let slps = v["slps"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = slps
        .iter()
        .map(|s| {
            let versions = s["versions"].as_array().cloned().unwrap_or_default();
            let live: u64 = versions.iter().filter_map(|x| x["live_instances"].as_u64()).sum();
            vec![
                text(&s["name"]),
                short(s["hash"].as_str().unwrap_or("")).to_owned(),
                size(s["size"].as_u64().unwrap_or(0)),
                live.to_string(),
                text(&s["instances_created"]),
                versions.len().to_string(),
                health(s).into(),
                text(&s["loaded_at"]),
            ]
        })
        .collect();
    let mut out = if rows.is_empty() {
        "no SLPs loaded\n".to_owned()
    } else {
        table(&["NAME", "HASH", "SIZE", "LIVE", "CREATED", "VERSIONS", "STATUS", "LOADED AT"], &rows)
    };
    if let Some(retired) = v["retired"].as_array().filter(|r| !r.is_empty()) {
        let rows: Vec<Vec<String>> = retired
            .iter()
            .map(|r| {
                vec![
                    text(&r["name"]),
                    short(r["hash"].as_str().unwrap_or("")).into(),
                    text(&r["live_instances"]),
                ]
            })
            .collect();
        out += "\nretired (deleted, instances still running):\n";
        out += &table(&["NAME", "HASH", "LIVE"], &rows);
    }
    if let Some(errors) = v["errors"].as_array().filter(|e| !e.is_empty()) {
        let rows: Vec<Vec<String>> = errors
            .iter()
            .map(|e| {
                vec![text(&e["name"]), short(e["hash"].as_str().unwrap_or("")).into(), text(&e["error"])]
            })
            .collect();
        out += "\nskipped at startup:\n";
        out += &table(&["NAME", "HASH", "ERROR"], &rows);
    }
    out
}

/// `GET /slpm/v1/<name>`: the name, then one row per version.
pub fn show(v: &Value) -> String {
    let mut out = format!(
        "name:       {}\nhash:       {}\nsize:       {}\nloaded at:  {}\ncreated:    {} instances\nstatus:     {}\n\n",
        text(&v["name"]),
        text(&v["hash"]),
        size(v["size"].as_u64().unwrap_or(0)),
        text(&v["loaded_at"]),
        text(&v["instances_created"]),
        health(v),
    );
    let rows: Vec<Vec<String>> = v["versions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|x| {
            vec![
                text(&x["hash"]),
                if x["current"].as_bool() == Some(true) { "*".into() } else { String::new() },
                text(&x["live_instances"]),
                text(&x["instances_created"]),
                text(&x["traps_total"]),
                text(&x["traps_last_minute"]),
                health(x).into(),
            ]
        })
        .collect();
    out += &table(&["VERSION", "CURRENT", "LIVE", "CREATED", "TRAPS", "TRAPS/MIN", "STATUS"], &rows);
    out
}

/// The answer to an upload or a rollback (`POST /slpm/v1/<name>`).
pub fn loaded(v: &Value, verb: &str) -> String {
    let name = text(&v["name"]);
    let hash = text(&v["hash"]);
    if v["changed"].as_bool() == Some(false) {
        return format!("{name}: {hash} is already the current version (unchanged)\n");
    }
    let previous = match v["previous_hash"].as_str() {
        Some(p) => format!(", replacing {}", short(p)),
        None => String::new(),
    };
    format!(
        "{name}: {verb} {hash} ({}){previous}; on-load instance {}\n",
        size(v["size"].as_u64().unwrap_or(0)),
        text(&v["on_load"])
    )
}

/// The answer to `DELETE /slpm/v1/<name>`.
pub fn deleted(v: &Value) -> String {
    format!(
        "{}: deleted (was {}); running instances finish on that version\n",
        text(&v["name"]),
        short(v["hash"].as_str().unwrap_or(""))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_table_has_one_row_per_name() {
        let h = "5d41402abc4b2a76b9719d911017c592ae3f8e1c6f0a0b1c2d3e4f5a6b7c8d9e";
        let v = json!({"slps": [{"name": "default", "hash": h, "size": 184320, "loaded_at": "2025-06-01T09:30:12.481Z",
            "instances_created": 1532, "unhealthy": false,
            "versions": [{"live_instances": 3}, {"live_instances": 1}]}],
            "retired": [{"name": "conf", "hash": h, "live_instances": 2}], "errors": []});
        let out = list(&v);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "NAME     HASH          SIZE       LIVE  CREATED  VERSIONS  STATUS  LOADED AT");
        assert_eq!(
            lines[1],
            "default  5d41402abc4b  180.0 KiB  4     1532     2         ok      2025-06-01T09:30:12.481Z"
        );
        assert!(out.contains("retired (deleted, instances still running):\nNAME  HASH          LIVE\nconf  5d41402abc4b  2\n"), "{out}");
        assert!(!out.contains("skipped"));
        assert_eq!(list(&json!({"slps": []})), "no SLPs loaded\n");
    }

    #[test]
    fn change_lines() {
        let v = json!({"name": "hunt", "hash": "ab".repeat(32), "size": 2048, "previous_hash": "cd".repeat(32),
            "changed": true, "on_load": "ended"});
        assert_eq!(
            loaded(&v, "loaded"),
            format!(
                "hunt: loaded {} (2.0 KiB), replacing cdcdcdcdcdcd; on-load instance ended\n",
                "ab".repeat(32)
            )
        );
        let v = json!({"name": "hunt", "hash": "ab", "changed": false});
        assert_eq!(loaded(&v, "loaded"), "hunt: ab is already the current version (unchanged)\n");
    }
}
