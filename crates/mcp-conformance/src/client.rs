//! `mcp-conformance client URL`: the client side of the official conformance suite.
//! The suite starts a mock server per scenario and runs this command with the server's URL
//! last; `MCP_CONFORMANCE_SCENARIO` names what to do, `MCP_CONFORMANCE_PROTOCOL_VERSION` the
//! era (2026-07-28 is modern, anything else or nothing legacy) and `MCP_CONFORMANCE_CONTEXT`
//! the scenario's data. Everything goes through our ordinary `Client` over Streamable HTTP.

use anyhow::{bail, Context};
use clap::Args;
use mcp_client::oauth::{
    AssertionSource, Grant, OAuth, OAuthConfig, PreRegistered, Scripted, SigningKey,
};
use mcp_client::{AutoElicit, Client, ClientOptions, EraChoice, HttpOptions};
use mcp_proto::handler::{SamplingError, SamplingRequest};
use mcp_proto::methods::{Initialize, ListPrompts, ListResources, ReadResource, Request as _};
use mcp_proto::{BoxFuture, CreateMessageResult};
use serde_json::{json, Map, Value};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct ConformanceArgs {
    /// The mock server's URL (the suite appends it).
    url: String,
}

pub async fn run(a: ConformanceArgs) -> anyhow::Result<ExitCode> {
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").context(
        "MCP_CONFORMANCE_SCENARIO is not set (this command is run by the conformance suite)",
    )?;
    let modern = std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION")
        .is_ok_and(|v| v == mcp_proto::version::MODERN);
    let context: Value = match std::env::var("MCP_CONFORMANCE_CONTEXT") {
        Ok(c) => serde_json::from_str(&c).context("MCP_CONFORMANCE_CONTEXT is not JSON")?,
        Err(_) => Value::Null,
    };
    // Elicitation is accepted with `confirmed: true` where asked; every other field takes the
    // schema's default, which the host fills in.
    let mut accept = Map::new();
    accept.insert("confirmed".into(), Value::Bool(true));
    let opts = ClientOptions {
        era: if modern {
            EraChoice::Modern
        } else {
            EraChoice::Legacy
        },
        elicitation: Some(Arc::new(AutoElicit::Accept(accept))),
        ..Default::default()
    };
    let handler = Arc::new(fixed_reply);
    let mut http = HttpOptions::default();
    if scenario.starts_with("auth/") {
        http.auth = Some(Arc::new(oauth(&a.url, &context)?));
    }
    let client = Client::connect_http(&a.url, http, handler, opts)
        .await
        .with_context(|| format!("cannot connect to {}", a.url))?;
    let outcome = play(&client, &scenario, &context).await;
    client.close().await;
    outcome.map(|()| ExitCode::SUCCESS)
}

async fn play(client: &Client, scenario: &str, context: &Value) -> anyhow::Result<()> {
    let tools = client.list_tools().await?.tools;
    match scenario {
        // The `initialize` scenario is named after the method: the handshake is all it checks.
        Initialize::METHOD | "request-metadata" | "json-schema-ref-no-deref" => {}
        "tools_call" => {
            call(client, "add_numbers", json!({"a": 5, "b": 3})).await?;
        }
        "sse-retry" => {
            call(client, "test_reconnection", json!({})).await?;
        }
        "elicitation-sep1034-client-defaults" => {
            call(client, "test_client_elicitation_defaults", json!({})).await?;
        }
        "sep-2322-client-request-state" => {
            for tool in [
                "test_mrtr_echo_state",
                "test_mrtr_unrelated",
                "test_mrtr_no_state",
                "test_mrtr_no_result_type",
            ] {
                call(client, tool, json!({})).await?;
            }
        }
        "http-custom-headers" => {
            let calls = context["toolCalls"]
                .as_array()
                .context("the context has no toolCalls")?;
            for c in calls {
                let name = c["name"].as_str().context("a tool call without a name")?;
                call(client, name, c["arguments"].clone()).await?;
            }
        }
        "http-standard-headers" | "http-invalid-tool-headers" => {
            // Every tool kept (invalid header annotations were dropped from the list).
            for t in &tools {
                let _ = call(client, &t.name, json!({"region": "us-west1"})).await;
            }
            if scenario == "http-standard-headers" {
                read_resources_and_prompts(client).await?;
            }
        }
        "json-schema-2020-12-preservation" => {
            let tool = tools
                .iter()
                .find(|t| t.name == "json_schema_2020_12_tool")
                .context("the server lists no json_schema_2020_12_tool")?;
            call(
                client,
                "json_schema_echo",
                json!({"schema": tool.input_schema}),
            )
            .await?;
        }
        auth if auth.starts_with("auth/") => {
            if tools.iter().any(|t| t.name == "test-tool") {
                call(client, "test-tool", json!({})).await?;
            }
        }
        other => bail!("scenario {other:?} is not supported by this client"),
    }
    Ok(())
}

async fn call(client: &Client, name: &str, args: Value) -> anyhow::Result<()> {
    let args: Map<String, Value> = match args {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let r = client
        .call_tool(name, args)
        .await
        .with_context(|| format!("tools/call {name}"))?;
    tracing::info!(tool = name, is_error = ?r.is_error, "called");
    Ok(())
}

async fn read_resources_and_prompts(client: &Client) -> anyhow::Result<()> {
    let resources = client.request(ListResources::METHOD, None, None).await?;
    for r in resources["resources"].as_array().into_iter().flatten() {
        if let Some(uri) = r["uri"].as_str() {
            client
                .request(ReadResource::METHOD, Some(json!({"uri": uri})), None)
                .await?;
        }
    }
    let prompts = client.request(ListPrompts::METHOD, None, None).await?;
    for p in prompts["prompts"].as_array().into_iter().flatten() {
        if let Some(name) = p["name"].as_str() {
            client.get_prompt(name, Map::new()).await?;
        }
    }
    Ok(())
}

/// The suite's client ID metadata document URL (it needs not resolve: the suite's
/// authorization server takes it as it is).
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";

/// OAuth for an `auth/*` scenario: the authorization code through a scripted user agent
/// (the suite's authorization server approves at once and redirects to our loopback
/// listener), pre-registered credentials from the context where it gives them, client
/// credentials for the `client-credentials-*` scenarios.
fn oauth(url: &str, context: &Value) -> anyhow::Result<OAuth> {
    let agent = Arc::new(Scripted::new()?);
    let mut config = OAuthConfig::with_agent("mcp-conformance", agent);
    config.client_metadata_url = Some(CLIENT_METADATA_URL.into());
    if let Some(id) = context["client_id"].as_str() {
        config.client = Some(PreRegistered {
            client_id: id.into(),
            client_secret: context["client_secret"].as_str().map(str::to_owned),
            issuer: None,
        });
    }
    let name = context["name"].as_str().unwrap_or_default();
    if name.starts_with("auth/client-credentials") {
        let key = match context["private_key_pem"].as_str() {
            Some(pem) => {
                let alg = context["signing_algorithm"].as_str().unwrap_or("ES256");
                Some(SigningKey {
                    pem: pem.into(),
                    algorithm: alg.parse().context("signing_algorithm")?,
                })
            }
            None => None,
        };
        config.grant = Grant::ClientCredentials { key };
    }
    if let Some(jwt) = context["valid_jwt"].as_str() {
        config.grant = Grant::JwtBearer(AssertionSource::Value(jwt.into()));
    }
    if let (Some(endpoint), Some(idp_client), Some(id_token)) = (
        context["idp_token_endpoint"].as_str(),
        context["idp_client_id"].as_str(),
        context["idp_id_token"].as_str(),
    ) {
        config.grant = Grant::IdentityAssertion {
            idp_token_endpoint: endpoint.into(),
            idp_client_id: idp_client.into(),
            id_token: id_token.into(),
        };
    }
    Ok(OAuth::new(url, config)?)
}

/// Every sampling request gets the same reply.
fn fixed_reply(_: SamplingRequest) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
    let reply = CreateMessageResult::from_text("fixed", "conformance client reply");
    Box::pin(std::future::ready(Ok(reply)))
}
