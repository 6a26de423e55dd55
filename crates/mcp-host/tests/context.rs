//! `includeContext` through the host: refused unless the policy allows it; when allowed, the
//! server's own recent exchanges (and no other server's) reach the model in the system prompt.

use mcp_host::approval::{Approval, Mode};
use mcp_host::policy::{ContextAllow, ServerPolicy};
use mcp_host::testing::Fixed;
use mcp_host::{Host, SamplingError, SamplingHandler, SamplingRequest};
use mcp_llm::{BoxFuture, Completion, Provider, ProviderError};
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult, IncludeContext};
use mcp_proto::{Era, SamplingMessage};
use std::sync::{Arc, Mutex};

/// Answers "reply to: <last text>" and keeps the system prompts it saw.
#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl Provider for Seen {
    fn name(&self) -> &str {
        "seen"
    }
    fn complete(
        &self,
        _model: &str,
        params: &CreateMessageParams,
    ) -> BoxFuture<Result<Completion, ProviderError>> {
        let system = params.system_prompt.clone().unwrap_or_default();
        self.0.lock().unwrap().push(system);
        let last = params
            .messages
            .last()
            .and_then(|m| m.content.as_slice()[0].as_text().map(str::to_owned));
        let result = CreateMessageResult::from_text(
            "seen",
            format!("reply to: {}", last.unwrap_or_default()),
        );
        Box::pin(std::future::ready(Ok(Completion {
            result,
            usage: Default::default(),
        })))
    }
}

fn request(server: &str, text: &str, ctx: Option<IncludeContext>) -> SamplingRequest {
    let mut params = CreateMessageParams::new(vec![SamplingMessage::user(text)], 20);
    params.include_context = ctx;
    SamplingRequest {
        params,
        server: server.into(),
        claims: None,
        era: Era::Legacy,
        protocol_version: "2025-11-25".into(),
        tool_call: None,
    }
}

fn host(seen: Arc<Seen>) -> Host {
    let mut model = Fixed::model();
    (model.provider, model.id) = ("seen".into(), "seen".into());
    let allowed = ServerPolicy {
        allow_context: ContextAllow::ThisServer,
        ..Default::default()
    };
    Host::builder()
        .provider(seen, vec![model])
        .approval(Approval::new(Mode::Auto, vec![], None))
        .server_policy("notes", allowed)
        .build()
        .unwrap()
}

#[tokio::test]
async fn context_is_the_server_s_own_and_only_where_allowed() {
    let seen = Arc::new(Seen::default());
    let h = host(seen.clone());
    assert!(h.honours_context());
    h.create_message(request("notes", "first question", None))
        .await
        .unwrap();
    h.create_message(request("mail", "private mail", None))
        .await
        .unwrap();
    h.create_message(request("notes", "second", Some(IncludeContext::ThisServer)))
        .await
        .unwrap();
    let system = seen.0.lock().unwrap().last().cloned().unwrap();
    assert!(
        system.contains("[notes] asked: first question\n[notes] answer: reply to: first question"),
        "{system}"
    );
    assert!(!system.contains("private mail"), "{system}");
    // More than the policy allows, or a server without the right: refused, saying why.
    for (server, ctx) in [
        ("notes", IncludeContext::AllServers),
        ("mail", IncludeContext::ThisServer),
    ] {
        let e = h
            .create_message(request(server, "x", Some(ctx)))
            .await
            .unwrap_err();
        let SamplingError::Rejected(why) = e else {
            panic!("{e:?}")
        };
        assert!(
            why.contains("includeContext") && why.contains("is not allowed"),
            "{why}"
        );
    }
}
