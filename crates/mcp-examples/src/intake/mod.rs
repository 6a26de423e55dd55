//! `intake`: validate user input conversationally (the seeds' use case), here a delivery
//! request for a courier in the United Kingdom.
//!
//! `submit_request` takes free-form fields (every one an optional string, so that code does
//! the checking). Code checks what code can ([`checks`]: required fields, UK postcode and
//! phone formats, the date in the future and within a year, the time window in delivery
//! hours) and normalises the values. When they pass, the model judges whether the rest is
//! plausible and consistent (typed output through
//! [`Ctx::extract_checked`](mcp_server::Ctx::extract_checked): `{plausible, fields_at_fault,
//! reason}`). When code or the model finds fault, the person is asked through elicitation to
//! correct exactly the fields at fault (a form prefilled with the current values), and the
//! request is checked again; at most [`MAX_ROUNDS`] forms. Sampling and elicitation mix in one
//! flow on both eras (on the modern era the handler is replayed: the same requests in the
//! same order).
//!
//! The outcome's `status`: `accepted`; `needs_correction` (the client cannot show forms: the
//! problems are returned for the caller to fix and resubmit); `declined` or `cancelled` (the
//! person did so with the form); `rejected` (still wrong after [`MAX_ROUNDS`] forms).
//!
//! **The fallback**: when the model's verdict is unusable (no valid JSON even after the repair
//! round, a refusal, a client that cannot sample), the request is accepted on the code checks
//! alone, with `judged_by: fallback (WHY)`: code checks are the gate, the model's judgment
//! is advice, and a courier would rather phone about an odd address than lose the order.

pub mod checks;

use checks::{check, Date, Problem};
use mcp_proto::clock::{Clock, SystemClock};
use mcp_proto::elicitation::{ElicitAction, PropertySchema, PropertyType};
use mcp_server::{
    Args, Ctx, DecidedBy, Elicitation, ExtractError, Json, SampleError, Sampling, Server, State,
    ToolError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Most correction forms one request shows.
pub const MAX_ROUNDS: u32 = 3;

/// The fields of a delivery request: (name, title, required).
pub const FIELDS: [(&str, &str, bool); 9] = [
    ("name", "Recipient's name", true),
    ("address", "Street address", true),
    ("town", "Town or city", false),
    ("postcode", "Postcode", true),
    ("date", "Delivery date", true),
    ("time_window", "Time window", false),
    ("phone", "Phone number", true),
    ("email", "E-mail", false),
    ("instructions", "Delivery instructions", false),
];

/// A delivery request: every field optional, so that code checks them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct DeliveryRequest {
    /// The recipient's name (required).
    pub name: Option<String>,
    /// The street address: number and street, flat or building (required).
    pub address: Option<String>,
    /// The town or city.
    pub town: Option<String>,
    /// The UK postcode, like SW1A 1AA (required).
    pub postcode: Option<String>,
    /// The delivery date: YYYY-MM-DD, DD/MM/YYYY, tomorrow or "in N days"; after today,
    /// within a year (required).
    pub date: Option<String>,
    /// When: HH:MM-HH:MM between 08:00 and 20:00, morning, afternoon, evening or any.
    pub time_window: Option<String>,
    /// A UK phone number for the driver (required).
    pub phone: Option<String>,
    /// An e-mail address for the confirmation.
    pub email: Option<String>,
    /// Instructions for the driver (at most 500 characters).
    pub instructions: Option<String>,
}

impl DeliveryRequest {
    /// The field called `name`.
    pub fn field_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "name" => &mut self.name,
            "address" => &mut self.address,
            "town" => &mut self.town,
            "postcode" => &mut self.postcode,
            "date" => &mut self.date,
            "time_window" => &mut self.time_window,
            "phone" => &mut self.phone,
            "email" => &mut self.email,
            "instructions" => &mut self.instructions,
            _ => return None,
        })
    }

    /// The value of the field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "name" => self.name.as_deref(),
            "address" => self.address.as_deref(),
            "town" => self.town.as_deref(),
            "postcode" => self.postcode.as_deref(),
            "date" => self.date.as_deref(),
            "time_window" => self.time_window.as_deref(),
            "phone" => self.phone.as_deref(),
            "email" => self.email.as_deref(),
            "instructions" => self.instructions.as_deref(),
            _ => None,
        }
    }
}

/// The model's verdict on a request whose formats passed.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Whether the request looks real and consistent.
    pub plausible: bool,
    /// The fields that look wrong (empty when plausible).
    #[serde(default)]
    pub fields_at_fault: Vec<String>,
    /// Why, in one sentence.
    #[serde(default)]
    pub reason: String,
}

/// What `submit_request` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Outcome {
    /// `accepted`, `needs_correction` (the client cannot show forms), `declined`,
    /// `cancelled` (the person did so with the form) or `rejected` (still wrong after the
    /// last form).
    pub status: String,
    /// The request as it stands, normalised (postcode in capitals, ISO date, phone digits).
    pub request: DeliveryRequest,
    /// What is still wrong (empty when accepted).
    pub problems: Vec<Problem>,
    /// How many correction forms were shown.
    pub rounds: u32,
    /// Who judged plausibility last: `model:NAME`, or `fallback (WHY)` (accepted on the
    /// code checks alone); none when code found errors before the model was asked.
    pub judged_by: Option<DecidedBy>,
    /// The model's reason, when it judged.
    pub reason: Option<String>,
    /// One sentence for the person.
    pub message: String,
}

/// Where "today" comes from (tests set it).
#[derive(Clone)]
struct Intake {
    clock: Arc<dyn Clock>,
}

/// The model's judgment of a request: its problems (none when plausible), who judged, and
/// its reason. The fallback (an unusable verdict, a client that cannot sample) finds none.
async fn judge(
    ctx: &Ctx,
    r: &DeliveryRequest,
) -> Result<(Vec<Problem>, DecidedBy, Option<String>), ToolError> {
    let given: Vec<&str> = FIELDS
        .iter()
        .map(|f| f.0)
        .filter(|f| r.field(f).is_some())
        .collect();
    let mut lines = String::new();
    for f in &given {
        let v = r.field(f).unwrap_or_default();
        lines.push_str(&format!("{f}: {v}"));
        if *f == "date" {
            if let Ok(d) = checks::parse_date(v, Date::from_days(0)) {
                lines.push_str(&format!(" ({})", d.weekday()));
            }
        }
        lines.push('\n');
    }
    let req = Sampling::user(format!("Delivery request:\n{lines}"))
        .system(
            "You check delivery requests for a courier in the United Kingdom. Code has already checked the formats (postcode, phone, date in the future). Judge only whether the values are plausible and consistent with each other: a real person's name, a street address that could exist, the town matching the postcode area, instructions that fit the address, date and time window. Name the fields at fault.",
        )
        .max_tokens(120)
        .temperature(0.0)
        .hint("haiku");
    let known = given.clone();
    let verdict = ctx
        .extract_checked::<Verdict, _>(req, move |v: &Verdict| {
            if let Some(f) = v
                .fields_at_fault
                .iter()
                .find(|f| !known.contains(&f.as_str()))
            {
                return Err(format!(
                    "{f:?} is not one of the fields given: {}",
                    known.join(", ")
                ));
            }
            if !v.plausible && v.fields_at_fault.is_empty() {
                return Err("name the fields at fault when the request is not plausible".into());
            }
            Ok(())
        })
        .await;
    let why = match verdict {
        Ok(v) => {
            let by = DecidedBy::Model(v.model);
            let reason = Some(v.value.reason.trim().to_owned()).filter(|r| !r.is_empty());
            if v.value.plausible {
                return Ok((Vec::new(), by, reason));
            }
            let said = reason
                .clone()
                .unwrap_or_else(|| "it does not look right".into());
            let problems = v
                .value
                .fields_at_fault
                .iter()
                .map(|f| Problem {
                    field: f.clone(),
                    problem: format!("the model doubts it: {said}"),
                    found_by: "model".into(),
                })
                .collect();
            return Ok((problems, by, reason));
        }
        Err(ExtractError::Sample(
            e @ (SampleError::Limit(_) | SampleError::Closed | SampleError::Invalid(_)),
        )) => return Err(e.into()),
        Err(ExtractError::Sample(SampleError::NotSupported)) => {
            "the client cannot sample".to_owned()
        }
        Err(e) => e.to_string(),
    };
    Ok((Vec::new(), DecidedBy::Fallback(why), None))
}

/// The form asking for the fields at fault, prefilled with their current values.
fn correction_form(r: &DeliveryRequest, problems: &[Problem], reason: Option<&str>) -> Elicitation {
    let mut message = String::from("Please correct your delivery request:");
    for p in problems {
        message.push_str(&format!("\n- {}: {}", p.field.replace('_', " "), p.problem));
    }
    if let Some(r) = reason.filter(|_| problems.iter().all(|p| p.found_by == "model")) {
        message.push_str(&format!("\n({r})"));
    }
    let mut form = Elicitation::new(message);
    for (name, title, required) in FIELDS {
        let Some(p) = problems.iter().find(|p| p.field == name) else {
            continue;
        };
        let mut prop = PropertySchema::of(PropertyType::String)
            .title(title)
            .description(p.problem.clone());
        if let Some(v) = r.field(name) {
            prop = prop.default_value(v);
        }
        form = form.property(name, prop, required);
    }
    form
}

/// The fields of an accepted form, written into `r` (other fields are left as they are).
fn apply(r: &mut DeliveryRequest, content: &Map<String, Value>, fields: &[String]) {
    for f in fields {
        let Some(slot) = r.field_mut(f) else { continue };
        match content.get(f) {
            Some(Value::String(s)) => *slot = Some(s.clone()),
            Some(Value::Null) | None => {}
            Some(other) => *slot = Some(other.to_string()),
        }
    }
}

/// Where a request stands: its values, the forms shown, the last judgment.
struct Progress {
    request: DeliveryRequest,
    rounds: u32,
    judged_by: Option<DecidedBy>,
    reason: Option<String>,
}

impl Progress {
    fn outcome(&self, status: &str, message: String, problems: Vec<Problem>) -> Json<Outcome> {
        Json(Outcome {
            status: status.into(),
            request: self.request.clone(),
            problems,
            rounds: self.rounds,
            judged_by: self.judged_by.clone(),
            reason: self.reason.clone(),
            message,
        })
    }
}

async fn submit_request(
    Args(given): Args<DeliveryRequest>,
    State(intake): State<Intake>,
    ctx: Ctx,
) -> Result<Json<Outcome>, ToolError> {
    let today = Date::today(intake.clock.as_ref());
    let mut at = Progress {
        request: given,
        rounds: 0,
        judged_by: None,
        reason: None,
    };
    loop {
        let (normalised, mut problems) = check(&at.request, today);
        at.request = normalised;
        (at.judged_by, at.reason) = (None, None);
        if problems.is_empty() {
            let (found, by, why) = judge(&ctx, &at.request).await?;
            problems = found;
            at.judged_by = Some(by);
            at.reason = why;
        }
        if problems.is_empty() {
            let message = match &at.judged_by {
                Some(DecidedBy::Fallback(_)) => {
                    "The request is accepted on the format checks; its plausibility was not judged."
                }
                _ => "The request is accepted.",
            };
            return Ok(at.outcome("accepted", message.into(), problems));
        }
        let fields: Vec<String> = problems.iter().map(|p| p.field.clone()).collect();
        let listed = fields.join(", ").replace('_', " ");
        if at.rounds >= MAX_ROUNDS {
            let m = format!("The request is still wrong after {MAX_ROUNDS} corrections ({listed}); it was not accepted.");
            return Ok(at.outcome("rejected", m, problems));
        }
        if !ctx.can_elicit() {
            let m = format!("Please correct {listed} and submit the request again.");
            return Ok(at.outcome("needs_correction", m, problems));
        }
        let form = correction_form(&at.request, &problems, at.reason.as_deref());
        let reply = ctx.elicit(form).await?;
        at.rounds += 1;
        match reply.action {
            ElicitAction::Accept => {
                apply(&mut at.request, &reply.content.unwrap_or_default(), &fields);
            }
            ElicitAction::Decline => {
                let m = format!("You declined to correct {listed}; the request was not accepted.");
                return Ok(at.outcome("declined", m, problems));
            }
            ElicitAction::Cancel => {
                let m = format!(
                    "The correction of {listed} was cancelled; the request was not accepted."
                );
                return Ok(at.outcome("cancelled", m, problems));
            }
        }
    }
}

/// The `intake` server, taking today's date from `clock` (UTC).
pub fn server_with_clock(clock: Arc<dyn Clock>) -> Server {
    let fields: Vec<String> = FIELDS
        .iter()
        .map(|(n, _, req)| format!("{n}{}", if *req { " (required)" } else { "" }))
        .collect();
    Server::builder("intake")
        .instructions(format!(
            "Takes delivery requests for a courier in the United Kingdom and validates them: code checks the formats, the client's model judges plausibility, and a form asks the person to correct what is wrong. Fields: {}.",
            fields.join(", ")
        ))
        .state(Intake { clock })
        .tool(
            "submit_request",
            "Submit a delivery request (name, address, town, postcode, date, time_window, phone, email, instructions; all free text). Code checks required fields and formats, the model judges plausibility, and the person is asked to correct the fields at fault (at most 3 forms). Returns the status (accepted, needs_correction, declined, cancelled, rejected), the normalised request and any remaining problems.",
            submit_request,
        )
        .build()
}

/// The `intake` server, with the system clock.
pub fn server() -> Server {
    server_with_clock(Arc::new(SystemClock))
}
