//! Helpers for tests: a scripted peer (write raw lines, read parsed JSON back, over a
//! [`Transport`]).

use crate::frame::{Frame, FrameReader};
use crate::transport::{BoxRead, BoxWrite, Transport};
use serde_json::Value;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// One end of a connection driven by hand.
pub struct RawPeer {
    read: FrameReader<BoxRead>,
    write: BoxWrite,
}

impl RawPeer {
    /// Drives the given transport end.
    pub fn new(t: Transport) -> RawPeer {
        RawPeer {
            read: FrameReader::new(t.read, usize::MAX / 4),
            write: t.write,
        }
    }

    /// Writes bytes as they are (add the newline yourself).
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.expect("write");
        self.write.flush().await.expect("flush");
    }

    /// Writes one JSON message and a newline.
    pub async fn send(&mut self, v: Value) {
        let mut line = serde_json::to_vec(&v).expect("json");
        line.push(b'\n');
        self.write_raw(&line).await;
    }

    /// The next message (panics after 10 s of silence, or at end of stream).
    pub async fn recv(&mut self) -> Value {
        self.try_recv(Duration::from_secs(10))
            .await
            .expect("a message within 10 s")
    }

    /// The next message, or `None` if none comes within `wait` (or the stream ends).
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        match tokio::time::timeout(wait, self.read.next()).await {
            Ok(Ok(Some(Frame::Line(l)))) => {
                Some(serde_json::from_slice(l).expect("the peer wrote JSON"))
            }
            Ok(Ok(Some(Frame::Oversized(n)))) => {
                panic!("the peer wrote an oversized frame of {n} bytes")
            }
            _ => None,
        }
    }

    /// Closes our output (the peer sees end of stream).
    pub async fn close(&mut self) {
        let _ = self.write.shutdown().await;
    }
}
