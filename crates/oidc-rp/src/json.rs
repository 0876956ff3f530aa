//! The top level of a JOSE header or JWT claims set: a JSON object, nothing else, read member
//! by member with each value kept as raw JSON until its type is checked.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The members of a JSON object in document order, each value as raw JSON text. Keys are
/// borrowed from the input unless they contain escapes.
pub(crate) type Members<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

/// Reads the members of the JSON object in `json`. Any other JSON value (array, string,
/// number, `true`, `false`, `null`) and malformed JSON are errors, with the parser's reason,
/// and so is a member name that appears twice (after unescaping): RFC 7515 section 5.2 and
/// RFC 7519 section 7.2 let a recipient reject duplicates, and picking the last (or first)
/// of two `alg`s or two `groups` would let a token say two things.
pub(crate) fn object_members(json: &[u8]) -> Result<Members<'_>, String> {
    let members = serde_json::from_slice::<Object<'_>>(json)
        .map(|o| o.0)
        .map_err(|e| e.to_string())?;
    if let Some(name) = first_duplicate(&members) {
        return Err(format!(
            "duplicate field `{}`",
            crate::error::sanitize(name, 64)
        ));
    }
    Ok(members)
}

/// The first member name that appears twice, if any.
fn first_duplicate<'m>(members: &'m Members<'_>) -> Option<&'m str> {
    // A header or a claims set has a few dozen members: comparing pairs is cheaper than
    // hashing them. A large object is sorted instead.
    const PAIRWISE_MAX: usize = 32;
    if members.len() <= PAIRWISE_MAX {
        for (i, (name, _)) in members.iter().enumerate() {
            let name: &str = name;
            // Length and first byte settle almost every pair without a `memcmp` call.
            let same = |earlier: &str| {
                earlier.len() == name.len()
                    && earlier.as_bytes().first() == name.as_bytes().first()
                    && earlier == name
            };
            if members[..i].iter().any(|(earlier, _)| same(earlier)) {
                return Some(name);
            }
        }
        return None;
    }
    let mut names: Vec<&str> = members.iter().map(|(name, _)| name.as_ref()).collect();
    names.sort_unstable();
    names.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

struct Object<'a>(Members<'a>);

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_map` makes serde_json refuse anything but `{`: a struct derive would
        // also accept a JSON array, filling the fields by position.
        deserializer.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // serde_json gives no size hint; 16 holds a header and most claims sets in one
        // allocation.
        let mut members = Vec::with_capacity(16);
        while let Some(Key(key)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            members.push((key, value));
        }
        Ok(Object(members))
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_object_is_accepted() {
        let members =
            object_members(br#" {"a": 1, "b\u0063": [true], "d": {"e": null}} "#).expect("object");
        let names: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(names, ["a", "bc", "d"]);
        assert_eq!(members[1].1.get(), "[true]");
        for not_object in [
            "[]",
            r#"["RS256", "k1", null, null]"#,
            r#""x""#,
            "1",
            "true",
            "null",
            "",
            "{",
            r#"{"a":1} x"#,
        ] {
            let err = object_members(not_object.as_bytes()).expect_err(not_object);
            assert!(!err.is_empty(), "{not_object}");
        }
    }

    #[test]
    fn duplicate_names_are_rejected_also_when_escaped_or_many() {
        for (json, name) in [
            (r#"{"a":1,"b":2,"a":3}"#, "a"),
            (r#"{"alg":"RS256","\u0061lg":"none"}"#, "alg"),
            (r#"{"x5c":["a"],"kid":"k","x5c":["b"]}"#, "x5c"),
        ] {
            assert_eq!(
                object_members(json.as_bytes()).expect_err(json),
                format!("duplicate field `{name}`")
            );
        }
        // Beyond the pairwise limit the sorted check finds it too.
        let mut many: Vec<String> = (0..100).map(|i| format!(r#""m{i}":{i}"#)).collect();
        let distinct = format!("{{{}}}", many.join(","));
        assert_eq!(
            object_members(distinct.as_bytes()).expect("distinct").len(),
            100
        );
        many.push(r#""m42":0"#.into());
        let duplicated = format!("{{{}}}", many.join(","));
        assert_eq!(
            object_members(duplicated.as_bytes()).expect_err("duplicate"),
            "duplicate field `m42`"
        );
        // Nested objects are their members' own business.
        object_members(br#"{"a":{"b":1},"c":{"b":2}}"#).expect("nested names may repeat");
    }
}
