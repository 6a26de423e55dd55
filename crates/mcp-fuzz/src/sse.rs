//! Server-sent events: the parser the Streamable HTTP client reads its streams with
//! ([`mcp_rpc::sse::Parser`]) and the writer of the HTTP server (`mcp_http::fuzzing::sse_event`).

use mcp_rpc::sse::{Event, Item, Parser};

/// Feeds `data` in chunks whose sizes come from `seed`.
fn chunked(p: &mut Parser, mut data: &[u8], seed: u8) -> Vec<Item> {
    let mut out = Vec::new();
    let mut s = u32::from(seed);
    while !data.is_empty() {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (1 + (s >> 16) as usize % 16).min(data.len());
        let (now, rest) = data.split_at(n);
        out.extend(p.feed(now));
        data = rest;
    }
    out
}

/// Two bytes (the event size limit, the chunking), then a stream: the parser gives the same
/// items and last id whatever the chunks; then the rest read as `id`, a newline, `data` and
/// written by the server's writer reads back as one event with that id and data (line ends
/// in the data become `\n`).
pub fn sse(data: &[u8]) {
    let [limit, seed, data @ ..] = data else {
        return;
    };
    let max = usize::from(*limit % 64) * 4;
    let mut whole = Parser::new(max);
    let all = whole.feed(data);
    let mut parts = Parser::new(max);
    let pieces = chunked(&mut parts, data, *seed);
    assert_eq!(all, pieces, "chunking changed the items");
    assert_eq!(whole.last_id(), parts.last_id());
    for item in &all {
        if let Item::Event(e) = item {
            assert!(!e.event.contains(['\r', '\n']) && !e.data.contains('\r'));
            assert!(max == 0 || e.data.len() <= max, "an event over the limit");
        }
    }
    writer_round_trip(data);
}

fn writer_round_trip(data: &[u8]) {
    let (id, body) = crate::split2(data, b'\n');
    let (Ok(id), Ok(body)) = (std::str::from_utf8(id), std::str::from_utf8(body)) else {
        return;
    };
    let id = (!id.is_empty() && !id.contains(['\r', '\n', '\0'])).then_some(id);
    let wire = mcp_http::fuzzing::sse_event(id, body.as_bytes());
    let mut p = Parser::new(0);
    let items = p.feed(&wire);
    let expected = Event {
        event: String::new(),
        data: body.replace("\r\n", "\n").replace('\r', "\n"),
        id: id.map(str::to_owned),
    };
    assert_eq!(items, vec![Item::Event(expected)], "{wire:?}");
}
