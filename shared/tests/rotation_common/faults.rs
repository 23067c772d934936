//! A wrapper around every port that fails the k-th I/O call, before or after it takes effect.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use snowkey_shared::aws::AwsError;
use snowkey_shared::keys::{Passphrase, PublicKey};
use snowkey_shared::notify::Notification;
use snowkey_shared::rotation::{
    Connection, KeyMirror, KeyRegistry, Notifier, SecretDescription, SecretStore, SecretText,
    SetKeyOutcome, StoredVersion, VersionSelector,
};
use snowkey_shared::snowflake::{Slot, SnowflakeError, UserKeySlots};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// The call fails without taking effect (an error or a timeout before the service acted).
    Before,
    /// The call takes effect, then the function crashes before seeing the answer.
    After,
}

/// Counts I/O calls and fails the `fail_at`-th (1-based; 0 = never).
pub struct FaultPlan {
    calls: AtomicUsize,
    fail_at: AtomicUsize,
    mode: FaultMode,
    /// The process dies at `fail_at`: every later call fails too (until disarmed).
    crash: bool,
    pub log: Mutex<Vec<&'static str>>,
}

impl FaultPlan {
    pub fn new(fail_at: usize, mode: FaultMode) -> Arc<Self> {
        Arc::new(FaultPlan {
            calls: AtomicUsize::new(0),
            fail_at: AtomicUsize::new(fail_at),
            mode,
            crash: false,
            log: Mutex::new(Vec::new()),
        })
    }
    /// The `at`-th call takes effect and the function dies before it learns so: no later call
    /// happens (they all fail), unlike [`FaultMode::After`] where the function sees an error.
    pub fn crash_after(at: usize) -> Arc<Self> {
        Arc::new(FaultPlan {
            calls: AtomicUsize::new(0),
            fail_at: AtomicUsize::new(at),
            mode: FaultMode::After,
            crash: true,
            log: Mutex::new(Vec::new()),
        })
    }
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    pub fn disarm(&self) {
        self.fail_at.store(0, Ordering::SeqCst);
    }
    fn hit(&self, operation: &'static str) -> Option<FaultMode> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.log.lock().unwrap().push(operation);
        let at = self.fail_at.load(Ordering::SeqCst);
        if self.crash && at != 0 && n > at {
            return Some(FaultMode::Before);
        }
        (n == at).then_some(self.mode)
    }
}

pub struct Faulty<T> {
    pub inner: T,
    pub plan: Arc<FaultPlan>,
}

fn aws_fault(operation: &'static str) -> AwsError {
    AwsError::Other {
        operation,
        message: "injected fault".into(),
    }
}

fn snowflake_fault() -> SnowflakeError {
    SnowflakeError::Http {
        status: 503,
        message: "injected fault".into(),
    }
}

macro_rules! inject {
    ($self:ident, $op:literal, $err:expr, $call:expr) => {
        match $self.plan.hit($op) {
            None => $call.await,
            Some(FaultMode::Before) => Err($err),
            Some(FaultMode::After) => {
                let _ = $call.await;
                Err($err)
            }
        }
    };
}

impl<T: SecretStore> SecretStore for Faulty<T> {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, AwsError> {
        inject!(
            self,
            "DescribeSecret",
            aws_fault("DescribeSecret"),
            self.inner.describe(secret_id)
        )
    }
    async fn get_value(
        &self,
        secret_id: &str,
        selector: &VersionSelector,
    ) -> Result<Option<StoredVersion>, AwsError> {
        inject!(
            self,
            "GetSecretValue",
            aws_fault("GetSecretValue"),
            self.inner.get_value(secret_id, selector)
        )
    }
    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretText,
        rotation_token: Option<&snowkey_shared::rotation::RotationToken>,
    ) -> Result<(), AwsError> {
        inject!(
            self,
            "PutSecretValue",
            aws_fault("PutSecretValue"),
            self.inner
                .put_pending(secret_id, token, value, rotation_token)
        )
    }
    async fn move_current(
        &self,
        secret_id: &str,
        to: &str,
        from: Option<&str>,
    ) -> Result<(), AwsError> {
        inject!(
            self,
            "UpdateSecretVersionStage",
            aws_fault("UpdateSecretVersionStage"),
            self.inner.move_current(secret_id, to, from)
        )
    }
    async fn random_passphrase(&self) -> Result<Passphrase, AwsError> {
        inject!(
            self,
            "GetRandomPassword",
            aws_fault("GetRandomPassword"),
            self.inner.random_passphrase()
        )
    }
}

impl<T: KeyRegistry> KeyRegistry for Faulty<T> {
    async fn describe_user(
        &self,
        conn: &Connection,
        user: &str,
    ) -> Result<UserKeySlots, SnowflakeError> {
        inject!(
            self,
            "DESC USER",
            snowflake_fault(),
            self.inner.describe_user(conn, user)
        )
    }
    async fn set_key(
        &self,
        conn: &Connection,
        user: &str,
        slot: Slot,
        key: &PublicKey,
    ) -> Result<SetKeyOutcome, SnowflakeError> {
        inject!(
            self,
            "ALTER USER SET",
            snowflake_fault(),
            self.inner.set_key(conn, user, slot, key)
        )
    }
    async fn unset_key(
        &self,
        conn: &Connection,
        user: &str,
        slot: Slot,
    ) -> Result<(), SnowflakeError> {
        inject!(
            self,
            "ALTER USER UNSET",
            snowflake_fault(),
            self.inner.unset_key(conn, user, slot)
        )
    }
    async fn current_user(&self, conn: &Connection) -> Result<String, SnowflakeError> {
        inject!(
            self,
            "SELECT CURRENT_USER()",
            snowflake_fault(),
            self.inner.current_user(conn)
        )
    }
}

impl<T: Notifier> Notifier for Faulty<T> {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        inject!(
            self,
            "Publish",
            aws_fault("Publish"),
            self.inner.publish(notification)
        )
    }
}

impl<T: KeyMirror> KeyMirror for Faulty<T> {
    async fn put_secure(&self, name: &str, value: &SecretText) -> Result<(), AwsError> {
        inject!(
            self,
            "PutParameter",
            aws_fault("PutParameter"),
            self.inner.put_secure(name, value)
        )
    }
}
