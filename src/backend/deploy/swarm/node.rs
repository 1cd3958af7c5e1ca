//! A node's availability: `drain` moves its tasks to other nodes (dokk follows them until
//! they run there), `pause` places nothing new on it, `active` lets the scheduler use it.

use std::collections::BTreeMap;

use super::{
    DeployError, Ended, STUCK_POLLS, SwarmChange, SwarmPlan, Verdict, not_running, refused,
    report_tasks,
};
use crate::backend::swarm::capacity::room_on;
use crate::backend::swarm::{Engine, SwarmNode, SwarmState};

pub const AVAILABILITIES: [&str; 3] = ["active", "pause", "drain"];

/// Plans setting `node` (hostname or id) to `availability`; for a drain, says which tasks
/// move and whether the other nodes have room for them.
pub async fn plan_availability(
    manager: &str,
    node: &str,
    availability: &str,
) -> Result<SwarmPlan, DeployError> {
    if !AVAILABILITIES.contains(&availability) {
        return Err(DeployError::Refused(format!(
            "availability `{availability}` is not one of {}",
            AVAILABILITIES.join(", ")
        )));
    }
    let engine = Engine::connect(manager).await.map_err(refused)?;
    let state = crate::backend::swarm::load(&engine)
        .await
        .map_err(refused)?;
    let Some(target) = find_node(&state, node) else {
        let names: Vec<&str> = state.nodes.iter().map(|n| n.hostname.as_str()).collect();
        return Err(DeployError::Refused(format!(
            "no node `{node}` in the swarm; it has: {}",
            names.join(", ")
        )));
    };
    if target.availability == availability {
        return Err(DeployError::Refused(format!(
            "{} is already {availability}: nothing to change",
            target.hostname
        )));
    }
    let mut diff = Vec::new();
    let mut moving = Vec::new();
    if availability == "drain" {
        let on_it: Vec<_> = state
            .tasks
            .iter()
            .filter(|t| t.is_desired() && t.node_id.as_deref() == Some(target.id.as_str()))
            .collect();
        let mut by_service = BTreeMap::<&str, usize>::new();
        for task in &on_it {
            *by_service.entry(task.service_id.as_str()).or_default() += 1;
        }
        diff.push(match on_it.len() {
            0 => "no task runs there: nothing moves".to_string(),
            n => format!("{n} task(s) stop there and start on other nodes"),
        });
        for (service_id, count) in by_service {
            let Some(service) = state.services.iter().find(|s| s.id == service_id) else {
                continue;
            };
            moving.push(service.id.clone());
            if let crate::backend::swarm::Mode::Global = service.mode {
                diff.push(format!("  {}: its global task there stops", service.name));
                continue;
            }
            let room: Option<u64> = state
                .nodes
                .iter()
                .filter(|n| n.id != target.id)
                .map(|n| room_on(&state, service, n).room)
                .try_fold(0u64, |sum, room| room.map(|r| sum + r));
            let fits = room.is_none_or(|room| room >= count as u64);
            diff.push(format!(
                "  {}: {count} task(s) move{}",
                service.name,
                if fits {
                    String::new()
                } else {
                    format!(
                        " · ⚠ the other nodes have room for {} by reservations: the rest stay pending",
                        room.unwrap_or(0)
                    )
                }
            ));
        }
    }
    Ok(SwarmPlan {
        engine,
        id: target.id.clone(),
        name: target.hostname.clone(),
        from: target.availability.clone(),
        to: availability.to_string(),
        change: SwarmChange::Availability {
            availability: availability.to_string(),
            moving,
        },
        diff,
    })
}

/// By hostname, id or a unique id prefix.
fn find_node<'a>(state: &'a SwarmState, name: &str) -> Option<&'a SwarmNode> {
    let exact = state
        .nodes
        .iter()
        .find(|n| n.hostname == name || n.id == name);
    exact.or_else(|| {
        let mut prefixed = state.nodes.iter().filter(|n| n.id.starts_with(name));
        match (prefixed.next(), prefixed.next()) {
            (Some(node), None) if name.len() >= 4 => Some(node),
            _ => None,
        }
    })
}

/// Where an availability change stands: done once the node has it and, for a drain, no task
/// is meant to run there and the moved services' tasks run elsewhere.
pub(super) fn judge(
    plan: &SwarmPlan,
) -> impl FnMut(&SwarmState, &mut (dyn FnMut(String) + Send)) -> Result<Verdict, DeployError> + '_ {
    let (mut stuck, mut seen) = (0, BTreeMap::new());
    move |state, progress| {
        let SwarmChange::Availability {
            availability,
            moving,
        } = &plan.change
        else {
            return Ok(Verdict::Done(Ended::Completed));
        };
        let Some(node) = state.node(&plan.id) else {
            return Err(DeployError::Failed(format!(
                "node {} left the swarm meanwhile",
                plan.name
            )));
        };
        if node.availability != *availability {
            return Ok(Verdict::Waiting(format!(
                "{} is still {}",
                plan.name, node.availability
            )));
        }
        if availability != "drain" {
            return Ok(Verdict::Done(Ended::Completed));
        }
        let services: Vec<&str> = moving.iter().map(String::as_str).collect();
        let moved = report_tasks(state, &services, &mut seen, progress);
        let left = state
            .tasks
            .iter()
            .filter(|t| t.node_id.as_deref() == Some(plan.id.as_str()) && t.is_desired())
            .count();
        let pending = not_running(state, &services);
        if left == 0 && pending.is_empty() {
            return Ok(Verdict::Done(Ended::Completed));
        }
        stuck = if moved || left > 0 { 0 } else { stuck + 1 };
        if stuck >= STUCK_POLLS {
            return Ok(Verdict::Done(Ended::Stuck(pending)));
        }
        Ok(Verdict::Waiting(if left > 0 {
            format!("{left} task(s) still meant to run on {}", plan.name)
        } else {
            pending
        }))
    }
}
