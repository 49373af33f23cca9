//! TEMPORARY STUB (replaced by the real minimal WASI implementation).
use wasmtime::component::Linker;
pub struct WasiState;
impl Default for WasiState {
    fn default() -> Self {
        WasiState
    }
}
impl WasiState {
    pub fn new() -> Self {
        WasiState
    }
    pub fn take_output(&mut self) -> (Vec<OutputLine>, usize) {
        (Vec::new(), 0)
    }
}
#[derive(Debug)]
pub enum Stream {
    Stdout,
    Stderr,
}
pub struct OutputLine {
    pub stream: Stream,
    pub text: String,
}
#[derive(Debug)]
pub struct GuestExit(pub i32);
impl std::fmt::Display for GuestExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}
impl std::error::Error for GuestExit {}
pub trait WasiView {
    fn wasi(&mut self) -> &mut WasiState;
}
pub fn add_to_linker<T: WasiView + 'static>(_l: &mut Linker<T>) -> wasmtime::Result<()> {
    Ok(())
}
pub const PROVIDED_IMPORTS: &[&str] = &["wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:cli/"];
