//! An audit log the host cannot write (read-only, disk full) means limits it cannot count:
//! the host refuses sampling, saying why, rather than answering uncounted (fail-closed).

use mcp_host::approval::{Approval, Mode};
use mcp_host::audit::AuditLog;
use mcp_host::testing::Fixed;
use mcp_host::{Host, SamplingError, SamplingHandler, SamplingRequest};
use mcp_proto::sampling::CreateMessageParams;
use mcp_proto::{Era, SamplingMessage};
use std::sync::Arc;

#[tokio::test]
async fn a_log_that_cannot_be_written_refuses_sampling() {
    let dir = std::env::temp_dir().join(format!("mcp-fail-closed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("audit.db");
    drop(AuditLog::open(&path, false).unwrap());
    let log = Arc::new(AuditLog::open_read_only(&path).unwrap());
    let host = Host::builder()
        .provider(Arc::new(Fixed("answer".into())), vec![Fixed::model()])
        .approval(Approval::new(Mode::Auto, vec![], None))
        .audit(log)
        .build()
        .unwrap();
    let req = SamplingRequest {
        params: CreateMessageParams::new(vec![SamplingMessage::user("hi")], 10),
        server: "notes".into(),
        claims: None,
        era: Era::Legacy,
        protocol_version: "2025-11-25".into(),
        tool_call: None,
    };
    let e = host.create_message(req).await.unwrap_err();
    let SamplingError::Rejected(why) = e else {
        panic!("{e:?}")
    };
    assert!(
        why.contains("its rate limit cannot be counted") && why.contains("readonly"),
        "{why}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
