//! The Docker engine backend (bollard): connection, listing, stats and the live watcher.

mod cgroup;
mod convert;
pub mod exec;
pub mod logs;
mod sampler;
pub mod ssh;
mod stats;
mod watcher;

pub use convert::container_from_inspect;
pub use sampler::{OFF_SCREEN_EVERY, OnScreen, SamplingOptions};
pub use stats::{memory_without_cache, usage_from_sample};
pub use watcher::spawn_watcher;

use std::collections::HashMap;
use std::error::Error as _;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, StatsOptionsBuilder};
use futures_util::{StreamExt, stream};

use crate::model::{Container, HostInfo, Usage};

/// How long a single request may take before the engine counts as unreachable.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// bollard's own limit for a request (long ones, such as logs, are not cut by `REQUEST_TIMEOUT`).
const CLIENT_TIMEOUT_SECS: u64 = 120;
/// Concurrent inspect / stats requests while loading the fleet.
const PARALLEL_REQUESTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker engine at {host}: {message}")]
    Unreachable { host: String, message: String },
    #[error("the Docker engine at {host} did not answer within {seconds} s")]
    Timeout { host: String, seconds: u64 },
}

pub use crate::config::default_docker_host as default_host;

/// What to try when the engine at `host` cannot be reached.
pub fn connection_hint(host: &str) -> &'static str {
    if host.starts_with("unix://") {
        "Is the engine running (systemctl start docker) and may you read its socket (docker group)?"
    } else if host.starts_with("ssh://") {
        "Does `ssh` to that host work without a prompt, and does `docker version` run there?"
    } else {
        "Is the engine listening on that address, and does a firewall let you through?"
    }
}

/// The error and its causes on one line: bollard's own messages alone are often terse.
pub fn describe(error: &bollard::errors::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

async fn timed<T>(
    host: &str,
    request: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, DockerError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(DockerError::Unreachable {
            host: host.to_string(),
            message: describe(&error),
        }),
        Err(_) => Err(DockerError::Timeout {
            host: host.to_string(),
            seconds: REQUEST_TIMEOUT.as_secs(),
        }),
    }
}

/// Connects to `host` (`unix://`, `tcp://`, `ssh://`) and negotiates the API version, so
/// engines older than bollard's default API (Debian's speaks 1.41) work.
///
/// An `ssh://` engine is reached through the host's one SSH connection (`ssh::tunnel`),
/// started on first use and again after it was lost.
pub async fn connect(host: &str) -> Result<Docker, DockerError> {
    let unreachable = |e: bollard::errors::Error| DockerError::Unreachable {
        host: host.to_string(),
        message: describe(&e),
    };
    let docker = if host.starts_with("ssh://") {
        let tunnel = ssh::tunnel(host).await?;
        Docker::connect_with_unix(
            &tunnel.local_address(),
            CLIENT_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(unreachable)?
    } else {
        Docker::connect_with_host(host).map_err(unreachable)?
    };
    timed(host, docker.negotiate_version()).await
}

pub async fn host_info(docker: &Docker, host: &str) -> Result<HostInfo, DockerError> {
    let info = timed(host, docker.info()).await?;
    Ok(HostInfo {
        name: info.name.unwrap_or_default(),
        engine_version: info.server_version.unwrap_or_default(),
        api_version: docker.client_version().to_string(),
        cpus: info.ncpu.unwrap_or(0).max(0) as u32,
        memory_bytes: info.mem_total.unwrap_or(0).max(0) as u64,
        os: info.operating_system.unwrap_or_default(),
    })
}

/// Ids and states of every container, running or not.
pub async fn list_ids(docker: &Docker, host: &str) -> Result<Vec<(String, String)>, DockerError> {
    let options = ListContainersOptionsBuilder::default().all(true).build();
    let summaries = timed(host, docker.list_containers(Some(options))).await?;
    Ok(summaries
        .into_iter()
        .filter_map(|s| {
            let state = s.state.map(|s| s.to_string()).unwrap_or_default();
            Some((s.id?, state))
        })
        .collect())
}

/// Inspects one container; `Ok(None)` when it no longer exists.
pub async fn inspect(
    docker: &Docker,
    host: &str,
    id: &str,
) -> Result<Option<Container>, DockerError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, docker.inspect_container(id, None)).await {
        Ok(Ok(inspect)) => Ok(Some(container_from_inspect(inspect))),
        Ok(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(None),
        Ok(Err(error)) => Err(DockerError::Unreachable {
            host: host.to_string(),
            message: describe(&error),
        }),
        Err(_) => Err(DockerError::Timeout {
            host: host.to_string(),
            seconds: REQUEST_TIMEOUT.as_secs(),
        }),
    }
}

/// Inspects many containers, a few at a time. Containers removed meanwhile are left out.
pub async fn inspect_all(
    docker: &Docker,
    host: &str,
    ids: impl IntoIterator<Item = String>,
) -> Result<Vec<Container>, DockerError> {
    let results: Vec<Result<Option<Container>, DockerError>> = stream::iter(ids)
        .map(|id| async move { inspect(docker, host, &id).await })
        .buffer_unordered(PARALLEL_REQUESTS)
        .collect()
        .await;
    let mut containers = Vec::with_capacity(results.len());
    for result in results {
        containers.extend(result?);
    }
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(containers)
}

/// Connects to the engine at `host` and inspects every container on it: what a one-shot
/// command (status, logs, deploy) starts from.
pub async fn connect_and_inspect(host: &str) -> Result<(Docker, Vec<Container>), DockerError> {
    let client = connect(host).await?;
    let ids = list_ids(&client, host).await?;
    let containers = inspect_all(&client, host, ids.into_iter().map(|(id, _)| id)).await?;
    Ok((client, containers))
}

/// One usage sample per running container, as `docker stats --no-stream` takes it: the engine
/// waits for a second reading, so CPU is measured over about one second.
pub async fn sample_usage(docker: &Docker, containers: &[Container]) -> HashMap<String, Usage> {
    let running = containers.iter().filter(|c| c.is_running());
    stream::iter(running)
        .map(|c| async move {
            let options = StatsOptionsBuilder::default()
                .stream(false)
                .one_shot(false)
                .build();
            let mut samples = docker.stats(&c.id, Some(options));
            let sample = tokio::time::timeout(REQUEST_TIMEOUT, samples.next()).await;
            match sample {
                Ok(Some(Ok(sample))) => usage_from_sample(&sample).map(|u| (c.id.clone(), u)),
                _ => None,
            }
        })
        .buffer_unordered(64)
        .filter_map(|pair| async move { pair })
        .collect()
        .await
}
