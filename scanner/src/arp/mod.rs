//! ARP: who is on the link, and at which Ethernet address.
//!
//! Raw frames to an on-link target must carry that target's own MAC, and a host on the
//! appliance's own subnet that answers nothing else still answers ARP. A sweep asks every
//! address of a set, paced and with retries, on one `AF_PACKET` socket whose classic BPF
//! filter passes only ARP replies addressed to us.
//!
//! # Layout
//! - `frame`: the request frame, written in place, and the reply reader.
//! - `bpf`: the receive filter.
//! - `sweep`: [`ArpSweep`](crate::ArpSweep), which sends, retries and collects
//!   [`Neighbour`](crate::Neighbour)s.

pub(crate) mod bpf;
pub(crate) mod frame;
pub(crate) mod sweep;
