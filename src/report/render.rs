//! Reports as people and spreadsheets read them: plain-text tables and CSV.

use std::fmt;

use chrono::Duration;

use super::{DurationStats, Report};
use crate::severity::Severity;

/// A figure's value, typed so it can be written for people or for machines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value {
    /// A number of things, with the unit's name for CSV.
    Count(usize, &'static str),
    /// A duration; `None` if there was nothing to measure.
    Time(Option<Duration>),
    /// A share in percent; `None` if the share is of nothing.
    Percent(Option<f64>),
    /// A satisfaction score 1–5; `None` without responses.
    Score(Option<f64>),
}

impl Value {
    /// For people: `45 min`, `95%`, `4.6 / 5`, `—` when there is no value.
    pub(super) fn human(self) -> String {
        match self {
            Value::Count(n, _) => n.to_string(),
            Value::Time(Some(d)) => human_duration(d),
            Value::Percent(Some(p)) => human_percent(p),
            Value::Score(Some(s)) => format!("{s:.1} / 5"),
            Value::Time(None) | Value::Percent(None) | Value::Score(None) => "—".into(),
        }
    }

    /// For machines: whole seconds, percent to two decimals, empty when there is no value.
    pub(super) fn machine(self) -> String {
        match self {
            Value::Count(n, _) => n.to_string(),
            Value::Time(d) => d.map(|d| d.num_seconds().to_string()).unwrap_or_default(),
            Value::Percent(p) | Value::Score(p) => p.map(|p| format!("{p:.2}")).unwrap_or_default(),
        }
    }

    /// The unit, for CSV.
    pub(super) fn unit(self) -> &'static str {
        match self {
            Value::Count(_, unit) => unit,
            Value::Time(_) => "seconds",
            Value::Percent(_) => "percent",
            Value::Score(_) => "score (1-5)",
        }
    }
}

/// One row of a report: a figure's name for CSV, its label for the table, its value and the
/// basis it was computed on.
struct Line {
    figure: String,
    label: String,
    value: Value,
    /// Index into the report's bases; the first line of each group shows it as a note.
    basis: usize,
    /// A row-specific basis for CSV (one breach, one follow-up), instead of the group's.
    detail: Option<String>,
}

/// Builds the lines of a report and the bases they refer to.
struct Lines<'r> {
    lines: Vec<Line>,
    bases: Vec<&'r str>,
}

impl<'r> Lines<'r> {
    fn group(&mut self, basis: &'r str) {
        self.bases.push(basis);
    }

    fn push(&mut self, figure: impl Into<String>, label: impl Into<String>, value: Value) {
        self.lines.push(Line {
            figure: figure.into(),
            label: label.into(),
            value,
            basis: self.bases.len() - 1,
            detail: None,
        });
    }

    fn detail(&mut self, figure: &str, label: String, value: Value, detail: String) {
        self.push(figure, label, value);
        if let Some(last) = self.lines.last_mut() {
            last.detail = Some(detail);
        }
    }

    fn stats(&mut self, figure: &str, label: &str, stats: &DurationStats, clock: &str) {
        for (name, value) in [
            ("mean", stats.mean),
            ("median", stats.median),
            ("p90", stats.p90),
        ] {
            let suffix = if clock.is_empty() {
                String::new()
            } else {
                format!(", {clock}")
            };
            let machine_clock = if clock.is_empty() {
                "wall clock"
            } else {
                clock
            };
            self.push(
                format!("{figure} {name} ({machine_clock})"),
                format!("  {label}{name}{suffix}"),
                Value::Time(value),
            );
        }
    }
}

/// The unit of incident counts, for CSV.
const INCIDENTS: &str = "incidents";

/// The report's lines, section by section, in the order the table and CSV show them.
fn lines(r: &Report) -> Lines<'_> {
    let mut l = Lines {
        lines: Vec::new(),
        bases: Vec::new(),
    };
    opened_lines(&mut l, r);
    acknowledge_lines(&mut l, r);
    resolve_lines(&mut l, r);
    sla_lines(&mut l, r);
    breach_lines(&mut l, r);
    recurrence_lines(&mut l, r);
    follow_up_lines(&mut l, r);
    satisfaction_lines(&mut l, r);
    l
}

/// Incidents opened, by severity, service and source, and those still open.
fn opened_lines<'a>(l: &mut Lines<'a>, r: &'a Report) {
    let v = &r.opened;
    l.group(&v.basis);
    l.push(
        "incidents opened",
        "Incidents opened",
        Value::Count(v.total, INCIDENTS),
    );
    for severity in Severity::ALL {
        let n = v.by_severity.get(&severity).copied().unwrap_or(0);
        l.push(
            format!("incidents opened: {severity}"),
            format!("  {severity}"),
            Value::Count(n, INCIDENTS),
        );
    }
    for (service, n) in &v.by_service {
        l.push(
            format!("incidents opened for service {service}"),
            format!("  service: {service}"),
            Value::Count(*n, INCIDENTS),
        );
    }
    for (source, n) in &v.by_source {
        l.push(
            format!("incidents opened from {source}"),
            format!("  from {source}"),
            Value::Count(*n, INCIDENTS),
        );
    }
    l.push(
        "still open at the window's end",
        "  still open at the end",
        Value::Count(v.still_open, INCIDENTS),
    );
}

/// Time to acknowledge: incidents measured, the statistics, exclusions.
fn acknowledge_lines<'a>(l: &mut Lines<'a>, r: &'a Report) {
    let a = &r.time_to_acknowledge;
    l.group(&a.basis);
    l.push(
        "time to acknowledge: incidents measured",
        "Time to acknowledge (MTTA), measured",
        Value::Count(a.wall_clock.count, INCIDENTS),
    );
    l.stats("time to acknowledge", "", &a.wall_clock, "");
    l.stats(
        "time to acknowledge",
        "",
        &a.business_hours,
        "business hours",
    );
    for e in &a.excluded {
        l.push(
            format!("time to acknowledge excluded: {}", e.reason),
            format!("  excluded: {}", e.reason),
            Value::Count(e.count, INCIDENTS),
        );
    }
}

/// Time to resolve: incidents measured, the statistics (also with false alarms and
/// duplicates), reopened ones, exclusions.
fn resolve_lines<'a>(l: &mut Lines<'a>, r: &'a Report) {
    let t = &r.time_to_resolve;
    l.group(&t.basis);
    l.push(
        "time to resolve: incidents measured",
        "Time to resolve (MTTR), measured",
        Value::Count(t.wall_clock.count, INCIDENTS),
    );
    l.stats("time to resolve", "", &t.wall_clock, "");
    l.stats("time to resolve", "", &t.business_hours, "business hours");
    l.push(
        "time to resolve including false alarms and duplicates: incidents measured",
        "  including false alarms and duplicates, measured",
        Value::Count(t.including_false_alarms_and_duplicates.count, INCIDENTS),
    );
    l.stats(
        "time to resolve including false alarms and duplicates",
        "  ",
        &t.including_false_alarms_and_duplicates,
        "",
    );
    l.push(
        "time to resolve: reopened and resolved again",
        "  reopened and resolved again",
        Value::Count(t.reopened, INCIDENTS),
    );
    for e in &t.excluded {
        l.push(
            format!("time to resolve excluded: {}", e.reason),
            format!("  excluded: {}", e.reason),
            Value::Count(e.count, INCIDENTS),
        );
    }
}

/// SLA compliance, one group per target.
fn sla_lines<'a>(l: &mut Lines<'a>, r: &'a Report) {
    for s in &r.sla {
        l.group(&s.basis);
        let name = format!("SLA {}", s.target);
        l.push(
            format!("{name}: met share"),
            format!("SLA {}: met", s.target),
            Value::Percent(s.percent_met),
        );
        for (what, n) in [
            ("incidents with the target", s.incidents),
            ("met", s.met),
            ("breached", s.breached),
            ("on track at the end", s.on_track),
            ("at risk at the end", s.at_risk),
            ("paused at the end", s.paused),
            ("without the target", s.without_target),
        ] {
            l.push(
                format!("{name}: {what}"),
                format!("  {what}"),
                Value::Count(n, INCIDENTS),
            );
        }
    }
}

/// SLA breaches: the count, then one detail line per breach.
fn breach_lines<'a>(l: &mut Lines<'a>, r: &'a Report) {
    let b = &r.breaches;
    l.group(&b.basis);
    l.push(
        "SLA breaches",
        "SLA breaches",
        Value::Count(b.items.len(), "breaches"),
    );
    for breach in &b.items {
        l.detail(
            "SLA breach",
            format!(
                "  {}: {} took (limit {})",
                breach.title,
                breach.target,
                human_duration(breach.limit)
            ),
            Value::Time(Some(breach.elapsed)),
            format!(
                "Incident {} \"{}\" ({}, {}), opened {}: {} reached {} against a limit of {}.",
                breach.incident,
                breach.title,
                breach.severity,
                breach.service,
                breach.opened_at.format("%Y-%m-%d %H:%M UTC"),
                breach.target,
                human_duration(breach.elapsed),
                human_duration(breach.limit),
            ),
        );
    }
}

/// Recurrences and their share of incidents opened.
fn recurrence_lines<'a>(l: &mut Lines<'a>, r: &'a Report) {
    let c = &r.recurrence;
    l.group(&c.basis);
    l.push(
        "recurrences",
        "Recurrences",
        Value::Count(c.recurrences, INCIDENTS),
    );
    l.push(
        "recurrence rate",
        "  share of incidents opened",
        Value::Percent(c.percent),
    );
}

/// Overdue follow-ups: the count, those due, then one detail line per overdue one.
fn follow_up_lines<'a>(l: &mut Lines<'a>, r: &'a Report) {
    let o = &r.overdue_follow_ups;
    l.group(&o.basis);
    l.push(
        "overdue follow-ups",
        "Overdue follow-ups",
        Value::Count(o.items.len(), "follow-ups"),
    );
    l.push(
        "follow-ups due by the window's end",
        "  of follow-ups due by the end",
        Value::Count(o.due, "follow-ups"),
    );
    for f in &o.items {
        let overdue = r.window.until() - f.due;
        l.detail(
            "overdue follow-up: overdue by",
            format!(
                "  {} ({}, due {}), overdue by",
                f.title,
                f.owner,
                f.due.format("%Y-%m-%d %H:%M")
            ),
            Value::Time(Some(Duration::seconds(overdue.num_seconds()))),
            format!(
                "Follow-up {} \"{}\" of incident {} \"{}\", owner {}, due {}: not done at the \
                 window's end.",
                f.number,
                f.title,
                f.incident,
                f.incident_title,
                f.owner,
                f.due.format("%Y-%m-%d %H:%M UTC"),
            ),
        );
    }
}

/// Customer feedback: responses, average score, share satisfied.
fn satisfaction_lines<'a>(l: &mut Lines<'a>, r: &'a Report) {
    let s = &r.satisfaction;
    l.group(&s.basis);
    l.push(
        "satisfaction responses",
        "Customer feedback responses",
        Value::Count(s.responses, "responses"),
    );
    l.push(
        "average satisfaction",
        "  average score",
        Value::Score(s.average),
    );
    l.push(
        "satisfied customers (score 4-5)",
        "  satisfied (4 or 5)",
        Value::Percent(s.percent_satisfied),
    );
}

pub(super) fn report_table(r: &Report, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let l = lines(r);
    write!(f, "Incident report: {}", r.window)?;
    if r.as_of < r.window.until() {
        write!(
            f,
            " (in progress: as of {})",
            r.as_of.format("%Y-%m-%d %H:%M UTC")
        )?;
    }
    writeln!(f)?;
    writeln!(f)?;
    let mut shown = usize::MAX;
    let rows: Vec<Vec<String>> = l
        .lines
        .iter()
        .map(|line| {
            let note = if line.basis == shown {
                String::new()
            } else {
                shown = line.basis;
                format!("[{}]", line.basis + 1)
            };
            vec![line.label.clone(), line.value.human(), note]
        })
        .collect();
    table(
        f,
        &["Figure", "Value", "Note"],
        &[false, true, false],
        &rows,
    )?;
    writeln!(f)?;
    writeln!(f, "How each figure was computed:")?;
    for (i, basis) in l.bases.iter().enumerate() {
        wrapped(f, &format!("[{}] ", i + 1), basis)?;
    }
    if !r.caveats.is_empty() {
        writeln!(f)?;
        writeln!(f, "Caveats:")?;
        for caveat in &r.caveats {
            wrapped(f, "- ", caveat)?;
        }
    }
    Ok(())
}

pub(super) fn report_csv(r: &Report) -> String {
    let l = lines(r);
    let mut out = String::from("figure,value,unit,basis\r\n");
    for line in &l.lines {
        let basis = line.detail.as_deref().unwrap_or(l.bases[line.basis]);
        csv_row(
            &mut out,
            &[
                &text_field(&line.figure),
                &line.value.machine(),
                line.value.unit(),
                &text_field(basis),
            ],
        );
    }
    for caveat in &r.caveats {
        csv_row(&mut out, &["caveat", "", "", &text_field(caveat)]);
    }
    out
}

/// Appends one CSV record: fields quoted when they hold a comma, a quote or a line break.
pub(super) fn csv_row(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

/// A text field made safe for spreadsheets: one that starts like a formula gets a leading
/// apostrophe.
pub(super) fn text_field(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// Writes a table: a header, a rule, the rows; columns padded to their widest cell (left- or
/// right-aligned as `right` says); trailing spaces trimmed.
pub(super) fn table(
    f: &mut fmt::Formatter<'_>,
    headers: &[&str],
    right: &[bool],
    rows: &[Vec<String>],
) -> fmt::Result {
    let width = |i: usize| {
        rows.iter()
            .map(|row| row.get(i).map_or(0, |c| c.chars().count()))
            .chain([headers[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let render = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if right.get(i).copied().unwrap_or(false) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        line.trim_end().to_string()
    };
    writeln!(f, "{}", render(&mut headers.iter().copied()))?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(f, "{}", render(&mut rule.iter().map(String::as_str)))?;
    for row in rows {
        writeln!(f, "{}", render(&mut row.iter().map(String::as_str)))?;
    }
    Ok(())
}

/// Writes `text` after `lead`, wrapped at 96 columns, continuation lines indented under the
/// text.
pub(super) fn wrapped(f: &mut fmt::Formatter<'_>, lead: &str, text: &str) -> fmt::Result {
    const WIDTH: usize = 96;
    let indent = " ".repeat(lead.chars().count());
    let mut line = lead.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            writeln!(f, "{line}")?;
            line.clone_from(&indent);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(f, "{line}")
}

/// A duration for people: `30 s`, `4 min 30 s`, `45 min`, `5 h 0 min`, `2 d 3 h`.
pub(crate) fn human_duration(d: Duration) -> String {
    let total = d.num_seconds();
    let sign = if total < 0 { "−" } else { "" };
    let s = total.unsigned_abs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    let text = if s < 60 {
        format!("{seconds} s")
    } else if s < 3_600 {
        if seconds == 0 {
            format!("{minutes} min")
        } else {
            format!("{minutes} min {seconds} s")
        }
    } else if s < 86_400 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{days} d {hours} h")
    };
    format!("{sign}{text}")
}

/// A share for people: `95%`, `94.7%`.
pub(super) fn human_percent(p: f64) -> String {
    let tenths = (p * 10.0).round();
    if tenths % 10.0 == 0.0 {
        format!("{:.0}%", tenths / 10.0)
    } else {
        format!("{:.1}%", tenths / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::seconds(30)), "30 s");
        assert_eq!(human_duration(Duration::seconds(270)), "4 min 30 s");
        assert_eq!(human_duration(Duration::minutes(45)), "45 min");
        assert_eq!(human_duration(Duration::hours(5)), "5 h 0 min");
        assert_eq!(human_duration(Duration::minutes(-255)), "−4 h 15 min");
        assert_eq!(human_duration(Duration::hours(51)), "2 d 3 h");
    }

    #[test]
    fn shares_read_naturally() {
        assert_eq!(human_percent(95.0), "95%");
        assert_eq!(human_percent(94.666), "94.7%");
        assert_eq!(human_percent(99.96), "100%");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let mut out = String::new();
        csv_row(&mut out, &["a", "b,c", "say \"hi\"", "line\nbreak"]);
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",\"line\nbreak\"\r\n");
        assert_eq!(text_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(text_field("fine"), "fine");
    }
}
