//! Errors in what the user gave dokk: each names the file, line and column, and what to do.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}:{line}:{column}: {message}\n{snippet}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        snippet: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown context `{name}`; known contexts: {}", known.join(", "))]
    UnknownContext { name: String, known: Vec<String> },
    #[error("unknown theme `{name}`; known themes: {}", known.join(", "))]
    UnknownTheme { name: String, known: Vec<String> },
}

impl ConfigError {
    /// Bad input exits with 2, as every dokk command does.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// Parses TOML into `T`, turning an error into file:line:column with the offending line.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let (line, column) = line_and_column(text, offset);
        let source_line = text.lines().nth(line - 1).unwrap_or("");
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: error.message().trim().to_string(),
            snippet: format!(
                "  {line:>4} | {source_line}\n       | {}^",
                " ".repeat(column.saturating_sub(1))
            ),
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::line_and_column;

    #[test]
    fn offsets_map_to_lines_and_columns() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        assert_eq!(line_and_column(text, 9), (2, 4));
    }
}
