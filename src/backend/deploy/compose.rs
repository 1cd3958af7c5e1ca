//! Compose deploys on one host: a service's replicas recreated one at a time with another
//! image, each gated on its health check turning healthy (or staying up a while when it has
//! none). A replica that fails is removed and the previous container put back, and the rest
//! are left as they were. The new container keeps everything but the image: environment,
//! mounts and volumes (anonymous ones too), networks and aliases, labels, limits, restart
//! policy, health check, log config and name. What the old image set by default (its command,
//! environment, labels…) is left for the new image to set.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointSettings, HealthStatusEnum,
    NetworkConnectRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};

use serde::{Deserialize, Serialize};

use super::{DeployError, Revision, journal};
use crate::backend::docker::{self, describe};
use crate::model::{Allocation, Container, find_service, group_services};

/// What a replica is renamed to while its successor starts: never counted as a replica.
pub const PARKED: &str = "-dokk-previous";

/// How long a replica without a health check must stay up to count as started.
pub const SETTLE: Duration = Duration::from_secs(5);

/// How a replica makes way for its successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// The successor starts beside it (same labels, networks and aliases, so Traefik and DNS
    /// see both) and it stops once the successor is healthy: no moment without a replica.
    StartFirst,
    /// It stops first (a host port cannot be held by two containers): down until the
    /// successor is healthy.
    #[default]
    StopFirst,
}

impl Order {
    pub fn label(self) -> &'static str {
        match self {
            Order::StartFirst => "start-first",
            Order::StopFirst => "stop-first",
        }
    }
}

impl std::str::FromStr for Order {
    type Err = String;

    fn from_str(text: &str) -> Result<Order, String> {
        match text {
            "start-first" => Ok(Order::StartFirst),
            "stop-first" => Ok(Order::StopFirst),
            other => Err(format!("`{other}`: the order is start-first or stop-first")),
        }
    }
}

fn failed(what: &str) -> impl Fn(bollard::errors::Error) -> DeployError + '_ {
    move |e| DeployError::Failed(format!("{what}: {}", describe(&e)))
}

/// The image is on the engine (no registry here to pull from): refused before anything.
pub async fn check_image(docker: &Docker, image: &str) -> Result<String, DeployError> {
    match docker.inspect_image(image).await {
        Ok(found) => Ok(found.id.unwrap_or_default()),
        Err(e) => Err(DeployError::Refused(format!(
            "image {image} is not on the engine ({}); build or pull it first — nothing was touched",
            describe(&e)
        ))),
    }
}

/// The create body for a copy of `old` running `image`.
pub async fn recreate_body(
    docker: &Docker,
    old: &ContainerInspectResponse,
    image: &str,
) -> Result<ContainerCreateBody, DeployError> {
    let config = old.config.clone().unwrap_or_default();
    let old_image = docker
        .inspect_image(old.image.as_deref().unwrap_or_default())
        .await
        .ok()
        .and_then(|i| i.config)
        .unwrap_or_default();
    let short_id: String = old
        .id
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(12)
        .collect();
    let from_image = |value: &Option<Vec<String>>, default: &Option<Vec<String>>| {
        if value == default {
            None
        } else {
            value.clone()
        }
    };
    let env = config.env.clone().map(|env| {
        let defaults = old_image.env.clone().unwrap_or_default();
        env.into_iter().filter(|e| !defaults.contains(e)).collect()
    });
    let labels = config.labels.clone().map(|labels| {
        let defaults = old_image.labels.clone().unwrap_or_default();
        labels
            .into_iter()
            .filter(|(k, v)| defaults.get(k) != Some(v))
            .collect()
    });
    let mut host = old.host_config.clone().unwrap_or_default();
    // Volumes the old container has (anonymous ones included) are mounted again by name, so
    // the data stays with the service.
    let mut binds = host.binds.clone().unwrap_or_default();
    for mount in old.mounts.clone().unwrap_or_default() {
        if mount.typ.as_deref() == Some("volume")
            && let (Some(name), Some(destination)) = (&mount.name, &mount.destination)
            && !binds
                .iter()
                .any(|b| b.split(':').nth(1) == Some(destination.as_str()))
            && !host
                .mounts
                .iter()
                .flatten()
                .any(|m| m.target.as_deref() == Some(destination.as_str()))
        {
            let mode = if mount.rw == Some(false) { ":ro" } else { "" };
            binds.push(format!("{name}:{destination}{mode}"));
        }
    }
    host.binds = (!binds.is_empty()).then_some(binds);
    let networks = networks(old, &short_id);
    let first = networks.first().cloned();
    Ok(ContainerCreateBody {
        hostname: config.hostname.clone().filter(|h| *h != short_id),
        domainname: config.domainname.clone(),
        user: config
            .user
            .clone()
            .filter(|u| Some(u) != old_image.user.as_ref()),
        attach_stdin: config.attach_stdin,
        attach_stdout: config.attach_stdout,
        attach_stderr: config.attach_stderr,
        exposed_ports: from_image(&config.exposed_ports, &old_image.exposed_ports),
        tty: config.tty,
        open_stdin: config.open_stdin,
        stdin_once: config.stdin_once,
        env,
        cmd: from_image(&config.cmd, &old_image.cmd),
        healthcheck: config
            .healthcheck
            .clone()
            .filter(|h| Some(h) != old_image.healthcheck.as_ref()),
        image: Some(image.to_string()),
        volumes: from_image(&config.volumes, &old_image.volumes),
        working_dir: config
            .working_dir
            .clone()
            .filter(|w| Some(w) != old_image.working_dir.as_ref()),
        entrypoint: from_image(&config.entrypoint, &old_image.entrypoint),
        labels,
        stop_signal: config
            .stop_signal
            .clone()
            .filter(|s| Some(s) != old_image.stop_signal.as_ref()),
        stop_timeout: config.stop_timeout,
        host_config: Some(host),
        networking_config: first.map(|(name, endpoint)| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(name, endpoint)])),
        }),
        ..Default::default()
    })
}

/// The old container's networks with their aliases (without the alias that was its own id).
fn networks(old: &ContainerInspectResponse, short_id: &str) -> Vec<(String, EndpointSettings)> {
    let mut list: Vec<(String, EndpointSettings)> = old
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, endpoint)| {
            (
                name,
                EndpointSettings {
                    aliases: endpoint
                        .aliases
                        .map(|a| a.into_iter().filter(|a| a != short_id).collect()),
                    links: endpoint.links,
                    ipam_config: endpoint.ipam_config,
                    driver_opts: endpoint.driver_opts,
                    ..Default::default()
                },
            )
        })
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    list
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReplicaOutcome {
    Replaced {
        old: String,
        new: String,
    },
    /// The new container failed; the old one is back.
    Reverted {
        reason: String,
    },
}

/// Waits until the container is healthy (or, without a health check, has run for `SETTLE`).
pub(super) async fn started(docker: &Docker, id: &str, timeout: Duration) -> Result<(), String> {
    let began = Instant::now();
    loop {
        let inspect = docker
            .inspect_container(id, None)
            .await
            .map_err(|e| describe(&e))?;
        let state = inspect.state.unwrap_or_default();
        if state.running != Some(true) {
            return Err(format!(
                "it stopped (exit code {})",
                state.exit_code.unwrap_or_default()
            ));
        }
        match state.health.and_then(|h| h.status) {
            Some(HealthStatusEnum::HEALTHY) => return Ok(()),
            Some(HealthStatusEnum::UNHEALTHY) => return Err("its health check failed".into()),
            Some(HealthStatusEnum::STARTING) => {}
            _ if began.elapsed() >= SETTLE => return Ok(()),
            _ => {}
        }
        if began.elapsed() >= timeout {
            return Err(format!("not healthy after {} s", timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How long the engine gives a replica to stop before it kills it.
const STOP_SECONDS: i32 = 10;

/// Replaces one replica by a copy running `image`; puts the old one back when the copy does
/// not start healthy. `progress` hears each wait as it begins.
pub async fn replace(
    docker: &Docker,
    container: &str,
    (image, order): (&str, Order),
    timeout: Duration,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<ReplicaOutcome, DeployError> {
    let old = docker
        .inspect_container(container, None)
        .await
        .map_err(failed("inspect"))?;
    let old_id = old.id.clone().unwrap_or_default();
    let name = old
        .name
        .clone()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let body = recreate_body(docker, &old, image).await?;
    let networks = networks(&old, &old_id.chars().take(12).collect::<String>());
    let parked = format!("{name}{PARKED}");
    docker
        .rename_container(
            &old_id,
            RenameContainerOptionsBuilder::new().name(&parked).build(),
        )
        .await
        .map_err(failed("rename the old container"))?;
    let old_short = &old_id[..12.min(old_id.len())];
    let stop = StopContainerOptionsBuilder::new().t(STOP_SECONDS).build();
    if order == Order::StopFirst {
        progress(&format!(
            "  stopping {old_short} (up to {STOP_SECONDS} s; it is down until its successor is healthy)"
        ));
        if let Err(e) = docker.stop_container(&old_id, Some(stop.clone())).await {
            restore(docker, &old_id, &name).await;
            return Err(failed("stop the old container")(e));
        }
    }
    let created = match docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(&name).build()),
            body,
        )
        .await
    {
        Ok(created) => created.id,
        Err(e) => {
            restore(docker, &old_id, &name).await;
            return Ok(ReplicaOutcome::Reverted {
                reason: format!("the new container could not be created: {}", describe(&e)),
            });
        }
    };
    for (network, endpoint) in networks.iter().skip(1) {
        let request = NetworkConnectRequest {
            container: created.clone(),
            endpoint_config: Some(endpoint.clone()),
        };
        let _ = docker.connect_network(network, request).await;
    }
    let result = match docker.start_container(&created, None).await {
        Ok(()) => {
            let beside = match order {
                Order::StartFirst => format!(" beside {old_short}, which serves meanwhile"),
                Order::StopFirst => String::new(),
            };
            progress(&format!(
                "  started {}{beside}; waiting for it to turn healthy (up to {} s)",
                &created[..12.min(created.len())],
                timeout.as_secs()
            ));
            started(docker, &created, timeout).await
        }
        Err(e) => Err(describe(&e)),
    };
    match result {
        Ok(()) => {
            if order == Order::StartFirst {
                progress(&format!(
                    "  {} is healthy; stopping {old_short} (up to {STOP_SECONDS} s)",
                    &created[..12.min(created.len())]
                ));
                let _ = docker.stop_container(&old_id, Some(stop)).await;
            }
            let remove = RemoveContainerOptionsBuilder::new().force(true).build();
            let _ = docker.remove_container(&old_id, Some(remove)).await;
            Ok(ReplicaOutcome::Replaced {
                old: old_id,
                new: created,
            })
        }
        Err(reason) => {
            let remove = RemoveContainerOptionsBuilder::new().force(true).build();
            let _ = docker.remove_container(&created, Some(remove)).await;
            restore(docker, &old_id, &name).await;
            Ok(ReplicaOutcome::Reverted { reason })
        }
    }
}

/// Puts a parked container back under its name and starts it.
async fn restore(docker: &Docker, id: &str, name: &str) {
    let _ = docker
        .rename_container(id, RenameContainerOptionsBuilder::new().name(name).build())
        .await;
    let _ = docker.start_container(id, None).await;
}

/// A whole service moved to `image`, replica by replica.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceOutcome {
    Stable {
        replicas: usize,
    },
    /// A replica failed; it and every replica already moved are back on what they ran.
    Reverted {
        reason: String,
    },
}

/// Moves every replica (id and the image reference it runs, in replica order) to `image`, one
/// at a time; when one fails, the ones already moved go back to their previous image.
pub async fn deploy_service(
    docker: &Docker,
    replicas: &[(String, String)],
    (image, order): (&str, Order),
    timeout: Duration,
    mut progress: impl FnMut(&str) + Send,
) -> Result<ServiceOutcome, DeployError> {
    let mut moved: Vec<(String, String)> = Vec::new();
    for (id, previous) in replicas {
        let short: String = id.chars().take(12).collect();
        progress(&format!("replacing {short} ({previous} → {image})"));
        match replace(docker, id, (image, order), timeout, &mut progress).await? {
            ReplicaOutcome::Replaced { new, .. } => {
                progress(&format!(
                    "{short} replaced by {} and healthy",
                    &new[..12.min(new.len())]
                ));
                moved.push((new, previous.clone()));
            }
            ReplicaOutcome::Reverted { reason } => {
                progress(&format!(
                    "{short}: {reason}; the previous container is back"
                ));
                for (new, previous) in moved.iter().rev() {
                    progress(&format!(
                        "putting {} back on {previous}",
                        &new[..12.min(new.len())]
                    ));
                    replace(docker, new, (previous, order), timeout, &mut progress).await?;
                }
                return Ok(ServiceOutcome::Reverted { reason });
            }
        }
    }
    Ok(ServiceOutcome::Stable {
        replicas: replicas.len(),
    })
}

/// A Compose change worked out and checked, nothing touched yet: the replicas to move (id and
/// the image reference each runs, in replica order) and the image they move to.
pub struct ServicePlan {
    pub docker: Docker,
    /// `project/service`.
    pub service: String,
    pub replicas: Vec<(String, String)>,
    pub from: String,
    pub to: String,
    /// `image: from → to`, then what the new image's defaults change (env names, command,
    /// labels) for a replica that does not set them itself.
    pub diff: Vec<String>,
    pub order: Order,
    /// Why that order, in words, when it was not asked for.
    pub order_why: String,
}

/// Works out moving `service` to `image`, or (`None`, a rollback) to the image it ran before
/// its latest change, from dokk's journal. Refused when it already runs it or the engine does
/// not have it.
pub async fn plan(
    context: &str,
    host: &str,
    service: &str,
    image: Option<&str>,
    order: Option<Order>,
) -> Result<ServicePlan, DeployError> {
    let (docker, qualified, running, containers) = running_replicas(host, service).await?;
    let replicas: Vec<(String, String)> = running
        .iter()
        .map(|c| (c.id.clone(), c.image.clone()))
        .collect();
    let from = replicas[0].1.clone();
    let to = match image {
        Some(image) => image.to_string(),
        None => previous(context, &qualified, &from)?,
    };
    if replicas.iter().all(|(_, running)| *running == to) {
        return Err(DeployError::Refused(format!(
            "{qualified} already runs {to}"
        )));
    }
    check_image(&docker, &to).await?;
    let first = docker
        .inspect_container(&replicas[0].0, None)
        .await
        .map_err(failed("inspect"))?;
    let mut diff = vec![format!("image: {from} → {to}")];
    diff.extend(changes(&docker, &first, &to).await?);
    let memory = docker::host_info(&docker, host)
        .await
        .map(|h| h.memory_bytes)
        .unwrap_or(0);
    let (order, order_why) = choose_order(order, &running, &containers, memory)?;
    Ok(ServicePlan {
        docker,
        service: qualified,
        replicas,
        from,
        to,
        diff,
        order,
        order_why,
    })
}

/// Start-first unless a replica publishes a host port, or the host has no room for one more
/// replica's memory limit beside what is allocated (then stop-first, or refused when
/// start-first was asked for); `asked` overrides.
fn choose_order(
    asked: Option<Order>,
    replicas: &[Container],
    containers: &[Container],
    host_memory: u64,
) -> Result<(Order, String), DeployError> {
    let published: Vec<String> = replicas
        .iter()
        .flat_map(|c| c.ports.iter())
        .filter_map(|p| p.host.as_ref().map(|h| format!("{h}→{}", p.container)))
        .collect();
    let allocated = Allocation::of(containers, &HashMap::new()).memory_limit_bytes;
    let limit = replicas
        .iter()
        .filter_map(|c| c.limits.memory_bytes)
        .max()
        .unwrap_or(0);
    let mib = |bytes: u64| bytes >> 20;
    let no_room = (host_memory > 0 && allocated + limit > host_memory).then(|| {
        format!(
            "the host has no room for one more replica's {} MiB memory limit ({} of {} MiB              already allocated to limits)",
            mib(limit),
            mib(allocated),
            mib(host_memory)
        )
    });
    let ports = (!published.is_empty()).then(|| {
        format!(
            "it publishes host port {}, which two containers cannot hold at once",
            published.join(", ")
        )
    });
    match (asked, ports.or(no_room)) {
        (Some(Order::StopFirst), _) => Ok((Order::StopFirst, "as asked".into())),
        (Some(Order::StartFirst), Some(why)) => Err(DeployError::Refused(format!(
            "start-first is not possible: {why}; deploy with --order stop-first (each replica is \
             down until its successor is healthy) — nothing was touched"
        ))),
        (Some(Order::StartFirst), None) => Ok((Order::StartFirst, "as asked".into())),
        (None, Some(why)) => Ok((Order::StopFirst, why)),
        (None, None) => Ok((Order::StartFirst, "no host port to share".into())),
    }
}

/// The service's running replicas in replica order, and every container on the host.
async fn running_replicas(
    host: &str,
    service: &str,
) -> Result<(Docker, String, Vec<Container>, Vec<Container>), DeployError> {
    let engine = |e: docker::DockerError| {
        DeployError::Failed(format!("{e}\n{}", docker::connection_hint(host)))
    };
    let (client, containers) = docker::connect_and_inspect(host).await.map_err(engine)?;
    let services = group_services(&containers, &Default::default());
    let found = find_service(&services, service).map_err(DeployError::Refused)?;
    if found.key.project.is_none() {
        return Err(DeployError::Refused(format!(
            "`{service}` is a container outside Compose; dokk deploys Compose services"
        )));
    }
    let list: Vec<Container> = found
        .containers
        .iter()
        .filter_map(|id| containers.iter().find(|c| &c.id == id))
        .filter(|c| c.is_running() && !c.name.ends_with(PARKED))
        .cloned()
        .collect();
    if list.is_empty() {
        return Err(DeployError::Refused(format!(
            "{service} has no running replica"
        )));
    }
    Ok((client, found.key.qualified(), list, containers))
}

/// The image the service ran before `current`, from dokk's journal.
fn previous(context: &str, qualified: &str, current: &str) -> Result<String, DeployError> {
    journal(context, qualified)
        .iter()
        .rev()
        .find(|e| e["to"] == current && e["result"] == "stable")
        .and_then(|e| e["from"].as_str().map(str::to_string))
        .ok_or_else(|| {
            DeployError::Refused(format!(
                "dokk has no record of what {qualified} ran before {current}; name an image with --to"
            ))
        })
}

/// What moving `old` to `image` changes besides the image: the new image's defaults replace
/// the old one's wherever the container did not set its own (env by name only, values may be
/// secrets; the command; labels).
pub async fn changes(
    docker: &Docker,
    old: &ContainerInspectResponse,
    image: &str,
) -> Result<Vec<String>, DeployError> {
    let body = recreate_body(docker, old, image).await?;
    let defaults = docker
        .inspect_image(image)
        .await
        .map_err(failed("inspect image"))?
        .config
        .unwrap_or_default();
    let config = old.config.clone().unwrap_or_default();
    let mut lines = Vec::new();

    let by_name = |env: &[String]| -> HashMap<String, String> {
        env.iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect()
    };
    let before = by_name(&config.env.clone().unwrap_or_default());
    let mut after = by_name(&defaults.env.clone().unwrap_or_default());
    after.extend(by_name(&body.env.clone().unwrap_or_default()));
    lines.extend(map_changes("env", &before, &after, false));

    // An entrypoint of the container's own drops the image's command, as the engine does.
    let entrypoint = body.entrypoint.clone().or(defaults.entrypoint.clone());
    let cmd = match (&body.cmd, &body.entrypoint) {
        (Some(cmd), _) => Some(cmd.clone()),
        (None, Some(_)) => None,
        (None, None) => defaults.cmd.clone(),
    };
    let command = |entrypoint: &Option<Vec<String>>, cmd: &Option<Vec<String>>| {
        entrypoint
            .iter()
            .chain(cmd.iter())
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (was, will) = (
        command(&config.entrypoint, &config.cmd),
        command(&entrypoint, &cmd),
    );
    if was != will {
        lines.push(format!("command: `{was}` → `{will}`"));
    }

    let before = config.labels.clone().unwrap_or_default();
    let mut after = defaults.labels.clone().unwrap_or_default();
    after.extend(body.labels.clone().unwrap_or_default());
    lines.extend(map_changes("label", &before, &after, true));
    Ok(lines)
}

/// `what: + KEY`, `− KEY`, `~ KEY`, sorted by key; with `values`, what they are and become
/// (labels), without (env: values may be secrets).
fn map_changes(
    what: &str,
    before: &HashMap<String, String>,
    after: &HashMap<String, String>,
    values: bool,
) -> Vec<String> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| match (before.get(key), after.get(key)) {
            (None, Some(v)) if values => Some(format!("{what}: + {key}={v}")),
            (None, Some(_)) => Some(format!("{what}: + {key}")),
            (Some(_), None) => Some(format!("{what}: − {key}")),
            (Some(a), Some(b)) if a != b && values => Some(format!("{what}: ~ {key}: {a} → {b}")),
            (Some(a), Some(b)) if a != b => Some(format!("{what}: ~ {key} (value changes)")),
            _ => None,
        })
        .collect()
}

/// The images the service has run, newest first: the live one, then dokk's journal; each
/// with whether the engine still has it (a rollback needs it there).
pub async fn history(
    context: &str,
    host: &str,
    service: &str,
) -> Result<Vec<Revision>, DeployError> {
    let (client, qualified, list, _) = running_replicas(host, service).await?;
    let live = list[0].image.clone();
    let mut seen = vec![live.clone()];
    let mut rows = vec![(live.clone(), true, None::<String>, None::<String>)];
    for entry in journal(context, &qualified).iter().rev() {
        for key in ["to", "from"] {
            if let Some(image) = entry[key].as_str()
                && !seen.iter().any(|s| s == image)
            {
                seen.push(image.to_string());
                rows.push((
                    image.to_string(),
                    false,
                    entry["time"].as_str().map(str::to_string),
                    entry["user"].as_str().map(str::to_string),
                ));
            }
        }
    }
    let mut revisions = Vec::new();
    for (image, is_live, time, user) in rows {
        let found = client.inspect_image(&image).await.ok();
        revisions.push(Revision {
            images: vec![image.clone()],
            number: None,
            status: if found.is_some() { "ON ENGINE" } else { "GONE" }.into(),
            registered_at: time
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&chrono::Utc)),
            registered_by: user,
            can_rollback: found.is_some() && !is_live,
            image_id: found.as_ref().and_then(|i| i.id.clone()),
            digest: found
                .as_ref()
                .and_then(|i| i.repo_digests.clone())
                .and_then(|d| d.first().cloned()),
            created: found.as_ref().and_then(|i| i.created.clone()),
            live: is_live,
            in_deployment: false,
            containers: Vec::new(),
            cpu: None,
            memory: None,
            id: image,
        });
    }
    Ok(revisions)
}

/// Every tagged image on the engine (`<none>` ones left out: nothing to name them by).
pub async fn engine_images(host: &str) -> Result<Vec<String>, DeployError> {
    let client = docker::connect(host)
        .await
        .map_err(|e| DeployError::Failed(e.to_string()))?;
    let images = client
        .list_images(None::<bollard::query_parameters::ListImagesOptions>)
        .await
        .map_err(failed("list images"))?;
    Ok(images
        .into_iter()
        .flat_map(|i| i.repo_tags)
        .filter(|t| t != "<none>:<none>")
        .collect())
}
