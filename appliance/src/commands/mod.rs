//! One module per subcommand.

pub mod db;
pub mod docker;
pub mod doctor;
pub mod export;
pub mod scan;
mod scan_identify;
mod scan_names;
mod scan_udp;
pub mod schedule;
pub mod serve;
pub mod signatures;
pub mod token;
pub mod user;
pub mod validate;
