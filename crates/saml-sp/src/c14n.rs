//! Exclusive XML Canonicalization 1.0 (with and without comments, with the
//! InclusiveNamespaces PrefixList) of an element subtree of a [`Document`], and the
//! enveloped-signature transform (leaving out one descendant element).
//!
//! The input is always an element subtree (the apex and its descendants), which is what a
//! same-document `#id` Reference and a `ds:SignedInfo` produce; there are no nodes outside
//! the apex to order, so only the element, namespace, attribute, text and comment rules of
//! the specification apply.

use std::collections::HashMap;

use crate::error::{Result, SamlError};
use crate::xml::{Document, Node, NodeId};

/// How to canonicalize a subtree.
#[derive(Debug, Clone, Copy, Default)]
pub struct C14nOptions<'a> {
    /// Keep comments (`...xml-exc-c14n#WithComments`).
    pub with_comments: bool,
    /// Prefixes of the InclusiveNamespaces PrefixList (`#default` for the default
    /// namespace), treated as in inclusive canonicalization.
    pub inclusive_prefixes: &'a [String],
    /// An element left out with its subtree (the enveloped-signature transform).
    pub exclude: Option<NodeId>,
}

/// Most distinct prefixes an InclusiveNamespaces PrefixList may name.
pub const MAX_INCLUSIVE_PREFIXES: usize = 64;

/// Slack added to the canonical-output bound (4 times the input size plus this).
const OUTPUT_SLACK: usize = 64 * 1024;

/// The largest canonical form [`canonicalize`] produces for `doc`: 4 times the parsed
/// input size plus 64 KiB. Exclusive c14n re-declares a namespace on every element that
/// uses it when no rendered ancestor declared it, so without a bound a small document with
/// a long namespace URI canonicalizes to gigabytes.
#[must_use]
pub fn output_limit(doc: &Document) -> usize {
    doc.source_len()
        .saturating_mul(4)
        .saturating_add(OUTPUT_SLACK)
}

/// The distinct prefixes of an InclusiveNamespaces PrefixList value.
///
/// # Errors
/// [`SamlError::TooManyInclusivePrefixes`] beyond [`MAX_INCLUSIVE_PREFIXES`].
pub fn parse_prefix_list(list: &str) -> Result<Vec<String>> {
    let mut prefixes: Vec<&str> = list.split_ascii_whitespace().collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    if prefixes.len() > MAX_INCLUSIVE_PREFIXES {
        return Err(SamlError::TooManyInclusivePrefixes {
            count: prefixes.len(),
            max: MAX_INCLUSIVE_PREFIXES,
        });
    }
    Ok(prefixes.into_iter().map(str::to_owned).collect())
}

/// The canonical octets of the subtree rooted at `apex`.
///
/// Work is linear in the output, and the output is bounded by [`output_limit`].
///
/// # Errors
/// [`SamlError::CanonicalTooLarge`] when the output would exceed [`output_limit`];
/// [`SamlError::TooManyInclusivePrefixes`] when the options name more than
/// [`MAX_INCLUSIVE_PREFIXES`] distinct prefixes.
pub fn canonicalize<'d>(
    doc: &'d Document,
    apex: NodeId,
    options: &'d C14nOptions<'d>,
) -> Result<Vec<u8>> {
    let mut inclusive: Vec<&str> = options
        .inclusive_prefixes
        .iter()
        .map(String::as_str)
        .filter(|p| *p != "xml")
        .collect();
    inclusive.sort_unstable();
    inclusive.dedup();
    if inclusive.len() > MAX_INCLUSIVE_PREFIXES {
        return Err(SamlError::TooManyInclusivePrefixes {
            count: inclusive.len(),
            max: MAX_INCLUSIVE_PREFIXES,
        });
    }
    // The in-scope URI of each inclusive prefix, kept up to date while walking down, so a
    // lookup is one index instead of a walk over the ancestors.
    let scope = inclusive
        .iter()
        .map(|p| {
            let prefix = (*p != "#default").then_some(*p);
            doc.element(apex)
                .parent
                .and_then(|parent| doc.lookup_namespace(parent, prefix))
        })
        .collect();
    let mut walk = Walk {
        doc,
        options,
        inclusive,
        scope,
        rendered: HashMap::new(),
        rendered_log: Vec::new(),
        scratch: Vec::new(),
        max: output_limit(doc),
        out: Vec::with_capacity(1024),
    };
    walk.element(apex)?;
    Ok(walk.out)
}

struct Walk<'d> {
    doc: &'d Document,
    options: &'d C14nOptions<'d>,
    /// Distinct inclusive prefixes (`#default` for the default namespace).
    inclusive: Vec<&'d str>,
    /// In-scope URI of each inclusive prefix at the current element.
    scope: Vec<Option<&'d str>>,
    /// Namespace declarations rendered on the output ancestors: prefix (`""` for the
    /// default namespace) to the URIs rendered for it, innermost last.
    rendered: HashMap<&'d str, Vec<&'d str>>,
    /// Prefixes in the order they were rendered, to undo on leaving an element.
    rendered_log: Vec<&'d str>,
    scratch: Vec<(&'d str, &'d str)>,
    max: usize,
    out: Vec<u8>,
}

impl<'d> Walk<'d> {
    fn check_size(&self) -> Result<()> {
        if self.out.len() > self.max {
            return Err(SamlError::CanonicalTooLarge { max: self.max });
        }
        Ok(())
    }

    fn element(&mut self, id: NodeId) -> Result<()> {
        let doc = self.doc;
        let element = doc.element(id);

        // This element's declarations of inclusive prefixes update the scope (undone on
        // leaving the element).
        let mut saved_scope = Vec::new();
        for (p, uri) in &element.namespace_declarations {
            let name = p.as_deref().unwrap_or("#default");
            if let Some(i) = self.inclusive.iter().position(|q| *q == name) {
                saved_scope.push((i, self.scope[i]));
                self.scope[i] = (!uri.is_empty()).then_some(uri.as_str());
            }
        }

        // Namespaces visibly utilized by this element and its attributes, plus the
        // inclusive prefixes in scope; sorted by prefix, the default namespace first.
        let mut needed = std::mem::take(&mut self.scratch);
        needed.clear();
        let need = |needed: &mut Vec<(&'d str, &'d str)>, prefix: &'d str, uri: &'d str| {
            if !needed.iter().any(|(p, _)| *p == prefix) {
                needed.push((prefix, uri));
            }
        };
        need(
            &mut needed,
            element.prefix.as_deref().unwrap_or(""),
            element.namespace.as_deref().unwrap_or(""),
        );
        for a in &element.attributes {
            if let (Some(p), Some(ns)) = (&a.prefix, &a.namespace)
                && p != "xml"
            {
                need(&mut needed, p, ns);
            }
        }
        let visibly_used = needed.len();
        for (i, p) in self.inclusive.iter().enumerate() {
            let entry = if *p == "#default" {
                Some(("", self.scope[i].unwrap_or("")))
            } else {
                self.scope[i].map(|uri| (*p, uri))
            };
            if let Some((prefix, uri)) = entry
                && !needed[..visibly_used].iter().any(|(q, _)| *q == prefix)
            {
                needed.push((prefix, uri));
            }
        }
        needed.sort_unstable();

        let mark = self.rendered_log.len();
        let out = &mut self.out;
        out.push(b'<');
        write_qname(element.prefix.as_deref(), &element.local, out);
        for &(prefix, uri) in &needed {
            let current = self.rendered.get(prefix).and_then(|v| v.last().copied());
            let emit = if prefix.is_empty() {
                current.unwrap_or("") != uri
            } else {
                current != Some(uri)
            };
            if emit {
                if prefix.is_empty() {
                    out.extend_from_slice(b" xmlns=\"");
                } else {
                    out.extend_from_slice(b" xmlns:");
                    out.extend_from_slice(prefix.as_bytes());
                    out.extend_from_slice(b"=\"");
                }
                escape_attribute(uri, out);
                out.push(b'"');
                self.rendered.entry(prefix).or_default().push(uri);
                self.rendered_log.push(prefix);
            }
        }
        self.scratch = needed;

        let write_attribute = |a: &crate::xml::Attribute, out: &mut Vec<u8>| {
            out.push(b' ');
            write_qname(a.prefix.as_deref(), &a.local, out);
            out.extend_from_slice(b"=\"");
            escape_attribute(&a.value, out);
            out.push(b'"');
        };
        let key =
            |a: &'d crate::xml::Attribute| (a.namespace.as_deref().unwrap_or(""), a.local.as_str());
        if element
            .attributes
            .windows(2)
            .all(|w| key(&w[0]) <= key(&w[1]))
        {
            // Already in canonical order (the usual case): no sorting buffer.
            for a in &element.attributes {
                write_attribute(a, out);
            }
        } else {
            let mut attributes: Vec<_> = element.attributes.iter().collect();
            attributes.sort_by(|a, b| key(a).cmp(&key(b)));
            for a in attributes {
                write_attribute(a, out);
            }
        }
        out.push(b'>');
        self.check_size()?;

        for &child in &element.children {
            match doc.node(child) {
                Node::Element(_) => {
                    if Some(child) != self.options.exclude {
                        self.element(child)?;
                    }
                }
                Node::Text(t) => escape_text(t, &mut self.out),
                Node::Comment(c) => {
                    if self.options.with_comments {
                        self.out.extend_from_slice(b"<!--");
                        self.out.extend_from_slice(c.as_bytes());
                        self.out.extend_from_slice(b"-->");
                    }
                }
            }
            self.check_size()?;
        }

        self.out.extend_from_slice(b"</");
        write_qname(element.prefix.as_deref(), &element.local, &mut self.out);
        self.out.push(b'>');
        for prefix in self.rendered_log.drain(mark..) {
            if let Some(uris) = self.rendered.get_mut(prefix) {
                uris.pop();
            }
        }
        for (i, old) in saved_scope.into_iter().rev() {
            self.scope[i] = old;
        }
        self.check_size()
    }
}

fn write_qname(prefix: Option<&str>, local: &str, out: &mut Vec<u8>) {
    if let Some(p) = prefix {
        out.extend_from_slice(p.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(local.as_bytes());
}

fn escape_text(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

fn escape_attribute(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'"' => b"&quot;",
            b'\t' => b"&#x9;",
            b'\n' => b"&#xA;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::XmlLimits;

    fn c14n(xml: &str, pick: &str, options: &C14nOptions<'_>) -> String {
        let doc = Document::parse(xml.as_bytes(), &XmlLimits::default()).unwrap();
        let apex = doc
            .all_elements()
            .into_iter()
            .find(|e| doc.element(*e).local == pick)
            .unwrap();
        String::from_utf8(canonicalize(&doc, apex, options).unwrap()).unwrap()
    }

    #[test]
    fn renders_only_utilized_namespaces() {
        let xml = r#"<a:Root xmlns:a="urn:a" xmlns:b="urn:b" xmlns="urn:d"><b:Child z="1" a:y="2" b:x="3"><Leaf/></b:Child></a:Root>"#;
        assert_eq!(
            c14n(xml, "Child", &C14nOptions::default()),
            r#"<b:Child xmlns:a="urn:a" xmlns:b="urn:b" z="1" a:y="2" b:x="3"><Leaf xmlns="urn:d"></Leaf></b:Child>"#
        );
    }

    #[test]
    fn inclusive_prefixes_are_rendered_when_in_scope() {
        let xml = r#"<a:Root xmlns:a="urn:a" xmlns:xs="urn:xs" xmlns="urn:d"><Child/></a:Root>"#;
        let prefixes = ["xs".to_owned(), "#default".to_owned(), "zz".to_owned()];
        let options = C14nOptions {
            inclusive_prefixes: &prefixes,
            ..C14nOptions::default()
        };
        assert_eq!(
            c14n(xml, "Child", &options),
            r#"<Child xmlns="urn:d" xmlns:xs="urn:xs"></Child>"#
        );
    }

    #[test]
    fn undeclares_default_namespace_when_needed() {
        let xml = r#"<Root xmlns="urn:d"><x:In xmlns:x="urn:x"><Out xmlns=""/></x:In></Root>"#;
        assert_eq!(
            c14n(xml, "Root", &C14nOptions::default()),
            r#"<Root xmlns="urn:d"><x:In xmlns:x="urn:x"><Out xmlns=""></Out></x:In></Root>"#
        );
        assert_eq!(c14n(xml, "Out", &C14nOptions::default()), r#"<Out></Out>"#);
    }

    #[test]
    fn escapes_and_comments() {
        let xml = "<r a=\"&#9;&#10;&#13;&quot;&lt;&gt;\">&#13;&gt;&amp;<!-- c --></r>";
        assert_eq!(
            c14n(xml, "r", &C14nOptions::default()),
            "<r a=\"&#x9;&#xA;&#xD;&quot;&lt;>\">&#xD;&gt;&amp;</r>"
        );
        let with = C14nOptions {
            with_comments: true,
            ..C14nOptions::default()
        };
        assert_eq!(
            c14n(xml, "r", &with),
            "<r a=\"&#x9;&#xA;&#xD;&quot;&lt;>\">&#xD;&gt;&amp;<!-- c --></r>"
        );
    }

    #[test]
    fn enveloped_signature_leaves_out_one_element() {
        let xml = r#"<r ID="x"><a/><ds:Signature xmlns:ds="urn:ds"><ds:S/></ds:Signature><b/></r>"#;
        let doc = Document::parse(xml.as_bytes(), &XmlLimits::default()).unwrap();
        let sig = doc.child_elements(doc.root()).nth(1).unwrap();
        let out = canonicalize(
            &doc,
            doc.root(),
            &C14nOptions {
                exclude: Some(sig),
                ..C14nOptions::default()
            },
        )
        .unwrap();
        assert_eq!(out, br#"<r ID="x"><a></a><b></b></r>"#);
    }
}
