//! A JSON-like tree whose objects keep the order their members were added in, so
//! that a schema reads `$schema`, `title`, `type`, `properties`, ... and not
//! alphabetically. Serialised with serde_json (schema files) or as serde_yaml
//! writes it (AsyncAPI documents, see [`Node::to_yaml`]); the crate's serde_json
//! sorts its maps, this does not.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::borrow::Cow;

/// A key or a string: most are constants, which are not copied.
pub type Text = Cow<'static, str>;

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Bool(bool),
    Int(i64),
    Str(Text),
    List(Vec<Node>),
    Map(Vec<(Text, Node)>),
}

impl Node {
    pub fn map() -> Node {
        Node::Map(Vec::new())
    }

    pub fn str(s: impl Into<Text>) -> Node {
        Node::Str(s.into())
    }

    /// Adds a member (builder style); replaces an existing member of that name in place.
    pub fn with(mut self, key: impl Into<Text>, value: Node) -> Node {
        self.set(key, value);
        self
    }

    /// Adds a member when there is a value.
    pub fn with_opt(self, key: impl Into<Text>, value: Option<Node>) -> Node {
        match value {
            Some(value) => self.with(key, value),
            None => self,
        }
    }

    pub fn set(&mut self, key: impl Into<Text>, value: Node) {
        if let Node::Map(members) = self {
            let key = key.into();
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(member) => member.1 = value,
                None => members.push((key, value)),
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// `{"$ref": target}`.
    pub fn reference(target: impl Into<Text>) -> Node {
        Node::map().with("$ref", Node::Str(target.into()))
    }

    pub fn strings<I, S>(items: I) -> Node
    where
        I: IntoIterator<Item = S>,
        S: Into<Text>,
    {
        Node::List(items.into_iter().map(|s| Node::Str(s.into())).collect())
    }

    /// The same tree from serde_json (members in the map's order); `None` when it
    /// holds what a `Node` has no form for (null, a fraction, an integer beyond
    /// `i64`).
    pub fn from_json(value: &serde_json::Value) -> Option<Node> {
        use serde_json::Value;
        Some(match value {
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Int(n.as_i64()?),
            Value::String(s) => Node::Str(Text::Owned(s.clone())),
            Value::Array(items) => {
                Node::List(items.iter().map(Node::from_json).collect::<Option<_>>()?)
            }
            Value::Object(members) => Node::Map(
                members
                    .iter()
                    .map(|(k, v)| Some((Text::Owned(k.clone()), Node::from_json(v)?)))
                    .collect::<Option<_>>()?,
            ),
            Value::Null => return None,
        })
    }

    /// Pretty JSON, two-space indent, ending in a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\n  \"error\": \"{e}\"\n}}"));
        text.push('\n');
        text
    }

    /// Block YAML, byte for byte what serde_yaml writes. [`yaml::emit`] writes the
    /// common shapes directly (serde_yaml goes through libyaml's event machine, the
    /// larger part of the target's time); whatever it does not cover, serde_yaml does.
    pub fn to_yaml(&self) -> String {
        yaml::emit(self).unwrap_or_else(|| {
            serde_yaml::to_string(self).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
        })
    }
}

/// A direct writer of the YAML serde_yaml (libyaml's emitter, unlimited width, two
/// spaces of indent, unicode) produces for a [`Node`]: the same scalar style
/// choices (plain, single-quoted, literal) and the same layout. It declines, and
/// serde_yaml writes the document, when a tree needs anything else: double-quoted
/// or folded scalars, line breaks other than `\n`, block scalars that need
/// indentation or keep hints, complex keys, empty collections, tags.
mod yaml {
    use super::Node;

    /// Where libyaml's emitter stands: its `column`, `whitespace` and `indention`.
    struct Out {
        text: String,
        column: usize,
        whitespace: bool,
        indention: bool,
    }

    pub fn emit(root: &Node) -> Option<String> {
        let Node::Map(members) = root else {
            return None;
        };
        let mut out = Out {
            text: String::with_capacity(4096),
            column: 0,
            whitespace: true,
            indention: true,
        };
        out.mapping(members, 0)?;
        out.indent(0);
        Some(out.text)
    }

    impl Out {
        fn put(&mut self, s: &str) {
            self.text.push_str(s);
            self.column += if s.is_ascii() {
                s.len()
            } else {
                s.chars().count()
            };
        }

        fn put_break(&mut self) {
            self.text.push('\n');
            self.column = 0;
        }

        /// `yaml_emitter_write_indent`.
        fn indent(&mut self, indent: usize) {
            if !self.indention
                || self.column > indent
                || (self.column == indent && !self.whitespace)
            {
                self.put_break();
            }
            while self.column < indent {
                self.text.push(' ');
                self.column += 1;
            }
            self.whitespace = true;
            self.indention = true;
        }

        /// `yaml_emitter_write_indicator`.
        fn indicator(
            &mut self,
            s: &str,
            need_whitespace: bool,
            is_whitespace: bool,
            is_indention: bool,
        ) {
            if need_whitespace && !self.whitespace {
                self.put(" ");
            }
            self.put(s);
            self.whitespace = is_whitespace;
            self.indention = self.indention && is_indention;
        }

        /// A block mapping whose members start at `indent`.
        fn mapping(&mut self, members: &[(super::Text, Node)], indent: usize) -> Option<()> {
            if members.is_empty() {
                return None;
            }
            // serde_yaml reads a one-member map whose key starts with `!` as a tag.
            if members.len() == 1 && members[0].0.starts_with('!') {
                return None;
            }
            for (key, value) in members {
                self.indent(indent);
                self.key(key)?;
                self.indicator(":", false, false, false);
                self.node(value, indent, true)?;
            }
            Some(())
        }

        /// A block sequence at `indent` (libyaml's own indent for it).
        fn sequence(&mut self, items: &[Node], indent: usize) -> Option<()> {
            if items.is_empty() {
                return None;
            }
            for item in items {
                self.indent(indent);
                self.indicator("-", true, false, true);
                self.node(item, indent, false)?;
            }
            Some(())
        }

        /// A value in a mapping (`in_mapping`) or sequence whose own indent is `parent`.
        fn node(&mut self, node: &Node, parent: usize, in_mapping: bool) -> Option<()> {
            match node {
                Node::Bool(b) => {
                    self.plain(if *b { "true" } else { "false" });
                    Some(())
                }
                Node::Int(n) => {
                    self.plain(&n.to_string());
                    Some(())
                }
                Node::Str(s) => self.value(s, parent + 2),
                Node::Map(members) => self.mapping(members, parent + 2),
                Node::List(items) => {
                    // Indentless under a mapping key, as libyaml writes it.
                    let indentless = in_mapping && !self.indention;
                    self.sequence(items, if indentless { parent } else { parent + 2 })
                }
            }
        }

        fn key(&mut self, key: &str) -> Option<()> {
            let a = analyze(key)?;
            // A multi-line or long key is written as a complex key (`? `).
            if a.multiline || key.chars().count() > 128 {
                return None;
            }
            match requested(key) {
                Requested::Any if a.block_plain_allowed && !key.is_empty() => self.plain(key),
                Requested::Any | Requested::SingleQuoted if a.single_quoted_allowed => {
                    self.single_quoted(key)
                }
                _ => return None,
            }
            Some(())
        }

        /// A scalar value; `indent` is where a block scalar's lines start.
        fn value(&mut self, s: &str, indent: usize) -> Option<()> {
            let a = analyze(s)?;
            match requested(s) {
                Requested::Any if a.block_plain_allowed => self.plain(s),
                Requested::Any | Requested::SingleQuoted
                    if a.single_quoted_allowed && !a.multiline =>
                {
                    self.single_quoted(s)
                }
                Requested::Literal if a.block_allowed => self.literal(s, indent)?,
                _ => return None,
            }
            Some(())
        }

        fn plain(&mut self, s: &str) {
            if !self.whitespace && !s.is_empty() {
                self.put(" ");
            }
            self.put(s);
            self.whitespace = false;
            self.indention = false;
        }

        /// A single-line single-quoted scalar (the width is unlimited: no folding).
        fn single_quoted(&mut self, s: &str) {
            self.indicator("'", true, false, false);
            for (i, part) in s.split('\'').enumerate() {
                if i > 0 {
                    self.put("''");
                }
                self.put(part);
            }
            self.indicator("'", false, false, false);
            self.whitespace = false;
            self.indention = false;
        }

        /// `|-` (no final break) or `|` (one final break) and the lines: only
        /// text that starts with neither a space nor a break and does not end in
        /// two breaks (no indentation or keep hint).
        fn literal(&mut self, s: &str, indent: usize) -> Option<()> {
            if s.starts_with([' ', '\n']) || s.ends_with("\n\n") {
                return None;
            }
            self.indicator("|", true, false, false);
            if !s.ends_with('\n') {
                self.indicator("-", false, false, false);
            }
            self.put_break();
            self.indention = true;
            self.whitespace = true;
            let mut breaks = true;
            for line_or_break in s.split_inclusive('\n') {
                let (line, newline) = match line_or_break.strip_suffix('\n') {
                    Some(line) => (line, true),
                    None => (line_or_break, false),
                };
                if !line.is_empty() {
                    if breaks {
                        self.indent(indent);
                    }
                    self.put(line);
                    self.indention = false;
                }
                if newline {
                    self.put_break();
                    self.indention = true;
                    breaks = true;
                } else {
                    breaks = false;
                }
            }
            let _ = breaks;
            Some(())
        }
    }

    /// The style serde_yaml asks libyaml for.
    #[derive(PartialEq)]
    enum Requested {
        Any,
        SingleQuoted,
        Literal,
    }

    fn requested(s: &str) -> Requested {
        if s.contains('\n') {
            Requested::Literal
        } else if reads_as_other_than_string(s) {
            Requested::SingleQuoted
        } else {
            Requested::Any
        }
    }

    /// Whether a plain scalar would read back as null, a bool, an integer or a
    /// float (serde_yaml's `visit_untagged_scalar`), or is digits with a leading zero.
    fn reads_as_other_than_string(s: &str) -> bool {
        if s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
            // Of the words below, only the listed ones: a number starts with a
            // digit, a sign or a dot, and `inf` and `nan` are not finite.
            return matches!(
                s,
                "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
            );
        }
        matches!(
            s,
            "" | "~"
                | "null"
                | "Null"
                | "NULL"
                | "true"
                | "True"
                | "TRUE"
                | "false"
                | "False"
                | "FALSE"
        ) || unsigned_int(s)
            || negative_int(s)
            || digits_but_not_number(s)
            || float(s)
    }

    fn digits_but_not_number(s: &str) -> bool {
        let s = s.strip_prefix(['-', '+']).unwrap_or(s);
        s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
    }

    /// `-0x…`, `-0o…` or `-0b…` digits that make a negative integer (`rest` follows the `-`).
    fn negative_radix(rest: &str) -> bool {
        [("0x", 16), ("0o", 8), ("0b", 2)]
            .iter()
            .any(|&(prefix, radix)| {
                rest.strip_prefix(prefix).is_some_and(|digits| {
                    i128::from_str_radix(&format!("-{digits}"), radix).is_ok()
                })
            })
    }

    fn unsigned_int(s: &str) -> bool {
        let unpositive = s.strip_prefix('+').unwrap_or(s);
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(rest) = unpositive.strip_prefix(prefix) {
                if rest.starts_with(['+', '-']) {
                    return false;
                }
                if u128::from_str_radix(rest, radix).is_ok() {
                    return true;
                }
            }
        }
        if unpositive.starts_with(['+', '-']) || digits_but_not_number(s) {
            return false;
        }
        unpositive.parse::<u128>().is_ok()
    }

    fn negative_int(s: &str) -> bool {
        if let Some(rest) = s.strip_prefix('-')
            && negative_radix(rest)
        {
            return true;
        }
        if digits_but_not_number(s) {
            return false;
        }
        s.parse::<i128>().is_ok()
    }

    fn float(s: &str) -> bool {
        let unpositive = match s.strip_prefix('+') {
            Some(rest) if rest.starts_with(['+', '-']) => return false,
            Some(rest) => rest,
            None => s,
        };
        matches!(unpositive, ".inf" | ".Inf" | ".INF")
            || matches!(s, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
            || unpositive.parse::<f64>().is_ok_and(f64::is_finite)
    }

    /// What `yaml_emitter_analyze_scalar` finds, for block context; `None` for text
    /// with characters libyaml only double-quotes or breaks other than `\n`.
    struct Analysis {
        multiline: bool,
        block_plain_allowed: bool,
        single_quoted_allowed: bool,
        block_allowed: bool,
    }

    fn printable(c: char) -> bool {
        let c = c as u32;
        c == 0x0A
            || (0x20..=0x7E).contains(&c)
            || (0xA0..=0xD7FF).contains(&c)
            || ((0xE000..=0xFFFD).contains(&c) && c != 0xFEFF)
            || c >= 0x10000
    }

    fn blankz(c: Option<char>) -> bool {
        matches!(
            c,
            None | Some(' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\0')
        )
    }

    /// What the characters of a scalar show, as `yaml_emitter_analyze_scalar` scans them.
    struct Flags {
        line_breaks: bool,
        block_indicators: bool,
        leading_space: bool,
        leading_break: bool,
        trailing_space: bool,
        trailing_break: bool,
        break_space: bool,
        space_break: bool,
    }

    fn scan(chars: impl Iterator<Item = char>, mut block_indicators: bool) -> Option<Flags> {
        let mut line_breaks = false;
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let mut preceded_by_whitespace = true;
        let mut chars = chars.peekable();
        let mut first = true;
        while let Some(c) = chars.next() {
            if !printable(c) || matches!(c, '\u{2028}' | '\u{2029}') {
                return None;
            }
            let next = chars.peek().copied();
            let followed_by_whitespace = blankz(next);
            if first {
                if "#,[]{}&*!|>'\"%@`".contains(c) {
                    block_indicators = true;
                }
                if (c == '?' || c == ':') && followed_by_whitespace {
                    block_indicators = true;
                }
                if c == '-' && followed_by_whitespace {
                    block_indicators = true;
                }
            } else {
                if c == ':' && followed_by_whitespace {
                    block_indicators = true;
                }
                if c == '#' && preceded_by_whitespace {
                    block_indicators = true;
                }
            }
            let last = next.is_none();
            if c == ' ' {
                leading_space |= first;
                trailing_space |= last;
                break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if c == '\n' {
                line_breaks = true;
                leading_break |= first;
                trailing_break |= last;
                space_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = blankz(Some(c));
            first = false;
        }
        Some(Flags {
            line_breaks,
            block_indicators,
            leading_space,
            leading_break,
            trailing_space,
            trailing_break,
            break_space,
            space_break,
        })
    }

    fn analyze(s: &str) -> Option<Analysis> {
        let bytes = s.as_bytes();
        // One line of printable ASCII (names, paths, references, prose): what
        // the scan below finds, without going character by character. Its only
        // blank is the space, and a space only counts at the ends.
        if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last())
            && bytes.iter().all(|b| (0x20..=0x7E).contains(b))
        {
            let blank_after = |i: usize| bytes.get(i + 1).is_none_or(|&b| b == b' ');
            let indicators = s.starts_with("---")
                || s.starts_with("...")
                || b"#,[]{}&*!|>'\"%@`".contains(&first)
                || (matches!(first, b'?' | b':' | b'-') && blank_after(0))
                || memchr::memchr2_iter(b':', b'#', &bytes[1..]).any(|i| {
                    let i = i + 1;
                    if bytes[i] == b':' {
                        blank_after(i)
                    } else {
                        bytes[i - 1] == b' '
                    }
                });
            let (leading_space, trailing_space) = (first == b' ', last == b' ');
            return Some(Analysis {
                multiline: false,
                block_plain_allowed: !(leading_space || trailing_space || indicators),
                single_quoted_allowed: true,
                block_allowed: !trailing_space,
            });
        }
        // Multi-line ASCII (a schema's JSON in a template, long prose): a line
        // break already rules out a plain scalar, which is all that indicators
        // decide, so only the spaces next to breaks and at the end count.
        let ascii_lines = bytes.iter().fold(true, |ok, &b| {
            ok & (b == b'\n' || (0x20..=0x7E).contains(&b))
        });
        if ascii_lines && memchr::memchr(b'\n', bytes).is_some() {
            let space_break = memchr::memmem::find(bytes, b" \n").is_some();
            let break_space = memchr::memmem::find(bytes, b"\n ").is_some();
            return Some(Analysis {
                multiline: true,
                block_plain_allowed: false,
                single_quoted_allowed: !(break_space || space_break),
                block_allowed: !(space_break || bytes.last() == Some(&b' ')),
            });
        }
        if s.is_empty() {
            return Some(Analysis {
                multiline: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            });
        }
        let block_indicators = s.starts_with("---") || s.starts_with("...");
        // ASCII text needs no decoding: its bytes are its characters.
        let flags = if s.is_ascii() {
            scan(s.bytes().map(char::from), block_indicators)
        } else {
            scan(s.chars(), block_indicators)
        }?;
        let Flags {
            line_breaks,
            block_indicators,
            leading_space,
            leading_break,
            trailing_space,
            trailing_break,
            break_space,
            space_break,
        } = flags;
        let mut a = Analysis {
            multiline: line_breaks,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.block_plain_allowed = false;
        }
        if trailing_space {
            a.block_allowed = false;
        }
        if break_space {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if space_break {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
            a.block_allowed = false;
        }
        if line_breaks || block_indicators {
            a.block_plain_allowed = false;
        }
        Some(a)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Int(n) => serializer.serialize_i64(*n),
            Node::Str(s) => serializer.serialize_str(s),
            Node::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Node;

    /// Text that exercises every branch of the scalar style choice.
    const PIECES: &[&str] = &[
        "a",
        "Order",
        " ",
        "  ",
        "\n",
        "\n\n",
        ":",
        ": ",
        "#",
        " #",
        "-",
        "- ",
        "?",
        "? ",
        "'",
        "\"",
        ",",
        "[",
        "]",
        "{",
        "}",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "@",
        "`",
        "---",
        "...",
        "0",
        "01",
        "1.5",
        "0x1F",
        "-0b101",
        "+",
        ".inf",
        ".nan",
        "1e5",
        "true",
        "Null",
        "~",
        "é",
        "漢字",
        "🙂",
        "\t",
        "\r",
        "\u{85}",
        "\u{2028}",
        "\u{feff}",
        "\u{a0}",
        "\0",
        "x: y",
        "a#b",
        "https://x/y",
        "3.0.0",
        "1.0",
        "#/components/messages/A.B",
        "An order, placed (once); it's `done`!",
        "a b",
        "x -y ?z",
        "{\n  \"type\": \"object\",\n  \"required\": [\"a\"]\n}",
        "first line\nsecond: line # not a comment",
    ];

    fn strings() -> Vec<String> {
        let mut out: Vec<String> = PIECES.iter().map(|s| s.to_string()).collect();
        out.push(String::new());
        out.push("k".repeat(130));
        // Deterministic pseudo-random concatenations of up to four pieces.
        let mut seed: u64 = 0x5eed;
        for _ in 0..6000 {
            let mut s = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for k in 0..=(seed >> 60) % 4 {
                let i = (seed >> (8 * k + 8)) as usize % PIECES.len();
                s.push_str(PIECES[i]);
            }
            out.push(s);
        }
        out
    }

    fn documents() -> Vec<Node> {
        let strings = strings();
        let mut docs = Vec::new();
        for (n, chunk) in strings.chunks(3).enumerate() {
            let [a, b, c] = [0, 1, 2].map(|i| chunk.get(i).cloned().unwrap_or_default());
            let int = (n as i64 - 1000) * 7_919_000_003;
            docs.push(
                Node::map()
                    .with(a.clone(), Node::str(b.clone()))
                    .with("count", Node::Int(int))
                    .with(
                        "nested",
                        Node::map()
                            .with("value", Node::str(c.clone()))
                            .with("list", Node::strings([a.clone(), b.clone()]))
                            .with("flag", Node::Bool(true))
                            .with(
                                "maps",
                                Node::List(vec![
                                    Node::map()
                                        .with(b.clone(), Node::str(a.clone()))
                                        .with("c", Node::str(c.clone())),
                                    Node::List(vec![
                                        Node::str(c.clone()),
                                        Node::map().with("x", Node::str(b.clone())),
                                    ]),
                                ]),
                            ),
                    )
                    .with("last", Node::str(c.clone())),
            );
        }
        docs
    }

    #[test]
    fn yaml_is_what_serde_yaml_writes() {
        let mut direct = 0;
        let docs = documents();
        for doc in &docs {
            let expected = serde_yaml::to_string(doc).unwrap();
            if let Some(text) = super::yaml::emit(doc) {
                assert_eq!(text, expected, "{doc:?}");
                direct += 1;
            }
            assert_eq!(doc.to_yaml(), expected);
        }
        // The writer covers most documents itself, not only the easy ones.
        assert!(direct * 3 > docs.len(), "{direct} of {}", docs.len());
    }
}
