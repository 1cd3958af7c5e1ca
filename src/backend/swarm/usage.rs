//! Live usage of each task, from its own node's engine: the manager knows where tasks run,
//! not what they use (moby#31555). A node dokk cannot reach keeps its tasks without usage and
//! says why.

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, StatsOptionsBuilder};
use futures_util::future::join_all;
use futures_util::{StreamExt, stream};

use super::SwarmNode;
use crate::backend::docker::{self, DockerError};
use crate::config::SwarmTarget;
use crate::model::Usage;

const TASK_LABEL: &str = "com.docker.swarm.task.id";
/// Stats requests in flight per node (each takes about a second: the engine waits for a
/// second reading).
const PARALLEL_SAMPLES: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum NodeUsage {
    /// Tasks sampled on the node, and their sum.
    Sampled { tasks: usize, total: Usage },
    /// Why the node's usage is missing.
    Missing(String),
}

/// One round of samples: usage by task id, and how each node (by hostname) went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwarmUsage {
    pub tasks: HashMap<String, Usage>,
    pub nodes: BTreeMap<String, NodeUsage>,
}

/// The node engines dokk has connected to, by hostname, kept between rounds.
pub type NodeEngines = HashMap<String, Docker>;

/// Samples every ready node's running tasks, all nodes at once.
pub async fn sample(
    target: &SwarmTarget,
    nodes: &[SwarmNode],
    engines: &mut NodeEngines,
) -> SwarmUsage {
    let rounds: Vec<_> = nodes
        .iter()
        .map(|node| {
            let (target, node) = (target.clone(), node.clone());
            let known = engines.get(&node.hostname).cloned();
            tokio::spawn(async move {
                let result = sample_node(&target, &node, known).await;
                (node.hostname, result)
            })
        })
        .collect();
    let mut usage = SwarmUsage::default();
    for (hostname, result) in join_all(rounds).await.into_iter().flatten() {
        match result {
            Ok((client, tasks)) => {
                let total = tasks.values().fold(Usage::default(), |sum, u| Usage {
                    cpu_percent: sum.cpu_percent + u.cpu_percent,
                    memory_bytes: sum.memory_bytes + u.memory_bytes,
                });
                usage.nodes.insert(
                    hostname.clone(),
                    NodeUsage::Sampled {
                        tasks: tasks.len(),
                        total,
                    },
                );
                usage.tasks.extend(tasks);
                engines.insert(hostname, client);
            }
            Err(why) => {
                engines.remove(&hostname);
                usage.nodes.insert(hostname, NodeUsage::Missing(why));
            }
        }
    }
    usage
}

async fn sample_node(
    target: &SwarmTarget,
    node: &SwarmNode,
    known: Option<Docker>,
) -> Result<(Docker, HashMap<String, Usage>), String> {
    if !node.is_ready() {
        return Err(format!("the node is {}", node.state));
    }
    let Some(address) = target.node_engine(&node.hostname) else {
        return Err(format!(
            "no engine address: add `{} = \"ssh://…\"` under [contexts.NAME.nodes], or node_host",
            node.hostname
        ));
    };
    let client = match known {
        Some(client) => client,
        None => docker::connect(&address)
            .await
            .map_err(|e| reason(&e, &address))?,
    };
    let options = ListContainersOptionsBuilder::default()
        .filters(&HashMap::from([("label", vec![TASK_LABEL])]))
        .build();
    let summaries = tokio::time::timeout(
        docker::REQUEST_TIMEOUT,
        client.list_containers(Some(options)),
    )
    .await
    .map_err(|_| format!("{address} did not answer"))?
    .map_err(|e| format!("{address}: {}", docker::describe(&e)))?;
    let running: Vec<(String, String)> = summaries
        .into_iter()
        .filter_map(|s| Some((s.id?, s.labels?.get(TASK_LABEL)?.clone())))
        .collect();
    let samples = stream::iter(running).map(|(container, task)| {
        let client = client.clone();
        async move {
            let options = StatsOptionsBuilder::default()
                .stream(false)
                .one_shot(false)
                .build();
            let mut samples = client.stats(&container, Some(options));
            match tokio::time::timeout(docker::REQUEST_TIMEOUT, samples.next()).await {
                Ok(Some(Ok(sample))) => docker::usage_from_sample(&sample).map(|u| (task, u)),
                _ => None,
            }
        }
    });
    let tasks = samples
        .buffer_unordered(PARALLEL_SAMPLES)
        .filter_map(|pair| async move { pair })
        .collect()
        .await;
    Ok((client, tasks))
}

fn reason(error: &DockerError, address: &str) -> String {
    match error {
        DockerError::Unreachable { message, .. } => format!("cannot reach {address}: {message}"),
        DockerError::Timeout { seconds, .. } => format!("{address} did not answer in {seconds} s"),
    }
}

impl SwarmUsage {
    /// What the tasks sampled use together (CPU 100 = one core); `None` when none was sampled.
    pub fn sum<'a>(&self, task_ids: impl IntoIterator<Item = &'a str>) -> Option<Usage> {
        let mut total: Option<Usage> = None;
        for usage in task_ids.into_iter().filter_map(|id| self.tasks.get(id)) {
            let sum = total.get_or_insert_with(Usage::default);
            sum.cpu_percent += usage.cpu_percent;
            sum.memory_bytes += usage.memory_bytes;
        }
        total
    }
}
