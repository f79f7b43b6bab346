//! `sonde-matcher`: what runs behind an open port.
//!
//! Given the port and whatever the service said, it names the service. This first matcher
//! knows the IANA names of well-known ports and a few unmistakable banner prefixes; the
//! compiled signature database replaces its internals without changing [`Identifier`].
//!
//! # Layout
//! - [`Identifier`]: the immutable matcher, cheap to share between threads.
//! - [`Observation`]: what was seen on a port (the input).
//! - [`ServiceMatch`]: a named service with its evidence and confidence (the output).
//!
//! ```
//! use sonde_matcher::{Identifier, Observation};
//! let id = Identifier::builtin();
//! let m = id.identify(&Observation { port: 2222, banner: Some(b"SSH-2.0-OpenSSH_9.2p1\r\n") });
//! assert_eq!(m.unwrap().service, "ssh");
//! ```
#![forbid(unsafe_code)]

mod identify;
mod port_names;

pub use identify::{Evidence, Identifier, Observation, ServiceMatch};
