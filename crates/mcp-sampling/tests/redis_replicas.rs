//! Replicas sharing Redis (`serve --http --redis`): a real `redis-server`, three replicas and
//! (for the official clients) a real HAProxy, round robin, no stickiness. Legacy sessions,
//! the client's answers and the streams cross replicas; faults (a replica killed, Redis
//! restarted) end in clear errors and recover; a modern `requestState` is accepted once.

mod common;

use common::cluster::{call, post as post_modern, replica, round_one, Balancer, Redis, LONG};
use common::{peer, python, Listening};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-redis-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secrets"), "the secret all replicas share\n").unwrap();
    dir
}

struct Cluster {
    redis: Redis,
    r: Vec<Listening>,
    dir: PathBuf,
}

fn cluster(name: &str) -> Cluster {
    let dir = scratch(name);
    let redis = Redis::start();
    let r = (0..3)
        .map(|_| replica("summarize", &redis, &dir.join("secrets")))
        .collect();
    Cluster { redis, r, dir }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(url: &str, session: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    req.send().await.unwrap()
}

/// `initialize` and `notifications/initialized` on `url`: the session id.
async fn init(url: &str) -> Result<String, (u16, String)> {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {"sampling": {}},
        "clientInfo": {"name": "raw", "version": "1"}
    }});
    let r = post(url, None, &body).await;
    let status = r.status().as_u16();
    let session = r
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = r.text().await.unwrap();
    let Some(session) = session else {
        return Err((status, text));
    };
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(post(url, Some(&session), &note).await.status(), 202);
    Ok(session)
}

fn summarize(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "summarize", "arguments": {"text": LONG, "sentences": 1}}})
}

fn reply(to: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": to, "result": {
        "role": "assistant", "model": "m", "content": {"type": "text", "text": "A summary."}}})
}

/// Server-sent events read off a response body.
struct Sse {
    r: reqwest::Response,
    buf: Vec<u8>,
}

impl Sse {
    fn new(r: reqwest::Response) -> Sse {
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            ct.as_deref(),
            Some("text/event-stream"),
            "status {}",
            r.status()
        );
        Sse { r, buf: Vec::new() }
    }

    /// The next event with data: (id, message); `None` when the stream ends. Fails after
    /// 20 s without one.
    async fn next(&mut self) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                let block = String::from_utf8(block).unwrap();
                let field = |name: &str| {
                    block
                        .lines()
                        .filter_map(|l| l.strip_prefix(name))
                        .map(str::trim_start)
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                let data = field("data:");
                if data.is_empty() {
                    continue; // priming event or keep-alive comment
                }
                return Some((field("id:"), serde_json::from_str(&data).unwrap()));
            }
            let chunk = tokio::time::timeout_at(deadline, self.r.chunk())
                .await
                .expect("no event within 20 s");
            match chunk {
                Ok(Some(c)) => self.buf.extend_from_slice(&c),
                _ => return None,
            }
        }
    }
}

async fn resume(url: &str, session: &str, last_event_id: &str) -> reqwest::Response {
    http()
        .get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("last-event-id", last_event_id)
        .send()
        .await
        .unwrap()
}

/// The sum of the samples of metric `name` (with these labels) on a replica's `/metrics`.
async fn metric(replica: &Listening, name: &str) -> f64 {
    let url = replica.url.replace("/mcp", "/metrics");
    let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter(|l| !name.contains('{') || l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

const FORWARDED: &str = "mcp_replica_replies_total{direction=\"forwarded\"}";
const RECEIVED: &str = "mcp_replica_replies_total{direction=\"received\"}";
const ROUND_TRIPS: &str = "mcp_sampling_round_trip_seconds_count";

/// A call on `at` whose sampling request is answered on `answer_at`: the tool's text.
async fn call_across(at: &str, answer_at: &str, session: &str, id: i64) -> String {
    let mut s = Sse::new(post(at, Some(session), &summarize(id)).await);
    let (_, request) = s.next().await.expect("the sampling request");
    assert_eq!(request["method"], "sampling/createMessage", "{request}");
    let r = post(answer_at, Some(session), &reply(&request["id"])).await;
    assert_eq!(r.status(), 202);
    let (_, done) = s.next().await.expect("the tool's result");
    assert_eq!(done["id"], id, "{done}");
    done["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The official TypeScript and Python clients (legacy era) through HAProxy: 100 of 100
/// sampling calls each, with most answers landing on another replica than the waiting call.
#[tokio::test]
async fn official_clients_complete_sampling_calls_through_the_balancer() {
    let c = cluster("clients");
    let lb = Balancer::start(&c.dir, &c.r.iter().collect::<Vec<_>>());
    let args = json!({"text": LONG, "sentences": 1}).to_string();
    // One after the other: two clients in lockstep could send each answer to its call's
    // replica by the balancer's rotation alone.
    let run = |cmd: &mut std::process::Command| cmd.output().unwrap();
    let ts = run(std::process::Command::new("node")
        .arg(peer("node/client.mjs"))
        .args(["--tool", "summarize", "--args", &args, "--repeat", "100"])
        .args(["--url", &lb.url]));
    let py = run(std::process::Command::new(python())
        .arg(peer("python/client.py"))
        .args(["--mode", "legacy", "--tool", "summarize", "--args", &args])
        .args(["--repeat", "100", "--url", &lb.url]));
    for (who, out) in [("TypeScript", ts), ("Python", py)] {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
            .unwrap_or_else(|_| panic!("{who}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(v["completed"], 100, "{who}: {v}");
        assert_eq!(v["samplingRequests"], 100, "{who}: {v}");
        assert_eq!(v["protocolVersion"], "2025-11-25", "{who}: {v}");
    }
    let (mut trips, mut forwarded, mut received) = (0.0, 0.0, 0.0);
    for r in &c.r {
        let served = metric(r, ROUND_TRIPS).await;
        assert!(served > 0.0, "a replica served no round trip");
        trips += served;
        forwarded += metric(r, FORWARDED).await;
        received += metric(r, RECEIVED).await;
    }
    assert_eq!(trips, 200.0);
    assert_eq!(forwarded, received, "every forwarded answer arrived");
    assert!(
        forwarded >= 100.0,
        "only {forwarded} of 200 answers landed on another replica than their call"
    );
}

/// A stream cut mid-sampling resumes on another replica with exactly what it missed, and
/// the answer POSTed to a third replica reaches the call.
#[tokio::test]
async fn a_stream_cut_mid_sampling_resumes_on_another_replica() {
    let c = cluster("resume");
    let (a, b, cc) = (&c.r[0].url, &c.r[1].url, &c.r[2].url);
    let session = init(a).await.unwrap();
    let mut s = Sse::new(post(a, Some(&session), &summarize(7)).await);
    let (event, request) = s.next().await.unwrap();
    drop(s); // the cut
    let (stream, seq) = event.split_once('-').unwrap();
    assert_eq!(seq, "1");
    let mut resumed = Sse::new(resume(b, &session, &format!("{stream}-0")).await);
    let (again, same) = resumed.next().await.unwrap();
    assert_eq!((again.as_str(), &same), (event.as_str(), &request));
    assert_eq!(
        post(cc, Some(&session), &reply(&request["id"]))
            .await
            .status(),
        202
    );
    let (last, done) = resumed.next().await.unwrap();
    assert_eq!(last, format!("{stream}-2"));
    assert_eq!(done["id"], 7);
    assert_eq!(done["result"]["content"][0]["text"], "A summary.", "{done}");
    assert!(
        resumed.next().await.is_none(),
        "the stream ends after its answer"
    );
    assert_eq!(metric(&c.r[2], FORWARDED).await, 1.0);
    assert_eq!(metric(&c.r[0], RECEIVED).await, 1.0);
    // The session goes on anywhere: a call on B answered on A.
    assert_eq!(call_across(b, a, &session, 8).await, "A summary.");
}

/// A replica killed while its call waits for the client's answer: the client, listening to
/// the call's stream from another replica, gets an error for that call once the dead
/// replica's heartbeat has lapsed; the session and the others go on.
#[tokio::test]
async fn a_replica_killed_mid_call_ends_that_call_with_an_error() {
    let mut c = cluster("kill");
    let (b, cc) = (c.r[1].url.clone(), c.r[2].url.clone());
    let a = c.r[0].url.clone();
    let other = init(&b).await.unwrap();
    let session = init(&a).await.unwrap();
    let mut s = Sse::new(post(&a, Some(&session), &summarize(3)).await);
    let (event, request) = s.next().await.unwrap();
    let (stream, _) = event.split_once('-').unwrap();
    // The client moves to B (its events are in Redis: B replays the request), then A dies.
    let mut resumed = Sse::new(resume(&b, &session, &format!("{stream}-0")).await);
    assert_eq!(resumed.next().await.unwrap().1, request);
    c.r[0].kill();
    assert!(s.next().await.is_none(), "the killed replica's stream ends");
    assert_eq!(
        post(&b, Some(&session), &reply(&request["id"]))
            .await
            .status(),
        202
    );
    let (_, error) = resumed.next().await.expect("an error for the call");
    assert_eq!(error["id"], 3, "{error}");
    let why = error["error"]["message"].as_str().unwrap_or_default();
    assert!(why.contains("stopped before answering"), "{error}");
    assert!(resumed.next().await.is_none(), "the stream ends after it");
    // Resumed later elsewhere, the stream gives the same error.
    let mut again = Sse::new(resume(&cc, &session, &event).await);
    assert_eq!(again.next().await.unwrap().1, error);
    // The session opened on the dead replica, and another, go on.
    assert_eq!(call_across(&b, &cc, &session, 4).await, "A summary.");
    assert_eq!(call_across(&cc, &b, &other, 1).await, "A summary.");
}

/// A client's cancellation POSTed to another replica reaches the call: its stream ends with
/// no answer.
#[tokio::test]
async fn a_cancellation_posted_elsewhere_cancels_the_call() {
    let c = cluster("cancel");
    let (a, b) = (&c.r[0].url, &c.r[1].url);
    let session = init(a).await.unwrap();
    let mut s = Sse::new(post(a, Some(&session), &summarize(11)).await);
    let (_, request) = s.next().await.unwrap();
    assert_eq!(request["method"], "sampling/createMessage");
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": 11, "reason": "the user gave up"}});
    assert_eq!(post(b, Some(&session), &cancel).await.status(), 202);
    // The call stops: its stream ends with no answer (without the cancellation it would
    // wait for the sampling reply, and `next` fails after 20 s).
    while let Some((_, m)) = s.next().await {
        assert!(
            m.get("result").is_none(),
            "no answer after a cancellation: {m}"
        );
    }
    assert_eq!(
        metric(&c.r[1], "mcp_replica_notifications_total").await,
        1.0
    );
}

/// The connection on which a replica reads its inbox is cut (as by a network blip or a
/// Redis failover) just before the client's answer is sent: the answer waits in the inbox
/// and the call completes once the replica reconnects (on a pub/sub channel it was lost).
#[tokio::test]
async fn an_answer_sent_while_the_inbox_is_cut_is_not_lost() {
    let c = cluster("inbox");
    let (a, b) = (&c.r[0].url, &c.r[1].url);
    let session = init(a).await.unwrap();
    let mut s = Sse::new(post(a, Some(&session), &summarize(21)).await);
    let (_, request) = s.next().await.unwrap();
    let n = metric(&c.r[0], "mcp_replica_number").await;
    let port = c.redis.url.rsplit(':').next().unwrap().to_owned();
    let list = std::process::Command::new("redis-cli")
        .args(["-p", &port, "client", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    let id = list
        .lines()
        .find(|l| l.contains(&format!(" name=mcp-inbox-{n} ")))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .unwrap_or_else(|| panic!("no inbox connection of replica {n}: {list}"))
        .to_owned();
    let killed = std::process::Command::new("redis-cli")
        .args(["-p", &port, "client", "kill", "id", &id])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&killed.stdout).trim(), "1");
    assert_eq!(
        post(b, Some(&session), &reply(&request["id"]))
            .await
            .status(),
        202
    );
    let (_, done) = s.next().await.expect("the call completes");
    assert_eq!(done["id"], 21);
    assert_eq!(done["result"]["content"][0]["text"], "A summary.", "{done}");
}

/// The standalone GET stream is one per session across replicas: a GET on B takes it over
/// from a GET on A, whose stream ends (a message goes out on one stream only).
#[tokio::test]
async fn the_newest_standalone_stream_takes_over_across_replicas() {
    let c = cluster("standalone");
    let (a, b) = (&c.r[0].url, &c.r[1].url);
    let session = init(a).await.unwrap();
    let get = |url: String| {
        let session = session.clone();
        async move {
            http()
                .get(&url)
                .header("accept", "text/event-stream")
                .header("mcp-session-id", session)
                .send()
                .await
                .unwrap()
        }
    };
    let mut first = Sse::new(get(a.clone()).await);
    let _second = Sse::new(get(b.clone()).await);
    assert!(first.next().await.is_none(), "A's standalone stream ends");
}

fn signal(replica: &Listening, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &replica.pid().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// A replica stopped (SIGSTOP) while its call waits: the answer POSTed elsewhere waits in
/// Redis for it; the other replicas serve every other session meanwhile; once it runs again
/// its call completes.
#[tokio::test]
async fn a_stalled_replica_holds_up_only_its_own_calls() {
    let c = cluster("stall");
    let (a, b, cc) = (&c.r[0].url, &c.r[1].url, &c.r[2].url);
    let session = init(a).await.unwrap();
    let other = init(b).await.unwrap();
    let mut s = Sse::new(post(a, Some(&session), &summarize(5)).await);
    let (_, request) = s.next().await.unwrap();
    signal(&c.r[0], "-STOP");
    assert_eq!(
        post(b, Some(&session), &reply(&request["id"]))
            .await
            .status(),
        202
    );
    for id in 1..=3 {
        assert_eq!(call_across(b, cc, &other, id).await, "A summary.");
    }
    signal(&c.r[0], "-CONT");
    let (_, done) = s.next().await.expect("the call completes");
    assert_eq!(done["id"], 5);
    assert_eq!(done["result"]["content"][0]["text"], "A summary.", "{done}");
}

/// Redis killed: what needs it is refused with 503 at once; restarted empty: the replicas
/// write back the sessions they hold, and everything works again.
#[tokio::test]
async fn redis_restarted_gives_clear_503s_then_recovers() {
    let mut c = cluster("restart");
    let (a, b) = (c.r[0].url.clone(), c.r[1].url.clone());
    let session = init(&a).await.unwrap();
    assert_eq!(call_across(&a, &a, &session, 1).await, "A summary.");
    c.redis.kill();
    let started = std::time::Instant::now();
    let (status, body) = init(&b).await.unwrap_err();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("shared session store unavailable"), "{body}");
    let r = post(&b, Some(&session), &summarize(2)).await;
    assert_eq!(
        r.status(),
        503,
        "a session not held on B cannot be opened there"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "no hang");
    c.redis.restart();
    // Recovery: the session comes back (A writes it back once resubscribed).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = post(
            &b,
            Some(&session),
            &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}),
        )
        .await;
        if r.status() == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not recovered: {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(call_across(&b, &a, &session, 3).await, "A summary.");
    assert!(init(&b).await.is_ok());
    // The counter of replica numbers restarted at 1: a replica started now still gets a
    // number no running replica has (their heartbeats hold theirs).
    let mut numbers = Vec::new();
    for r in &c.r {
        numbers.push(metric(r, "mcp_replica_number").await);
    }
    let port = c.redis.url.rsplit(':').next().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for n in &numbers {
        let key = format!("mcp:alive:{n}");
        while !redis_cli(&port, &["exists", &key]).starts_with('1') {
            assert!(
                std::time::Instant::now() < deadline,
                "no heartbeat for {key}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let d = replica("summarize", &c.redis, &c.dir.join("secrets"));
    let fourth = metric(&d, "mcp_replica_number").await;
    assert!(!numbers.contains(&fourth), "{fourth} is taken: {numbers:?}");
}

fn redis_cli(port: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", port])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// DELETE on one replica ends the session on all; a replayed modern `requestState` is
/// refused.
#[tokio::test]
async fn delete_ends_everywhere_and_a_request_state_is_used_once() {
    let c = cluster("once");
    let (a, b, cc) = (&c.r[0].url, &c.r[1].url, &c.r[2].url);
    let session = init(a).await.unwrap();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_eq!(post(b, Some(&session), &list).await.status(), 200);
    // Bad resumption ids: past anything sent (400), a stream never seen (404), not an id.
    for (id, status) in [
        ("0-18446744073709551615", 400),
        ("4294967295-1", 404),
        ("x", 400),
    ] {
        assert_eq!(resume(b, &session, id).await.status(), status, "{id}");
    }
    let r = http()
        .delete(cc)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The end reaches the replicas holding the session through Redis' channel.
    for url in [a, b, cc] {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while post(url, Some(&session), &list).await.status() != 404 {
            assert!(
                std::time::Instant::now() < deadline,
                "{url} still serves it"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let retry = round_one(a).await;
    let done = post_modern(b, &call(retry.clone())).await;
    assert_eq!(done["result"]["content"][0]["text"], "A summary.", "{done}");
    let replayed = post_modern(cc, &call(retry)).await;
    let why = replayed["error"]["message"].as_str().unwrap_or_default();
    assert!(why.contains("already used"), "{replayed}");
}
