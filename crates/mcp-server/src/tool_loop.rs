//! [`ToolLoop`]: sampling with tools (SEP-1577) run to its end. The server offers its own
//! functions to the model as tools, runs the tool uses the model asks for, sends the
//! results back, and iterates up to a cap; the last round forbids tools
//! (`toolChoice: none`), so the loop always ends with an answer.
//!
//! On the modern era the whole loop replays on every round (like any handler), so tools
//! must give the same result for the same input: read-only lookups and pure functions are
//! the right kind.

use crate::ctx::Ctx;
use crate::error::SampleError;
use crate::sampling::Sampling;
use futures_util::future::join_all;
use mcp_proto::content::{Content, OneOrMany};
use mcp_proto::sampling::{Role, SamplingMessage, SamplingTool, ToolChoiceMode};
use mcp_proto::BoxFuture;
use serde::Serialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::Arc;

type ToolFn = Arc<dyn Fn(Map<String, Value>) -> BoxFuture<Result<Value, String>> + Send + Sync>;

/// One tool use the loop ran.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ToolUseRecord {
    /// The round it came in (1-based).
    pub round: u32,
    /// The tool.
    pub name: String,
    /// Its input.
    pub input: Map<String, Value>,
    /// Its output, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Why it failed (an unknown tool, bad input), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How a [`ToolLoop`] ended.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LoopOutcome {
    /// The final answer's text.
    pub text: String,
    /// The model of the final answer.
    pub model: String,
    /// Sampling requests made.
    pub rounds: u32,
    /// Every tool use run, in order.
    pub tool_uses: Vec<ToolUseRecord>,
    /// Whether the last round had to forbid tools to get an answer.
    pub forced_final: bool,
    /// Whether the client could not sample with tools, so the model answered without them.
    pub without_tools: bool,
}

/// Sampling with tools, run to an answer (see the module docs).
pub struct ToolLoop {
    req: Sampling,
    tools: Vec<(SamplingTool, ToolFn)>,
    max_rounds: u32,
}

impl ToolLoop {
    /// A loop starting from `req` (its messages, system prompt and limits), with at most 5
    /// sampling rounds.
    pub fn new(req: Sampling) -> Self {
        ToolLoop {
            req,
            tools: Vec::new(),
            max_rounds: 5,
        }
    }

    /// Offers a tool: its name, description and input schema, and the function that runs
    /// it (its `Err` is shown to the model as a failed tool use).
    pub fn tool<F, Fut>(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        f: F,
    ) -> Self
    where
        F: Fn(Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        let def = SamplingTool {
            name: name.into(),
            description: Some(description.into()),
            input_schema,
            extra: Map::new(),
        };
        let run: ToolFn = Arc::new(move |input| Box::pin(f(input)));
        self.tools.push((def, run));
        self
    }

    /// The most sampling requests (at least 1); the last forbids tools.
    pub fn max_rounds(mut self, n: u32) -> Self {
        self.max_rounds = n.max(1);
        self
    }

    /// Runs the loop.
    pub async fn run(self, ctx: &Ctx) -> Result<LoopOutcome, SampleError> {
        let mut outcome = LoopOutcome {
            text: String::new(),
            model: String::new(),
            rounds: 0,
            tool_uses: Vec::new(),
            forced_final: false,
            without_tools: false,
        };
        if !ctx.can_sample_with_tools() && !ctx.has_direct_sampler() {
            let reply = ctx.sample(self.req).await?;
            outcome.rounds = 1;
            outcome.without_tools = true;
            (outcome.text, outcome.model) = (reply.text(), reply.model);
            return Ok(outcome);
        }
        let defs: Vec<SamplingTool> = self.tools.iter().map(|(d, _)| d.clone()).collect();
        let mut req = self.req.clone();
        for round in 1..=self.max_rounds {
            let last = round == self.max_rounds;
            let mode = if last {
                ToolChoiceMode::None
            } else {
                ToolChoiceMode::Auto
            };
            outcome.rounds = round;
            outcome.forced_final = last && round > 1;
            let reply = ctx
                .sample(req.clone().tools(defs.clone(), Some(mode)))
                .await?;
            let uses = tool_uses(&reply.content);
            if uses.is_empty() || last {
                (outcome.text, outcome.model) = (reply.text(), reply.model);
                return Ok(outcome);
            }
            let results =
                join_all(uses.iter().map(|(_, name, input)| self.call(name, input))).await;
            let mut blocks = Vec::new();
            for ((id, name, input), output) in uses.into_iter().zip(results) {
                blocks.push(result_block(&id, &output));
                let (output, error) = match output {
                    Ok(v) => (Some(v), None),
                    Err(e) => (None, Some(e)),
                };
                outcome.tool_uses.push(ToolUseRecord {
                    round,
                    name,
                    input,
                    output,
                    error,
                });
            }
            req = req
                .message(SamplingMessage {
                    role: Role::Assistant,
                    content: reply.content,
                    meta: None,
                })
                .message(SamplingMessage {
                    role: Role::User,
                    content: OneOrMany::Many(blocks),
                    meta: None,
                });
        }
        Ok(outcome)
    }

    async fn call(&self, name: &str, input: &Map<String, Value>) -> Result<Value, String> {
        match self.tools.iter().find(|(d, _)| d.name == name) {
            Some((_, run)) => run(input.clone()).await,
            None => Err(format!("there is no tool {name:?}")),
        }
    }
}

/// The tool uses of a reply: id, name, input.
fn tool_uses(content: &OneOrMany<Content>) -> Vec<(String, String, Map<String, Value>)> {
    content
        .as_slice()
        .iter()
        .filter_map(|c| match c {
            Content::ToolUse {
                id, name, input, ..
            } => Some((id.clone(), name.clone(), input.clone())),
            _ => None,
        })
        .collect()
}

/// A tool result block for the model: text (and the structured value for objects).
fn result_block(id: &str, output: &Result<Value, String>) -> Content {
    let (text, structured, is_error) = match output {
        Ok(Value::String(s)) => (s.clone(), None, None),
        Ok(v) => (v.to_string(), v.is_object().then(|| v.clone()), None),
        Err(e) => (e.clone(), None, Some(true)),
    };
    Content::ToolResult {
        tool_use_id: id.to_owned(),
        content: vec![Content::text(text)],
        structured_content: structured,
        is_error,
        meta: None,
    }
}
