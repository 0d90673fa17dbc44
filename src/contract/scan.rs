//! The contract's flat JSON read by hand, where serde's reading showed in profiles: a
//! success's answer (the driver reads one per request) and a payment's body (the server
//! reads one per payment). Each takes only the plain shape its writers send (no escapes,
//! fractions, nesting beyond `items_fen`, a member twice) and gives `None` for anything
//! else, which serde then reads or refuses as before; what a scan takes it reads as serde
//! does (held so by tests).

use super::{AnswerIn, PaymentIn};
use crate::model::TargetId;
use crate::population::Items;
use crate::scenario::{GroupKind, Insurance};
use serde::Deserialize;
use std::borrow::Cow;

/// A value of a flat answer, as [`scan_answer`] reads it.
enum Val<'a> {
    Num(u64),
    Bool(bool),
    Null,
    Str(&'a str),
}

/// Past JSON's whitespace (space, tab, line feed, carriage return: not form feed, which
/// `is_ascii_whitespace` would also take and serde refuses).
fn skip_ws(body: &[u8], i: &mut usize) {
    while body.get(*i).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        *i += 1;
    }
}

/// The string at `*i` (its opening quote), without escapes (else `None`: serde reads it).
fn scan_string<'a>(body: &'a [u8], i: &mut usize) -> Option<&'a [u8]> {
    let start = *i + 1;
    let rest = body.get(start..)?;
    let len = memchr::memchr(b'"', rest)?;
    // No escape or control character before it (one pass the compiler vectorizes).
    if rest[..len].iter().fold(false, |bad, &b| bad | (b == b'\\') | (b < 0x20)) {
        return None;
    }
    *i = start + len + 1;
    Some(&body[start..start + len])
}

/// The value at `*i`: a string, a whole number, true, false or null (else `None`).
fn scan_value<'a>(body: &'a [u8], i: &mut usize) -> Option<Val<'a>> {
    Some(match body.get(*i)? {
        b'"' => Val::Str(std::str::from_utf8(scan_string(body, i)?).ok()?),
        b'0'..=b'9' => {
            let len = body[*i..].iter().position(|b| !b.is_ascii_digit()).unwrap_or(body.len() - *i);
            // A fraction, an exponent or a leading zero (which JSON does not allow): serde's.
            if matches!(body.get(*i + len), Some(b'.' | b'e' | b'E')) || (len > 1 && body[*i] == b'0') {
                return None;
            }
            let n = body[*i..*i + len].iter().try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))?;
            *i += len;
            Val::Num(n)
        }
        _ if body[*i..].starts_with(b"true") => {
            *i += 4;
            Val::Bool(true)
        }
        _ if body[*i..].starts_with(b"false") => {
            *i += 5;
            Val::Bool(false)
        }
        _ if body[*i..].starts_with(b"null") => {
            *i += 4;
            Val::Null
        }
        _ => return None,
    })
}

/// A unit variant of `T` (an enum read from a string, as the contract's names are) by serde's
/// own mapping of its names.
fn variant<'a, T: Deserialize<'a>>(name: &'a str) -> Option<T> {
    T::deserialize(serde::de::value::BorrowedStrDeserializer::<serde::de::value::Error>::new(name)).ok()
}

/// Past `:` and the whitespace around it, after a member's name.
fn colon(body: &[u8], i: &mut usize) -> Option<()> {
    skip_ws(body, i);
    (body.get(*i) == Some(&b':')).then_some(())?;
    *i += 1;
    skip_ws(body, i);
    Some(())
}

/// Past a member's end: `,` (then `false`: another member follows) or the object's `}`
/// (then `true`), with the whitespace around.
fn member_end(body: &[u8], i: &mut usize) -> Option<bool> {
    skip_ws(body, i);
    let end = match body.get(*i)? {
        b',' => false,
        b'}' => true,
        _ => return None,
    };
    *i += 1;
    skip_ws(body, i);
    Some(end)
}

/// `items_fen`'s object at `*i`, as [`items_in`] reads it: insurance names to whole amounts,
/// a later amount of a type replacing an earlier one. `None` for what serde reads otherwise
/// (a negative amount among them) or refuses.
fn scan_items(body: &[u8], i: &mut usize) -> Option<Items> {
    let mut items = [0; 6];
    (body.get(*i) == Some(&b'{')).then_some(())?;
    *i += 1;
    skip_ws(body, i);
    if body.get(*i) == Some(&b'}') {
        *i += 1;
        return Some(items);
    }
    loop {
        (body.get(*i) == Some(&b'"')).then_some(())?;
        let name = std::str::from_utf8(scan_string(body, i)?).ok()?;
        let kind: Insurance = variant(name)?;
        colon(body, i)?;
        let Val::Num(fen) = scan_value(body, i)? else { return None };
        items[kind.index()] = i64::try_from(fen).ok()?;
        if member_end(body, i)? {
            return Some(items);
        }
    }
}

/// A payment's body read without serde when it is the flat shape the driver and the
/// contract's clients send: serde's reading was the server's largest part of a payment after
/// HTTP (about 6 k instructions of a run's body). `None` for anything else (escapes, a member
/// twice or unknown, a fraction, a negative amount, a string identifier), which serde then
/// reads or refuses as before; what it takes, it reads as serde does (held so by a test).
pub(crate) fn scan_payment(body: &[u8]) -> Option<PaymentIn<'_>> {
    let mut i = 0;
    skip_ws(body, &mut i);
    (body.get(i) == Some(&b'{')).then_some(())?;
    i += 1;
    skip_ws(body, &mut i);
    let (mut payer_id, mut group, mut league, mut channel, mut items_fen) = (None, None, None, None, None);
    let (mut period, mut period_months, mut special, mut assessment_id) = (None, None, false, None);
    let mut seen = 0u32;
    loop {
        (body.get(i) == Some(&b'"')).then_some(())?;
        let slot = match scan_string(body, &mut i)? {
            b"payer_id" => 0,
            b"group" => 1,
            b"league" => 2,
            b"channel" => 3,
            b"items_fen" => 4,
            b"period" => 5,
            b"period_months" => 6,
            b"special" => 7,
            b"assessment_id" => 8,
            _ => return None,
        };
        if seen & (1 << slot) != 0 {
            return None;
        }
        seen |= 1 << slot;
        colon(body, &mut i)?;
        if slot == 4 {
            items_fen = Some(scan_items(body, &mut i)?);
        } else {
            match (slot, scan_value(body, &mut i)?) {
                (0, Val::Num(n)) => payer_id = Some(u32::try_from(n).ok()?),
                (1, Val::Str(t)) => group = Some(variant::<GroupKind>(t)?),
                (2, Val::Str(t)) => league = Some(Cow::Borrowed(t)),
                (3, Val::Str(t)) => channel = Some(Cow::Borrowed(t)),
                (5 | 6 | 8, Val::Null) => {}
                (5, Val::Str(t)) => period = Some(Cow::Borrowed(t)),
                (6, Val::Num(n)) => period_months = Some(u16::try_from(n).ok()?),
                (7, Val::Bool(b)) => special = b,
                (8, Val::Num(n)) => assessment_id = Some(TargetId::Num(n)),
                _ => return None,
            }
        }
        if member_end(body, &mut i)? {
            break;
        }
    }
    (i == body.len()).then_some(())?;
    Some(PaymentIn {
        payer_id: payer_id?,
        group: group?,
        league: league?,
        channel: channel?,
        items_fen: items_fen?,
        period,
        period_months,
        special,
        assessment_id,
    })
}

/// The answer of a success, read without serde when it is the flat object this contract's
/// hosts send (numbers, booleans, null, strings without escapes): serde's parse showed in the
/// driver's profile. `None` for anything else (nesting, escapes, fractions, a member twice),
/// which serde then reads (or rejects) as before.
pub(super) fn scan_answer(body: &[u8]) -> Option<AnswerIn<'_>> {
    let mut i = 0;
    let ws = |i: &mut usize| skip_ws(body, i);
    let string = |i: &mut usize| scan_string(body, i);
    let mut a = AnswerIn::default();
    let mut seen = 0u32;
    ws(&mut i);
    if body.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    ws(&mut i);
    if body.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if body.get(i) != Some(&b'"') {
                return None;
            }
            let key = string(&mut i)?;
            colon(body, &mut i)?;
            let val = scan_value(body, &mut i)?;
            let slot = match key {
                b"assessment_id" => 0,
                b"payment_id" => 1,
                b"replayed" => 2,
                b"payments" => 3,
                b"latest_payment_id" => 4,
                b"certificate_id" => 5,
                b"accepted_at" => 6,
                _ => 7,
            };
            if slot < 7 {
                if seen & (1 << slot) != 0 {
                    return None;
                }
                seen |= 1 << slot;
            }
            match (slot, val) {
                (_, Val::Null) | (7, _) => {}
                (0, Val::Num(n)) => a.assessment_id = Some(TargetId::Num(n)),
                (1, Val::Num(n)) => a.payment_id = Some(TargetId::Num(n)),
                (2, Val::Bool(b)) => a.replayed = Some(b),
                (3, Val::Num(n)) => a.payments = Some(u32::try_from(n).ok()?),
                (4, Val::Num(n)) => a.latest_payment_id = Some(TargetId::Num(n)),
                (5, Val::Num(n)) => a.certificate_id = Some(TargetId::Num(n)),
                (6, Val::Str(t)) => a.accepted_at = Some(std::borrow::Cow::Borrowed(t)),
                _ => return None,
            }
            if member_end(body, &mut i)? {
                break;
            }
        }
    }
    ws(&mut i);
    (i == body.len()).then_some(a)
}
