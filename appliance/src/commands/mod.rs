//! One module per subcommand.

pub mod doctor;
pub mod export;
pub mod scan;
pub mod schedule;
pub mod serve;
pub mod signatures;
pub mod token;
pub mod validate;
