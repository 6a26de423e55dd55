//! Modern `requestState` across replicas: two `serve --http` processes that share a secrets
//! file continue each other's calls (round one on one, round two on the other); a replica
//! with another secret refuses the state; a rotated file still opens the old states.

mod common;

use common::cluster::{call, post, round_one, Balancer};
use common::{bin, free_port, Listening};
use std::path::Path;
use std::process::Command;

fn replica(secrets: &Path) -> Listening {
    let port = free_port();
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "summarize", "--http", &format!("127.0.0.1:{port}")])
        .arg("--state-secret-file")
        .arg(secrets);
    Listening::start(cmd, port)
}

#[tokio::test]
async fn replicas_sharing_secrets_continue_each_other_s_calls() {
    let dir = std::env::temp_dir().join(format!("mcp-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shared = dir.join("shared.secrets");
    std::fs::write(&shared, "first secret, long enough\n").unwrap();
    let other = dir.join("other.secrets");
    std::fs::write(&other, "another secret entirely\n").unwrap();
    let (a, b, c) = (replica(&shared), replica(&shared), replica(&other));

    let round_two = round_one(&a.url).await;
    let done = post(&b.url, &call(round_two.clone())).await;
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "A summary.", "{done}");

    let refused = post(&c.url, &call(round_two.clone())).await;
    let why = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        why.contains("requestState failed verification"),
        "{refused}"
    );

    // Rotation: a new secret on top; the state sealed with the old one still opens.
    let rotated = dir.join("rotated.secrets");
    std::fs::write(
        &rotated,
        "a newer secret for sealing\nfirst secret, long enough\n",
    )
    .unwrap();
    let d = replica(&rotated);
    let done = post(&d.url, &call(round_two)).await;
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_short_or_empty_secret_file_is_refused() {
    let dir = std::env::temp_dir().join(format!("mcp-replicas-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, said) in [("short\n", "too short"), ("\n\n", "holds no secret")] {
        let f = dir.join("bad.secrets");
        std::fs::write(&f, text).unwrap();
        let o = Command::new(bin())
            .args(["serve", "summarize", "--state-secret-file"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(said), "{e}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The modern `tools/call` POSTs a replica served, from its `/metrics`.
async fn calls_served(replica: &Listening) -> u64 {
    let url = replica.url.replace("/mcp", "/metrics");
    let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with(
                "mcp_http_requests_total{era=\"modern\",method=\"tools/call\",status=\"200\"}",
            )
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Three replicas behind a round-robin balancer without stickiness: every modern call's two
/// rounds land on different replicas, and all 30 calls complete.
#[tokio::test]
async fn modern_calls_complete_behind_a_round_robin_balancer() {
    let dir = std::env::temp_dir().join(format!("mcp-balanced-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shared = dir.join("shared.secrets");
    std::fs::write(&shared, "the secret all replicas share\n").unwrap();
    let replicas = [replica(&shared), replica(&shared), replica(&shared)];
    let lb = Balancer::start(&dir, &replicas.iter().collect::<Vec<_>>());
    for _ in 0..30 {
        let round_two = round_one(&lb.url).await;
        let done = post(&lb.url, &call(round_two)).await;
        assert_eq!(done["result"]["content"][0]["text"], "A summary.", "{done}");
    }
    // 60 POSTs, round robin: 20 each, so no call's two rounds met the same replica.
    for r in &replicas {
        assert_eq!(calls_served(r).await, 20);
    }
    let _ = std::fs::remove_dir_all(dir);
}
