//! The questions waiting for a person: each has a view (JSON for the page) and the channel
//! its answer goes back on; changes are broadcast to every open page.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, oneshot};

/// What a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A sampling request, before the model runs.
    Request,
    /// The model's reply, before it goes to the server.
    Reply,
    /// A server's form (elicitation).
    Form,
}

/// A person's answer, as the page posts it (`{"action": "approve"}`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum Answer {
    /// Approve the request as it is.
    Approve,
    /// Approve the request with this prompt (the last user message), and this system prompt
    /// when given; or, for a reply, send this text instead.
    Edit {
        /// The new text.
        text: String,
        /// The new system prompt (requests only).
        #[serde(default)]
        system: Option<String>,
    },
    /// Refuse.
    Reject {
        /// Why (shown to the server).
        #[serde(default)]
        reason: Option<String>,
    },
    /// Approve, and do not ask again for this server in this session.
    Trust,
    /// Send the reply as it is.
    Send,
    /// Send the form with these values.
    Accept {
        /// The values, by field.
        content: serde_json::Map<String, Value>,
    },
    /// Refuse to fill in the form.
    Decline,
    /// Dismiss the form.
    Cancel,
}

impl Answer {
    fn fits(&self, kind: Kind) -> bool {
        match self {
            Answer::Approve | Answer::Trust => kind == Kind::Request,
            Answer::Send => kind == Kind::Reply,
            Answer::Edit { system, .. } => {
                kind == Kind::Request || (kind == Kind::Reply && system.is_none())
            }
            Answer::Reject { .. } => kind != Kind::Form,
            Answer::Accept { .. } | Answer::Decline | Answer::Cancel => kind == Kind::Form,
        }
    }
}

/// A change for the open pages.
#[derive(Debug, Clone)]
pub(crate) enum Update {
    /// A new question (its view, with its `id`).
    Added(Arc<Value>),
    /// A question went away, and why: "answered", "answered in the terminal", "cancelled".
    Gone {
        /// Its id.
        id: u64,
        /// Why.
        why: String,
    },
}

/// Why an answer was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No such question (never asked, or already gone).
    Unknown,
    /// The action does not fit the question (send for a request, ...).
    WrongAction,
}

struct Waiting {
    kind: Kind,
    view: Arc<Value>,
    tx: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    items: BTreeMap<u64, Waiting>,
}

/// The questions and their watchers.
pub(crate) struct Hub {
    inner: Mutex<Inner>,
    updates: broadcast::Sender<Update>,
}

impl Hub {
    pub(crate) fn new() -> Hub {
        Hub {
            inner: Mutex::new(Inner::default()),
            updates: broadcast::channel(256).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks a question: `view` (a JSON object) gets its `id` and `kind` and goes to every
    /// page. Dropping the [`Ticket`] before the answer withdraws it.
    pub(crate) fn ask(
        self: &Arc<Self>,
        kind: Kind,
        mut view: Value,
    ) -> (Ticket, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        inner.next += 1;
        let id = inner.next;
        if let Value::Object(m) = &mut view {
            m.insert("id".into(), id.into());
            let k = match kind {
                Kind::Request => "request",
                Kind::Reply => "reply",
                Kind::Form => "form",
            };
            m.insert("kind".into(), k.into());
        }
        let view = Arc::new(view);
        inner.items.insert(
            id,
            Waiting {
                kind,
                view: view.clone(),
                tx,
            },
        );
        let _ = self.updates.send(Update::Added(view));
        let ticket = Ticket {
            hub: self.clone(),
            id,
            why: None,
        };
        (ticket, rx)
    }

    /// Takes a person's answer to question `id`.
    pub(crate) fn answer(&self, id: u64, answer: Answer) -> Result<(), Refusal> {
        let mut inner = self.lock();
        let kind = inner
            .items
            .get(&id)
            .map(|w| w.kind)
            .ok_or(Refusal::Unknown)?;
        if !answer.fits(kind) {
            return Err(Refusal::WrongAction);
        }
        let waiting = inner.items.remove(&id).ok_or(Refusal::Unknown)?;
        let _ = self.updates.send(Update::Gone {
            id,
            why: "answered".into(),
        });
        // The waiter may have gone at this very moment: then nobody hears the answer,
        // which is what cancelling means.
        waiting.tx.send(answer).map_err(|_| Refusal::Unknown)
    }

    /// The questions now waiting (oldest first) and the updates after them.
    pub(crate) fn watch(&self) -> (Vec<Arc<Value>>, broadcast::Receiver<Update>) {
        let inner = self.lock();
        let rx = self.updates.subscribe();
        (inner.items.values().map(|w| w.view.clone()).collect(), rx)
    }

    /// Every waiting question is dropped (their askers hear "closed").
    pub(crate) fn close_all(&self) {
        let mut inner = self.lock();
        for id in std::mem::take(&mut inner.items).into_keys() {
            let _ = self.updates.send(Update::Gone {
                id,
                why: "the console closed".into(),
            });
        }
    }

    /// Withdraws the question whose view has this `ref` (a remote asker's name for it).
    pub(crate) fn withdraw_ref(&self, reference: &str, why: String) {
        let id = self
            .lock()
            .items
            .iter()
            .find(|(_, w)| w.view.get("ref").and_then(Value::as_str) == Some(reference))
            .map(|(id, _)| *id);
        if let Some(id) = id {
            self.withdraw(id, why);
        }
    }

    fn withdraw(&self, id: u64, why: String) {
        let mut inner = self.lock();
        if inner.items.remove(&id).is_some() {
            let _ = self.updates.send(Update::Gone { id, why });
        }
    }
}

/// A question's place on the page: dropped unanswered, it leaves the page saying why.
pub(crate) struct Ticket {
    hub: Arc<Hub>,
    id: u64,
    why: Option<Box<dyn FnOnce() -> String + Send>>,
}

impl Ticket {
    /// Where the reason comes from when the question is withdrawn (default "cancelled").
    pub(crate) fn why(mut self, f: impl FnOnce() -> String + Send + 'static) -> Ticket {
        self.why = Some(Box::new(f));
        self
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let why = self.why.take().map_or_else(|| "cancelled".into(), |f| f());
        self.hub.withdraw(self.id, why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn added_id(u: Update) -> u64 {
        match u {
            Update::Added(v) => v["id"].as_u64().unwrap_or(0),
            Update::Gone { .. } => 0,
        }
    }

    #[tokio::test]
    async fn an_answer_reaches_the_asker_once_and_leaves_the_page() {
        let hub = Arc::new(Hub::new());
        let (_, mut updates) = hub.watch();
        let (_ticket, rx) = hub.ask(Kind::Request, json!({"server": "s"}));
        let id = added_id(updates.recv().await.unwrap());
        assert_eq!(hub.answer(id, Answer::Send), Err(Refusal::WrongAction));
        assert_eq!(hub.answer(id, Answer::Approve), Ok(()));
        assert_eq!(hub.answer(id, Answer::Approve), Err(Refusal::Unknown));
        assert_eq!(rx.await.unwrap(), Answer::Approve);
        assert!(
            matches!(updates.recv().await.unwrap(), Update::Gone { why, .. } if why == "answered")
        );
        assert!(hub.watch().0.is_empty());
    }

    #[tokio::test]
    async fn a_dropped_ticket_withdraws_the_question_with_its_reason() {
        let hub = Arc::new(Hub::new());
        let (ticket, _rx) = hub.ask(Kind::Reply, json!({}));
        let (now, mut updates) = hub.watch();
        assert_eq!(now.len(), 1);
        drop(ticket.why(|| "answered in the terminal".into()));
        match updates.recv().await.unwrap() {
            Update::Gone { id, why } => {
                assert_eq!((id, why.as_str()), (1, "answered in the terminal"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(hub.answer(1, Answer::Send), Err(Refusal::Unknown));
    }

    #[test]
    fn answers_parse_from_the_page_s_json() {
        let a: Answer = serde_json::from_str(r#"{"action":"edit","text":"t"}"#).unwrap();
        assert_eq!(
            a,
            Answer::Edit {
                text: "t".into(),
                system: None
            }
        );
        assert!(serde_json::from_str::<Answer>(r#"{"action":"launch"}"#).is_err());
    }
}
