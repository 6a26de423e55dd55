//! The modern era's sealed `requestState` as the server opens it (`mcp_server`'s state
//! module, through `mcp_server::fuzzing`).

use mcp_server::fuzzing::{open_state, seal_state};
use mcp_server::{StateError, StateKey};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const METHOD: &str = "m";

/// Three bytes (the time to live, a position, a mode), then a tool name, a newline, JSON
/// arguments. Any string a client makes up is refused; a state the server sealed opens to
/// what it sealed for that call only, until it expires, and any change to it is refused.
pub fn request_state(data: &[u8]) {
    let [ttl, pos, mode, rest @ ..] = data else {
        return;
    };
    let key = StateKey::from_secret(b"fuzz");
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let (tool, args) = crate::split2(rest, b'\n');
    let tool = String::from_utf8_lossy(tool);
    let args = crate::json::parse(args).unwrap_or(Value::Null);
    let call = (METHOD, &*tool, &args);
    if mode % 2 == 0 {
        let made_up = String::from_utf8_lossy(rest);
        let r = open_state(&made_up, &key, call, now);
        assert!(r.is_err(), "a made-up state opened: {r:?}");
        return;
    }
    let ttl = Duration::from_secs(u64::from(*ttl) + 1);
    let answered = [("k1".to_owned(), json!({"q": &*tool}), args.clone())];
    let sealed = seal_state(&key, call, now, ttl, &answered);
    let opened = open_state(&sealed, &key, call, now).expect("a sealed state opens");
    assert_eq!(opened["t"], json!(&*tool));
    assert!(crate::json::same(&opened["k"]["k1"][1], &args));
    let later = now + ttl + Duration::from_secs(1);
    assert!(matches!(
        open_state(&sealed, &key, call, later),
        Err(StateError::Expired(_))
    ));
    let other = format!("{tool}.");
    let wrong = open_state(&sealed, &key, (METHOD, &other, &args), now);
    assert!(matches!(wrong, Err(StateError::WrongCall(_))), "{wrong:?}");
    tamper(&sealed, usize::from(*pos), &key, call, now);
}

/// The sealed state with one character changed is refused.
fn tamper(sealed: &str, pos: usize, key: &StateKey, call: (&str, &str, &Value), now: SystemTime) {
    let mut bytes = sealed.as_bytes().to_vec();
    let Some(len) = std::num::NonZeroUsize::new(bytes.len()) else {
        return;
    };
    let i = pos % len;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(bytes).expect("base64 and a dot are ASCII");
    let r = open_state(&changed, key, call, now);
    assert!(matches!(r, Err(StateError::Tampered)), "{r:?}");
}
