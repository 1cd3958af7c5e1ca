//! Refreshes one cluster on an interval and sends owned snapshots. Each part (services, tasks,
//! nodes, target health, metrics) is read on its own: when one fails, its error goes with the
//! snapshot and the others still arrive.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::fleet::TaskDefinitions;
use super::{
    Aws, EcsNode, EcsService, EcsTask, ServiceMetrics, TargetHealth, cluster_name, load_metrics,
    load_nodes, load_services, load_target_health, load_tasks,
};
use crate::backend::BackendEvent;
use crate::config::EcsTarget;

/// CloudWatch has one-minute datapoints: reading them more often only costs.
const METRICS_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Cluster,
    Services,
    Tasks,
    Nodes,
    Targets,
    Metrics,
}

impl Section {
    pub fn label(self) -> &'static str {
        match self {
            Section::Cluster => "cluster",
            Section::Services => "services",
            Section::Tasks => "tasks",
            Section::Nodes => "nodes",
            Section::Targets => "target health",
            Section::Metrics => "metrics",
        }
    }
}

/// One refresh. A part that is `None` was not read this time (it failed, or is not due):
/// what was shown before stays.
#[derive(Debug, Clone, Default)]
pub struct EcsSnapshot {
    pub cluster: String,
    pub services: Option<Vec<EcsService>>,
    pub tasks: Option<Vec<EcsTask>>,
    pub nodes: Option<Vec<EcsNode>>,
    /// Target health by target-group ARN.
    pub targets: Option<BTreeMap<String, Vec<TargetHealth>>>,
    pub metrics: Option<HashMap<String, ServiceMetrics>>,
    pub errors: BTreeMap<Section, String>,
    /// Requests this refresh sent, retries included.
    pub calls: u64,
    pub took: Duration,
}

/// What a refresh remembers for the next: cached task definitions, when metrics were read.
#[derive(Default)]
pub struct Refresher {
    definitions: TaskDefinitions,
    metrics_at: Option<Instant>,
    /// Why the last metrics read failed: shown until the next attempt, a minute on.
    metrics_error: Option<String>,
    target_groups: Vec<String>,
}

impl Refresher {
    pub async fn refresh(&mut self, aws: &Aws, cluster: &str) -> EcsSnapshot {
        let started = Instant::now();
        let calls_before = aws.calls.total();
        let mut snapshot = EcsSnapshot {
            cluster: cluster.to_string(),
            ..EcsSnapshot::default()
        };
        let (services, tasks, nodes) = tokio::join!(
            load_services(aws, cluster, &mut self.definitions),
            load_tasks(aws, cluster),
            load_nodes(aws, cluster),
        );
        match services {
            Ok(services) => {
                self.target_groups = services
                    .iter()
                    .flat_map(|s| s.target_groups.iter().cloned())
                    .collect();
                snapshot.services = Some(services);
            }
            Err(error) => {
                snapshot.errors.insert(Section::Services, error.to_string());
            }
        }
        match tasks {
            Ok(tasks) => snapshot.tasks = Some(tasks),
            Err(error) => {
                snapshot.errors.insert(Section::Tasks, error.to_string());
            }
        }
        match nodes {
            Ok(nodes) => snapshot.nodes = Some(nodes),
            Err(error) => {
                snapshot.errors.insert(Section::Nodes, error.to_string());
            }
        }
        if !self.target_groups.is_empty() {
            match load_target_health(aws, self.target_groups.iter().map(String::as_str)).await {
                Ok(targets) => snapshot.targets = Some(targets),
                Err(error) => {
                    snapshot.errors.insert(Section::Targets, error.to_string());
                }
            }
        } else if snapshot.services.is_some() {
            snapshot.targets = Some(BTreeMap::new());
        }
        let metrics_due = self
            .metrics_at
            .is_none_or(|at| at.elapsed() >= METRICS_EVERY);
        if metrics_due && let Some(services) = &snapshot.services {
            let names: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
            // A failing CloudWatch is asked again a minute on, not every refresh.
            self.metrics_at = Some(Instant::now());
            match load_metrics(aws, cluster, &names, chrono::Utc::now()).await {
                Ok(metrics) => {
                    self.metrics_error = None;
                    snapshot.metrics = Some(metrics);
                }
                Err(error) => self.metrics_error = Some(error.to_string()),
            }
        }
        if let Some(error) = &self.metrics_error {
            snapshot.errors.insert(Section::Metrics, error.clone());
        }
        snapshot.calls = aws.calls.total().saturating_sub(calls_before);
        snapshot.took = started.elapsed();
        snapshot
    }
}

/// Connects with the context's AWS settings and refreshes its cluster every `refresh`.
pub fn spawn_ecs_watcher(
    target: EcsTarget,
    refresh: Duration,
    events: mpsc::Sender<BackendEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let aws = Aws::connect(&target).await;
        watch(aws, refresh, events).await;
    })
}

pub async fn watch(aws: Aws, refresh: Duration, events: mpsc::Sender<BackendEvent>) {
    let mut refresher = Refresher::default();
    let mut cluster = None;
    let mut interval = tokio::time::interval(refresh);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if cluster.is_none() {
            match cluster_name(&aws).await {
                Ok(name) => cluster = Some(name),
                Err(error) => {
                    let mut snapshot = EcsSnapshot::default();
                    snapshot.errors.insert(Section::Cluster, error.to_string());
                    if events
                        .send(BackendEvent::Ecs(Box::new(snapshot)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    continue;
                }
            }
        }
        let Some(name) = &cluster else { continue };
        let snapshot = refresher.refresh(&aws, name).await;
        if events
            .send(BackendEvent::Ecs(Box::new(snapshot)))
            .await
            .is_err()
        {
            return;
        }
    }
}
