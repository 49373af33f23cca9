//! A minimal, non-blocking WASI 0.2 host for SLP components.
//!
//! This provides exactly the interfaces a `wasm32-wasip2` Rust std guest imports
//! (see [`PROVIDED_IMPORTS`]), implemented without tokio and without ever blocking,
//! so guests can be called synchronously from inside tokio tasks. (`wasmtime-wasi`'s
//! sync bindings run blocking stream operations through `Handle::block_on`, which
//! panics inside a tokio worker.)
//!
//! Behaviour (spec §12.4/§14.2: clocks, random and stdout/stderr only):
//! * **stdout/stderr** accept every write immediately; the bytes are split into lines
//!   and kept in a bounded per-instance buffer that the host drains after each call
//!   with [`WasiState::take_output`].
//! * **stdin** is always at end of file.
//! * **Every pollable is always ready.** A guest that sleeps (`std::thread::sleep`)
//!   therefore returns at once, and a guest that busy-waits on a clock runs into the
//!   CPU deadline (epoch interruption).
//! * **Clocks** are real: the monotonic clock counts nanoseconds from an arbitrary
//!   per-process origin, the wall clock is the system time.
//! * **Random**: `wasi:random/random` is a CSPRNG (`rand::rng()`), `insecure` is a
//!   per-instance `SmallRng`, `insecure-seed` a per-instance random constant.
//! * **Environment, arguments, cwd** are empty; there are no terminals.
//! * **`exit`** traps the instance with a [`GuestExit`] error (also for status 0).
//!
//! There is no filesystem or network: a guest importing `wasi:filesystem` or
//! `wasi:sockets` (e.g. because it uses `std::fs`) does not link.

use std::sync::LazyLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};
use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/wasi",
        world: "slp:host-wasi/guest-imports",
        // Every host function returns `wasmtime::Result`, so table errors and
        // `exit` trap the instance instead of panicking.
        imports: { default: trappable },
        with: {
            "wasi:io/error.error": super::IoError,
            "wasi:io/poll.pollable": super::Pollable,
            "wasi:io/streams.input-stream": super::InputStream,
            "wasi:io/streams.output-stream": super::OutputStream,
            "wasi:cli/terminal-input.terminal-input": super::TerminalInput,
            "wasi:cli/terminal-output.terminal-output": super::TerminalOutput,
        },
    });
}

use bindings::wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr,
    terminal_stdin, terminal_stdout,
};
use bindings::wasi::clocks::{monotonic_clock, wall_clock};
use bindings::wasi::io::{error, poll, streams};
use bindings::wasi::random::{insecure, insecure_seed, random};

/// Import names (interface prefixes, any `0.2.x` version) this host provides. Upload
/// validation rejects components importing anything else (except the SLP world itself).
pub const PROVIDED_IMPORTS: &[&str] = &[
    "wasi:io/error@0.2.",
    "wasi:io/poll@0.2.",
    "wasi:io/streams@0.2.",
    "wasi:clocks/monotonic-clock@0.2.",
    "wasi:clocks/wall-clock@0.2.",
    "wasi:random/random@0.2.",
    "wasi:random/insecure@0.2.",
    "wasi:random/insecure-seed@0.2.",
    "wasi:cli/environment@0.2.",
    "wasi:cli/exit@0.2.",
    "wasi:cli/stdin@0.2.",
    "wasi:cli/stdout@0.2.",
    "wasi:cli/stderr@0.2.",
    "wasi:cli/terminal-input@0.2.",
    "wasi:cli/terminal-output@0.2.",
    "wasi:cli/terminal-stdin@0.2.",
    "wasi:cli/terminal-stdout@0.2.",
    "wasi:cli/terminal-stderr@0.2.",
];

/// Whether `import` (a component import name such as `wasi:cli/stdout@0.2.6`) is one
/// of the [`PROVIDED_IMPORTS`].
pub fn provides(import: &str) -> bool {
    PROVIDED_IMPORTS.iter().any(|p| import.starts_with(p))
}

/// Longest output line kept, in bytes; the rest of a longer line is cut off.
pub const MAX_LINE_BYTES: usize = 4096;
/// Most output lines kept between two [`WasiState::take_output`] calls; further lines
/// are only counted.
pub const MAX_LINES: usize = 100;
/// Largest `get-random-bytes` request served; larger ones trap.
pub const MAX_RANDOM_BYTES: u64 = 1 << 20;
/// Most WASI resources (streams, pollables) a guest may hold at once.
const MAX_RESOURCES: usize = 1024;
/// `check-write` budget: writes are never refused.
const WRITE_BUDGET: u64 = 1 << 20;

/// Error returned from a host call when the guest calls `wasi:cli/exit`: it traps
/// the instance. `0` for `exit(ok)`, `1` for `exit(err)`, else the `exit-with-code`
/// status. Find it with `err.downcast_ref::<GuestExit>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestExit(pub i32);

impl std::fmt::Display for GuestExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "guest called exit({})", self.0)
    }
}

impl std::error::Error for GuestExit {}

/// The guest output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of guest output (without its line terminator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub stream: Stream,
    pub text: String,
}

/// Per-instance WASI state; lives in the store data (see [`WasiView`]).
pub struct WasiState {
    table: ResourceTable,
    capture: Capture,
    insecure: SmallRng,
    insecure_seed: (u64, u64),
}

impl Default for WasiState {
    fn default() -> Self {
        Self::new()
    }
}

impl WasiState {
    pub fn new() -> Self {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let mut rng = rand::rng();
        Self {
            table,
            capture: Capture::default(),
            insecure: SmallRng::from_rng(&mut rng),
            insecure_seed: rng.random(),
        }
    }

    /// Drains the captured output: the complete lines written since the last call,
    /// then any unterminated line per stream, at most [`MAX_LINES`] of them (each cut to
    /// [`MAX_LINE_BYTES`]), and the number of further lines that were dropped.
    pub fn take_output(&mut self) -> (Vec<OutputLine>, usize) {
        self.capture.take()
    }
}

/// Access to the [`WasiState`] in a store's data.
pub trait WasiView {
    fn wasi(&mut self) -> &mut WasiState;
}

impl WasiView for WasiState {
    fn wasi(&mut self) -> &mut WasiState {
        self
    }
}

/// Adds every interface in [`PROVIDED_IMPORTS`] to `linker`. The linker matches them
/// semver-compatibly, so guests importing any `0.2.x` version link.
pub fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    bindings::GuestImports::add_to_linker::<T, HasSelf<WasiState>>(linker, |t| t.wasi())
}

// ---------------------------------------------------------------------------
// Output capture
// ---------------------------------------------------------------------------

/// Bounded line buffer for stdout and stderr: at most `MAX_LINES` lines plus one
/// partial line per stream, each at most `MAX_LINE_BYTES` bytes (+1 to detect a cut).
#[derive(Default)]
struct Capture {
    lines: Vec<OutputLine>,
    dropped: usize,
    partial: [Vec<u8>; 2],
}

impl Capture {
    fn write(&mut self, stream: Stream, mut bytes: &[u8]) {
        while let Some(i) = bytes.iter().position(|&b| b == b'\n') {
            self.append(stream, &bytes[..i]);
            self.end_line(stream);
            bytes = &bytes[i + 1..];
        }
        self.append(stream, bytes);
    }

    fn write_zeroes(&mut self, stream: Stream, len: u64) {
        let buf = &mut self.partial[stream as usize];
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.resize(buf.len() + room.min(usize::try_from(len).unwrap_or(usize::MAX)), 0);
    }

    /// Keeps one byte more than `MAX_LINE_BYTES` so `end_line` can tell a cut line.
    fn append(&mut self, stream: Stream, bytes: &[u8]) {
        let buf = &mut self.partial[stream as usize];
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    fn end_line(&mut self, stream: Stream) {
        let buf = &mut self.partial[stream as usize];
        if self.lines.len() >= MAX_LINES {
            self.dropped += 1;
        } else {
            let mut text = String::from_utf8_lossy(buf).into_owned();
            if text.ends_with('\r') {
                text.pop();
            }
            if text.len() > MAX_LINE_BYTES {
                text.truncate(text.floor_char_boundary(MAX_LINE_BYTES));
            }
            self.lines.push(OutputLine { stream, text });
        }
        buf.clear();
    }

    fn take(&mut self) -> (Vec<OutputLine>, usize) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            if !self.partial[stream as usize].is_empty() {
                self.end_line(stream);
            }
        }
        (std::mem::take(&mut self.lines), std::mem::take(&mut self.dropped))
    }
}

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

/// `wasi:io/poll.pollable`: always ready.
pub struct Pollable;

/// `wasi:io/streams.input-stream` (stdin): always at end of file.
pub struct InputStream;

/// `wasi:io/streams.output-stream`: stdout or stderr, captured.
pub struct OutputStream(Stream);

/// `wasi:io/error.error`. Never created: no stream operation here fails.
pub struct IoError(String);

/// `wasi:cli/terminal-input.terminal-input`: never created (no terminals).
pub enum TerminalInput {}

/// `wasi:cli/terminal-output.terminal-output`: never created (no terminals).
pub enum TerminalOutput {}

impl WasiState {
    fn ready_pollable(&mut self) -> wasmtime::Result<Resource<Pollable>> {
        Ok(self.table.push(Pollable)?)
    }

    fn output(&mut self, stream: Resource<OutputStream>) -> wasmtime::Result<Stream> {
        Ok(self.table.get(&stream)?.0)
    }
}

type StreamResult<T> = wasmtime::Result<Result<T, streams::StreamError>>;

// wasi:io ------------------------------------------------------------------

impl error::Host for WasiState {}

impl error::HostError for WasiState {
    fn to_debug_string(&mut self, err: Resource<IoError>) -> wasmtime::Result<String> {
        Ok(self.table.get(&err)?.0.clone())
    }

    fn drop(&mut self, err: Resource<IoError>) -> wasmtime::Result<()> {
        self.table.delete(err)?;
        Ok(())
    }
}

impl poll::Host for WasiState {
    fn poll(&mut self, pollables: Vec<Resource<Pollable>>) -> wasmtime::Result<Vec<u32>> {
        if pollables.is_empty() {
            wasmtime::bail!("wasi:io/poll.poll called with an empty list");
        }
        Ok((0..pollables.len() as u32).collect())
    }
}

impl poll::HostPollable for WasiState {
    fn ready(&mut self, _: Resource<Pollable>) -> wasmtime::Result<bool> {
        Ok(true)
    }

    fn block(&mut self, _: Resource<Pollable>) -> wasmtime::Result<()> {
        Ok(())
    }

    fn drop(&mut self, p: Resource<Pollable>) -> wasmtime::Result<()> {
        self.table.delete(p)?;
        Ok(())
    }
}

impl streams::Host for WasiState {}

impl streams::HostInputStream for WasiState {
    fn read(&mut self, _: Resource<InputStream>, _len: u64) -> StreamResult<Vec<u8>> {
        Ok(Err(streams::StreamError::Closed))
    }

    fn blocking_read(&mut self, _: Resource<InputStream>, _len: u64) -> StreamResult<Vec<u8>> {
        Ok(Err(streams::StreamError::Closed))
    }

    fn skip(&mut self, _: Resource<InputStream>, _len: u64) -> StreamResult<u64> {
        Ok(Err(streams::StreamError::Closed))
    }

    fn blocking_skip(&mut self, _: Resource<InputStream>, _len: u64) -> StreamResult<u64> {
        Ok(Err(streams::StreamError::Closed))
    }

    fn subscribe(&mut self, _: Resource<InputStream>) -> wasmtime::Result<Resource<Pollable>> {
        self.ready_pollable()
    }

    fn drop(&mut self, s: Resource<InputStream>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

impl streams::HostOutputStream for WasiState {
    fn check_write(&mut self, _: Resource<OutputStream>) -> StreamResult<u64> {
        Ok(Ok(WRITE_BUDGET))
    }

    fn write(&mut self, s: Resource<OutputStream>, contents: Vec<u8>) -> StreamResult<()> {
        let stream = self.output(s)?;
        self.capture.write(stream, &contents);
        Ok(Ok(()))
    }

    fn blocking_write_and_flush(&mut self, s: Resource<OutputStream>, contents: Vec<u8>) -> StreamResult<()> {
        self.write(s, contents)
    }

    fn flush(&mut self, _: Resource<OutputStream>) -> StreamResult<()> {
        Ok(Ok(()))
    }

    fn blocking_flush(&mut self, _: Resource<OutputStream>) -> StreamResult<()> {
        Ok(Ok(()))
    }

    fn subscribe(&mut self, _: Resource<OutputStream>) -> wasmtime::Result<Resource<Pollable>> {
        self.ready_pollable()
    }

    fn write_zeroes(&mut self, s: Resource<OutputStream>, len: u64) -> StreamResult<()> {
        let stream = self.output(s)?;
        self.capture.write_zeroes(stream, len);
        Ok(Ok(()))
    }

    fn blocking_write_zeroes_and_flush(&mut self, s: Resource<OutputStream>, len: u64) -> StreamResult<()> {
        self.write_zeroes(s, len)
    }

    /// The only input stream is stdin, which is at end of file.
    fn splice(
        &mut self,
        _: Resource<OutputStream>,
        _src: Resource<InputStream>,
        _len: u64,
    ) -> StreamResult<u64> {
        Ok(Err(streams::StreamError::Closed))
    }

    fn blocking_splice(
        &mut self,
        _: Resource<OutputStream>,
        _src: Resource<InputStream>,
        _len: u64,
    ) -> StreamResult<u64> {
        Ok(Err(streams::StreamError::Closed))
    }

    fn drop(&mut self, s: Resource<OutputStream>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

// wasi:clocks --------------------------------------------------------------

/// Origin of the monotonic clock: the first time any guest reads it.
static MONOTONIC_ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);

impl monotonic_clock::Host for WasiState {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(MONOTONIC_ORIGIN.elapsed().as_nanos() as u64)
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(1)
    }

    fn subscribe_instant(&mut self, _when: u64) -> wasmtime::Result<Resource<Pollable>> {
        self.ready_pollable()
    }

    fn subscribe_duration(&mut self, _when: u64) -> wasmtime::Result<Resource<Pollable>> {
        self.ready_pollable()
    }
}

impl wall_clock::Host for WasiState {
    fn now(&mut self) -> wasmtime::Result<wall_clock::Datetime> {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Ok(wall_clock::Datetime { seconds: d.as_secs(), nanoseconds: d.subsec_nanos() })
    }

    fn resolution(&mut self) -> wasmtime::Result<wall_clock::Datetime> {
        Ok(wall_clock::Datetime { seconds: 0, nanoseconds: 1 })
    }
}

// wasi:random --------------------------------------------------------------

fn random_bytes(rng: &mut impl RngCore, len: u64) -> wasmtime::Result<Vec<u8>> {
    if len > MAX_RANDOM_BYTES {
        wasmtime::bail!("guest requested {len} random bytes (limit {MAX_RANDOM_BYTES})");
    }
    let mut buf = vec![0; len as usize];
    rng.fill_bytes(&mut buf);
    Ok(buf)
}

impl random::Host for WasiState {
    fn get_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        random_bytes(&mut rand::rng(), len)
    }

    fn get_random_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(rand::rng().next_u64())
    }
}

impl insecure::Host for WasiState {
    fn get_insecure_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        random_bytes(&mut self.insecure, len)
    }

    fn get_insecure_random_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(self.insecure.next_u64())
    }
}

impl insecure_seed::Host for WasiState {
    fn insecure_seed(&mut self) -> wasmtime::Result<(u64, u64)> {
        Ok(self.insecure_seed)
    }
}

// wasi:cli -----------------------------------------------------------------

impl environment::Host for WasiState {
    fn get_environment(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(Vec::new())
    }

    fn get_arguments(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn initial_cwd(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }
}

impl exit::Host for WasiState {
    fn exit(&mut self, status: Result<(), ()>) -> wasmtime::Result<()> {
        Err(GuestExit(if status.is_ok() { 0 } else { 1 }).into())
    }

    fn exit_with_code(&mut self, status_code: u8) -> wasmtime::Result<()> {
        Err(GuestExit(status_code.into()).into())
    }
}

impl stdin::Host for WasiState {
    fn get_stdin(&mut self) -> wasmtime::Result<Resource<InputStream>> {
        Ok(self.table.push(InputStream)?)
    }
}

impl stdout::Host for WasiState {
    fn get_stdout(&mut self) -> wasmtime::Result<Resource<OutputStream>> {
        Ok(self.table.push(OutputStream(Stream::Stdout))?)
    }
}

impl stderr::Host for WasiState {
    fn get_stderr(&mut self) -> wasmtime::Result<Resource<OutputStream>> {
        Ok(self.table.push(OutputStream(Stream::Stderr))?)
    }
}

impl terminal_input::Host for WasiState {}

impl terminal_input::HostTerminalInput for WasiState {
    fn drop(&mut self, t: Resource<TerminalInput>) -> wasmtime::Result<()> {
        self.table.delete(t)?;
        Ok(())
    }
}

impl terminal_output::Host for WasiState {}

impl terminal_output::HostTerminalOutput for WasiState {
    fn drop(&mut self, t: Resource<TerminalOutput>) -> wasmtime::Result<()> {
        self.table.delete(t)?;
        Ok(())
    }
}

impl terminal_stdin::Host for WasiState {
    fn get_terminal_stdin(&mut self) -> wasmtime::Result<Option<Resource<TerminalInput>>> {
        Ok(None)
    }
}

impl terminal_stdout::Host for WasiState {
    fn get_terminal_stdout(&mut self) -> wasmtime::Result<Option<Resource<TerminalOutput>>> {
        Ok(None)
    }
}

impl terminal_stderr::Host for WasiState {
    fn get_terminal_stderr(&mut self) -> wasmtime::Result<Option<Resource<TerminalOutput>>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streams::HostOutputStream;

    fn line(stream: Stream, text: &str) -> OutputLine {
        OutputLine { stream, text: text.into() }
    }

    /// Writes through the host functions, as a guest would.
    fn write(st: &mut WasiState, stream: Stream, bytes: &[u8]) {
        let s = match stream {
            Stream::Stdout => stdout::Host::get_stdout(st),
            Stream::Stderr => stderr::Host::get_stderr(st),
        }
        .unwrap();
        let borrowed = Resource::new_borrow(s.rep());
        st.blocking_write_and_flush(borrowed, bytes.to_vec()).unwrap().unwrap();
        HostOutputStream::drop(st, s).unwrap();
    }

    #[test]
    fn splits_lines_across_writes_and_streams() {
        let mut st = WasiState::new();
        write(&mut st, Stream::Stdout, b"hel");
        write(&mut st, Stream::Stderr, b"err\r\n\n");
        write(&mut st, Stream::Stdout, b"lo\nworld\npart");
        write(&mut st, Stream::Stderr, b"tail");
        let (lines, dropped) = st.take_output();
        assert_eq!(dropped, 0);
        assert_eq!(
            lines,
            [
                line(Stream::Stderr, "err"),
                line(Stream::Stderr, ""),
                line(Stream::Stdout, "hello"),
                line(Stream::Stdout, "world"),
                line(Stream::Stdout, "part"),
                line(Stream::Stderr, "tail"),
            ]
        );
        assert_eq!(st.take_output(), (vec![], 0));
        assert_eq!(st.table.iter_entries::<OutputStream>(Default::default()).count(), 0);
    }

    #[test]
    fn cuts_long_lines_at_a_char_boundary() {
        let mut st = WasiState::new();
        let long = "é".repeat(3000); // 6000 bytes
        write(&mut st, Stream::Stdout, format!("{long}\nx{long}").as_bytes());
        write(&mut st, Stream::Stdout, b"\n");
        write(&mut st, Stream::Stderr, &vec![b'a'; 10_000]);
        let (lines, _) = st.take_output();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].text, "é".repeat(MAX_LINE_BYTES / 2));
        assert_eq!(lines[1].text.len(), MAX_LINE_BYTES - 1); // "x" + 2047 × "é"
        assert!(lines[1].text.starts_with("xé"));
        assert_eq!(lines[2].text, "a".repeat(MAX_LINE_BYTES));
        assert_eq!(lines[2].stream, Stream::Stderr);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut st = WasiState::new();
        write(&mut st, Stream::Stdout, b"a\xffb\n");
        assert_eq!(st.take_output().0, [line(Stream::Stdout, "a\u{fffd}b")]);
    }

    #[test]
    fn keeps_at_most_max_lines_per_take() {
        let mut st = WasiState::new();
        for i in 0..150 {
            write(&mut st, Stream::Stdout, format!("line {i}\n").as_bytes());
        }
        write(&mut st, Stream::Stderr, b"unterminated");
        let (lines, dropped) = st.take_output();
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(lines[99].text, "line 99");
        assert_eq!(dropped, 51);
        write(&mut st, Stream::Stdout, b"next\n");
        assert_eq!(st.take_output(), (vec![line(Stream::Stdout, "next")], 0));
    }

    #[test]
    fn write_zeroes_is_bounded() {
        let mut st = WasiState::new();
        let s = stdout::Host::get_stdout(&mut st).unwrap();
        st.write_zeroes(Resource::new_borrow(s.rep()), u64::MAX).unwrap().unwrap();
        let (lines, _) = st.take_output();
        assert_eq!(lines[0].text.len(), MAX_LINE_BYTES);
    }

    #[test]
    fn stdin_is_at_eof_and_pollables_are_ready() {
        use poll::{Host as _, HostPollable as _};
        use streams::HostInputStream as _;
        let mut st = WasiState::new();
        let s = stdin::Host::get_stdin(&mut st).unwrap();
        let r = st.read(Resource::new_borrow(s.rep()), 10).unwrap();
        assert!(matches!(r, Err(streams::StreamError::Closed)));
        let p = monotonic_clock::Host::subscribe_duration(&mut st, 10_000_000_000).unwrap();
        assert!(st.ready(Resource::new_borrow(p.rep())).unwrap());
        st.block(Resource::new_borrow(p.rep())).unwrap();
        let list = vec![Resource::new_borrow(p.rep()), Resource::new_borrow(p.rep())];
        assert_eq!(st.poll(list).unwrap(), [0, 1]);
        assert!(st.poll(vec![]).is_err());
    }

    #[test]
    fn resource_count_is_limited() {
        let mut st = WasiState::new();
        for _ in 0..MAX_RESOURCES {
            stdout::Host::get_stdout(&mut st).unwrap();
        }
        assert!(stdout::Host::get_stdout(&mut st).is_err());
    }

    #[test]
    fn clocks() {
        let mut st = WasiState::new();
        let a = monotonic_clock::Host::now(&mut st).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = monotonic_clock::Host::now(&mut st).unwrap();
        assert!(b >= a + 2_000_000, "{a} {b}");
        let wall = wall_clock::Host::now(&mut st).unwrap();
        let sys = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!(wall.seconds.abs_diff(sys) <= 1 && wall.nanoseconds < 1_000_000_000);
    }

    #[test]
    fn random_varies_and_is_bounded() {
        let mut st = WasiState::new();
        let a = random::Host::get_random_bytes(&mut st, 32).unwrap();
        let b = random::Host::get_random_bytes(&mut st, 32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_ne!(
            random::Host::get_random_u64(&mut st).unwrap(),
            random::Host::get_random_u64(&mut st).unwrap()
        );
        let x = insecure::Host::get_insecure_random_u64(&mut st).unwrap();
        assert_ne!(x, insecure::Host::get_insecure_random_u64(&mut st).unwrap());
        assert!(random::Host::get_random_bytes(&mut st, MAX_RANDOM_BYTES + 1).is_err());
        assert!(insecure::Host::get_insecure_random_bytes(&mut st, u64::MAX).is_err());
        let seed = insecure_seed::Host::insecure_seed(&mut st).unwrap();
        assert_eq!(seed, insecure_seed::Host::insecure_seed(&mut st).unwrap());
        assert_ne!(seed, insecure_seed::Host::insecure_seed(&mut WasiState::new()).unwrap());
    }

    #[test]
    fn exit_is_a_guest_exit_error() {
        let mut st = WasiState::new();
        let e = exit::Host::exit(&mut st, Err(())).unwrap_err();
        assert_eq!(e.downcast_ref::<GuestExit>(), Some(&GuestExit(1)));
        let e = exit::Host::exit_with_code(&mut st, 7).unwrap_err();
        assert_eq!(e.downcast_ref::<GuestExit>(), Some(&GuestExit(7)));
    }

    #[test]
    fn no_environment() {
        let mut st = WasiState::new();
        assert!(environment::Host::get_environment(&mut st).unwrap().is_empty());
        assert!(environment::Host::get_arguments(&mut st).unwrap().is_empty());
        assert_eq!(environment::Host::initial_cwd(&mut st).unwrap(), None);
        assert!(terminal_stdout::Host::get_terminal_stdout(&mut st).unwrap().is_none());
    }

    #[test]
    fn provided_imports() {
        assert!(provides("wasi:cli/stdout@0.2.6"));
        assert!(provides("wasi:io/streams@0.2.12"));
        assert!(!provides("wasi:cli/stdout@0.3.0"));
        assert!(!provides("wasi:filesystem/types@0.2.6"));
        assert!(!provides("wasi:clocks/timezone@0.2.6"));
    }

    #[test]
    fn links() {
        struct Data(WasiState);
        impl WasiView for Data {
            fn wasi(&mut self) -> &mut WasiState {
                &mut self.0
            }
        }
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let mut linker = Linker::<Data>::new(&engine);
        add_to_linker(&mut linker).unwrap();
    }
}
