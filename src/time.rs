//! Virtual time and the working-day calendar.
//!
//! `SimTime` is an instant in microseconds since the Unix epoch (UTC). The
//! engine owns the clock: nothing in the library reads the wall clock except
//! the live driver. Local dates are computed with the scenario's fixed UTC
//! offset (China has no daylight saving time, so a fixed offset is exact).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Weekday};
use std::collections::BTreeSet;

pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(crate) const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SECOND;
pub(crate) const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// An instant, in microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SimTime(pub i64);

impl SimTime {
    pub fn from_datetime(dt: &DateTime<FixedOffset>) -> SimTime {
        SimTime(dt.timestamp_micros())
    }
    pub fn plus_micros(self, micros: i64) -> SimTime {
        SimTime(self.0.saturating_add(micros))
    }
    pub fn plus_seconds_f64(self, seconds: f64) -> SimTime {
        // Durations come from distributions in seconds; clamp to a sane range so
        // a pathological draw cannot overflow the clock.
        let micros = (seconds * MICROS_PER_SECOND as f64).clamp(0.0, 1e15) as i64;
        self.plus_micros(micros)
    }
    pub fn micros_since(self, earlier: SimTime) -> i64 {
        self.0 - earlier.0
    }
    /// RFC 3339 text in the given offset, to the second (or microsecond when needed).
    pub fn format(self, offset: FixedOffset) -> String {
        let mut out = String::with_capacity(32);
        self.write_rfc3339(offset, &mut out);
        out
    }

    /// [`SimTime::format`] appended to `out`. Written digit by digit: the journal writes an
    /// instant per payment, and both strftime patterns and `format!` showed in profiles.
    pub fn write_rfc3339(self, offset: FixedOffset, out: &mut String) {
        use chrono::Timelike;
        let secs = self.0.div_euclid(MICROS_PER_SECOND);
        let sub = self.0.rem_euclid(MICROS_PER_SECOND);
        let Some(dt) = offset.timestamp_opt(secs, (sub * 1000) as u32).single() else {
            out.push_str(&format!("@{}us", self.0));
            return;
        };
        let digits = |out: &mut String, v: u32, width: u32| {
            for p in (0..width).rev() {
                out.push(char::from(b'0' + (v / 10u32.pow(p) % 10) as u8));
            }
        };
        let year = dt.year();
        if (0..=9999).contains(&year) {
            digits(out, year as u32, 4);
        } else {
            out.push_str(&format!("{year:04}"));
        }
        out.push('-');
        digits(out, dt.month(), 2);
        out.push('-');
        digits(out, dt.day(), 2);
        out.push('T');
        digits(out, dt.hour(), 2);
        out.push(':');
        digits(out, dt.minute(), 2);
        out.push(':');
        digits(out, dt.second(), 2);
        if sub != 0 {
            out.push('.');
            digits(out, sub as u32, 6);
        }
        let off = offset.local_minus_utc();
        out.push(if off < 0 { '-' } else { '+' });
        let off = off.unsigned_abs();
        digits(out, off / 3600, 2);
        out.push(':');
        digits(out, off % 3600 / 60, 2);
    }
}

/// [`SimTime::write_rfc3339`] for instants that mostly fall on the same few days (the
/// journal's): the date is formatted once per day, the time of day by integer arithmetic.
/// Writes exactly what `write_rfc3339` writes (a test holds them together).
pub(crate) struct Rfc3339Writer {
    offset: FixedOffset,
    offset_micros: i64,
    /// The local day whose date `date` holds ("YYYY-MM-DDT"); `None` before the first.
    day: Option<i64>,
    date: String,
    /// "+08:00".
    zone: String,
}

impl Rfc3339Writer {
    pub(crate) fn new(offset: FixedOffset) -> Rfc3339Writer {
        let mut zone = String::new();
        // The zone suffix is what write_rfc3339 puts after the seconds.
        SimTime(0).write_rfc3339(offset, &mut zone);
        let zone = zone[19..].to_string();
        Rfc3339Writer { offset, offset_micros: offset.local_minus_utc() as i64 * MICROS_PER_SECOND, day: None, date: String::new(), zone }
    }

    pub(crate) fn write(&mut self, t: SimTime, out: &mut String) {
        let Some(local) = t.0.checked_add(self.offset_micros) else {
            return t.write_rfc3339(self.offset, out);
        };
        let day = local.div_euclid(MICROS_PER_DAY);
        if self.day != Some(day) {
            let mut full = String::new();
            SimTime(day * MICROS_PER_DAY - self.offset_micros).write_rfc3339(self.offset, &mut full);
            // Outside four-digit years the text has another shape: no cache.
            if full.len() < 11 || full.as_bytes()[10] != b'T' || full.starts_with('@') {
                return t.write_rfc3339(self.offset, out);
            }
            self.date = full[..11].to_string();
            self.day = Some(day);
        }
        let in_day = local.rem_euclid(MICROS_PER_DAY);
        let (secs, sub) = (in_day / MICROS_PER_SECOND, in_day % MICROS_PER_SECOND);
        out.push_str(&self.date);
        let two = |out: &mut String, v: i64| {
            out.push(char::from(b'0' + (v / 10) as u8));
            out.push(char::from(b'0' + (v % 10) as u8));
        };
        two(out, secs / 3600);
        out.push(':');
        two(out, secs % 3600 / 60);
        out.push(':');
        two(out, secs % 60);
        if sub != 0 {
            out.push('.');
            let mut d = [b'0'; 6];
            let mut v = sub;
            for x in d.iter_mut().rev() {
                *x = b'0' + (v % 10) as u8;
                v /= 10;
            }
            out.push_str(std::str::from_utf8(&d).unwrap_or("000000"));
        }
        out.push_str(&self.zone);
    }
}

/// Local calendar arithmetic for one fixed offset.
#[derive(Clone, Debug)]
pub struct Calendar {
    pub offset: FixedOffset,
    holidays: BTreeSet<NaiveDate>,
    makeup_workdays: BTreeSet<NaiveDate>,
    weekend: Vec<Weekday>,
    /// The kind of each day from `first_day` on, worked out once: a payer's next arrival, a
    /// counter's hours and a due date each ask several times per request (a date from its
    /// day number and two set look-ups took about a tenth of a sending thread's instructions).
    /// Days outside it are worked out when asked, the same way.
    kinds: Vec<DayKind>,
    first_day: i64,
    /// The first and last day any holiday or make-up working day is listed for: outside
    /// them the weekday alone decides (a run compressed a millionfold passes the table's
    /// years within seconds, and each look-up then took a date and two set searches).
    listed: Option<(i64, i64)>,
}

impl Calendar {
    /// A calendar for a timeline from `start` to `end`: the kinds of its days are looked up,
    /// not worked out each time, from a year before it (a payer's history) to a year after (a
    /// due date's working days, counted up to a year on); of a timeline longer than twenty
    /// years, the first twenty.
    pub fn new(
        offset: FixedOffset,
        holidays: BTreeSet<NaiveDate>,
        makeup_workdays: BTreeSet<NaiveDate>,
        weekend: Vec<Weekday>,
        (start, end): (SimTime, SimTime),
    ) -> Calendar {
        let days = holidays.iter().chain(&makeup_workdays).map(|d| Calendar::day_of_date(*d));
        let listed = days.clone().min().zip(days.max());
        let mut c = Calendar { offset, holidays, makeup_workdays, weekend, kinds: Vec::new(), first_day: 0, listed };
        let first = c.local_day(start) - 366;
        let last = (c.local_day(end) + 367).min(first + 20 * 366);
        c.first_day = first;
        c.kinds = (first..last).map(|d| c.work_out_kind(d)).collect();
        c
    }
    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }
    pub fn makeup_workdays(&self) -> &BTreeSet<NaiveDate> {
        &self.makeup_workdays
    }
    pub fn weekend(&self) -> &[Weekday] {
        &self.weekend
    }
    pub fn offset_micros(&self) -> i64 {
        self.offset.local_minus_utc() as i64 * MICROS_PER_SECOND
    }
    /// Day number (days since 1970-01-01 local) of an instant.
    pub fn local_day(&self, t: SimTime) -> i64 {
        (t.0 + self.offset_micros()).div_euclid(MICROS_PER_DAY)
    }
    /// Microseconds since local midnight.
    pub fn time_of_day_micros(&self, t: SimTime) -> i64 {
        (t.0 + self.offset_micros()).rem_euclid(MICROS_PER_DAY)
    }
    /// Local midnight of a local day number.
    pub fn day_start(&self, day: i64) -> SimTime {
        SimTime(day * MICROS_PER_DAY - self.offset_micros())
    }
    pub fn date_of_day(&self, day: i64) -> NaiveDate {
        // Day numbers within the supported range (validated timelines) always map.
        NaiveDate::from_num_days_from_ce_opt((day + 719_163) as i32).unwrap_or(NaiveDate::MIN)
    }
    pub fn day_of_date(date: NaiveDate) -> i64 {
        date.num_days_from_ce() as i64 - 719_163
    }
    pub fn kind_of_day(&self, day: i64) -> DayKind {
        match usize::try_from(day - self.first_day).ok().and_then(|i| self.kinds.get(i)) {
            Some(k) => *k,
            None => self.work_out_kind(day),
        }
    }
    fn work_out_kind(&self, day: i64) -> DayKind {
        if self.listed.is_none_or(|(first, last)| day < first || day > last) {
            // 1970-01-01 was a Thursday (3 days from Monday).
            let weekday = Weekday::try_from((day + 3).rem_euclid(7) as u8).unwrap_or(Weekday::Mon);
            return if self.weekend.contains(&weekday) { DayKind::Weekend } else { DayKind::Working };
        }
        let date = self.date_of_day(day);
        if self.holidays.contains(&date) {
            DayKind::Holiday
        } else if self.makeup_workdays.contains(&date) {
            DayKind::Working
        } else if self.weekend.contains(&date.weekday()) {
            DayKind::Weekend
        } else {
            DayKind::Working
        }
    }
    pub fn is_working_day(&self, day: i64) -> bool {
        self.kind_of_day(day) == DayKind::Working
    }
    /// The start of the `n`-th working day strictly after the day of `t`.
    /// Bounded: gives up after 366 days and returns that day.
    pub fn nth_working_day_after(&self, t: SimTime, n: u32) -> SimTime {
        let mut day = self.local_day(t);
        let mut found = 0;
        for _ in 0..366 {
            day += 1;
            if self.is_working_day(day) {
                found += 1;
                if found >= n {
                    break;
                }
            }
        }
        self.day_start(day)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    Working,
    Weekend,
    Holiday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Working => "working",
            DayKind::Weekend => "weekend",
            DayKind::Holiday => "holiday",
        }
    }
    /// Its name in the Chinese reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            DayKind::Working => "工作日",
            DayKind::Weekend => "休息日",
            DayKind::Holiday => "法定节假日",
        }
    }
}

/// Largest time scale (virtual seconds per real second) of a compressed clock.
pub const MAX_TIME_SCALE: f64 = 1e9;

/// A time scale within (0, [`MAX_TIME_SCALE`]]; the error says the range (the caller names
/// the field).
pub fn check_time_scale(x: f64) -> Result<f64, String> {
    if x > 0.0 && x <= MAX_TIME_SCALE { Ok(x) } else { Err(format!("must be in (0, {MAX_TIME_SCALE:e}], got {x}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calendar {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let at = |s: &str| SimTime::from_datetime(&DateTime::parse_from_rfc3339(s).unwrap());
        Calendar::new(
            FixedOffset::east_opt(8 * 3600).unwrap(),
            ["2021-05-01", "2021-05-02", "2021-05-03", "2021-05-04", "2021-05-05"].iter().map(|s| d(s)).collect(),
            ["2021-04-25", "2021-05-08"].iter().map(|s| d(s)).collect(),
            vec![Weekday::Sat, Weekday::Sun],
            // A timeline of one day: the table runs from 24 April 2020 to 26 April 2022.
            (at("2021-04-25T00:00:00+08:00"), at("2021-04-25T00:00:00+08:00")),
        )
    }

    #[test]
    fn a_day_looked_up_is_the_day_worked_out() {
        // The table covers 24 April 2020 to 26 April 2022: the days checked run across both
        // its edges, and the holidays and make-up days of 2021 lie within it.
        let c = cal();
        let day = |s: &str| Calendar::day_of_date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        assert_eq!((c.first_day, c.first_day + c.kinds.len() as i64), (day("2020-04-24"), day("2022-04-27")));
        for d in day("2020-03-01")..day("2022-06-30") {
            assert_eq!(c.kind_of_day(d), c.work_out_kind(d), "{}", c.date_of_day(d));
        }
        let kinds: Vec<DayKind> = ["2021-04-24", "2021-04-25", "2021-04-30", "2021-05-01", "2021-05-05", "2021-05-08", "2021-05-09"]
            .iter()
            .map(|s| c.kind_of_day(day(s)))
            .collect();
        use DayKind::*;
        assert_eq!(kinds, [Weekend, Working, Working, Holiday, Holiday, Working, Weekend]);
    }

    /// Far from the listed holidays and make-up days (a run compressed a millionfold gets
    /// there), a day's kind is its weekday's, worked out without its date: the same kind as
    /// the date gives, over seventy years, with and without listed days, for two weekends.
    #[test]
    fn outside_the_listed_days_the_weekday_alone_decides() {
        let at = |s: &str| SimTime::from_datetime(&DateTime::parse_from_rfc3339(s).unwrap());
        let bare = Calendar::new(
            FixedOffset::east_opt(8 * 3600).unwrap(),
            BTreeSet::new(),
            BTreeSet::new(),
            vec![Weekday::Fri, Weekday::Sat],
            (at("2021-04-25T00:00:00+08:00"), at("2021-04-25T00:00:00+08:00")),
        );
        let day = |s: &str| Calendar::day_of_date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        for c in [cal(), bare] {
            let by_date = |d: i64| {
                let date = c.date_of_day(d);
                if c.holidays.contains(&date) {
                    DayKind::Holiday
                } else if c.makeup_workdays.contains(&date) {
                    DayKind::Working
                } else if c.weekend.contains(&date.weekday()) {
                    DayKind::Weekend
                } else {
                    DayKind::Working
                }
            };
            for d in day("1990-01-01")..day("2060-12-31") {
                assert_eq!(c.kind_of_day(d), by_date(d), "{} ({:?})", c.date_of_day(d), c.weekend);
            }
        }
    }

    #[test]
    fn local_days_follow_the_offset() {
        let c = cal();
        let t = SimTime::from_datetime(&DateTime::parse_from_rfc3339("2021-05-01T00:00:00+08:00").unwrap());
        let day = c.local_day(t);
        assert_eq!(c.date_of_day(day).to_string(), "2021-05-01");
        assert_eq!(c.day_start(day), t);
        assert_eq!(c.time_of_day_micros(t.plus_micros(MICROS_PER_HOUR)), MICROS_PER_HOUR);
        assert_eq!(t.format(c.offset), "2021-05-01T00:00:00+08:00");
    }

    #[test]
    fn formatting_handles_fractions_and_negative_offsets() {
        let west = FixedOffset::west_opt(5 * 3600 + 1800).unwrap();
        assert_eq!(SimTime(1_500_000).format(west), "1969-12-31T18:30:01.500000-05:30");
        assert_eq!(SimTime(0).format(FixedOffset::east_opt(0).unwrap()), "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn holidays_and_makeup_days() {
        let c = cal();
        let day = |s: &str| Calendar::day_of_date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        assert_eq!(c.kind_of_day(day("2021-05-03")), DayKind::Holiday);
        assert_eq!(c.kind_of_day(day("2021-04-25")), DayKind::Working); // a Sunday made a working day
        assert_eq!(c.kind_of_day(day("2021-05-09")), DayKind::Weekend);
        assert_eq!(c.kind_of_day(day("2021-05-06")), DayKind::Working);
    }

    #[test]
    fn two_working_days_skip_the_holiday() {
        let c = cal();
        // Paid on Fri 30 April: Sat 1 May .. Wed 5 May are holidays, Thu 6 May is the first
        // working day and Fri 7 May the second.
        let t = SimTime::from_datetime(&DateTime::parse_from_rfc3339("2021-04-30T10:00:00+08:00").unwrap());
        let visible = c.nth_working_day_after(t, 2);
        assert_eq!(visible.format(c.offset), "2021-05-07T00:00:00+08:00");
    }

    #[test]
    fn the_day_caching_writer_writes_what_write_rfc3339_writes() {
        for offset in
            [FixedOffset::east_opt(8 * 3600).unwrap(), FixedOffset::west_opt(5 * 3600 + 1800).unwrap(), FixedOffset::east_opt(0).unwrap()]
        {
            let mut w = Rfc3339Writer::new(offset);
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            // Instants around 2021 (back and forth across days), whole seconds, and before 1970.
            let mut ts: Vec<i64> = vec![0, -1, 1, -1_500_000, 1_619_798_400_000_000, 1_619_798_399_999_999, 1_619_798_400_000_001];
            for _ in 0..5000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let t = 1_600_000_000_000_000 + (x % 100_000_000_000_000) as i64;
                ts.push(if x.is_multiple_of(5) { t - t % MICROS_PER_SECOND } else { t });
            }
            for t in ts {
                let (mut a, mut b) = (String::new(), String::new());
                SimTime(t).write_rfc3339(offset, &mut a);
                w.write(SimTime(t), &mut b);
                assert_eq!(a, b, "{t} at {offset}");
            }
        }
    }
}
