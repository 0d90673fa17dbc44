//! Synthetic identifiers in the real formats, with valid check characters.
//!
//! Resident identity numbers follow GB 11643 (18 characters, check by
//! ISO 7064 MOD 11-2). Unit identifiers are unified social credit codes
//! (GB 32100, 18 characters, with an embedded GB 11714 organisation code).
//! Both use the administrative-division prefix `1599LL` (LL = league number):
//! Inner Mongolia's prefectures are numbered 1501-1529, so prefecture 99 is held
//! by no real person or unit. Numbers are unique for up to 30 million persons
//! and 1 million units per scenario.

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID.
pub(crate) fn resident_check(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (d, w) in first17.iter().zip(ID_WEIGHTS) {
        if !d.is_ascii_digit() {
            return None;
        }
        sum += (d - b'0') as u32 * w;
    }
    Some(ID_CHECK[(sum % 11) as usize])
}

/// A synthetic 18-character resident ID for person `index` of league `league` (0-based).
pub(crate) fn resident_id(league: u8, index: u64) -> String {
    // Birth date: 1930-01-01 plus one day per thousand persons, so (date, sequence) is unique.
    let epoch = chrono::NaiveDate::from_ymd_opt(1930, 1, 1).unwrap_or_default();
    let date = epoch + chrono::Days::new((index / 1000) % 32_000);
    let mut s = format!("1599{:02}{}{:03}", (league as u32 % 99) + 1, date.format("%Y%m%d"), index % 1000);
    // All 17 characters are digits by construction, so a check character exists.
    let check = resident_check(s.as_bytes()).unwrap_or(b'0');
    s.push(check as char);
    s
}

pub fn resident_id_valid(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 18 && resident_check(&b[..17]) == Some(b[17])
}

const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// GB 11714 check character of an 8-character organisation code body.
pub(crate) fn org_check(body: &[u8]) -> Option<u8> {
    if body.len() != 8 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in body.iter().zip(ORG_WEIGHTS) {
        let v = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'Z' => (c - b'A') as u32 + 10,
            _ => return None,
        };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        v => b'0' + v as u8,
    })
}

/// GB 32100 check character of the first 17 characters of a credit code.
pub(crate) fn uscc_check(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(USCC_WEIGHTS) {
        let v = USCC_CHARS.iter().position(|x| x == c)? as u32;
        sum += v * w;
    }
    let v = (31 - sum % 31) % 31;
    Some(USCC_CHARS[v as usize])
}

/// A synthetic unified social credit code for unit `index` in league `league`.
pub(crate) fn unit_code(league: u8, index: u64) -> String {
    let body = format!("99{:06}", index % 1_000_000);
    // The body is eight digits, so both check characters exist.
    let oc = org_check(body.as_bytes()).unwrap_or(b'0');
    let mut s = format!("911599{:02}{}{}", (league as u32 % 99) + 1, body, oc as char);
    let check = uscc_check(s.as_bytes()).unwrap_or(b'0');
    s.push(check as char);
    s
}

pub fn unit_code_valid(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 18 && org_check(&b[8..16]) == Some(b[16]) && uscc_check(&b[..17]) == Some(b[17])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_check_digits() {
        // The example number printed in GB 11643-1999.
        assert_eq!(resident_check(b"11010519491231002"), Some(b'X'));
        // Worked by hand: weights 3,7,9,10,5,8,4,2; 11 - sum mod 11.
        assert_eq!(org_check(b"00000000"), Some(b'0')); // 11 -> '0'
        assert_eq!(org_check(b"10000000"), Some(b'8')); // sum 3 -> 8
        assert_eq!(org_check(b"00000005"), Some(b'1')); // sum 10 -> 1
        assert_eq!(org_check(b"A0000000"), Some(b'3')); // A=10, sum 30 -> 11 - 8 = 3
        assert_eq!(org_check(b"40000000"), Some(b'X')); // sum 12 -> 11 - 1 = 10 -> 'X'
    }

    #[test]
    fn synthetic_ids_use_the_unassigned_prefecture() {
        let id = resident_id(0, 12_345);
        assert!(id.starts_with("159901"));
        assert!(resident_id_valid(&id));
        let code = unit_code(11, 42);
        assert_eq!(&code[2..8], "159912");
        assert!(unit_code_valid(&code));
    }

    proptest! {
        #[test]
        fn every_generated_id_validates(league in 0u8..12, index in 0u64..30_000_000) {
            prop_assert!(resident_id_valid(&resident_id(league, index)));
            prop_assert!(unit_code_valid(&unit_code(league, index % 1_000_000)));
        }

        #[test]
        fn a_changed_digit_breaks_the_check(index in 0u64..1_000_000, pos in 0usize..17, delta in 1u8..10) {
            let id = resident_id(3, index);
            let mut b = id.into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            prop_assert!(!resident_id_valid(std::str::from_utf8(&b).unwrap()));
        }
    }
}
