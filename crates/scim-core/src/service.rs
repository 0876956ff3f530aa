//! The sans-IO SCIM handler: an `http::Request` in, an `http::Response` out, for one
//! directory.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::compat::CompatProfile;
use crate::error::{ErrorKind, ScimError};
use crate::filter::{AttrPath, Filter, parse_filter};
use crate::resource::{self, Meta};
use crate::schema::{ResourceKind, ResourceSchema};
use crate::store::{ResourceStore, StoreError, StoreQuery};

/// The media type of SCIM responses.
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";
/// The schema URN of list responses.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The schema URN of search requests.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// What the server supports and its limits; advertised by `/ServiceProviderConfig`.
#[derive(Debug, Clone)]
pub struct ScimConfig {
    /// The largest page a list returns; a larger `count` is clamped to it.
    pub max_results: usize,
    /// The most operations a Bulk request may carry.
    pub bulk_max_operations: usize,
    /// The largest request body, in bytes, for Bulk and every other request.
    pub max_payload_size: usize,
    /// Which provider deviations are accepted.
    pub compat: CompatProfile,
    /// How often a write is recomputed when a concurrent write changed the resource between
    /// reading it and storing it (only when the client sent no `If-Match`; with one, the
    /// answer is 412). Each retry means another write succeeded, so the default (1000) is
    /// reached only by a store that never settles.
    pub write_retries: usize,
    /// A documentation URI advertised by `/ServiceProviderConfig`.
    pub documentation_uri: Option<String>,
}

impl Default for ScimConfig {
    fn default() -> Self {
        Self {
            max_results: 100,
            bulk_max_operations: 1000,
            max_payload_size: 1_048_576,
            compat: CompatProfile::default(),
            write_retries: 1000,
            documentation_uri: None,
        }
    }
}

/// The SCIM service of one directory.
#[derive(Clone)]
pub struct ScimService {
    pub(crate) config: ScimConfig,
    pub(crate) store: Arc<dyn ResourceStore>,
    pub(crate) types: Arc<Vec<ResourceSchema>>,
}

impl std::fmt::Debug for ScimService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a request asks for, parsed from the URI and headers.
#[derive(Debug, Default, Clone)]
pub(crate) struct Projection {
    pub(crate) attributes: Vec<AttrPath>,
    pub(crate) excluded: Vec<AttrPath>,
}

impl ScimService {
    /// A service with the built-in User (with Enterprise User) and Group types.
    pub fn new(config: ScimConfig, store: Arc<dyn ResourceStore>) -> Self {
        Self::with_types(
            config,
            store,
            vec![ResourceSchema::user(), ResourceSchema::group()],
        )
    }

    /// A service with the given resource types (for custom schemas and extensions).
    pub fn with_types(
        config: ScimConfig,
        store: Arc<dyn ResourceStore>,
        types: Vec<ResourceSchema>,
    ) -> Self {
        Self {
            config,
            store,
            types: Arc::new(types),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ScimConfig {
        &self.config
    }

    /// The resource types served.
    pub fn resource_types(&self) -> &[ResourceSchema] {
        &self.types
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ResourceStore> {
        &self.store
    }

    /// Handles one request. `base_url` is the absolute URL of the SCIM root (such as
    /// `https://app.example.com/scim/v2`), used for `meta.location`; the request's URI path
    /// is relative to that root (`/Users/2819c223`).
    pub async fn handle(&self, base_url: &str, request: Request<Bytes>) -> Response<Bytes> {
        let base = base_url.trim_end_matches('/');
        match self.route(base, request).await {
            Ok(r) => r,
            Err(e) => error_response(&e),
        }
    }

    async fn route(
        &self,
        base: &str,
        request: Request<Bytes>,
    ) -> Result<Response<Bytes>, ScimError> {
        let (parts, body) = request.into_parts();
        if body.len() > self.config.max_payload_size {
            return Err(ScimError::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "the request body is {} bytes; the limit is {}",
                    body.len(),
                    self.config.max_payload_size
                ),
            ));
        }
        let path = parts.uri.path().trim_end_matches('/');
        let query = parts.uri.query().unwrap_or("");
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let method = &parts.method;
        let headers = &parts.headers;

        match segments.as_slice() {
            [] if method == Method::GET => Err(ScimError::not_found(
                "the SCIM root lists nothing; see /ResourceTypes",
            )),
            [s] if s.eq_ignore_ascii_case("ServiceProviderConfig") => {
                require(method, &[Method::GET])?;
                Ok(json_response(
                    StatusCode::OK,
                    &self.service_provider_config(base),
                    None,
                ))
            }
            [s] if s.eq_ignore_ascii_case("Schemas") => {
                require(method, &[Method::GET])?;
                Ok(json_response(
                    StatusCode::OK,
                    &self.schemas_list(base, query)?,
                    None,
                ))
            }
            [s, id] if s.eq_ignore_ascii_case("Schemas") => {
                require(method, &[Method::GET])?;
                Ok(json_response(
                    StatusCode::OK,
                    &self.schema_by_id(base, id)?,
                    None,
                ))
            }
            [s] if s.eq_ignore_ascii_case("ResourceTypes") => {
                require(method, &[Method::GET])?;
                Ok(json_response(
                    StatusCode::OK,
                    &self.resource_types_list(base, query)?,
                    None,
                ))
            }
            [s, id] if s.eq_ignore_ascii_case("ResourceTypes") => {
                require(method, &[Method::GET])?;
                Ok(json_response(
                    StatusCode::OK,
                    &self.resource_type_by_id(base, id)?,
                    None,
                ))
            }
            [s] if s.eq_ignore_ascii_case("Bulk") => {
                require(method, &[Method::POST])?;
                let body = parse_json(&body)?;
                let out = self.bulk(base, &body).await?;
                Ok(json_response(StatusCode::OK, &out, None))
            }
            [s] if s.eq_ignore_ascii_case(".search") => {
                require(method, &[Method::POST])?;
                let body = parse_json(&body)?;
                let out = self.search_root(base, &body).await?;
                Ok(json_response(StatusCode::OK, &out, None))
            }
            [s] if s.eq_ignore_ascii_case("Me") => Err(ScimError::new(
                ErrorKind::NotImplemented,
                "/Me is not supported: tokens belong to a directory, not a user",
            )),
            [endpoint, rest @ ..] => {
                let schema = self.type_for_endpoint(endpoint)?;
                let projection = parse_projection(query)?;
                match rest {
                    [] if method == Method::GET => {
                        let params = ListParams::from_query(query)?;
                        if let Some(f) = &params.filter
                            && let Some(p) = never_returned_path(f, schema)
                        {
                            return Err(ScimError::new(
                                ErrorKind::Sensitive,
                                format!("\"{p}\" must not be sent in a URI; use POST .search"),
                            ));
                        }
                        let out = self.list(base, schema, &params, &projection).await?;
                        Ok(json_response(StatusCode::OK, &out, None))
                    }
                    [] if method == Method::POST => {
                        let body = parse_json(&body)?;
                        let (res, etag) = self.create(base, schema, &body).await?;
                        let shown = self.present(schema, res, &projection).await?;
                        let mut r = json_response(StatusCode::CREATED, &shown, Some(&etag));
                        if let Some(loc) = shown.pointer("/meta/location").and_then(Value::as_str)
                            && let Ok(v) = HeaderValue::from_str(loc)
                        {
                            r.headers_mut().insert(header::LOCATION, v);
                        }
                        Ok(r)
                    }
                    [] => Err(method_not_allowed(method)),
                    [s] if s.eq_ignore_ascii_case(".search") => {
                        require(method, &[Method::POST])?;
                        let body = parse_json(&body)?;
                        let (params, projection) = ListParams::from_search_body(&body)?;
                        let out = self.list(base, schema, &params, &projection).await?;
                        Ok(json_response(StatusCode::OK, &out, None))
                    }
                    [id] => {
                        let if_match = header_str(headers, header::IF_MATCH);
                        match *method {
                            Method::GET => {
                                let stored = self.get_stored(schema, id).await?;
                                let etag = etag_of(&stored);
                                if let Some(inm) = header_str(headers, header::IF_NONE_MATCH)
                                    && etag_matches(inm, &etag)
                                {
                                    return Ok(not_modified(&etag));
                                }
                                let shown = self.present(schema, stored, &projection).await?;
                                Ok(json_response(StatusCode::OK, &shown, Some(&etag)))
                            }
                            Method::PUT => {
                                let body = parse_json(&body)?;
                                let (res, etag) = self.replace(schema, id, &body, if_match).await?;
                                let shown = self.present(schema, res, &projection).await?;
                                Ok(json_response(StatusCode::OK, &shown, Some(&etag)))
                            }
                            Method::PATCH => {
                                let body = parse_json(&body)?;
                                let (res, etag) = self.patch(schema, id, &body, if_match).await?;
                                let shown = self.present(schema, res, &projection).await?;
                                Ok(json_response(StatusCode::OK, &shown, Some(&etag)))
                            }
                            Method::DELETE => {
                                self.delete(schema, id, if_match).await?;
                                Ok(empty_response(StatusCode::NO_CONTENT))
                            }
                            _ => Err(method_not_allowed(method)),
                        }
                    }
                    _ => Err(ScimError::not_found(format!("no endpoint at \"{path}\""))),
                }
            }
            _ => Err(ScimError::not_found(format!("no endpoint at \"{path}\""))),
        }
    }

    pub(crate) fn type_for_endpoint(&self, endpoint: &str) -> Result<&ResourceSchema, ScimError> {
        self.types
            .iter()
            .find(|t| {
                t.resource_type
                    .endpoint
                    .trim_start_matches('/')
                    .eq_ignore_ascii_case(endpoint)
            })
            .ok_or_else(|| ScimError::not_found(format!("no resource type at \"/{endpoint}\"")))
    }

    pub(crate) async fn get_stored(
        &self,
        schema: &ResourceSchema,
        id: &str,
    ) -> Result<Value, ScimError> {
        self.store
            .get(&schema.kind, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ScimError::not_found(format!("{} \"{id}\" not found", schema.resource_type.name))
            })
    }

    /// POST: validates and stores a new resource; returns it with its ETag.
    pub(crate) async fn create(
        &self,
        base: &str,
        schema: &ResourceSchema,
        body: &Value,
    ) -> Result<(Value, String), ScimError> {
        let attrs = resource::normalize(body, schema, self.config.compat)?;
        resource::check_rules(&attrs, None, schema)?;
        let attrs = self.check_references(schema, attrs, base, None).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let location = format!("{base}{}/{id}", schema.resource_type.endpoint);
        let unique = resource::unique_keys(&attrs, schema);
        let stored = resource::assemble(
            attrs,
            schema,
            &id,
            Meta::new(location, OffsetDateTime::now_utc()),
        );
        self.store
            .insert(&schema.kind, stored.clone(), unique)
            .await
            .map_err(store_error)?;
        tracing::debug!(resource_type = %schema.resource_type.name, id = %id, "created");
        let etag = etag_of(&stored);
        Ok((stored, etag))
    }

    /// PUT: replaces the resource's attributes.
    pub(crate) async fn replace(
        &self,
        schema: &ResourceSchema,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<(Value, String), ScimError> {
        self.write_loop(schema, id, if_match, |stored| {
            let attrs = resource::normalize(body, schema, self.config.compat)?;
            // A PUT may not change `id`: a body with a different id is rejected.
            if let Some(body_id) = body.get("id").and_then(Value::as_str)
                && body_id != id
            {
                return Err(ScimError::mutability(format!(
                    "\"id\" is read-only: body has \"{body_id}\", resource is \"{id}\""
                )));
            }
            resource::check_rules(&attrs, Some(stored), schema)?;
            Ok(attrs)
        })
        .await
    }

    /// PATCH: applies a PatchOp request atomically.
    pub(crate) async fn patch(
        &self,
        schema: &ResourceSchema,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<(Value, String), ScimError> {
        self.write_loop(schema, id, if_match, |stored| {
            let current = resource::attributes_of(stored);
            let patched = crate::patch::apply_patch(&current, body, schema, self.config.compat)?;
            // Re-validate the whole result as a replace of the stored resource.
            let mut whole = Map::new();
            whole.insert(
                "schemas".into(),
                stored.get("schemas").cloned().unwrap_or(Value::Null),
            );
            whole.extend(patched);
            let attrs = resource::normalize(&Value::Object(whole), schema, self.config.compat)?;
            resource::check_rules(&attrs, Some(stored), schema)?;
            Ok(attrs)
        })
        .await
    }

    /// Reads, computes the new attributes with `update`, and stores them with a version
    /// check; retries when another write came in between and the client did not pin a
    /// version with `If-Match`.
    async fn write_loop(
        &self,
        schema: &ResourceSchema,
        id: &str,
        if_match: Option<&str>,
        update: impl Fn(&Value) -> Result<Map<String, Value>, ScimError>,
    ) -> Result<(Value, String), ScimError> {
        let mut attempt = 0;
        loop {
            let stored = self.get_stored(schema, id).await?;
            // The SCIM root, for the `$ref` of new group members: the stored resource's
            // `meta.location` less `/{endpoint}/{id}`.
            let base = stored
                .as_object()
                .and_then(LocationBase::pointer_location)
                .unwrap_or_default();
            let current = etag_of(&stored);
            if let Some(im) = if_match
                && !etag_matches(im, &current)
            {
                return Err(ScimError::precondition_failed(format!(
                    "If-Match {im} does not match the current version {current}"
                )));
            }
            let attrs = update(&stored)?;
            let attrs = self
                .check_references(schema, attrs, &base, Some(id))
                .await?;
            let unique = resource::unique_keys(&attrs, schema);
            let meta = Meta::next(&stored, OffsetDateTime::now_utc());
            let new = resource::assemble(attrs, schema, id, meta);
            match self
                .store
                .replace(&schema.kind, new.clone(), unique, &current)
                .await
            {
                Ok(()) => {
                    let etag = etag_of(&new);
                    return Ok((new, etag));
                }
                Err(StoreError::VersionMismatch { current: now, .. }) => {
                    if if_match.is_some() {
                        return Err(ScimError::precondition_failed(format!(
                            "the resource changed during the request; the current version is {now}"
                        )));
                    }
                    // Another write landed between our read and our write: recompute from
                    // the new state. Each lost race means another request made progress, so
                    // this ends; the bound only guards against a store that never settles.
                    attempt += 1;
                    if attempt > self.config.write_retries {
                        return Err(ScimError::precondition_failed(
                            "the resource kept changing during the request; retry it",
                        ));
                    }
                    YieldNow(false).await;
                }
                Err(e) => return Err(store_error(e)),
            }
        }
    }

    /// DELETE.
    pub(crate) async fn delete(
        &self,
        schema: &ResourceSchema,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let expected = match if_match {
            None => None,
            Some(im) => {
                let stored = self.get_stored(schema, id).await?;
                let current = etag_of(&stored);
                if !etag_matches(im, &current) {
                    return Err(ScimError::precondition_failed(format!(
                        "If-Match {im} does not match the current version {current}"
                    )));
                }
                Some(current)
            }
        };
        self.store
            .delete(&schema.kind, id, expected.as_deref())
            .await
            .map_err(store_error)?;
        tracing::debug!(resource_type = %schema.resource_type.name, id = %id, "deleted");
        Ok(())
    }

    /// Group members must name existing users or groups; fills in `type` and `$ref`.
    async fn check_references(
        &self,
        schema: &ResourceSchema,
        mut attrs: Map<String, Value>,
        base: &str,
        self_id: Option<&str>,
    ) -> Result<Map<String, Value>, ScimError> {
        if schema.kind != ResourceKind::Group {
            return Ok(attrs);
        }
        let Some(Value::Array(members)) = attrs.get_mut("members") else {
            return Ok(attrs);
        };
        for m in members.iter_mut() {
            let Some(obj) = m.as_object_mut() else {
                continue;
            };
            let Some(value) = obj.get("value").and_then(Value::as_str).map(str::to_owned) else {
                return Err(ScimError::invalid_value("each member needs a \"value\""));
            };
            if Some(value.as_str()) == self_id {
                return Err(ScimError::invalid_value(
                    "a group cannot be a member of itself",
                ));
            }
            let wanted = obj
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase);
            let mut found = None;
            for (kind, name, endpoint) in [
                (ResourceKind::User, "User", "/Users"),
                (ResourceKind::Group, "Group", "/Groups"),
            ] {
                if wanted
                    .as_deref()
                    .is_some_and(|w| !w.eq_ignore_ascii_case(name))
                {
                    continue;
                }
                if self
                    .store
                    .get(&kind, &value)
                    .await
                    .map_err(store_error)?
                    .is_some()
                {
                    found = Some((name, endpoint));
                    break;
                }
            }
            let Some((name, endpoint)) = found else {
                return Err(ScimError::invalid_value(format!(
                    "member \"{value}\" is not a user or group of this directory"
                )));
            };
            obj.insert("type".into(), Value::String(name.into()));
            if !base.is_empty() || !obj.contains_key("$ref") {
                obj.insert(
                    "$ref".into(),
                    Value::String(format!("{base}{endpoint}/{value}")),
                );
            }
        }
        Ok(attrs)
    }

    /// Prepares a stored resource for the response: fills a user's `groups`, applies the
    /// projection and the `returned` rules.
    pub(crate) async fn present(
        &self,
        schema: &ResourceSchema,
        mut stored: Value,
        projection: &Projection,
    ) -> Result<Value, ScimError> {
        if schema.kind == ResourceKind::User
            && let Some(id) = stored.get("id").and_then(Value::as_str).map(str::to_owned)
        {
            let groups = self.store.groups_of(&id).await.map_err(store_error)?;
            if !groups.is_empty()
                && let Some(obj) = stored.as_object_mut()
            {
                let location = obj.pointer_location();
                let list: Vec<Value> = groups
                    .into_iter()
                    .map(|g| {
                        let mut m = json!({ "value": g.id, "type": "direct" });
                        if let Some(base) = &location {
                            m["$ref"] = Value::String(format!("{base}/Groups/{}", g.id));
                        }
                        if let Some(d) = g.display {
                            m["display"] = Value::String(d);
                        }
                        m
                    })
                    .collect();
                obj.insert("groups".into(), Value::Array(list));
            }
        }
        Ok(resource::project(
            &stored,
            schema,
            &projection.attributes,
            &projection.excluded,
        ))
    }

    /// GET on a resource endpoint, or `.search`.
    pub(crate) async fn list(
        &self,
        _base: &str,
        schema: &ResourceSchema,
        params: &ListParams,
        projection: &Projection,
    ) -> Result<Value, ScimError> {
        if let Some(f) = &params.filter {
            f.validate(schema)?;
        }
        if let Some(s) = &params.sort_by
            && schema.resolve(s).is_none()
        {
            return Err(ScimError::invalid_value(format!(
                "sortBy \"{s}\" is not an attribute of {}",
                schema.resource_type.name
            )));
        }
        let count = params
            .count
            .unwrap_or(self.config.max_results)
            .min(self.config.max_results);
        let start_index = params.start_index.max(1);
        let query = StoreQuery {
            schema,
            filter: params.filter.as_ref(),
            sort_by: params.sort_by.as_ref(),
            descending: params.descending,
            start_index,
            count,
        };
        let page = self
            .store
            .list(&schema.kind, &query)
            .await
            .map_err(store_error)?;
        let mut resources = Vec::with_capacity(page.resources.len());
        for r in page.resources {
            resources.push(self.present(schema, r, projection).await?);
        }
        Ok(json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": page.total_results,
            "itemsPerPage": resources.len(),
            "startIndex": start_index,
            "Resources": resources,
        }))
    }

    /// POST `/.search` at the root: every resource type whose schema knows the filter's
    /// attributes, users first, paged over the concatenation.
    async fn search_root(&self, base: &str, body: &Value) -> Result<Value, ScimError> {
        let (params, projection) = ListParams::from_search_body(body)?;
        let mut all = Vec::new();
        let mut total = 0usize;
        let mut any_valid = false;
        let mut last_err = None;
        for schema in self.types.iter() {
            if let Some(f) = &params.filter
                && let Err(e) = f.validate(schema)
            {
                last_err = Some(e);
                continue;
            }
            any_valid = true;
            let unpaged = ListParams {
                start_index: 1,
                count: Some(usize::MAX),
                ..params.clone()
            };
            let query = StoreQuery {
                schema,
                filter: unpaged.filter.as_ref(),
                sort_by: None,
                descending: false,
                start_index: 1,
                count: usize::MAX,
            };
            let page = self
                .store
                .list(&schema.kind, &query)
                .await
                .map_err(store_error)?;
            total += page.total_results;
            if total > ROOT_SEARCH_LIMIT {
                return Err(ScimError::new(
                    ErrorKind::TooMany,
                    format!(
                        "the filter matches more than {ROOT_SEARCH_LIMIT} resources across types; narrow it or search one type"
                    ),
                ));
            }
            for r in page.resources {
                all.push((schema, r));
            }
        }
        if !any_valid && let Some(e) = last_err {
            return Err(e);
        }
        let count = params
            .count
            .unwrap_or(self.config.max_results)
            .min(self.config.max_results);
        let start_index = params.start_index.max(1);
        let mut resources = Vec::new();
        for (schema, r) in all.into_iter().skip(start_index - 1).take(count) {
            resources.push(self.present(schema, r, &projection).await?);
        }
        let _ = base;
        Ok(json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": total,
            "itemsPerPage": resources.len(),
            "startIndex": start_index,
            "Resources": resources,
        }))
    }
}

/// Gives other tasks a turn once, on any executor, before a write is retried.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// The most resources a root-level `.search` collects before answering `tooMany`.
const ROOT_SEARCH_LIMIT: usize = 10_000;

/// The first attribute in `filter` that is never returned (such as `password`).
fn never_returned_path(filter: &Filter, schema: &ResourceSchema) -> Option<String> {
    let never = |p: &AttrPath| {
        schema.resolve(p).is_some_and(|r| {
            r.leaf().returned == crate::schema::Returned::Never
                || r.attr.returned == crate::schema::Returned::Never
        })
    };
    match filter {
        Filter::Present(p) | Filter::Compare { path: p, .. } => never(p).then(|| p.to_string()),
        Filter::Not(f) => never_returned_path(f, schema),
        Filter::And(a, b) | Filter::Or(a, b) => {
            never_returned_path(a, schema).or_else(|| never_returned_path(b, schema))
        }
        Filter::ValuePath { path, .. } => never(path).then(|| path.to_string()),
    }
}

/// Extension to find the SCIM base URL from a resource's `meta.location`.
trait LocationBase {
    fn pointer_location(&self) -> Option<String>;
}

impl LocationBase for Map<String, Value> {
    fn pointer_location(&self) -> Option<String> {
        let loc = self.get("meta")?.get("location")?.as_str()?;
        // `{base}/Users/{id}`: strip the last two segments.
        let mut parts = loc.rsplitn(3, '/');
        parts.next()?;
        parts.next()?;
        parts.next().map(str::to_owned)
    }
}

/// List parameters from the query string or a SearchRequest body.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListParams {
    pub(crate) filter: Option<Filter>,
    pub(crate) sort_by: Option<AttrPath>,
    pub(crate) descending: bool,
    pub(crate) start_index: usize,
    pub(crate) count: Option<usize>,
}

impl ListParams {
    fn from_query(query: &str) -> Result<Self, ScimError> {
        let mut p = ListParams {
            start_index: 1,
            ..Default::default()
        };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(parse_filter(&v)?),
                "sortby" => p.sort_by = Some(parse_attr_path(&v)?),
                "sortorder" => p.descending = parse_sort_order(&v)?,
                "startindex" => p.start_index = parse_index(&v, "startIndex")?.max(1) as usize,
                "count" => p.count = Some(parse_index(&v, "count")?.max(0) as usize),
                _ => {}
            }
        }
        Ok(p)
    }

    pub(crate) fn from_search_body(body: &Value) -> Result<(Self, Projection), ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the search request must be a JSON object"))?;
        let mut p = ListParams {
            start_index: 1,
            ..Default::default()
        };
        let mut proj = Projection::default();
        for (k, v) in obj {
            match k.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(parse_filter(str_field(v, "filter")?)?),
                "sortby" => p.sort_by = Some(parse_attr_path(str_field(v, "sortBy")?)?),
                "sortorder" => p.descending = parse_sort_order(str_field(v, "sortOrder")?)?,
                "startindex" => p.start_index = int_field(v, "startIndex")?.max(1) as usize,
                "count" => p.count = Some(int_field(v, "count")?.max(0) as usize),
                "attributes" => proj.attributes = path_list(v, "attributes")?,
                "excludedattributes" => proj.excluded = path_list(v, "excludedAttributes")?,
                _ => {}
            }
        }
        Ok((p, proj))
    }
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, ScimError> {
    v.as_str()
        .ok_or_else(|| ScimError::invalid_value(format!("\"{name}\" must be a string")))
}

fn int_field(v: &Value, name: &str) -> Result<i64, ScimError> {
    v.as_i64()
        .ok_or_else(|| ScimError::invalid_value(format!("\"{name}\" must be an integer")))
}

fn path_list(v: &Value, name: &str) -> Result<Vec<AttrPath>, ScimError> {
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| parse_attr_path(str_field(x, name)?))
            .collect(),
        Value::String(s) => split_paths(s),
        _ => Err(ScimError::invalid_value(format!(
            "\"{name}\" must be an array of attribute names"
        ))),
    }
}

fn parse_index(v: &str, name: &str) -> Result<i64, ScimError> {
    v.trim().parse::<i64>().map_err(|_| {
        ScimError::invalid_value(format!("\"{name}\" must be an integer, got \"{v}\""))
    })
}

fn parse_sort_order(v: &str) -> Result<bool, ScimError> {
    match v.to_ascii_lowercase().as_str() {
        "ascending" => Ok(false),
        "descending" => Ok(true),
        _ => Err(ScimError::invalid_value(format!(
            "sortOrder must be ascending or descending, got \"{v}\""
        ))),
    }
}

/// Parses an attribute path as `attributes`, `excludedAttributes` and `sortBy` take it.
pub(crate) fn parse_attr_path(s: &str) -> Result<AttrPath, ScimError> {
    let p = crate::path::parse_patch_path(s.trim())?;
    if p.filter.is_some() || p.attr.name.is_empty() {
        return Err(ScimError::invalid_value(format!(
            "\"{s}\" is not an attribute path"
        )));
    }
    Ok(AttrPath {
        urn: p.attr.urn,
        name: p.attr.name,
        sub: p.sub.or(p.attr.sub),
    })
}

fn split_paths(s: &str) -> Result<Vec<AttrPath>, ScimError> {
    s.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(parse_attr_path)
        .collect()
}

fn parse_projection(query: &str) -> Result<Projection, ScimError> {
    let mut p = Projection::default();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.to_ascii_lowercase().as_str() {
            "attributes" => p.attributes.extend(split_paths(&v)?),
            "excludedattributes" => p.excluded.extend(split_paths(&v)?),
            _ => {}
        }
    }
    Ok(p)
}

pub(crate) fn parse_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

fn require(method: &Method, allowed: &[Method]) -> Result<(), ScimError> {
    if allowed.contains(method) {
        Ok(())
    } else {
        Err(method_not_allowed(method))
    }
}

fn method_not_allowed(method: &Method) -> ScimError {
    ScimError::new(
        ErrorKind::MethodNotAllowed,
        format!("method {method} is not allowed here"),
    )
}

fn header_str(headers: &http::HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn etag_of(resource: &Value) -> String {
    resource
        .pointer("/meta/version")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Whether an `If-Match` / `If-None-Match` value (a list of ETags or `*`) names `current`.
/// Weak comparison: `W/"3"` and `"3"` match.
pub fn etag_matches(header_value: &str, current: &str) -> bool {
    let cur = resource::parse_version(current);
    header_value
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || (cur.is_some() && resource::parse_version(t) == cur))
}

pub(crate) fn store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => ScimError::not_found("resource not found"),
        StoreError::Conflict { attribute, value } => {
            ScimError::uniqueness(format!("{attribute} \"{value}\" is already in use"))
        }
        StoreError::VersionMismatch { expected, current } => ScimError::precondition_failed(
            format!("expected version {expected}, current {current}"),
        ),
        other => {
            tracing::warn!(error = %other, "SCIM store failed");
            ScimError::internal("the directory store failed; see the server log")
        }
    }
}

pub(crate) fn json_response(
    status: StatusCode,
    body: &Value,
    etag: Option<&str>,
) -> Response<Bytes> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = Response::new(Bytes::from(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_MEDIA_TYPE),
    );
    if let Some(e) = etag
        && let Ok(v) = HeaderValue::from_str(e)
    {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

fn not_modified(etag: &str) -> Response<Bytes> {
    let mut r = empty_response(StatusCode::NOT_MODIFIED);
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

fn empty_response(status: StatusCode) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = status;
    r
}

/// The RFC 7644 error response for `e`.
pub fn error_response(e: &ScimError) -> Response<Bytes> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::NOT_MODIFIED {
        return empty_response(status);
    }
    json_response(status, &e.to_json(), None)
}
