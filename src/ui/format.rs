//! Numbers as people read them: cores, MiB, percentages, ages.

use chrono::{DateTime, Utc};

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// `12.3` or `512`, in MiB.
pub fn mib(bytes: u64) -> String {
    let value = bytes as f64 / MIB;
    if value >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// `512 MiB` or `23.5 GiB`.
pub fn bytes(bytes: u64) -> String {
    let value = bytes as f64;
    if value >= GIB {
        format!("{:.1} GiB", value / GIB)
    } else {
        format!("{} MiB", mib(bytes))
    }
}

/// CPU in cores from a `docker stats` percentage (100 = one core).
pub fn cores(percent: f64) -> String {
    format!("{:.2}", percent / 100.0)
}

/// A count of cores as a person writes it: `2`, `0.5`, `1.25` (sums of reservations carry
/// float noise: 0.1 + 0.2 is not 0.3).
pub fn core_count(cores: f64) -> String {
    let text = format!("{cores:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub fn percent(value: f64) -> String {
    if value < 10.0 && value > 0.0 {
        format!("{value:.1}%")
    } else {
        format!("{value:.0}%")
    }
}

/// `45s`, `12m`, `3h`, `2d4h`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

pub fn since(time: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match time {
        Some(time) => age((now - time).num_seconds()),
        None => "-".to_string(),
    }
}

/// The tag of an image reference (`repo:tag` → `tag`, `repo@sha256:..` → short digest).
pub fn image_tag(image: &str) -> &str {
    if let Some((_, digest)) = image.split_once('@') {
        return digest.get(..19).unwrap_or(digest);
    }
    match image.rsplit_once(':') {
        Some((_, tag)) if !tag.contains('/') => tag,
        _ => "latest",
    }
}

/// A bar of `width` cells filled to `percent` of 100.
pub fn bar(percent: f64, width: usize) -> String {
    let filled = ((percent.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    format!(
        "{}{}",
        "▰".repeat(filled),
        "▱".repeat(width - filled.min(width))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_naturally() {
        assert_eq!(mib(512 << 20), "512");
        assert_eq!(mib(12_900_000), "12.3");
        assert_eq!(bytes(2 << 30), "2.0 GiB");
        assert_eq!(cores(25.0), "0.25");
        assert_eq!(age(3700), "1h1m");
        assert_eq!(
            image_tag("891459268445.dkr.ecr.eu-north-1.amazonaws.com/web:v1.2"),
            "v1.2"
        );
        assert_eq!(image_tag("localhost:5000/web"), "latest");
        assert_eq!(bar(50.0, 4), "▰▰▱▱");
        assert_eq!(bar(150.0, 4), "▰▰▰▰");
    }
}
