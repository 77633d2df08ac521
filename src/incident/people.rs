//! The people on the incident and what they learned: owner and handovers, responders, tasks,
//! reviews with their follow-ups, and customers' feedback.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::{Change, Event, Timer};
use crate::model::Actor;
use crate::people::{Feedback, FollowUp, Handover, Review, Task};

/// A post-incident review as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReviewRecord {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: Actor,
    /// The review.
    pub review: Review,
}

/// The incident's part that owns its people, tasks, reviews, follow-ups and feedback.
///
/// Owner, responders and handovers are on almost every incident and sit inline; tasks,
/// reviews, follow-ups and feedback are on few, so they share one box that exists only once
/// one of them is recorded (four empty lists inline cost 96 bytes on every incident, the box
/// 8). Stored (in snapshots) as one map of all seven fields, as before the box.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct People {
    pub(super) owner: Option<Actor>,
    pub(super) responders: Vec<Actor>,
    pub(super) handovers: Vec<Handover>,
    /// `Some` exactly when one of its lists is not empty (lists never shrink), so equal
    /// parts are equal values.
    pub(super) learned: Option<Box<Learned>>,
}

/// The lists of [`People`] most incidents never fill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Learned {
    tasks: Vec<Task>,
    reviews: Vec<ReviewRecord>,
    follow_ups: Vec<FollowUp>,
    feedback: Vec<Feedback>,
}

/// [`People`] as stored, borrowed for writing.
#[derive(Serialize)]
struct PeopleRef<'a> {
    owner: &'a Option<Actor>,
    responders: &'a [Actor],
    handovers: &'a [Handover],
    tasks: &'a [Task],
    reviews: &'a [ReviewRecord],
    follow_ups: &'a [FollowUp],
    feedback: &'a [Feedback],
}

/// [`People`] as stored, owned for reading.
#[derive(Deserialize)]
struct PeopleOwned {
    owner: Option<Actor>,
    responders: Vec<Actor>,
    handovers: Vec<Handover>,
    tasks: Vec<Task>,
    reviews: Vec<ReviewRecord>,
    follow_ups: Vec<FollowUp>,
    feedback: Vec<Feedback>,
}

impl Serialize for People {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PeopleRef {
            owner: &self.owner,
            responders: &self.responders,
            handovers: &self.handovers,
            tasks: self.tasks(),
            reviews: self.reviews(),
            follow_ups: self.follow_ups(),
            feedback: self.feedback(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for People {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<People, D::Error> {
        let stored = PeopleOwned::deserialize(deserializer)?;
        let learned = Learned {
            tasks: stored.tasks,
            reviews: stored.reviews,
            follow_ups: stored.follow_ups,
            feedback: stored.feedback,
        };
        let empty = learned.tasks.is_empty()
            && learned.reviews.is_empty()
            && learned.follow_ups.is_empty()
            && learned.feedback.is_empty();
        Ok(People {
            owner: stored.owner,
            responders: stored.responders,
            handovers: stored.handovers,
            learned: (!empty).then(|| Box::new(learned)),
        })
    }
}

impl People {
    /// The tasks, in the order added.
    pub(super) fn tasks(&self) -> &[Task] {
        self.learned.as_deref().map_or(&[], |l| &l.tasks)
    }

    /// The reviews, oldest first.
    pub(super) fn reviews(&self) -> &[ReviewRecord] {
        self.learned.as_deref().map_or(&[], |l| &l.reviews)
    }

    /// The follow-ups, numbered from 1.
    pub(super) fn follow_ups(&self) -> &[FollowUp] {
        self.learned.as_deref().map_or(&[], |l| &l.follow_ups)
    }

    /// Customers' feedback, oldest first.
    pub(super) fn feedback(&self) -> &[Feedback] {
        self.learned.as_deref().map_or(&[], |l| &l.feedback)
    }

    /// The box of rarely filled lists, made on first use.
    fn learned_mut(&mut self) -> &mut Learned {
        self.learned.get_or_insert_with(Box::default)
    }

    /// Task number `number`.
    pub(super) fn task(&self, number: u32) -> Option<&Task> {
        self.tasks().iter().find(|t| t.number == number)
    }

    /// Follow-up number `number`.
    pub(super) fn follow_up(&self, number: u32) -> Option<&FollowUp> {
        self.follow_ups().iter().find(|f| f.number == number)
    }

    fn task_mut(&mut self, number: u32) -> Option<&mut Task> {
        self.learned
            .as_deref_mut()?
            .tasks
            .iter_mut()
            .find(|t| t.number == number)
    }

    fn follow_up_mut(&mut self, number: u32) -> Option<&mut FollowUp> {
        self.learned
            .as_deref_mut()?
            .follow_ups
            .iter_mut()
            .find(|f| f.number == number)
    }

    /// Why `event` cannot happen here, if it cannot: a task added out of order, or a task or
    /// follow-up that does not exist (or was reminded already).
    pub(super) fn check(&self, event: &Event) -> Option<String> {
        match &event.change {
            Change::TaskAdded { task, .. } if *task as usize != self.tasks().len() + 1 => {
                Some(format!("task {task} added out of order"))
            }
            Change::TaskAssigned { task, .. } | Change::TaskCompleted { task }
                if self.task(*task).is_none() =>
            {
                Some(format!("no task {task}"))
            }
            Change::FollowUpCompleted { follow_up } if self.follow_up(*follow_up).is_none() => {
                Some(format!("no follow-up {follow_up}"))
            }
            Change::TimerFired {
                timer: Timer::FollowUpOverdue { follow_up, .. },
            } => match self.follow_up(*follow_up) {
                None => Some(format!("reminder for unknown follow-up {follow_up}")),
                Some(f) if f.reminded => Some(format!("follow-up {follow_up} reminded twice")),
                Some(_) => None,
            },
            _ => None,
        }
    }

    /// Folds `event`.
    pub(super) fn apply(&mut self, event: &Event) {
        let done = || Some((event.at, event.actor.clone()));
        match &event.change {
            Change::OwnerAssigned { owner } => {
                super::push_small(
                    &mut self.handovers,
                    Handover {
                        at: event.at,
                        from: self.owner.clone(),
                        to: owner.clone(),
                        by: event.actor.clone(),
                    },
                );
                self.owner = Some(owner.clone());
            }
            Change::ResponderAdded { responder } => {
                super::push_small(&mut self.responders, responder.clone());
            }
            Change::ResponderRemoved { responder } => {
                self.responders.retain(|r| r.id() != responder);
            }
            Change::TaskAdded {
                task,
                title,
                assignee,
                playbook,
            } => super::push_small(
                &mut self.learned_mut().tasks,
                Task {
                    number: *task,
                    title: title.clone(),
                    assignee: assignee.clone(),
                    playbook: playbook.clone(),
                    done: None,
                },
            ),
            Change::TaskAssigned { task, assignee } => {
                if let Some(t) = self.task_mut(*task) {
                    t.assignee = Some(assignee.clone());
                }
            }
            Change::TaskCompleted { task } => {
                if let Some(t) = self.task_mut(*task) {
                    t.done = done();
                }
            }
            Change::ReviewRecorded { review } => self.review(event, review),
            Change::FollowUpCompleted { follow_up } => {
                if let Some(f) = self.follow_up_mut(*follow_up) {
                    f.done = done();
                }
            }
            Change::TimerFired {
                timer: Timer::FollowUpOverdue { follow_up, .. },
            } => {
                if let Some(f) = self.follow_up_mut(*follow_up) {
                    f.reminded = true;
                }
            }
            Change::FeedbackRecorded { score, comment } => super::push_small(
                &mut self.learned_mut().feedback,
                Feedback {
                    at: event.at,
                    by: event.actor.clone(),
                    score: *score,
                    comment: comment.clone(),
                },
            ),
            _ => {}
        }
    }

    /// Records a review and numbers its follow-ups after those of earlier reviews.
    fn review(&mut self, event: &Event, review: &Review) {
        for plan in &review.follow_ups {
            let number = u32::try_from(self.follow_ups().len())
                .unwrap_or(u32::MAX)
                .saturating_add(1);
            super::push_small(
                &mut self.learned_mut().follow_ups,
                FollowUp {
                    number,
                    plan: plan.clone(),
                    done: None,
                    reminded: false,
                },
            );
        }
        super::push_small(
            &mut self.learned_mut().reviews,
            ReviewRecord {
                at: event.at,
                by: event.actor.clone(),
                review: review.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::Score;

    fn stored(people: &People) -> serde_json::Value {
        serde_json::to_value(people).expect("people serialize")
    }

    #[test]
    fn stored_as_seven_fields_whether_boxed_or_not() {
        let empty = People::default();
        let value = stored(&empty);
        let fields: Vec<&str> = value
            .as_object()
            .expect("a map")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields.len(), 7, "{fields:?}");
        let back: People = serde_json::from_value(value).expect("people deserialize");
        assert_eq!(back, empty);
        assert!(back.learned.is_none(), "empty lists make no box");

        let mut with_feedback = People::default();
        with_feedback.learned_mut().feedback.push(Feedback {
            at: DateTime::<Utc>::UNIX_EPOCH,
            by: Actor::system(),
            score: Score::new(4).expect("a score"),
            comment: None,
        });
        let value = stored(&with_feedback);
        assert_eq!(value["feedback"].as_array().map(Vec::len), Some(1));
        assert_eq!(value["tasks"], serde_json::json!([]));
        let back: People = serde_json::from_value(value).expect("people deserialize");
        assert_eq!(back, with_feedback);
        assert_eq!(back.feedback().len(), 1);
        assert!(back.tasks().is_empty() && back.reviews().is_empty());
    }
}
