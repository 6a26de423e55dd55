//! A console's event stream (server-sent events), read event by event.

use serde_json::Value;

/// The stream and what was read of it but not yet used.
pub struct Events(pub reqwest::Response, String);

impl Events {
    /// Opens the stream of the console at `base` (`http://ADDR`).
    pub async fn open(base: &str, token: &str) -> Events {
        let r = reqwest::get(format!("{base}/api/events?token={token}"))
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        Events(r, String::new())
    }

    /// The next event named `name` (others are skipped), as JSON.
    pub async fn next(&mut self, name: &str) -> Value {
        loop {
            while let Some(end) = self.1.find("\n\n") {
                let block: String = self.1.drain(..end + 2).collect();
                let mut event = "message";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event: ") {
                        event = e;
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                if event == name {
                    return serde_json::from_str(&data).unwrap();
                }
            }
            let chunk = self.0.chunk().await.unwrap().expect("the stream ended");
            self.1.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// POSTs `body` as the answer to question `id`.
pub async fn answer(base: &str, token: &str, id: &Value, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/pending/{id}"))
        .header("x-console-token", token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}
