//! Retries, timeouts and cancellation (through the OpenAI provider; the plumbing is shared).

use crate::hello;
use crate::server::{Reply, Server};
use mcp_llm::{HttpConfig, OpenAi, Provider, ProviderError};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn ok() -> Value {
    json!({"model": "m", "choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]})
}

fn rate_limited() -> Value {
    json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})
}

/// Moves tokio's paused clock `n` times by 10 ms, letting every task run in between.
async fn step(n: u32) {
    for _ in 0..n {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn provider(server: &Server) -> OpenAi {
    OpenAi::new(HttpConfig::new(&server.base))
}

#[tokio::test(start_paused = true)]
async fn rate_limits_are_retried_honouring_retry_after() {
    let server = Server::start(vec![
        Reply::json_with(429, &[("retry-after", "1")], rate_limited()),
        Reply::json_with(429, &[("retry-after-ms", "100")], rate_limited()),
        Reply::json(200, ok()),
    ])
    .await;
    // A backoff of 20 s: only Retry-After makes this finish in time.
    let p = provider(&server).with_backoff(Duration::from_secs(20), Duration::from_secs(20));
    let start = tokio::time::Instant::now();
    let c = tokio::time::timeout(Duration::from_secs(8), p.complete("m", &hello()))
        .await
        .expect("Retry-After was not honoured")
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(c.result.text(), "ok");
    assert_eq!(server.requests().len(), 3);
    assert!(elapsed >= Duration::from_millis(1100), "{elapsed:?}");
}

#[tokio::test]
async fn retry_after_is_capped() {
    let server = Server::start(vec![
        Reply::json_with(429, &[("retry-after", "3600")], rate_limited()),
        Reply::json(200, ok()),
    ])
    .await;
    let p = provider(&server).with_backoff(Duration::from_millis(10), Duration::from_millis(200));
    let c = tokio::time::timeout(Duration::from_secs(5), p.complete("m", &hello()))
        .await
        .expect("Retry-After was not capped")
        .unwrap();
    assert_eq!(c.result.text(), "ok");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn server_errors_exhaust_the_retries() {
    let server = Server::start(vec![Reply::json(
        500,
        json!({"error": {"message": "The server had an error while processing your request."}}),
    )])
    .await;
    let p = provider(&server)
        .with_retries(2)
        .with_backoff(Duration::from_millis(10), Duration::from_millis(40));
    let err = p.complete("m", &hello()).await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::Api {
            provider: "openai".into(),
            status: 500,
            message: "The server had an error while processing your request.".into()
        }
    );
    assert_eq!(server.requests().len(), 3, "one attempt and two retries");
    // All attempts are the same request.
    let bodies: Vec<Vec<u8>> = server.requests().into_iter().map(|r| r.body).collect();
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn default_retries_are_three() {
    let server = Server::start(vec![Reply::json(503, json!({"error": "unavailable"}))]).await;
    let p = provider(&server).with_backoff(Duration::from_millis(1), Duration::from_millis(5));
    let err = p.complete("m", &hello()).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Api { status: 503, ref message, .. } if message == "unavailable")
    );
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = Server::start(vec![Reply::json(
        400,
        json!({"error": {"message": "Invalid value for 'temperature'", "type": "invalid_request_error", "param": "temperature", "code": null}}),
    )])
    .await;
    let err = provider(&server).complete("m", &hello()).await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::Api {
            provider: "openai".into(),
            status: 400,
            message: "Invalid value for 'temperature'".into()
        }
    );
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        err.to_string(),
        "the openai API answered 400: Invalid value for 'temperature'"
    );
}

#[tokio::test]
async fn non_json_error_bodies_and_success_bodies() {
    let server = Server::start(vec![Reply::Answer {
        status: 404,
        headers: vec![],
        body: "404 page not found".into(),
    }])
    .await;
    let err = provider(&server).complete("m", &hello()).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Api { status: 404, message, .. } if message == "404 page not found"),
        "{err:?}"
    );
    let server = Server::start(vec![Reply::Answer {
        status: 200,
        headers: vec![],
        body: "<html>proxy login</html>".into(),
    }])
    .await;
    let err = provider(&server).complete("m", &hello()).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::BadReply(m) if m.contains("not JSON") && m.contains("proxy login")),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let server = Server::start(vec![Reply::Close, Reply::Close, Reply::json(200, ok())]).await;
    let p = provider(&server).with_backoff(Duration::from_millis(10), Duration::from_millis(40));
    let c = p.complete("m", &hello()).await.unwrap();
    assert_eq!(c.result.text(), "ok");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error_after_retries() {
    // A port with nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = OpenAi::new(HttpConfig::new(format!("http://127.0.0.1:{port}/v1")))
        .with_retries(2)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20));
    let err = p.complete("m", &hello()).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Transport(m)
            if m.contains(&format!("127.0.0.1:{port}/v1/chat/completions")) && m.contains("after 3 attempts")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_hung_server_times_out_without_retry() {
    let server = Server::start(vec![Reply::Hold]).await;
    let p = provider(&server)
        .with_timeout(Duration::from_millis(300))
        .with_retries(2)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20));
    let start = Instant::now();
    let err = p.complete("m", &hello()).await.unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        matches!(&err, ProviderError::Transport(m) if m.contains("no complete answer within 300ms")),
        "{err:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "a timed-out request is not retried"
    );
    assert!(
        server.wait_closed(Duration::from_secs(2)).await,
        "the client kept the connection"
    );
}

#[tokio::test]
async fn dropping_the_future_aborts_the_request() {
    let server = Server::start(vec![Reply::Hold]).await;
    let p = provider(&server);
    let mut fut = p.complete("m", &hello());
    tokio::select! {
        r = &mut fut => panic!("the held request completed: {r:?}"),
        _ = server.wait_requests(1) => {}
    }
    // 200 ms pass on tokio's paused clock, and the connection stays open.
    tokio::time::pause();
    step(20).await;
    assert!(
        !server.wait_closed(Duration::ZERO).await,
        "the connection closed before the future was dropped"
    );
    tokio::time::resume();
    drop(fut);
    assert!(
        server.wait_closed(Duration::from_secs(2)).await,
        "the connection stayed open after the future was dropped"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn dropping_the_future_aborts_the_backoff() {
    let server = Server::start(vec![
        Reply::json_with(429, &[("retry-after", "1")], rate_limited()),
        Reply::json(200, ok()),
    ])
    .await;
    let p = provider(&server);
    let mut fut = p.complete("m", &hello());
    tokio::select! {
        r = &mut fut => panic!("completed before the first answer: {r:?}"),
        _ = server.wait_requests(1) => {}
    }
    // From here on tokio's clock is paused: the client reads the 429 and sleeps its
    // Retry-After second, which passes only as the test lets it: half of it, in small steps
    // (every step lets the client and the server do all they can).
    tokio::time::pause();
    for _ in 0..50 {
        if let Ok(r) = tokio::time::timeout(Duration::from_millis(10), &mut fut).await {
            panic!("completed during the backoff: {r:?}");
        }
    }
    assert_eq!(server.requests().len(), 1, "retried before Retry-After");
    drop(fut);
    // Past the Retry-After second: no retry was sent by anything left behind.
    step(300).await;
    assert_eq!(server.requests().len(), 1);
}
