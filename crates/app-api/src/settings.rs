//! The app's own settings (language, text size, server address), kept in
//! `settings.json` beside the databases. They are the tablet's, not the
//! campaign's: they never sync.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The languages of the app: Vietnamese first, English for partners,
/// Arabic (right to left).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Tiếng Việt.
    Vi,
    /// English.
    En,
    /// العربية.
    Ar,
}

impl Language {
    /// The locale code for pack texts and labels.
    pub const fn code(self) -> &'static str {
        match self {
            Language::Vi => "vi",
            Language::En => "en",
            Language::Ar => "ar",
        }
    }
}

/// How large the app's text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum TextSize {
    /// The default.
    #[default]
    Normal,
    /// Larger.
    Large,
    /// Largest.
    Larger,
}

/// Minutes without use before the app locks, unless set otherwise.
pub const DEFAULT_LOCK_AFTER_MINUTES: u32 = 5;
/// The longest idle time a volunteer may choose.
pub const MAX_LOCK_AFTER_MINUTES: u32 = 60;

fn default_lock_after() -> u32 {
    DEFAULT_LOCK_AFTER_MINUTES
}

/// The tablet's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The chosen language; none until the first run asks.
    pub language: Option<Language>,
    /// Text size.
    #[serde(default)]
    pub text_size: TextSize,
    /// The server to enrol with (after enrolment the store keeps its own).
    #[serde(default)]
    pub server_url: Option<String>,
    /// Minutes without use before the app locks (1 to 60; it also locks
    /// when it goes to the background).
    #[serde(default = "default_lock_after")]
    pub lock_after_minutes: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            language: None,
            text_size: TextSize::default(),
            server_url: None,
            lock_after_minutes: DEFAULT_LOCK_AFTER_MINUTES,
        }
    }
}

impl Settings {
    /// The language pack texts are shown in (Vietnamese until one is chosen).
    pub fn locale(&self) -> &'static str {
        self.language.map_or("vi", Language::code)
    }
}

/// Where the settings live in a data folder.
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join("settings.json")
}

/// Reads the settings; a missing file gives the defaults, a damaged one is
/// refused with its path (the app then starts with defaults and says so).
pub fn load(data_dir: &Path) -> Result<Settings, ApiError> {
    let path = path_in(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::new("settings", format!("{} is damaged: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
        Err(e) => Err(ApiError::new("settings", format!("reading {}: {e}", path.display()))),
    }
}

/// Writes the settings atomically (a temporary file renamed over the old).
pub fn save(data_dir: &Path, settings: &Settings) -> Result<(), ApiError> {
    let path = path_in(data_dir);
    let tmp = data_dir.join("settings.json.tmp");
    let text = serde_json::to_vec_pretty(settings).map_err(|e| ApiError::new("settings", e.to_string()))?;
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| ApiError::new("settings", format!("writing {}: {e}", path.display())))
}
