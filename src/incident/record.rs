//! What the team wrote down: the root cause, mitigations, notes and customer updates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::{Change, Event};
use crate::model::Actor;
use crate::text::Text;

/// A dated, attributed piece of text: a note, a mitigation, a customer update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Entry {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: Actor,
    /// What it says.
    pub text: Text,
}

/// The incident's part that owns what the team wrote down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) root_cause: Option<Text>,
    pub(super) mitigations: Vec<Entry>,
    pub(super) notes: Vec<Entry>,
    pub(super) customer_updates: Vec<Entry>,
}

impl Record {
    /// Folds `event`.
    pub(super) fn apply(&mut self, event: &Event) {
        let entry = |text: &Text| Entry {
            at: event.at,
            by: event.actor.clone(),
            text: text.clone(),
        };
        match &event.change {
            Change::RootCauseIdentified { root_cause } => {
                self.root_cause = Some(root_cause.clone());
            }
            Change::Mitigated { action } => super::push_small(&mut self.mitigations, entry(action)),
            Change::NoteAdded { text } => super::push_small(&mut self.notes, entry(text)),
            Change::CustomerUpdatePosted { message } => {
                super::push_small(&mut self.customer_updates, entry(message));
            }
            _ => {}
        }
    }
}
