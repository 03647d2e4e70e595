//! What needs the administrator's attention in a company, as 診断 lists it and every company
//! page's banner counts it: the FAQ's four cases, 乖離 days without a reason and, in remote mode,
//! sending that is paused or failed. Read here once for both, so the banner and the screen never disagree.

use jiff::Timestamp;
use loginrec_rules::DayChangeTime;
use loginrec_store::{Company, Store};

use crate::ui::error::UiError;

/// The problems of one company, gathered from its data.
pub(crate) struct Diagnostics {
    pub unlinked: Vec<loginrec_store::diagnostics::UnlinkedAccount>,
    pub mismatched: Vec<loginrec_store::diagnostics::DayChangeMismatch>,
    pub shared: Vec<loginrec_store::diagnostics::SharedAccount>,
    pub collection_start: DayChangeTime,
    pub stale: bool,
    pub last_ingest_ms: Option<i64>,
    /// Remote mode: why sending is paused, and outbox rows that need a person.
    pub remote_paused: Option<String>,
    pub remote_problems: Vec<(String, i64)>,
    /// 乖離 days without a reason since the first of last month ([`unexplained_since`]).
    pub unexplained_divergences: usize,
}

/// The first day of the month before today's, in the company's time zone: HR closes a month in
/// the next one, so last month's 乖離 still wait for their reasons.
pub(crate) fn unexplained_since(company: &Company) -> Result<jiff::civil::Date, UiError> {
    let today = company.tz()?.to_datetime(Timestamp::now()).date();
    Ok(today.first_of_month().yesterday().map(|d| d.first_of_month()).unwrap_or(today))
}

/// How many 乖離 days since [`unexplained_since`] have no reason recorded.
pub(crate) async fn unexplained_divergences(store: &Store, company: &Company) -> Result<usize, UiError> {
    let filter = loginrec_store::DivergenceFilter {
        from: Some(unexplained_since(company)?),
        only_unexplained: true,
        ..Default::default()
    };
    Ok(store.divergences(company.id, &filter).await?.len())
}

const STALE_AFTER_MS: i64 = 24 * 3600 * 1000;
const SHARED_WINDOW_MS: i64 = 31 * 24 * 3600 * 1000;

impl Diagnostics {
    pub(crate) async fn gather(store: &Store, company: &Company) -> Result<Diagnostics, UiError> {
        let collection_start = company
            .connector_collection_start
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DayChangeTime::LANSCOPE_DEFAULT);
        let mismatched = store.day_change_mismatches(company, collection_start).await?;
        let now = Timestamp::now().as_millisecond();
        let stale = company.lanscope_enabled && company.last_ingest_at_ms.is_none_or(|t| now - t > STALE_AFTER_MS);
        Ok(Diagnostics {
            unlinked: store.unlinked_accounts(company.id).await?,
            mismatched,
            shared: store.shared_accounts(company, now - SHARED_WINDOW_MS, collection_start).await?,
            collection_start,
            stale,
            last_ingest_ms: company.last_ingest_at_ms,
            remote_paused: company.remote_paused_reason.clone(),
            remote_problems: store
                .remote()
                .remote_punch_states(company.id)
                .await?
                .into_iter()
                .filter(|(state, _)| state == "failed" || state == "unknown")
                .collect(),
            unexplained_divergences: unexplained_divergences(store, company).await?,
        })
    }

    pub(crate) fn count(&self) -> usize {
        self.unlinked.len()
            + self.mismatched.len()
            + self.shared.len()
            + usize::from(self.stale)
            + usize::from(self.remote_paused.is_some())
            + self.remote_problems.len()
            + self.unexplained_divergences
    }
}
