//! Services (with their task definitions, deployments and events) and container instances.

use std::collections::HashMap;

use aws_sdk_ecs::types::{ContainerInstance, TaskDefinition};
use chrono::{DateTime, Utc};

use super::{Aws, EcsError, every_item, failed, in_batches, last_segment, to_chrono};
use crate::model::Env;

const SERVICES_PER_CALL: usize = 10;
const INSTANCES_PER_CALL: usize = 100;
/// How many of a service's events are kept (the API returns up to 100, newest first).
const EVENTS_KEPT: usize = 20;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EcsDeployment {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed_tasks: i32,
    pub rollout_state: Option<String>,
    pub rollout_reason: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EcsEvent {
    pub at: Option<DateTime<Utc>>,
    pub message: String,
}

/// Where a container's awslogs go, from its task definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct AwsLogs {
    pub group: String,
    pub region: Option<String>,
    pub stream_prefix: Option<String>,
}

/// One container of a task definition: what it asks for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// CPU units (1024 = 1 vCPU); 0 when unset.
    pub cpu_units: i32,
    /// Hard limit in MiB.
    pub memory_mib: Option<i32>,
    /// Soft limit (reservation) in MiB.
    pub memory_reservation_mib: Option<i32>,
    pub logs: Option<AwsLogs>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EcsService {
    pub name: String,
    pub arn: String,
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
    pub containers: Vec<ContainerSpec>,
    pub deployments: Vec<EcsDeployment>,
    /// Newest first.
    pub events: Vec<EcsEvent>,
    pub target_groups: Vec<String>,
    pub enable_execute_command: bool,
    /// Placement strategy, as `binpack(memory)` / `spread(attribute:ecs.availability-zone)`.
    pub placement: Vec<String>,
}

impl EcsService {
    pub fn images(&self) -> Vec<&str> {
        self.containers.iter().map(|c| c.image.as_str()).collect()
    }
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

impl EcsNode {
    pub fn reserved_cpu_units(&self) -> i32 {
        self.registered_cpu_units - self.remaining_cpu_units
    }

    pub fn reserved_memory_mib(&self) -> i32 {
        self.registered_memory_mib - self.remaining_memory_mib
    }
}

/// Task-definition revisions never change: each is read once per session.
pub type TaskDefinitions = HashMap<String, TaskDefinition>;

pub async fn load_services(
    aws: &Aws,
    cluster: &str,
    definitions: &mut TaskDefinitions,
) -> Result<Vec<EcsService>, EcsError> {
    let arns = every_item(
        "ListServices",
        aws.ecs
            .list_services()
            .cluster(cluster)
            .max_results(100)
            .into_paginator()
            .items()
            .send(),
    )
    .await?;
    let described: Vec<aws_sdk_ecs::types::Service> =
        in_batches("DescribeServices", &arns, SERVICES_PER_CALL, |chunk| {
            aws.ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk))
                .send()
        })
        .await?
        .into_iter()
        .flat_map(|output| output.services.unwrap_or_default())
        .collect();
    for service in &described {
        if let Some(arn) = service.task_definition() {
            task_definition(aws, arn, definitions).await?;
        }
    }
    let mut services: Vec<EcsService> = described
        .iter()
        .map(|s| service(s, s.task_definition().and_then(|a| definitions.get(a))))
        .collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(services)
}

/// A task definition, from the cache or read once.
pub async fn task_definition<'a>(
    aws: &Aws,
    arn: &str,
    definitions: &'a mut TaskDefinitions,
) -> Result<Option<&'a TaskDefinition>, EcsError> {
    if !definitions.contains_key(arn) {
        let output = aws
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(failed("DescribeTaskDefinition"))?;
        if let Some(definition) = output.task_definition {
            definitions.insert(arn.to_string(), definition);
        }
    }
    Ok(definitions.get(arn))
}

pub fn service(s: &aws_sdk_ecs::types::Service, definition: Option<&TaskDefinition>) -> EcsService {
    let name = s.service_name().unwrap_or_default().to_string();
    EcsService {
        env: Env::split(&name).1,
        arn: s.service_arn().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        desired: s.desired_count,
        running: s.running_count,
        pending: s.pending_count,
        task_definition: s.task_definition().map(family_revision).unwrap_or_default(),
        cpu_units: definition.and_then(task_cpu_units),
        memory_mib: definition.and_then(task_memory_mib),
        containers: definition.map(container_specs).unwrap_or_default(),
        deployments: s
            .deployments()
            .iter()
            .map(|d| EcsDeployment {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().unwrap_or_default().to_string(),
                task_definition: d.task_definition().map(family_revision).unwrap_or_default(),
                desired: d.desired_count,
                running: d.running_count,
                pending: d.pending_count,
                failed_tasks: d.failed_tasks,
                rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                rollout_reason: d.rollout_state_reason().map(str::to_string),
                updated_at: d.updated_at().and_then(to_chrono),
                created_at: d.created_at().and_then(to_chrono),
            })
            .collect(),
        events: s
            .events()
            .iter()
            .take(EVENTS_KEPT)
            .map(|e| EcsEvent {
                at: e.created_at().and_then(to_chrono),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect(),
        target_groups: s
            .load_balancers()
            .iter()
            .filter_map(|lb| lb.target_group_arn().map(str::to_string))
            .collect(),
        enable_execute_command: s.enable_execute_command,
        placement: s
            .placement_strategy()
            .iter()
            .map(|p| {
                format!(
                    "{}({})",
                    p.r#type().map_or("", |t| t.as_str()),
                    p.field().unwrap_or_default()
                )
            })
            .collect(),
        name,
    }
}

pub fn container_specs(definition: &TaskDefinition) -> Vec<ContainerSpec> {
    definition
        .container_definitions()
        .iter()
        .map(|c| ContainerSpec {
            name: c.name().unwrap_or_default().to_string(),
            image: c.image().unwrap_or_default().to_string(),
            cpu_units: c.cpu,
            memory_mib: c.memory,
            memory_reservation_mib: c.memory_reservation,
            logs: c.log_configuration().and_then(|l| {
                let options = l.options()?;
                (l.log_driver().as_str() == "awslogs").then(|| AwsLogs {
                    group: options.get("awslogs-group").cloned().unwrap_or_default(),
                    region: options.get("awslogs-region").cloned(),
                    stream_prefix: options.get("awslogs-stream-prefix").cloned(),
                })
            }),
        })
        .collect()
}

pub async fn load_nodes(aws: &Aws, cluster: &str) -> Result<Vec<EcsNode>, EcsError> {
    let arns = every_item(
        "ListContainerInstances",
        aws.ecs
            .list_container_instances()
            .cluster(cluster)
            .max_results(100)
            .into_paginator()
            .items()
            .send(),
    )
    .await?;
    let mut nodes: Vec<EcsNode> = in_batches(
        "DescribeContainerInstances",
        &arns,
        INSTANCES_PER_CALL,
        |chunk| {
            aws.ecs
                .describe_container_instances()
                .cluster(cluster)
                .set_container_instances(Some(chunk))
                .send()
        },
    )
    .await?
    .iter()
    .flat_map(|output| output.container_instances().iter().map(node))
    .collect();
    nodes.sort_by(|a, b| {
        (&a.availability_zone, &a.instance_id).cmp(&(&b.availability_zone, &b.instance_id))
    });
    Ok(nodes)
}

/// `arn:aws:ecs:…:task-definition/web:3` → `web:3`.
pub fn family_revision(arn: &str) -> String {
    last_segment(arn).to_string()
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
