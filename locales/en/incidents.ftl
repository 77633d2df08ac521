# English messages of the `incidents` crate (the fallback of every other locale).
#
# Each message has no value of its own, only parts: .subject and .body (e-mail, chat) and,
# where a text message makes sense, .sms (keep it within one SMS). The variables of each
# message are listed above it; counts choose their words with PLURAL($n), keywords
# ($severity, $target) are selectors only. See `incidents::l10n` for the rules.

## Incident messages: $id, $title, $service, $severity (critical, high, medium, low).

# $step, $minutes
escalation =
    .subject = [{ $severity ->
        [critical] critical
        [high] high
        [medium] medium
       *[low] low
    }] { $title } ({ $service }) needs someone
    .body = Nobody has acknowledged incident { $id } on { $service } for { PLURAL($minutes) ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    } (escalation step { $step }). Please acknowledge it or hand it on.
    .sms = { $severity ->
        [critical] CRITICAL:
        [high] HIGH:
       *[other] Incident:
    } { $title } ({ $service }) unacknowledged for { $minutes } min, step { $step }

# $target (acknowledge, resolve, customer-update), $due, $minutes (left)
at-risk =
    .subject = [{ $severity ->
        [critical] critical
        [high] high
        [medium] medium
       *[low] low
    }] { $title }: { $target ->
        [acknowledge] time to acknowledge
        [resolve] time to resolve
       *[customer-update] customer update
    } at risk
    .body = Incident { $id } on { $service }: its { $target ->
        [acknowledge] time to acknowledge
        [resolve] time to resolve
       *[customer-update] customer update
    } runs out at { $due }, in { PLURAL($minutes) ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }.
    .sms = { $title }: { $target ->
        [acknowledge] acknowledge
        [resolve] resolve
       *[customer-update] update customers
    } within { $minutes } min

# $target, $due, $minutes (late)
breached =
    .subject = [{ $severity ->
        [critical] critical
        [high] high
        [medium] medium
       *[low] low
    }] { $title }: { $target ->
        [acknowledge] time to acknowledge
        [resolve] time to resolve
       *[customer-update] customer update
    } missed
    .body = Incident { $id } on { $service }: its { $target ->
        [acknowledge] time to acknowledge
        [resolve] time to resolve
       *[customer-update] customer update
    } ran out at { $due }, { PLURAL($minutes) ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    } ago.
    .sms = { $title }: { $target ->
        [acknowledge] acknowledgement
        [resolve] resolution
       *[customer-update] customer update
    } overdue by { $minutes } min

# $due, $minutes (late)
update-due =
    .subject = [{ $severity ->
        [critical] critical
        [high] high
        [medium] medium
       *[low] low
    }] { $title }: customers are waiting for an update
    .body = Incident { $id } on { $service }: customers were due an update at { $due }, { PLURAL($minutes) ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    } ago.
    .sms = { $title }: customer update overdue by { $minutes } min

# $since (the last alert), $minutes (quiet)
auto-resolved =
    .subject = [{ $severity ->
        [critical] critical
        [high] high
        [medium] medium
       *[low] low
    }] { $title }: auto-resolved
    .body = Every alert on incident { $id } ({ $service }) reported resolved and nothing new has arrived for { PLURAL($minutes) ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }, since { $since }; the incident is resolved. Reopen it if the problem is back.

# $action, $owner, $due, $days (late)
follow-up-overdue =
    .subject = Overdue: { $action }
    .body = The follow-up { $action } from the review of incident { $id } ({ $title }) was due at { $due }, { PLURAL($days) ->
        [one] { $days } day
       *[other] { $days } days
    } ago. Please do it, or agree a new date with { $owner }.


## Regulatory notices of a declared breach (to the owner): the incident's, and $regime,
## $phase, $recipient (authority, data-subjects, acquirer, other), $due, $hours.

# $hours (left)
notice-at-risk =
    .subject = [breach] { $title }: { $regime } notice due in { PLURAL($hours) ->
        [one] { $hours } hour
       *[other] { $hours } hours
    }
    .body = Incident { $id } on { $service }: the { $regime } notice { $phase } to { $recipient ->
        [authority] the authority
        [data-subjects] the people affected
        [acquirer] the card acquirer
       *[other] its recipient
    } is due at { $due }, in { PLURAL($hours) ->
        [one] { $hours } hour
       *[other] { $hours } hours
    }, and is not filed yet.
    .sms = { $title }: { $regime } notice due in { $hours } h

# $hours (late; the shipped text does not use it: the warning fires at the deadline)
notice-overdue =
    .subject = [breach] { $title }: { $regime } notice overdue
    .body = Incident { $id } on { $service }: the { $regime } notice { $phase } to { $recipient ->
        [authority] the authority
        [data-subjects] the people affected
        [acquirer] the card acquirer
       *[other] its recipient
    } was due at { $due } and is not filed. File it now, with the reasons for the delay where the law asks for them.
    .sms = { $title }: { $regime } notice OVERDUE

## Messages to customers and subscribers.

# $service, $message
customer-update =
    .subject = Service update: { $service }
    .body = { $message }
    .sms = { $service }: { $message }

# $service, $what, $starts, $minutes (until it starts)
maintenance-reminder =
    .subject = Scheduled maintenance on { $service } starts in { PLURAL($minutes) ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }
    .body = Reminder: scheduled maintenance on { $service } ({ $what }) starts at { $starts }, in { PLURAL($minutes) ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }. The service may be unavailable while it lasts.
    .sms = { $service }: maintenance in { $minutes } min: { $what }

# $service, $what, $starts, $ends
maintenance-scheduled =
    .subject = Scheduled maintenance on { $service }
    .body = Scheduled maintenance on { $service }: { $what }. It starts at { $starts } and should be over by { $ends }. The service may be unavailable while it lasts.
    .sms = { $service } maintenance { $starts }: { $what }

# $service, $link, $expires, $hours (until it expires)
subscription-confirmation =
    .subject = Confirm your subscription to { $service } updates
    .body = To receive updates about { $service }, confirm by following { $link }. The link expires at { $expires }, in { PLURAL($hours) ->
        [one] { $hours } hour
       *[other] { $hours } hours
    }. If you did not ask for this, ignore this message.
    .sms = Confirm { $service } updates: { $link }

# $link
unsubscribe-footer =
    .body = You receive this because you subscribed to updates. Unsubscribe: { $link }

## On-call schedules (to the person going on call, about no incident).

# $schedule, $starts, $ends
shift-reminder =
    .subject = You are on call for { $schedule } from { $starts }
    .body = Your on-call shift for { $schedule } starts at { $starts } and runs until { $ends }. Keep your phone near you.
    .sms = On call for { $schedule } from { $starts }
