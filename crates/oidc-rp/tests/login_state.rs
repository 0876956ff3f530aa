//! The in-memory login-state store: a state is consumed once, also under concurrent
//! callbacks; a failed check leaves it in place; expired logins are purged and never
//! returned; the bound holds, evicting expired logins before valid ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use oidc_rp::{Clock, Error, InMemoryLoginStateStore, LoginStateStore, PendingLogin};

const T0: i64 = 1_800_000_000;

fn pending(created_at: i64) -> PendingLogin {
    PendingLogin {
        issuer: "https://op.example.com".into(),
        client_id: "c".into(),
        nonce: "n".into(),
        pkce_verifier: "v".into(),
        max_age: None,
        created_at,
        browser_binding_hash: "h".into(),
    }
}

/// A clock the test moves.
struct StepClock(AtomicI64);

impl StepClock {
    fn at(now: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(now)))
    }

    fn set(&self, now: i64) {
        self.0.store(now, Ordering::Relaxed);
    }
}

impl Clock for StepClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

async fn created_at(store: &InMemoryLoginStateStore, state: &str) -> Option<i64> {
    store.take(state).await.expect("take").map(|l| l.created_at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_is_taken_once_under_concurrency() {
    let store: Arc<dyn LoginStateStore> = Arc::new(InMemoryLoginStateStore::with_ttl(
        10,
        600,
        StepClock::at(T0),
    ));
    store.save("s1", pending(T0)).await.expect("save");
    let takers: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take("s1").await.expect("take") })
        })
        .collect();
    let mut won = 0;
    for t in takers {
        if let Some(login) = t.await.expect("join") {
            assert_eq!(login.nonce, "n");
            won += 1;
        }
    }
    assert_eq!(won, 1);
    assert!(store.take("s1").await.expect("take").is_none());
}

#[tokio::test]
async fn a_failed_check_leaves_the_login_in_place() {
    let store = InMemoryLoginStateStore::with_ttl(10, 600, StepClock::at(T0));
    store.save("s1", pending(T0)).await.expect("save");
    let err = store
        .take_if("s1", &|_| Err(Error::BrowserBindingMismatch))
        .await
        .expect_err("check fails");
    assert!(matches!(err, Error::BrowserBindingMismatch));
    assert_eq!(store.len(), 1);
    let taken = store
        .take_if("s1", &|login| {
            assert_eq!(login.created_at, T0);
            Ok(())
        })
        .await
        .expect("take");
    assert_eq!(taken.map(|l| l.created_at), Some(T0));
    assert!(store.is_empty());
}

#[tokio::test]
async fn the_login_expiring_first_goes_when_full() {
    let store = InMemoryLoginStateStore::with_ttl(2, 600, StepClock::at(T0 + 30));
    store.save("a", pending(T0 + 10)).await.expect("save");
    store.save("b", pending(T0 + 20)).await.expect("save");
    store.save("c", pending(T0 + 30)).await.expect("save");
    assert_eq!(store.evictions(), 1);
    assert_eq!(created_at(&store, "a").await, None);
    assert_eq!(created_at(&store, "b").await, Some(T0 + 20));
    assert_eq!(created_at(&store, "c").await, Some(T0 + 30));
}

#[tokio::test]
async fn expired_logins_are_purged_first_and_never_returned() {
    let clock = StepClock::at(T0);
    let store = InMemoryLoginStateStore::with_ttl(3, 100, clock.clone());
    store.save("old-1", pending(T0)).await.expect("save");
    store.save("old-2", pending(T0)).await.expect("save");
    store.save("valid", pending(T0 + 50)).await.expect("save");
    assert_eq!(store.len(), 3);

    // At T0 + 120 the first two have expired (T0 + 100); "valid" lives until T0 + 150.
    clock.set(T0 + 120);
    // An expired login is not returned even before a purge removed it.
    assert_eq!(created_at(&store, "old-1").await, None);
    // The store is full by count, but saving purges the expired login instead of evicting
    // the valid one.
    store.save("new-1", pending(T0 + 120)).await.expect("save");
    store.save("new-2", pending(T0 + 120)).await.expect("save");
    assert_eq!(store.len(), 3);
    assert_eq!(store.evictions(), 0);
    assert_eq!(created_at(&store, "valid").await, Some(T0 + 50));
    assert_eq!(created_at(&store, "new-1").await, Some(T0 + 120));

    // Nothing is left after everything expired and one more operation ran.
    clock.set(T0 + 1_000);
    assert_eq!(created_at(&store, "new-2").await, None);
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_flood_stays_within_the_bound_and_is_counted() {
    let store = InMemoryLoginStateStore::with_ttl(100, 600, StepClock::at(T0));
    store.save("victim", pending(T0)).await.expect("save");
    for i in 0..10_000 {
        store
            .save(&format!("flood-{i}"), pending(T0 + 1))
            .await
            .expect("save");
    }
    assert_eq!(store.len(), 100);
    // The victim's login expired first, so it went first (the documented flood behaviour),
    // and every eviction of a valid login is counted.
    assert_eq!(created_at(&store, "victim").await, None);
    assert_eq!(store.evictions(), 9_901);
    assert_eq!(created_at(&store, "flood-9999").await, Some(T0 + 1));
    assert_eq!(created_at(&store, "flood-9899").await, None);
    assert_eq!(created_at(&store, "flood-9900").await, Some(T0 + 1));
}
