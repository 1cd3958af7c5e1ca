//! Recent CPU and memory of one service, for its sparklines.

use std::collections::VecDeque;

const KEEP: usize = 120;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// CPU, 100 = one core.
    pub cpu: VecDeque<f64>,
    pub memory: VecDeque<u64>,
}

impl History {
    pub fn push(&mut self, cpu: f64, memory: u64) {
        if self.cpu.len() == KEEP {
            self.cpu.pop_front();
            self.memory.pop_front();
        }
        self.cpu.push_back(cpu);
        self.memory.push_back(memory);
    }
}
