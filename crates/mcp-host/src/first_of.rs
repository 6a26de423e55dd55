//! Two reviewers asked at once (a terminal and a web console): the first answer wins, the
//! other's question is dropped and it is told where the answer came from.

use crate::approval::{ReplyDecision, RequestDecision, Reviewer, Withdrawal};
use mcp_proto::handler::SamplingRequest;
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::BoxFuture;
use std::sync::Arc;

/// Asks both reviewers; whichever answers first decides, and the other is withdrawn with
/// "answered in ..." (its place).
pub struct FirstOf {
    a: Arc<dyn Reviewer>,
    b: Arc<dyn Reviewer>,
}

impl FirstOf {
    /// Both reviewers, asked at the same time for every question.
    pub fn new(a: Arc<dyn Reviewer>, b: Arc<dyn Reviewer>) -> FirstOf {
        FirstOf { a, b }
    }
}

/// Races two questions; the loser's withdrawal names the winner's place before the loser's
/// future is dropped.
async fn race<T: Send>(
    (mut fa, wa, pa): (BoxFuture<T>, Withdrawal, &'static str),
    (mut fb, wb, pb): (BoxFuture<T>, Withdrawal, &'static str),
) -> T {
    // Polled by reference: the loser is dropped at the end, after its withdrawal is set.
    tokio::select! {
        d = &mut fa => {
            wb.answered_in(pa);
            d
        }
        d = &mut fb => {
            wa.answered_in(pb);
            d
        }
    }
}

impl Reviewer for FirstOf {
    fn review_request_in(
        &self,
        req: &SamplingRequest,
        model: &str,
        outer: Withdrawal,
    ) -> BoxFuture<RequestDecision> {
        let (wa, wb) = (Withdrawal::within(&outer), Withdrawal::within(&outer));
        let fa = self.a.review_request_in(req, model, wa.clone());
        let fb = self.b.review_request_in(req, model, wb.clone());
        let (pa, pb) = (self.a.place(), self.b.place());
        Box::pin(race((fa, wa, pa), (fb, wb, pb)))
    }

    fn review_reply_in(
        &self,
        req: &SamplingRequest,
        reply: &CreateMessageResult,
        outer: Withdrawal,
    ) -> BoxFuture<ReplyDecision> {
        let (wa, wb) = (Withdrawal::within(&outer), Withdrawal::within(&outer));
        let fa = self.a.review_reply_in(req, reply, wa.clone());
        let fb = self.b.review_reply_in(req, reply, wb.clone());
        let (pa, pb) = (self.a.place(), self.b.place());
        Box::pin(race((fa, wa, pa), (fb, wb, pb)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_proto::sampling::CreateMessageParams;
    use mcp_proto::{Era, SamplingMessage};
    use std::sync::Mutex;
    use tokio::sync::oneshot;

    /// Answers when its gate opens; records why it was withdrawn.
    struct Gated {
        place: &'static str,
        gate: Mutex<Option<oneshot::Receiver<RequestDecision>>>,
        told: Arc<Mutex<Option<String>>>,
    }

    struct Notice(Withdrawal, Arc<Mutex<Option<String>>>);
    impl Drop for Notice {
        fn drop(&mut self) {
            *self.1.lock().unwrap() = Some(self.0.reason());
        }
    }

    impl Reviewer for Gated {
        fn review_reply_in(
            &self,
            _r: &SamplingRequest,
            _c: &CreateMessageResult,
            _w: Withdrawal,
        ) -> BoxFuture<ReplyDecision> {
            Box::pin(async { ReplyDecision::Send })
        }
        fn place(&self) -> &'static str {
            self.place
        }
        fn review_request_in(
            &self,
            _r: &SamplingRequest,
            _m: &str,
            w: Withdrawal,
        ) -> BoxFuture<RequestDecision> {
            let gate = self.gate.lock().unwrap().take();
            let notice = Notice(w, self.told.clone());
            Box::pin(async move {
                let d = match gate {
                    Some(g) => g.await.unwrap_or(RequestDecision::Reject("closed".into())),
                    None => std::future::pending().await,
                };
                std::mem::forget(notice);
                d
            })
        }
    }

    fn gated(place: &'static str) -> (Arc<Gated>, oneshot::Sender<RequestDecision>) {
        let (tx, rx) = oneshot::channel();
        let g = Gated {
            place,
            gate: Mutex::new(Some(rx)),
            told: Arc::default(),
        };
        (Arc::new(g), tx)
    }

    fn req() -> SamplingRequest {
        SamplingRequest {
            params: CreateMessageParams::new(vec![SamplingMessage::user("hi")], 10),
            server: "s".into(),
            claims: None,
            era: Era::Legacy,
            protocol_version: "2025-11-25".into(),
            tool_call: None,
        }
    }

    #[tokio::test]
    async fn the_first_answer_wins_and_the_other_is_told_where() {
        let (term, term_tx) = gated("the terminal");
        let (web, _web_tx) = gated("the console");
        let both = FirstOf::new(term.clone(), web.clone());
        let asked = both.review_request(&req(), "m");
        term_tx.send(RequestDecision::TrustServer).unwrap();
        assert_eq!(asked.await, RequestDecision::TrustServer);
        assert_eq!(
            web.told.lock().unwrap().as_deref(),
            Some("answered in the terminal")
        );
        assert_eq!(term.told.lock().unwrap().as_deref(), None);
    }

    #[tokio::test]
    async fn a_dropped_question_is_cancelled_for_both() {
        let (term, _t) = gated("the terminal");
        let (web, _w) = gated("the console");
        let both = FirstOf::new(term.clone(), web.clone());
        let mut asked = both.review_request(&req(), "m");
        assert!(futures_poll_once(&mut asked).await.is_none());
        drop(asked);
        assert_eq!(term.told.lock().unwrap().as_deref(), Some("cancelled"));
        assert_eq!(web.told.lock().unwrap().as_deref(), Some("cancelled"));
    }

    #[tokio::test]
    async fn a_pair_inside_another_pair_hears_the_outer_reason() {
        let (term, _t) = gated("the terminal");
        let (web, _w) = gated("the console");
        let (remote, remote_tx) = gated("the other console");
        let inner: Arc<dyn Reviewer> = Arc::new(FirstOf::new(term.clone(), web.clone()));
        let outer = FirstOf::new(inner, remote);
        let asked = outer.review_request(&req(), "m");
        remote_tx.send(RequestDecision::Approve(None)).unwrap();
        assert_eq!(asked.await, RequestDecision::Approve(None));
        let told = |g: &Gated| g.told.lock().unwrap().clone();
        assert_eq!(
            told(&term).as_deref(),
            Some("answered in the other console")
        );
        assert_eq!(told(&web).as_deref(), Some("answered in the other console"));
    }

    /// Polls once: `Some` when ready.
    async fn futures_poll_once<T>(f: &mut BoxFuture<T>) -> Option<T> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match f.as_mut().poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
