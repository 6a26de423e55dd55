//! One HTTP/1.1 connection: requests written whole, responses read head first, then the body
//! by its framing (length, chunked, or to the end).

use super::sse::Sse;
use crate::BenchError;
use std::collections::VecDeque;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Most bytes of a response head, and of one chunk-size line.
const MAX_HEAD: usize = 64 * 1024;

pub struct Conn {
    io: BufReader<TcpStream>,
}

/// A response's status and headers (names lowercase).
pub struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn expect_ok(&self) -> Result<(), BenchError> {
        match self.status {
            200..=299 => Ok(()),
            s => Err(BenchError::protocol(format!(
                "the server answered HTTP {s}"
            ))),
        }
    }

    fn framing(&self) -> Result<Framing, BenchError> {
        if self
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            return Ok(Framing::Chunked);
        }
        if let Some(len) = self.header("content-length") {
            let len = len
                .trim()
                .parse()
                .map_err(|_| BenchError::protocol("a bad Content-Length"))?;
            return Ok(Framing::Length(len));
        }
        Ok(match self.status {
            204 | 304 => Framing::Length(0),
            _ => Framing::UntilClose,
        })
    }
}

enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

impl Conn {
    /// Connects to 127.0.0.1:port with `TCP_NODELAY`.
    pub async fn open(port: u16) -> Result<Self, BenchError> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            io: BufReader::with_capacity(64 * 1024, stream),
        })
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), BenchError> {
        self.io.get_mut().write_all(bytes).await?;
        Ok(())
    }

    async fn line(&mut self, buf: &mut Vec<u8>) -> Result<(), BenchError> {
        buf.clear();
        let read = (&mut self.io)
            .take(MAX_HEAD as u64)
            .read_until(b'\n', buf)
            .await?;
        if read == 0 {
            return Err(BenchError::Closed);
        }
        if buf.last() != Some(&b'\n') {
            return Err(BenchError::protocol("a response line too long"));
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        Ok(())
    }

    /// Reads a response head.
    pub async fn head(&mut self) -> Result<Head, BenchError> {
        let mut buf = Vec::new();
        self.line(&mut buf).await?;
        let status_line = String::from_utf8_lossy(&buf).into_owned();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| BenchError::protocol(format!("a bad status line: {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            self.line(&mut buf).await?;
            if buf.is_empty() {
                return Ok(Head { status, headers });
            }
            let text = String::from_utf8_lossy(&buf);
            if let Some((k, v)) = text.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
    }

    /// Reads and drops a response body.
    pub async fn skip_body(&mut self, head: &Head) -> Result<(), BenchError> {
        let mut body = Body {
            framing: head.framing()?,
            left: 0,
            done: false,
        };
        while body.piece(self).await?.is_some() {}
        Ok(())
    }
}

/// The body being read.
struct Body {
    framing: Framing,
    /// Bytes left in the current chunk.
    left: u64,
    done: bool,
}

impl Body {
    /// The next piece of the body, `None` at its end.
    async fn piece(&mut self, conn: &mut Conn) -> Result<Option<Vec<u8>>, BenchError> {
        if self.done {
            return Ok(None);
        }
        match self.framing {
            Framing::Length(ref mut left) => {
                if *left == 0 {
                    self.done = true;
                    return Ok(None);
                }
                let piece = read_some(conn, *left).await?.ok_or(BenchError::Closed)?;
                *left -= piece.len() as u64;
                Ok(Some(piece))
            }
            Framing::UntilClose => {
                let piece = read_some(conn, u64::MAX).await?;
                self.done = piece.is_none();
                Ok(piece)
            }
            Framing::Chunked => self.chunk_piece(conn).await,
        }
    }

    async fn chunk_piece(&mut self, conn: &mut Conn) -> Result<Option<Vec<u8>>, BenchError> {
        let mut line = Vec::new();
        if self.left == 0 {
            conn.line(&mut line).await?;
            let size = String::from_utf8_lossy(&line);
            let size = size.split(';').next().unwrap_or("").trim();
            self.left = u64::from_str_radix(size, 16)
                .map_err(|_| BenchError::protocol(format!("a bad chunk size: {size:?}")))?;
            if self.left == 0 {
                // The trailer section ends with an empty line.
                loop {
                    conn.line(&mut line).await?;
                    if line.is_empty() {
                        self.done = true;
                        return Ok(None);
                    }
                }
            }
        }
        let piece = read_some(conn, self.left)
            .await?
            .ok_or(BenchError::Closed)?;
        self.left -= piece.len() as u64;
        if self.left == 0 {
            conn.line(&mut line).await?; // the CRLF after the chunk's data
        }
        Ok(Some(piece))
    }
}

/// Whatever is buffered or arrives next, at most `max` bytes; `None` at the end of the stream.
async fn read_some(conn: &mut Conn, max: u64) -> Result<Option<Vec<u8>>, BenchError> {
    let buf = conn.io.fill_buf().await?;
    if buf.is_empty() {
        return Ok(None);
    }
    let take = buf.len().min(usize::try_from(max).unwrap_or(usize::MAX));
    let piece = buf[..take].to_vec();
    conn.io.consume(take);
    Ok(Some(piece))
}

/// The messages of a response body: the body itself when it is JSON, else its SSE events' data.
pub struct Events {
    conn: Conn,
    body: Body,
    sse: Option<Sse>,
    ready: VecDeque<Vec<u8>>,
    json: Vec<u8>,
}

impl Events {
    pub fn new(conn: Conn, head: Head) -> Self {
        let is_sse = head
            .header("content-type")
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let body = match head.framing() {
            Ok(f) => Body {
                framing: f,
                left: 0,
                done: false,
            },
            Err(_) => Body {
                framing: Framing::UntilClose,
                left: 0,
                done: false,
            },
        };
        Self {
            conn,
            body,
            sse: is_sse.then(Sse::default),
            ready: VecDeque::new(),
            json: Vec::new(),
        }
    }

    /// The next message; `Closed` when the body ends without one.
    pub async fn next(&mut self) -> Result<Vec<u8>, BenchError> {
        loop {
            if let Some(msg) = self.ready.pop_front() {
                return Ok(msg);
            }
            let piece = self.body.piece(&mut self.conn).await?;
            match (&mut self.sse, piece) {
                (Some(sse), Some(piece)) => {
                    // Events without data (a priming event) carry no message.
                    let events = sse.feed(&piece).into_iter();
                    self.ready
                        .extend(events.filter(|d| d.iter().any(|b| !b.is_ascii_whitespace())))
                }
                (None, Some(piece)) => self.json.extend_from_slice(&piece),
                (None, None) if !self.json.is_empty() => {
                    self.ready.push_back(std::mem::take(&mut self.json))
                }
                (_, None) => return Err(BenchError::Closed),
            }
        }
    }
}
