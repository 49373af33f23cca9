//! An experiment, not a bundled SLP: `echo` without std, so without WASI
//! imports (2 imports, a 5 KiB component), to measure what the WASI imports
//! of a Rust std guest cost per instance. See BENCHMARKS.md, "Side by side".
#![no_std]
extern crate alloc;

use core::sync::atomic::{AtomicBool, Ordering};

wit_bindgen::generate!({ path: "../../wit/slp.wit", world: "slp", generate_all });

use jsip::slp::host;
use jsip::slp::types::{Kind, Message, Method};

/// A bump allocator over the initial memory's free tail: an instance lives
/// for one session, so it never frees, and it grows memory only when needed.
struct Bump;
static mut NEXT: usize = 0;
unsafe extern "C" {
    static __heap_base: u8;
}
unsafe impl core::alloc::GlobalAlloc for Bump {
    unsafe fn alloc(&self, l: core::alloc::Layout) -> *mut u8 {
        unsafe {
            let mut next = NEXT;
            if next == 0 {
                next = &raw const __heap_base as usize;
            }
            let start = (next + l.align() - 1) & !(l.align() - 1);
            let end = start + l.size();
            let cur = core::arch::wasm32::memory_size(0) * 65536;
            if end > cur && core::arch::wasm32::memory_grow(0, (end - cur).div_ceil(65536)) == usize::MAX {
                return core::ptr::null_mut();
            }
            NEXT = end;
            start as *mut u8
        }
    }
    unsafe fn dealloc(&self, _: *mut u8, _: core::alloc::Layout) {}
}
#[global_allocator]
static ALLOC: Bump = Bump;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

static IN_DIALOGUE: AtomicBool = AtomicBool::new(false);

fn answer(d: &Delivery, code: u16) {
    let m = &d.message;
    let r = Message {
        kind: Kind::Response(code),
        dialogue_id: m.dialogue_id.clone(),
        cseq: m.cseq,
        from: alloc::string::String::new(),
        to: alloc::string::String::new(),
        request_uri: None,
        router: None,
        expire: None,
        related_id: None,
        body: None,
        headers: alloc::vec::Vec::new(),
    };
    let _ = host::send(&r);
}

struct Echo;

impl Guest for Echo {
    fn init(_kind: InitKind, _ctx: Context) {}
    fn on_message(d: Delivery) {
        let Kind::Request(method) = d.message.kind else { return };
        match method {
            Method::Message
            | Method::Options
            | Method::Register
            | Method::Subscribe
            | Method::Notify
            | Method::Info => {
                answer(&d, 200);
                if !IN_DIALOGUE.load(Ordering::Relaxed) {
                    host::finish();
                }
            }
            Method::Invite => {
                IN_DIALOGUE.store(true, Ordering::Relaxed);
                answer(&d, 200);
            }
            Method::Update | Method::Prack => answer(&d, 200),
            Method::Ack => {}
            Method::Bye | Method::Cancel => host::finish(),
        }
    }
    fn on_term(_d: alloc::string::String, _k: TermKind) {}
    fn on_timer(_id: u64, _tag: u64) {}
}

export!(Echo);

/// The canonical ABI's allocator (std guests get it from wasi-libc).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    use alloc::alloc::{Layout, alloc, realloc};
    if new_len == 0 {
        return align as *mut u8;
    }
    let ptr = unsafe {
        if old_len == 0 {
            alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            realloc(old_ptr, Layout::from_size_align_unchecked(old_len, align), new_len)
        }
    };
    if ptr.is_null() {
        core::arch::wasm32::unreachable()
    }
    ptr
}
