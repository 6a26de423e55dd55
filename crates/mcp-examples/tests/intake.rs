//! The `intake` server in process, on both eras, with a fixed "today" (a manual clock),
//! scripted verdicts and scripted forms: a request accepted at once, a format error found by
//! code and fixed through the form, an inconsistency found by the model and fixed, a
//! declined and a cancelled form, a client that cannot show forms, one that cannot sample,
//! a garbage verdict (the fallback accepts on the code checks), and the bound on rounds.

mod common;

use common::{args, Script, ERAS};
use mcp_client::{
    Client, ClientOptions, ElicitationError, ElicitationHandler, ElicitationRequest, EraChoice,
};
use mcp_proto::clock::ManualClock;
use mcp_proto::{BoxFuture, ClientCapabilities, ElicitResult, Era, SamplingHandler};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

/// 2030-03-10, a Sunday, as days since 1970-01-01.
const TODAY: u64 = 21_983;

/// What the person does with each form, in order; the forms' fields are recorded.
struct Person {
    replies: Mutex<Vec<Option<Value>>>,
    /// Each form's property names, in order.
    forms: Mutex<Vec<Vec<String>>>,
}

impl Person {
    /// `Some(object)` accepts with it, `Some("cancel")` cancels, `None` declines; with none
    /// left, declines.
    fn new(replies: Vec<Option<Value>>) -> Arc<Person> {
        Arc::new(Person {
            replies: Mutex::new(replies.into_iter().rev().collect()),
            forms: Mutex::new(Vec::new()),
        })
    }

    fn forms(&self) -> Vec<Vec<String>> {
        self.forms.lock().unwrap().clone()
    }
}

impl ElicitationHandler for Person {
    fn elicit(&self, req: ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>> {
        let names = req
            .params
            .requested_schema
            .properties
            .keys()
            .cloned()
            .collect();
        self.forms.lock().unwrap().push(names);
        let r = match self.replies.lock().unwrap().pop().flatten() {
            Some(Value::Object(content)) => ElicitResult::accept(content),
            Some(_) => ElicitResult::cancel(),
            None => ElicitResult::decline(),
        };
        Box::pin(std::future::ready(Ok(r)))
    }
}

/// The intake server (today is [`TODAY`]) and a client of `era`; forms are declared only
/// with a person, sampling only with a sampler.
async fn intake(era: Era, sampler: Option<Arc<Script>>, person: Option<Arc<Person>>) -> Client {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(TODAY * 86_400 + 3600 * 15));
    let server = mcp_examples::intake::server_with_clock(Arc::new(clock));
    let (a, b) = mcp_rpc::memory();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let capabilities = match sampler {
        Some(_) => ClientCapabilities::sampling(true),
        None => ClientCapabilities::default(),
    };
    let handler: Arc<dyn SamplingHandler> = match sampler {
        Some(s) => s,
        None => Script::replies(Vec::<String>::new()),
    };
    let opts = ClientOptions {
        era: match era {
            Era::Legacy => EraChoice::Legacy,
            Era::Modern => EraChoice::Modern,
        },
        capabilities,
        elicitation: person.map(|p| p as Arc<dyn ElicitationHandler>),
        ..ClientOptions::default()
    };
    Client::connect(b, handler, opts).await.expect("connects")
}

fn good() -> Map<String, Value> {
    args(json!({
        "name": "Ann Smith",
        "address": "221B Baker Street",
        "town": "London",
        "postcode": "nw1 6xe",
        "date": "tomorrow",
        "time_window": "morning",
        "phone": "+44 7700 900123",
        "instructions": "Leave with the concierge"
    }))
}

async fn submit(c: &Client, request: Map<String, Value>) -> Value {
    let r = c
        .call_tool("submit_request", request)
        .await
        .expect("called");
    assert_ne!(r.is_error, Some(true), "{}", r.text_content());
    r.structured_content.expect("structured")
}

const PLAUSIBLE: &str = r#"{"plausible": true, "fields_at_fault": [], "reason": "looks fine"}"#;

#[tokio::test]
async fn a_good_request_is_normalised_judged_and_accepted() {
    for era in ERAS {
        let script = Script::new(vec![("postcode: NW1 6XE", PLAUSIBLE)]);
        let person = Person::new(vec![]);
        let c = intake(era, Some(script.clone()), Some(person.clone())).await;
        let o = submit(&c, good()).await;
        assert_eq!(o["status"], "accepted", "{era:?}: {o}");
        assert_eq!(o["judged_by"], "model:scripted");
        assert_eq!(o["rounds"], 0);
        assert_eq!(o["request"]["postcode"], "NW1 6XE");
        assert_eq!(o["request"]["date"], "2030-03-11");
        assert_eq!(o["request"]["time_window"], "08:00-12:00");
        assert_eq!(o["request"]["phone"], "07700900123");
        assert_eq!(o["problems"], json!([]));
        let asked = common::request_text(&script.seen()[0]);
        assert!(asked.contains("date: 2030-03-11 (Monday)"), "{asked}");
        assert!(person.forms().is_empty());
        c.close().await;
    }
}

#[tokio::test]
async fn a_format_error_found_by_code_is_fixed_through_the_form() {
    for era in ERAS {
        let script = Script::new(vec![("postcode: M1 1AE", PLAUSIBLE)]);
        let person = Person::new(vec![Some(
            json!({"postcode": "m11ae", "phone": "0161 496 0000"}),
        )]);
        let c = intake(era, Some(script.clone()), Some(person.clone())).await;
        let mut request = good();
        request.insert("postcode".into(), json!("12345"));
        request.insert("phone".into(), json!("555-0100"));
        request.insert("town".into(), json!("Manchester"));
        let o = submit(&c, request).await;
        assert_eq!(o["status"], "accepted", "{era:?}: {o}");
        assert_eq!(o["rounds"], 1);
        assert_eq!(o["request"]["postcode"], "M1 1AE");
        assert_eq!(o["request"]["phone"], "01614960000");
        assert_eq!(
            person.forms(),
            [vec!["phone".to_owned(), "postcode".to_owned()]]
        );
        assert_eq!(
            script.requests(),
            1,
            "the model judges only a request that passed code"
        );
        c.close().await;
    }
}

#[tokio::test]
async fn an_inconsistency_found_by_the_model_is_fixed() {
    for era in ERAS {
        let script = Script::new(vec![
            (
                "town: Leeds",
                r#"{"plausible": false, "fields_at_fault": ["town"], "reason": "NW1 is in London, not Leeds"}"#,
            ),
            ("town: London", PLAUSIBLE),
        ]);
        let person = Person::new(vec![Some(json!({"town": "London"}))]);
        let c = intake(era, Some(script.clone()), Some(person.clone())).await;
        let mut request = good();
        request.insert("town".into(), json!("Leeds"));
        let o = submit(&c, request).await;
        assert_eq!(o["status"], "accepted", "{era:?}: {o}");
        assert_eq!(o["rounds"], 1);
        assert_eq!(o["request"]["town"], "London");
        assert_eq!(person.forms(), [vec!["town".to_owned()]]);
        assert_eq!(script.requests(), 2);
        c.close().await;
    }
}

#[tokio::test]
async fn declined_and_cancelled_forms_leave_the_request_unaccepted() {
    for era in ERAS {
        for (reply, status) in [(None, "declined"), (Some(json!("cancel")), "cancelled")] {
            let script = Script::new(Vec::<(String, String)>::new());
            let person = Person::new(vec![reply]);
            let c = intake(era, Some(script.clone()), Some(person)).await;
            let mut request = good();
            request.insert("date".into(), json!("2030-03-01"));
            let o = submit(&c, request).await;
            assert_eq!(o["status"], status, "{era:?}: {o}");
            assert_eq!(o["problems"][0]["field"], "date");
            assert_eq!(o["problems"][0]["found_by"], "code");
            let problem = o["problems"][0]["problem"].as_str().unwrap();
            assert!(problem.contains("not in the future"), "{problem}");
            assert!(
                o["message"].as_str().unwrap().contains("not accepted"),
                "{o}"
            );
            assert_eq!(script.requests(), 0);
            c.close().await;
        }
    }
}

#[tokio::test]
async fn a_client_without_forms_gets_the_problems_to_fix() {
    for era in ERAS {
        let script = Script::new(vec![(
            "instructions: Leave it in the garden",
            r#"{"plausible": false, "fields_at_fault": ["instructions"], "reason": "a flat with a concierge has no garden"}"#,
        )]);
        let c = intake(era, Some(script.clone()), None).await;
        let o = submit(&c, args(json!({"name": "Ann"}))).await;
        assert_eq!(o["status"], "needs_correction", "{era:?}: {o}");
        let fields: Vec<&str> = o["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["address", "postcode", "date", "phone"]);
        let mut request = good();
        request.insert("instructions".into(), json!("Leave it in the garden"));
        let o = submit(&c, request).await;
        assert_eq!(o["status"], "needs_correction", "{o}");
        assert_eq!(o["problems"][0]["field"], "instructions");
        assert_eq!(o["problems"][0]["found_by"], "model");
        assert_eq!(o["reason"], "a flat with a concierge has no garden");
        c.close().await;
    }
}

#[tokio::test]
async fn a_garbage_verdict_or_no_sampling_falls_back_to_the_code_checks() {
    for era in ERAS {
        let script = Script::replies(["The address is fine I think", "yes"]);
        let c = intake(era, Some(script.clone()), Some(Person::new(vec![]))).await;
        let o = submit(&c, good()).await;
        assert_eq!(o["status"], "accepted", "{era:?}: {o}");
        let by = o["judged_by"].as_str().unwrap();
        assert!(
            by.starts_with("fallback (the model's answer is not valid"),
            "{by}"
        );
        assert!(o["message"].as_str().unwrap().contains("not judged"), "{o}");
        assert_eq!(script.requests(), 2, "one repair round");
        c.close().await;
        // A verdict naming a field that was not given is invalid too.
        let script = Script::replies([
            r#"{"plausible": false, "fields_at_fault": ["colour"], "reason": "?"}"#,
            r#"{"plausible": false, "fields_at_fault": [], "reason": "?"}"#,
        ]);
        let c = intake(era, Some(script.clone()), Some(Person::new(vec![]))).await;
        let o = submit(&c, good()).await;
        assert_eq!(o["status"], "accepted", "{o}");
        assert!(
            o["judged_by"].as_str().unwrap().starts_with("fallback ("),
            "{o}"
        );
        let repair = common::request_text(&script.seen()[1]);
        assert!(
            repair.contains("\"colour\" is not one of the fields given"),
            "{repair}"
        );
        c.close().await;
        let c = intake(era, None, Some(Person::new(vec![]))).await;
        let o = submit(&c, good()).await;
        assert_eq!(o["status"], "accepted", "{o}");
        assert_eq!(o["judged_by"], "fallback (the client cannot sample)");
        c.close().await;
    }
}

#[tokio::test]
async fn corrections_are_bounded() {
    for era in ERAS {
        let bad = Some(json!({"postcode": "nope"}));
        let person = Person::new(vec![bad.clone(), bad.clone(), bad.clone(), bad]);
        let script = Script::new(Vec::<(String, String)>::new());
        let c = intake(era, Some(script), Some(person.clone())).await;
        let mut request = good();
        request.insert("postcode".into(), json!("00000"));
        let o = submit(&c, request).await;
        assert_eq!(o["status"], "rejected", "{era:?}: {o}");
        assert_eq!(o["rounds"], 3);
        assert_eq!(person.forms().len(), 3);
        assert_eq!(o["request"]["postcode"], "nope");
        c.close().await;
    }
}

#[tokio::test]
async fn an_empty_request_asks_for_every_required_field() {
    for era in ERAS {
        let script = Script::new(vec![("name: Bo Li", PLAUSIBLE)]);
        let person = Person::new(vec![Some(json!({
            "name": "Bo Li", "address": "1 High Street", "postcode": "EH1 1YZ",
            "date": "in 3 days", "phone": "0131 496 0000"
        }))]);
        let c = intake(era, Some(script), Some(person.clone())).await;
        let o = submit(&c, Map::new()).await;
        assert_eq!(o["status"], "accepted", "{era:?}: {o}");
        assert_eq!(o["request"]["date"], "2030-03-13");
        let want = ["address", "date", "name", "phone", "postcode"];
        assert_eq!(
            person.forms(),
            [want.iter().map(|s| s.to_string()).collect::<Vec<_>>()]
        );
        c.close().await;
    }
}
