//! `trent access <key>`: who can do what with a key, and through which path.

use trent_kms::explain::AccessReport;

use crate::Verdict;
use crate::client::{Client, ClientError, ConnectArgs};
use crate::explain::pretty;

#[derive(Debug, clap::Args)]
pub struct AccessArgs {
    /// Key ID, key ARN, alias name or alias ARN.
    pub key: String,
    /// Only this principal: a user, role, role session (any session name) or account root.
    /// With it (or --action) the exit status says whether anything allows: 0 yes (at once or
    /// under a condition), 1 no.
    #[arg(long)]
    pub principal: Option<String>,
    /// Only this key action (e.g. kms:Decrypt).
    #[arg(long)]
    pub action: Option<String>,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: AccessArgs) -> Result<Verdict, ClientError> {
    let client = Client::new(&args.connect)?;
    let mut body = serde_json::json!({ "KeyId": args.key });
    if let Some(p) = &args.principal {
        body["Principal"] = p.clone().into();
    }
    if let Some(a) = &args.action {
        body["Action"] = a.clone().into();
    }
    let answer = client.call("POST", "/_trent/access", Some(&body))?;
    let report: AccessReport =
        serde_json::from_value(answer.clone()).map_err(|e| ClientError::Json(e.to_string()))?;
    if args.json {
        println!("{}", pretty(&answer));
    } else {
        print!("{}", render(&report));
    }
    Ok(if args.principal.is_some() || args.action.is_some() {
        Verdict::of(anything_allows(&report))
    } else {
        Verdict::Done
    })
}

/// Whether some identity of the report has a path that allows, at once or under a condition.
fn anything_allows(r: &AccessReport) -> bool {
    r.identities
        .iter()
        .any(|i| i.paths.iter().any(|p| !p.denied))
}

/// Left-aligned columns, two spaces apart.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

fn or_dash(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

pub fn render(r: &AccessReport) -> String {
    let mut out = format!("key {} ({})\n\n", r.key_arn, r.key_state);

    out.push_str("KEY POLICY\n");
    let rows: Vec<Vec<String>> = r
        .key_policy
        .iter()
        .map(|s| {
            let actions = if s.not_actions.is_empty() {
                or_dash(&s.actions)
            } else {
                format!("not {}", s.not_actions.join(","))
            };
            vec![
                s.index.to_string(),
                s.sid.clone().unwrap_or_else(|| "-".into()),
                s.effect.clone(),
                or_dash(&s.principals),
                actions,
                s.conditions
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    out.push_str(&table(
        &["#", "SID", "EFFECT", "PRINCIPAL", "ACTIONS", "CONDITIONS"],
        &rows,
    ));

    out.push_str("\nDELEGATED TO IAM\n");
    if r.delegations.is_empty() {
        out.push_str("none: the key policy names no account, so IAM policies cannot add anyone\n");
    }
    for d in &r.delegations {
        let actions = if d.not_actions.is_empty() {
            or_dash(&d.actions)
        } else {
            format!("anything but {}", d.not_actions.join(","))
        };
        let conditions = d
            .conditions
            .as_ref()
            .map(|c| format!(" when {c}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "any principal of account {} whose IAM policies allow {actions}{conditions} (key policy statement {}{})\n",
            d.account,
            d.statement,
            d.sid.as_deref().map(|s| format!(" {s:?}")).unwrap_or_default()
        ));
        if d.known_identities.is_empty() {
            out.push_str("  known identities that do: none\n");
        }
        for i in &d.known_identities {
            let actions: Vec<String> = i.paths.iter().flat_map(|p| p.actions.clone()).collect();
            out.push_str(&format!("  {}: {}\n", i.principal, compress(&actions)));
        }
    }

    out.push_str("\nGRANTS\n");
    if r.grants.is_empty() {
        out.push_str("none\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .grants
            .iter()
            .map(|g| {
                vec![
                    g.grant_id.clone(),
                    g.name.clone().unwrap_or_else(|| "-".into()),
                    g.grantee_principal.clone(),
                    g.operations.join(","),
                    g.constraints
                        .as_ref()
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into()),
                    g.retiring_principal.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "GRANT ID",
                "NAME",
                "GRANTEE",
                "OPERATIONS",
                "CONSTRAINTS",
                "RETIRING PRINCIPAL",
            ],
            &rows,
        ));
    }

    out.push_str("\nKNOWN IDENTITIES (for requests without context: conditional paths say what a request must carry)\n");
    if r.identities.is_empty() {
        out.push_str("none of the identities Trent knows can use this key\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .identities
            .iter()
            .flat_map(|i| {
                i.paths.iter().map(|p| {
                    vec![
                        i.principal.clone(),
                        if p.denied { "Deny" } else { "Allow" }.to_string(),
                        compress(&p.actions),
                        p.via.clone(),
                        p.condition.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
            })
            .collect();
        out.push_str(&table(
            &["PRINCIPAL", "EFFECT", "ACTIONS", "VIA", "CONDITION"],
            &rows,
        ));
    }
    out
}

/// Every key action reads better as `kms:* (all key actions)`.
fn compress(actions: &[String]) -> String {
    if actions.len() == trent_kms::explain::key_actions().len() {
        "kms:* (every key action)".into()
    } else {
        actions.join(",")
    }
}
