//! What every handler can reach, built once at start-up.

use std::sync::Arc;

use stampede_domain::ports::Store;

use crate::password::PasswordHasher;

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub passwords: PasswordHasher,
}
