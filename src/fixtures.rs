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
use crate::config::{Context, DockerTarget, Target, Theme, Thresholds};
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
        sampling: crate::model::Sampling {
            from_cgroups: 8,
            ..Default::default()
        },
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
        target: Target::Docker(DockerTarget {
            host: "unix:///var/run/docker.sock".into(),
            instance_type: None,
        }),
        readonly: false,
        refresh: std::time::Duration::from_secs(1),
        theme: None,
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
            crate::app::Msg::Backend(
                BackendEvent::Snapshot(Box::new(snapshot)),
                chrono::Utc::now(),
            ),
        );
    }
    state.now = now();
    state.received_at = state.received_at.map(|_| now());
    state
}

/// An ECS cluster as one refresh reads it: a prod service mid-deployment behind the ALB with
/// one unhealthy target and a stopped task, a staging service, three nodes (one agent lost).
pub fn ecs_snapshot() -> crate::backend::ecs::EcsSnapshot {
    use crate::backend::ecs::{
        AwsLogs, ContainerSpec, EcsContainer, EcsDeployment, EcsEvent, EcsNode, EcsService,
        EcsSnapshot, EcsTask, ServiceMetrics, TargetHealth,
    };
    let at = |minutes: i64| Some(now() - chrono::Duration::minutes(minutes));
    let spec = |name: &str, image: &str| ContainerSpec {
        name: name.into(),
        image: image.into(),
        cpu_units: 256,
        memory_mib: Some(512),
        memory_reservation_mib: None,
        logs: Some(AwsLogs {
            group: format!("/ecs/{name}"),
            region: Some("eu-north-1".into()),
            stream_prefix: Some("ecs".into()),
        }),
    };
    let service =
        |name: &str, desired: i32, running: i32, revision: u32, groups: Vec<String>| EcsService {
            name: name.into(),
            arn: format!("arn:aws:ecs:eu-north-1:891459268445:service/dotkom/{name}"),
            env: crate::model::Env::split(name).1,
            status: "ACTIVE".into(),
            desired,
            running,
            pending: desired - running.min(desired),
            task_definition: format!("{name}:{revision}"),
            cpu_units: Some(256),
            memory_mib: Some(512),
            containers: vec![spec(
                "web",
                &format!("891459268445.dkr.ecr.eu-north-1.amazonaws.com/{name}:v{revision}"),
            )],
            deployments: vec![EcsDeployment {
                id: "ecs-svc/1".into(),
                status: "PRIMARY".into(),
                task_definition: format!("{name}:{revision}"),
                desired,
                running,
                pending: 0,
                failed_tasks: 0,
                rollout_state: Some("COMPLETED".into()),
                rollout_reason: None,
                updated_at: at(30),
                created_at: at(30),
            }],
            events: vec![EcsEvent {
                at: at(30),
                message: format!("(service {name}) has reached a steady state."),
            }],
            target_groups: groups,
            enable_execute_command: true,
            placement: vec!["spread(attribute:ecs.availability-zone)".into()],
        };
    let mut web = service("gradestats-web-prod", 2, 2, 8, vec!["tg/web".into()]);
    web.deployments.insert(
        0,
        EcsDeployment {
            id: "ecs-svc/2".into(),
            status: "PRIMARY".into(),
            task_definition: "gradestats-web-prod:9".into(),
            desired: 2,
            running: 1,
            pending: 1,
            failed_tasks: 1,
            rollout_state: Some("IN_PROGRESS".into()),
            rollout_reason: Some("ECS deployment ecs-svc/2 in progress.".into()),
            updated_at: at(1),
            created_at: at(1),
        },
    );
    web.deployments[1].status = "ACTIVE".into();
    web.events.insert(
        0,
        EcsEvent {
            at: at(1),
            message: "(service gradestats-web-prod) has started 1 tasks: (task 9b2f).".into(),
        },
    );
    let staging = service("gradestats-web-staging", 1, 1, 8, Vec::new());
    let task = |id: &str, service: &str, revision: u32, ip: &str, node: &str, zone: &str| EcsTask {
        id: id.into(),
        arn: format!("arn:aws:ecs:eu-north-1:891459268445:task/dotkom/{id}"),
        service: Some(service.into()),
        task_definition: format!("{service}:{revision}"),
        last_status: "RUNNING".into(),
        desired_status: "RUNNING".into(),
        health: Some("HEALTHY".into()),
        availability_zone: Some(zone.into()),
        container_instance: Some(node.into()),
        started_at: at(25),
        stopped_at: None,
        stop_code: None,
        stopped_reason: None,
        enable_execute_command: true,
        private_ip: Some(ip.into()),
        containers: vec![EcsContainer {
            name: "web".into(),
            runtime_id: Some(format!("{id}-1")),
            last_status: "RUNNING".into(),
            health: Some("HEALTHY".into()),
            image: format!("gradestats-web:v{revision}"),
            exit_code: None,
            reason: None,
            exec_agent: Some("RUNNING".into()),
            host_ports: Vec::new(),
        }],
    };
    let mut stopped = task(
        "5c1d8e0f7a6b",
        "gradestats-web-prod",
        9,
        "10.0.3.9",
        "ci-c",
        "eu-north-1c",
    );
    stopped.last_status = "STOPPED".into();
    stopped.desired_status = "STOPPED".into();
    stopped.health = Some("UNKNOWN".into());
    stopped.stopped_reason = Some("Essential container in task exited".into());
    stopped.stop_code = Some("EssentialContainerExited".into());
    stopped.containers[0].last_status = "STOPPED".into();
    stopped.containers[0].exit_code = Some(137);
    stopped.containers[0].reason =
        Some("OutOfMemoryError: Container killed due to memory usage".into());
    let mut new = task(
        "9b2f40aa11c3",
        "gradestats-web-prod",
        9,
        "10.0.2.44",
        "ci-b",
        "eu-north-1b",
    );
    new.health = Some("UNKNOWN".into());
    new.containers[0].health = Some("UNKNOWN".into());
    let tasks = vec![
        task(
            "3e7a9c2d4f01",
            "gradestats-web-prod",
            8,
            "10.0.1.17",
            "ci-a",
            "eu-north-1a",
        ),
        new,
        stopped,
        task(
            "7d0c3b5a9e22",
            "gradestats-web-staging",
            8,
            "10.0.1.30",
            "ci-a",
            "eu-north-1a",
        ),
    ];
    let node = |id: &str,
                instance: &str,
                zone: &str,
                connected: bool,
                free_cpu: i32,
                free_mem: i32,
                tasks: i32| EcsNode {
        container_instance: id.into(),
        instance_id: instance.into(),
        availability_zone: Some(zone.into()),
        instance_type: Some("t3.small".into()),
        agent_connected: connected,
        status: "ACTIVE".into(),
        registered_cpu_units: 2048,
        registered_memory_mib: 1890,
        remaining_cpu_units: free_cpu,
        remaining_memory_mib: free_mem,
        running_tasks: tasks,
        pending_tasks: 0,
    };
    let target = |id: &str, state: &str, reason: Option<&str>| TargetHealth {
        target_group: "tg/web".into(),
        id: id.into(),
        port: Some(3000),
        state: state.into(),
        reason: reason.map(str::to_string),
        description: None,
    };
    EcsSnapshot {
        cluster: "dotkom".into(),
        services: Some(vec![web, staging]),
        tasks: Some(tasks),
        nodes: Some(vec![
            node(
                "ci-a",
                "i-0a1b2c3d4e5f60718",
                "eu-north-1a",
                true,
                1536,
                866,
                2,
            ),
            node(
                "ci-b",
                "i-0b22a22eec53b9321",
                "eu-north-1b",
                true,
                1792,
                1378,
                1,
            ),
            node(
                "ci-c",
                "i-0c33b33ffd64c0432",
                "eu-north-1c",
                false,
                2048,
                1890,
                0,
            ),
        ]),
        targets: Some(
            [(
                "tg/web".to_string(),
                vec![
                    target("10.0.1.17", "healthy", None),
                    target(
                        "10.0.2.44",
                        "unhealthy",
                        Some("Target.ResponseCodeMismatch"),
                    ),
                ],
            )]
            .into_iter()
            .collect(),
        ),
        metrics: Some(
            [(
                "gradestats-web-prod".to_string(),
                ServiceMetrics {
                    cpu_percent: Some(62.0),
                    memory_percent: Some(48.0),
                    at: at(3),
                },
            )]
            .into_iter()
            .collect(),
        ),
        errors: Default::default(),
        calls: 9,
        took: std::time::Duration::from_millis(180),
    }
}

/// A console on an ECS context that has received `snapshot` at `now()`.
pub fn ecs_state(snapshot: crate::backend::ecs::EcsSnapshot) -> State {
    let mut context = context();
    context.name = "dotkom".into();
    context.refresh = std::time::Duration::from_secs(10);
    context.target = Target::Ecs(crate::config::EcsTarget {
        profile: Some("dotkom".into()),
        region: Some("eu-north-1".into()),
        cluster: Some("dotkom".into()),
        endpoint_url: None,
    });
    let mut state = State::new(
        context,
        vec!["default".into(), "dotkom".into()],
        Theme::default_theme(),
        Thresholds::default(),
    );
    crate::app::update(
        &mut state,
        crate::app::Msg::Backend(BackendEvent::Ecs(Box::new(snapshot)), chrono::Utc::now()),
    );
    state.now = now();
    if let Some(ecs) = state.ecs.as_mut() {
        ecs.data.updated_at = Some(now());
    }
    state
}

/// Seed 004's swarm as the manager returns it: a leader and two workers in three zones (one
/// drained), a web service behind Traefik with reservations and max two per node, a worker
/// reserving nothing, Traefik global on the manager, and an API with one task pending for
/// want of CPU. The manager's JSON, converted by the backend's own code.
pub fn swarm_state() -> crate::backend::swarm::SwarmState {
    use serde_json::json;
    let gib: i64 = 1 << 30;
    let node = |id: &str, host: &str, role: &str, zone: &str, availability: &str| {
        let mut node = json!({
            "ID": id, "Version": {"Index": 10},
            "Spec": {"Labels": {"zone": zone}, "Role": role, "Availability": availability},
            "Description": {"Hostname": host,
                "Platform": {"Architecture": "x86_64", "OS": "linux"},
                "Resources": {"NanoCPUs": 2_000_000_000i64, "MemoryBytes": 4 * gib},
                "Engine": {"EngineVersion": "20.10.24"}},
            "Status": {"State": "ready", "Addr": "10.0.0.1"}
        });
        if role == "manager" {
            node["ManagerStatus"] = json!({"Leader": true, "Reachability": "reachable"});
        }
        node
    };
    let nodes = json!([
        node("n1", "manager1", "manager", "eu-north-1a", "active"),
        node("n2", "worker1", "worker", "eu-north-1b", "active"),
        node("n3", "worker2", "worker", "eu-north-1c", "drain"),
    ]);
    let service = |id: &str,
                   name: &str,
                   image: &str,
                   resources,
                   placement,
                   mode,
                   running,
                   desired| {
        json!({
            "ID": id, "Version": {"Index": 120},
            "UpdatedAt": "2026-11-22T02:40:00Z",
            "Spec": {"Name": name,
                "Labels": {"com.docker.stack.namespace": name.split('_').next().unwrap_or(name),
                           "traefik.http.routers.web.rule": if name == "evergreen_web" {
                               "Host(`grades.example.edu`)" } else { "" }},
                "TaskTemplate": {"ContainerSpec": {"Image": image},
                                 "Resources": resources, "Placement": placement},
                "Mode": mode,
                "UpdateConfig": {"Parallelism": 1, "FailureAction": "rollback", "Order": "start-first"}},
            "ServiceStatus": {"RunningTasks": running, "DesiredTasks": desired}
        })
    };
    let web_resources = json!({
        "Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 512 << 20},
        "Reservations": {"NanoCPUs": 250_000_000, "MemoryBytes": 256 << 20}});
    let api_resources = json!({"Reservations": {"NanoCPUs": 1_500_000_000i64, "MemoryBytes": gib}});
    let mut services = vec![
        service(
            "s-web",
            "evergreen_web",
            "evergreen/web:2.4.1",
            web_resources.clone(),
            json!({"MaxReplicas": 2}),
            json!({"Replicated": {"Replicas": 3}}),
            3,
            3,
        ),
        service(
            "s-worker",
            "evergreen_worker",
            "evergreen/worker:2.4.1",
            json!({}),
            json!({}),
            json!({"Replicated": {"Replicas": 1}}),
            1,
            1,
        ),
        service(
            "s-traefik",
            "edge_traefik",
            "traefik:v2.11",
            json!({}),
            json!({"Constraints": ["node.role==manager"]}),
            json!({"Global": {}}),
            1,
            1,
        ),
        service(
            "s-api",
            "grades_api",
            "grades/api:1.9.0",
            api_resources.clone(),
            json!({}),
            json!({"Replicated": {"Replicas": 2}}),
            1,
            2,
        ),
    ];
    services[2]["Endpoint"] = json!({"Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 80, "PublishMode": "ingress"},
        {"Protocol": "tcp", "TargetPort": 443, "PublishedPort": 443, "PublishMode": "ingress"}]});
    services[3]["UpdateStatus"] = json!({"State": "updating", "Message": "update in progress",
        "StartedAt": "2026-11-22T02:58:00Z"});
    let task = |id: &str,
                service: &str,
                slot: u64,
                node: &str,
                state: &str,
                desired: &str,
                message: &str,
                image: &str,
                resources: &serde_json::Value| {
        json!({
            "ID": id, "ServiceID": service, "Slot": slot, "NodeID": node,
            "CreatedAt": "2026-11-22T02:40:00Z", "DesiredState": desired,
            "Spec": {"ContainerSpec": {"Image": image}, "Resources": resources},
            "Status": {"Timestamp": "2026-11-22T02:41:00Z", "State": state, "Message": message,
                       "ContainerStatus": {"ContainerID": format!("c-{id}"), "ExitCode": 0}}
        })
    };
    let none = json!({});
    let web = "evergreen/web:2.4.1";
    let tasks = json!([
        task(
            "t-web-1",
            "s-web",
            1,
            "n1",
            "running",
            "running",
            "started",
            web,
            &web_resources
        ),
        task(
            "t-web-2",
            "s-web",
            2,
            "n2",
            "running",
            "running",
            "started",
            web,
            &web_resources
        ),
        task(
            "t-web-3",
            "s-web",
            3,
            "n2",
            "running",
            "running",
            "started",
            web,
            &web_resources
        ),
        task(
            "t-web-old",
            "s-web",
            3,
            "n3",
            "shutdown",
            "shutdown",
            "shutdown",
            web,
            &web_resources
        ),
        task(
            "t-worker-1",
            "s-worker",
            1,
            "n1",
            "running",
            "running",
            "started",
            "evergreen/worker:2.4.1",
            &none
        ),
        task(
            "t-traefik",
            "s-traefik",
            0,
            "n1",
            "running",
            "running",
            "started",
            "traefik:v2.11",
            &none
        ),
        task(
            "t-api-1",
            "s-api",
            1,
            "n2",
            "running",
            "running",
            "started",
            "grades/api:1.9.0",
            &api_resources
        ),
        task(
            "t-api-2",
            "s-api",
            2,
            "",
            "pending",
            "running",
            "no suitable node (insufficient resources on 2 nodes; 1 node not available for new tasks)",
            "grades/api:1.9.0",
            &api_resources
        ),
    ]);
    crate::backend::swarm::from_json(
        &nodes.to_string(),
        &json!(services).to_string(),
        &tasks.to_string(),
    )
    .unwrap_or_default()
}

/// The console on `swarm_state()`, with usage from the two nodes dokk reaches.
pub fn swarm_console_state() -> State {
    use crate::backend::swarm::{NodeUsage, SwarmSnapshot, SwarmUsage};
    let mut context = context();
    context.name = "seed004".into();
    context.target = Target::Swarm(crate::config::SwarmTarget {
        host: "ssh://ops@manager1".into(),
        nodes: Default::default(),
        node_host: Some("ssh://ops@{hostname}".into()),
    });
    let mut state = State::new(
        context,
        vec!["seed004".into()],
        Theme::default_theme(),
        Thresholds::default(),
    );
    let snapshot = SwarmSnapshot {
        state: swarm_state(),
        calls: 3,
        took: std::time::Duration::from_millis(12),
    };
    crate::app::update(
        &mut state,
        crate::app::Msg::Backend(BackendEvent::Swarm(Box::new(snapshot)), now()),
    );
    let usage = |cpu_percent, mib: u64| Usage {
        cpu_percent,
        memory_bytes: mib << 20,
    };
    let tasks: HashMap<String, Usage> = [
        ("t-web-1", usage(12.0, 180)),
        ("t-web-2", usage(31.0, 210)),
        ("t-web-3", usage(8.0, 170)),
        ("t-worker-1", usage(2.0, 60)),
        ("t-traefik", usage(1.5, 40)),
        ("t-api-1", usage(85.0, 700)),
    ]
    .into_iter()
    .map(|(id, u)| (id.to_string(), u))
    .collect();
    let nodes = [
        (
            "manager1".to_string(),
            NodeUsage::Sampled {
                tasks: 3,
                total: usage(15.5, 280),
            },
        ),
        (
            "worker1".to_string(),
            NodeUsage::Sampled {
                tasks: 3,
                total: usage(124.0, 1080),
            },
        ),
        (
            "worker2".to_string(),
            NodeUsage::Missing("ssh://ops@worker2: connection refused".into()),
        ),
    ]
    .into();
    crate::app::update(
        &mut state,
        crate::app::Msg::Backend(
            BackendEvent::SwarmUsage(Box::new(SwarmUsage { tasks, nodes })),
            now(),
        ),
    );
    state.now = now();
    state
}
