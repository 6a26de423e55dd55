//! The form of a form-mode elicitation: its schema (`requestedSchema`, the spec's flat subset of
//! JSON Schema: primitive properties, enums, bounds, lengths and the formats `email`, `uri`,
//! `date`, `date-time`), whether a schema is inside that subset, and a reply checked against
//! it (every problem, each naming its field), with the schema's defaults filled in.
//!
//! Both sides use it: the host before it sends a reply, the server when it receives one. The
//! messages that carry a form are in [`crate::elicitation`], which builds on this module.
//! Why this is our own code and not a JSON Schema validator: ARCHITECTURE.md, "Why our own
//! form validator".

mod check;
mod formats;
mod reply;
mod schema;

pub use check::SchemaError;
pub use formats::format_ok;
pub use reply::{check_value, FieldError, InvalidContent};
pub use schema::{
    Choices, EnumItems, EnumOption, ObjectType, PropertySchema, PropertyType, RequestedSchema,
    StringFormat,
};

#[cfg(test)]
mod tests;
