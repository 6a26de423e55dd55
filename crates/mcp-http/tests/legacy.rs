//! Legacy Streamable HTTP: sampling rides the tool call's stream, many sessions at once, a cut
//! stream resumed with Last-Event-ID, session end and expiry, graceful shutdown.

mod common;

use common::*;
use mcp_http::HttpConfig;
use serde_json::{json, Value};
use std::time::Duration;

/// One tool call whose sampling request is answered by POST; returns the tool's text.
async fn sampled_call(s: &Running, sid: &str, id: i64, q: &str) -> String {
    let r = s
        .post(Some(sid), &call(id, "ask", json!({"q": q})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut ev = Events::new(r);
    let (_, req) = ev
        .next_message()
        .await
        .expect("the sampling request on the POST stream");
    assert_eq!(req["method"], "sampling/createMessage", "{req}");
    assert_eq!(req["params"]["messages"][0]["content"]["text"], q);
    let reply = sampling_reply(&req["id"], &format!("re {q}"));
    assert_eq!(
        s.post(Some(sid), &reply).send().await.unwrap().status(),
        202
    );
    let (_, done) = ev.next_message().await.expect("the tool result");
    assert_eq!(done["id"], id, "{done}");
    assert!(
        ev.next().await.is_none(),
        "the stream ends after the answer"
    );
    done["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sessions_each_complete_a_sampling_round_trip() {
    let s = std::sync::Arc::new(start(HttpConfig::default()).await);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let sid = s.open_session().await;
            let q = format!("question {i}");
            let text = sampled_call(&s, &sid, 1, &q).await;
            assert_eq!(text, format!("answer: re {q}"));
            sid
        }));
    }
    let mut sids = std::collections::HashSet::new();
    for t in tasks {
        sids.insert(t.await.unwrap());
    }
    assert_eq!(sids.len(), 200, "every session has its own id");
    assert_eq!(s.server.sessions(), 200);
}

#[tokio::test]
async fn a_cut_stream_is_resumed_and_each_message_arrives_once() {
    let s = start(HttpConfig::default()).await;
    let sid = s.open_session().await;
    let r = s
        .post(Some(&sid), &call(5, "ask", json!({"q": "cut"})))
        .send()
        .await
        .unwrap();
    let mut ev = Events::new(r);
    let prime = ev.next().await.unwrap();
    assert!(
        prime.id.is_some() && prime.data.is_empty() && prime.retry == Some(1000),
        "{prime:?}"
    );
    let (sampling_id, req) = ev.next_message().await.unwrap();
    // The client loses the stream in the middle of the sampling request.
    drop(ev);
    let reply = sampling_reply(&req["id"], "after the cut");
    assert_eq!(
        s.post(Some(&sid), &reply).send().await.unwrap().status(),
        202
    );
    // Resumed once the server has noticed that the cut stream's client left.
    let get = get_when_free(&s, &sid, sampling_id.as_deref()).await;
    assert_eq!(get.status(), 200);
    let mut resumed = Events::new(get);
    let (_, done) = resumed.next_message().await.unwrap();
    assert_eq!(
        done["id"], 5,
        "the answer, not the sampling request again: {done}"
    );
    assert_eq!(
        done["result"]["content"][0]["text"],
        "answer: after the cut"
    );
    assert!(
        resumed.next().await.is_none(),
        "nothing more: {sampling_id:?}"
    );
    // An id from no stream of ours is refused.
    let bad = s
        .http
        .get(&s.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &sid)
        .header("last-event-id", "garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn messages_for_nobody_wait_for_the_standalone_stream() {
    let s = start(HttpConfig::default()).await;
    let sid = s.open_session().await;
    let get = |s: &Running| {
        s.http
            .get(&s.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", sid.clone())
            .send()
    };
    let first = get(&s).await.unwrap();
    assert_eq!(first.status(), 200);
    // One standalone stream at a time.
    assert_eq!(get(&s).await.unwrap().status(), 409);
    let mut ev = Events::new(first);
    let prime = ev.next().await.unwrap();
    assert!(prime.id.is_some() && prime.data.is_empty());
    drop(ev);
    assert_eq!(
        get_when_free(&s, &sid, None).await.status(),
        200,
        "free again once the client left"
    );
}

#[tokio::test]
async fn delete_ends_the_session_and_idle_sessions_expire() {
    // Long enough that the real time the requests below take never ends a session.
    let cfg = HttpConfig {
        session_idle: Duration::from_secs(30),
        ..Default::default()
    };
    let s = start(cfg).await;
    let list = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"});
    let a = s.open_session().await;
    let r = s.post(Some(&a), &list).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/json",
        "a quick answer is plain JSON"
    );
    let d = s
        .http
        .delete(&s.url)
        .header("mcp-session-id", &a)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), 200);
    assert_eq!(s.post(Some(&a), &list).send().await.unwrap().status(), 404);
    let b = s.open_session().await;
    assert_eq!(s.server.sessions(), 1);
    // Idle time passes, on tokio's clock: the sweep ends the session.
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(31)).await;
    for _ in 0..100 {
        if s.server.sessions() == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(s.server.sessions(), 0, "the idle session was not ended");
    tokio::time::resume();
    let r = s.post(Some(&b), &list).send().await.unwrap();
    assert_eq!(r.status(), 404, "expired");
    let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("initialize again"));
    assert_eq!(s.server.sessions(), 0);
}

#[tokio::test]
async fn shutdown_answers_requests_in_flight() {
    let s = start(HttpConfig::default()).await;
    let sid = s.open_session().await;
    let r = s.post(Some(&sid), &slow_call(3, 400)).send().await.unwrap();
    let mut ev = started(r).await;
    let url = s.url.clone();
    let http = s.http.clone();
    // Shutdown starts while the call runs: it still gets its answer.
    let stopping = tokio::spawn(s.stop());
    let (_, done) = ev.next_message().await.expect("the answer");
    assert_eq!(done["id"], 3, "{done}");
    assert_eq!(
        done["result"]["content"][0]["text"], "slept 400 ms",
        "{done}"
    );
    stopping.await.unwrap();
    assert!(
        http.post(&url).body("{}").send().await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn a_stream_cut_before_the_sampling_request_delivers_it_once_on_resumption() {
    let s = start(HttpConfig::default()).await;
    let sid = s.open_session().await;
    let r = s
        .post(Some(&sid), &call(6, "ask", json!({"q": "early cut"})))
        .send()
        .await
        .unwrap();
    let mut ev = Events::new(r);
    let prime = ev.next().await.unwrap();
    assert!(prime.data.is_empty());
    // Cut right after the priming event: whatever followed never reached the client.
    drop(ev);
    let get = s
        .http
        .get(&s.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &sid)
        .header("last-event-id", prime.id.unwrap())
        .send()
        .await
        .unwrap();
    let mut resumed = Events::new(get);
    let (_, req) = resumed.next_message().await.unwrap();
    assert_eq!(req["method"], "sampling/createMessage", "{req}");
    let reply = sampling_reply(&req["id"], "resumed");
    assert_eq!(
        s.post(Some(&sid), &reply).send().await.unwrap().status(),
        202
    );
    let (_, done) = resumed.next_message().await.unwrap();
    assert_eq!(
        done["id"], 6,
        "the answer follows on the resumed stream, the request came once: {done}"
    );
    assert_eq!(done["result"]["content"][0]["text"], "answer: resumed");
    assert!(resumed.next().await.is_none());
}

#[tokio::test]
async fn a_cancelled_call_ends_its_stream_and_frees_its_slot() {
    let cfg = HttpConfig {
        max_streams_per_session: 1,
        ..Default::default()
    };
    let s = start(cfg).await;
    let sid = s.open_session().await;
    let r = s
        .post(Some(&sid), &call(8, "ask", json!({"q": "never mind"})))
        .send()
        .await
        .unwrap();
    let mut ev = Events::new(r);
    let (_, req) = ev.next_message().await.unwrap();
    assert_eq!(req["method"], "sampling/createMessage");
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 8, "reason": "user pressed stop"}});
    assert_eq!(
        s.post(Some(&sid), &cancel).send().await.unwrap().status(),
        202
    );
    let next = tokio::time::timeout(Duration::from_secs(5), ev.next_message()).await;
    assert!(
        matches!(next, Ok(None)),
        "the stream ends with no answer: {next:?}"
    );
    // The one stream this session may have is free again.
    let list = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"});
    assert_eq!(
        s.post(Some(&sid), &list).send().await.unwrap().status(),
        200
    );
}

/// POSTs `flood {n}` with a progress token; reads the stream to its end; returns the last
/// event id and whether the answer came.
async fn flood_until_cut(s: &Running, sid: &str, id: i64, n: u64) -> (String, bool) {
    let mut body = call(id, "flood", json!({"n": n}));
    body["params"]["_meta"] = json!({"progressToken": format!("f{id}")});
    let r = s.post(Some(sid), &body).send().await.unwrap();
    let mut ev = Events::new(r);
    let (mut last, mut answered) = (String::new(), false);
    while let Some(e) = ev.next().await {
        last = e.id.clone().unwrap_or(last);
        answered |= e.json().get("result").is_some();
    }
    (last, answered)
}

#[tokio::test]
async fn a_reader_that_falls_behind_is_cut_and_resumes_from_the_store() {
    // A store of 4 events per stream and a channel of 8: a burst of notifications overflows it.
    let cfg = HttpConfig {
        events_per_stream: 4,
        ..Default::default()
    };
    let s = start(cfg).await;
    let sid = s.open_session().await;
    let resume = |last: String| {
        s.http
            .get(&s.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", sid.clone())
            .header("last-event-id", last)
            .send()
    };
    // 10 notifications: cut after 8; the store still has 9, 10 and the answer.
    let (last, answered) = flood_until_cut(&s, &sid, 1, 10).await;
    assert!(
        !answered,
        "the stream was cut before the answer (last {last})"
    );
    let mut resumed = Events::new(resume(last).await.unwrap());
    let mut rest = Vec::new();
    while let Some((_, m)) = resumed.next_message().await {
        rest.push(m);
    }
    assert_eq!(rest.len(), 3, "{rest:?}");
    assert_eq!(rest[2]["result"]["content"][0]["text"], "flooded 10");
    // 40 notifications: what was missed is no longer kept; resuming says so.
    let (last, answered) = flood_until_cut(&s, &sid, 2, 40).await;
    assert!(!answered);
    let r = resume(last).await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no longer kept"),
        "{body}"
    );
}

/// `/metrics` counts the requests by era, method and status, the sessions, and the sampling
/// round trips the server made, in Prometheus' text format.
#[tokio::test]
async fn metrics_count_requests_sessions_and_round_trips() {
    let s = start(HttpConfig::default()).await;
    let sid = s.open_session().await;
    for (id, q) in [(2, "one"), (3, "two")] {
        assert_eq!(
            sampled_call(&s, &sid, id, q).await,
            format!("answer: re {q}")
        );
    }
    let url = s.url.replace("/mcp", "/metrics");
    let r = s.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4");
    let text = r.text().await.unwrap();
    for line in [
        "mcp_http_requests_total{era=\"legacy\",method=\"tools/call\",status=\"200\"} 2",
        // The client's replies to the sampling requests.
        "mcp_http_requests_total{era=\"legacy\",method=\"response\",status=\"202\"} 2",
        "mcp_http_requests_total{era=\"legacy\",method=\"initialize\",status=\"200\"} 1",
        "mcp_sessions 1",
        "mcp_sampling_round_trip_seconds_count 2",
        "mcp_sampling_round_trip_seconds_bucket{le=\"+Inf\"} 2",
        "mcp_sampling_failed_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from:\n{text}"
        );
    }
    // A method that is not the protocol's is counted as `other`, not by its name.
    let junk =
        serde_json::json!({"jsonrpc": "2.0", "id": 9, "method": "x/evil-label\"", "params": {}});
    s.post(Some(&sid), &junk).send().await.unwrap();
    let text = s.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(!text.contains("evil"), "{text}");
}

/// An endpoint served at `/metrics` itself keeps that path: a GET there is the MCP
/// endpoint's (a standalone stream needs a session), not the Prometheus text.
#[tokio::test]
async fn an_endpoint_at_metrics_keeps_its_path() {
    let cfg = HttpConfig {
        path: "/metrics".into(),
        ..HttpConfig::default()
    };
    let s = start(cfg).await;
    let url = s.url.replace("/mcp", "/metrics");
    let r = s
        .http
        .get(&url)
        .header("accept", ACCEPT)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(!text.contains("mcp_http_requests_total"), "{status} {text}");
    assert!(text.contains("jsonrpc"), "{status} {text}");
}
