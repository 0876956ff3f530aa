//! `gatehouse scim filter` and `gatehouse scim patch`.

use std::io::Read as _;
use std::path::Path;

use scim_core::resource::{self, Meta};
use scim_core::schema::{GROUP_SCHEMA, Mutability};
use scim_core::{CompatProfile, ResourceSchema, ScimError, parse_filter};
use serde_json::{Map, Value};

use crate::ResourceTypeArg;

/// Why an input was rejected.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// A SCIM check failed; `step` names what the CLI was doing.
    Scim {
        step: &'static str,
        error: ScimError,
    },
    /// A file could not be read or is not the JSON the command needs.
    Input(String),
}

impl Rejection {
    /// Prints the one stderr line and, for SCIM errors, the RFC 7644 error body on stdout.
    pub(crate) fn report(&self) {
        match self {
            Self::Scim { step, error } => {
                let check = error
                    .scim_type()
                    .map_or_else(|| error.status().to_string(), str::to_owned);
                eprintln!(
                    "{step} rejected: {check} (HTTP {}): {}",
                    error.status(),
                    one_line(error.detail())
                );
                println!("{:#}", error.to_json());
            }
            Self::Input(message) => eprintln!("{}", one_line(message)),
        }
    }
}

/// `scim filter FILTER [--match RESOURCES.json]`: the canonical form of the filter as a JSON
/// string, or the JSON array of the `id`s of the matching resources.
pub(crate) fn filter(text: &str, match_file: Option<&Path>) -> Result<Value, Rejection> {
    let parsed = parse_filter(text).map_err(|error| Rejection::Scim {
        step: "filter",
        error,
    })?;
    let Some(path) = match_file else {
        return Ok(Value::String(parsed.to_string()));
    };

    let resources = read_json(path, "resources")?;
    let Value::Array(resources) = resources else {
        return Err(Rejection::Input(format!(
            "resources file {}: expected a JSON array of resources",
            path.display()
        )));
    };
    let user = ResourceSchema::user();
    let group = ResourceSchema::group();
    let mut ids = Vec::new();
    for (index, r) in resources.iter().enumerate() {
        if !r.is_object() {
            return Err(Rejection::Input(format!(
                "resources file {}: element {index} is not a JSON object",
                path.display()
            )));
        }
        let schema = if is_group(r) { &group } else { &user };
        if parsed.matches(r, schema) {
            let id = r.get("id").and_then(Value::as_str).ok_or_else(|| {
                Rejection::Input(format!(
                    "resources file {}: element {index} matches but has no string \"id\"",
                    path.display()
                ))
            })?;
            ids.push(Value::String(id.to_owned()));
        }
    }
    Ok(Value::Array(ids))
}

/// `scim patch --resource FILE --request FILE [--resource-type User|Group]`: the patched
/// resource, validated as the service validates a PATCH result.
///
/// The output keeps the input's `id` and `meta` unchanged (nothing is stored, so no version
/// is bumped) and its read-only attributes such as `groups`; `schemas` is rebuilt from the
/// attributes present.
pub(crate) fn patch(
    resource_path: &Path,
    request_path: &Path,
    resource_type: ResourceTypeArg,
) -> Result<Value, Rejection> {
    let stored = read_json(resource_path, "resource")?;
    let Value::Object(stored_obj) = &stored else {
        return Err(Rejection::Input(format!(
            "resource file {}: expected a JSON object",
            resource_path.display()
        )));
    };
    let request = read_json(request_path, "request")?;
    let schema = match resource_type {
        ResourceTypeArg::User => ResourceSchema::user(),
        ResourceTypeArg::Group => ResourceSchema::group(),
    };
    let compat = CompatProfile::default();
    let scim = |step| move |error| Rejection::Scim { step, error };

    let current = resource::attributes_of(&stored);
    let patched = scim_core::patch::apply_patch(&current, &request, &schema, compat)
        .map_err(scim("patch"))?;

    // The service re-validates a PATCH result as a replace of the stored resource.
    let mut whole = Map::new();
    whole.insert(
        "schemas".into(),
        stored_obj
            .get("schemas")
            .cloned()
            .unwrap_or_else(|| Value::Array(vec![Value::String(schema.core.id.clone())])),
    );
    whole.extend(patched);
    let mut attrs = resource::normalize(&Value::Object(whole), &schema, compat)
        .map_err(scim("patched resource"))?;
    resource::check_rules(&attrs, Some(&stored), &schema).map_err(scim("patched resource"))?;

    // Read-only attributes are the server's; a replace keeps them as stored.
    for def in &schema.core.attributes {
        if def.mutability == Mutability::ReadOnly
            && let Some(v) = resource::get_ci(&stored, &def.name)
        {
            attrs.entry(def.name.clone()).or_insert_with(|| v.clone());
        }
    }

    let id = stored_obj.get("id").and_then(Value::as_str);
    let placeholder_meta = Meta::new(String::new(), time::OffsetDateTime::UNIX_EPOCH);
    let mut out = resource::assemble(attrs, &schema, id.unwrap_or_default(), placeholder_meta);
    if let Value::Object(m) = &mut out {
        if id.is_none() {
            m.remove("id");
        }
        match stored_obj.get("meta") {
            Some(meta) => {
                m.insert("meta".into(), meta.clone());
            }
            None => {
                m.remove("meta");
            }
        }
    }
    Ok(out)
}

/// Whether a resource's `schemas` names the Group core schema.
fn is_group(resource: &Value) -> bool {
    resource
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .any(|u| u.eq_ignore_ascii_case(GROUP_SCHEMA))
        })
}

fn read_json(path: &Path, what: &str) -> Result<Value, Rejection> {
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Rejection::Input(format!("cannot read the {what} from stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| {
            Rejection::Input(format!(
                "cannot read the {what} file {}: {e}",
                path.display()
            ))
        })?
    };
    serde_json::from_str(&text).map_err(|e| {
        Rejection::Input(format!(
            "the {what} file {} is not valid JSON: {e}",
            path.display()
        ))
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
