//! The raw-socket SYN engine.
//!
//! Probes are whole Ethernet frames written by this process onto an `AF_PACKET` socket, so no
//! kernel socket, connection table or ephemeral port is spent per probe. Replies come back
//! through a second `AF_PACKET` socket whose classic BPF filter lets only SYN-ACKs, resets and
//! ICMP unreachables for our source address through, and each one is validated statelessly:
//! the probe's sequence number is a keyed hash of its 4-tuple, so a reply proves itself by
//! acknowledging that number plus one, and a forged reply cannot.
//!
//! # Layout
//! - `frame`: the probe frame (Ethernet, IPv4, TCP with options), built in place.
//! - `parse`: a bounds-checked reader of received frames.
//! - `cookie`: the keyed hash (SipHash) of a probe's 4-tuple.
//! - `validate`: turns a received frame into a [`Reply`](crate::Reply) or rejects it.
//! - `route`: interface, source address and next-hop MAC from the kernel's tables.
//! - `schedule`: the order of windows, retries and waits, and the settled low-water mark.
//! - `bpf`: the receive filter program.
//! - `socket`: the batched sender and the filtered receiver.
//! - `engine`: [`SynEngine`](crate::SynEngine), which paces, sends, retries and collects.

pub(crate) mod bpf;
pub(crate) mod cookie;
pub(crate) mod engine;
pub(crate) mod frame;
pub(crate) mod parse;
pub(crate) mod route;
pub(crate) mod schedule;
pub(crate) mod socket;
pub(crate) mod validate;

#[cfg(test)]
mod robustness;
