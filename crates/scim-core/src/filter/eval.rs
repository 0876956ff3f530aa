//! Schema-driven filter evaluation and validation, and the value order used by `sortBy`.
//!
//! # Matching semantics
//!
//! A path is resolved in the [`ResourceSchema`]: core and common attributes are top-level keys
//! of the resource, extension attributes live under the extension URN's key. Every key is
//! matched case-insensitively. A path naming the core schema URN reads the top-level key.
//!
//! * **Strings** (and `reference` and `binary` values) compare case-insensitively unless the
//!   attribute is `caseExact`; case folding is Unicode lower-casing, with an ASCII fast path.
//!   `gt`/`ge`/`lt`/`le` order strings lexicographically by (folded) code point.
//! * **`co`, `sw` and `ew`** apply to string values and string literals only.
//! * **Booleans** equal only boolean literals: `active eq "true"` never matches.
//! * **Numbers** (`integer` and `decimal`) compare numerically; an integer value and a decimal
//!   literal compare fine (`x gt -1.5e3`).
//! * **dateTime** values compare as instants: xsd:dateTime / RFC 3339 with any offset,
//!   fractional seconds and `Z`; a value without an offset is taken as UTC. When either side
//!   does not parse as a dateTime, the two compare as strings.
//! * **Multi-valued** attributes match when any value matches. A comparison on a complex
//!   attribute without a sub-attribute (`emails co "x"`) compares each element's `value`.
//! * **`ne`** is exactly `not (eq)`, so an absent attribute satisfies `ne`.
//! * **`eq null`** matches an absent or null attribute (or one whose values are all absent).
//! * **`pr`** is false for absent, `null`, `""`, `[]`, `{}`, and for arrays and objects whose
//!   contents are all absent, null or empty.
//! * **Value paths** `attr[filter]` match when some element of `attr` satisfies `filter`, whose
//!   paths are the element's sub-attributes; a single-valued complex attribute is its own
//!   single element.
//! * Attributes unknown to the schema, and values of an unexpected JSON type, never match;
//!   evaluation never fails and never panics. Use [`Filter::validate`] first to reject such
//!   filters with `invalidFilter`.

use std::cmp::Ordering;

use serde_json::{Number, Value};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::error::ScimError;
use crate::schema::{AttrType, AttributeDef, ResourceSchema};

impl Filter {
    /// Whether `resource` (SCIM JSON) matches this filter, under `schema`.
    ///
    /// See the [module documentation](self) for the exact semantics.
    pub fn matches(&self, resource: &Value, schema: &ResourceSchema) -> bool {
        eval(
            self,
            Scope::Resource {
                resource,
                schema,
                computed: None,
                budget: None,
            },
        )
    }

    /// Like [`Filter::matches`], with the core attribute `name` of `computed` taking its
    /// value instead of what `resource` holds: a computed attribute (a user's `groups`) is
    /// matched without copying the resource to fill it in. `computed` is
    /// `computed` optional; every value a term looks at is charged to `budget`, and once it
    /// is spent the result is meaningless (the caller checks [`Budget::spent`]).
    pub(crate) fn matches_with(
        &self,
        resource: &Value,
        schema: &ResourceSchema,
        computed: Option<(&str, &Value)>,
        budget: &Budget,
    ) -> bool {
        eval(
            self,
            Scope::Resource {
                resource,
                schema,
                computed,
                budget: Some(budget),
            },
        )
    }

    /// Checks the filter against `schema`: every attribute exists, ordering operators are not
    /// used on boolean, binary or complex attributes, value paths name complex attributes and
    /// their inner paths name sub-attributes of them.
    ///
    /// Every failure is a 400 `invalidFilter` naming the offending attribute.
    pub fn validate(&self, schema: &ResourceSchema) -> Result<(), ScimError> {
        validate_in(self, schema, None)
    }
}

/// A total order of two attribute values of the attribute `def`, for `sortBy`.
///
/// Numbers order numerically, dateTimes as instants (before values that do not parse),
/// strings by `caseExact`, booleans `false` first; values of different JSON types order as
/// null, boolean, number, string, array, object. Where absent and null values go is the
/// caller's decision.
pub fn compare_values(a: &Value, b: &Value, def: &AttributeDef) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y),
        (Value::String(x), Value::String(y)) => {
            if def.kind == AttrType::DateTime {
                match (parse_datetime(x), parse_datetime(y)) {
                    (Some(p), Some(q)) => return p.cmp(&q),
                    (Some(_), None) => return Ordering::Less,
                    (None, Some(_)) => return Ordering::Greater,
                    (None, None) => {}
                }
            }
            string_cmp(x, y, def.case_exact)
        }
        _ => json_rank(a).cmp(&json_rank(b)),
    }
}

/// The value `sortBy=path` sorts `resource` by.
///
/// For a multi-valued attribute this is the element with `"primary": true`, else the first
/// one; for a multi-valued complex attribute without a sub-attribute in `path`, that
/// element's `value`. `None` when the attribute is absent or unknown to `schema`.
pub fn sort_value<'a>(
    resource: &'a Value,
    path: &AttrPath,
    schema: &ResourceSchema,
) -> Option<&'a Value> {
    let r = schema.resolve(path)?;
    let container = match r.extension {
        Some(urn) => get_ci(resource, urn)?,
        None => resource,
    };
    let value = get_ci(container, &r.attr.name)?;
    let element = match value {
        Value::Array(items) if r.attr.multi_valued => items
            .iter()
            .find(|e| get_ci(e, "primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?,
        other => other,
    };
    match r.sub {
        Some(sub) => get_ci(element, &sub.name),
        None if r.attr.kind == AttrType::Complex && r.attr.multi_valued => get_ci(element, "value"),
        None => Some(element),
    }
}

/// Whether one element (a JSON object) of the complex attribute `attr` matches a value-path
/// filter, whose paths are sub-attributes of `attr` (as in the PATCH path
/// `emails[type eq "work"]`). Same semantics as [`Filter::matches`]; a nested value path or a
/// non-object element never matches.
pub fn matches_element(filter: &Filter, element: &Value, attr: &AttributeDef) -> bool {
    element.is_object()
        && eval(
            filter,
            Scope::Element {
                element,
                parent: attr,
                budget: None,
            },
        )
}

/// A count of the values filter terms may still look at, shared by the evaluations of one
/// request.
#[derive(Debug)]
pub(crate) struct Budget {
    left: std::cell::Cell<u64>,
    spent: std::cell::Cell<bool>,
}

impl Budget {
    pub(crate) fn new(values: u64) -> Self {
        Self {
            left: std::cell::Cell::new(values),
            spent: std::cell::Cell::new(false),
        }
    }

    /// Takes `n` values from the budget; false (and spent from then on) when fewer are left.
    fn charge(&self, n: usize) -> bool {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        match self.left.get().checked_sub(n) {
            Some(left) if !self.spent.get() => {
                self.left.set(left);
                true
            }
            _ => {
                self.spent.set(true);
                false
            }
        }
    }

    /// Whether an evaluation ran out of budget.
    pub(crate) fn spent(&self) -> bool {
        self.spent.get()
    }
}

/// Where paths are resolved: against the resource, or against one element of a value path.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource {
        resource: &'a Value,
        schema: &'a ResourceSchema,
        computed: Option<(&'a str, &'a Value)>,
        budget: Option<&'a Budget>,
    },
    Element {
        element: &'a Value,
        parent: &'a AttributeDef,
        budget: Option<&'a Budget>,
    },
}

/// An attribute found in a resource: its raw value, its definition and the sub-attribute the
/// path names, if any.
struct Located<'a> {
    value: &'a Value,
    attr: &'a AttributeDef,
    sub: Option<&'a AttributeDef>,
}

impl Scope<'_> {
    /// Charges the values of a located attribute (one at least) to the budget, if any.
    fn charge(&self, located: Option<&Located<'_>>) -> bool {
        let budget = match self {
            Scope::Resource { budget, .. } | Scope::Element { budget, .. } => budget,
        };
        budget.is_none_or(|b| b.charge(located.map_or(1, |l| elements(l.value).len().max(1))))
    }
}

fn eval(f: &Filter, scope: Scope<'_>) -> bool {
    match f {
        Filter::Present(path) => {
            let l = locate(scope, path);
            scope.charge(l.as_ref()) && l.is_some_and(|l| present_at(&l))
        }
        Filter::Compare {
            path,
            op: CompareOp::Ne,
            value,
        } => !compare_at(scope, path, CompareOp::Eq, value),
        Filter::Compare { path, op, value } => compare_at(scope, path, *op, value),
        Filter::Not(inner) => !eval(inner, scope),
        Filter::And(l, r) => eval(l, scope) && eval(r, scope),
        Filter::Or(l, r) => eval(l, scope) || eval(r, scope),
        Filter::ValuePath { path, filter } => {
            if path.sub.is_some() || matches!(scope, Scope::Element { .. }) {
                return false;
            }
            let Some(l) = locate(scope, path) else {
                return false;
            };
            if l.attr.kind != AttrType::Complex || !scope.charge(Some(&l)) {
                return false;
            }
            let Scope::Resource { budget, .. } = scope else {
                return false;
            };
            elements(l.value).iter().any(|element| {
                element.is_object()
                    && eval(
                        filter,
                        Scope::Element {
                            element,
                            parent: l.attr,
                            budget,
                        },
                    )
            })
        }
    }
}

fn locate<'a>(scope: Scope<'a>, path: &AttrPath) -> Option<Located<'a>> {
    match scope {
        Scope::Resource {
            resource,
            schema,
            computed,
            ..
        } => {
            let r = schema.resolve(path)?;
            if let (None, Some((name, value))) = (r.extension, computed)
                && r.attr.name.eq_ignore_ascii_case(name)
            {
                return Some(Located {
                    value,
                    attr: r.attr,
                    sub: r.sub,
                });
            }
            let container = match r.extension {
                Some(urn) => get_ci(resource, urn)?,
                None => resource,
            };
            Some(Located {
                value: get_ci(container, &r.attr.name)?,
                attr: r.attr,
                sub: r.sub,
            })
        }
        Scope::Element {
            element, parent, ..
        } => {
            if path.urn.is_some() || path.sub.is_some() {
                return None;
            }
            let attr = parent.sub_attribute(&path.name)?;
            Some(Located {
                value: get_ci(element, &attr.name)?,
                attr,
                sub: None,
            })
        }
    }
}

fn present_at(l: &Located<'_>) -> bool {
    match l.sub {
        None => is_present(l.value),
        Some(sub) => elements(l.value)
            .iter()
            .any(|e| get_ci(e, &sub.name).is_some_and(is_present)),
    }
}

/// Calls `f` on each leaf value the path selects, with its definition, until `f` is true.
fn any_leaf(l: &Located<'_>, f: &mut dyn FnMut(&Value, &AttributeDef) -> bool) -> bool {
    let (key, def) = match l.sub {
        Some(sub) => (Some(sub.name.as_str()), sub),
        None if l.attr.kind == AttrType::Complex => match l.attr.sub_attribute("value") {
            Some(v) => (Some("value"), v),
            None => return false,
        },
        None => (None, l.attr),
    };
    for e in elements(l.value) {
        let leaf = match key {
            Some(k) => match get_ci(e, k) {
                Some(v) => v,
                None => continue,
            },
            None => e,
        };
        if elements(leaf).iter().any(|v| f(v, def)) {
            return true;
        }
    }
    false
}

fn compare_at(scope: Scope<'_>, path: &AttrPath, op: CompareOp, lit: &CompValue) -> bool {
    let located = locate(scope, path);
    if !scope.charge(located.as_ref()) {
        return false;
    }
    if op == CompareOp::Eq && *lit == CompValue::Null {
        let Some(l) = located else {
            return true;
        };
        let mut saw_value = false;
        let hit = any_leaf(&l, &mut |v, _| {
            saw_value = true;
            v.is_null()
        });
        return hit || !saw_value;
    }
    let Some(l) = located else {
        return false;
    };
    any_leaf(&l, &mut |v, def| compare_leaf(v, op, lit, def))
}

fn compare_leaf(v: &Value, op: CompareOp, lit: &CompValue, def: &AttributeDef) -> bool {
    match op {
        CompareOp::Eq => leaf_equals(v, lit, def),
        CompareOp::Ne => !leaf_equals(v, lit, def),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => match (v, lit) {
            (Value::String(a), CompValue::String(b)) => substring_match(a, b, op, def.case_exact),
            _ => false,
        },
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            let Some(ord) = leaf_order(v, lit, def) else {
                return false;
            };
            match op {
                CompareOp::Gt => ord == Ordering::Greater,
                CompareOp::Ge => ord != Ordering::Less,
                CompareOp::Lt => ord == Ordering::Less,
                _ => ord != Ordering::Greater,
            }
        }
    }
}

fn leaf_equals(v: &Value, lit: &CompValue, def: &AttributeDef) -> bool {
    match (v, lit) {
        (Value::Null, CompValue::Null) => true,
        (Value::Bool(a), CompValue::Bool(b)) => a == b,
        (Value::Number(a), CompValue::Number(b)) => number_cmp(a, b) == Ordering::Equal,
        (Value::String(a), CompValue::String(b)) => {
            if def.kind == AttrType::DateTime
                && let (Some(x), Some(y)) = (parse_datetime(a), parse_datetime(b))
            {
                return x == y;
            }
            string_eq(a, b, def.case_exact)
        }
        _ => false,
    }
}

fn leaf_order(v: &Value, lit: &CompValue, def: &AttributeDef) -> Option<Ordering> {
    match (v, lit) {
        (Value::Number(a), CompValue::Number(b)) => Some(number_cmp(a, b)),
        (Value::String(a), CompValue::String(b)) => {
            if def.kind == AttrType::DateTime
                && let (Some(x), Some(y)) = (parse_datetime(a), parse_datetime(b))
            {
                return Some(x.cmp(&y));
            }
            Some(string_cmp(a, b, def.case_exact))
        }
        _ => None,
    }
}

/// The elements of a value: an array's items, or the value itself.
fn elements(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    }
}

/// The member `key` of object `v`, matched case-insensitively (exact match first).
fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let map = v.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn json_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

fn number_cmp(a: &Number, b: &Number) -> Ordering {
    // An exact order over integers and floats together: comparing an integer with a float
    // through f64 would round large integers and break transitivity, which sorting needs.
    match (exact_int(a), exact_int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => int_float_cmp(x, b.as_f64().unwrap_or(f64::NAN)),
        (None, Some(y)) => int_float_cmp(y, a.as_f64().unwrap_or(f64::NAN)).reverse(),
        (None, None) => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            // partial_cmp, not total_cmp: -0.0 and 0.0 are both equal to the integer 0.
            x.partial_cmp(&y).unwrap_or_else(|| x.total_cmp(&y))
        }
    }
}

fn exact_int(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// Compares an integer with a float exactly (NaN, which JSON cannot carry, sorts last).
fn int_float_cmp(i: i128, f: f64) -> Ordering {
    // 2^127 bounds i128; every float beyond it compares without conversion.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f.is_nan() || f >= LIMIT {
        return Ordering::Less;
    }
    if f < -LIMIT {
        return Ordering::Greater;
    }
    let floor = f.floor();
    // In range and integral, so the conversion is exact.
    let whole = floor as i128;
    match i.cmp(&whole) {
        Ordering::Equal if f > floor => Ordering::Less,
        other => other,
    }
}

/// Folds a string for case-insensitive comparison: per-character Unicode lower-casing (not
/// context-sensitive, so a final sigma folds like any other), ASCII without allocation work
/// per character. Filters, sorting and uniqueness keys all use this one folding.
pub(crate) fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.chars().flat_map(char::to_lowercase).collect()
    }
}

fn string_eq(a: &str, b: &str, case_exact: bool) -> bool {
    if case_exact {
        a == b
    } else if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

fn string_cmp(a: &str, b: &str, case_exact: bool) -> Ordering {
    if case_exact {
        a.cmp(b)
    } else if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
    }
}

fn substring_match(hay: &str, needle: &str, op: CompareOp, case_exact: bool) -> bool {
    if case_exact {
        return match op {
            CompareOp::Co => hay.contains(needle),
            CompareOp::Sw => hay.starts_with(needle),
            _ => hay.ends_with(needle),
        };
    }
    // Fold both sides, then search with the standard library's linear-time substring
    // search: a window-by-window comparison costs hay length times needle length.
    let (h, n) = (fold_case(hay), fold_case(needle));
    match op {
        CompareOp::Co => h.contains(&n),
        CompareOp::Sw => h.starts_with(&n),
        _ => h.ends_with(&n),
    }
}

/// Parses an xsd:dateTime / RFC 3339 timestamp: `YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm]`,
/// taking a value without an offset as UTC.
fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    let digits = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let year = i32::try_from(digits(0, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(5, 2)?).ok()?).ok()?;
    let day = u8::try_from(digits(8, 2)?).ok()?;
    let hour = u8::try_from(digits(11, 2)?).ok()?;
    let minute = u8::try_from(digits(14, 2)?).ok()?;
    let second = u8::try_from(digits(17, 2)?).ok()?;

    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }

    let offset = match b.get(i) {
        None => UtcOffset::UTC,
        Some(b'Z' | b'z') if i + 1 == b.len() => UtcOffset::UTC,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let h = i8::try_from(digits(i + 1, 2)?).ok()?;
            let m = i8::try_from(digits(i + 4, 2)?).ok()?;
            let k = if sign == b'-' { -1 } else { 1 };
            UtcOffset::from_hms(k * h, k * m, 0).ok()?
        }
        _ => return None,
    };

    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn validate_in(
    f: &Filter,
    schema: &ResourceSchema,
    parent: Option<&AttributeDef>,
) -> Result<(), ScimError> {
    match f {
        Filter::Present(path) => resolve_for_validation(path, schema, parent).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let (attr, sub) = resolve_for_validation(path, schema, parent)?;
            let ordering = matches!(
                op,
                CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
            );
            let leaf = match sub {
                Some(s) => s,
                None if attr.kind == AttrType::Complex => {
                    if ordering {
                        return Err(ScimError::invalid_filter(format!(
                            "operator \"{op}\" is not supported on complex attribute \"{path}\""
                        )));
                    }
                    attr.sub_attribute("value").ok_or_else(|| {
                        ScimError::invalid_filter(format!(
                            "complex attribute \"{path}\" has no \"value\" to compare; name a \
                             sub-attribute"
                        ))
                    })?
                }
                None => attr,
            };
            if ordering {
                if matches!(leaf.kind, AttrType::Boolean | AttrType::Binary) {
                    return Err(ScimError::invalid_filter(format!(
                        "operator \"{op}\" is not supported on {} attribute \"{path}\"",
                        if leaf.kind == AttrType::Boolean {
                            "boolean"
                        } else {
                            "binary"
                        }
                    )));
                }
                if matches!(value, CompValue::Null | CompValue::Bool(_)) {
                    return Err(ScimError::invalid_filter(format!(
                        "operator \"{op}\" needs a string or number value, not {value}"
                    )));
                }
            }
            if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                && !matches!(value, CompValue::String(_))
            {
                return Err(ScimError::invalid_filter(format!(
                    "operator \"{op}\" needs a string value, not {value}"
                )));
            }
            Ok(())
        }
        Filter::Not(inner) => validate_in(inner, schema, parent),
        Filter::And(l, r) | Filter::Or(l, r) => {
            validate_in(l, schema, parent)?;
            validate_in(r, schema, parent)
        }
        Filter::ValuePath { path, filter } => {
            if parent.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "value path \"{path}\" cannot be nested in another value path"
                )));
            }
            let (attr, sub) = resolve_for_validation(path, schema, None)?;
            if sub.is_some() || attr.kind != AttrType::Complex {
                return Err(ScimError::invalid_filter(format!(
                    "value path \"{path}\" must name a complex attribute"
                )));
            }
            validate_in(filter, schema, Some(attr))
        }
    }
}

fn resolve_for_validation<'s>(
    path: &AttrPath,
    schema: &'s ResourceSchema,
    parent: Option<&'s AttributeDef>,
) -> Result<(&'s AttributeDef, Option<&'s AttributeDef>), ScimError> {
    match parent {
        None => schema
            .resolve(path)
            .map(|r| (r.attr, r.sub))
            .ok_or_else(|| {
                ScimError::invalid_filter(format!(
                    "attribute \"{path}\" is not defined for resource type {}",
                    schema.resource_type.name
                ))
            }),
        Some(p) => {
            let found = if path.urn.is_none() && path.sub.is_none() {
                p.sub_attribute(&path.name)
            } else {
                None
            };
            found.map(|a| (a, None)).ok_or_else(|| {
                ScimError::invalid_filter(format!(
                    "\"{path}\" is not a sub-attribute of \"{}\"",
                    p.name
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorKind;
    use crate::filter::parse_filter;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, Schema};

    const EXT: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

    fn schema() -> ResourceSchema {
        ResourceSchema::user().with_extension(
            Schema {
                id: EXT.into(),
                name: "Acme".into(),
                description: String::new(),
                attributes: vec![
                    AttributeDef::new("level", AttrType::Integer),
                    AttributeDef::new("score", AttrType::Decimal),
                    AttributeDef::new("scores", AttrType::Integer).multi(),
                    AttributeDef::new("badge", AttrType::Binary),
                ],
            },
            false,
        )
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "bjensen",
            "userName": "bjensen@example.com",
            "name": {"familyName": "O'Malley", "givenName": "Barbara"},
            "displayName": "Babs \"the\" Jensen",
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "nickName": "",
            "roles": [],
            "entitlements": [{"value": null}, {"value": ""}],
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "ims": [{"value": "babs@foo.com", "type": "xmpp"}],
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z"
            },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
            },
            "urn:example:params:scim:schemas:extension:acme:2.0:user": {
                "level": 7,
                "score": 2.5,
                "scores": [1, 50, 3000]
            }
        })
    }

    fn m(f: &str) -> bool {
        let s = schema();
        let f = match parse_filter(f) {
            Ok(f) => f,
            Err(e) => panic!("{f:?}: {e}"),
        };
        if let Err(e) = f.validate(&s) {
            panic!("{f}: {e}");
        }
        f.matches(&user(), &s)
    }

    fn invalid(f: &str) -> String {
        let parsed = match parse_filter(f) {
            Ok(p) => p,
            Err(e) => panic!("{f:?}: {e}"),
        };
        match parsed.validate(&schema()) {
            Ok(()) => panic!("{f:?} validated"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidFilter);
                e.detail().to_owned()
            }
        }
    }

    #[test]
    fn number_order_is_exact_and_transitive_across_integers_and_floats() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let n = |v: Value| match v {
            Value::Number(n) => n,
            _ => unreachable!("a number literal"),
        };
        let big_int = n(json!(9_007_199_254_740_993_i64)); // 2^53 + 1, not a float
        let big_float = n(json!(9_007_199_254_740_992.0_f64)); // 2^53
        let big_int_even = n(json!(9_007_199_254_740_992_i64)); // 2^53
        assert_eq!(number_cmp(&big_int, &big_float), Greater);
        assert_eq!(number_cmp(&big_float, &big_int), Less);
        assert_eq!(number_cmp(&big_float, &big_int_even), Equal);
        assert_eq!(number_cmp(&n(json!(2)), &n(json!(2.5))), Less);
        assert_eq!(number_cmp(&n(json!(-3)), &n(json!(-2.5))), Less);
        assert_eq!(number_cmp(&n(json!(-2)), &n(json!(-2.5))), Greater);
        assert_eq!(number_cmp(&n(json!(u64::MAX)), &n(json!(1e300))), Less);
        assert_eq!(number_cmp(&n(json!(i64::MIN)), &n(json!(-1e300))), Greater);

        // Every triple of a mixed set is consistent, which sorting relies on.
        let values = [
            big_int,
            big_float,
            big_int_even,
            n(json!(9_007_199_254_740_994.0_f64)),
            n(json!(0)),
            n(json!(-0.0)),
            n(json!(0.0)),
            n(json!(0.5)),
            n(json!(u64::MAX)),
            n(json!(1.8446744073709552e19)),
        ];
        for a in &values {
            for b in &values {
                assert_eq!(number_cmp(a, b), number_cmp(b, a).reverse());
                for c in &values {
                    if number_cmp(a, b) != Greater && number_cmp(b, c) != Greater {
                        assert_ne!(number_cmp(a, c), Greater, "{a} <= {b} <= {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn rfc_examples_evaluate() {
        assert!(m(r#"userName Eq "BJENSEN@example.com""#));
        assert!(!m(r#"userName eq "john""#));
        assert!(m(r#"name.familyName co "O'Malley""#));
        assert!(m(r#"userName sw "bj""#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "BJ""#
        ));
        assert!(m(r#"title pr"#));
        assert!(!m(r#"locale pr"#));
        assert!(!m(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
        assert!(m(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
        assert!(!m(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#));
        assert!(m(r#"meta.lastModified le "2011-05-13T04:42:34Z""#));
        assert!(m(r#"title pr and userType eq "Employee""#));
        assert!(m(r#"title pr or userType eq "Intern""#));
        assert!(m(
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#
        ));
        assert!(!m(
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#
        ));
        assert!(m(r#"userType eq "Employee" and (emails.type eq "work")"#));
        assert!(m(
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#
        ));
        assert!(m(
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#
        ));
        assert!(!m(r#"emails[type eq "home" and value co "@example.com"]"#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "o'malley""#
        ));
    }

    #[test]
    fn precedence_evaluates() {
        // true or (false and false) = true; (true or false) and false = false.
        assert!(m(r#"title pr or locale pr and nickName pr"#));
        assert!(!m(r#"(title pr or locale pr) and nickName pr"#));
        assert!(m(r#"not (locale pr)"#));
        assert!(!m(r#"not (title pr)"#));
    }

    #[test]
    fn strings_and_case() {
        assert!(m(r#"displayName eq "babs \"THE\" jensen""#));
        assert!(m(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
        assert!(!m(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
        assert!(!m(r#"externalId eq "BJENSEN""#));
        assert!(m(r#"USERNAME eq "bjensen@EXAMPLE.com""#));
        assert!(m(r#"emails ew ".ORG""#));
        assert!(m(r#"userName gt "a" and userName lt "C""#));

        let s = schema();
        let f = parse_filter(r#"displayName eq "ÉLODIE" and displayName co "lodi""#);
        let res = json!({"displayName": "élodie"});
        assert!(f.is_ok_and(|f| f.matches(&res, &s)));
    }

    #[test]
    fn booleans() {
        assert!(m("active eq true"));
        assert!(!m("active eq false"));
        assert!(!m(r#"active eq "true""#));
        assert!(m("emails[primary eq true and type eq \"work\"]"));
        assert!(invalid("active gt true").contains("boolean"));
    }

    #[test]
    fn numbers() {
        let p = |name: &str| format!("{EXT}:{name}");
        assert!(m(&format!("{} gt -1.5e3", p("level"))));
        assert!(m(&format!("{} eq 7.0", p("level"))));
        assert!(m(&format!("{} eq 7", p("level"))));
        assert!(!m(&format!("{} lt 7", p("level"))));
        assert!(m(&format!("{} le 7", p("level"))));
        assert!(m(&format!(
            "{} gt 2.4 and {0} lt 25e-1 or {0} eq 2.5",
            p("score")
        )));
        assert!(!m(&format!("{} gt 2.5", p("score"))));
        assert!(m(&format!("{} ge 2.5E0", p("score"))));
        assert!(m(&format!("{} gt 2999", p("scores"))));
        assert!(!m(&format!("{} gt 3000", p("scores"))));
        assert!(!m(&format!("{} eq \"7\"", p("level"))));
        assert!(invalid(&format!("{} gt \"x\"", p("badge"))).contains("binary"));
    }

    #[test]
    fn datetimes() {
        assert!(m(r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#));
        assert!(!m(r#"meta.lastModified gt "2011-05-13T06:42:34+02:00""#));
        assert!(m(r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#));
        assert!(m(r#"meta.lastModified gt "2011-05-13T00:42:34-03:59""#));
        assert!(m(r#"meta.lastModified eq "2011-05-13T04:42:34.000Z""#));
        assert!(m(r#"meta.lastModified eq "2011-05-13T04:42:34""#));
        assert!(m(
            r#"meta.lastModified lt "2011-05-13T04:42:34.000000001Z""#
        ));
        assert!(m(r#"meta.created lt "2011-05-13T04:42:34Z""#));
        // Not a dateTime: compared as strings.
        assert!(m(r#"meta.created sw "2010-01""#));
        assert!(m(r#"meta.created gt "2010""#));

        let dt = |s: &str| parse_datetime(s).map(|d| d.unix_timestamp_nanos());
        assert_eq!(dt("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(dt("1970-01-01T01:00:00.5+01:00"), Some(500_000_000));
        assert_eq!(dt("1970-01-01T00:00:00.123456789123Z"), Some(123_456_789));
        assert_eq!(dt("1970-02-30T00:00:00Z"), None);
        assert_eq!(dt("1970-01-01T00:00:00."), None);
        assert_eq!(dt("1970-01-01T00:00:00+0100"), None);
        assert_eq!(dt("1970-01-01"), None);
    }

    #[test]
    fn presence() {
        assert!(!m("roles pr"));
        assert!(!m("nickName pr"));
        assert!(!m("locale pr"));
        assert!(!m("entitlements pr"));
        assert!(m("emails pr"));
        assert!(m("name pr"));
        assert!(m("emails.value pr"));
        assert!(!m("entitlements.value pr"));
        let s = schema();
        for (res, want) in [
            (json!({"emails": []}), false),
            (json!({"emails": [{}]}), false),
            (json!({"emails": [{"value": null}]}), false),
            (json!({"emails": [{"value": "x"}]}), true),
            (json!({"name": {}}), false),
            (json!({"name": {"givenName": ""}}), false),
            (json!({"emails": null}), false),
        ] {
            for f in ["emails pr", "name pr"] {
                let key = f.split(' ').next().unwrap_or_default();
                if res.get(key).is_some() {
                    let got = parse_filter(f).is_ok_and(|f| f.matches(&res, &s));
                    assert_eq!(got, want, "{f} on {res}");
                }
            }
        }
    }

    #[test]
    fn ne_and_null() {
        assert!(m(r#"locale ne "en""#));
        assert!(m("locale eq null"));
        assert!(!m("locale ne null"));
        assert!(!m("userName eq null"));
        assert!(m("userName ne null"));
        assert!(m("roles eq null"));
        assert!(!m(r#"userName ne "BJENSEN@example.com""#));
    }

    #[test]
    fn extensions() {
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value sw "2611""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value pr]"#
        ));
        // The extension key in the resource is matched case-insensitively.
        assert!(m(&format!("{EXT}:level pr")));
        assert!(!m(&format!("{ENTERPRISE_USER_SCHEMA}:costCenter pr")));
    }

    #[test]
    fn entra_form_evaluates() {
        assert!(m(
            r#"emails[type eq "work"].value eq "BJENSEN@example.com""#
        ));
        assert!(!m(
            r#"emails[type eq "home"].value eq "bjensen@example.com""#
        ));
    }

    #[test]
    fn unknown_attributes_never_match() {
        let s = schema();
        let f = parse_filter(r#"nope eq "x" or name.nope pr or emails[nope pr]"#);
        assert!(f.is_ok_and(|f| !f.matches(&user(), &s)));
        let f = parse_filter("userName eq \"x\"");
        assert!(f.is_ok_and(|f| !f.matches(&json!([1, 2]), &s) && !f.matches(&json!(3), &s)));
        let f = parse_filter("userName ne \"x\"");
        assert!(f.is_ok_and(|f| f.matches(&json!({"userName": 5}), &s)));
    }

    #[test]
    fn validation() {
        assert_eq!(
            invalid(r#"nope eq "x""#),
            "attribute \"nope\" is not defined for resource type User"
        );
        assert!(invalid(r#"name.nope pr"#).contains("name.nope"));
        assert!(invalid(r#"emails[nope eq "x"]"#).contains("not a sub-attribute of \"emails\""));
        assert!(invalid(r#"userName[value eq "x"]"#).contains("complex"));
        assert!(invalid(r#"emails gt "x""#).contains("complex"));
        assert!(invalid(r#"name eq "x""#).contains("no \"value\""));
        assert!(invalid(r#"userName co 5"#).contains("string value"));
        assert!(invalid(r#"x509Certificates.value lt "x""#).contains("binary"));
        assert!(invalid(r#"urn:nope:2.0:User:userName pr"#).contains("not defined"));
        assert!(m(r#"emails co "example""#));
    }

    #[test]
    fn sorting_helpers() {
        let s = schema();
        let u = user();
        let path = |t: &str| match parse_filter(&format!("{t} pr")) {
            Ok(Filter::Present(p)) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            sort_value(&u, &path("emails"), &s),
            Some(&json!("bjensen@example.com"))
        );
        assert_eq!(
            sort_value(&u, &path("emails.type"), &s),
            Some(&json!("work"))
        );
        assert_eq!(
            sort_value(&u, &path("name.givenName"), &s),
            Some(&json!("Barbara"))
        );
        assert_eq!(
            sort_value(&u, &path(&format!("{EXT}:scores")), &s),
            Some(&json!(1))
        );
        assert_eq!(sort_value(&u, &path("locale"), &s), None);
        let u2 = json!({"emails": [{"value": "a"}, {"value": "b", "primary": true}]});
        assert_eq!(sort_value(&u2, &path("emails"), &s), Some(&json!("b")));

        let string = AttributeDef::string("s");
        let exact = AttributeDef::string("s").case_exact();
        let dt = AttributeDef::new("d", AttrType::DateTime);
        let num = AttributeDef::new("n", AttrType::Decimal);
        assert_eq!(
            compare_values(&json!("a"), &json!("B"), &string),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&json!("a"), &json!("B"), &exact),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&json!("A"), &json!("a"), &string),
            Ordering::Equal
        );
        assert_eq!(
            compare_values(&json!(2), &json!(10.5), &num),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&json!(-1), &json!(u64::MAX), &num),
            Ordering::Less
        );
        assert_eq!(
            compare_values(
                &json!("2011-05-13T06:42:34+02:00"),
                &json!("2011-05-13T05:00:00Z"),
                &dt
            ),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&json!("junk"), &json!("2011-05-13T05:00:00Z"), &dt),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&json!(true), &json!(false), &string),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&json!(1), &json!("1"), &string),
            Ordering::Less
        );
    }
}
