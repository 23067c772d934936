//! One module per subcommand: its clap `Args` and a `run` function.

pub mod audit;
pub mod fingerprint;
pub mod jwt;
pub mod keygen;
pub mod sql;
