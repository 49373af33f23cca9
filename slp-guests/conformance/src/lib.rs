//! The conformance SLP of spec §16, loaded under the name `default`.
//!
//! General rules (§16.2):
//!
//! * The case is chosen by the exact `Request-URI` of message #0; any other
//!   string selects the unknown case.
//! * Messages delivered through `on-message` are numbered #0, #1, … per
//!   instance. TERM and timer firings are not numbered; TERM is ignored.
//! * A message that does not match the expectation for its number, or that
//!   arrives when the case expects nothing more, is unexpected: the instance
//!   logs what it expected and what it got at `error`, then aborts (a trap).
//! * Every send is checked: ✓ must succeed ([`Run::ok`]), ✗`code` must fail
//!   with exactly that code ([`Run::fails`]). Any other outcome traps too.
//! * `F0` is the `From` of #0, `D` a DialogueID from `new-dialogue-id`.
//! * The on-load instance logs `conformance SLP loaded` at `info` and returns.
//!
//! Each case of §16.3 is one method below, with one match arm per message
//! number, in the order of the spec's table.

use slp_sdk::build::{cancel, request, response, update};
use slp_sdk::{
    Context, Delivery, HelperError, InitKind, LogLevel, Message, Method, Origin, SendErrorCode, Sent, Slp,
};

// The methods under their wire names, so the tables read like §16.3.
use Method::{
    Ack as ACK, Bye as BYE, Cancel as CANCEL, Invite as INVITE, Message as MESSAGE, Prack as PRACK,
    Update as UPDATE,
};

/// The BYE timer of `Send_INVITE`: 30 s after the ACK.
const BYE_DELAY_MS: u32 = 30_000;
/// The tag of that timer.
const BYE_TIMER_TAG: u64 = 1;

/// The cases of §16.3, selected by the exact Request-URI of #0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Case {
    Unknown,
    RecvMessage,
    RecvInvite,
    RecvInviteTimeout,
    RecvMessageTimeout,
    RecvInviteSessionTimeout,
    RecvCancel,
    SendErrorMsg,
    SendBye481,
    SendAckNoSession,
    SendCancelNoSession,
    SendRespNoSession,
    SendUpdateNoSession,
    SendMessage,
    SendMessageTimeout,
    SendInvite,
    SendInviteTimeout,
    SendInviteSessionTimeout,
    SendCancel,
}

impl Case {
    const ALL: [(&'static str, Case); 18] = [
        ("Recv_MESSAGE", Case::RecvMessage),
        ("Recv_INVITE", Case::RecvInvite),
        ("Recv_INVITE_Timeout", Case::RecvInviteTimeout),
        ("Recv_MESSAGE_Timeout", Case::RecvMessageTimeout),
        ("Recv_INVITE_Session_Timeout", Case::RecvInviteSessionTimeout),
        ("Recv_CANCEL", Case::RecvCancel),
        ("Send_Error_Msg", Case::SendErrorMsg),
        ("Send_BYE_481", Case::SendBye481),
        ("Send_ACK_No_Session", Case::SendAckNoSession),
        ("Send_CANCEL_No_Session", Case::SendCancelNoSession),
        ("Send_Resp_No_Session", Case::SendRespNoSession),
        ("Send_UPDATE_No_Session", Case::SendUpdateNoSession),
        ("Send_MESSAGE", Case::SendMessage),
        ("Send_MESSAGE_Timeout", Case::SendMessageTimeout),
        ("Send_INVITE", Case::SendInvite),
        ("Send_INVITE_Timeout", Case::SendInviteTimeout),
        ("Send_INVITE_Session_Timeout", Case::SendInviteSessionTimeout),
        ("Send_CANCEL", Case::SendCancel),
    ];

    /// Exact, case-sensitive match; anything else (or no Request-URI) is the unknown case.
    fn select(request_uri: Option<&str>) -> Case {
        Case::ALL.iter().find(|(uri, _)| Some(*uri) == request_uri).map_or(Case::Unknown, |&(_, c)| c)
    }

    fn name(self) -> &'static str {
        Case::ALL.iter().find(|(_, c)| *c == self).map_or("unknown case", |&(uri, _)| uri)
    }
}

/// What a delivered message must be ("Expect X", §16.2).
#[derive(Debug, Clone, Copy)]
struct Expect {
    what: What,
    /// Checked only where §16.3 states the origin.
    origin: Option<Origin>,
}

#[derive(Debug, Clone, Copy)]
enum What {
    AnyRequest,
    Request(Method),
    Response(Method, u16),
}

fn any_request() -> Expect {
    Expect { what: What::AnyRequest, origin: None }
}

fn req(method: Method) -> Expect {
    Expect { what: What::Request(method), origin: None }
}

fn resp(method: Method, code: u16) -> Expect {
    Expect { what: What::Response(method, code), origin: None }
}

impl Expect {
    fn origin_stack(self) -> Expect {
        Expect { origin: Some(Origin::Stack), ..self }
    }

    fn origin_peer(self) -> Expect {
        Expect { origin: Some(Origin::Peer), ..self }
    }

    fn matches(self, d: &Delivery) -> bool {
        let what = match self.what {
            What::AnyRequest => d.is_request(),
            What::Request(m) => d.is_request_of(m),
            What::Response(m, code) => d.is_response_to(m, code),
        };
        what && self.origin.is_none_or(|o| o == d.origin)
    }

    fn describe(self) -> String {
        let what = match self.what {
            What::AnyRequest => "any request".to_owned(),
            What::Request(m) => format!("{m} request"),
            What::Response(m, code) => format!("{m}_{code}"),
        };
        match self.origin {
            Some(o) => format!("{what} (origin {})", o.as_str()),
            None => what,
        }
    }
}

/// A per-session instance: the case and what it has remembered so far.
struct Run {
    case: Case,
    /// Number of the message being handled.
    n: usize,
    /// `From` of #0.
    f0: String,
    /// `D`, from `new-dialogue-id`.
    d: String,
    /// `INV`: the INVITE received (Recv_INVITE) or sent (Send_INVITE, Send_CANCEL).
    inv: Option<Message>,
    /// The pending BYE timer of Send_INVITE.
    timer: Option<u64>,
}

enum Conformance {
    OnLoad,
    Session(Box<Run>),
}

impl Slp for Conformance {
    fn init(kind: InitKind, _ctx: &Context) -> Self {
        match kind {
            InitKind::OnLoad => {
                slp_sdk::log(LogLevel::Info, "conformance SLP loaded");
                Conformance::OnLoad
            }
            InitKind::Session => Conformance::Session(Box::new(Run {
                case: Case::Unknown,
                n: 0,
                f0: String::new(),
                d: String::new(),
                inv: None,
                timer: None,
            })),
        }
    }

    fn on_message(&mut self, d: Delivery) {
        let Conformance::Session(run) = self else {
            slp_sdk::trap(&format!("conformance: on-load instance got {}", d.name()))
        };
        run.on_message(&d);
    }

    // TERM is ignored (and not numbered): the default `on_term`.

    fn on_timer(&mut self, id: u64, tag: u64) {
        match self {
            Conformance::Session(run) if run.timer == Some(id) && tag == BYE_TIMER_TAG => run.bye_timer(),
            _ => slp_sdk::trap(&format!("conformance: unexpected timer {id} (tag {tag})")),
        }
    }
}

impl Run {
    fn on_message(&mut self, d: &Delivery) {
        if self.n == 0 {
            self.case = Case::select(d.message.request_uri.as_deref());
            self.f0 = d.message.from.clone();
        }
        let n = self.n;
        slp_sdk::debug!(
            "conformance: {} #{n}: {} (origin {})",
            self.case.name(),
            d.name(),
            d.origin.as_str()
        );
        match self.case {
            Case::Unknown => self.unknown(n, d),
            Case::RecvMessage => self.recv_message(n, d),
            Case::RecvInvite => self.recv_invite(n, d),
            Case::RecvInviteTimeout => self.recv_invite_timeout(n, d),
            Case::RecvMessageTimeout => self.recv_message_timeout(n, d),
            Case::RecvInviteSessionTimeout => self.recv_invite_session_timeout(n, d),
            Case::RecvCancel => self.recv_cancel(n, d),
            Case::SendErrorMsg => self.send_error_msg(n, d),
            Case::SendBye481 => self.send_bye_481(n, d),
            Case::SendAckNoSession => self.send_ack_no_session(n, d),
            Case::SendCancelNoSession => self.send_cancel_no_session(n, d),
            Case::SendRespNoSession => self.send_resp_no_session(n, d),
            Case::SendUpdateNoSession => self.send_update_no_session(n, d),
            Case::SendMessage => self.send_message(n, d),
            Case::SendMessageTimeout => self.send_message_timeout(n, d),
            Case::SendInvite => self.send_invite(n, d),
            Case::SendInviteTimeout => self.send_invite_timeout(n, d),
            Case::SendInviteSessionTimeout => self.send_invite_session_timeout(n, d),
            Case::SendCancel => self.send_cancel(n, d),
        }
        self.n += 1;
    }

    // ---------------------------------------------------------------- cases

    /// Unknown case (any other Request-URI).
    fn unknown(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 404)", response(&d.message, 404));
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Recv_MESSAGE`.
    fn recv_message(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Recv_INVITE` (full UAS flow).
    fn recv_invite(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, req(INVITE));
                self.inv = Some(d.message.clone());
                self.ok("response(INV, 180)", response(self.inv(), 180));
            }
            1 => {
                self.expect(d, req(PRACK));
                self.ok("response(#1, 200)", response(&d.message, 200));
                self.ok("update(INV)", update(self.inv()));
            }
            2 => {
                self.expect(d, resp(UPDATE, 200));
                self.ok("response(INV, 200)", response(self.inv(), 200));
            }
            3 => self.expect(d, req(ACK)),
            4 => {
                self.expect(d, req(INVITE));
                self.ok("response(#4, 200)", response(&d.message, 200));
            }
            5 => {
                self.expect(d, req(BYE));
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Recv_INVITE_Timeout`.
    fn recv_invite_timeout(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => self.expect(d, req(INVITE)), // no answer
            1 => {
                self.expect(d, req(CANCEL).origin_stack());
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Recv_MESSAGE_Timeout`.
    fn recv_message_timeout(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, req(MESSAGE));
                slp_sdk::finish(); // without answering
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Recv_INVITE_Session_Timeout`.
    fn recv_invite_session_timeout(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, req(INVITE));
                self.ok("response(#0, 180)", response(&d.message, 180));
                self.ok("response(#0, 200)", response(&d.message, 200));
            }
            1 => self.expect(d, req(ACK)),
            2 => {
                self.expect(d, req(BYE).origin_stack());
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Recv_CANCEL`.
    fn recv_cancel(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => self.expect(d, req(INVITE)), // none
            1 => {
                self.expect(d, req(CANCEL).origin_peer());
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_Error_Msg`.
    fn send_error_msg(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let m = request(INVITE, "", "SendErrorMsg", "", &self.d);
                self.fails(
                    "request(INVITE, \"\", \"SendErrorMsg\", \"\", D)",
                    Ok(m),
                    SendErrorCode::InvalidMessage,
                );
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_BYE_481`.
    fn send_bye_481(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let m = request(BYE, &self.f0, "SendBYE481", &self.f0, &self.d);
                self.fails("request(BYE, F0, \"SendBYE481\", F0, D)", Ok(m), SendErrorCode::NoDialogue);
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_ACK_No_Session`.
    fn send_ack_no_session(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let m = request(ACK, &self.f0, "SendACKNoSession", &self.f0, &self.d);
                self.fails("request(ACK, F0, \"SendACKNoSession\", F0, D)", Ok(m), SendErrorCode::NoDialogue);
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_CANCEL_No_Session`.
    fn send_cancel_no_session(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let m = request(CANCEL, &self.f0, "SendCANCELNoSession", &self.f0, &self.d);
                self.fails(
                    "request(CANCEL, F0, \"SendCANCELNoSession\", F0, D)",
                    Ok(m),
                    SendErrorCode::NoDialogue,
                );
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_Resp_No_Session`.
    fn send_resp_no_session(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let again = response(&d.message, 200).map(|mut r| {
                    r.dialogue_id = self.d.as_str().into();
                    r
                });
                self.fails("response(#0, 200) with DialogueID D", again, SendErrorCode::NoTransaction);
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_UPDATE_No_Session`.
    fn send_update_no_session(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let m = request(UPDATE, &self.f0, "SendUPDATENoSession", &self.f0, &self.d);
                self.ok("request(UPDATE, F0, \"SendUPDATENoSession\", F0, D)", Ok(m));
            }
            1 => {
                self.expect(d, resp(UPDATE, 481).origin_stack());
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_MESSAGE`.
    fn send_message(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let m = request(MESSAGE, &self.f0, "SendMessage", &self.f0, &self.d);
                self.ok("request(MESSAGE, F0, \"SendMessage\", F0, D)", Ok(m));
            }
            1 => {
                self.expect(d, resp(MESSAGE, 200));
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_MESSAGE_Timeout`.
    fn send_message_timeout(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let m = request(MESSAGE, &self.f0, "SendMESSAGETimeout", &self.f0, &self.d);
                self.ok("request(MESSAGE, F0, \"SendMESSAGETimeout\", F0, D)", Ok(m));
            }
            1 => {
                self.expect(d, resp(MESSAGE, 408).origin_stack());
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_INVITE` (full UAC flow).
    fn send_invite(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let mut inv = request(INVITE, &self.f0, "SendINVITE", &self.f0, &self.d);
                inv.expire = Some(60);
                self.inv = Some(inv.clone());
                self.ok("INV = request(INVITE, F0, \"SendINVITE\", F0, D) with Expire 60", Ok(inv));
            }
            1 => {
                self.expect(d, resp(INVITE, 180));
                let m = request(PRACK, "PRACK", "SendINVITE", "PRACK", &self.d);
                self.ok("request(PRACK, \"PRACK\", \"SendINVITE\", \"PRACK\", D)", Ok(m));
            }
            2 => self.expect(d, resp(PRACK, 200)),
            3 => {
                self.expect(d, req(UPDATE));
                self.ok("response(#3, 200)", response(&d.message, 200));
            }
            4 => self.expect(d, resp(INVITE, 200)), // deliberately no ACK
            5 => {
                self.expect(d, req(INVITE));
                self.ok("response(#5, 200)", response(&d.message, 200));
            }
            6 => {
                self.expect(d, req(ACK));
                match slp_sdk::start_timer(BYE_DELAY_MS, BYE_TIMER_TAG) {
                    Ok(id) => self.timer = Some(id),
                    Err(e) => self.fail(&format!("start-timer({BYE_DELAY_MS}) failed: {e}")),
                }
            }
            // Any message while the timer is pending is unexpected.
            _ => self.unexpected(d, "nothing while the BYE timer is pending"),
        }
    }

    /// `Send_INVITE`, the timer row: the BYE 30 s after the ACK.
    fn bye_timer(&mut self) {
        self.timer = None;
        let m = request(BYE, "BYE", "SendINVITE", "BYE", &self.d);
        self.ok("request(BYE, \"BYE\", \"SendINVITE\", \"BYE\", D)", Ok(m));
        slp_sdk::finish();
    }

    /// `Send_INVITE_Timeout`.
    fn send_invite_timeout(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let inv = request(INVITE, &self.f0, "SendINVITETimeout", &self.f0, &self.d); // no Expire
                self.ok("request(INVITE, F0, \"SendINVITETimeout\", F0, D)", Ok(inv));
            }
            1 => self.expect(d, resp(INVITE, 180)),
            2 => {
                self.expect(d, resp(INVITE, 408).origin_stack());
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_INVITE_Session_Timeout`.
    fn send_invite_session_timeout(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let mut inv = request(INVITE, &self.f0, "SendINVITESessionTimeout", &self.f0, &self.d);
                inv.expire = Some(60);
                self.ok("request(INVITE, F0, \"SendINVITESessionTimeout\", F0, D) with Expire 60", Ok(inv));
            }
            1 => self.expect(d, resp(INVITE, 180)),
            2 => {
                self.expect(d, resp(INVITE, 200));
                self.ok("ack(#2)", d.ack());
            }
            3 => {
                self.expect(d, req(BYE).origin_stack());
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    /// `Send_CANCEL`.
    fn send_cancel(&mut self, n: usize, d: &Delivery) {
        match n {
            0 => {
                self.expect(d, any_request());
                self.ok("response(#0, 200)", response(&d.message, 200));
                self.new_d();
                let mut inv = request(INVITE, &self.f0, "SendCANCEL", &self.f0, &self.d);
                inv.expire = Some(60);
                self.inv = Some(inv.clone());
                self.ok("INV = request(INVITE, F0, \"SendCANCEL\", F0, D) with Expire 60", Ok(inv));
                self.ok("cancel(INV)", cancel(self.inv()));
            }
            1 => {
                self.expect(d, resp(INVITE, 487));
                slp_sdk::finish();
            }
            _ => self.unexpected(d, "nothing more"),
        }
    }

    // -------------------------------------------------------------- checks

    /// "Expect X": anything else is unexpected.
    fn expect(&self, d: &Delivery, want: Expect) {
        if !want.matches(d) {
            self.unexpected(d, &want.describe());
        }
    }

    /// An unexpected message: log expected vs got, then trap.
    fn unexpected(&self, d: &Delivery, expected: &str) -> ! {
        self.fail(&format!(
            "unexpected message: expected {expected}, got {} (origin {}, DialogueID {}, CSeq {})",
            d.name(),
            d.origin.as_str(),
            d.message.dialogue_id,
            d.message.cseq
        ))
    }

    /// ✓: the send must succeed.
    fn ok(&self, what: &str, msg: Result<Message, HelperError>) -> Sent {
        match slp_sdk::send(&self.built(what, msg)) {
            Ok(sent) => sent,
            Err(e) => self.fail(&format!("send {what}: expected success, got {} ({})", e.code, e.detail)),
        }
    }

    /// ✗`code`: the send must fail with exactly `code`.
    fn fails(&self, what: &str, msg: Result<Message, HelperError>, code: SendErrorCode) {
        match slp_sdk::send(&self.built(what, msg)) {
            Err(e) if e.code == code => {}
            Err(e) => {
                self.fail(&format!("send {what}: expected error {code}, got {} ({})", e.code, e.detail))
            }
            Ok(sent) => {
                self.fail(&format!("send {what}: expected error {code}, got success (CSeq {})", sent.cseq))
            }
        }
    }

    fn built(&self, what: &str, msg: Result<Message, HelperError>) -> Message {
        msg.unwrap_or_else(|e| self.fail(&format!("cannot build {what}: {e}")))
    }

    /// D := new-dialogue-id.
    fn new_d(&mut self) {
        match slp_sdk::new_dialogue_id() {
            Ok(d) => self.d = d,
            Err(e) => self.fail(&format!("new-dialogue-id failed: {e}")),
        }
    }

    fn inv(&self) -> &Message {
        self.inv.as_ref().unwrap_or_else(|| self.fail("INV is not set"))
    }

    /// Logs at `error` with the case and message number, then aborts the instance.
    fn fail(&self, what: &str) -> ! {
        slp_sdk::trap(&format!("conformance: {} #{}: {what}", self.case.name(), self.n))
    }
}

slp_sdk::export_slp!(Conformance);

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(message: Message, method: Method, origin: Origin) -> Delivery {
        Delivery { message, method, origin, source: None, relid: None, first: false }
    }

    #[test]
    fn cases_are_selected_by_the_exact_request_uri() {
        for (uri, case) in Case::ALL {
            assert_eq!(Case::select(Some(uri)), case);
            assert_eq!(case.name(), uri);
        }
        let distinct: std::collections::HashSet<_> = Case::ALL.iter().map(|(_, c)| *c).collect();
        assert_eq!(distinct.len(), 18);
        for other in [None, Some(""), Some("recv_message"), Some("Recv_MESSAGE "), Some("Send_INVITE_")] {
            assert_eq!(Case::select(other), Case::Unknown, "{other:?}");
        }
    }

    #[test]
    fn expectations_check_kind_method_code_and_origin() {
        let inv = request(INVITE, "Recv_INVITE", "u", "s", "d");
        let d = delivery(inv.clone(), INVITE, Origin::Peer);
        assert!(
            any_request().matches(&d) && req(INVITE).matches(&d) && req(INVITE).origin_peer().matches(&d)
        );
        assert!(!req(ACK).matches(&d) && !req(INVITE).origin_stack().matches(&d));
        assert!(!resp(INVITE, 200).matches(&d));

        let ok = delivery(response(&inv, 200).unwrap(), INVITE, Origin::Stack);
        assert!(!any_request().matches(&ok) && !req(INVITE).matches(&ok));
        assert!(resp(INVITE, 200).matches(&ok) && resp(INVITE, 200).origin_stack().matches(&ok));
        assert!(!resp(INVITE, 180).matches(&ok) && !resp(UPDATE, 200).matches(&ok));
        assert!(!resp(INVITE, 200).origin_peer().matches(&ok));
        assert_eq!(resp(UPDATE, 481).origin_stack().describe(), "UPDATE_481 (origin stack)");
        assert_eq!(req(CANCEL).describe(), "CANCEL request");
    }
}
