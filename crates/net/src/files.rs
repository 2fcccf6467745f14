//! The `/etc/resolv.conf`, `/etc/hosts` and `/etc/hostname` a container gets, written as
//! dockerd writes them (libnetwork's `resolvconf` and `etchosts`).

use std::net::IpAddr;

/// Google's public resolvers: what Docker falls back to when the host's resolvers are all
/// loopback ones, which a container cannot reach.
pub const DEFAULT_NAMESERVERS_V4: [&str; 2] = ["8.8.8.8", "8.8.4.4"];
/// The same for IPv6.
pub const DEFAULT_NAMESERVERS_V6: [&str; 2] = ["2001:4860:4860::8888", "2001:4860:4860::8844"];

/// The parts of a `resolv.conf` Docker keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl ResolvConf {
    /// Reads `nameserver`, `search`/`domain` and `options` lines; the last `search` or
    /// `domain` wins, as in the resolver.
    pub fn parse(text: &str) -> ResolvConf {
        let mut rc = ResolvConf::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    // A scoped IPv6 address (fe80::1%eth0) keeps its address part.
                    if let Some(ip) = words.next().and_then(|w| w.split('%').next()?.parse().ok()) {
                        rc.nameservers.push(ip);
                    }
                }
                Some("search") | Some("domain") => rc.search = words.map(String::from).collect(),
                Some("options") => rc.options.extend(words.map(String::from)),
                _ => {}
            }
        }
        rc
    }

    /// The upstream resolvers a container on a network can use: the host's without the
    /// loopback ones (and without IPv6 ones unless `ipv6`), Google's if none is left.
    pub fn external_nameservers(&self, ipv6: bool) -> Vec<IpAddr> {
        let mut ns: Vec<IpAddr> = self
            .nameservers
            .iter()
            .copied()
            .filter(|ip| !ip.is_loopback() && (ipv6 || ip.is_ipv4()))
            .collect();
        if ns.is_empty() {
            ns.extend(
                DEFAULT_NAMESERVERS_V4
                    .iter()
                    .filter_map(|s| s.parse::<IpAddr>().ok()),
            );
            if ipv6 {
                ns.extend(
                    DEFAULT_NAMESERVERS_V6
                        .iter()
                        .filter_map(|s| s.parse::<IpAddr>().ok()),
                );
            }
        }
        ns
    }

    fn render(&self, nameservers: &[IpAddr], options: &[String]) -> String {
        let mut out = String::new();
        if !self.search.is_empty() {
            out.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        for ns in nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !options.is_empty() {
            out.push_str(&format!("options {}\n", options.join(" ")));
        }
        out
    }
}

/// A container's `resolv.conf` on the default bridge (or any network without the
/// embedded DNS): the host's, with loopback resolvers replaced.
pub fn resolv_conf_bridge(host: &ResolvConf, ipv6: bool) -> String {
    host.render(&host.external_nameservers(ipv6), &host.options)
}

/// A container's `resolv.conf` on a user-defined network: the embedded DNS at 127.0.0.11
/// (which forwards to the host's resolvers), the host's search domains, `ndots:0` unless
/// the host set ndots.
pub fn resolv_conf_embedded(host: &ResolvConf) -> String {
    let mut options = host.options.clone();
    if !options.iter().any(|o| o.starts_with("ndots:")) {
        options.insert(0, "ndots:0".into());
    }
    host.render(&[IpAddr::from([127, 0, 0, 11])], &options)
}

/// `/etc/hostname`.
pub fn hostname_file(hostname: &str) -> String {
    format!("{hostname}\n")
}

/// `/etc/hosts`: Docker's defaults, the `--add-host` entries, then the container's own
/// address with its name (`fqdn short` when there is a domain).
pub fn hosts_file(
    own: Option<IpAddr>,
    hostname: &str,
    domainname: &str,
    extra: &[(String, String)],
) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for (name, ip) in extra {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some(ip) = own {
        let fqdn = if domainname.is_empty() {
            hostname.to_string()
        } else {
            format!("{hostname}.{domainname}")
        };
        match fqdn.split_once('.') {
            Some((short, _)) => out.push_str(&format!("{ip}\t{fqdn} {short}\n")),
            None => out.push_str(&format!("{ip}\t{fqdn}\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_network_resolv_conf_as_dockerd_writes_it() {
        // dockerd 20.10 on this host (one non-loopback nameserver) wrote exactly this.
        let host = ResolvConf::parse("nameserver 10.255.255.53");
        assert_eq!(
            resolv_conf_embedded(&host),
            "nameserver 127.0.0.11\noptions ndots:0\n"
        );
        let host = ResolvConf::parse(
            "# x\nnameserver 127.0.0.53\nsearch a.example b.example\noptions edns0 trust-ad\n",
        );
        assert_eq!(
            resolv_conf_embedded(&host),
            "search a.example b.example\nnameserver 127.0.0.11\noptions ndots:0 edns0 trust-ad\n"
        );
    }

    #[test]
    fn bridge_resolv_conf_replaces_loopback_resolvers() {
        let host = ResolvConf::parse("nameserver 127.0.0.53\nnameserver ::1\noptions edns0\n");
        assert_eq!(
            resolv_conf_bridge(&host, false),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n"
        );
        let host = ResolvConf::parse(
            "nameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver 2001:db8::1\n",
        );
        assert_eq!(resolv_conf_bridge(&host, false), "nameserver 10.0.0.2\n");
        assert_eq!(
            resolv_conf_bridge(&host, true),
            "nameserver 10.0.0.2\nnameserver 2001:db8::1\n"
        );
    }

    #[test]
    fn hosts_as_dockerd_writes_them() {
        let ip: IpAddr = "10.231.0.5".parse().expect("ip");
        let text = hosts_file(Some(ip), "4f8973a50523", "", &[]);
        assert_eq!(
            text,
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
             ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n10.231.0.5\t4f8973a50523\n"
        );
        let text = hosts_file(
            Some(ip),
            "foo",
            "bar.com",
            &[("db".into(), "10.0.0.9".into())],
        );
        assert!(
            text.ends_with("10.0.0.9\tdb\n10.231.0.5\tfoo.bar.com foo\n"),
            "{text}"
        );
        assert_eq!(hostname_file("foo"), "foo\n");
    }
}
