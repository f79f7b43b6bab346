//! One module per subcommand.

pub mod db;
pub mod doctor;
pub mod scan;
pub mod serve;
pub mod signatures;
pub mod token;
pub mod validate;
