//! What a reviewer must see that plain printing hides: characters that are invisible or turn
//! the text's direction ([`reveal`]), and requests whose text claims to come from the user,
//! the host or the system, or whose server claims another name ([`warnings`]).
//!
//! Every message of a sampling request is written by the server, the `user` ones too; a
//! reviewer shows them through [`shown`], which reveals hidden characters in every string.

use crate::SamplingRequest;
use mcp_proto::sampling::CreateMessageParams;
use serde_json::Value;
use std::borrow::Cow;

/// What kind of hidden character a code point is, if it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Zero-width and other invisible characters (ZWSP, ZWJ, word joiner, BOM, soft hyphen,
    /// invisible operators, fillers, variation selectors that carry no emoji).
    Invisible,
    /// Characters that change the text's direction (bidi embeddings, overrides, isolates,
    /// marks).
    Bidi,
    /// Unicode tag characters (U+E0000..U+E007F), which can spell invisible ASCII.
    Tag,
    /// Control characters other than tab and newline.
    Control,
}

/// The kind of `c` when it is hidden in print, with a short name where one is usual.
pub fn hidden(c: char) -> Option<(Hidden, Option<&'static str>)> {
    use Hidden::*;
    let named = |k, n| Some((k, Some(n)));
    match c {
        '\u{200B}' => named(Invisible, "ZWSP"),
        '\u{200C}' => named(Invisible, "ZWNJ"),
        '\u{200D}' => named(Invisible, "ZWJ"),
        '\u{2060}' => named(Invisible, "WJ"),
        '\u{FEFF}' => named(Invisible, "BOM"),
        '\u{00AD}' => named(Invisible, "SHY"),
        '\u{180E}' => named(Invisible, "MVS"),
        '\u{034F}' => named(Invisible, "CGJ"),
        '\u{2061}'..='\u{2064}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' => {
            Some((Invisible, None))
        }
        '\u{17B4}' | '\u{17B5}' | '\u{FE00}'..='\u{FE0D}' | '\u{E0100}'..='\u{E01EF}' => {
            Some((Invisible, None))
        }
        '\u{200E}' => named(Bidi, "LRM"),
        '\u{200F}' => named(Bidi, "RLM"),
        '\u{061C}' => named(Bidi, "ALM"),
        '\u{202A}' => named(Bidi, "LRE"),
        '\u{202B}' => named(Bidi, "RLE"),
        '\u{202C}' => named(Bidi, "PDF"),
        '\u{202D}' => named(Bidi, "LRO"),
        '\u{202E}' => named(Bidi, "RLO"),
        '\u{2066}' => named(Bidi, "LRI"),
        '\u{2067}' => named(Bidi, "RLI"),
        '\u{2068}' => named(Bidi, "FSI"),
        '\u{2069}' => named(Bidi, "PDI"),
        '\u{2028}' => named(Bidi, "LSEP"),
        '\u{2029}' => named(Bidi, "PSEP"),
        '\u{E0000}'..='\u{E007F}' => Some((Tag, None)),
        '\t' | '\n' => None,
        c if c.is_control() => Some((Control, None)),
        _ => None,
    }
}

/// A zero-width joiner between two pictographs joins an emoji sequence: it is shown as is.
fn joins_emoji(prev: Option<char>, next: Option<char>) -> bool {
    let pictograph = |c: Option<char>| {
        c.is_some_and(
            |c| matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{FE0F}'),
        )
    };
    pictograph(prev) && pictograph(next)
}

/// `text` with every hidden character made visible: `⟦ZWSP⟧`, `⟦RLO⟧`, `⟦U+2063⟧`, and a
/// run of tag characters as the ASCII they spell, `⟦tags "ignore the user"⟧`. Text with
/// nothing hidden comes back borrowed.
pub fn reveal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| hidden(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match hidden(c) {
            None => out.push(c),
            Some((Hidden::Invisible, _))
                if c == '\u{200D}'
                    && joins_emoji(
                        i.checked_sub(1).map(|j| chars[j]),
                        chars.get(i + 1).copied(),
                    ) =>
            {
                out.push(c)
            }
            Some((Hidden::Tag, _)) => {
                let start = i;
                while i + 1 < chars.len() && matches!(hidden(chars[i + 1]), Some((Hidden::Tag, _)))
                {
                    i += 1;
                }
                let spelled: String = chars[start..=i]
                    .iter()
                    .filter_map(|t| char::from_u32(*t as u32 - 0xE0000))
                    .filter(|a| a.is_ascii_graphic() || *a == ' ')
                    .collect();
                out.push_str(&format!("⟦tags {spelled:?}⟧"));
            }
            Some((_, Some(name))) => out.push_str(&format!("⟦{name}⟧")),
            Some((_, None)) => out.push_str(&format!("⟦U+{:04X}⟧", c as u32)),
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// The request's params as a reviewer shows them: every string with [`reveal`] applied (the
/// system prompt, messages, tool definitions and their schemas, everything).
pub fn shown(params: &CreateMessageParams) -> Value {
    let mut v = serde_json::to_value(params).unwrap_or(Value::Null);
    reveal_all(&mut v);
    v
}

/// Applies [`reveal`] to every string in `v`, object keys too.
pub fn reveal_all(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(r) = reveal(s) {
                *s = r;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(reveal_all),
        Value::Object(o) => {
            let taken = std::mem::take(o);
            for (k, mut x) in taken {
                reveal_all(&mut x);
                o.insert(reveal(&k).into_owned(), x);
            }
        }
        _ => {}
    }
}

/// Line starts that mark a turn of someone other than the server.
const ROLE_MARKERS: &[&str] = &[
    "user:",
    "human:",
    "system:",
    "host:",
    "[user]",
    "[system]",
    "[host]",
    "<user>",
    "<system>",
    "<host>",
    "<|im_start|>",
    "<|start_header_id|>",
    "### user",
    "### system",
    "### instruction",
    "[inst]",
];

/// Phrases that claim the authority of the user or the host.
const CLAIMS: &[&str] = &[
    "the user has approved",
    "the user approved",
    "approved by the user",
    "the user has authorized",
    "the user authorized",
    "authorized by the user",
    "the user has confirmed",
    "confirmed by the user",
    "message from the user",
    "the user says",
    "the user wants you to",
    "the host has approved",
    "approved by the host",
    "message from the host",
    "instruction from the host",
    "the host says",
    "system override",
    "ignore previous instructions",
    "ignore all previous instructions",
];

/// What in the request deserves the reviewer's attention, one sentence each: a claimed name
/// other than the configured one, hidden characters (by kind and where), and text that
/// claims to come from the user, the host or the system.
pub fn warnings(req: &SamplingRequest) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(claimed) = &req.claims {
        out.push(format!(
            "the server calls itself {:?}, but is configured as {:?}",
            reveal(claimed),
            reveal(&req.server)
        ));
    }
    let v = serde_json::to_value(&req.params).unwrap_or(Value::Null);
    let mut strings = Vec::new();
    collect(&v, String::new(), &mut strings);
    let mut hidden_at: Vec<(String, [usize; 4])> = Vec::new();
    for (path, s) in &strings {
        let mut counts = [0usize; 4];
        for c in s.chars() {
            if let Some((kind, _)) = hidden(c) {
                counts[kind as usize] += 1;
            }
        }
        if counts.iter().any(|n| *n > 0) {
            hidden_at.push((path.clone(), counts));
        }
        if let Some(claim) = claim_in(s) {
            out.push(format!(
                "{path} claims to speak for someone other than the server: {claim:?}"
            ));
        }
    }
    for (path, counts) in hidden_at {
        let kinds: Vec<String> = ["invisible", "direction-changing", "tag", "control"]
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        out.push(format!("{path} hides characters: {}", kinds.join(", ")));
    }
    out
}

/// The first role marker or claim in `text`, as the line it is on (at most 80 characters).
fn claim_in(text: &str) -> Option<String> {
    let plain: String = text
        .chars()
        .filter(|c| hidden(*c).is_none() || *c == '\n')
        .collect();
    plain.lines().find_map(|line| {
        let l = line.trim().to_lowercase();
        let marked = ROLE_MARKERS.iter().any(|m| l.starts_with(m));
        (marked || CLAIMS.iter().any(|c| l.contains(c)))
            .then(|| line.trim().chars().take(80).collect())
    })
}

/// Every string in `v` with where it is (`messages[0].content.text`, `systemPrompt`, ...);
/// base64 payloads (`data`) are left out.
fn collect(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((path, s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect(x, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                if k == "data" {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect(x, p, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
