//! NDJSON framing of the stdio transport: [`mcp_rpc::frame::FrameReader`].

use mcp_rpc::frame::{Frame, FrameReader};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, ReadBuf};

/// One frame as the reader gives it, owned.
#[derive(Debug, PartialEq)]
enum Out {
    Line(Vec<u8>),
    Oversized(usize),
}

/// Input bytes handed out in chunks of varying sizes (as a pipe would).
struct Chunked<'a> {
    data: &'a [u8],
    seed: u32,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.seed = self.seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let size = 1 + (self.seed >> 16) as usize % 40;
        let n = size.min(buf.remaining()).min(self.data.len());
        let (now, rest) = self.data.split_at(n);
        buf.put_slice(now);
        self.data = rest;
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (its reader is always ready).
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// What the reader must give: lines split at `\n`, a line longer than `max` (newline
/// excluded) reported by its length, others trimmed of blanks and `\r`, blank ones skipped.
fn expected(data: &[u8], max: usize) -> Vec<Out> {
    let mut lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut out = Vec::new();
    for line in lines {
        if line.len() > max {
            out.push(Out::Oversized(line.len()));
            continue;
        }
        let end = line
            .iter()
            .rposition(|b| !matches!(b, b'\r' | b' ' | b'\t'))
            .map_or(0, |i| i + 1);
        let line = &line[..end];
        let start = line
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t'))
            .unwrap_or(line.len());
        if start < line.len() {
            out.push(Out::Line(line[start..].to_vec()));
        }
    }
    out
}

/// Reads `data` (after two bytes choosing the size limit and the read sizes) through a
/// [`FrameReader`] and checks the frames against a plain model of the framing, whatever
/// sizes the reads come in.
pub fn ndjson(data: &[u8]) {
    let [limit, seed, data @ ..] = data else {
        return;
    };
    let max = if *limit < 200 {
        usize::from(*limit % 50)
    } else {
        mcp_rpc::frame::DEFAULT_MAX_FRAME
    };
    let reader = Chunked {
        data,
        seed: u32::from(*seed),
    };
    let got = ready(async {
        let mut fr = FrameReader::new(reader, max);
        let mut got = Vec::new();
        while let Some(frame) = fr.next().await.expect("reading memory cannot fail") {
            got.push(match frame {
                Frame::Line(l) => Out::Line(l.to_vec()),
                Frame::Oversized(n) => Out::Oversized(n),
            });
            assert!(got.len() <= data.len() + 1, "more frames than bytes");
        }
        got
    });
    assert_eq!(got, expected(data, max), "max {max}");
}
