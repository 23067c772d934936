//! A [`SecretStore`] that remembers the values of the last few versions it read by id or wrote.
//!
//! A version's value never changes (Secrets Manager refuses a different value under an existing
//! version id); only its labels move. So once a warm function has read or written a version, the
//! later steps of the same rotation need not fetch it again: setSecret, testSecret and finishSecret
//! resolve AWSCURRENT from their own `DescribeSecret` and read both versions by id. Labels are never
//! cached — every step still describes the secret, and the guards decide from that.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::aws::AwsError;
use crate::keys::Passphrase;

use super::{
    RotationToken, SecretDescription, SecretStore, SecretText, StoredVersion, VersionSelector,
};

/// Shared by every secret the instance rotates; one rotation needs two (current and pending).
const CAPACITY: usize = 8;

/// Wraps the real store; built once per cold start. Evicted values are zeroized on drop.
pub struct VersionCache<S> {
    inner: S,
    /// (secret id as the caller names it, version), oldest first.
    entries: Mutex<VecDeque<(String, StoredVersion)>>,
}

impl<S> VersionCache<S> {
    pub fn new(inner: S) -> Self {
        VersionCache {
            inner,
            entries: Mutex::new(VecDeque::with_capacity(CAPACITY)),
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn lookup(&self, secret_id: &str, version_id: &str) -> Option<StoredVersion> {
        self.lock()
            .iter()
            .find(|(secret, v)| secret == secret_id && v.version_id == version_id)
            .map(|(_, v)| v.clone())
    }

    fn remember(&self, secret_id: &str, version: StoredVersion) {
        let mut entries = self.lock();
        entries.retain(|(secret, v)| !(secret == secret_id && v.version_id == version.version_id));
        if entries.len() == CAPACITY {
            entries.pop_front();
        }
        entries.push_back((secret_id.to_string(), version));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, StoredVersion)>> {
        // A panic while holding the lock cannot leave an entry half-written: keep using it.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<S: SecretStore> SecretStore for VersionCache<S> {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, AwsError> {
        self.inner.describe(secret_id).await
    }

    async fn get_value(
        &self,
        secret_id: &str,
        selector: &VersionSelector,
    ) -> Result<Option<StoredVersion>, AwsError> {
        // Only reads by id are remembered and answered: a label may have moved since, and the
        // steps read by label only what they do not read again (AWSPREVIOUS, the admin secret).
        let VersionSelector::Version(id) = selector else {
            return self.inner.get_value(secret_id, selector).await;
        };
        if let Some(hit) = self.lookup(secret_id, id) {
            return Ok(Some(hit));
        }
        let read = self.inner.get_value(secret_id, selector).await?;
        if let Some(version) = &read {
            self.remember(secret_id, version.clone());
        }
        Ok(read)
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretText,
        rotation_token: Option<&RotationToken>,
    ) -> Result<(), AwsError> {
        self.inner
            .put_pending(secret_id, token, value, rotation_token)
            .await?;
        // Stored under the token exactly as sent (an error leaves nothing remembered).
        self.remember(
            secret_id,
            StoredVersion {
                version_id: token.to_string(),
                text: value.clone(),
            },
        );
        Ok(())
    }

    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
    ) -> Result<(), AwsError> {
        self.inner
            .move_current(secret_id, to_version, from_version)
            .await
    }

    async fn random_passphrase(&self) -> Result<Passphrase, AwsError> {
        self.inner.random_passphrase().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::rotation::Stage;
    use crate::rotation::memory::MemorySecretStore;

    /// Counts the reads that reach the real store.
    struct Counting {
        store: MemorySecretStore,
        reads: AtomicUsize,
    }

    impl SecretStore for Counting {
        async fn describe(&self, id: &str) -> Result<SecretDescription, AwsError> {
            self.store.describe(id).await
        }
        async fn get_value(
            &self,
            id: &str,
            selector: &VersionSelector,
        ) -> Result<Option<StoredVersion>, AwsError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.store.get_value(id, selector).await
        }
        async fn put_pending(
            &self,
            id: &str,
            token: &str,
            value: &SecretText,
            rotation_token: Option<&RotationToken>,
        ) -> Result<(), AwsError> {
            self.store
                .put_pending(id, token, value, rotation_token)
                .await
        }
        async fn move_current(
            &self,
            id: &str,
            to: &str,
            from: Option<&str>,
        ) -> Result<(), AwsError> {
            self.store.move_current(id, to, from).await
        }
        async fn random_passphrase(&self) -> Result<Passphrase, AwsError> {
            self.store.random_passphrase().await
        }
    }

    fn cache() -> (VersionCache<Counting>, String) {
        let store = MemorySecretStore::new();
        let secret = store.create_secret("svc", r#"{"v":1}"#, &[]);
        let cache = VersionCache::new(Counting {
            store,
            reads: AtomicUsize::new(0),
        });
        (cache, secret)
    }

    fn reads(cache: &VersionCache<Counting>) -> usize {
        cache.inner().reads.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_version_read_by_id_is_answered_from_memory_and_a_label_always_asked() {
        let (cache, secret) = cache();
        let current = cache
            .inner()
            .store
            .version_at(&secret, Stage::Current)
            .unwrap();
        let by_id = VersionSelector::Version(current.clone());
        let by_label = VersionSelector::Stage(Stage::Current);

        let first = cache.get_value(&secret, &by_id).await.unwrap().unwrap();
        let again = cache.get_value(&secret, &by_id).await.unwrap().unwrap();
        assert_eq!(
            (first.version_id.as_str(), again.text.expose()),
            (current.as_str(), r#"{"v":1}"#)
        );
        assert_eq!(reads(&cache), 1, "the second read by id came from memory");

        cache.get_value(&secret, &by_label).await.unwrap();
        cache.get_value(&secret, &by_label).await.unwrap();
        assert_eq!(reads(&cache), 3, "a label may have moved: always asked");
    }

    #[tokio::test]
    async fn a_stored_pending_value_is_remembered_and_a_failed_store_is_not() {
        let (cache, secret) = cache();
        let token = cache.inner().store.begin_rotation(&secret);
        let by_token = VersionSelector::Version(token.clone());
        assert!(cache.get_value(&secret, &by_token).await.unwrap().is_none());
        assert_eq!(reads(&cache), 1, "no value yet: nothing remembered");

        let value = SecretText::new(r#"{"v":2}"#);
        cache
            .put_pending(&secret, &token, &value, None)
            .await
            .unwrap();
        let read = cache.get_value(&secret, &by_token).await.unwrap().unwrap();
        assert_eq!(read.text.expose(), r#"{"v":2}"#);
        assert_eq!(reads(&cache), 1);

        let refused = cache
            .put_pending("no-such-secret", "t", &SecretText::new("{}"), None)
            .await;
        assert!(refused.is_err());
        let unknown = VersionSelector::Version("t".into());
        assert!(cache.get_value("no-such-secret", &unknown).await.is_err());
        assert_eq!(
            reads(&cache),
            2,
            "the failed put left nothing to answer from"
        );
    }

    #[tokio::test]
    async fn memory_holds_a_bounded_number_of_versions_across_secrets() {
        let (cache, secret) = cache();
        for i in 0..=CAPACITY {
            cache.remember(
                "other",
                StoredVersion {
                    version_id: format!("v{i}"),
                    text: SecretText::new("{}"),
                },
            );
        }
        assert_eq!(cache.lock().len(), CAPACITY);
        assert!(
            cache.lookup("other", "v0").is_none(),
            "the oldest went first"
        );
        assert!(cache.lookup("other", &format!("v{CAPACITY}")).is_some());
        let current = cache
            .inner()
            .store
            .version_at(&secret, Stage::Current)
            .unwrap();
        assert!(
            cache.lookup(&secret, &current).is_none(),
            "keyed by secret and version"
        );
    }
}
