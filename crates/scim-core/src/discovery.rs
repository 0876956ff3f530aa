//! Discovery endpoints (RFC 7644 section 4): `/ServiceProviderConfig`, `/Schemas` and
//! `/ResourceTypes`, generated from what the service actually supports.

use serde_json::{Value, json};

use crate::error::{ErrorKind, ScimError};
use crate::schema::{RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, Schema};
use crate::service::{LIST_RESPONSE_SCHEMA, ScimService};

/// The schema URN of the ServiceProviderConfig resource.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

impl ScimService {
    /// The `/ServiceProviderConfig` document.
    pub fn service_provider_config(&self, base: &str) -> Value {
        let c = &self.config;
        let mut doc = json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": { "supported": true },
            "bulk": {
                "supported": true,
                "maxOperations": c.bulk_max_operations,
                "maxPayloadSize": c.max_payload_size,
            },
            "filter": { "supported": true, "maxResults": c.max_results },
            "changePassword": { "supported": false },
            "sort": { "supported": true },
            "etag": { "supported": true },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token issued for this directory",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{base}/ServiceProviderConfig"),
            },
        });
        if let Some(uri) = &c.documentation_uri {
            doc["documentationUri"] = Value::String(uri.clone());
        }
        doc
    }

    fn all_schemas(&self) -> Vec<&Schema> {
        let mut out: Vec<&Schema> = Vec::new();
        for t in self.types.iter() {
            for s in std::iter::once(&t.core).chain(t.extensions.iter()) {
                if !out.iter().any(|o| o.id == s.id) {
                    out.push(s);
                }
            }
        }
        out
    }

    fn schema_json(base: &str, s: &Schema) -> Value {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": s.id,
            "name": s.name,
            "description": s.description,
            "attributes": s.attributes,
            "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{}", s.id) },
        })
    }

    /// `/Schemas` as a ListResponse.
    pub fn schemas_list(&self, base: &str, query: &str) -> Result<Value, ScimError> {
        reject_filter(query)?;
        let items: Vec<Value> = self
            .all_schemas()
            .into_iter()
            .map(|s| Self::schema_json(base, s))
            .collect();
        Ok(list(items))
    }

    /// `/Schemas/{id}`.
    pub fn schema_by_id(&self, base: &str, id: &str) -> Result<Value, ScimError> {
        self.all_schemas()
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
            .map(|s| Self::schema_json(base, s))
            .ok_or_else(|| ScimError::not_found(format!("no schema \"{id}\"")))
    }

    fn resource_type_json(base: &str, t: &crate::schema::ResourceType) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": t.id,
            "name": t.name,
            "endpoint": t.endpoint,
            "description": t.description,
            "schema": t.schema,
            "schemaExtensions": t.schema_extensions,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", t.id) },
        })
    }

    /// `/ResourceTypes` as a ListResponse.
    pub fn resource_types_list(&self, base: &str, query: &str) -> Result<Value, ScimError> {
        reject_filter(query)?;
        let items = self
            .types
            .iter()
            .map(|t| Self::resource_type_json(base, &t.resource_type))
            .collect();
        Ok(list(items))
    }

    /// `/ResourceTypes/{id}`.
    pub fn resource_type_by_id(&self, base: &str, id: &str) -> Result<Value, ScimError> {
        self.types
            .iter()
            .find(|t| t.resource_type.id.eq_ignore_ascii_case(id))
            .map(|t| Self::resource_type_json(base, &t.resource_type))
            .ok_or_else(|| ScimError::not_found(format!("no resource type \"{id}\"")))
    }
}

/// RFC 7644 section 4: the discovery endpoints ignore `sort`, and a request with `filter`
/// SHOULD be answered 403 Forbidden; it is, with a detail naming the reason.
fn reject_filter(query: &str) -> Result<(), ScimError> {
    if form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k.eq_ignore_ascii_case("filter")) {
        return Err(ScimError::new(
            ErrorKind::Forbidden,
            "filters are not supported on discovery endpoints (RFC 7644 section 4)",
        ));
    }
    Ok(())
}

fn list(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": items.len(),
        "itemsPerPage": items.len(),
        "startIndex": 1,
        "Resources": items,
    })
}
