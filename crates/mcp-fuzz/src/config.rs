//! The host's configuration file ([`mcp_host::config`]): TOML, or Claude Desktop's JSON, and
//! the `${VAR}` expansion of header values.

use mcp_host::config::{expand_with, Config, ConfigError};

/// One byte (bit 0: the file is named `.json`), then a config's text: it parses or says why;
/// `${VAR}` expansion of the text and of every header value either fails on an unclosed
/// `${` or, with each variable put back as itself, gives the text back.
pub fn host_config(data: &[u8]) {
    let [flags, rest @ ..] = data else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match Config::parse(&text, flags & 1 == 1, "fuzz.toml") {
        Ok(c) => {
            for entry in c.servers.values() {
                for v in entry.headers.values() {
                    expansion(v);
                }
            }
        }
        Err(e) => assert!(e.to_string().contains("fuzz.toml"), "{e}"),
    }
    expansion(&text);
}

fn expansion(text: &str) {
    match expand_with(text, |var| Some(format!("${{{var}}}"))) {
        Ok(same) => assert_eq!(same, text),
        Err(ConfigError::Unclosed(v)) => assert!(v == text && text.contains("${")),
        Err(e) => panic!("{e}"),
    }
    if let Err(e) = expand_with(text, |_| None) {
        assert!(text.contains("${"), "{e}");
    }
}
