//! `pattern`: the regular expressions of a schema, matched as Go's `regexp.MatchString` does
//! (RE2 syntax, unanchored search, no backtracking).
//!
//! kube compiles each `pattern` with Go's `regexp` when the CRD is written and refuses the CRD
//! if it does not compile (`must be a valid regular expression, but isn't: ...`). This is the part
//! of RE2 that CRD patterns use, compiled to a small program and run as a Thompson NFA (one pass
//! over the text, every live state at once), so a hostile pattern cannot make matching slow.
//!
//! Supported: literals and escaped punctuation; `.` (not `\n`); classes `[a-z]`, `[^...]`,
//! `[[:alpha:]]` and the other ASCII POSIX classes; `\d \D \w \W \s \S`; `\t \n \r \f \v \a`,
//! `\xHH`, `\x{H...}`; anchors `^ $ \A \z \b \B` (no multi-line mode); groups `(...)`, `(?:...)`,
//! `(?P<name>...)`, `(?<name>...)`; alternation `|`; repetition `* + ? {n} {n,} {n,m}`, greedy or
//! lazy (which does not change whether a string matches); up to 100 nested groups (RE2 allows
//! 1000, and refuses more with the same message). Anything else RE2 accepts (flags like
//! `(?i)`, Unicode classes `\p{...}`, `\Q...\E`, `\C`, octal escapes) is refused with an error
//! saying so, so a CRD never gets a pattern this server would answer differently from kube.

use std::fmt;

/// A compiled pattern. Equal when their sources are.
#[derive(Clone)]
pub struct Regex {
    source: String,
    program: Vec<Inst>,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regex({:?})", self.source)
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Regex) -> bool {
        self.source == other.source
    }
}

/// Why a pattern does not compile, in the words of Go's `regexp/syntax` where RE2 also refuses
/// it, or naming the unsupported construct where RE2 would accept it.
#[derive(Debug, PartialEq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RE2's limit on a counted repetition.
const MAX_REPEAT: u32 = 1000;
/// Nested groups allowed. RE2 allows 1000; this parser recurses once per group, and 100 keeps
/// it well inside the schema stack (CRD patterns nest a few levels). Deeper is refused with
/// Go's message.
const MAX_NESTING: usize = 100;
/// Programs larger than this are refused, as RE2 refuses "expression too large".
const MAX_PROGRAM: usize = 20_000;

/// A set of characters: inclusive ranges, possibly negated.
#[derive(Clone, Debug)]
struct Class {
    ranges: Vec<(char, char)>,
    negated: bool,
}

impl Class {
    fn of(ranges: &[(char, char)]) -> Class {
        Class {
            ranges: ranges.to_vec(),
            negated: false,
        }
    }

    fn literal(c: char) -> Class {
        Class::of(&[(c, c)])
    }

    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }

    /// The complement, as ranges (to put a negated `\D` inside a bracket class).
    fn complement_ranges(&self) -> Vec<(char, char)> {
        let mut sorted = self.ranges.clone();
        sorted.sort();
        let mut out = Vec::new();
        let mut next = '\0';
        let mut done = false;
        for (lo, hi) in sorted {
            if done || hi < next {
                continue;
            }
            if lo > next {
                out.push((next, prev_char(lo)));
            }
            match char::from_u32(hi as u32 + 1) {
                Some(n) => next = n,
                None if hi == char::MAX => done = true,
                // The gap of surrogates: skip past it.
                None => next = '\u{E000}',
            }
        }
        if !done {
            out.push((next, char::MAX));
        }
        out
    }
}

fn prev_char(c: char) -> char {
    match c {
        '\u{E000}' => '\u{D7FF}',
        c => char::from_u32(c as u32 - 1).unwrap_or('\0'),
    }
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[(char, char)] = &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')];

fn posix_class(name: &str) -> Option<&'static [(char, char)]> {
    Some(match name {
        "alnum" => &[('0', '9'), ('A', 'Z'), ('a', 'z')],
        "alpha" => &[('A', 'Z'), ('a', 'z')],
        "ascii" => &[('\0', '\x7f')],
        "blank" => &[('\t', '\t'), (' ', ' ')],
        "cntrl" => &[('\0', '\x1f'), ('\x7f', '\x7f')],
        "digit" => DIGIT,
        "graph" => &[('!', '~')],
        "lower" => &[('a', 'z')],
        "print" => &[(' ', '~')],
        "punct" => &[('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
        "space" => &[('\t', '\r'), (' ', ' ')],
        "upper" => &[('A', 'Z')],
        "word" => WORD,
        "xdigit" => &[('0', '9'), ('A', 'F'), ('a', 'f')],
        _ => return None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Assertion {
    BeginText,
    EndText,
    WordBoundary,
    NotWordBoundary,
}

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Class(Class),
    Assert(Assertion),
    Concat(Vec<Node>),
    Alternate(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

#[derive(Clone, Debug)]
enum Inst {
    Class(Class),
    Assert(Assertion),
    Split(usize, usize),
    Jump(usize),
    Match,
}

struct Parser<'a> {
    source: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str, at: &str) -> Error {
        Error(format!("error parsing regexp: {what}: `{at}`"))
    }

    fn unsupported(&self, what: &str) -> Error {
        Error(format!(
            "{what} is not supported by this server's regular expressions (see its documentation for the supported RE2 subset)"
        ))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn rest_from(&self, start: usize) -> String {
        self.chars[start..self.pos.min(self.chars.len())]
            .iter()
            .collect()
    }

    fn parse_alternation(&mut self, depth: usize) -> Result<Node, Error> {
        let mut branches = vec![self.parse_concat(depth)?];
        while self.peek() == Some('|') {
            self.pos += 1;
            branches.push(self.parse_concat(depth)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alternate(branches)
        })
    }

    fn parse_concat(&mut self, depth: usize) -> Result<Node, Error> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            let start = self.pos;
            let atom = match c {
                '|' => break,
                ')' if depth > 0 => break,
                ')' => return Err(self.error("unexpected )", self.source)),
                '*' | '+' | '?' => {
                    self.pos += 1;
                    return Err(self.error(
                        "missing argument to repetition operator",
                        &self.rest_from(start),
                    ));
                }
                '{' if self.repeat_ahead().is_some() => {
                    let end = self.repeat_ahead().map_or(self.pos, |(_, _, e)| e);
                    self.pos = end;
                    return Err(self.error(
                        "missing argument to repetition operator",
                        &self.rest_from(start),
                    ));
                }
                '(' => self.parse_group(depth)?,
                '[' => Node::Class(self.parse_class()?),
                '.' => {
                    self.pos += 1;
                    Node::Class(Class {
                        ranges: vec![('\n', '\n')],
                        negated: true,
                    })
                }
                '^' => {
                    self.pos += 1;
                    Node::Assert(Assertion::BeginText)
                }
                '$' => {
                    self.pos += 1;
                    Node::Assert(Assertion::EndText)
                }
                '\\' => self.parse_escape()?,
                c => {
                    self.pos += 1;
                    Node::Class(Class::literal(c))
                }
            };
            items.push(self.parse_repetitions(atom, start)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// A counted repetition `{n}`, `{n,}`, `{n,m}` at the cursor: (min, max, end position).
    /// Anything else starting with `{` is a literal brace, as in Go.
    fn repeat_ahead(&self) -> Option<(u32, Option<u32>, usize)> {
        let mut i = self.pos + 1;
        let number = |i: &mut usize| -> Option<u32> {
            let start = *i;
            while self.chars.get(*i).is_some_and(char::is_ascii_digit) {
                *i += 1;
            }
            if *i == start {
                return None;
            }
            let digits: String = self.chars[start..*i].iter().collect();
            // Too many digits still parse as a repetition, refused below as out of range.
            Some(digits.parse().unwrap_or(u32::MAX))
        };
        let min = number(&mut i)?;
        let max = match self.chars.get(i) {
            Some('}') => Some(min),
            Some(',') => {
                i += 1;
                if self.chars.get(i) == Some(&'}') {
                    None
                } else {
                    Some(number(&mut i)?)
                }
            }
            _ => return None,
        };
        if self.chars.get(i) != Some(&'}') {
            return None;
        }
        Some((min, max, i + 1))
    }

    fn parse_repetitions(&mut self, mut atom: Node, start: usize) -> Result<Node, Error> {
        let mut repeated = false;
        loop {
            let op_start = self.pos;
            let (min, max) = match self.peek() {
                Some('*') => {
                    self.pos += 1;
                    (0, None)
                }
                Some('+') => {
                    self.pos += 1;
                    (1, None)
                }
                Some('?') => {
                    self.pos += 1;
                    (0, Some(1))
                }
                Some('{') => match self.repeat_ahead() {
                    Some((min, max, end)) => {
                        self.pos = end;
                        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                            return Err(
                                self.error("invalid repeat count", &self.rest_from(op_start))
                            );
                        }
                        (min, max)
                    }
                    None => return Ok(atom),
                },
                _ => return Ok(atom),
            };
            // A lazy marker changes which match is found, never whether one is.
            if self.peek() == Some('?') {
                self.pos += 1;
            }
            if repeated {
                return Err(self.error(
                    "invalid nested repetition operator",
                    &self.rest_from(start.max(op_start.saturating_sub(1))),
                ));
            }
            repeated = true;
            atom = Node::Repeat {
                node: Box::new(atom),
                min,
                max,
            };
        }
    }

    fn parse_group(&mut self, depth: usize) -> Result<Node, Error> {
        if depth >= MAX_NESTING {
            return Err(self.error("expression nests too deeply", self.source));
        }
        let start = self.pos;
        self.pos += 1;
        if self.peek() == Some('?') {
            let rest: String = self.chars[self.pos..].iter().collect();
            if rest.starts_with("?:") {
                self.pos += 2;
            } else if rest.starts_with("?P<") || rest.starts_with("?<") {
                let Some(close) = rest.find('>') else {
                    return Err(self.error("invalid named capture", &self.rest_from(start)));
                };
                let name = &rest[rest.find('<').unwrap_or(0) + 1..close];
                if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    self.pos += rest[..=close].chars().count();
                    return Err(self.error("invalid named capture", &self.rest_from(start)));
                }
                self.pos += rest[..=close].chars().count();
            } else {
                return Err(self.unsupported("the flag group `(?`"));
            }
        }
        let inner = self.parse_alternation(depth + 1)?;
        if self.peek() != Some(')') {
            return Err(self.error("missing closing )", self.source));
        }
        self.pos += 1;
        Ok(inner)
    }

    /// After a `\`: the escape as a node.
    fn parse_escape(&mut self) -> Result<Node, Error> {
        let start = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(self.error("trailing backslash at end of expression", ""));
        };
        self.pos += 1;
        Ok(match c {
            'A' => Node::Assert(Assertion::BeginText),
            'z' => Node::Assert(Assertion::EndText),
            'b' => Node::Assert(Assertion::WordBoundary),
            'B' => Node::Assert(Assertion::NotWordBoundary),
            _ => {
                self.pos = start;
                Node::Class(self.parse_class_escape()?)
            }
        })
    }

    /// A `\` escape that stands for characters, inside or outside brackets.
    fn parse_class_escape(&mut self) -> Result<Class, Error> {
        let start = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(self.error("trailing backslash at end of expression", ""));
        };
        self.pos += 1;
        let perl = |ranges: &[(char, char)], negated| Class {
            ranges: ranges.to_vec(),
            negated,
        };
        Ok(match c {
            'd' => perl(DIGIT, false),
            'D' => perl(DIGIT, true),
            'w' => perl(WORD, false),
            'W' => perl(WORD, true),
            's' => perl(SPACE, false),
            'S' => perl(SPACE, true),
            't' => Class::literal('\t'),
            'n' => Class::literal('\n'),
            'r' => Class::literal('\r'),
            'f' => Class::literal('\x0c'),
            'v' => Class::literal('\x0b'),
            'a' => Class::literal('\x07'),
            'x' => Class::literal(self.parse_hex(start)?),
            'p' | 'P' => return Err(self.unsupported("the Unicode class `\\p`")),
            'Q' => return Err(self.unsupported("the literal quote `\\Q...\\E`")),
            'C' => return Err(self.unsupported("the byte escape `\\C`")),
            '0'..='7' => return Err(self.unsupported("the octal escape")),
            c if c.is_ascii_punctuation() => Class::literal(c),
            _ => {
                return Err(self.error("invalid escape sequence", &self.rest_from(start)));
            }
        })
    }

    fn parse_hex(&mut self, start: usize) -> Result<char, Error> {
        let digits: String = if self.peek() == Some('{') {
            self.pos += 1;
            let from = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                self.pos += 1;
            }
            let digits = self.rest_from(from);
            if self.peek() != Some('}') {
                return Err(self.error("invalid escape sequence", &self.rest_from(start)));
            }
            self.pos += 1;
            digits
        } else {
            let from = self.pos;
            for _ in 0..2 {
                if self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.pos += 1;
                }
            }
            if self.pos - from != 2 {
                return Err(self.error("invalid escape sequence", &self.rest_from(start)));
            }
            self.rest_from(from)
        };
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| self.error("invalid escape sequence", &self.rest_from(start)))
    }

    /// The length of a `[:name:]` at the cursor, if one is there.
    fn posix_len(&self) -> Option<usize> {
        let rest = &self.chars[self.pos + 2..];
        (0..rest.len().saturating_sub(1))
            .find(|&i| rest[i] == ':' && rest[i + 1] == ']')
            .map(|i| i + 4)
    }

    fn parse_class(&mut self) -> Result<Class, Error> {
        let start = self.pos;
        self.pos += 1;
        let mut class = Class {
            ranges: Vec::new(),
            negated: false,
        };
        if self.peek() == Some('^') {
            class.negated = true;
            self.pos += 1;
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("missing closing ]", &self.rest_from(start)));
            };
            // A `]` first in the class is a literal, as in Go.
            if c == ']' && !first {
                self.pos += 1;
                return Ok(class);
            }
            first = false;
            if c == '[' && self.chars.get(self.pos + 1) == Some(&':') {
                if let Some(len) = self.posix_len() {
                    let text: String = self.chars[self.pos..self.pos + len].iter().collect();
                    let name = &text[2..text.len() - 2];
                    let (negated, name) = match name.strip_prefix('^') {
                        Some(n) => (true, n),
                        None => (false, name),
                    };
                    let Some(ranges) = posix_class(name) else {
                        return Err(self.error("invalid character class range", &text));
                    };
                    self.pos += len;
                    let set = Class::of(ranges);
                    if negated {
                        class.ranges.extend(set.complement_ranges());
                    } else {
                        class.ranges.extend(set.ranges);
                    }
                    continue;
                }
            }
            let range_start = self.pos;
            let lo = if c == '\\' {
                let escaped = self.parse_class_escape()?;
                if escaped.ranges.len() != 1 || escaped.negated || {
                    let (a, b) = escaped.ranges[0];
                    a != b
                } {
                    // `\d`, `\W`... inside brackets: add the set, no range can follow.
                    if escaped.negated {
                        class.ranges.extend(escaped.complement_ranges());
                    } else {
                        class.ranges.extend(escaped.ranges);
                    }
                    continue;
                }
                escaped.ranges[0].0
            } else {
                self.pos += 1;
                c
            };
            let is_range =
                self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']');
            if !is_range {
                class.ranges.push((lo, lo));
                continue;
            }
            self.pos += 1;
            let hi = match self.peek() {
                Some('\\') => {
                    let escaped = self.parse_class_escape()?;
                    match escaped.ranges.as_slice() {
                        [(a, b)] if a == b && !escaped.negated => *a,
                        _ => {
                            return Err(self.error(
                                "invalid character class range",
                                &self.rest_from(range_start),
                            ))
                        }
                    }
                }
                Some(h) => {
                    self.pos += 1;
                    h
                }
                None => return Err(self.error("missing closing ]", &self.rest_from(start))),
            };
            if hi < lo {
                return Err(self.error(
                    "invalid character class range",
                    &self.rest_from(range_start),
                ));
            }
            class.ranges.push((lo, hi));
        }
    }
}

/// Emits `node` into `prog`; refuses programs beyond [`MAX_PROGRAM`].
fn compile(node: &Node, prog: &mut Vec<Inst>) -> Result<(), Error> {
    if prog.len() > MAX_PROGRAM {
        return Err(Error(
            "error parsing regexp: expression too large".to_string(),
        ));
    }
    match node {
        Node::Empty => {}
        Node::Class(c) => prog.push(Inst::Class(c.clone())),
        Node::Assert(a) => prog.push(Inst::Assert(*a)),
        Node::Concat(items) => {
            for item in items {
                compile(item, prog)?;
            }
        }
        Node::Alternate(branches) => {
            // split L1, next; L1: branch; jump end; next: split ...
            let mut jumps = Vec::new();
            for (i, branch) in branches.iter().enumerate() {
                if i + 1 < branches.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(branch, prog)?;
                    jumps.push(prog.len());
                    prog.push(Inst::Jump(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    compile(branch, prog)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jump(end);
            }
        }
        Node::Repeat { node, min, max } => {
            for _ in 0..*min {
                compile(node, prog)?;
            }
            match max {
                None => {
                    // loop: split body, end; body; jump loop
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(node, prog)?;
                    prog.push(Inst::Jump(split));
                    let end = prog.len();
                    prog[split] = Inst::Split(split + 1, end);
                }
                Some(max) => {
                    // Each optional copy may be skipped to the very end.
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(prog.len());
                        prog.push(Inst::Split(prog.len() + 1, 0));
                        compile(node, prog)?;
                    }
                    let end = prog.len();
                    for s in splits {
                        prog[s] = Inst::Split(s + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The threads alive at one position of the text: program counters, each at most once.
struct Threads {
    pcs: Vec<usize>,
    seen: Vec<bool>,
}

impl Threads {
    fn new(len: usize) -> Threads {
        Threads {
            pcs: Vec::new(),
            seen: vec![false; len],
        }
    }

    fn clear(&mut self) {
        for &pc in &self.pcs {
            self.seen[pc] = false;
        }
        self.pcs.clear();
    }
}

impl Regex {
    pub fn new(source: &str) -> Result<Regex, Error> {
        let mut parser = Parser {
            source,
            chars: source.chars().collect(),
            pos: 0,
        };
        let node = parser.parse_alternation(0)?;
        if parser.pos < parser.chars.len() {
            return Err(parser.error("unexpected )", source));
        }
        let mut program = Vec::new();
        compile(&node, &mut program)?;
        program.push(Inst::Match);
        Ok(Regex {
            source: source.to_string(),
            program,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    // ANCHOR: pattern_match
    /// Whether `text` contains a match anywhere, as Go's `MatchString`. Runs in time
    /// proportional to the text's length times the program's.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let mut current = Threads::new(self.program.len());
        let mut next = Threads::new(self.program.len());
        let mut stack = Vec::new();
        for pos in 0..=chars.len() {
            // Unanchored: a new attempt starts at every position.
            if self.add(&mut current, 0, pos, &chars, &mut stack) {
                return true;
            }
            for i in 0..current.pcs.len() {
                let pc = current.pcs[i];
                if let Inst::Class(class) = &self.program[pc] {
                    if pos < chars.len()
                        && class.matches(chars[pos])
                        && self.add(&mut next, pc + 1, pos + 1, &chars, &mut stack)
                    {
                        return true;
                    }
                }
            }
            std::mem::swap(&mut current, &mut next);
            next.clear();
        }
        false
    }
    // ANCHOR_END: pattern_match

    /// Adds the thread at `pc` and everything it reaches without reading a character; true
    /// when one of them is the match.
    fn add(
        &self,
        threads: &mut Threads,
        pc: usize,
        pos: usize,
        chars: &[char],
        stack: &mut Vec<usize>,
    ) -> bool {
        stack.clear();
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if threads.seen[pc] {
                continue;
            }
            threads.seen[pc] = true;
            threads.pcs.push(pc);
            match &self.program[pc] {
                Inst::Match => return true,
                Inst::Class(_) => {}
                Inst::Jump(to) => stack.push(*to),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Assert(a) => {
                    let before = pos.checked_sub(1).map(|i| chars[i]);
                    let after = chars.get(pos).copied();
                    let holds = match a {
                        Assertion::BeginText => pos == 0,
                        Assertion::EndText => pos == chars.len(),
                        Assertion::WordBoundary => is_word(before) != is_word(after),
                        Assertion::NotWordBoundary => is_word(before) == is_word(after),
                    };
                    if holds {
                        stack.push(pc + 1);
                    }
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn kube_crd_patterns_match_as_go_does() {
        // The CronTab pattern of the Kubernetes CRD documentation.
        let cron = r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$";
        assert!(matches(cron, "* * * * */5"));
        assert!(matches(cron, "0 */2 1 1 1"));
        assert!(!matches(cron, "* * * *"));
        assert!(!matches(cron, "a * * * *"));
        // A DNS-1123 label.
        let label = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
        assert!(matches(label, "my-name"));
        assert!(!matches(label, "-name"));
        assert!(!matches(label, "Name"));
        // A duration list, from kube's own CRD tests.
        let duration = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
        assert!(matches(duration, "1h30m"));
        assert!(matches(duration, "1.5s"));
        assert!(!matches(duration, "1d"));
    }

    #[test]
    fn search_is_unanchored_and_anchors_are_whole_text() {
        assert!(matches("b", "abc"));
        assert!(!matches("^b", "abc"));
        assert!(matches("c$", "abc"));
        // Without the multi-line flag `$` is the end of the text only, not before a newline.
        assert!(!matches("c$", "abc\n"));
        assert!(matches(r"\Aab", "abc"));
        assert!(!matches(r"b\z", "abc"));
        assert!(matches("", "anything"));
        assert!(matches("^$", ""));
    }

    #[test]
    fn classes_escapes_and_boundaries() {
        assert!(matches("^[^a]$", "\n"), "a negated class matches a newline");
        assert!(!matches("^.$", "\n"), "a dot does not");
        assert!(matches("^[]a]+$", "]a]"));
        assert!(matches("^[a-]+$", "a-a"));
        assert!(matches(r"^[\d\s]+$", "1 2\t3"));
        assert!(!matches(r"^[\D]+$", "a1"));
        assert!(matches(r"^[[:alpha:]_]+$", "ab_C"));
        assert!(!matches(r"^[[:^digit:]]+$", "a1"));
        assert!(matches(r"^\w+\.\w+$", "a_1.b"));
        assert!(matches(r"\bfoo\b", "a foo b"));
        assert!(!matches(r"\bfoo\b", "afoob"));
        assert!(matches(r"\Bfoo", "afoo"));
        assert!(matches(r"^\x41\x{42}$", "AB"));
        assert!(matches("^é+$", "éé"));
        assert!(matches(r"^a\/b$", "a/b"));
    }

    #[test]
    fn repetitions_count_as_go_counts() {
        assert!(matches("^a{2,3}$", "aa"));
        assert!(matches("^a{2,3}$", "aaa"));
        assert!(!matches("^a{2,3}$", "aaaa"));
        assert!(matches("^a{2,}$", "aaaaa"));
        assert!(!matches("^a{2}$", "a"));
        assert!(
            matches("^a{,2}$", "a{,2}"),
            "not a repetition: literal braces"
        );
        assert!(matches("^(?:ab)+?c$", "ababc"));
        assert!(matches("^(?P<x>a|b)*$", "abba"));
        assert!(matches("^(a*)*$", "aaaa"), "an empty loop terminates");
    }

    #[test]
    fn hostile_patterns_stay_linear() {
        let evil = Regex::new("^(a+)+$").unwrap();
        let text = "a".repeat(5000) + "b";
        assert!(!evil.is_match(&text));
    }

    #[test]
    fn errors_read_like_go_and_unsupported_syntax_is_named() {
        let err = |p: &str| Regex::new(p).unwrap_err().0;
        assert_eq!(err("[a"), "error parsing regexp: missing closing ]: `[a`");
        assert_eq!(err("(a"), "error parsing regexp: missing closing ): `(a`");
        assert_eq!(err("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(
            err("*a"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            err("a**"),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert_eq!(
            err("[z-a]"),
            "error parsing regexp: invalid character class range: `z-a`"
        );
        assert_eq!(
            err(r"\q"),
            "error parsing regexp: invalid escape sequence: `\\q`"
        );
        assert_eq!(
            err("a{1001}"),
            "error parsing regexp: invalid repeat count: `{1001}`"
        );
        assert_eq!(
            err("a\\"),
            "error parsing regexp: trailing backslash at end of expression: ``"
        );
        assert!(err("(?i)abc").contains("not supported"));
        assert!(err(r"\pL").contains("not supported"));
        assert!(err(r"\Qa.b\E").contains("not supported"));
        assert!(err("((a{1000}){1000}){1000}").contains("too large"));
        // Nesting is bounded, and the deepest allowed fits a small stack.
        let nested = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
        let deepest = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || Regex::new(&nested(100)).map(|re| re.is_match("a")))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(deepest, Ok(true));
        assert!(err(&nested(101)).starts_with("error parsing regexp: expression nests too deeply"));
    }

    #[test]
    fn any_pattern_compiles_or_errs_without_panicking() {
        // Every short string over the syntax characters, from a fixed pseudo-random sequence.
        let alphabet: Vec<char> = r"ab()[]{}*+?|^$.\-:,0129dwsbBpPxQE<>=!#é".chars().collect();
        let mut seed: u64 = 42;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let (mut compiled, mut refused, mut matched) = (0, 0, 0);
        for _ in 0..20_000 {
            let len = next() % 8;
            let pattern: String = (0..len)
                .map(|_| alphabet[next() % alphabet.len()])
                .collect();
            match Regex::new(&pattern) {
                Ok(re) => {
                    compiled += 1;
                    for text in ["", "a", "ab(", "ba]{", "\n", "é-9"] {
                        matched += usize::from(re.is_match(text));
                    }
                }
                Err(_) => refused += 1,
            }
        }
        assert!(compiled > 1000 && refused > 1000 && matched > 1000);
    }
}
