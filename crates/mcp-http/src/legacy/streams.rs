//! The streams of one session: each request's events, in order, kept for resumption.
//!
//! A request's stream is numbered within the session; its events have the id `STREAM-SEQ`.
//! With replicas, each replica numbers its streams from its own base (`replica << 32`), so a
//! stream's number tells which replica runs it, and the standalone stream (0) lives in the
//! shared store, not here.

use crate::sse::Event;
use mcp_proto::RequestId;
use mcp_rpc::Route;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;

pub(super) const STANDALONE: u64 = 0;
/// Finished streams kept for resumption, per session.
pub(super) const KEEP_FINISHED: usize = 16;

#[derive(Default)]
pub(super) struct Stream {
    /// (seq, message, last) in order; seq 0 is the priming event and never stored.
    events: VecDeque<(u64, Arc<[u8]>, bool)>,
    next_seq: u64,
    /// The highest seq handed to a listening client.
    pub(super) sent_upto: u64,
    pub(super) live: Option<mpsc::Sender<Event>>,
    /// Which attachment `live` belongs to.
    generation: u64,
    done: bool,
}

pub(super) struct Streams {
    cap: usize,
    pub(super) by_request: HashMap<RequestId, u64>,
    pub(super) list: HashMap<u64, Stream>,
    next: u64,
    finished: VecDeque<u64>,
}

pub(super) enum AttachError {
    Unknown,
    Busy,
    Lost,
    /// The id is past anything the stream sent.
    Ahead,
}

/// Where an event went.
pub(super) enum Pushed {
    /// Stored in stream `sid` as event `seq` (`last`: the stream's answer).
    Stored { sid: u64, seq: u64, last: bool },
    /// For the standalone stream, which this session does not keep (replicas share it).
    Standalone,
    /// Nowhere (the session is ending).
    Dropped,
}

impl Streams {
    /// Streams numbered from `base + 1`; with `standalone` the standalone stream is kept here.
    pub(super) fn new(cap: usize, base: u64, standalone: bool) -> Streams {
        let mut list = HashMap::new();
        if standalone {
            let s = Stream {
                next_seq: 1,
                ..Default::default()
            };
            list.insert(STANDALONE, s);
        }
        Streams {
            cap,
            by_request: HashMap::new(),
            list,
            next: base + 1,
            finished: VecDeque::new(),
        }
    }

    /// A new stream for request `id`, listened to through `tx`.
    pub(super) fn open(&mut self, id: RequestId, tx: mpsc::Sender<Event>) -> u64 {
        let sid = self.next;
        self.next += 1;
        self.by_request.insert(id, sid);
        let s = Stream {
            next_seq: 1,
            live: Some(tx),
            generation: 1,
            ..Default::default()
        };
        self.list.insert(sid, s);
        sid
    }

    fn target(&mut self, route: Route) -> (u64, bool) {
        let (sid, last) = match route {
            Route::Response(id) => match self.by_request.remove(&id) {
                Some(s) => (s, true),
                None => (STANDALONE, false),
            },
            Route::Related(id) => (
                self.by_request.get(&id).copied().unwrap_or(STANDALONE),
                false,
            ),
            Route::Unrelated => (STANDALONE, false),
        };
        if self.list.contains_key(&sid) {
            (sid, last)
        } else {
            (STANDALONE, false)
        }
    }

    pub(super) fn push(&mut self, route: Route, data: Arc<[u8]>) -> Pushed {
        let (sid, last) = self.target(route);
        let cap = self.cap;
        let Some(s) = self.list.get_mut(&sid) else {
            return if sid == STANDALONE {
                Pushed::Standalone
            } else {
                Pushed::Dropped
            };
        };
        let seq = s.next_seq;
        s.next_seq += 1;
        s.events.push_back((seq, data.clone(), last));
        if s.events.len() > cap {
            s.events.pop_front();
        }
        if let Some(tx) = &s.live {
            let ev = Event {
                id: Some(format!("{sid}-{seq}")),
                data,
                last,
            };
            match tx.try_send(ev) {
                Ok(()) => s.sent_upto = seq,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // The client reads slower than we write: end its stream (it has what
                    // was queued) rather than buffer without bound; it resumes from the store.
                    tracing::debug!(
                        stream = sid,
                        "slow reader: stream cut, events kept for resumption"
                    );
                    s.live = None;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => s.live = None,
            }
        }
        if last {
            s.done = true;
            self.finish(sid);
        }
        Pushed::Stored { sid, seq, last }
    }

    fn finish(&mut self, sid: u64) {
        self.finished.push_back(sid);
        if self.finished.len() > KEEP_FINISHED {
            if let Some(old) = self.finished.pop_front() {
                self.list.remove(&old);
            }
        }
    }

    /// Attaches a listener to stream `sid`, replaying what came after `after` (default: what
    /// no listener has had). Returns the attachment's generation.
    pub(super) fn attach(
        &mut self,
        sid: u64,
        after: Option<u64>,
        tx: mpsc::Sender<Event>,
    ) -> Result<u64, AttachError> {
        let s = self.list.get_mut(&sid).ok_or(AttachError::Unknown)?;
        if s.live.as_ref().is_some_and(|l| !l.is_closed()) {
            return Err(AttachError::Busy);
        }
        let after = after.unwrap_or(s.sent_upto);
        if after >= s.next_seq {
            // Never sent: not an id this stream gave out.
            return Err(AttachError::Ahead);
        }
        // Events after `after` that the store no longer has: resuming would skip them.
        let oldest = s.events.front().map_or(s.next_seq, |e| e.0);
        if after.saturating_add(1) < oldest {
            return Err(AttachError::Lost);
        }
        for (seq, data, last) in s.events.iter().filter(|e| e.0 > after) {
            let ev = Event {
                id: Some(format!("{sid}-{seq}")),
                data: data.clone(),
                last: *last,
            };
            // The channel holds twice the store: a replay always fits.
            let _ = tx.try_send(ev);
            s.sent_upto = s.sent_upto.max(*seq);
        }
        s.generation += 1;
        // A finished stream ends once replayed; a live one keeps the listener.
        s.live = (!s.done).then_some(tx);
        Ok(s.generation)
    }

    pub(super) fn detach(&mut self, sid: u64, generation: u64) {
        if let Some(s) = self.list.get_mut(&sid) {
            if s.generation == generation {
                s.live = None;
            }
        }
    }

    /// Another replica took over stream `sid`'s listener: this one stops sending to it.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn drop_listener(&mut self, sid: u64) {
        if let Some(s) = self.list.get_mut(&sid) {
            s.live = None;
        }
    }

    /// The request was cancelled: its stream ends with no answer (and frees its slot).
    pub(super) fn end_without_answer(&mut self, id: &RequestId) {
        let Some(sid) = self.by_request.remove(id) else {
            return;
        };
        if let Some(s) = self.list.get_mut(&sid) {
            s.done = true;
            s.live = None;
        }
        self.finish(sid);
    }

    pub(super) fn open_streams(&self) -> usize {
        self.by_request.len()
            + usize::from(self.list.get(&STANDALONE).is_some_and(|s| s.live.is_some()))
    }

    /// Whether any client listens to any stream.
    pub(super) fn heard(&self) -> bool {
        self.list.values().any(|st| st.live.is_some())
    }

    /// Drops every listener (the session ends, or the server stops).
    pub(super) fn silence(&mut self) {
        for s in self.list.values_mut() {
            s.live = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{listener, parse_event_id};
    use super::*;

    fn data(s: &str) -> Arc<[u8]> {
        s.as_bytes().into()
    }

    #[test]
    fn events_route_to_their_request_stream_and_replay_after_an_id() {
        let mut st = Streams::new(8, 0, true);
        let (tx, mut rx) = listener(8);
        let sid = st.open(RequestId::Number(7), tx);
        st.push(Route::Related(RequestId::Number(7)), data("sampling"));
        st.push(Route::Unrelated, data("other"));
        assert_eq!(
            rx.try_recv().ok().and_then(|e| e.id),
            Some(format!("{sid}-1"))
        );
        // The client goes away; the answer is stored, then replayed after event 1.
        st.detach(sid, 1);
        st.push(Route::Response(RequestId::Number(7)), data("answer"));
        let (tx2, mut rx2) = listener(8);
        assert!(
            matches!(st.attach(sid, Some(1), tx2), Ok(2)),
            "a second attachment"
        );
        let ev = rx2.try_recv().ok().unwrap();
        assert!(ev.last && &*ev.data == b"answer");
        assert!(rx2.try_recv().is_err());
        // The standalone stream kept the unrelated message for the next GET.
        let (tx3, mut rx3) = listener(8);
        assert!(
            matches!(st.attach(STANDALONE, None, tx3), Ok(1)),
            "the first GET"
        );
        assert_eq!(&*rx3.try_recv().ok().unwrap().data, b"other");
        let (tx4, _rx4) = listener(8);
        assert!(matches!(
            st.attach(STANDALONE, None, tx4),
            Err(AttachError::Busy)
        ));
        let (tx5, _rx5) = listener(8);
        assert!(matches!(
            st.attach(99, None, tx5),
            Err(AttachError::Unknown)
        ));
    }

    #[test]
    fn stores_are_bounded() {
        let mut st = Streams::new(3, 0, true);
        for i in 0..10 {
            st.push(Route::Unrelated, data(&i.to_string()));
        }
        assert_eq!(st.list[&STANDALONE].events.len(), 3);
        for i in 0..(KEEP_FINISHED as i64 + 5) {
            let (tx, _rx) = listener(8);
            st.open(RequestId::Number(i), tx);
            st.push(Route::Response(RequestId::Number(i)), data("a"));
        }
        assert_eq!(st.list.len(), KEEP_FINISHED + 1);
        assert_eq!(parse_event_id("3-14"), Some((3, 14)));
        assert_eq!(parse_event_id("x"), None);
    }

    #[test]
    fn a_replica_numbers_its_streams_from_its_base_and_keeps_no_standalone_stream() {
        let base = 5u64 << crate::shared::REPLICA_SHIFT;
        let mut st = Streams::new(8, base, false);
        let (tx, _rx) = listener(8);
        let sid = st.open(RequestId::Number(1), tx);
        assert_eq!(sid, base + 1);
        assert_eq!(crate::shared::replica_of(sid), 5);
        assert!(matches!(
            st.push(Route::Related(RequestId::Number(1)), data("x")),
            Pushed::Stored {
                seq: 1,
                last: false,
                ..
            }
        ));
        assert!(matches!(
            st.push(Route::Unrelated, data("log")),
            Pushed::Standalone
        ));
        assert!(matches!(
            st.push(Route::Response(RequestId::Number(1)), data("answer")),
            Pushed::Stored {
                seq: 2,
                last: true,
                ..
            }
        ));
    }

    #[test]
    fn an_event_id_past_the_stream_is_refused_not_overflowed() {
        let mut st = Streams::new(8, 0, true);
        st.push(Route::Unrelated, data("a"));
        for after in [2, u64::MAX] {
            let (tx, _rx) = listener(8);
            assert!(matches!(
                st.attach(STANDALONE, Some(after), tx),
                Err(AttachError::Ahead)
            ));
        }
        let (tx, _rx) = listener(8);
        assert!(st.attach(STANDALONE, Some(1), tx).is_ok());
    }
}
