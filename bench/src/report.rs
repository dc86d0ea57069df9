//! Results: one row per workload and backend, medians and ratios, the markdown table and the JSON file.

use serde::{Deserialize, Serialize};

use crate::load::percentile;
use crate::workloads::Measure;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub backend: String,
    pub id: String,
    pub label: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub cpu_unit: String,
    #[serde(deserialize_with = "nan_vec")]
    pub stock: Vec<f64>,
    #[serde(deserialize_with = "nan_vec")]
    pub harvester: Vec<f64>,
    #[serde(deserialize_with = "nan_vec")]
    pub stock_p99_ms: Vec<f64>,
    #[serde(deserialize_with = "nan_vec")]
    pub harvester_p99_ms: Vec<f64>,
    #[serde(deserialize_with = "nan_vec")]
    pub stock_cpu: Vec<f64>,
    #[serde(deserialize_with = "nan_vec")]
    pub harvester_cpu: Vec<f64>,
    pub stock_errors: usize,
    pub harvester_errors: usize,
    /// "≥15×" style ratio target, or "<50 ms" absolute target on Harvester's value.
    pub target: String,
    pub check: String,
    pub notes: Vec<String>,
    pub not_yet: bool,
}

/// JSON has no NaN: serde_json writes it as `null`, so read `null` back as NaN (for `--render`).
fn nan_vec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let v: Vec<Option<f64>> = Deserialize::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

impl Row {
    pub fn new(
        backend: &str,
        id: &str,
        label: &str,
        unit: &str,
        higher_is_better: bool,
        cpu_unit: &str,
        target: &str,
    ) -> Row {
        Row {
            backend: backend.into(),
            id: id.into(),
            label: label.into(),
            unit: unit.into(),
            higher_is_better,
            cpu_unit: cpu_unit.into(),
            stock: vec![],
            harvester: vec![],
            stock_p99_ms: vec![],
            harvester_p99_ms: vec![],
            stock_cpu: vec![],
            harvester_cpu: vec![],
            stock_errors: 0,
            harvester_errors: 0,
            target: target.into(),
            check: "ok".into(),
            notes: vec![],
            not_yet: false,
        }
    }

    pub fn add(&mut self, harvester: bool, m: &Measure) {
        let (v, p, c) = if harvester {
            self.harvester_errors += m.errors;
            (
                &mut self.harvester,
                &mut self.harvester_p99_ms,
                &mut self.harvester_cpu,
            )
        } else {
            self.stock_errors += m.errors;
            (&mut self.stock, &mut self.stock_p99_ms, &mut self.stock_cpu)
        };
        v.push(m.value);
        p.push(m.p99_ms);
        c.push(m.cpu_per_unit);
        if !m.note.is_empty() {
            self.notes.push(format!(
                "{}: {}",
                if harvester { "harvester" } else { "stock" },
                m.note
            ));
        }
    }

    pub fn median(v: &[f64]) -> f64 {
        percentile(v, 50.0)
    }

    /// How many times better Harvester is (≥1 is better), from the medians.
    pub fn ratio(&self) -> f64 {
        let (s, h) = (Self::median(&self.stock), Self::median(&self.harvester));
        if self.higher_is_better {
            h / s
        } else {
            s / h
        }
    }

    pub fn met(&self) -> Option<bool> {
        if self.not_yet || self.check != "ok" {
            return None;
        }
        let t = self.target.trim();
        // An absolute floor on Harvester's value ("≥50 /s"), for workloads without a stock counterpart.
        if let Some(x) = t
            .strip_prefix('≥')
            .and_then(|x| x.strip_suffix(" /s"))
            .and_then(|x| x.trim().parse::<f64>().ok())
        {
            return Some(Self::median(&self.harvester) >= x && self.harvester_errors == 0);
        }
        if let Some(x) = t
            .strip_prefix('≥')
            .and_then(|x| x.trim_end_matches('×').parse::<f64>().ok())
        {
            return Some(self.ratio() >= x);
        }
        if let Some(x) = t
            .strip_prefix('<')
            .and_then(|x| x.trim_end_matches(" ms").trim().parse::<f64>().ok())
        {
            return Some(Self::median(&self.harvester) < x && self.harvester_errors == 0);
        }
        None
    }
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| backend | id | workload | unit | stock median | harvester median | ratio | target | met | p99 ms stock / harvester | server CPU per unit stock / harvester | errors s/h | notes |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        if r.not_yet {
            s.push_str(&format!(
                "| {} | {} | {} | | not yet | not yet | | {} | | | | | {} |\n",
                r.backend,
                r.id,
                r.label,
                r.target,
                r.notes.join("; ")
            ));
            continue;
        }
        let met = match r.met() {
            None if r.check != "ok" => "CHECK FAILED",
            // The issue sets its targets on SQLite; PostgreSQL is reported against them, not judged.
            Some(m) if r.backend != "sqlite" => {
                if m {
                    "(yes)"
                } else {
                    "(no)"
                }
            }
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {}× | {} | {} | {} / {} | {} / {} {} | {}/{} | {} |\n",
            r.backend,
            r.id,
            r.label,
            r.unit,
            fmt(Row::median(&r.stock)),
            fmt(Row::median(&r.harvester)),
            fmt(r.ratio()),
            r.target,
            met,
            fmt(Row::median(&r.stock_p99_ms)),
            fmt(Row::median(&r.harvester_p99_ms)),
            fmt(Row::median(&r.stock_cpu)),
            fmt(Row::median(&r.harvester_cpu)),
            r.cpu_unit,
            r.stock_errors,
            r.harvester_errors,
            if r.check != "ok" {
                format!("check: {}; {}", r.check, r.notes.join("; "))
            } else {
                r.notes.join("; ")
            }
        ));
    }
    s
}
