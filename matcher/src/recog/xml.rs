//! Reading a Recog XML database into raw fingerprints, with the line each starts on.

use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// The `<fingerprints>` element.
#[derive(Debug, Default)]
pub(crate) struct RawDatabase {
    pub(crate) matches: String,
    pub(crate) protocol: Option<String>,
    pub(crate) fingerprints: Vec<RawFingerprint>,
}

/// One `<fingerprint>` as written.
#[derive(Debug, Default)]
pub(crate) struct RawFingerprint {
    pub(crate) line: usize,
    pub(crate) pattern: String,
    pub(crate) flags: Option<String>,
    pub(crate) description: String,
    pub(crate) examples: Vec<RawExample>,
    pub(crate) params: Vec<RawParam>,
}

/// One `<example>`: the input and the params it must yield.
#[derive(Debug, Default)]
pub(crate) struct RawExample {
    /// `None` when the input lives in a separate file (`_filename`), which is not read.
    pub(crate) input: Option<String>,
    pub(crate) expected: Vec<(String, String)>,
}

/// One `<param>`.
#[derive(Debug)]
pub(crate) struct RawParam {
    pub(crate) pos: usize,
    pub(crate) name: String,
    pub(crate) value: Option<String>,
}

/// What is wrong, and on which line.
#[derive(Debug)]
pub(crate) struct XmlError {
    pub(crate) line: usize,
    pub(crate) problem: String,
}

/// Where text is being collected.
enum Collecting {
    Nothing,
    Description,
    Example { base64: bool },
}

/// Parses the whole database. Elements Recog ignores are skipped; a malformed document, a
/// fingerprint without a pattern or a param without a usable position is an error.
pub(crate) fn parse(text: &str) -> Result<RawDatabase, XmlError> {
    let mut reader = Reader::from_str(text);
    // Lines counted incrementally: positions only grow, and recounting from the start for
    // every event made large databases quadratic.
    let mut lines = LineCounter::default();
    let mut line_at = |pos: u64| lines.line_at(text, pos);
    let mut db: Option<RawDatabase> = None;
    let mut current: Option<RawFingerprint> = None;
    let mut collecting = Collecting::Nothing;
    let mut buffer = String::new();
    loop {
        let at = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let line = line_at(reader.error_position());
                return Err(XmlError { line, problem: format!("not well-formed XML: {e}") });
            }
        };
        let line = line_at(at);
        let error = |problem: String| XmlError { line, problem };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let attrs = attributes(e).map_err(&error)?;
                let get =
                    |name: &str| attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                match e.name().as_ref() {
                    "fingerprints" => {
                        let matches = get("matches").ok_or_else(|| {
                            error("<fingerprints> has no `matches` attribute".into())
                        })?;
                        db = Some(RawDatabase {
                            matches,
                            protocol: get("protocol"),
                            fingerprints: Vec::new(),
                        });
                    }
                    "fingerprint" => {
                        let pattern = get("pattern")
                            .ok_or_else(|| error("<fingerprint> has no `pattern`".into()))?;
                        let fp = RawFingerprint {
                            line,
                            pattern,
                            flags: get("flags"),
                            ..RawFingerprint::default()
                        };
                        if empty {
                            db.as_mut()
                                .ok_or_else(|| {
                                    error("<fingerprint> outside <fingerprints>".into())
                                })?
                                .fingerprints
                                .push(fp);
                        } else {
                            current = Some(fp);
                        }
                    }
                    "description" => {
                        collecting = Collecting::Description;
                        buffer.clear();
                    }
                    "example" => {
                        let fp = current
                            .as_mut()
                            .ok_or_else(|| error("<example> outside a <fingerprint>".into()))?;
                        let expected: Vec<(String, String)> =
                            attrs.iter().filter(|(k, _)| !k.starts_with('_')).cloned().collect();
                        if get("_filename").is_some() {
                            fp.examples.push(RawExample { input: None, expected });
                        } else {
                            let base64 = get("_encoding").as_deref() == Some("base64");
                            fp.examples.push(RawExample { input: Some(String::new()), expected });
                            collecting = Collecting::Example { base64 };
                            buffer.clear();
                            if empty {
                                finish_example(fp, &mut buffer, base64).map_err(&error)?;
                                collecting = Collecting::Nothing;
                            }
                        }
                    }
                    "param" => {
                        let fp = current
                            .as_mut()
                            .ok_or_else(|| error("<param> outside a <fingerprint>".into()))?;
                        let name =
                            get("name").ok_or_else(|| error("<param> has no `name`".into()))?;
                        let pos =
                            get("pos").and_then(|p| p.trim().parse::<usize>().ok()).ok_or_else(
                                || error(format!("<param name=\"{name}\"> needs a numeric `pos`")),
                            )?;
                        fp.params.push(RawParam { pos, name, value: get("value") });
                    }
                    _ => {}
                }
            }
            Event::Text(t) => buffer.push_str(&t.xml10_content()),
            Event::CData(t) => buffer.push_str(&t),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.xml10_content();
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| error(format!("unknown entity `&{name};`")))?
                            .to_string()
                    }
                    Err(e) => return Err(error(format!("bad character reference: {e}"))),
                };
                buffer.push_str(&resolved);
            }
            Event::End(e) => match e.name().as_ref() {
                "description" => {
                    if let Some(fp) = current.as_mut() {
                        fp.description = buffer.split_whitespace().collect::<Vec<_>>().join(" ");
                    }
                    collecting = Collecting::Nothing;
                }
                "example" => {
                    if let (Some(fp), Collecting::Example { base64 }) =
                        (current.as_mut(), &collecting)
                    {
                        finish_example(fp, &mut buffer, *base64).map_err(&error)?;
                    }
                    collecting = Collecting::Nothing;
                }
                "fingerprint" => {
                    let fp = current.take();
                    let db = db
                        .as_mut()
                        .ok_or_else(|| error("<fingerprint> outside <fingerprints>".into()))?;
                    db.fingerprints.extend(fp);
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        if matches!(collecting, Collecting::Nothing) {
            buffer.clear();
        }
    }
    db.ok_or_else(|| XmlError { line: 1, problem: "no <fingerprints> element".into() })
}

/// The line of a byte position, counted from the previous position asked for.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    line: usize,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, pos: u64) -> usize {
        let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(text.len());
        if pos < self.pos {
            *self = Self::default();
        }
        self.line += text.as_bytes()[self.pos..pos].iter().filter(|&&b| b == b'\n').count();
        self.pos = pos;
        self.line + 1
    }
}

fn finish_example(
    fp: &mut RawFingerprint,
    buffer: &mut String,
    base64: bool,
) -> Result<(), String> {
    let text = std::mem::take(buffer);
    let input = if base64 {
        let compact: String = text.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| format!("example is not valid base64: {e}"))?;
        // Sonde matches decoded text, as its field parsers do.
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        text
    };
    if let Some(ex) = fp.examples.last_mut() {
        ex.input = Some(input);
    }
    Ok(())
}

fn attributes(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    e.attributes()
        .map(|a| {
            let a = a.map_err(|e| format!("bad attribute: {e}"))?;
            let key = a.key.as_ref().to_string();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| format!("bad value of `{key}`: {e}"))?
                .into_owned();
            Ok((key, value))
        })
        .collect()
}
