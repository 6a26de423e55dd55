//! The one writer of a connection.
//!
//! Every sender serialises its message straight into a shared buffer under a short lock;
//! a single task swaps the buffer out and writes it with one `write_all` and one flush. So a
//! burst of messages costs one system call, and no message allocates on its own.

use std::sync::Mutex;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

#[derive(Default)]
struct State {
    data: Vec<u8>,
    closed: bool,
}

/// A buffer of outgoing frames shared by all senders of one connection.
pub(crate) struct Outbox {
    state: Mutex<State>,
    notify: Notify,
    /// Most bytes waiting for the peer to read them; beyond, the connection is closed.
    limit: usize,
}

/// The connection is closed: nothing more can be sent.
#[derive(Debug, Clone, Copy)]
pub struct Closed;

impl Outbox {
    /// An outbox that holds at most `limit` unwritten bytes.
    pub(crate) fn new(limit: usize) -> Outbox {
        Outbox {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            limit,
        }
    }

    /// Appends one frame written by `write` (which must not write a newline) and wakes the
    /// writer.
    pub(crate) fn push(&self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), Closed> {
        {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if st.closed {
                return Err(Closed);
            }
            let before = st.data.len();
            write(&mut st.data);
            if st.data.len() == before {
                return Ok(());
            }
            st.data.push(b'\n');
            if st.data.len() > self.limit {
                // The peer stopped reading: give up on it rather than buffer without bound.
                tracing::warn!(
                    bytes = st.data.len(),
                    "the peer is not reading its input; closing the connection"
                );
                st.data.clear();
                st.closed = true;
                drop(st);
                self.notify.notify_one();
                return Err(Closed);
            }
        }
        self.notify.notify_one();
        Ok(())
    }

    /// Marks the outbox closed: what is queued is still written, then the stream is shut.
    pub(crate) fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        self.notify.notify_one();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).closed
    }

    /// Writes queued frames until closed or the stream fails.
    pub(crate) async fn run<W: AsyncWrite + Unpin>(&self, mut w: W) {
        let mut local = Vec::with_capacity(64 * 1024);
        loop {
            let closed = {
                let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                std::mem::swap(&mut st.data, &mut local);
                st.closed
            };
            if local.is_empty() {
                if closed {
                    break;
                }
                self.notify.notified().await;
                continue;
            }
            if w.write_all(&local).await.is_err() || w.flush().await.is_err() {
                tracing::debug!("output stream failed; closing the connection's writer");
                self.close();
                break;
            }
            local.clear();
        }
        let _ = w.shutdown().await;
    }
}

/// Where an outgoing message belongs. Byte streams ignore it; message transports (HTTP) use
/// it to pick the response stream a message rides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The answer to the incoming request with this id.
    Response(mcp_proto::RequestId),
    /// A request or notification made while serving the incoming request with this id (a
    /// tool call's sampling request or progress).
    Related(mcp_proto::RequestId),
    /// Anything else.
    Unrelated,
}

/// Name/value pairs that the engine hands a message transport without reading them: for one
/// request ([`crate::RequestOptions::hints`]) or for every later message of the connection
/// ([`crate::Peer::set_transport_hints`]). What they mean is between the transport and the
/// code that sets them (the HTTP client transport sends them as headers). Byte streams
/// ignore them.
pub type Hints = Vec<(String, String)>;

/// The output of a message transport: whole messages (one JSON text each, no newline) with
/// their route.
pub trait MessageSink: Send + Sync + 'static {
    /// Sends one message; `Err` when the transport is closed. `hints` are those of the
    /// request this message is (empty for anything else).
    fn send(
        &self,
        message: Vec<u8>,
        route: Route,
        hints: &[(String, String)],
    ) -> Result<(), Closed>;
    /// Closes the output: nothing more is sent.
    fn close(&self);
    /// Whether the output is closed.
    fn is_closed(&self) -> bool;
    /// The incoming request `id` ended without an answer (the peer cancelled it): whatever
    /// waits for its answer can stop waiting.
    fn request_ended(&self, _id: &mcp_proto::RequestId) {}
    /// Hints for every later message, replacing earlier ones (see [`Hints`]).
    fn set_hints(&self, _hints: Hints) {}
}

/// A connection's output: a byte stream's shared buffer, or a message sink.
pub(crate) enum Out {
    Stream(Outbox),
    Messages(std::sync::Arc<dyn MessageSink>),
}

impl Out {
    pub(crate) fn push(
        &self,
        route: Route,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), Closed> {
        self.push_hinted(route, &[], write)
    }

    /// Like `push`, for a request with transport hints.
    pub(crate) fn push_hinted(
        &self,
        route: Route,
        hints: &[(String, String)],
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), Closed> {
        match self {
            Out::Stream(o) => o.push(write),
            Out::Messages(sink) => {
                let mut buf = Vec::with_capacity(128);
                write(&mut buf);
                if buf.is_empty() {
                    return Ok(());
                }
                sink.send(buf, route, hints)
            }
        }
    }

    pub(crate) fn set_hints(&self, hints: Hints) {
        if let Out::Messages(s) = self {
            s.set_hints(hints)
        }
    }

    pub(crate) fn close(&self) {
        match self {
            Out::Stream(o) => o.close(),
            Out::Messages(s) => s.close(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Out::Stream(o) => o.is_closed(),
            Out::Messages(s) => s.is_closed(),
        }
    }

    pub(crate) fn request_ended(&self, id: &mcp_proto::RequestId) {
        if let Out::Messages(s) = self {
            s.request_ended(id)
        }
    }
}
