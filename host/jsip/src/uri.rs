//! JSIP URIs and the `Router` list (spec §3).
//!
//! A URI has the shape `[user@]host[:port][;name[=value]]*`: no scheme, no
//! IPv6 literals. [`Uri::parse`] follows the four steps of spec §3.1 exactly,
//! because routing depends on the edge cases. The parsed [`Uri`] borrows from
//! its input; the only allocation is the parameter list, and only when the URI
//! has parameters.
//!
//! The `Router` field is one string holding a comma-separated list of URIs
//! (§3.4). [`split_router`], [`first_router`], [`join_router`] and
//! [`drop_first_router`] work on that string without parsing the elements.

use std::fmt;

/// Why a string is not a JSIP URI (spec §3.1). [`UriError::as_str`] gives the
/// wire text used in `bad Router: <detail>` reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UriError {
    /// The input is empty or only white space (`empty-uri`).
    EmptyUri,
    /// The host part holds more than one `@` (`bad-host-part`).
    BadHostPart,
    /// The host-port is empty or only white space (`empty-host-port`).
    EmptyHostPort,
    /// The port is not an optionally signed decimal integer (`port-not-integer`).
    PortNotInteger,
    /// The port is an integer outside 0–65535 (`port-out-of-range`).
    PortOutOfRange,
}

impl UriError {
    /// The kebab-case name of the error, e.g. `"empty-host-port"`.
    pub fn as_str(self) -> &'static str {
        match self {
            UriError::EmptyUri => "empty-uri",
            UriError::BadHostPart => "bad-host-part",
            UriError::EmptyHostPort => "empty-host-port",
            UriError::PortNotInteger => "port-not-integer",
            UriError::PortOutOfRange => "port-out-of-range",
        }
    }
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for UriError {}

/// A parsed JSIP URI `[user@]host[:port][;name[=value]]*` (spec §3.1).
/// Borrows from the input.
///
/// Two URIs compare equal when user, host, port and the ordered parameter
/// list are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri<'a> {
    user: Option<&'a str>,
    host: &'a str,
    /// `None` when absent or 0.
    port: Option<u16>,
    params: Vec<(&'a str, &'a str)>,
}

impl<'a> Uri<'a> {
    /// Parses `input` following spec §3.1 steps 1–4.
    ///
    /// White space is Unicode White_Space ([`str::trim`]). Parameters are
    /// parsed before the host part, but they never fail, so the error is
    /// always the first one met in step order 1, 3, 4.
    pub fn parse(input: &'a str) -> Result<Uri<'a>, UriError> {
        // Step 1.
        let input = input.trim();
        if input.is_empty() {
            return Err(UriError::EmptyUri);
        }

        // Step 2: host part, then the parameters in order.
        let (host_part, param_text) = match input.split_once(';') {
            Some((host_part, rest)) => (host_part, Some(rest)),
            None => (input, None),
        };
        let params = param_text.map_or_else(Vec::new, |rest| {
            rest.split(';')
                .map(str::trim)
                .filter(|piece| !piece.is_empty())
                .map(|piece| piece.split_once('=').unwrap_or((piece, "")))
                .collect()
        });

        // Step 3: at most one '@'; the user may be anything, even empty.
        let (user, host_port) = match host_part.split_once('@') {
            Some((_, after)) if after.contains('@') => return Err(UriError::BadHostPart),
            Some((user, after)) => (Some(user), after),
            None => (None, host_part),
        };

        // Step 4: host[:port]; the host may be empty when a port follows.
        let host_port = host_port.trim();
        if host_port.is_empty() {
            return Err(UriError::EmptyHostPort);
        }
        let (host, port) = match host_port.split_once(':') {
            Some((host, port)) => (host, parse_port(port)?),
            None => (host_port, None),
        };

        Ok(Uri { user, host, port, params })
    }

    /// The user part: `None` when there is no `@`, `Some("")` for `@host`.
    pub fn user(&self) -> Option<&'a str> {
        self.user
    }

    /// The host, possibly empty (`":8080"`).
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The port; `None` when absent or 0 ("port 0 means no port").
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The value of parameter `name` (case-sensitive); the last occurrence
    /// wins. A parameter without `=` has the value `""`.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params.iter().rev().find(|(n, _)| *n == name).map(|&(_, value)| value)
    }

    /// All parameters as `(name, value)`, in input order, duplicates kept.
    pub fn params(&self) -> &[(&'a str, &'a str)] {
        &self.params
    }

    /// The first label (§3.2): the host text before its first `.`, or the
    /// whole host when it has no dot. Used for SLP selection.
    pub fn first_label(&self) -> &'a str {
        self.host.split_once('.').map_or(self.host, |(label, _)| label)
    }

    /// The host-port form `host[:port]`, port omitted when `None` (§3.2).
    /// Used for dynamic dialling.
    pub fn host_port(&self) -> String {
        let mut out = String::with_capacity(self.host.len() + 6);
        self.write_host_port(&mut out).unwrap_or_default();
        out
    }

    /// The user-host form `[user@]host`, never with a port (§3.2). This is
    /// the routing key. As in gortc, an empty user is omitted with its `@`.
    pub fn user_host(&self) -> String {
        let mut out = String::with_capacity(self.user.map_or(0, str::len) + 1 + self.host.len());
        self.write_user(&mut out).unwrap_or_default();
        out.push_str(self.host);
        out
    }

    /// The host part form `[user@]host[:port]` (§3.2), for display. An empty
    /// user is omitted with its `@`.
    pub fn host_part(&self) -> String {
        let mut out = String::with_capacity(self.user.map_or(0, str::len) + self.host.len() + 7);
        self.write_host_part(&mut out).unwrap_or_default();
        out
    }

    /// The parameters re-printed in order as `;name=value`, or `;name` when
    /// the value is empty (§3.2). Empty when there are no parameters.
    pub fn params_string(&self) -> String {
        let mut out = String::new();
        self.write_params(&mut out).unwrap_or_default();
        out
    }

    fn write_user(&self, w: &mut impl fmt::Write) -> fmt::Result {
        match self.user {
            Some(user) if !user.is_empty() => write!(w, "{user}@"),
            _ => Ok(()),
        }
    }

    fn write_host_port(&self, w: &mut impl fmt::Write) -> fmt::Result {
        w.write_str(self.host)?;
        match self.port {
            Some(port) => write!(w, ":{port}"),
            None => Ok(()),
        }
    }

    fn write_host_part(&self, w: &mut impl fmt::Write) -> fmt::Result {
        self.write_user(w)?;
        self.write_host_port(w)
    }

    fn write_params(&self, w: &mut impl fmt::Write) -> fmt::Result {
        for &(name, value) in &self.params {
            if value.is_empty() {
                write!(w, ";{name}")?;
            } else {
                write!(w, ";{name}={value}")?;
            }
        }
        Ok(())
    }
}

/// Prints the host part followed by the parameters string,
/// `[user@]host[:port][;name[=value]]*`.
impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_host_part(f)?;
        self.write_params(f)
    }
}

/// Parses the text after the first `:` of a host-port (§3.1 step 4).
///
/// An optional single `+` or `-`, then one or more ASCII digits; anything
/// else (including `""` and `80:90`) is `port-not-integer`. Any number of
/// digits is a valid integer, so huge values are `port-out-of-range`, as are
/// negative ones. Zero (also `-0`, `000`) means no port.
fn parse_port(text: &str) -> Result<Option<u16>, UriError> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::PortNotInteger);
    }
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(None);
    }
    if text.starts_with('-') {
        return Err(UriError::PortOutOfRange);
    }
    // Only ASCII digits remain, so the sole possible failure is overflow.
    significant.parse::<u16>().map(Some).map_err(|_| UriError::PortOutOfRange)
}

/// Splits a `Router` field value into its elements (§3.4): at every `,`,
/// each element trimmed of white space. Empty elements are kept, so the
/// iterator always yields at least one element (`""` yields `[""]`,
/// `"a,,b"` yields `["a", "", "b"]`). Borrows, never allocates.
pub fn split_router(router: &str) -> impl Iterator<Item = &str> + Clone {
    router.split(',').map(str::trim)
}

/// The first element of a `Router` field value, trimmed (§3.4); `""` when the
/// field starts with a comma or is empty. No allocation.
pub fn first_router(router: &str) -> &str {
    router.split_once(',').map_or(router, |(first, _)| first).trim()
}

/// Joins `Router` elements with `", "` for writing (§2.5, §3.4). Returns
/// `None` for an empty list: the field is then omitted. Elements are written
/// as given. A list holding one empty element gives `Some("")`.
pub fn join_router<S: AsRef<str>>(elements: &[S]) -> Option<String> {
    let (first, rest) = elements.split_first()?;
    let mut out = String::from(first.as_ref());
    for element in rest {
        out.push_str(", ");
        out.push_str(element.as_ref());
    }
    Some(out)
}

/// Drops the first element of a `Router` field value and re-joins the rest
/// with `", "`, each element trimmed (as the chatroom does, §17). Returns
/// `None` when no element is left (the field then disappears). Empty elements
/// count: `"a,"` leaves one empty element and gives `Some("")`.
pub fn drop_first_router(router: &str) -> Option<String> {
    let (_, rest) = router.split_once(',')?;
    let rest: Vec<&str> = split_router(rest).collect();
    join_router(&rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> Uri<'_> {
        match Uri::parse(input) {
            Ok(uri) => uri,
            Err(e) => panic!("{input:?} should parse, got {e}"),
        }
    }

    fn err(input: &str) -> UriError {
        match Uri::parse(input) {
            Ok(uri) => panic!("{input:?} should fail, parsed as {uri:?}"),
            Err(e) => e,
        }
    }

    fn only_param(piece: &str) -> (String, String) {
        let input = format!("h;{piece}");
        let uri = ok(&input);
        assert_eq!(uri.params().len(), 1, "{piece:?} should give one parameter");
        let (name, value) = uri.params()[0];
        (name.to_owned(), value.to_owned())
    }

    fn router(value: &str) -> Vec<&str> {
        split_router(value).collect()
    }

    // ----- §3.3 examples ---------------------------------------------------

    #[test]
    fn ex_plain_host() {
        let u = ok("test.com");
        assert_eq!(u.user(), None);
        assert_eq!(u.host(), "test.com");
        assert_eq!(u.port(), None);
        assert_eq!(u.user_host(), "test.com");
        assert_eq!(u.host_port(), "test.com");
        assert_eq!(u.host_part(), "test.com");
        assert_eq!(u.params(), &[]);
        assert_eq!(u.params_string(), "");
    }

    #[test]
    fn ex_host_with_port() {
        let u = ok("test.com:10086");
        assert_eq!(u.host(), "test.com");
        assert_eq!(u.port(), Some(10086));
        assert_eq!(u.user_host(), "test.com");
        assert_eq!(u.host_port(), "test.com:10086");
        assert_eq!(u.host_part(), "test.com:10086");
    }

    #[test]
    fn ex_full_uri() {
        let u = ok("user1@test.com:10086;aa=b;cc");
        assert_eq!(u.user(), Some("user1"));
        assert_eq!(u.host(), "test.com");
        assert_eq!(u.port(), Some(10086));
        assert_eq!(u.params(), &[("aa", "b"), ("cc", "")]);
        assert_eq!(u.param("aa"), Some("b"));
        assert_eq!(u.param("cc"), Some(""));
        assert_eq!(u.param("dd"), None);
        assert_eq!(u.params_string(), ";aa=b;cc");
        assert_eq!(u.user_host(), "user1@test.com");
        assert_eq!(u.host_port(), "test.com:10086");
        assert_eq!(u.host_part(), "user1@test.com:10086");
    }

    #[test]
    fn ex_colon_in_user() {
        let u = ok("room:test1@example.org");
        assert_eq!(u.user(), Some("room:test1"));
        assert_eq!(u.host(), "example.org");
        assert_eq!(u.port(), None);
        assert_eq!(u.user_host(), "room:test1@example.org");
    }

    #[test]
    fn ex_spaces_and_empty_pieces() {
        let u = ok("  a@b.c ; x = 1 ;; y");
        assert_eq!(u.user(), Some("a"));
        assert_eq!(u.host(), "b.c");
        assert_eq!(u.port(), None);
        assert_eq!(u.params(), &[("x ", " 1"), ("y", "")]);
        assert_eq!(u.param("x "), Some(" 1"));
        assert_eq!(u.param("x"), None);
        assert_eq!(u.params_string(), ";x = 1;y");
    }

    #[test]
    fn ex_value_with_equals() {
        assert_eq!(only_param("a=b=c=d"), ("a".into(), "b=c=d".into()));
    }

    #[test]
    fn ex_errors() {
        let cases = [
            ("user1@test.com@x", UriError::BadHostPart),
            ("test.com:test", UriError::PortNotInteger),
            ("test.com:", UriError::PortNotInteger),
            ("test.com:99999", UriError::PortOutOfRange),
            ("bob@;x", UriError::EmptyHostPort),
            ("", UriError::EmptyUri),
            ("   ", UriError::EmptyUri),
            (" \t\r\n\u{a0}\u{2003} ", UriError::EmptyUri),
        ];
        for (input, want) in cases {
            assert_eq!(err(input), want, "input {input:?}");
        }
    }

    #[test]
    fn ex_empty_host_with_port() {
        let u = ok(":8080");
        assert_eq!(u.user(), None);
        assert_eq!(u.host(), "");
        assert_eq!(u.port(), Some(8080));
        assert_eq!(u.first_label(), "");
        assert_eq!(u.host_port(), ":8080");
        assert_eq!(u.user_host(), "");
    }

    // ----- §18.2 parameters ------------------------------------------------

    #[test]
    fn param_with_value() {
        assert_eq!(only_param("a=b"), ("a".into(), "b".into()));
        assert_eq!(ok("h;a=b").params_string(), ";a=b");
    }

    #[test]
    fn param_without_value() {
        assert_eq!(only_param("a"), ("a".into(), "".into()));
        assert_eq!(ok("h;a").params_string(), ";a");
        // An explicit empty value also prints without '='.
        assert_eq!(ok("h;a=").params(), &[("a", "")]);
        assert_eq!(ok("h;a=").params_string(), ";a");
    }

    #[test]
    fn param_pieces_trimmed_including_tabs() {
        let u = ok("h;\t a=b \t; \tc\t");
        assert_eq!(u.params(), &[("a", "b"), ("c", "")]);
        assert_eq!(u.params_string(), ";a=b;c");
        // Inner white space survives.
        assert_eq!(ok("h;\ta\t=\tb\t").params(), &[("a\t", "\tb")]);
    }

    #[test]
    fn param_empty_pieces_skipped() {
        let u = ok("h;;a;; ;\t;b=1;");
        assert_eq!(u.params(), &[("a", ""), ("b", "1")]);
        assert_eq!(ok("h;").params(), &[]);
        assert_eq!(ok("h; ; ").params_string(), "");
    }

    #[test]
    fn param_duplicates_last_wins_all_kept() {
        let u = ok("h;a=1;b;a=2;a");
        assert_eq!(u.param("a"), Some(""));
        assert_eq!(u.param("b"), Some(""));
        assert_eq!(u.params(), &[("a", "1"), ("b", ""), ("a", "2"), ("a", "")]);
        assert_eq!(u.params_string(), ";a=1;b;a=2;a");
        assert_eq!(ok("h;a=1;a=2").param("a"), Some("2"));
    }

    #[test]
    fn param_names_case_sensitive() {
        let u = ok("h;Type=x");
        assert_eq!(u.param("Type"), Some("x"));
        assert_eq!(u.param("type"), None);
    }

    // ----- §18.2 host-port -------------------------------------------------

    #[test]
    fn hostport_no_port_prints_without_one() {
        let u = ok("test.com");
        assert_eq!(u.port(), None);
        assert_eq!(u.host_port(), "test.com");
        assert_eq!(u.to_string(), "test.com");
    }

    #[test]
    fn hostport_with_port() {
        let u = ok("test.com:10086");
        assert_eq!((u.host(), u.port()), ("test.com", Some(10086)));
    }

    #[test]
    fn hostport_not_integer() {
        for input in [
            "test.com:test",
            "test.com:",
            "test.com:80:90",
            "test.com:+",
            "test.com:-",
            "test.com:+-80",
            "test.com:--80",
            "test.com: 80",
            "test.com:8 0",
            "test.com:8_0",
            "test.com:0x50",
            "test.com:80a",
            "test.com:\u{664}\u{660}", // Arabic-Indic digits are not decimal ASCII
        ] {
            assert_eq!(err(input), UriError::PortNotInteger, "input {input:?}");
        }
    }

    #[test]
    fn hostport_out_of_range() {
        for input in [
            "test.com:99999",
            "test.com:65536",
            "test.com:-1",
            "test.com:-65535",
            "a@b:99999999999999999999999",
            "a@b:-99999999999999999999999",
        ] {
            assert_eq!(err(input), UriError::PortOutOfRange, "input {input:?}");
        }
    }

    #[test]
    fn hostport_signed_and_bounds() {
        assert_eq!(ok("test.com:+80").port(), Some(80));
        assert_eq!(ok("test.com:+80").host_port(), "test.com:80");
        assert_eq!(ok("test.com:65535").port(), Some(65535));
        assert_eq!(ok("test.com:1").port(), Some(1));
        assert_eq!(ok("test.com:0080").port(), Some(80));
        assert_eq!(ok("test.com:00000000000000000000000443").port(), Some(443));
    }

    #[test]
    fn hostport_port_zero_means_no_port() {
        for input in ["test.com:0", "test.com:-0", "test.com:+0", "test.com:000"] {
            let u = ok(input);
            assert_eq!(u.port(), None, "input {input:?}");
            assert_eq!(u.host_port(), "test.com", "input {input:?}");
        }
    }

    #[test]
    fn hostport_empty_host() {
        let u = ok(":8080");
        assert_eq!((u.host(), u.port()), ("", Some(8080)));
        let u = ok("bob@:8080");
        assert_eq!((u.user(), u.host(), u.port()), (Some("bob"), "", Some(8080)));
        // Host empty and port 0: valid, everything empty.
        assert_eq!(ok(":0").host_port(), "");
    }

    #[test]
    fn hostport_trimmed_but_host_not_retrimmed() {
        let u = ok("a@ \tb.c\t ;x");
        assert_eq!(u.host(), "b.c");
        assert_eq!(ok("b.c :80").host(), "b.c ");
        // The trailing white space of the host-port goes before the port is read.
        assert_eq!(ok("test.com:80 \t;x").port(), Some(80));
    }

    // ----- §18.2 URIs ------------------------------------------------------

    #[test]
    fn uri_host_only() {
        let u = ok("test.com");
        assert_eq!((u.user(), u.host(), u.port()), (None, "test.com", None));
    }

    #[test]
    fn uri_user_host_drops_port() {
        assert_eq!(ok("test.com:10086").user_host(), "test.com");
        assert_eq!(ok("u@test.com:10086;x=1").user_host(), "u@test.com");
    }

    #[test]
    fn uri_user_at_host() {
        let u = ok("user1@test.com");
        assert_eq!(u.user(), Some("user1"));
        assert_eq!(u.host(), "test.com");
        assert_eq!(u.port(), None);
        assert_eq!(u.user_host(), "user1@test.com");
        assert_eq!(u.host_part(), "user1@test.com");
    }

    #[test]
    fn uri_full_params_string() {
        let u = ok("user1@test.com:10086;aa=b;cc");
        assert_eq!(u.params_string(), ";aa=b;cc");
        assert_eq!(u.param("cc"), Some(""));
    }

    #[test]
    fn uri_two_ats_bad_host_part() {
        assert_eq!(err("user1@test.com@10086"), UriError::BadHostPart);
        assert_eq!(err("@@"), UriError::BadHostPart);
        // '@' inside a parameter is not part of the host part.
        assert_eq!(ok("a@b;c=d@e").param("c"), Some("d@e"));
    }

    #[test]
    fn uri_empty_host_port() {
        for input in ["bob@;x", "bob@", "bob@ \t", ";x", "@", " ; a=b "] {
            assert_eq!(err(input), UriError::EmptyHostPort, "input {input:?}");
        }
    }

    #[test]
    fn uri_empty_uri() {
        assert_eq!(err(""), UriError::EmptyUri);
    }

    #[test]
    fn uri_colon_in_user() {
        assert_eq!(ok("room:test1@example.org").user(), Some("room:test1"));
    }

    #[test]
    fn uri_empty_user() {
        let u = ok("@example.org");
        assert_eq!(u.user(), Some(""));
        assert_eq!(u.host(), "example.org");
        assert_eq!(u.user_host(), "example.org");
    }

    #[test]
    fn uri_error_order_follows_steps() {
        // Step 3 before step 4.
        assert_eq!(err("a@b@c:x"), UriError::BadHostPart);
        // Parameters never fail.
        assert_eq!(ok("h;=;==;a=b=").params(), &[("", ""), ("", "="), ("a", "b=")]);
    }

    // ----- §18.2 first label -----------------------------------------------

    #[test]
    fn first_label_cases() {
        let cases = [
            ("chatroom.example.org", "chatroom"),
            ("Recv_MESSAGE", "Recv_MESSAGE"),
            ("room:lobby@example.org", "example"),
            ("svc.example.org:8080;relid=x", "svc"),
            (".example.org", ""),
            (":8080", ""),
        ];
        for (input, want) in cases {
            assert_eq!(ok(input).first_label(), want, "input {input:?}");
        }
    }

    // ----- §18.2 Router ----------------------------------------------------

    #[test]
    fn router_two_trimmed_elements() {
        assert_eq!(router("router1, router2"), ["router1", "router2"]);
        assert_eq!(router(" \trouter1 ,\trouter2 \n"), ["router1", "router2"]);
        assert_eq!(first_router("router1, router2"), "router1");
    }

    #[test]
    fn router_empty_is_one_empty_element() {
        assert_eq!(router(""), [""]);
        assert_eq!(router("  "), [""]);
        assert_eq!(first_router(""), "");
        assert_eq!(Uri::parse(first_router("")), Err(UriError::EmptyUri));
    }

    #[test]
    fn router_empty_elements_kept() {
        assert_eq!(router("a,,b"), ["a", "", "b"]);
        assert_eq!(router(",a,"), ["", "a", ""]);
        assert_eq!(first_router(",a"), "");
    }

    #[test]
    fn router_first_element_parses() {
        let first = first_router(" media.example.org;type=conf , bob@example.org");
        assert_eq!(first, "media.example.org;type=conf");
        let u = ok(first);
        assert_eq!(u.first_label(), "media");
        assert_eq!(u.param("type"), Some("conf"));
        assert_eq!(Uri::parse(first_router("bob@;x, a")), Err(UriError::EmptyHostPort));
        assert_eq!(Uri::parse(first_router("node:abc")), Err(UriError::PortNotInteger));
    }

    #[test]
    fn router_join() {
        assert_eq!(join_router(&["a", "b;x=1", "c"]).as_deref(), Some("a, b;x=1, c"));
        assert_eq!(join_router(&["only"]).as_deref(), Some("only"));
        assert_eq!(join_router(&[String::from("a"), String::new()]).as_deref(), Some("a, "));
        assert_eq!(join_router(&[""]).as_deref(), Some(""));
        // Split then join re-normalises the separators.
        let parts: Vec<&str> = split_router("a ,b,  c").collect();
        assert_eq!(join_router(&parts).as_deref(), Some("a, b, c"));
    }

    #[test]
    fn router_omitted_when_empty() {
        let empty: [&str; 0] = [];
        assert_eq!(join_router(&empty), None);
        assert_eq!(join_router::<String>(&[]), None);
    }

    #[test]
    fn router_drop_first() {
        assert_eq!(drop_first_router("a, b,c ").as_deref(), Some("b, c"));
        assert_eq!(drop_first_router("a,b").as_deref(), Some("b"));
        assert_eq!(drop_first_router("chat.example.org"), None);
        assert_eq!(drop_first_router(""), None);
        assert_eq!(drop_first_router("a,").as_deref(), Some(""));
        assert_eq!(drop_first_router("a,,b").as_deref(), Some(", b"));
    }

    // ----- errors and printing ---------------------------------------------

    #[test]
    fn error_texts() {
        let cases = [
            (UriError::EmptyUri, "empty-uri"),
            (UriError::BadHostPart, "bad-host-part"),
            (UriError::EmptyHostPort, "empty-host-port"),
            (UriError::PortNotInteger, "port-not-integer"),
            (UriError::PortOutOfRange, "port-out-of-range"),
        ];
        for (e, text) in cases {
            assert_eq!(e.as_str(), text);
            assert_eq!(e.to_string(), text);
            assert_eq!(format!("bad Router: {e}"), format!("bad Router: {text}"));
        }
        let boxed: Box<dyn std::error::Error> = Box::new(UriError::EmptyUri);
        assert_eq!(boxed.to_string(), "empty-uri");
    }

    #[test]
    fn display_round_trip() {
        let cases = [
            ("test.com", "test.com"),
            ("test.com:10086", "test.com:10086"),
            ("user1@test.com:10086;aa=b;cc", "user1@test.com:10086;aa=b;cc"),
            ("room:test1@example.org", "room:test1@example.org"),
            (":8080", ":8080"),
            ("  a@b.c ; x = 1 ;; y", "a@b.c;x = 1;y"),
            ("h;a=b=c=d;a=;a", "h;a=b=c=d;a;a"),
            ("test.com:+80", "test.com:80"),
            ("test.com:0;p", "test.com;p"),
        ];
        for (input, printed) in cases {
            let u = ok(input);
            let text = u.to_string();
            assert_eq!(text, printed, "printing {input:?}");
            assert_eq!(text, format!("{}{}", u.host_part(), u.params_string()));
            assert_eq!(ok(&text), u, "re-parsing {text:?} from {input:?}");
        }
    }

    #[test]
    fn display_empty_user_is_dropped() {
        // Kept from gortc: an empty user is not printed, so this one does
        // not round-trip to the same value.
        let u = ok("@b:5;x");
        assert_eq!(u.to_string(), "b:5;x");
        assert_eq!(u.host_part(), "b:5");
        assert_ne!(ok("b:5;x"), u);
    }
}
