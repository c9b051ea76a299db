//! Every header and word of the exports, in Vietnamese and English.

use doorstep_core::vocab::BlockerReason;

/// Every header and word of the exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Word {
    Commune,
    Village,
    HouseholdId,
    Head,
    Day,
    Time,
    Outcome,
    FollowUpOn,
    Volunteer,
    Unit,
    ReferredBy,
    Notes,
    Person,
    Pack,
    Version,
    Status,
    StepsDone,
    StepsTotal,
    BlockedBy,
    StartedOn,
    Households,
    Reached,
    NotVisited,
    FollowUpDue,
    InProgress,
    Done,
    Runs,
    Completed,
    Blocked,
    UnderWay,
    ResidentsHelped,
    Filter,
    Value,
    From,
    To,
    AsOf,
    All,
    WholeCommune,
    UnknownVillage,
    Summary,
    Visits,
    Checklists,
    Coverage,
}

/// The one table of words: (Vietnamese, English).
pub(super) fn words(w: Word) -> (&'static str, &'static str) {
    use Word as W;
    match w {
        W::Commune => ("Xã", "Commune"),
        W::Village => ("Thôn/Bản", "Village"),
        W::HouseholdId => ("Mã hộ", "Household id"),
        W::Head => ("Chủ hộ", "Head of household"),
        W::Day => ("Ngày thăm", "Visit day"),
        W::Time => ("Giờ", "Time"),
        W::Outcome => ("Kết quả", "Outcome"),
        W::FollowUpOn => ("Hẹn quay lại", "Follow-up on"),
        W::Volunteer => ("Tình nguyện viên", "Volunteer"),
        W::Unit => ("Đơn vị", "Unit"),
        W::ReferredBy => ("Người giới thiệu", "Referred by"),
        W::Notes => ("Ghi chú", "Notes"),
        W::Person => ("Người được hướng dẫn", "Person helped"),
        W::Pack => ("Gói hướng dẫn", "Checklist"),
        W::Version => ("Phiên bản", "Version"),
        W::Status => ("Trạng thái", "Status"),
        W::StepsDone => ("Số bước đã xong", "Steps done"),
        W::StepsTotal => ("Tổng số bước", "Steps in all"),
        W::BlockedBy => ("Lý do vướng", "Blocked by"),
        W::StartedOn => ("Ngày bắt đầu", "Started on"),
        W::Households => ("Số hộ", "Households"),
        W::Reached => ("Đã tiếp cận", "Reached"),
        W::NotVisited => ("Chưa thăm", "Not visited"),
        W::FollowUpDue => ("Cần quay lại", "Follow-up due"),
        W::InProgress => ("Đang thực hiện", "In progress"),
        W::Done => ("Đã xong", "Done"),
        W::Runs => ("Số lượt", "Runs"),
        W::Completed => ("Hoàn thành", "Completed"),
        W::Blocked => ("Bị vướng", "Blocked"),
        W::UnderWay => ("Đang làm", "Under way"),
        W::ResidentsHelped => ("Người dân được giúp", "Residents helped"),
        W::Filter => ("Bộ lọc", "Filter"),
        W::Value => ("Giá trị", "Value"),
        W::From => ("Từ ngày", "From"),
        W::To => ("Đến ngày", "To"),
        W::AsOf => ("Tình trạng tính đến ngày", "Status as of"),
        W::All => ("Tất cả", "All"),
        W::WholeCommune => ("Cả xã", "Whole commune"),
        W::UnknownVillage => ("Không rõ thôn", "Unknown village"),
        W::Summary => ("Tổng hợp", "Summary"),
        W::Visits => ("Lượt thăm", "Visits"),
        W::Checklists => ("Hướng dẫn", "Checklists"),
        W::Coverage => ("Độ phủ", "Coverage"),
    }
}

pub(super) fn word(w: Word, lang: &str) -> &'static str {
    let (vi, en) = words(w);
    if lang == "en" { en } else { vi }
}

/// The word for a code of a closed list (visit outcomes, run statuses,
/// units, blocker reasons); an unknown code is shown as it is.
/// doorstep-core's `labels` has blocker reasons only, so the others live
/// here until the app needs them too.
pub(super) fn code_word(code: &str, lang: &str) -> String {
    let pair = match code {
        "helped" => ("Đã giúp được", "Helped"),
        "partial" => ("Giúp được một phần", "Partly helped"),
        "nobody_home" => ("Không có ai ở nhà", "Nobody home"),
        "declined" => ("Từ chối", "Declined"),
        "revisit" => ("Hẹn quay lại", "Come back later"),
        "not_started" => ("Chưa bắt đầu", "Not started"),
        "in_progress" => ("Đang làm", "In progress"),
        "blocked" => ("Bị vướng", "Blocked"),
        "completed" => ("Hoàn thành", "Completed"),
        "culture_society" => ("Văn hóa - Xã hội", "Culture and society"),
        "commune_police" => ("Công an xã", "Commune police"),
        "public_service_centre" => ("Trung tâm Phục vụ hành chính công", "Public service centre"),
        "social_insurance" => ("Bảo hiểm xã hội", "Social insurance"),
        "telecom" => ("Nhà mạng viễn thông", "Telecom operator"),
        "anti_corruption" => ("Phòng, chống tham nhũng", "Anti-corruption"),
        "youth_union" => ("Đoàn Thanh niên", "Youth union"),
        "village_digital_team" => ("Tổ công nghệ số cộng đồng", "Community digital team"),
        "other" => ("Khác", "Other"),
        _ => return code.to_owned(),
    };
    if lang == "en" { pair.1 } else { pair.0 }.to_owned()
}

/// A checklist pack's title in the language (the built-in packs' titles,
/// as the dashboard shows them); a pack not built in keeps its key.
pub(super) fn pack_word(key: &str, lang: &str) -> String {
    doorstep_ingest::pack_catalog::bundled_packs()
        .iter()
        .find(|p| p.key == key)
        .map_or_else(
            || key.to_owned(),
            |p| doorstep_core::pack::Pack::text(&p.title, lang).to_owned(),
        )
}

/// A blocker reason in words (doorstep-core's labels, as on the tablet).
pub(super) fn blocker_word(code: &str, lang: &str) -> String {
    match code.parse::<BlockerReason>() {
        // The tablet's label for "other" asks for a note; a report says less.
        Ok(BlockerReason::Other) | Err(_) => code_word(code, lang),
        Ok(reason) => doorstep_core::labels::blocker(reason, lang).to_owned(),
    }
}
