//! Which EC2 instance types would hold a fleet that does not fit: seed 000's remedy is "upgrade
//! the Evergreen EC2 instance type" (it scales vertically only), and an ECS cluster can take
//! more nodes of its type or fewer larger ones. The types are data
//! (`data/ec2-instance-types.toml`), read when dokk is built.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

const GIB: f64 = (1u64 << 30) as f64;
/// Types named besides the smallest of the current family.
const OTHER_FAMILIES: usize = 3;

#[derive(Debug, Deserialize)]
struct Table {
    source: String,
    date: String,
    families: Vec<(String, String, bool)>,
    types: Vec<(String, u32, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceType {
    pub name: String,
    pub family: String,
    pub vcpus: u32,
    pub memory_bytes: u64,
    pub architecture: String,
    pub burstable: bool,
}

struct Catalogue {
    source: String,
    types: Vec<InstanceType>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    let table: Table = match toml::from_str(include_str!("../../data/ec2-instance-types.toml")) {
        Ok(table) => table,
        Err(error) => {
            // A unit test reads the file: a bad one never ships.
            tracing::error!(%error, "data/ec2-instance-types.toml");
            return Catalogue {
                source: String::new(),
                types: Vec::new(),
            };
        }
    };
    let types = table
        .types
        .into_iter()
        .filter_map(|(name, vcpus, memory_gib)| {
            let family = name.split('.').next()?.to_string();
            let (_, architecture, burstable) =
                table.families.iter().find(|(f, _, _)| *f == family)?;
            Some(InstanceType {
                vcpus,
                memory_bytes: (memory_gib * GIB) as u64,
                architecture: architecture.clone(),
                burstable: *burstable,
                family,
                name,
            })
        })
        .collect();
    Catalogue {
        source: format!("{} ({})", table.source, table.date),
        types,
    }
});

pub fn lookup(name: &str) -> Option<&'static InstanceType> {
    CATALOGUE.types.iter().find(|t| t.name == name)
}

/// One type that would do, and what it leaves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceFit {
    pub name: String,
    pub vcpus: u32,
    pub memory_bytes: u64,
    pub architecture: String,
    pub burstable: bool,
    /// Of the type in use.
    pub same_family: bool,
    /// How many of them (1 for a single host; ECS: nodes of that type for the whole cluster).
    pub count: u32,
    /// What is left of all of them once the need is placed: cores and bytes.
    pub cpu_headroom: f64,
    pub memory_headroom_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceAdvice {
    /// The type in use, when dokk knows it.
    pub current: Option<String>,
    /// What must fit: the limits (reservations) after the what-if, or the observed peak use
    /// when it is higher. Cores and bytes.
    pub needed_cpu: f64,
    pub needed_memory_bytes: u64,
    /// Smallest first: the current family's, then other current families'.
    pub types: Vec<InstanceFit>,
    pub source: String,
}

/// The smallest types that hold `cpu` cores and `memory` bytes on one host, the current
/// family first. A type of another architecture than the current one is left out: the
/// images would have to be rebuilt for it.
pub fn for_one_host(current: Option<&str>, cpu: f64, memory: u64) -> InstanceAdvice {
    advise(current, cpu, memory, |t| {
        (f64::from(t.vcpus) + 1e-9 >= cpu && t.memory_bytes >= memory).then_some(1)
    })
}

/// For a cluster that needs `cpu` cores and `memory` bytes in all (per-task fit on a node is
/// the placement planner's question): N nodes of the current type, then fewer, larger ones of
/// its family, then other families; each with how many nodes of it it takes.
pub fn for_cluster(current: Option<&str>, cpu: f64, memory: u64) -> InstanceAdvice {
    let nodes_of = |t: &InstanceType| {
        let by_cpu = (cpu / f64::from(t.vcpus.max(1)) - 1e-9).ceil().max(1.0);
        let by_memory = (memory as f64 / t.memory_bytes.max(1) as f64 - 1e-9)
            .ceil()
            .max(1.0);
        Some(by_cpu.max(by_memory) as u32)
    };
    let mut advice = advise(current, cpu, memory, nodes_of);
    if let Some(now) = current.and_then(lookup)
        && let Some(count) = nodes_of(now)
    {
        let mut types = vec![fit_of(now, count, cpu, memory, true)];
        let mut family: Vec<&InstanceType> = CATALOGUE
            .types
            .iter()
            .filter(|t| t.family == now.family)
            .filter(|t| nodes_of(t).is_some_and(|n| n < count))
            .collect();
        family.sort_by_key(|t| (t.vcpus, t.memory_bytes));
        if let Some(larger) = family.first() {
            let n = nodes_of(larger).unwrap_or(1);
            types.push(fit_of(larger, n, cpu, memory, true));
        }
        types.extend(advice.types.into_iter().filter(|t| !t.same_family));
        advice.types = types;
    }
    advice
}

fn fit_of(t: &InstanceType, count: u32, cpu: f64, memory: u64, same_family: bool) -> InstanceFit {
    InstanceFit {
        name: t.name.clone(),
        vcpus: t.vcpus,
        memory_bytes: t.memory_bytes,
        architecture: t.architecture.clone(),
        burstable: t.burstable,
        same_family,
        count,
        cpu_headroom: f64::from(t.vcpus * count) - cpu,
        memory_headroom_bytes: (t.memory_bytes * u64::from(count)).saturating_sub(memory),
    }
}

fn advise(
    current: Option<&str>,
    cpu: f64,
    memory: u64,
    count: impl Fn(&InstanceType) -> Option<u32>,
) -> InstanceAdvice {
    let now = current.and_then(lookup);
    let fits = |t: &InstanceType| -> Option<InstanceFit> {
        let same_family = now.is_some_and(|c| c.family == t.family);
        Some(fit_of(t, count(t)?, cpu, memory, same_family))
    };
    let candidates: Vec<InstanceFit> = CATALOGUE
        .types
        .iter()
        .filter(|t| now.is_none_or(|c| c.architecture == t.architecture))
        .filter_map(fits)
        .collect();
    // Smallest: fewest vCPUs in all, then least memory, then fewest nodes.
    let size = |f: &InstanceFit| {
        (
            f.vcpus * f.count,
            f.memory_bytes * u64::from(f.count),
            f.count,
        )
    };
    let mut types = Vec::new();
    if let Some(best) = candidates
        .iter()
        .filter(|f| f.same_family)
        .min_by_key(|f| size(f))
    {
        types.push(best.clone());
    }
    let mut others: Vec<&InstanceFit> = candidates.iter().filter(|f| !f.same_family).collect();
    others.sort_by_key(|f| size(f));
    let mut families_named: Vec<&str> = Vec::new();
    for fit in others {
        let family = fit.name.split('.').next().unwrap_or_default();
        if families_named.len() == OTHER_FAMILIES {
            break;
        }
        if !families_named.contains(&family) {
            families_named.push(family);
            types.push(fit.clone());
        }
    }
    InstanceAdvice {
        current: current.map(str::to_string),
        needed_cpu: cpu,
        needed_memory_bytes: memory,
        types,
        source: CATALOGUE.source.clone(),
    }
}

impl InstanceAdvice {
    /// The advice in words, one line a type, for the terminal and the console alike.
    pub fn lines(&self) -> Vec<String> {
        let gib = |bytes: u64| bytes as f64 / GIB;
        let now = self
            .current
            .as_deref()
            .map(|c| match lookup(c) {
                Some(_) => format!(" (now {c})"),
                None => format!(" (now {c}, which dokk's table does not list)"),
            })
            .unwrap_or_else(|| " (instance type unknown: set instance_type in the context)".into());
        let mut lines = vec![format!(
            "instance types that hold {:.2} cores and {:.1} GiB{now}:",
            self.needed_cpu,
            gib(self.needed_memory_bytes)
        )];
        if self.types.is_empty() {
            lines.push("  none in dokk's table: split the fleet".into());
        } else if let Some(now) = self.current.as_deref().and_then(lookup)
            && !self.types.iter().any(|t| t.same_family)
        {
            lines.push(format!(
                "  no {} type is that large; other families:",
                now.family
            ));
        }
        for t in &self.types {
            let count = if t.count > 1 {
                format!("{} × ", t.count)
            } else {
                String::new()
            };
            lines.push(format!(
                "  {count}{} · {} vCPU {:.0} GiB{}{} · leaves {:.2} cores, {:.1} GiB",
                t.name,
                t.vcpus,
                gib(t.memory_bytes),
                if t.burstable { " burstable" } else { "" },
                if t.same_family { " · same family" } else { "" },
                t.cpu_headroom,
                gib(t.memory_headroom_bytes)
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB_U: u64 = 1 << 30;

    #[test]
    fn the_table_reads_and_every_type_has_a_family() {
        let table: Table = toml::from_str(include_str!("../../data/ec2-instance-types.toml"))
            .expect("the table parses");
        assert_eq!(
            CATALOGUE.types.len(),
            table.types.len(),
            "a type without a family"
        );
        let medium = lookup("t4g.medium").expect("t4g.medium");
        assert_eq!((medium.vcpus, medium.memory_bytes), (2, 4 * GIB_U));
        assert_eq!(medium.architecture, "arm64");
        assert!(medium.burstable);
    }

    /// Evergreen's t4g.medium with 3 cores of limits: t4g.xlarge in its family, then the
    /// smallest arm64 types of other families; no x86 type.
    #[test]
    fn names_the_smallest_type_that_holds_the_limits() {
        let advice = for_one_host(Some("t4g.medium"), 3.0, 3 * GIB_U);
        let names: Vec<&str> = advice.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names[0], "t4g.xlarge", "{names:?}");
        assert!(advice.types[0].same_family);
        assert!((advice.types[0].cpu_headroom - 1.0).abs() < 1e-9);
        assert_eq!(advice.types[0].memory_headroom_bytes, 13 * GIB_U);
        assert_eq!(names.len(), 1 + OTHER_FAMILIES, "{names:?}");
        assert!(advice.types.iter().all(|t| t.architecture == "arm64"));
        assert!(advice.types[1..].iter().all(|t| t.vcpus >= 4));
        // Memory alone: t4g.large has the 8 GiB on the same 2 vCPUs.
        let advice = for_one_host(Some("t4g.medium"), 1.5, 6 * GIB_U);
        assert_eq!(advice.types[0].name, "t4g.large");
        // Nothing holds 1,000 cores.
        assert!(
            for_one_host(Some("t4g.medium"), 1000.0, GIB_U)
                .types
                .is_empty()
        );
    }

    #[test]
    fn a_cluster_gets_counts_of_nodes() {
        // 5 vCPUs and 6 GiB in all on t3.small nodes (2 vCPUs, 2 GiB): 3 of them, or 2
        // t3.xlarge (4 vCPUs each: the smallest of the family that takes fewer nodes).
        let advice = for_cluster(Some("t3.small"), 5.0, 6 * GIB_U);
        let named: Vec<(&str, u32)> = advice
            .types
            .iter()
            .map(|t| (t.name.as_str(), t.count))
            .collect();
        assert_eq!(named[0], ("t3.small", 3), "{named:?}");
        assert_eq!(named[1], ("t3.xlarge", 2), "{named:?}");
        assert!(named.len() > 2, "other families too: {named:?}");
        assert!(advice.types.iter().all(|t| t.architecture == "x86_64"));
        assert!(advice.types[2..].iter().all(|t| !t.same_family));
    }
}
