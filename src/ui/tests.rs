//! Screen snapshots on ratatui's TestBackend, plus the colours of key cells (text snapshots
//! do not show colour).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use crate::app::{Msg, State, View, update};
use crate::backend::BackendEvent;
use crate::config::Theme;
use crate::fixtures::{evergreen, now, state_with};
use crate::model::ConnectionState;

fn render(state: &State, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| super::draw(frame, state))
        .expect("draw");
    terminal.backend().buffer().clone()
}

fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Position of the first cell of `needle` on screen.
fn find(buffer: &Buffer, needle: &str) -> (u16, u16) {
    let screen = text(buffer);
    for (y, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count();
            return (x as u16, y as u16);
        }
    }
    panic!("`{needle}` is not on screen:\n{screen}");
}

fn fg_at(buffer: &Buffer, needle: &str) -> Color {
    let (x, y) = find(buffer, needle);
    buffer[(x, y)].fg
}

fn with_history(mut state: State) -> State {
    for i in 0..40 {
        let snapshot = evergreen();
        let mut usage = (*snapshot.usage).clone();
        if let Some(sample) = usage.get_mut("a1") {
            sample.cpu_percent = 5.0 + (i % 10) as f64 * 4.0;
        }
        let snapshot = crate::model::FleetSnapshot {
            usage: std::sync::Arc::new(usage),
            ..snapshot
        };
        update(
            &mut state,
            Msg::Backend(
                BackendEvent::Snapshot(Box::new(snapshot)),
                chrono::Utc::now(),
            ),
        );
    }
    state.now = now();
    state.received_at = Some(now());
    state
}

#[test]
fn fleet_view() {
    let state = with_history(state_with(Some(evergreen())));
    insta::assert_snapshot!(text(&render(&state, 150, 30)));
}

#[test]
fn fleet_view_80x24() {
    let state = state_with(Some(evergreen()));
    insta::assert_snapshot!(text(&render(&state, 80, 24)));
}

#[test]
fn fleet_view_empty_engine() {
    let mut state = state_with(Some(crate::model::FleetSnapshot {
        host: crate::fixtures::host(),
        ..Default::default()
    }));
    state.now = now();
    insta::assert_snapshot!(text(&render(&state, 100, 16)));
}

#[test]
fn engine_unreachable() {
    let mut state = state_with(None);
    update(
        &mut state,
        Msg::Backend(BackendEvent::Connection(ConnectionState::Disconnected {
            error: "cannot reach the Docker engine at unix:///var/run/docker.sock: No such file or directory (os error 2)".into(),
            since: now() - chrono::Duration::seconds(7),
        }),
chrono::Utc::now()),
    );
    let screen = text(&render(&state, 100, 20));
    assert!(screen.contains("unix:///var/run/docker.sock"));
    assert!(screen.contains("systemctl start docker"));
    insta::assert_snapshot!(screen);
}

#[test]
fn disconnected_with_old_data_says_how_old() {
    let mut state = state_with(Some(evergreen()));
    update(
        &mut state,
        Msg::Backend(
            BackendEvent::Connection(ConnectionState::Disconnected {
                error: "connection reset".into(),
                since: now(),
            }),
            chrono::Utc::now(),
        ),
    );
    update(&mut state, Msg::Tick(now() + chrono::Duration::seconds(42)));
    let screen = text(&render(&state, 140, 20));
    assert!(
        screen.contains("DISCONNECTED for 42s, showing data 42s old"),
        "{screen}"
    );
    assert!(
        screen.contains("gradestatsweb-prod"),
        "the old data stays on screen"
    );
}

#[test]
fn detail_view_masks_secrets_until_revealed() {
    let mut state = state_with(Some(evergreen()));
    let key = state
        .services
        .iter()
        .find(|s| s.key.name == "gradestatsweb-prod")
        .map(|s| s.key.clone())
        .expect("prod");
    state.view = View::Detail(key);
    let masked = text(&render(&state, 120, 44));
    assert!(!masked.contains("hunter2"), "{masked}");
    insta::assert_snapshot!(masked);
    state.reveal_env = true;
    assert!(text(&render(&state, 120, 44)).contains("SESSION_SECRET=hunter2"));
}

#[test]
fn light_theme() {
    let mut state = state_with(Some(evergreen()));
    state.theme = Theme::built_in("light").expect("light theme");
    let buffer = render(&state, 150, 30);
    insta::assert_snapshot!(text(&buffer));
    assert_eq!(
        buffer[(0, 5)].bg,
        state.theme.bg.0,
        "the light background is painted"
    );
    assert_eq!(fg_at(&buffer, "✗ unhealthy"), state.theme.crit.0);
}

#[test]
fn help_overlay() {
    let mut state = state_with(Some(evergreen()));
    state.show_help = true;
    insta::assert_snapshot!(text(&render(&state, 100, 30)));
}

#[test]
fn key_cells_have_their_colours() {
    let state = state_with(Some(evergreen()));
    let theme = &state.theme;
    let buffer = render(&state, 150, 30);
    assert_eq!(
        fg_at(&buffer, "no limit"),
        theme.no_limit.0,
        "no limit stands out"
    );
    assert_eq!(fg_at(&buffer, "✗ unhealthy"), theme.crit.0);
    assert_eq!(fg_at(&buffer, "✓ healthy"), theme.ok.0);
    assert_eq!(fg_at(&buffer, "PROD"), theme.prod.0);
    assert_eq!(fg_at(&buffer, "STG"), theme.staging.0);
    assert_eq!(fg_at(&buffer, "OVER-COMMITTED"), theme.header_fg.0);
    // thumbnailer runs at 98% of its CPU limit: critical.
    assert_eq!(fg_at(&buffer, "▰▰▰▰▰  98%"), theme.crit.0);
}

#[test]
fn threshold_colours() {
    let state = state_with(None);
    let theme = &state.theme;
    assert_eq!(super::level_color(&state, 10.0), theme.ok.0);
    assert_eq!(super::level_color(&state, 69.9), theme.ok.0);
    assert_eq!(super::level_color(&state, 70.0), theme.warn.0);
    assert_eq!(super::level_color(&state, 89.9), theme.warn.0);
    assert_eq!(super::level_color(&state, 90.0), theme.crit.0);
    assert_eq!(super::level_color(&state, 250.0), theme.crit.0);
}

#[test]
fn detail_says_why_a_health_check_fails() {
    let mut state = state_with(Some(evergreen()));
    let key = state
        .services
        .iter()
        .find(|s| s.key.name == "flaky-api")
        .map(|s| s.key.clone())
        .expect("flaky-api");
    state.view = View::Detail(key);
    let buffer = render(&state, 120, 44);
    let screen = text(&buffer);
    assert!(
        screen.contains("exit 1: wget: can't connect to remote host"),
        "{screen}"
    );
    assert_eq!(fg_at(&buffer, "exit 1:"), state.theme.crit.0);
}

/// A log view on two replicas: interleaved lines, one stderr, one coloured.
fn log_state() -> State {
    use crate::logs::LogEvent;
    use crate::logs::{LogBatch, PendingLine, Stream};
    let mut state = state_with(Some(evergreen()));
    let mut view = crate::app::LogView::new("evergreen/monoweb-prod".into(), 1, 1000);
    for i in 0..40u32 {
        let source = if i % 2 == 0 {
            "monoweb-prod.1"
        } else {
            "monoweb-prod.2"
        };
        let time = now() + chrono::Duration::milliseconds(i64::from(i) * 250);
        let (stream, raw) = match i {
            7 => (
                Stream::Stderr,
                "Error: connect ECONNREFUSED 10.0.0.5:5432".to_string(),
            ),
            12 => (
                Stream::Stdout,
                "\x1b[32mGET\x1b[0m /health 200 1ms".to_string(),
            ),
            _ => (
                Stream::Stdout,
                format!("GET /api/events/{i} 200 {}ms", 10 + i),
            ),
        };
        view.on_event(LogEvent::Batch(LogBatch {
            source: source.into(),
            lines: vec![PendingLine::new(Some(time), stream, raw.as_bytes())],
        }));
    }
    state.logs = Some(view);
    state.view = View::Logs(Box::new(View::Fleet));
    state
}

#[test]
fn log_view_following() {
    let state = log_state();
    let buffer = render(&state, 100, 20);
    let screen = text(&buffer);
    assert!(screen.contains("FOLLOWING"), "{screen}");
    assert!(
        screen.contains("GET /api/events/39"),
        "the newest line is in view:\n{screen}"
    );
    insta::assert_snapshot!(screen);
    assert_eq!(
        fg_at(&buffer, "monoweb-prod.2"),
        state.theme.ok.0,
        "replicas have their own colour"
    );
}

#[test]
fn log_view_paused_with_timestamps() {
    let mut state = log_state();
    if let Some(view) = state.logs.as_mut() {
        view.timestamps = true;
        view.move_by(-30);
    }
    let buffer = render(&state, 100, 20);
    let screen = text(&buffer);
    assert!(screen.contains("PAUSED"), "{screen}");
    insta::assert_snapshot!(screen);
    // The selected line is highlighted; stderr is marked and coloured.
    let (_, y) = find(&buffer, "/api/events/9 ");
    assert_eq!(buffer[(3, y)].bg, state.theme.selected_bg.0);
    assert_eq!(fg_at(&buffer, "Error: connect"), state.theme.crit.0);
}

#[test]
fn log_view_search_highlights_matches() {
    let mut state = log_state();
    if let Some(view) = state.logs.as_mut() {
        view.set_search(Some(
            crate::logs::Search::new(r"events/3\d").expect("valid"),
        ));
    }
    let buffer = render(&state, 100, 20);
    let screen = text(&buffer);
    assert!(screen.contains("/events/3\\d/ 10 matches"), "{screen}");
    insta::assert_snapshot!(screen);
    assert_eq!(
        buffer[find(&buffer, "events/35")].bg,
        state.theme.warn.0,
        "matches are highlighted"
    );
    assert_eq!(
        buffer[find(&buffer, "GET /api/events/35")].bg,
        ratatui::style::Color::Reset
    );
}

#[test]
fn log_view_filter_with_context() {
    let mut state = log_state();
    if let Some(view) = state.logs.as_mut() {
        view.set_search(Some(
            crate::logs::Search::new("econnrefused").expect("valid"),
        ));
        view.filter = true;
        view.context = 1;
    }
    let screen = text(&render(&state, 100, 20));
    assert!(
        screen.contains("events/6 ")
            && screen.contains("ECONNREFUSED")
            && screen.contains("events/8 ")
    );
    assert!(
        !screen.contains("events/5 ") && !screen.contains("events/9 "),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn log_view_invalid_regex_is_inline() {
    let mut state = log_state();
    for key in ['/', 't', 'i', 'm', 'e', 'o', 'u', 't', '('] {
        crate::app::update(
            &mut state,
            Msg::Key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char(key),
                crossterm::event::KeyModifiers::NONE,
            )),
        );
    }
    let buffer = render(&state, 100, 20);
    let screen = text(&buffer);
    assert!(
        screen.contains("/timeout(█  ✗ invalid regex: unclosed group"),
        "{screen}"
    );
    assert_eq!(fg_at(&buffer, "✗ invalid regex"), state.theme.crit.0);
    insta::assert_snapshot!(screen);
}

#[test]
fn a_huge_line_renders_quickly_and_cut() {
    use crate::logs::LogEvent;
    use crate::logs::{LogBatch, PendingLine, Stream};
    let mut state = log_state();
    let huge = "x".repeat(1 << 20);
    if let Some(view) = state.logs.as_mut() {
        view.on_event(LogEvent::Batch(LogBatch {
            source: "monoweb-prod.1".into(),
            lines: vec![PendingLine::new(None, Stream::Stdout, huge.as_bytes())],
        }));
        view.wrap = true;
    }
    let start = std::time::Instant::now();
    let screen = text(&render(&state, 100, 20));
    assert!(
        start.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert!(screen.contains("xxxxxxxx"), "{screen}");
}

mod ecs {
    use super::*;
    use crate::app::Effect;
    use crate::backend::ecs::Section;
    use crate::backend::session::SessionScope;
    use crate::fixtures::{ecs_snapshot, ecs_state};
    use crossterm::event::{KeyCode, KeyEvent};

    fn press(state: &mut State, code: KeyCode) -> Vec<Effect> {
        update(state, Msg::Key(KeyEvent::from(code)))
    }

    #[test]
    fn services_show_reserved_used_targets_and_rollouts() {
        let state = ecs_state(ecs_snapshot());
        let screen = render(&state, 160, 20);
        insta::assert_snapshot!("ecs_services", text(&screen));
        assert_eq!(fg_at(&screen, "1/2 healthy"), state.theme.warn.0);
        assert_eq!(fg_at(&screen, "IN_PROGRESS"), state.theme.warn.0);
    }

    #[test]
    fn a_service_drills_down_to_tasks_containers_and_target_health() {
        let mut state = ecs_state(ecs_snapshot());
        press(&mut state, KeyCode::Enter);
        assert_eq!(state.view, View::EcsService("gradestats-web-prod".into()));
        press(&mut state, KeyCode::Down);
        let screen = render(&state, 160, 40);
        insta::assert_snapshot!("ecs_service", text(&screen));
        assert_eq!(
            fg_at(&screen, "unhealthy (ResponseCodeMismatch)"),
            state.theme.crit.0
        );
        // `s` on the selected task asks for ECS Exec into its container.
        let effects = press(&mut state, KeyCode::Char('s'));
        let [
            Effect::Session(SessionScope::Task {
                service,
                task,
                container,
                command,
                ..
            }),
        ] = effects.as_slice()
        else {
            panic!("not ECS Exec: {effects:?}");
        };
        assert_eq!(
            service.as_ref().map(|s| s.name.as_str()),
            Some("gradestats-web-prod")
        );
        assert_eq!(
            (task.id.as_str(), container.as_str(), command.as_str()),
            ("9b2f40aa11c3", "web", "/bin/sh")
        );
    }

    #[test]
    fn nodes_show_registered_and_reserved_side_by_side() {
        let mut state = ecs_state(ecs_snapshot());
        press(&mut state, KeyCode::Char('n'));
        let screen = render(&state, 160, 12);
        insta::assert_snapshot!("ecs_nodes", text(&screen));
        assert_eq!(fg_at(&screen, "✗ LOST"), state.theme.crit.0);
        press(&mut state, KeyCode::Down);
        let effects = press(&mut state, KeyCode::Char('s'));
        let [Effect::Session(SessionScope::Node(node))] = effects.as_slice() else {
            panic!("not an SSM session: {effects:?}");
        };
        assert_eq!(node.instance_id, "i-0b22a22eec53b9321");
    }

    #[test]
    fn a_throttled_part_shows_its_error_and_keeps_the_last_good_data() {
        let mut state = ecs_state(ecs_snapshot());
        let mut throttled = ecs_snapshot();
        throttled.tasks = None;
        throttled.errors.insert(
            Section::Tasks,
            "ListTasks failed: ThrottlingException: Rate exceeded".into(),
        );
        update(
            &mut state,
            Msg::Backend(BackendEvent::Ecs(Box::new(throttled)), chrono::Utc::now()),
        );
        state.now = now();
        if let Some(ecs) = state.ecs.as_mut() {
            ecs.data.updated_at = Some(now());
        }
        press(&mut state, KeyCode::Enter);
        let screen = render(&state, 160, 40);
        insta::assert_snapshot!("ecs_service_throttled", text(&screen));
        let shown = text(&screen);
        assert!(shown.contains("ThrottlingException"), "{shown}");
        assert!(
            shown.contains("3e7a9c2d4f01"),
            "the last tasks stay: {shown}"
        );
    }
}

mod capacity {
    use super::*;
    use crate::fixtures::{ecs_snapshot, ecs_state};
    use crossterm::event::{KeyCode, KeyEvent};

    fn command(state: &mut State, text: &str) {
        update(state, Msg::Key(KeyEvent::from(KeyCode::Char(':'))));
        for c in text.chars() {
            update(state, Msg::Key(KeyEvent::from(KeyCode::Char(c))));
        }
        update(state, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    }

    #[test]
    fn compose_capacity_shows_limits_against_the_host_and_flags_no_limit() {
        let mut state = with_history(state_with(Some(evergreen())));
        update(
            &mut state,
            Msg::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Char('c'),
            )),
        );
        assert_eq!(state.view, View::Capacity);
        let screen = render(&state, 120, 24);
        insta::assert_snapshot!("capacity_compose", text(&screen));
        assert_eq!(fg_at(&screen, "no limit "), state.theme.no_limit.0);
    }

    #[test]
    fn ecs_capacity_places_a_scale_up_and_counts_nodes() {
        let mut state = ecs_state(ecs_snapshot());
        command(&mut state, "scale gradestats-web-prod=12");
        assert_eq!(state.view, View::Capacity);
        let screen = render(&state, 140, 30);
        insta::assert_snapshot!("capacity_ecs_scale", text(&screen));
        let shown = text(&screen);
        assert!(shown.contains("does not fit"), "{shown}");
        command(&mut state, "scale nope");
        let flash = state
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default();
        assert!(flash.contains("SERVICE=N"), "{flash}");
    }
}

mod swarm {
    use super::*;
    use crate::app::Effect;
    use crate::backend::deploy::Request;
    use crate::fixtures::swarm_console_state;
    use crossterm::event::{KeyCode, KeyEvent};

    fn press(state: &mut State, code: KeyCode) -> Vec<Effect> {
        update(state, Msg::Key(KeyEvent::from(code)))
    }

    #[test]
    fn services_by_stack_with_usage_reservations_and_routes() {
        let state = swarm_console_state();
        let screen = render(&state, 160, 14);
        insta::assert_snapshot!("swarm_services", text(&screen));
        let shown = text(&screen);
        assert!(shown.contains("grades.example.edu"), "{shown}");
        assert!(shown.contains("80→80 443→443"), "{shown}");
        assert_eq!(fg_at(&screen, "1/2"), state.theme.warn.0);
    }

    #[test]
    fn a_service_lists_its_tasks_on_their_nodes_with_the_pending_reason() {
        let mut state = swarm_console_state();
        // Rows go by stack: edge, evergreen ×2, grades.
        for _ in 0..3 {
            press(&mut state, KeyCode::Down);
        }
        press(&mut state, KeyCode::Enter);
        assert_eq!(state.view, View::SwarmService("s-api".into()));
        let screen = render(&state, 160, 24);
        insta::assert_snapshot!("swarm_service", text(&screen));
        let shown = text(&screen);
        assert!(
            shown.contains("no suitable node (insufficient resources"),
            "{shown}"
        );
    }

    #[test]
    fn nodes_show_reserved_bars_used_and_why_usage_is_missing() {
        let mut state = swarm_console_state();
        press(&mut state, KeyCode::Char('n'));
        assert_eq!(state.view, View::SwarmNodes);
        let screen = render(&state, 160, 12);
        insta::assert_snapshot!("swarm_nodes", text(&screen));
        let shown = text(&screen);
        assert!(shown.contains("connection refused"), "{shown}");
        // d asks to drain the selected node (the manager comes first).
        let effects = press(&mut state, KeyCode::Char('d'));
        let [Effect::Plan(Request::Availability { node, availability })] = effects.as_slice()
        else {
            panic!("not a drain plan: {effects:?}");
        };
        assert_eq!(
            (node.as_str(), availability.as_str()),
            ("manager1", "drain")
        );
    }

    #[test]
    fn capacity_says_how_many_more_tasks_fit_on_which_node_and_why_not() {
        let mut state = swarm_console_state();
        press(&mut state, KeyCode::Char('c'));
        assert_eq!(state.view, View::Capacity);
        let screen = render(&state, 160, 16);
        insta::assert_snapshot!("swarm_capacity", text(&screen));
        let shown = text(&screen);
        // web: 0.25 cpu 256 MiB each, max 2 per node; manager1 has 1 of them (and 0.25 cpu
        // reserved), worker1 is fully reserved, worker2 drained.
        assert!(shown.contains("manager1 +1"), "{shown}");
        assert!(
            shown.contains("worker1 0 (reservations do not fit)"),
            "{shown}"
        );
        assert!(shown.contains("worker2 0 (availability drain)"), "{shown}");
        assert!(
            shown.contains("reserve nothing, so the scheduler will over-commit"),
            "{shown}"
        );
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::SwarmServices);
    }
}

/// The watcher samples first what the fleet table shows: the rows in view, every container
/// when the table is sorted by usage.
#[test]
fn on_screen_containers_are_the_rows_in_view() {
    use crate::app::{SortColumn, on_screen};
    let mut state = state_with(Some(evergreen()));
    let all: std::collections::HashSet<String> = state
        .services
        .iter()
        .flat_map(|s| s.containers.iter().cloned())
        .collect();
    render(&state, 120, 40);
    assert_eq!(on_screen(&state), Some(all.clone()));
    // Eight lines of table: a header, a project heading and six services.
    render(&state, 120, 4 + 8 + 2 + 4);
    let shown = on_screen(&state).expect("rows in view");
    assert!(!shown.is_empty() && shown.len() < all.len(), "{shown:?}");
    assert!(shown.is_subset(&all));
    state.sort = SortColumn::Cpu;
    assert_eq!(on_screen(&state), None);
}
