//! An incremental Server-Sent Events parser (the WHATWG "event stream interpretation").
//!
//! Bytes go in as they arrive, in chunks of any size; whole events come out. Lines end with
//! CRLF, LF or CR (a CR at the end of a chunk waits for the next one, in case an LF follows).
//! Fields: `data` (lines joined with `\n`), `id` (kept across events, as the spec's "last event
//! ID buffer"; an id containing NUL is ignored), `event`, `retry` (digits only). A line starting
//! with `:` is a comment; a line without `:` is a field with an empty value; one space after the
//! colon is dropped. An event is dispatched at a blank line; one with no `data` field is not
//! dispatched but its `id` and `retry` still count. A UTF-8 BOM at the very start is skipped.
//!
//! The one SSE parser of the workspace: the Streamable HTTP client transport reads its streams
//! with it, and the HTTP server's tests and bench read theirs. Why our own and not a crate
//! (`sse-stream`, `eventsource-stream`): a size limit per event, which neither has (a server
//! that never ends an event would grow the buffer without bound), and a push API (bytes in,
//! items out) that the transport's resumption bookkeeping (last id, `retry`, priming events)
//! is built on; ARCHITECTURE.md, "Why our own SSE parser", has the figures.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The `event` field (empty for the default `message` type).
    pub event: String,
    /// The data lines joined with `\n`.
    pub data: String,
    /// The event's own `id` field, if it had one (the stream's last id is
    /// [`Parser::last_id`]).
    pub id: Option<String>,
}

/// What the parser yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A complete event with data.
    Event(Event),
    /// The stream set the reconnection delay, in milliseconds.
    Retry(u64),
    /// The last event id changed without an event being dispatched (an event with an `id`
    /// but no `data`, such as a server's priming event).
    Id(String),
}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    after_cr: bool,
    started: bool,
    bom_seen: u8,
    data: String,
    has_data: bool,
    event: String,
    last_id: Option<String>,
    id_changed: bool,
    line_overflow: bool,
    oversized: bool,
    max_event: usize,
}

impl Parser {
    /// A parser that refuses events larger than `max_event` bytes (the data is dropped and
    /// the oversized event is skipped).
    pub fn new(max_event: usize) -> Parser {
        Parser {
            max_event,
            ..Parser::default()
        }
    }

    /// The last event id seen.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Feeds a chunk; returns the items it completes.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Vec<Item> {
        let mut out = Vec::new();
        if !self.started {
            match self.skip_bom(chunk) {
                Some(rest) => chunk = rest,
                None => return out,
            }
        }
        while !chunk.is_empty() {
            if std::mem::take(&mut self.after_cr) {
                if let Some(rest) = chunk.strip_prefix(b"\n") {
                    chunk = rest;
                    continue;
                }
            }
            // Whole runs up to the next line end, found with memchr (not byte by byte).
            let Some(i) = memchr::memchr2(b'\n', b'\r', chunk) else {
                self.push_line(chunk);
                break;
            };
            let (text, rest) = chunk.split_at(i);
            if let Some((&end, rest)) = rest.split_first() {
                self.after_cr = end == b'\r';
                chunk = rest;
            }
            self.end_line(text, &mut out);
        }
        out
    }

    /// Skips a UTF-8 BOM at the very start of the stream, which may come split across
    /// chunks; returns the rest of `chunk`, or `None` while the start is still undecided.
    fn skip_bom<'c>(&mut self, mut chunk: &'c [u8]) -> Option<&'c [u8]> {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        while let Some((&b, rest)) = chunk.split_first() {
            let seen = usize::from(self.bom_seen);
            if BOM.get(seen) != Some(&b) {
                // Not a BOM after all: the bytes that looked like one start the first line.
                self.started = true;
                self.push_line(BOM.get(..seen).unwrap_or_default());
                return Some(chunk);
            }
            self.bom_seen += 1;
            chunk = rest;
            if usize::from(self.bom_seen) == BOM.len() {
                self.started = true;
                return Some(chunk);
            }
        }
        None
    }

    /// Adds to the current line; past the limit the line is not kept (its event is dropped).
    fn push_line(&mut self, bytes: &[u8]) {
        if self.line_overflow || self.line.len() + bytes.len() > self.max_limit() {
            self.line_overflow = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn max_limit(&self) -> usize {
        if self.max_event == 0 {
            usize::MAX
        } else {
            self.max_event
        }
    }

    /// Ends the current line, whose last bytes are `tail`. A line that came whole in one
    /// chunk is read where it lies, without a copy.
    fn end_line(&mut self, tail: &[u8], out: &mut Vec<Item>) {
        if self.line.is_empty() && !self.line_overflow {
            if tail.len() > self.max_limit() {
                self.oversized = true;
            } else {
                self.field(tail, out);
            }
            return;
        }
        self.push_line(tail);
        let line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.line_overflow) {
            self.oversized = true;
            return;
        }
        self.field(&line, out);
    }

    /// One complete line: a field, a comment, or the blank line that dispatches.
    fn field(&mut self, line: &[u8], out: &mut Vec<Item>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.first() == Some(&b':') {
            return;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let (name, v) = line.split_at(i);
                let v = v.get(1..).unwrap_or_default();
                (name, v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &[][..]),
        };
        let value = String::from_utf8_lossy(value);
        match name {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.has_data = true;
                if self.data.len() + value.len() <= self.max_limit() {
                    self.data.push_str(&value);
                } else {
                    self.data.clear();
                    self.oversized = true;
                }
            }
            b"event" => self.event = value.into_owned(),
            b"id" if !value.contains('\0') => {
                self.last_id = Some(value.into_owned());
                self.id_changed = true;
            }
            b"retry" if !value.is_empty() && value.bytes().all(|c| c.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    out.push(Item::Retry(ms));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Item>) {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        let has_data = std::mem::replace(&mut self.has_data, false);
        let id_changed = std::mem::replace(&mut self.id_changed, false);
        if std::mem::replace(&mut self.oversized, false) {
            tracing::warn!(limit = self.max_event, "skipped an oversized SSE event");
            if let (true, Some(id)) = (id_changed, &self.last_id) {
                out.push(Item::Id(id.clone()));
            }
            return;
        }
        if !has_data {
            if let (true, Some(id)) = (id_changed, &self.last_id) {
                out.push(Item::Id(id.clone()));
            }
            return;
        }
        out.push(Item::Event(Event {
            event,
            data,
            id: if id_changed {
                self.last_id.clone()
            } else {
                None
            },
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(items: &[Item]) -> Vec<&Event> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_bom_split_across_chunks_is_skipped() {
        // Found by the sse fuzz target (fuzz/regressions/sse/): the first line was lost.
        let mut p = Parser::new(0);
        assert!(p.feed(b"\xEF").is_empty());
        assert!(p.feed(b"\xBB").is_empty());
        let items = p.feed(b"\xBFid: 1\ndata: x\n\n");
        assert_eq!(events(&items)[0].id.as_deref(), Some("1"));
        // Bytes that only begin like a BOM are the first line's.
        let mut p = Parser::new(0);
        assert!(p.feed(b"\xEF").is_empty());
        let items = p.feed(b"\xBBdata: x\n\ndata: y\n\n");
        assert_eq!(events(&items).len(), 1);
        assert_eq!(events(&items)[0].data, "y");
    }

    #[test]
    fn basic_event_with_id() {
        let mut p = Parser::new(0);
        let items = p.feed(b"id: 7\nevent: message\ndata: {\"a\":1}\n\n");
        assert_eq!(
            items,
            vec![Item::Event(Event {
                event: "message".into(),
                data: "{\"a\":1}".into(),
                id: Some("7".into())
            })]
        );
        assert_eq!(p.last_id(), Some("7"));
    }

    #[test]
    fn multi_line_data_and_line_endings() {
        for input in [
            &b"data: one\r\ndata: two\r\n\r\n"[..],
            b"data: one\rdata: two\r\r",
            b"data: one\ndata: two\n\n",
            b"data:one\ndata:two\n\n",
        ] {
            let mut p = Parser::new(0);
            let items = p.feed(input);
            assert_eq!(events(&items).len(), 1, "{input:?}");
            assert_eq!(events(&items)[0].data, "one\ntwo", "{input:?}");
        }
    }

    #[test]
    fn chunks_split_anywhere_give_the_same_events() {
        let input = b"\xEF\xBB\xBF: comment\r\nid: a\r\ndata: x\r\n\r\nretry: 250\r\ndata: y\r\ndata:  z\r\n\r\n";
        let mut whole = Parser::new(0);
        let expected = whole.feed(input);
        assert_eq!(
            expected,
            vec![
                Item::Event(Event {
                    event: String::new(),
                    data: "x".into(),
                    id: Some("a".into())
                }),
                Item::Retry(250),
                Item::Event(Event {
                    event: String::new(),
                    data: "y\n z".into(),
                    id: None
                }),
            ]
        );
        for split in 1..input.len() {
            let mut p = Parser::new(0);
            let mut got = p.feed(&input[..split]);
            got.extend(p.feed(&input[split..]));
            assert_eq!(got, expected, "split at {split}");
        }
        // Byte by byte.
        let mut p = Parser::new(0);
        let got: Vec<Item> = input.iter().flat_map(|b| p.feed(&[*b])).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn priming_event_without_data_updates_the_id() {
        let mut p = Parser::new(0);
        let items = p.feed(b"id: prime-1\nretry: 3000\ndata\n\nid: e2\n\n");
        // `data` with no colon is a data field with an empty value: dispatched, empty.
        assert_eq!(items[0], Item::Retry(3000));
        assert_eq!(events(&items)[0].data, "");
        assert_eq!(items[2], Item::Id("e2".into()));
        assert_eq!(p.last_id(), Some("e2"));
    }

    #[test]
    fn comments_unknown_fields_and_bad_retry_are_ignored() {
        let mut p = Parser::new(0);
        let items = p.feed(b":keepalive\n\nfoo: bar\nretry: 12a\ndata: ok\n\n");
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(events(&items)[0].data, "ok");
    }

    #[test]
    fn id_with_nul_is_ignored_and_empty_id_resets() {
        let mut p = Parser::new(0);
        p.feed(b"id: good\ndata: 1\n\n");
        p.feed(b"id: b\0ad\ndata: 2\n\n");
        assert_eq!(p.last_id(), Some("good"));
        let items = p.feed(b"id\ndata: 3\n\n");
        assert_eq!(events(&items)[0].id.as_deref(), Some(""));
    }

    #[test]
    fn an_event_without_its_blank_line_is_not_dispatched() {
        let mut p = Parser::new(0);
        assert!(p.feed(b"data: partial\n").is_empty());
    }

    #[test]
    fn oversized_events_are_skipped_and_the_stream_goes_on() {
        let mut p = Parser::new(16);
        let items = p.feed(b"id: 1\ndata: 0123456789abcdef\n\ndata: small\n\n");
        assert_eq!(items[0], Item::Id("1".into()));
        assert_eq!(events(&items).len(), 1);
        assert_eq!(events(&items)[0].data, "small");
    }

    #[test]
    fn an_endless_event_keeps_memory_bounded() {
        let mut p = Parser::new(1 << 16);
        assert!(p.feed(b"id: big\ndata: ").is_empty());
        let piece = vec![b'x'; 1 << 14];
        for _ in 0..1024 {
            assert!(p.feed(&piece).is_empty());
            assert!(p.line.capacity() <= 1 << 17, "{}", p.line.capacity());
        }
        let items = p.feed(b"\n\ndata: ok\n\n");
        assert_eq!(items[0], Item::Id("big".into()));
        assert_eq!(events(&items)[0].data, "ok");
        // A line of exactly the limit is kept.
        let mut p = Parser::new(8);
        assert_eq!(events(&p.feed(b"data:12\n\n"))[0].data, "12");
    }
}
