//! Resource normalization and validation against a schema, `meta`, uniqueness keys and
//! projection (`attributes` / `excludedAttributes`).
//!
//! A client's JSON is never stored as sent: [`normalize`] rebuilds it attribute by attribute
//! from the schema, so that every stored resource has the schema's attribute names, values of
//! the declared types, canonical values where the schema lists them, at most one `primary`
//! value per multi-valued attribute, and no read-only attribute set by the client.

use std::collections::HashSet;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::compat::CompatProfile;
use crate::error::ScimError;
use crate::filter::AttrPath;
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceSchema, Returned, Uniqueness};
use crate::store::UniqueKey;

/// Why a resource is being normalized, which decides the required and mutability rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// POST: a new resource.
    Create,
    /// PUT or the result of PATCH: a whole new state of an existing resource.
    Replace,
}

/// Validates a client's resource body and rebuilds it in canonical form: the schema's
/// attribute names, declared types, extension attributes nested under their URN. Read-only
/// attributes (`id`, `meta`, `groups`, ...) and `schemas` are dropped; the caller sets them.
pub fn normalize(
    body: &Value,
    schema: &ResourceSchema,
    compat: CompatProfile,
) -> Result<Map<String, Value>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the resource must be a JSON object"))?;
    check_schemas_member(obj, schema, compat)?;

    let mut out = Map::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            let ext_obj = match value {
                Value::Null => continue,
                Value::Object(m) => m,
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "extension \"{}\" must be a JSON object",
                        ext.id
                    )));
                }
            };
            let mut ext_out = Map::new();
            for (k, v) in ext_obj {
                let Some(def) = ext.attribute(k) else {
                    unknown_attribute(compat, &format!("{}:{k}", ext.id))?;
                    continue;
                };
                if let Some(v) = normalize_top(def, v, compat)?
                    && def.mutability != Mutability::WriteOnly
                {
                    ext_out.insert(def.name.clone(), v);
                }
            }
            if !ext_out.is_empty() {
                out.insert(ext.id.clone(), Value::Object(ext_out));
            }
            continue;
        }
        if key.contains(':') {
            // A URN key that is not an extension of this type: either an unknown extension
            // or a URN-qualified core attribute, which only PATCH paths use.
            unknown_attribute(compat, key)?;
            continue;
        }
        let Some((_, def)) = schema.top_level(None, key) else {
            unknown_attribute(compat, key)?;
            continue;
        };
        // Write-only attributes (`password`) are type-checked above and then discarded:
        // nothing that can never be returned is kept, so no filter or sort can probe it.
        if let Some(v) = normalize_top(def, value, compat)?
            && def.mutability != Mutability::WriteOnly
        {
            out.insert(def.name.clone(), v);
        }
    }
    Ok(out)
}

/// Checks required attributes and immutability of a normalized resource. `existing` is the
/// stored resource for a replace.
pub fn check_rules(
    normalized: &Map<String, Value>,
    existing: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    for def in &schema.core.attributes {
        check_attribute_rules(
            def,
            normalized.get(&def.name),
            existing.and_then(|e| get_ci(e, &def.name)),
            None,
        )?;
    }
    for (i, ext) in schema.extensions.iter().enumerate() {
        let block = normalized.get(&ext.id);
        let old_block = existing.and_then(|e| get_ci(e, &ext.id));
        if block.is_none()
            && schema
                .resource_type
                .schema_extensions
                .get(i)
                .is_some_and(|e| e.required)
        {
            return Err(ScimError::invalid_value(format!(
                "required extension \"{}\" is missing",
                ext.id
            )));
        }
        if block.is_none() && old_block.is_none() {
            continue;
        }
        for def in &ext.attributes {
            check_attribute_rules(
                def,
                block.and_then(|b| b.get(&def.name)),
                old_block.and_then(|b| get_ci(b, &def.name)),
                Some(&ext.id),
            )?;
        }
    }
    Ok(())
}

/// A required attribute is missing when it is absent or a string of only white space.
fn is_blank(value: Option<&Value>) -> bool {
    match value {
        None => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

fn check_attribute_rules(
    def: &AttributeDef,
    new: Option<&Value>,
    old: Option<&Value>,
    urn: Option<&str>,
) -> Result<(), ScimError> {
    let name = qualified(urn, &def.name);
    if def.required && def.mutability != Mutability::ReadOnly && is_blank(new) {
        return Err(ScimError::invalid_value(format!(
            "required attribute \"{name}\" is missing"
        )));
    }
    if def.mutability == Mutability::Immutable
        && let (Some(old), Some(new)) = (old, new)
        && old != new
    {
        return Err(ScimError::mutability(format!(
            "attribute \"{name}\" is immutable and already set"
        )));
    }
    if def.kind == AttrType::Complex && !def.multi_valued {
        for sub in &def.sub_attributes {
            let n = new.and_then(|v| v.get(&sub.name));
            let o = old.and_then(|v| get_ci(v, &sub.name));
            if sub.required
                && new.is_some()
                && is_blank(n)
                && sub.mutability != Mutability::ReadOnly
            {
                return Err(ScimError::invalid_value(format!(
                    "required attribute \"{name}.{}\" is missing",
                    sub.name
                )));
            }
            if sub.mutability == Mutability::Immutable
                && let (Some(o), Some(n)) = (o, n)
                && o != n
            {
                return Err(ScimError::mutability(format!(
                    "attribute \"{name}.{}\" is immutable and already set",
                    sub.name
                )));
            }
        }
    }
    Ok(())
}

/// The uniqueness keys of a normalized resource: single-valued simple attributes with
/// `uniqueness` server or global, lower-cased unless `caseExact`.
pub fn unique_keys(resource: &Map<String, Value>, schema: &ResourceSchema) -> Vec<UniqueKey> {
    let mut keys = Vec::new();
    let core = schema.core.attributes.iter().map(|d| (None, d));
    let ext = schema
        .extensions
        .iter()
        .flat_map(|s| s.attributes.iter().map(move |d| (Some(s.id.as_str()), d)));
    for (urn, def) in core.chain(ext) {
        if def.uniqueness == Uniqueness::None || def.multi_valued || def.kind == AttrType::Complex {
            continue;
        }
        let value = match urn {
            None => resource.get(&def.name),
            Some(u) => resource.get(u).and_then(|b| b.get(&def.name)),
        };
        let Some(value) = value else { continue };
        let text = match value {
            Value::String(s) if def.case_exact => s.clone(),
            Value::String(s) => crate::filter::fold_case(s),
            other => other.to_string(),
        };
        keys.push(UniqueKey {
            attribute: qualified(urn, &def.name),
            value: text,
        });
    }
    keys
}

/// Builds the stored form of a resource: `schemas`, `id`, the attributes, and `meta`.
pub fn assemble(
    mut attributes: Map<String, Value>,
    schema: &ResourceSchema,
    id: &str,
    meta: Meta,
) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for ext in &schema.extensions {
        if attributes.contains_key(&ext.id) {
            schemas.push(Value::String(ext.id.clone()));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(id.to_owned()));
    if let Some(ext_id) = attributes.remove("externalId") {
        out.insert("externalId".into(), ext_id);
    }
    // Core attributes in schema order, then extensions, for a stable, readable output.
    for def in &schema.core.attributes {
        if let Some(v) = attributes.remove(&def.name) {
            out.insert(def.name.clone(), v);
        }
    }
    for ext in &schema.extensions {
        if let Some(v) = attributes.remove(&ext.id) {
            out.insert(ext.id.clone(), v);
        }
    }
    out.insert("meta".into(), meta.to_json(&schema.resource_type.name));
    Value::Object(out)
}

/// The `meta` of a stored resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Creation time, RFC 3339.
    pub created: String,
    /// Last modification time, RFC 3339.
    pub last_modified: String,
    /// The resource's URI.
    pub location: String,
    /// The version counter behind the weak ETag.
    pub version: u64,
}

impl Meta {
    /// A new resource's meta at `now`.
    pub fn new(location: String, now: OffsetDateTime) -> Self {
        let t = format_time(now);
        Self {
            created: t.clone(),
            last_modified: t,
            location,
            version: 1,
        }
    }

    /// The meta of a stored resource, bumped for a modification at `now`.
    pub fn next(stored: &Value, now: OffsetDateTime) -> Self {
        let get = |k: &str| {
            stored
                .pointer(&format!("/meta/{k}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let version = parse_version(&get("version")).unwrap_or(0) + 1;
        Self {
            created: get("created"),
            last_modified: format_time(now),
            location: get("location"),
            version,
        }
    }

    fn to_json(&self, resource_type: &str) -> Value {
        serde_json::json!({
            "resourceType": resource_type,
            "created": self.created,
            "lastModified": self.last_modified,
            "location": self.location,
            "version": format_version(self.version),
        })
    }
}

/// The weak ETag of version `n`: `W/"n"`.
pub fn format_version(n: u64) -> String {
    format!("W/\"{n}\"")
}

/// The counter inside a weak or strong ETag.
pub fn parse_version(etag: &str) -> Option<u64> {
    let t = etag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

/// RFC 3339 in UTC with seconds precision.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Bumps `meta.version` and `meta.lastModified` of a stored resource in place.
pub fn touch_meta(resource: &mut Value) {
    let next = Meta::next(resource, OffsetDateTime::now_utc());
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert(
            "version".into(),
            Value::String(format_version(next.version)),
        );
        meta.insert("lastModified".into(), Value::String(next.last_modified));
    }
}

/// The attributes of a stored resource without `schemas`, `id` and `meta`: the form that
/// [`normalize`] produces and [`assemble`] takes.
pub fn attributes_of(stored: &Value) -> Map<String, Value> {
    let mut m = stored.as_object().cloned().unwrap_or_default();
    m.remove("schemas");
    m.remove("id");
    m.remove("meta");
    m
}

/// Applies `attributes` / `excludedAttributes` and the `returned` rules to a stored resource.
pub fn project(
    resource: &Value,
    schema: &ResourceSchema,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
) -> Value {
    let Some(obj) = resource.as_object() else {
        return resource.clone();
    };
    let mut out = Map::new();
    for (key, value) in obj {
        if key == "schemas" {
            out.insert(key.clone(), value.clone());
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            let Some(block) = value.as_object() else {
                continue;
            };
            let mut ext_out = Map::new();
            for (k, v) in block {
                if let Some(def) = ext.attribute(k)
                    && let Some(v) = project_attr(
                        def,
                        Some(ext.id.as_str()),
                        &schema.core.id,
                        v,
                        attributes,
                        excluded,
                    )
                {
                    ext_out.insert(k.clone(), v);
                }
            }
            if !ext_out.is_empty() {
                out.insert(key.clone(), Value::Object(ext_out));
            }
            continue;
        }
        let Some((_, def)) = schema.top_level(None, key) else {
            continue;
        };
        if let Some(v) = project_attr(def, None, &schema.core.id, value, attributes, excluded) {
            out.insert(key.clone(), v);
        }
    }
    Value::Object(out)
}

fn path_names(p: &AttrPath, urn: Option<&str>, core_urn: &str, name: &str) -> bool {
    let urn_ok = match (&p.urn, urn) {
        (None, _) => true,
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (Some(a), None) => a.eq_ignore_ascii_case(core_urn),
    };
    urn_ok && p.name.eq_ignore_ascii_case(name)
}

fn project_attr(
    def: &AttributeDef,
    urn: Option<&str>,
    core_urn: &str,
    value: &Value,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
) -> Option<Value> {
    let named = |p: &&AttrPath| path_names(p, urn, core_urn, &def.name);
    match def.returned {
        Returned::Never => return None,
        Returned::Always => return Some(value.clone()),
        _ => {}
    }
    if !attributes.is_empty() {
        let hits: Vec<&AttrPath> = attributes.iter().filter(named).collect();
        if hits.is_empty() {
            return None;
        }
        if hits.iter().any(|p| p.sub.is_none()) || def.kind != AttrType::Complex {
            return Some(strip_never_subs(def, value));
        }
        let subs: Vec<&str> = hits.iter().filter_map(|p| p.sub.as_deref()).collect();
        return Some(keep_subs(
            def,
            value,
            |s| subs.iter().any(|x| x.eq_ignore_ascii_case(s)),
            true,
        ));
    }
    if def.returned == Returned::Request {
        return None;
    }
    let hits: Vec<&AttrPath> = excluded.iter().filter(named).collect();
    if hits.iter().any(|p| p.sub.is_none()) {
        return None;
    }
    if hits.is_empty() || def.kind != AttrType::Complex {
        return Some(strip_never_subs(def, value));
    }
    let subs: Vec<&str> = hits.iter().filter_map(|p| p.sub.as_deref()).collect();
    Some(keep_subs(
        def,
        value,
        |s| !subs.iter().any(|x| x.eq_ignore_ascii_case(s)),
        false,
    ))
}

fn strip_never_subs(def: &AttributeDef, value: &Value) -> Value {
    if def
        .sub_attributes
        .iter()
        .any(|s| s.returned == Returned::Never)
    {
        keep_subs(def, value, |_| true, false)
    } else {
        value.clone()
    }
}

fn keep_subs(
    def: &AttributeDef,
    value: &Value,
    keep: impl Fn(&str) -> bool + Copy,
    requested: bool,
) -> Value {
    let filter_obj = |o: &Map<String, Value>| {
        let mut m = Map::new();
        for (k, v) in o {
            let sub = def.sub_attribute(k);
            let returned = sub.map(|s| s.returned).unwrap_or_default();
            let take = match returned {
                Returned::Never => false,
                Returned::Always => true,
                Returned::Request => requested && keep(k),
                Returned::Default => keep(k),
            };
            if take {
                m.insert(k.clone(), v.clone());
            }
        }
        Value::Object(m)
    };
    match value {
        Value::Object(o) => filter_obj(o),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| match v {
                    Value::Object(o) => filter_obj(o),
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Looks up `key` in a JSON object, exactly first, then case-insensitively.
pub fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let o = v.as_object()?;
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// `urn:name` for an extension attribute, `name` for a core one.
pub fn qualified(urn: Option<&str>, name: &str) -> String {
    match urn {
        Some(u) => format!("{u}:{name}"),
        None => name.to_owned(),
    }
}

fn check_schemas_member(
    obj: &Map<String, Value>,
    schema: &ResourceSchema,
    compat: CompatProfile,
) -> Result<(), ScimError> {
    let listed = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v);
    let Some(listed) = listed else {
        if compat.lenient() {
            return Ok(());
        }
        return Err(ScimError::invalid_value(
            "the \"schemas\" attribute is missing",
        ));
    };
    let urns = listed
        .as_array()
        .ok_or_else(|| ScimError::invalid_value("\"schemas\" must be an array of URNs"))?;
    let mut has_core = false;
    for u in urns {
        let u = u
            .as_str()
            .ok_or_else(|| ScimError::invalid_value("\"schemas\" must be an array of URNs"))?;
        if u.eq_ignore_ascii_case(&schema.core.id) {
            has_core = true;
        } else if !schema.knows_schema(u) && !compat.lenient() {
            return Err(ScimError::invalid_value(format!(
                "schema \"{u}\" is not supported for resource type {}",
                schema.resource_type.name
            )));
        }
    }
    if !has_core && !compat.lenient() {
        return Err(ScimError::invalid_value(format!(
            "\"schemas\" must contain \"{}\"",
            schema.core.id
        )));
    }
    Ok(())
}

fn unknown_attribute(compat: CompatProfile, name: &str) -> Result<(), ScimError> {
    if compat.lenient() {
        tracing::debug!(
            attribute = name,
            "ignoring an attribute the schema does not define"
        );
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!(
            "attribute \"{name}\" is not defined by the schema"
        )))
    }
}

/// Normalizes the value of a top-level attribute; `None` means unassigned. Read-only
/// attributes are dropped, as RFC 7644 section 3.3 and 3.5.1 ask.
pub fn normalize_top(
    def: &AttributeDef,
    value: &Value,
    compat: CompatProfile,
) -> Result<Option<Value>, ScimError> {
    if def.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    normalize_attr(def, value, compat)
}

/// Normalizes the value of an attribute (top-level or sub-attribute); `None` means
/// unassigned.
pub fn normalize_attr(
    def: &AttributeDef,
    value: &Value,
    compat: CompatProfile,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !def.multi_valued {
        if value.is_array() {
            return Err(ScimError::invalid_value(format!(
                "attribute \"{}\" is single-valued",
                def.name
            )));
        }
        return normalize_single(def, value, compat);
    }
    let items: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        other if compat.lenient() => vec![other],
        _ => {
            return Err(ScimError::invalid_value(format!(
                "attribute \"{}\" is multi-valued and needs an array",
                def.name
            )));
        }
    };
    // Duplicates are dropped; a set of serialized values keeps this linear in the number of
    // values (`Value` has no hash, and a pairwise scan is quadratic).
    let mut out = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for item in items {
        if let Some(v) = normalize_single(def, item, compat)?
            && seen.insert(v.to_string())
        {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    let primaries = out
        .iter()
        .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
        .count();
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "attribute \"{}\" has {primaries} values with primary true; at most one is allowed",
            def.name
        )));
    }
    Ok(Some(Value::Array(out)))
}

fn normalize_single(
    def: &AttributeDef,
    value: &Value,
    compat: CompatProfile,
) -> Result<Option<Value>, ScimError> {
    let wrong = |expected: &str| {
        ScimError::invalid_value(format!(
            "attribute \"{}\" must be {expected}, got {}",
            def.name,
            kind_of(value)
        ))
    };
    let v = match def.kind {
        AttrType::String | AttrType::Reference => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            // Stored in the schema's spelling of the canonical value ("Work" becomes "work").
            let Some(s) = def.canonical_form(s) else {
                return Err(ScimError::invalid_value(format!(
                    "\"{s}\" is not a canonical value of \"{}\" ({})",
                    def.name,
                    def.canonical_values.join(", ")
                )));
            };
            Value::String(s.to_owned())
        }
        AttrType::Binary => {
            let s = value.as_str().ok_or_else(|| wrong("a base64 string"))?;
            if !is_base64(s) {
                return Err(ScimError::invalid_value(format!(
                    "attribute \"{}\" must be base64 (RFC 7643 section 2.3.6)",
                    def.name
                )));
            }
            Value::String(s.to_owned())
        }
        AttrType::DateTime => {
            let s = value.as_str().ok_or_else(|| wrong("a dateTime string"))?;
            if parse_datetime(s).is_none() {
                return Err(ScimError::invalid_value(format!(
                    "\"{s}\" is not a valid dateTime for \"{}\"",
                    def.name
                )));
            }
            Value::String(s.to_owned())
        }
        AttrType::Boolean => match value {
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) if compat.lenient() && s.eq_ignore_ascii_case("true") => {
                Value::Bool(true)
            }
            Value::String(s) if compat.lenient() && s.eq_ignore_ascii_case("false") => {
                Value::Bool(false)
            }
            _ => return Err(wrong("a boolean")),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
            _ => return Err(wrong("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => value.clone(),
            _ => return Err(wrong("a number")),
        },
        AttrType::Complex => {
            let obj = match value {
                Value::Object(o) => o.clone(),
                // Compatibility: `"manager": "id"` as Entra ID and others send it.
                Value::String(s) if compat.lenient() && def.sub_attribute("value").is_some() => {
                    let mut m = Map::new();
                    m.insert("value".into(), Value::String(s.clone()));
                    m
                }
                _ => return Err(wrong("a JSON object")),
            };
            let mut out = Map::new();
            for (k, v) in &obj {
                let Some(sub) = def.sub_attribute(k) else {
                    unknown_attribute(compat, &format!("{}.{k}", def.name))?;
                    continue;
                };
                if sub.mutability == Mutability::ReadOnly && def.mutability != Mutability::ReadOnly
                {
                    continue;
                }
                if let Some(v) = normalize_attr(sub, v, compat)?
                    && sub.mutability != Mutability::WriteOnly
                {
                    out.insert(sub.name.clone(), v);
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            Value::Object(out)
        }
    };
    Ok(Some(v))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses an xsd:dateTime: RFC 3339, or without an offset (taken as UTC).
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let with_z = format!("{s}Z");
    OffsetDateTime::parse(&with_z, &Rfc3339).ok()
}

/// Whether `s` is base64 or base64url (RFC 4648 sections 4 and 5), as RFC 7643 section 2.3.6
/// requires of binary values. Whitespace (PEM line breaks) is allowed; `=` only as trailing
/// padding of a whole number of quanta.
fn is_base64(s: &str) -> bool {
    let body: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let data_len = body.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    let padding = body.len() - data_len;
    let alphabet_ok = body[..data_len]
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"+/-_".contains(&b));
    let length_ok = if padding == 0 {
        data_len % 4 != 1
    } else {
        padding <= 2 && body.len().is_multiple_of(4)
    };
    alphabet_ok && length_ok
}
