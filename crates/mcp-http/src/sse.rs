//! Server-sent events: the wire format, and response bodies fed by a channel that end after
//! the last event (a request's answer), send keep-alive comments when quiet, and run a guard
//! when the client goes away.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One message for a stream.
#[derive(Clone)]
pub(crate) struct Event {
    /// The SSE event id (legacy streams).
    pub id: Option<String>,
    /// The JSON-RPC message.
    pub data: Arc<[u8]>,
    /// The answer to the stream's request: the stream ends after it.
    pub last: bool,
}

/// Formats one event.
pub(crate) fn format(id: Option<&str>, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 32);
    if let Some(id) = id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(id.as_bytes());
        out.push(b'\n');
    }
    // Our messages are compact JSON (no raw line ends); a line end (CRLF, LF or a lone CR,
    // as readers take them) would start a new field, so split anyway to keep the framing
    // right whatever the payload.
    let mut rest = data;
    loop {
        let end = rest.iter().position(|b| matches!(b, b'\n' | b'\r'));
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&rest[..end.unwrap_or(rest.len())]);
        out.push(b'\n');
        let Some(i) = end else { break };
        let skip = if rest[i..].starts_with(b"\r\n") { 2 } else { 1 };
        rest = &rest[i + skip..];
    }
    out.push(b'\n');
    Bytes::from(out)
}

/// The priming event: an id to resume from and the reconnection delay, with empty data.
pub(crate) fn prime(id: &str, retry: Duration) -> Bytes {
    Bytes::from(format!(
        "id: {id}\nretry: {}\ndata: \n\n",
        retry.as_millis()
    ))
}

/// Runs when a stream's body is dropped (finished, or the client went away).
pub(crate) trait OnClose: Send + 'static {
    /// `finished`: the last event was sent.
    fn closed(&mut self, finished: bool);
}

struct Feed<G: OnClose> {
    rx: mpsc::Receiver<Event>,
    guard: G,
    finished: bool,
    keepalive: Duration,
    head: Option<Bytes>,
}

impl<G: OnClose> Drop for Feed<G> {
    fn drop(&mut self) {
        self.guard.closed(self.finished);
    }
}

/// An SSE response whose events come from `rx`; `head` is sent first (priming, replayed
/// events).
pub(crate) fn response<G: OnClose>(
    rx: mpsc::Receiver<Event>,
    head: Option<Bytes>,
    keepalive: Duration,
    guard: G,
) -> Response {
    let feed = Feed {
        rx,
        guard,
        finished: false,
        keepalive,
        head,
    };
    let stream = futures_util::stream::unfold(feed, |mut f| async move {
        if let Some(h) = f.head.take() {
            return Some((Ok::<Bytes, std::convert::Infallible>(h), f));
        }
        if f.finished {
            return None;
        }
        tokio::select! {
            ev = f.rx.recv() => {
                let ev = ev?;
                f.finished = ev.last;
                Some((Ok(format(ev.id.as_deref(), &ev.data)), f))
            }
            _ = tokio::time::sleep(f.keepalive) => Some((Ok(Bytes::from_static(b":\n\n")), f)),
        }
    });
    let mut r = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_are_framed() {
        assert_eq!(
            &super::format(Some("1-2"), b"{}")[..],
            b"id: 1-2\ndata: {}\n\n"
        );
        assert_eq!(&super::format(None, b"a\nb")[..], b"data: a\ndata: b\n\n");
        let p = super::prime("3-0", std::time::Duration::from_millis(1500));
        assert_eq!(&p[..], b"id: 3-0\nretry: 1500\ndata: \n\n");
    }

    #[test]
    fn no_line_end_in_the_data_ends_the_event() {
        // A lone CR and CRLF end a line for a reader too: no field can be smuggled in
        // (found by the sse fuzz target; fuzz/regressions/sse/).
        assert_eq!(
            &super::format(None, b"a\r\revent: x\r\nb")[..],
            b"data: a\ndata: \ndata: event: x\ndata: b\n\n"
        );
    }
}
