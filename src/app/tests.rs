use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::*;
use crate::fixtures::{Spec, container, evergreen, state_with};
use crate::model::{Env, Health, ServiceState, Usage};

fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        key(state, KeyCode::Char(c));
    }
}

fn shown(state: &State) -> Vec<String> {
    state
        .rows
        .iter()
        .map(|&i| state.services[i].key.name.clone())
        .collect()
}

#[test]
fn services_are_grouped_by_compose_labels_not_names() {
    let state = state_with(Some(evergreen()));
    let monoweb = state
        .services
        .iter()
        .find(|s| s.key.name == "monoweb-prod")
        .expect("monoweb-prod");
    assert_eq!(monoweb.replicas_total, 2);
    assert_eq!(monoweb.replicas_running, 2);
    assert_eq!(monoweb.env, Some(Env::Prod));
    assert_eq!(monoweb.app, "monoweb");
    // Two replicas of 0.5 cores and 512 MiB each.
    assert_eq!(monoweb.cpu_limit_cores, Some(1.0));
    assert_eq!(monoweb.memory_limit_bytes, Some(1024 << 20));
    assert_eq!(monoweb.cpu_percent, Some(42.0));
    let standalone = state
        .services
        .iter()
        .find(|s| s.key.project.is_none())
        .expect("standalone");
    assert_eq!(standalone.key.name, "adhoc-debug");
    assert_eq!(standalone.key.project_label(), "standalone");
}

#[test]
fn a_container_named_like_compose_without_labels_is_standalone() {
    let mut spec = Spec {
        id: "z1",
        project: None,
        service: "evergreen_web_1",
        ..Spec::default()
    };
    spec.labels = vec![];
    let services = crate::model::group_services(&[container(&spec)], &Default::default());
    assert_eq!(services[0].key.project, None);
}

#[test]
fn missing_limits_are_none_not_zero() {
    let state = state_with(Some(evergreen()));
    let cron = state
        .services
        .iter()
        .find(|s| s.key.name == "cron-worker")
        .expect("cron");
    assert_eq!(cron.cpu_limit_cores, None);
    assert_eq!(cron.memory_limit_bytes, None);
    assert_eq!(cron.cpu_of_limit(), None);
    assert!(!cron.has_limits());
}

#[test]
fn service_state_and_health_aggregate_replicas() {
    let state = state_with(Some(evergreen()));
    let by_name = |name: &str| {
        state
            .services
            .iter()
            .find(|s| s.key.name == name)
            .expect(name)
    };
    assert_eq!(by_name("flaky-api").health, Health::Unhealthy);
    assert_eq!(by_name("old-importer").state, ServiceState::Stopped);
    assert_eq!(by_name("old-importer").cpu_percent, None);
    let half = crate::model::group_services(
        &[
            container(&Spec {
                id: "r1",
                ..Spec::default()
            }),
            container(&Spec {
                id: "r2",
                number: 2,
                running: false,
                ..Spec::default()
            }),
        ],
        &HashMap::from([(
            "r1".to_string(),
            Usage {
                cpu_percent: 10.0,
                memory_bytes: 1,
            },
        )]),
    );
    assert_eq!(half[0].state, ServiceState::Degraded);
    assert_eq!((half[0].replicas_running, half[0].replicas_total), (1, 2));
    // Only the running replica's limit is allocated.
    assert_eq!(half[0].cpu_limit_cores, Some(0.5));
}

#[test]
fn projects_come_first_and_standalone_last() {
    let state = state_with(Some(evergreen()));
    let names = shown(&state);
    assert_eq!(names.last().map(String::as_str), Some("adhoc-debug"));
    let prod = names
        .iter()
        .position(|n| n == "gradestatsweb-prod")
        .expect("prod");
    let staging = names
        .iter()
        .position(|n| n == "gradestatsweb-staging")
        .expect("staging");
    assert_eq!(
        staging,
        prod + 1,
        "prod and staging of an app sit together: {names:?}"
    );
}

#[test]
fn filter_matches_service_image_and_route_and_esc_clears() {
    let mut state = state_with(Some(evergreen()));
    key(&mut state, KeyCode::Char('/'));
    type_text(&mut state, "GRADES");
    assert_eq!(
        shown(&state),
        vec!["gradestatsweb-prod", "gradestatsweb-staging"]
    );
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.filter, "GRADES");
    assert_eq!(state.prompt, None);
    // By route: only prod has a Traefik router in the fixture.
    state.filter = "grades.no".into();
    state.refresh_rows();
    assert_eq!(shown(&state), vec!["gradestatsweb-prod"]);
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.filter, "");
    assert_eq!(state.rows.len(), state.services.len());
}

#[test]
fn sort_keys_order_within_projects_and_toggle_direction() {
    let mut state = state_with(Some(evergreen()));
    key(&mut state, KeyCode::Char('C'));
    assert_eq!(state.sort, SortColumn::Cpu);
    assert!(state.descending, "CPU sorts biggest first");
    let names = shown(&state);
    assert_eq!(names[0], "monoweb-prod", "{names:?}");
    assert_eq!(
        names.last().map(String::as_str),
        Some("adhoc-debug"),
        "standalone stays last"
    );
    key(&mut state, KeyCode::Char('C'));
    assert!(!state.descending);
    // Ascending: services without a sample (stopped) come first.
    assert_eq!(shown(&state)[0], "old-importer");
    key(&mut state, KeyCode::Char('X'));
    assert_eq!(shown(&state)[0], "thumbnailer", "98% of its limit");
}

#[test]
fn selection_follows_the_service_across_refreshes_and_sorts() {
    let mut state = state_with(Some(evergreen()));
    let target = state
        .rows
        .iter()
        .position(|&i| state.services[i].key.name == "flaky-api")
        .expect("flaky-api");
    state.selected = target;
    key(&mut state, KeyCode::Char('M'));
    assert_eq!(
        state.selected_service().map(|s| s.key.name.as_str()),
        Some("flaky-api")
    );
    update(
        &mut state,
        Msg::Backend(
            BackendEvent::Snapshot(Box::new(evergreen())),
            chrono::Utc::now(),
        ),
    );
    assert_eq!(
        state.selected_service().map(|s| s.key.name.as_str()),
        Some("flaky-api")
    );
}

#[test]
fn vim_motions_stay_in_bounds() {
    let mut state = state_with(Some(evergreen()));
    key(&mut state, KeyCode::Char('k'));
    assert_eq!(state.selected, 0);
    key(&mut state, KeyCode::Char('G'));
    assert_eq!(state.selected, state.rows.len() - 1);
    key(&mut state, KeyCode::Char('j'));
    assert_eq!(state.selected, state.rows.len() - 1);
    key(&mut state, KeyCode::Char('g'));
    assert_eq!(state.selected, 0);
}

#[test]
fn enter_opens_detail_and_esc_returns() {
    let mut state = state_with(Some(evergreen()));
    key(&mut state, KeyCode::Enter);
    assert!(matches!(state.view, View::Detail(_)));
    key(&mut state, KeyCode::Char('x'));
    assert!(state.reveal_env);
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.view, View::Fleet);
}

#[test]
fn commands_switch_context_or_explain() {
    let mut state = state_with(Some(evergreen()));
    key(&mut state, KeyCode::Char(':'));
    type_text(&mut state, "ctx default");
    assert_eq!(
        key(&mut state, KeyCode::Enter),
        vec![Effect::SwitchContext("default".into())]
    );
    key(&mut state, KeyCode::Char(':'));
    type_text(&mut state, "ctx nowhere");
    assert!(key(&mut state, KeyCode::Enter).is_empty());
    let flash = state.flash.clone().expect("an error is shown");
    assert!(
        flash.error && flash.text.contains("default, evergreen"),
        "{flash:?}"
    );
    key(&mut state, KeyCode::Char(':'));
    type_text(&mut state, "sort mem desc");
    key(&mut state, KeyCode::Enter);
    assert_eq!((state.sort, state.descending), (SortColumn::Memory, true));
    key(&mut state, KeyCode::Char(':'));
    type_text(&mut state, "q");
    assert_eq!(key(&mut state, KeyCode::Enter), vec![Effect::Quit]);
}

#[test]
fn ctrl_c_quits_even_in_a_prompt() {
    let mut state = state_with(Some(evergreen()));
    key(&mut state, KeyCode::Char('/'));
    let effects = update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert_eq!(effects, vec![Effect::Quit]);
}

#[test]
fn mouse_click_selects_then_opens_and_header_click_sorts() {
    let mut state = state_with(Some(evergreen()));
    state.layout.area.set(Rect::new(1, 5, 100, 20));
    let mut header = [(0, 0, None); 16];
    header[0] = (1, 20, Some(SortColumn::Name));
    header[1] = (20, 30, Some(SortColumn::Memory));
    state.layout.header.set(header);
    let click = |column, row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Row 5 is the header, row 6 the project heading, row 8 the second service.
    update(&mut state, Msg::Mouse(click(3, 8)));
    assert_eq!(state.selected, 1);
    update(&mut state, Msg::Mouse(click(3, 8)));
    assert!(matches!(state.view, View::Detail(_)));
    key(&mut state, KeyCode::Esc);
    update(&mut state, Msg::Mouse(click(22, 5)));
    assert_eq!(state.sort, SortColumn::Memory);
}

#[test]
fn disconnection_keeps_the_data_and_its_age() {
    let mut state = state_with(Some(evergreen()));
    let since = state.now;
    update(
        &mut state,
        Msg::Backend(
            BackendEvent::Connection(crate::model::ConnectionState::Disconnected {
                error: "connection refused".into(),
                since,
            }),
            chrono::Utc::now(),
        ),
    );
    update(&mut state, Msg::Tick(since + chrono::Duration::seconds(12)));
    assert!(state.snapshot.is_some());
    assert_eq!(state.data_age_s(), Some(12));
}

#[test]
fn history_is_bounded() {
    let mut history = History::default();
    for i in 0..1000 {
        history.push(i as f64, i);
    }
    assert_eq!(history.cpu.len(), 120);
    assert_eq!(history.memory.back(), Some(&999));
}

#[test]
fn selection_survives_services_appearing_and_disappearing() {
    let mut state = state_with(Some(evergreen()));
    key(&mut state, KeyCode::Char('G'));
    let last = state.selected_service().map(|s| s.key.clone());
    // A fleet with fewer services: the old selected index is past the end.
    let mut smaller = evergreen();
    smaller.containers = std::sync::Arc::new(smaller.containers.iter().take(2).cloned().collect());
    update(
        &mut state,
        Msg::Backend(
            BackendEvent::Snapshot(Box::new(smaller)),
            chrono::Utc::now(),
        ),
    );
    assert!(state.selected < state.rows.len());
    // Back to the full fleet: the selection is a real service again.
    update(
        &mut state,
        Msg::Backend(
            BackendEvent::Snapshot(Box::new(evergreen())),
            chrono::Utc::now(),
        ),
    );
    assert!(state.selected_service().is_some());
    // A new service sorting before the selected one does not move the selection.
    key(&mut state, KeyCode::Char('G'));
    let mut bigger = evergreen();
    let mut containers = (*bigger.containers).clone();
    containers.push(container(&Spec {
        id: "n1",
        service: "aaa-new",
        ..Spec::default()
    }));
    bigger.containers = std::sync::Arc::new(containers);
    update(
        &mut state,
        Msg::Backend(BackendEvent::Snapshot(Box::new(bigger)), chrono::Utc::now()),
    );
    assert_eq!(state.selected_service().map(|s| s.key.clone()), last);
}

#[test]
fn switching_context_with_a_fleet_on_screen_starts_clean() {
    let mut state = state_with(Some(evergreen()));
    key(&mut state, KeyCode::Char('G'));
    switch_context(&mut state, crate::fixtures::context());
    assert!(state.rows.is_empty() && state.services.is_empty());
    assert_eq!(state.selected_service(), None);
    key(&mut state, KeyCode::Char('j'));
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.view, View::Fleet);
}

#[test]
fn a_replica_without_a_sample_yet_does_not_dilute_the_share_of_the_limit() {
    let services = crate::model::group_services(
        &[
            container(&Spec {
                id: "r1",
                ..Spec::default()
            }),
            container(&Spec {
                id: "r2",
                number: 2,
                ..Spec::default()
            }),
        ],
        &HashMap::from([(
            "r1".to_string(),
            Usage {
                cpu_percent: 25.0,
                memory_bytes: 256 << 20,
            },
        )]),
    );
    let service = &services[0];
    // Allocated: both replicas. Measured against: the one with a sample.
    assert_eq!(service.cpu_limit_cores, Some(1.0));
    assert_eq!(service.cpu_of_limit(), Some(50.0));
    assert_eq!(service.memory_of_limit(), Some(50.0));
}

/// The effect runner reports a switched context as a message; `update` drops the old
/// platform's data and starts on the new platform's home view.
#[test]
fn a_switched_context_arrives_as_a_message_and_starts_on_its_platform() {
    let mut state = state_with(Some(evergreen()));
    assert_eq!(state.view, View::Fleet);
    let mut ecs = state.context.clone();
    ecs.name = "dotkom".into();
    ecs.target = crate::config::Target::Ecs(crate::config::EcsTarget::default());
    let effects = update(
        &mut state,
        Msg::ContextSwitched {
            context: ecs,
            message: "switched to context dotkom".into(),
        },
    );
    assert!(effects.is_empty());
    assert_eq!(state.view, View::EcsServices);
    assert!(state.ecs.is_some() && state.snapshot.is_none() && state.services.is_empty());
    assert_eq!(state.guard.context, "dotkom");
    let flash = state.flash.as_ref().expect("said");
    assert_eq!(
        (flash.text.as_str(), flash.error),
        ("switched to context dotkom", false)
    );
    update(&mut state, Msg::Outcome(Err("could not save".into())));
    assert!(state.flash.as_ref().is_some_and(|f| f.error));
}

/// `[keys]` moves an action in every list; the ECS services page with Ctrl-f as the fleet does.
#[test]
fn a_remapped_key_acts_in_the_fleet_and_ecs_lists_page_like_the_fleet() {
    use crate::config::{Action, Keymap, Keys};
    let mut state = state_with(Some(evergreen()));
    let overrides = std::collections::BTreeMap::from([(
        Action::Deploy,
        Keys(vec!["D".parse().expect("a key")]),
    )]);
    state.keymap = Keymap::with(&overrides).expect("valid keymap");
    key(&mut state, KeyCode::Char('d'));
    assert!(state.image_field.is_none(), "d no longer deploys");
    let effects = update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT)),
    );
    assert!(
        state.image_field.is_some(),
        "D opens the image field: {effects:?}"
    );

    let mut ecs = crate::fixtures::ecs_state(crate::fixtures::ecs_snapshot());
    let services = ecs.ecs.as_ref().map_or(0, |e| e.rows.len());
    assert!(services > 1, "the fixture has several services");
    update(
        &mut ecs,
        Msg::Key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL)),
    );
    assert_eq!(ecs.ecs.as_ref().map(|e| e.selected), Some(services - 1));
    update(
        &mut ecs,
        Msg::Key(KeyEvent::new(KeyCode::Char('b'), KeyModifiers::CONTROL)),
    );
    assert_eq!(ecs.ecs.as_ref().map(|e| e.selected), Some(0));
}

#[test]
fn ecs_commands_on_a_docker_context_say_whose_they_are() {
    let mut state = state_with(Some(evergreen()));
    for command in ["nodes", "cluster", "services", "cluster prod"] {
        key(&mut state, KeyCode::Char(':'));
        type_text(&mut state, command);
        let effects = key(&mut state, KeyCode::Enter);
        assert!(effects.is_empty(), "{command}: {effects:?}");
        assert_eq!(state.view, View::Fleet, "{command}");
        let flash = state.flash.as_ref().expect("said");
        assert!(
            flash.error && flash.text.contains("is for ECS contexts"),
            "{command}: {flash:?}"
        );
    }
}
