//! From the engine's inspect data to dokk's `Container`.

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, HealthStatusEnum};

use crate::model::{Container, Health, HealthCheck, Limits, PortMapping};

const PROJECT: &str = "com.docker.compose.project";
const SERVICE: &str = "com.docker.compose.service";
const NUMBER: &str = "com.docker.compose.container-number";
const ONEOFF: &str = "com.docker.compose.oneoff";

pub fn container_from_inspect(inspect: ContainerInspectResponse) -> Container {
    let config = inspect.config.unwrap_or_default();
    let host = inspect.host_config.unwrap_or_default();
    let state = inspect.state.unwrap_or_default();
    let labels: BTreeMap<String, String> = config.labels.unwrap_or_default().into_iter().collect();

    let health = match state.health.as_ref().and_then(|h| h.status) {
        Some(HealthStatusEnum::HEALTHY) => Health::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => Health::Unhealthy,
        Some(HealthStatusEnum::STARTING) => Health::Starting,
        _ => Health::None,
    };
    let last_health_check = state
        .health
        .as_ref()
        .and_then(|h| h.log.as_ref())
        .and_then(|log| log.last())
        .map(|result| {
            let output = result.output.as_deref().unwrap_or("").trim();
            (
                result.exit_code.unwrap_or(-1),
                output.chars().take(500).collect(),
            )
        });
    let cpu_cores = match (host.nano_cpus, host.cpu_quota, host.cpu_period) {
        (Some(nano), _, _) if nano > 0 => Some(nano as f64 / 1e9),
        (_, Some(quota), period) if quota > 0 => {
            // The kernel's default CFS period is 100 ms when none is set.
            let period = period.filter(|p| *p > 0).unwrap_or(100_000);
            Some(quota as f64 / period as f64)
        }
        _ => None,
    };
    let positive = |v: Option<i64>| v.filter(|v| *v > 0).map(|v| v as u64);
    let limits = Limits {
        cpu_cores,
        memory_bytes: positive(host.memory),
        memory_reservation_bytes: positive(host.memory_reservation),
        pids: host.pids_limit.filter(|p| *p > 0),
    };
    let restart_policy = host
        .restart_policy
        .as_ref()
        .map(|p| {
            let name = p.name.map(|n| n.to_string()).unwrap_or_default();
            match p.maximum_retry_count {
                Some(max) if max > 0 => format!("{name}:{max}"),
                _ if name.is_empty() => "no".to_string(),
                _ => name,
            }
        })
        .unwrap_or_else(|| "no".to_string());
    let healthcheck = config
        .healthcheck
        .filter(|h| {
            h.test
                .as_ref()
                .is_some_and(|t| t.first().is_some_and(|s| s != "NONE"))
        })
        .map(|h| {
            let seconds = |ns: Option<i64>| ns.filter(|n| *n > 0).map(|n| n as f64 / 1e9);
            HealthCheck {
                test: h.test.unwrap_or_default(),
                interval_s: seconds(h.interval),
                timeout_s: seconds(h.timeout),
                retries: h.retries,
                start_period_s: seconds(h.start_period),
            }
        });
    let network_settings = inspect.network_settings.unwrap_or_default();
    let networks = network_settings
        .networks
        .map(|n| {
            let mut names: Vec<String> = n.into_keys().collect();
            names.sort();
            names
        })
        .unwrap_or_default();
    let mut ports: Vec<PortMapping> = network_settings
        .ports
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(container, bindings)| {
            let bindings = bindings.unwrap_or_default();
            if bindings.is_empty() {
                return vec![PortMapping {
                    container,
                    host: None,
                }];
            }
            bindings
                .into_iter()
                .map(|b| PortMapping {
                    container: container.clone(),
                    host: Some(format!(
                        "{}:{}",
                        b.host_ip.unwrap_or_default(),
                        b.host_port.unwrap_or_default()
                    )),
                })
                .collect()
        })
        .collect();
    ports.sort_by(|a, b| (&a.container, &a.host).cmp(&(&b.container, &b.host)));
    ports.dedup();
    let env = config
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv, String::new()),
        })
        .collect();
    let started_at = state
        .started_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .filter(|t| t.timestamp() > 0);
    let mut command = config.entrypoint.unwrap_or_default();
    command.extend(config.cmd.unwrap_or_default());

    Container {
        id: inspect.id.unwrap_or_default(),
        name: inspect
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        project: labels.get(PROJECT).cloned(),
        service: labels.get(SERVICE).cloned(),
        replica_number: labels.get(NUMBER).and_then(|n| n.parse().ok()),
        oneoff: labels
            .get(ONEOFF)
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        state: state
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown".to_string()),
        health,
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        started_at,
        restart_count: inspect.restart_count.unwrap_or(0),
        image: config.image.unwrap_or_default(),
        limits,
        restart_policy,
        healthcheck,
        last_health_check,
        labels,
        networks,
        ports,
        env,
        command,
        user: config.user.unwrap_or_default(),
        pid: state
            .pid
            .filter(|p| *p > 0)
            .and_then(|p| u32::try_from(p).ok()),
    }
}
