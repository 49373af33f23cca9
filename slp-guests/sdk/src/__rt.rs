//! Glue between the generated exports and an [`Slp`] type; used by
//! [`export_slp!`](crate::export_slp). Not part of the public API.

use std::cell::RefCell;
use std::thread::LocalKey;

use crate::bindings::jsip::slp::types as wit;
use crate::{Context, InitKind, Slp, convert, trap};

/// The cell holding the instance's value, declared by `export_slp!`.
pub type State<T> = LocalKey<RefCell<Option<T>>>;

pub fn init<T: Slp>(state: &'static State<T>, kind: InitKind, ctx: Context) {
    let value = T::init(kind, &ctx);
    state.with(|cell| *cell.borrow_mut() = Some(value));
}

pub fn on_message<T: Slp>(state: &'static State<T>, delivery: wit::Delivery) {
    let delivery = convert::delivery_from_wit(delivery);
    with(state, |slp| slp.on_message(delivery));
}

pub fn on_term<T: Slp>(state: &'static State<T>, dialogue_id: String, kind: wit::TermKind) {
    with(state, |slp| slp.on_term(&dialogue_id, convert::term_kind_from_wit(kind)));
}

pub fn on_timer<T: Slp>(state: &'static State<T>, id: u64, tag: u64) {
    with(state, |slp| slp.on_timer(id, tag));
}

fn with<T: Slp>(state: &'static State<T>, f: impl FnOnce(&mut T)) {
    state.with(|cell| match cell.borrow_mut().as_mut() {
        Some(slp) => f(slp),
        None => trap("slp-sdk: entry point called before init"),
    });
}
