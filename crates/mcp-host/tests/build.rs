//! The builder refuses a model it could never use, and `answer_with` turns a provider into a
//! handler that checks the request first.

use mcp_host::routing::catalog_entry;
use mcp_host::testing::Fixed;
use mcp_host::{answer_with, BuildError, Host, SamplingError, SamplingRequest};
use mcp_proto::sampling::CreateMessageParams;
use mcp_proto::{Era, SamplingMessage};
use std::sync::Arc;

#[test]
fn a_model_of_an_unconfigured_provider_is_refused() {
    let err = Host::builder()
        .provider(Arc::new(Fixed("x".into())), vec![Fixed::model()])
        .model(catalog_entry("openai", "gpt-4.1-mini"))
        .build()
        .err()
        .expect("refused");
    assert_eq!(
        err,
        BuildError::UnknownProvider {
            provider: "openai".into(),
            model: "gpt-4.1-mini".into(),
            known: vec!["fixed".into()],
        }
    );
    assert!(err.to_string().contains("(configured: fixed)"), "{err}");
}

#[test]
fn catalog_entries_are_known_or_neutral() {
    let unknown = catalog_entry("openai", "my-fine-tune");
    assert_eq!(
        (unknown.provider.as_str(), unknown.id.as_str()),
        ("openai", "my-fine-tune")
    );
    assert_eq!(unknown.price_in, 0.0);
}

fn request(params: CreateMessageParams) -> SamplingRequest {
    SamplingRequest {
        params,
        server: "s".into(),
        claims: None,
        era: Era::Legacy,
        protocol_version: "2025-11-25".into(),
        tool_call: None,
    }
}

#[tokio::test]
async fn answer_with_answers_and_refuses_what_is_invalid() {
    let h = answer_with(Arc::new(Fixed("hello".into())), "fixed");
    let ok = h
        .create_message(request(CreateMessageParams::new(
            vec![SamplingMessage::user("hi")],
            5,
        )))
        .await
        .expect("answered");
    assert_eq!(ok.text(), "hello");
    let empty = h
        .create_message(request(CreateMessageParams::new(vec![], 5)))
        .await;
    assert!(matches!(empty, Err(SamplingError::Invalid(_))), "{empty:?}");
}
