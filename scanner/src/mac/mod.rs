//! Ethernet addresses and the organisations the IEEE assigned them to.
//!
//! # Layout
//! - `addr`: [`MacAddr`](crate::MacAddr), parsed from and shown as `02:5d:6c:00:00:02`.
//! - `vendor`: the longest-prefix lookup over the registry tables.
//! - `render`: writes the registry tables from the IEEE's assignments (the generator behind
//!   `registry.rs`).
//! - `registry`: the generated tables; see its header for the command that regenerates it.

pub(crate) mod addr;
pub(crate) mod render;
// Generated: one entry per line is easier to diff than what rustfmt would make of it.
#[rustfmt::skip]
mod registry;
pub(crate) mod vendor;
