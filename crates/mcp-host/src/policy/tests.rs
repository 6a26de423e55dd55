use super::*;
use mcp_proto::clock::ManualClock;
use mcp_proto::SamplingMessage;
use std::future::Future;
use std::task::Poll;
use std::time::Duration;

#[test]
fn small_amounts_keep_their_digits() {
    assert_eq!(dollars(1.5), "$1.50");
    assert_eq!(dollars(0.01), "$0.01");
    assert_eq!(dollars(0.001), "$0.001");
    assert_eq!(dollars(0.000125), "$0.000125");
    assert_eq!(dollars(0.0012345), "$0.00123");
    assert_eq!(dollars(0.0), "$0.00");
}

fn req(max_tokens: u64) -> CreateMessageParams {
    CreateMessageParams::new(vec![SamplingMessage::user("hi")], max_tokens)
}

/// Spends `tokens` and `cost` of `server`'s budget, as an answered request does.
fn spend(p: &Policy, server: &str, tokens: u64, cost: f64) {
    let used = Usage { tokens, cost };
    p.reserve(server, Usage::default()).unwrap().settle(used);
}

fn policy(r: ServerPolicy) -> Policy {
    Policy::new(r, HashMap::new(), Arc::new(MemoryLimits::default()))
}

#[test]
fn dates() {
    assert_eq!(civil_date(0), "1970-01-01");
    assert_eq!(civil_date(20_778), "2026-11-21");
    assert_eq!(civil_date(11_016), "2000-02-29");
    let t = UNIX_EPOCH + Duration::from_secs(20_778 * 86_400);
    assert_eq!(day_of(t - Duration::from_secs(1)), "2026-11-20");
    assert_eq!(day_of(t), "2026-11-21");
    assert_eq!(day_of(UNIX_EPOCH - Duration::from_secs(1)), "1970-01-01");
}

/// A clock one minute before midnight UTC, 2026-11-21.
fn before_midnight() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(20_779 * 86_400 - 60))
}

#[tokio::test]
async fn rules_refuse_and_clamp() {
    let p = policy(ServerPolicy {
        max_tokens_cap: 100,
        ..Default::default()
    });
    let mut r = req(1000);
    let a = p.admit("s", &mut r, 0).await.unwrap();
    assert_eq!((r.max_tokens, a.clamped_from), (100, Some(1000)));
    let p = policy(ServerPolicy {
        allow: false,
        ..Default::default()
    });
    assert!(p
        .admit("s", &mut req(5), 0)
        .await
        .unwrap_err()
        .rule
        .contains("not allowed"));
    let p = policy(ServerPolicy::default());
    let mut r = req(5);
    r.include_context = Some(IncludeContext::AllServers);
    assert!(p
        .admit("s", &mut r, 0)
        .await
        .unwrap_err()
        .rule
        .contains("includeContext"));
    assert!(p
        .admit("s", &mut req(5), 3)
        .await
        .unwrap_err()
        .rule
        .contains("depth 3"));
}

#[tokio::test]
async fn rate_limit_refuses_the_excess() {
    let p = policy(ServerPolicy {
        requests_per_minute: 60,
        burst: 3,
        ..Default::default()
    });
    for _ in 0..3 {
        p.admit("s", &mut req(5), 0).await.unwrap();
    }
    let e = p.admit("s", &mut req(5), 0).await.unwrap_err();
    assert!(
        e.rule
            .contains("rate limit of 60 requests per minute (burst 3) exceeded"),
        "{e}"
    );
    // Another server has its own limiter.
    p.admit("other", &mut req(5), 0).await.unwrap();
}

#[tokio::test]
async fn the_rate_limit_lets_one_more_through_each_interval() {
    let clock = before_midnight();
    let p = policy(ServerPolicy {
        requests_per_minute: 60,
        burst: 2,
        ..Default::default()
    })
    .with_clock(Arc::new(clock.clone()));
    for _ in 0..2 {
        p.admit("s", &mut req(5), 0).await.unwrap();
    }
    assert!(p.admit("s", &mut req(5), 0).await.is_err());
    // 60 a minute: one more each second, not before.
    clock.advance(Duration::from_millis(999));
    assert!(p.admit("s", &mut req(5), 0).await.is_err());
    clock.advance(Duration::from_millis(1));
    p.admit("s", &mut req(5), 0).await.unwrap();
    assert!(p.admit("s", &mut req(5), 0).await.is_err());
    // A quiet minute refills the burst, and no more.
    clock.advance(Duration::from_secs(60));
    for _ in 0..2 {
        p.admit("s", &mut req(5), 0).await.unwrap();
    }
    assert!(p.admit("s", &mut req(5), 0).await.is_err());
}

#[tokio::test]
async fn budgets_refuse_once_used_up() {
    let p = policy(ServerPolicy {
        daily_token_budget: 100,
        ..Default::default()
    });
    p.admit("s", &mut req(5), 0).await.unwrap();
    spend(&p, "s", 100, 0.0);
    let e = p.admit("s", &mut req(5), 0).await.unwrap_err();
    assert!(
        e.rule.contains("daily token budget of 100 is used up"),
        "{e}"
    );
    let p = policy(ServerPolicy {
        daily_cost_budget: 0.01,
        ..Default::default()
    });
    spend(&p, "s", 1, 0.02);
    assert!(p
        .admit("s", &mut req(5), 0)
        .await
        .unwrap_err()
        .rule
        .contains("daily cost budget"));
}

#[tokio::test]
async fn budgets_start_again_at_midnight_utc() {
    let clock = before_midnight();
    let p = policy(ServerPolicy {
        daily_token_budget: 100,
        ..Default::default()
    })
    .with_clock(Arc::new(clock.clone()));
    assert_eq!(p.today(), "2026-11-21");
    p.admit("s", &mut req(5), 0).await.unwrap();
    spend(&p, "s", 100, 0.0);
    let e = p.admit("s", &mut req(5), 0).await.unwrap_err();
    assert!(e.rule.contains("(100 used today)"), "{e}");
    // Still the same day one second before midnight.
    clock.advance(Duration::from_secs(59));
    assert!(p.admit("s", &mut req(5), 0).await.is_err());
    clock.advance(Duration::from_secs(1));
    assert_eq!(p.today(), "2026-11-22");
    p.admit("s", &mut req(5), 0).await.unwrap();
    spend(&p, "s", 40, 0.0);
    let tokens = |day| p.store.used("s", day).tokens;
    assert_eq!((tokens("2026-11-21"), tokens("2026-11-22")), (100, 40));
}

#[tokio::test]
async fn concurrency_waits_for_a_slot() {
    let p = Arc::new(policy(ServerPolicy {
        max_concurrent: 1,
        ..Default::default()
    }));
    let first = p.admit("s", &mut req(5), 0).await.unwrap();
    let mut r = req(5);
    let mut second = std::pin::pin!(p.admit("s", &mut r, 0));
    let polled = std::future::poll_fn(|cx| Poll::Ready(second.as_mut().poll(cx))).await;
    assert!(
        polled.is_pending(),
        "the second waits while the first holds the slot"
    );
    drop(first);
    second.await.unwrap();
}

#[tokio::test]
async fn a_burst_above_the_rate_is_held_to_the_rate() {
    // 2 a minute with the default burst of 10: two at once, then one each 30 s.
    let clock = before_midnight();
    let p = policy(ServerPolicy {
        requests_per_minute: 2,
        ..Default::default()
    })
    .with_clock(Arc::new(clock.clone()));
    for _ in 0..2 {
        p.admit("s", &mut req(5), 0).await.unwrap();
    }
    let e = p.admit("s", &mut req(5), 0).await.unwrap_err();
    assert!(
        e.rule
            .contains("(burst 2) exceeded; the next is admitted in 30.0 s"),
        "{e}"
    );
    clock.advance(Duration::from_secs(30));
    p.admit("s", &mut req(5), 0).await.unwrap();
}

#[test]
fn reservations_hold_the_budget_until_settled() {
    let p = policy(ServerPolicy {
        daily_token_budget: 100,
        daily_cost_budget: 0.0,
        ..Default::default()
    });
    let want = |tokens| Usage { tokens, cost: 0.0 };
    let first = p.reserve("s", want(60)).unwrap();
    // 60 held: 41 more do not fit, 40 do.
    let e = p.reserve("s", want(41)).err().unwrap();
    assert!(
        e.rule.contains("this request may use up to 41 tokens")
            && e.rule.contains("60 are used or reserved"),
        "{e}"
    );
    let second = p.reserve("s", want(40)).unwrap();
    // Settled below what it held: the rest is free again.
    first.settle(want(10));
    drop(second); // never sent: counts nothing
    assert_eq!(p.used_today("s").tokens, 10);
    let mut third = p.reserve("s", want(90)).unwrap();
    // Growing past the budget is refused, and keeps what it holds.
    assert!(third.grow(want(91)).is_err());
    assert_eq!(third.held().tokens, 90);
    third.sent();
    drop(third); // sent and dropped: all it held counts
    assert_eq!(p.used_today("s").tokens, 100);
}

#[test]
fn cost_budgets_reserve_too() {
    let p = policy(ServerPolicy {
        daily_token_budget: 0,
        daily_cost_budget: 0.001,
        ..Default::default()
    });
    let e = p
        .reserve(
            "s",
            Usage {
                tokens: 10,
                cost: 0.002,
            },
        )
        .err()
        .unwrap();
    assert!(
        e.rule
            .contains("daily cost budget of $0.001: this request may cost up to $0.002"),
        "{e}"
    );
    p.reserve(
        "s",
        Usage {
            tokens: 10,
            cost: 0.001,
        },
    )
    .unwrap();
}

#[test]
fn the_input_bound_covers_every_byte_and_the_framing() {
    let mut r = req(5);
    r.system_prompt = Some("héllo".into());
    // 16 for the request, 8 + 2 for "hi", 6 bytes of "héllo".
    assert_eq!(input_bound(&r), 16 + 10 + 6);
}
