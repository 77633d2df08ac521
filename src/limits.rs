//! The limits the crate enforces, in one place: how long a title, a name or a key may be, how
//! many labels an alert may carry, how much work one tick does.
//!
//! Values over a limit are refused with an [`Invalid`](crate::Invalid) error naming the field
//! and the limit; nothing is cut short silently.

pub use crate::desk::CONFLICT_RETRIES;
pub use crate::engine::MAX_STEPS_PER_TICK;
pub use crate::heartbeat::HEARTBEAT_NAME_MAX_CHARS;
pub use crate::intake::{ALERT_KEY_MAX_CHARS, MAX_LABELS};
pub use crate::model::{
    ACTOR_ID_MAX_CHARS, ACTOR_NAME_MAX_CHARS, REPORTER_MAX_CHARS, SERVICE_MAX_CHARS,
};
pub use crate::text::{TEXT_MAX_CHARS, TITLE_MAX_CHARS};
