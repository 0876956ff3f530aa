//! The one hardened XML parser: quick-xml events into an owned, namespace-resolved tree.
//!
//! Everything the crate reads (signatures, assertions, metadata) is read from this tree, so
//! signature checking and data extraction can never disagree about what the document says.
//! The parser refuses DTDs (and so every entity declaration), processing instructions,
//! entity references other than the five predefined ones, non-UTF-8 input, and any input
//! beyond the size, depth, attribute and node limits of [`XmlLimits`].

use std::borrow::Cow;
use std::sync::Arc;

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

/// A parsed document: an arena of nodes and the root element.
#[derive(Debug, Clone)]
pub struct Document {
    nodes: Vec<Node>,
    root: NodeId,
    source_len: usize,
}

/// One node of the tree.
#[derive(Debug, Clone)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Character data (text and CDATA, entity references resolved, line ends normalized).
    Text(String),
    /// A comment's content.
    Comment(String),
}

/// An element with its resolved namespace, attributes and namespace declarations.
#[derive(Debug, Clone)]
pub struct Element {
    /// Prefix as written (`None` for an unprefixed name).
    pub prefix: Option<String>,
    /// Local name.
    pub local: String,
    /// Resolved namespace URI (`None` when unqualified), shared with every element and
    /// attribute in the same namespace declaration's scope.
    pub namespace: Option<Arc<str>>,
    /// Attributes other than namespace declarations, in document order.
    pub attributes: Vec<Attribute>,
    /// Namespace declarations made on this element: prefix (`None` for the default
    /// namespace) and URI (empty when the default namespace is undeclared).
    pub namespace_declarations: Vec<(Option<String>, String)>,
    /// Child nodes in document order.
    pub children: Vec<NodeId>,
    /// The parent element (`None` for the root).
    pub parent: Option<NodeId>,
    /// Byte offset just after the start tag in the input.
    pub(crate) start_tag_end: usize,
    /// Byte offset just after the end tag in the input.
    pub(crate) end: usize,
}

/// An attribute with its resolved namespace.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Prefix as written.
    pub prefix: Option<String>,
    /// Local name.
    pub local: String,
    /// Resolved namespace (`None` for unprefixed attributes).
    pub namespace: Option<Arc<str>>,
    /// Normalized value.
    pub value: String,
}

impl Element {
    /// Whether this element is `{namespace}local`.
    #[must_use]
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.local == local && self.namespace.as_deref() == Some(namespace)
    }

    /// The value of the unqualified attribute `local`.
    #[must_use]
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.namespace.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// `{namespace}local`, for error messages.
    #[must_use]
    pub fn expanded_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{{{ns}}}{}", self.local),
            None => self.local.clone(),
        }
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
        let mut parser = Parser::new(limits);
        parser
            .nodes
            .reserve((input.len() / 48).min(limits.max_nodes));
        let mut doc = parser.run(text)?;
        doc.source_len = input.len();
        Ok(doc)
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
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    /// The element `id`.
    ///
    /// # Panics
    /// When `id` is not an element; ids handed out by the element accessors always are.
    #[must_use]
    pub fn element(&self, id: NodeId) -> &Element {
        match &self.nodes[id.0] {
            Node::Element(e) => e,
            // Only element ids are passed here by the crate (they come from the element
            // iterators), so any other node is a programming error.
            _ => panic!("node is not an element"),
        }
    }

    /// Child elements of `id`, in document order.
    pub fn child_elements(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.element(id)
            .children
            .iter()
            .copied()
            .filter(|c| matches!(self.nodes[c.0], Node::Element(_)))
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
    pub fn elements(&self) -> impl Iterator<Item = (NodeId, &Element)> + '_ {
        self.nodes.iter().enumerate().filter_map(|(i, n)| match n {
            Node::Element(e) => Some((NodeId(i), e)),
            _ => None,
        })
    }

    /// Every element in document order (the root first).
    #[must_use]
    pub fn all_elements(&self) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![self.root];
        while let Some(id) = stack.pop() {
            out.push(id);
            for c in self.element(id).children.iter().rev() {
                if matches!(self.nodes[c.0], Node::Element(_)) {
                    stack.push(*c);
                }
            }
        }
        out
    }

    /// The text content of `id`: its text descendants concatenated, comments skipped.
    ///
    /// This is the text of the canonical form, so a comment cannot split a value.
    #[must_use]
    pub fn text(&self, id: NodeId) -> String {
        // The usual case: one text child (or none).
        if let Node::Element(e) = &self.nodes[id.0] {
            match e.children.as_slice() {
                [] => return String::new(),
                [only] => {
                    if let Node::Text(t) = &self.nodes[only.0] {
                        return t.clone();
                    }
                }
                _ => {}
            }
        }
        let mut out = String::new();
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            match &self.nodes[n.0] {
                Node::Text(t) => out.push_str(t),
                Node::Comment(_) => {}
                Node::Element(e) => stack.extend(e.children.iter().rev()),
            }
        }
        out
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
        let mut cur = Some(id);
        while let Some(n) = cur {
            let e = self.element(n);
            if let Some((_, uri)) = e
                .namespace_declarations
                .iter()
                .find(|(p, _)| p.as_deref() == prefix)
            {
                return (!uri.is_empty()).then_some(uri.as_str());
            }
            cur = e.parent;
        }
        None
    }

    /// Whether `ancestor` is `id` or one of its ancestors.
    #[must_use]
    pub fn is_ancestor_or_self(&self, ancestor: NodeId, id: NodeId) -> bool {
        let mut cur = Some(id);
        while let Some(n) = cur {
            if n == ancestor {
                return true;
            }
            cur = self.element(n).parent;
        }
        false
    }
}

/// The parser's working state.
struct Parser<'l> {
    limits: &'l XmlLimits,
    nodes: Vec<Node>,
    /// Open elements.
    stack: Vec<NodeId>,
    /// Namespace bindings in scope: (prefix, uri or `None` when undeclared), with the stack
    /// length at which each element's bindings start.
    scopes: Vec<(Option<String>, Option<Arc<str>>)>,
    /// The `xml` prefix's namespace, shared.
    xml_ns: Arc<str>,
    /// Scratch list of the attributes of the start tag being read.
    raw_attributes: Vec<(Option<String>, String, String)>,
    scope_marks: Vec<usize>,
    root: Option<NodeId>,
    seen_content: bool,
}

impl<'l> Parser<'l> {
    fn new(limits: &'l XmlLimits) -> Self {
        Self {
            limits,
            nodes: Vec::new(),
            stack: Vec::new(),
            scopes: Vec::new(),
            scope_marks: Vec::new(),
            xml_ns: Arc::from(XML_NS),
            raw_attributes: Vec::new(),
            root: None,
            seen_content: false,
        }
    }

    fn run(mut self, text: &str) -> Result<Document> {
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
                Event::Start(start) => self.start(text, &start, offset(&reader))?,
                Event::Empty(start) => {
                    self.start(text, &start, offset(&reader))?;
                    self.end(offset(&reader));
                }
                Event::End(_) => self.end(offset(&reader)),
                Event::Text(t) => {
                    let raw = input_str(text, &t)?;
                    let normalized = normalize_line_ends(&raw);
                    let value = unescape(&normalized).map_err(escape_error)?;
                    self.text(&value)?;
                }
                Event::CData(c) => {
                    let raw = std::str::from_utf8(&c)
                        .map_err(|e| SamlError::UnsupportedEncoding(e.to_string()))?;
                    self.text(&normalize_line_ends(raw))?;
                }
                Event::Comment(c) => {
                    self.seen_content = true;
                    let raw = std::str::from_utf8(&c)
                        .map_err(|e| SamlError::UnsupportedEncoding(e.to_string()))?;
                    check_chars(raw)?;
                    // Comments outside the root element are never part of a signed subtree.
                    if let Some(&parent) = self.stack.last() {
                        self.push_child(
                            parent,
                            Node::Comment(normalize_line_ends(raw).into_owned()),
                        )?;
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
        Ok(Document {
            nodes: self.nodes,
            root,
            source_len: 0,
        })
    }

    fn add_node(&mut self, node: Node) -> Result<NodeId> {
        if self.nodes.len() >= self.limits.max_nodes {
            return Err(SamlError::TooManyNodes {
                max: self.limits.max_nodes,
            });
        }
        self.nodes.push(node);
        Ok(NodeId(self.nodes.len() - 1))
    }

    fn push_child(&mut self, parent: NodeId, node: Node) -> Result<()> {
        let id = self.add_node(node)?;
        if let Node::Element(e) = &mut self.nodes[parent.0] {
            e.children.push(id);
        }
        Ok(())
    }

    fn text(&mut self, value: &str) -> Result<()> {
        self.seen_content = true;
        check_chars(value)?;
        let Some(&parent) = self.stack.last() else {
            if value.chars().all(is_xml_space) {
                return Ok(());
            }
            return Err(SamlError::MalformedXml(
                "text outside the root element".into(),
            ));
        };

        // Adjacent text and CDATA runs form one text node.
        let last = match &self.nodes[parent.0] {
            Node::Element(e) => e.children.last().copied(),
            _ => None,
        };
        if let Some(last) = last
            && let Node::Text(t) = &mut self.nodes[last.0]
        {
            t.push_str(value);
            return Ok(());
        }
        self.push_child(parent, Node::Text(value.to_owned()))
    }

    fn start(&mut self, text: &str, start: &BytesStart<'_>, start_tag_end: usize) -> Result<()> {
        self.seen_content = true;
        if self.stack.is_empty() && self.root.is_some() {
            return Err(SamlError::MalformedXml("more than one root element".into()));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(SamlError::XmlTooDeep {
                max: self.limits.max_depth,
            });
        }

        let name = input_str(text, start.name().as_ref())?;
        let (prefix, local) = split_qname(&name)?;
        // Reused across elements, so a start tag allocates only what its element keeps.
        let mut raw_attributes = std::mem::take(&mut self.raw_attributes);
        raw_attributes.clear();
        let mut declarations: Vec<(Option<String>, String)> = Vec::new();
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
            let value = unescape(&normalize_attribute(&raw_value))
                .map_err(escape_error)?
                .into_owned();
            check_chars(&value)?;
            let key = input_str(text, attr.key.as_ref())?;
            let (a_prefix, a_local) = split_qname(&key)?;
            match (a_prefix, a_local) {
                (None, "xmlns") => {
                    if declarations.iter().any(|(p, _)| p.is_none()) {
                        return Err(SamlError::DuplicateAttribute("xmlns".into()));
                    }
                    if value == XML_NS || value == XMLNS_NS {
                        return Err(SamlError::MalformedXml(
                            "reserved namespace bound to the default namespace".into(),
                        ));
                    }
                    declarations.push((None, value));
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
                    let duplicate = if p == "xml" {
                        std::mem::replace(&mut xml_prefix_declared, true)
                    } else {
                        declarations.iter().any(|(q, _)| q.as_deref() == Some(p))
                    };
                    if duplicate {
                        return Err(SamlError::DuplicateAttribute(format!("xmlns:{p}")));
                    }
                    // The xml prefix is implicitly bound; a redundant declaration adds nothing.
                    if p != "xml" {
                        declarations.push((Some(p.to_owned()), value));
                    }
                }
                _ => raw_attributes.push((a_prefix.map(str::to_owned), a_local.to_owned(), value)),
            }
        }

        self.scope_marks.push(self.scopes.len());
        for (p, uri) in &declarations {
            self.scopes.push((
                p.clone(),
                (!uri.is_empty()).then(|| Arc::from(uri.as_str())),
            ));
        }

        let namespace = self.resolve(prefix)?;
        let mut attributes: Vec<Attribute> = Vec::with_capacity(raw_attributes.len());
        for (a_prefix, a_local, value) in raw_attributes.drain(..) {
            let a_ns = match a_prefix.as_deref() {
                None => None,
                Some(p) => Some(
                    self.resolve(Some(p))?
                        .ok_or_else(|| SamlError::UnboundPrefix(p.to_owned()))?,
                ),
            };
            if attributes
                .iter()
                .any(|a| a.local == a_local && a.namespace == a_ns)
            {
                return Err(SamlError::DuplicateAttribute(a_local));
            }
            attributes.push(Attribute {
                prefix: a_prefix,
                local: a_local,
                namespace: a_ns,
                value,
            });
        }
        self.raw_attributes = raw_attributes;

        let element = Element {
            prefix: prefix.map(str::to_owned),
            local: local.to_owned(),
            namespace,
            attributes,
            namespace_declarations: declarations,
            children: Vec::new(),
            parent: self.stack.last().copied(),
            start_tag_end,
            end: start_tag_end,
        };
        let id = self.add_node(Node::Element(element))?;
        match self.stack.last().copied() {
            Some(parent) => {
                if let Node::Element(e) = &mut self.nodes[parent.0] {
                    e.children.push(id);
                }
            }
            None => self.root = Some(id),
        }
        self.stack.push(id);
        Ok(())
    }

    fn end(&mut self, end: usize) {
        if let Some(id) = self.stack.pop()
            && let Node::Element(e) = &mut self.nodes[id.0]
        {
            e.end = end;
        }
        if let Some(mark) = self.scope_marks.pop() {
            self.scopes.truncate(mark);
        }
    }

    /// The namespace of `prefix` in the current scope; an unbound prefix is an error, an
    /// unbound default namespace is `None`.
    fn resolve(&self, prefix: Option<&str>) -> Result<Option<Arc<str>>> {
        if prefix == Some("xml") {
            return Ok(Some(self.xml_ns.clone()));
        }
        match self
            .scopes
            .iter()
            .rev()
            .find(|(p, _)| p.as_deref() == prefix)
        {
            Some((_, uri)) => Ok(uri.clone()),
            None => match prefix {
                None => Ok(None),
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

/// Splits `prefix:local`, refusing empty parts and more than one colon.
fn split_qname(name: &str) -> Result<(Option<&str>, &str)> {
    let bad = || SamlError::MalformedXml(format!("invalid name {name:?}"));
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
        let y = root.attributes.iter().find(|a| a.local == "y").unwrap();
        assert_eq!(y.namespace.as_deref(), Some("urn:a"));
        assert_eq!(y.value, "\nz");
        let child = doc.first_child_named(doc.root(), "urn:d", "Child").unwrap();
        assert_eq!(doc.text(child), "t<<c>");
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
