//! The one hardened XML parser: quick-xml events into a namespace-resolved tree.
//!
//! Everything the crate reads (signatures, assertions, metadata) is read from this tree, so
//! signature checking and data extraction can never disagree about what the document says.
//! The parser refuses DTDs (and so every entity declaration), processing instructions,
//! entity references other than the five predefined ones, non-UTF-8 input, and any input
//! beyond the size, depth, attribute and node limits of [`XmlLimits`].
//!
//! The tree keeps its text in one buffer: a copy of the input, followed by the values that
//! had to be decoded (entity references, line ends). Names and values are ranges of that
//! buffer, namespace URIs and prefixes are interned once per document, and nodes,
//! attributes and namespace declarations live in three arrays, so a document costs a
//! handful of allocations however many elements it has.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use quick_xml::Reader;
use quick_xml::escape::{EscapeError, unescape};
use quick_xml::events::{BytesStart, Event};

use crate::error::{Result, SamlError};

/// The namespace bound to the `xml` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// XML whitespace (the `S` production: space, tab, CR, LF). Values are trimmed of these
/// only, never of other Unicode whitespace (`str::trim` would strip U+3000 and make
/// `admin@example.com\u{3000}` equal `admin@example.com`).
pub const XML_WHITESPACE: [char; 4] = [' ', '\t', '\r', '\n'];

/// The namespace of namespace declarations.
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Interned prefix 0: no prefix (the default namespace).
const NO_PREFIX: u32 = 0;
/// Interned prefix 1: `xml`.
const XML_PREFIX: u32 = 1;
/// Interned namespace 0: none (unqualified, or the default namespace undeclared).
const NO_NAMESPACE: u32 = 0;
/// Interned namespace 1: [`XML_NS`].
const XML_NAMESPACE: u32 = 1;

/// Bounds on what the parser accepts; inputs beyond them are rejected before or while
/// parsing, with memory proportional to the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Largest accepted document, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting.
    pub max_depth: usize,
    /// Most attributes (namespace declarations included) on one element.
    pub max_attributes: usize,
    /// Most nodes (elements, text runs, comments) in the document.
    pub max_nodes: usize,
}

impl Default for XmlLimits {
    /// 1 MiB, depth 48, 64 attributes, 50 000 nodes: far above what any IdP sends.
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024,
            max_depth: 48,
            max_attributes: 64,
            max_nodes: 50_000,
        }
    }
}

/// Index of a node in its [`Document`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(usize);

/// A range of [`Document`]'s text buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: usize,
    end: usize,
}

/// A parsed document: arrays of nodes, attributes and namespace declarations over one
/// text buffer, and the root element.
#[derive(Clone)]
pub struct Document {
    /// The input, then decoded values.
    buf: String,
    source_len: usize,
    nodes: Vec<NodeData>,
    attributes: Vec<AttributeData>,
    declarations: Vec<DeclarationData>,
    /// Interned prefixes ([`NO_PREFIX`] is empty, [`XML_PREFIX`] is `xml`).
    prefixes: Vec<Span>,
    /// Interned namespace URIs ([`NO_NAMESPACE`] is empty, [`XML_NAMESPACE`] is `xml`'s).
    namespaces: Vec<Span>,
    root: NodeId,
}

impl fmt::Debug for Document {
    // The content is a raw message (an assertion, perhaps): never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("source_len", &self.source_len)
            .field("nodes", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct NodeData {
    kind: NodeKind,
    parent: Option<NodeId>,
    next_sibling: Option<NodeId>,
}

#[derive(Debug, Clone)]
enum NodeKind {
    Element(ElementData),
    Text(Span),
    Comment(Span),
}

#[derive(Debug, Clone)]
struct ElementData {
    prefix: u32,
    local: Span,
    namespace: u32,
    /// Range of [`Document::attributes`].
    attributes: (usize, usize),
    /// Range of [`Document::declarations`].
    declarations: (usize, usize),
    first_child: Option<NodeId>,
    last_child: Option<NodeId>,
    start_tag_end: usize,
    end: usize,
}

#[derive(Debug, Clone)]
struct AttributeData {
    prefix: u32,
    local: Span,
    namespace: u32,
    value: Span,
}

#[derive(Debug, Clone)]
pub(crate) struct DeclarationData {
    prefix: u32,
    /// [`NO_NAMESPACE`] when the default namespace is undeclared.
    namespace: u32,
}

/// One node of the tree.
#[derive(Debug, Clone, Copy)]
pub enum Node<'d> {
    /// An element.
    Element(Element<'d>),
    /// Character data (text and CDATA, entity references resolved, line ends normalized).
    Text(&'d str),
    /// A comment's content.
    Comment(&'d str),
}

/// An element of a [`Document`], with its resolved namespace, attributes and namespace
/// declarations.
#[derive(Clone, Copy)]
pub struct Element<'d> {
    doc: &'d Document,
    data: &'d ElementData,
    parent: Option<NodeId>,
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element")
            .field("name", &self.expanded_name())
            .finish_non_exhaustive()
    }
}

/// An attribute with its resolved namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'d> {
    /// Prefix as written.
    pub prefix: Option<&'d str>,
    /// Local name.
    pub local: &'d str,
    /// Resolved namespace (`None` for unprefixed attributes).
    pub namespace: Option<&'d str>,
    /// Normalized value.
    pub value: &'d str,
    pub(crate) prefix_id: u32,
    pub(crate) namespace_id: u32,
}

impl<'d> Element<'d> {
    /// Prefix as written (`None` for an unprefixed name).
    #[must_use]
    pub fn prefix(&self) -> Option<&'d str> {
        (self.data.prefix != NO_PREFIX).then(|| self.doc.prefix_str(self.data.prefix))
    }

    /// Local name.
    #[must_use]
    pub fn local(&self) -> &'d str {
        self.doc.span(self.data.local)
    }

    /// Resolved namespace URI (`None` when unqualified).
    #[must_use]
    pub fn namespace(&self) -> Option<&'d str> {
        (self.data.namespace != NO_NAMESPACE).then(|| self.doc.namespace_str(self.data.namespace))
    }

    /// Attributes other than namespace declarations, in document order.
    pub fn attributes(&self) -> impl ExactSizeIterator<Item = Attribute<'d>> + Clone + use<'d> {
        let doc = self.doc;
        let (start, end) = self.data.attributes;
        doc.attributes[start..end].iter().map(move |a| Attribute {
            prefix: (a.prefix != NO_PREFIX).then(|| doc.prefix_str(a.prefix)),
            local: doc.span(a.local),
            namespace: (a.namespace != NO_NAMESPACE).then(|| doc.namespace_str(a.namespace)),
            value: doc.span(a.value),
            prefix_id: a.prefix,
            namespace_id: a.namespace,
        })
    }

    /// Namespace declarations made on this element: prefix (`None` for the default
    /// namespace) and URI (empty when the default namespace is undeclared).
    pub fn namespace_declarations(
        &self,
    ) -> impl ExactSizeIterator<Item = (Option<&'d str>, &'d str)> + use<'d> {
        let doc = self.doc;
        let (start, end) = self.data.declarations;
        doc.declarations[start..end].iter().map(move |d| {
            (
                (d.prefix != NO_PREFIX).then(|| doc.prefix_str(d.prefix)),
                doc.namespace_str(d.namespace),
            )
        })
    }

    /// Interned (prefix, namespace) of each declaration.
    pub(crate) fn declaration_ids(&self) -> &'d [DeclarationData] {
        let (start, end) = self.data.declarations;
        &self.doc.declarations[start..end]
    }

    /// Interned prefix of the element name.
    pub(crate) fn prefix_id(&self) -> u32 {
        self.data.prefix
    }

    /// Interned namespace of the element.
    pub(crate) fn namespace_id(&self) -> u32 {
        self.data.namespace
    }

    /// Child nodes in document order.
    pub fn children(&self) -> impl Iterator<Item = NodeId> + use<'d> {
        let doc = self.doc;
        std::iter::successors(self.data.first_child, move |c| doc.nodes[c.0].next_sibling)
    }

    /// The parent element (`None` for the root).
    #[must_use]
    pub fn parent(&self) -> Option<NodeId> {
        self.parent
    }

    /// Byte offset just after the start tag in the input.
    pub(crate) fn start_tag_end(&self) -> usize {
        self.data.start_tag_end
    }

    /// Byte offset just after the end tag in the input.
    pub(crate) fn end(&self) -> usize {
        self.data.end
    }

    /// Whether this element is `{namespace}local`.
    #[must_use]
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.local() == local && self.namespace() == Some(namespace)
    }

    /// The value of the unqualified attribute `local`.
    #[must_use]
    pub fn attr(&self, local: &str) -> Option<&'d str> {
        let doc = self.doc;
        let (start, end) = self.data.attributes;
        doc.attributes[start..end]
            .iter()
            .find(|a| a.namespace == NO_NAMESPACE && doc.span(a.local) == local)
            .map(|a| doc.span(a.value))
    }

    /// `{namespace}local`, for error messages.
    #[must_use]
    pub fn expanded_name(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{{{ns}}}{}", self.local()),
            None => self.local().to_owned(),
        }
    }
}

impl DeclarationData {
    /// Interned prefix ([`Document::prefix_id`]).
    pub(crate) fn prefix_id(&self) -> u32 {
        self.prefix
    }

    /// Interned namespace, 0 when the default namespace is undeclared.
    pub(crate) fn namespace_id(&self) -> u32 {
        self.namespace
    }
}

impl Document {
    /// Parses `input` with the given limits.
    ///
    /// # Errors
    /// A typed [`SamlError`] for every refused construct and exceeded limit.
    pub fn parse(input: &[u8], limits: &XmlLimits) -> Result<Self> {
        if input.len() > limits.max_bytes {
            return Err(SamlError::XmlTooLarge {
                size: input.len(),
                max: limits.max_bytes,
            });
        }
        let text = std::str::from_utf8(input)
            .map_err(|e| SamlError::UnsupportedEncoding(format!("input is not UTF-8: {e}")))?;
        // Characters XML does not allow are refused wherever they are; values that
        // character references produce are checked again when decoded.
        check_chars(text)?;
        let parser = Parser::new(limits, text);
        let mut doc = parser.run()?;
        doc.source_len = input.len();
        Ok(doc)
    }

    fn span(&self, span: Span) -> &str {
        &self.buf[span.start..span.end]
    }

    /// The text of interned prefix `id` (empty for the default namespace).
    pub(crate) fn prefix_str(&self, id: u32) -> &str {
        self.span(self.prefixes[id as usize])
    }

    /// The URI of interned namespace `id` (empty for none).
    pub(crate) fn namespace_str(&self, id: u32) -> &str {
        self.span(self.namespaces[id as usize])
    }

    /// Number of interned prefixes (ids are below it).
    pub(crate) fn prefix_count(&self) -> usize {
        self.prefixes.len()
    }

    /// The interned id of `prefix` (`""` for the default namespace), if any name or
    /// declaration in the document uses it.
    pub(crate) fn prefix_id(&self, prefix: &str) -> Option<u32> {
        self.prefixes
            .iter()
            .position(|s| self.span(*s) == prefix)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Size in bytes of the parsed input (bounds derived work such as canonicalization).
    #[must_use]
    pub fn source_len(&self) -> usize {
        self.source_len
    }

    /// The root element.
    #[must_use]
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// The node `id`.
    #[must_use]
    pub fn node(&self, id: NodeId) -> Node<'_> {
        let node = &self.nodes[id.0];
        match &node.kind {
            NodeKind::Element(data) => Node::Element(Element {
                doc: self,
                data,
                parent: node.parent,
            }),
            NodeKind::Text(s) => Node::Text(self.span(*s)),
            NodeKind::Comment(s) => Node::Comment(self.span(*s)),
        }
    }

    fn is_element(&self, id: NodeId) -> bool {
        matches!(self.nodes[id.0].kind, NodeKind::Element(_))
    }

    /// The element `id`.
    ///
    /// # Panics
    /// When `id` is not an element; ids handed out by the element accessors always are.
    #[must_use]
    pub fn element(&self, id: NodeId) -> Element<'_> {
        let node = &self.nodes[id.0];
        match &node.kind {
            NodeKind::Element(data) => Element {
                doc: self,
                data,
                parent: node.parent,
            },
            // Only element ids are passed here by the crate (they come from the element
            // iterators), so any other node is a programming error.
            _ => panic!("node is not an element"),
        }
    }

    /// Child elements of `id`, in document order.
    pub fn child_elements(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.element(id).children().filter(|c| self.is_element(*c))
    }

    /// Child elements of `id` named `{namespace}local`.
    pub fn children_named<'a>(
        &'a self,
        id: NodeId,
        namespace: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = NodeId> + 'a {
        self.child_elements(id)
            .filter(move |c| self.element(*c).is(namespace, local))
    }

    /// The first child element of `id` named `{namespace}local`.
    #[must_use]
    pub fn first_child_named(&self, id: NodeId, namespace: &str, local: &str) -> Option<NodeId> {
        self.children_named(id, namespace, local).next()
    }

    /// Every element, in document order (the parser stores nodes in the order they start),
    /// without building a list.
    pub fn elements(&self) -> impl Iterator<Item = (NodeId, Element<'_>)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match &n.kind {
                NodeKind::Element(data) => Some((
                    NodeId(i),
                    Element {
                        doc: self,
                        data,
                        parent: n.parent,
                    },
                )),
                _ => None,
            })
    }

    /// Every element in document order (the root first).
    #[must_use]
    pub fn all_elements(&self) -> Vec<NodeId> {
        self.elements().map(|(id, _)| id).collect()
    }

    /// The text content of `id`: its text descendants concatenated, comments skipped.
    ///
    /// This is the text of the canonical form, so a comment cannot split a value.
    /// Borrowed in the usual case of one text child.
    #[must_use]
    pub fn text(&self, id: NodeId) -> Cow<'_, str> {
        let NodeKind::Element(e) = &self.nodes[id.0].kind else {
            return Cow::Borrowed("");
        };
        // The usual case: one text child (or none).
        match (e.first_child, e.last_child) {
            (None, _) => return Cow::Borrowed(""),
            (Some(first), Some(last)) if first == last => {
                if let NodeKind::Text(t) = &self.nodes[first.0].kind {
                    return Cow::Borrowed(self.span(*t));
                }
            }
            _ => {}
        }
        let mut out = String::new();
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            match &self.nodes[n.0].kind {
                NodeKind::Text(t) => out.push_str(self.span(*t)),
                NodeKind::Comment(_) => {}
                NodeKind::Element(_) => {
                    let start = stack.len();
                    stack.extend(self.element(n).children());
                    stack[start..].reverse();
                }
            }
        }
        Cow::Owned(out)
    }

    /// Whether `id` has element children.
    #[must_use]
    pub fn has_child_elements(&self, id: NodeId) -> bool {
        self.child_elements(id).next().is_some()
    }

    /// The namespace URI bound to `prefix` (`None` for the default namespace) in scope at
    /// `id`; `None` when unbound (or, for the default namespace, undeclared).
    #[must_use]
    pub fn lookup_namespace(&self, id: NodeId, prefix: Option<&str>) -> Option<&str> {
        if prefix == Some("xml") {
            return Some(XML_NS);
        }
        let prefix = self.prefix_id(prefix.unwrap_or(""))?;
        let ns = self.lookup_namespace_id(id, prefix);
        (ns != NO_NAMESPACE).then(|| self.namespace_str(ns))
    }

    /// The interned namespace bound to interned `prefix` in scope at `id`
    /// ([`NO_NAMESPACE`] when unbound or undeclared).
    pub(crate) fn lookup_namespace_id(&self, id: NodeId, prefix: u32) -> u32 {
        if prefix == XML_PREFIX {
            return XML_NAMESPACE;
        }
        let mut cur = Some(id);
        while let Some(n) = cur {
            let e = self.element(n);
            if let Some(d) = e.declaration_ids().iter().find(|d| d.prefix == prefix) {
                return d.namespace;
            }
            cur = e.parent;
        }
        NO_NAMESPACE
    }

    /// Whether `ancestor` is `id` or one of its ancestors.
    #[must_use]
    pub fn is_ancestor_or_self(&self, ancestor: NodeId, id: NodeId) -> bool {
        let mut cur = Some(id);
        while let Some(n) = cur {
            if n == ancestor {
                return true;
            }
            cur = self.nodes[n.0].parent;
        }
        false
    }
}

/// Interned strings and their ids: a linear search while there are few (every real
/// document), a hash map beyond, so a document declaring many namespaces stays linear.
#[derive(Default)]
struct Interner<'t> {
    list: Vec<(Cow<'t, str>, u32)>,
    map: Option<HashMap<Cow<'t, str>, u32>>,
}

impl<'t> Interner<'t> {
    /// Entries searched linearly before switching to a map.
    const LINEAR: usize = 16;

    fn get(&self, s: &str) -> Option<u32> {
        match &self.map {
            Some(map) => map.get(s).copied(),
            None => self
                .list
                .iter()
                .find(|(k, _)| k.as_ref() == s)
                .map(|(_, id)| *id),
        }
    }

    fn insert(&mut self, s: Cow<'t, str>, id: u32) {
        if let Some(map) = &mut self.map {
            map.insert(s, id);
            return;
        }
        if self.list.capacity() == 0 {
            self.list.reserve(Self::LINEAR);
        }
        self.list.push((s, id));
        if self.list.len() > Self::LINEAR {
            self.map = Some(self.list.drain(..).collect());
        }
    }
}

/// A namespace binding in scope while parsing.
struct Binding<'t> {
    /// `None` for the default namespace.
    prefix: Option<&'t str>,
    prefix_id: u32,
    /// [`NO_NAMESPACE`] when the default namespace is undeclared.
    namespace: u32,
}

/// An attribute read from a start tag, before namespace resolution.
struct RawAttribute<'t> {
    prefix: Option<&'t str>,
    local: Span,
    value: Span,
}

/// The parser's working state.
struct Parser<'l, 't> {
    limits: &'l XmlLimits,
    text: &'t str,
    doc: Document,
    /// Open elements.
    stack: Vec<NodeId>,
    /// Namespace bindings in scope, innermost last.
    scopes: Vec<Binding<'t>>,
    scope_marks: Vec<usize>,
    prefix_ids: Interner<'t>,
    namespace_ids: Interner<'t>,
    /// Scratch list of the attributes of the start tag being read.
    raw_attributes: Vec<RawAttribute<'t>>,
    root: Option<NodeId>,
    seen_content: bool,
}

impl<'l, 't> Parser<'l, 't> {
    fn new(limits: &'l XmlLimits, text: &'t str) -> Self {
        let mut buf = String::with_capacity(text.len() + text.len() / 16 + 64);
        buf.push_str(text);
        let xml_ns = Span {
            start: buf.len(),
            end: buf.len() + XML_NS.len(),
        };
        buf.push_str(XML_NS);
        let xml_prefix = Span {
            start: buf.len(),
            end: buf.len() + 3,
        };
        buf.push_str("xml");
        let empty = Span::default();
        let nodes = Vec::with_capacity((text.len() / 40).min(limits.max_nodes));
        let mut namespace_ids = Interner::default();
        namespace_ids.insert(Cow::Borrowed(""), NO_NAMESPACE);
        namespace_ids.insert(Cow::Borrowed(XML_NS), XML_NAMESPACE);
        let mut prefix_ids = Interner::default();
        prefix_ids.insert(Cow::Borrowed(""), NO_PREFIX);
        prefix_ids.insert(Cow::Borrowed("xml"), XML_PREFIX);
        Self {
            limits,
            text,
            doc: Document {
                buf,
                source_len: 0,
                nodes,
                attributes: Vec::with_capacity(text.len() / 64),
                declarations: Vec::new(),
                prefixes: vec![empty, xml_prefix],
                namespaces: vec![empty, xml_ns],
                root: NodeId(0),
            },
            stack: Vec::new(),
            scopes: Vec::new(),
            scope_marks: Vec::new(),
            prefix_ids,
            namespace_ids,
            raw_attributes: Vec::new(),
            root: None,
            seen_content: false,
        }
    }

    /// The range of `s`, a slice of the input.
    fn source_span(&self, s: &str) -> Option<Span> {
        let start = (s.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        let end = start.checked_add(s.len())?;
        (end <= self.text.len()).then_some(Span { start, end })
    }

    /// Stores `s`: a range of the input when it is a slice of it, else appended.
    fn store(&mut self, s: &str) -> Span {
        if let Some(span) = self.source_span(s) {
            return span;
        }
        let start = self.doc.buf.len();
        self.doc.buf.push_str(s);
        Span {
            start,
            end: self.doc.buf.len(),
        }
    }

    fn intern_prefix(&mut self, prefix: &'t str) -> u32 {
        if let Some(id) = self.prefix_ids.get(prefix) {
            return id;
        }
        let id = u32::try_from(self.doc.prefixes.len()).unwrap_or(u32::MAX);
        let span = self.store(prefix);
        self.doc.prefixes.push(span);
        self.prefix_ids.insert(Cow::Borrowed(prefix), id);
        id
    }

    fn intern_namespace(&mut self, uri: Cow<'t, str>) -> u32 {
        if let Some(id) = self.namespace_ids.get(&uri) {
            return id;
        }
        let id = u32::try_from(self.doc.namespaces.len()).unwrap_or(u32::MAX);
        let span = self.store(&uri);
        self.doc.namespaces.push(span);
        self.namespace_ids.insert(uri, id);
        id
    }

    fn run(mut self) -> Result<Document> {
        let text = self.text;
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.check_comments = true;
        config.trim_text(false);

        loop {
            let event = reader
                .read_event()
                .map_err(|e| SamlError::MalformedXml(e.to_string()))?;
            match event {
                Event::Decl(decl) => {
                    if self.seen_content {
                        return Err(SamlError::MalformedXml(
                            "XML declaration not at the start".into(),
                        ));
                    }
                    if let Some(enc) = decl.encoding() {
                        let enc = enc.map_err(|e| SamlError::MalformedXml(e.to_string()))?;
                        let enc = String::from_utf8_lossy(&enc).into_owned();
                        if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                            return Err(SamlError::UnsupportedEncoding(enc));
                        }
                    }
                }
                Event::DocType(_) => return Err(SamlError::DtdForbidden),
                Event::PI(_) => return Err(SamlError::ProcessingInstructionForbidden),
                Event::Start(start) => self.start(&start, offset(&reader))?,
                Event::Empty(start) => {
                    self.start(&start, offset(&reader))?;
                    self.end(offset(&reader));
                }
                Event::End(_) => self.end(offset(&reader)),
                Event::Text(t) => {
                    let raw = input_str(text, &t)?;
                    // Entity references and line ends only when present.
                    if text_needs_decoding(&raw) {
                        let normalized = normalize_line_ends(&raw);
                        let value = unescape(&normalized).map_err(escape_error)?;
                        check_chars(&value)?;
                        self.text(&value)?;
                    } else {
                        self.text(&raw)?;
                    }
                }
                Event::CData(c) => {
                    let raw = input_str(text, &c)?;
                    self.text(&normalize_line_ends(&raw))?;
                }
                Event::Comment(c) => {
                    self.seen_content = true;
                    let raw = input_str(text, &c)?;
                    // Comments outside the root element are never part of a signed subtree.
                    if let Some(&parent) = self.stack.last() {
                        let span = self.store(&normalize_line_ends(&raw));
                        self.push_child(parent, NodeKind::Comment(span))?;
                    }
                }
                Event::Eof => break,
            }
        }

        if !self.stack.is_empty() {
            return Err(SamlError::MalformedXml("unexpected end of document".into()));
        }
        let root = self
            .root
            .ok_or_else(|| SamlError::MalformedXml("no root element".into()))?;
        self.doc.root = root;
        Ok(self.doc)
    }

    fn add_node(&mut self, kind: NodeKind, parent: Option<NodeId>) -> Result<NodeId> {
        if self.doc.nodes.len() >= self.limits.max_nodes {
            return Err(SamlError::TooManyNodes {
                max: self.limits.max_nodes,
            });
        }
        let id = NodeId(self.doc.nodes.len());
        self.doc.nodes.push(NodeData {
            kind,
            parent,
            next_sibling: None,
        });
        if let Some(parent) = parent {
            let previous = match &mut self.doc.nodes[parent.0].kind {
                NodeKind::Element(e) => {
                    let previous = e.last_child.replace(id);
                    if previous.is_none() {
                        e.first_child = Some(id);
                    }
                    previous
                }
                _ => None,
            };
            if let Some(previous) = previous {
                self.doc.nodes[previous.0].next_sibling = Some(id);
            }
        }
        Ok(id)
    }

    fn push_child(&mut self, parent: NodeId, kind: NodeKind) -> Result<()> {
        self.add_node(kind, Some(parent)).map(|_| ())
    }

    fn text(&mut self, value: &str) -> Result<()> {
        self.seen_content = true;
        let Some(&parent) = self.stack.last() else {
            if value.chars().all(is_xml_space) {
                return Ok(());
            }
            return Err(SamlError::MalformedXml(
                "text outside the root element".into(),
            ));
        };

        // Adjacent text and CDATA runs form one text node, at the end of the buffer.
        let last = match &self.doc.nodes[parent.0].kind {
            NodeKind::Element(e) => e.last_child,
            _ => None,
        };
        if let Some(last) = last
            && let NodeKind::Text(t) = self.doc.nodes[last.0].kind
        {
            let buf = &mut self.doc.buf;
            let start = if t.end == buf.len() {
                t.start
            } else {
                let start = buf.len();
                let earlier = buf[t.start..t.end].to_owned();
                buf.push_str(&earlier);
                start
            };
            buf.push_str(value);
            let merged = Span {
                start,
                end: buf.len(),
            };
            self.doc.nodes[last.0].kind = NodeKind::Text(merged);
            return Ok(());
        }
        let span = self.store(value);
        self.push_child(parent, NodeKind::Text(span))
    }

    fn start(&mut self, start: &BytesStart<'_>, start_tag_end: usize) -> Result<()> {
        self.seen_content = true;
        if self.stack.is_empty() && self.root.is_some() {
            return Err(SamlError::MalformedXml("more than one root element".into()));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(SamlError::XmlTooDeep {
                max: self.limits.max_depth,
            });
        }
        let text = self.text;

        let name = source_name(text, start.name().as_ref())?;
        let (prefix, local) = split_qname(name)?;
        // Reused across elements, so a start tag allocates nothing of its own.
        let mut raw_attributes = std::mem::take(&mut self.raw_attributes);
        raw_attributes.clear();
        let declarations_start = self.doc.declarations.len();
        let mut xml_prefix_declared = false;
        // Duplicates are refused below, after namespace resolution (the same attribute
        // written twice, or two prefixes bound to one namespace) and per declared prefix,
        // which covers quick-xml's by-name check without its per-tag list of names.
        for (count, attr) in start.attributes().with_checks(false).enumerate() {
            if count >= self.limits.max_attributes {
                return Err(SamlError::TooManyAttributes {
                    max: self.limits.max_attributes,
                });
            }
            let attr = attr.map_err(|e| match e {
                quick_xml::events::attributes::AttrError::Duplicated(..) => {
                    SamlError::DuplicateAttribute(
                        String::from_utf8_lossy(start.name().as_ref()).into_owned(),
                    )
                }
                other => SamlError::MalformedXml(other.to_string()),
            })?;
            let raw_value = input_str(text, &attr.value)?;
            // Decoded (and checked once more) only when there is something to decode.
            let value: Cow<'t, str> = if attribute_needs_decoding(&raw_value) {
                let decoded = unescape(&normalize_attribute(&raw_value))
                    .map_err(escape_error)?
                    .into_owned();
                check_chars(&decoded)?;
                Cow::Owned(decoded)
            } else {
                raw_value
            };
            let key = source_name(text, attr.key.as_ref())?;
            let (a_prefix, a_local) = split_qname(key)?;
            match (a_prefix, a_local) {
                (None, "xmlns") => {
                    if self.doc.declarations[declarations_start..]
                        .iter()
                        .any(|d| d.prefix == NO_PREFIX)
                    {
                        return Err(SamlError::DuplicateAttribute("xmlns".into()));
                    }
                    if value == XML_NS || value == XMLNS_NS {
                        return Err(SamlError::MalformedXml(
                            "reserved namespace bound to the default namespace".into(),
                        ));
                    }
                    let namespace = self.intern_namespace(value);
                    self.doc.declarations.push(DeclarationData {
                        prefix: NO_PREFIX,
                        namespace,
                    });
                }
                (Some("xmlns"), p) => {
                    if value.is_empty() {
                        return Err(SamlError::MalformedXml(format!(
                            "namespace prefix {p:?} undeclared"
                        )));
                    }
                    if p == "xmlns" || (p == "xml") != (value == XML_NS) || value == XMLNS_NS {
                        return Err(SamlError::MalformedXml(format!(
                            "reserved namespace prefix {p:?} misused"
                        )));
                    }
                    let prefix_id = self.intern_prefix(p);
                    let duplicate = if p == "xml" {
                        std::mem::replace(&mut xml_prefix_declared, true)
                    } else {
                        self.doc.declarations[declarations_start..]
                            .iter()
                            .any(|d| d.prefix == prefix_id)
                    };
                    if duplicate {
                        return Err(SamlError::DuplicateAttribute(format!("xmlns:{p}")));
                    }
                    // The xml prefix is implicitly bound; a redundant declaration adds nothing.
                    if p != "xml" {
                        let namespace = self.intern_namespace(value);
                        self.doc.declarations.push(DeclarationData {
                            prefix: prefix_id,
                            namespace,
                        });
                    }
                }
                _ => {
                    let local = self.store(a_local);
                    let value = self.store(&value);
                    raw_attributes.push(RawAttribute {
                        prefix: a_prefix,
                        local,
                        value,
                    });
                }
            }
        }
        let declarations_end = self.doc.declarations.len();

        self.scope_marks.push(self.scopes.len());
        for i in declarations_start..declarations_end {
            let d = &self.doc.declarations[i];
            let (prefix_id, namespace) = (d.prefix, d.namespace);
            // Declared prefixes are names, so ranges of the input.
            let prefix = (prefix_id != NO_PREFIX).then(|| {
                let span = self.doc.prefixes[prefix_id as usize];
                text.get(span.start..span.end).unwrap_or_default()
            });
            self.scopes.push(Binding {
                prefix,
                prefix_id,
                namespace,
            });
        }

        let (prefix_id, namespace) = self.resolve(prefix)?;
        let attributes_start = self.doc.attributes.len();
        for raw in raw_attributes.drain(..) {
            let (a_prefix, a_ns) = match raw.prefix {
                None => (NO_PREFIX, NO_NAMESPACE),
                Some(p) => {
                    let (id, ns) = self.resolve(Some(p))?;
                    if ns == NO_NAMESPACE {
                        return Err(SamlError::UnboundPrefix(p.to_owned()));
                    }
                    (id, ns)
                }
            };
            let local = self.doc.span(raw.local);
            if self.doc.attributes[attributes_start..]
                .iter()
                .any(|a| a.namespace == a_ns && self.doc.span(a.local) == local)
            {
                return Err(SamlError::DuplicateAttribute(local.to_owned()));
            }
            self.doc.attributes.push(AttributeData {
                prefix: a_prefix,
                local: raw.local,
                namespace: a_ns,
                value: raw.value,
            });
        }
        self.raw_attributes = raw_attributes;

        let local = self.store(local);
        let element = ElementData {
            prefix: prefix_id,
            local,
            namespace,
            attributes: (attributes_start, self.doc.attributes.len()),
            declarations: (declarations_start, declarations_end),
            first_child: None,
            last_child: None,
            start_tag_end,
            end: start_tag_end,
        };
        let parent = self.stack.last().copied();
        let id = self.add_node(NodeKind::Element(element), parent)?;
        if parent.is_none() {
            self.root = Some(id);
        }
        self.stack.push(id);
        Ok(())
    }

    fn end(&mut self, end: usize) {
        if let Some(id) = self.stack.pop()
            && let NodeKind::Element(e) = &mut self.doc.nodes[id.0].kind
        {
            e.end = end;
        }
        if let Some(mark) = self.scope_marks.pop() {
            self.scopes.truncate(mark);
        }
    }

    /// The interned (prefix, namespace) of `prefix` in the current scope; an unbound
    /// prefix is an error, an unbound default namespace is [`NO_NAMESPACE`].
    fn resolve(&self, prefix: Option<&str>) -> Result<(u32, u32)> {
        if prefix == Some("xml") {
            return Ok((XML_PREFIX, XML_NAMESPACE));
        }
        match self.scopes.iter().rev().find(|b| b.prefix == prefix) {
            Some(b) => Ok((b.prefix_id, b.namespace)),
            None => match prefix {
                None => Ok((NO_PREFIX, NO_NAMESPACE)),
                Some(p) => Err(SamlError::UnboundPrefix(p.to_owned())),
            },
        }
    }
}

/// The reader's position in the input, in bytes.
fn offset(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

/// `bytes` as text: borrowed from `text` when it is a slice of it (quick-xml hands out
/// slices of its input, so this skips a second UTF-8 validation), else checked and copied.
fn input_str<'t>(text: &'t str, bytes: &[u8]) -> Result<Cow<'t, str>> {
    let start = (bytes.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    if let Some(end) = start.checked_add(bytes.len())
        && end <= text.len()
        && let Some(s) = text.get(start..end)
    {
        return Ok(Cow::Borrowed(s));
    }
    std::str::from_utf8(bytes)
        .map(|s| Cow::Owned(s.to_owned()))
        .map_err(|e| SamlError::UnsupportedEncoding(e.to_string()))
}

/// A name, which quick-xml hands out as a slice of the input.
fn source_name<'t>(text: &'t str, bytes: &[u8]) -> Result<&'t str> {
    match input_str(text, bytes)? {
        Cow::Borrowed(s) => Ok(s),
        Cow::Owned(s) => Err(SamlError::MalformedXml(format!(
            "name {s:?} not read from the input"
        ))),
    }
}

/// Splits `prefix:local`, refusing empty parts and more than one colon.
fn split_qname(name: &str) -> Result<(Option<&str>, &str)> {
    let bad = || SamlError::MalformedXml(format!("invalid name {name:?}"));
    // The usual case in one pass: ASCII name bytes around at most one colon, each part
    // non-empty and not starting with a digit, `-` or `.`.
    let bytes = name.as_bytes();
    let mut colon = None;
    let mut ascii = true;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b':' && colon.is_none() {
            colon = Some(i);
        } else {
            ascii &= (b < 0x80) & ASCII_NAME_BYTES[usize::from(b & 0x7f)];
        }
    }
    let starts_well = |part: &[u8]| {
        part.first()
            .is_some_and(|&c| !c.is_ascii_digit() && c != b'-' && c != b'.')
    };
    if ascii {
        return match colon {
            None if starts_well(bytes) => Ok((None, name)),
            Some(i) if starts_well(&bytes[..i]) && starts_well(&bytes[i + 1..]) => {
                Ok((Some(&name[..i]), &name[i + 1..]))
            }
            _ => Err(bad()),
        };
    }
    // A second colon stays in `local`, where `is_name` refuses it.
    let (prefix, local) = match name.split_once(':') {
        None => (None, name),
        Some((prefix, local)) => (Some(prefix), local),
    };
    if local.is_empty() || prefix.is_some_and(str::is_empty) || !is_name(local) {
        return Err(bad());
    }
    if let Some(p) = prefix
        && !is_name(p)
    {
        return Err(bad());
    }
    Ok((prefix, local))
}

/// A coarse NCName check: no characters that can never appear in a name.
fn is_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if first.is_ascii_digit() || first == b'-' || first == b'.' {
        return false;
    }
    for &b in bytes {
        if !b.is_ascii() {
            return s.chars().all(|c| {
                c.is_alphanumeric()
                    || matches!(c, '_' | '-' | '.')
                    || (!c.is_ascii() && !c.is_whitespace())
            });
        }
        if !ASCII_NAME_BYTES[usize::from(b)] {
            return false;
        }
    }
    true
}

/// Whether text needs decoding: it holds `&` or a CR (one branch-free pass).
fn text_needs_decoding(s: &str) -> bool {
    s.as_bytes().chunks(32).any(|chunk| {
        chunk
            .iter()
            .fold(false, |acc, &b| acc | (b == b'&') | (b == b'\r'))
    })
}

/// Whether an attribute value needs decoding: it holds `&`, a tab or a line end (control
/// characters, the only other bytes below a space, are refused before parsing).
fn attribute_needs_decoding(s: &str) -> bool {
    s.as_bytes().chunks(32).any(|chunk| {
        chunk
            .iter()
            .fold(false, |acc, &b| acc | (b == b'&') | (b < b' '))
    })
}

/// ASCII bytes allowed in a name: letters, digits, `_`, `-`, `.`.
const ASCII_NAME_BYTES: [bool; 128] = {
    let mut table = [false; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.';
        i += 1;
    }
    table
};

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Refuses characters XML 1.0 does not allow (control characters, non-characters).
fn check_chars(s: &str) -> Result<()> {
    // Fast path: no control byte and no 0xEF lead byte (U+FFFE and U+FFFF are EF BF BE and
    // EF BF BF in UTF-8) means nothing to refuse. Branch-free per 32-byte chunk.
    let suspicious = |b: u8| (b < b' ') & (b != b'\t') & (b != b'\n') & (b != b'\r') | (b == 0xEF);
    if !s
        .as_bytes()
        .chunks(32)
        .any(|chunk| chunk.iter().fold(false, |acc, &b| acc | suspicious(b)))
    {
        return Ok(());
    }
    match s.chars().find(|&c| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    }) {
        Some(c) => Err(SamlError::MalformedXml(format!(
            "character U+{:04X} is not allowed in XML",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// XML 1.0 section 2.11: CRLF and lone CR become LF.
fn normalize_line_ends(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\r') {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
}

/// XML 1.0 section 3.3.3 for CDATA attributes: each literal whitespace character becomes a
/// space (character references are resolved afterwards and keep their character).
fn normalize_attribute(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['\t', '\n', '\r']) {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(normalize_line_ends(raw).replace(['\t', '\n'], " "))
}

fn escape_error(e: EscapeError) -> SamlError {
    match e {
        EscapeError::UnrecognizedEntity(_, name) => SamlError::EntityForbidden(name),
        other => SamlError::MalformedXml(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Document> {
        Document::parse(s.as_bytes(), &XmlLimits::default())
    }

    #[test]
    fn resolves_namespaces_and_attributes() {
        let doc = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<a:Root xmlns:a="urn:a" xmlns="urn:d" x="1&amp;2" a:y="&#10;z"><Child>t&lt;<![CDATA[<c>]]></Child></a:Root>"#,
        )
        .unwrap();
        let root = doc.element(doc.root());
        assert!(root.is("urn:a", "Root"));
        assert_eq!(root.attr("x"), Some("1&2"));
        let y = root.attributes().find(|a| a.local == "y").unwrap();
        assert_eq!(y.namespace, Some("urn:a"));
        assert_eq!(y.value, "\nz");
        let child = doc.first_child_named(doc.root(), "urn:d", "Child").unwrap();
        assert_eq!(doc.text(child), "t<<c>");
    }

    #[test]
    fn many_namespaces_intern_to_the_same_ids() {
        // More prefixes and namespaces than the interner searches linearly.
        let mut xml = String::from("<r");
        for i in 0..40 {
            xml.push_str(&format!(" xmlns:p{i}=\"urn:n{}\"", i % 20));
        }
        xml.push('>');
        for i in 0..40 {
            xml.push_str(&format!("<p{i}:c p{}:a=\"{i}\"/>", (i + 1) % 40));
        }
        xml.push_str("</r>");
        let doc = parse(&xml).unwrap();
        let children: Vec<_> = doc.child_elements(doc.root()).collect();
        assert_eq!(children.len(), 40);
        for (i, &c) in children.iter().enumerate() {
            let e = doc.element(c);
            let expected = format!("urn:n{}", i % 20);
            assert_eq!(e.namespace(), Some(expected.as_str()));
            assert_eq!(e.prefix(), Some(format!("p{i}").as_str()));
            let a = e.attributes().next().unwrap();
            let expected = format!("urn:n{}", (i + 1) % 40 % 20);
            assert_eq!(a.namespace, Some(expected.as_str()));
            assert_eq!(a.namespace_id == e.namespace_id(), (i + 1) % 20 == i % 20);
        }
        // The same URI under two prefixes on one element is one attribute written twice.
        let twice = "<r xmlns:p0='urn:n0' xmlns:p20='urn:n0'><c p0:a='1' p20:a='2'/></r>";
        assert!(matches!(
            parse(twice).unwrap_err(),
            SamlError::DuplicateAttribute(_)
        ));
    }

    #[test]
    fn attribute_whitespace_is_normalized() {
        let doc = parse("<r a=\"x\ty\r\nz\"/>").unwrap();
        assert_eq!(doc.element(doc.root()).attr("a"), Some("x y z"));
    }

    #[test]
    fn comments_do_not_split_text() {
        let doc = parse("<r>user@evil.com<!---->.attacker.com</r>").unwrap();
        assert_eq!(doc.text(doc.root()), "user@evil.com.attacker.com");
    }

    #[test]
    fn refuses_dtd_and_entities() {
        let dtd = r#"<!DOCTYPE r [<!ENTITY x "boom">]><r>&x;</r>"#;
        assert_eq!(parse(dtd).unwrap_err(), SamlError::DtdForbidden);
        assert_eq!(
            parse("<r>&x;</r>").unwrap_err(),
            SamlError::EntityForbidden("x".into())
        );
        assert_eq!(
            parse("<r><?pi x?></r>").unwrap_err(),
            SamlError::ProcessingInstructionForbidden
        );
    }

    #[test]
    fn refuses_other_encodings_and_bad_bytes() {
        assert!(matches!(
            parse(r#"<?xml version="1.0" encoding="UTF-16"?><r/>"#).unwrap_err(),
            SamlError::UnsupportedEncoding(e) if e == "UTF-16"
        ));
        assert!(matches!(
            Document::parse(b"<r>\xff</r>", &XmlLimits::default()).unwrap_err(),
            SamlError::UnsupportedEncoding(_)
        ));
    }

    #[test]
    fn enforces_limits() {
        let limits = XmlLimits {
            max_bytes: 100,
            max_depth: 3,
            max_attributes: 2,
            max_nodes: 5,
        };
        assert_eq!(
            Document::parse(&[b' '; 101], &limits).unwrap_err(),
            SamlError::XmlTooLarge {
                size: 101,
                max: 100
            }
        );
        assert_eq!(
            Document::parse(b"<a><b><c><d/></c></b></a>", &limits).unwrap_err(),
            SamlError::XmlTooDeep { max: 3 }
        );
        assert_eq!(
            Document::parse(br#"<a x="1" y="2" z="3"/>"#, &limits).unwrap_err(),
            SamlError::TooManyAttributes { max: 2 }
        );
        assert_eq!(
            Document::parse(b"<a><b/><b/><b/><b/><b/></a>", &limits).unwrap_err(),
            SamlError::TooManyNodes { max: 5 }
        );
    }

    #[test]
    fn deep_nesting_is_refused_quickly() {
        let deep = "<a>".repeat(100_000);
        assert_eq!(
            Document::parse(deep.as_bytes(), &XmlLimits::default()).unwrap_err(),
            SamlError::XmlTooDeep { max: 48 }
        );
    }

    #[test]
    fn refuses_malformed_documents() {
        for bad in [
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text<a/>",
            "<a x='1' x='2'/>",
            "<a p:x='1' p:x='2' xmlns:p='urn:p'/>",
            "<a xmlns='urn:a' xmlns='urn:b'/>",
            "<a xmlns:p='urn:a' xmlns:p='urn:b'/>",
            "<a xmlns:xml='http://www.w3.org/XML/1998/namespace' xmlns:xml='http://www.w3.org/XML/1998/namespace'/>",
            "<p:a/>",
            "<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>",
            "<a>&#0;</a>",
            "<a><!-- a -- b --></a>",
            "",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    SamlError::MalformedXml(_)
                        | SamlError::UnboundPrefix(_)
                        | SamlError::DuplicateAttribute(_)
                ),
                "{bad:?} gave {err:?}"
            );
        }
    }
}
