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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct People {
    pub(super) owner: Option<Actor>,
    pub(super) responders: Vec<Actor>,
    pub(super) handovers: Vec<Handover>,
    pub(super) tasks: Vec<Task>,
    pub(super) reviews: Vec<ReviewRecord>,
    pub(super) follow_ups: Vec<FollowUp>,
    pub(super) feedback: Vec<Feedback>,
}

impl People {
    /// Task number `number`.
    pub(super) fn task(&self, number: u32) -> Option<&Task> {
        self.tasks.iter().find(|t| t.number == number)
    }

    /// Follow-up number `number`.
    pub(super) fn follow_up(&self, number: u32) -> Option<&FollowUp> {
        self.follow_ups.iter().find(|f| f.number == number)
    }

    fn task_mut(&mut self, number: u32) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|t| t.number == number)
    }

    fn follow_up_mut(&mut self, number: u32) -> Option<&mut FollowUp> {
        self.follow_ups.iter_mut().find(|f| f.number == number)
    }

    /// Why `event` cannot happen here, if it cannot: a task added out of order, or a task or
    /// follow-up that does not exist (or was reminded already).
    pub(super) fn check(&self, event: &Event) -> Option<String> {
        match &event.change {
            Change::TaskAdded { task, .. } if *task as usize != self.tasks.len() + 1 => {
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
                &mut self.tasks,
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
                &mut self.feedback,
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
            let number = u32::try_from(self.follow_ups.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1);
            super::push_small(
                &mut self.follow_ups,
                FollowUp {
                    number,
                    plan: plan.clone(),
                    done: None,
                    reminded: false,
                },
            );
        }
        super::push_small(
            &mut self.reviews,
            ReviewRecord {
                at: event.at,
                by: event.actor.clone(),
                review: review.clone(),
            },
        );
    }
}
