//! In-memory adapters of every port, for tests of the domain and for trying the steps offline.
//!
//! They model the semantics the steps rely on: Secrets Manager's version stages (a label on at
//! most one version, AWSPREVIOUS following AWSCURRENT, the empty AWSPENDING placeholder that
//! RotateSecret creates) and Snowflake's two key slots (a key authenticates iff a slot holds it;
//! optionally refusing the same key in both slots). Handles are cheap clones of shared state.

mod registry;
mod store;

pub use registry::MemoryKeyRegistry;
pub use store::{MemorySecretStore, SecretSnapshot};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::aws::AwsError;
use crate::keys::{KeyError, KeySize, PrivateKey};
use crate::notify::Notification;

use super::{KeyGenerator, KeyMirror, Notifier, SecretText};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Collects published notifications.
#[derive(Clone, Default)]
pub struct MemoryNotifier {
    published: Arc<Mutex<Vec<Notification>>>,
}

impl MemoryNotifier {
    pub fn published(&self) -> Vec<Notification> {
        lock(&self.published).clone()
    }
}

impl Notifier for MemoryNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        lock(&self.published).push(notification.clone());
        Ok(())
    }
}

/// SSM parameters in memory.
#[derive(Clone, Default)]
pub struct MemoryMirror {
    parameters: Arc<Mutex<BTreeMap<String, SecretText>>>,
}

impl MemoryMirror {
    pub fn get(&self, name: &str) -> Option<SecretText> {
        lock(&self.parameters).get(name).cloned()
    }
    pub fn names(&self) -> Vec<String> {
        lock(&self.parameters).keys().cloned().collect()
    }
}

impl KeyMirror for MemoryMirror {
    async fn put_secure(&self, name: &str, value: &SecretText) -> Result<(), AwsError> {
        lock(&self.parameters).insert(name.to_string(), value.clone());
        Ok(())
    }
}

/// Hands out keys generated ahead of time (RSA generation dominates test time), in order.
#[derive(Clone)]
pub struct PregeneratedKeys {
    keys: Arc<Vec<Vec<u8>>>,
    next: Arc<AtomicUsize>,
}

impl PregeneratedKeys {
    /// `keys` as unencrypted PKCS#8 DER.
    pub fn new(keys: Arc<Vec<Vec<u8>>>) -> Self {
        PregeneratedKeys {
            keys,
            next: Arc::new(AtomicUsize::new(0)),
        }
    }
    /// Starts handing out from `index`, so callers can keep lower indices for their own use.
    pub fn starting_at(keys: Arc<Vec<Vec<u8>>>, index: usize) -> Self {
        PregeneratedKeys {
            keys,
            next: Arc::new(AtomicUsize::new(index)),
        }
    }
}

impl KeyGenerator for PregeneratedKeys {
    fn generate(
        &self,
        _size: KeySize,
    ) -> impl Future<Output = Result<PrivateKey, KeyError>> + Send + 'static {
        let index = self.next.fetch_add(1, Ordering::SeqCst);
        std::future::ready(
            self.keys
                .get(index)
                .ok_or_else(|| KeyError::Generation("the pre-generated keys are used up".into()))
                .and_then(|der| PrivateKey::from_bytes(der, None)),
        )
    }
}
