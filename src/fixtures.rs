//! Test fixtures built from the engine's real response types (bollard's models), the way the
//! backend receives them, then converted by the backend's own code.

use std::collections::HashMap;
use std::sync::Arc;

use bollard::models::{
    ContainerConfig, ContainerInspectResponse, ContainerState, ContainerStateStatusEnum,
    EndpointSettings, Health, HealthConfig, HealthStatusEnum, HealthcheckResult, HostConfig,
    NetworkSettings, RestartPolicy, RestartPolicyNameEnum,
};
use chrono::{DateTime, TimeZone, Utc};

use crate::app::State;
use crate::backend::BackendEvent;
use crate::backend::docker::container_from_inspect;
use crate::config::{Context, ContextKind, Theme, Thresholds};
use crate::model::{Container, FleetSnapshot, HostInfo, Usage};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A container as `docker inspect` returns it.
pub struct Spec<'a> {
    pub id: &'a str,
    pub project: Option<&'a str>,
    pub service: &'a str,
    pub number: u32,
    pub running: bool,
    pub health: Option<HealthStatusEnum>,
    pub nano_cpus: Option<i64>,
    pub memory: Option<i64>,
    pub labels: Vec<(&'a str, &'a str)>,
    pub env: Vec<&'a str>,
    pub image: &'a str,
    pub restarts: i64,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Spec {
            id: "0000000000000000",
            project: Some("evergreen"),
            service: "web",
            number: 1,
            running: true,
            health: None,
            nano_cpus: Some(500_000_000),
            memory: Some(512 << 20),
            labels: Vec::new(),
            env: Vec::new(),
            image: "dokk-demo:latest",
            restarts: 0,
        }
    }
}

pub fn inspect(spec: &Spec) -> ContainerInspectResponse {
    let mut labels: HashMap<String, String> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(project) = spec.project {
        labels.insert("com.docker.compose.project".into(), project.into());
        labels.insert("com.docker.compose.service".into(), spec.service.into());
        labels.insert(
            "com.docker.compose.container-number".into(),
            spec.number.to_string(),
        );
        labels.insert("com.docker.compose.oneoff".into(), "False".into());
    }
    let name = match spec.project {
        Some(project) => format!("/{project}_{}_{}", spec.service, spec.number),
        None => format!("/{}", spec.service),
    };
    ContainerInspectResponse {
        id: Some(spec.id.to_string()),
        name: Some(name),
        restart_count: Some(spec.restarts),
        state: Some(ContainerState {
            status: Some(if spec.running {
                ContainerStateStatusEnum::RUNNING
            } else {
                ContainerStateStatusEnum::EXITED
            }),
            running: Some(spec.running),
            exit_code: Some(if spec.running { 0 } else { 137 }),
            started_at: Some("2026-11-22T02:00:00.123456789Z".into()),
            health: spec.health.map(|status| Health {
                status: Some(status),
                failing_streak: Some(0),
                log: Some(vec![HealthcheckResult {
                    exit_code: Some(if status == HealthStatusEnum::UNHEALTHY {
                        1
                    } else {
                        0
                    }),
                    output: Some(if status == HealthStatusEnum::UNHEALTHY {
                        "wget: can't connect to remote host (127.0.0.1): Connection refused\n"
                            .into()
                    } else {
                        String::new()
                    }),
                    ..Default::default()
                }]),
            }),
            ..Default::default()
        }),
        config: Some(ContainerConfig {
            image: Some(spec.image.into()),
            labels: Some(labels),
            env: Some(spec.env.iter().map(|s| s.to_string()).collect()),
            cmd: Some(vec![
                "httpd".into(),
                "-f".into(),
                "-p".into(),
                "3000".into(),
            ]),
            healthcheck: spec.health.map(|_| HealthConfig {
                test: Some(vec![
                    "CMD".into(),
                    "wget".into(),
                    "-q".into(),
                    "http://127.0.0.1:3000/".into(),
                ]),
                interval: Some(5_000_000_000),
                timeout: Some(2_000_000_000),
                retries: Some(3),
                ..Default::default()
            }),
            ..Default::default()
        }),
        host_config: Some(HostConfig {
            nano_cpus: spec.nano_cpus,
            memory: spec.memory,
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: Some(0),
            }),
            ..Default::default()
        }),
        network_settings: Some(NetworkSettings {
            networks: Some(HashMap::from([(
                "evergreen_traefik".to_string(),
                EndpointSettings::default(),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn container(spec: &Spec) -> Container {
    container_from_inspect(inspect(spec))
}

const ROUTER: &str = "traefik.http.routers.gradestatsweb-prod.rule";

/// An Evergreen-like fleet with usage samples: prod + staging pairs, one without limits, one
/// unhealthy, one at its CPU limit, one stopped, one standalone container.
pub fn evergreen() -> FleetSnapshot {
    use HealthStatusEnum::{HEALTHY, UNHEALTHY};
    let specs = [
        Spec {
            id: "a1",
            service: "gradestatsweb-prod",
            health: Some(HEALTHY),
            labels: vec![(ROUTER, "Host(`grades.no`)")],
            env: vec!["NODE_ENV=production", "SESSION_SECRET=hunter2"],
            ..Spec::default()
        },
        Spec {
            id: "a2",
            service: "gradestatsweb-staging",
            health: Some(HEALTHY),
            nano_cpus: Some(250_000_000),
            memory: Some(256 << 20),
            ..Spec::default()
        },
        Spec {
            id: "b1",
            service: "monoweb-prod",
            health: Some(HEALTHY),
            ..Spec::default()
        },
        Spec {
            id: "b2",
            service: "monoweb-prod",
            number: 2,
            health: Some(HEALTHY),
            ..Spec::default()
        },
        Spec {
            id: "c1",
            service: "cron-worker",
            nano_cpus: None,
            memory: None,
            ..Spec::default()
        },
        Spec {
            id: "d1",
            service: "flaky-api",
            health: Some(UNHEALTHY),
            nano_cpus: Some(250_000_000),
            memory: Some(128 << 20),
            restarts: 4,
            ..Spec::default()
        },
        Spec {
            id: "e1",
            service: "thumbnailer",
            nano_cpus: Some(300_000_000),
            memory: Some(128 << 20),
            ..Spec::default()
        },
        Spec {
            id: "f1",
            service: "old-importer",
            running: false,
            ..Spec::default()
        },
        Spec {
            id: "g1",
            project: None,
            service: "adhoc-debug",
            nano_cpus: None,
            memory: None,
            ..Spec::default()
        },
    ];
    let usage = HashMap::from([
        (
            "a1".to_string(),
            Usage {
                cpu_percent: 12.0,
                memory_bytes: 200 << 20,
            },
        ),
        (
            "a2".to_string(),
            Usage {
                cpu_percent: 1.5,
                memory_bytes: 60 << 20,
            },
        ),
        (
            "b1".to_string(),
            Usage {
                cpu_percent: 20.0,
                memory_bytes: 300 << 20,
            },
        ),
        (
            "b2".to_string(),
            Usage {
                cpu_percent: 22.0,
                memory_bytes: 310 << 20,
            },
        ),
        (
            "c1".to_string(),
            Usage {
                cpu_percent: 0.4,
                memory_bytes: 2 << 20,
            },
        ),
        (
            "d1".to_string(),
            Usage {
                cpu_percent: 3.0,
                memory_bytes: 120 << 20,
            },
        ),
        (
            "e1".to_string(),
            Usage {
                cpu_percent: 29.5,
                memory_bytes: 1 << 20,
            },
        ),
        (
            "g1".to_string(),
            Usage {
                cpu_percent: 0.0,
                memory_bytes: 1 << 20,
            },
        ),
    ]);
    FleetSnapshot {
        host: host(),
        containers: Arc::new(specs.iter().map(container).collect()),
        usage: Arc::new(usage),
        open_streams: 8,
    }
}

pub fn host() -> HostInfo {
    HostInfo {
        name: "evergreen".into(),
        engine_version: "20.10.24".into(),
        api_version: "1.41".into(),
        cpus: 2,
        memory_bytes: 4 << 30,
        os: "Debian GNU/Linux 12".into(),
    }
}

pub fn context() -> Context {
    Context {
        name: "evergreen".into(),
        kind: ContextKind::Docker,
        host: "unix:///var/run/docker.sock".into(),
        readonly: false,
        refresh: std::time::Duration::from_secs(1),
        theme: None,
        ecs: None,
    }
}

/// A console state that has received `snapshot` at `now()`.
pub fn state_with(snapshot: Option<FleetSnapshot>) -> State {
    let mut state = State::new(
        context(),
        vec!["default".into(), "evergreen".into()],
        Theme::default_theme(),
        Thresholds::default(),
    );
    if let Some(snapshot) = snapshot {
        crate::app::update(
            &mut state,
            crate::app::Msg::Backend(BackendEvent::Snapshot(Box::new(snapshot))),
        );
    }
    state.now = now();
    state.received_at = state.received_at.map(|_| now());
    state
}
