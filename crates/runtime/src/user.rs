//! Resolving Docker's `User` string against a container's /etc/passwd and /etc/group, with
//! runc's rules (`libcontainer/user`): names or numbers, `user:group`; without an explicit
//! group the supplementary groups are those listing the user in /etc/group.

/// Who the container's process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub sgids: Vec<u32>,
    pub home: String,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: &'a str,
}

/// The colon-separated fields of each line of a passwd or group file, blank lines and
/// comments left out.
fn records(text: &str) -> impl Iterator<Item = std::str::Split<'_, char>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':'))
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    records(passwd).filter_map(|mut f| {
        let name = f.next()?;
        let _pw = f.next();
        let uid = f.next()?.parse().ok()?;
        let gid = f.next()?.parse().ok()?;
        let _gecos = f.next();
        let home = f.next().unwrap_or("");
        Some(PasswdEntry {
            name,
            uid,
            gid,
            home,
        })
    })
}

fn group_entries(group: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    records(group).filter_map(|mut f| {
        let name = f.next()?;
        let _pw = f.next();
        let gid = f.next()?.parse().ok()?;
        let members = f.next().unwrap_or("");
        Some(GroupEntry { name, gid, members })
    })
}

/// Resolve `spec` ("", "name", "uid", "name:group", "uid:gid"...) against the contents of
/// /etc/passwd and /etc/group (`None` when a file does not exist). Errors read like Docker's.
/// A `--group-add` entry: a gid, or a name from the container's /etc/group.
pub fn group_id(name: &str, group: Option<&str>) -> Result<u32, String> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    group
        .and_then(|g| group_entries(g).find(|e| e.name == name))
        .map(|e| e.gid)
        .ok_or_else(|| format!("unable to find group {name}: no matching entries in group file"))
}

/// The supplementary groups a process of `u` gets: its primary group first (as with
/// Docker and runc, `id` shows it under `groups=`), then the others.
pub fn supplementary_groups(u: &ExecUser) -> Vec<u32> {
    let mut out = vec![u.gid];
    for g in &u.sgids {
        if !out.contains(g) {
            out.push(*g);
        }
    }
    out
}

pub fn resolve(spec: &str, passwd: Option<&str>, group: Option<&str>) -> Result<ExecUser, String> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let uid_arg: Option<u32> = user_arg.parse().ok();
    let mut user = ExecUser {
        uid: 0,
        gid: 0,
        sgids: Vec::new(),
        home: "/".to_string(),
    };
    let mut name = None;
    let found = passwd.and_then(|p| {
        passwd_entries(p).find(|e| {
            if user_arg.is_empty() {
                e.uid == 0
            } else {
                e.name == user_arg || uid_arg == Some(e.uid)
            }
        })
    });
    match found {
        Some(e) => {
            user.uid = e.uid;
            user.gid = e.gid;
            user.home = e.home.to_string();
            name = Some(e.name);
        }
        None => match uid_arg {
            Some(uid) => user.uid = uid,
            None if user_arg.is_empty() => {}
            None => {
                return Err(format!(
                    "unable to find user {user_arg}: no matching entries in passwd file"
                ));
            }
        },
    }
    if let Some(g) = group_arg.filter(|g| !g.is_empty()) {
        let gid_arg: Option<u32> = g.parse().ok();
        let found = group.and_then(|gr| {
            group_entries(gr)
                .find(|e| e.name == g || gid_arg == Some(e.gid))
                .map(|e| e.gid)
        });
        user.gid = match (found, gid_arg) {
            (Some(gid), _) | (None, Some(gid)) => gid,
            (None, None) => {
                return Err(format!(
                    "unable to find group {g}: no matching entries in group file"
                ));
            }
        };
    } else if let (Some(name), Some(gr)) = (name, group) {
        user.sgids = group_entries(gr)
            .filter(|e| e.members.split(',').any(|m| m.trim() == name))
            .map(|e| e.gid)
            .collect();
    }
    if user.home.is_empty() {
        user.home = "/".to_string();
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
        # comment\n\
        app:x:1234:1234:app:/home/app:/bin/sh\n\
        nobody:x:65534:65534:nobody:/home:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:root\ndaemon:x:1:\n\
        app:x:1234:\nstaff:x:50:app,daemon\nnogroup:x:65534:\n";

    fn r(s: &str) -> Result<ExecUser, String> {
        resolve(s, Some(PASSWD), Some(GROUP))
    }

    #[test]
    fn default_is_root_with_its_groups() {
        let u = r("").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.sgids, vec![10]);
    }

    #[test]
    fn by_name_and_number() {
        let u = r("app").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1234, 1234, "/home/app"));
        assert_eq!(u.sgids, vec![50]);
        assert_eq!(r("1234").unwrap(), u);
        let u = r("4242").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 0, "/"));
        assert!(u.sgids.is_empty());
    }

    #[test]
    fn explicit_group() {
        let u = r("app:staff").unwrap();
        assert_eq!((u.uid, u.gid), (1234, 50));
        assert!(u.sgids.is_empty());
        let u = r("daemon:777").unwrap();
        assert_eq!((u.uid, u.gid), (1, 777));
        let u = r("1000:1000").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
    }

    #[test]
    fn unknown_names_fail_like_docker() {
        assert_eq!(
            r("nosuch").unwrap_err(),
            "unable to find user nosuch: no matching entries in passwd file"
        );
        assert_eq!(
            r("app:nosuch").unwrap_err(),
            "unable to find group nosuch: no matching entries in group file"
        );
        assert!(resolve("app", None, None).is_err());
        assert_eq!(resolve("5:6", None, None).unwrap().gid, 6);
    }
}
