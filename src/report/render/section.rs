//! One model of a report's section for `summary.md` and `report.html`: a section's sentences
//! are worded once per language where the section is built ([`super::sections`]), and each
//! renderer draws the same model in its own markup, here.

use super::svg::esc;
use std::fmt::Write;

/// How a sentence reads: plainly, as good news or as something wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    Plain,
    Good,
    Bad,
}

/// A table; a numeric column is right-aligned in both renderings.
#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    pub columns: Vec<(String, bool)>,
    pub rows: Vec<Vec<String>>,
    /// `bad[i]`: row i is wrong (highlighted on the page).
    pub bad: Vec<bool>,
}

impl Table {
    /// Columns by title; a title starting with `#` is numeric (the `#` is dropped).
    pub fn new(titles: &[&str]) -> Table {
        let columns = titles.iter().map(|t| t.strip_prefix('#').map_or(((*t).to_string(), false), |t| (t.to_string(), true))).collect();
        Table { columns, ..Table::default() }
    }

    pub fn row(&mut self, cells: Vec<String>, bad: bool) {
        assert_eq!(cells.len(), self.columns.len(), "a row of the wrong width");
        self.rows.push(cells);
        self.bad.push(bad);
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Block {
    Text(String, Tone),
    Table(Table),
    List(Vec<String>),
    /// Every row, folded on the page (open when `open`) under `summary`. `summary.md`, read in
    /// terminals, lists every row when `all_in_text`, else only the highlighted ones, under
    /// `highlighted` (nothing when none is).
    Folded {
        summary: String,
        highlighted: String,
        open: bool,
        all_in_text: bool,
        table: Table,
    },
    /// A chart: drawn on the page only.
    Chart(super::svg::Chart),
    /// The run's verdict: its word, a headline and a line per reason.
    Verdict {
        verdict: crate::report::Verdict,
        word: String,
        headline: String,
        reasons: Vec<String>,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Section {
    /// The page's anchor.
    pub id: &'static str,
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn new(id: &'static str, title: &str) -> Section {
        Section { id, title: title.to_string(), blocks: Vec::new() }
    }

    pub fn text(&mut self, s: String) {
        self.blocks.push(Block::Text(s, Tone::Plain));
    }

    pub fn said(&mut self, s: String, tone: Tone) {
        self.blocks.push(Block::Text(s, tone));
    }

    pub fn table(&mut self, t: Table) {
        self.blocks.push(Block::Table(t));
    }

    /// A list, left out when empty.
    pub fn list(&mut self, items: Vec<String>) {
        if !items.is_empty() {
            self.blocks.push(Block::List(items));
        }
    }
}

/// A Markdown table cell: one line, no column break.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_table(o: &mut String, t: &Table, only_bad: bool) {
    let titles: Vec<String> = t.columns.iter().map(|(c, _)| md_cell(c)).collect();
    let _ = writeln!(o, "| {} |", titles.join(" | "));
    let rule: Vec<&str> = t.columns.iter().map(|(_, n)| if *n { "---:" } else { "---" }).collect();
    let _ = writeln!(o, "|{}|", rule.join("|"));
    for (row, bad) in t.rows.iter().zip(&t.bad) {
        if only_bad && !bad {
            continue;
        }
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
}

/// The section in Markdown: a level-2 heading, then each block, a blank line apart.
pub(crate) fn markdown(s: &Section) -> String {
    let mut o = format!("\n## {}\n", s.title);
    for b in &s.blocks {
        match b {
            Block::Text(t, Tone::Bad) => {
                let _ = write!(o, "\n**{t}**\n");
            }
            Block::Text(t, _) => {
                let _ = write!(o, "\n{t}\n");
            }
            Block::Table(t) => {
                o.push('\n');
                md_table(&mut o, t, false);
            }
            Block::List(items) => {
                o.push('\n');
                for i in items {
                    let _ = writeln!(o, "- {i}");
                }
            }
            Block::Folded { table, all_in_text: true, .. } => {
                o.push('\n');
                md_table(&mut o, table, false);
            }
            Block::Folded { highlighted, table, .. } => {
                if table.bad.iter().any(|b| *b) {
                    let _ = write!(o, "\n{highlighted}\n\n");
                    md_table(&mut o, table, true);
                }
            }
            Block::Chart(_) => {}
            Block::Verdict { word, headline, reasons, .. } => {
                let _ = write!(o, "\n**{word}**: {headline}\n");
                if !reasons.is_empty() {
                    o.push('\n');
                    for x in reasons {
                        let _ = writeln!(o, "- {x}");
                    }
                }
            }
        }
    }
    o
}

/// A table on the page; a numeric column's cells are right-aligned, a bad row highlighted.
pub(crate) fn html_table(o: &mut String, t: &Table) {
    o.push_str("<table><thead><tr>");
    for (title, numeric) in &t.columns {
        let class = if *numeric { r#" class="n""# } else { "" };
        let _ = write!(o, "<th{class}>{}</th>", esc(title));
    }
    o.push_str("</tr></thead><tbody>");
    for (row, bad) in t.rows.iter().zip(&t.bad) {
        o.push_str(if *bad { r#"<tr class="bad">"# } else { "<tr>" });
        for (cell, (_, numeric)) in row.iter().zip(&t.columns) {
            let class = if *numeric { r#" class="n""# } else { "" };
            let _ = write!(o, "<td{class}>{}</td>", esc(cell));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>");
}

/// The section on the page, and how many charts it drew.
pub(crate) fn html(s: &Section) -> (String, usize) {
    let mut o = format!(r#"<h2 id="{}">{}</h2>"#, s.id, esc(&s.title));
    let charts = s.blocks.iter().map(|b| html_block(&mut o, b)).sum();
    (o, charts)
}

/// One block on the page; 1 if it is a chart.
pub(crate) fn html_block(o: &mut String, b: &Block) -> usize {
    match b {
        Block::Text(t, tone) => {
            let class = match tone {
                Tone::Plain => "",
                Tone::Good => r#" class="ok""#,
                Tone::Bad => r#" class="fail""#,
            };
            let _ = write!(o, "<p{class}>{}</p>", esc(t));
        }
        Block::Table(t) => html_table(o, t),
        Block::List(items) => {
            o.push_str("<ul>");
            for i in items {
                let _ = write!(o, "<li>{}</li>", esc(i));
            }
            o.push_str("</ul>");
        }
        Block::Folded { summary, open, table, .. } => {
            let open = if *open { " open" } else { "" };
            let _ = write!(o, "<details{open}><summary>{}</summary>", esc(summary));
            html_table(o, table);
            o.push_str("</details>");
        }
        Block::Chart(chart) => {
            o.push_str(&chart.render());
            return 1;
        }
        Block::Verdict { verdict, word, headline, reasons } => {
            let class = match verdict {
                crate::report::Verdict::Go => "go",
                crate::report::Verdict::NoGo => "nogo",
                crate::report::Verdict::Incomplete => "incomplete",
            };
            let _ = write!(o, r#"<div class="verdict {class}"><strong>{}</strong>: {}"#, esc(word), esc(headline));
            if !reasons.is_empty() {
                o.push_str("<ul>");
                for x in reasons {
                    let _ = write!(o, "<li>{}</li>", esc(x));
                }
                o.push_str("</ul>");
            }
            o.push_str("</div>");
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Section {
        let mut s = Section::new("ledger", "Ledger");
        s.said("2 of 3 cells differ.".into(), Tone::Bad);
        let mut t = Table::new(&["league", "#yuan"]);
        t.row(vec!["A|B".into(), "1.00".into()], false);
        t.row(vec!["C".into(), "<2>".into()], true);
        s.blocks.push(Block::Folded {
            summary: "every cell".into(),
            highlighted: "the differing cells:".into(),
            open: true,
            all_in_text: false,
            table: t,
        });
        s.list(vec![]);
        s.blocks.push(Block::Chart(super::super::svg::Chart::Bars("a chart", "things", vec![("one".into(), 1.0)])));
        s
    }

    #[test]
    fn markdown_lists_only_the_highlighted_rows_and_no_chart() {
        let md = markdown(&sample());
        assert_eq!(md, "\n## Ledger\n\n**2 of 3 cells differ.**\n\nthe differing cells:\n\n| league | yuan |\n|---|---:|\n| C | <2> |\n");
    }

    #[test]
    fn the_page_escapes_folds_and_counts_its_charts() {
        let (html, charts) = html(&sample());
        assert_eq!(charts, 1);
        assert!(html.starts_with(r#"<h2 id="ledger">Ledger</h2><p class="fail">2 of 3 cells differ.</p><details open>"#), "{html}");
        assert!(
            html.contains(r#"<tr><td>A|B</td><td class="n">1.00</td></tr><tr class="bad"><td>C</td><td class="n">&lt;2&gt;</td></tr>"#),
            "{html}"
        );
        assert!(!html.contains("<ul>"), "an empty list is left out");
    }
}
