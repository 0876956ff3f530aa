//! SCIM filters (RFC 7644 section 3.4.2.2): the syntax tree, the parser and the evaluator.

use std::fmt;

/// An attribute path: an optional schema URN, an attribute name and an optional
/// sub-attribute, as in `urn:ietf:params:scim:schemas:core:2.0:User:name.familyName`.
///
/// Names keep the case the client wrote; every lookup is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix, without the trailing colon.
    pub urn: Option<String>,
    /// The attribute name.
    pub name: String,
    /// The sub-attribute name.
    pub sub: Option<String>,
}

impl AttrPath {
    /// A path of one unqualified attribute name.
    pub fn simple(name: &str) -> Self {
        Self {
            urn: None,
            name: name.to_owned(),
            sub: None,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co`
    Co,
    /// `sw`
    Sw,
    /// `ew`
    Ew,
    /// `gt`
    Gt,
    /// `lt`
    Lt,
    /// `ge`
    Ge,
    /// `le`
    Le,
}

impl CompareOp {
    /// The operator keyword in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Lt => "lt",
            Self::Ge => "ge",
            Self::Le => "le",
        }
    }
}

/// A comparison value: a JSON literal.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string, unescaped.
    String(String),
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath pr`
    Present(AttrPath),
    /// `attrPath op value`
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared with.
        value: CompValue,
    },
    /// `not (filter)`
    Not(Box<Filter>),
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `attrPath[valFilter]`: some value of the multi-valued (or complex) attribute `path`
    /// matches `filter`, whose paths are relative to that value.
    ValuePath {
        /// The attribute whose values are filtered (no sub-attribute).
        path: AttrPath,
        /// The filter applied to each value.
        filter: Box<Filter>,
    },
}

mod eval;
mod parser;

pub(crate) use eval::{Budget, fold_case};
pub use eval::{compare_values, matches_element, sort_value};
pub use parser::{MAX_DEPTH, MAX_FILTER_LEN, MAX_FILTER_TERMS, parse_filter};
pub(crate) use parser::{Mode, Parser};
