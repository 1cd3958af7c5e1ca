//! The log view: merged replica logs, newest in view while following; search highlights,
//! filter with context, stderr marked, timestamps and wrap on demand. Only the lines on
//! screen are laid out, so a large buffer or a long line costs nothing extra.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthChar;

use super::{block, muted};
use crate::app::{LogView, State};
use crate::logs::{LogLine, Stream};

/// The lines on show: all of the buffer, or a filtered list of buffer indices.
enum Shown {
    All(usize),
    Some(Vec<usize>),
}

impl Shown {
    fn len(&self) -> usize {
        match self {
            Shown::All(len) => *len,
            Shown::Some(lines) => lines.len(),
        }
    }

    fn get(&self, k: usize) -> usize {
        match self {
            Shown::All(_) => k,
            Shown::Some(lines) => lines[k],
        }
    }

    fn position(&self, line: usize) -> usize {
        match self {
            Shown::All(len) => line.min(len.saturating_sub(1)),
            Shown::Some(lines) => lines
                .partition_point(|&i| i < line)
                .min(lines.len().saturating_sub(1)),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let Some(view) = &state.logs else {
        return;
    };
    let outer = block(theme, title(state, view));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let height = usize::from(inner.height);
    view.height.set(height);
    let width = usize::from(inner.width).max(1);

    let lines_shown = view.shown();
    let selected_line = view.selected_in(lines_shown.as_deref());
    let shown = match lines_shown {
        Some(lines) => Shown::Some(lines),
        None => Shown::All(view.buffer.len()),
    };
    if shown.len() == 0 || height == 0 {
        let text = match (&view.status, view.buffer.is_empty()) {
            (Some(status), _) => status.clone(),
            (None, true) => "waiting for log lines…".to_string(),
            (None, false) => "no line matches (f: show all lines, esc: clear filter)".to_string(),
        };
        frame.render_widget(Paragraph::new(Line::styled(text, muted(theme))), inner);
        return;
    }
    let selected = selected_line
        .map(|line| shown.position(line))
        .unwrap_or(shown.len() - 1);
    let rows_of = |k: usize| -> Vec<Line<'static>> {
        let index = shown.get(k);
        match view.buffer.get(index) {
            Some(line) => layout_line(state, view, line, k == selected && !view.follow, width),
            None => vec![Line::raw("")],
        }
    };

    // Which shown lines fill the screen: the newest ones when following; else the ones
    // around the selection, keeping the previous top when the selection is still on screen.
    let mut lines: Vec<Vec<Line<'static>>> = Vec::new();
    let mut used = 0;
    let top = if view.follow {
        let mut k = selected + 1;
        while k > 0 && used < height {
            k -= 1;
            let rows = rows_of(k);
            used += rows.len();
            lines.insert(0, rows);
        }
        k
    } else {
        // Every line takes at least one row: no need to look further back than a screen.
        let mut top = view
            .top
            .get()
            .min(selected)
            .max(selected.saturating_sub(height));
        let rows_between = |from: usize| (from..=selected).map(|k| rows_of(k).len()).sum::<usize>();
        while top < selected && rows_between(top) > height {
            top += 1;
        }
        let mut k = top;
        while k < shown.len() && used < height {
            let rows = rows_of(k);
            used += rows.len();
            lines.push(rows);
            k += 1;
        }
        // Near the end: fill the screen from the bottom up instead of leaving it half empty.
        let mut first = top;
        while used < height && first > 0 {
            first -= 1;
            let rows = rows_of(first);
            used += rows.len();
            lines.insert(0, rows);
        }
        first
    };
    view.top.set(top);
    let mut rows: Vec<Line<'static>> = lines.into_iter().flatten().collect();
    // When following, the bottom row is the newest: cut from the top.
    if rows.len() > height {
        if view.follow {
            rows.drain(..rows.len() - height);
        } else {
            rows.truncate(height);
        }
    }
    frame.render_widget(Paragraph::new(rows), inner);
}

fn title(state: &State, view: &LogView) -> Line<'static> {
    let theme = &state.theme;
    let mode = if view.follow {
        Span::styled(
            " ● FOLLOWING ",
            Style::new().fg(theme.ok.0).add_modifier(Modifier::BOLD),
        )
    } else {
        Span::styled(
            " ‖ PAUSED (G follows) ",
            Style::new().fg(theme.warn.0).add_modifier(Modifier::BOLD),
        )
    };
    let mut spans = vec![
        Span::raw(format!(" Logs {} ", view.title)),
        mode,
        Span::styled(format!("{} lines", view.buffer.len()), muted(theme)),
    ];
    if view.buffer.dropped() > 0 {
        spans.push(Span::styled(
            format!(" ({} older dropped)", view.buffer.dropped()),
            muted(theme),
        ));
    }
    if let Some(search) = &view.search {
        let count = view.match_count();
        spans.push(Span::styled(
            format!(
                " · /{}/ {count} match{}",
                search.pattern,
                if count == 1 { "" } else { "es" }
            ),
            Style::new().fg(theme.warn.0),
        ));
        if view.filter {
            spans.push(Span::styled(
                format!(" · filter ±{}", view.context),
                Style::new().fg(theme.warn.0),
            ));
        }
    }
    let toggles = [
        (view.timestamps, "time"),
        (view.wrap, "wrap"),
        (!view.show_stdout, "no stdout"),
        (!view.show_stderr, "no stderr"),
    ];
    for (on, name) in toggles {
        if on {
            spans.push(Span::styled(format!(" · {name}"), muted(theme)));
        }
    }
    if let Some(status) = &view.status {
        spans.push(Span::styled(
            format!(" · {status}"),
            Style::new().fg(theme.crit.0),
        ));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// One log line as screen rows: timestamp, source tag, stderr mark, then the text with its
/// own colours and the search highlights; cut to the width, or wrapped.
fn layout_line(
    state: &State,
    view: &LogView,
    line: &LogLine,
    selected: bool,
    width: usize,
) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let palette = [
        theme.accent.0,
        theme.ok.0,
        theme.staging.0,
        theme.no_limit.0,
        theme.prod.0,
        theme.fg.0,
    ];
    let mut spans: Vec<Span<'static>> = Vec::new();
    if view.timestamps {
        let time = line.time.map_or("--:--:--.---".to_string(), |t| {
            t.format("%H:%M:%S%.3f").to_string()
        });
        spans.push(Span::styled(format!("{time} "), muted(theme)));
    }
    if view.buffer.sources().len() > 1 {
        let color = palette[usize::from(line.source) % palette.len()];
        spans.push(Span::styled(
            format!("{} ", view.buffer.source_name(line.source)),
            Style::new().fg(color),
        ));
    }
    if line.stream == Stream::Stderr {
        spans.push(Span::styled(
            "┃",
            Style::new().fg(theme.crit.0).add_modifier(Modifier::BOLD),
        ));
    } else {
        spans.push(Span::raw(" "));
    }
    let base = if line.stream == Stream::Stderr {
        Style::new().fg(theme.crit.0)
    } else {
        Style::new().fg(theme.fg.0)
    };
    let highlight = Style::new()
        .fg(theme.header_fg.0)
        .bg(theme.warn.0)
        .add_modifier(Modifier::BOLD);
    let matches = view
        .search
        .as_ref()
        .map(|s| s.ranges(&line.text))
        .unwrap_or_default();
    spans.extend(styled_text(&line.text, base, line, &matches, highlight));
    if selected {
        for span in &mut spans {
            span.style = span.style.bg(theme.selected_bg.0);
        }
    }
    if view.wrap {
        wrap(spans, width)
    } else {
        vec![Line::from(cut(spans, width))]
    }
}

/// The text split where its colour spans or the search matches begin and end.
fn styled_text(
    text: &str,
    base: Style,
    line: &LogLine,
    matches: &[std::ops::Range<usize>],
    highlight: Style,
) -> Vec<Span<'static>> {
    if line.spans.is_empty() && matches.is_empty() {
        return vec![Span::styled(text.to_string(), base)];
    }
    let mut cuts: Vec<usize> = vec![0, text.len()];
    for span in line.spans.iter() {
        cuts.extend([span.start as usize, span.end as usize]);
    }
    for m in matches {
        cuts.extend([m.start, m.end]);
    }
    cuts.retain(|&c| c <= text.len() && text.is_char_boundary(c));
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|pair| {
            let (start, end) = (pair[0], pair[1]);
            let mut style = base;
            if let Some(span) = line
                .spans
                .iter()
                .find(|s| (s.start as usize) <= start && start < s.end as usize)
            {
                style = style.patch(span.style);
            }
            if matches.iter().any(|m| m.start <= start && start < m.end) {
                style = style.patch(highlight);
            }
            Span::styled(text[start..end].to_string(), style)
        })
        .collect()
}

/// Spans cut to `width` columns: a 1 MB line costs no more than a short one.
fn cut(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut rows = wrap_limited(spans, width, 1);
    rows.pop().map(|line| line.spans).unwrap_or_default()
}

fn wrap(spans: Vec<Span<'static>>, width: usize) -> Vec<Line<'static>> {
    wrap_limited(spans, width, usize::MAX)
}

/// Splits spans into rows of `width` columns, at most `max_rows` of them.
fn wrap_limited(spans: Vec<Span<'static>>, width: usize, max_rows: usize) -> Vec<Line<'static>> {
    let mut rows: Vec<Line<'static>> = Vec::new();
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    'outer: for span in spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                if !piece.is_empty() {
                    row.push(Span::styled(std::mem::take(&mut piece), span.style));
                }
                rows.push(Line::from(std::mem::take(&mut row)));
                used = 0;
                if rows.len() >= max_rows {
                    break 'outer;
                }
            }
            piece.push(c);
            used += w;
        }
        if !piece.is_empty() {
            row.push(Span::styled(piece, span.style));
        }
    }
    if !row.is_empty() && rows.len() < max_rows {
        rows.push(Line::from(row));
    }
    if rows.is_empty() {
        rows.push(Line::raw(""));
    }
    rows
}
