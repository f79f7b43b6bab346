//! Docker discovery: what a Docker Engine API endpoint (Docker, or Podman's compatible service)
//! says about its containers, networks and itself.
//!
//! - `endpoint`: where the engine is ([`DockerEndpoint`]: a unix socket, or TCP with TLS) and
//!   connecting to it with a negotiated API version.
//! - `inventory`: the engine's answer turned into Sonde's own types ([`DockerInventory`]),
//!   smoothing over the differences between engines (null network maps for `none`/`host`,
//!   list order that changes between calls).
//! - `error`: [`DockerError`], classified so that an operator knows what to fix.

mod endpoint;
mod error;
mod inventory;

pub use endpoint::{DockerEndpoint, DockerTls, MIN_API_VERSION};
pub use error::DockerError;
pub use inventory::{
    ContainerAttachment, DockerContainer, DockerEngine, DockerInventory, DockerNetwork,
    PublishedPort,
};
