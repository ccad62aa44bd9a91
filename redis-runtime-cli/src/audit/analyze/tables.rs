//! Heuristic tables: the names that say what a value is when no
//! declaration does (methods that hand their receiver through, wrappers
//! that hold what their type argument is, methods that hand out a
//! connection), and the name of the framework's escape hatch.

/// Methods that hand back (a guard, reference, or `Result`/`Option` of)
/// the value they are called on, so the receiver's type carries through.
pub(super) const TRANSPARENT: &[&str] = &[
    "lock",
    "unwrap",
    "expect",
    "borrow",
    "borrow_mut",
    "as_mut",
    "as_ref",
    "clone",
    "read",
    "write",
    "deref",
    "deref_mut",
    "get_mut",
    "to_owned",
    "map_err",
    "context",
    "with_context",
    "wrap_err",
    "unwrap_or_else",
    "ok",
    "ok_or",
    "ok_or_else",
];

/// The framework's escape hatch, `Store::raw_access()`.
pub(super) const ESCAPE_HATCH: &str = "raw_access";

/// Generic wrappers whose first type argument says what they hold.
pub(super) const PASSTHROUGH: &[&str] = &[
    "Arc",
    "Rc",
    "Box",
    "Mutex",
    "RwLock",
    "RefCell",
    "Option",
    "Pin",
    "MutexGuard",
    "RwLockReadGuard",
    "RwLockWriteGuard",
    "RefMut",
    "Ref",
    "PooledConnection",
    "Pool",
    "Object",
];

/// Whether a method whose result is a receiver plausibly hands out a
/// connection (`get_multiplexed_async_connection()`, `pool.get()`,
/// `self.redis()`); other method results (`req.headers()`, `res.json()`)
/// are not Redis.
pub(super) fn hands_out_connection(method: &str, args: usize) -> bool {
    names_connection(method)
        || (args <= 1
            && matches!(
                method,
                "get" | "get_owned" | "try_get" | "get_timeout" | "acquire" | "checkout" | "pull"
            ))
}

/// Whether a method's name says it hands out a connection (`conn`,
/// `get_connection`, `redis`, `pool`, ...), whatever it is called on.
pub(super) fn names_connection(method: &str) -> bool {
    ["conn", "redis", "pool", "client", "manager"]
        .iter()
        .any(|part| method.contains(part))
}
