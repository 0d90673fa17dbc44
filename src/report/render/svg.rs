//! Charts for `report.html`, drawn as plain inline SVG.
//!
//! Plain SVG rather than a plotting crate: the text is laid out by the browser, so Chinese
//! labels need no font metrics here and the page needs no font files; a chart is a few rects,
//! one polyline per series, axes with round ticks and a legend.

use std::fmt::Write;

const W: f64 = 960.0;
const H: f64 = 300.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 46.0;

/// Colours that stay apart for readers with the common colour-vision deficiencies (Okabe–Ito).
pub(crate) const PALETTE: [&str; 8] = ["#0072B2", "#009E73", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

/// The colour of marks under the axis (holidays); the page's CSS uses the same.
const MARK: &str = "#444444";

/// `s` with the five XML special characters escaped (text and attribute safe; HTML and
/// JUnit XML alike), control characters XML does not allow as spaces.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// One line of a chart: a value per x position (`None`: no point there).
#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// A shaded stretch of the x axis (a phase), from position `from` up to `to` (exclusive).
#[derive(Clone, Debug)]
pub(crate) struct Band {
    pub from: usize,
    pub to: usize,
    pub label: String,
}

/// Stretches marked under the x axis (holidays).
#[derive(Clone, Debug)]
pub(crate) struct Marks {
    pub label: String,
    pub spans: Vec<(usize, usize)>,
}

#[derive(Clone, Debug)]
pub(crate) struct LineChart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    /// How many x positions.
    pub n: usize,
    /// Labelled x positions.
    pub x_ticks: Vec<(usize, String)>,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub marks: Option<Marks>,
    /// Step instead of straight lines (counts per interval).
    pub steps: bool,
    /// A logarithmic y axis (powers of ten; zero drawn on the axis), for counts whose
    /// peaks (batch debit runs) dwarf the rest.
    pub log: bool,
}

/// Round tick values from 0 to at least `max`: 1, 2 or 5 times a power of ten apart.
fn ticks(max: f64) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 { max } else { 1.0 };
    let raw = max / 5.0;
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * pow).find(|s| *s >= raw).unwrap_or(10.0 * pow);
    let top = (max / step).ceil() * step;
    let n = (top / step).round() as usize;
    (top, (0..=n).map(|i| i as f64 * step).collect())
}

/// Powers of ten from 1 to at least `max`.
fn log_ticks(max: f64) -> (f64, Vec<f64>) {
    let k = if max > 1.0 { max.log10().ceil().max(1.0) as i32 } else { 1 };
    let t: Vec<f64> = (0..=k).map(|i| 10f64.powi(i)).collect();
    (10f64.powi(k), t)
}

/// A tick's text: no trailing zeros, thousands as k and millions as M.
pub(crate) fn tick_text(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suffix}")
}

fn frame(o: &mut String, title: &str, height: f64) {
    let _ = write!(
        o,
        r#"<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" width="100%" preserveAspectRatio="xMinYMin meet"><title>{t}</title><text class="title" x="{LEFT}" y="18">{t}</text>"#,
        t = esc(title)
    );
}

/// Legend rows: the names in order, as many on a row as fit the chart's width (by an
/// estimate of text width: a Chinese character about twice a Latin one).
fn legend_rows(names: &[(&str, &str)]) -> Vec<Vec<(usize, f64)>> {
    let room = W - RIGHT - 8.0;
    let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new()];
    let mut used = 0.0;
    for (i, (name, _)) in names.iter().enumerate() {
        let width = 30.0 + 7.0 * name.chars().map(|c| if c.is_ascii() { 1.0 } else { 1.9 }).sum::<f64>();
        if used + width > room && !rows.last().is_none_or(Vec::is_empty) {
            rows.push(Vec::new());
            used = 0.0;
        }
        used += width;
        rows.last_mut().expect("a row").push((i, width));
    }
    rows
}

/// Height a legend adds below the chart past its first row.
const LEGEND_ROW: f64 = 16.0;

/// The legend, each row right-aligned, the first at `y`.
fn legend(o: &mut String, names: &[(&str, &str)], y: f64) {
    for (r, row) in legend_rows(names).iter().enumerate() {
        let y = y + LEGEND_ROW * r as f64;
        let mut x = W - RIGHT - row.iter().map(|(_, w)| w).sum::<f64>();
        for &(i, width) in row {
            let _ = write!(
                o,
                r#"<rect x="{x:.1}" y="{:.1}" width="12" height="4" fill="{}"/><text class="legend" x="{:.1}" y="{:.1}">{}</text>"#,
                y - 4.0,
                names[i].1,
                x + 16.0,
                y,
                esc(names[i].0)
            );
            x += width;
        }
    }
}

/// Where a value lands on a line chart's plot.
#[derive(Clone, Copy)]
struct Plot {
    n: f64,
    top: f64,
    log: bool,
}

impl Plot {
    const W: f64 = W - LEFT - RIGHT;
    const H: f64 = H - TOP - BOTTOM;
    const BASE: f64 = TOP + Self::H;

    fn x_at(self, i: f64) -> f64 {
        LEFT + Self::W * i / self.n
    }

    fn y_at(self, v: f64) -> f64 {
        let share = if self.log { if v < 1.0 { 0.0 } else { v.log10() / self.top.log10() } } else { v / self.top };
        TOP + Self::H * (1.0 - share)
    }
}

impl LineChart<'_> {
    pub(crate) fn render(&self) -> String {
        let mut o = String::new();
        let mut names: Vec<(&str, &str)> =
            self.series.iter().enumerate().map(|(k, s)| (s.name.as_str(), PALETTE[k % PALETTE.len()])).collect();
        if let Some(m) = &self.marks {
            names.push((m.label.as_str(), MARK));
        }
        let extra_rows = legend_rows(&names).len().saturating_sub(1) as f64;
        frame(&mut o, self.title, H + LEGEND_ROW * extra_rows);
        let max = self.series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
        let (top, yt) = if self.log { log_ticks(max) } else { ticks(max) };
        let plot = Plot { n: self.n.max(1) as f64, top, log: self.log };
        self.bands(&mut o, plot);
        for v in &yt {
            let y = plot.y_at(*v);
            let _ = write!(
                o,
                r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="ytick" x="{:.1}" y="{:.1}">{}</text>"#,
                W - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                tick_text(*v)
            );
        }
        self.marks(&mut o, plot);
        self.axes(&mut o, plot);
        for (k, s) in self.series.iter().enumerate() {
            self.series(&mut o, plot, s, PALETTE[k % PALETTE.len()]);
        }
        legend(&mut o, &names, H - 8.0);
        o.push_str("</svg>");
        o
    }

    /// The shaded bands behind the plot (phases, kinds of day), labelled where they fit.
    fn bands(&self, o: &mut String, plot: Plot) {
        for (k, b) in self.bands.iter().enumerate() {
            let (x0, x1) = (plot.x_at(b.from as f64), plot.x_at(b.to as f64));
            let _ = write!(
                o,
                r#"<rect class="band{}" x="{x0:.1}" y="{TOP}" width="{:.1}" height="{}"><title>{}</title></rect>"#,
                k % 2,
                (x1 - x0).max(0.5),
                Plot::H,
                esc(&b.label)
            );
            if x1 - x0 > 7.0 * b.label.chars().count() as f64 {
                let _ = write!(o, r#"<text class="bandlabel" x="{:.1}" y="{:.1}">{}</text>"#, x0 + 3.0, TOP + 12.0, esc(&b.label));
            }
        }
    }

    /// The marks under the axis (holidays).
    fn marks(&self, o: &mut String, plot: Plot) {
        let Some(m) = &self.marks else { return };
        for (a, b) in &m.spans {
            let _ = write!(
                o,
                r#"<rect class="mark" x="{:.1}" y="{:.1}" width="{:.1}" height="5"><title>{}</title></rect>"#,
                plot.x_at(*a as f64),
                Plot::BASE + 1.0,
                (plot.x_at(*b as f64) - plot.x_at(*a as f64)).max(1.0),
                esc(&m.label)
            );
        }
    }

    /// The axes, the x ticks and the y label.
    fn axes(&self, o: &mut String, plot: Plot) {
        let base = Plot::BASE;
        // A tick marks its slot's start under steps (an hour, a day from its first instant),
        // its point otherwise (drawn at the slot's middle).
        let tick_at = if self.steps { 0.0 } else { 0.5 };
        for (i, label) in &self.x_ticks {
            let x = plot.x_at(*i as f64 + tick_at);
            let _ = write!(
                o,
                r#"<line class="axis" x1="{x:.1}" x2="{x:.1}" y1="{base:.1}" y2="{:.1}"/><text class="xtick" x="{x:.1}" y="{:.1}">{}</text>"#,
                base + 8.0,
                base + 20.0,
                esc(label)
            );
        }
        let _ = write!(o, r#"<line class="axis" x1="{LEFT}" x2="{:.1}" y1="{base:.1}" y2="{base:.1}"/>"#, W - RIGHT);
        let _ = write!(o, r#"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base:.1}"/>"#);
        let _ = write!(
            o,
            r#"<text class="ylabel" transform="translate(14 {:.1}) rotate(-90)">{}</text>"#,
            TOP + Plot::H / 2.0,
            esc(self.y_label)
        );
    }

    /// One series: a polyline per run of values (a gap breaks it), and its points unless
    /// drawn as steps.
    fn series(&self, o: &mut String, plot: Plot, s: &Series, colour: &str) {
        let mut pts = String::new();
        let flush = |pts: &mut String, o: &mut String| {
            if !pts.is_empty() {
                let _ = write!(o, r#"<polyline class="series" stroke="{colour}" points="{}"/>"#, pts.trim_end());
                pts.clear();
            }
        };
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let y = plot.y_at(*v);
                    if self.steps {
                        let _ = write!(pts, "{:.1},{y:.1} {:.1},{y:.1} ", plot.x_at(i as f64), plot.x_at(i as f64 + 1.0));
                    } else {
                        let _ = write!(pts, "{:.1},{y:.1} ", plot.x_at(i as f64 + 0.5));
                    }
                }
                None => flush(&mut pts, o),
            }
        }
        flush(&mut pts, o);
        if self.steps {
            return;
        }
        // Points too, so that a lone value between gaps still shows.
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    o,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{colour}"><title>{}: {}</title></circle>"#,
                    plot.x_at(i as f64 + 0.5),
                    plot.y_at(*v),
                    esc(&s.name),
                    tick_text(*v)
                );
            }
        }
    }
}

/// Horizontal bars, one per label, longest first as given.
/// A chart a section holds, drawn only where it is shown (on the page).
#[derive(Clone, Debug)]
pub(crate) enum Chart {
    Line(LineChart<'static>),
    /// Horizontal bars: a title, the unit, a value per label.
    Bars(&'static str, &'static str, Vec<(String, f64)>),
}

impl Chart {
    pub(crate) fn render(&self) -> String {
        match self {
            Chart::Line(c) => c.render(),
            Chart::Bars(title, unit, rows) => bars(title, unit, rows),
        }
    }
}

pub(crate) fn bars(title: &str, unit: &str, rows: &[(String, f64)]) -> String {
    let row_h = 20.0;
    let label_w = 200.0;
    let height = TOP + row_h * rows.len().max(1) as f64 + 34.0;
    let mut o = String::new();
    frame(&mut o, title, height);
    let max = rows.iter().fold(0.0f64, |a, (_, v)| a.max(*v));
    let (top, yt) = ticks(max);
    let x0 = LEFT + label_w;
    let plot_w = W - x0 - RIGHT - 60.0;
    let base = TOP + row_h * rows.len().max(1) as f64;
    for v in &yt {
        let x = x0 + plot_w * v / top;
        let _ = write!(
            o,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{base:.1}"/><text class="xtick" x="{x:.1}" y="{:.1}">{}</text>"#,
            base + 14.0,
            tick_text(*v)
        );
    }
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = TOP + row_h * i as f64;
        let w = plot_w * v / top;
        let _ = write!(
            o,
            r#"<text class="barlabel" x="{:.1}" y="{:.1}">{}</text><rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect><text class="barvalue" x="{:.1}" y="{:.1}">{}</text>"#,
            x0 - 6.0,
            y + 14.0,
            esc(label),
            y + 3.0,
            w.max(0.5),
            row_h - 6.0,
            PALETTE[0],
            esc(label),
            tick_text(*v),
            x0 + w + 4.0,
            y + 14.0,
            tick_text(*v)
        );
    }
    let _ = write!(o, r#"<text class="legend" x="{:.1}" y="{:.1}">{}</text>"#, x0, height - 6.0, esc(unit));
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        let (top, t) = ticks(38_508.0);
        assert_eq!(top, 40_000.0);
        assert_eq!(t, vec![0.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0]);
        let (top, t) = ticks(0.7);
        assert!(top >= 0.7 && t.len() <= 7, "{top} {t:?}");
        assert_eq!(ticks(0.0).0, 1.0);
        assert_eq!(tick_text(40_000.0), "40k");
        // A long legend wraps onto rows that fit the width, in order.
        let names: Vec<(&str, &str)> = (0..9).map(|_| ("税务实体大厅（现金缴费）", "#000")).collect();
        let rows = legend_rows(&names);
        assert!(rows.len() >= 3, "{rows:?}");
        assert!(rows.iter().all(|r| r.iter().map(|(_, w)| w).sum::<f64>() <= W - RIGHT - 8.0));
        assert_eq!(rows.concat().iter().map(|(i, _)| *i).collect::<Vec<_>>(), (0..9).collect::<Vec<_>>());
        assert_eq!(legend_rows(&[("a", "#000")]).len(), 1);
        assert_eq!(tick_text(2_500_000.0), "2.5M");
        assert_eq!(tick_text(0.25), "0.25");
        assert_eq!(log_ticks(1_200_330.0), (10_000_000.0, vec![1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7]));
    }

    #[test]
    fn text_is_escaped_and_gaps_split_a_line() {
        let c = LineChart {
            title: "a <b> & \"c\"",
            y_label: "n",
            n: 4,
            x_ticks: vec![(0, "05-01".into())],
            series: vec![Series { name: "s".into(), values: vec![Some(1.0), None, Some(2.0), Some(3.0)] }],
            bands: vec![],
            marks: None,
            steps: false,
            log: false,
        };
        let svg = c.render();
        assert!(svg.contains("a &lt;b&gt; &amp; &quot;c&quot;"), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
    }
}
