//! The fleet view: one row per service, grouped by project, and sparklines of the selected one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Sparkline, Table};

use super::format::{bar, cores, image_tag, mib, percent, since};
use super::{base, block, env_badge, health_span, level_color, muted, no_limit, state_span};
use crate::app::{DisplayRow, SortColumn, State, display_rows};
use crate::model::{Health, Service, ServiceState};

/// A column of the table: its title, widths, what it sorts by and when it is dropped.
struct Column {
    title: &'static str,
    width: u16,
    /// Dropped first when the terminal is narrow: higher goes first.
    drop_order: u8,
    sort: Option<SortColumn>,
    cell: fn(&State, &Service, u16) -> Line<'static>,
}

const GAUGE_WIDE: u16 = 11;
const GAUGE_NARROW: u16 = 4;
const NAME_MIN: u16 = 12;
const ROUTE_DROP: u8 = 7;

fn columns(name_width: u16) -> Vec<Column> {
    vec![
        Column {
            title: "SERVICE",
            width: name_width,
            drop_order: 0,
            sort: Some(SortColumn::Name),
            cell: name_cell,
        },
        Column {
            title: "ENV",
            width: 4,
            drop_order: 3,
            sort: Some(SortColumn::Name),
            cell: |s, svc, _| Line::from(env_badge(&s.theme, svc.env)),
        },
        Column {
            title: "STATE",
            width: 10,
            drop_order: 1,
            sort: Some(SortColumn::State),
            cell: |s, svc, _| Line::from(state_span(&s.theme, svc.state)),
        },
        Column {
            title: "HEALTH",
            width: 11,
            drop_order: 3,
            sort: Some(SortColumn::Health),
            cell: |s, svc, _| Line::from(health_span(&s.theme, svc.health)),
        },
        Column {
            title: "REPL",
            width: 4,
            drop_order: 2,
            sort: Some(SortColumn::Replicas),
            cell: replicas_cell,
        },
        Column {
            title: "CPU cores",
            width: 13,
            drop_order: 0,
            sort: Some(SortColumn::Cpu),
            cell: cpu_cell,
        },
        Column {
            title: "CPU%",
            width: GAUGE_WIDE,
            drop_order: 0,
            sort: Some(SortColumn::CpuOfLimit),
            cell: |s, svc, w| gauge(s, svc.cpu_of_limit(), w),
        },
        Column {
            title: "MEM MiB",
            width: 13,
            drop_order: 0,
            sort: Some(SortColumn::Memory),
            cell: memory_cell,
        },
        Column {
            title: "MEM%",
            width: GAUGE_WIDE,
            drop_order: 0,
            sort: Some(SortColumn::MemoryOfLimit),
            cell: |s, svc, w| gauge(s, svc.memory_of_limit(), w),
        },
        Column {
            title: "RST",
            width: 3,
            drop_order: 4,
            sort: Some(SortColumn::Restarts),
            cell: restarts_cell,
        },
        Column {
            title: "UPTIME",
            width: 6,
            drop_order: 5,
            sort: Some(SortColumn::Uptime),
            cell: |s, svc, _| Line::raw(since(svc.started_at, s.now)),
        },
        Column {
            title: "ROUTE",
            width: 18,
            drop_order: ROUTE_DROP,
            sort: None,
            cell: |s, svc, _| Line::styled(svc.route.clone().unwrap_or_default(), muted(&s.theme)),
        },
        Column {
            title: "IMAGE",
            width: 14,
            drop_order: 6,
            sort: Some(SortColumn::Image),
            cell: |_, svc, _| Line::raw(image_tag(&svc.image).to_string()),
        },
    ]
}

/// Fits the columns into `width`: narrows the gauges, then drops columns by `drop_order`,
/// and gives what is left to the last one.
fn fit(mut columns: Vec<Column>, width: u16) -> Vec<Column> {
    let total = |cols: &[Column]| cols.iter().map(|c| c.width + 1).sum::<u16>();
    // Routes go before the gauges narrow: a bar says more at a glance.
    if total(&columns) > width {
        columns.retain(|c| c.drop_order < ROUTE_DROP);
    }
    if total(&columns) > width {
        for column in columns.iter_mut().filter(|c| c.title.ends_with('%')) {
            column.width = GAUGE_NARROW;
        }
    }
    while total(&columns) > width {
        let Some(drop) = columns
            .iter()
            .map(|c| c.drop_order)
            .max()
            .filter(|d| *d > 0)
        else {
            break;
        };
        if let Some(index) = columns.iter().rposition(|c| c.drop_order == drop) {
            columns.remove(index);
        }
    }
    // Without a HEALTH column, STATE says both: health when it has one, else the state.
    if !columns.iter().any(|c| c.title == "HEALTH")
        && let Some(state) = columns.iter_mut().find(|c| c.title == "STATE")
    {
        state.width = 11;
        state.cell = status_cell;
    }
    let overflow = total(&columns).saturating_sub(width);
    if let Some(name) = columns.first_mut() {
        name.width = name.width.saturating_sub(overflow).max(NAME_MIN);
    }
    // Room left after dropping columns goes back to the gauges first.
    let narrowed = columns
        .iter()
        .filter(|c| c.title.ends_with('%') && c.width == GAUGE_NARROW)
        .count() as u16;
    if narrowed > 0
        && width.saturating_sub(total(&columns)) >= narrowed * (GAUGE_WIDE - GAUGE_NARROW)
    {
        for column in columns.iter_mut().filter(|c| c.title.ends_with('%')) {
            column.width = GAUGE_WIDE;
        }
    }
    let spare = width.saturating_sub(total(&columns));
    if let Some(last) = columns.last_mut() {
        last.width += spare;
    }
    columns
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let [table_area, spark_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
    let sort_mark = if state.descending { "↓" } else { "↑" };
    let title = Line::from(vec![
        Span::raw(" Fleet "),
        Span::styled(
            format!(
                "[{}/{}] sort: {} {} ",
                state.rows.len(),
                state.services.len(),
                state.sort.name(),
                sort_mark
            ),
            muted(theme),
        ),
    ]);
    let outer = block(theme, title);
    let inner = outer.inner(table_area);
    frame.render_widget(outer, table_area);

    if state.services.is_empty() {
        let text = if state.snapshot.is_none() {
            "Connecting to the engine…"
        } else {
            "No containers on this engine. Start some (docker compose up -d) and they appear here."
        };
        frame.render_widget(Paragraph::new(Line::styled(text, muted(theme))), inner);
        return;
    }

    let name_width = state
        .services
        .iter()
        .map(|s| s.key.name.chars().count() as u16 + 2)
        .max()
        .unwrap_or(10)
        .clamp(12, 30);
    let columns = fit(columns(name_width), inner.width);
    let header_style = Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD);
    let header = Row::new(columns.iter().map(|c| {
        let active = c.sort == Some(state.sort) && c.title != "ENV";
        let title = if active {
            format!("{}{sort_mark}", c.title)
        } else {
            c.title.to_string()
        };
        Line::styled(
            title,
            if active {
                header_style.add_modifier(Modifier::UNDERLINED)
            } else {
                header_style
            },
        )
    }));

    let lines = display_rows(&state.services, &state.rows);
    let visible = usize::from(inner.height.saturating_sub(1));
    let selected_line = lines
        .iter()
        .position(|l| matches!(l, DisplayRow::Service { row, .. } if *row == state.selected))
        .unwrap_or(0);
    let mut offset = state
        .layout
        .offset
        .get()
        .min(lines.len().saturating_sub(visible));
    if selected_line < offset {
        // Keep the project heading in view when moving up to its first service.
        offset = selected_line.saturating_sub(1);
    } else if selected_line >= offset + visible {
        offset = selected_line + 1 - visible;
    }
    record_layout(state, inner, offset, &columns);

    let rows = lines
        .iter()
        .skip(offset)
        .take(visible)
        .map(|line| match *line {
            // Drawn across the whole row below, not clipped to the first column.
            DisplayRow::Project { .. } => Row::new([Line::raw("")]),
            DisplayRow::Service { row, service } => {
                let service = &state.services[service];
                let cells = columns.iter().map(|c| (c.cell)(state, service, c.width));
                let row_widget = Row::new(cells);
                if row == state.selected {
                    row_widget.style(Style::new().bg(theme.selected_bg.0).fg(theme.selected_fg.0))
                } else {
                    row_widget
                }
            }
        });
    let widths: Vec<Constraint> = columns
        .iter()
        .map(|c| Constraint::Length(c.width))
        .collect();
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    frame.render_widget(table, inner);
    for (index, line) in lines.iter().skip(offset).take(visible).enumerate() {
        if let DisplayRow::Project { service, count } = *line {
            let project = state.services[service].key.project_label().to_string();
            let heading = Line::from(vec![
                Span::styled(
                    format!("▾ {project}"),
                    base(theme).add_modifier(Modifier::BOLD),
                ),
                Span::styled(format!(" ({count})"), muted(theme)),
            ]);
            let row = Rect::new(inner.x, inner.y + 1 + index as u16, inner.width, 1);
            frame.render_widget(Paragraph::new(heading), row);
        }
    }

    render_sparklines(frame, spark_area, state);
}

fn record_layout(state: &State, inner: Rect, offset: usize, columns: &[Column]) {
    state.layout.area.set(inner);
    state.layout.offset.set(offset);
    let mut header = [(0, 0, None); 16];
    let mut x = inner.x;
    for (slot, column) in header.iter_mut().zip(columns) {
        *slot = (x, x + column.width + 1, column.sort);
        x += column.width + 1;
    }
    state.layout.header.set(header);
}

fn status_cell(state: &State, service: &Service, _: u16) -> Line<'static> {
    if service.state == ServiceState::Running && service.health != Health::None {
        Line::from(health_span(&state.theme, service.health))
    } else {
        Line::from(state_span(&state.theme, service.state))
    }
}

/// The service name, its environment suffix in the environment's colour, so prod and staging
/// of an app read apart at a glance even when the ENV column does not fit.
fn name_cell(state: &State, service: &Service, width: u16) -> Line<'static> {
    let theme = &state.theme;
    let style = if service.replicas_running == 0 {
        muted(theme)
    } else {
        base(theme).add_modifier(Modifier::BOLD)
    };
    let name = &service.key.name;
    let room = usize::from(width).saturating_sub(2);
    let suffix = match service.env {
        Some(_) if service.key.project.is_some() => &name[service.app.len()..],
        _ => "",
    };
    // Too long: shorten the app part, never the environment suffix.
    let app = &name[..name.len() - suffix.len()];
    let app_room = room.saturating_sub(suffix.chars().count());
    let app_shown = if app.chars().count() <= app_room {
        app.to_string()
    } else {
        let keep: String = app.chars().take(app_room.saturating_sub(1)).collect();
        format!("{keep}…")
    };
    let mut spans = vec![Span::raw("  "), Span::styled(app_shown, style)];
    if !suffix.is_empty() {
        spans.push(Span::styled(
            suffix.to_string(),
            env_badge(theme, service.env).style,
        ));
    }
    Line::from(spans)
}

fn replicas_cell(state: &State, service: &Service, _: u16) -> Line<'static> {
    let text = format!("{}/{}", service.replicas_running, service.replicas_total);
    let color = if service.replicas_running == service.replicas_total {
        state.theme.fg.0
    } else {
        state.theme.warn.0
    };
    Line::styled(text, Style::new().fg(color))
}

fn restarts_cell(state: &State, service: &Service, _: u16) -> Line<'static> {
    let color = if service.restarts > 0 {
        state.theme.warn.0
    } else {
        state.theme.fg.0
    };
    Line::styled(service.restarts.to_string(), Style::new().fg(color))
}

fn used<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map_or_else(|| "-".to_string(), show)
}

fn cpu_cell(state: &State, service: &Service, _: u16) -> Line<'static> {
    let used = used(service.cpu_percent, cores);
    match service.cpu_limit_cores {
        Some(limit) => Line::raw(format!("{used}/{limit:.2}")),
        None => Line::from(vec![Span::raw(format!("{used}/")), no_limit(&state.theme)]),
    }
}

fn memory_cell(state: &State, service: &Service, _: u16) -> Line<'static> {
    let used = used(service.memory_bytes, mib);
    match service.memory_limit_bytes {
        Some(limit) => Line::raw(format!("{used}/{}", mib(limit))),
        None => Line::from(vec![Span::raw(format!("{used}/")), no_limit(&state.theme)]),
    }
}

/// `▰▰▱▱▱ 42%` when wide, `42%` when narrow, coloured by threshold; `-` without a limit.
fn gauge(state: &State, share: Option<f64>, width: u16) -> Line<'static> {
    let Some(share) = share else {
        return Line::styled("-", muted(&state.theme));
    };
    let style = Style::new().fg(level_color(state, share));
    if width >= GAUGE_WIDE {
        Line::styled(format!("{} {:>4}", bar(share, 5), percent(share)), style)
    } else {
        Line::styled(percent(share), style)
    }
}

fn render_sparklines(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let [cpu_area, memory_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let Some(service) = state.selected_service() else {
        return;
    };
    let history = state.history.get(&service.key);
    let cpu_title = match service.cpu_limit_cores {
        Some(limit) => format!(
            " CPU {} · {} cores of {limit:.2} ",
            service.key.name,
            used(service.cpu_percent, cores)
        ),
        None => format!(
            " CPU {} · {} cores, no limit ",
            service.key.name,
            used(service.cpu_percent, cores)
        ),
    };
    let memory_title = match service.memory_limit_bytes {
        Some(limit) => format!(
            " MEM {} of {} MiB ",
            used(service.memory_bytes, mib),
            mib(limit)
        ),
        None => format!(" MEM {} MiB, no limit ", used(service.memory_bytes, mib)),
    };
    let width = usize::from(cpu_area.width.saturating_sub(2));
    // Scaled to the limit, so a full sparkline means "at the limit"; without a limit, to the
    // whole host, which is what such a service can take.
    let host = state.snapshot.as_ref().map(|s| &s.host);
    let host_cores = host.map_or(1.0, |h| f64::from(h.cpus.max(1)));
    let cpu_max = (service.cpu_limit_cores.unwrap_or(host_cores) * 100.0) as u64;
    let memory_max = service
        .memory_limit_bytes
        .or(host.map(|h| h.memory_bytes))
        .unwrap_or(1)
        >> 10;
    let cpu: Vec<u64> = history
        .map(|h| {
            h.cpu
                .iter()
                .rev()
                .take(width)
                .rev()
                .map(|v| (*v * 10.0) as u64)
                .collect()
        })
        .unwrap_or_default();
    let memory: Vec<u64> = history
        .map(|h| {
            h.memory
                .iter()
                .rev()
                .take(width)
                .rev()
                .map(|v| *v >> 10)
                .collect()
        })
        .unwrap_or_default();
    let cpu_spark = Sparkline::default()
        .data(&cpu)
        .style(Style::new().fg(level_color(state, service.cpu_of_limit().unwrap_or(0.0))))
        .block(block(theme, cpu_title));
    let cpu_spark = cpu_spark.max((cpu_max * 10).max(1));
    let memory_spark = Sparkline::default()
        .data(&memory)
        .style(Style::new().fg(level_color(state, service.memory_of_limit().unwrap_or(0.0))))
        .block(block(theme, memory_title));
    let memory_spark = memory_spark.max(memory_max.max(1));
    frame.render_widget(cpu_spark, cpu_area);
    frame.render_widget(memory_spark, memory_area);
}
