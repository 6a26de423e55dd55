//! What a person sees while the model works: a spinner on stderr while the embedded model
//! loads and while a model generates (only when stderr is a terminal, so piped output is
//! never garbled), and the figures of each reply: prompt and generation speed apart when the
//! provider measured them, else the tokens and the latency end to end.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mcp_host::Event;
use mcp_llm::Timing;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

/// Watches the pipeline's steps.
pub type Observer = Box<dyn Fn(&Event) + Send + Sync>;

/// A spinner on stderr, cleared when dropped; nothing at all when stderr is not a terminal.
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// Starts spinning with `message`.
    pub fn start(message: impl Into<String>) -> Spinner {
        if !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Runs `f` (a blocking load) with a spinner saying `message`.
pub fn while_loading<T>(message: &str, f: impl FnOnce() -> T) -> T {
    let _spinner = Spinner::start(message);
    f()
}

/// One reply's figures: `171 in / 12 out tokens; prompt 171 tokens in 2700 ms (63.3
/// tokens/s), generation 11 tokens in 343 ms (32.1 tokens/s)`. Without a timing (an HTTP
/// provider: without streaming, the time to the first token is not known), only what is
/// known: the tokens and the latency.
pub fn figures(tokens: (u64, u64), latency_ms: u64, timing: Option<&Timing>) -> String {
    let (tin, tout) = tokens;
    let Some(t) = timing else {
        return format!(
            "{tin} in / {tout} out tokens, {latency_ms} ms end to end (not streamed, so no time \
             to the first token: prompt and generation are not timed apart)"
        );
    };
    let rate = |r: Option<f64>| r.map_or_else(String::new, |r| format!(" ({r:.1} tokens/s)"));
    let computed = match t.prompt_computed {
        Some(c) if c < tin => format!(" ({c} computed, the rest reused from a cache)"),
        Some(c) if c > tin => format!(" ({c} computed, a calibration pass included)"),
        _ => String::new(),
    };
    let prompt = format!(
        "prompt {tin} tokens{computed} in {} ms{}",
        t.prompt.as_millis(),
        rate(t.prompt_rate(tin))
    );
    let generation = if t.generation_tokens == 0 {
        "no generation step after the first token".to_owned()
    } else {
        format!(
            "generation {} tokens in {} ms{}",
            t.generation_tokens,
            t.generation.as_millis(),
            rate(t.generation_rate())
        )
    };
    format!("{tin} in / {tout} out tokens; {prompt}, {generation}")
}

/// Watches the pipeline for a command: a spinner while an approved request generates (not
/// when a person may be asked at the terminal, which then belongs to the reviewer). The steps
/// go to `also` when there is one (the demo prints them all), else to stderr: each reply's
/// figures, and with `verbose` every step.
pub struct Watcher {
    spinner: bool,
    verbose: bool,
    /// Requests generating, and the spinner while there are some.
    running: Mutex<(usize, Option<Spinner>)>,
    also: Option<Observer>,
}

impl Watcher {
    /// A watcher; `spinner` false when a person may review at the terminal.
    pub fn new(spinner: bool, verbose: bool, also: Option<Observer>) -> Watcher {
        Watcher {
            spinner,
            verbose,
            running: Mutex::new((0, None)),
            also,
        }
    }

    /// Sees one event.
    pub fn see(&self, e: &Event) {
        let ends = matches!(
            e,
            Event::Replied { .. } | Event::Failed(_) | Event::Withdrawn { .. }
        );
        if ends {
            let mut r = self.running.lock().unwrap_or_else(|p| p.into_inner());
            r.0 = r.0.saturating_sub(1);
            if r.0 == 0 {
                r.1 = None;
            }
        }
        match &self.also {
            Some(also) => also(e),
            None if self.verbose || matches!(e, Event::Replied { .. }) => eprintln!("{}", step(e)),
            None => {}
        }
        if let (true, Event::Decided { approved: true, .. }) = (self.spinner, e) {
            let mut r = self.running.lock().unwrap_or_else(|p| p.into_inner());
            r.0 += 1;
            let message = match r.0 {
                1 => "the model is generating".to_owned(),
                n => format!("the model is generating ({n} requests)"),
            };
            match &r.1 {
                Some(Spinner(Some(bar))) => bar.set_message(message),
                _ => r.1 = Some(Spinner::start(message)),
            }
        }
    }
}

/// One line of stderr for a step.
fn step(e: &Event) -> String {
    match e {
        Event::Request {
            server,
            tool,
            max_tokens,
            ..
        } => format!(
            "sampling: {server} asks for a completion (tool {}, maxTokens {max_tokens})",
            tool.as_deref().unwrap_or("?")
        ),
        Event::Refused(why) => format!("sampling: refused: {why}"),
        Event::Routed { model, reason } => format!("sampling: model {model}, because {reason}"),
        Event::Decided { approved, by } => format!(
            "sampling: {} by {by}",
            if *approved { "approved" } else { "rejected" }
        ),
        Event::Replied {
            tokens,
            latency_ms,
            timing,
            ..
        } => format!(
            "sampling: reply, {}",
            figures(*tokens, *latency_ms, timing.as_ref())
        ),
        Event::Failed(why) => format!("sampling: failed: {why}"),
        Event::Withdrawn { server } => {
            format!("sampling: {server}'s request was withdrawn before its answer")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::figures;
    use mcp_llm::Timing;
    use std::time::Duration;

    #[test]
    fn figures_say_what_is_known() {
        let t = Timing {
            prompt: Duration::from_millis(2000),
            generation: Duration::from_millis(250),
            generation_tokens: 10,
            prompt_computed: None,
        };
        assert_eq!(
            figures((100, 11), 2300, Some(&t)),
            "100 in / 11 out tokens; prompt 100 tokens in 2000 ms (50.0 tokens/s), \
             generation 10 tokens in 250 ms (40.0 tokens/s)"
        );
        let one = Timing {
            generation: Duration::ZERO,
            generation_tokens: 0,
            ..t
        };
        assert!(figures((100, 1), 2000, Some(&one))
            .ends_with("no generation step after the first token"));
        let cached = Timing {
            prompt_computed: Some(4),
            ..t
        };
        assert!(figures((100, 11), 2300, Some(&cached))
            .contains("prompt 100 tokens (4 computed, the rest reused from a cache) in 2000 ms (2.0 tokens/s)"));
        let http = figures((100, 11), 900, None);
        assert!(
            http.starts_with("100 in / 11 out tokens, 900 ms end to end"),
            "{http}"
        );
        assert!(!http.contains("tokens/s"), "{http}");
    }
}
