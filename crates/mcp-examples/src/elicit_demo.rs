//! `elicit-demo`: tools that ask the user (elicitation, form mode) and read the client's
//! roots, on both eras.

use mcp_proto::elicitation::{ElicitAction, PropertySchema, PropertyType, StringFormat};
use mcp_server::{Args, Ctx, Elicitation, Json, Server, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, JsonSchema)]
struct BookTable {
    /// The restaurant.
    restaurant: String,
}

fn booking_form(restaurant: &str) -> Elicitation {
    let text = || PropertySchema::of(PropertyType::String);
    Elicitation::new(format!("Book a table at {restaurant}"))
        .property("name", text().title("Name").length(Some(1), Some(60)), true)
        .property(
            "date",
            text().title("Date").format(StringFormat::Date),
            true,
        )
        .property(
            "guests",
            PropertySchema::of(PropertyType::Integer)
                .title("Guests")
                .range(Some(1.0), Some(12.0))
                .default_value(2),
            true,
        )
        .property(
            "seating",
            PropertySchema::one_of_values(["indoor", "terrace"])
                .title("Seating")
                .default_value("indoor"),
            false,
        )
        .property(
            "email",
            text()
                .title("E-mail for the confirmation")
                .format(StringFormat::Email),
            false,
        )
}

async fn book_table(
    Args(a): Args<BookTable>,
    ctx: Ctx,
) -> Result<Json<serde_json::Value>, ToolError> {
    let reply = ctx.elicit(booking_form(&a.restaurant)).await?;
    Ok(Json(match reply.action {
        ElicitAction::Accept => json!({"booked": reply.content, "restaurant": a.restaurant}),
        ElicitAction::Decline => json!({"booked": null, "why": "declined"}),
        ElicitAction::Cancel => json!({"booked": null, "why": "cancelled"}),
    }))
}

#[derive(Deserialize, JsonSchema)]
struct Nothing {}

async fn list_roots(
    Args(_): Args<Nothing>,
    ctx: Ctx,
) -> Result<Json<serde_json::Value>, ToolError> {
    Ok(Json(json!({"roots": ctx.list_roots().await?})))
}

/// Builds the server.
pub fn server() -> Server {
    Server::builder("elicit-demo")
        .instructions("Asks the user for a booking (MCP elicitation) and lists the client's roots.")
        .tool(
            "book_table",
            "Book a table: asks the user for name, date, guests, seating",
            book_table,
        )
        .tool(
            "list_roots",
            "The client's roots (directories it shares)",
            list_roots,
        )
        .build()
}
