//! A cluster's tasks: the running ones and the recently stopped ones (with exit codes and
//! stopped reasons), described 100 a call.

use chrono::{DateTime, Utc};

use super::{Aws, EcsError, every_item, family_revision, in_batches, last_segment, to_chrono};

const TASKS_PER_CALL: usize = 100;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EcsContainer {
    pub name: String,
    /// The Docker container id on the node: what ECS Exec targets.
    pub runtime_id: Option<String>,
    pub last_status: String,
    pub health: Option<String>,
    pub image: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    /// `lastStatus` of the ExecuteCommandAgent, when the task has one.
    pub exec_agent: Option<String>,
    /// Ports bound on the node (bridge and host networking): what an instance target names.
    pub host_ports: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EcsTask {
    pub id: String,
    pub arn: String,
    /// From the task's group, `service:NAME`.
    pub service: Option<String>,
    pub task_definition: String,
    pub last_status: String,
    pub desired_status: String,
    pub health: Option<String>,
    pub availability_zone: Option<String>,
    /// Container instance id (the last part of its ARN).
    pub container_instance: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub enable_execute_command: bool,
    /// The task's own address (awsvpc networking): what an IP target names.
    pub private_ip: Option<String>,
    pub containers: Vec<EcsContainer>,
}

impl EcsTask {
    pub fn is_running(&self) -> bool {
        self.last_status == "RUNNING"
    }
}

/// Running and recently stopped tasks of the cluster, newest start first.
pub async fn load_tasks(aws: &Aws, cluster: &str) -> Result<Vec<EcsTask>, EcsError> {
    let mut arns = Vec::new();
    for status in [
        aws_sdk_ecs::types::DesiredStatus::Running,
        aws_sdk_ecs::types::DesiredStatus::Stopped,
    ] {
        arns.extend(
            every_item(
                "ListTasks",
                aws.ecs
                    .list_tasks()
                    .cluster(cluster)
                    .desired_status(status)
                    .max_results(100)
                    .into_paginator()
                    .items()
                    .send(),
            )
            .await?,
        );
    }
    let mut tasks: Vec<EcsTask> = in_batches("DescribeTasks", &arns, TASKS_PER_CALL, |chunk| {
        aws.ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk))
            .send()
    })
    .await?
    .iter()
    .flat_map(|output| output.tasks().iter().map(task))
    .collect();
    tasks.sort_by(|a, b| {
        (
            a.service.as_deref(),
            !a.is_running(),
            std::cmp::Reverse(a.started_at),
            &a.id,
        )
            .cmp(&(
                b.service.as_deref(),
                !b.is_running(),
                std::cmp::Reverse(b.started_at),
                &b.id,
            ))
    });
    Ok(tasks)
}

fn task(t: &aws_sdk_ecs::types::Task) -> EcsTask {
    EcsTask {
        id: t
            .task_arn()
            .map(last_segment)
            .unwrap_or_default()
            .to_string(),
        arn: t.task_arn().unwrap_or_default().to_string(),
        service: t
            .group()
            .and_then(|g| g.strip_prefix("service:"))
            .map(str::to_string),
        task_definition: t
            .task_definition_arn()
            .map(family_revision)
            .unwrap_or_default(),
        last_status: t.last_status().unwrap_or_default().to_string(),
        desired_status: t.desired_status().unwrap_or_default().to_string(),
        health: t.health_status().map(|h| h.as_str().to_string()),
        availability_zone: t.availability_zone().map(str::to_string),
        container_instance: t
            .container_instance_arn()
            .map(|a| last_segment(a).to_string()),
        started_at: t.started_at().and_then(to_chrono),
        stopped_at: t.stopped_at().and_then(to_chrono),
        stop_code: t.stop_code().map(|c| c.as_str().to_string()),
        stopped_reason: t.stopped_reason().map(str::to_string),
        enable_execute_command: t.enable_execute_command,
        private_ip: t
            .attachments()
            .iter()
            .flat_map(|a| a.details())
            .find(|d| d.name() == Some("privateIPv4Address"))
            .and_then(|d| d.value())
            .or_else(|| {
                t.containers()
                    .iter()
                    .flat_map(|c| c.network_interfaces())
                    .find_map(|n| n.private_ipv4_address())
            })
            .map(str::to_string),
        containers: t.containers().iter().map(container).collect(),
    }
}

fn container(c: &aws_sdk_ecs::types::Container) -> EcsContainer {
    EcsContainer {
        name: c.name().unwrap_or_default().to_string(),
        runtime_id: c.runtime_id().map(str::to_string),
        last_status: c.last_status().unwrap_or_default().to_string(),
        health: c.health_status().map(|h| h.as_str().to_string()),
        image: c.image().unwrap_or_default().to_string(),
        exit_code: c.exit_code,
        reason: c.reason().map(str::to_string),
        exec_agent: c
            .managed_agents()
            .iter()
            .find(|a| a.name().map(|n| n.as_str()) == Some("ExecuteCommandAgent"))
            .and_then(|a| a.last_status().map(str::to_string)),
        host_ports: c
            .network_bindings()
            .iter()
            .filter_map(|b| b.host_port)
            .collect(),
    }
}
