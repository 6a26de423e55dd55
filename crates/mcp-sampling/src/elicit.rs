//! Elicitation at the terminal (`--elicit ask`): the person at `/dev/tty` fills in the form
//! field by field (defaults shown, enum choices numbered, each value checked), reviews it,
//! and sends, declines or cancels. Also the non-interactive choices (`decline`, `cancel`,
//! `accept:JSON`) and the roots from `--root`.

use crate::review::{read_line, TTY_TURN};
use anyhow::{bail, Context};
use mcp_client::{AutoElicit, ElicitationError, ElicitationHandler, ElicitationRequest, Roots};
use mcp_console::{form_view, FormAnswer, FormAsker};
use mcp_host::inspect::reveal;
use mcp_proto::elicitation::{ElicitResult, PropertySchema, PropertyType};
use mcp_proto::form::check_value;
use mcp_rpc::BoxFuture;
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The handler `--elicit` names: `ask` (the terminal), `decline`, `cancel`, or
/// `accept:JSON` (these values, defaults for the rest). Default: the web console when there
/// is one (`web`), else ask when there is a terminal, else decline.
pub fn handler(
    spec: Option<&str>,
    web: Option<Arc<dyn FormAsker>>,
) -> anyhow::Result<Arc<dyn ElicitationHandler>> {
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
    if let (None, Some(forms)) = (spec, web) {
        return Ok(Arc::new(ConsoleElicitor { forms }));
    }
    match spec {
        None => match TerminalElicitor::open().filter(|_| interactive) {
            Some(t) => Ok(Arc::new(t)),
            None => Ok(Arc::new(AutoElicit::Decline)),
        },
        Some("decline") => Ok(Arc::new(AutoElicit::Decline)),
        Some("cancel") => Ok(Arc::new(AutoElicit::Cancel)),
        Some("ask") => match TerminalElicitor::open() {
            Some(t) => Ok(Arc::new(t)),
            None => bail!(
                "--elicit ask needs a terminal (/dev/tty); use decline, cancel or accept:JSON"
            ),
        },
        Some(other) => match other.strip_prefix("accept:") {
            Some(json) => match serde_json::from_str(json) {
                Ok(Value::Object(values)) => Ok(Arc::new(AutoElicit::Accept(values))),
                _ => bail!(
                    "--elicit accept:JSON needs a JSON object, like accept:'{{\"name\": \"Ann\"}}'"
                ),
            },
            None => {
                bail!("unknown --elicit {other:?}: expected ask, decline, cancel or accept:JSON")
            }
        },
    }
}

/// The roots of `--root` paths (made absolute), or none.
pub fn roots(paths: &[PathBuf]) -> anyhow::Result<Option<Roots>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let abs = paths
        .iter()
        .map(|p| std::path::absolute(p).with_context(|| format!("--root {}", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(Roots::from_paths(&abs)?))
}

/// Asks in the web console; an answer that does not fit the schema is asked again, saying
/// what is wrong.
pub struct ConsoleElicitor {
    forms: Arc<dyn FormAsker>,
}

/// How many answers that do not fit the schema are asked again before giving up (cancel).
const FORM_ATTEMPTS: usize = 5;

impl ElicitationHandler for ConsoleElicitor {
    fn elicit(&self, req: ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>> {
        let forms = self.forms.clone();
        Box::pin(async move {
            let mut error: Option<String> = None;
            for _ in 0..FORM_ATTEMPTS {
                let view = form_view(
                    &req.server,
                    req.era,
                    &req.protocol_version,
                    req.tool_call.as_ref(),
                    &req.params,
                    error.as_deref(),
                );
                match forms.ask_form(view).await {
                    Some(FormAnswer::Accept(content)) => {
                        match req.params.requested_schema.validate(&content) {
                            Ok(()) => return Ok(ElicitResult::accept(content)),
                            Err(e) => error = Some(e.to_string()),
                        }
                    }
                    Some(FormAnswer::Decline) => return Ok(ElicitResult::decline()),
                    Some(FormAnswer::Cancel) | None => return Ok(ElicitResult::cancel()),
                }
            }
            Ok(ElicitResult::cancel())
        })
    }
}

/// Asks at the controlling terminal.
pub struct TerminalElicitor {
    tty: Arc<Mutex<(BufReader<File>, File)>>,
}

impl TerminalElicitor {
    /// Opens `/dev/tty`; `None` when there is no terminal.
    pub fn open() -> Option<TerminalElicitor> {
        let r = OpenOptions::new().read(true).open("/dev/tty").ok()?;
        let w = OpenOptions::new().write(true).open("/dev/tty").ok()?;
        Some(TerminalElicitor {
            tty: Arc::new(Mutex::new((BufReader::new(r), w))),
        })
    }
}

impl ElicitationHandler for TerminalElicitor {
    fn elicit(&self, req: ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>> {
        let tty = self.tty.clone();
        Box::pin(async move {
            let joined = tokio::task::spawn_blocking(move || {
                let _turn = TTY_TURN.lock().unwrap_or_else(|p| p.into_inner());
                let mut guard = tty.lock().unwrap_or_else(|p| p.into_inner());
                let (r, w) = &mut *guard;
                ask_form(r, w, &req)
            })
            .await;
            match joined {
                Ok(Ok(reply)) => Ok(reply),
                // The terminal closed or failed: nobody chose, so the request is dismissed.
                Ok(Err(_)) | Err(_) => Ok(ElicitResult::cancel()),
            }
        })
    }
}

fn show_request(w: &mut File, req: &ElicitationRequest) -> std::io::Result<()> {
    writeln!(
        w,
        "\n┌─ server {:?} asks for input ({} era)",
        reveal(&req.server),
        req.era
    )?;
    if let Some(t) = &req.tool_call {
        writeln!(
            w,
            "│ for tool call: {} {}",
            t.name,
            Value::Object(t.arguments.clone())
        )?;
    }
    writeln!(
        w,
        "│ {}",
        reveal(req.params.message.trim_end()).replace('\n', "\n│ ")
    )?;
    let schema = &req.params.requested_schema;
    let fields: Vec<String> = schema
        .properties
        .iter()
        .map(|(n, p)| {
            let req = if schema.is_required(n) {
                " (required)"
            } else {
                ""
            };
            format!("{}{req}", reveal(p.label(n)))
        })
        .collect();
    writeln!(w, "│ fields: {}", fields.join(", "))?;
    write!(w, "└─ [f]ill in  [d]ecline  [c]ancel > ")?;
    w.flush()
}

fn ask_form(
    r: &mut BufReader<File>,
    w: &mut File,
    req: &ElicitationRequest,
) -> std::io::Result<ElicitResult> {
    loop {
        show_request(w, req)?;
        match read_line(r)?.to_ascii_lowercase().as_str() {
            "f" | "fill" | "y" | "yes" | "a" | "accept" => {}
            "d" | "decline" | "n" | "no" => return Ok(ElicitResult::decline()),
            "c" | "cancel" => return Ok(ElicitResult::cancel()),
            other => {
                writeln!(w, "unknown answer {other:?}")?;
                continue;
            }
        }
        let content = fill(r, w, req)?;
        writeln!(w, "┌─ your answers\n│ {}", Value::Object(content.clone()))?;
        loop {
            write!(w, "└─ [s]end  [e]dit again  [d]ecline  [c]ancel > ")?;
            w.flush()?;
            match read_line(r)?.to_ascii_lowercase().as_str() {
                "s" | "send" | "y" | "yes" => return Ok(ElicitResult::accept(content)),
                "d" | "decline" => return Ok(ElicitResult::decline()),
                "c" | "cancel" => return Ok(ElicitResult::cancel()),
                "e" | "edit" => break,
                other => writeln!(w, "unknown answer {other:?}")?,
            }
        }
    }
}

/// Asks each property in turn until its answer is valid.
fn fill(
    r: &mut BufReader<File>,
    w: &mut File,
    req: &ElicitationRequest,
) -> std::io::Result<Map<String, Value>> {
    let schema = &req.params.requested_schema;
    let mut content = Map::new();
    for (name, p) in &schema.properties {
        let required = schema.is_required(name);
        loop {
            write!(w, "{}", prompt(name, p, required))?;
            w.flush()?;
            let line = read_line(r)?;
            match parse_answer(p, &line) {
                Ok(None) => match &p.default {
                    Some(d) => {
                        content.insert(name.clone(), d.clone());
                        break;
                    }
                    None if required => writeln!(w, "  {} is required", p.label(name))?,
                    None => break,
                },
                Ok(Some(v)) => match check_value(name, p, &v) {
                    Ok(()) => {
                        content.insert(name.clone(), v);
                        break;
                    }
                    Err(e) => writeln!(w, "  {e}")?,
                },
                Err(e) => writeln!(w, "  {e}")?,
            }
        }
    }
    Ok(content)
}

/// `  Label — description (kind, required) 1) a 2) b [default: x]: `
fn prompt(name: &str, p: &PropertySchema, required: bool) -> String {
    let mut s = format!("  {}", reveal(p.label(name)));
    if let Some(d) = &p.description {
        s.push_str(&format!(" — {}", reveal(d)));
    }
    let kind = match (p.kind, p.format) {
        (PropertyType::String, Some(f)) => f.name(),
        (PropertyType::String, None) if p.choices().is_some() => "choose one",
        (PropertyType::String, None) => "text",
        (PropertyType::Number, _) => "number",
        (PropertyType::Integer, _) => "integer",
        (PropertyType::Boolean, _) => "y/n",
        (PropertyType::Array, _) => "choose any, comma-separated",
    };
    s.push_str(&format!(
        " ({kind}{})",
        if required { ", required" } else { "" }
    ));
    if let Some(choices) = p.choices() {
        for (i, (_, label)) in choices.iter().enumerate() {
            s.push_str(&format!(" {}) {label}", i + 1));
        }
    }
    if let Some(d) = &p.default {
        s.push_str(&format!(" [default: {}]", display(d)));
    }
    s.push_str(": ");
    s
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a typed line means for a property: `None` for an empty line (the default, or no
/// value); a choice by its number, value or label.
fn parse_answer(p: &PropertySchema, line: &str) -> Result<Option<Value>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let v = match p.kind {
        PropertyType::Boolean => match line.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "1" => Value::Bool(true),
            "n" | "no" | "false" | "0" => Value::Bool(false),
            _ => return Err("answer y or n".into()),
        },
        PropertyType::Integer => line
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "not an integer".to_string())?,
        PropertyType::Number => line
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or("not a number")?,
        PropertyType::String => match p.choices() {
            Some(c) => Value::String(choose(&c, line)?),
            None => Value::String(line.to_owned()),
        },
        PropertyType::Array => {
            let c = p.choices().unwrap_or_default();
            let picked = line
                .split(',')
                .map(|part| choose(&c, part.trim()).map(Value::String))
                .collect::<Result<Vec<_>, _>>()?;
            Value::Array(picked)
        }
    };
    Ok(Some(v))
}

fn choose(choices: &[(String, String)], typed: &str) -> Result<String, String> {
    if let Ok(n) = typed.parse::<usize>() {
        if let Some((v, _)) = n.checked_sub(1).and_then(|i| choices.get(i)) {
            return Ok(v.clone());
        }
    }
    choices
        .iter()
        .find(|(v, label)| v == typed || label.eq_ignore_ascii_case(typed))
        .map(|(v, _)| v.clone())
        .ok_or_else(|| format!("{typed:?} is not one of the choices"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prop(v: Value) -> PropertySchema {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn answers_are_read_by_type() {
        let b = prop(json!({"type": "boolean"}));
        assert_eq!(parse_answer(&b, " yes "), Ok(Some(json!(true))));
        assert_eq!(parse_answer(&b, "0"), Ok(Some(json!(false))));
        assert!(parse_answer(&b, "maybe").is_err());
        assert_eq!(parse_answer(&b, ""), Ok(None));
        let i = prop(json!({"type": "integer"}));
        assert_eq!(parse_answer(&i, "42"), Ok(Some(json!(42))));
        assert!(parse_answer(&i, "4.5").is_err());
        let n = prop(json!({"type": "number"}));
        assert_eq!(parse_answer(&n, "4.5"), Ok(Some(json!(4.5))));
        assert!(parse_answer(&n, "NaN").is_err());
        let e = prop(
            json!({"type": "string", "oneOf": [{"const": "r", "title": "Red"}, {"const": "g", "title": "Green"}]}),
        );
        assert_eq!(parse_answer(&e, "2"), Ok(Some(json!("g"))));
        assert_eq!(parse_answer(&e, "red"), Ok(Some(json!("r"))));
        assert_eq!(parse_answer(&e, "g"), Ok(Some(json!("g"))));
        assert!(parse_answer(&e, "3").is_err());
        let m =
            prop(json!({"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}}));
        assert_eq!(parse_answer(&m, "1, c"), Ok(Some(json!(["a", "c"]))));
        assert!(parse_answer(&m, "1, z").is_err());
        let s = prop(json!({"type": "string"}));
        assert_eq!(parse_answer(&s, "  Ann Lee "), Ok(Some(json!("Ann Lee"))));
    }

    #[test]
    fn prompts_show_kind_choices_and_default() {
        let p = prop(
            json!({"type": "string", "title": "Seat", "description": "Where",
            "enum": ["in", "out"], "default": "out"}),
        );
        assert_eq!(
            prompt("seat", &p, true),
            "  Seat — Where (choose one, required) 1) in 2) out [default: out]: "
        );
        let d = prop(json!({"type": "string", "format": "date"}));
        assert_eq!(prompt("day", &d, false), "  day (date): ");
    }

    #[test]
    fn elicit_specs() {
        assert!(handler(Some("decline"), None).is_ok());
        assert!(handler(Some("cancel"), None).is_ok());
        assert!(handler(Some(r#"accept:{"a": 1}"#), None).is_ok());
        assert!(handler(Some("accept:[1]"), None).is_err());
        assert!(handler(Some("maybe"), None).is_err());
        assert!(roots(&[]).unwrap().is_none());
        let r = roots(&[PathBuf::from("/tmp")]).unwrap().unwrap();
        assert_eq!(r.list()[0].uri, "file:///tmp");
    }
}
