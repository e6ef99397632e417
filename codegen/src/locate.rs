//! Where things are in a YAML text: the line of a key or of a list item, looked up only inside the span of
//! its parent, so a field named `userid` is found in its own endpoint and not in the first one of the file.
//!
//! It reads block-style YAML by indentation (what the spec is written in). Inside flow style (`{ .. }`,
//! `[ .. ]`) or anything it does not follow, a lookup answers with the parent's line: a location is always
//! a line of the parent, never a wrong line elsewhere, and never a panic.

/// One line of the text: its indentation and its content after the indentation (`None`: blank or comment).
#[derive(Debug, Clone, Copy)]
struct Line<'t> {
    indent: usize,
    content: Option<&'t str>,
}

/// The lines of one YAML text.
#[derive(Debug, Clone)]
pub(crate) struct Locator<'t> {
    lines: Vec<Line<'t>>,
}

/// A node of the document: where it starts and which lines it spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// 0-based index of the node's first line (its key, or the `-` of a list item).
    start: usize,
    /// One past its last line.
    end: usize,
    /// The indentation of the node's own keys (or list items).
    indent: usize,
    /// A list item: its first key sits on the `-` line.
    item: bool,
    /// Flow style or a scalar: nothing inside can be told apart, every lookup answers with `start`.
    opaque: bool,
}

impl Span {
    /// The 1-based line of the node.
    pub(crate) fn line(self) -> usize {
        self.start + 1
    }

    fn opaque(self) -> Span {
        Span { opaque: true, ..self }
    }
}

impl<'t> Locator<'t> {
    /// Splits `text` into lines.
    pub(crate) fn new(text: &'t str) -> Self {
        let lines = text
            .lines()
            .map(|l| {
                let trimmed = l.trim_start_matches(' ');
                let indent = l.len() - trimmed.len();
                let content = trimmed.trim_end();
                let content = (!content.is_empty() && !content.starts_with('#')).then_some(content);
                Line { indent, content }
            })
            .collect();
        Locator { lines }
    }

    /// The whole document: a mapping whose keys are not indented.
    pub(crate) fn root(&self) -> Span {
        Span {
            start: 0,
            end: self.lines.len(),
            indent: 0,
            item: false,
            opaque: false,
        }
    }

    /// The content of line `i` as seen by the keys of `span` (a list item's first key follows its `-`), if
    /// it is at the span's key indentation.
    fn key_text(&self, span: Span, i: usize) -> Option<&'t str> {
        let line = self.lines.get(i)?;
        let content = line.content?;
        if span.item && i == span.start {
            let rest = content.strip_prefix('-')?.trim_start_matches(' ');
            return Some(rest);
        }
        (line.indent == span.indent).then_some(content)
    }

    /// The value of `key` in the mapping `span`.
    pub(crate) fn key(&self, span: Span, key: &str) -> Span {
        if span.opaque {
            return span;
        }
        let found = (span.start..span.end).find(|&i| {
            self.key_text(span, i).is_some_and(|t| {
                t.strip_prefix(key)
                    .and_then(|r| r.strip_prefix(':'))
                    .is_some_and(|r| r.is_empty() || r.starts_with(' '))
            })
        });
        let Some(at) = found else {
            return span.opaque();
        };
        // The value's lines: those after the key that are indented more, or are list items at the key's own
        // indentation (`key:\n- a`).
        let key_indent = if span.item && at == span.start {
            span.indent
        } else {
            self.lines[at].indent
        };
        let mut end = at + 1;
        let mut first_child: Option<Line<'t>> = None;
        while end < span.end {
            let line = self.lines[end];
            if let Some(c) = line.content {
                let inside = line.indent > key_indent || (line.indent == key_indent && c.starts_with('-'));
                if !inside {
                    break;
                }
                first_child.get_or_insert(line);
            }
            end += 1;
        }
        match first_child {
            Some(child) => Span {
                start: at,
                end,
                indent: child.indent,
                item: false,
                opaque: false,
            },
            None => Span {
                start: at,
                end: at + 1,
                indent: key_indent,
                item: false,
                opaque: true,
            },
        }
    }

    /// The `n`th (0-based) item of the list `span` (the value of a key).
    pub(crate) fn item(&self, span: Span, n: usize) -> Span {
        if span.opaque {
            return span;
        }
        let dash = |i: &usize| {
            let l = self.lines[*i];
            l.indent == span.indent && l.content.is_some_and(|c| c == "-" || c.starts_with("- "))
        };
        let starts: Vec<usize> = (span.start + 1..span.end).filter(dash).collect();
        let Some(&start) = starts.get(n) else {
            return span.opaque();
        };
        let end = starts.get(n + 1).copied().unwrap_or(span.end);
        let content = self.lines[start].content.unwrap_or("-");
        let after = content[1..].trim_start_matches(' ');
        let flow = after.starts_with('{') || after.starts_with('[') || after.is_empty();
        let item = Span {
            start,
            end,
            indent: span.indent + (content.len() - after.len()),
            item: true,
            opaque: false,
        };
        if flow && after.is_empty() {
            // `-` alone: the item's keys start on the next line.
            let next = (start + 1..end).find(|i| self.lines[*i].content.is_some());
            return match next {
                Some(i) => Span {
                    indent: self.lines[i].indent,
                    item: false,
                    ..item
                },
                None => item.opaque(),
            };
        }
        if flow {
            item.opaque()
        } else {
            item
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
group: g
endpoints:
  - path: a
    method: POST
    request:
      - { name: userid, type: string }
      - name: cursor
        type: object
        fields:
          - { name: userid, type: u32 }
    example:
      request: |
        { \"userid\": 1 }
  - path: b
    request:
    - { name: other, type: string }
    - { name: userid, type: strng }
";

    #[test]
    fn lines_are_found_inside_their_parent() {
        let loc = Locator::new(TEXT);
        let eps = loc.key(loc.root(), "endpoints");
        assert_eq!(eps.line(), 2);
        let a = loc.item(eps, 0);
        assert_eq!(a.line(), 3);
        assert_eq!(loc.key(a, "path").line(), 3);
        assert_eq!(loc.key(a, "method").line(), 4);
        let req = loc.key(a, "request");
        assert_eq!(loc.item(req, 0).line(), 6);
        let cursor = loc.item(req, 1);
        assert_eq!(cursor.line(), 7);
        assert_eq!(loc.key(cursor, "type").line(), 8);
        assert_eq!(loc.item(loc.key(cursor, "fields"), 0).line(), 10);
        assert_eq!(loc.key(loc.key(a, "example"), "request").line(), 12);
        let b = loc.item(eps, 1);
        assert_eq!(b.line(), 14);
        let breq = loc.key(b, "request");
        assert_eq!(loc.item(breq, 1).line(), 17);
        // Inside a flow item every key is the item's line.
        assert_eq!(loc.key(loc.item(breq, 1), "type").line(), 17);
        // Missing things answer with the parent.
        assert_eq!(loc.key(b, "response").line(), 14);
        assert_eq!(loc.item(breq, 9).line(), 15);
        assert_eq!(loc.key(loc.root(), "group").line(), 1);
    }

    #[test]
    fn odd_text_never_panics() {
        for text in [
            "",
            "-",
            "- - -",
            "a:\n-\n-",
            "a: [1, 2]\nb:\n  - x: 1\n   - y",
            "\t- a:\n  b",
        ] {
            let loc = Locator::new(text);
            let k = loc.key(loc.root(), "a");
            let _ = loc.item(k, 0).line();
            let _ = loc.key(loc.item(k, 3), "b").line();
        }
    }
}
