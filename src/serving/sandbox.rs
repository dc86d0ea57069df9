//! The sandbox every process running a submission's code starts in: a clean environment (none of the
//! server's variables, so no database URI, AWS keys, tokens or webhook keys), a scratch working
//! directory, its own session and process group, address-space and CPU limits, a lower priority, no
//! new privileges, every capability dropped (or another user), and death with the server.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use super::config::ServingFlags;

/// The variables a worker gets: nothing inherited but a plain PATH, a locale and a home in its scratch.
pub fn clean_env(cmd: &mut Command, scratch: &Path) {
    cmd.env_clear();
    let tmp = scratch.join("tmp");
    let vars: [(&str, OsString); 11] = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("HOME", scratch.into()),
        ("TMPDIR", tmp.into()),
        ("LANG", "C.UTF-8".into()),
        ("PYTHONUNBUFFERED", "1".into()),
        ("PYTHONDONTWRITEBYTECODE", "1".into()),
        // One thread per worker: predictions are merged into batches instead, and the server's
        // threads keep the cores they need.
        ("OMP_NUM_THREADS", "1".into()),
        ("OPENBLAS_NUM_THREADS", "1".into()),
        ("MKL_NUM_THREADS", "1".into()),
        ("MLFLOW_DISABLE_TELEMETRY", "true".into()),
        ("DO_NOT_TRACK", "true".into()),
    ];
    for (k, v) in vars {
        cmd.env(k, v);
    }
}

/// A user to run as: `(uid, gid)` from a name (looked up in /etc/passwd) or a number.
pub fn lookup_user(spec: &str) -> Result<(u32, u32), String> {
    if let Ok(uid) = spec.parse::<u32>() {
        return Ok((uid, uid));
    }
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == spec)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .ok_or_else(|| format!("--serving-user: no user '{spec}' in /etc/passwd"))
}

/// A command for a submission's code, sandboxed (see the module's note). `user` from [`lookup_user`].
pub fn command(
    program: &Path,
    scratch: &Path,
    flags: &ServingFlags,
    user: Option<(u32, u32)>,
) -> std::io::Result<Command> {
    std::fs::create_dir_all(scratch.join("tmp"))?;
    if let Some((uid, gid)) = user {
        for d in [scratch.to_path_buf(), scratch.join("tmp")] {
            std::os::unix::fs::chown(&d, Some(uid), Some(gid))?;
        }
    }
    let mut cmd = Command::new(program);
    clean_env(&mut cmd, scratch);
    cmd.current_dir(scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mem = flags.serving_memory_mb.saturating_mul(1024 * 1024);
    let cpu = flags.serving_cpu_seconds;
    // SAFETY: the closure runs in the child between fork and exec and calls only async-signal-safe
    // system calls (no allocation, no locks).
    unsafe {
        cmd.pre_exec(move || limit_child(mem, cpu, user));
    }
    Ok(cmd)
}

fn check(rc: libc::c_int) -> std::io::Result<()> {
    if rc == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit reads the struct it is given.
    check(unsafe { libc::setrlimit(resource, &lim) })
}

/// In the child, before exec: everything that needs no allocation.
fn limit_child(mem: u64, cpu: u64, user: Option<(u32, u32)>) -> std::io::Result<()> {
    // SAFETY: plain system calls on the calling (child) process.
    unsafe {
        check(libc::setsid())?;
        check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
        check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
        libc::nice(10);
    }
    if mem > 0 {
        set_limit(libc::RLIMIT_AS, mem)?;
    }
    if cpu > 0 {
        set_limit(libc::RLIMIT_CPU, cpu)?;
    }
    set_limit(libc::RLIMIT_CORE, 0)?;
    set_limit(libc::RLIMIT_NOFILE, 4096)?;
    match user {
        Some((uid, gid)) => unsafe {
            // SAFETY: as above; groups first, then gid, then uid (the order that can still drop).
            check(libc::setgroups(0, std::ptr::null()))?;
            check(libc::setgid(gid))?;
            check(libc::setuid(uid))?;
        },
        None => drop_capabilities()?,
    }
    Ok(())
}

/// Drop every capability (effective, permitted, inheritable and the bounding set): as root, a worker
/// can then not read the server's `/proc/<pid>/environ` or memory, nor signal processes it does not own.
fn drop_capabilities() -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    for cap in 0..64 {
        // SAFETY: prctl with integer arguments; an unknown capability number fails harmlessly.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
    }
    let header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset reads a header and two data structs, laid out as the kernel's.
    check(unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) as libc::c_int })
}

/// The server itself: not dumpable, so that a same-user process cannot read its environment or memory
/// through `/proc` (called once when serving starts).
pub fn protect_server() {
    // SAFETY: prctl on the calling process with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}
