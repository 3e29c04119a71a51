//! The date field of an entry record (§6): a calendar date stored as the decimal number
//! `YYYYMMDD`, or 0 for none.

use std::fmt;

/// A calendar date (proleptic Gregorian, years 0..=9999), as stored in an entry record.
///
/// A `Date` is always valid: the constructors refuse month 13, February 30, and
/// February 29 outside leap years.
///
/// ```
/// use quire::Date;
/// let d = Date::parse("2002-03-14").unwrap();
/// assert_eq!((d.year(), d.month(), d.day()), (2002, 3, 14));
/// assert_eq!(d.to_string(), "2002-03-14");
/// assert!(Date::new(2002, 2, 29).is_none());
/// assert!(Date::new(2004, 2, 29).is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// Days in `month` of `year`.
fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

impl Date {
    /// The date, if it exists: year ≤ 9999, month 1..=12, day within the month.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let valid = year <= 9999
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let year = u16::try_from(num(0..4)?).ok()?;
        let month = u8::try_from(num(5..7)?).ok()?;
        let day = u8::try_from(num(8..10)?).ok()?;
        Date::new(year, month, day)
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The stored form `YYYYMMDD`.
    pub fn to_u32(self) -> u32 {
        u32::from(self.year) * 10_000 + u32::from(self.month) * 100 + u32::from(self.day)
    }

    /// Decodes the stored form: `Ok(None)` for 0, `Err(v)` for a number that is no date.
    pub fn from_u32(v: u32) -> Result<Option<Date>, u32> {
        if v == 0 {
            return Ok(None);
        }
        let year = u16::try_from(v / 10_000).map_err(|_| v)?;
        let month = ((v / 100) % 100) as u8;
        let day = (v % 100) as u8;
        Date::new(year, month, day).map(Some).ok_or(v)
    }
}

/// What [`Date`]'s [`FromStr`](std::str::FromStr) says of a string that is no date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDate(String);

impl fmt::Display for BadDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a date of the form YYYY-MM-DD", self.0)
    }
}

impl std::error::Error for BadDate {}

/// `"2002-03-14".parse::<Date>()`: [`Date::parse`] with an error.
///
/// ```
/// use quire::Date;
/// let d: Date = "2002-03-14".parse()?;
/// assert_eq!(d.to_string(), "2002-03-14");
/// assert!("2002-02-30".parse::<Date>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl std::str::FromStr for Date {
    type Err = BadDate;

    fn from_str(s: &str) -> Result<Date, BadDate> {
        Date::parse(s).ok_or_else(|| BadDate(s.to_owned()))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::Date;

    #[test]
    fn dates() {
        let d = Date::parse("2002-03-14").unwrap();
        assert_eq!(d.to_u32(), 20020314);
        assert_eq!(Date::from_u32(20020314), Ok(Some(d)));
        assert_eq!(d.to_string(), "2002-03-14");
        assert_eq!(Date::parse("2002-13-14"), None);
        assert_eq!(Date::parse("2002-3-14"), None);
        assert_eq!(Date::parse("2002-02-31"), None);
        assert_eq!(Date::parse("1900-02-29"), None);
        assert!(Date::parse("2000-02-29").is_some());
        assert_eq!(Date::from_u32(20021301), Err(20021301));
        assert_eq!(Date::from_u32(0), Ok(None));
        assert_eq!(Date::new(10_000, 1, 1), None);
    }
}
