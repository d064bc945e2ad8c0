//! `report.html`: one static page per sweep (no JavaScript, inline CSS, relative
//! links) that opens offline from the sweep folder, e.g. straight off a cluster.

use super::plots::data::read_sweep_spec;
use super::summary::read_run;
use crate::results::comparisons_file::{read_comparisons, read_selection, ComparisonRow, COMPARED_SETS};
use crate::results::csv_number;
use crate::results::layout::{PLAN_FILE, PLOTS_DIR, REPORT_FILE, RUNS_DIR, SUMMARY_FILE};
use crate::results::plan::read_plan;
use crate::results::rundir::State;
use crate::results::summary_file::{self, SummaryTable, COUNT_COLUMNS, ENSEMBLE_COLUMNS, METRICS};
use anyhow::{anyhow, bail, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a relative path for `href`/`src` (`/` kept as the separator), so
/// ids with `#`, `?`, `%` or spaces still point at their files.
pub(crate) fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/,=+".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// At most `max` characters of `s`, with an ellipsis where it was cut.
fn short(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

fn link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", escape(&url_path(href)), escape(text))
}

/// The regular files directly in `dir`, sorted by name.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

// Fits a 1400-px window: a smaller font, numbers never wrapped inside a cell, headers
// wrapping at their spaces instead, and a horizontal scroll only as a last resort.
const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;font-size:14px}\
.wide{overflow-x:auto}table{border-collapse:collapse;margin:1em 0;font-size:12px}\
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}\
th{background:#f0f0f0;font-weight:600}td{white-space:nowrap}td.files{white-space:normal}\
tr.best td{background:#fff3b0;font-weight:bold}\
td.num{text-align:right;font-variant-numeric:tabular-nums}\
td .why{display:block;white-space:normal;max-width:40em;font-size:11px;color:#555}\
td .ci{display:block;font-size:11px;color:#555}tr.tied td{background:#fffbe0}\
figure{display:inline-block;margin:0.5em}img{max-width:100%}\
.state-done{color:#1a7f37}.state-diverged,.state-failed{color:#c62828}\
tr.published td:first-child{color:#1f5ac8}tr.selected td:first-child{color:#008c3c;font-weight:bold}";

/// Datasets whose selected configuration the rank section lists (ranks.csv has them all).
const SELECTED_SHOWN: usize = 50;

/// The rank section of a results directory holding several datasets: each entry's average rank,
/// kind, cliques and wins/ties/losses, the Friedman test, the configuration selected on each
/// dataset, what was left out, and the critical-difference diagram at `cd_png` (a path relative
/// to the page) when drawn.
pub(crate) fn rank_section(r: &super::rank::Ranking, cd_png: Option<&str>, html: &mut String) {
    use super::rank::Kind;
    let against = &r.configs[r.against];
    let _ = writeln!(
        html,
        "<p>{} entries ranked over {} datasets (rank 1 = the highest test accuracy; ties share the \
         mean rank). Wins/ties/losses against <b>{}</b>.</p>",
        r.configs.len(),
        r.datasets.len(),
        escape(against)
    );
    match &r.cd {
        Some(cd) => {
            let verdict = if cd.friedman.p < r.alpha { "the entries differ" } else { "no difference shown" };
            let _ = writeln!(
                html,
                "<p>Friedman: χ² = {:.4}, df = {}, p = {:.4} ({verdict} at α {}).</p>",
                cd.friedman.statistic, cd.friedman.df, cd.friedman.p, r.alpha
            );
        }
        None => html.push_str("<p>Friedman: undefined (every dataset ties every entry).</p>\n"),
    }
    html.push_str(
        "<div class=\"wide\"><table>\n<thead><tr><th>entry</th><th>kind</th><th>average rank</th>\
         <th>cliques</th><th>W/T/L</th></tr></thead>\n<tbody>\n",
    );
    let cliques = super::rank::cliques(r);
    for &m in &r.order {
        let member: Vec<String> =
            cliques.iter().enumerate().filter(|(_, c)| c.contains(&m)).map(|(i, _)| (i + 1).to_string()).collect();
        let (w, t, l) = r.wins[m];
        let class = match r.kinds[m] {
            Kind::Configuration => String::new(),
            k => format!(" class=\"{}\"", k.word()),
        };
        let _ = writeln!(
            html,
            "<tr{class}><td>{}</td><td>{}</td><td class=\"num\">{:.3}</td><td>{}</td><td class=\"num\">{w}/{t}/{l}</td></tr>",
            escape(&r.configs[m]),
            r.kinds[m].word(),
            r.average_ranks[m],
            member.join(" ")
        );
    }
    html.push_str("</tbody>\n</table></div>\n");
    if let Some(file) = &r.published {
        let _ = writeln!(html, "<p>Published: the methods of <code>{}</code>.</p>", escape(file));
    }
    if r.kinds.contains(&Kind::Selected) {
        html.push_str(
            "<p><b>selected</b>: on each dataset, the configuration with the best mean validation accuracy \
             (its test accuracy is what the tuned method yields):</p>\n<div class=\"wide\"><table>\n\
             <thead><tr><th>dataset</th><th>selected configuration</th></tr></thead>\n<tbody>\n",
        );
        for (d, c) in r.datasets.iter().zip(&r.selected).take(SELECTED_SHOWN) {
            let _ = writeln!(html, "<tr><td>{}</td><td>{}</td></tr>", escape(d), escape(c.as_deref().unwrap_or("–")));
        }
        html.push_str("</tbody>\n</table></div>\n");
        if r.datasets.len() > SELECTED_SHOWN {
            let _ = writeln!(html, "<p>… and {} more datasets.</p>", r.datasets.len() - SELECTED_SHOWN);
        }
    }
    for l in &r.left_out {
        let _ = writeln!(
            html,
            "<p>Left out: {} (no value in {}).</p>",
            escape(&l.config),
            escape(&l.missing_in.join(", "))
        );
    }
    if !r.datasets_left_out.is_empty() {
        let _ =
            writeln!(html, "<p>Datasets left out (no published row): {}.</p>", escape(&r.datasets_left_out.join(", ")));
    }
    if let Some(src) = cd_png {
        let _ = writeln!(
            html,
            "<figure><img src=\"{}\" alt=\"critical-difference diagram\"><figcaption>critical-difference \
             diagram: average ranks, cliques of entries not shown to differ as bars</figcaption></figure>",
            escape(&url_path(src))
        );
    }
}

/// The ranks across the datasets of `sweep_dir`, when it holds several (its summary.csv has a
/// `dataset` column), with the diagram drawn into `plots/`; nothing for a one-dataset sweep.
fn ranks_section(sweep_dir: &Path, summary: Option<&SummaryTable>, html: &mut String) -> Result<()> {
    use super::rank::{datasets_in, plot_ranking, rank, TEST_METRIC};
    // Reading every run again is only worth it where there is something to rank.
    if !summary.is_some_and(|t| t.axes.iter().any(|h| h == "dataset")) {
        return Ok(());
    }
    html.push_str("<h2>Ranks across datasets</h2>\n");
    let ranking = datasets_in(sweep_dir, TEST_METRIC).map_err(|e| e.to_string()).and_then(|datasets| {
        rank(&datasets, None, None, DEFAULT_ALPHA, crate::stats::ranks::PairTest::Wilcoxon).map_err(|e| e.to_string())
    });
    match ranking {
        Ok(r) => {
            std::fs::create_dir_all(sweep_dir.join(PLOTS_DIR))?;
            plot_ranking(&sweep_dir.join(PLOTS_DIR).join(super::rank::CD_FILE), &r)?;
            rank_section(&r, Some(&format!("{PLOTS_DIR}/{}", super::rank::CD_FILE)), html);
        }
        Err(e) => {
            let _ = writeln!(html, "<p>Not ranked: {}</p>", escape(&e));
        }
    }
    Ok(())
}

/// aeon's significance level for the rank section (as `pinniped rank`'s default).
const DEFAULT_ALPHA: f64 = 0.1;

/// A number to `decimals` places, an empty cell as a dash.
fn number(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.decimals$}"))
}

/// A count as written, an empty cell as nothing.
fn count(v: Option<usize>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// Decimals worth showing for a summary metric.
fn decimals(metric: &str) -> usize {
    match metric {
        "best_epoch" => 1,
        "seconds" => 2,
        _ => 4,
    }
}

/// `[low, high]`, or nothing when either end is empty.
fn interval(low: Option<f64>, high: Option<f64>, decimals: usize) -> Option<String> {
    Some(format!("[{}, {}]", number(Some(low?), decimals), number(Some(high?), decimals)))
}

/// The summary.csv of `sweep_dir` (`results::summary_file`'s reader); `None` when it is not
/// written yet.
fn read_summary_table(sweep_dir: &Path) -> Result<Option<SummaryTable>> {
    let path = sweep_dir.join(SUMMARY_FILE);
    // Unreadable is shown as not written yet: the page is made of what is there.
    let Ok(text) = crate::fsx::read_text(&path, crate::fsx::MAX_TABLE_BYTES) else { return Ok(None) };
    if text.is_empty() {
        return Ok(None);
    }
    summary_file::parse(text.as_bytes())
        .map(Some)
        .map_err(|summary_file::Malformed { line, message }| anyhow!("{}: line {line}: {message}", path.display()))
}

/// The summary table: axis and count columns as they are, each metric's mean and std merged
/// into `mean ± std` with the 95% interval below, the `selected` rows (0-based, below the
/// header: `Records::selected_rows`, the summary's own choice) marked.
fn summary_table(summary: Option<&SummaryTable>, selected: &[usize], html: &mut String) {
    let Some(table) = summary else {
        html.push_str("<p>No <code>summary.csv</code> yet.</p>\n");
        return;
    };
    let rows = &table.rows;
    let best: Vec<usize> = selected.iter().copied().filter(|&r| r < rows.len()).collect();

    html.push_str(
        "<p>Metric columns: mean ± std over each configuration's done runs (<code>n</code>), \
         below it the 95% t interval of the mean.</p>\n",
    );
    html.push_str("<div class=\"wide\"><table>\n<thead><tr>");
    let metrics = METRICS.map(|m| m.replace('_', " "));
    // Spaces let a long metric name wrap in its header, never in its cells.
    let headers = (table.axes.iter().map(String::as_str))
        .chain(COUNT_COLUMNS)
        .chain(metrics.iter().map(String::as_str))
        .chain(ENSEMBLE_COLUMNS);
    for h in headers {
        let _ = write!(html, "<th>{}</th>", escape(h));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    let raw = |html: &mut String, text: &str| {
        let _ = write!(html, "<td>{}</td>", escape(text));
    };
    for (r, row) in rows.iter().enumerate() {
        let class = if best.contains(&r) { " class=\"best\"" } else { "" };
        let _ = write!(html, "<tr{class}>");
        for v in &row.values {
            raw(html, v);
        }
        let m = &row.more;
        for c in [m.runs, Some(row.n), m.failed, m.diverged, m.n] {
            raw(html, &count(c));
        }
        for (k, (metric, stat)) in METRICS.iter().zip(&row.metrics).enumerate() {
            let d = decimals(metric);
            let text = match (stat.mean, stat.std) {
                (None, None) => "–".to_string(),
                (mean, std) => format!("{} ± {}", number(mean, d), number(std, d)),
            };
            let ci = (m.ci.get(k))
                .and_then(|&(low, high)| interval(low, high, d))
                .map_or_else(String::new, |ci| format!("<span class=\"ci\">{}</span>", escape(&ci)));
            let _ = write!(html, "<td class=\"num\">{}{ci}</td>", escape(&text));
        }
        for v in m.ensemble {
            raw(html, &v.map_or_else(String::new, csv_number));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table></div>\n");
    if !best.is_empty() {
        html.push_str(
            "<p>The highlighted row is the configuration selected by validation accuracy \
             (highest <code>final_valid_acc_mean</code>; one per dataset); test accuracy is reported \
             for it, never used to choose.</p>\n",
        );
    } else {
        html.push_str("<p>No configuration has a validation accuracy to select by.</p>\n");
    }
}

/// The comparisons table (comparisons.csv): each configuration against the reference on
/// validation and test accuracy; rows not distinguishable from the best are shaded.
fn comparisons_table(path: &Path, html: &mut String) -> Result<()> {
    let Some(rows) = read_comparisons(path)? else {
        html.push_str("<p>No <code>comparisons.csv</code> yet.</p>\n");
        return Ok(());
    };
    let first = rows.first();
    let text = |f: fn(&ComparisonRow) -> &str| first.map_or("", f);
    let _ = writeln!(
        html,
        "<p>Each configuration against <b>{}</b> ({}; {}): mean difference (configuration − reference) \
         with its 95% interval, two-sided p, Holm-adjusted p across the rows, Wilcoxon signed-rank p \
         (paired only) and P(A &gt; B), the share of repeats the configuration wins. Shaded: not \
         distinguishable from the best by validation (Holm-adjusted p ≥ 0.05 against it).</p>",
        escape(text(|r| &r.reference)),
        escape(text(|r| &r.pairing)),
        escape(text(|r| &r.test))
    );
    html.push_str("<div class=\"wide\"><table>\n<thead><tr><th>config</th><th>n</th>");
    for set in COMPARED_SETS {
        let _ = write!(
            html,
            "<th>{set} pairs</th><th>Δ {set} acc [95% CI]</th><th>{set} p</th><th>{set} Holm p</th>\
             <th>{set} Wilcoxon p</th><th>{set} P(A&gt;B)</th>"
        );
    }
    html.push_str("<th>like the best</th></tr></thead>\n<tbody>\n");
    for row in &rows {
        let mark = row.indistinguishable_from_best.as_str();
        let class = match mark {
            "best" => " class=\"best\"",
            "yes" => " class=\"tied\"",
            _ => "",
        };
        let _ =
            write!(html, "<tr{class}><td>{}</td><td class=\"num\">{}</td>", escape(&row.config), escape(&count(row.n)));
        for set in &row.sets {
            let diff = match (set.diff, interval(set.diff_ci_low, set.diff_ci_high, 4)) {
                (None, _) => "–".to_string(),
                (d, Some(ci)) => format!("{} {ci}", number(d, 4)),
                (d, None) => number(d, 4),
            };
            let _ = write!(
                html,
                "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
                escape(&count(set.pairs)),
                escape(&diff)
            );
            for p in [set.p, set.p_holm, set.wilcoxon_p, set.p_a_beats_b] {
                let _ = write!(html, "<td class=\"num\">{}</td>", escape(&number(p, 4)));
            }
        }
        let _ = writeln!(html, "<td>{}</td></tr>", escape(mark));
    }
    html.push_str("</tbody>\n</table></div>\n");
    Ok(())
}

/// The whole-procedure estimate (selection.csv): each repeat's choice by validation and
/// the mean test accuracy of those choices.
fn selection_table(path: &Path, html: &mut String) -> Result<()> {
    let Some(s) = read_selection(path)? else {
        html.push_str("<p>No <code>selection.csv</code> yet.</p>\n");
        return Ok(());
    };
    let estimate = match s.test_mean {
        Some(m) => {
            let ci = interval(s.test_ci.0, s.test_ci.1, 4).map_or_else(String::new, |ci| format!(" {ci}"));
            format!("test accuracy <b>{}</b>{}", number(Some(m), 4), escape(&ci))
        }
        None => "no test accuracy to estimate".into(),
    };
    let _ = writeln!(
        html,
        "<p>What tuning with this sweep yields: on each repeat, the configuration best on that \
         repeat's validation accuracy, and its test accuracy on the same repeat (Bouthillier et al. \
         2021). Over {} repeats: {estimate} (mean and 95% t interval).</p>",
        s.n.unwrap_or(0)
    );
    html.push_str(
        "<div class=\"wide\"><table>\n<thead><tr><th>repeat</th><th>chosen</th><th>valid acc</th>\
         <th>test acc</th></tr></thead>\n<tbody>\n",
    );
    for p in &s.picks {
        let _ = writeln!(
            html,
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            p.repeat,
            escape(&p.config),
            escape(&number(p.valid, 4)),
            escape(&number(p.test, 4))
        );
    }
    html.push_str("</tbody>\n</table></div>\n");
    Ok(())
}

/// Writes `sweep_dir/report.html` and returns its path. It shows what is there: draw
/// the plots first (`plot_sweep`, and `plot_run` per run) to have them on the page.
/// `selected`: the summary.csv rows of the configurations selected by validation
/// (`Records::selected_rows`), highlighted.
pub(crate) fn write_report(sweep_dir: &Path, selected: &[usize]) -> Result<PathBuf> {
    if !sweep_dir.is_dir() {
        bail!("{} is not a sweep directory", sweep_dir.display());
    }
    let spec = read_sweep_spec(sweep_dir);
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| sweep_dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()));
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{} — pinniped sweep report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Sweep {}</h1>\n",
        escape(&name),
        escape(&name)
    );
    if let Some(design) = &spec.design {
        let axes: Vec<String> = spec.axes.iter().map(|(k, v)| format!("{k} ∈ {{{}}}", v.join(", "))).collect();
        if axes.is_empty() {
            // Sampled, list and block designs: their points are the summary's rows.
            let _ = writeln!(html, "<p>Design: {}.</p>", escape(design));
        } else {
            let _ = writeln!(html, "<p>Design: {}; axes: {}.</p>", escape(design), escape(&axes.join("; ")));
        }
    }

    html.push_str("<h2>Summary</h2>\n");
    let summary = read_summary_table(sweep_dir)?;
    summary_table(summary.as_ref(), selected, &mut html);
    html.push_str("<h2>Comparisons</h2>\n");
    comparisons_table(&sweep_dir.join(super::comparisons::COMPARISONS_FILE), &mut html)?;
    html.push_str("<h2>The whole procedure</h2>\n");
    selection_table(&sweep_dir.join(super::comparisons::SELECTION_FILE), &mut html)?;
    super::importance::html_section(sweep_dir, &mut html);
    ranks_section(sweep_dir, summary.as_ref(), &mut html)?;

    html.push_str("<h2>Plots</h2>\n");
    // importance.png and cd-diagram.png have their own sections.
    let plots: Vec<String> = files_in(&sweep_dir.join(PLOTS_DIR))
        .into_iter()
        .filter(|f| f.ends_with(".png") && f != super::plots::importance::IMPORTANCE_PNG && f != super::rank::CD_FILE)
        .collect();
    let several_datasets = summary.as_ref().is_some_and(|t| t.axes.first().is_some_and(|h| h == "dataset"));
    if plots.is_empty() && several_datasets {
        // Curves averaged over datasets would mean nothing: the ranks above compare them.
        html.push_str("<p>No per-axis sweep plots for a sweep over several datasets: see the ranks above.</p>\n");
    } else if plots.is_empty() {
        html.push_str("<p>No sweep plots yet.</p>\n");
    }
    for p in &plots {
        let src = escape(&url_path(&format!("{PLOTS_DIR}/{p}")));
        let _ = writeln!(
            html,
            "<figure><img src=\"{src}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
            escape(p),
            escape(p)
        );
    }

    html.push_str("<h2>Runs</h2>\n");
    let plan = read_plan(&sweep_dir.join(PLAN_FILE))?;
    let ids: Vec<String> = plan.map(|p| p.runs.into_iter().map(|r| r.id).collect()).unwrap_or_default();
    if ids.is_empty() {
        html.push_str("<p>No <code>plan.csv</code>: no runs to list.</p>\n");
    } else {
        html.push_str(
            "<div class=\"wide\"><table>\n<thead><tr><th>Run</th><th>State</th><th>Epoch</th>\
             <th>train acc</th><th>valid acc</th><th>test acc</th><th>Files</th><th>Plots</th></tr></thead>\n<tbody>\n",
        );
        for id in &ids {
            let rel = format!("{RUNS_DIR}/{id}");
            let dir = sweep_dir.join(&rel);
            let run = if dir.is_dir() { link(&format!("{rel}/"), id) } else { escape(id) };
            // The run's result as summary.csv reads it (the kept model's accuracies).
            let record = read_run(&dir);
            let state = record.state.map_or("not run", |s| s.word());
            let why = if record.message.is_empty() {
                String::new()
            } else {
                format!("<span class=\"why\">{}</span>", escape(&short(&record.message, 300)))
            };
            let epoch = record.epoch.filter(|_| record.state.is_some()).map_or("–".into(), |e| e.to_string());
            let accs: Vec<String> = record
                .final_accs
                .iter()
                .map(|(_, a)| {
                    let text =
                        a.filter(|_| record.state == Some(State::Done)).map_or("–".into(), |a| format!("{a:.4}"));
                    format!("<td class=\"num\">{text}</td>")
                })
                .collect();
            let files: Vec<String> = files_in(&dir).iter().map(|f| link(&format!("{rel}/{f}"), f)).collect();
            let plots: Vec<String> = files_in(&dir.join(PLOTS_DIR))
                .iter()
                .filter(|f| f.ends_with(".png"))
                .map(|f| link(&format!("{rel}/{PLOTS_DIR}/{f}"), f.trim_end_matches(".png")))
                .collect();
            let _ = writeln!(
                html,
                "<tr><td>{run}</td><td class=\"state-{}\">{}{why}</td><td class=\"num\">{epoch}</td>{}\
                 <td class=\"files\">{}</td><td class=\"files\">{}</td></tr>",
                state.replace(' ', ""),
                escape(state),
                accs.concat(),
                files.join(" "),
                plots.join(" ")
            );
        }
        html.push_str("</tbody>\n</table></div>\n");
    }
    html.push_str("</body>\n</html>\n");

    let out = sweep_dir.join(REPORT_FILE);
    // Atomic: a symlink planted at report.html is replaced, never written through.
    crate::results::atomic::write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plots::fixture::write_sweep;
    use crate::report::plots::plot_run;
    use crate::report::plots::sweep::plot_sweep;

    /// Every opened tag is closed, in order (void tags excepted); returns the tags seen.
    fn check_balanced(html: &str) -> Vec<String> {
        const VOID: [&str; 3] = ["meta", "img", "br"];
        let mut stack: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let end = rest.find('>').expect("every < has its >");
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if tag.starts_with('!') {
                continue;
            }
            let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            assert!(!name.is_empty(), "bad tag <{tag}>");
            seen.push(name.clone());
            if tag.starts_with('/') {
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "unbalanced </{name}>");
            } else if !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        seen
    }

    fn percent_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// Every `href="…"` and `src="…"` value, unescaped.
    fn links(html: &str) -> Vec<String> {
        let mut out = Vec::new();
        for attr in ["href=\"", "src=\""] {
            let mut rest = html;
            while let Some(i) = rest.find(attr) {
                rest = &rest[i + attr.len()..];
                let end = rest.find('"').unwrap();
                out.push(rest[..end].replace("&amp;", "&"));
                rest = &rest[end..];
            }
        }
        out
    }

    #[test]
    fn report_is_balanced_escaped_and_links_only_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let sweep = dir.path();
        // Sweep names are safe directory names; text from the runs reaches the page too.
        write_sweep(sweep, "escaped");
        let diverged = sweep.join("runs/momentum=0.9/rep-2/status.json");
        std::fs::write(&diverged, "{\"state\": \"diverged\", \"message\": \"<script>alert(1)</script>\"}\n").unwrap();
        plot_sweep(sweep).unwrap();
        plot_run(&sweep.join("runs/baseline/rep-1")).unwrap();
        // The fixture's best final_valid_acc_mean is its third row (momentum 0.9: 0.7).
        let path = write_report(sweep, &[2]).unwrap();
        assert_eq!(path, sweep.join("report.html"));
        let html = std::fs::read_to_string(&path).unwrap();

        assert!(!html.to_lowercase().contains("<script"), "unescaped name");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let tags = check_balanced(&html);
        for t in ["html", "head", "body", "table", "img", "a"] {
            assert!(tags.iter().any(|s| s == t), "no <{t}>");
        }

        let links = links(&html);
        assert!(links.iter().any(|l| l == "plots/axis-momentum-error.png"));
        assert!(links.iter().any(|l| l == "runs/baseline/rep-1/plots/error.png"));
        assert!(links.iter().any(|l| l == "runs/momentum=0.9/rep-2/metrics.csv"));
        for l in &links {
            assert!(!l.starts_with('/') && !l.contains("://") && !l.contains(".."), "not relative: {l}");
            let target = sweep.join(percent_decode(l));
            assert!(target.exists(), "dangling link {l}");
        }
        // Run plots that were never drawn are not linked.
        assert!(!links.iter().any(|l| l.starts_with("runs/baseline/rep-2/plots/")));

        // The best final_valid_acc_mean row (momentum 0.9: 0.7) is the highlighted one.
        assert_eq!(html.matches("<tr class=\"best\">").count(), 1);
        let best = html.split("<tr class=\"best\">").nth(1).unwrap();
        assert!(best.starts_with("<td>160</td><td>0.9</td>"), "{}", &best[..60]);
        assert!(html.contains("selected by validation accuracy"));
        assert!(html.contains("0.7000 ± 0.0200"));
    }

    #[test]
    fn comparisons_and_the_whole_procedure_show_their_files_rows_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let sweep = dir.path();
        write_sweep(sweep, "s");
        let header = crate::report::comparisons::comparisons_header().join(",");
        let cells = |config: &str, p: &str, mark: &str| {
            let stats = format!("3,0.01,0.001,0.02,{p},{p},0.25,0.75");
            format!("{config},baseline,paired,paired t,3,3,{stats},{stats},{mark}")
        };
        let rows =
            [cells("baseline", "", "best"), cells("\"a=<b>,c=1\"", "0.5", "yes"), cells("momentum=0.9", "0.001", "no")];
        std::fs::write(sweep.join("comparisons.csv"), format!("{header}\n{}\n", rows.join("\n"))).unwrap();
        std::fs::write(
            sweep.join("selection.csv"),
            "repeat,config,final_valid_acc,final_test_acc\n1,\"a=<b>,c=1\",0.6,0.5\n2,baseline,0.7,0.3\n\
             n,,2,2\nmean,,0.65,0.4\nci_low,,,-0.87\nci_high,,,1.67\n",
        )
        .unwrap();
        let html = std::fs::read_to_string(write_report(sweep, &[]).unwrap()).unwrap();
        check_balanced(&html);
        assert!(!html.contains("<b>,c=1"), "unescaped id");
        assert!(html.contains("<td>a=&lt;b&gt;,c=1</td>"), "the id, escaped, in both tables");
        assert_eq!(html.matches("<tr class=\"tied\">").count(), 1, "one configuration like the best");
        assert!(html.contains("0.0100 [0.0010, 0.0200]"), "difference with its interval");
        assert!(html.contains("Over 2 repeats: test accuracy <b>0.4000</b> [-0.8700, 1.6700]"), "the estimate");
        assert_eq!(html.matches("<tr><td class=\"num\">").count(), 2, "one row per repeat, no statistics rows");
    }

    #[test]
    fn report_of_a_bare_directory_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let html = std::fs::read_to_string(write_report(dir.path(), &[]).unwrap()).unwrap();
        check_balanced(&html);
        assert!(html.contains("No <code>summary.csv</code> yet."));
        assert!(links(&html).is_empty());
        assert!(write_report(&dir.path().join("absent"), &[]).is_err());
    }

    #[test]
    fn the_rank_section_shows_every_entry_best_first_with_its_kind_and_the_diagram() {
        use crate::report::rank::{rank, Dataset, Selected};
        let dataset = |name: &str, accs: [f64; 3], pick: usize| Dataset {
            name: name.into(),
            dir: name.into(),
            accuracy: ["h=8", "h=<64>", "h=256"].iter().map(|c| c.to_string()).zip(accs.map(Some)).collect(),
            selected: Some(Selected { config: ["h=8", "h=<64>", "h=256"][pick].into(), accuracy: Some(accs[pick]) }),
        };
        let datasets = [
            dataset("GunPoint", [0.9, 0.8, 0.7], 0),
            dataset("ArrowHead", [0.6, 0.7, 0.5], 2),
            dataset("Coffee", [0.1; 3], 0),
        ];
        let published = crate::report::published::parse_published(
            Path::new("fawaz2019.csv"),
            b"dataset,MLP\nGunPoint,0.95\nArrowHead,0.75\n",
        )
        .unwrap();
        let r = rank(&datasets, Some(&published), None, 0.1, crate::stats::ranks::PairTest::Wilcoxon).unwrap();
        let mut html = String::from("<div>");
        rank_section(&r, Some("plots/cd-diagram.png"), &mut html);
        html.push_str("</div>");
        check_balanced(&html);
        let rows: Vec<&str> = html.split("<tr").skip(2).map(|row| row.split("</tr>").next().unwrap()).collect();
        // Best first: MLP 1, h=8 2.75, h=<64> 3, selected 3.5, h=256 4.75.
        let names: Vec<&str> =
            rows[..5].iter().map(|row| row.split("<td>").nth(1).unwrap().split("</td>").next().unwrap()).collect();
        let want: Vec<String> = r.order.iter().map(|&m| escape(&r.configs[m])).collect();
        assert_eq!(names, want);
        assert_eq!(r.configs[r.order[0]], "MLP");
        assert!(
            rows[0].starts_with(" class=\"published\"><td>MLP</td><td>published</td><td class=\"num\">1.000</td>"),
            "{}",
            rows[0]
        );
        assert!(html.contains("<tr class=\"selected\"><td>selected</td><td>selected</td>"), "{html}");
        assert!(html.contains("<td>h=&lt;64&gt;</td>") && !html.contains("<64>"), "escaped ids");
        assert!(html.contains("Friedman: χ² = "), "{html}");
        assert!(html.contains("Wins/ties/losses against <b>MLP</b>"), "{html}");
        assert!(html.contains("<tr><td>ArrowHead</td><td>h=256</td></tr>"), "the selected configuration per dataset");
        assert!(html.contains("Datasets left out (no published row): Coffee."), "{html}");
        assert!(html.contains("<code>fawaz2019.csv</code>"));
        assert_eq!(links(&html), ["plots/cd-diagram.png"]);
    }

    #[test]
    fn the_selected_rows_given_are_the_highlighted_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.csv");
        std::fs::write(
            &path,
            crate::report::plots::fixture::summary_text(
                &["dataset", "hidden"],
                &[
                    (&["A", "8"], 0.5),
                    (&["A", "16"], 0.7),
                    (&["B", "8"], 0.4),
                    (&["B", "16"], 0.3),
                    (&["B", "32"], 0.4),
                ],
            ),
        )
        .unwrap();
        let mut html = String::new();
        // The rows `Records::selected_rows` gives (A: 16; B: 8), whatever the text says.
        let table = summary_file::parse(std::fs::read_to_string(&path).unwrap().as_bytes()).unwrap();
        summary_table(Some(&table), &[1, 2], &mut html);
        let rows: Vec<&str> = html.split("<tr").skip(2).collect();
        let marked: Vec<bool> = rows.iter().map(|r| r.starts_with(" class=\"best\"")).collect();
        assert_eq!(marked, [false, true, true, false, false], "{html}");
    }

    #[test]
    fn a_one_dataset_report_has_no_rank_section() {
        let dir = tempfile::tempdir().unwrap();
        write_sweep(dir.path(), "s");
        let html = std::fs::read_to_string(write_report(dir.path(), &[]).unwrap()).unwrap();
        assert!(!html.contains("Ranks across datasets"));
        assert!(!dir.path().join("plots/cd-diagram.png").exists());
    }

    #[test]
    fn escaping_and_urls() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(url_path("runs/a b#c?d%/rep-1"), "runs/a%20b%23c%3Fd%25/rep-1");
        assert_eq!(url_path("runs/batch_size=40,m=0.5/rep-1"), "runs/batch_size=40,m=0.5/rep-1");
    }
}
