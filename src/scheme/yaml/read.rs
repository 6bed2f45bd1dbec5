//! One YAML document, read into JSON: the scanner and parser in one recursive descent over
//! characters, for the part of YAML that Kubernetes files use.

use std::fmt;

use serde_json::{Map, Number, Value};

use super::{resolve, Resolved};
// Collections nest no deeper than a JSON body may (`strict_json::check_depth`): everything
// after decoding recurses once per level, on a stack sized for that bound.
use crate::scheme::strict_json::MAX_DEPTH;

/// Why a body is not YAML we read, and where: 1-based line and column, as go-yaml counts.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "yaml: line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

// ANCHOR: from_slice
/// Reads one document into JSON, with the path of every key a mapping repeats (the last is
/// kept, as go-yaml v2 does; strict decoding reports them).
pub fn from_slice(bytes: &[u8]) -> Result<(Value, Vec<String>), YamlError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        YamlError {
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            column: 1,
            message: "invalid UTF-8 in the input".into(),
        }
    })?;
    let mut p = Parser {
        chars: text.trim_start_matches('\u{feff}').chars().collect(),
        pos: 0,
        duplicates: Vec::new(),
        depth: 0,
    };
    let value = p.document()?;
    Ok((value, p.duplicates))
}
// ANCHOR_END: from_slice

struct Parser {
    chars: Vec<char>,
    pos: usize,
    duplicates: Vec<String>,
    depth: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Context {
    Block,
    Flow,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn line_col(&self, pos: usize) -> (usize, usize) {
        let mut line = 1;
        let mut col = 1;
        for &c in &self.chars[..pos.min(self.chars.len())] {
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        (line, col)
    }

    fn error_at<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, YamlError> {
        let (line, column) = self.line_col(pos);
        Err(YamlError {
            line,
            column,
            message: message.into(),
        })
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, YamlError> {
        self.error_at(self.pos, message)
    }

    /// The 0-based column of `pos`.
    fn column(&self, pos: usize) -> usize {
        let mut start = pos;
        while start > 0 && self.chars[start - 1] != '\n' {
            start -= 1;
        }
        pos - start
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || self.chars[self.pos - 1] == '\n'
    }

    fn is_blank_or_end(&self, n: usize) -> bool {
        matches!(self.peek_at(n), None | Some(' ' | '\t' | '\n' | '\r'))
    }

    /// `---` or `...` at the start of a line.
    fn at_document_marker(&self) -> Option<char> {
        if !self.at_line_start() {
            return None;
        }
        let c = self.peek()?;
        if (c == '-' || c == '.')
            && self.peek_at(1) == Some(c)
            && self.peek_at(2) == Some(c)
            && self.is_blank_or_end(3)
        {
            Some(c)
        } else {
            None
        }
    }

    /// Skips spaces and tabs within the line, and a comment after them.
    fn skip_inline(&mut self) {
        let start = self.pos;
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        let after_blank = self.pos > start
            || self.at_line_start()
            || matches!(self.chars[self.pos - 1], ' ' | '\t');
        if self.peek() == Some('#') && after_blank {
            while !matches!(self.peek(), None | Some('\n')) {
                self.pos += 1;
            }
        }
    }

    /// Skips blank lines and comments up to the next content, refusing a tab in the
    /// indentation of the line it lands on.
    fn skip_to_content(&mut self) -> Result<(), YamlError> {
        loop {
            self.skip_inline();
            match self.peek() {
                Some('\r') if self.peek_at(1) == Some('\n') => self.pos += 1,
                Some('\n') => {
                    self.pos += 1;
                    let line_start = self.pos;
                    while matches!(self.peek(), Some(' ' | '\t')) {
                        self.pos += 1;
                    }
                    let content = !matches!(self.peek(), None | Some('\n' | '\r' | '#'));
                    if let Some(tab) = (line_start..self.pos).find(|&i| self.chars[i] == '\t') {
                        if content {
                            return self
                                .error_at(tab, "found a tab character where indentation is expected (YAML indents with spaces only)");
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn document(&mut self) -> Result<Value, YamlError> {
        self.skip_to_content()?;
        if self.peek() == Some('%') && self.at_line_start() {
            return self.error("directives (%YAML, %TAG) are not supported");
        }
        if self.at_document_marker() == Some('-') {
            self.pos += 3;
            self.skip_to_content()?;
        }
        let value = if self.peek().is_none() || self.at_document_marker().is_some() {
            Value::Null
        } else {
            self.block_node(-1, Context::Block)?
        };
        self.skip_to_content()?;
        if self.at_document_marker() == Some('.') {
            self.pos += 3;
            self.skip_to_content()?;
        }
        match self.peek() {
            None => Ok(value),
            Some(_) if self.at_document_marker() == Some('-') => self
                .error("the body holds more than one YAML document; send one object per request"),
            Some(_) => {
                self.error("did not find the expected end of the document (check the indentation)")
            }
        }
    }

    fn enter(&mut self) -> Result<(), YamlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(format!("collections nest deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// Refuses what this reader does not do, at the character that starts it.
    fn refuse_unsupported(&self) -> Result<(), YamlError> {
        let what = match self.peek() {
            Some('&') => "anchors (&name) are not supported",
            Some('*') => "aliases (*name) are not supported",
            Some('!') => "tags (!tag, !!str) are not supported",
            Some('?') if self.is_blank_or_end(1) => "explicit keys (? key) are not supported",
            Some('@' | '`') => "found a character that cannot start any token",
            Some('%') if self.at_line_start() => "directives (%YAML, %TAG) are not supported",
            _ => return Ok(()),
        };
        self.error(what)
    }

    /// A node in block context starting at the current character; `parent` is the
    /// indentation of the collection holding it (-1 at the top).
    fn block_node(&mut self, parent: i64, ctx: Context) -> Result<Value, YamlError> {
        self.refuse_unsupported()?;
        let col = self.column(self.pos) as i64;
        match self.peek() {
            Some('-') if self.is_blank_or_end(1) => return self.block_sequence(col),
            Some('|' | '>') => return self.block_scalar(parent),
            _ => {}
        }
        let start = self.pos;
        if self.try_key()?.is_some() {
            self.pos = start;
            return self.block_mapping(col);
        }
        self.pos = start;
        self.inline_value(parent, ctx)
    }

    /// A flow collection, a quoted scalar or a plain scalar that is not a key.
    fn inline_value(&mut self, parent: i64, ctx: Context) -> Result<Value, YamlError> {
        self.refuse_unsupported()?;
        match self.peek() {
            Some('[') => self.flow_sequence(),
            Some('{') => self.flow_mapping(),
            Some('\'') => self.single_quoted().map(Value::String),
            Some('"') => self.double_quoted().map(Value::String),
            Some('|' | '>') if ctx == Context::Block => self.block_scalar(parent),
            Some(c @ (',' | ']' | '}' | '|' | '>')) => self.error(format!(
                "found character {c:?} that cannot start a plain scalar"
            )),
            _ => {
                let start = self.pos;
                let text = self.plain(parent, ctx)?;
                self.plain_value(start, &text)
            }
        }
    }

    fn plain_value(&self, start: usize, text: &str) -> Result<Value, YamlError> {
        Ok(match resolve(text) {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(i) => Value::from(i),
            Resolved::Uint(u) => Value::from(u),
            Resolved::Float(f) => json_float(f).ok_or(()).or_else(|_| {
                self.error_at(start, format!("json: unsupported value: {}", go_special(f)))
            })?,
            Resolved::Merge => return self.error_at(start, "merge keys (<<) are not supported"),
            Resolved::Str { .. } => Value::String(text.to_string()),
        })
    }

    /// A mapping key at the current position followed by `:` and a blank: the key's text
    /// (already made a string as `sigs.k8s.io/yaml` does) and leaves `pos` after the colon.
    fn try_key(&mut self) -> Result<Option<String>, YamlError> {
        let start = self.pos;
        let key = match self.peek() {
            Some('\'') => match self.single_quoted() {
                Ok(s) => s,
                Err(_) => return Ok(None),
            },
            Some('"') => match self.double_quoted() {
                Ok(s) => s,
                Err(_) => return Ok(None),
            },
            Some('[' | '{' | '&' | '*' | '!' | '|' | '>' | '#' | ',' | ']' | '}') | None => {
                return Ok(None)
            }
            Some('-' | '?' | ':') if self.is_blank_or_end(1) => return Ok(None),
            _ => {
                while let Some(c) = self.peek() {
                    if c == '\n' || c == '\r' {
                        return Ok(None);
                    }
                    if c == ':' && self.is_blank_or_end(1) {
                        break;
                    }
                    if c == '#' && matches!(self.chars[self.pos - 1], ' ' | '\t') {
                        return Ok(None);
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                let text = text.trim_end().to_string();
                match self.peek() {
                    Some(':') => {}
                    _ => return Ok(None),
                }
                self.pos += 1;
                return self.plain_key(start, &text).map(Some);
            }
        };
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        if self.peek() == Some(':') && self.is_blank_or_end(1) {
            self.pos += 1;
            Ok(Some(key))
        } else {
            Ok(None)
        }
    }

    /// `convertToJSONableObject`'s keys: ints, floats and booleans become their text.
    fn plain_key(&self, start: usize, text: &str) -> Result<String, YamlError> {
        Ok(match resolve(text) {
            Resolved::Str { .. } => text.to_string(),
            Resolved::Bool(b) => b.to_string(),
            Resolved::Int(i) => i.to_string(),
            Resolved::Float(f) => super::format_go_float(f32_round(f)),
            Resolved::Null | Resolved::Uint(_) => {
                return self.error_at(
                    start,
                    format!(
                    "unsupported map key {text:?}: a key must be a string, a number or a boolean"
                ),
                )
            }
            Resolved::Merge => return self.error_at(start, "merge keys (<<) are not supported"),
        })
    }

    fn insert(&mut self, map: &mut Map<String, Value>, key: String, value: Value) {
        if map.contains_key(&key) {
            self.duplicates.push(key.clone());
        }
        map.insert(key, value);
    }

    fn block_mapping(&mut self, col: i64) -> Result<Value, YamlError> {
        self.enter()?;
        let mut map = Map::new();
        loop {
            self.refuse_unsupported()?;
            let key_pos = self.pos;
            let Some(key) = self.try_key()? else {
                return self.error_at(
                    key_pos,
                    "could not find expected ':' (a mapping key, then ': ')",
                );
            };
            while matches!(self.peek(), Some(' ' | '\t')) {
                self.pos += 1;
            }
            let value = if matches!(self.peek(), None | Some('\n' | '\r' | '#')) {
                self.skip_to_content()?;
                let next = self.column(self.pos) as i64;
                if self.peek().is_none() || self.at_document_marker().is_some() {
                    Value::Null
                } else if next > col {
                    self.block_node(col, Context::Block)?
                } else if next == col && self.peek() == Some('-') && self.is_blank_or_end(1) {
                    self.block_sequence(col)?
                } else {
                    Value::Null
                }
            } else {
                if self.peek() == Some('-') && self.is_blank_or_end(1) {
                    return self.error("block sequence entries are not allowed in this context");
                }
                let start = self.pos;
                if self.try_key()?.is_some() {
                    return self.error_at(start, "mapping values are not allowed in this context");
                }
                self.pos = start;
                self.inline_value(col, Context::Block)?
            };
            self.insert(&mut map, key, value);
            self.skip_to_content()?;
            if self.peek().is_none() || self.at_document_marker().is_some() {
                break;
            }
            let next = self.column(self.pos) as i64;
            if next < col {
                break;
            }
            if next > col {
                return self.error("bad indentation of a mapping entry");
            }
            if self.peek() == Some('-') && self.is_blank_or_end(1) {
                return self
                    .error("did not find expected key (a sequence entry where a key belongs)");
            }
        }
        self.depth -= 1;
        Ok(Value::Object(map))
    }

    fn block_sequence(&mut self, col: i64) -> Result<Value, YamlError> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            self.pos += 1;
            while matches!(self.peek(), Some(' ' | '\t')) {
                self.pos += 1;
            }
            let item = if matches!(self.peek(), None | Some('\n' | '\r' | '#')) {
                self.skip_to_content()?;
                let next = self.column(self.pos) as i64;
                if self.peek().is_none() || self.at_document_marker().is_some() || next <= col {
                    Value::Null
                } else {
                    self.block_node(col, Context::Block)?
                }
            } else {
                self.block_node(col, Context::Block)?
            };
            items.push(item);
            self.skip_to_content()?;
            if self.peek().is_none() || self.at_document_marker().is_some() {
                break;
            }
            let next = self.column(self.pos) as i64;
            if next < col {
                break;
            }
            if next > col {
                return self.error("bad indentation of a sequence entry");
            }
            if !(self.peek() == Some('-') && self.is_blank_or_end(1)) {
                break;
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    /// A plain scalar, folded over the lines that continue it (indented more than `parent`).
    fn plain(&mut self, parent: i64, ctx: Context) -> Result<String, YamlError> {
        let mut out = String::new();
        let mut line = String::new();
        loop {
            while let Some(c) = self.peek() {
                let stop = match c {
                    '\n' | '\r' => true,
                    ':' => {
                        self.is_blank_or_end(1)
                            || (ctx == Context::Flow
                                && matches!(self.peek_at(1), Some(',' | '[' | ']' | '{' | '}')))
                    }
                    '#' => line.ends_with([' ', '\t']) || line.is_empty(),
                    ',' | '[' | ']' | '{' | '}' => ctx == Context::Flow,
                    _ => false,
                };
                if stop {
                    break;
                }
                line.push(c);
                self.pos += 1;
            }
            out.push_str(line.trim_end_matches([' ', '\t']));
            line.clear();
            if self.peek() == Some(':') && ctx == Context::Block {
                return self.error("mapping values are not allowed in this context");
            }
            if self.peek() == Some('#') || !matches!(self.peek(), Some('\n' | '\r')) {
                break;
            }
            // A continuation line: more indented than the parent, not a comment or a marker.
            let save = self.pos;
            let mut breaks = 0;
            let mut continued = false;
            loop {
                if self.peek() == Some('\r') {
                    self.pos += 1;
                }
                if self.peek() != Some('\n') {
                    break;
                }
                self.pos += 1;
                breaks += 1;
                let line_start = self.pos;
                while matches!(self.peek(), Some(' ' | '\t')) {
                    self.pos += 1;
                }
                match self.peek() {
                    None => break,
                    Some('\n' | '\r') => continue,
                    Some('#') => break,
                    Some(_) => {
                        let indent = (line_start..self.pos)
                            .take_while(|&i| self.chars[i] == ' ')
                            .count() as i64;
                        let blocked = ctx == Context::Block
                            && (indent <= parent
                                || self.chars[line_start..self.pos].contains(&'\t')
                                    && indent <= parent + 1);
                        let marker = self.pos == line_start && {
                            let p = self.pos;
                            self.pos = line_start;
                            let m = self.at_document_marker().is_some();
                            self.pos = p;
                            m
                        };
                        if blocked || marker {
                            break;
                        }
                        if ctx == Context::Flow
                            && matches!(self.peek(), Some(',' | ']' | '}' | ':'))
                        {
                            break;
                        }
                        if ctx == Context::Block
                            && self.peek() == Some('-')
                            && self.is_blank_or_end(1)
                            && indent <= parent + 1
                        {
                            break;
                        }
                        continued = true;
                        break;
                    }
                }
            }
            if !continued {
                self.pos = save;
                break;
            }
            if breaks == 1 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', breaks - 1));
            }
        }
        Ok(out)
    }

    /// The line breaks inside a quoted scalar: one becomes a space, more become all but one.
    fn fold_quoted_break(&mut self, out: &mut String, quote: char) -> Result<(), YamlError> {
        while out.ends_with([' ', '\t']) {
            out.pop();
        }
        let mut breaks = 0;
        loop {
            match self.peek() {
                Some('\r') if self.peek_at(1) == Some('\n') => self.pos += 1,
                Some('\n' | '\r') => {
                    self.pos += 1;
                    breaks += 1;
                    while matches!(self.peek(), Some(' ' | '\t')) {
                        self.pos += 1;
                    }
                    if self.at_line_start_of_marker() {
                        return self.error("found a document marker inside a quoted scalar");
                    }
                }
                None => {
                    return self.error(format!(
                        "found unexpected end of stream in a {quote}-quoted scalar"
                    ))
                }
                _ => break,
            }
        }
        match breaks {
            0 => {}
            1 => out.push(' '),
            n => out.extend(std::iter::repeat_n('\n', n - 1)),
        }
        Ok(())
    }

    fn at_line_start_of_marker(&self) -> bool {
        self.at_document_marker().is_some()
    }

    fn single_quoted(&mut self) -> Result<String, YamlError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return self.error_at(
                        start,
                        "found unexpected end of stream in a single-quoted scalar",
                    )
                }
                Some('\'') if self.peek_at(1) == Some('\'') => {
                    out.push('\'');
                    self.pos += 2;
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\n' | '\r') => self.fold_quoted_break(&mut out, '\'')?,
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, YamlError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return self.error_at(
                        start,
                        "found unexpected end of stream in a double-quoted scalar",
                    )
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    let at = self.pos;
                    self.pos += 1;
                    let Some(c) = self.peek() else {
                        return self.error_at(
                            start,
                            "found unexpected end of stream in a double-quoted scalar",
                        );
                    };
                    self.pos += 1;
                    let simple = match c {
                        '0' => Some('\0'),
                        'a' => Some('\x07'),
                        'b' => Some('\x08'),
                        't' | '\t' => Some('\t'),
                        'n' => Some('\n'),
                        'v' => Some('\x0b'),
                        'f' => Some('\x0c'),
                        'r' => Some('\r'),
                        'e' => Some('\x1b'),
                        ' ' => Some(' '),
                        '"' => Some('"'),
                        '/' => Some('/'),
                        '\\' => Some('\\'),
                        'N' => Some('\u{85}'),
                        '_' => Some('\u{a0}'),
                        'L' => Some('\u{2028}'),
                        'P' => Some('\u{2029}'),
                        _ => None,
                    };
                    if let Some(s) = simple {
                        out.push(s);
                        continue;
                    }
                    let width = match c {
                        'x' => 2,
                        'u' => 4,
                        'U' => 8,
                        '\r' | '\n' => {
                            // An escaped line break joins the lines with nothing between.
                            if c == '\r' && self.peek() == Some('\n') {
                                self.pos += 1;
                            }
                            while matches!(self.peek(), Some(' ' | '\t')) {
                                self.pos += 1;
                            }
                            continue;
                        }
                        _ => {
                            return self.error_at(at, format!("found unknown escape character {c:?} while parsing a quoted scalar"))
                        }
                    };
                    let hex: String = self.chars[self.pos..].iter().take(width).collect();
                    let code = (hex.len() == width)
                        .then(|| u32::from_str_radix(&hex, 16).ok())
                        .flatten()
                        .and_then(char::from_u32);
                    let Some(ch) = code else {
                        return self.error_at(at, "did not find the expected hexadecimal number of a \\x, \\u or \\U escape (or it is not a Unicode character)");
                    };
                    out.push(ch);
                    self.pos += width;
                }
                Some('\n' | '\r') => self.fold_quoted_break(&mut out, '"')?,
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    // ANCHOR: block_scalar
    /// `|` (literal) or `>` (folded), with a chomping indicator (`-` strip, `+` keep, none clip)
    /// and an optional indentation digit, in either order.
    fn block_scalar(&mut self, parent: i64) -> Result<Value, YamlError> {
        let folded = self.peek() == Some('>');
        self.pos += 1;
        let (mut chomp, mut explicit) = (None, None);
        for _ in 0..2 {
            match self.peek() {
                Some(c @ ('-' | '+')) if chomp.is_none() => {
                    chomp = Some(c);
                    self.pos += 1;
                }
                Some(c @ '1'..='9') if explicit.is_none() => {
                    explicit = Some(c as i64 - '0' as i64);
                    self.pos += 1;
                }
                _ => {}
            }
        }
        let header_end = self.pos;
        self.skip_inline();
        if self.pos == header_end && !matches!(self.peek(), None | Some('\n' | '\r')) {
            return self.error(
                "did not find the expected comment or line break after a block scalar header",
            );
        }
        if !matches!(self.peek(), None | Some('\n' | '\r')) {
            return self.error(
                "did not find the expected comment or line break after a block scalar header",
            );
        }
        // Lines as (indentation, text after it), up to the first less-indented content line.
        let mut lines: Vec<(usize, String)> = Vec::new();
        let mut indent = explicit.map(|d| (parent.max(0) + d) as usize);
        let mut ended_with_break = false;
        loop {
            if self.peek() == Some('\r') {
                self.pos += 1;
            }
            if self.peek() != Some('\n') {
                break;
            }
            let before = self.pos;
            self.pos += 1;
            let line_start = self.pos;
            while self.peek() == Some(' ') {
                self.pos += 1;
            }
            let spaces = self.pos - line_start;
            let blank = matches!(self.peek(), None | Some('\n' | '\r'));
            if blank {
                if self.peek().is_none() && spaces == 0 {
                    ended_with_break = true;
                    break;
                }
                if indent.is_some_and(|n| spaces > n) {
                    let n = indent.unwrap_or(0);
                    lines.push((n, " ".repeat(spaces - n)));
                } else {
                    lines.push((spaces, String::new()));
                }
                ended_with_break = true;
                continue;
            }
            let n = match indent {
                Some(n) => n,
                None => {
                    if (spaces as i64) <= parent {
                        self.pos = before;
                        break;
                    }
                    if self.peek() == Some('\t') {
                        return self.error("found a tab character where indentation is expected (YAML indents with spaces only)");
                    }
                    indent = Some(spaces);
                    spaces
                }
            };
            if spaces < n || self.at_document_marker().is_some() {
                self.pos = before;
                break;
            }
            let mut text = " ".repeat(spaces - n);
            while !matches!(self.peek(), None | Some('\n' | '\r')) {
                text.push(self.peek().unwrap_or(' '));
                self.pos += 1;
            }
            lines.push((n, text));
            ended_with_break = false;
        }
        // Trailing blank lines belong to the chomping, not the text.
        let content_len = lines
            .iter()
            .rposition(|(_, t)| !t.is_empty())
            .map_or(0, |i| i + 1);
        let trailing = lines.len() - content_len;
        let body = &lines[..content_len];
        let mut out = String::new();
        if folded {
            let mut prev_normal: Option<bool> = None;
            let mut pending = 0;
            for (_, text) in body {
                if text.is_empty() {
                    pending += 1;
                    continue;
                }
                let normal = !text.starts_with([' ', '\t']);
                match prev_normal {
                    None => out.extend(std::iter::repeat_n('\n', pending)),
                    Some(true) if normal => {
                        if pending == 0 {
                            out.push(' ');
                        } else {
                            out.extend(std::iter::repeat_n('\n', pending));
                        }
                    }
                    Some(_) => out.extend(std::iter::repeat_n('\n', pending + 1)),
                }
                out.push_str(text);
                prev_normal = Some(normal);
                pending = 0;
            }
        } else {
            let texts: Vec<&str> = body.iter().map(|(_, t)| t.as_str()).collect();
            out = texts.join("\n");
        }
        // A final line break exists unless the last content line ended the stream.
        let has_final_break =
            content_len > 0 && (trailing > 0 || ended_with_break || self.peek().is_some());
        match chomp {
            Some('-') => {}
            Some(_) => {
                if has_final_break {
                    out.push('\n');
                }
                let extra = if content_len == 0 {
                    trailing
                } else {
                    trailing.saturating_sub(usize::from(
                        !ended_with_break && self.peek().is_none() && trailing > 0,
                    ))
                };
                out.extend(std::iter::repeat_n('\n', extra));
            }
            None => {
                if has_final_break {
                    out.push('\n');
                }
            }
        }
        Ok(Value::String(out))
    }
    // ANCHOR_END: block_scalar

    /// Skips whitespace, line breaks and comments inside a flow collection.
    fn skip_flow_space(&mut self) -> Result<(), YamlError> {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\n' | '\r') => self.pos += 1,
                Some('#') => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.pos += 1;
                    }
                }
                _ => {
                    if self.at_document_marker().is_some() {
                        return self.error("found a document marker inside a flow collection");
                    }
                    return Ok(());
                }
            }
        }
    }

    fn flow_sequence(&mut self) -> Result<Value, YamlError> {
        self.enter()?;
        let open = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_flow_space()?;
            match self.peek() {
                None => {
                    return self.error_at(open, "did not find the closing ']' of a flow sequence")
                }
                Some(']') => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            let item = self.flow_node()?;
            self.skip_flow_space()?;
            if self.peek() == Some(':') {
                return self.error("single-pair mappings inside a flow sequence ([a: 1]) are not supported; write [{a: 1}]");
            }
            items.push(item);
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {}
                None => {
                    return self.error_at(open, "did not find the closing ']' of a flow sequence")
                }
                _ => return self.error("did not find expected ',' or ']'"),
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn flow_mapping(&mut self) -> Result<Value, YamlError> {
        self.enter()?;
        let open = self.pos;
        self.pos += 1;
        let mut map = Map::new();
        loop {
            self.skip_flow_space()?;
            match self.peek() {
                None => {
                    return self.error_at(open, "did not find the closing '}' of a flow mapping")
                }
                Some('}') => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            self.refuse_unsupported()?;
            let key_pos = self.pos;
            let key = match self.peek() {
                Some('\'') => self.single_quoted()?,
                Some('"') => self.double_quoted()?,
                Some('[' | '{') => {
                    return self.error("collections as mapping keys are not supported")
                }
                _ => {
                    let text = self.plain(-1, Context::Flow)?;
                    if text.is_empty() {
                        return self.error("did not find expected node content");
                    }
                    self.plain_key(key_pos, &text)?
                }
            };
            self.skip_flow_space()?;
            let value = if self.peek() == Some(':') {
                self.pos += 1;
                self.skip_flow_space()?;
                if matches!(self.peek(), Some(',' | '}')) {
                    Value::Null
                } else {
                    self.flow_node()?
                }
            } else {
                Value::Null
            };
            self.insert(&mut map, key, value);
            self.skip_flow_space()?;
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                None => {
                    return self.error_at(open, "did not find the closing '}' of a flow mapping")
                }
                _ => return self.error("did not find expected ',' or '}'"),
            }
        }
        self.depth -= 1;
        Ok(Value::Object(map))
    }

    fn flow_node(&mut self) -> Result<Value, YamlError> {
        self.refuse_unsupported()?;
        match self.peek() {
            Some('[') => self.flow_sequence(),
            Some('{') => self.flow_mapping(),
            Some('\'') => self.single_quoted().map(Value::String),
            Some('"') => self.double_quoted().map(Value::String),
            Some(c @ ('|' | '>' | ',' | ']' | '}')) => self.error(format!(
                "found character {c:?} that cannot start a node in a flow collection"
            )),
            Some('-') if self.is_blank_or_end(1) => {
                self.error("block sequence entries are not allowed in a flow collection")
            }
            _ => {
                let start = self.pos;
                let text = self.plain(-1, Context::Flow)?;
                if text.is_empty() {
                    return self.error("did not find expected node content");
                }
                self.plain_value(start, &text)
            }
        }
    }
}

/// `float64` as Go's `json.Marshal` writes it: a whole number below 1e21 has no fraction.
fn json_float(f: f64) -> Option<Value> {
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        return Some(Value::from(f as i64));
    }
    Number::from_f64(f).map(Value::Number)
}

fn go_special(f: f64) -> &'static str {
    if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// A float key is written with `FormatFloat(k, 'g', -1, 32)`: single precision.
fn f32_round(f: f64) -> f64 {
    let single = f as f32;
    // The shortest digits of the f32, read back as f64, are what Go prints.
    format!("{single}").parse::<f64>().unwrap_or(f)
}
