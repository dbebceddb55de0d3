//! Logging: `tracing` with JSON lines (or a human format). Every request runs in
//! a span that carries its request id, and the JSON formatter writes the current
//! span's fields into each line, so every log line of a request names it.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::configuration::{LogFormat, LogSettings};

/// Install the global subscriber once, at start-up (the one global the process
/// has, owned by `tracing`). Returns an error if one is installed already.
pub fn init(settings: &LogSettings) -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .map_err(|e| format!("log.level: {e}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_span_events(FmtSpan::NONE);
    let result = match settings.format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    result.map_err(|e| e.to_string())
}
