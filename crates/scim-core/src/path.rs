//! PATCH operation paths (RFC 7644 section 3.5.2): `PATH = attrPath / valuePath [subAttr]`.
//!
//! A [`PatchPath`] is an attribute (optionally URN-qualified), an optional value filter in
//! brackets and an optional sub-attribute:
//!
//! | path | `attr` | `filter` | `sub` |
//! |---|---|---|---|
//! | `name.familyName` | `name` | none | `familyName` |
//! | `emails[type eq "work"].value` | `emails` | `type eq "work"` | `value` |
//! | `urn:…:enterprise:2.0:User:manager.value` | `urn:…:User` : `manager` | none | `value` |
//! | `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` | URN, empty name | none | none |
//!
//! **A whole extension object.** A bare schema URN names the whole extension object (as in an
//! `add` or `replace` whose value holds several extension attributes). It is represented with
//! `attr.urn` set to the full URN and `attr.name` empty; [`PatchPath::extension_urn`] returns
//! it. Without a schema, [`parse_patch_path`] recognizes a bare URN by its form: it has no
//! filter and no sub-attribute, and the segment before its last `:` is a version such as
//! `2.0` (as in every RFC 7643 schema URN). [`parse_patch_path_for`] decides by the resource
//! type's schemas instead, and should be preferred where a schema is at hand.
//!
//! Paths are bounded like filters: at most [`MAX_FILTER_LEN`](crate::filter::MAX_FILTER_LEN)
//! bytes and [`MAX_DEPTH`](crate::filter::MAX_DEPTH) levels of nesting. Every failure is a
//! 400 `invalidPath`.

use std::fmt;

use crate::error::ScimError;
use crate::filter::{AttrPath, Filter, Mode, Parser};
use crate::schema::ResourceSchema;

/// A parsed PATCH `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute: URN and name, never a sub-attribute (that is in `sub`). For a whole
    /// extension object, `urn` is the extension URN and `name` is empty.
    pub attr: AttrPath,
    /// The value filter in brackets, selecting elements of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute, after `.`.
    pub sub: Option<String>,
}

impl PatchPath {
    /// The extension URN when this path names a whole extension object, else `None`.
    pub fn extension_urn(&self) -> Option<&str> {
        if self.attr.name.is_empty() {
            self.attr.urn.as_deref()
        } else {
            None
        }
    }
}

/// Parses a PATCH `path`, recognizing a bare extension URN by its form (see the
/// [module documentation](self)).
pub fn parse_patch_path(s: &str) -> Result<PatchPath, ScimError> {
    parse(s, None)
}

/// Parses a PATCH `path`, taking it as a whole extension object exactly when it equals
/// (case-insensitively) one of `schema`'s extension URNs.
pub fn parse_patch_path_for(s: &str, schema: &ResourceSchema) -> Result<PatchPath, ScimError> {
    parse(s, Some(schema))
}

impl std::str::FromStr for PatchPath {
    type Err = ScimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_patch_path(s)
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = self.extension_urn() {
            return f.write_str(urn);
        }
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

fn parse(s: &str, schema: Option<&ResourceSchema>) -> Result<PatchPath, ScimError> {
    let trimmed = s.trim_matches([' ', '\t', '\r', '\n']);
    if let Some(schema) = schema
        && let Some(ext) = schema.extension(trimmed)
    {
        return Ok(whole_extension(&ext.id));
    }

    let mut p = Parser::new(s, Mode::Path)?;
    p.skip_ws();
    let (urn, name, sub) = p.parse_attr_path_parts()?;
    if name.is_empty() {
        return Err(p.err("expected an attribute name after the schema URN"));
    }
    let attr = AttrPath {
        urn: urn.map(str::to_owned),
        name: name.to_owned(),
        sub: None,
    };

    let (filter, sub) = if p.peek() == Some(b'[') {
        if sub.is_some() {
            return Err(p.err("a value filter cannot follow a sub-attribute"));
        }
        let filter = p.parse_bracket_filter()?;
        let sub = if p.peek() == Some(b'.') {
            p.pos += 1;
            Some(p.parse_name()?)
        } else {
            None
        };
        (Some(*filter), sub)
    } else {
        (None, sub)
    };

    p.skip_ws();
    if p.peek().is_some() {
        return Err(p.err(format_args!(
            "unexpected {} after the attribute path",
            p.found()
        )));
    }

    if schema.is_none()
        && filter.is_none()
        && sub.is_none()
        && let Some(u) = urn
        && looks_like_version(u.rsplit(':').next().unwrap_or_default())
    {
        return Ok(whole_extension(trimmed));
    }
    Ok(PatchPath {
        attr,
        filter,
        sub: sub.map(str::to_owned),
    })
}

fn whole_extension(urn: &str) -> PatchPath {
    PatchPath {
        attr: AttrPath {
            urn: Some(urn.to_owned()),
            name: String::new(),
            sub: None,
        },
        filter: None,
        sub: None,
    }
}

/// Whether `seg` is a version such as `2.0` or `1`.
fn looks_like_version(seg: &str) -> bool {
    !seg.is_empty()
        && seg.as_bytes()[0].is_ascii_digit()
        && seg.bytes().all(|c| c.is_ascii_digit() || c == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::filter::{CompValue, CompareOp, parse_filter};
    use crate::schema::ENTERPRISE_USER_SCHEMA;

    fn pp(s: &str) -> PatchPath {
        match parse_patch_path(s) {
            Ok(p) => {
                assert_eq!(parse_patch_path(&p.to_string()).as_ref(), Ok(&p), "{s}");
                p
            }
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    fn bad(s: &str) -> String {
        match parse_patch_path(s) {
            Ok(p) => panic!("{s:?} parsed as {p:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidPath, "{s:?}");
                e.detail().to_owned()
            }
        }
    }

    fn filter(s: &str) -> Option<Filter> {
        parse_filter(s).ok()
    }

    #[test]
    fn rfc_examples() {
        let p = pp(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#);
        assert_eq!(p.attr, AttrPath::simple("members"));
        assert_eq!(
            p.filter,
            Some(Filter::Compare {
                path: AttrPath::simple("value"),
                op: CompareOp::Eq,
                value: CompValue::String("2819c223-7f76-453a-919d-413861904646".into()),
            })
        );
        assert_eq!(p.sub, None);

        let p = pp(r#"emails[type eq "work" and value ew "example.com"]"#);
        assert_eq!(p.attr, AttrPath::simple("emails"));
        assert_eq!(
            p.filter,
            filter(r#"type eq "work" and value ew "example.com""#)
        );

        let p = pp(r#"addresses[type eq "work"].streetAddress"#);
        assert_eq!(p.attr, AttrPath::simple("addresses"));
        assert_eq!(p.filter, filter(r#"type eq "work""#));
        assert_eq!(p.sub.as_deref(), Some("streetAddress"));
        assert_eq!(p.to_string(), r#"addresses[type eq "work"].streetAddress"#);

        let p = pp(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#);
        assert_eq!(p.sub.as_deref(), Some("displayName"));

        let p = pp("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber");
        assert_eq!(p.attr.urn.as_deref(), Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(p.attr.name, "employeeNumber");
        assert_eq!(p.extension_urn(), None);
    }

    #[test]
    fn simple_and_sub_attribute_paths() {
        let p = pp("name.familyName");
        assert_eq!(p.attr, AttrPath::simple("name"));
        assert_eq!(p.sub.as_deref(), Some("familyName"));
        assert_eq!(p.filter, None);
        assert_eq!(pp("userName").attr, AttrPath::simple("userName"));
        assert_eq!(pp("members").to_string(), "members");

        let p = pp("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(p.attr.urn.as_deref(), Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(p.attr.name, "manager");
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
    }

    #[test]
    fn whole_extension_object() {
        let p = pp(ENTERPRISE_USER_SCHEMA);
        assert_eq!(p.extension_urn(), Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(p.attr.name, "");
        assert_eq!(p.to_string(), ENTERPRISE_USER_SCHEMA);

        let schema = ResourceSchema::user();
        let lower = ENTERPRISE_USER_SCHEMA.to_ascii_lowercase();
        let p = parse_patch_path_for(&lower, &schema);
        assert_eq!(
            p.as_ref().ok().and_then(PatchPath::extension_urn),
            Some(ENTERPRISE_USER_SCHEMA)
        );
        let p = parse_patch_path_for(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            &schema,
        );
        assert_eq!(p.map(|p| p.attr.name), Ok("manager".to_owned()));
    }

    #[test]
    fn invalid_paths() {
        for (s, needle) in [
            ("", "attribute path"),
            ("emails[", "end of input"),
            ("emails[type eq \"work\"", "']'"),
            ("emails[type eq]", "value"),
            ("emails[type eq \"work\"].", "attribute name"),
            ("emails[type eq \"work\"]x", "after the attribute path"),
            ("name.familyName[type pr]", "sub-attribute"),
            ("a.b.c", "attribute name"),
            ("emails[x[y pr]]", "nested"),
            ("urn:x:", "attribute name"),
            ("1abc", "attribute name"),
            ("emails[type eq \"\\q\"]", "escape"),
        ] {
            let d = bad(s);
            assert!(d.contains(needle), "{s:?}: {d}");
            assert!(d.starts_with("invalid path at position"), "{s:?}: {d}");
        }
        let deep = format!("emails[{}a pr{}]", "(".repeat(70), ")".repeat(70));
        assert!(bad(&deep).contains("nesting"));
        assert!(bad(&"a".repeat(9000)).contains("longer than"));
    }
}
