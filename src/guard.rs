//! The read-only rule: `Guard::authorize` says whether a mutation may run. It is called
//! where each mutation starts (the CLI's deploy and rollback, the console's shells,
//! sessions and rollbacks), so the rule is here once but the calls are several.

use std::fmt;

/// An action that changes something on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Run a command in a container (a shell can change anything in it).
    Exec {
        container: String,
    },
    /// An interactive session on a node (SSM): a root shell on the host.
    Session {
        node: String,
    },
    /// Replace a service's containers or task definition.
    Deploy {
        service: String,
    },
    Rollback {
        service: String,
    },
    /// Change how many tasks a service runs.
    Scale {
        service: String,
    },
    /// Drain, pause or activate a node: its tasks move.
    Availability {
        node: String,
    },
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::Exec { container } => write!(f, "exec in {container}"),
            Mutation::Session { node } => write!(f, "a session on {node}"),
            Mutation::Deploy { service } => write!(f, "deploy {service}"),
            Mutation::Rollback { service } => write!(f, "roll back {service}"),
            Mutation::Scale { service } => write!(f, "scale {service}"),
            Mutation::Availability { node } => write!(f, "the availability of node {node}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refused: {mutation} changes the fleet, and context `{context}` is read-only (--readonly or readonly = true)"
)]
pub struct Refused {
    pub mutation: String,
    pub context: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub readonly: bool,
    pub context: String,
}

impl Guard {
    pub fn authorize(&self, mutation: &Mutation) -> Result<(), Refused> {
        if self.readonly {
            tracing::info!(%mutation, context = %self.context, "mutation refused: read-only");
            return Err(Refused {
                mutation: mutation.to_string(),
                context: self.context.clone(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readonly_refuses_and_says_why() {
        let guard = Guard {
            readonly: true,
            context: "evergreen".into(),
        };
        let exec = Mutation::Exec {
            container: "web-1".into(),
        };
        let refused = guard.authorize(&exec).expect_err("read-only");
        assert!(refused.to_string().contains("exec in web-1"));
        assert!(refused.to_string().contains("read-only"));
        let writable = Guard {
            readonly: false,
            ..guard
        };
        assert_eq!(writable.authorize(&exec), Ok(()));
    }
}
