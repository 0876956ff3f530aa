//! Exclusive XML Canonicalization 1.0 (with and without comments, with the
//! InclusiveNamespaces PrefixList) of an element subtree of a [`Document`], and the
//! enveloped-signature transform (leaving out one descendant element).
//!
//! The input is always an element subtree (the apex and its descendants), which is what a
//! same-document `#id` Reference and a `ds:SignedInfo` produce; there are no nodes outside
//! the apex to order, so only the element, namespace, attribute, text and comment rules of
//! the specification apply.

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

/// The canonical octets of the subtree rooted at `apex`.
#[must_use]
pub fn canonicalize(doc: &Document, apex: NodeId, options: &C14nOptions<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let mut rendered = Vec::new();
    let mut scratch = Vec::new();
    write_element(doc, apex, options, &mut rendered, &mut scratch, &mut out);
    out
}

/// Namespace declarations rendered on the output ancestors, innermost last:
/// (prefix, `""` for the default namespace; URI), borrowed from the document.
type Rendered<'d> = Vec<(&'d str, &'d str)>;

fn rendered_uri<'d>(rendered: &Rendered<'d>, prefix: &str) -> Option<&'d str> {
    rendered
        .iter()
        .rev()
        .find(|(p, _)| *p == prefix)
        .map(|(_, u)| *u)
}

fn write_element<'d>(
    doc: &'d Document,
    id: NodeId,
    options: &C14nOptions<'d>,
    rendered: &mut Rendered<'d>,
    scratch: &mut Vec<(&'d str, &'d str)>,
    out: &mut Vec<u8>,
) {
    let element = doc.element(id);

    // Namespaces visibly utilized by this element and its attributes, plus the inclusive
    // prefixes in scope; sorted by prefix, the default namespace (empty prefix) first.
    // Collected in `scratch` (shared by every element, emptied before the children).
    scratch.clear();
    let needed = scratch;
    let mut need = |prefix: &'d str, uri: &'d str| {
        if !needed.iter().any(|(p, _)| *p == prefix) {
            needed.push((prefix, uri));
        }
    };
    need(
        element.prefix.as_deref().unwrap_or(""),
        element.namespace.as_deref().unwrap_or(""),
    );
    for a in &element.attributes {
        if let (Some(p), Some(ns)) = (&a.prefix, &a.namespace)
            && p != "xml"
        {
            need(p, ns);
        }
    }
    for p in options.inclusive_prefixes {
        if p == "#default" {
            need("", doc.lookup_namespace(id, None).unwrap_or(""));
        } else if let Some(uri) = doc.lookup_namespace(id, Some(p))
            && p != "xml"
        {
            need(p, uri);
        }
    }
    needed.sort_unstable();

    let mark = rendered.len();
    out.push(b'<');
    write_qname(element.prefix.as_deref(), &element.local, out);
    for &(prefix, uri) in needed.iter() {
        let current = rendered_uri(rendered, prefix);
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
            rendered.push((prefix, uri));
        }
    }

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

    for &child in &element.children {
        match doc.node(child) {
            Node::Element(_) => {
                if Some(child) != options.exclude {
                    write_element(doc, child, options, rendered, needed, out);
                }
            }
            Node::Text(t) => escape_text(t, out),
            Node::Comment(c) => {
                if options.with_comments {
                    out.extend_from_slice(b"<!--");
                    out.extend_from_slice(c.as_bytes());
                    out.extend_from_slice(b"-->");
                }
            }
        }
    }

    out.extend_from_slice(b"</");
    write_qname(element.prefix.as_deref(), &element.local, out);
    out.push(b'>');
    rendered.truncate(mark);
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
        String::from_utf8(canonicalize(&doc, apex, options)).unwrap()
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
        );
        assert_eq!(out, br#"<r ID="x"><a></a><b></b></r>"#);
    }
}
