//! Contract between `infra/template.yaml` and the code it deploys (issue 6): every function the template
//! names is a binary of this workspace, its environment is exactly what its configuration reads, and its
//! role grants no action its code does not call (beyond a short, explained list the platform needs).

pub mod contract;
pub mod scan;
pub mod template;
pub mod workspace;

/// Why the contract could not even be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("cannot parse the template: {0}")]
    Template(String),
    #[error("cargo metadata failed: {0}")]
    Metadata(String),
}
