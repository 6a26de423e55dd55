//! [`Sampling`]: a sampling request under construction (what a handler asks the model).

use mcp_proto::ext::ExpectedOutput;
use mcp_proto::sampling::{
    CreateMessageParams, ModelHint, ModelPreferences, SamplingMessage, SamplingTool, ToolChoice,
    ToolChoiceMode,
};
use std::time::Duration;

/// A sampling request under construction.
///
/// ```
/// # use mcp_server::Sampling;
/// let s = Sampling::user("Classify: red shoes").system("Answer with one word.").max_tokens(5);
/// ```
#[derive(Debug, Clone)]
pub struct Sampling {
    pub(crate) params: CreateMessageParams,
    pub(crate) timeout: Option<Duration>,
    pub(crate) key: Option<String>,
}

impl Sampling {
    /// A request with one user text message and `maxTokens` 256.
    pub fn user(text: impl Into<String>) -> Sampling {
        Sampling::messages(vec![SamplingMessage::user(text)])
    }

    /// A request with these messages and `maxTokens` 256.
    pub fn messages(messages: Vec<SamplingMessage>) -> Sampling {
        Sampling {
            params: CreateMessageParams::new(messages, 256),
            timeout: None,
            key: None,
        }
    }

    /// A request from complete params.
    pub fn from_params(params: CreateMessageParams) -> Sampling {
        Sampling {
            params,
            timeout: None,
            key: None,
        }
    }

    /// Names this request's entry in a modern `input_required` result (its `inputRequests`
    /// key; by default `s` and its number in the call). Keys are unique within a call; a
    /// client may also answer a named request before it is asked, with `inputResponses`
    /// and no `requestState`. No effect on legacy sessions.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the system prompt.
    pub fn system(mut self, prompt: impl Into<String>) -> Self {
        self.params.system_prompt = Some(prompt.into());
        self
    }

    /// Sets `maxTokens`.
    pub fn max_tokens(mut self, n: u64) -> Self {
        self.params.max_tokens = n;
        self
    }

    /// Sets the temperature.
    pub fn temperature(mut self, t: f64) -> Self {
        self.params.temperature = Some(t);
        self
    }

    /// Adds a stop sequence.
    pub fn stop(mut self, seq: impl Into<String>) -> Self {
        self.params
            .stop_sequences
            .get_or_insert_with(Vec::new)
            .push(seq.into());
        self
    }

    /// Adds a model hint (tried in the order added).
    pub fn hint(mut self, name: impl Into<String>) -> Self {
        let prefs = self
            .params
            .model_preferences
            .get_or_insert_with(ModelPreferences::default);
        prefs.hints.get_or_insert_with(Vec::new).push(ModelHint {
            name: Some(name.into()),
        });
        self
    }

    /// Sets the cost, speed and intelligence priorities (each 0..1).
    pub fn priorities(mut self, cost: f64, speed: f64, intelligence: f64) -> Self {
        let prefs = self
            .params
            .model_preferences
            .get_or_insert_with(ModelPreferences::default);
        prefs.cost_priority = Some(cost.clamp(0.0, 1.0));
        prefs.speed_priority = Some(speed.clamp(0.0, 1.0));
        prefs.intelligence_priority = Some(intelligence.clamp(0.0, 1.0));
        self
    }

    /// Offers tools to the model (needs the client's `sampling.tools`).
    pub fn tools(mut self, tools: Vec<SamplingTool>, mode: Option<ToolChoiceMode>) -> Self {
        self.params.tools = Some(tools);
        self.params.tool_choice = mode.map(|m| ToolChoice { mode: Some(m) });
        self
    }

    /// Says what the answer must be (a list of choices, or JSON matching a schema), in the
    /// request's `_meta` under [`mcp_proto::ext::OUTPUT_KEY`]: hosts that know the extension
    /// constrain the model to it; others ignore it, so the reply must still be checked.
    pub fn expect(mut self, output: ExpectedOutput) -> Self {
        output.write_to(&mut self.params.meta);
        self
    }

    /// What [`Sampling::expect`] set, if anything.
    pub fn expected(&self) -> Option<ExpectedOutput> {
        ExpectedOutput::from_meta(self.params.meta.as_ref())
    }

    /// Appends a message.
    pub fn message(mut self, m: SamplingMessage) -> Self {
        self.params.messages.push(m);
        self
    }

    /// How long to wait for the reply on the legacy era (default: the server's, 5 minutes:
    /// a person may be reviewing the request).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// The params as they will be sent.
    pub fn params(&self) -> &CreateMessageParams {
        &self.params
    }
}
