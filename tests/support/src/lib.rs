//! Test support: local servers for end-to-end tests over real HTTP.
//!
//! [`moto`] starts one moto server per test process (moto from the project venv, installed by
//! `scripts/bootstrap.sh`) and hands every test its endpoint and an SDK configuration pointing at it.
//! Tests share that server, so each test names its resources uniquely and never resets it.

mod moto;

pub use moto::{Moto, MotoError, moto, repo_root, try_moto, venv_bin};
