//! Colour themes: `themes/*.toml` built into the binary, and the user's own in
//! `<config dir>/themes/NAME.toml`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::Color;
use serde::Deserialize;

use super::ConfigError;
use super::error::parse_toml;

const BUILT_IN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

pub const DEFAULT_THEME: &str = "dark";

/// A colour as a theme file writes it: a name (`red`, `darkgray`), `#rrggbb`, an index
/// (`0`–`255`) or `reset` (the terminal's own colour).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "String")]
pub struct ThemeColor(pub Color);

impl TryFrom<String> for ThemeColor {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Color::from_str(&text).map(ThemeColor).map_err(|_| {
            format!(
                "`{text}` is not a colour: use a name such as `red`, `#rrggbb`, 0-255 or `reset`"
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    #[serde(skip)]
    pub name: String,
    /// Normal text and the background (`reset` keeps the terminal's).
    pub fg: ThemeColor,
    pub bg: ThemeColor,
    /// Secondary text: units, hints, stopped services.
    pub muted: ThemeColor,
    /// Titles and key hints.
    pub accent: ThemeColor,
    pub border: ThemeColor,
    pub header_fg: ThemeColor,
    pub header_bg: ThemeColor,
    pub selected_fg: ThemeColor,
    pub selected_bg: ThemeColor,
    /// Gauges below the warning threshold, healthy, running.
    pub ok: ThemeColor,
    pub warn: ThemeColor,
    pub crit: ThemeColor,
    /// Environment badges.
    pub prod: ThemeColor,
    pub staging: ThemeColor,
    /// "no limit": a container that can take the whole host.
    pub no_limit: ThemeColor,
}

impl Theme {
    pub fn built_in_names() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(name, _)| *name).collect()
    }

    /// A built-in theme by name. Built-in themes are checked by the tests, so this cannot fail
    /// for the names in `BUILT_IN`.
    pub fn built_in(name: &str) -> Option<Theme> {
        let (name, text) = BUILT_IN.iter().find(|(n, _)| *n == name)?;
        let mut theme: Theme = parse_toml(text, Path::new(&format!("themes/{name}.toml"))).ok()?;
        theme.name = (*name).to_string();
        Some(theme)
    }

    pub fn default_theme() -> Theme {
        Theme::built_in(DEFAULT_THEME).unwrap_or_else(Theme::fallback)
    }

    /// Loads `name`: the user's `themes/NAME.toml` in the config dir first, then a built-in.
    /// `name` may also be a path to a theme file.
    pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Theme, ConfigError> {
        let candidate: Option<PathBuf> = if name.ends_with(".toml") {
            Some(PathBuf::from(name))
        } else {
            user_dir.map(|dir| dir.join(format!("{name}.toml")))
        };
        if let Some(path) = candidate.filter(|p| p.is_file()) {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
                path: path.clone(),
                source,
            })?;
            let mut theme: Theme = parse_toml(&text, &path)?;
            theme.name = name.to_string();
            return Ok(theme);
        }
        Theme::built_in(name).ok_or_else(|| ConfigError::UnknownTheme {
            name: name.to_string(),
            known: Theme::available(user_dir),
        })
    }

    /// Built-in theme names and the user's theme files.
    pub fn available(user_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = Theme::built_in_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml")
                    && let Some(stem) = path.file_stem()
                {
                    names.push(stem.to_string_lossy().into_owned());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// Used only if the embedded dark theme were broken; the tests make sure it is not.
    fn fallback() -> Theme {
        let c = ThemeColor;
        Theme {
            name: "fallback".to_string(),
            fg: c(Color::Reset),
            bg: c(Color::Reset),
            muted: c(Color::DarkGray),
            accent: c(Color::Cyan),
            border: c(Color::DarkGray),
            header_fg: c(Color::Black),
            header_bg: c(Color::Cyan),
            selected_fg: c(Color::Black),
            selected_bg: c(Color::Cyan),
            ok: c(Color::Green),
            warn: c(Color::Yellow),
            crit: c(Color::Red),
            prod: c(Color::Red),
            staging: c(Color::Yellow),
            no_limit: c(Color::Magenta),
        }
    }
}

pub fn user_theme_dir() -> Option<PathBuf> {
    super::project_dirs().map(|d| d.config_dir().join("themes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses() {
        for name in Theme::built_in_names() {
            let text = BUILT_IN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
                .unwrap_or("");
            let parsed: Result<Theme, _> = parse_toml(text, Path::new(name));
            assert!(parsed.is_ok(), "{name}: {parsed:?}");
        }
    }

    #[test]
    fn a_bad_colour_names_file_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dark = BUILT_IN[0].1.replace("crit = \"", "crit = \"not-a-colour");
        std::fs::write(dir.path().join("mine.toml"), dark).expect("write");
        let error = Theme::load("mine", Some(dir.path())).expect_err("bad colour");
        let text = error.to_string();
        assert!(text.contains("mine.toml:"), "{text}");
        assert!(text.contains("is not a colour"), "{text}");
    }

    #[test]
    fn an_unknown_theme_lists_the_known_ones() {
        let error = Theme::load("solarized", None).expect_err("unknown");
        assert!(error.to_string().contains("dark, high-contrast, light"));
    }
}
