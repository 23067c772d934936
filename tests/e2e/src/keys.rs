//! RSA keys generated once per process (generation dominates run time), handed out per scenario.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use snowkey_shared::keys::{KeyError, KeySize, PrivateKey};
use snowkey_shared::rotation::KeyGenerator;

/// Keys in the pool; a scenario never uses more than this many.
pub const POOL_SIZE: usize = 16;

fn pool() -> &'static [Vec<u8>] {
    static POOL: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    POOL.get_or_init(|| {
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        (0..POOL_SIZE / 2)
                            .map(|_| {
                                PrivateKey::generate(KeySize::Rsa2048)
                                    .expect("generate")
                                    .pkcs8_der()
                                    .to_vec()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("key worker"))
                .collect()
        })
    })
}

/// Every pooled key, for the leak scan.
pub fn all_pool_keys() -> Vec<PrivateKey> {
    pool()
        .iter()
        .map(|der| PrivateKey::from_bytes(der, None).expect("pooled key"))
        .collect()
}

/// Hands out pooled keys in order from a per-scenario offset, so keys never repeat within one
/// scenario (and scenarios sharing keys never share an emulator).
#[derive(Clone)]
pub struct PooledKeys {
    next: Arc<AtomicUsize>,
}

impl PooledKeys {
    pub fn new(offset: usize) -> Self {
        PooledKeys {
            next: Arc::new(AtomicUsize::new(offset)),
        }
    }

    /// The next key (also what the function's key generation returns).
    pub fn take(&self) -> PrivateKey {
        let index = self.next.fetch_add(1, Ordering::SeqCst) % POOL_SIZE;
        PrivateKey::from_bytes(&pool()[index], None).expect("pooled key")
    }
}

impl KeyGenerator for PooledKeys {
    fn generate(
        &self,
        _size: KeySize,
    ) -> impl Future<Output = Result<PrivateKey, KeyError>> + Send + 'static {
        std::future::ready(Ok(self.take()))
    }
}
