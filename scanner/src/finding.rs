//! What a probe found.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;

/// Transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP: open means a datagram came back.
    Udp,
}

impl Proto {
    /// `tcp` or `udp`, as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// The outcome of probing one port: data, never an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortState {
    /// The handshake completed (or a SYN-ACK came back).
    Open,
    /// The host answered with a reset.
    Closed,
    /// No answer within the timeout, after every retry.
    Filtered,
}

/// An open port found by an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Address.
    pub ip: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// Protocol.
    pub proto: Proto,
    /// Always `Open` for now: engines report open ports only.
    pub state: PortState,
    /// Time from the probe that succeeded to its answer.
    pub rtt: Duration,
}
