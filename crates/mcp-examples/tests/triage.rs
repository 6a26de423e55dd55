//! `triage` in process, on both eras, with scripted model replies: an empty ticket, the
//! hard rules (no sampling), the model's typed judgment, garbage and a client that cannot
//! sample (the fallback), and every triage stored once and read back.

mod common;

use common::{args, connect, Script, ERAS};
use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_examples::Options;
use mcp_proto::{ClientCapabilities, Era};
use serde_json::{json, Value};
use std::sync::Arc;

fn judgment(priority: &str, category: &str) -> String {
    json!({
        "priority": priority,
        "category": category,
        "rationale": "Scripted rationale.",
        "first_reply": "Hello, thanks for writing."
    })
    .to_string()
}

async fn call(c: &Client, tool: &str, a: Value) -> Result<Value, String> {
    let r = c
        .call_tool(tool, args(a))
        .await
        .map_err(|e| format!("protocol error: {e}"))?;
    if r.is_error == Some(true) {
        return Err(r.text_content());
    }
    Ok(r.structured_content.expect("structured"))
}

async fn triage(
    c: &Client,
    subject: &str,
    body: &str,
    customer: Option<&str>,
) -> Result<Value, String> {
    call(
        c,
        "triage_ticket",
        json!({"subject": subject, "body": body, "customer": customer}),
    )
    .await
}

async fn server(era: Era, script: Arc<Script>) -> Client {
    connect("triage", &Options::default(), era, script, None).await
}

#[tokio::test]
async fn an_empty_ticket_is_refused() {
    for era in ERAS {
        let script = Script::replies(Vec::<String>::new());
        let c = server(era, script.clone()).await;
        let e = triage(&c, "  ", "\n", Some("Jane Doe")).await.unwrap_err();
        assert_eq!(
            e, "the ticket is empty: give a subject or a body",
            "{era:?}"
        );
        let e = triage(&c, "x", &"long ".repeat(5000), None)
            .await
            .unwrap_err();
        assert!(e.contains("too long"), "{e}");
        assert_eq!(script.requests(), 0);
        let stats = call(&c, "ticket_stats", json!({})).await.expect("stats");
        assert_eq!(stats["total"], 0, "nothing stored");
        c.close().await;
    }
}

#[tokio::test]
async fn hard_rules_decide_p1_without_the_model() {
    for era in ERAS {
        let script = Script::replies(Vec::<String>::new());
        let c = server(era, script.clone()).await;
        let t = triage(
            &c,
            "Dashboard is down",
            "Since 9:00 nobody in our team can load it.",
            Some("maria@northwind.example"),
        )
        .await
        .expect("triaged");
        assert_eq!(
            (t["priority"].clone(), t["category"].clone()),
            (json!("P1"), json!("outage")),
            "{era:?}: {t}"
        );
        assert_eq!(t["decided_by"], "rule");
        assert_eq!(
            t["customer"]["name"], "Northwind Logistics",
            "known by its e-mail domain"
        );
        assert!(
            t["rationale"]
                .as_str()
                .unwrap_or_default()
                .contains("enterprise"),
            "{t}"
        );
        assert!(
            t["first_reply"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Hello Northwind Logistics,"),
            "{t}"
        );
        let t = triage(
            &c,
            "Strange logins",
            "I think my account was hacked last night.",
            Some("jane.doe@example.com"),
        )
        .await
        .expect("triaged");
        assert_eq!(
            (t["priority"].clone(), t["category"].clone()),
            (json!("P1"), json!("security")),
            "{t}"
        );
        assert_eq!(t["decided_by"], "rule");
        assert_eq!(script.requests(), 0, "{era:?}");
        c.close().await;
    }
}

#[tokio::test]
async fn the_model_judges_the_rest_and_the_triage_is_stored_once() {
    for era in ERAS {
        let script = Script::new(vec![
            ("Subject: Charged twice", judgment("P3", "billing")),
            ("Subject: API is down", judgment("P2", "outage")),
        ]);
        let c = server(era, script.clone()).await;
        let t = triage(
            &c,
            "Charged twice",
            "My card was charged twice for March.",
            Some("Acme Bakery"),
        )
        .await
        .expect("triaged");
        assert_eq!(
            (t["priority"].clone(), t["category"].clone()),
            (json!("P3"), json!("billing")),
            "{era:?}: {t}"
        );
        assert_eq!(t["decided_by"], "model:scripted");
        assert_eq!(t["first_reply"], "Hello, thanks for writing.");
        let text = common::request_text(&script.seen()[0]);
        assert!(
            text.contains("From: Acme Bakery (pro plan, no SLA)"),
            "{text}"
        );
        // An outage from a customer without an SLA is the model's call.
        let t = triage(
            &c,
            "API is down",
            "Our integration gets 500s.",
            Some("Jane Doe"),
        )
        .await
        .expect("triaged");
        assert_eq!(
            (t["priority"].clone(), t["decided_by"].clone()),
            (json!("P2"), json!("model:scripted"))
        );
        let stats = call(&c, "ticket_stats", json!({})).await.expect("stats");
        assert_eq!(
            stats["total"], 2,
            "{era:?}: each triage stored once, replays aside: {stats}"
        );
        assert_eq!(stats["by_decider"]["model"], 2);
        c.close().await;
    }
}

#[tokio::test]
async fn garbage_or_no_sampling_takes_the_fallback() {
    for era in ERAS {
        let script = Script::replies(["P2 I guess?", "{\"priority\": \"urgent\"}"]);
        let c = server(era, script.clone()).await;
        let t = triage(&c, "Refund", "Please refund my last invoice.", None)
            .await
            .expect("triaged");
        assert_eq!(
            (t["priority"].clone(), t["category"].clone()),
            (json!("P3"), json!("billing")),
            "{era:?}: {t}"
        );
        let by = t["decided_by"].as_str().unwrap_or_default();
        assert!(
            by.starts_with("fallback (the model's answer is invalid"),
            "{by}"
        );
        assert_eq!(script.requests(), 2, "one repair round");
        c.close().await;

        let example = mcp_examples::find("triage").expect("registered");
        let server = (example.build)(&Options::default()).expect("builds");
        let (a, b) = mcp_rpc::memory();
        tokio::spawn(async move { server.serve(a, std::future::pending()).await });
        let opts = ClientOptions {
            era: if era == Era::Legacy {
                EraChoice::Legacy
            } else {
                EraChoice::Modern
            },
            capabilities: ClientCapabilities::default(),
            ..ClientOptions::default()
        };
        let c = Client::connect(b, Script::replies(Vec::<String>::new()), opts)
            .await
            .expect("connects");
        let t = triage(&c, "Feature request", "Could you add a dark mode?", None)
            .await
            .expect("triaged");
        assert_eq!(
            t["decided_by"], "fallback (the client cannot sample)",
            "{era:?}: {t}"
        );
        assert_eq!(
            (t["priority"].clone(), t["category"].clone()),
            (json!("P4"), json!("feature_request"))
        );
        c.close().await;
    }
}

#[tokio::test]
async fn tickets_are_listed_filtered_and_counted() {
    for era in ERAS {
        let script = Script::new(vec![(
            "Subject: How do I export",
            judgment("P4", "question"),
        )]);
        let c = server(era, script).await;
        triage(
            &c,
            "Site down",
            "Everything is offline",
            Some("Globex Health"),
        )
        .await
        .expect("rule");
        triage(
            &c,
            "How do I export",
            "to CSV?",
            Some("tomas.silva@example.org"),
        )
        .await
        .expect("model");
        triage(
            &c,
            "Phishing mail",
            "Got a phishing mail in your name",
            None,
        )
        .await
        .expect("rule");
        let l = call(&c, "list_tickets", json!({})).await.expect("listed");
        assert_eq!(l["count"], 3, "{era:?}: {l}");
        assert_eq!(l["tickets"][0]["subject"], "Phishing mail", "newest first");
        let l = call(&c, "list_tickets", json!({"priority": "P1"}))
            .await
            .expect("listed");
        assert_eq!(l["count"], 2);
        let l = call(
            &c,
            "list_tickets",
            json!({"category": "question", "customer": "Tomás Silva"}),
        )
        .await
        .expect("listed");
        assert_eq!(l["tickets"][0]["subject"], "How do I export", "{l}");
        let l = call(&c, "list_tickets", json!({"limit": 1}))
            .await
            .expect("listed");
        assert_eq!(l["count"], 1);
        let e = call(&c, "list_tickets", json!({"limit": 0}))
            .await
            .unwrap_err();
        assert_eq!(e, "limit must be between 1 and 100");
        let s = call(&c, "ticket_stats", json!({})).await.expect("stats");
        assert_eq!(s["total"], 3);
        assert_eq!(s["by_priority"], json!({"P1": 2, "P4": 1}));
        assert_eq!(
            s["by_category"],
            json!({"outage": 1, "question": 1, "security": 1})
        );
        assert_eq!(s["by_decider"], json!({"model": 1, "rule": 2}));
        c.close().await;
    }
}

#[tokio::test]
async fn a_db_file_keeps_the_tickets() {
    let path = std::env::temp_dir().join(format!("mcp-triage-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let opts = Options {
        db: Some(path.clone()),
        ..Options::default()
    };
    for (era, want) in [(Era::Legacy, 1), (Era::Modern, 2)] {
        let c = connect(
            "triage",
            &opts,
            era,
            Script::replies(Vec::<String>::new()),
            None,
        )
        .await;
        triage(&c, "We were hacked", "", None).await.expect("rule");
        let s = call(&c, "ticket_stats", json!({})).await.expect("stats");
        assert_eq!(s["total"], want, "{era:?}");
        c.close().await;
    }
    let _ = std::fs::remove_file(&path);
}
