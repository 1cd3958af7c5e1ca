//! Traefik routers read from container labels (`traefik.http.routers.<name>.*`).

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraefikRouter {
    pub name: String,
    pub rule: String,
    pub entrypoints: String,
    pub service: String,
    pub tls: bool,
    /// `traefik.http.services.<service>.loadbalancer.server.port`.
    pub port: Option<String>,
}

impl TraefikRouter {
    /// The host names in the rule's `Host(...)` matchers, in order.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts = Vec::new();
        let mut rest = self.rule.as_str();
        while let Some(start) = rest.find("Host(") {
            rest = &rest[start + 5..];
            let Some(end) = rest.find(')') else { break };
            hosts.extend(
                rest[..end]
                    .split(',')
                    .map(|h| h.trim().trim_matches(['`', '"', '\'']).to_string())
                    .filter(|h| !h.is_empty()),
            );
            rest = &rest[end..];
        }
        hosts
    }
}

/// Routers of one container. Empty when `traefik.enable` is `false`.
pub fn traefik_routers(labels: &BTreeMap<String, String>) -> Vec<TraefikRouter> {
    if labels.get("traefik.enable").map(String::as_str) == Some("false") {
        return Vec::new();
    }
    let mut routers: BTreeMap<&str, TraefikRouter> = BTreeMap::new();
    for (key, value) in labels {
        let Some(rest) = key.strip_prefix("traefik.http.routers.") else {
            continue;
        };
        let Some((name, property)) = rest.split_once('.') else {
            continue;
        };
        let router = routers.entry(name).or_insert_with(|| TraefikRouter {
            name: name.to_string(),
            ..TraefikRouter::default()
        });
        match property {
            "rule" => router.rule = value.clone(),
            "entrypoints" => router.entrypoints = value.clone(),
            "service" => router.service = value.clone(),
            "tls" => router.tls = value == "true",
            p if p.starts_with("tls.") => router.tls = true,
            _ => {}
        }
    }
    routers
        .into_values()
        .map(|mut router| {
            let service = if router.service.is_empty() {
                router.name.clone()
            } else {
                router.service.clone()
            };
            router.port = labels
                .get(&format!(
                    "traefik.http.services.{service}.loadbalancer.server.port"
                ))
                .cloned();
            router
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_labels() -> BTreeMap<String, String> {
        [
            ("traefik.enable", "true"),
            ("traefik.http.routers.gradestatsweb-prod.entrypoints", "web"),
            (
                "traefik.http.routers.gradestatsweb-prod.rule",
                "Host(`grades.no`) || Host(`grades.localhost`)",
            ),
            (
                "traefik.http.routers.gradestatsweb-prod.service",
                "gradestatsweb-prod",
            ),
            (
                "traefik.http.services.gradestatsweb-prod.loadbalancer.server.port",
                "3000",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn reads_the_seed_router() {
        let routers = traefik_routers(&seed_labels());
        assert_eq!(routers.len(), 1);
        let router = &routers[0];
        assert_eq!(router.name, "gradestatsweb-prod");
        assert_eq!(router.entrypoints, "web");
        assert_eq!(router.port.as_deref(), Some("3000"));
        assert_eq!(router.hosts(), vec!["grades.no", "grades.localhost"]);
    }

    #[test]
    fn disabled_traefik_has_no_routers() {
        let mut labels = seed_labels();
        labels.insert("traefik.enable".into(), "false".into());
        assert!(traefik_routers(&labels).is_empty());
    }
}
