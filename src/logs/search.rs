//! Regex search over the buffer: which lines match, where in a line, and the lines a filter
//! shows with their context.

use std::ops::Range;

use regex::{Regex, RegexBuilder};

#[derive(Debug, Clone)]
pub struct Search {
    pub pattern: String,
    regex: Regex,
}

impl Search {
    /// Smart case, as ripgrep: case-insensitive unless the pattern has an upper-case letter.
    /// An invalid pattern is an error message to show, never a panic.
    pub fn new(pattern: &str) -> Result<Search, String> {
        let insensitive = !pattern.chars().any(char::is_uppercase);
        RegexBuilder::new(pattern)
            .case_insensitive(insensitive)
            .size_limit(1 << 22)
            .build()
            .map(|regex| Search {
                pattern: pattern.to_string(),
                regex,
            })
            .map_err(|error| match error {
                regex::Error::Syntax(text) => {
                    let last = text
                        .lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("");
                    format!(
                        "invalid regex: {}",
                        last.trim().trim_start_matches("error: ")
                    )
                }
                other => format!("invalid regex: {other}"),
            })
    }

    /// The pattern as written, case-sensitive: for `--grep`, which must match what grep does.
    pub fn exact(pattern: &str) -> Result<Search, String> {
        Regex::new(pattern)
            .map(|regex| Search {
                pattern: pattern.to_string(),
                regex,
            })
            .map_err(|error| format!("--grep: invalid regex: {error}"))
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// Byte ranges of every match in `text`.
    pub fn ranges(&self, text: &str) -> Vec<Range<usize>> {
        self.regex
            .find_iter(text)
            .filter(|m| !m.is_empty())
            .map(|m| m.range())
            .collect()
    }
}

/// The lines a filter shows: each match with `context` lines before and after, merged.
pub fn with_context(matches: &[usize], context: usize, len: usize) -> Vec<usize> {
    let mut shown: Vec<usize> = Vec::with_capacity(matches.len() * (1 + 2 * context));
    for &m in matches {
        let start = m.saturating_sub(context);
        let end = (m + context + 1).min(len);
        let from = shown.last().map_or(start, |&last| start.max(last + 1));
        shown.extend(from..end);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_case() {
        assert!(Search::new("error").expect("valid").is_match("ERROR: disk"));
        assert!(!Search::new("Error").expect("valid").is_match("ERROR: disk"));
    }

    #[test]
    fn an_invalid_regex_is_a_message() {
        let error = Search::new("timeout(").expect_err("invalid");
        assert!(error.starts_with("invalid regex:"), "{error}");
        assert!(error.contains("unclosed group"), "{error}");
    }

    #[test]
    fn ranges_of_every_match() {
        let search = Search::new(r"\d+ms").expect("valid");
        assert_eq!(search.ranges("GET 12ms, POST 300ms"), vec![4..8, 15..20]);
    }

    #[test]
    fn context_lines_merge_without_repeats() {
        assert_eq!(with_context(&[2, 4], 1, 10), vec![1, 2, 3, 4, 5]);
        assert_eq!(with_context(&[0, 9], 2, 10), vec![0, 1, 2, 7, 8, 9]);
        assert_eq!(with_context(&[5], 0, 10), vec![5]);
    }
}
