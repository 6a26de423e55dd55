//! Server-sent events: lines split at LF (a CR before it dropped), `data:` lines joined,
//! an empty line ends an event. Only the data matters here.

#[derive(Default)]
pub struct Sse {
    pending: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
}

impl Sse {
    /// Feeds bytes; returns the data of every event they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let end = start + pos;
            let mut line = &self.pending[start..end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if line.is_empty() {
                if self.has_data {
                    events.push(std::mem::take(&mut self.data));
                    self.has_data = false;
                }
            } else if let Some(value) = line.strip_prefix(b"data:") {
                let value = value.strip_prefix(b" ").unwrap_or(value);
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            start = end + 1;
        }
        self.pending.drain(..start);
        events
    }
}

#[cfg(test)]
mod tests {
    use super::Sse;

    #[test]
    fn events_across_pieces() {
        let mut sse = Sse::default();
        assert!(sse.feed(b"id: 1\r\ndata: {\"a\"").is_empty());
        assert_eq!(
            sse.feed(b":1}\r\n\r\ndata:\n\ndata: x\n"),
            vec![b"{\"a\":1}".to_vec(), b"".to_vec()]
        );
        assert_eq!(sse.feed(b"data: y\n\n"), vec![b"x\ny".to_vec()]);
    }
}
