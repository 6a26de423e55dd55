//! Elicitation and roots through the `mcp-sampling` command against `serve elicit-demo`:
//! the non-interactive choices, and the terminal form driven in a pseudo-terminal.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-sampling")
}

fn scratch() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mcp-sampling-elicit-{}", std::process::id()))
}

fn call_args(era: &str, tool: &str, args: &str, flags: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "call",
        "--era",
        era,
        "--approve",
        "auto",
        "--provider",
        "fixed:x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(flags.iter().map(|s| s.to_string()));
    v.extend(["--tool".into(), tool.into(), "--args".into(), args.into()]);
    v.extend([
        "--".into(),
        bin().into(),
        "serve".into(),
        "elicit-demo".into(),
    ]);
    v
}

fn call(era: &str, tool: &str, args: &str, flags: &[&str]) -> Value {
    let o = Command::new(bin())
        .args(call_args(era, tool, args, flags))
        .env("XDG_DATA_HOME", scratch())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

const TABLE: &str = r#"{"restaurant": "Chez Nous"}"#;

#[test]
fn non_interactive_choices_and_roots() {
    for era in ["legacy", "modern"] {
        let r = call(
            era,
            "book_table",
            TABLE,
            &[
                "--elicit",
                r#"accept:{"name": "Ann", "date": "2025-03-01"}"#,
            ],
        );
        let booked = &r["structuredContent"]["booked"];
        assert_eq!(booked["name"], "Ann", "{r}");
        assert_eq!(booked["guests"], 2, "the default is filled in: {r}");
        assert_eq!(booked["seating"], "indoor", "{r}");
        // A reply that breaks the schema is not sent.
        let bad = Command::new(bin())
            .args(call_args(
                era,
                "book_table",
                TABLE,
                &["--elicit", r#"accept:{"name": "Ann", "date": "soon"}"#],
            ))
            .env("XDG_DATA_HOME", scratch())
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&bad.stdout),
            String::from_utf8_lossy(&bad.stderr)
        );
        assert!(
            all.contains("\\\"date\\\": \\\"soon\\\" is not a valid date")
                || all.contains("\"date\": \"soon\" is not a valid date"),
            "era {era}: {all}"
        );
        let r = call(era, "book_table", TABLE, &["--elicit", "cancel"]);
        assert_eq!(r["structuredContent"]["why"], "cancelled", "{r}");
        // Without a terminal the default is to decline.
        let r = call(era, "book_table", TABLE, &[]);
        assert_eq!(r["structuredContent"]["why"], "declined", "{r}");
        let r = call(era, "list_roots", "{}", &["--root", "/srv/data"]);
        assert_eq!(
            r["structuredContent"]["roots"][0]["uri"], "file:///srv/data",
            "{r}"
        );
        assert_eq!(r["structuredContent"]["roots"][0]["name"], "data", "{r}");
    }
}

fn drive(era: &str, steps: Value) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/pty/drive.py");
    let o = Command::new("python3")
        .arg(&script)
        .arg(steps.to_string())
        .arg("--")
        .arg(bin())
        .args(call_args(era, "book_table", TABLE, &["--elicit", "ask"]))
        .env("XDG_DATA_HOME", scratch())
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{screen}");
    screen
}

#[test]
fn the_terminal_form_asks_field_by_field() {
    for era in ["legacy", "modern"] {
        let screen = drive(
            era,
            serde_json::json!([
                ["[f]ill in", "f"],
                ["Date (date, required)", "2025-02-30"],
                ["is not a valid date", "2025-03-01"],
                ["E-mail for the confirmation (email)", "not-an-email"],
                ["is not a valid email", ""],
                ["Guests (integer, required) [default: 2]", "13"],
                ["must be at most 12", ""],
                ["Name (text, required)", ""],
                ["Name is required", "Ann"],
                [
                    "Seating (choose one) 1) indoor 2) terrace [default: indoor]",
                    "2"
                ],
                ["[s]end", "s"]
            ]),
        );
        assert!(
            screen.contains("server \"mcp-sampling serve elicit-demo\" asks for input"),
            "{screen}"
        );
        assert!(screen.contains("Book a table at Chez Nous"), "{screen}");
        // The default fills guests; the empty optional e-mail is left out.
        let booked =
            r#""booked":{"date":"2025-03-01","guests":2,"name":"Ann","seating":"terrace"}"#;
        assert!(screen.contains(booked), "era {era}: {screen}");
        let screen = drive(era, serde_json::json!([["[f]ill in", "d"]]));
        assert!(
            screen.contains(r#""why":"declined""#),
            "era {era}: {screen}"
        );
    }
}
