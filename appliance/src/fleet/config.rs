//! `[cluster]`: who this appliance is among those sharing a PostgreSQL store, and what it can
//! reach.

use std::time::Duration;

use serde::Deserialize;
use sonde_scanner::TargetSet;

use crate::actors::DEFAULT_CHUNK_ATTEMPTS;
use crate::error::UsageError;

/// `[cluster]` as written. Only read when the store is PostgreSQL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// This appliance's name, unique among those sharing the store (default: the hostname).
    pub name: Option<String>,
    /// Networks (CIDRs) this appliance can reach (default: all, `0.0.0.0/0`).
    pub reach: Option<Vec<String>>,
    /// Networks only appliances listing them here may scan: a DMZ sensor's subnets.
    #[serde(default)]
    pub exclusive: Vec<String>,
    /// Seconds a leased chunk stays this appliance's without a renewal (default 30); after
    /// that another appliance takes it over from its last checkpoint.
    pub lease_secs: Option<u64>,
    /// Failed attempts at a chunk (its engine could not start or failed) after which it is
    /// given up and its scan ends failed naming it (default 3).
    pub chunk_attempts: Option<u32>,
}

/// Validated `[cluster]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSettings {
    /// Unique name.
    pub name: String,
    /// Reachable networks, as written.
    pub reach: Vec<String>,
    /// Exclusive networks, as written.
    pub exclusive: Vec<String>,
    /// Lease duration.
    pub lease: Duration,
    /// Failed attempts after which a chunk is given up.
    pub chunk_attempts: u32,
}

/// Longest accepted appliance name.
const MAX_NAME: usize = 64;

impl ClusterConfig {
    /// Checks names and networks; `hostname` names the appliance when the file does not.
    pub fn validate(self, hostname: &str) -> Result<ClusterSettings, UsageError> {
        let name = self.name.unwrap_or_else(|| hostname.to_owned());
        let name_ok = !name.is_empty()
            && name.len() <= MAX_NAME
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !name_ok {
            return Err(UsageError::new(format!(
                "cluster.name `{name}` must be 1 to {MAX_NAME} letters, digits, `.`, `-` or `_`"
            )));
        }
        let reach = self.reach.unwrap_or_else(|| vec!["0.0.0.0/0".to_owned()]);
        for (field, list) in [("reach", &reach), ("exclusive", &self.exclusive)] {
            for cidr in list {
                networks(std::slice::from_ref(cidr)).map_err(|e| {
                    UsageError::new(format!("cluster.{field}: `{cidr}` is not a network: {e}"))
                })?;
            }
        }
        let lease_secs = self.lease_secs.unwrap_or(30);
        if !(2..=3600).contains(&lease_secs) {
            return Err(UsageError::new(format!(
                "cluster.lease_secs = {lease_secs} is out of range: use 2 to 3600"
            )));
        }
        let chunk_attempts = self.chunk_attempts.unwrap_or(DEFAULT_CHUNK_ATTEMPTS);
        if !(1..=100).contains(&chunk_attempts) {
            return Err(UsageError::new(format!(
                "cluster.chunk_attempts = {chunk_attempts} is out of range: use 1 to 100"
            )));
        }
        Ok(ClusterSettings {
            name,
            reach,
            exclusive: self.exclusive,
            lease: Duration::from_secs(lease_secs),
            chunk_attempts,
        })
    }
}

/// The inclusive integer ranges of `cidrs` (validated ones never fail).
pub(crate) fn networks(cidrs: &[String]) -> Result<Vec<(u32, u32)>, sonde_scanner::TargetError> {
    let set = TargetSet::parse(cidrs)?;
    Ok(set.ranges().iter().map(|r| (u32::from(r.first), u32::from(r.last))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_reach_everything_under_the_hostname() {
        let s = ClusterConfig::default().validate("box-1").unwrap();
        assert_eq!((s.name.as_str(), s.reach.clone()), ("box-1", vec!["0.0.0.0/0".to_owned()]));
        assert_eq!(s.lease, Duration::from_secs(30));
        assert_eq!(s.chunk_attempts, 3);
        assert_eq!(networks(&s.reach).unwrap(), vec![(0, u32::MAX)]);
    }

    #[test]
    fn bad_values_are_refused_with_their_field() {
        let cases = [
            (ClusterConfig { name: Some("a b".into()), ..Default::default() }, "cluster.name"),
            (
                ClusterConfig { reach: Some(vec!["10.0.0.0/33".into()]), ..Default::default() },
                "cluster.reach",
            ),
            (
                ClusterConfig { exclusive: vec!["dmz".into()], ..Default::default() },
                "cluster.exclusive",
            ),
            (ClusterConfig { lease_secs: Some(1), ..Default::default() }, "cluster.lease_secs"),
            (
                ClusterConfig { chunk_attempts: Some(0), ..Default::default() },
                "cluster.chunk_attempts",
            ),
        ];
        for (config, field) in cases {
            let e = config.validate("h").unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}
