//! A hand-written, byte-level parser for the RFC 7644 section 3.4.2.2 filter grammar.
//!
//! The parser works directly on the input bytes with one cursor: no token vector, no regular
//! expressions, and one allocation per attribute name, sub-attribute, URN and string value.
//! Operators, logical keywords and `true`/`false`/`null` are matched case-insensitively;
//! attribute names keep the case the client wrote.
//!
//! Bounds: the input is at most [`MAX_FILTER_LEN`] bytes and groups (parentheses, `not (...)`
//! and value paths) nest at most [`MAX_DEPTH`] deep, so parsing never recurses or allocates
//! without bound. `and`/`or` chains are parsed iteratively and build left-associative trees.
//!
//! Accepted beyond the strict grammar: any run of spaces, tabs, CR or LF where the RFC has
//! one `SP`; and the form Entra ID sends, `emails[type eq "work"].value eq "x"`, which is
//! read as `emails[type eq "work" and value eq "x"]`.

use std::fmt;

use serde_json::Number;

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::error::ScimError;

/// The longest filter or PATCH path accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 8 * 1024;

/// The deepest nesting of parentheses, `not (...)` and value paths accepted.
pub const MAX_DEPTH: usize = 64;

/// The most comparison terms (`attr op value` and `attr pr`, including those inside value
/// paths) one filter may hold. The evaluation cost of a filter is its terms times the values
/// they compare, and the values a resource holds are bounded on write, so this bounds the
/// cost of evaluating a filter against one resource.
pub const MAX_FILTER_TERMS: usize = 64;

/// Parses a filter expression.
///
/// Every failure is a 400 `invalidFilter` whose detail names the byte position and what was
/// expected there, or the term count when the filter has more than [`MAX_FILTER_TERMS`].
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    let mut p = Parser::new(input, Mode::Filter)?;
    let f = p.parse_or(false)?;
    p.skip_ws();
    match p.peek() {
        None => {}
        Some(b')') => return Err(p.err("unbalanced ')'")),
        Some(_) => return Err(p.err("expected 'and', 'or' or the end of the filter")),
    }
    let terms = count_terms(&f);
    if terms > MAX_FILTER_TERMS {
        return Err(ScimError::invalid_filter(format!(
            "the filter has {terms} comparison terms, more than the limit of {MAX_FILTER_TERMS}"
        )));
    }
    Ok(f)
}

/// The comparison terms of a filter, counted without recursion.
fn count_terms(f: &Filter) -> usize {
    let mut n = 0;
    let mut stack = vec![f];
    while let Some(f) = stack.pop() {
        match f {
            Filter::Present(_) | Filter::Compare { .. } => n += 1,
            Filter::Not(inner) => stack.push(inner),
            Filter::And(l, r) | Filter::Or(l, r) => {
                stack.push(l);
                stack.push(r);
            }
            Filter::ValuePath { filter, .. } => stack.push(filter),
        }
    }
    n
}

impl std::str::FromStr for Filter {
    type Err = ScimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_filter(s)
    }
}

/// Which error the parser reports: `invalidFilter` for filters, `invalidPath` for PATCH paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Filter,
    Path,
}

/// The parser state: the input and one cursor into it.
pub(crate) struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pub(crate) pos: usize,
    depth: usize,
    mode: Mode,
}

impl<'a> Parser<'a> {
    /// A parser over `s`, rejecting inputs longer than [`MAX_FILTER_LEN`].
    pub(crate) fn new(s: &'a str, mode: Mode) -> Result<Self, ScimError> {
        let p = Self {
            s,
            b: s.as_bytes(),
            pos: 0,
            depth: 0,
            mode,
        };
        if s.len() > MAX_FILTER_LEN {
            return Err(p.err_at(
                0,
                format_args!("input is {} bytes, longer than {MAX_FILTER_LEN}", s.len()),
            ));
        }
        Ok(p)
    }

    /// An error at the cursor.
    #[cold]
    #[inline(never)]
    pub(crate) fn err(&self, msg: impl fmt::Display) -> ScimError {
        self.err_at(self.pos, msg)
    }

    #[cold]
    #[inline(never)]
    fn err_at(&self, pos: usize, msg: impl fmt::Display) -> ScimError {
        let what = match self.mode {
            Mode::Filter => "filter",
            Mode::Path => "path",
        };
        let detail = format!("invalid {what} at position {pos}: {msg}");
        match self.mode {
            Mode::Filter => ScimError::invalid_filter(detail),
            Mode::Path => ScimError::invalid_path(detail),
        }
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    pub(crate) fn skip_ws(&mut self) {
        let mut i = self.pos;
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.b.get(i) {
            i += 1;
        }
        self.pos = i;
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format_args!("nesting deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), ScimError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format_args!("expected {what}, found {}", self.found())))
        }
    }

    /// A short description of the byte at the cursor, for error details.
    #[cold]
    pub(crate) fn found(&self) -> String {
        match self.s.get(self.pos..).and_then(|r| r.chars().next()) {
            None => "the end of input".to_owned(),
            Some(c) => format!("{c:?}"),
        }
    }

    /// Whether the bytes at the cursor are keyword `kw` (lower-case ASCII), case-insensitively,
    /// not followed by a name character.
    #[inline]
    fn at_keyword(&self, kw: &[u8]) -> bool {
        let end = self.pos + kw.len();
        match self.b.get(self.pos..end) {
            Some(w) if w.eq_ignore_ascii_case(kw) => {
                !self.b.get(end).is_some_and(|&c| is_name_char(c))
            }
            _ => false,
        }
    }

    /// `FILTER = term *("or" term)`.
    pub(crate) fn parse_or(&mut self, in_value_path: bool) -> Result<Filter, ScimError> {
        let mut left = self.parse_and(in_value_path)?;
        loop {
            self.skip_ws();
            if !self.at_keyword(b"or") {
                return Ok(left);
            }
            self.pos += 2;
            let right = self.parse_and(in_value_path)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
    }

    /// `term = factor *("and" factor)`.
    fn parse_and(&mut self, in_value_path: bool) -> Result<Filter, ScimError> {
        let mut left = self.parse_factor(in_value_path)?;
        loop {
            self.skip_ws();
            if !self.at_keyword(b"and") {
                return Ok(left);
            }
            self.pos += 3;
            let right = self.parse_factor(in_value_path)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
    }

    /// `factor = "(" FILTER ")" / "not" "(" FILTER ")" / attrExp / valuePath`.
    fn parse_factor(&mut self, in_value_path: bool) -> Result<Filter, ScimError> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.err("expected a filter expression, found the end of input")),
            Some(b'(') => {
                self.enter()?;
                self.pos += 1;
                let inner = self.parse_or(in_value_path)?;
                self.skip_ws();
                self.expect(b')', "')'")?;
                self.depth -= 1;
                Ok(inner)
            }
            Some(_) if self.at_keyword(b"not") => {
                let save = self.pos;
                self.pos += 3;
                self.skip_ws();
                if self.peek() == Some(b'(') {
                    self.enter()?;
                    self.pos += 1;
                    let inner = self.parse_or(in_value_path)?;
                    self.skip_ws();
                    self.expect(b')', "')' closing 'not ('")?;
                    self.depth -= 1;
                    return Ok(Filter::Not(Box::new(inner)));
                }

                // `not` may still be an attribute called "not", as in `not eq "x"`.
                let word_start = self.pos;
                while self.peek().is_some_and(is_name_char) {
                    self.pos += 1;
                }
                let is_op = op_keyword(&self.b[word_start..self.pos]).is_some();
                if !is_op || word_start == save + 3 {
                    self.pos = word_start;
                    return Err(self.err(format_args!(
                        "expected '(' after 'not', found {}",
                        self.found()
                    )));
                }
                self.pos = save;
                self.parse_attr_expr(in_value_path)
            }
            Some(_) => self.parse_attr_expr(in_value_path),
        }
    }

    /// `attrExp / valuePath`, including the Entra ID form `attr[filter].sub op value`.
    fn parse_attr_expr(&mut self, in_value_path: bool) -> Result<Filter, ScimError> {
        let path = self.parse_attr_path()?;
        if self.peek() != Some(b'[') {
            return self.parse_comparison(path);
        }

        if in_value_path {
            return Err(self.err("value paths cannot be nested"));
        }
        if path.sub.is_some() {
            return Err(self.err("a value path's attribute cannot have a sub-attribute"));
        }
        let inner = self.parse_bracket_filter()?;

        if self.peek() == Some(b'.') {
            self.pos += 1;
            let sub = self.parse_name()?;
            let sub_path = AttrPath {
                urn: None,
                name: sub.to_owned(),
                sub: None,
            };
            let cmp = self.parse_comparison(sub_path)?;
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(Filter::And(inner, Box::new(cmp))),
            });
        }
        Ok(Filter::ValuePath {
            path,
            filter: inner,
        })
    }

    /// `"[" valFilter "]"`, with the cursor on the `[`.
    pub(crate) fn parse_bracket_filter(&mut self) -> Result<Box<Filter>, ScimError> {
        self.enter()?;
        self.pos += 1;
        let inner = self.parse_or(true)?;
        self.skip_ws();
        self.expect(b']', "']' closing the value filter")?;
        self.depth -= 1;
        Ok(Box::new(inner))
    }

    /// `attrPath SP "pr" / attrPath SP compareOp SP compValue`, after the path.
    fn parse_comparison(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        if !matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            return Err(self.err(format_args!(
                "expected a space and an operator after \"{path}\", found {}",
                self.found()
            )));
        }
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        let op = match op_keyword(&self.b[start..self.pos]) {
            Some(Some(op)) => op,
            Some(None) => return Ok(Filter::Present(path)),
            None => {
                self.pos = start;
                return Err(self.err(format_args!(
                    "expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr), found {}",
                    self.found()
                )));
            }
        };
        self.skip_ws();
        let value = self.parse_value()?;
        match self.peek() {
            None | Some(b' ' | b'\t' | b'\r' | b'\n' | b')' | b']') => {}
            Some(_) => {
                return Err(self.err(format_args!(
                    "unexpected {} after the comparison value",
                    self.found()
                )));
            }
        }
        Ok(Filter::Compare { path, op, value })
    }

    /// `compValue = false / null / true / number / string`.
    fn parse_value(&mut self) -> Result<CompValue, ScimError> {
        match self.peek() {
            Some(b'"') => self.parse_string().map(CompValue::String),
            Some(b'-' | b'0'..=b'9') => self.parse_number().map(CompValue::Number),
            Some(_) if self.at_keyword(b"true") => {
                self.pos += 4;
                Ok(CompValue::Bool(true))
            }
            Some(_) if self.at_keyword(b"false") => {
                self.pos += 5;
                Ok(CompValue::Bool(false))
            }
            Some(_) if self.at_keyword(b"null") => {
                self.pos += 4;
                Ok(CompValue::Null)
            }
            _ => Err(self.err(format_args!(
                "expected a value (string, number, true, false or null), found {}",
                self.found()
            ))),
        }
    }

    /// A JSON string, with the cursor on the opening quote.
    fn parse_string(&mut self) -> Result<String, ScimError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;

        // The common case has no escapes: one scan and one copy.
        let stop = self.b[start..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let Some(len) = stop else {
            return Err(self.err_at(open, "unterminated string"));
        };
        self.pos = start + len;
        match self.b[self.pos] {
            b'"' => {
                let s = self.s[start..self.pos].to_owned();
                self.pos += 1;
                return Ok(s);
            }
            b'\\' => {}
            _ => return Err(self.err("raw control character in string")),
        }

        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(&self.s[start..self.pos]);
        loop {
            match self.peek() {
                None => return Err(self.err_at(open, "unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            out.push(self.parse_unicode_escape()?);
                            continue;
                        }
                        None => return Err(self.err_at(open, "unterminated string")),
                        Some(_) => {
                            return Err(self.err(format_args!(
                                "invalid escape sequence '\\{}'",
                                self.found().trim_matches('\'')
                            )));
                        }
                    };
                    out.push(c);
                    self.pos += 1;
                }
                Some(c) if c < 0x20 => {
                    return Err(self.err("raw control character in string"));
                }
                Some(_) => {
                    let run = self.pos;
                    while self
                        .peek()
                        .is_some_and(|c| c != b'"' && c != b'\\' && c >= 0x20)
                    {
                        self.pos += 1;
                    }
                    // Safe slicing: the run stops only at ASCII bytes, which are char
                    // boundaries.
                    out.push_str(&self.s[run..self.pos]);
                }
            }
        }
    }

    /// The `XXXX` of `\uXXXX` (cursor after the `u`), joining a UTF-16 surrogate pair.
    fn parse_unicode_escape(&mut self) -> Result<char, ScimError> {
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if self.b.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(self.err("expected '\\u' and a low surrogate"));
                }
                self.pos += 2;
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(self.err_at(self.pos - 4, "expected a low surrogate"));
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err(self.err_at(self.pos - 4, "unpaired low surrogate"));
            }
            _ => hi,
        };
        char::from_u32(code).ok_or_else(|| self.err("invalid unicode escape"))
    }

    fn hex4(&mut self) -> Result<u32, ScimError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("expected four hex digits after '\\u'")),
            };
            v = (v << 4) | u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    /// A JSON number: `-? (0 / [1-9] DIGIT*) ("." DIGIT+)? ([eE] [+-]? DIGIT+)?`.
    fn parse_number(&mut self) -> Result<Number, ScimError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.err("expected a digit in number")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.err("expected a digit after the decimal point"));
            }
            self.skip_digits();
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.err("expected a digit in the exponent"));
            }
            self.skip_digits();
            integer = false;
        }
        let text = &self.s[start..self.pos];
        if integer {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Number::from(i));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Number::from(u));
            }
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .ok_or_else(|| self.err_at(start, format_args!("number {text} is out of range")))
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// `attrPath = [URI ":"] ATTRNAME *1subAttr`; the URN is everything up to the last `:`.
    pub(crate) fn parse_attr_path(&mut self) -> Result<AttrPath, ScimError> {
        let (urn, name, sub) = self.parse_attr_path_parts()?;
        if name.is_empty() {
            return Err(self.err("expected an attribute name after the schema URN"));
        }
        Ok(AttrPath {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// The borrowed parts of an attribute path: URN, name and sub-attribute. The name may be
    /// empty only when a URN is present and the caller allows it (see `parse_patch_path`).
    pub(crate) fn parse_attr_path_parts(
        &mut self,
    ) -> Result<(Option<&'a str>, &'a str, Option<&'a str>), ScimError> {
        let start = self.pos;
        let mut last_colon = None;
        let mut first_dot = None;
        let mut i = start;
        while let Some(&c) = self.b.get(i) {
            match c {
                b':' => {
                    last_colon = Some(i);
                    first_dot = None;
                }
                b'.' => {
                    if first_dot.is_none() {
                        first_dot = Some(i);
                    }
                }
                c if is_name_char(c) || c == b'$' => {}
                _ => break,
            }
            i += 1;
        }
        self.pos = i;
        let end = i;
        if start == end {
            return Err(self.err(format_args!(
                "expected an attribute path, found {}",
                self.found()
            )));
        }

        let (urn, name_start) = match last_colon {
            Some(i) => {
                let urn = &self.s[start..i];
                if !urn.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
                    return Err(self.err_at(start, "a schema URN must start with a letter"));
                }
                (Some(urn), i + 1)
            }
            None => (None, start),
        };
        let (name_end, sub) = match first_dot {
            Some(d) => (d, Some(self.check_name(d + 1, end)?)),
            None => (end, None),
        };
        if urn.is_some() && name_start == name_end && sub.is_none() {
            // A bare URN with a trailing colon: let the caller decide.
            return Ok((urn, "", None));
        }
        let name = self.check_name(name_start, name_end)?;
        Ok((urn, name, sub))
    }

    /// An `ATTRNAME` at the cursor.
    pub(crate) fn parse_name(&mut self) -> Result<&'a str, ScimError> {
        let start = self.pos;
        if self.peek() == Some(b'$') {
            self.pos += 1;
        }
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        self.check_name(start, self.pos)
    }

    /// Checks `ATTRNAME = (ALPHA / "$") *(ALPHA / DIGIT / "-" / "_")` over `start..end`.
    fn check_name(&self, start: usize, end: usize) -> Result<&'a str, ScimError> {
        let bytes = &self.b[start..end];
        let ok = match bytes.split_first() {
            Some((first, rest)) => {
                (first.is_ascii_alphabetic() || *first == b'$')
                    && rest.iter().all(|&c| is_name_char(c))
            }
            None => false,
        };
        if ok {
            Ok(&self.s[start..end])
        } else {
            Err(self.err_at(
                start,
                format_args!("invalid attribute name {:?}", &self.s[start..end]),
            ))
        }
    }
}

/// `nameChar = "-" / "_" / DIGIT / ALPHA`.
#[inline]
fn is_name_char(c: u8) -> bool {
    NAME_CHARS[usize::from(c)]
}

/// `nameChar` as a lookup table, so the scanning loops do one load per byte.
static NAME_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        c += 1;
    }
    t
};

/// The operator named by `w`: `Some(Some(op))` for a comparison, `Some(None)` for `pr`.
#[inline]
fn op_keyword(w: &[u8]) -> Option<Option<CompareOp>> {
    let [a, b] = w else {
        return None;
    };
    Some(Some(match [a | 0x20, b | 0x20] {
        [b'e', b'q'] => CompareOp::Eq,
        [b'n', b'e'] => CompareOp::Ne,
        [b'c', b'o'] => CompareOp::Co,
        [b's', b'w'] => CompareOp::Sw,
        [b'e', b'w'] => CompareOp::Ew,
        [b'g', b't'] => CompareOp::Gt,
        [b'l', b't'] => CompareOp::Lt,
        [b'g', b'e'] => CompareOp::Ge,
        [b'l', b'e'] => CompareOp::Le,
        [b'p', b'r'] => return Some(None),
        _ => return None,
    }))
}

/// Writes `s` as a JSON string literal.
pub(crate) fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    let mut run = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if (c as u32) < 0x20 => {
                f.write_str(&s[run..i])?;
                write!(f, "\\u{:04x}", c as u32)?;
                run = i + 1;
                continue;
            }
            _ => continue,
        };
        f.write_str(&s[run..i])?;
        f.write_str(esc)?;
        run = i + c.len_utf8();
    }
    f.write_str(&s[run..])?;
    f.write_str("\"")
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => write_json_string(f, s),
        }
    }
}

/// The canonical form: lower-case keywords, JSON-escaped strings, and only the parentheses
/// needed to keep the tree (`and` binds tighter than `or`; both chain to the left).
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Present(p) => write!(f, "{p} pr"),
            Self::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::And(l, r) => {
                write_operand(f, l, matches!(**l, Self::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, r, matches!(**r, Self::Or(..) | Self::And(..)))
            }
            Self::Or(l, r) => {
                write_operand(f, l, false)?;
                f.write_str(" or ")?;
                write_operand(f, r, matches!(**r, Self::Or(..)))
            }
            Self::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, x: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({x})")
    } else {
        write!(f, "{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn p(s: &str) -> Filter {
        match parse_filter(s) {
            Ok(f) => f,
            Err(e) => panic!("{s:?} failed: {e}"),
        }
    }

    fn path(name: &str) -> AttrPath {
        AttrPath::simple(name)
    }

    fn cmp(name: &str, op: CompareOp, v: &str) -> Filter {
        Filter::Compare {
            path: path(name),
            op,
            value: CompValue::String(v.to_owned()),
        }
    }

    fn pr(name: &str) -> Filter {
        Filter::Present(path(name))
    }

    fn bad(s: &str) -> String {
        match parse_filter(s) {
            Ok(f) => panic!("{s:?} parsed as {f:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidFilter, "{s:?}");
                e.detail().to_owned()
            }
        }
    }

    fn roundtrip(s: &str) -> String {
        let f = p(s);
        let shown = f.to_string();
        assert_eq!(p(&shown), f, "{s:?} displayed as {shown:?}");
        shown
    }

    #[test]
    fn simple_comparison() {
        assert_eq!(
            p("userName eq \"bjensen\""),
            cmp("userName", CompareOp::Eq, "bjensen")
        );
        assert_eq!(
            p("userName Eq \"john\""),
            cmp("userName", CompareOp::Eq, "john")
        );
        assert_eq!(p("title pr"), pr("title"));
        assert_eq!(p("  title   PR  "), pr("title"));
    }

    #[test]
    fn every_operator() {
        for (kw, op) in [
            ("eq", CompareOp::Eq),
            ("NE", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("Sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("lt", CompareOp::Lt),
            ("ge", CompareOp::Ge),
            ("le", CompareOp::Le),
        ] {
            assert_eq!(p(&format!("a {kw} \"v\"")), cmp("a", op, "v"));
        }
    }

    #[test]
    fn rfc_examples_parse() {
        let examples = [
            r#"userName Eq "john""#,
            r#"Username eq "john""#,
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            r#"title pr"#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O'Malley""#,
        ];
        for e in examples {
            roundtrip(e);
        }
        assert_eq!(
            p(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O'Malley""#),
            Filter::Compare {
                path: AttrPath {
                    urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                    name: "name".into(),
                    sub: Some("familyName".into()),
                },
                op: CompareOp::Co,
                value: CompValue::String("O'Malley".into()),
            }
        );
    }

    #[test]
    fn urn_paths() {
        let f =
            p("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"7\"");
        let Filter::Compare { path, .. } = f else {
            panic!("not a comparison")
        };
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(path.name, "employeeNumber");
        assert_eq!(path.sub, None);

        let f = p("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.$ref pr");
        assert_eq!(
            f,
            Filter::Present(AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                name: "manager".into(),
                sub: Some("$ref".into()),
            })
        );
        assert_eq!(p("groups.$ref pr").to_string(), "groups.$ref pr");
    }

    #[test]
    fn precedence_and_associativity() {
        let a = || pr("a");
        let b = || pr("b");
        let c = || pr("c");
        let and = |x, y| Filter::And(Box::new(x), Box::new(y));
        let or = |x, y| Filter::Or(Box::new(x), Box::new(y));

        assert_eq!(p("a pr or b pr and c pr"), or(a(), and(b(), c())));
        assert_eq!(p("a pr and b pr or c pr"), or(and(a(), b()), c()));
        assert_eq!(p("(a pr or b pr) and c pr"), and(or(a(), b()), c()));
        assert_eq!(p("a pr and b pr and c pr"), and(and(a(), b()), c()));
        assert_eq!(p("a pr OR b pr Or c pr"), or(or(a(), b()), c()));
        assert_eq!(
            p("not (a pr) and b pr"),
            and(Filter::Not(Box::new(a())), b())
        );

        assert_eq!(roundtrip("a pr or b pr and c pr"), "a pr or b pr and c pr");
        assert_eq!(
            roundtrip("(a pr or b pr) and c pr"),
            "(a pr or b pr) and c pr"
        );
        assert_eq!(
            roundtrip("a pr and (b pr and c pr)"),
            "a pr and (b pr and c pr)"
        );
        assert_eq!(
            roundtrip("a pr or (b pr or c pr)"),
            "a pr or (b pr or c pr)"
        );
        assert_eq!(
            roundtrip("((a pr)) or ((b pr) and c pr)"),
            "a pr or b pr and c pr"
        );
        assert_eq!(roundtrip("NOT(a pr)"), "not (a pr)");
    }

    #[test]
    fn value_paths_and_entra_form() {
        let f = p(r#"emails[type eq "work" and value co "@x.com"]"#);
        assert_eq!(
            f,
            Filter::ValuePath {
                path: path("emails"),
                filter: Box::new(Filter::And(
                    Box::new(cmp("type", CompareOp::Eq, "work")),
                    Box::new(cmp("value", CompareOp::Co, "@x.com")),
                )),
            }
        );
        assert_eq!(
            f.to_string(),
            r#"emails[type eq "work" and value co "@x.com"]"#
        );

        let entra = p(r#"emails[type eq "work"].value eq "x""#);
        assert_eq!(
            entra,
            Filter::ValuePath {
                path: path("emails"),
                filter: Box::new(Filter::And(
                    Box::new(cmp("type", CompareOp::Eq, "work")),
                    Box::new(cmp("value", CompareOp::Eq, "x")),
                )),
            }
        );
        assert_eq!(entra, p(r#"emails[type eq "work" and value eq "x"]"#));
        assert_eq!(
            roundtrip(r#"emails[not (type eq "work") or primary eq true]"#),
            r#"emails[not (type eq "work") or primary eq true]"#
        );

        assert!(bad(r#"emails[type eq "work" and x[y pr]]"#).contains("nested"));
        assert!(bad(r#"emails[type eq "work""#).contains("']'"));
        assert!(bad(r#"name.familyName[x pr]"#).contains("sub-attribute"));
    }

    #[test]
    fn string_escapes() {
        let f = p(r#"displayName eq "a \"quoted\" name""#);
        assert_eq!(f, cmp("displayName", CompareOp::Eq, "a \"quoted\" name"));
        assert_eq!(f.to_string(), r#"displayName eq "a \"quoted\" name""#);

        let f = p(r#"x eq "\\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 \u0001""#);
        assert_eq!(
            f,
            cmp("x", CompareOp::Eq, "\\ / \u{8} \u{c} \n \r \t é 😀 \u{1}")
        );
        assert_eq!(f.to_string(), r#"x eq "\\ / \b \f \n \r \t é 😀 \u0001""#);
        roundtrip(r#"x eq "\\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 \u0001""#);
        assert_eq!(p("x eq \"héllo ☃\""), cmp("x", CompareOp::Eq, "héllo ☃"));

        assert!(bad(r#"x eq "\q""#).contains("escape"));
        assert!(bad(r#"x eq "\u12G4""#).contains("hex"));
        assert!(bad(r#"x eq "\uD83D""#).contains("surrogate"));
        assert!(bad(r#"x eq "\uDE00""#).contains("surrogate"));
        assert!(bad(r#"x eq "\uD83D\u0041""#).contains("surrogate"));
        assert!(bad("x eq \"a\u{1}b\"").contains("control"));
        assert!(bad("x eq \"tab\there\"").contains("control"));
        assert!(bad(r#"x eq "abc"#).contains("unterminated"));
        assert!(bad(r#"x eq "abc\"#).contains("unterminated"));
    }

    #[test]
    fn numbers_and_literals() {
        let num = |s: &str| match p(&format!("x gt {s}")) {
            Filter::Compare {
                value: CompValue::Number(n),
                ..
            } => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(num("0"), Number::from(0));
        assert_eq!(num("-1"), Number::from(-1));
        assert_eq!(num("42"), Number::from(42));
        assert_eq!(num("18446744073709551615"), Number::from(u64::MAX));
        assert_eq!(num("-1.5e3").as_f64(), Some(-1500.0));
        assert_eq!(num("2.5E-1").as_f64(), Some(0.25));
        assert_eq!(num("1e+2").as_f64(), Some(100.0));
        assert_eq!(num("0.5").as_f64(), Some(0.5));
        assert_eq!(roundtrip("x gt -1.5e3"), "x gt -1500.0");

        assert_eq!(p("active eq TRUE").to_string(), "active eq true");
        assert_eq!(p("active eq false").to_string(), "active eq false");
        assert_eq!(p("x eq null").to_string(), "x eq null");

        for n in [
            "1.", "01", "-", "+1", ".5", "1e", "1e+", "--1", "1.e3", "1x", "1e999",
        ] {
            bad(&format!("x gt {n}"));
        }
        bad("x eq nul");
        bad("x eq truex");
    }

    #[test]
    fn invalid_inputs() {
        let cases = [
            ("", "end of input"),
            ("(userName pr", "')'"),
            ("userName pr)", "unbalanced"),
            ("((a pr)", "')'"),
            ("userName eq", "value"),
            ("userName eq ", "value"),
            ("userName xx \"a\"", "operator"),
            ("userName", "operator"),
            ("userName eq \"a\" garbage", "'and', 'or'"),
            ("userName eq \"a\"x", "after the comparison value"),
            ("not userName pr", "'(' after 'not'"),
            ("not", "'(' after 'not'"),
            ("a pr and", "end of input"),
            ("a pr or or b pr", "operator"),
            ("userName eq \"unterminated", "unterminated"),
            ("x eq \"\\x\"", "escape"),
            ("x gt 1.", "decimal point"),
            ("1abc eq \"x\"", "attribute name"),
            ("a.b.c eq \"x\"", "attribute name"),
            ("urn:x: eq \"x\"", "attribute name"),
            ("emails[]", "attribute path"),
            ("userName eq 'single'", "value"),
        ];
        for (input, needle) in cases {
            let d = bad(input);
            assert!(d.contains(needle), "{input:?}: {d}");
            assert!(d.contains("position"), "{input:?}: {d}");
        }
        assert_eq!(
            bad("userName xx \"a\""),
            "invalid filter at position 9: expected an operator (eq, ne, co, sw, ew, gt, lt, \
             ge, le, pr), found 'x'"
        );
    }

    #[test]
    fn attribute_called_not() {
        assert_eq!(p("not eq \"x\""), cmp("not", CompareOp::Eq, "x"));
        assert_eq!(p("not pr"), pr("not"));
    }

    #[test]
    fn empty_schema_urn_is_an_invalid_filter() {
        // Found by fuzzing: a path that starts with a colon has an empty URN.
        assert!(bad(r#":userName eq "x""#).contains("must start with a letter"));
        assert!(bad(":a pr").contains("must start with a letter"));
        assert!(crate::path::parse_patch_path(":name.givenName").is_err());
    }

    #[test]
    fn bounds() {
        let bomb = "(".repeat(10_000);
        let start = std::time::Instant::now();
        assert!(bad(&bomb).contains("longer than"));
        let bomb = "(".repeat(5_000);
        assert!(bad(&bomb).contains("nesting deeper than 64"));
        assert!(start.elapsed() < std::time::Duration::from_millis(100));

        let deep = format!("{}a pr{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(p(&deep), pr("a"));
        let too_deep = format!("{}a pr{}", "(".repeat(65), ")".repeat(65));
        bad(&too_deep);
        let nots = format!("{}a pr{}", "not (".repeat(65), ")".repeat(65));
        bad(&nots);

        let long = format!("x eq \"{}\"", "a".repeat(MAX_FILTER_LEN));
        assert!(bad(&long).contains("longer than"));
    }

    #[test]
    fn from_str_works() {
        let f: Filter = "userName eq \"x\""
            .parse()
            .unwrap_or(Filter::Present(path("no")));
        assert_eq!(f, cmp("userName", CompareOp::Eq, "x"));
    }
}
