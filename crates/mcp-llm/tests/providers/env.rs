//! `from_env`. The only test of the binary that touches these variables (no other test reads
//! them), so setting them here races with nothing.

use mcp_llm::http::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_RETRIES, DEFAULT_TIMEOUT};
use mcp_llm::{Anthropic, OpenAi, Provider, ProviderError};
use std::time::Duration;

#[test]
fn providers_from_env() {
    let vars = [
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY",
    ];
    for v in vars {
        std::env::remove_var(v);
    }

    let p = OpenAi::from_env();
    assert_eq!(p.name(), "openai");
    assert_eq!(p.config().base_url, "https://api.openai.com/v1");
    assert_eq!(p.config().api_key, None);
    assert_eq!(p.config().timeout, DEFAULT_TIMEOUT);
    assert_eq!(p.config().connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    assert_eq!(p.config().retries, DEFAULT_RETRIES);
    let a = Anthropic::from_env();
    assert_eq!(a.name(), "anthropic");
    assert_eq!(a.config().base_url, "https://api.anthropic.com");
    assert_eq!(a.config().api_key, None);

    std::env::set_var("OPENAI_BASE_URL", "http://localhost:11434/v1");
    std::env::set_var("OPENAI_API_KEY", "sk-env");
    std::env::set_var("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/");
    std::env::set_var("ANTHROPIC_API_KEY", "");
    let p = OpenAi::from_env()
        .with_timeout(Duration::from_secs(5))
        .with_retries(0);
    assert_eq!(p.config().base_url, "http://localhost:11434/v1");
    assert_eq!(p.config().api_key.as_deref(), Some("sk-env"));
    assert_eq!(p.config().timeout, Duration::from_secs(5));
    assert_eq!(p.config().retries, 0);
    assert!(
        !format!("{p:?}").contains("sk-env"),
        "the key is not printed"
    );
    let a = Anthropic::from_env();
    assert_eq!(a.config().base_url, "http://127.0.0.1:9/");
    assert_eq!(a.config().api_key, None, "an empty key is no key");

    // No key: NotConfigured, before any connection (port 9 would refuse it).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(a.complete("claude", &crate::hello()))
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotConfigured(_)), "{err:?}");

    for v in vars {
        std::env::remove_var(v);
    }
}
