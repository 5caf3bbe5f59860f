//! `hardcoded-pool-size`: a pool's size or timeout given as a literal in service code
//! (`.max_connections(10)`, `.acquire_timeout(Duration::from_secs(3))`), where a configuration
//! value would let operators size the pool for each environment.

use super::{RawFinding, Rule, RuleContext, RuleMeta};
use crate::catalogue::DbRole;
use crate::model::resolve::Ns;
use crate::model::types::RTy;
use crate::model::{FnRef, Model};
use crate::parse::facts::ByteSpan;

declare_rule!(
    HardcodedPoolSize,
    "hardcoded-pool-size",
    Medium,
    "a pool size or pool timeout given as a literal in service code instead of configuration"
);

impl Rule for HardcodedPoolSize {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        for f in model.all_fns() {
            let func = model.func(f);
            let db = func.db();
            if (db.literal_args.is_empty() && db.literal_fields.is_empty())
                || model.is_test_code(f)
                || model.is_one_shot_binary(f.file)
            {
                continue;
            }
            // `PoolConfig { max_size: 16, .. }`, `Timeouts { wait: Some(Duration::from_secs(5)), .. }`.
            for (path, field, span) in &db.literal_fields {
                let Some(res) = model.resolve_path(f.file, func.outer_scope, path, Ns::Type) else { continue };
                let RTy::Ext(ty, _) = model.res_to_ty(f.file, res, &[]) else { continue };
                let ty = model.canonical_type(&ty);
                if model.cat.db.roles.get(&(ty, *field)) != Some(&DbRole::PoolSetting) {
                    continue;
                }
                let setting =
                    format!("{}::{}", model.names.str(*path.segs().last().unwrap_or(field)), model.names.str(*field));
                out.push(finding(model, f, *span, &setting));
            }
            for &(call_id, arg, span) in &func.db().literal_args {
                let call = &func.calls[call_id.idx()];
                let Some((DbRole::PoolSetting, _)) = model.db_role(f, call_id) else { continue };
                // `PoolConfig::new(16)`: the size is the first argument; builder settings have one.
                if arg != 0 {
                    continue;
                }
                let setting = match &call.callee {
                    crate::parse::facts::Callee::Method { name, .. } => model.names.str(*name).to_string(),
                    crate::parse::facts::Callee::Path { path, .. } => {
                        path.segs().iter().map(|s| model.names.str(*s)).collect::<Vec<_>>().join("::")
                    }
                    crate::parse::facts::Callee::Other => continue,
                };
                out.push(finding(model, f, span, &setting));
            }
        }
    }
}

fn finding(model: &Model, f: FnRef, span: ByteSpan, setting: &str) -> RawFinding {
    let last = setting.rsplit("::").next().unwrap_or(setting);
    let what = if ["timeout", "lifetime", "wait", "create", "recycle"].iter().any(|w| last.contains(w)) {
        "timeout"
    } else {
        "size"
    };
    RawFinding::new(
        &META,
        f.file,
        span,
        model.fn_path(f),
        format!(
            "pool {what} `{setting}` is hard-coded as a literal: every environment (a laptop, a shared staging database, production behind several replicas) gets the same value, and changing it needs a rebuild"
        ),
        format!(
            "read it from configuration (`{setting}` from `config.database.{}`), keeping the literal only as the default when the setting is absent",
            config_key(setting)
        ),
    )
}

/// A plausible configuration key for a setting: `max_connections` for `max_connections`,
/// `pool_max_size` for `PoolConfig::new`.
fn config_key(setting: &str) -> &str {
    match setting.rsplit("::").next() {
        Some("new") => "pool_max_size",
        Some("wait") => "pool_wait_timeout_secs",
        Some("create") => "pool_create_timeout_secs",
        Some("recycle") => "pool_recycle_timeout_secs",
        Some(name) => name,
        None => setting,
    }
}
