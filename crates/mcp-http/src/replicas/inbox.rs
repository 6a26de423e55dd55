//! The replica's inbox: the client's answers routed to this replica (`P:q:N`, a Redis stream
//! of entries `s` session, `b` body), read with a blocking `XREAD` on a connection of its
//! own. An answer sent while that connection was down is read once it is back, from the last
//! entry read (pub/sub would have lost it, and the call would wait until its timeout).

use super::{add, Counters, Keys};
use crate::shared::Local;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Most answers kept in an inbox (a replica that long gone does not read them).
pub(super) const KEEP: usize = 10_000;
/// How long one `XREAD` blocks.
const BLOCK_MS: u64 = 2_000;

/// `XREAD`'s answer: per stream, its entries (id, fields and values in turn).
type Entries = Vec<(String, Vec<(String, Vec<Vec<u8>>)>)>;

/// A connection of its own, named `mcp-inbox-N` (in `CLIENT LIST`).
async fn connect(
    client: &redis::Client,
    me: u32,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let cfg = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_millis(BLOCK_MS) * 3));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&cfg)
        .await?;
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(format!("mcp-inbox-{me}"))
        .query_async::<()>(&mut conn)
        .await?;
    Ok(conn)
}

/// Connects (failing when it cannot) and reads the inbox from now on, for ever.
pub(super) async fn start(
    client: redis::Client,
    keys: &Keys,
    me: u32,
    local: Weak<dyn Local>,
    counters: Arc<Counters>,
) -> redis::RedisResult<()> {
    let conn = connect(&client, me).await?;
    let key = keys.inbox(me);
    tokio::spawn(read(client, conn, (key, me), local, counters));
    Ok(())
}

async fn read(
    client: redis::Client,
    mut conn: redis::aio::MultiplexedConnection,
    (key, me): (String, u32),
    local: Weak<dyn Local>,
    counters: Arc<Counters>,
) {
    // From the start: the number is new, so what is there was sent to this replica (or is
    // left from one long gone that had the number: its sessions are not held here).
    let mut last = "0-0".to_owned();
    let mut wait = Duration::from_millis(100);
    loop {
        let got: redis::RedisResult<Option<Entries>> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(512)
            .arg("BLOCK")
            .arg(BLOCK_MS)
            .arg("STREAMS")
            .arg(&key)
            .arg(&last)
            .query_async(&mut conn)
            .await;
        let Some(local) = local.upgrade() else { return };
        match got {
            Ok(streams) => {
                wait = Duration::from_millis(100);
                for (_, entries) in streams.unwrap_or_default() {
                    for (id, fields) in entries {
                        deliver(local.as_ref(), &fields, &counters);
                        last = id;
                    }
                }
            }
            Err(e) => {
                add(&counters.errors);
                tracing::warn!("reading the replica's inbox from Redis: {e}; reconnecting");
                drop(local);
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
                if let Ok(c) = connect(&client, me).await {
                    conn = c;
                }
            }
        }
    }
}

fn deliver(local: &dyn Local, fields: &[Vec<u8>], counters: &Counters) {
    let field = |name: &[u8]| {
        fields
            .chunks(2)
            .find(|p| p.first().map(Vec::as_slice) == Some(name))
            .and_then(|p| p.get(1))
    };
    let (Some(session), Some(body)) = (field(b"s"), field(b"b")) else {
        return;
    };
    add(&counters.replies_received);
    local.deliver(&String::from_utf8_lossy(session), body);
}
