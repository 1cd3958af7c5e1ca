//! The ECS backend (aws-sdk-ecs): one cluster's services, their task definitions and its
//! container instances, read with every list call paginated and every describe call
//! batched to its limit (10 services, 100 container instances a call).

use std::collections::HashMap;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ContainerInstance, TaskDefinition};

use crate::config::EcsTarget;
use crate::model::Env;

const SERVICES_PER_CALL: usize = 10;
const INSTANCES_PER_CALL: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum EcsError {
    #[error("ECS {call} failed: {message}")]
    Call { call: &'static str, message: String },
    #[error("no cluster named; the account has {}: name one with `cluster = ...` in the context", if .0.is_empty() { "none".to_string() } else { .0.join(", ") })]
    WhichCluster(Vec<String>),
}

fn failed<E, R>(call: &'static str) -> impl Fn(aws_sdk_ecs::error::SdkError<E, R>) -> EcsError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    move |error| EcsError::Call {
        call,
        message: aws_sdk_ecs::error::DisplayErrorContext(&error).to_string(),
    }
}

/// Every item of a paginated list call.
async fn every_item<T, E, R>(
    call: &'static str,
    items: aws_smithy_async::future::pagination_stream::PaginationStream<
        Result<T, aws_sdk_ecs::error::SdkError<E, R>>,
    >,
) -> Result<Vec<T>, EcsError>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    items
        .collect::<Result<Vec<T>, _>>()
        .await
        .map_err(failed(call))
}

/// A client for the context: its profile, region and endpoint, with adaptive retries (they
/// back off on throttling).
pub async fn client(target: &EcsTarget) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(5));
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &target.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &target.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    Client::new(&loader.load().await)
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EcsDeployment {
    pub status: String,
    pub task_definition: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub rollout_state: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EcsService {
    pub name: String,
    pub env: Option<Env>,
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    /// `family:revision` of the service's task definition.
    pub task_definition: String,
    /// Task size: task-level CPU units (1024 = 1 vCPU) and MiB, or the containers' sum.
    pub cpu_units: Option<i32>,
    pub memory_mib: Option<i32>,
    pub images: Vec<String>,
    pub deployments: Vec<EcsDeployment>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EcsNode {
    pub container_instance: String,
    pub instance_id: String,
    pub availability_zone: Option<String>,
    pub instance_type: Option<String>,
    pub agent_connected: bool,
    pub status: String,
    pub registered_cpu_units: i32,
    pub registered_memory_mib: i32,
    pub remaining_cpu_units: i32,
    pub remaining_memory_mib: i32,
    pub running_tasks: i32,
    pub pending_tasks: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EcsFleet {
    pub cluster: String,
    pub services: Vec<EcsService>,
    pub nodes: Vec<EcsNode>,
}

/// The cluster the context names, or the only one the account has.
pub async fn cluster_name(client: &Client, target: &EcsTarget) -> Result<String, EcsError> {
    if let Some(cluster) = &target.cluster {
        return Ok(cluster.clone());
    }
    let arns = every_item(
        "ListClusters",
        client.list_clusters().into_paginator().items().send(),
    )
    .await?;
    let names: Vec<String> = arns
        .iter()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(EcsError::WhichCluster(names)),
    }
}

pub async fn load_fleet(client: &Client, cluster: &str) -> Result<EcsFleet, EcsError> {
    let service_arns = every_item(
        "ListServices",
        client
            .list_services()
            .cluster(cluster)
            .max_results(100)
            .into_paginator()
            .items()
            .send(),
    )
    .await?;
    let mut described = Vec::with_capacity(service_arns.len());
    for chunk in service_arns.chunks(SERVICES_PER_CALL) {
        let output = client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(failed("DescribeServices"))?;
        described.extend(output.services.unwrap_or_default());
    }
    // Task-definition revisions never change: each is read once.
    let mut definitions: HashMap<String, TaskDefinition> = HashMap::new();
    for service in &described {
        if let Some(arn) = service.task_definition()
            && !definitions.contains_key(arn)
        {
            let output = client
                .describe_task_definition()
                .task_definition(arn)
                .send()
                .await
                .map_err(failed("DescribeTaskDefinition"))?;
            if let Some(definition) = output.task_definition {
                definitions.insert(arn.to_string(), definition);
            }
        }
    }
    let mut services: Vec<EcsService> = described
        .iter()
        .map(|s| {
            let definition = s.task_definition().and_then(|arn| definitions.get(arn));
            let name = s.service_name().unwrap_or_default().to_string();
            EcsService {
                env: Env::split(&name).1,
                status: s.status().unwrap_or_default().to_string(),
                desired: s.desired_count,
                running: s.running_count,
                pending: s.pending_count,
                task_definition: s.task_definition().map(family_revision).unwrap_or_default(),
                cpu_units: definition.and_then(task_cpu_units),
                memory_mib: definition.and_then(task_memory_mib),
                images: definition
                    .map(|d| {
                        d.container_definitions()
                            .iter()
                            .filter_map(|c| c.image().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                deployments: s
                    .deployments()
                    .iter()
                    .map(|d| EcsDeployment {
                        status: d.status().unwrap_or_default().to_string(),
                        task_definition: d
                            .task_definition()
                            .map(family_revision)
                            .unwrap_or_default(),
                        desired: d.desired_count,
                        running: d.running_count,
                        pending: d.pending_count,
                        rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                    })
                    .collect(),
                name,
            }
        })
        .collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));

    let instance_arns = every_item(
        "ListContainerInstances",
        client
            .list_container_instances()
            .cluster(cluster)
            .max_results(100)
            .into_paginator()
            .items()
            .send(),
    )
    .await?;
    let mut nodes = Vec::with_capacity(instance_arns.len());
    for chunk in instance_arns.chunks(INSTANCES_PER_CALL) {
        let output = client
            .describe_container_instances()
            .cluster(cluster)
            .set_container_instances(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(failed("DescribeContainerInstances"))?;
        nodes.extend(output.container_instances().iter().map(node));
    }
    nodes.sort_by(|a, b| {
        (&a.availability_zone, &a.instance_id).cmp(&(&b.availability_zone, &b.instance_id))
    });
    Ok(EcsFleet {
        cluster: cluster.to_string(),
        services,
        nodes,
    })
}

/// `arn:aws:ecs:…:task-definition/web:3` → `web:3`.
fn family_revision(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

fn task_cpu_units(definition: &TaskDefinition) -> Option<i32> {
    definition.cpu().and_then(|c| c.parse().ok()).or_else(|| {
        let sum: i32 = definition
            .container_definitions()
            .iter()
            .map(|c| c.cpu)
            .sum();
        (sum > 0).then_some(sum)
    })
}

fn task_memory_mib(definition: &TaskDefinition) -> Option<i32> {
    definition
        .memory()
        .and_then(|m| m.parse().ok())
        .or_else(|| {
            let sum: i32 = definition
                .container_definitions()
                .iter()
                .filter_map(|c| c.memory.or(c.memory_reservation))
                .sum();
            (sum > 0).then_some(sum)
        })
}

fn node(instance: &ContainerInstance) -> EcsNode {
    let resource = |list: &[aws_sdk_ecs::types::Resource], name: &str| {
        list.iter()
            .find(|r| r.name() == Some(name))
            .map_or(0, |r| r.integer_value)
    };
    let attribute = |name: &str| {
        instance
            .attributes()
            .iter()
            .find(|a| a.name() == name)
            .and_then(|a| a.value().map(str::to_string))
    };
    EcsNode {
        container_instance: instance
            .container_instance_arn()
            .map(family_revision)
            .unwrap_or_default(),
        instance_id: instance.ec2_instance_id().unwrap_or_default().to_string(),
        availability_zone: attribute("ecs.availability-zone"),
        instance_type: attribute("ecs.instance-type"),
        agent_connected: instance.agent_connected,
        status: instance.status().unwrap_or_default().to_string(),
        registered_cpu_units: resource(instance.registered_resources(), "CPU"),
        registered_memory_mib: resource(instance.registered_resources(), "MEMORY"),
        remaining_cpu_units: resource(instance.remaining_resources(), "CPU"),
        remaining_memory_mib: resource(instance.remaining_resources(), "MEMORY"),
        running_tasks: instance.running_tasks_count,
        pending_tasks: instance.pending_tasks_count,
    }
}
