//! Field parsers: a raw response becomes named fields (`banner`, `ssh.ident`,
//! `http.header.server`, `http.title`...), so that a signature targets one field and no regex
//! has to skip headers to reach a body.
//!
//! Responses are attacker-controlled. Parsing looks at no more than [`MAX_RESPONSE`] bytes,
//! decodes invalid UTF-8 lossily, never panics, and keeps at most [`MAX_HEADERS`] headers.

use std::borrow::Cow;
use std::ops::Range;

/// Bytes of a response that parsing and matching look at; the rest is ignored.
pub const MAX_RESPONSE: usize = 64 * 1024;
/// HTTP headers kept per response; a response with thousands of headers costs no more.
pub const MAX_HEADERS: usize = 64;
/// Longest HTTP title kept, in bytes.
const MAX_TITLE: usize = 1024;
/// What an HTTP header's field name starts with.
const HEADER_PREFIX: &str = "http.header.";
/// The field names of the headers most responses carry, so that parsing them allocates
/// nothing (a `String` per header name was about a tenth of an HTTP identification).
const COMMON_HEADERS: &[&str] = &[
    "http.header.server",
    "http.header.date",
    "http.header.content-type",
    "http.header.content-length",
    "http.header.connection",
    "http.header.cache-control",
    "http.header.x-powered-by",
    "http.header.set-cookie",
    "http.header.location",
    "http.header.www-authenticate",
    "http.header.last-modified",
    "http.header.etag",
    "http.header.expires",
    "http.header.pragma",
    "http.header.vary",
    "http.header.accept-ranges",
    "http.header.keep-alive",
    "http.header.transfer-encoding",
    "http.header.content-encoding",
    "http.header.x-frame-options",
    "http.header.x-content-type-options",
    "http.header.x-xss-protection",
    "http.header.strict-transport-security",
    "http.header.content-security-policy",
    "http.header.referrer-policy",
    "http.header.access-control-allow-origin",
    "http.header.via",
];

/// What one probe got back from a port.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// The probe that was sent (`null` for waiting for a banner, `http`, `redis`...).
    pub probe: &'a str,
    /// The bytes received, as received.
    pub data: &'a [u8],
}

/// What a TLS handshake showed, for the `tls.*` fields (the `tls` probe). Values are
/// attacker-controlled text, as every response is.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsFacts<'a> {
    /// `tls.version`: `TLSv1.2`, `TLSv1.3`.
    pub version: Option<&'a str>,
    /// `tls.alpn`: the protocol the server picked.
    pub alpn: Option<&'a str>,
    /// `tls.cert.subject`: the certificate's subject, RFC 4514 style (`CN=x, O=y`).
    pub subject: Option<&'a str>,
    /// `tls.cert.issuer`: the certificate's issuer.
    pub issuer: Option<&'a str>,
    /// `tls.cert.san`: each subject alternative name is a value of its own.
    pub san: &'a [String],
}

impl<'a> TlsFacts<'a> {
    /// Every field as (name, value), SANs one by one.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'a str)> + use<'a> {
        let one = [
            ("tls.version", self.version),
            ("tls.alpn", self.alpn),
            ("tls.cert.subject", self.subject),
            ("tls.cert.issuer", self.issuer),
        ];
        one.into_iter()
            .filter_map(|(name, v)| v.map(|v| (name, v)))
            .chain(self.san.iter().map(|s| ("tls.cert.san", s.as_str())))
    }
}

/// A response split into named fields. Values are slices of the lossily decoded response.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    text: Cow<'a, str>,
    fields: Vec<(Cow<'static, str>, Range<usize>)>,
}

impl<'a> Fields<'a> {
    /// Parses the first [`MAX_RESPONSE`] bytes of `data`.
    pub fn parse(data: &'a [u8]) -> Self {
        let data = &data[..data.len().min(MAX_RESPONSE)];
        // Most responses are valid UTF-8: the standard validator checks ASCII a word at a
        // time, while lossy decoding walks byte by byte (a tenth of an HTTP identification).
        let text = match std::str::from_utf8(data) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(data),
        };
        // An HTTP response has a dozen fields or more: sized once rather than grown.
        let mut fields = Vec::with_capacity(32);
        parse_into(&text, &mut fields);
        Self { text, fields }
    }

    /// The value of field `name`; the first one when it occurs several times.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every field as (name, value), in response order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(name, range)| (name.as_ref(), &self.text[range.clone()]))
    }

    /// The decoded response that every field is a range of.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Every field as (name, range of [`text`](Self::text)), in response order.
    pub(crate) fn ranges(&self) -> impl Iterator<Item = (&str, Range<usize>)> {
        self.fields.iter().map(|(name, range)| (name.as_ref(), range.clone()))
    }
}

/// Whether `name` is a field the parsers can produce: a fixed name or `http.header.<name>`
/// with a lowercase header name.
pub(crate) fn is_known_field(name: &str) -> bool {
    const FIXED: &[&str] = &[
        "banner",
        "banner.line1",
        "banner.reply",
        "ssh.ident",
        "ssh.software",
        "http.status",
        "http.title",
        "http.body",
        "tls.version",
        "tls.alpn",
        "tls.cert.subject",
        "tls.cert.issuer",
        "tls.cert.san",
    ];
    if FIXED.contains(&name) {
        return true;
    }
    name.strip_prefix("http.header.").is_some_and(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    })
}

fn parse_into(text: &str, fields: &mut Vec<(Cow<'static, str>, Range<usize>)>) {
    fields.push((Cow::Borrowed("banner"), 0..text.len()));
    let line1 = memchr::memchr2(b'\r', b'\n', text.as_bytes()).unwrap_or(text.len());
    fields.push((Cow::Borrowed("banner.line1"), 0..line1));
    if text.starts_with("SSH-") {
        fields.push((Cow::Borrowed("ssh.ident"), 0..line1));
        // RFC 4253's "softwareversion SP comments", after `SSH-protoversion-`: what Recog's
        // `ssh.banner` patterns are written against.
        if let Some(dash) = text[4..line1].find('-') {
            fields.push((Cow::Borrowed("ssh.software"), 4 + dash + 1..line1));
        }
    }
    // `220 mail.example.com ESMTP`, `220-...`, `+OK ...`: the text of a greeting reply
    // without its status code, what Recog's `ftp.banner`, `smtp.banner`, `pop.banner` and
    // `imap.banner` patterns are written against.
    if let Some(start) = reply_text_start(&text[..line1]) {
        fields.push((Cow::Borrowed("banner.reply"), start..line1));
    }
    if text.starts_with("HTTP/") {
        parse_http(text, line1, fields);
    }
}

/// `HTTP/1.1 200 OK`, headers, a blank line, the body. Bare `\n` line ends are accepted
/// because embedded servers send them.
fn parse_http(text: &str, line1: usize, fields: &mut Vec<(Cow<'static, str>, Range<usize>)>) {
    let status_line = &text[..line1];
    if let Some(code) = status_line.split(' ').nth(1) {
        let start = status_line.find(code).unwrap_or(0);
        fields.push((Cow::Borrowed("http.status"), start..start + code.len()));
    }
    let mut pos = skip_line_end(text, line1);
    let mut headers = 0;
    let body_start = loop {
        if pos >= text.len() {
            break None;
        }
        let end = memchr::memchr(b'\n', &text.as_bytes()[pos..]).map_or(text.len(), |i| pos + i);
        let line = text[pos..end].trim_end_matches('\r');
        if line.is_empty() {
            break Some((end + 1).min(text.len()));
        }
        if headers < MAX_HEADERS
            && let Some(colon) = memchr::memchr(b':', line.as_bytes())
        {
            let value_start = pos + colon + 1;
            let value = trimmed(&text[value_start..pos + line.len()]);
            let name = &line[..colon];
            let name = &name[trimmed(name)];
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()) {
                let range = value_start + value.start..value_start + value.end;
                fields.push((header_field(name), range));
                headers += 1;
            }
        }
        pos = end + 1;
    };
    let Some(body_start) = body_start else { return };
    fields.push((Cow::Borrowed("http.body"), body_start..text.len()));
    if let Some(title) = title(&text[body_start..]) {
        let start = body_start + title.start;
        fields.push((Cow::Borrowed("http.title"), start..body_start + title.end));
    }
}

/// `http.header.<name>` with `name` lowercased: a static name for the common headers, one
/// allocation for the others.
fn header_field(name: &str) -> Cow<'static, str> {
    let known = COMMON_HEADERS.iter().find(|h| {
        h.len() == HEADER_PREFIX.len() + name.len()
            && h.as_bytes()[HEADER_PREFIX.len()..].eq_ignore_ascii_case(name.as_bytes())
    });
    if let Some(known) = known {
        return Cow::Borrowed(known);
    }
    let mut key = String::with_capacity(HEADER_PREFIX.len() + name.len());
    key.push_str(HEADER_PREFIX);
    key.extend(name.chars().map(|c| c.to_ascii_lowercase()));
    Cow::Owned(key)
}

/// The range of `s` that `str::trim` keeps, found without decoding characters when the
/// edges are ASCII (header names and values nearly always are).
fn trimmed(s: &str) -> Range<usize> {
    let b = s.as_bytes();
    let start = b.len() - b.trim_ascii_start().len();
    let end = b.trim_ascii_end().len();
    if start >= end {
        // Only ASCII white space: `str::trim` leaves an empty string at the end.
        return s.len()..s.len();
    }
    // `trim_ascii` keeps U+000B (vertical tab) and non-ASCII white space, which `str::trim`
    // removes: then the slow path decides.
    let plain = |c: u8| c.is_ascii() && c != 0x0b;
    if plain(b[start]) && plain(b[end - 1]) {
        return start..end;
    }
    let lead = s.len() - s.trim_start().len();
    lead..lead + s.trim().len()
}

/// Where the text of a status reply starts: after `NNN ` or `NNN-` (FTP, SMTP, NNTP), `+OK `
/// (POP3) or `* OK ` (IMAP).
fn reply_text_start(line1: &str) -> Option<usize> {
    let b = line1.as_bytes();
    if b.len() > 4 && b[..3].iter().all(u8::is_ascii_digit) && matches!(b[3], b' ' | b'-') {
        return Some(4);
    }
    ["+OK ", "* OK "].iter().find(|p| line1.starts_with(*p)).map(|p| p.len())
}

fn skip_line_end(text: &str, at: usize) -> usize {
    let rest = &text.as_bytes()[at..];
    match rest {
        [b'\r', b'\n', ..] => at + 2,
        [b'\r' | b'\n', ..] => at + 1,
        _ => at,
    }
}

/// The trimmed text between `<title ...>` and `</title`, as a range of `body`.
fn title(body: &str) -> Option<Range<usize>> {
    let open = find_ascii_ci(body, b"<title")?;
    let start = open + memchr::memchr(b'>', &body.as_bytes()[open..])? + 1;
    let len = find_ascii_ci(&body[start..], b"</title").unwrap_or(body.len() - start);
    let mut end = start + len.min(MAX_TITLE);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let raw = &body[start..end];
    let lead = raw.len() - raw.trim_start().len();
    Some(start + lead..start + raw.trim_end().len())
}

/// Position of `needle` (lowercase ASCII, starting with a byte that has no case, such as
/// `<`) in `hay`, ignoring ASCII case.
fn find_ascii_ci(hay: &str, needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    // Jump from one occurrence of the first byte to the next (a vectorised memchr) rather
    // than comparing a window at every byte of a kilobyte body.
    let hay = hay.as_bytes();
    memchr::memchr_iter(first, hay).find(|&at| {
        hay.get(at + 1..at + needle.len()).is_some_and(|tail| tail.eq_ignore_ascii_case(rest))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_responses_become_fields() {
        let raw = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nX-Powered-By:PHP/8.2\r\n\
            Content-Type: text/html\r\n\r\n<html><head><TITLE>\n  Pi-hole Admin </title></head>";
        let f = Fields::parse(raw);
        assert_eq!(f.get("http.status"), Some("200"));
        assert_eq!(f.get("http.header.server"), Some("nginx/1.22.1"));
        assert_eq!(f.get("http.header.x-powered-by"), Some("PHP/8.2"));
        assert_eq!(f.get("http.title"), Some("Pi-hole Admin"));
        assert!(f.get("http.body").unwrap().starts_with("<html>"));
        assert_eq!(f.get("banner.line1"), Some("HTTP/1.1 200 OK"));
        assert_eq!(f.get("ssh.ident"), None);
    }

    #[test]
    fn header_names_are_lowercased_whether_common_or_not() {
        for (name, want) in [
            ("Server", "http.header.server"),
            ("CONTENT-TYPE", "http.header.content-type"),
            ("X-Custom-Thing", "http.header.x-custom-thing"),
            ("Serve", "http.header.serve"),
            ("Servers", "http.header.servers"),
        ] {
            assert_eq!(header_field(name), want);
        }
        assert!(COMMON_HEADERS.iter().all(|h| is_known_field(h)));
    }

    #[test]
    fn bare_newlines_and_missing_bodies_are_accepted() {
        let f = Fields::parse(b"HTTP/1.0 401 Unauthorized\nWWW-Authenticate: Basic realm=\"x\"\n");
        assert_eq!(f.get("http.status"), Some("401"));
        assert_eq!(f.get("http.header.www-authenticate"), Some("Basic realm=\"x\""));
        assert_eq!(f.get("http.body"), None);
    }

    #[test]
    fn ssh_ident_is_the_first_line() {
        let f = Fields::parse(b"SSH-2.0-OpenSSH_9.6\r\nrest");
        assert_eq!(f.get("ssh.ident"), Some("SSH-2.0-OpenSSH_9.6"));
        assert_eq!(f.get("banner"), Some("SSH-2.0-OpenSSH_9.6\r\nrest"));
        assert_eq!(f.get("ssh.software"), Some("OpenSSH_9.6"));
        assert_eq!(Fields::parse(b"SSH-2.0").get("ssh.software"), None);
    }

    #[test]
    fn reply_text_drops_the_status_code() {
        for (raw, want) in [
            (
                b"220 mail.example.com ESMTP Postfix\r\n".as_slice(),
                Some("mail.example.com ESMTP Postfix"),
            ),
            (b"220-FileZilla Server 1.8.0\r\n220 ok", Some("FileZilla Server 1.8.0")),
            (b"+OK Dovecot ready.", Some("Dovecot ready.")),
            (b"* OK [CAPABILITY IMAP4rev1] ready", Some("[CAPABILITY IMAP4rev1] ready")),
            (b"220", None),
            (b"HTTP/1.1 200 OK", None),
        ] {
            assert_eq!(Fields::parse(raw).get("banner.reply"), want, "{raw:?}");
        }
    }

    #[test]
    fn hostile_input_is_bounded_and_never_panics() {
        let junk: Vec<u8> =
            (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let f = Fields::parse(&junk);
        assert!(
            f.get("banner").unwrap().len() <= MAX_RESPONSE * 3,
            "lossy decoding at most triples"
        );

        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..10_000 {
            many.extend_from_slice(format!("X-{i}: ").as_bytes());
            many.extend_from_slice(b"\xff\xfe\r\n");
        }
        let f = Fields::parse(&many);
        assert_eq!(f.iter().filter(|(n, _)| n.starts_with("http.header.")).count(), MAX_HEADERS);

        let no_newline = vec![b'A'; 10 << 20];
        assert_eq!(Fields::parse(&no_newline).get("banner.line1").unwrap().len(), MAX_RESPONSE);

        for cut in [
            b"HTTP/".as_slice(),
            b"HTTP/1.1",
            b"HTTP/1.1 200\r",
            b"HTTP/1.1 200\r\n\r\n<title",
            b"SSH-",
        ] {
            let f = Fields::parse(cut);
            assert!(f.get("banner").is_some());
        }
        let f = Fields::parse(b"HTTP/1.1 200 OK\r\n\r\n<title>\xe2\x82");
        assert_eq!(f.get("http.title"), Some("\u{fffd}"));
    }

    #[test]
    fn trimming_agrees_with_str_trim() {
        for s in [
            "",
            " ",
            "  \t",
            "x",
            " x ",
            "\tnginx/1.22\r",
            "\u{b}x\u{b}",
            " \u{a0}x\u{3000} ",
            "\u{a0}",
            "\u{b}",
            " \u{e9} ",
            "a b",
            " \u{85}",
        ] {
            let lead = s.len() - s.trim_start().len();
            assert_eq!(trimmed(s), lead..lead + s.trim().len(), "{s:?}");
        }
    }

    #[test]
    fn tags_are_found_ignoring_case() {
        for (hay, needle, want) in [
            ("<html><TiTlE>x", b"<title".as_slice(), Some(6)),
            ("<<<title", b"<title", Some(2)),
            ("a</TITLE", b"</title", Some(1)),
            ("<titl", b"<title", None),
            ("<tit<title", b"<title", Some(4)),
            ("no tag here", b"<title", None),
            ("", b"<title", None),
            ("\u{e9}<title", b"<title", Some(2)),
        ] {
            assert_eq!(find_ascii_ci(hay, needle), want, "{hay:?}");
        }
    }

    #[test]
    fn field_names_are_checked() {
        for ok in ["banner", "ssh.ident", "http.header.server", "http.header.x-powered-by"] {
            assert!(is_known_field(ok), "{ok}");
        }
        for bad in ["http.header.", "http.header.Server", "http.footer", "ssh"] {
            assert!(!is_known_field(bad), "{bad}");
        }
    }
}
