//! Temporary placeholder replaced by the filter branch.
#![allow(missing_docs, unreachable_pub, clippy::all)]
use crate::error::ScimError;
use crate::filter::{AttrPath, Filter};
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}
pub fn parse_patch_path(s: &str) -> Result<PatchPath, ScimError> {
    let (name, sub) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b.to_owned())),
        None => (s, None),
    };
    Ok(PatchPath {
        attr: AttrPath::simple(name),
        filter: None,
        sub,
    })
}
