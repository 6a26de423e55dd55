//! The `kb` server in process, on both eras, with scripted replies: each retrieval strategy
//! (chosen by a rule or by the model), the split into sub-queries (the model's and code's),
//! a model answering garbage, a client that cannot sample, bad queries, an empty or missing
//! folder, and `--docs` on a folder of its own.

mod common;

use common::{args, connect, Script, ERAS};
use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_examples::Options;
use mcp_proto::methods::{ReadResource, Request as _};
use mcp_proto::{ClientCapabilities, Era, SamplingHandler};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Calls `search_kb` and returns the structured result (after checking it is no error).
async fn search(c: &Client, query_args: Value) -> Value {
    let r = c
        .call_tool("search_kb", args(query_args))
        .await
        .expect("called");
    assert_ne!(r.is_error, Some(true), "{}", r.text_content());
    r.structured_content.expect("structured")
}

async fn kb(era: Era, script: &Arc<Script>) -> Client {
    let sampler: Arc<dyn SamplingHandler> = script.clone();
    connect("kb", &Options::default(), era, sampler, None).await
}

fn files(found: &Value) -> Vec<String> {
    found["passages"]
        .as_array()
        .expect("passages")
        .iter()
        .map(|p| p["file"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn rules_decide_sections_phrases_and_identifiers_without_the_model() {
    for era in ERAS {
        let script = Script::replies(Vec::<String>::new());
        let c = kb(era, &script).await;
        let f = search(&c, json!({"query": "section:Providers anthropic key"})).await;
        assert_eq!(f["strategy"], "section", "{era:?}: {f}");
        assert_eq!(f["decided_by"], "rule");
        assert_eq!(f["passages"][0]["file"], "providers.md", "{f}");
        for p in f["passages"].as_array().unwrap() {
            let h = p["heading"].as_str().unwrap().to_lowercase();
            let file = p["file"].as_str().unwrap();
            assert!(h.contains("provider") || file.contains("provider"), "{p}");
        }
        let f = search(&c, json!({"query": "\"max reasoning depth exceeded\""})).await;
        assert_eq!(f["strategy"], "phrase", "{f}");
        let found = files(&f);
        assert!(found.contains(&"limits-and-depth.md".to_owned()), "{f}");
        assert!(found.contains(&"troubleshooting.md".to_owned()), "{f}");
        let f = search(&c, json!({"query": "max_samples_per_call", "limit": 2})).await;
        assert_eq!(f["strategy"], "keyword", "{f}");
        assert_eq!(f["decided_by"], "rule");
        assert_eq!(f["passages"].as_array().unwrap().len(), 2);
        assert!(files(&f).contains(&"limits-and-depth.md".to_owned()), "{f}");
        let p = &f["passages"][0];
        assert!(p["score"].as_f64().unwrap() > 0.0, "{p}");
        assert!(!p["snippet"].as_str().unwrap().is_empty(), "{p}");
        // A single word the corpus lacks is a misspelling: fuzzy, still by rule.
        let f = search(&c, json!({"query": "elicitaton"})).await;
        assert_eq!(f["strategy"], "fuzzy", "{f}");
        assert_eq!(f["decided_by"], "rule");
        assert_eq!(f["passages"][0]["file"], "elicitation.md", "{f}");
        assert_eq!(script.requests(), 0, "no sampling for obvious cases");
        c.close().await;
    }
}

#[tokio::test]
async fn the_model_picks_keyword_fuzzy_phrase_and_section() {
    for era in ERAS {
        let script = Script::new(vec![
            ("Input: approval modes ask", "keyword"),
            ("Input: embeded modle instal", "fuzzy"),
            ("Input: the earliest delivery", "phrase"),
            ("Input: troubleshooting expired", "section"),
        ]);
        let c = kb(era, &script).await;
        let f = search(&c, json!({"query": "approval modes ask auto deny"})).await;
        assert_eq!(f["strategy"], "keyword", "{era:?}: {f}");
        assert_eq!(f["decided_by"], "model:scripted");
        assert!(files(&f)[..2].contains(&"approval.md".to_owned()), "{f}");
        let f = search(&c, json!({"query": "embeded modle instal"})).await;
        assert_eq!(f["strategy"], "fuzzy", "{f}");
        assert_eq!(f["passages"][0]["file"], "embedded-model.md", "{f}");
        // A phrase the corpus lacks: widened to keywords, then it finds something.
        let f = search(&c, json!({"query": "the earliest delivery slot"})).await;
        assert_eq!(f["strategy"], "phrase", "{f}");
        assert_eq!(f["widened_to"], "keyword", "{f}");
        let f = search(&c, json!({"query": "troubleshooting expired requestState"})).await;
        assert_eq!(f["strategy"], "section", "{f}");
        assert_eq!(f["passages"][0]["file"], "troubleshooting.md", "{f}");
        assert_eq!(script.requests(), 4);
        c.close().await;
    }
}

#[tokio::test]
async fn a_split_is_the_models_or_else_codes() {
    for era in ERAS {
        let script = Script::new(vec![
            ("Input: install the embedded model and", "split"),
            (
                "Query: install the embedded model and",
                r#"{"queries": ["install the embedded model", "bearer token for HTTP"]}"#,
            ),
            ("Input: audit log location and", "split"),
            ("Query: audit log location and", "I cannot do that."),
            ("That answer is not valid", "Sorry, no."),
        ]);
        let c = kb(era, &script).await;
        let q = "install the embedded model and set a bearer token for HTTP";
        let f = search(&c, json!({"query": q, "limit": 8})).await;
        assert_eq!(f["strategy"], "split", "{era:?}: {f}");
        assert_eq!(f["split_by"], "model:scripted");
        assert_eq!(
            f["sub_queries"],
            json!(["install the embedded model", "bearer token for HTTP"])
        );
        let found = files(&f);
        assert!(found.contains(&"embedded-model.md".to_owned()), "{f}");
        assert!(found.contains(&"http-transport.md".to_owned()), "{f}");
        // The model cannot split (garbage twice, repair round included): code splits.
        let f = search(
            &c,
            json!({"query": "audit log location and approval rules"}),
        )
        .await;
        assert_eq!(f["strategy"], "split", "{f}");
        let by = f["split_by"].as_str().unwrap();
        assert!(by.starts_with("fallback ("), "{by}");
        assert_eq!(
            f["sub_queries"],
            json!(["audit log location", "approval rules"])
        );
        let found = files(&f);
        assert!(found.contains(&"audit-log.md".to_owned()), "{f}");
        assert!(found.contains(&"approval.md".to_owned()), "{f}");
        assert_eq!(script.requests(), 5);
        c.close().await;
    }
}

#[tokio::test]
async fn garbage_from_the_model_falls_back_to_keywords() {
    for era in ERAS {
        let script = Script::replies(["banana"]);
        let c = kb(era, &script).await;
        let f = search(&c, json!({"query": "where is the audit database kept"})).await;
        assert_eq!(f["strategy"], "keyword", "{era:?}: {f}");
        let by = f["decided_by"].as_str().unwrap();
        assert!(
            by.starts_with("fallback (the model answered \"banana\""),
            "{by}"
        );
        assert!(files(&f)[..2].contains(&"audit-log.md".to_owned()), "{f}");
        c.close().await;
    }
}

/// Counts requests and must never be asked (the client does not declare sampling).
struct Never(AtomicUsize);

impl SamplingHandler for Never {
    fn create_message(
        &self,
        _: mcp_proto::SamplingRequest,
    ) -> mcp_proto::BoxFuture<Result<mcp_proto::CreateMessageResult, mcp_proto::SamplingError>>
    {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Err(mcp_proto::SamplingError::Failed(
            "not declared".into(),
        ))))
    }
}

#[tokio::test]
async fn a_client_that_cannot_sample_gets_keyword_search() {
    for era in ERAS {
        let example = mcp_examples::find("kb").expect("registered");
        let server = (example.build)(&Options::default()).expect("builds");
        let (a, b) = mcp_rpc::memory();
        tokio::spawn(async move { server.serve(a, std::future::pending()).await });
        let never = Arc::new(Never(AtomicUsize::new(0)));
        let opts = ClientOptions {
            era: match era {
                Era::Legacy => EraChoice::Legacy,
                Era::Modern => EraChoice::Modern,
            },
            capabilities: ClientCapabilities::default(),
            ..ClientOptions::default()
        };
        let c = Client::connect(b, never.clone(), opts)
            .await
            .expect("connects");
        let f = search(
            &c,
            json!({"query": "how are prompts kept in the audit log"}),
        )
        .await;
        assert_eq!(f["strategy"], "keyword", "{era:?}: {f}");
        assert_eq!(f["decided_by"], "fallback (the client cannot sample)");
        assert!(!files(&f).is_empty());
        assert_eq!(never.0.load(Ordering::SeqCst), 0);
        c.close().await;
    }
}

#[tokio::test]
async fn bad_queries_are_refused_in_one_sentence() {
    for era in ERAS {
        let script = Script::replies(Vec::<String>::new());
        let c = kb(era, &script).await;
        for (query, says) in [
            (json!({"query": "   "}), "the query is empty"),
            (json!({"query": "?!"}), "the query is empty"),
            (json!({"query": "x".repeat(501)}), "longer than 500"),
        ] {
            let r = c.call_tool("search_kb", args(query)).await.expect("called");
            assert_eq!(r.is_error, Some(true), "{era:?}");
            assert!(r.text_content().contains(says), "{}", r.text_content());
        }
        assert_eq!(script.requests(), 0);
        c.close().await;
    }
}

/// A fresh folder under the system's temporary folder.
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("kb-test-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn an_empty_or_missing_folder_is_a_clear_error() {
    let build = mcp_examples::find("kb").expect("registered").build;
    let empty = temp_dir("empty");
    std::fs::write(empty.join("notes.json"), "{}").unwrap();
    std::fs::write(empty.join("blank.md"), "\n\n# \n").unwrap();
    let err = build(&Options {
        docs: Some(empty.clone()),
        db: None,
    })
    .err()
    .expect("an error")
    .to_string();
    assert!(err.contains("holds no documents"), "{err}");
    let missing = empty.join("nope");
    let err = build(&Options {
        docs: Some(missing),
        db: None,
    })
    .err()
    .expect("an error")
    .to_string();
    assert!(err.contains("does not exist"), "{err}");
    let file = empty.join("notes.json");
    let err = build(&Options {
        docs: Some(file),
        db: None,
    })
    .err()
    .expect("an error")
    .to_string();
    assert!(err.contains("is not a folder"), "{err}");
    let _ = std::fs::remove_dir_all(&empty);
}

#[tokio::test]
async fn docs_from_a_folder_of_ones_own() {
    let dir = temp_dir("docs");
    std::fs::create_dir_all(dir.join("recipes")).unwrap();
    std::fs::write(
        dir.join("recipes/bread.md"),
        "# Sourdough bread\n\nFeed the starter the night before.\n\n## Baking\n\nBake at 230 degrees for forty minutes with steam.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("garden.txt"),
        "Garden notes\n\nWater the tomatoes every morning in July.\n",
    )
    .unwrap();
    std::fs::write(dir.join("huge.md"), "a ".repeat(600 * 1024)).unwrap();
    std::fs::write(dir.join("data.csv"), "a,b\n").unwrap();
    let outside = temp_dir("outside");
    std::fs::write(
        outside.join("secret.md"),
        "# Secret\n\nThe password is swordfish.\n",
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.join("secret.md"), dir.join("link.md")).unwrap();
    let opts = Options {
        docs: Some(dir.clone()),
        db: None,
    };
    for era in ERAS {
        let script = Script::new(vec![("Input: how hot should the oven be", "keyword")]);
        let sampler: Arc<dyn SamplingHandler> = script.clone();
        let c = connect("kb", &opts, era, sampler, None).await;
        let f = search(
            &c,
            json!({"query": "how hot should the oven be for baking"}),
        )
        .await;
        assert_eq!(f["passages"][0]["file"], "recipes/bread.md", "{era:?}: {f}");
        assert_eq!(f["passages"][0]["heading"], "Baking", "{f}");
        let f = search(&c, json!({"query": "tomatoes"})).await;
        assert_eq!(f["passages"][0]["file"], "garden.txt", "{f}");
        assert_eq!(f["passages"][0]["heading"], "Garden notes", "{f}");
        let f = search(&c, json!({"query": "swordfish"})).await;
        assert_eq!(
            f["passages"],
            json!([]),
            "a link out of the folder is not read: {f}"
        );
        let listing = c
            .request(
                ReadResource::METHOD,
                Some(json!({"uri": "kb://documents"})),
                None,
            )
            .await
            .expect("read");
        let text = listing["contents"][0]["text"].as_str().expect("text");
        let listing: Value = serde_json::from_str(text).expect("JSON");
        let docs: Vec<&str> = listing["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["file"].as_str().unwrap())
            .collect();
        assert_eq!(docs, ["garden.txt", "recipes/bread.md"], "{listing}");
        let skipped = listing["skipped"].to_string();
        assert!(
            skipped.contains("huge.md") && skipped.contains("larger than"),
            "{skipped}"
        );
        #[cfg(unix)]
        assert!(skipped.contains("outside the docs folder"), "{skipped}");
        c.close().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&outside);
}
