//! `email-tones`: `draft_email` writes one e-mail in several tones (default formal,
//! friendly, concise). The drafts are requested together: on the modern era every tone's
//! request goes out in one `input_required` round (started with `join_all`), on the legacy
//! era the requests are in flight at the same time. Code then checks each draft (every
//! point made, judged by its key words, and the tone's word limit: see [`check`]) and asks
//! again, at most once and again all together, for the drafts that failed, saying what was
//! wrong. The result gives, per tone, the text, whether it passed, what was missing and
//! whether it was asked again.
//!
//! Code decides the tones, the limits and the checks; the model only writes.

pub mod check;

use check::{Tone, Verdict, DEFAULT_TONES, TONES};
use futures_util::future::join_all;
use mcp_proto::SamplingMessage;
use mcp_server::{Args, Ctx, Json, SampleError, Sampling, Server, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most tones in one call.
pub const MAX_TONES: usize = 6;
/// Most points in one e-mail.
pub const MAX_POINTS: usize = 10;
/// Most characters in one point.
pub const MAX_POINT_CHARS: usize = 300;
/// Most characters in `to`.
pub const MAX_TO_CHARS: usize = 200;

#[derive(Deserialize, JsonSchema)]
struct Draft {
    /// Who the e-mail is for: a name or a role ("Ms Chen", "the landlord"). Optional.
    to: Option<String>,
    /// The points the e-mail must make, each a short phrase or sentence (1 to 10, each at
    /// most 300 characters). Names, numbers and dates in them must appear in every draft.
    points: Vec<String>,
    /// The tones to write it in (default formal, friendly, concise; 1 to 6, no repeats),
    /// from: formal, friendly, concise, apologetic, persuasive, enthusiastic, empathetic,
    /// urgent.
    tones: Option<Vec<String>>,
}

/// One tone's draft.
#[derive(Serialize, Debug, JsonSchema)]
pub struct Variant {
    /// The tone.
    pub tone: String,
    /// The draft (the second one when it was asked again).
    pub text: String,
    /// Whether it makes every point within the tone's word limit.
    pub passed: bool,
    /// The points it does not make.
    pub missing: Vec<String>,
    /// Its length in words.
    pub words: usize,
    /// The tone's word limit.
    pub max_words: usize,
    /// Whether it is longer than the limit.
    pub too_long: bool,
    /// Whether the first draft failed the checks and the model was asked again.
    pub re_asked: bool,
    /// Why there is no draft, when the sampling request failed (refused, timed out).
    pub error: Option<String>,
}

/// What `draft_email` returns.
#[derive(Serialize, Debug, JsonSchema)]
pub struct Drafts {
    /// The recipient, if given.
    pub to: Option<String>,
    /// The points, trimmed.
    pub points: Vec<String>,
    /// One draft per tone, in the order asked.
    pub variants: Vec<Variant>,
    /// How many drafts passed.
    pub passed: usize,
    /// Whether every draft passed.
    pub all_passed: bool,
    /// How many drafts were asked again.
    pub re_asked: usize,
}

/// The checked arguments: recipient, points, tones.
type Checked = (Option<String>, Vec<String>, Vec<&'static Tone>);

/// Validates the arguments; a one-sentence error for the first thing wrong.
fn validate(d: Draft) -> Result<Checked, String> {
    let to = d.to.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if to
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TO_CHARS)
    {
        return Err(format!("`to` is longer than {MAX_TO_CHARS} characters"));
    }
    let points: Vec<String> = d
        .points
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    if points.is_empty() {
        return Err("there are no points: give at least one thing the e-mail must say".into());
    }
    if points.len() > MAX_POINTS {
        return Err(format!(
            "there are {} points, at most {MAX_POINTS}",
            points.len()
        ));
    }
    if let Some(p) = points.iter().find(|p| p.chars().count() > MAX_POINT_CHARS) {
        let start: String = p.chars().take(30).collect();
        return Err(format!(
            "the point \"{start}…\" is longer than {MAX_POINT_CHARS} characters"
        ));
    }
    let names = d
        .tones
        .unwrap_or_else(|| DEFAULT_TONES.iter().map(|t| (*t).to_owned()).collect());
    if names.is_empty() || names.len() > MAX_TONES {
        return Err(format!(
            "ask for 1 to {MAX_TONES} tones, not {}",
            names.len()
        ));
    }
    let mut tones: Vec<&'static Tone> = Vec::new();
    for n in &names {
        let Some(t) = check::tone(n) else {
            let known: Vec<&str> = TONES.iter().map(|t| t.name).collect();
            return Err(format!(
                "unknown tone \"{}\": use one of {}",
                n.trim(),
                known.join(", ")
            ));
        };
        if tones.iter().any(|x| x.name == t.name) {
            return Err(format!("the tone \"{}\" is asked for twice", t.name));
        }
        tones.push(t);
    }
    Ok((to, points, tones))
}

/// The first request for `tone`.
fn request(tone: &Tone, to: Option<&str>, points: &[String]) -> Sampling {
    let system = format!(
        "You write e-mails. Write one e-mail in a {name} tone: {about}. Make every point \
         listed, keeping its names, numbers and dates. At most {max} words. Reply with the \
         e-mail only: greeting, body and sign-off; no subject line and no notes.",
        name = tone.name,
        about = tone.about,
        max = tone.max_words,
    );
    let mut user = format!("Tone: {}\n", tone.name);
    if let Some(to) = to {
        user.push_str(&format!("To: {to}\n"));
    }
    user.push_str("Points:");
    for p in points {
        user.push_str("\n- ");
        user.push_str(p);
    }
    Sampling::user(user)
        .system(system)
        .max_tokens(tone.max_words as u64 * 2 + 40)
        .temperature(0.4)
        .key(format!("draft-{}", tone.name))
}

/// The request asking again for `tone`, after `draft` failed with `problems`.
fn re_request(first: Sampling, tone: &Tone, draft: &str, problems: &str) -> Sampling {
    first
        .key(format!("redraft-{}", tone.name))
        .message(SamplingMessage::assistant(draft))
        .message(SamplingMessage::user(format!(
            "Rewrite the {} e-mail: {problems}. Write the whole e-mail again, making every \
             point in at most {} words.",
            tone.name, tone.max_words
        )))
}

/// A sampling failure that ends the call (the client cannot sample, a limit, a closed
/// connection) rather than one draft.
fn fatal(e: &SampleError) -> bool {
    matches!(
        e,
        SampleError::NotSupported
            | SampleError::Limit(_)
            | SampleError::Closed
            | SampleError::Invalid(_)
    )
}

/// One tone's state between the rounds.
struct Slot {
    tone: &'static Tone,
    text: String,
    verdict: Option<Verdict>,
    error: Option<String>,
    re_asked: bool,
}

/// Asks every request at once; the reply texts, or the first fatal error.
async fn ask_all(ctx: &Ctx, reqs: Vec<Sampling>) -> Result<Vec<Result<String, String>>, ToolError> {
    let replies = join_all(reqs.into_iter().map(|r| ctx.sample(r))).await;
    let mut out = Vec::new();
    for r in replies {
        match r {
            Ok(reply) => out.push(Ok(reply.text().trim().to_owned())),
            Err(e) if fatal(&e) => return Err(ToolError::Sampling(e)),
            Err(e) => out.push(Err(e.to_string())),
        }
    }
    Ok(out)
}

async fn draft_email(Args(d): Args<Draft>, ctx: Ctx) -> Result<Json<Drafts>, ToolError> {
    let (to, points, tones) = validate(d).map_err(ToolError::Failed)?;
    let firsts: Vec<Sampling> = tones
        .iter()
        .map(|t| request(t, to.as_deref(), &points))
        .collect();
    // Round one: every tone at once.
    let replies = ask_all(&ctx, firsts.clone()).await?;
    let mut slots: Vec<Slot> = tones
        .iter()
        .copied()
        .zip(replies)
        .map(|(tone, r)| match r {
            Ok(text) => Slot {
                tone,
                verdict: Some(check::check(&text, &points, tone)),
                text,
                error: None,
                re_asked: false,
            },
            Err(e) => Slot {
                tone,
                text: String::new(),
                verdict: None,
                error: Some(e),
                re_asked: false,
            },
        })
        .collect();
    // Round two: the drafts that failed the checks, at once, each told what was wrong.
    let failed: Vec<usize> = (0..slots.len())
        .filter(|&i| slots[i].verdict.as_ref().is_some_and(|v| !v.passed()))
        .collect();
    let again: Vec<Sampling> = failed
        .iter()
        .map(|&i| {
            let s = &slots[i];
            let problems = s
                .verdict
                .as_ref()
                .map(|v| v.problems(s.tone))
                .unwrap_or_default();
            re_request(firsts[i].clone(), s.tone, &s.text, &problems)
        })
        .collect();
    let replies = ask_all(&ctx, again).await?;
    for (&i, r) in failed.iter().zip(replies) {
        let s = &mut slots[i];
        s.re_asked = true;
        match r {
            Ok(text) => {
                s.verdict = Some(check::check(&text, &points, s.tone));
                s.text = text;
            }
            Err(e) => s.error = Some(format!("asked again, the request failed: {e}")),
        }
    }
    Ok(Json(summarise(to, points, slots)))
}

fn summarise(to: Option<String>, points: Vec<String>, slots: Vec<Slot>) -> Drafts {
    let variants: Vec<Variant> = slots
        .into_iter()
        .map(|s| {
            let v = s.verdict.unwrap_or(Verdict {
                missing: points.clone(),
                words: 0,
                too_long: false,
            });
            Variant {
                tone: s.tone.name.into(),
                passed: s.error.is_none() && v.passed(),
                text: s.text,
                missing: v.missing,
                words: v.words,
                max_words: s.tone.max_words,
                too_long: v.too_long,
                re_asked: s.re_asked,
                error: s.error,
            }
        })
        .collect();
    let passed = variants.iter().filter(|v| v.passed).count();
    Drafts {
        to,
        points,
        all_passed: passed == variants.len(),
        passed,
        re_asked: variants.iter().filter(|v| v.re_asked).count(),
        variants,
    }
}

/// The `email-tones` server.
pub fn server() -> Server {
    Server::builder("email-tones")
        .instructions(
            "Drafts one e-mail in several tones with the client's LLM (MCP sampling), all tones \
             requested at once. Code checks every draft (each point made, the tone's word limit) \
             and asks again once for a draft that fails. The tones and their limits are in the \
             resource email-tones://tones.",
        )
        .tool(
            "draft_email",
            "Draft one e-mail in several tones (default formal, friendly, concise; at most 6). \
             Give the points it must make; each draft is checked for every point and its \
             tone's word limit, and asked again once if it fails. Returns per tone the text, \
             whether it passed, the points missing and whether it was asked again.",
            draft_email,
        )
        .resource(
            "email-tones://tones",
            "tones",
            "application/json",
            || async {
                serde_json::to_string_pretty(TONES).map_err(|e| ToolError::failed(e.to_string()))
            },
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(points: &[&str], tones: Option<&[&str]>) -> Draft {
        Draft {
            to: None,
            points: points.iter().map(|p| (*p).to_owned()).collect(),
            tones: tones.map(|ts| ts.iter().map(|t| (*t).to_owned()).collect()),
        }
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let err = |d| validate(d).err().unwrap_or_default();
        assert!(err(draft(&[" ", ""], None)).starts_with("there are no points"));
        assert!(err(draft(&["x"], Some(&["snarky"]))).starts_with("unknown tone \"snarky\""));
        assert!(err(draft(&["x"], Some(&[]))).starts_with("ask for 1 to 6 tones"));
        assert!(err(draft(&["x"], Some(&["formal", "Formal"]))).contains("twice"));
        assert!(err(draft(&["x"; 11], None)).contains("at most 10"));
        let long = "y".repeat(301);
        assert!(err(draft(&[&long], None)).contains("longer than 300"));
        let (to, points, tones) = validate(draft(&[" a ", "b"], None)).unwrap();
        assert_eq!(to, None);
        assert_eq!(points, ["a", "b"]);
        let names: Vec<&str> = tones.iter().map(|t| t.name).collect();
        assert_eq!(names, DEFAULT_TONES);
    }

    #[test]
    fn requests_name_the_tone_and_the_points() {
        let t = check::tone("urgent").unwrap();
        let r = request(t, Some("Ops"), &["server down".into()]);
        let p = r.params();
        let user = p.messages[0].content.as_slice()[0]
            .as_text()
            .unwrap_or_default();
        assert_eq!(user, "Tone: urgent\nTo: Ops\nPoints:\n- server down");
        let again = re_request(r.clone(), t, "Hi", "it is short");
        assert_eq!(again.params().messages.len(), 3);
    }
}
