//! Capacity: what is allocated, what is used, what still fits, and what a scale-up would need.
//! Built from what a backend read (a Compose host's containers, an ECS cluster's nodes and
//! services); pure, so the console, `dokk capacity` and the tests share one answer.

pub mod instances;
pub mod place;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::ecs::ClusterData;
use crate::model::{Allocation, FleetSnapshot, Service, group_services};
use instances::InstanceAdvice;
use place::{Demand, Node, Resources, Rule, headroom, nodes_needed, place};

const MIB: u64 = 1 << 20;

/// One resource: how much there is, how much limits or reservations take, how much is used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals<T> {
    pub capacity: T,
    pub allocated: T,
    /// `None` when nothing measured it.
    pub used: Option<T>,
    /// The highest `used` over the sampled window, when more than one sample was taken.
    pub peak: Option<T>,
    /// After the requested scaling (equals `allocated` without one).
    pub after: T,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRoom {
    pub name: String,
    pub replicas: u32,
    /// What one replica (task) takes: cores and bytes.
    pub cpu_per_replica: Option<f64>,
    pub memory_per_replica: Option<u64>,
    /// How many more replicas fit now; `None` for a service without a limit.
    pub headroom: Option<u64>,
    /// The replica count asked for with `--scale`.
    pub scale_to: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeRoom {
    pub id: String,
    pub az: String,
    /// CPU units and MiB (ECS's units).
    pub registered: Resources,
    pub reserved: Resources,
    /// Reserved after the requested scaling.
    pub reserved_after: Resources,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneRoom {
    pub az: String,
    pub registered: Resources,
    pub reserved: Resources,
}

/// ECS's own units beside cores and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EcsUnits {
    pub cpu_units: Totals<i64>,
    pub memory_mib: Totals<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub fits: bool,
    /// In cores.
    pub cpu: Totals<f64>,
    /// In bytes.
    pub memory: Totals<u64>,
    pub services: Vec<ServiceRoom>,
    /// Containers or services without a limit: they can take the whole host.
    pub unlimited: Vec<String>,
    /// Compose: the sum of the running containers' memory reservations (soft limits), bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservations: Option<u64>,
    /// More nodes of the current size the scaling needs; `None` when a task fits on no node
    /// of that size. Always 0 on a single Compose host.
    pub nodes_needed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsUnits>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeRoom>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneRoom>,
    /// Where each new task would go: (service, node).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placement: Vec<(String, String)>,
    /// Why it does not fit, in words.
    pub problems: Vec<String>,
    /// When it does not fit: the EC2 instance types that would hold it (`null` when it fits).
    pub instance_advice: Option<InstanceAdvice>,
}

impl Report {
    /// What the allocated figure is: ECS places by reservations, Compose caps by limits.
    pub fn allocation_word(&self) -> &'static str {
        if self.ecs.is_some() {
            "reserved"
        } else {
            "limits"
        }
    }

    /// Names the instance types a Compose host that does not fit could move to (seed 000 scales
    /// vertically): they must hold the limits after the what-if and the observed peak.
    pub fn advise_host(&mut self, instance_type: Option<&str>) {
        if self.fits {
            self.instance_advice = None;
            return;
        }
        let highest = |a: Option<f64>, b: Option<f64>| a.unwrap_or(0.0).max(b.unwrap_or(0.0));
        let cpu = self.cpu.after.max(highest(self.cpu.used, self.cpu.peak));
        let memory = self
            .memory
            .after
            .max(self.memory.used.unwrap_or(0))
            .max(self.memory.peak.unwrap_or(0));
        self.instance_advice = Some(instances::for_one_host(instance_type, cpu, memory));
    }
}

/// `SERVICE=N` from the command line.
pub fn parse_scale(text: &str) -> Result<(String, u32), String> {
    let (name, count) = text
        .split_once('=')
        .ok_or_else(|| format!("--scale `{text}`: write SERVICE=N, e.g. web=4"))?;
    let count = count
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("--scale `{text}`: `{count}` is not a replica count"))?;
    Ok((name.trim().to_string(), count))
}

fn unknown_services(scale: &[(String, u32)], known: &[&str]) -> Result<(), String> {
    for (name, _) in scale {
        if !known.contains(&name.as_str()) {
            return Err(format!(
                "--scale: no service `{name}`; services: {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// One Compose host: the sum of the running containers' limits against the host.
pub fn compose(snapshot: &FleetSnapshot, scale: &[(String, u32)]) -> Result<Report, String> {
    let services = group_services(&snapshot.containers, &snapshot.usage);
    let names: Vec<&str> = services.iter().map(|s| s.key.name.as_str()).collect();
    unknown_services(scale, &names)?;
    let allocation = Allocation::of(&snapshot.containers, &snapshot.usage);
    let host = &snapshot.host;
    let capacity_cpu = f64::from(host.cpus);
    let per_replica = |s: &Service| {
        let running = s.replicas_running.max(1) as f64;
        (
            s.cpu_limit_cores.map(|c| c / running),
            s.memory_limit_bytes.map(|m| m / running as u64),
        )
    };
    let mut problems = Vec::new();
    let (mut cpu_after, mut memory_after) =
        (allocation.cpu_limit_cores, allocation.memory_limit_bytes);
    for (name, count) in scale {
        for service in services.iter().filter(|s| &s.key.name == name) {
            let delta = f64::from(*count) - service.replicas_running as f64;
            match per_replica(service) {
                (Some(cpu), Some(memory)) => {
                    cpu_after += delta * cpu;
                    memory_after = (memory_after as f64 + delta * memory as f64).max(0.0) as u64;
                }
                _ => problems.push(format!(
                    "{name} has no CPU or memory limit: its replicas can take the whole host; give it limits"
                )),
            }
        }
    }
    let free_cpu = capacity_cpu - allocation.cpu_limit_cores;
    let free_memory = host.memory_bytes as f64 - allocation.memory_limit_bytes as f64;
    let rooms = services
        .iter()
        .filter(|s| s.key.project.is_some() || s.replicas_running > 0)
        .map(|s| {
            let (cpu, memory) = per_replica(s);
            ServiceRoom {
                name: s.key.name.clone(),
                replicas: s.replicas_running as u32,
                cpu_per_replica: cpu,
                memory_per_replica: memory,
                headroom: cpu.zip(memory).map(|(cpu, memory)| {
                    let by = |free: f64, per: f64| {
                        if per <= 0.0 {
                            u64::MAX
                        } else {
                            (free / per + 1e-9).floor().max(0.0) as u64
                        }
                    };
                    by(free_cpu, cpu).min(by(free_memory, memory as f64))
                }),
                scale_to: scale
                    .iter()
                    .find(|(n, _)| n == &s.key.name)
                    .map(|(_, c)| *c),
            }
        })
        .collect();
    if cpu_after > capacity_cpu + 1e-9 {
        problems.push(format!(
            "CPU limits would sum to {cpu_after:.2} cores on a {capacity_cpu}-core host"
        ));
    }
    if memory_after > host.memory_bytes {
        problems.push(format!(
            "memory limits would sum to {} MiB on a {} MiB host",
            memory_after / MIB,
            host.memory_bytes / MIB
        ));
    }
    Ok(Report {
        fits: problems.is_empty(),
        cpu: Totals {
            capacity: capacity_cpu,
            allocated: allocation.cpu_limit_cores,
            used: (!snapshot.usage.is_empty()).then_some(allocation.cpu_used_percent / 100.0),
            peak: None,
            after: cpu_after,
        },
        memory: Totals {
            capacity: host.memory_bytes,
            allocated: allocation.memory_limit_bytes,
            used: (!snapshot.usage.is_empty()).then_some(allocation.memory_used_bytes),
            peak: None,
            after: memory_after,
        },
        services: rooms,
        unlimited: allocation.unlimited,
        memory_reservations: Some(
            snapshot
                .containers
                .iter()
                .filter(|c| c.is_running())
                .filter_map(|c| c.limits.memory_reservation_bytes)
                .sum(),
        ),
        nodes_needed: Some(0),
        ecs: None,
        nodes: Vec::new(),
        zones: Vec::new(),
        placement: Vec::new(),
        problems,
        instance_advice: None,
    })
}

fn ecs_nodes(data: &ClusterData) -> Vec<Node> {
    data.nodes
        .iter()
        .filter(|n| n.status == "ACTIVE")
        .map(|n| {
            let mut tasks = BTreeMap::new();
            for task in data.tasks.iter().filter(|t| {
                t.is_running()
                    && t.container_instance.as_deref() == Some(n.container_instance.as_str())
            }) {
                if let Some(service) = &task.service {
                    *tasks.entry(service.clone()).or_default() += 1;
                }
            }
            Node {
                id: n.instance_id.clone(),
                az: n.availability_zone.clone().unwrap_or_default(),
                registered: Resources {
                    cpu: i64::from(n.registered_cpu_units),
                    memory: i64::from(n.registered_memory_mib),
                },
                free: Resources {
                    cpu: i64::from(n.remaining_cpu_units),
                    memory: i64::from(n.remaining_memory_mib),
                },
                tasks,
                accepts: n.agent_connected,
            }
        })
        .collect()
}

/// An ECS cluster: nodes' registered and remaining resources, services' task sizes, and the
/// placement of scaled-up services by their strategies.
pub fn ecs(data: &ClusterData, scale: &[(String, u32)]) -> Result<Report, String> {
    let names: Vec<&str> = data.services.iter().map(|s| s.name.as_str()).collect();
    unknown_services(scale, &names)?;
    let mut nodes = ecs_nodes(data);
    let task_size = |s: &crate::backend::ecs::EcsService| Resources {
        cpu: i64::from(s.cpu_units.unwrap_or(0)),
        memory: i64::from(s.memory_mib.unwrap_or(0)),
    };
    let running = |name: &str| {
        data.tasks
            .iter()
            .filter(|t| t.is_running() && t.service.as_deref() == Some(name))
            .count() as u32
    };
    // Scaling down frees what the removed tasks reserved on their nodes.
    let mut demands = Vec::new();
    for (name, count) in scale {
        let Some(service) = data.service(name) else {
            continue;
        };
        let now = running(name);
        if *count > now {
            demands.push(Demand {
                service: name.clone(),
                task: task_size(service),
                count: count - now,
                rules: Rule::parse_all(&service.placement),
            });
        } else {
            let mut remove = now - count;
            for node in nodes.iter_mut().rev() {
                while remove > 0 && node.tasks.get(name).copied().unwrap_or(0) > 0 {
                    node.free = node.free + task_size(service);
                    if let Some(n) = node.tasks.get_mut(name) {
                        *n -= 1;
                    }
                    remove -= 1;
                }
            }
        }
    }
    let placement = place(&nodes, &demands);
    let size = data
        .nodes
        .iter()
        .map(|n| Resources {
            cpu: i64::from(n.registered_cpu_units),
            memory: i64::from(n.registered_memory_mib),
        })
        .max();
    let needed = match size {
        Some(size) => nodes_needed(&placement, &demands, size),
        None if demands.is_empty() => Some(0),
        None => None,
    };
    let problems: Vec<String> = placement
        .unplaced
        .iter()
        .map(|(service, count)| {
            format!(
                "{count} task(s) of {service} fit on no node; {}",
                match needed {
                    Some(n) => format!("{n} more node(s) of the current size would place them"),
                    None => "a task is bigger than a whole node of the current size".into(),
                }
            )
        })
        .collect();
    let sum = |f: &dyn Fn(&Node) -> i64, list: &[Node]| list.iter().map(f).sum::<i64>();
    let registered_cpu = sum(&|n| n.registered.cpu, &placement.nodes);
    let registered_memory = sum(&|n| n.registered.memory, &placement.nodes);
    let reserved_cpu = sum(&|n| n.registered.cpu - n.free.cpu, &ecs_nodes(data));
    let reserved_memory = sum(&|n| n.registered.memory - n.free.memory, &ecs_nodes(data));
    let after_cpu = sum(&|n| n.registered.cpu - n.free.cpu, &placement.nodes);
    let after_memory = sum(&|n| n.registered.memory - n.free.memory, &placement.nodes);
    let (mut used_cpu, mut used_memory, mut measured) = (0.0, 0u64, false);
    for service in &data.services {
        let (cpu, memory) = data.usage(service);
        if let Some(cpu) = cpu {
            used_cpu += cpu / 100.0;
            measured = true;
        }
        used_memory += memory.unwrap_or(0);
    }
    let before = ecs_nodes(data);
    let rooms = data
        .services
        .iter()
        .map(|s| {
            let task = task_size(s);
            ServiceRoom {
                name: s.name.clone(),
                replicas: running(&s.name),
                cpu_per_replica: s.cpu_units.map(|u| f64::from(u) / 1024.0),
                memory_per_replica: s.memory_mib.map(|m| u64::from(m.max(0) as u32) * MIB),
                headroom: headroom(&before, task),
                scale_to: scale.iter().find(|(n, _)| n == &s.name).map(|(_, c)| *c),
            }
        })
        .collect();
    let mut zones: BTreeMap<String, ZoneRoom> = BTreeMap::new();
    for n in &before {
        let zone = zones.entry(n.az.clone()).or_insert_with(|| ZoneRoom {
            az: n.az.clone(),
            registered: Resources::default(),
            reserved: Resources::default(),
        });
        zone.registered = zone.registered + n.registered;
        zone.reserved = zone.reserved + (n.registered - n.free);
    }
    // More nodes, or larger ones: everything reserved after the what-if, the tasks that found
    // no node included, against the node type in use.
    let instance_advice = (needed != Some(0)).then(|| {
        let unplaced = |service: &str| {
            demands
                .iter()
                .find(|d| d.service == service)
                .map(|d| d.task)
                .unwrap_or_default()
        };
        let (mut cpu, mut memory) = (after_cpu, after_memory);
        for (service, count) in &placement.unplaced {
            let task = unplaced(service);
            cpu += task.cpu * i64::from(*count);
            memory += task.memory * i64::from(*count);
        }
        let current = data.nodes.iter().find_map(|n| n.instance_type.as_deref());
        instances::for_cluster(current, cpu as f64 / 1024.0, memory.max(0) as u64 * MIB)
    });
    let unlimited: Vec<String> = data
        .services
        .iter()
        .filter(|s| s.memory_mib.is_none())
        .map(|s| s.name.clone())
        .collect();
    Ok(Report {
        fits: placement.fits(),
        cpu: Totals {
            capacity: registered_cpu as f64 / 1024.0,
            allocated: reserved_cpu as f64 / 1024.0,
            used: measured.then_some(used_cpu),
            peak: None,
            after: after_cpu as f64 / 1024.0,
        },
        memory: Totals {
            capacity: registered_memory.max(0) as u64 * MIB,
            allocated: reserved_memory.max(0) as u64 * MIB,
            used: measured.then_some(used_memory),
            peak: None,
            after: after_memory.max(0) as u64 * MIB,
        },
        services: rooms,
        unlimited,
        memory_reservations: None,
        nodes_needed: needed,
        ecs: Some(EcsUnits {
            cpu_units: Totals {
                capacity: registered_cpu,
                allocated: reserved_cpu,
                used: measured.then_some((used_cpu * 1024.0) as i64),
                peak: None,
                after: after_cpu,
            },
            memory_mib: Totals {
                capacity: registered_memory,
                allocated: reserved_memory,
                used: measured.then_some((used_memory / MIB) as i64),
                peak: None,
                after: after_memory,
            },
        }),
        nodes: before
            .iter()
            .zip(&placement.nodes)
            .map(|(b, a)| NodeRoom {
                id: b.id.clone(),
                az: b.az.clone(),
                registered: b.registered,
                reserved: b.registered - b.free,
                reserved_after: a.registered - a.free,
            })
            .collect(),
        zones: zones.into_values().collect(),
        placement: placement.placed,
        problems,
        instance_advice,
    })
}
