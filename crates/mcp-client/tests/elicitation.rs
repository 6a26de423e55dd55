//! Elicitation and roots end to end, our client against our server in memory, both eras:
//! accept/decline/cancel, defaults, invalid replies refused, roots and their changes, a
//! tool that samples and then elicits.

use mcp_client::{
    AutoElicit, Client, ClientError, ClientOptions, ElicitationError, ElicitationHandler,
    ElicitationRequest, EraChoice, Roots, SamplingError, SamplingRequest,
};
use mcp_proto::elicitation::ElicitResult;
use mcp_proto::roots::Root;
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::Era;
use mcp_rpc::testing::RawPeer;
use mcp_rpc::BoxFuture;
use mcp_server::{Args, Ctx, Elicited, Sampling, Server, ToolError};
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

/// A table booking.
#[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
struct Booking {
    /// Who books.
    name: String,
    /// How many guests.
    #[schemars(range(min = 1, max = 12))]
    #[serde(default = "two")]
    guests: u32,
}

fn two() -> u32 {
    2
}

async fn book(Args(_): Args<Nothing>, ctx: Ctx) -> Result<String, ToolError> {
    Ok(match ctx.elicit_as::<Booking>("Book a table").await? {
        Elicited::Accepted(b) => format!("booked for {} ({} guests)", b.name, b.guests),
        Elicited::Declined => "declined".into(),
        Elicited::Cancelled => "cancelled".into(),
    })
}

async fn suggest_then_book(Args(_): Args<Nothing>, ctx: Ctx) -> Result<String, ToolError> {
    let name = ctx
        .sample(Sampling::user("a name").max_tokens(5))
        .await?
        .text();
    let booked = ctx
        .elicit_as::<Booking>(format!("Book for {name}?"))
        .await?;
    Ok(format!("{name}: {booked:?}"))
}

async fn roots(Args(_): Args<Nothing>, ctx: Ctx) -> Result<String, ToolError> {
    let r = ctx.list_roots().await?;
    Ok(r.iter()
        .map(|r| r.uri.as_str())
        .collect::<Vec<_>>()
        .join(" "))
}

fn server() -> Server {
    Server::builder("forms")
        .tool("book", "elicits a booking", book)
        .tool(
            "suggest_then_book",
            "samples, then elicits",
            suggest_then_book,
        )
        .tool("roots", "lists roots", roots)
        .build()
}

fn sampler() -> Arc<dyn mcp_host::SamplingHandler> {
    Arc::new(
        |_req: SamplingRequest| -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
            Box::pin(std::future::ready(Ok(CreateMessageResult::from_text(
                "m", "Zoe",
            ))))
        },
    )
}

async fn connect(era: EraChoice, opts: ClientOptions) -> Client {
    let (a, b) = mcp_rpc::memory();
    let s = server();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    Client::connect(b, sampler(), ClientOptions { era, ..opts })
        .await
        .expect("connect")
}

fn with_elicit(h: Arc<dyn ElicitationHandler>) -> ClientOptions {
    ClientOptions {
        elicitation: Some(h),
        ..Default::default()
    }
}

fn accept(v: Value) -> Arc<dyn ElicitationHandler> {
    Arc::new(AutoElicit::Accept(v.as_object().unwrap().clone()))
}

const ERAS: [(EraChoice, Era); 2] = [
    (EraChoice::Legacy, Era::Legacy),
    (EraChoice::Modern, Era::Modern),
];

#[tokio::test]
async fn accept_decline_cancel_on_both_eras() {
    for (choice, era) in ERAS {
        for (handler, want) in [
            (accept(json!({"name": "Ann"})), "booked for Ann (2 guests)"),
            (
                accept(json!({"name": "Bo", "guests": 5, "extra": 1})),
                "booked for Bo (5 guests)",
            ),
            (
                Arc::new(AutoElicit::Decline) as Arc<dyn ElicitationHandler>,
                "declined",
            ),
            (Arc::new(AutoElicit::Cancel), "cancelled"),
        ] {
            let client = connect(choice, with_elicit(handler)).await;
            assert_eq!(client.era(), era);
            let r = client.call_tool("book", Map::new()).await.unwrap();
            assert_eq!(r.text_content(), want, "era {era}");
            client.close().await;
        }
    }
}

/// Records what it saw and replies with values that break the schema.
#[derive(Default)]
struct Bad(Mutex<Vec<ElicitationRequest>>);

impl ElicitationHandler for Bad {
    fn elicit(&self, req: ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>> {
        self.0.lock().unwrap().push(req);
        let content = json!({"name": "Ann", "guests": 40})
            .as_object()
            .unwrap()
            .clone();
        Box::pin(std::future::ready(Ok(ElicitResult::accept(content))))
    }
}

#[tokio::test]
async fn invalid_replies_are_not_sent() {
    for (choice, era) in ERAS {
        let bad = Arc::new(Bad::default());
        let client = connect(choice, with_elicit(bad.clone())).await;
        let outcome = client.call_tool("book", Map::new()).await;
        match era {
            // The server gets an error instead of the reply; the tool reports it.
            Era::Legacy => {
                let r = outcome.unwrap();
                assert_eq!(r.is_error, Some(true));
                assert!(
                    r.text_content().contains("at most 12"),
                    "{}",
                    r.text_content()
                );
            }
            // The call is not retried.
            Era::Modern => match outcome {
                Err(ClientError::Elicitation(ElicitationError::Failed(why))) => {
                    assert!(why.contains("\"guests\" must be at most 12"), "{why}")
                }
                other => panic!("{other:?}"),
            },
        }
        let seen = std::mem::take(&mut *bad.0.lock().unwrap());
        assert_eq!(seen.len(), 1);
        assert_eq!(&*seen[0].server, "forms");
        assert_eq!(seen[0].era, era);
        assert_eq!(
            seen[0].tool_call.as_ref().map(|c| c.name.as_str()),
            Some("book")
        );
        assert_eq!(seen[0].params.message, "Book a table");
        client.close().await;
    }
}

#[tokio::test]
async fn a_tool_samples_then_elicits() {
    for (choice, era) in ERAS {
        let client = connect(choice, with_elicit(accept(json!({"name": "Zoe"})))).await;
        let r = client
            .call_tool("suggest_then_book", Map::new())
            .await
            .unwrap();
        assert_eq!(
            r.text_content(),
            r#"Zoe: Accepted(Booking { name: "Zoe", guests: 2 })"#,
            "era {era}"
        );
        client.close().await;
    }
}

#[tokio::test]
async fn without_handlers_nothing_is_declared() {
    for (choice, era) in ERAS {
        let client = connect(choice, ClientOptions::default()).await;
        match (era, client.call_tool("book", Map::new()).await) {
            (Era::Legacy, Ok(r)) => {
                assert_eq!(r.is_error, Some(true));
                assert!(r
                    .text_content()
                    .contains("does not support MCP elicitation"));
            }
            (Era::Modern, Err(ClientError::Rpc(mcp_rpc::RpcError::Remote(e)))) => {
                assert_eq!(e.code, -32021, "{e:?}")
            }
            other => panic!("era {era}: {other:?}"),
        }
        match (era, client.call_tool("roots", Map::new()).await) {
            (Era::Legacy, Ok(r)) => {
                assert!(r.text_content().contains("does not support MCP roots"))
            }
            (Era::Modern, Err(ClientError::Rpc(mcp_rpc::RpcError::Remote(e)))) => {
                assert_eq!(e.code, -32021)
            }
            other => panic!("era {era}: {other:?}"),
        }
        client.close().await;
    }
}

#[tokio::test]
async fn roots_on_both_eras() {
    for (choice, era) in ERAS {
        let roots =
            Roots::from_paths(&[PathBuf::from("/srv/a b"), PathBuf::from("/srv/c")]).unwrap();
        let opts = ClientOptions {
            roots: Some(roots.clone()),
            ..Default::default()
        };
        let client = connect(choice, opts).await;
        let r = client.call_tool("roots", Map::new()).await.unwrap();
        assert_eq!(
            r.text_content(),
            "file:///srv/a%20b file:///srv/c",
            "era {era}"
        );
        roots
            .set(vec![Root::from_path(std::path::Path::new("/x")).unwrap()])
            .unwrap();
        let r = client.call_tool("roots", Map::new()).await.unwrap();
        assert_eq!(r.text_content(), "file:///x", "era {era}");
        client.close().await;
    }
}

#[tokio::test]
async fn legacy_capabilities_and_list_changed() {
    let (a, b) = mcp_rpc::memory();
    let mut server = RawPeer::new(a);
    let roots = Roots::new(vec![]).unwrap();
    let opts = ClientOptions {
        era: EraChoice::Legacy,
        roots: Some(roots.clone()),
        elicitation: Some(Arc::new(AutoElicit::Accept(
            json!({"name": "Ann", "other": 1})
                .as_object()
                .unwrap()
                .clone(),
        ))),
        ..Default::default()
    };
    let connecting = tokio::spawn(async move { Client::connect(b, sampler(), opts).await });
    let init = server.recv().await;
    let caps = &init["params"]["capabilities"];
    assert_eq!(caps["roots"], json!({"listChanged": true}), "{init}");
    assert_eq!(caps["elicitation"], json!({"form": {}}), "{init}");
    assert!(caps["sampling"].is_object(), "{init}");
    server
        .send(json!({"jsonrpc": "2.0", "id": init["id"], "result": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": {"name": "raw", "version": "1"}}}))
        .await;
    let client = connecting.await.unwrap().unwrap();
    assert_eq!(server.recv().await["method"], "notifications/initialized");
    roots
        .set(vec![Root::from_path(std::path::Path::new("/new")).unwrap()])
        .unwrap();
    let n = server.recv().await;
    assert_eq!(n["method"], "notifications/roots/list_changed", "{n}");
    // roots/list answers the new list; url-mode elicitation is refused as invalid params.
    server
        .send(json!({"jsonrpc": "2.0", "id": 7, "method": "roots/list"}))
        .await;
    let r = server.recv().await;
    assert_eq!(r["result"]["roots"][0]["uri"], "file:///new", "{r}");
    // The host fills in the schema's defaults and leaves out what the schema lacks.
    let schema = json!({"type": "object", "required": ["name", "guests"], "properties": {
        "name": {"type": "string"}, "guests": {"type": "integer", "default": 2}}});
    let ask = json!({"jsonrpc": "2.0", "id": 9, "method": "elicitation/create",
        "params": {"message": "m", "requestedSchema": schema}});
    server.send(ask).await;
    let r = server.recv().await;
    let want = json!({"action": "accept", "content": {"name": "Ann", "guests": 2}});
    assert_eq!(r["result"], want, "{r}");
    server
        .send(
            json!({"jsonrpc": "2.0", "id": 8, "method": "elicitation/create",
            "params": {"mode": "url", "message": "m", "url": "https://x", "elicitationId": "1"}}),
        )
        .await;
    let r = server.recv().await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("url mode"),
        "{r}"
    );
    drop(server);
    client.close().await;
}
