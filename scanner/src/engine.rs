//! Choosing an engine, and the enum that runs either.

use std::str::FromStr;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    ConnectConfig, ConnectEngine, Finding, Neighbour, Progress, ScanError, ScanPlan, SynConfig,
    SynEngine, TargetSet,
};

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

/// A ready engine of either kind; both run a [`ScanPlan`] the same way.
#[derive(Debug, Clone)]
pub enum Engine {
    /// TCP connect.
    Connect(ConnectEngine),
    /// Raw-socket SYN.
    Syn(SynEngine),
}

/// What [`Engine::choose`] decided.
#[derive(Debug)]
pub struct EngineChoice {
    /// The engine to run.
    pub engine: Engine,
    /// Why `auto` fell back to connect, when it did: worth telling the operator once.
    pub fallback: Option<ScanError>,
}

impl Engine {
    /// The engine `kind` asks for over `targets`. `Auto` takes SYN when raw sockets can be
    /// opened, the targets are not loopback and a path to them is found, and connect
    /// otherwise; `Syn` fails with the reason instead of falling back.
    pub fn choose(
        kind: EngineKind,
        targets: &TargetSet,
        connect: ConnectConfig,
        syn: SynConfig,
    ) -> Result<EngineChoice, ScanError> {
        let connect = |fallback| -> Result<EngineChoice, ScanError> {
            Ok(EngineChoice { engine: Engine::Connect(ConnectEngine::open(connect)?), fallback })
        };
        match kind {
            EngineKind::Connect => connect(None),
            EngineKind::Syn => Ok(EngineChoice {
                engine: Engine::Syn(SynEngine::open(syn, targets)?),
                fallback: None,
            }),
            EngineKind::Auto => match SynEngine::open(syn, targets) {
                Ok(engine) => Ok(EngineChoice { engine: Engine::Syn(engine), fallback: None }),
                Err(why) => connect(Some(why)),
            },
        }
    }

    /// `connect` or `syn`.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Connect(_) => "connect",
            Engine::Syn(_) => "syn",
        }
    }

    /// The on-link hosts of `targets` that answer ARP (see [`SynEngine::neighbours`]); empty
    /// for the connect engine, which cannot send ARP, and for routed targets.
    pub async fn neighbours(
        &self,
        targets: &TargetSet,
        cancel: &CancellationToken,
    ) -> Result<Vec<Neighbour>, ScanError> {
        match self {
            Engine::Connect(_) => Ok(Vec::new()),
            Engine::Syn(engine) => engine.neighbours(targets, cancel).await,
        }
    }

    /// Probes every pair of `plan`; see [`ConnectEngine::run`] and [`SynEngine::run`]. Only
    /// the SYN engine can fail: its interface can vanish mid-scan.
    pub async fn run(
        &self,
        plan: &ScanPlan,
        progress: &Progress,
        findings: mpsc::Sender<Finding>,
        cancel: CancellationToken,
    ) -> Result<(), ScanError> {
        match self {
            Engine::Connect(engine) => {
                engine.run(plan, progress, findings, cancel).await;
                Ok(())
            }
            Engine::Syn(engine) => engine.run(plan, progress, findings, cancel).await,
        }
    }

    /// [`run`](Self::run) over the plan indexes `range` only; `progress.settled_below`
    /// reports the checkpoint low-water mark. See [`ConnectEngine::run_range`] and
    /// [`SynEngine::run_range`].
    pub async fn run_range(
        &self,
        plan: &ScanPlan,
        range: std::ops::Range<u64>,
        progress: &Progress,
        findings: mpsc::Sender<Finding>,
        cancel: CancellationToken,
    ) -> Result<(), ScanError> {
        match self {
            Engine::Connect(engine) => {
                engine.run_range(plan, range, progress, findings, cancel).await;
                Ok(())
            }
            Engine::Syn(engine) => engine.run_range(plan, range, progress, findings, cancel).await,
        }
    }
}
