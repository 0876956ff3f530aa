//! The sans-IO SCIM handler: an `http::Request` in, an `http::Response` out, for one
//! directory.

use std::collections::HashSet;
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
    /// The most values one multi-valued attribute (`emails`, `members`, ...) may hold after
    /// a POST, PUT or PATCH; more is a 400 `invalidValue`. Default 10,000. It bounds what one
    /// resource costs to store, patch and match against a filter.
    pub max_values_per_attribute: usize,
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
            max_values_per_attribute: 10_000,
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
                        let (res, etag) = self.create(schema, &body).await?;
                        let shown = self.present(base, schema, res, &projection).await?;
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
                        let if_none_match = header_str(headers, header::IF_NONE_MATCH);
                        // RFC 7232 section 3.2: on a write, an `If-None-Match` that names the
                        // current version (or `*`, any version) fails with 412.
                        if *method != Method::GET
                            && let Some(inm) = if_none_match
                        {
                            let etag = etag_of(&self.get_stored(schema, id).await?);
                            if etag_matches(inm, &etag) {
                                return Err(ScimError::precondition_failed(format!(
                                    "If-None-Match {inm} matches the current version {etag}"
                                )));
                            }
                        }
                        match *method {
                            Method::GET => {
                                let stored = self.get_stored(schema, id).await?;
                                let etag = etag_of(&stored);
                                // RFC 7232 section 6: If-Match is evaluated first.
                                if let Some(im) = if_match
                                    && !etag_matches(im, &etag)
                                {
                                    return Err(ScimError::precondition_failed(format!(
                                        "If-Match {im} does not match the current version {etag}"
                                    )));
                                }
                                if let Some(inm) = if_none_match
                                    && etag_matches(inm, &etag)
                                {
                                    return Ok(not_modified(&etag));
                                }
                                let shown = self.present(base, schema, stored, &projection).await?;
                                Ok(json_response(StatusCode::OK, &shown, Some(&etag)))
                            }
                            Method::PUT => {
                                let body = parse_json(&body)?;
                                let (res, etag) = self.replace(schema, id, &body, if_match).await?;
                                let shown = self.present(base, schema, res, &projection).await?;
                                Ok(json_response(StatusCode::OK, &shown, Some(&etag)))
                            }
                            Method::PATCH => {
                                let body = parse_json(&body)?;
                                let (res, etag) = self.patch(schema, id, &body, if_match).await?;
                                let shown = self.present(base, schema, res, &projection).await?;
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
        schema: &ResourceSchema,
        body: &Value,
    ) -> Result<(Value, String), ScimError> {
        let attrs = resource::normalize(body, schema, self.config.compat)?;
        resource::check_rules(&attrs, None, schema)?;
        self.check_value_counts(&attrs)?;
        let attrs = self.check_references(schema, attrs, None, &[]).await?;
        let id = uuid::Uuid::new_v4().to_string();
        // Stored relative to the SCIM root: the absolute URL is rendered per response from
        // the base URL of that request (a Host header is never persisted).
        let location = format!("{}/{id}", schema.resource_type.endpoint);
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
            // A PUT may not change `id`: a body with a different id is rejected, and so is
            // an id that is not a string (RFC 7643 section 3.1: `id` is a string).
            match body.get("id") {
                None | Some(Value::Null) => {}
                Some(Value::String(body_id)) if body_id == id => {}
                Some(Value::String(body_id)) => {
                    return Err(ScimError::mutability(format!(
                        "\"id\" is read-only: body has \"{body_id}\", resource is \"{id}\""
                    )));
                }
                Some(other) => {
                    return Err(ScimError::invalid_value(format!(
                        "\"id\" must be a string, got {other}"
                    )));
                }
            }
            resource::check_rules(&attrs, Some(stored), schema)?;
            self.check_value_counts(&attrs)?;
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
            self.check_value_counts(&attrs)?;
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
            let current = etag_of(&stored);
            if let Some(im) = if_match
                && !etag_matches(im, &current)
            {
                return Err(ScimError::precondition_failed(format!(
                    "If-Match {im} does not match the current version {current}"
                )));
            }
            let attrs = update(&stored)?;
            let stored_members: Vec<String> = stored
                .get("members")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect();
            let attrs = self
                .check_references(schema, attrs, Some(id), &stored_members)
                .await?;
            // A request that changes nothing leaves the resource, and its version, as it is.
            if attrs == resource::attributes_of(&stored) {
                return Ok((stored, current));
            }
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
                Err(
                    e @ (StoreError::VersionMismatch { .. } | StoreError::MissingMember { .. }),
                ) => {
                    // A member deleted between the reference check and the write: recompute,
                    // which answers 400 for a member this request adds and drops one that
                    // was already stored. The version did not change, so If-Match holds.
                    if let StoreError::VersionMismatch { current: now, .. } = e
                        && if_match.is_some()
                    {
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

    /// Group members must name existing users or groups; fills in `type`. A member that
    /// names nothing fails with 400, except one that `stored_members` already held (its
    /// resource was deleted concurrently): that one is dropped, so that a group never gets
    /// stuck on a dangling member. `$ref` is not stored; [`Self::present`] renders it.
    /// Refuses attributes with more values than `max_values_per_attribute` (core attributes
    /// and those of extension blocks).
    fn check_value_counts(&self, attrs: &Map<String, Value>) -> Result<(), ScimError> {
        let max = self.config.max_values_per_attribute;
        let nested = attrs
            .values()
            .filter_map(Value::as_object)
            .flat_map(|o| o.iter());
        for (name, v) in attrs.iter().chain(nested) {
            if let Value::Array(a) = v
                && a.len() > max
            {
                return Err(ScimError::invalid_value(format!(
                    "attribute \"{name}\" has {} values, more than the limit of {max}",
                    a.len()
                )));
            }
        }
        Ok(())
    }

    async fn check_references(
        &self,
        schema: &ResourceSchema,
        mut attrs: Map<String, Value>,
        self_id: Option<&str>,
        stored_members: &[String],
    ) -> Result<Map<String, Value>, ScimError> {
        if schema.kind != ResourceKind::Group {
            return Ok(attrs);
        }
        let Some(Value::Array(members)) = attrs.get_mut("members") else {
            return Ok(attrs);
        };
        // `members` is a set keyed by `value`: the first entry of a value is kept (with its
        // other sub-attributes), later entries with the same value are dropped, so that each
        // distinct member is checked once.
        let mut seen: HashSet<String> = HashSet::new();
        let mut first = Vec::with_capacity(members.len());
        for m in members.drain(..) {
            match m.get("value").and_then(Value::as_str) {
                Some(v) if !seen.insert(v.to_owned()) => {}
                _ => first.push(m),
            }
        }
        *members = first;
        let stored_members: HashSet<&str> = stored_members.iter().map(String::as_str).collect();
        let mut dangling = Vec::new();
        for (index, m) in members.iter_mut().enumerate() {
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
            for (kind, name) in [(ResourceKind::User, "User"), (ResourceKind::Group, "Group")] {
                if wanted
                    .as_deref()
                    .is_some_and(|w| !w.eq_ignore_ascii_case(name))
                {
                    continue;
                }
                if self
                    .store
                    .exists(&kind, &value)
                    .await
                    .map_err(store_error)?
                {
                    found = Some(name);
                    break;
                }
            }
            let Some(name) = found else {
                if stored_members.contains(value.as_str()) {
                    dangling.push(index);
                    continue;
                }
                return Err(ScimError::invalid_value(format!(
                    "member \"{value}\" is not a user or group of this directory"
                )));
            };
            obj.insert("type".into(), Value::String(name.into()));
            obj.remove("$ref");
        }
        for index in dangling.into_iter().rev() {
            members.remove(index);
        }
        Ok(attrs)
    }

    /// Prepares a stored resource for the response: renders `meta.location` and the
    /// members' `$ref` from `base` (the SCIM root of this request), fills a user's `groups`,
    /// applies the projection and the `returned` rules.
    pub(crate) async fn present(
        &self,
        base: &str,
        schema: &ResourceSchema,
        mut stored: Value,
        projection: &Projection,
    ) -> Result<Value, ScimError> {
        render_links(base, schema, &mut stored);
        if schema.kind == ResourceKind::User
            && let Some(id) = stored.get("id").and_then(Value::as_str).map(str::to_owned)
        {
            let groups = self.store.groups_of(&id).await.map_err(store_error)?;
            if !groups.is_empty()
                && let Some(obj) = stored.as_object_mut()
            {
                let list: Vec<Value> = groups
                    .into_iter()
                    .map(|g| {
                        let mut m = json!({ "value": g.id, "type": "direct" });
                        m["$ref"] = Value::String(format!("{base}/Groups/{}", g.id));
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
        base: &str,
        schema: &ResourceSchema,
        params: &ListParams,
        projection: &Projection,
    ) -> Result<Value, ScimError> {
        if let Some(f) = &params.filter {
            f.validate(schema)?;
        }
        let sort_by = match &params.sort_by {
            Some(p) => Some(sort_path(schema, p)?),
            None => None,
        };
        let count = params
            .count
            .unwrap_or(self.config.max_results)
            .min(self.config.max_results);
        let start_index = params.start_index.max(1);
        let query = StoreQuery {
            schema,
            filter: params.filter.as_ref(),
            sort_by: sort_by.as_ref(),
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
            resources.push(self.present(base, schema, r, projection).await?);
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
    /// attributes, users first, paged over the concatenation; with `sortBy`, ordered by that
    /// attribute across types (resources of a type without it last, as absent values).
    ///
    /// Memory stays bounded: without `sortBy` the store is asked only for the page's slice
    /// of each type; with `sortBy` for at most `startIndex - 1 + count` resources of each
    /// type, and a sorted search deeper than [`ROOT_SEARCH_LIMIT`] answers `tooMany`.
    async fn search_root(&self, base: &str, body: &Value) -> Result<Value, ScimError> {
        let (params, projection) = ListParams::from_search_body(body)?;
        let count = params
            .count
            .unwrap_or(self.config.max_results)
            .min(self.config.max_results);
        let start_index = params.start_index.max(1);
        // The types searched, each with its sort path (`None`: the type lacks the attribute).
        let mut searched: Vec<(&ResourceSchema, Option<AttrPath>)> = Vec::new();
        let mut last_err = None;
        for schema in self.types.iter() {
            if let Some(f) = &params.filter
                && let Err(e) = f.validate(schema)
            {
                last_err = Some(e);
                continue;
            }
            let sort = match &params.sort_by {
                Some(p) if schema.resolve(p).is_some() => Some(sort_path(schema, p)?),
                _ => None,
            };
            searched.push((schema, sort));
        }
        if searched.is_empty()
            && let Some(e) = last_err
        {
            return Err(e);
        }
        if let Some(p) = &params.sort_by
            && searched.iter().all(|(_, s)| s.is_none())
        {
            return Err(ScimError::invalid_filter(format!(
                "sortBy \"{p}\" is not an attribute of any resource type searched"
            )));
        }

        let mut total = 0usize;
        let mut picked: Vec<(&ResourceSchema, Value)> = Vec::new();
        if params.sort_by.is_none() {
            // Page through the concatenation: each type gives only its share of the page.
            let mut skip = start_index - 1;
            let mut want = count;
            for (schema, _) in &searched {
                let query = StoreQuery {
                    schema,
                    filter: params.filter.as_ref(),
                    sort_by: None,
                    descending: false,
                    start_index: skip + 1,
                    count: want,
                };
                let page = self
                    .store
                    .list(&schema.kind, &query)
                    .await
                    .map_err(store_error)?;
                total = total.saturating_add(page.total_results);
                skip = skip.saturating_sub(page.total_results);
                want = want.saturating_sub(page.resources.len());
                picked.extend(page.resources.into_iter().map(|r| (*schema, r)));
            }
        } else {
            let depth = (start_index - 1).saturating_add(count);
            if depth > ROOT_SEARCH_LIMIT {
                return Err(ScimError::new(
                    ErrorKind::TooMany,
                    format!(
                        "a sorted root search pages at most {ROOT_SEARCH_LIMIT} resources deep; startIndex + count reach {depth}; search one type"
                    ),
                ));
            }
            // The first `depth` of each type, each already in order; a stable sort merges.
            let mut merged: Vec<(&ResourceSchema, Option<&AttrPath>, Value)> = Vec::new();
            for (schema, sort) in &searched {
                let query = StoreQuery {
                    schema,
                    filter: params.filter.as_ref(),
                    sort_by: sort.as_ref(),
                    descending: params.descending,
                    start_index: 1,
                    count: depth,
                };
                let page = self
                    .store
                    .list(&schema.kind, &query)
                    .await
                    .map_err(store_error)?;
                total = total.saturating_add(page.total_results);
                merged.extend(
                    page.resources
                        .into_iter()
                        .map(|r| (*schema, sort.as_ref(), r)),
                );
            }
            merged.sort_by(|(sa, pa, ra), (sb, pb, rb)| {
                let va = pa.and_then(|p| crate::filter::sort_value(ra, p, sa).map(|v| (p, v)));
                let vb = pb.and_then(|p| crate::filter::sort_value(rb, p, sb).map(|v| (p, v)));
                match (va, vb) {
                    (Some((p, x)), Some((_, y))) => match sa.resolve(p) {
                        Some(r) => {
                            let o = crate::filter::compare_values(x, y, r.leaf());
                            if params.descending { o.reverse() } else { o }
                        }
                        None => std::cmp::Ordering::Equal,
                    },
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
            });
            picked.extend(
                merged
                    .into_iter()
                    .skip(start_index - 1)
                    .take(count)
                    .map(|(s, _, r)| (s, r)),
            );
        }
        let mut resources = Vec::with_capacity(picked.len());
        for (schema, r) in picked {
            resources.push(self.present(base, schema, r, &projection).await?);
        }
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

/// How deep a sorted root-level `.search` pages (`startIndex - 1 + count`) before answering
/// `tooMany`.
const ROOT_SEARCH_LIMIT: usize = 10_000;

/// Checks `sortBy` against `schema` and gives the path the store sorts by.
///
/// RFC 7644 section 3.4.2.3 defines `sortBy` as an attribute path of the resource; the
/// section 3.12 `invalidFilter` covers a filter attribute that is not supported, so an
/// unusable `sortBy` answers 400 `invalidFilter`: an unknown attribute, a single-valued
/// complex attribute without a sub-attribute (`name`: there is no order of objects), and
/// an attribute that is never returned (`password`: the order would reveal it). A
/// multi-valued complex attribute without a sub-attribute sorts by its `value`, as the RFC
/// describes (primary element, else the first).
fn sort_path(schema: &ResourceSchema, path: &AttrPath) -> Result<AttrPath, ScimError> {
    let Some(r) = schema.resolve(path) else {
        return Err(ScimError::invalid_filter(format!(
            "sortBy \"{path}\" is not an attribute of {}",
            schema.resource_type.name
        )));
    };
    if r.leaf().returned == crate::schema::Returned::Never
        || r.attr.returned == crate::schema::Returned::Never
    {
        return Err(ScimError::invalid_filter(format!(
            "sortBy \"{path}\" names an attribute that is never returned"
        )));
    }
    if r.sub.is_none() && r.attr.kind == crate::schema::AttrType::Complex {
        if r.attr.multi_valued && r.attr.sub_attribute("value").is_some() {
            return Ok(AttrPath {
                urn: path.urn.clone(),
                name: path.name.clone(),
                sub: Some("value".into()),
            });
        }
        return Err(ScimError::invalid_filter(format!(
            "sortBy \"{path}\" is a complex attribute; name one of its sub-attributes"
        )));
    }
    Ok(path.clone())
}

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

/// Sets a stored resource's `meta.location` and its members' `$ref` to absolute URLs under
/// `base`, whatever the store holds (older versions stored absolute URLs built from the
/// request's Host header; they are never shown).
pub(crate) fn render_links(base: &str, schema: &ResourceSchema, resource: &mut Value) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    if let Some(id) = obj.get("id").and_then(Value::as_str).map(str::to_owned)
        && let Some(meta) = obj.get_mut("meta").and_then(Value::as_object_mut)
    {
        meta.insert(
            "location".into(),
            Value::String(format!("{base}{}/{id}", schema.resource_type.endpoint)),
        );
    }
    if schema.kind != ResourceKind::Group {
        return;
    }
    let Some(members) = obj.get_mut("members").and_then(Value::as_array_mut) else {
        return;
    };
    for m in members.iter_mut().filter_map(Value::as_object_mut) {
        let endpoint = match m.get("type").and_then(Value::as_str) {
            Some(t) if t.eq_ignore_ascii_case("Group") => "/Groups",
            _ => "/Users",
        };
        if let Some(value) = m.get("value").and_then(Value::as_str).map(str::to_owned) {
            m.insert(
                "$ref".into(),
                Value::String(format!("{base}{endpoint}/{value}")),
            );
        }
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
///
/// ETags are opaque strings (RFC 7232 section 2.3): they are compared character for
/// character, never as numbers, so `"01"` does not match `W/"1"`. The comparison is the weak
/// one of RFC 7232 section 2.3.2 (the `W/` prefix is ignored on both sides): every ETag this
/// service issues is weak, so a strong comparison could never succeed.
pub fn etag_matches(header_value: &str, current: &str) -> bool {
    let Some(cur) = opaque_tag(current) else {
        return false;
    };
    header_value
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || opaque_tag(t) == Some(cur))
}

/// The quoted `opaque-tag` of an ETag, without the `W/` weakness prefix.
fn opaque_tag(etag: &str) -> Option<&str> {
    let t = etag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    (t.len() >= 2 && t.starts_with('"') && t.ends_with('"') && !t[1..t.len() - 1].contains('"'))
        .then_some(t)
}

pub(crate) fn store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => ScimError::not_found("resource not found"),
        StoreError::Conflict { attribute, value } => {
            ScimError::uniqueness(format!("{attribute} \"{value}\" is already in use"))
        }
        StoreError::MissingMember { value } => ScimError::invalid_value(format!(
            "member \"{value}\" is not a user or group of this directory"
        )),
        StoreError::VersionMismatch { expected, current } => ScimError::precondition_failed(
            format!("expected version {expected}, current {current}"),
        ),
        StoreError::TooMany { limit } => ScimError::new(
            ErrorKind::TooMany,
            format!(
                "the filter looks at more than {limit} attribute values, more than this server \
             evaluates for one request"
            ),
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
