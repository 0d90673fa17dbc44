//! What the hosts feed while the run goes: the recorder (every attempt and answer), the days
//! and the dues it keeps, the auditors' reports.

pub mod audit;
pub mod days;
pub mod dues;
pub mod recorder;

/// Each thread's or system's counts of the run, summed.
impl std::ops::AddAssign<&crate::report::EngineStats> for crate::report::EngineStats {
    fn add_assign(&mut self, b: &crate::report::EngineStats) {
        self.events += b.events;
        self.payers_active += b.payers_active;
        self.agents += b.agents;
        self.batch_members += b.batch_members;
        self.in_flight_at_end += b.in_flight_at_end;
        self.pending_at_end += b.pending_at_end;
        self.unserved_at_end += b.unserved_at_end;
        self.turned_away_full_hall += b.turned_away_full_hall;
        self.turned_away_at_closing += b.turned_away_at_closing;
        self.hotline_abandoned += b.hotline_abandoned;
    }
}
