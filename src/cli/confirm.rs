//! The terminal prompt before a mutation: what changes, then `[y/N]`.

use std::io::{BufRead, IsTerminal, Write};

use crate::backend::deploy::DeployError;

/// Asks on the terminal, showing what changes; refuses when there is no terminal and no
/// `--yes`.
pub fn confirm(
    action: &str,
    service: &str,
    changes: &[String],
    yes: bool,
) -> Result<(), DeployError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(DeployError::Refused(format!(
            "{action} {service} needs a yes: no terminal to ask on, so pass --yes"
        )));
    }
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{action} {service}:");
    for line in changes {
        let _ = writeln!(err, "  {line}");
    }
    let _ = write!(err, "Go ahead? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(DeployError::Refused(format!(
            "{action} of {service} not confirmed: nothing changed"
        )))
    }
}
