//! Pending logins between the redirect to the provider and the callback: what is kept, the
//! async store trait with its atomic check-and-take, and a bounded in-memory store.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::flow::DEFAULT_LOGIN_TTL_SECS;

/// What is kept between the redirect to the provider and the callback. `Debug` shows only
/// the issuer, client id, `max_age` and creation time; the `nonce` and the PKCE verifier are
/// redacted.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The issuer the login was started with.
    pub issuer: String,
    /// The client id the login was started with.
    pub client_id: String,
    /// The `nonce` sent.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
    /// The `max_age` sent.
    pub max_age: Option<i64>,
    /// When the login started (seconds since the epoch).
    pub created_at: i64,
    /// SHA-256 (base64url) of the browser binding value handed to the host with the
    /// authorization request; the store never holds the value itself.
    pub browser_binding_hash: String,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("nonce", &REDACTED)
            .field("pkce_verifier", &REDACTED)
            .field("max_age", &self.max_age)
            .field("created_at", &self.created_at)
            .field("browser_binding_hash", &REDACTED)
            .finish()
    }
}

/// The check [`LoginStateStore::take_if`] runs on a pending login before removing it.
pub type TakeCheck<'a> = &'a (dyn Fn(&PendingLogin) -> Result<()> + Send + Sync);

/// Storage of pending logins, keyed by `state`. `take_if` must check and remove atomically:
/// a state is consumed once, also under concurrent callbacks.
#[async_trait]
pub trait LoginStateStore: Send + Sync {
    /// Stores a pending login under `state`.
    async fn save(&self, state: &str, login: PendingLogin) -> Result<()>;

    /// Runs `check` on the pending login stored under `state`: when it passes, the login is
    /// removed and returned; when it fails, the login stays stored and the check's error is
    /// returned (so a callback with someone else's `state` but not their browser binding
    /// cannot burn their login). `Ok(None)` when nothing is stored under `state`.
    async fn take_if(&self, state: &str, check: TakeCheck<'_>) -> Result<Option<PendingLogin>>;

    /// Removes and returns the pending login stored under `state`, unconditionally.
    async fn take(&self, state: &str) -> Result<Option<PendingLogin>> {
        self.take_if(state, &|_| Ok(())).await
    }
}

/// An in-process [`LoginStateStore`]: bounded in size, expired logins purged.
///
/// Each pending login expires `ttl_secs` after its `created_at` (10 minutes by default, the
/// [`crate::ClientConfig::login_ttl_secs`] default; use the longest of the connections
/// sharing the store). Expired logins are purged on every `save` and `take_if`, oldest first,
/// each in O(log n), and an expired login is never returned. When the store is full after the
/// purge, the login that expires first is evicted (O(log n)): the bound holds and no scan of
/// the store is needed.
///
/// **Floods**: starting a login needs no authentication, so a client that starts logins
/// faster than `max_entries / ttl_secs` per second evicts other users' pending logins, and
/// their callbacks then fail with [`crate::Error::UnknownState`] (they must start again).
/// The store cannot tell a flood from busy hours; the host should rate-limit login starts
/// (per client address) and size `max_entries` above its peak logins per TTL.
/// [`InMemoryLoginStateStore::evictions`] counts valid logins evicted, for alerting.
///
/// `Debug` shows the number of entries, never a `state` or a pending login.
pub struct InMemoryLoginStateStore {
    inner: Mutex<Entries>,
    max_entries: usize,
    ttl_secs: i64,
    clock: Arc<dyn Clock>,
}

/// The logins by `state`, and an index by expiry (with a sequence number to keep equal
/// expiries apart).
#[derive(Default)]
struct Entries {
    by_state: HashMap<String, (PendingLogin, ExpiryKey)>,
    by_expiry: BTreeMap<ExpiryKey, String>,
    next_seq: u64,
    evictions: u64,
}

type ExpiryKey = (i64, u64);

impl Entries {
    /// Removes every login that expired at or before `now`, oldest first.
    fn purge_expired(&mut self, now: i64) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let state = entry.remove();
            self.by_state.remove(&state);
        }
    }

    fn remove(&mut self, state: &str) -> Option<(PendingLogin, ExpiryKey)> {
        let removed = self.by_state.remove(state)?;
        self.by_expiry.remove(&removed.1);
        Some(removed)
    }
}

impl fmt::Debug for InMemoryLoginStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryLoginStateStore")
            .field("entries", &self.len())
            .field("max_entries", &self.max_entries)
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

impl Default for InMemoryLoginStateStore {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl InMemoryLoginStateStore {
    /// A store holding at most `max_entries` pending logins, each for 10 minutes, on the
    /// system clock.
    pub fn new(max_entries: usize) -> Self {
        Self::with_ttl(max_entries, DEFAULT_LOGIN_TTL_SECS, Arc::new(SystemClock))
    }

    /// A store holding at most `max_entries` pending logins, each for `ttl_secs` after its
    /// `created_at` by `clock`.
    pub fn with_ttl(max_entries: usize, ttl_secs: i64, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::new(Entries::default()),
            max_entries: max_entries.max(1),
            ttl_secs,
            clock,
        }
    }

    /// How many logins are stored (expired ones not yet purged included).
    pub fn len(&self) -> usize {
        self.lock().by_state.len()
    }

    /// Whether no login is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many logins that had not expired were evicted to make room (see the flood note
    /// of [`InMemoryLoginStateStore`]).
    pub fn evictions(&self) -> u64 {
        self.lock().evictions
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The entries are plain values, updated together under the lock; a panic elsewhere
        // cannot leave them half-updated.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl LoginStateStore for InMemoryLoginStateStore {
    async fn save(&self, state: &str, login: PendingLogin) -> Result<()> {
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.purge_expired(now);
        entries.remove(state);
        while entries.by_state.len() >= self.max_entries {
            let Some((_, evicted)) = entries.by_expiry.pop_first() else {
                break;
            };
            entries.by_state.remove(&evicted);
            entries.evictions += 1;
        }
        let key = (
            login.created_at.saturating_add(self.ttl_secs),
            entries.next_seq,
        );
        entries.next_seq += 1;
        entries.by_expiry.insert(key, state.to_owned());
        entries.by_state.insert(state.to_owned(), (login, key));
        Ok(())
    }

    async fn take_if(&self, state: &str, check: TakeCheck<'_>) -> Result<Option<PendingLogin>> {
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.purge_expired(now);
        match entries.by_state.get(state) {
            None => return Ok(None),
            Some((login, _)) => check(login)?,
        }
        Ok(entries.remove(state).map(|(login, _)| login))
    }
}

/// Shown in place of a secret by the manual `Debug` implementations.
pub(crate) struct Redacted;

pub(crate) const REDACTED: Redacted = Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
