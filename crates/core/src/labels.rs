//! What the codes of a checklist pack are called in each language the app
//! speaks, so a reader of one language never meets a raw code: blocker
//! reasons, prerequisites, phone kinds and NFC use.
//!
//! Vietnamese is the reference; English and Arabic translate it. The app
//! and the command line both read labels from here, so they say the same.

use crate::pack::{NfcUse, PhoneKind, Prerequisite};
use crate::vocab::BlockerReason;

/// A text in the three locales: (vi, en, ar).
type Tri = (&'static str, &'static str, &'static str);

fn pick(t: Tri, locale: &str) -> &'static str {
    match locale {
        "en" => t.1,
        "ar" => t.2,
        _ => t.0,
    }
}

/// A blocker reason, as the volunteer picks it on the Blocked screen.
pub fn blocker(reason: BlockerReason, locale: &str) -> &'static str {
    use BlockerReason as B;
    let t = match reason {
        B::NoSmartphone => ("Không có điện thoại thông minh", "No smartphone", "لا يوجد هاتف ذكي"),
        B::PhoneOldOrFull => (
            "Điện thoại quá cũ hoặc hết bộ nhớ",
            "Phone too old or out of storage",
            "الهاتف قديم جدًا أو ذاكرته ممتلئة",
        ),
        B::NoChipIdCard => (
            "Chưa có thẻ Căn cước gắn chip",
            "No chip ID card",
            "لا توجد بطاقة هوية بشريحة",
        ),
        B::PhoneNotInOwnName => (
            "Số điện thoại không đứng tên người dân",
            "Phone number not in the resident's name",
            "رقم الهاتف ليس باسم الساكن",
        ),
        B::NoSmsAccess => (
            "Không nhận được tin nhắn hoặc quên mật khẩu",
            "No access to text messages, or password forgotten",
            "لا يصل إلى الرسائل النصية أو نسي كلمة المرور",
        ),
        B::NoSignal => ("Không có sóng điện thoại", "No mobile signal", "لا توجد تغطية للهاتف"),
        B::Declined => ("Người dân từ chối", "The resident declined", "رفض الساكن"),
        B::NeedsFamilyMember => (
            "Cần người nhà có mặt",
            "A family member needs to be there",
            "يلزم حضور أحد أفراد الأسرة",
        ),
        B::Other => ("Lý do khác (ghi chú)", "Other (write a note)", "سبب آخر (اكتب ملاحظة)"),
    };
    pick(t, locale)
}

/// A prerequisite, in a pack's "what you need" list.
pub fn prerequisite(p: Prerequisite, locale: &str) -> &'static str {
    use Prerequisite as P;
    let t = match p {
        P::Smartphone => ("Điện thoại thông minh", "A smartphone", "هاتف ذكي"),
        P::ChipIdCard => ("Thẻ Căn cước gắn chip", "A chip ID card", "بطاقة هوية بشريحة"),
        P::PhoneInOwnName => (
            "Số điện thoại đứng tên mình",
            "A phone number in one's own name",
            "رقم هاتف باسم الشخص نفسه",
        ),
        P::SmsAccess => (
            "Nhận được tin nhắn ở số đó",
            "Texts arrive on that number",
            "تصل الرسائل النصية إلى ذلك الرقم",
        ),
        P::Internet => (
            "Có mạng (3G/4G hoặc Wi-Fi)",
            "Internet (mobile data or Wi-Fi)",
            "اتصال بالإنترنت (بيانات الجوال أو Wi-Fi)",
        ),
        P::VneidLevel2 => (
            "Tài khoản VNeID mức 2",
            "A level-2 VNeID account",
            "حساب VNeID من المستوى 2",
        ),
        P::BankOrWallet => (
            "Tài khoản ngân hàng hoặc ví điện tử",
            "A bank account or e-wallet",
            "حساب مصرفي أو محفظة إلكترونية",
        ),
        P::InsuranceNumber => (
            "Mã số bảo hiểm xã hội (trên thẻ BHYT)",
            "The social-insurance number (on the health-insurance card)",
            "رقم الضمان الاجتماعي (على بطاقة التأمين الصحي)",
        ),
        P::BillCustomerCode => (
            "Mã khách hàng trên hoá đơn điện, nước",
            "The customer code on the electricity or water bill",
            "رمز العميل على فاتورة الكهرباء أو الماء",
        ),
        P::Email => ("Địa chỉ email", "An e-mail address", "عنوان بريد إلكتروني"),
    };
    pick(t, locale)
}

/// A kind of phone.
pub fn phone_kind(k: PhoneKind, locale: &str) -> &'static str {
    match k {
        PhoneKind::Android => pick(("Điện thoại Android", "Android phone", "هاتف Android"), locale),
        PhoneKind::Iphone => pick(("iPhone", "iPhone", "iPhone"), locale),
    }
}

/// The kind of phone a resident has (the person record's field).
pub fn resident_phone(k: crate::vocab::PhoneKind, locale: &str) -> &'static str {
    use crate::vocab::PhoneKind as K;
    let t = match k {
        K::Android => ("Điện thoại Android", "Android phone", "هاتف Android"),
        K::Ios => ("iPhone", "iPhone", "iPhone"),
        K::FeaturePhone => (
            "Điện thoại thường (chỉ gọi và nhắn tin)",
            "Basic phone (calls and SMS only)",
            "هاتف عادي (مكالمات ورسائل فقط)",
        ),
        K::NoPhone => ("Không có điện thoại", "No phone", "لا يوجد هاتف"),
    };
    pick(t, locale)
}

/// Whether NFC is needed.
pub fn nfc(n: NfcUse, locale: &str) -> &'static str {
    match n {
        NfcUse::Needed => pick(
            (
                "Cần điện thoại có NFC để đọc chip trên thẻ",
                "Needs a phone with NFC to read the card's chip",
                "يلزم هاتف يدعم NFC لقراءة شريحة البطاقة",
            ),
            locale,
        ),
        NfcUse::Helps => pick(
            (
                "Điện thoại có NFC giúp đọc chip trên thẻ nhanh hơn",
                "A phone with NFC reads the card's chip more easily",
                "الهاتف الذي يدعم NFC يقرأ شريحة البطاقة بسهولة أكبر",
            ),
            locale,
        ),
    }
}

/// Headings of a pack printed for reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heading {
    /// "What you need".
    Needs,
    /// "Phone".
    Phone,
    /// "Step".
    Step,
    /// "Tip for the volunteer".
    Tip,
    /// "How to check".
    Verify,
    /// "Can be blocked by".
    Blockers,
    /// "Sources".
    Sources,
    /// "checked on".
    CheckedOn,
    /// "Version".
    Version,
    /// "For trainees".
    ForTrainees,
    /// "from Android".
    FromAndroid,
    /// "from iOS".
    FromIos,
}

/// A heading in a locale.
pub fn heading(h: Heading, locale: &str) -> &'static str {
    use Heading as H;
    let t = match h {
        H::Needs => ("Cần có", "What you need", "ما يلزم"),
        H::Phone => ("Điện thoại", "Phone", "الهاتف"),
        H::Step => ("Bước", "Step", "الخطوة"),
        H::Tip => ("Mẹo cho tình nguyện viên", "Tip for the volunteer", "نصيحة للمتطوع"),
        H::Verify => ("Cách kiểm tra", "How to check", "كيف تتحقق"),
        H::Blockers => ("Có thể vướng vì", "Can be blocked by", "قد يتعذّر بسبب"),
        H::Sources => ("Nguồn", "Sources", "المصادر"),
        H::CheckedOn => ("kiểm tra ngày", "checked on", "تاريخ التحقق"),
        H::Version => ("Phiên bản", "Version", "الإصدار"),
        H::ForTrainees => ("Dành cho học viên", "For trainees", "للمتدربين"),
        H::FromAndroid => ("Android từ bản", "Android from version", "Android من الإصدار"),
        H::FromIos => ("iOS từ bản", "iOS from version", "iOS من الإصدار"),
    };
    pick(t, locale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::REQUIRED_LOCALES;

    fn arabic(s: &str) -> bool {
        s.chars().any(|c| ('\u{0620}'..='\u{064A}').contains(&c))
    }

    #[test]
    fn every_code_has_a_label_in_every_locale() {
        let mut all: Vec<(String, [&str; 3])> = Vec::new();
        let tri = |f: &dyn Fn(&str) -> &'static str| [f("vi"), f("en"), f("ar")];
        for b in BlockerReason::ALL {
            all.push((b.to_string(), tri(&|l| blocker(*b, l))));
        }
        for p in Prerequisite::ALL {
            all.push((p.to_string(), tri(&|l| prerequisite(*p, l))));
        }
        for n in NfcUse::ALL {
            all.push((n.to_string(), tri(&|l| nfc(*n, l))));
        }
        assert_eq!(REQUIRED_LOCALES, ["vi", "en", "ar"]);
        for (code, [vi, en, ar]) in all {
            assert!(!vi.is_empty() && !en.is_empty(), "{code}");
            assert!(arabic(ar), "{code}: {ar}");
            assert_ne!(vi, en, "{code}");
        }
    }
}
