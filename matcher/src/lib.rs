//! `sonde-matcher`: what runs behind an open port.
//!
//! Signatures are data (TOML files, one per protocol family, built into the binary under
//! `matcher/signatures/`). They compile into one immutable [`SignatureSet`]: per (probe,
//! field) an Aho-Corasick automaton over literal anchors names candidate signatures, and a
//! regex confirms each candidate in priority order and captures its version. Responses are
//! split into named [`Fields`] first, so a signature targets one field. The port number is
//! the last resort.
//!
//! # Layout
//! - [`Identifier`]: the matcher callers use, cheap to clone and share between threads.
//! - [`SignatureSet`]: the compiled database; [`LoadError`] says why a source was refused.
//! - [`Response`] and [`Observation`]: what was seen on a port (the input).
//! - [`Fields`]: a response split into named fields; [`TlsFacts`]: the `tls.*` fields of a
//!   handshake (the `tls` probe's bytes are what came inside TLS: an HTTP answer is matched
//!   by `http` signatures, a greeting by `null` ones).
//! - [`RecogDatabase`]: a Rapid7 Recog XML database, compiled alongside the signatures
//!   when a source's name ends in `.xml`; [`Untranslatable`] lists patterns left out.
//! - [`ServiceMatch`] and [`Evidence`]: a named service and what it rests on (the output).
//!
//! ```
//! use sonde_matcher::{Identifier, Response};
//! let id = Identifier::builtin();
//! let http = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n";
//! let m = id.identify_responses(8080, &[Response { probe: "http", data: http }]).unwrap();
//! assert_eq!((m.product.as_deref(), m.version.as_deref()), (Some("nginx"), Some("1.22.1")));
//! ```
#![forbid(unsafe_code)]

mod builtin;
mod error;
mod fields;
mod identify;
mod lazy_regex;
mod port_names;
mod recog;
mod response_index;
mod set;
mod signature;
mod template;
#[cfg(test)]
mod tests;

pub use error::{LoadError, LoadErrorKind};
pub use fields::{Fields, MAX_HEADERS, MAX_RESPONSE, Response, TlsFacts};
pub use identify::{Evidence, Identifier, Observation, ServiceMatch};
pub use recog::{RecogDatabase, RecogReport, Untranslatable};
pub use set::{ExampleFailure, SignatureSet};
