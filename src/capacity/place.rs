//! Where new tasks would go on a cluster's nodes, following a service's placement strategy
//! (binpack, spread by AZ or by instance), and how many more nodes of the current size it
//! would take when they do not fit. Pure: no I/O, every answer exact in integer units.

use std::collections::BTreeMap;

/// CPU and memory in one unit system (ECS: CPU units and MiB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Resources {
    pub cpu: i64,
    pub memory: i64,
}

impl Resources {
    pub fn fits_in(self, free: Resources) -> bool {
        self.cpu <= free.cpu && self.memory <= free.memory
    }

    /// How many of `self` fit in `free`; `None` when `self` asks for nothing.
    pub fn count_in(self, free: Resources) -> Option<u64> {
        let per = |need: i64, have: i64| (need > 0).then(|| (have.max(0) / need) as u64);
        match (per(self.cpu, free.cpu), per(self.memory, free.memory)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl std::ops::Sub for Resources {
    type Output = Resources;
    fn sub(self, other: Resources) -> Resources {
        Resources {
            cpu: self.cpu - other.cpu,
            memory: self.memory - other.memory,
        }
    }
}

impl std::ops::Add for Resources {
    type Output = Resources;
    fn add(self, other: Resources) -> Resources {
        Resources {
            cpu: self.cpu + other.cpu,
            memory: self.memory + other.memory,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub az: String,
    pub registered: Resources,
    pub free: Resources,
    /// Tasks on it, by service.
    pub tasks: BTreeMap<String, u32>,
    /// False when ECS would place nothing here (its agent is disconnected).
    pub accepts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Fewest of the service's tasks in the node's AZ first.
    SpreadZone,
    /// Fewest of the service's tasks on the node first.
    SpreadInstance,
    /// Least free memory first (fill nodes up).
    BinpackMemory,
    BinpackCpu,
}

impl Rule {
    /// ECS's strategy strings (`spread(attribute:ecs.availability-zone)`, `binpack(memory)`);
    /// a service without one is spread across AZs and then instances, as ECS does by default.
    pub fn parse_all(strategies: &[String]) -> Vec<Rule> {
        let rules: Vec<Rule> = strategies
            .iter()
            .filter_map(|s| match s.as_str() {
                "spread(attribute:ecs.availability-zone)" => Some(Rule::SpreadZone),
                "spread(instanceId)" | "spread(host)" => Some(Rule::SpreadInstance),
                "binpack(memory)" => Some(Rule::BinpackMemory),
                "binpack(cpu)" => Some(Rule::BinpackCpu),
                _ => None,
            })
            .collect();
        if rules.is_empty() {
            vec![Rule::SpreadZone, Rule::SpreadInstance]
        } else {
            rules
        }
    }
}

/// More tasks of a service to place.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    pub service: String,
    pub task: Resources,
    pub count: u32,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    /// (service, node id) for each placed task, in order.
    pub placed: Vec<(String, String)>,
    /// Tasks that fit nowhere, by service.
    pub unplaced: BTreeMap<String, u32>,
    pub nodes: Vec<Node>,
}

impl Placement {
    pub fn fits(&self) -> bool {
        self.unplaced.is_empty()
    }
}

/// Places every demand's tasks one at a time, each on the best node by the service's rules.
pub fn place(nodes: &[Node], demands: &[Demand]) -> Placement {
    let mut placement = Placement {
        nodes: nodes.to_vec(),
        ..Placement::default()
    };
    for demand in demands {
        for _ in 0..demand.count {
            match best_node(&placement.nodes, demand) {
                Some(index) => {
                    let node = &mut placement.nodes[index];
                    node.free = node.free - demand.task;
                    *node.tasks.entry(demand.service.clone()).or_default() += 1;
                    placement
                        .placed
                        .push((demand.service.clone(), node.id.clone()));
                }
                None => {
                    *placement
                        .unplaced
                        .entry(demand.service.clone())
                        .or_default() += 1
                }
            }
        }
    }
    placement
}

fn best_node(nodes: &[Node], demand: &Demand) -> Option<usize> {
    let in_zone = |az: &str| -> u32 {
        nodes
            .iter()
            .filter(|n| n.az == az)
            .map(|n| n.tasks.get(&demand.service).copied().unwrap_or(0))
            .sum()
    };
    nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.accepts && demand.task.fits_in(n.free))
        .min_by_key(|(_, n)| {
            let key: Vec<i64> = demand
                .rules
                .iter()
                .map(|rule| match rule {
                    Rule::SpreadZone => i64::from(in_zone(&n.az)),
                    Rule::SpreadInstance => {
                        i64::from(n.tasks.get(&demand.service).copied().unwrap_or(0))
                    }
                    Rule::BinpackMemory => n.free.memory,
                    Rule::BinpackCpu => n.free.cpu,
                })
                .collect();
            (key, n.id.clone())
        })
        .map(|(index, _)| index)
}

/// How many more nodes of `size` (spread over the zones in turn) place what did not fit.
pub fn nodes_needed(placement: &Placement, demands: &[Demand], size: Resources) -> Option<u32> {
    if placement.fits() {
        return Some(0);
    }
    let mut zones: Vec<String> = placement.nodes.iter().map(|n| n.az.clone()).collect();
    zones.sort();
    zones.dedup();
    if zones.is_empty() {
        zones.push("new".into());
    }
    let left: Vec<Demand> = demands
        .iter()
        .filter_map(|d| {
            placement
                .unplaced
                .get(&d.service)
                .map(|&count| Demand { count, ..d.clone() })
        })
        .collect();
    if left.iter().any(|d| !d.task.fits_in(size)) {
        return None;
    }
    let mut nodes = placement.nodes.clone();
    for added in 1..=10_000u32 {
        let az = zones[(added as usize - 1) % zones.len()].clone();
        nodes.push(Node {
            id: format!("new-{added}"),
            az,
            registered: size,
            free: size,
            tasks: BTreeMap::new(),
            accepts: true,
        });
        if place(&nodes, &left).fits() {
            return Some(added);
        }
    }
    None
}

/// How many more tasks of `task` fit on the nodes as they are.
pub fn headroom(nodes: &[Node], task: Resources) -> Option<u64> {
    nodes
        .iter()
        .filter(|n| n.accepts)
        .map(|n| task.count_in(n.free))
        .try_fold(0u64, |sum, n| n.map(|n| sum + n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, az: &str, cpu: i64, memory: i64) -> Node {
        Node {
            id: id.into(),
            az: az.into(),
            registered: Resources {
                cpu: 2048,
                memory: 1900,
            },
            free: Resources { cpu, memory },
            tasks: BTreeMap::new(),
            accepts: true,
        }
    }

    fn demand(count: u32, cpu: i64, memory: i64, rules: Vec<Rule>) -> Demand {
        Demand {
            service: "web".into(),
            task: Resources { cpu, memory },
            count,
            rules,
        }
    }

    /// A small deterministic generator: property tests without another dependency.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % below.max(1)
        }
    }

    #[test]
    fn binpack_fills_the_fullest_node_first() {
        let nodes = [node("a", "z1", 2048, 1000), node("b", "z2", 2048, 400)];
        let placement = place(&nodes, &[demand(2, 256, 200, vec![Rule::BinpackMemory])]);
        assert_eq!(
            placement.placed,
            [("web".into(), "b".into()), ("web".into(), "b".into())]
        );
    }

    #[test]
    fn spread_balances_the_zones() {
        let nodes = [
            node("a", "z1", 2048, 1900),
            node("b", "z2", 2048, 1900),
            node("c", "z3", 2048, 1900),
        ];
        let placement = place(&nodes, &[demand(6, 256, 256, Rule::parse_all(&[]))]);
        let per_node: Vec<u32> = placement
            .nodes
            .iter()
            .map(|n| n.tasks.get("web").copied().unwrap_or(0))
            .collect();
        assert_eq!(per_node, [2, 2, 2]);
    }

    #[test]
    fn headroom_is_exact_at_the_boundary() {
        let task = Resources {
            cpu: 256,
            memory: 512,
        };
        assert_eq!(headroom(&[node("a", "z", 512, 1024)], task), Some(2));
        assert_eq!(headroom(&[node("a", "z", 511, 1024)], task), Some(1));
        assert_eq!(headroom(&[node("a", "z", 512, 1023)], task), Some(1));
        assert_eq!(headroom(&[node("a", "z", 0, 0)], task), Some(0));
        // Exactly the headroom fits; one more does not.
        let nodes = [node("a", "z", 512, 1024), node("b", "z", 300, 600)];
        assert!(place(&nodes, &[demand(3, 256, 512, vec![])]).fits());
        assert!(!place(&nodes, &[demand(4, 256, 512, vec![])]).fits());
    }

    #[test]
    fn nodes_needed_counts_new_nodes_of_the_current_size() {
        let size = Resources {
            cpu: 2048,
            memory: 1900,
        };
        let nodes = [node("a", "z1", 0, 0)];
        let demands = [demand(8, 512, 900, vec![Rule::BinpackMemory])];
        let placement = place(&nodes, &demands);
        assert_eq!(placement.unplaced.get("web"), Some(&8));
        // 2 tasks a node (900 MiB each in 1900): 4 nodes.
        assert_eq!(nodes_needed(&placement, &demands, size), Some(4));
        let too_big = [demand(1, 4096, 100, vec![])];
        assert_eq!(nodes_needed(&place(&nodes, &too_big), &too_big, size), None);
    }

    #[test]
    fn placement_never_overfills_a_node_and_spread_stays_balanced() {
        let mut random = Lcg(7);
        for _ in 0..500 {
            let zones = 1 + random.next(3);
            let count = 1 + random.next(6);
            let nodes: Vec<Node> = (0..count)
                .map(|i| {
                    node(
                        &format!("n{i}"),
                        &format!("z{}", i % zones),
                        random.next(4097) as i64,
                        random.next(8000) as i64,
                    )
                })
                .collect();
            let task = Resources {
                cpu: random.next(1025) as i64,
                memory: 1 + random.next(2048) as i64,
            };
            let wanted = random.next(40) as u32;
            let rules = match random.next(3) {
                0 => vec![Rule::BinpackMemory],
                1 => vec![Rule::SpreadInstance],
                _ => vec![Rule::SpreadZone, Rule::SpreadInstance],
            };
            let spread_zones = rules.first() == Some(&Rule::SpreadZone);
            let placement = place(&nodes, &[demand(wanted, task.cpu, task.memory, rules)]);
            for n in &placement.nodes {
                assert!(n.free.cpu >= 0 && n.free.memory >= 0, "overfilled {n:?}");
            }
            let placed = placement.placed.len() as u32;
            assert_eq!(
                placed + placement.unplaced.get("web").copied().unwrap_or(0),
                wanted
            );
            // Headroom before equals what placing until full achieves.
            let room = headroom(&nodes, task).unwrap_or(0);
            assert_eq!(
                u64::from(placed),
                room.min(u64::from(wanted)),
                "{nodes:?} {task:?}"
            );
            if spread_zones && placement.fits() {
                // Zones that can still take a task differ by at most one from the fullest.
                let mut per_zone: BTreeMap<&str, u32> = BTreeMap::new();
                for n in &placement.nodes {
                    *per_zone.entry(&n.az).or_default() += n.tasks.get("web").copied().unwrap_or(0);
                }
                let open: Vec<u32> = per_zone
                    .iter()
                    .filter(|(az, _)| {
                        placement
                            .nodes
                            .iter()
                            .any(|n| &n.az == *az && task.fits_in(n.free))
                    })
                    .map(|(_, &c)| c)
                    .collect();
                if let (Some(low), Some(high)) = (open.iter().min(), per_zone.values().max()) {
                    assert!(high - low <= 1, "unbalanced {per_zone:?}");
                }
            }
        }
    }
}
