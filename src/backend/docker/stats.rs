//! CPU and memory from the engine's stats, computed exactly as `docker stats` computes them
//! (docker/cli `cli/command/container/stats_helpers.go`).

use bollard::models::{ContainerMemoryStats, ContainerStatsResponse};

use crate::model::Usage;

/// Usage from one streamed sample, or `None` for a sample that cannot give a CPU figure: the
/// first of a stream (its `precpu_stats` are empty) or one from a container that has stopped.
pub fn usage_from_sample(sample: &ContainerStatsResponse) -> Option<Usage> {
    let cpu = sample.cpu_stats.as_ref()?;
    let pre = sample.precpu_stats.as_ref()?;
    let pre_system = pre.system_cpu_usage.unwrap_or(0);
    if pre_system == 0 {
        return None;
    }
    let total = cpu.cpu_usage.as_ref().and_then(|u| u.total_usage)?;
    let pre_total = pre
        .cpu_usage
        .as_ref()
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let system = cpu.system_cpu_usage.unwrap_or(0);
    let online = match cpu.online_cpus.unwrap_or(0) {
        0 => cpu
            .cpu_usage
            .as_ref()
            .and_then(|u| u.percpu_usage.as_ref())
            .map_or(0, Vec::len) as f64,
        n => f64::from(n),
    };
    let cpu_delta = total as f64 - pre_total as f64;
    let system_delta = system as f64 - pre_system as f64;
    let cpu_percent = if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    };
    Some(Usage {
        cpu_percent,
        memory_bytes: sample.memory_stats.as_ref().map_or(0, memory_without_cache),
    })
}

/// The engine's counters from one one-shot sample: usage between two of them is computed by
/// `usage_between_samples`, as the engine would between a sample and its `precpu_stats`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSample {
    cpu_total: u64,
    system: u64,
    online: u32,
    memory_bytes: u64,
}

pub fn raw_sample(sample: &ContainerStatsResponse) -> Option<RawSample> {
    let cpu = sample.cpu_stats.as_ref()?;
    Some(RawSample {
        cpu_total: cpu.cpu_usage.as_ref()?.total_usage?,
        system: cpu.system_cpu_usage?,
        online: cpu.online_cpus.unwrap_or(0),
        memory_bytes: sample.memory_stats.as_ref().map_or(0, memory_without_cache),
    })
}

/// Usage between two samples of the same container, or `None` when the engine's clock did not
/// move (the same sample twice).
pub fn usage_between_samples(before: &RawSample, after: &RawSample) -> Option<Usage> {
    let system_delta = after.system.checked_sub(before.system)? as f64;
    if system_delta <= 0.0 {
        return None;
    }
    let cpu_delta = after.cpu_total.saturating_sub(before.cpu_total) as f64;
    Some(Usage {
        cpu_percent: cpu_delta / system_delta * f64::from(after.online.max(1)) * 100.0,
        memory_bytes: after.memory_bytes,
    })
}

/// Memory usage minus inactive file cache (`total_inactive_file` on cgroup v1,
/// `inactive_file` on v2), as `docker stats` shows it.
pub fn memory_without_cache(memory: &ContainerMemoryStats) -> u64 {
    let usage = memory.usage.unwrap_or(0);
    let stats = memory.stats.as_ref();
    if let Some(&inactive) = stats.and_then(|s| s.get("total_inactive_file"))
        && inactive < usage
    {
        return usage - inactive;
    }
    match stats.and_then(|s| s.get("inactive_file")) {
        Some(&inactive) if inactive < usage => usage - inactive,
        _ => usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage};
    use std::collections::HashMap;

    fn cpu(total: u64, system: u64, online: u32) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: Some(online),
            throttling_data: None,
        }
    }

    fn sample(pre: ContainerCpuStats, now: ContainerCpuStats) -> ContainerStatsResponse {
        ContainerStatsResponse {
            cpu_stats: Some(now),
            precpu_stats: Some(pre),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(100 << 20),
                stats: Some(HashMap::from([(
                    "total_inactive_file".to_string(),
                    30 << 20,
                )])),
                limit: Some(512 << 20),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn quarter_core_on_two_cpus() {
        // 2 CPUs for 1 s = 2e9 ns of system time; the container used 0.25 s of one core.
        let usage = usage_from_sample(&sample(
            cpu(1_000_000_000, 10_000_000_000, 2),
            cpu(1_250_000_000, 12_000_000_000, 2),
        ))
        .expect("a usable sample");
        assert!((usage.cpu_percent - 25.0).abs() < 1e-9, "{usage:?}");
        assert_eq!(usage.memory_bytes, 70 << 20);
    }

    #[test]
    fn usage_between_two_one_shot_samples() {
        let one_shot = |now| ContainerStatsResponse {
            precpu_stats: None,
            ..sample(cpu(0, 0, 0), now)
        };
        let before =
            raw_sample(&one_shot(cpu(1_000_000_000, 10_000_000_000, 2))).expect("in the fixture");
        let after =
            raw_sample(&one_shot(cpu(1_250_000_000, 12_000_000_000, 2))).expect("in the fixture");
        let usage = usage_between_samples(&before, &after).expect("in the fixture");
        assert!((usage.cpu_percent - 25.0).abs() < 1e-9, "{usage:?}");
        assert_eq!(usage.memory_bytes, 70 << 20);
        assert_eq!(usage_between_samples(&after, &after), None);
    }

    #[test]
    fn first_streamed_sample_is_discarded() {
        let first = sample(cpu(0, 0, 0), cpu(1_250_000_000, 12_000_000_000, 2));
        assert_eq!(usage_from_sample(&first), None);
    }

    #[test]
    fn cgroup_v2_uses_inactive_file() {
        let memory = ContainerMemoryStats {
            usage: Some(1000),
            stats: Some(HashMap::from([("inactive_file".to_string(), 400)])),
            ..Default::default()
        };
        assert_eq!(memory_without_cache(&memory), 600);
        let no_stats = ContainerMemoryStats {
            usage: Some(1000),
            ..Default::default()
        };
        assert_eq!(memory_without_cache(&no_stats), 1000);
    }
}
