//! The user's side of the authorization code flow: a loopback redirect listener
//! (RFC 8252 §7.3: `http://127.0.0.1:PORT/callback`) that takes the one redirect carrying the
//! authorization response, and the [`UserAgent`] that goes to the authorization URL: the
//! user's browser ([`Browser`]), or a script that follows the redirects itself
//! ([`Scripted`], for tests and authorization servers that approve without a person).

use super::AuthError;
use crate::http::auth::AuthFuture;
use reqwest::Url;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request head the listener reads.
const MAX_HEAD: usize = 16 * 1024;

/// Goes to the authorization URL on the user's behalf (the listener waits for the redirect).
pub trait UserAgent: Send + Sync {
    /// Opens `url`; returns once it is on its way (the flow then waits for the redirect).
    fn open<'a>(&'a self, url: &'a Url) -> AuthFuture<'a, Result<(), AuthError>>;
}

/// The user's browser: the URL is printed on standard error and opened with the system's
/// opener (`xdg-open`, `open`), if there is one.
pub struct Browser;

impl UserAgent for Browser {
    fn open<'a>(&'a self, url: &'a Url) -> AuthFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            eprintln!("Authorize in your browser (it should open by itself):\n  {url}");
            let opener = if cfg!(target_os = "macos") {
                "open"
            } else {
                "xdg-open"
            };
            let spawned = std::process::Command::new(opener)
                .arg(url.as_str())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            if let Err(e) = spawned {
                tracing::debug!("cannot start {opener}: {e}; open the URL by hand");
            }
            Ok(())
        })
    }
}

/// A user agent that GETs the authorization URL and follows its redirects (at most 10),
/// as a browser would with a user who approves: for tests, and for authorization servers
/// that approve without asking anyone.
pub struct Scripted {
    http: reqwest::Client,
}

impl Scripted {
    /// A scripted user agent.
    pub fn new() -> Result<Scripted, AuthError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| AuthError::Http(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Scripted { http })
    }
}

impl UserAgent for Scripted {
    fn open<'a>(&'a self, url: &'a Url) -> AuthFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            let resp =
                self.http.get(url.clone()).send().await.map_err(|e| {
                    AuthError::Http(format!("GET {url}: {}", super::fetch::chain(&e)))
                })?;
            // Not the URL it stopped at: the redirect carries the authorization code.
            tracing::debug!(status = %resp.status(), "the user agent stopped");
            Ok(())
        })
    }
}

/// The loopback listener for one authorization response.
pub(crate) struct Loopback {
    listener: TcpListener,
    redirect: String,
}

impl Loopback {
    /// Listens on `127.0.0.1:port` (0: a free port).
    pub async fn bind(port: u16) -> Result<Loopback, AuthError> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| AuthError::Http(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| AuthError::Http(e.to_string()))?
            .port();
        Ok(Loopback {
            listener,
            redirect: format!("http://127.0.0.1:{port}/callback"),
        })
    }

    /// The redirect URI to give the authorization server.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect
    }

    /// Waits (at most `limit`) for the redirect to `/callback` and returns its query
    /// parameters. Other paths (a browser's `/favicon.ico`) get a 404 and are waited past.
    pub async fn wait(&self, limit: Duration) -> Result<Vec<(String, String)>, AuthError> {
        let accept = async {
            loop {
                let (stream, _) =
                    self.listener.accept().await.map_err(|e| {
                        AuthError::Http(format!("the redirect listener failed: {e}"))
                    })?;
                if let Some(params) = serve(stream).await {
                    return Ok(params);
                }
            }
        };
        tokio::time::timeout(limit, accept).await.map_err(|_| {
            AuthError::Denied(format!(
                "no authorization response reached {} within {} s",
                self.redirect,
                limit.as_secs()
            ))
        })?
    }
}

/// Reads one request; `Some(query)` if it was `GET /callback?...`, answered with a page
/// telling the user to go back to the terminal.
async fn serve(mut stream: TcpStream) -> Option<Vec<(String, String)>> {
    let head = tokio::time::timeout(Duration::from_secs(10), read_head(&mut stream))
        .await
        .ok()??;
    let line = head.lines().next()?;
    let mut words = line.split(' ');
    let (method, target) = (words.next()?, words.next()?);
    let url = Url::parse("http://127.0.0.1").ok()?.join(target).ok()?;
    let ours = method == "GET" && url.path() == "/callback";
    let (status, body) = if ours {
        (
            "200 OK",
            "Authorization received: you can close this page and go back to the terminal.",
        )
    } else {
        ("404 Not Found", "Not found.")
    };
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\ncache-control: no-store\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
    ours.then(|| url.query_pairs().into_owned().collect())
}

/// The request head (up to the blank line), if it comes whole within [`MAX_HEAD`] bytes.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > MAX_HEAD {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(buf).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn send(port: u16, bytes: &[u8]) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _ = s.write_all(bytes).await;
        let _ = s.shutdown().await;
    }

    /// Garbage, an oversized head, a closed connection and another path are answered or
    /// dropped; the listener goes on to the one redirect that counts.
    #[tokio::test]
    async fn only_the_callback_counts_and_garbage_does_not_stop_it() {
        let lb = Loopback::bind(0).await.unwrap();
        let port: u16 = lb.redirect_uri()["http://127.0.0.1:".len()..]
            .trim_end_matches("/callback")
            .parse()
            .unwrap();
        let waiting = tokio::spawn(async move { lb.wait(Duration::from_secs(20)).await });
        send(port, b"\x00\xff garbage\r\n\r\n").await;
        send(port, &vec![b'a'; 40 * 1024]).await;
        send(port, b"GET /call").await;
        send(port, b"GET /favicon.ico HTTP/1.1\r\n\r\n").await;
        send(port, b"POST /callback?code=x HTTP/1.1\r\n\r\n").await;
        send(
            port,
            b"GET /callback?code=c&state=s%20t HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
        let params = waiting.await.unwrap().unwrap();
        assert_eq!(
            params,
            vec![
                ("code".to_owned(), "c".to_owned()),
                ("state".to_owned(), "s t".to_owned())
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_redirect_in_time_is_a_clear_error() {
        let lb = Loopback::bind(0).await.unwrap();
        let e = lb.wait(Duration::from_secs(300)).await.unwrap_err();
        assert!(e.to_string().contains("no authorization response"), "{e}");
    }
}
