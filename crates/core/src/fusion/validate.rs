//! Checks of `[[rules]]` against the rest of the config: ids, sources, conditions,
//! durations and actions. Errors are (field path, message, hint), located by the caller.

use std::collections::HashSet;

use crate::config::Config;
use crate::fusion::config::{ActionConfig, CondConfig};
use crate::fusion::rule::Rule;
use crate::fusion::webhook::split_url;

type Problem = (String, String, Option<String>);

/// Longest `post_s` a rule's clip may ask for (the recorder's limit).
const MAX_POST_S: f64 = 120.0;

pub(crate) fn rules(config: &Config) -> Result<(), Problem> {
    let mut ids = HashSet::new();
    for (i, r) in config.rules.iter().enumerate() {
        let at = |f: &str| {
            if f.is_empty() {
                format!("rules[{i}]")
            } else {
                format!("rules[{i}].{f}")
            }
        };
        if !ids.insert(r.id.as_str()) {
            return Err((at("id"), format!("duplicate rule id `{}`", r.id), None));
        }
        if let Some(s) = &r.source
            && !config.sources.iter().any(|x| &x.id == s)
        {
            let hint =
                crate::registry::did_you_mean(s, config.sources.iter().map(|x| x.id.as_str()))
                    .map(|k| format!("did you mean `{k}`?"));
            return Err((at("source"), format!("no source `{s}`"), hint));
        }
        Rule::compile(r).map_err(|(p, m)| (at(&p), m, None))?;
        let source_ids: Vec<&str> = config.sources.iter().map(|x| x.id.as_str()).collect();
        for (key, c) in [
            ("when", Some(&r.when)),
            ("clear_when", r.clear_when.as_ref()),
        ] {
            if let Some((path, s)) = c.and_then(|c| unknown_source(c, key, &source_ids)) {
                let hint = crate::registry::did_you_mean(&s, source_ids.iter().copied())
                    .map(|k| format!("did you mean `{k}`?"));
                return Err((at(&path), format!("no source `{s}`"), hint));
            }
        }
        for (k, a) in r.actions.iter().enumerate() {
            let here = |f: &str| at(&format!("actions[{k}].{f}"));
            match a {
                ActionConfig::SaveClip(c) => {
                    let src = c.source.as_deref().or(r.source.as_deref());
                    let sources: Vec<_> = match src {
                        Some(s) => match config.sources.iter().find(|x| x.id == s) {
                            Some(x) => vec![x],
                            None => {
                                return Err((
                                    here("save_clip.source"),
                                    format!("no source `{s}`"),
                                    None,
                                ));
                            }
                        },
                        None => config.sources.iter().collect(),
                    };
                    if let Some(x) = sources.iter().find(|x| !x.clips) {
                        return Err((
                            here("save_clip"),
                            format!("source `{}` keeps no clip ring", x.id),
                            Some(format!("set `clips = true` on source `{}`", x.id)),
                        ));
                    }
                    let max = config.runtime.clip_pre_s;
                    if !(0.0..=max).contains(&c.pre_s) {
                        return Err((
                            here("save_clip.pre_s"),
                            format!("{} is out of range 0..={max} (runtime.clip_pre_s)", c.pre_s),
                            None,
                        ));
                    }
                    if !(0.0..=MAX_POST_S).contains(&c.post_s) {
                        return Err((
                            here("save_clip.post_s"),
                            format!("{} is out of range 0..={MAX_POST_S}", c.post_s),
                            None,
                        ));
                    }
                }
                ActionConfig::Webhook(w) => {
                    split_url(&w.url).map_err(|m| (here("webhook.url"), m, None))?;
                    if w.attempts == 0 || w.attempts > 20 {
                        return Err((
                            here("webhook.attempts"),
                            "must be within 1..=20".into(),
                            None,
                        ));
                    }
                }
                ActionConfig::Command(c) => {
                    if c.target.is_empty() || c.cmd.is_empty() {
                        return Err((
                            here("command"),
                            "`target` and `cmd` must not be empty".into(),
                            None,
                        ));
                    }
                }
                ActionConfig::Notify(_) => {}
            }
        }
    }
    Ok(())
}

/// The path (from `at`) and id of the first cross-source condition under `c` that names a
/// source the config does not have.
fn unknown_source(c: &CondConfig, at: &str, ids: &[&str]) -> Option<(String, String)> {
    if let Some(s) = &c.source
        && !ids.contains(&s.as_str())
    {
        return Some((format!("{at}.source"), s.clone()));
    }
    let lists = [("all", c.all.as_deref()), ("any", c.any.as_deref())];
    for (key, list) in lists {
        for (i, c) in list.unwrap_or_default().iter().enumerate() {
            if let Some(found) = unknown_source(c, &format!("{at}.{key}[{i}]"), ids) {
                return Some(found);
            }
        }
    }
    c.not
        .as_deref()
        .and_then(|c| unknown_source(c, &format!("{at}.not"), ids))
}
