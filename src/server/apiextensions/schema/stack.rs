//! Walking a schema on a stack of its own.
//!
//! Schemas and the objects they describe are walked recursively, one call per level, and a CRD
//! may nest its schema as deep as JSON allows (serde_json stops at 128 levels). A connection's
//! coroutine has a small stack (`run::COROUTINE_STACK_WORDS`), which a deep schema would
//! overflow in a debug build. So inside a coroutine the work runs in a coroutine of its own with
//! a large stack, which the caller joins: joining parks the caller's coroutine, never the worker
//! thread. Outside coroutines (tests, tools) threads have stacks large enough, and the work runs
//! where it is.

/// 4 MiB on 64-bit: deeper than any schema JSON can express, at the measured cost of a level in
/// a debug build. Pages are only committed as they are used.
const SCHEMA_STACK_WORDS: usize = 0x80000;

pub fn on_schema_stack<T: Send, F: FnOnce() -> T + Send>(f: F) -> T {
    if !may::coroutine::is_coroutine() {
        return f();
    }
    let builder = may::coroutine::Builder::new().stack_size(SCHEMA_STACK_WORDS);
    // A scoped coroutine may borrow the caller's data: the scope joins it before returning.
    may::coroutine::scope(|scope| {
        // SAFETY: the coroutine only computes and returns: it does not block its thread and
        // keeps no thread-locals across a yield, which is what may asks of a coroutine.
        let handle = unsafe { scope.spawn_with_builder(f, builder) };
        handle.join()
    })
}
