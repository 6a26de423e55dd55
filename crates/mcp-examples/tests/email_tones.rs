//! `email-tones` in process through the real client on both eras: every tone requested at
//! once (a gate that answers nothing until all of a round's requests are in flight), a
//! failing draft asked again once and then reported, bad input refused before any
//! sampling, garbage from the model, and a client that cannot sample.

mod common;

use common::{args, connect, Gate, Script, ERAS};
use mcp_client::{Client, ClientError, ClientOptions, EraChoice};
use mcp_proto::methods::{ReadResource, Request};
use mcp_proto::{ClientCapabilities, Era, SamplingRequest};
use serde_json::{json, Value};
use std::time::Duration;

/// A call that must finish in time (a deadlock of the gate fails the test).
async fn draft(c: &Client, a: Value) -> mcp_proto::tools::CallToolResult {
    tokio::time::timeout(Duration::from_secs(30), c.call_tool("draft_email", args(a)))
        .await
        .expect("the call ends: the requests of a round were in flight together")
        .expect("called")
}

const POINTS: [&str; 2] = ["the invoice 4471 is overdue", "pay by 15 May"];

fn good(tone: &str) -> String {
    format!("Dear Sam, this {tone} note is about invoice 4471, which is overdue. Please pay by 15 May. Regards, Kim")
}

fn user_text(req: &SamplingRequest) -> String {
    common::request_text(req)
}

#[tokio::test]
async fn every_tone_is_requested_at_once_and_checked() {
    for era in ERAS {
        let script = Script::new(
            ["formal", "friendly", "concise"]
                .iter()
                .map(|t| (format!("Tone: {t}"), good(t)))
                .collect(),
        );
        let gate = Gate::new(&[3], script.clone());
        let c = connect("email-tones", &Default::default(), era, gate, None).await;
        let r = draft(&c, json!({"to": "Sam", "points": POINTS})).await;
        let s = r.structured_content.expect("structured");
        assert_eq!(s["all_passed"], true, "{era:?}: {s}");
        assert_eq!(s["re_asked"], 0);
        let tones: Vec<&str> = s["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["tone"].as_str().unwrap())
            .collect();
        assert_eq!(tones, ["formal", "friendly", "concise"]);
        assert_eq!(s["variants"][2]["text"], good("concise"));
        assert_eq!(s["variants"][2]["max_words"], 90);
        assert_eq!(script.requests(), 3, "one request per tone, none again");
        for req in script.seen() {
            let t = user_text(&req);
            assert!(
                t.contains("To: Sam") && t.contains("- pay by 15 May"),
                "{t}"
            );
        }
        c.close().await;
    }
}

#[tokio::test]
async fn a_failing_draft_is_asked_again_once_then_reported() {
    for era in ERAS {
        let long = format!(
            "Hi Sam, {} invoice 4471 overdue, pay by 15 May.",
            "really ".repeat(95)
        );
        let script = Script::new(vec![
            // The second requests come first in the script: their needles occur only there.
            (
                "Rewrite the formal",
                "Dear Sam, about invoice 4471. Regards".to_owned(),
            ),
            ("Rewrite the concise", good("concise")),
            (
                "Tone: formal",
                "Dear Sam, a reminder about invoice 4471. Regards".to_owned(),
            ),
            ("Tone: concise", long),
        ]);
        let gate = Gate::new(&[2, 2], script.clone());
        let c = connect("email-tones", &Default::default(), era, gate, None).await;
        let r = draft(
            &c,
            json!({"points": POINTS, "tones": ["formal", "concise"]}),
        )
        .await;
        let s = r.structured_content.expect("structured");
        let formal = &s["variants"][0];
        assert_eq!(formal["passed"], false, "{era:?}: {s}");
        assert_eq!(formal["re_asked"], true);
        assert_eq!(formal["missing"], json!(["pay by 15 May"]));
        assert_eq!(formal["text"], "Dear Sam, about invoice 4471. Regards");
        let concise = &s["variants"][1];
        assert_eq!(concise["passed"], true, "{s}");
        assert_eq!(concise["re_asked"], true);
        assert_eq!(s["passed"], 1);
        assert_eq!(s["all_passed"], false);
        let seen: Vec<String> = script.seen().iter().map(user_text).collect();
        assert_eq!(seen.len(), 4, "two drafts, each asked again once");
        assert!(
            seen[..2].iter().all(|t| !t.contains("Rewrite the")),
            "{seen:?}"
        );
        let again = seen[2..].join("\n");
        assert!(
            again.contains(
                "Rewrite the formal e-mail: it does not make these points: \"pay by 15 May\""
            ),
            "{again}"
        );
        assert!(again.contains("at most 90 for the concise tone"), "{again}");
        c.close().await;
    }
}

#[tokio::test]
async fn garbage_from_the_model_is_reported_after_one_retry() {
    for era in ERAS {
        let script = Script::replies(["lorem ipsum", "", "ok"]);
        let c = connect(
            "email-tones",
            &Default::default(),
            era,
            script.clone(),
            None,
        )
        .await;
        let r = draft(&c, json!({"points": POINTS, "tones": ["urgent"]})).await;
        let s = r.structured_content.expect("structured");
        let v = &s["variants"][0];
        assert_eq!(v["passed"], false, "{era:?}: {s}");
        assert_eq!(v["re_asked"], true);
        assert_eq!(v["words"], 0);
        assert_eq!(v["missing"], json!(POINTS));
        assert_eq!(script.requests(), 2, "asked again once, not more");
        c.close().await;
    }
}

#[tokio::test]
async fn bad_input_is_refused_before_any_sampling() {
    let cases = [
        (json!({"points": []}), "there are no points"),
        (json!({"points": ["  "]}), "there are no points"),
        (
            json!({"points": ["x"], "tones": ["formal", "snarky"]}),
            "unknown tone \"snarky\"",
        ),
        (
            json!({"points": ["x"], "tones": ["formal", "friendly", "concise", "urgent", "apologetic", "persuasive", "empathetic"]}),
            "ask for 1 to 6 tones, not 7",
        ),
        (
            json!({"points": ["x"], "tones": ["formal", "FORMAL"]}),
            "asked for twice",
        ),
        (json!({"points": vec!["x"; 11]}), "at most 10"),
    ];
    for era in ERAS {
        let script = Script::replies(["never"]);
        let c = connect(
            "email-tones",
            &Default::default(),
            era,
            script.clone(),
            None,
        )
        .await;
        for (a, want) in &cases {
            let r = draft(&c, a.clone()).await;
            assert_eq!(r.is_error, Some(true), "{a}");
            assert!(
                r.text_content().contains(want),
                "{era:?} {a}: {}",
                r.text_content()
            );
        }
        assert_eq!(script.requests(), 0);
        c.close().await;
    }
}

#[tokio::test]
async fn a_client_that_cannot_sample_gets_a_clear_error() {
    for era in ERAS {
        let (a, b) = mcp_rpc::memory();
        let server = mcp_examples::email_tones::server();
        tokio::spawn(async move { server.serve(a, std::future::pending()).await });
        let opts = ClientOptions {
            era: match era {
                Era::Legacy => EraChoice::Legacy,
                Era::Modern => EraChoice::Modern,
            },
            capabilities: ClientCapabilities::default(),
            ..Default::default()
        };
        let c = Client::connect(b, Script::replies(["never"]), opts)
            .await
            .expect("connects");
        let r = c
            .call_tool("draft_email", args(json!({"points": POINTS})))
            .await;
        let text = match (era, r) {
            (Era::Legacy, Ok(r)) => {
                assert_eq!(r.is_error, Some(true));
                r.text_content()
            }
            (Era::Modern, Err(ClientError::Rpc(mcp_rpc::RpcError::Remote(e)))) => {
                assert_eq!(e.code, -32021, "{e:?}");
                e.message
            }
            (era, other) => panic!("{era:?}: {other:?}"),
        };
        assert!(text.contains("sampling"), "{era:?}: {text}");
        c.close().await;
    }
}

#[tokio::test]
async fn the_tones_resource_lists_tones_and_limits() {
    let c = connect(
        "email-tones",
        &Default::default(),
        Era::Legacy,
        Script::replies(["never"]),
        None,
    )
    .await;
    let v = c
        .request(
            ReadResource::METHOD,
            Some(json!({"uri": "email-tones://tones"})),
            None,
        )
        .await
        .expect("read");
    let tones: Value =
        serde_json::from_str(v["contents"][0]["text"].as_str().expect("text")).expect("json");
    assert_eq!(tones[2]["name"], "concise");
    assert_eq!(tones[2]["max_words"], 90);
    assert_eq!(tones.as_array().map(Vec::len), Some(8));
    c.close().await;
}
