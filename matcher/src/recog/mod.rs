//! Rapid7 Recog fingerprint databases (the XML format also used by runZero), compiled
//! alongside Sonde's own signatures.
//!
//! A database is one `<fingerprints matches="ssh.banner" protocol="ssh">` element holding
//! `<fingerprint pattern=... flags=...>` elements in priority order: Recog takes the first
//! fingerprint, in file order, whose pattern matches. Each has a `<description>`, `<example>`
//! inputs (optionally base64) whose attributes name the params they must yield, and
//! `<param pos="N" name=... value=...>`: position 0 is a fixed value (which may interpolate
//! `{other.param}`), any other position a capture group.
//!
//! Patterns are Ruby regexes. [`ruby`] rewrites what the `regex` crate spells differently;
//! what it cannot express (backreferences, lookaround, atomic groups) is counted and
//! reported as untranslatable, never an error: a database stays usable without them.
//!
//! # Layout
//! - `xml`: the XML reader, into raw fingerprints with their line numbers.
//! - `ruby`: Ruby regex syntax and flags to the `regex` crate's.
//! - `database`: [`RecogDatabase`], Recog's own semantics (params, examples) and the
//!   conversion into Sonde signatures (field mapping, templates, CPE 2.3).

mod database;
mod ruby;
#[cfg(test)]
mod tests;
mod xml;

pub use database::{RecogDatabase, RecogReport, Untranslatable};
