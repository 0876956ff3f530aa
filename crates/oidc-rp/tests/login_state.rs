//! The in-memory login-state store: a state is consumed once, also under concurrent
//! callbacks, and the store stays within its bound.

use std::sync::Arc;

use oidc_rp::{InMemoryLoginStateStore, LoginStateStore, PendingLogin};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_is_taken_once_under_concurrency() {
    let store: Arc<dyn LoginStateStore> = Arc::new(InMemoryLoginStateStore::default());
    store.save("s1", pending(1)).await.expect("save");
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
async fn the_oldest_pending_login_goes_when_full() {
    let store = InMemoryLoginStateStore::new(2);
    store.save("a", pending(10)).await.expect("save");
    store.save("b", pending(20)).await.expect("save");
    store.save("c", pending(30)).await.expect("save");
    assert!(store.take("a").await.expect("take").is_none());
    assert_eq!(
        store.take("b").await.expect("take").map(|l| l.created_at),
        Some(20)
    );
    assert_eq!(
        store.take("c").await.expect("take").map(|l| l.created_at),
        Some(30)
    );
}
