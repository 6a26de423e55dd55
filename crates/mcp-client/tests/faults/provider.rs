//! A provider that keeps failing: the tool call through the host ends, and on the legacy era
//! the server receives the provider's error as the sampling request's error.

use crate::{args, bounded};
use mcp_client::{Client, ClientError, ClientOptions, EraChoice, SamplingError};
use mcp_host::approval::{Approval, Mode};
use mcp_host::routing::catalog_entry;
use mcp_host::Host;
use mcp_llm::{HttpConfig, OpenAi};
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Q {
    q: String,
}

/// Samples once; the tool's text says what the server got back.
async fn ask(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    match ctx.sample(Sampling::user(a.q).max_tokens(5)).await {
        Ok(r) => Ok(format!("reply: {}", r.text())),
        Err(e) => Err(ToolError::failed(format!("server saw: {e}"))),
    }
}

/// An HTTP endpoint that answers every request `503` with an OpenAI-style error body, or
/// (`stall`) never answers and holds the connection until the client closes it; counts the
/// requests. Returns its base URL.
async fn failing_provider(count: Arc<AtomicUsize>, stall: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                // The head, then the body by its length.
                let (head_end, length) = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (i + 4, length);
                    }
                    if matches!(stream.read_buf(&mut buf).await, Ok(0) | Err(_)) {
                        return;
                    }
                };
                while buf.len() < head_end + length {
                    if matches!(stream.read_buf(&mut buf).await, Ok(0) | Err(_)) {
                        return;
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                if stall {
                    while !matches!(stream.read_buf(&mut buf).await, Ok(0) | Err(_)) {}
                    return;
                }
                let body = r#"{"error":{"message":"overloaded","type":"server_error"}}"#;
                let reply = format!(
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    base
}

async fn connect(era: EraChoice, host: Arc<Host>) -> Client {
    let (a, b) = mcp_rpc::memory();
    let server = Server::builder("asker")
        .tool("ask", "asks once", ask)
        .build();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let options = ClientOptions {
        era,
        ..Default::default()
    };
    Client::connect(b, host, options).await.expect("connect")
}

#[tokio::test]
async fn a_failing_provider_ends_the_tool_call_on_both_eras() {
    let count = Arc::new(AtomicUsize::new(0));
    let base = failing_provider(count.clone(), false).await;
    let provider = OpenAi::new(HttpConfig::new(base))
        .with_retries(2)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20));
    let host = Arc::new(
        Host::builder()
            .approval(Approval::new(Mode::Auto, vec![], None))
            .provider(Arc::new(provider), vec![catalog_entry("openai", "m")])
            .build()
            .expect("the host builds"),
    );
    let expected = "sampling failed: the openai API answered 503: overloaded";

    let legacy = connect(EraChoice::Legacy, host.clone()).await;
    let r = bounded(legacy.call_tool("ask", args("hi"))).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(
        r.text_content(),
        format!("server saw: the client failed the sampling request: {expected} (code -32603)"),
        "the server got the provider's error as the sampling request's error"
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "one attempt and two retries"
    );

    // Modern: the client answers the server's input request itself; a failed sampling ends
    // the call on the client's side (it is not retried), with the provider's error.
    let modern = connect(EraChoice::Modern, host).await;
    let e = bounded(modern.call_tool("ask", args("hi")))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Sampling(SamplingError::Failed(m)) if m.contains("answered 503: overloaded")),
        "{e:?}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 6);
}

/// Fails the test if `fut` has not ended after an hour of the paused clock (an instant).
async fn within_an_hour<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(3600), fut)
        .await
        .expect("not ended within an hour")
}

#[tokio::test(start_paused = true)]
async fn a_stalled_provider_ends_the_tool_call_at_its_timeout_on_both_eras() {
    let count = Arc::new(AtomicUsize::new(0));
    let base = failing_provider(count.clone(), true).await;
    // The provider's defaults: 120 s per attempt, and a timed-out request is not sent again.
    let host = Arc::new(
        Host::builder()
            .approval(Approval::new(Mode::Auto, vec![], None))
            .provider(
                Arc::new(OpenAi::new(HttpConfig::new(base))),
                vec![catalog_entry("openai", "m")],
            )
            .build()
            .expect("the host builds"),
    );
    let timed_out = "no complete answer within 120s";

    let legacy = connect(EraChoice::Legacy, host.clone()).await;
    let start = tokio::time::Instant::now();
    let r = within_an_hour(legacy.call_tool("ask", args("hi")))
        .await
        .unwrap();
    // Ended by the provider's timeout (on tokio's paused clock), long before the server's
    // own wait for a sampling reply (5 minutes) or the client's for the call (10 minutes).
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(120) && elapsed < Duration::from_secs(121),
        "{elapsed:?}"
    );
    assert_eq!(r.is_error, Some(true));
    assert!(
        r.text_content().starts_with("server saw: the client failed the sampling request: sampling failed: cannot reach openai")
            && r.text_content().contains(timed_out),
        "{}",
        r.text_content()
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);

    let modern = connect(EraChoice::Modern, host).await;
    let e = within_an_hour(modern.call_tool("ask", args("hi")))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Sampling(SamplingError::Failed(m)) if m.contains(timed_out)),
        "{e:?}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}
