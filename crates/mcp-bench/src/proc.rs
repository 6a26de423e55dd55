//! What the server process used, read from `/proc` (Linux).

use std::time::Duration;

/// CPU time the process's threads have run so far: the sum of each thread's
/// `/proc/PID/task/TID/schedstat` first field (nanoseconds), or, where schedstat is missing,
/// utime + stime from `/proc/PID/stat` (clock ticks, assumed 100 per second).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    schedstat(pid).or_else(|| stat_ticks(pid))
}

fn schedstat(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        // A thread that ended between the listing and the read is simply not counted.
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

fn stat_ticks(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Peak resident memory (`VmHWM`) in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_is_measured() {
        let pid = std::process::id();
        assert!(super::peak_rss_kib(pid).is_some_and(|kib| kib > 0));
        assert!(super::cpu_time(pid).is_some());
        assert!(super::stat_ticks(pid).is_some());
    }
}
