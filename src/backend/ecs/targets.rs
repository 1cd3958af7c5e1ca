//! ALB target health of the services' target groups (one DescribeTargetHealth a group), and
//! which task each target is.

use std::collections::BTreeMap;

use super::{Aws, EcsError, EcsNode, EcsTask, failed};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetHealth {
    pub target_group: String,
    /// An IP address (awsvpc) or an EC2 instance id (bridge).
    pub id: String,
    pub port: Option<i32>,
    /// healthy, unhealthy, initial, draining, unused, unavailable.
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

impl TargetHealth {
    /// Is this target the given task? IP targets match the task's address; instance targets
    /// match the task's node and one of its host ports.
    pub fn is_task(&self, task: &EcsTask, nodes: &[EcsNode]) -> bool {
        if task.private_ip.as_deref() == Some(self.id.as_str()) {
            return true;
        }
        let on_node = nodes.iter().any(|n| {
            n.instance_id == self.id
                && task.container_instance.as_deref() == Some(n.container_instance.as_str())
        });
        on_node
            && self
                .port
                .is_some_and(|port| task.containers.iter().any(|c| c.host_ports.contains(&port)))
    }
}

/// The health of every target of the given groups, by group ARN.
pub async fn load_target_health(
    aws: &Aws,
    groups: impl IntoIterator<Item = &str>,
) -> Result<BTreeMap<String, Vec<TargetHealth>>, EcsError> {
    let mut health = BTreeMap::new();
    for group in groups {
        if health.contains_key(group) {
            continue;
        }
        let output = aws
            .elb
            .describe_target_health()
            .target_group_arn(group)
            .send()
            .await
            .map_err(failed("DescribeTargetHealth"))?;
        let targets = output
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let target = d.target();
                let state = d.target_health();
                TargetHealth {
                    target_group: group.to_string(),
                    id: target.and_then(|t| t.id()).unwrap_or_default().to_string(),
                    port: target.and_then(|t| t.port()),
                    state: state
                        .and_then(|s| s.state())
                        .map_or("unknown", |s| s.as_str())
                        .to_string(),
                    reason: state
                        .and_then(|s| s.reason())
                        .map(|r| r.as_str().to_string()),
                    description: state.and_then(|s| s.description()).map(str::to_string),
                }
            })
            .collect();
        health.insert(group.to_string(), targets);
    }
    Ok(health)
}
