//! Two reports side by side: this period against the last.

use std::fmt;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::render::{self, Value};
use super::{Report, Window};
use crate::lifecycle::SlaTarget;

/// Separates the two periods' bases in a compared figure's basis.
const LAST_PERIOD: &str = " Last period: ";

/// What a compared figure measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FigureUnit {
    /// A number of things (incidents, follow-ups, responses).
    Count,
    /// A duration, in seconds.
    Seconds,
    /// A share, in percent; changes are in percentage points.
    Percent,
    /// A satisfaction score from 1 to 5.
    Score,
}

impl FigureUnit {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "rounding a figure computed from real counts and durations back to its unit; negatives are clamped"
    )]
    fn value(self, v: Option<f64>) -> Value {
        match self {
            FigureUnit::Count => Value::Count(v.map_or(0, |v| v.max(0.0) as usize), "count"),
            FigureUnit::Seconds => Value::Time(v.map(|s| Duration::seconds(s.round() as i64))),
            FigureUnit::Percent => Value::Percent(v),
            FigureUnit::Score => Value::Score(v),
        }
    }

    fn name(self) -> &'static str {
        match self {
            FigureUnit::Count => "count",
            FigureUnit::Seconds => "seconds",
            FigureUnit::Percent => "percent",
            FigureUnit::Score => "score (1-5)",
        }
    }
}

/// One headline figure in both periods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Compared {
    /// What the figure is, e.g. `time to resolve mean (wall clock)`.
    pub figure: String,
    /// Its unit.
    pub unit: FigureUnit,
    /// Its value this period; `None` if there was nothing to measure.
    pub this: Option<f64>,
    /// Its value last period; `None` if there was nothing to measure.
    pub last: Option<f64>,
    /// `this - last` (percentage points for shares); `None` unless both have a value.
    pub change: Option<f64>,
    /// The change relative to `last`, in percent; `None` unless both have a value and `last`
    /// is not zero.
    pub change_percent: Option<f64>,
    /// How the figure was computed in each period.
    pub basis: String,
}

impl Compared {
    fn new(
        figure: String,
        unit: FigureUnit,
        this: Option<f64>,
        last: Option<f64>,
        basis: String,
    ) -> Self {
        let change = this.zip(last).map(|(t, l)| t - l);
        let change_percent = this
            .zip(last)
            .filter(|(_, l)| *l != 0.0)
            .map(|(t, l)| (t - l) / l * 100.0);
        Compared {
            figure,
            unit,
            this,
            last,
            change,
            change_percent,
            basis,
        }
    }

    /// This period's value for people (`45 min`, `95%`, `—`).
    pub fn this_text(&self) -> String {
        self.unit.value(self.this).human()
    }

    /// Last period's value for people.
    pub fn last_text(&self) -> String {
        self.unit.value(self.last).human()
    }

    /// The change for people: `−4 h 15 min (−85%)`, `−13 (−42%)`, `+35 pp`; `—` when one
    /// side has no value.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the rounded change of a figure computed from real durations"
    )]
    pub fn change_text(&self) -> String {
        let Some(change) = self.change else {
            return "—".into();
        };
        let sign = |x: f64| {
            if x > 0.0 {
                "+"
            } else if x < 0.0 {
                "−"
            } else {
                "±"
            }
        };
        let absolute = match self.unit {
            FigureUnit::Count => format!("{}{}", sign(change), change.abs().round()),
            FigureUnit::Seconds => format!(
                "{}{}",
                sign(change),
                render::human_duration(Duration::seconds(change.abs().round() as i64))
            ),
            FigureUnit::Percent => {
                let pp = render::human_percent(change.abs());
                format!("{}{} pp", sign(change), pp.trim_end_matches('%'))
            }
            FigureUnit::Score => format!("{}{:.1}", sign(change), change.abs()),
        };
        match (self.unit, self.change_percent) {
            (FigureUnit::Percent, _) | (_, None) => absolute,
            (_, Some(p)) => format!("{absolute} ({}{:.0}%)", sign(p), p.abs()),
        }
    }
}

impl fmt::Display for Compared {
    /// `time to resolve mean (wall clock): 45 min vs 5 h 0 min (−85%)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} vs {}",
            self.figure,
            self.this_text(),
            self.last_text()
        )?;
        let Some(change) = self.change else {
            return Ok(());
        };
        match (self.unit, self.change_percent) {
            (FigureUnit::Count | FigureUnit::Seconds | FigureUnit::Score, Some(p)) => {
                let sign = if p < 0.0 {
                    "−"
                } else if p > 0.0 {
                    "+"
                } else {
                    "±"
                };
                write!(f, " ({sign}{:.0}%)", p.abs())?;
            }
            _ if change == 0.0 => write!(f, " (no change)")?,
            _ => write!(f, " ({})", self.change_text())?,
        }
        Ok(())
    }
}

/// Two reports' headline figures side by side, with the change: this period against the
/// last. Serializable, printable as a table (`Display`), exportable as CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Comparison {
    /// This period.
    pub this: Window,
    /// The period compared against.
    pub last: Window,
    /// The headline figures.
    pub figures: Vec<Compared>,
}

impl Comparison {
    /// The figure called `figure`, if there is one.
    pub fn figure(&self, figure: &str) -> Option<&Compared> {
        self.figures.iter().find(|c| c.figure == figure)
    }

    /// The comparison as CSV (RFC 4180, CRLF line ends): a header
    /// `figure,this,last,change,change_percent,unit,basis` and one row per figure. Durations
    /// in seconds, shares in percent (their change in percentage points); empty where there
    /// is no value.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("figure,this,last,change,change_percent,unit,basis\r\n");
        let number = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
        for c in &self.figures {
            render::csv_row(
                &mut out,
                &[
                    &render::text_field(&c.figure),
                    &number(c.this),
                    &number(c.last),
                    &number(c.change),
                    &number(c.change_percent),
                    c.unit.name(),
                    &render::text_field(&c.basis),
                ],
            );
        }
        out
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "This period: {}", self.this)?;
        writeln!(f, "Last period: {}", self.last)?;
        writeln!(f)?;
        let mut notes: Vec<&str> = Vec::new();
        let mut shown = None;
        let rows: Vec<Vec<String>> = self
            .figures
            .iter()
            .map(|c| {
                let index = notes.iter().position(|n| *n == c.basis).unwrap_or_else(|| {
                    notes.push(&c.basis);
                    notes.len() - 1
                });
                let note = if shown == Some(index) {
                    String::new()
                } else {
                    shown = Some(index);
                    format!("[{}]", index + 1)
                };
                vec![
                    c.figure.clone(),
                    c.this_text(),
                    c.last_text(),
                    c.change_text(),
                    note,
                ]
            })
            .collect();
        render::table(
            f,
            &["Figure", "This", "Last", "Change", "Note"],
            &[false, true, true, true, false],
            &rows,
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "Change is this period minus the last, and in brackets relative to the last; \
             shares change in percentage points (pp)."
        )?;
        writeln!(f, "How each figure was computed:")?;
        for (i, note) in notes.iter().enumerate() {
            let lead = format!("[{}] ", i + 1);
            match note.split_once(LAST_PERIOD) {
                Some((this, last)) => {
                    render::wrapped(f, &lead, this)?;
                    let indent = " ".repeat(lead.chars().count());
                    render::wrapped(f, &indent, &format!("{}{last}", LAST_PERIOD.trim_start()))?;
                }
                None => render::wrapped(f, &lead, note)?,
            }
        }
        Ok(())
    }
}

/// A headline figure: name, unit, value and basis.
type Headline<'r> = (String, FigureUnit, Option<f64>, &'r str);

/// A duration as seconds, for a headline figure.
#[allow(
    clippy::cast_precision_loss,
    reason = "seconds of a report figure; 52 bits of mantissa outlast any real duration"
)]
fn secs(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.num_seconds() as f64)
}

/// A count, for a headline figure.
#[allow(
    clippy::cast_precision_loss,
    reason = "a count of incidents; 52 bits of mantissa outlast any real count"
)]
#[allow(
    clippy::unnecessary_wraps,
    reason = "a headline figure, optional like the others"
)]
fn count(n: usize) -> Option<f64> {
    Some(n as f64)
}

/// The headline figures of a report: name, unit, value and basis.
fn headline(r: &Report) -> Vec<Headline<'_>> {
    let mut out = volume_and_times(r);
    out.extend(sla_and_follow_through(r));
    out
}

/// The headline figures on incidents opened and on the times to acknowledge and resolve.
fn volume_and_times(r: &Report) -> Vec<Headline<'_>> {
    let a = &r.time_to_acknowledge;
    let t = &r.time_to_resolve;
    let mut out = vec![
        (
            "incidents opened".to_string(),
            FigureUnit::Count,
            count(r.opened.total),
            r.opened.basis.as_str(),
        ),
        (
            "still open at the window's end".into(),
            FigureUnit::Count,
            count(r.opened.still_open),
            &r.opened.basis,
        ),
    ];
    for (name, stats, basis) in [
        ("time to acknowledge", &a.wall_clock, &a.basis),
        ("time to resolve", &t.wall_clock, &t.basis),
    ] {
        for (statistic, value) in [
            ("mean", stats.mean),
            ("median", stats.median),
            ("p90", stats.p90),
        ] {
            out.push((
                format!("{name} {statistic} (wall clock)"),
                FigureUnit::Seconds,
                secs(value),
                basis,
            ));
        }
        let business = if name == "time to acknowledge" {
            &a.business_hours
        } else {
            &t.business_hours
        };
        out.push((
            format!("{name} mean (business hours)"),
            FigureUnit::Seconds,
            secs(business.mean),
            basis,
        ));
    }
    out.push((
        "time to resolve including false alarms and duplicates mean (wall clock)".into(),
        FigureUnit::Seconds,
        secs(t.including_false_alarms_and_duplicates.mean),
        &t.basis,
    ));
    out
}

/// The headline figures on SLA targets, breaches, recurrences, follow-ups and feedback.
fn sla_and_follow_through(r: &Report) -> Vec<Headline<'_>> {
    let mut out: Vec<Headline<'_>> = Vec::new();
    for s in &r.sla {
        let name = match s.target {
            SlaTarget::Acknowledge => "acknowledge",
            SlaTarget::Resolve => "resolve",
            SlaTarget::CustomerUpdate => "customer update",
        };
        out.push((
            format!("SLA {name} target met"),
            FigureUnit::Percent,
            s.percent_met,
            &s.basis,
        ));
    }
    out.extend([
        (
            "SLA breaches".into(),
            FigureUnit::Count,
            count(r.breaches.items.len()),
            r.breaches.basis.as_str(),
        ),
        (
            "recurrences".into(),
            FigureUnit::Count,
            count(r.recurrence.recurrences),
            &r.recurrence.basis,
        ),
        (
            "recurrence rate".into(),
            FigureUnit::Percent,
            r.recurrence.percent,
            &r.recurrence.basis,
        ),
        (
            "overdue follow-ups".into(),
            FigureUnit::Count,
            count(r.overdue_follow_ups.items.len()),
            &r.overdue_follow_ups.basis,
        ),
        (
            "feedback responses".into(),
            FigureUnit::Count,
            count(r.satisfaction.responses),
            &r.satisfaction.basis,
        ),
        (
            "average satisfaction".into(),
            FigureUnit::Score,
            r.satisfaction.average,
            &r.satisfaction.basis,
        ),
        (
            "satisfied customers (score 4-5)".into(),
            FigureUnit::Percent,
            r.satisfaction.percent_satisfied,
            &r.satisfaction.basis,
        ),
    ]);
    out
}

pub(super) fn compare(this: &Report, last: &Report) -> Comparison {
    let last_figures = headline(last);
    let figures = headline(this)
        .into_iter()
        .map(|(figure, unit, value, basis)| {
            let previous = last_figures.iter().find(|(name, ..)| *name == figure);
            let last_value = previous.and_then(|p| p.2);
            let last_basis = previous.map_or("not in the last report", |p| p.3);
            Compared::new(
                figure,
                unit,
                value,
                last_value,
                format!("This period: {basis}{LAST_PERIOD}{last_basis}"),
            )
        })
        .collect();
    Comparison {
        this: this.window,
        last: last.window,
        figures,
    }
}
