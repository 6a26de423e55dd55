//! `subscriptions/listen` (2026-07-28): a long-lived request on which the server sends the
//! notifications the client opts in to, each tagged with the subscription's id (the id of
//! the listen request) in `_meta`; the first is `notifications/subscriptions/acknowledged`,
//! naming what the server agreed to send. The stream ends with an empty result when the
//! server ends the subscription.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `_meta` key naming the subscription a notification belongs to.
pub const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The notifications a client opts in to (or, acknowledged, those the server will send).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionFilter {
    /// The tasks whose status changes to send as `notifications/tasks` (tasks extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_ids: Option<Vec<String>>,
    /// The other kinds (`toolsListChanged`, `resourceSubscriptions`, ...), as they came.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Params of `subscriptions/listen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenParams {
    /// What the client opts in to.
    pub notifications: SubscriptionFilter,
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Params of `notifications/subscriptions/acknowledged`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcknowledgedParams {
    /// What the server agreed to send.
    pub notifications: SubscriptionFilter,
    /// Carries the subscription's id.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Puts the subscription id `id` (the listen request's id, as JSON) into `params._meta`.
pub fn tag(params: &mut Value, id: Value) {
    if let Some(obj) = params.as_object_mut() {
        let meta = obj
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = meta.as_object_mut() {
            m.insert(META_SUBSCRIPTION_ID.into(), id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filter_keeps_what_it_does_not_know_and_tags() {
        let p: ListenParams = serde_json::from_value(json!({
            "notifications": {"taskIds": ["a"], "toolsListChanged": true}, "_meta": {}
        }))
        .unwrap();
        assert_eq!(p.notifications.task_ids, Some(vec!["a".to_owned()]));
        assert_eq!(p.notifications.other["toolsListChanged"], true);
        assert!(serde_json::from_value::<ListenParams>(json!({"_meta": {}})).is_err());
        let mut v = json!({"taskId": "a"});
        tag(&mut v, json!(7));
        assert_eq!(v["_meta"][META_SUBSCRIPTION_ID], 7);
    }
}
