//! `berth volume` and `system df -v` against docker CLI 28.2.2: the request bodies, output
//! and messages below were captured from it (`docker volume ...` against a fake daemon on
//! a Unix socket that logged each request, and against berthd).

use berth_client::models::DiskUsage;
use clap::Parser;
use serde_json::{Value, json};

use super::*;
use crate::commands::system::{df_summary, df_verbose};
use crate::format::rows;

#[derive(Parser)]
struct Create {
    #[command(flatten)]
    a: CreateArgs,
}

#[derive(Parser)]
struct Ls {
    #[command(flatten)]
    a: LsArgs,
}

fn create(args: &[&str]) -> Result<VolumeCreateOptions, Exit> {
    let c = Create::try_parse_from(std::iter::once("create").chain(args.iter().copied()))
        .map_err(|e| fail(125, e.to_string()))?;
    create_request(&c.a)
}

/// A docker CLI body as Berth sends it: the docker CLI leaves out empty fields
/// (`omitempty`), Berth sends them empty (the same to the daemon).
fn docker_body(v: Value) -> Value {
    let mut full = json!({"Name": "", "Driver": "", "DriverOpts": {}, "Labels": {}});
    for (k, v) in v.as_object().expect("object") {
        full[k] = v.clone();
    }
    full
}

#[test]
fn create_sends_what_the_docker_cli_sends() {
    let r = create(&[]).expect("valid");
    assert_eq!(
        serde_json::to_value(&r).expect("json"),
        docker_body(json!({"Driver": "local"}))
    );
    let r = create(&[
        "-o",
        "type=tmpfs",
        "-o",
        "device",
        "--label",
        "a=b",
        "--label",
        "c",
        "v1",
    ])
    .expect("valid");
    assert_eq!(
        serde_json::to_value(&r).expect("json"),
        docker_body(
            json!({"Driver": "local", "DriverOpts": {"device": "", "type": "tmpfs"},
            "Labels": {"a": "b", "c": ""}, "Name": "v1"})
        )
    );
    // The hidden --name, as the docker CLI's.
    assert_eq!(
        create(&["--name", "v2", "-d", "x"]).expect("valid").name,
        "v2"
    );
    assert_eq!(
        create(&["--name", "v2", "-d", "x"]).expect("valid").driver,
        "x"
    );
    let e = create(&["--name", "a", "b"]).expect_err("both");
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            1,
            "conflicting options: cannot specify a volume-name through both --name and as a positional arg"
        )
    );
    let e = create(&["--label", "=x", "v"]).expect_err("bad label");
    assert_eq!(
        e.message,
        "invalid argument \"=x\" for \"--label\" flag: invalid label '=x': empty name"
    );
    assert!(create(&["a", "b"]).is_err(), "one name at most");
}

#[test]
fn cluster_volume_flags_are_refused_by_name() {
    // The docker CLI sends these as a ClusterVolumeSpec; Berth has no swarm.
    let e = create(&["--availability", "pause", "v1"]).expect_err("cluster");
    assert_eq!(e.code, 125);
    assert_eq!(
        e.message,
        "--availability: swarm cluster volumes are not supported: Berth has no swarm"
    );
    let e = create(&[
        "--group",
        "g",
        "--scope",
        "multi",
        "--sharing",
        "all",
        "--type",
        "mount",
        "--secret",
        "k=v",
        "--limit-bytes",
        "1",
        "--required-bytes",
        "1",
        "--topology-preferred",
        "a=b",
        "--topology-required",
        "a=b",
    ])
    .expect_err("cluster");
    assert!(
        e.message.starts_with(
            "--group, --limit-bytes, --required-bytes, --scope, --secret, --sharing, \
             --topology-preferred, --topology-required, --type: "
        ),
        "{}",
        e.message
    );
    let ls = Ls::try_parse_from(["ls", "--cluster"]).expect("parsed");
    assert!(ls.a.cluster);
    assert_eq!(
        update(UpdateArgs {
            availability: Some("drain".into()),
            name: Some("v".into())
        })
        .expect_err("refused")
        .message,
        "volume update: swarm cluster volumes are not supported: Berth has no swarm"
    );
}

fn volume(name: &str, labels: &[(&str, &str)]) -> Volume {
    Volume {
        created_at: "2026-12-03T07:38:31Z".into(),
        driver: "local".into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        mountpoint: format!("/tmp/vt/root/volumes/{name}/_data"),
        name: name.into(),
        scope: "local".into(),
        ..Volume::default()
    }
}

fn ls(format: Option<&str>, quiet: bool) -> String {
    let rows_: Vec<Row> = [volume("va", &[("b", "2"), ("a", "1")]), volume("vb", &[])]
        .into_iter()
        .map(Row::new)
        .collect();
    let f = ls_format(format, quiet);
    rows(Some(&f), &f, &Row::titles(), &rows_).expect("rendered")
}

#[test]
fn ls_prints_what_the_docker_cli_prints() {
    assert_eq!(
        ls(None, false),
        "DRIVER    VOLUME NAME\nlocal     va\nlocal     vb\n"
    );
    assert_eq!(ls(Some("table"), true), "va\nvb\n");
    assert_eq!(
        ls(Some("json"), false),
        concat!(
            r#"{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"a=1,b=2","Links":"N/A","Mountpoint":"/tmp/vt/root/volumes/va/_data","Name":"va","Scope":"local","Size":"N/A","Status":"N/A"}"#,
            "\n",
            r#"{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"","Links":"N/A","Mountpoint":"/tmp/vt/root/volumes/vb/_data","Name":"vb","Scope":"local","Size":"N/A","Status":"N/A"}"#,
            "\n"
        )
    );
    assert_eq!(
        ls(Some("raw"), false),
        "name: va\ndriver: local\n\nname: vb\ndriver: local\n\n"
    );
    assert_eq!(ls(Some("raw"), true), "name: va\nname: vb\n");
    assert_eq!(
        ls(
            Some(
                "{{.Links}} {{.Size}} {{.Status}} {{.Group}} {{.Availability}} {{.Labels}} {{.Scope}}"
            ),
            true
        ),
        "N/A N/A N/A N/A N/A a=1,b=2 local\nN/A N/A N/A N/A N/A  local\n"
    );
    assert_eq!(
        ls(Some("table {{.Name}}\t{{.Mountpoint}}"), false),
        "VOLUME NAME   MOUNTPOINT\nva            /tmp/vt/root/volumes/va/_data\n\
         vb            /tmp/vt/root/volumes/vb/_data\n"
    );
}

#[test]
fn prune_asks_as_the_docker_cli() {
    assert_eq!(
        prune_warning(false),
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    );
    assert_eq!(
        prune_warning(true),
        "WARNING! This will remove all local volumes not used by at least one container."
    );
}

/// `GET /system/df` of berthd with two images, two containers (one using a named volume
/// and two anonymous ones of its image's) and four volumes, trimmed.
fn disk_usage() -> DiskUsage {
    let container = |id: &str,
                     name: &str,
                     image: &str,
                     cmd: &str,
                     state: &str,
                     status: &str,
                     mounts: &[&str]| {
        json!({"Id": id, "Names": [format!("/{name}")], "Image": image, "ImageID": "",
            "Command": cmd, "Created": 1796283560, "Ports": [], "SizeRw": 0,
            "SizeRootFs": 1982472, "Labels": {}, "State": state, "Status": status,
            "HostConfig": {"NetworkMode": "bridge"}, "NetworkSettings": {"Networks": {}},
            "Mounts": mounts.iter().map(|n| json!({"Type": "volume", "Name": n,
                "Source": "", "Destination": "/d", "Driver": "local", "Mode": "",
                "RW": true, "Propagation": ""})).collect::<Vec<_>>()})
    };
    let vol = |name: &str, size: i64, refs: i64| {
        json!({"CreatedAt": "2026-12-03T07:39:20Z", "Driver": "local", "Labels": null,
            "Mountpoint": format!("/v/{name}/_data"), "Name": name, "Options": null,
            "Scope": "local", "UsageData": {"Size": size, "RefCount": refs}})
    };
    let anon1 = "0c59cf560fed0f62ebb688342f7d402b95f140ade31ab2fbeb58d483123a54fd";
    let anon2 = "5b398f8b3d546aeea98d015639d188a428ddd1b5b39e8c03f33d1e35f25bcd90";
    serde_json::from_value(json!({
        "LayersSize": 1982841,
        "Images": [
            {"Containers": 1, "Created": 1795378510, "Id":
             "sha256:f9d339f4e04e9791465f870138906a05287de2c4a226b722881e1489df72eca9",
             "Labels": null, "ParentId": "", "RepoDigests": [], "RepoTags": ["layers-test:1"],
             "SharedSize": 1982472, "Size": 1982841},
            {"Containers": 1, "Created": 1795378506, "Id":
             "sha256:04551a00a97343421d80b3bdfc4041bffba917d63ca1aa16bda16299d4574863",
             "Labels": null, "ParentId": "", "RepoDigests": [],
             "RepoTags": ["busybox:latest", "busybox:1"],
             "SharedSize": 1982472, "Size": 1982472}],
        "Containers": [
            container("47a5b5faf32a31bafc0341031a187af67e095eab515dd3f13bbd8e776e885af1",
                "c1", "busybox", "sh -c echo hi > /data/x", "exited",
                "Exited (0) Less than a second ago", &["va2"]),
            container("b9905dec8a33db322868500baed3623cb3449678b1b8d776f83b00d13a6e685f",
                "c2", "layers-test:1", "/usr/local/bin/entry.sh default-arg", "created",
                "Created", &["va2", anon2, anon1])],
        "Volumes": [vol(anon1, 0, 1), vol(anon2, 0, 1), vol("va2", 3, 2), vol("vc", 0, 0)],
        "BuildCache": []
    }))
    .expect("disk usage")
}

#[test]
fn system_df_as_the_docker_cli_prints_it() {
    assert_eq!(
        df_summary(&disk_usage()),
        "\
TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          2         2         1.983MB   1.982MB (99%)
Containers      2         0         0B        0B
Local Volumes   4         3         3B        0B (0%)
Build Cache     0         0         0B        0B
"
    );
    assert_eq!(
        df_verbose(disk_usage(), 1796283560).expect("rendered"),
        "\
Images space usage:

REPOSITORY    TAG       IMAGE ID       CREATED       SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS
layers-test   1         f9d339f4e04e   10 days ago   1.98MB    1.982MB       369B          1
busybox       latest    04551a00a973   10 days ago   1.98MB    1.982MB       0B            1

Containers space usage:

CONTAINER ID   IMAGE           COMMAND                  LOCAL VOLUMES   SIZE      CREATED                  STATUS                              NAMES
47a5b5faf32a   busybox         \"sh -c echo hi > /da…\"   1               0B        Less than a second ago   Exited (0) Less than a second ago   c1
b9905dec8a33   layers-test:1   \"/usr/local/bin/entr…\"   3               0B        Less than a second ago   Created                             c2

Local Volumes space usage:

VOLUME NAME                                                        LINKS     SIZE
0c59cf560fed0f62ebb688342f7d402b95f140ade31ab2fbeb58d483123a54fd   1         0B
5b398f8b3d546aeea98d015639d188a428ddd1b5b39e8c03f33d1e35f25bcd90   1         0B
va2                                                                2         3B
vc                                                                 0         0B

Build cache usage: 0B

CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED
"
    );
}
