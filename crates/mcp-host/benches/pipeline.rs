//! The host pipeline's own overhead per sampling request (policy, routing, approval, audit)
//! with a `fixed:` provider, against calling the provider bare, one request at a time
//! (`in_flight` 1: the latency) and 64 at once (`in_flight` 64: the cost per request when
//! requests overlap, as on a busy host, where audit rows share commits). Prints JSON lines.
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

async fn per_request(h: Arc<dyn SamplingHandler>, n: u32, in_flight: u32) -> f64 {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let h = h.clone();
        tasks.spawn(async move {
            for _ in 0..n / in_flight {
                h.create_message(request()).await.expect("answered");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("the task ran");
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n / in_flight * in_flight)
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
    let cases: Vec<(&str, Arc<dyn SamplingHandler>)> = vec![
        ("bare fixed provider", Arc::new(Fixed("ok".into()))),
        ("pipeline, no audit", Arc::new(host(None))),
        (
            "pipeline, audit in memory",
            Arc::new(host(Some(Arc::new(AuditLog::in_memory())))),
        ),
        ("pipeline, audit file (WAL)", Arc::new(host(Some(file)))),
        (
            "pipeline, audit file, rate limit and budgets counted",
            Arc::new(counted(&dir)),
        ),
    ];
    for (name, h) in cases {
        for in_flight in [1, 64] {
            let us = rt.block_on(per_request(h.clone(), n, in_flight));
            println!("{{\"case\":\"{name}\",\"in_flight\":{in_flight},\"n\":{n},\"us_per_request\":{us:.2}}}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
