//! What code decides about a drafted e-mail: the tones on offer with their word limits, the
//! key words of a point, and whether a draft makes every point within its tone's length.
//!
//! **The point check.** A point's key words are its words of four letters or more that are
//! not common function words ("that", "with", "please", ...), plus every token holding a
//! digit ("10421", "3pm", "40"). A point is present in a draft when every one of its
//! numbers occurs in the draft as a token, and at least half (rounded up) of its other key
//! words occur, compared by stem: a draft word matches a key word when it starts with the
//! key word's first five letters ("invoice" matches "invoices", "delayed" matches
//! "delay"), or when the key word starts with a draft word of four letters or more
//! ("meeting" matches "meet"). A point with no key word at all is matched on all its words.

use serde::Serialize;

/// A tone a draft can be written in.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tone {
    /// Its name (what `tones` takes).
    pub name: &'static str,
    /// How a draft in this tone reads (told to the model).
    pub about: &'static str,
    /// The most words a draft in this tone may have.
    pub max_words: usize,
}

/// Every tone on offer.
pub const TONES: &[Tone] = &[
    Tone {
        name: "formal",
        about: "polite and professional, full sentences, no slang and no contractions",
        max_words: 220,
    },
    Tone {
        name: "friendly",
        about: "warm and personal, plain words, contractions are fine",
        max_words: 200,
    },
    Tone {
        name: "concise",
        about: "as short as it can be: about one short sentence per point, no pleasantries beyond a greeting",
        max_words: 90,
    },
    Tone {
        name: "apologetic",
        about: "owns the problem and apologises sincerely once, then makes the points",
        max_words: 240,
    },
    Tone {
        name: "persuasive",
        about: "makes the case for the points and ends with a clear request",
        max_words: 240,
    },
    Tone {
        name: "enthusiastic",
        about: "upbeat and energetic, with positive words",
        max_words: 200,
    },
    Tone {
        name: "empathetic",
        about: "acknowledges the reader's situation and feelings before the points",
        max_words: 240,
    },
    Tone {
        name: "urgent",
        about: "direct: the action needed and its deadline come first",
        max_words: 140,
    },
];

/// The tones used when the call names none.
pub const DEFAULT_TONES: [&str; 3] = ["formal", "friendly", "concise"];

/// The tone called `name` (case and surrounding spaces aside).
pub fn tone(name: &str) -> Option<&'static Tone> {
    let name = name.trim().to_lowercase();
    TONES.iter().find(|t| t.name == name)
}

/// Words too common to show that a point was made.
const STOPWORDS: &[&str] = &[
    "about", "after", "again", "also", "been", "before", "being", "could", "does", "doing", "each",
    "from", "have", "having", "here", "into", "just", "make", "more", "most", "must", "only",
    "other", "over", "please", "really", "same", "should", "some", "such", "sure", "than", "that",
    "their", "them", "then", "there", "these", "they", "this", "those", "very", "want", "were",
    "what", "when", "where", "which", "while", "will", "with", "would", "your", "yours",
];

/// The lower-case tokens of `text`: runs of letters and digits.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The key words of a point: (numbers, other key words); see the module docs.
pub fn key_words(point: &str) -> (Vec<String>, Vec<String>) {
    let mut numbers = Vec::new();
    let mut words = Vec::new();
    for t in tokens(point) {
        let list = if t.chars().any(|c| c.is_ascii_digit()) {
            &mut numbers
        } else if t.chars().count() >= 4 && !STOPWORDS.contains(&t.as_str()) {
            &mut words
        } else {
            continue;
        };
        if !list.contains(&t) {
            list.push(t);
        }
    }
    if numbers.is_empty() && words.is_empty() {
        words = tokens(point);
        words.dedup();
    }
    (numbers, words)
}

/// Whether the draft word `t` matches the key word `key` (see the module docs).
fn stem_match(key: &str, t: &str) -> bool {
    let stem: String = key.chars().take(5).collect();
    t.starts_with(&stem) || (t.chars().count() >= 4 && key.starts_with(t))
}

/// Whether `point` is made in the draft whose tokens are `draft`.
fn present(point: &str, draft: &[String]) -> bool {
    let (numbers, words) = key_words(point);
    if !numbers.iter().all(|n| draft.contains(n)) {
        return false;
    }
    let found = words
        .iter()
        .filter(|k| draft.iter().any(|t| stem_match(k, t)))
        .count();
    found * 2 >= words.len()
}

/// What the checks found in one draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The points the draft does not make, as given.
    pub missing: Vec<String>,
    /// The draft's length in words.
    pub words: usize,
    /// Whether it is longer than its tone allows.
    pub too_long: bool,
}

impl Verdict {
    /// Whether the draft passed every check.
    pub fn passed(&self) -> bool {
        self.words > 0 && self.missing.is_empty() && !self.too_long
    }

    /// What is wrong, as one sentence for the model (empty when it passed).
    pub fn problems(&self, tone: &Tone) -> String {
        let mut out = Vec::new();
        if self.words == 0 {
            out.push("the draft is empty".to_owned());
        }
        if !self.missing.is_empty() {
            let quoted: Vec<String> = self.missing.iter().map(|p| format!("\"{p}\"")).collect();
            out.push(format!(
                "it does not make these points: {}",
                quoted.join(", ")
            ));
        }
        if self.too_long {
            out.push(format!(
                "it has {} words, at most {} for the {} tone",
                self.words, tone.max_words, tone.name
            ));
        }
        out.join("; ")
    }
}

/// Checks a draft against the points and its tone's length limit.
pub fn check(draft: &str, points: &[String], tone: &Tone) -> Verdict {
    let toks = tokens(draft);
    let words = draft.split_whitespace().count();
    Verdict {
        missing: points
            .iter()
            .filter(|p| !present(p, &toks))
            .cloned()
            .collect(),
        words,
        too_long: words > tone.max_words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(ps: &[&str]) -> Vec<String> {
        ps.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn key_words_skip_function_words_and_keep_numbers() {
        let (n, w) = key_words("Please make sure the invoice 10421 is paid by Friday");
        assert_eq!(n, ["10421"]);
        assert_eq!(w, ["invoice", "paid", "friday"]);
        let (n, w) = key_words("ok");
        assert!(n.is_empty());
        assert_eq!(w, ["ok"]);
    }

    #[test]
    fn points_match_by_stem_and_numbers_exactly() {
        let concise = tone("concise").unwrap();
        let ps = points(&[
            "the shipment is delayed",
            "new date 14 March",
            "meeting moved",
        ]);
        let v = check(
            "Hi Ana, the shipments were delayed; they now arrive on 14 March. See you soon. Bo",
            &ps,
            concise,
        );
        assert_eq!(v.missing, ["meeting moved"]);
        assert!(!v.passed());
        let v = check(
            "The delay: new date is 15 March. Meeting moved.",
            &ps,
            concise,
        );
        assert_eq!(v.missing, ["new date 14 March"]);
        let v = check(
            "Shipment delayed, new date 14 March, the meeting is moved.",
            &ps,
            concise,
        );
        assert!(v.passed(), "{v:?}");
    }

    #[test]
    fn length_limits_and_empty_drafts() {
        let concise = tone(" Concise ").unwrap();
        let long = "word ".repeat(91);
        let v = check(&long, &points(&["word"]), concise);
        assert!(v.too_long);
        assert_eq!(
            v.problems(concise),
            "it has 91 words, at most 90 for the concise tone"
        );
        let v = check("  ", &points(&["refund sent"]), concise);
        assert!(!v.passed());
        assert_eq!(
            v.problems(concise),
            "the draft is empty; it does not make these points: \"refund sent\""
        );
        assert!(tone("sarcastic").is_none());
    }
}
