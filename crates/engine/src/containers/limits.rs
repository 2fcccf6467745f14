//! dockerd's checks and normalizations of resource limits, at create and update.

use crate::{Error, Result};

/// Docker's smallest memory limit and reservation.
pub(super) const MIN_MEMORY: i64 = 6 << 20;
/// The range of CPU shares the kernel takes (runc's checks).
pub(super) const CPU_SHARES: std::ops::RangeInclusive<i64> = 2..=262_144;

/// What dockerd normalizes in a create's resources before it checks them: a swappiness of
/// -1 is none, a PIDs limit of 0 or less is no limit.
pub(super) fn normalize_resources(res: &mut berth_models::Resources) {
    if res.memory_swappiness == Some(-1) {
        res.memory_swappiness = None;
    }
    if res.pids_limit.is_some_and(|p| p <= 0) {
        res.pids_limit = None;
    }
}

/// A cpuset list (`0-3,6`) as numbers; dockerd's error for one that does not parse.
pub(super) fn cpuset_list(v: &str) -> std::result::Result<Vec<u32>, String> {
    let bad = || format!("invalid format: {v}");
    let mut out = Vec::new();
    for part in v.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a > b || b - a > 65_536 {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    Ok(out)
}

/// Check `CpusetCpus` or `CpusetMems` (`what`: "cpus" or "mems") against what the host
/// has online (`online`: the kernel's list), with dockerd's messages.
pub(super) fn check_cpuset(v: &str, what: &str, online: &str) -> Result<()> {
    if v.is_empty() {
        return Ok(());
    }
    let wanted = cpuset_list(v)
        .map_err(|e| Error::invalid(format!("Invalid value {v} for cpuset {what}: {e}")))?;
    let online = online.trim();
    let have = cpuset_list(online).unwrap_or_default();
    if let Some(_missing) = wanted.iter().find(|n| !have.contains(n)) {
        let kind = if what == "cpus" {
            "CPUs"
        } else {
            "memory nodes"
        };
        return Err(Error::invalid(format!(
            "Requested {kind} are not available - requested {v}, available: {online}"
        )));
    }
    Ok(())
}

/// dockerd's checks of resource limits at create and update (`verifyPlatformContainerResources`
/// and the OCI runtime's), with their messages: 400 rather than a container that fails to
/// start or whose limit is not what was asked. `update`: the merged settings of a
/// `docker update` (a swap limit may be there without a memory limit).
pub(crate) fn validate_resources(res: &berth_models::Resources, update: bool) -> Result<()> {
    let invalid = |m: String| Err(Error::invalid(m));
    if res.memory != 0 && res.memory < MIN_MEMORY {
        return invalid("Minimum memory limit allowed is 6MB".into());
    }
    if res.memory > 0 && res.memory_swap > 0 && res.memory_swap < res.memory {
        return invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        );
    }
    if res.memory == 0 && res.memory_swap > 0 && !update {
        return invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        );
    }
    if let Some(s) = res.memory_swappiness
        && s != -1
        && !(0..=100).contains(&s)
    {
        return invalid(format!(
            "Invalid value: {s}, valid memory swappiness range is 0-100"
        ));
    }
    if res.memory_reservation > 0 && res.memory_reservation < MIN_MEMORY {
        return invalid("Minimum memory reservation allowed is 6MB".into());
    }
    if res.memory > 0 && res.memory_reservation > 0 && res.memory < res.memory_reservation {
        return invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage".into(),
        );
    }
    if res.nano_cpus > 0 && res.cpu_period > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
    }
    if res.nano_cpus > 0 && res.cpu_quota > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set".into());
    }
    if res.cpu_shares < 0 {
        return invalid(format!(
            "invalid CPU shares ({}): value must be a positive integer",
            res.cpu_shares
        ));
    }
    if res.cpu_shares != 0 && res.cpu_shares < *CPU_SHARES.start() {
        return invalid(format!(
            "the minimum allowed cpu-shares is {}",
            CPU_SHARES.start()
        ));
    }
    if res.cpu_shares > *CPU_SHARES.end() {
        return invalid(format!(
            "the maximum allowed cpu-shares is {}",
            CPU_SHARES.end()
        ));
    }
    if res.cpu_period != 0 && !(1000..=1_000_000).contains(&res.cpu_period) {
        return invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                .into(),
        );
    }
    if res.cpu_quota > 0 && res.cpu_quota < 1000 {
        return invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)".into());
    }
    let sys = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    check_cpuset(
        &res.cpuset_cpus,
        "cpus",
        &sys("/sys/devices/system/cpu/online"),
    )?;
    let nodes = sys("/sys/devices/system/node/online");
    check_cpuset(
        &res.cpuset_mems,
        "mems",
        if nodes.trim().is_empty() { "0" } else { &nodes },
    )?;
    if res.blkio_weight > 0 && !(10..=1000).contains(&res.blkio_weight) {
        return invalid("Range of blkio weight is from 10 to 1000".into());
    }
    if res.io_maximum_bandwidth != 0 || res.io_maximum_iops != 0 {
        return invalid(
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    pub(super) fn cpusets_parse_and_are_checked_like_dockerd() {
        assert_eq!(cpuset_list("0-2,5").unwrap(), [0, 1, 2, 5]);
        assert_eq!(cpuset_list("7").unwrap(), [7]);
        for bad in ["", "a", "2-1", "1,", "-1", "0-4294967295"] {
            assert!(cpuset_list(bad).is_err(), "{bad}");
        }
        assert!(check_cpuset("", "cpus", "0-1\n").is_ok());
        assert!(check_cpuset("0-1", "cpus", "0-1\n").is_ok());
        let e = check_cpuset("3", "cpus", "0-1\n").unwrap_err();
        assert_eq!(
            e.message,
            "Requested CPUs are not available - requested 3, available: 0-1"
        );
        let e = check_cpuset("x", "mems", "0").unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value x for cpuset mems: invalid format: x"
        );
    }

    #[test]
    pub(super) fn resources_are_checked_like_dockerd() {
        let res = |v: Value| -> berth_models::Resources { serde_json::from_value(v).unwrap() };
        let msg = |v: Value, update: bool| {
            validate_resources(&res(v), update)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert_eq!(
            msg(serde_json::json!({"Memory": -1}), false),
            "Minimum memory limit allowed is 6MB"
        );
        // A swap limit alone is fine in an update (the memory limit is the container's).
        assert!(!msg(serde_json::json!({"MemorySwap": 9000000}), false).is_empty());
        assert_eq!(msg(serde_json::json!({"MemorySwap": 9000000}), true), "");
        assert_eq!(
            msg(serde_json::json!({"CpuQuota": -1, "Memory": 0}), false),
            ""
        );
        let mut r = res(serde_json::json!({"PidsLimit": 0, "MemorySwappiness": -1}));
        normalize_resources(&mut r);
        assert_eq!((r.pids_limit, r.memory_swappiness), (None, None));
    }
}
