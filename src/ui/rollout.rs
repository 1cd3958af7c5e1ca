//! The confirm dialog before a rollback and the rollout's progress, over the current view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::{base, block, muted};
use crate::app::{Dialog, Rollout, State};

/// A box in the middle of `area`, as tall as `lines` are once wrapped to its width.
fn popup(area: Rect, lines: &[Line]) -> Rect {
    let width = 96.min(area.width);
    let inner = usize::from(width.saturating_sub(2)).max(1);
    // Wrapping at words can take a line more than the characters alone would.
    let wrapped: usize = lines
        .iter()
        .map(|l| match l.width() {
            w if w > inner => w.div_ceil(inner) + 1,
            _ => 1,
        })
        .sum();
    let height = u16::try_from(wrapped + 2).unwrap_or(u16::MAX);
    let [column] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(column);
    popup
}

pub fn render_dialog(frame: &mut Frame, area: Rect, state: &State, dialog: &Dialog) {
    let theme = &state.theme;
    let mut lines: Vec<Line> = dialog
        .lines
        .iter()
        .map(|l| Line::styled(l.clone(), base(theme)))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "y / Enter: go ahead   ·   n / Esc: cancel (nothing changes)",
        Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD),
    ));
    let area = popup(area, &lines);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(theme, format!(" {} ", dialog.title)).style(base(theme))),
        area,
    );
}

pub fn render_rollout(frame: &mut Frame, area: Rect, state: &State, rollout: &Rollout) {
    let theme = &state.theme;
    const SHOWN: usize = 12;
    let mut lines: Vec<Line> = rollout
        .lines
        .iter()
        .skip(rollout.lines.len().saturating_sub(SHOWN))
        .map(|l| Line::styled(l.clone(), muted(theme)))
        .collect();
    lines.push(Line::raw(""));
    lines.push(match &rollout.done {
        None => Line::styled(
            "… in progress (Esc hides this; the end is shown when it comes)",
            Style::new().fg(theme.warn.0),
        ),
        Some((true, summary)) => Line::styled(
            format!("✓ {summary}"),
            Style::new().fg(theme.ok.0).add_modifier(Modifier::BOLD),
        ),
        Some((false, summary)) => Line::styled(
            format!("✗ {summary}"),
            Style::new().fg(theme.crit.0).add_modifier(Modifier::BOLD),
        ),
    });
    let area = popup(area, &lines);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(theme, format!(" {} ", rollout.title)).style(base(theme))),
        area,
    );
}
