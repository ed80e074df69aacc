//! The text of a model: its files and positions in them.

use std::path::{Path, PathBuf};

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// One model file: where it came from (as the user named it) and its text.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<u32>,
    /// The text as it is shown in a report, made once, when first shown.
    shown: std::sync::OnceLock<Option<String>>,
}

impl SourceFile {
    /// The text with every ASCII control character but tab and line breaks shown
    /// as `?`, byte for byte as long as the text: a source excerpt must not ring
    /// the terminal's bell or send it escape sequences. The diagnostic's message
    /// names the character.
    pub fn shown(&self) -> &str {
        let is_hidden = |b: u8| b.is_ascii_control() && !matches!(b, b'\t' | b'\n' | b'\r');
        self.shown
            .get_or_init(|| {
                self.text.bytes().any(is_hidden).then(|| {
                    self.text
                        .chars()
                        .map(|c| {
                            if c.is_ascii() && is_hidden(c as u8) {
                                '?'
                            } else {
                                c
                            }
                        })
                        .collect()
                })
            })
            .as_deref()
            .unwrap_or(&self.text)
    }

    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i as u32 + 1))
            .collect();
        SourceFile {
            path,
            text,
            line_starts,
            shown: std::sync::OnceLock::new(),
        }
    }

    /// 0-based index of the line holding a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len()) as u32;
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    /// Byte offset where a line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .map_or(self.text.len(), |&s| s as usize)
    }

    /// Byte offset just past a line, its newline included.
    pub fn line_end(&self, line: usize) -> usize {
        self.line_start(line + 1)
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = offset.min(self.text.len() as u32);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let mut end = offset as usize;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        (line + 1, self.text[start..end].chars().count() + 1)
    }
}

/// Every file of a model, in the order they were read.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn text(&self, span: Span) -> &str {
        &self.get(span.file).text[span.start as usize..span.end as usize]
    }

    pub fn path(&self, id: FileId) -> &Path {
        &self.get(id).path
    }
}
