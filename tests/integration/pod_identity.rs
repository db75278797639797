//! EKS pod identity associations (`role.KEY.pod_identity["CLUSTER/NS/SA"]`): apply creates
//! the role and the association, a plan after it has nothing to do, an association pointed
//! at another role by hand is drift that apply undoes, and an association s3ward did not
//! create is never deleted. moto does not implement the five association operations: the
//! test proxy serves them (`tests/support/proxy/eks.rs`), so every test runs the binary
//! through a proxy, and looks at the associations there or through the EKS client.

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_eks::config::Region;

use crate::support::fixtures::{
    EC2_TRUST, PLAN, account, apply, assert_no_changes, create_role, run,
};
use crate::support::plans::main_account;
use crate::support::proxy::{Association, Fault, Proxy, ProxyRules, Rule};
use crate::support::{PlanDir, REGION, moto, ok, sdk_at, unique};

/// A plan file whose role `inference` lets `ml/inference` pods of `cluster` in.
fn plan(id: &str, role: &str, cluster: &str) -> String {
    format!(
        r#"{}
[roles.inference]
account = "main"
name = "{role}"
trust = [{{ pod_identity = {{ cluster = "{cluster}", namespace = "ml", service_account = "inference", region = "{REGION}" }} }}]
"#,
        main_account(id)
    )
}

struct Setup {
    id: String,
    role: String,
    cluster: String,
    proxy: Proxy,
    dir: PlanDir,
    eks: aws_sdk_eks::Client,
    iam: aws_sdk_iam::Client,
}

/// A plan file in a new account, and the proxy (with `rules`) that serves its cluster.
async fn setup_with(rules: ProxyRules) -> Setup {
    let id = account();
    let (role, cluster) = (unique("pod"), unique("cl"));
    let proxy = Proxy::start(&moto().endpoint, rules);
    let dir = PlanDir::new();
    dir.write(PLAN, &plan(&id, &role, &cluster));
    let c = sdk_at(&proxy.endpoint, Some(&id)).await;
    let conf = aws_sdk_eks::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&proxy.endpoint)
        .credentials_provider(c.credentials.clone())
        .retry_config(RetryConfig::disabled())
        .build();
    Setup {
        id,
        role,
        cluster,
        proxy,
        dir,
        eks: aws_sdk_eks::Client::from_conf(conf),
        iam: c.iam,
    }
}

async fn setup() -> Setup {
    setup_with(ProxyRules::none()).await
}

impl Setup {
    fn arn(&self, role: &str) -> String {
        format!("arn:aws:iam::{}:role/{role}", self.id)
    }

    fn associations(&self) -> Vec<Association> {
        self.proxy.pod_identity_associations(&self.cluster)
    }

    /// The one association of `ml/inference`.
    fn inference(&self) -> Association {
        let all: Vec<Association> = self
            .associations()
            .into_iter()
            .filter(|a| a.namespace == "ml" && a.service_account == "inference")
            .collect();
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].clone()
    }

    /// Creates an association by hand (as a cluster admin would), untagged.
    async fn create_by_hand(&self, service_account: &str, role_arn: &str) -> String {
        let out = ok(self
            .eks
            .create_pod_identity_association()
            .cluster_name(&self.cluster)
            .namespace("ml")
            .service_account(service_account)
            .role_arn(role_arn)
            .send()
            .await);
        out.association()
            .unwrap()
            .association_id()
            .unwrap()
            .to_string()
    }

    /// The plan text with the run's names replaced, for snapshots.
    fn stable(&self, text: &str, association_id: &str) -> String {
        text.replace(&self.id, "[ACCOUNT]")
            .replace(&self.role, "[ROLE]")
            .replace(&self.cluster, "[CLUSTER]")
            .replace(association_id, "[ID]")
    }
}

#[tokio::test]
async fn apply_creates_the_association_and_undoes_a_change_by_hand() {
    let s = setup().await;
    let endpoint = Some(s.proxy.endpoint.as_str());
    let planned = run(&s.dir, endpoint, &["plan", PLAN]).await;
    assert_eq!(planned.code, 0, "{planned}");
    insta::assert_snapshot!(
        "pod_identity_created",
        s.stable(&planned.stdout, "[no association yet]")
    );
    apply(&s.dir, endpoint).await;
    let a = s.inference();
    assert_eq!(a.role_arn, s.arn(&s.role));
    assert_eq!(
        a.tags.get("managed-by").map(String::as_str),
        Some("s3ward"),
        "{a:?}"
    );
    // Through the EKS API too: the client reads what the proxy serves.
    let described = ok(s
        .eks
        .describe_pod_identity_association()
        .cluster_name(&s.cluster)
        .association_id(&a.id)
        .send()
        .await);
    assert_eq!(
        described.association().unwrap().role_arn(),
        Some(a.role_arn.as_str())
    );
    assert_no_changes(&s.dir, endpoint).await;

    // Pointed at another role by hand: a change, and drift (s3ward applied it).
    let other = unique("other");
    create_role(&s.iam, &other, EC2_TRUST).await;
    ok(s.eks
        .update_pod_identity_association()
        .cluster_name(&s.cluster)
        .association_id(&a.id)
        .role_arn(s.arn(&other))
        .send()
        .await);
    let planned = run(&s.dir, endpoint, &["plan", "--detailed-exitcode", PLAN]).await;
    assert_eq!(planned.code, 2, "{planned}");
    let text = s.stable(&planned.stdout, &a.id).replace(&other, "[OTHER]");
    insta::assert_snapshot!("pod_identity_pointed_elsewhere", text);
    let drift = run(&s.dir, endpoint, &["drift", PLAN]).await;
    assert!(
        drift.stdout.contains(&format!(
            "role.inference.pod_identity[\"{}/ml/inference\"] has drifted",
            s.cluster
        )),
        "{drift}"
    );

    // `--target role.KEY` selects the role's associations.
    let args = [
        "plan",
        "--detailed-exitcode",
        "--target",
        "role.inference",
        PLAN,
    ];
    let targeted = run(&s.dir, endpoint, &args).await;
    assert_eq!(targeted.code, 2, "{targeted}");
    assert!(targeted.stdout.contains("pod_identity["), "{targeted}");

    apply(&s.dir, endpoint).await;
    let fixed = s.inference();
    assert_eq!(
        (fixed.id.as_str(), fixed.role_arn.as_str()),
        (a.id.as_str(), s.arn(&s.role).as_str())
    );
    assert_no_changes(&s.dir, endpoint).await;
}

#[tokio::test]
async fn associations_s3ward_did_not_create_are_updated_but_never_deleted() {
    let s = setup().await;
    let endpoint = Some(s.proxy.endpoint.as_str());
    let stranger = unique("stranger");
    create_role(&s.iam, &stranger, EC2_TRUST).await;
    let mine = s.create_by_hand("inference", &s.arn(&stranger)).await;
    let theirs = s.create_by_hand("batch", &s.arn(&stranger)).await;

    let planned = run(&s.dir, endpoint, &["plan", PLAN]).await;
    assert!(
        planned
            .stdout
            .contains(&format!("points at `{}`", s.arn(&stranger))),
        "{planned}"
    );
    assert!(
        planned.stdout.contains("not created by s3ward"),
        "{planned}"
    );
    apply(&s.dir, endpoint).await;
    // Updated in place (same id, still untagged), and the other one left alone.
    let a = s.inference();
    assert_eq!(
        (a.id.as_str(), a.role_arn.as_str()),
        (mine.as_str(), s.arn(&s.role).as_str())
    );
    assert_eq!(a.tags, BTreeMap::new());
    assert_no_changes(&s.dir, endpoint).await;

    // The entry leaves the plan file: both associations stay.
    s.dir.write(
        PLAN,
        &plan(&s.id, &s.role, &s.cluster).replace(
            &format!(
                "{{ pod_identity = {{ cluster = \"{}\", namespace = \"ml\", service_account = \"inference\", region = \"{REGION}\" }} }}",
                s.cluster
            ),
            "{ service = \"ec2.amazonaws.com\" }",
        ),
    );
    apply(&s.dir, endpoint).await;
    let ids: Vec<String> = s.associations().into_iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&mine) && ids.contains(&theirs), "{ids:?}");
    assert!(
        s.proxy
            .operations()
            .iter()
            .all(|r| r.operation != "DeletePodIdentityAssociation"),
        "s3ward never deletes an association"
    );
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_points_the_association_it_made() {
    // The first create takes effect, and its answer is lost: the retry meets
    // ResourceInUseException, finds the association and points it at the role.
    let s = setup_with(
        ProxyRules::none().with(
            Rule::new(Fault::DropResponse)
                .service("eks")
                .operation("CreatePodIdentityAssociation")
                .first(1),
        ),
    )
    .await;
    let endpoint = Some(s.proxy.endpoint.as_str());
    apply(&s.dir, endpoint).await;
    let ops: Vec<String> = s
        .proxy
        .operations()
        .into_iter()
        .filter(|r| r.service == "eks")
        .map(|r| r.operation)
        .collect();
    assert!(
        ops.ends_with(&[
            "CreatePodIdentityAssociation".to_string(),
            "CreatePodIdentityAssociation".to_string(),
            "ListPodIdentityAssociations".to_string(),
            "UpdatePodIdentityAssociation".to_string(),
        ]),
        "{ops:?}"
    );
    assert_eq!(s.inference().role_arn, s.arn(&s.role));
    assert_no_changes(&s.dir, endpoint).await;
}

#[tokio::test]
async fn a_saved_plan_is_stale_once_the_association_changed() {
    let s = setup().await;
    let endpoint = Some(s.proxy.endpoint.as_str());
    let saved = run(&s.dir, endpoint, &["plan", PLAN, "--out", "p.json"]).await;
    assert_eq!(saved.code, 0, "{saved}");
    let stranger = unique("stranger");
    create_role(&s.iam, &stranger, EC2_TRUST).await;
    s.create_by_hand("inference", &s.arn(&stranger)).await;
    let stale = run(&s.dir, endpoint, &["apply", "--saved", "p.json"]).await;
    assert_eq!(stale.code, 1, "{stale}");
    let why = format!(
        "`role.inference.pod_identity[\"{}/ml/inference\"]` (the pod identity association) changed in AWS",
        s.cluster
    );
    assert!(stale.stderr.contains(&why), "{stale}");
    assert_eq!(s.inference().role_arn, s.arn(&stranger), "nothing written");
}

#[tokio::test]
async fn permissions_for_apply_cover_every_association_call() {
    let s = setup().await;
    let endpoint = Some(s.proxy.endpoint.as_str());
    let printed = run(&s.dir, None, &["permissions", PLAN, "--for", "apply"]).await;
    assert_eq!(printed.code, 0, "{printed}");
    let out: serde_json::Value = serde_json::from_str(&printed.stdout).expect("JSON");
    let statements = out["accounts"]["main"]["policy"]["Statement"]
        .as_array()
        .expect("statements")
        .clone();
    let cluster_arn = format!("arn:aws:eks:{REGION}:{}:cluster/{}", s.id, s.cluster);
    let allowed = |action: &str, resource: &str| {
        statements.iter().any(|st| {
            st["Action"].as_array().unwrap().iter().any(|a| a == action)
                && st["Resource"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r == resource)
        })
    };
    // Create, then update after a change by hand (the proxy does not check that the role
    // exists).
    apply(&s.dir, endpoint).await;
    let a = s.inference();
    ok(s.eks
        .update_pod_identity_association()
        .cluster_name(&s.cluster)
        .association_id(&a.id)
        .role_arn(s.arn("someone-else"))
        .send()
        .await);
    apply(&s.dir, endpoint).await;
    let ops: std::collections::BTreeSet<String> = s
        .proxy
        .operations()
        .into_iter()
        .filter(|r| r.service == "eks")
        .map(|r| r.operation)
        .collect();
    assert_eq!(ops.len(), 4, "{ops:?}");
    for op in &ops {
        let resource =
            if op == "ListPodIdentityAssociations" || op == "CreatePodIdentityAssociation" {
                cluster_arn.clone()
            } else {
                format!(
                    "arn:aws:eks:{REGION}:{}:podidentityassociation/{}/*",
                    s.id, s.cluster
                )
            };
        assert!(
            allowed(&format!("eks:{op}"), &resource),
            "eks:{op} on {resource}:\n{}",
            printed.stdout
        );
    }
    assert!(
        allowed("eks:TagResource", &cluster_arn),
        "{}",
        printed.stdout
    );
    assert!(
        allowed("iam:PassRole", &s.arn(&s.role)),
        "{}",
        printed.stdout
    );
}

#[tokio::test]
async fn throttled_association_calls_are_retried() {
    let s = setup_with(
        ProxyRules::none()
            .with(Rule::new(Fault::Throttling).service("eks").first(2))
            .with(
                Rule::new(Fault::InternalError)
                    .service("eks")
                    .operation("CreatePodIdentityAssociation")
                    .first(1),
            ),
    )
    .await;
    let endpoint = Some(s.proxy.endpoint.as_str());
    let applied = run(&s.dir, endpoint, &["apply", "-v", "--auto-approve", PLAN]).await;
    assert_eq!(applied.code, 0, "{applied}");
    assert_eq!(s.proxy.faults_injected(), 3);
    // EKS-shaped answers: the SDK reads their codes.
    for code in ["ThrottlingException", "ServerException"] {
        assert!(applied.stderr.contains(code), "{applied}");
    }
    assert_eq!(s.inference().role_arn, s.arn(&s.role));
}
