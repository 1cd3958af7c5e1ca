//! Log text is data, not terminal commands. A raw log line becomes plain text plus colour
//! spans: SGR colours are kept as styles; every other escape sequence (cursor moves, OSC
//! window titles, DCS), bells and other controls are dropped; `\r` and backspace overwrite
//! as a terminal would show them, so a progress bar reads as its final state.

use ratatui::style::{Color, Modifier, Style};
use vte::{Params, Parser, Perform};

/// Longer lines are cut: a 1 MB line must not freeze the view.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// A styled range of a sanitised line, in byte offsets of its text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StyleSpan {
    pub start: u32,
    pub end: u32,
    pub style: Style,
}

/// Turns raw bytes into terminal-safe text and its colour spans.
pub fn sanitize(raw: &[u8]) -> (String, Vec<StyleSpan>) {
    let (raw, cut) = match raw.len() > MAX_LINE_BYTES {
        true => (&raw[..MAX_LINE_BYTES], raw.len() - MAX_LINE_BYTES),
        false => (raw, 0),
    };
    let simple = raw.iter().all(|&b| (0x20..0x7f).contains(&b) || b >= 0x80);
    let fast = simple.then(|| String::from_utf8_lossy(raw).into_owned());
    let (mut text, spans) = match fast {
        // The common case: nothing to interpret (C1 controls hide among the bytes >= 0x80).
        Some(text) if !text.chars().any(char::is_control) => (text, Vec::new()),
        _ => {
            let mut screen = LineScreen::default();
            let mut parser = Parser::new();
            parser.advance(&mut screen, raw);
            screen.finish()
        }
    };
    if cut > 0 {
        text.push_str(&format!(" … [{cut} more bytes not shown]"));
    }
    (text, spans)
}

/// One terminal line: characters with their styles, and a cursor.
#[derive(Default)]
struct LineScreen {
    cells: Vec<(char, Style)>,
    cursor: usize,
    style: Style,
}

const TAB: usize = 8;

impl LineScreen {
    fn put(&mut self, c: char) {
        if self.cursor < self.cells.len() {
            self.cells[self.cursor] = (c, self.style);
        } else {
            self.cells.push((c, self.style));
        }
        self.cursor += 1;
    }

    fn finish(self) -> (String, Vec<StyleSpan>) {
        let mut text = String::with_capacity(self.cells.len());
        let mut spans: Vec<StyleSpan> = Vec::new();
        for (c, style) in self.cells {
            let start = text.len() as u32;
            text.push(c);
            let end = text.len() as u32;
            if style == Style::default() {
                continue;
            }
            match spans.last_mut() {
                Some(last) if last.end == start && last.style == style => last.end = end,
                _ => spans.push(StyleSpan { start, end, style }),
            }
        }
        (text, spans)
    }

    fn sgr(&mut self, params: &Params) {
        let mut values = params.iter().flat_map(|p| p.iter().copied()).peekable();
        if values.peek().is_none() {
            self.style = Style::default();
        }
        while let Some(code) = values.next() {
            self.style = match code {
                0 => Style::default(),
                1 => self.style.add_modifier(Modifier::BOLD),
                2 => self.style.add_modifier(Modifier::DIM),
                3 => self.style.add_modifier(Modifier::ITALIC),
                4 => self.style.add_modifier(Modifier::UNDERLINED),
                7 => self.style.add_modifier(Modifier::REVERSED),
                22 => self.style.remove_modifier(Modifier::BOLD | Modifier::DIM),
                23 => self.style.remove_modifier(Modifier::ITALIC),
                24 => self.style.remove_modifier(Modifier::UNDERLINED),
                27 => self.style.remove_modifier(Modifier::REVERSED),
                30..=37 => self.style.fg(Color::Indexed((code - 30) as u8)),
                39 => self.style.fg(Color::Reset),
                40..=47 => self.style.bg(Color::Indexed((code - 40) as u8)),
                49 => self.style.bg(Color::Reset),
                90..=97 => self.style.fg(Color::Indexed((code - 90 + 8) as u8)),
                100..=107 => self.style.bg(Color::Indexed((code - 100 + 8) as u8)),
                38 | 48 => {
                    let color = match values.next() {
                        Some(5) => values.next().map(|n| Color::Indexed(n.min(255) as u8)),
                        Some(2) => {
                            let (r, g, b) = (values.next(), values.next(), values.next());
                            Some(Color::Rgb(
                                r.unwrap_or(0).min(255) as u8,
                                g.unwrap_or(0).min(255) as u8,
                                b.unwrap_or(0).min(255) as u8,
                            ))
                        }
                        _ => None,
                    };
                    match (code, color) {
                        (38, Some(color)) => self.style.fg(color),
                        (48, Some(color)) => self.style.bg(color),
                        _ => self.style,
                    }
                }
                _ => self.style,
            };
        }
    }
}

impl Perform for LineScreen {
    fn print(&mut self, c: char) {
        if !c.is_control() {
            self.put(c);
        }
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\r' => self.cursor = 0,
            0x08 => self.cursor = self.cursor.saturating_sub(1),
            b'\t' => {
                let next = (self.cursor / TAB + 1) * TAB;
                while self.cursor < next {
                    self.put(' ');
                }
            }
            // Bells, line feeds inside a line, and every other control: dropped.
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _ignore: bool, action: char) {
        if action == 'm' && intermediates.is_empty() {
            self.sgr(params);
        }
        // Cursor movement, erasing, scrolling regions, modes: not for a log view.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(raw: &str) -> String {
        sanitize(raw.as_bytes()).0
    }

    #[test]
    fn plain_text_passes_unchanged() {
        assert_eq!(plain("GET /api 200 12ms ü"), "GET /api 200 12ms ü");
    }

    #[test]
    fn colours_become_spans_and_leave_no_escape() {
        let (text, spans) = sanitize(b"\x1b[31merror\x1b[0m: \x1b[1;38;5;208mdisk\x1b[m full");
        assert_eq!(text, "error: disk full");
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].start, spans[0].end), (0, 5));
        assert_eq!(spans[0].style.fg, Some(Color::Indexed(1)));
        assert_eq!(spans[1].style.fg, Some(Color::Indexed(208)));
        assert!(spans[1].style.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn title_changes_bells_and_cursor_moves_are_dropped() {
        let hostile = "\x1b]0;pwned\x07before\x07\x1b[2J\x1b[10;10Hafter\x1bP1$qm\x1b\\end";
        let text = plain(hostile);
        assert_eq!(text, "beforeafterend");
        assert!(!text.contains('\x1b') && !text.contains('\x07'));
    }

    #[test]
    fn carriage_returns_and_backspaces_overwrite() {
        assert_eq!(plain("10%\r20%\r30%"), "30%");
        assert_eq!(plain("hello\rab"), "abllo");
        assert_eq!(plain("abc\x08\x08X"), "aXc");
        assert_eq!(plain("a\tb"), "a       b");
    }

    #[test]
    fn huge_lines_are_cut() {
        let line = "x".repeat(1 << 20);
        let (text, _) = sanitize(line.as_bytes());
        assert!(text.len() < MAX_LINE_BYTES + 64);
        assert!(text.ends_with(&format!(
            "[{} more bytes not shown]",
            (1 << 20) - MAX_LINE_BYTES
        )));
    }

    #[test]
    fn no_control_character_survives_any_input() {
        let mut raw = Vec::new();
        for b in 0u8..=255 {
            raw.extend_from_slice(&[b, 0x1b, b, b'[', b, b']', b]);
        }
        let (text, _) = sanitize(&raw);
        assert!(text.chars().all(|c| !c.is_control()), "{text:?}");
    }
}
