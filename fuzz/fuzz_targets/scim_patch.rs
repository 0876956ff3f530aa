//! The SCIM PATCH engine, driven through the real service and in-memory store.
//!
//! Each input is a PATCH request body, sent to a provisioned User and to a Group. Properties:
//! nothing panics; a rejected PATCH leaves the stored resource exactly as it was; an accepted
//! PATCH leaves a resource that GET returns.
#![no_main]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use scim_core::{InMemoryStore, ScimConfig, ScimService};
use serde_json::{Value, json};

const BASE: &str = "https://example.com/scim/v2";

/// Runs a future of the in-memory store to completion. Its store holds a plain mutex, so every
/// future is ready at the first poll; the loop is for form's sake.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn call(service: &ScimService, method: Method, path: &str, body: Vec<u8>) -> (u16, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/scim+json")
        .body(Bytes::from(body));
    let Ok(request) = request else {
        panic!("test request for {path} is not a valid http::Request");
    };
    let response = block_on(service.handle(BASE, request));
    let status = response.status().as_u16();
    let json = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (status, json)
}

fn create(service: &ScimService, path: &str, body: Value) -> String {
    let (status, created) = call(service, Method::POST, path, body.to_string().into_bytes());
    assert_eq!(status, 201, "seed resource not created: {created}");
    match created["id"].as_str() {
        Some(id) => id.to_owned(),
        None => panic!("created resource has no id: {created}"),
    }
}

fn check_patch(service: &ScimService, location: &str, body: &[u8]) {
    let (_, before) = call(service, Method::GET, location, Vec::new());
    let (status, answer) = call(service, Method::PATCH, location, body.to_vec());
    let (after_status, after) = call(service, Method::GET, location, Vec::new());
    assert_eq!(after_status, 200, "GET after PATCH ({status}): {after}");
    match status {
        200 | 204 => {}
        400..=499 => {
            assert_eq!(answer["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
            assert_eq!(before, after, "a rejected PATCH ({status}) changed {location}");
        }
        _ => panic!("PATCH answered {status}: {answer}"),
    }
}

fuzz_target!(|body: &[u8]| {
    let service = ScimService::new(ScimConfig::default(), Arc::new(InMemoryStore::new()));
    let manager = create(
        &service,
        "/Users",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "boss"}),
    );
    let user = create(
        &service,
        "/Users",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "bjensen", "externalId": "e1", "active": true, "displayName": "Babs",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                       {"value": "babs@example.org", "type": "home"}],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
            "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                {"employeeNumber": "701984", "department": "Tours", "manager": {"value": manager}}
        }),
    );
    let group = create(
        &service,
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "displayName": "Tour Guides", "members": [{"value": user}, {"value": manager}]}),
    );
    check_patch(&service, &format!("/Users/{user}"), body);
    check_patch(&service, &format!("/Groups/{group}"), body);
});
