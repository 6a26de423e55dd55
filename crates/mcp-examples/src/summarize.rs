//! `summarize`: summarise long text with the client's LLM; short text needs no model.

use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Summarize {
    /// The text to summarise.
    text: String,
    /// How many sentences the summary may have (default 3).
    sentences: Option<u32>,
}

/// Text this short, or with no more sentences than asked, is returned as it is.
const SHORT: usize = 280;

fn sentence_count(text: &str) -> usize {
    text.split(['.', '!', '?'])
        .filter(|s| !s.trim().is_empty())
        .count()
}

async fn summarize(Args(a): Args<Summarize>, ctx: Ctx) -> Result<String, ToolError> {
    let sentences = a.sentences.unwrap_or(3).clamp(1, 20);
    let text = a.text.trim();
    if text.is_empty() {
        return Err(ToolError::failed("there is no text to summarise"));
    }
    if text.len() <= SHORT || sentence_count(text) <= sentences as usize {
        return Ok(text.to_owned());
    }
    let req = Sampling::user(format!(
        "Summarize the following text in at most {sentences} sentences:\n\n{text}"
    ))
    .system("You write faithful, concise summaries. Reply with the summary only.")
    .max_tokens(60 * u64::from(sentences))
    .temperature(0.2)
    .hint("haiku")
    .priorities(0.6, 0.8, 0.3);
    let reply = ctx.sample(req).await?;
    let summary = reply.text();
    if summary.trim().is_empty() {
        return Err(ToolError::failed(format!(
            "the model ({}) returned no text",
            reply.model
        )));
    }
    Ok(summary.trim().to_owned())
}

/// Builds the server.
pub fn server() -> Server {
    Server::builder("summarize")
        .instructions("Summarises long text with the client's LLM (MCP sampling). Short text is returned unchanged.")
        .tool("summarize", "Summarize text in a few sentences (uses the client's LLM for long text)", summarize)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sentences() {
        assert_eq!(sentence_count("One. Two! Three?"), 3);
        assert_eq!(sentence_count("no end"), 1);
    }
}
