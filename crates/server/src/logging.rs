//! Where the server's log lines go and how they read: text for a person
//! at a terminal (the default), or one JSON object a line for a log
//! collector (`--log-format json`). Both on standard error, filtered by
//! `DOORSTEP_LOG` (default `doorstep_server=info,doorstep_store=info,doorstep_office=info,doorstep_dashboard=info,tower_http=warn`).
//!
//! A JSON line carries the event's fields and those of the request's span
//! (`request_id`, `device`, method and path; `api::request_span`). Logs
//! never carry bodies, names, phones or tokens: the call sites log ids and
//! counts only.

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for a person (coloured at a terminal).
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// Sets the process's log subscriber; call once, first thing.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DOORSTEP_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "doorstep_server=info,doorstep_store=info,doorstep_office=info,doorstep_dashboard=info,tower_http=warn",
        )
    });
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => lines
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => lines.json().with_current_span(true).with_span_list(false).init(),
    }
}
