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

use super::ecs::DeployError;
use crate::backend::docker::describe;

/// How long a replica without a health check must stay up to count as started.
pub const SETTLE: Duration = Duration::from_secs(5);

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
async fn started(docker: &Docker, id: &str, timeout: Duration) -> Result<(), String> {
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

/// Replaces one replica by a copy running `image`; puts the old one back when the copy does
/// not start healthy.
pub async fn replace(
    docker: &Docker,
    container: &str,
    image: &str,
    timeout: Duration,
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
    let parked = format!("{name}-dokk-previous");
    docker
        .rename_container(
            &old_id,
            RenameContainerOptionsBuilder::new().name(&parked).build(),
        )
        .await
        .map_err(failed("rename the old container"))?;
    let stop = StopContainerOptionsBuilder::new().t(10).build();
    if let Err(e) = docker.stop_container(&old_id, Some(stop.clone())).await {
        restore(docker, &old_id, &name).await;
        return Err(failed("stop the old container")(e));
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
        Ok(()) => started(docker, &created, timeout).await,
        Err(e) => Err(describe(&e)),
    };
    match result {
        Ok(()) => {
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
    image: &str,
    timeout: Duration,
    mut progress: impl FnMut(&str),
) -> Result<ServiceOutcome, DeployError> {
    let mut moved: Vec<(String, String)> = Vec::new();
    for (id, previous) in replicas {
        let short: String = id.chars().take(12).collect();
        progress(&format!("replacing {short} ({previous} → {image})"));
        match replace(docker, id, image, timeout).await? {
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
                    replace(docker, new, previous, timeout).await?;
                }
                return Ok(ServiceOutcome::Reverted { reason });
            }
        }
    }
    Ok(ServiceOutcome::Stable {
        replicas: replicas.len(),
    })
}
