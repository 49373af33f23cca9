//! Host-side bindings of the `slp` world (`wit/slp.wit`).

use wasmtime::component::{ComponentExportIndex, Instance};
use wasmtime::{AsContextMut, format_err};

wasmtime::component::bindgen!({
    world: "slp",
    path: "../wit/slp.wit",
});

pub use self::jsip::slp::{host, kv, types};

impl<T: 'static> SlpPre<T> {
    /// Instantiates like the generated `instantiate`, without type-checking
    /// the four exports again for every instance: [`SlpPre::new`] checked
    /// them once for the version. The checks were 3% of a session's
    /// sandbox cost in `benches/instance.rs`.
    pub fn instantiate_prechecked(&self, mut store: impl AsContextMut<Data = T>) -> wasmtime::Result<Slp> {
        let mut store = store.as_context_mut();
        let instance = self.instance_pre.instantiate(&mut store)?;
        let mut func = |index: &ComponentExportIndex, name: &str| {
            Instance::get_func(&instance, &mut store, index).ok_or_else(|| format_err!("no export `{name}`"))
        };
        Ok(Slp {
            init: func(&self.indices.init, "init")?,
            on_message: func(&self.indices.on_message, "on-message")?,
            on_term: func(&self.indices.on_term, "on-term")?,
            on_timer: func(&self.indices.on_timer, "on-timer")?,
        })
    }
}
