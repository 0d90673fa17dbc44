//! The months a payment covers: what, with the payer and the insurance type, makes two
//! payments the same fee paid twice whatever their keys and channels.

use crate::time::{Calendar, SimTime};

/// A run of months: `first` counted from year 0 (`year * 12 + month - 1`), `months` long.
/// `months == 0` is a period nobody named (a request from a client that does not send one):
/// it overlaps nothing, so the business-level duplicate check does not apply to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub(crate) struct Period {
    pub first: u32,
    pub months: u16,
}

impl Period {
    pub(crate) const UNKNOWN: Period = Period { first: 0, months: 0 };

    pub(crate) fn month(year: i32, month: u32) -> u32 {
        (year.max(0) as u32) * 12 + month.clamp(1, 12) - 1
    }

    /// The local month holding instant `t`.
    pub(crate) fn month_of(t: SimTime, calendar: &Calendar) -> u32 {
        use chrono::Datelike;
        let d = calendar.date_of_day(calendar.local_day(t));
        Period::month(d.year(), d.month())
    }

    /// Whether the two share a month (an unknown period shares none).
    pub(crate) fn overlaps(&self, o: &Period) -> bool {
        self.months > 0 && o.months > 0 && self.first < o.first + o.months as u32 && o.first < self.first + self.months as u32
    }

    /// The first month as "YYYY-MM".
    pub(crate) fn first_text(self) -> String {
        format!("{:04}-{:02}", self.first / 12, self.first % 12 + 1)
    }

    /// [`Period::first_text`] appended to `out` without a `String` of its own (every payment
    /// a run sends names its period).
    pub(crate) fn write_first(self, out: &mut Vec<u8>) {
        let (y, m) = (self.first / 12, self.first % 12 + 1);
        if y >= 10_000 {
            out.extend_from_slice(self.first_text().as_bytes());
            return;
        }
        let digit = |n: u32| b'0' + (n % 10) as u8;
        out.extend_from_slice(&[digit(y / 1000), digit(y / 100), digit(y / 10), digit(y), b'-', digit(m / 10), digit(m)]);
    }

    /// "YYYY-MM" (one month) or "YYYY-MM+N" (N months from it); "" if unknown.
    pub(crate) fn to_text(self) -> String {
        match self.months {
            0 => String::new(),
            1 => self.first_text(),
            n => format!("{}+{n}", self.first_text()),
        }
    }

    /// The most months one payment may cover: twenty years of arrears.
    pub(crate) const MAX_MONTHS: u16 = 240;

    /// Read "YYYY-MM" and a count of months (1 to [`Period::MAX_MONTHS`]).
    pub(crate) fn parse(first: &str, months: u16) -> Option<Period> {
        let (y, m) = first.split_once('-')?;
        let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
        if y.to_string().len() != 4 || !(1..=12).contains(&m) || !(1..=Period::MAX_MONTHS).contains(&months) {
            return None;
        }
        Some(Period { first: Period::month(y, m), months })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_month_written_in_place_is_its_text() {
        for first in (0..200_000).step_by(7).chain([0, 11, 12, 119_999, 120_000, 120_011, u32::MAX]) {
            let p = Period { first, months: 1 };
            let mut out = b"x".to_vec();
            p.write_first(&mut out);
            assert_eq!(&out[1..], p.first_text().as_bytes(), "{first}");
        }
    }

    #[test]
    fn periods_overlap_when_they_share_a_month() {
        let april = Period { first: Period::month(2021, 4), months: 1 };
        let year = Period { first: Period::month(2021, 1), months: 12 };
        let may = Period { first: Period::month(2021, 5), months: 1 };
        assert!(april.overlaps(&year) && year.overlaps(&april));
        assert!(!april.overlaps(&may) && !may.overlaps(&april));
        assert!(!april.overlaps(&Period::UNKNOWN));
        assert_eq!(april.to_text(), "2021-04");
        assert_eq!(year.to_text(), "2021-01+12");
        assert_eq!(Period::parse("2021-04", 1), Some(april));
        assert_eq!(Period::parse("2021-13", 1), None);
        assert_eq!(Period::parse("21-04", 1), None);
        assert_eq!(Period::parse("2021-04", Period::MAX_MONTHS).map(|p| p.months), Some(240));
        assert_eq!(Period::parse("2021-04", Period::MAX_MONTHS + 1), None);
        assert_eq!(Period::parse("2021-04", u16::MAX), None);
    }
}
