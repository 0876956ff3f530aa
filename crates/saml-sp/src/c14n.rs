//! Exclusive XML Canonicalization 1.0 (with and without comments, with the
//! InclusiveNamespaces PrefixList) of an element subtree of a [`Document`], and the
//! enveloped-signature transform (leaving out one descendant element).
//!
//! The input is always an element subtree (the apex and its descendants), which is what a
//! same-document `#id` Reference and a `ds:SignedInfo` produce; there are no nodes outside
//! the apex to order, so only the element, namespace, attribute, text and comment rules of
//! the specification apply.

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
    // Inclusive prefixes as the document's interned prefixes (a prefix the document never
    // names is never in scope), with the in-scope namespace of each, kept up to date while
    // walking down so a lookup is one index instead of a walk over the ancestors.
    let inclusive: Vec<u32> = inclusive
        .iter()
        .filter_map(|p| doc.prefix_id(if *p == "#default" { "" } else { p }))
        .collect();
    let parent = doc.element(apex).parent();
    let scope = inclusive
        .iter()
        .map(|&p| parent.map_or(0, |parent| doc.lookup_namespace_id(parent, p)))
        .collect();
    // One buffer sized for the usual canonical form (a little larger than the subtree's
    // source), so it is rarely grown.
    let max = output_limit(doc);
    let apex_element = doc.element(apex);
    let source_span = apex_element
        .end()
        .saturating_sub(apex_element.start_tag_end());
    let capacity = source_span
        .saturating_add(source_span / 8)
        .saturating_add(512)
        .min(max);
    let mut walk = Walk {
        doc,
        options,
        inclusive,
        scope,
        rendered: vec![0; doc.prefix_count()],
        rendered_log: Vec::new(),
        scratch: Vec::new(),
        max,
        out: Vec::with_capacity(capacity),
    };
    walk.element(apex)?;
    Ok(walk.out)
}

struct Walk<'d> {
    doc: &'d Document,
    options: &'d C14nOptions<'d>,
    /// Distinct inclusive prefixes, interned (0 for the default namespace).
    inclusive: Vec<u32>,
    /// In-scope interned namespace of each inclusive prefix at the current element (0 when
    /// unbound).
    scope: Vec<u32>,
    /// The interned namespace rendered for each interned prefix by the nearest output
    /// ancestor (0 when none, which for the default namespace is the empty one).
    rendered: Vec<u32>,
    /// (prefix, previous value) of each rendering, to undo on leaving an element.
    rendered_log: Vec<(u32, u32)>,
    /// Scratch list of (prefix, namespace) to render on an element.
    scratch: Vec<(u32, u32)>,
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
        if !self.inclusive.is_empty() {
            for d in element.declaration_ids() {
                if let Some(i) = self.inclusive.iter().position(|q| *q == d.prefix_id()) {
                    saved_scope.push((i, self.scope[i]));
                    self.scope[i] = d.namespace_id();
                }
            }
        }

        // Namespaces visibly utilized by this element and its attributes, plus the
        // inclusive prefixes in scope; sorted by prefix, the default namespace first.
        let mut needed = std::mem::take(&mut self.scratch);
        needed.clear();
        needed.push((element.prefix_id(), element.namespace_id()));
        for a in element.attributes() {
            if a.prefix.is_some()
                && a.prefix != Some("xml")
                && !needed.iter().any(|(p, _)| *p == a.prefix_id)
            {
                needed.push((a.prefix_id, a.namespace_id));
            }
        }
        let visibly_used = needed.len();
        for (i, &p) in self.inclusive.iter().enumerate() {
            let uri = self.scope[i];
            // An unbound prefix renders nothing; the default namespace renders as empty.
            if (p == 0 || uri != 0) && !needed[..visibly_used].iter().any(|(q, _)| *q == p) {
                needed.push((p, uri));
            }
        }
        if needed.len() > 1 {
            needed.sort_unstable_by(|a, b| doc.prefix_str(a.0).cmp(doc.prefix_str(b.0)));
        }

        let mark = self.rendered_log.len();
        let out = &mut self.out;
        out.push(b'<');
        write_qname(element.prefix(), element.local(), out);
        for &(prefix, uri) in &needed {
            let current = self.rendered[prefix as usize];
            if current != uri {
                if prefix == 0 {
                    out.extend_from_slice(b" xmlns=\"");
                } else {
                    out.extend_from_slice(b" xmlns:");
                    out.extend_from_slice(doc.prefix_str(prefix).as_bytes());
                    out.extend_from_slice(b"=\"");
                }
                escape_attribute(doc.namespace_str(uri), out);
                out.push(b'"');
                self.rendered_log.push((prefix, current));
                self.rendered[prefix as usize] = uri;
            }
        }
        self.scratch = needed;

        let write_attribute = |a: &crate::xml::Attribute<'_>, out: &mut Vec<u8>| {
            out.push(b' ');
            write_qname(a.prefix, a.local, out);
            out.extend_from_slice(b"=\"");
            escape_attribute(a.value, out);
            out.push(b'"');
        };
        let key = |a: &crate::xml::Attribute<'d>| (a.namespace.unwrap_or(""), a.local);
        let attributes = element.attributes();
        let mut sorted = true;
        let mut previous = None;
        for a in attributes.clone() {
            let k = key(&a);
            if previous.is_some_and(|p| p > k) {
                sorted = false;
                break;
            }
            previous = Some(k);
        }
        if sorted {
            // Already in canonical order (the usual case): no sorting buffer.
            for a in attributes {
                write_attribute(&a, out);
            }
        } else {
            let mut attributes: Vec<_> = attributes.collect();
            attributes.sort_by(|a, b| key(a).cmp(&key(b)));
            for a in &attributes {
                write_attribute(a, out);
            }
        }
        out.push(b'>');
        self.check_size()?;

        for child in element.children() {
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
        write_qname(element.prefix(), element.local(), &mut self.out);
        self.out.push(b'>');
        for (prefix, previous) in self.rendered_log.drain(mark..).rev() {
            self.rendered[prefix as usize] = previous;
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
    // The usual case: nothing to escape.
    if !bytes.chunks(32).any(|chunk| {
        chunk.iter().fold(false, |acc, &b| {
            acc | (b == b'&') | (b == b'<') | (b == b'>') | (b == b'\r')
        })
    }) {
        out.extend_from_slice(bytes);
        return;
    }
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
    if !bytes.chunks(32).any(|chunk| {
        chunk.iter().fold(false, |acc, &b| {
            acc | (b == b'&') | (b == b'<') | (b == b'"') | (b < b' ')
        })
    }) {
        out.extend_from_slice(bytes);
        return;
    }
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
            .find(|e| doc.element(*e).local() == pick)
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
