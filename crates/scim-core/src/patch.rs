//! The PATCH engine (RFC 7644 section 3.5.2).
//!
//! [`apply_patch`] takes the attributes of a stored resource and a PatchOp request and returns
//! the new attributes, or the error of the first operation that failed: the operations are
//! applied to a copy, so a request applies whole or not at all. The caller validates the
//! result against the schema ([`crate::resource::normalize`] and
//! [`crate::resource::check_rules`]) before storing it.

use serde_json::{Map, Value};

use crate::compat::CompatProfile;
use crate::error::ScimError;
use crate::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::path::{PatchPath, parse_patch_path_for};
use crate::resource::{get_ci, normalize_attr, qualified};
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceSchema};

/// The schema URN of a PATCH request body.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations one PATCH request may carry.
pub const MAX_PATCH_OPERATIONS: usize = 1000;

/// A PATCH operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    /// `add`
    Add,
    /// `remove`
    Remove,
    /// `replace`
    Replace,
}

/// Applies a PatchOp request body to `attributes` (a stored resource without `schemas`, `id`
/// and `meta`) and returns the patched attributes.
pub fn apply_patch(
    attributes: &Map<String, Value>,
    body: &Value,
    schema: &ResourceSchema,
    compat: CompatProfile,
) -> Result<Map<String, Value>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the PATCH body must be a JSON object"))?;
    check_patch_schemas(obj, compat)?;
    let ops = get_key(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ScimError::invalid_syntax("the PATCH body must have an \"Operations\" array")
        })?;
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax(
            "\"Operations\" must not be empty",
        ));
    }
    if ops.len() > MAX_PATCH_OPERATIONS {
        return Err(ScimError::invalid_value(format!(
            "a PATCH request may carry at most {MAX_PATCH_OPERATIONS} operations, got {}",
            ops.len()
        )));
    }

    let mut work = attributes.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_one(&mut work, op, schema, compat).map_err(|e| {
            ScimError::new(e.kind(), format!("operation {}: {}", i + 1, e.detail()))
        })?;
    }
    Ok(work)
}

fn get_key<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn check_patch_schemas(obj: &Map<String, Value>, compat: CompatProfile) -> Result<(), ScimError> {
    let ok = get_key(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
    if ok || compat.lenient() {
        Ok(())
    } else {
        Err(ScimError::invalid_value(format!(
            "\"schemas\" must contain \"{PATCH_OP_SCHEMA}\""
        )))
    }
}

fn op_kind(op: &Map<String, Value>, compat: CompatProfile) -> Result<PatchOpKind, ScimError> {
    let raw = get_key(op, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("operation has no \"op\""))?;
    let kind = |s: &str| match s {
        "add" => Some(PatchOpKind::Add),
        "remove" => Some(PatchOpKind::Remove),
        "replace" => Some(PatchOpKind::Replace),
        _ => None,
    };
    let found = if compat.lenient() {
        kind(&raw.to_ascii_lowercase())
    } else {
        kind(raw)
    };
    found.ok_or_else(|| {
        ScimError::invalid_syntax(format!(
            "\"op\" must be add, remove or replace, got \"{raw}\""
        ))
    })
}

fn apply_one(
    work: &mut Map<String, Value>,
    op: &Value,
    schema: &ResourceSchema,
    compat: CompatProfile,
) -> Result<(), ScimError> {
    let op = op
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("each operation must be a JSON object"))?;
    let kind = op_kind(op, compat)?;
    let value = get_key(op, "value");
    let path = match get_key(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(parse_patch_path_for(p, schema)?),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };

    match (kind, path) {
        (PatchOpKind::Remove, None) => {
            Err(ScimError::no_target("a remove operation needs a \"path\""))
        }
        (PatchOpKind::Remove, Some(path)) => {
            if let Some(urn) = path.extension_urn() {
                return remove_extension(work, urn, schema);
            }
            if ignored_undefined(&path, schema, compat) {
                return Ok(());
            }
            let target = Target::resolve(&path, schema)?;
            target.remove(work, value, compat)
        }
        (_, None) => {
            let value =
                value.ok_or_else(|| ScimError::invalid_value("operation has no \"value\""))?;
            let obj = value.as_object().ok_or_else(|| {
                ScimError::invalid_value("an operation without \"path\" needs an object \"value\"")
            })?;
            for (key, v) in obj {
                if key.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                // A whole extension block: apply each of its attributes.
                if let Some(ext) = schema.extension(key) {
                    let block = v.as_object().ok_or_else(|| {
                        ScimError::invalid_value(format!(
                            "extension \"{}\" must be a JSON object",
                            ext.id
                        ))
                    })?;
                    for (k, v) in block {
                        let path = PatchPath {
                            attr: AttrPath {
                                urn: Some(ext.id.clone()),
                                name: k.clone(),
                                sub: None,
                            },
                            filter: None,
                            sub: None,
                        };
                        apply_path_value(work, kind, &path, v, schema, compat)?;
                    }
                    continue;
                }
                // Compatibility: keys that are paths (`name.givenName`, URN-qualified).
                let path = if key.contains('.') || key.contains(':') {
                    if !compat.lenient() {
                        return Err(ScimError::invalid_path(format!(
                            "\"{key}\" is a path; a path-less operation takes attribute names"
                        )));
                    }
                    parse_patch_path_for(key, schema)?
                } else {
                    PatchPath {
                        attr: AttrPath::simple(key),
                        filter: None,
                        sub: None,
                    }
                };
                if is_readonly_path(&path, schema) {
                    // RFC 7644 section 3.5.2: without a path, read-only attributes in the
                    // value are ignored rather than rejected (clients echo `id`, `meta`).
                    continue;
                }
                apply_path_value(work, kind, &path, v, schema, compat)?;
            }
            Ok(())
        }
        (_, Some(path)) => {
            let value =
                value.ok_or_else(|| ScimError::invalid_value("operation has no \"value\""))?;
            apply_path_value(work, kind, &path, value, schema, compat)
        }
    }
}

/// `remove` with a bare extension URN as `path`: the whole extension object goes.
fn remove_extension(
    work: &mut Map<String, Value>,
    urn: &str,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let ext = schema.extension(urn).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "\"{urn}\" is not an extension of this resource type"
        ))
    })?;
    let required = schema
        .resource_type
        .schema_extensions
        .iter()
        .any(|e| e.required && e.schema.eq_ignore_ascii_case(&ext.id));
    if required {
        return Err(ScimError::mutability(format!(
            "extension \"{}\" is required and cannot be removed",
            ext.id
        )));
    }
    let key = work
        .keys()
        .find(|k| k.eq_ignore_ascii_case(&ext.id))
        .cloned();
    if let Some(k) = key {
        work.remove(&k);
    }
    Ok(())
}

/// Compatibility: an operation on an attribute or extension that the schema does not define
/// is skipped, as a POST or PUT drops such attributes (Entra ID sends custom attribute
/// mappings in PATCH requests too). The strict profile answers `invalidPath`.
fn ignored_undefined(path: &PatchPath, schema: &ResourceSchema, compat: CompatProfile) -> bool {
    if !compat.lenient() {
        return false;
    }
    let undefined = match path.attr.urn.as_deref() {
        Some(urn) if path.attr.name.is_empty() => schema.extension(urn).is_none(),
        urn => schema.top_level(urn, &path.attr.name).is_none(),
    };
    if undefined {
        tracing::debug!(
            path = %path,
            "ignoring a PATCH operation on an attribute the schema does not define"
        );
    }
    undefined
}

fn is_readonly_path(path: &PatchPath, schema: &ResourceSchema) -> bool {
    schema
        .top_level(path.attr.urn.as_deref(), &path.attr.name)
        .is_some_and(|(_, d)| d.mutability == Mutability::ReadOnly)
}

fn apply_path_value(
    work: &mut Map<String, Value>,
    kind: PatchOpKind,
    path: &PatchPath,
    value: &Value,
    schema: &ResourceSchema,
    compat: CompatProfile,
) -> Result<(), ScimError> {
    if ignored_undefined(path, schema, compat) {
        return Ok(());
    }
    if path.attr.name.is_empty() {
        // The path is a bare extension URN: the value holds that extension's attributes.
        let urn = path.attr.urn.as_deref().unwrap_or_default();
        let ext = schema.extension(urn).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "\"{urn}\" is not an extension of this resource type"
            ))
        })?;
        let block = value.as_object().ok_or_else(|| {
            ScimError::invalid_value(format!("extension \"{}\" must be a JSON object", ext.id))
        })?;
        for (k, v) in block {
            if k.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let p = PatchPath {
                attr: AttrPath {
                    urn: Some(ext.id.clone()),
                    name: k.clone(),
                    sub: None,
                },
                filter: None,
                sub: None,
            };
            if is_readonly_path(&p, schema) {
                continue;
            }
            apply_path_value(work, kind, &p, v, schema, compat)?;
        }
        return Ok(());
    }
    let target = Target::resolve(path, schema)?;
    match kind {
        PatchOpKind::Add => target.add(work, value, compat),
        PatchOpKind::Replace => target.replace(work, value, compat),
        PatchOpKind::Remove => target.remove(work, Some(value), compat),
    }
}

/// A resolved PATCH target.
struct Target<'a> {
    /// Extension URN when the attribute lives in an extension block.
    extension: Option<&'a str>,
    attr: &'a AttributeDef,
    filter: Option<&'a Filter>,
    sub: Option<&'a AttributeDef>,
    shown: String,
}

impl<'a> Target<'a> {
    fn resolve(path: &'a PatchPath, schema: &'a ResourceSchema) -> Result<Self, ScimError> {
        let (extension, attr) = schema
            .top_level(path.attr.urn.as_deref(), &path.attr.name)
            .ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "attribute \"{}\" is not defined for resource type {}",
                    path.attr, schema.resource_type.name
                ))
            })?;
        // `name.familyName` parses as a sub-attribute of the AttrPath or of the PatchPath.
        let sub_name = path.sub.as_deref().or(path.attr.sub.as_deref());
        let sub = match sub_name {
            None => None,
            Some(s) => {
                if attr.kind != AttrType::Complex {
                    return Err(ScimError::invalid_path(format!(
                        "\"{}\" has no sub-attributes",
                        attr.name
                    )));
                }
                Some(attr.sub_attribute(s).ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "\"{}\" has no sub-attribute \"{s}\"",
                        attr.name
                    ))
                })?)
            }
        };
        if let Some(f) = &path.filter {
            if attr.kind != AttrType::Complex {
                return Err(ScimError::invalid_path(format!(
                    "a value filter needs a complex attribute; \"{}\" is not",
                    attr.name
                )));
            }
            validate_element_filter(f, attr)?;
        }
        let shown = qualified(extension, &attr.name);
        Ok(Self {
            extension,
            attr,
            filter: path.filter.as_ref(),
            sub,
            shown,
        })
    }

    /// Setting sub-attribute `sub` to `new` on each of `items` of a multi-valued attribute
    /// respects its mutability: an immutable sub-attribute (`members.value`) that is already
    /// set may only be "set" to the value it has.
    fn check_sub_change<'v>(
        &self,
        items: impl Iterator<Item = &'v Value>,
        sub: &AttributeDef,
        new: Option<&Value>,
    ) -> Result<(), ScimError> {
        for item in items {
            let old = item.get(&sub.name).filter(|o| !is_empty(o));
            if old != new {
                self.check_mutable(old)?;
            }
        }
        Ok(())
    }

    /// A PATCH operation never targets a read-only attribute, whatever its sub-attribute.
    fn check_attr_writable(&self) -> Result<(), ScimError> {
        if self.attr.mutability == Mutability::ReadOnly {
            return Err(ScimError::mutability(format!(
                "attribute \"{}\" is read-only",
                self.shown
            )));
        }
        Ok(())
    }

    fn check_mutable(&self, current: Option<&Value>) -> Result<(), ScimError> {
        let m = self
            .sub
            .map(|s| s.mutability)
            .filter(|m| *m != Mutability::ReadWrite)
            .unwrap_or(self.attr.mutability);
        match m {
            Mutability::ReadOnly => Err(ScimError::mutability(format!(
                "attribute \"{}\" is read-only",
                self.shown
            ))),
            Mutability::Immutable if current.is_some_and(|c| !is_empty(c)) => {
                Err(ScimError::mutability(format!(
                    "attribute \"{}\" is immutable and already set",
                    self.shown
                )))
            }
            _ => Ok(()),
        }
    }

    /// Sets (or, for `None` or an empty value, removes) the attribute in its container:
    /// the resource, or its extension block, which is dropped when it becomes empty.
    fn put(&self, work: &mut Map<String, Value>, value: Option<Value>) {
        let name = self.attr.name.as_str();
        match self.extension {
            None => set_or_remove(work, name, value),
            Some(urn) => {
                let mut block = match work.remove(urn) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                set_or_remove(&mut block, name, value);
                if !block.is_empty() {
                    work.insert(urn.to_owned(), Value::Object(block));
                }
            }
        }
    }

    fn current<'m>(&self, work: &'m Map<String, Value>) -> Option<&'m Value> {
        let holder = match self.extension {
            None => work.get(&self.attr.name),
            Some(urn) => work.get(urn).and_then(|b| get_ci(b, &self.attr.name)),
        };
        holder.filter(|v| !v.is_null())
    }

    fn norm(
        &self,
        def: &AttributeDef,
        value: &Value,
        compat: CompatProfile,
    ) -> Result<Option<Value>, ScimError> {
        normalize_attr(def, value, compat)
    }

    fn add(
        &self,
        work: &mut Map<String, Value>,
        value: &Value,
        compat: CompatProfile,
    ) -> Result<(), ScimError> {
        let current = self.current(work).cloned();
        self.check_attr_writable()?;
        if self.filter.is_some() {
            // `add` at a value path behaves as a `replace` of the selected values.
            return self.replace(work, value, compat);
        }
        match (self.sub, self.attr.multi_valued) {
            (Some(sub), false) => {
                self.check_mutable(current.as_ref().and_then(|c| get_ci(c, &sub.name)))?;
                let v = self.norm(sub, value, compat)?;
                let mut obj = current
                    .and_then(|c| c.as_object().cloned())
                    .unwrap_or_default();
                set_or_remove(&mut obj, &sub.name, v);
                self.put(work, non_empty_object(obj));
            }
            (Some(sub), true) => {
                // `emails.value` without a filter: set the sub-attribute on every value.
                let v = self.norm(sub, value, compat)?;
                let mut items = current
                    .and_then(|c| c.as_array().cloned())
                    .unwrap_or_default();
                if items.is_empty() {
                    return Err(ScimError::no_target(format!(
                        "\"{}\" has no values to set \"{}\" on",
                        self.shown, sub.name
                    )));
                }
                self.check_sub_change(items.iter(), sub, v.as_ref())?;
                for item in &mut items {
                    if let Value::Object(o) = item {
                        set_or_remove(o, &sub.name, v.clone());
                    }
                }
                self.put(work, Some(Value::Array(items)));
            }
            (None, true) => {
                self.check_mutable(None)?;
                let Some(Value::Array(new)) = self.norm(self.attr, value, compat)? else {
                    return Ok(());
                };
                let mut items = current
                    .and_then(|c| c.as_array().cloned())
                    .unwrap_or_default();
                if new
                    .iter()
                    .any(|v| v.get("primary") == Some(&Value::Bool(true)))
                {
                    clear_primary(&mut items);
                }
                let mut index = ValueIndex::default();
                for (i, item) in items.iter().enumerate() {
                    index.insert(item, i);
                }
                for v in new {
                    if let Some(i) = index.first_same(&v) {
                        let before = value_key(&items[i]).1;
                        merge_into(&mut items[i], &v);
                        index.retype(&items[i], before, i);
                    } else {
                        index.insert(&v, items.len());
                        items.push(v);
                    }
                }
                self.put(work, Some(Value::Array(items)));
            }
            (None, false) => {
                if self.attr.kind == AttrType::Complex {
                    // Merge sub-attributes into the existing value.
                    let v = self.norm(self.attr, value, compat)?;
                    let mut obj = current
                        .clone()
                        .and_then(|c| c.as_object().cloned())
                        .unwrap_or_default();
                    if let Some(Value::Object(new)) = v {
                        for (k, nv) in new {
                            if let Some(sd) = self.attr.sub_attribute(&k)
                                && sd.mutability == Mutability::Immutable
                                && obj.get(&k).is_some_and(|o| o != &nv)
                            {
                                return Err(ScimError::mutability(format!(
                                    "attribute \"{}.{}\" is immutable and already set",
                                    self.shown, sd.name
                                )));
                            }
                            obj.insert(k, nv);
                        }
                    }
                    self.put(work, non_empty_object(obj));
                } else {
                    let v = self.norm(self.attr, value, compat)?;
                    if current.as_ref() != v.as_ref() {
                        self.check_mutable(current.as_ref())?;
                    }
                    self.put(work, v);
                }
            }
        }
        Ok(())
    }

    fn replace(
        &self,
        work: &mut Map<String, Value>,
        value: &Value,
        compat: CompatProfile,
    ) -> Result<(), ScimError> {
        let current = self.current(work).cloned();
        self.check_attr_writable()?;
        let Some(filter) = self.filter else {
            return match (self.sub, self.attr.multi_valued, self.attr.kind) {
                // Whole multi-valued attribute: all values are replaced.
                (None, true, _) => {
                    self.check_mutable(current.as_ref())?;
                    let v = self.norm(self.attr, value, compat)?;
                    self.put(work, v);
                    Ok(())
                }
                // Otherwise `replace` sets like `add` (complex values merge sub-attributes).
                _ => self.add(work, value, compat),
            };
        };

        // A value path: replace the selected values, or a sub-attribute of each.
        let mut items = match &current {
            Some(Value::Array(a)) => a.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => Vec::new(),
        };
        let hits: Vec<usize> = (0..items.len())
            .filter(|&i| element_matches(filter, &items[i], self.attr))
            .collect();
        if hits.is_empty() {
            if compat.lenient() {
                return self.add_from_filter(work, filter, value, compat);
            }
            return Err(ScimError::no_target(format!(
                "no value of \"{}\" matches the filter {filter}",
                self.shown
            )));
        }
        self.check_mutable(None)?;
        match self.sub {
            Some(sub) => {
                let v = self.norm(sub, value, compat)?;
                self.check_sub_change(hits.iter().map(|&i| &items[i]), sub, v.as_ref())?;
                if sub.name == "primary" && v == Some(Value::Bool(true)) {
                    clear_primary(&mut items);
                }
                for &i in &hits {
                    if let Value::Object(o) = &mut items[i] {
                        set_or_remove(o, &sub.name, v.clone());
                    }
                }
            }
            None => {
                let single = Value::Array(vec![value.clone()]);
                let as_items = if value.is_array() { value } else { &single };
                let new = match self.norm(self.attr, as_items, compat)? {
                    Some(Value::Array(n)) => n,
                    _ => Vec::new(),
                };
                let replacement = new.into_iter().next().unwrap_or(Value::Null);
                if replacement.get("primary") == Some(&Value::Bool(true)) {
                    clear_primary(&mut items);
                }
                for &i in &hits {
                    items[i] = replacement.clone();
                }
            }
        }
        items.retain(|v| !is_empty(v));
        let out = if self.attr.multi_valued {
            if items.is_empty() {
                None
            } else {
                Some(Value::Array(items))
            }
        } else {
            items.into_iter().next()
        };
        self.put(work, out);
        Ok(())
    }

    /// Compatibility: a `replace` whose filter selects nothing adds a value built from the
    /// filter's `eq` conditions and the operation's value, as Entra ID expects.
    fn add_from_filter(
        &self,
        work: &mut Map<String, Value>,
        filter: &Filter,
        value: &Value,
        compat: CompatProfile,
    ) -> Result<(), ScimError> {
        let mut element = Map::new();
        collect_equalities(filter, &mut element);
        match self.sub {
            Some(sub) => {
                element.insert(sub.name.clone(), value.clone());
            }
            None => match value {
                Value::Object(o) => element.extend(o.clone()),
                Value::Array(a) if a.len() == 1 && a[0].is_object() => {
                    if let Value::Object(o) = &a[0] {
                        element.extend(o.clone());
                    }
                }
                _ => {
                    element.insert("value".into(), value.clone());
                }
            },
        }
        let path_add = Target {
            extension: self.extension,
            attr: self.attr,
            filter: None,
            sub: None,
            shown: self.shown.clone(),
        };
        let v = if self.attr.multi_valued {
            Value::Array(vec![Value::Object(element)])
        } else {
            Value::Object(element)
        };
        path_add.add(work, &v, compat)
    }

    fn remove(
        &self,
        work: &mut Map<String, Value>,
        value: Option<&Value>,
        compat: CompatProfile,
    ) -> Result<(), ScimError> {
        let current = self.current(work).cloned();
        self.check_attr_writable()?;
        if self.attr.required && self.filter.is_none() && self.sub.is_none() {
            return Err(ScimError::mutability(format!(
                "attribute \"{}\" is required and cannot be removed",
                self.shown
            )));
        }
        let Some(current) = current else {
            return Ok(());
        };
        match (self.filter, self.sub) {
            (None, None) => {
                // Compatibility: `remove` on a multi-valued attribute with a value list
                // removes only the listed values (Entra ID, Okta and others for `members`).
                if let (true, Some(v)) = (self.attr.multi_valued, value.filter(|v| !v.is_null()))
                    && compat.lenient()
                {
                    let listed = match self.norm(self.attr, v, compat)? {
                        Some(Value::Array(l)) => l,
                        _ => Vec::new(),
                    };
                    let mut items = current.as_array().cloned().unwrap_or_default();
                    let mut index = ValueIndex::default();
                    for (i, l) in listed.iter().enumerate() {
                        index.insert(l, i);
                    }
                    items.retain(|e| index.first_same(e).is_none());
                    let out = if items.is_empty() {
                        None
                    } else {
                        Some(Value::Array(items))
                    };
                    self.put(work, out);
                    return Ok(());
                }
                self.check_mutable(None)?;
                self.put(work, None);
            }
            (None, Some(sub)) => {
                self.check_mutable(None)?;
                let mut cur = current;
                match &mut cur {
                    Value::Object(o) => {
                        o.remove(&sub.name);
                    }
                    Value::Array(a) => {
                        for e in a.iter_mut() {
                            if let Value::Object(o) = e {
                                o.remove(&sub.name);
                            }
                        }
                        a.retain(|v| !is_empty(v));
                    }
                    _ => {}
                }
                self.put(work, Some(cur).filter(|v| !is_empty(v)));
            }
            (Some(filter), sub) => {
                let mut items = match current {
                    Value::Array(a) => a,
                    v @ Value::Object(_) => vec![v],
                    _ => Vec::new(),
                };
                match sub {
                    None => items.retain(|e| !element_matches(filter, e, self.attr)),
                    Some(sub) => {
                        for e in items.iter_mut() {
                            if element_matches(filter, e, self.attr)
                                && let Value::Object(o) = e
                            {
                                o.remove(&sub.name);
                            }
                        }
                        items.retain(|v| !is_empty(v));
                    }
                }
                let out = if items.is_empty() {
                    None
                } else if self.attr.multi_valued {
                    Some(Value::Array(items))
                } else {
                    items.into_iter().next()
                };
                self.put(work, out);
            }
        }
        Ok(())
    }
}

fn validate_element_filter(filter: &Filter, attr: &AttributeDef) -> Result<(), ScimError> {
    let check = |p: &AttrPath| -> Result<(), ScimError> {
        if p.urn.is_some() || p.sub.is_some() || attr.sub_attribute(&p.name).is_none() {
            return Err(ScimError::invalid_path(format!(
                "\"{}\" has no sub-attribute \"{p}\"",
                attr.name
            )));
        }
        Ok(())
    };
    match filter {
        Filter::Present(p) | Filter::Compare { path: p, .. } => check(p),
        Filter::Not(f) => validate_element_filter(f, attr),
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate_element_filter(a, attr)?;
            validate_element_filter(b, attr)
        }
        Filter::ValuePath { .. } => Err(ScimError::invalid_path("value filters cannot be nested")),
    }
}

/// Whether one value of a complex attribute matches a value-path filter.
fn element_matches(filter: &Filter, element: &Value, attr: &AttributeDef) -> bool {
    crate::filter::matches_element(filter, element, attr)
}

fn collect_equalities(filter: &Filter, out: &mut Map<String, Value>) {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } => {
            let v = match value {
                CompValue::String(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return,
            };
            out.insert(path.name.clone(), v);
        }
        Filter::And(a, b) => {
            collect_equalities(a, out);
            collect_equalities(b, out);
        }
        _ => {}
    }
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) if !is_empty(&v) => {
            map.insert(key.to_owned(), v);
        }
        _ => {
            map.remove(key);
        }
    }
}

fn non_empty_object(o: Map<String, Value>) -> Option<Value> {
    if o.is_empty() {
        None
    } else {
        Some(Value::Object(o))
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Object(o) => o.values().all(is_empty),
        _ => false,
    }
}

fn clear_primary(items: &mut [Value]) {
    for item in items {
        if let Value::Object(o) = item
            && o.get("primary") == Some(&Value::Bool(true))
        {
            o.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// The reference definition that [`ValueIndex`] implements without scanning: two values of
/// a multi-valued attribute are the same value when their `value`
/// sub-attributes are equal (and, without `value`, when they are equal whole).
#[cfg(test)]
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => match (x, y) {
            (Value::String(x), Value::String(y)) => {
                // Types must agree too where both carry one (a work and a home address
                // with the same value are two values).
                x == y
                    && match (a.get("type"), b.get("type")) {
                        // `type` is not caseExact in any core schema: "user" names "User".
                        (Some(Value::String(t1)), Some(Value::String(t2))) => {
                            t1.eq_ignore_ascii_case(t2)
                        }
                        (Some(t1), Some(t2)) => t1 == t2,
                        _ => true,
                    }
            }
            _ => x == y,
        },
        _ => a == b,
    }
}

/// What [`same_value`] compares, as hashable keys: the value key (a string `value`, another
/// `value` or, without `value`, the whole item) and, for string values only, the case-folded
/// `type` (`None` when the item has no `type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ValueKey {
    Str(String),
    Other(String),
    Whole(String),
}

type TypeKey = Option<String>;

fn value_key(item: &Value) -> (ValueKey, TypeKey) {
    match item.get("value") {
        Some(Value::String(s)) => {
            let ty = match item.get("type") {
                None => None,
                Some(Value::String(t)) => Some(format!("s{}", t.to_ascii_lowercase())),
                Some(t) => Some(format!("j{}", canonical_json(t))),
            };
            (ValueKey::Str(s.clone()), ty)
        }
        Some(v) => (ValueKey::Other(canonical_json(v)), None),
        None => (ValueKey::Whole(canonical_json(item)), None),
    }
}

/// JSON text with object keys sorted, so that equal values give equal text whatever the
/// key order (serde_json keeps insertion order here).
fn canonical_json(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                out.push('{');
                for (n, k) in keys.into_iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&o[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (n, e) in a.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write(e, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// An index of the items of a multi-valued attribute that answers "the first item that is
/// [`same_value`] as this one" without scanning the items: per value key, the positions of
/// the items by type key. An item without `type` matches any type, so the first match is the
/// smallest position among the new item's type and the untyped items (or among all items
/// with that value, when the new item has no type).
#[derive(Default)]
struct ValueIndex {
    buckets: std::collections::HashMap<ValueKey, Bucket>,
}

#[derive(Default)]
struct Bucket {
    first: Option<usize>,
    by_type: std::collections::HashMap<TypeKey, std::collections::BTreeSet<usize>>,
}

impl ValueIndex {
    fn insert(&mut self, item: &Value, at: usize) {
        let (vk, tk) = value_key(item);
        let b = self.buckets.entry(vk).or_default();
        b.first = Some(b.first.map_or(at, |f| f.min(at)));
        b.by_type.entry(tk).or_default().insert(at);
    }

    fn first_same(&self, item: &Value) -> Option<usize> {
        let (vk, tk) = value_key(item);
        let b = self.buckets.get(&vk)?;
        let first_of = |t: &TypeKey| b.by_type.get(t).and_then(|s| s.first().copied());
        match (&vk, &tk) {
            (ValueKey::Str(_), Some(_)) => match (first_of(&tk), first_of(&None)) {
                (Some(a), Some(c)) => Some(a.min(c)),
                (a, c) => a.or(c),
            },
            _ => b.first,
        }
    }

    /// Moves the item at `at` to its new type key after a merge (the value key of an item
    /// does not change when an equal value is merged into it).
    fn retype(&mut self, item: &Value, before: TypeKey, at: usize) {
        let (vk, tk) = value_key(item);
        if tk == before {
            return;
        }
        if let Some(b) = self.buckets.get_mut(&vk) {
            if let Some(s) = b.by_type.get_mut(&before) {
                s.remove(&at);
            }
            b.by_type.entry(tk).or_default().insert(at);
        }
    }
}

fn merge_into(target: &mut Value, new: &Value) {
    match (target, new) {
        (Value::Object(t), Value::Object(n)) => {
            for (k, v) in n {
                t.insert(k.clone(), v.clone());
            }
        }
        (t, n) => *t = n.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn items() -> Vec<Value> {
        let mut out = Vec::new();
        for v in [json!("a"), json!("A"), json!("b"), json!(1), json!(1.0)] {
            for t in [
                None,
                Some(json!("work")),
                Some(json!("WORK")),
                Some(json!("home")),
                Some(json!(7)),
            ] {
                let mut o = Map::new();
                o.insert("value".into(), v.clone());
                if let Some(t) = t {
                    o.insert("type".into(), t);
                }
                out.push(Value::Object(o));
            }
        }
        out.push(json!({"display": "x", "primary": true}));
        out.push(json!({"primary": true, "display": "x"}));
        out.push(json!({"display": "y"}));
        out.push(json!("plain"));
        out
    }

    /// The index finds exactly the first item that `same_value` finds, for every pair of
    /// value shapes (string and other values, typed in any case, untyped, value-less items
    /// whose keys come in another order).
    #[test]
    fn value_index_finds_the_first_same_value() {
        let all = items();
        for start in 0..all.len() {
            // Rotate so that each item is first in some order.
            let existing: Vec<Value> = all[start..].iter().chain(&all[..start]).cloned().collect();
            let mut index = ValueIndex::default();
            for (i, e) in existing.iter().enumerate() {
                index.insert(e, i);
            }
            for probe in &all {
                let expected = existing.iter().position(|e| same_value(e, probe));
                assert_eq!(index.first_same(probe), expected, "probe {probe}");
            }
        }
    }

    /// Adding many new values keeps them all, in order, and merges a repeated value into
    /// its first occurrence (a typed value merged into an untyped one becomes typed, and a
    /// later value of that type merges into it).
    #[test]
    fn add_merges_into_the_first_equal_value_and_keeps_order() {
        let schema = ResourceSchema::user();
        let mut emails: Vec<Value> = (0..5_000)
            .map(|i| json!({"value": format!("u{i}@example.com")}))
            .collect();
        emails.push(json!({"value": "u3@example.com", "type": "work"}));
        emails.push(json!({"value": "u3@example.com", "type": "home"}));
        emails.push(json!({"value": "u3@example.com", "type": "Work", "display": "d"}));
        let attrs = json!({"userName": "x"});
        let body = json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [{"op": "add", "path": "emails", "value": emails}]
        });
        let out = apply_patch(
            attrs.as_object().expect("object"),
            &body,
            &schema,
            CompatProfile::default(),
        )
        .expect("patch");
        let got = out["emails"].as_array().expect("emails");
        assert_eq!(got.len(), 5_001);
        assert_eq!(got[0]["value"], "u0@example.com");
        assert_eq!(got[4_999]["value"], "u4999@example.com");
        assert_eq!(got[3]["type"], "work");
        assert_eq!(got[3]["display"], "d");
        assert_eq!(
            got[5_000],
            json!({"value": "u3@example.com", "type": "home"})
        );
    }
}
