//! End-to-end rotation over real HTTP: moto as Secrets Manager / SSM / KMS / SNS / SQS, the
//! Snowflake emulator in-process, and the function's real adapters.
//!
//! - [`stack`]: moto and the SDK clients (the function's pass through [`aws_faults`]).
//! - [`scenario`]: one emulator + user + secret + topic, and the function's ports.
//! - [`driver`]: Secrets Manager's side of a rotation, and the invariants.
//! - [`logs`]: log capture and the leak scan.
//! - [`audit_demo`]: the demo's audit runs over the CloudTrail emulator.

pub mod audit_demo;
pub mod aws_faults;
pub mod bad_input;
pub mod driver;
pub mod keys;
pub mod logs;
pub mod matrix;
pub mod scenario;
pub mod stack;

pub use aws_faults::{AwsFaultKind, AwsFaults};
pub use scenario::{Options, Scenario};
pub use stack::Stack;
