//! Choosing an engine.

use std::str::FromStr;

/// Which engine probes: the operator's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// SYN where the process may open raw sockets and the target is not local; connect
    /// otherwise.
    #[default]
    Auto,
    /// TCP connect.
    Connect,
    /// Raw-socket SYN.
    Syn,
}

impl FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "connect" => Ok(Self::Connect),
            "syn" => Ok(Self::Syn),
            other => Err(format!("unknown engine `{other}`: use auto, connect or syn")),
        }
    }
}
