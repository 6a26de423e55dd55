//! Newline-delimited framing with a size limit.
//!
//! A frame longer than the limit is skipped up to its newline and reported as
//! [`Frame::Oversized`], so one bad message costs its sender an error, not the connection.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The default largest frame: 8 MiB (images in sampling messages are base64).
pub const DEFAULT_MAX_FRAME: usize = 8 * 1024 * 1024;

/// One frame read from the stream.
#[derive(Debug, PartialEq)]
pub enum Frame<'a> {
    /// A line, without its newline (and without a trailing `\r`).
    Line(&'a [u8]),
    /// A line longer than the limit, skipped; carries its length.
    Oversized(usize),
}

/// Reads newline-delimited frames from a byte stream.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    scanned: usize,
    max: usize,
    skipping: Option<usize>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader that refuses frames longer than `max` bytes.
    pub fn new(inner: R, max: usize) -> Self {
        FrameReader {
            inner,
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            scanned: 0,
            max,
            skipping: None,
            eof: false,
        }
    }

    /// Whether a complete frame is already buffered (no read needed to return it).
    pub fn has_buffered_frame(&self) -> bool {
        memchr::memchr(b'\n', &self.buf[self.start..self.end]).is_some()
    }

    /// The next frame, or `None` at end of stream. Blank lines are skipped. A last line
    /// without a newline is returned as a frame.
    pub async fn next(&mut self) -> std::io::Result<Option<Frame<'_>>> {
        Ok(match self.next_span().await? {
            None => None,
            Some(Span::Oversized(n)) => Some(Frame::Oversized(n)),
            Some(Span::Line(s, e)) => Some(Frame::Line(&self.buf[s..e])),
        })
    }

    async fn next_span(&mut self) -> std::io::Result<Option<Span>> {
        loop {
            if let Some(rel) = memchr::memchr(b'\n', &self.buf[self.scanned..self.end]) {
                let nl = self.scanned + rel;
                let (s, e) = (self.start, nl);
                self.start = nl + 1;
                self.scanned = self.start;
                if let Some(skipped) = self.skipping.take() {
                    return Ok(Some(Span::Oversized(skipped + (e - s))));
                }
                if e - s > self.max {
                    return Ok(Some(Span::Oversized(e - s)));
                }
                match trim(&self.buf, s, e) {
                    Some((s, e)) => return Ok(Some(Span::Line(s, e))),
                    None => continue,
                }
            }
            self.scanned = self.end;
            if self.eof {
                return Ok(if self.start < self.end || self.skipping.is_some() {
                    self.finish()
                } else {
                    None
                });
            }
            let pending = self.end - self.start;
            if pending > self.max {
                // Too long already: forget what we have, remember how much, and skip on.
                *self.skipping.get_or_insert(0) += pending;
                self.start = 0;
                self.end = 0;
                self.scanned = 0;
            } else if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.scanned -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let grown = (self.buf.len() * 2).min(self.max + 2).max(self.end + 4096);
                self.buf.resize(grown, 0);
            }
            let n = self.inner.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
    }

    fn finish(&mut self) -> Option<Span> {
        let (s, e) = (self.start, self.end);
        self.start = e;
        self.scanned = e;
        if let Some(skipped) = self.skipping.take() {
            return Some(Span::Oversized(skipped + (e - s)));
        }
        if e - s > self.max {
            return Some(Span::Oversized(e - s));
        }
        trim(&self.buf, s, e).map(|(s, e)| Span::Line(s, e))
    }
}

enum Span {
    Line(usize, usize),
    Oversized(usize),
}

/// The span of `buf[s..e]` without surrounding blanks (and `\r`), or `None` if blank.
fn trim(buf: &[u8], mut s: usize, mut e: usize) -> Option<(usize, usize)> {
    while e > s && matches!(buf[e - 1], b'\r' | b' ' | b'\t') {
        e -= 1;
    }
    while s < e && matches!(buf[s], b' ' | b'\t') {
        s += 1;
    }
    (s < e).then_some((s, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize, chunk: usize) -> Vec<String> {
        let (mut w, r) = tokio::io::duplex(chunk.max(1));
        let data = input.to_vec();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for c in data.chunks(chunk.max(1)) {
                w.write_all(c).await.unwrap();
            }
        });
        let mut fr = FrameReader::new(r, max);
        fr.buf = vec![0; 8];
        let mut out = Vec::new();
        while let Some(f) = fr.next().await.unwrap() {
            out.push(match f {
                Frame::Line(l) => String::from_utf8_lossy(l).into_owned(),
                Frame::Oversized(n) => format!("<oversized {n}>"),
            });
        }
        writer.await.unwrap();
        out
    }

    #[tokio::test]
    async fn splits_at_every_chunk_size() {
        let input = b"{\"a\":1}\n\r\n{\"b\":2}\r\n  \n{\"c\":3}";
        for chunk in 1..input.len() + 1 {
            assert_eq!(
                frames(input, 100, chunk).await,
                ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"],
                "chunk {chunk}"
            );
        }
    }

    #[tokio::test]
    async fn skips_oversized_frames_and_goes_on() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend(b"\nafter\n");
        for chunk in [1, 7, 64, 1000] {
            assert_eq!(
                frames(&input, 20, chunk).await,
                ["short", "<oversized 100>", "after"],
                "chunk {chunk}"
            );
        }
    }
}
