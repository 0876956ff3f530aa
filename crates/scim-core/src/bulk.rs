//! `/Bulk` (RFC 7644 section 3.7): several operations in one request, with `bulkId`
//! references between them.
//!
//! Operations run in request order, except that an operation whose `path` or `data` refers
//! to `bulkId:X` waits until the POST with `bulkId` X has run (a forward reference). An
//! operation whose references can never resolve (an unknown `bulkId`, a failed POST, or a
//! cycle of references, including an operation that names its own `bulkId`) fails with 409
//! `invalidValue`; a `bulkId:` reference is never stored literally. After `failOnErrors` failures the
//! remaining operations are not run. Each operation is atomic on its own; the Bulk request
//! as a whole is not (RFC 7644 does not ask it to be).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::error::{ErrorKind, ScimError};
use crate::service::{ScimService, etag_of};

/// The schema URN of Bulk requests.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The schema URN of Bulk responses.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

struct Op<'a> {
    index: usize,
    method: String,
    path: String,
    bulk_id: Option<String>,
    version: Option<String>,
    data: Option<&'a Value>,
    refs: HashSet<String>,
    /// The operation's `path` or `data` names its own `bulkId` (RFC 7644 section 3.7.1: a
    /// circular reference).
    self_ref: bool,
}

impl ScimService {
    /// Runs a BulkRequest and returns the BulkResponse.
    pub(crate) async fn bulk(&self, base: &str, body: &Value) -> Result<Value, ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the Bulk request must be a JSON object"))?;
        let listed = obj
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA))
                })
            });
        if !listed && !self.config.compat.lenient() {
            return Err(ScimError::invalid_value(format!(
                "\"schemas\" must contain \"{BULK_REQUEST_SCHEMA}\""
            )));
        }
        let raw_ops = obj
            .get("Operations")
            .or_else(|| obj.get("operations"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ScimError::invalid_syntax("the Bulk request needs an \"Operations\" array")
            })?;
        if raw_ops.len() > self.config.bulk_max_operations {
            return Err(ScimError::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "the Bulk request has {} operations; maxOperations is {}",
                    raw_ops.len(),
                    self.config.bulk_max_operations
                ),
            ));
        }
        let fail_on_errors = match obj.get("failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                ScimError::invalid_value("\"failOnErrors\" must be a positive integer")
            })? as usize),
        };

        let mut ops = Vec::with_capacity(raw_ops.len());
        let mut seen_ids = HashSet::new();
        for (index, raw) in raw_ops.iter().enumerate() {
            let op = parse_op(index, raw)?;
            if let Some(id) = &op.bulk_id
                && !seen_ids.insert(id.clone())
            {
                return Err(ScimError::invalid_value(format!(
                    "bulkId \"{id}\" is used by more than one operation"
                )));
            }
            ops.push(op);
        }
        let defined: HashSet<String> = ops
            .iter()
            .filter(|o| o.method == "POST")
            .filter_map(|o| o.bulk_id.clone())
            .collect();

        let mut results: Vec<Option<Value>> = vec![None; ops.len()];
        let mut resolved: HashMap<String, String> = HashMap::new();
        let mut failed_ids: HashSet<String> = HashSet::new();
        let mut errors = 0usize;
        let mut pending: Vec<usize> = (0..ops.len()).collect();

        'outer: while !pending.is_empty() {
            // The first pending operation whose references are all settled.
            let pick = pending.iter().position(|&i| {
                ops[i].refs.iter().all(|r| {
                    resolved.contains_key(r) || failed_ids.contains(r) || !defined.contains(r)
                })
            });
            let Some(pos) = pick else {
                // Every pending operation waits on another pending one: a cycle.
                for &i in &pending {
                    let e = ScimError::new(
                        ErrorKind::UnresolvedBulkId,
                        "the bulkId references of this operation form a cycle".to_owned(),
                    );
                    results[i] = Some(error_result(&ops[i], &e));
                }
                break 'outer;
            };
            let i = pending.remove(pos);
            let op = &ops[i];
            let outcome = match op.refs.iter().find(|r| !resolved.contains_key(*r)) {
                _ if op.self_ref => Err(ScimError::new(
                    ErrorKind::UnresolvedBulkId,
                    format!(
                        "the operation refers to its own bulkId \"{}\": a circular reference",
                        op.bulk_id.as_deref().unwrap_or_default()
                    ),
                )),
                Some(r) => Err(ScimError::new(
                    ErrorKind::UnresolvedBulkId,
                    format!("bulkId \"{r}\" does not refer to a resource created in this request"),
                )),
                None => self.run_op(base, op, &resolved).await,
            };
            match outcome {
                Ok((result, new_id)) => {
                    if let (Some(b), Some(id)) = (&op.bulk_id, new_id) {
                        resolved.insert(b.clone(), id);
                    }
                    results[i] = Some(result);
                }
                Err(e) => {
                    if let Some(b) = &op.bulk_id {
                        failed_ids.insert(b.clone());
                    }
                    results[i] = Some(error_result(op, &e));
                    errors += 1;
                    if fail_on_errors.is_some_and(|n| errors >= n) {
                        break 'outer;
                    }
                }
            }
        }

        let operations: Vec<Value> = results.into_iter().flatten().collect();
        Ok(json!({ "schemas": [BULK_RESPONSE_SCHEMA], "Operations": operations }))
    }

    async fn run_op(
        &self,
        base: &str,
        op: &Op<'_>,
        resolved: &HashMap<String, String>,
    ) -> Result<(Value, Option<String>), ScimError> {
        let path = substitute_str(&op.path, resolved);
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let data = op.data.map(|d| substitute(d, resolved));
        // Whatever is left unresolved must never reach the store as a literal.
        let mut left = HashSet::new();
        collect_refs_str(&path, &mut left);
        if let Some(d) = &data {
            collect_refs(d, &mut left);
        }
        if let Some(r) = left.into_iter().next() {
            return Err(ScimError::new(
                ErrorKind::UnresolvedBulkId,
                format!("bulkId \"{r}\" does not refer to a resource created in this request"),
            ));
        }
        let need_data = || {
            data.as_ref().ok_or_else(|| {
                ScimError::invalid_syntax(format!("a {} operation needs \"data\"", op.method))
            })
        };
        let (endpoint, id) = match segments.as_slice() {
            [e] => (*e, None),
            [e, id] => (*e, Some(*id)),
            _ => {
                return Err(ScimError::invalid_path(format!(
                    "\"{path}\" is not a resource path"
                )));
            }
        };
        let schema = self.type_for_endpoint(endpoint)?;
        let version = op.version.as_deref();
        let (status, mut resource) = match (op.method.as_str(), id) {
            ("POST", None) => {
                let (r, _) = self.create(schema, need_data()?).await?;
                ("201", Some(r))
            }
            ("PUT", Some(id)) => (
                "200",
                Some(self.replace(schema, id, need_data()?, version).await?.0),
            ),
            ("PATCH", Some(id)) => (
                "200",
                Some(self.patch(schema, id, need_data()?, version).await?.0),
            ),
            ("DELETE", Some(id)) => {
                self.delete(schema, id, version).await?;
                ("204", None)
            }
            (m, _) => {
                return Err(ScimError::invalid_path(format!(
                    "method {m} does not apply to \"{path}\""
                )));
            }
        };
        let mut out = Map::new();
        out.insert("method".into(), Value::String(op.method.clone()));
        if let Some(b) = &op.bulk_id {
            out.insert("bulkId".into(), Value::String(b.clone()));
        }
        let mut new_id = None;
        if let Some(r) = &mut resource {
            crate::service::render_links(base, schema, r);
            if let Some(loc) = r.pointer("/meta/location") {
                out.insert("location".into(), loc.clone());
            }
            out.insert("version".into(), Value::String(etag_of(r)));
            new_id = r.get("id").and_then(Value::as_str).map(str::to_owned);
        } else if let Some(id) = id {
            out.insert(
                "location".into(),
                Value::String(format!("{base}{}/{id}", schema.resource_type.endpoint)),
            );
        }
        out.insert("status".into(), Value::String(status.into()));
        Ok((Value::Object(out), new_id))
    }
}

fn parse_op(index: usize, raw: &Value) -> Result<Op<'_>, ScimError> {
    let o = raw.as_object().ok_or_else(|| {
        ScimError::invalid_syntax(format!("Bulk operation {} is not an object", index + 1))
    })?;
    let method = o
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ScimError::invalid_syntax(format!("Bulk operation {} has no \"method\"", index + 1))
        })?
        .to_ascii_uppercase();
    let path = o
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ScimError::invalid_syntax(format!("Bulk operation {} has no \"path\"", index + 1))
        })?
        .to_owned();
    let bulk_id = o.get("bulkId").and_then(Value::as_str).map(str::to_owned);
    if method == "POST" && bulk_id.is_none() {
        return Err(ScimError::invalid_syntax(format!(
            "Bulk operation {} is a POST without \"bulkId\"",
            index + 1
        )));
    }
    let version = o.get("version").and_then(Value::as_str).map(str::to_owned);
    let data = o.get("data");
    let mut refs = HashSet::new();
    collect_refs_str(&path, &mut refs);
    if let Some(d) = data {
        collect_refs(d, &mut refs);
    }
    let self_ref = bulk_id.as_ref().is_some_and(|b| refs.remove(b));
    Ok(Op {
        index,
        method,
        path,
        bulk_id,
        version,
        data,
        refs,
        self_ref,
    })
}

fn collect_refs_str(s: &str, out: &mut HashSet<String>) {
    for part in s.split('/') {
        if let Some(id) = part.strip_prefix("bulkId:") {
            out.insert(id.to_owned());
        }
    }
}

fn collect_refs(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:") {
                out.insert(id.to_owned());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn substitute_str(s: &str, resolved: &HashMap<String, String>) -> String {
    s.split('/')
        .map(
            |part| match part.strip_prefix("bulkId:").and_then(|b| resolved.get(b)) {
                Some(id) => id.as_str(),
                None => part,
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn substitute(v: &Value, resolved: &HashMap<String, String>) -> Value {
    match v {
        Value::String(s) => match s.strip_prefix("bulkId:").and_then(|b| resolved.get(b)) {
            Some(id) => Value::String(id.clone()),
            None => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, resolved)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, resolved)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn error_result(op: &Op<'_>, e: &ScimError) -> Value {
    let mut out = Map::new();
    out.insert("method".into(), Value::String(op.method.clone()));
    if let Some(b) = &op.bulk_id {
        out.insert("bulkId".into(), Value::String(b.clone()));
    }
    out.insert("status".into(), Value::String(e.status().to_string()));
    out.insert("response".into(), e.to_json());
    let _ = op.index;
    Value::Object(out)
}
