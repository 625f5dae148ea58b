//! The report as one self-contained HTML page (`--html FILE`): the capture
//! summary with its losses, the query-count histogram (the seed method:
//! how many names were asked how many times, the rare tail marked), the
//! findings with their explanations, a timeline of each top finding's
//! queries (beats, and the beats its period predicts that never came) and
//! the names of every host in the findings. Inline CSS and inline SVG (built
//! with the `svg` crate) only: no script, font, image or style is fetched,
//! so the file reads the same from a USB stick on a machine off the
//! network.

use std::{
    fmt::Write as _,
    io,
    time::{SystemTime, UNIX_EPOCH},
};

use dnsrare_core::{
    model::{
        capture::CaptureSummary,
        report::{Finding, HistogramBucket, HostRow, Report, Timeline},
    },
    score::combine::format_period,
};
use svg::{
    Document,
    node::element::{Circle, Group, Line, Rectangle, Text, Title},
};

use super::render::{WEAK_FINDING, format_time, plural};

/// Timelines asked of the engine for the page.
pub const TIMELINES: usize = 20;

/// Buckets up to this many queries are the rare tail.
pub const RARE_QUERIES: u64 = 4;

/// Shortest time axis of a timeline.
const MIN_SPAN_NS: u64 = 60_000_000_000;

/// Names listed per finding in the table.
const NAMES_SHOWN: usize = 6;

const STYLE: &str = "
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
       margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #1d232a; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #d5dbe1; padding-bottom: 0.2em; }
h3 { font-size: 1em; margin: 1.2em 0 0.3em; }
.meta, .note { color: #5b6673; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.35em 0.6em; border-bottom: 1px solid #e6eaee; }
th { background: #f3f5f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.name { overflow-wrap: anywhere; }
tr.weak td { color: #6b7682; }
code, .name { font-family: ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.93em; }
.explanation { color: #3d4752; font-size: 0.92em; }
.score { font-weight: 700; }
.score.high { color: #b3261e; }
.score.mid { color: #b35c00; }
.kind { display: inline-block; padding: 0 0.45em; border-radius: 3px; background: #e8eef6; font-size: 0.9em; }
dl.capture { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 0.4em 1em; }
dl.capture div { background: #f6f8fa; border-radius: 4px; padding: 0.4em 0.7em; }
dl.capture dt { color: #5b6673; font-size: 0.85em; }
dl.capture dd { margin: 0; font-size: 1.2em; font-variant-numeric: tabular-nums; }
dl.capture div.bad { background: #fdecea; }
.warning { color: #b3261e; font-weight: 600; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #3d4752; }
svg .axis { stroke: #7b8794; stroke-width: 1; }
svg .grid { stroke: #e6eaee; stroke-width: 1; }
svg .bar { fill: #7a9cc6; }
svg .bar.rare { fill: #d9534f; }
svg .beat { fill: #2b6cb0; }
svg .missed { stroke: #d9534f; stroke-width: 2; fill: none; }
svg .expected { stroke: #d9534f; stroke-width: 1; stroke-dasharray: 3 3; }
.legend span { margin-right: 1.2em; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; vertical-align: -0.1em; margin-right: 0.3em; border-radius: 2px; }
.timeline { margin-bottom: 1.5em; }
";

/// Writes the page for `report` (asked with `histogram` and `timelines`).
pub fn write_html(out: &mut impl io::Write, report: &Report) -> io::Result<()> {
    let mut page = String::with_capacity(64 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str("<title>dnsrare report</title>\n<style>");
    page.push_str(STYLE);
    page.push_str("</style>\n</head>\n<body>\n<h1>dnsrare report</h1>\n");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let _ = writeln!(
        page,
        "<p class=\"meta\">Written {} by dnsrare {}: {} distinct names from {}.</p>",
        esc(&format_time(now)),
        env!("CARGO_PKG_VERSION"),
        report.names,
        esc(&plural(report.network_hosts, "host", "hosts")),
    );
    capture_section(&mut page, &report.capture);
    histogram_section(&mut page, &report.query_histogram);
    findings_section(&mut page, report);
    timelines_section(&mut page, report);
    hosts_section(&mut page, &report.hosts);
    page.push_str(
        "<p class=\"note\">This page is self-contained: it loads nothing from anywhere.</p>\n\
         </body>\n</html>\n",
    );
    out.write_all(page.as_bytes())
}

/// Escapes text for HTML element content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An `<svg>` element without the `xmlns` attribute (inline SVG in HTML
/// needs none), so the page holds no URL at all.
fn chart(width: u32, height: u32) -> Document {
    let mut doc = Document::new()
        .set("viewBox", (0, 0, width, height))
        .set("width", width)
        .set("height", height);
    doc.get_attributes_mut().remove("xmlns");
    doc
}

fn label(x: f64, y: f64, anchor: &str, text: &str) -> Text {
    Text::new(text)
        .set("x", x)
        .set("y", y)
        .set("text-anchor", anchor)
}

fn title(text: &str) -> Title {
    Title::new(text)
}

fn capture_section(page: &mut String, c: &CaptureSummary) {
    page.push_str(
        "<h2 id=\"capture-summary\">Capture</h2>\n<dl class=\"capture\" id=\"capture\">\n",
    );
    for (name, value, bad) in [
        ("packets", c.packets, false),
        ("queries", c.queries, false),
        ("counted", c.counted, c.counted < c.queries),
        ("responses", c.responses, false),
        ("lost (ring full)", c.lost, c.lost > 0),
        ("parse errors", c.parse_errors, c.parse_errors > 0),
        ("ignored", c.ignored, false),
    ] {
        let _ = writeln!(
            page,
            "<div{}><dt>{name}</dt><dd>{value}</dd></div>",
            if bad { " class=\"bad\"" } else { "" }
        );
    }
    page.push_str("</dl>\n");
    if c.lost > 0 {
        let _ = writeln!(
            page,
            "<p class=\"warning\">{} events were lost (ring buffer full): counts are incomplete.</p>",
            c.lost
        );
    }
}

/// The bucket's label: `1`, `2`, `3–4`, `5–8`, …
fn bucket_label(max_queries: u64) -> String {
    match max_queries {
        0..=2 => max_queries.to_string(),
        m => format!("{}–{}", m / 2 + 1, m),
    }
}

fn histogram_section(page: &mut String, buckets: &[HistogramBucket]) {
    page.push_str("<h2 id=\"frequency\">How often names were asked</h2>\n");
    if buckets.is_empty() {
        page.push_str("<p class=\"note\">No names counted.</p>\n");
        return;
    }
    let rare: u64 = buckets
        .iter()
        .filter(|b| b.max_queries <= RARE_QUERIES)
        .map(|b| b.names)
        .sum();
    let all: u64 = buckets.iter().map(|b| b.names).sum();
    let _ = writeln!(
        page,
        "<p>Names per query count (both axes on a log scale). The rare tail, names asked \
         {RARE_QUERIES} times or fewer, is where the seed method looks: {rare} of {all} names \
         ({:.1}%).</p>",
        100.0 * rare as f64 / all.max(1) as f64
    );
    page.push_str(
        "<p class=\"legend\"><span><i class=\"swatch\" style=\"background:#d9534f\"></i>rare tail</span>\
         <span><i class=\"swatch\" style=\"background:#7a9cc6\"></i>asked more often</span></p>\n",
    );
    page.push_str(&histogram_svg(buckets).to_string());
    page.push('\n');
}

/// Bars per power-of-two bucket from 1 to the largest, names on a log
/// scale from 1 to the next power of ten.
fn histogram_svg(buckets: &[HistogramBucket]) -> Document {
    let (width, height) = (900u32, 300u32);
    let (left, right, top, bottom) = (60.0, 10.0, 10.0, 50.0);
    let plot_w = f64::from(width) - left - right;
    let plot_h = f64::from(height) - top - bottom;
    let last = buckets
        .iter()
        .map(|b| b.max_queries.max(1).trailing_zeros())
        .max()
        .unwrap_or(0);
    let slots = f64::from(last + 1);
    let max_names = buckets.iter().map(|b| b.names).max().unwrap_or(1).max(1);
    let decades = (max_names as f64).log10().ceil().max(1.0);
    // 1 name sits a little above the axis, so lone names stay visible.
    let floor = -0.3;
    let y_of = |names: f64| top + plot_h * (1.0 - (names.log10() - floor) / (decades - floor));
    let mut doc = chart(width, height)
        .set("id", "histogram")
        .set("class", "histogram")
        .set("role", "img");
    let mut grid = Group::new();
    for d in 0..=decades as u32 {
        let y = y_of(10f64.powi(d as i32));
        grid = grid
            .add(
                Line::new()
                    .set("class", "grid")
                    .set("x1", left)
                    .set("x2", left + plot_w)
                    .set("y1", y)
                    .set("y2", y),
            )
            .add(label(left - 6.0, y + 4.0, "end", &10u64.pow(d).to_string()));
    }
    doc = doc.add(grid);
    let slot_w = plot_w / slots;
    for exp in 0..=last {
        let x = left + slot_w * f64::from(exp);
        let max_queries = 1u64.checked_shl(exp).unwrap_or(u64::MAX);
        doc = doc.add(label(
            x + slot_w / 2.0,
            top + plot_h + 16.0,
            "middle",
            &bucket_label(max_queries),
        ));
    }
    for b in buckets {
        let exp = b.max_queries.max(1).trailing_zeros();
        let x = left + slot_w * f64::from(exp);
        let y = y_of(b.names as f64);
        let rare = b.max_queries <= RARE_QUERIES;
        let times = if b.max_queries == 1 {
            "once".to_owned()
        } else {
            format!("{} times", bucket_label(b.max_queries))
        };
        doc = doc.add(
            Group::new()
                .add(
                    Rectangle::new()
                        .set("class", if rare { "bar rare" } else { "bar" })
                        .set("data-max-queries", b.max_queries)
                        .set("data-names", b.names)
                        .set("x", x + slot_w * 0.1)
                        .set("y", y)
                        .set("width", slot_w * 0.8)
                        .set("height", (top + plot_h - y).max(0.0))
                        .add(title(&format!(
                            "{} asked {times}",
                            plural(b.names, "name", "names")
                        ))),
                )
                .add(label(
                    x + slot_w / 2.0,
                    y - 3.0,
                    "middle",
                    &b.names.to_string(),
                )),
        );
    }
    doc.add(
        Line::new()
            .set("class", "axis")
            .set("x1", left)
            .set("x2", left + plot_w)
            .set("y1", top + plot_h)
            .set("y2", top + plot_h),
    )
    .add(
        Line::new()
            .set("class", "axis")
            .set("x1", left)
            .set("x2", left)
            .set("y1", top)
            .set("y2", top + plot_h),
    )
    .add(label(
        left + plot_w / 2.0,
        f64::from(height) - 8.0,
        "middle",
        "times a name was asked (queries)",
    ))
    .add(label(14.0, top + plot_h / 2.0, "middle", "names").set(
        "transform",
        format!("rotate(-90 14 {})", top + plot_h / 2.0),
    ))
}

fn score_class(score: f32) -> &'static str {
    if score >= 80.0 {
        "score high"
    } else if score >= 50.0 {
        "score mid"
    } else {
        "score"
    }
}

fn findings_section(page: &mut String, report: &Report) {
    let _ = writeln!(
        page,
        "<h2 id=\"findings-heading\">Findings</h2>\n<p>{}, most suspicious first: one \
         behaviour of one host each, with why it ranks there.</p>",
        esc(&plural(report.findings.len() as u64, "finding", "findings"))
    );
    if report.findings.is_empty() {
        page.push_str("<p class=\"note\" id=\"findings\">Nothing suspicious found.</p>\n");
        return;
    }
    page.push_str(
        "<table id=\"findings\">\n<thead><tr><th class=\"num\">#</th><th class=\"num\">score</th>\
         <th>finding</th><th>hosts</th><th>names</th><th>first seen</th><th>last seen</th></tr></thead>\n<tbody>\n",
    );
    for (i, f) in report.findings.iter().enumerate() {
        finding_row(page, i, f, report.timelines.iter().any(|t| t.finding == i));
    }
    page.push_str("</tbody>\n</table>\n");
}

fn finding_row(page: &mut String, i: usize, f: &Finding, has_timeline: bool) {
    let hosts: Vec<String> = f.hosts.iter().map(|h| esc(&h.to_string())).collect();
    let mut names: Vec<String> = f
        .names
        .iter()
        .take(NAMES_SHOWN)
        .map(|n| format!("<span class=\"name\">{}</span>", esc(n)))
        .collect();
    let more = f.more_names + f.names.len().saturating_sub(NAMES_SHOWN) as u64;
    if more > 0 {
        names.push(format!("(+{more} more)"));
    }
    let timeline = if has_timeline {
        format!(" <a href=\"#timeline-{i}\">timeline</a>")
    } else {
        String::new()
    };
    let weak = if f.score < WEAK_FINDING { " weak" } else { "" };
    let _ = writeln!(
        page,
        "<tr class=\"finding{weak}\" id=\"finding-{i}\"><td class=\"num\">{}</td>\
         <td class=\"num {}\">{:.0}</td><td><span class=\"kind\">{}</span>{timeline}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n\
         <tr class=\"explanation\"><td></td><td colspan=\"6\" class=\"explanation\">{}</td></tr>",
        i + 1,
        score_class(f.score),
        f.score,
        f.kind.as_str(),
        hosts.join("<br>"),
        names.join("<br>"),
        esc(&format_time(f.first_seen_ns)),
        esc(&format_time(f.last_seen_ns)),
        esc(&f.explanation),
    );
}

fn timelines_section(page: &mut String, report: &Report) {
    page.push_str("<h2 id=\"timelines\">Timelines</h2>\n");
    if report.timelines.is_empty() {
        page.push_str("<p class=\"note\">No timelines.</p>\n");
        return;
    }
    page.push_str(
        "<p>Per finding, its host's queries for the finding's names (the most recent 64 of \
         each at most). Dots are queries; <span class=\"warning\">red rings</span> are beats the host's \
         period predicts but that never came.</p>\n",
    );
    for t in &report.timelines {
        let kind = report
            .findings
            .get(t.finding)
            .map_or("", |f| f.kind.as_str());
        let first = t.names.first().map_or("", String::as_str);
        let more = match t.names.len() {
            0 | 1 => String::new(),
            2 => " and 1 more name".to_owned(),
            n => format!(" and {} more names", n - 1),
        };
        let _ = writeln!(
            page,
            "<div class=\"timeline\" id=\"timeline-{}\">\n<h3>#{} <span class=\"kind\">{kind}</span> \
             <span class=\"name\">{}</span>{} from {}</h3>",
            t.finding,
            t.finding + 1,
            esc(first),
            esc(&more),
            esc(&t.host.to_string()),
        );
        let shown = if t.arrivals_ns.len() as u64 == t.queries {
            String::new()
        } else {
            format!(" (the last {} shown)", t.arrivals_ns.len())
        };
        let beacon = t.beacon.as_ref().map_or_else(
            || {
                if t.names.len() == 1 {
                    "; too few queries to measure a period".to_owned()
                } else {
                    String::new()
                }
            },
            |b| {
                format!(
                    "; every {} ±{:.0}%, {} beats, {} missed, {} off-beat",
                    format_period(b.period_s),
                    f64::from(b.jitter) * 100.0,
                    b.beats,
                    b.missed,
                    b.extras
                )
            },
        );
        let _ = writeln!(
            page,
            "<p class=\"meta\">{}{shown}, {} to {}{}</p>",
            esc(&plural(t.queries, "query", "queries")),
            esc(&format_time(t.first_seen_ns)),
            esc(&format_time(t.last_seen_ns)),
            esc(&beacon),
        );
        page.push_str(&timeline_svg(t).to_string());
        page.push_str("\n</div>\n");
    }
}

/// `HH:MM:SS` within ten minutes, `HH:MM` within a day, `MM-DD HH:MM`
/// beyond.
fn tick_label(ns: u64, span_ns: u64) -> String {
    let t = format_time(ns);
    if span_ns <= 600_000_000_000 {
        t.get(11..19).unwrap_or(&t).to_owned()
    } else if span_ns < 86_400_000_000_000 {
        t.get(11..16).unwrap_or(&t).to_owned()
    } else {
        t.get(5..16).unwrap_or(&t).replace('T', " ")
    }
}

/// A time axis over the arrivals and missed beats, a dot per arrival and a
/// ring with a dashed stem per missed beat.
fn timeline_svg(t: &Timeline) -> Document {
    let (width, height) = (1000u32, 90u32);
    let (left, right) = (20.0, 20.0);
    let axis_y = 45.0;
    let plot_w = f64::from(width) - left - right;
    let times = t.arrivals_ns.iter().chain(&t.missed_ns);
    let first = times.clone().copied().min().unwrap_or(t.first_seen_ns);
    let last = times.copied().max().unwrap_or(t.last_seen_ns).max(first);
    // Queries close together (a burst, or one query) get a minute of
    // axis around them, so the ticks stay apart.
    let pad = MIN_SPAN_NS.saturating_sub(last - first) / 2;
    let start = first.saturating_sub(pad);
    let end = last.saturating_add(pad).max(start + 1);
    let span = end - start;
    let x_of = |ns: u64| left + plot_w * (ns.saturating_sub(start) as f64 / span as f64);
    let mut doc = chart(width, height)
        .set("id", format!("timeline-chart-{}", t.finding))
        .set("class", "timeline-chart")
        .set("role", "img")
        .add(
            Line::new()
                .set("class", "axis")
                .set("x1", left)
                .set("x2", left + plot_w)
                .set("y1", axis_y)
                .set("y2", axis_y),
        );
    let ticks = 6u64;
    for k in 0..=ticks {
        let ns = start + span / ticks * k;
        let x = x_of(ns);
        let anchor = match k {
            0 => "start",
            k if k == ticks => "end",
            _ => "middle",
        };
        doc = doc
            .add(
                Line::new()
                    .set("class", "axis")
                    .set("x1", x)
                    .set("x2", x)
                    .set("y1", axis_y)
                    .set("y2", axis_y + 5.0),
            )
            .add(label(x, axis_y + 18.0, anchor, &tick_label(ns, span)));
    }
    for &ns in &t.missed_ns {
        let x = x_of(ns);
        doc = doc.add(
            Group::new()
                .set("class", "missed-beat")
                .add(
                    Line::new()
                        .set("class", "expected")
                        .set("x1", x)
                        .set("x2", x)
                        .set("y1", 12.0)
                        .set("y2", axis_y),
                )
                .add(
                    Circle::new()
                        .set("class", "missed")
                        .set("cx", x)
                        .set("cy", 22.0)
                        .set("r", 5)
                        .add(title(&format!(
                            "missed beat: expected about {}",
                            format_time(ns)
                        ))),
                ),
        );
    }
    for &ns in &t.arrivals_ns {
        doc = doc.add(
            Circle::new()
                .set("class", "beat")
                .set("cx", x_of(ns))
                .set("cy", 22.0)
                .set("r", 4)
                .add(title(&format!("query at {}", format_time(ns)))),
        );
    }
    doc
}

fn hosts_section(page: &mut String, hosts: &[HostRow]) {
    page.push_str("<h2 id=\"hosts-heading\">Hosts in the findings</h2>\n");
    if hosts.is_empty() {
        page.push_str("<p class=\"note\" id=\"hosts\">No hosts.</p>\n");
        return;
    }
    page.push_str(
        "<table id=\"hosts\">\n<thead><tr><th>host</th><th class=\"num\">score</th>\
         <th class=\"num\">queries</th><th class=\"num\">names</th><th class=\"num\">NXDOMAIN</th>\
         <th class=\"num\">suspicious names</th><th>its findings' names (score)</th></tr></thead>\n<tbody>\n",
    );
    for h in hosts {
        let names: Vec<String> = h
            .top_names
            .iter()
            .map(|(n, s)| format!("<span class=\"name\">{}</span> ({s:.0})", esc(n)))
            .collect();
        let _ = writeln!(
            page,
            "<tr class=\"host\"><td><code>{}</code></td><td class=\"num {}\">{:.0}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&h.addr.to_string()),
            score_class(h.score),
            h.score,
            h.queries,
            h.names,
            h.nxdomain,
            h.suspicious_names,
            names.join("<br>"),
        );
    }
    page.push_str("</tbody>\n</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_labelled_by_their_range() {
        assert_eq!(bucket_label(1), "1");
        assert_eq!(bucket_label(2), "2");
        assert_eq!(bucket_label(4), "3–4");
        assert_eq!(bucket_label(1024), "513–1024");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn charts_carry_no_url() {
        let doc = histogram_svg(&[
            HistogramBucket {
                max_queries: 1,
                names: 700,
            },
            HistogramBucket {
                max_queries: 64,
                names: 3,
            },
        ])
        .to_string();
        assert!(!doc.contains("http"), "{doc}");
        assert!(doc.contains("class=\"bar rare\""));
        assert_eq!(doc.matches("<rect").count(), 2);
    }
}
