//! A provider that misbehaves for good: it stalls, answers 5xx without end, or keeps answering
//! 429. Every case ends, with a clear error, within a bound the configuration sets. The tests
//! run on tokio's paused clock (it jumps to the next timer when nothing else can run), so the
//! minutes of backoff and timeouts they check cost no real time: the elapsed times asserted
//! are the clock's.

use crate::hello;
use crate::server::{Reply, Server};
use mcp_llm::http::{DEFAULT_MAX_BACKOFF, DEFAULT_TIMEOUT};
use mcp_llm::{HttpConfig, OpenAi, Provider, ProviderError};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

/// Runs `fut`, failing the test if it has not ended after an hour (of the paused clock: an
/// instant), so that a fault that is not bounded fails rather than hangs.
async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(3600), fut)
        .await
        .expect("not ended within an hour")
}

/// The provider with every default (timeout, retries, backoff).
fn provider(server: &Server) -> OpenAi {
    OpenAi::new(HttpConfig::new(&server.base))
}

#[tokio::test(start_paused = true)]
async fn a_stalled_provider_is_ended_by_the_request_timeout() {
    let server = Server::start(vec![Reply::Hold]).await;
    let start = Instant::now();
    let err = bounded(provider(&server).complete("m", &hello()))
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        matches!(&err, ProviderError::Transport(m) if m.contains("no complete answer within 120s")),
        "{err:?}"
    );
    // One attempt, ended by the default timeout: a request that timed out is not sent again.
    assert!(
        elapsed >= DEFAULT_TIMEOUT && elapsed < DEFAULT_TIMEOUT + Duration::from_secs(1),
        "{elapsed:?}"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(server.wait_closed(Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn a_provider_that_stalls_in_the_middle_of_its_body_is_ended_too() {
    let server = Server::start(vec![Reply::Partial {
        status: 200,
        body: r#"{"model": "m", "choices": [{"finish_reason""#.into(),
    }])
    .await;
    let p = provider(&server).with_timeout(Duration::from_secs(20));
    let start = Instant::now();
    let err = bounded(p.complete("m", &hello())).await.unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        matches!(&err, ProviderError::Transport(m) if m.contains("no complete answer within 20s")),
        "{err:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(20) && elapsed < Duration::from_secs(21),
        "{elapsed:?}"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(server.wait_closed(Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn a_5xx_storm_ends_after_the_retries_within_the_backoff_bound() {
    let server = Server::start(vec![Reply::json(
        503,
        json!({"error": {"message": "overloaded", "type": "server_error"}}),
    )])
    .await;
    let start = Instant::now();
    let err = bounded(provider(&server).complete("m", &hello()))
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(
        err.to_string(),
        "the openai API answered 503: overloaded",
        "the last answer's error, as the API gave it"
    );
    assert_eq!(server.requests().len(), 4, "one attempt and three retries");
    // Backoff 0.5 s, 1 s, 2 s, each between half and all of it (jitter).
    assert!(
        elapsed >= Duration::from_millis(1750) && elapsed <= Duration::from_millis(3600),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_storm_honours_retry_after_up_to_the_cap_and_ends() {
    let server = Server::start(vec![Reply::json_with(
        429,
        &[("retry-after", "3600")],
        json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
    )])
    .await;
    let start = Instant::now();
    let err = bounded(provider(&server).complete("m", &hello()))
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        matches!(&err, ProviderError::Api { status: 429, message, .. } if message == "Rate limit reached"),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 4, "one attempt and three retries");
    // An hour asked each time; each wait is capped at 30 s.
    let bound = DEFAULT_MAX_BACKOFF * 3;
    assert!(
        elapsed >= bound && elapsed < bound + Duration::from_secs(1),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_below_the_cap_is_waited_exactly() {
    let server = Server::start(vec![
        Reply::json_with(429, &[("retry-after", "7")], json!({"error": "slow down"})),
        Reply::json_with(503, &[("retry-after-ms", "2500")], json!({"error": "busy"})),
        Reply::json(
            200,
            json!({"model": "m", "choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]}),
        ),
    ])
    .await;
    // A backoff of a minute: only the Retry-After values make the waits this short.
    let p = provider(&server).with_backoff(Duration::from_secs(60), Duration::from_secs(60));
    let start = Instant::now();
    let c = bounded(p.complete("m", &hello())).await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(c.result.text(), "ok");
    assert_eq!(server.requests().len(), 3);
    let waited = Duration::from_millis(9500);
    assert!(
        elapsed >= waited && elapsed < waited + Duration::from_millis(500),
        "{elapsed:?}"
    );
}
