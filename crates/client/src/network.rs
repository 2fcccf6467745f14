//! Network endpoints: create, list, inspect, remove, prune, connect and disconnect.

use berth_models::{
    ApiVersion, Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest, NetworkPruneResponse,
};
use bytes::Bytes;

use crate::Client;
use crate::error::Result;
use crate::query::{Filters, Query, encode};

/// `/networks/{id}` with the id (or name) encoded.
fn path(id: &str, rest: &str) -> Query {
    Query::new(format!("/networks/{}{rest}", encode(id)))
}

/// The API version from which `CheckDuplicate` is gone (duplicate names always fail).
const NO_CHECK_DUPLICATE: ApiVersion = ApiVersion(1, 44);

impl Client {
    /// `POST /networks/create`. Below API 1.44 `CheckDuplicate` is sent as true unless
    /// the request says otherwise, as the docker CLI's client does.
    pub async fn network_create(
        &self,
        req: &NetworkCreateRequest,
    ) -> Result<NetworkCreateResponse> {
        if self.version() < NO_CHECK_DUPLICATE && req.check_duplicate.is_none() {
            let req = NetworkCreateRequest {
                check_duplicate: Some(true),
                ..req.clone()
            };
            return self.post_json_for("/networks/create", &req).await;
        }
        self.post_json_for("/networks/create", req).await
    }

    /// `GET /networks`.
    pub async fn network_list(&self, filters: &Filters) -> Result<Vec<Network>> {
        self.get(&Query::new("/networks").filters(filters).build())
            .await
    }

    /// `GET /networks/{id}`; `verbose` asks for a swarm network's services.
    pub async fn network_inspect(&self, id: &str, verbose: bool) -> Result<Network> {
        Ok(self.network_inspect_with_raw(id, verbose).await?.0)
    }

    /// [`Client::network_inspect`] with the answer's bytes as they came (what the docker
    /// CLI prints for `network inspect`).
    pub async fn network_inspect_with_raw(
        &self,
        id: &str,
        verbose: bool,
    ) -> Result<(Network, Bytes)> {
        let mut url = path(id, "");
        if verbose {
            url = url.str("verbose", "true");
        }
        self.get_with_raw(&url.build()).await
    }

    /// `DELETE /networks/{id}`.
    pub async fn network_remove(&self, id: &str) -> Result<()> {
        self.delete(&path(id, "").build()).await
    }

    /// `POST /networks/prune`: the networks removed.
    pub async fn network_prune(&self, filters: &Filters) -> Result<NetworkPruneResponse> {
        self.post_for(&Query::new("/networks/prune").filters(filters).build())
            .await
    }

    /// `POST /networks/{id}/connect`: attach a container, with its endpoint's settings.
    pub async fn network_connect(&self, id: &str, req: &NetworkConnectRequest) -> Result<()> {
        self.post_json(&path(id, "/connect").build(), req)
            .await?
            .collect()
            .await?;
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(&self, id: &str, req: &NetworkDisconnectRequest) -> Result<()> {
        self.post_json(&path(id, "/disconnect").build(), req)
            .await?
            .collect()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use berth_models::{EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig};

    use super::*;
    use crate::testserver::{Answer, serve};

    fn client(sock: &std::path::Path) -> Client {
        Client::from_env(Some(&format!("unix://{}", sock.display()))).expect("client")
    }

    #[tokio::test]
    async fn create_sends_the_request_and_reads_the_id() {
        let (dir, served) = serve(vec![Answer::json(201, r#"{"Id":"4f1c","Warning":""}"#)]);
        let req = NetworkCreateRequest {
            name: "n1".into(),
            driver: "bridge".into(),
            ipam: Some(Ipam {
                driver: "default".into(),
                config: Some(vec![IpamConfig {
                    subnet: "10.9.0.0/24".into(),
                    gateway: "10.9.0.1".into(),
                    ..Default::default()
                }]),
                options: Some(BTreeMap::new()),
            }),
            options: Some(BTreeMap::new()),
            labels: Some(BTreeMap::from([("a".into(), "b".into())])),
            ..Default::default()
        };
        let resp = client(&dir.path().join("s")).network_create(&req).await;
        assert_eq!(resp.expect("created").id, "4f1c");
        let got = served.one();
        assert_eq!(got.method, "POST");
        assert_eq!(got.uri, "/v1.50/networks/create");
        // What went out reads back as what was sent, with no CheckDuplicate at 1.50.
        let sent: NetworkCreateRequest = serde_json::from_slice(&got.body).expect("json");
        assert_eq!(sent, req);
        assert!(!String::from_utf8_lossy(&got.body).contains("CheckDuplicate"));
    }

    #[tokio::test]
    async fn check_duplicate_below_1_44() {
        let (dir, served) = serve(vec![Answer::json(201, r#"{"Id":"x"}"#)]);
        let mut c = client(&dir.path().join("s"));
        c.version = ApiVersion(1, 43);
        let req = NetworkCreateRequest {
            name: "n".into(),
            ..Default::default()
        };
        c.network_create(&req).await.expect("created");
        let sent: NetworkCreateRequest = serde_json::from_slice(&served.one().body).expect("json");
        assert_eq!(sent.check_duplicate, Some(true));
    }

    #[tokio::test]
    async fn list_inspect_remove_prune() {
        let net = r#"{"Name":"n1","Id":"abc","Created":"2025-01-02T03:04:05.5Z","Scope":"local",
            "Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,
            "IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"172.18.0.0/16",
            "Gateway":"172.18.0.1"}]},"Internal":false,"Attachable":false,"Ingress":false,
            "ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},
            "Labels":{}}"#;
        let (dir, served) = serve(vec![
            Answer::json(200, &format!("[{net}]")),
            Answer::json(200, net),
            Answer::json(404, r#"{"message":"network nope not found"}"#),
            Answer::empty(204),
            Answer::json(200, r#"{"NetworksDeleted":["n1"]}"#),
        ]);
        let c = client(&dir.path().join("s"));
        let mut f = Filters::new();
        f.add("driver", "bridge");
        let list = c.network_list(&f).await.expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].ipam.config.as_ref().expect("config")[0].gateway,
            "172.18.0.1"
        );
        let (n, raw) = c
            .network_inspect_with_raw("n1", true)
            .await
            .expect("inspect");
        assert_eq!((n.id.as_str(), n.enable_ipv4), ("abc", true));
        assert_eq!(raw, net.as_bytes());
        let e = c.network_inspect("nope", false).await.expect_err("missing");
        assert!(e.is_not_found());
        assert_eq!(
            e.to_string(),
            "Error response from daemon: network nope not found"
        );
        c.network_remove("a b").await.expect("removed");
        let pruned = c.network_prune(&Filters::new()).await.expect("pruned");
        assert_eq!(pruned.networks_deleted, Some(vec!["n1".to_string()]));
        let reqs = served.all();
        let lines: Vec<String> = reqs
            .iter()
            .map(|r| format!("{} {}", r.method, r.uri))
            .collect();
        assert_eq!(
            lines,
            [
                "GET /v1.50/networks?filters=%7B%22driver%22%3A%7B%22bridge%22%3Atrue%7D%7D",
                "GET /v1.50/networks/n1?verbose=true",
                "GET /v1.50/networks/nope",
                "DELETE /v1.50/networks/a%20b",
                "POST /v1.50/networks/prune",
            ]
        );
    }

    #[tokio::test]
    async fn connect_and_disconnect_send_their_bodies() {
        let (dir, served) = serve(vec![Answer::empty(200), Answer::empty(200)]);
        let c = client(&dir.path().join("s"));
        let connect = NetworkConnectRequest {
            container: "web".into(),
            endpoint_config: Some(EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: "10.9.0.5".into(),
                    ..Default::default()
                }),
                aliases: Some(vec!["w".into()]),
                ..Default::default()
            }),
        };
        c.network_connect("n1", &connect).await.expect("connect");
        let disconnect = NetworkDisconnectRequest {
            container: "web".into(),
            force: true,
        };
        c.network_disconnect("n1", &disconnect)
            .await
            .expect("disconnect");
        let reqs = served.all();
        assert_eq!(reqs[0].uri, "/v1.50/networks/n1/connect");
        let sent: NetworkConnectRequest = serde_json::from_slice(&reqs[0].body).expect("json");
        assert_eq!(sent, connect);
        assert_eq!(reqs[1].uri, "/v1.50/networks/n1/disconnect");
        assert_eq!(
            String::from_utf8_lossy(&reqs[1].body),
            r#"{"Container":"web","Force":true}"#
        );
    }
}
