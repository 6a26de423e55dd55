//! The host pipeline's own overhead per sampling request (policy, routing, approval, audit)
//! with a `fixed:` provider, against calling the provider bare. Prints JSON lines.
//! Run: `cargo bench -p mcp-host --bench pipeline` (under `cargo test` it runs briefly).

use mcp_host::approval::{Approval, Mode};
use mcp_host::audit::AuditLog;
use mcp_host::policy::ServerPolicy;
use mcp_host::testing::Fixed;
use mcp_host::Host;
use mcp_host::{SamplingHandler, SamplingRequest};
use mcp_proto::sampling::CreateMessageParams;
use mcp_proto::{Era, SamplingMessage};
use std::sync::Arc;
use std::time::Instant;

fn request() -> SamplingRequest {
    SamplingRequest {
        params: CreateMessageParams::new(
            vec![SamplingMessage::user("Classify: red running shoes size 42")],
            16,
        ),
        server: "bench".into(),
        claims: None,
        era: Era::Legacy,
        protocol_version: "2025-11-25".into(),
        tool_call: None,
    }
}

async fn per_request(h: &dyn SamplingHandler, n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        h.create_message(request()).await.expect("answered");
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn main() {
    let n: u32 = if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        200
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let unlimited = ServerPolicy {
        requests_per_minute: 0,
        daily_token_budget: 0,
        daily_cost_budget: 0.0,
        ..Default::default()
    };
    let host = |audit: Option<Arc<AuditLog>>| {
        let mut b = Host::builder()
            .policy(unlimited.clone())
            .approval(Approval::new(Mode::Auto, vec![], None))
            .provider(Arc::new(Fixed("ok".into())), vec![Fixed::model()]);
        if let Some(a) = audit {
            b = b.audit(a);
        }
        b.build().expect("the host builds")
    };
    let dir = std::env::temp_dir().join(format!("mcp-bench-{}", std::process::id()));
    // Limits on but never reached: each request is counted against a rate and budgets in
    // the log (the cost of limits that hold across processes).
    let counted = |dir: &std::path::Path| {
        let log = AuditLog::open(&dir.join("counted.db"), false).expect("audit db");
        Host::builder()
            .policy(ServerPolicy {
                requests_per_minute: 1_000_000_000,
                burst: 1_000_000_000,
                daily_token_budget: u64::MAX / 4,
                daily_cost_budget: 1e12,
                ..Default::default()
            })
            .approval(Approval::new(Mode::Auto, vec![], None))
            .provider(Arc::new(Fixed("ok".into())), vec![Fixed::model()])
            .audit(Arc::new(log))
            .build()
            .expect("the host builds")
    };
    let file = Arc::new(AuditLog::open(&dir.join("audit.db"), false).expect("audit db"));
    let cases: Vec<(&str, Box<dyn SamplingHandler>)> = vec![
        ("bare fixed provider", Box::new(Fixed("ok".into()))),
        ("pipeline, no audit", Box::new(host(None))),
        (
            "pipeline, audit in memory",
            Box::new(host(Some(Arc::new(AuditLog::in_memory())))),
        ),
        ("pipeline, audit file (WAL)", Box::new(host(Some(file)))),
        (
            "pipeline, audit file, rate limit and budgets counted",
            Box::new(counted(&dir)),
        ),
    ];
    for (name, h) in cases {
        let us = rt.block_on(per_request(h.as_ref(), n));
        println!("{{\"case\":\"{name}\",\"n\":{n},\"us_per_request\":{us:.2}}}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
