//! The seed's case study: the boutique bakery "European Aroma", two months of its online
//! shop's incidents, and the month-over-month report.
//!
//! **October, without the process.** Nobody owns incidents. Failures are found by customers,
//! who report them to support; whoever sees the message picks it up an hour or more later,
//! and a fix takes most of the afternoon (about five hours from the report). Nobody looks for
//! root causes, so the same problems — the order form crashing, payments failing, a slow
//! checkout, an empty delivery-slot picker, rejected coupons — keep coming back.
//!
//! **November, with the process.** Shimon is the incident owner. A monitor watches the shop
//! and raises alerts the moment something breaks; the critical-incident target is one hour;
//! customers get updates; and every significant incident gets a post-incident review whose
//! follow-up fixes the root cause. On 1 November Shimon reviews October's worst repeat
//! offenders, so they stop coming back. Two problems he did not get to (delivery slots,
//! coupons) come back once each, and a new checkout problem comes back once before its fix
//! lands.
//!
//! Everything runs on a [`ManualClock`] with a small seeded random generator (xorshift), so
//! the output is the same every run. Incidents come in through [`Desk::ingest`]: customers'
//! reports by topic, the monitor's alerts by fingerprint, so a problem that comes back is
//! linked to its previous incident and counted as a recurrence.
//!
//! ```text
//! cargo run --example bakery            # the comparison, November against October
//! cargo run --example bakery -- --full  # and both months' full reports
//! cargo run --example bakery -- --csv   # the comparison as CSV
//! ```

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use incidents::intake::{Ingested, Reporter};
use incidents::people::Review;
use incidents::report::Window;
use incidents::{
    Actor, Alert, Calendar, Command, Desk, IncidentId, ManualClock, MemoryStore, Policy,
    Resolution, Role, Severity, Source,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
type BakeryDesk<'c> = Desk<MemoryStore, &'c ManualClock>;

/// The bakery's time zone.
const TZ: Tz = chrono_tz::Asia::Jerusalem;

/// A seeded xorshift64* generator: deterministic, good enough for a simulation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A whole number in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    /// One of `items`.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// How a problem gets noticed.
#[derive(Clone, Copy, PartialEq)]
enum Seen {
    /// A customer tells support.
    ByCustomer,
    /// The monitor raises an alert.
    ByMonitor,
}

/// A problem the shop can have, and how it shows up.
#[derive(Clone, Copy)]
struct Problem {
    topic: &'static str,
    service: &'static str,
    summary: &'static str,
    severity: Severity,
    seen: Seen,
    root_cause: &'static str,
    fix: &'static str,
}

const ORDER_FORM: Problem = Problem {
    topic: "order-form-crash",
    service: "online shop",
    summary: "Order form crashes on submit",
    severity: Severity::Critical,
    seen: Seen::ByCustomer,
    root_cause: "the form plugin runs out of memory on large baskets",
    fix: "Upgrade the form plugin and raise its memory limit",
};
const PAYMENTS: Problem = Problem {
    topic: "payment-declined",
    service: "payments",
    summary: "Card payments declined",
    severity: Severity::Critical,
    seen: Seen::ByCustomer,
    root_cause: "an expired API key for the payment provider is retried without backoff",
    fix: "Rotate the provider key and alert before it expires",
};
const SLOW_CHECKOUT: Problem = Problem {
    topic: "slow-checkout",
    service: "online shop",
    summary: "Checkout takes a minute to load",
    severity: Severity::High,
    seen: Seen::ByCustomer,
    root_cause: "product images are served uncompressed",
    fix: "Compress images and put them behind a CDN",
};
const DELIVERY_SLOTS: Problem = Problem {
    topic: "delivery-slots-empty",
    service: "delivery",
    summary: "Delivery slot picker shows no slots",
    severity: Severity::High,
    seen: Seen::ByCustomer,
    root_cause: "the slot calendar is not extended past the end of the month",
    fix: "Generate delivery slots three months ahead automatically",
};
const COUPONS: Problem = Problem {
    topic: "coupon-rejected",
    service: "promotions",
    summary: "Valid coupon codes rejected",
    severity: Severity::Medium,
    seen: Seen::ByCustomer,
    root_cause: "coupon expiry is compared in UTC instead of local time",
    fix: "Compare coupon expiry in the shop's time zone",
};
const PHOTOS: Problem = Problem {
    topic: "photos-missing",
    service: "website",
    summary: "Cake photos missing on the menu",
    severity: Severity::Low,
    seen: Seen::ByCustomer,
    root_cause: "a broken image path after a theme update",
    fix: "Check image paths after theme updates",
};
const ORDER_EMAILS: Problem = Problem {
    topic: "order-emails",
    service: "e-mail",
    summary: "Order confirmation e-mails not sent",
    severity: Severity::High,
    seen: Seen::ByCustomer,
    root_cause: "the mail relay's password changed",
    fix: "Keep the relay password in the shared vault",
};
const NEWSLETTER: Problem = Problem {
    topic: "newsletter-link",
    service: "website",
    summary: "Newsletter sign-up link broken",
    severity: Severity::Low,
    seen: Seen::ByCustomer,
    root_cause: "a renamed page",
    fix: "Redirect old page names",
};
const CHECKOUT_5XX: Problem = Problem {
    topic: "checkout-5xx",
    service: "online shop",
    summary: "Checkout returns errors (5xx spike)",
    severity: Severity::Critical,
    seen: Seen::ByMonitor,
    root_cause: "the database connection pool is too small for lunchtime traffic",
    fix: "Size the connection pool for peak traffic",
};
const PAYMENT_TIMEOUTS: Problem = Problem {
    topic: "payment-timeouts",
    service: "payments",
    summary: "Payment provider timing out",
    severity: Severity::Critical,
    seen: Seen::ByMonitor,
    root_cause: "an outage at the payment provider",
    fix: "Add the provider's status page to the monitor",
};
const DISK: Problem = Problem {
    topic: "disk-full",
    service: "online shop",
    summary: "Shop server disk 90% full",
    severity: Severity::High,
    seen: Seen::ByMonitor,
    root_cause: "log rotation was never switched on",
    fix: "Switch on log rotation",
};
const SLOW_PAGES: Problem = Problem {
    topic: "slow-pages",
    service: "website",
    summary: "Product pages slow",
    severity: Severity::Medium,
    seen: Seen::ByMonitor,
    root_cause: "a search-engine crawler hammering the site",
    fix: "Rate-limit crawlers",
};
const FORM_VALIDATION: Problem = Problem {
    topic: "order-form-validation",
    service: "online shop",
    summary: "Order form rejects valid phone numbers",
    severity: Severity::High,
    seen: Seen::ByCustomer,
    root_cause: "a phone-number check that only accepts one format",
    fix: "Accept every phone-number format the country uses",
};
const GIFT_CARDS: Problem = Problem {
    topic: "gift-card-balance",
    service: "promotions",
    summary: "Gift card balance shown wrong",
    severity: Severity::Medium,
    seen: Seen::ByCustomer,
    root_cause: "a rounding error on partial redemptions",
    fix: "Keep balances in agorot, not shekels",
};

/// October: which problem showed up on which day of the month.
const OCTOBER: &[(u32, Problem)] = &[
    (2, ORDER_FORM),
    (3, SLOW_CHECKOUT),
    (4, PAYMENTS),
    (6, ORDER_FORM),
    (7, DELIVERY_SLOTS),
    (9, PAYMENTS),
    (10, COUPONS),
    (11, ORDER_FORM),
    (12, PHOTOS),
    (13, SLOW_CHECKOUT),
    (14, ORDER_EMAILS),
    (15, PAYMENTS),
    (16, DELIVERY_SLOTS),
    (17, ORDER_FORM),
    (19, COUPONS),
    (20, SLOW_CHECKOUT),
    (21, NEWSLETTER),
    (22, PAYMENTS),
    (24, ORDER_FORM),
    (25, DELIVERY_SLOTS),
    (27, SLOW_CHECKOUT),
    (28, PAYMENTS),
    (29, ORDER_FORM),
    (30, COUPONS),
];

/// November: fewer problems, most of them new, most caught by the monitor.
const NOVEMBER: &[(u32, Problem)] = &[
    (3, DELIVERY_SLOTS),
    (5, COUPONS),
    (8, CHECKOUT_5XX),
    (12, CHECKOUT_5XX),
    (14, PAYMENT_TIMEOUTS),
    (18, DISK),
    (21, SLOW_PAGES),
    (24, FORM_VALIDATION),
    (27, GIFT_CARDS),
    (29, PHOTOS),
];

/// October's repeat offenders Shimon reviews on 1 November.
const REVIEWED_FIRST: &[Problem] = &[ORDER_FORM, PAYMENTS, SLOW_CHECKOUT];

struct People {
    shimon: Actor,
    yossi: Actor,
    noa: Actor,
}

/// The bakery's desk, its clock and its random generator.
struct Bakery<'c> {
    desk: BakeryDesk<'c>,
    clock: &'c ManualClock,
    rng: Rng,
    people: People,
    /// The last incident of each problem, by topic.
    last: Vec<(&'static str, IncidentId)>,
}

impl Bakery<'_> {
    /// Local time `h:m` on `day` of `month` 2026, in UTC.
    fn local(month: u32, day: u32, h: u32, m: u32) -> Result<DateTime<Utc>> {
        let date = NaiveDate::from_ymd_opt(2026, month, day).ok_or("no such day")?;
        let local = date.and_hms_opt(h, m, 0).ok_or("no such time")?;
        let at = TZ
            .from_local_datetime(&local)
            .earliest()
            .ok_or("no such local time")?;
        Ok(at.with_timezone(&Utc))
    }

    /// The problem shows up; returns the incident it opened.
    fn shows_up(&mut self, problem: Problem, at: DateTime<Utc>) -> Result<IncidentId> {
        self.clock.set(at);
        let alert = match problem.seen {
            Seen::ByCustomer => Alert::report(
                Source::CustomerReport,
                Reporter::new("a customer")?,
                problem.topic,
                problem.service,
                problem.summary,
                at,
            )?,
            Seen::ByMonitor => Alert::firing(
                "monitor",
                problem.topic,
                problem.service,
                problem.summary,
                at,
            )?,
        }
        .with_severity(problem.severity);
        let id = match self.desk.ingest(&alert)? {
            Ingested::Opened { id } | Ingested::Recurred { id, .. } => id,
            other => return Err(format!("{}: unexpected intake {other:?}", problem.topic).into()),
        };
        self.last.retain(|(topic, _)| *topic != problem.topic);
        self.last.push((problem.topic, id));
        Ok(id)
    }

    fn act(&self, id: IncidentId, who: &Actor, command: Command) -> Result<()> {
        self.desk.act(id, who, command)?;
        Ok(())
    }

    /// October: whoever sees it, late; a fix in about five hours; no review.
    fn october(&mut self, day: u32, problem: Problem) -> Result<()> {
        let opened = Bakery::local(10, day, self.rng.between(9, 13) as u32, 0)?
            + Duration::minutes(self.rng.between(0, 59));
        let id = self.shows_up(problem, opened)?;
        let yossi = self.people.yossi.clone();
        let noa = self.people.noa.clone();
        self.clock
            .set(opened + Duration::minutes(self.rng.between(45, 150)));
        self.act(id, &yossi, Command::Acknowledge)?;
        self.act(id, &yossi, Command::StartInvestigating)?;
        self.clock
            .set(opened + Duration::minutes(self.rng.between(200, 420)));
        let how = self.rng.pick(&[
            Resolution::Fixed,
            Resolution::Workaround,
            Resolution::Workaround,
        ]);
        self.act(id, &yossi, Command::resolve(how))?;
        // Two customers in three say what they thought of it.
        for _ in 0..self.rng.between(0, 2) {
            self.clock
                .set(self.clock_now() + Duration::hours(self.rng.between(1, 20)));
            let score = self.rng.pick(&[1, 2, 2, 3, 3, 3, 4, 5]);
            self.act(id, &noa, Command::feedback(score, None)?)?;
        }
        Ok(())
    }

    fn clock_now(&self) -> DateTime<Utc> {
        incidents::Clock::now(self.clock)
    }

    /// 1 November: Shimon reviews the last incident of October's worst repeat offenders,
    /// with a follow-up that fixes the root cause, and closes them.
    fn review_october(&mut self) -> Result<()> {
        let shimon = self.people.shimon.clone();
        let yossi = self.people.yossi.clone();
        for (n, problem) in REVIEWED_FIRST.iter().enumerate() {
            let id = self.last_of(problem)?;
            let when = Bakery::local(11, 1, 10, 0)? + Duration::hours(n as i64);
            self.clock.set(when);
            let review = Review::new(
                &format!("{} kept coming back in October", problem.summary),
                problem.root_cause,
            )?
            .follow_up(problem.fix, yossi.id(), when + Duration::days(7))?;
            self.act(id, &shimon, Command::review(review))?;
            self.act(
                id,
                &shimon,
                Command::close(
                    format!("Recurring in October: {}", problem.summary),
                    problem.fix,
                )?,
            )?;
            self.clock
                .set(when + Duration::days(self.rng.between(2, 5)));
            self.act(id, &yossi, Command::CompleteFollowUp { follow_up: 1 })?;
        }
        Ok(())
    }

    fn last_of(&self, problem: &Problem) -> Result<IncidentId> {
        self.last
            .iter()
            .find(|(topic, _)| *topic == problem.topic)
            .map(|(_, id)| *id)
            .ok_or_else(|| format!("no incident for {}", problem.topic).into())
    }

    /// November: an owner within minutes, updates for customers, a fix within the hour, a
    /// review whose follow-up removes the root cause.
    fn november(&mut self, day: u32, problem: Problem, leave_undone: bool) -> Result<()> {
        let opened = Bakery::local(11, day, self.rng.between(9, 13) as u32, 0)?
            + Duration::minutes(self.rng.between(0, 59));
        let id = self.shows_up(problem, opened)?;
        let shimon = self.people.shimon.clone();
        let yossi = self.people.yossi.clone();
        let noa = self.people.noa.clone();
        let mut now = opened + Duration::minutes(self.rng.between(2, 8));
        self.clock.set(now);
        self.act(id, &shimon, Command::assign_owner(shimon.clone()))?;
        self.act(id, &shimon, Command::Acknowledge)?;
        self.act(
            id,
            &noa,
            Command::customer_update("We know about the problem and are fixing it now.")?,
        )?;
        now += Duration::minutes(self.rng.between(5, 15));
        self.clock.set(now);
        self.act(id, &yossi, Command::identify(problem.root_cause)?)?;
        let mut fix_in = self.rng.between(10, 40);
        if problem.topic == PAYMENT_TIMEOUTS.topic {
            // The provider has to fix it: the resolve clock pauses while they work.
            self.act(
                id,
                &yossi,
                Command::wait_for_vendor("PayCo", Some("case 20931"))?,
            )?;
            now += Duration::minutes(35);
            self.clock.set(now);
            self.act(
                id,
                &yossi,
                Command::vendor_responded(Some("PayCo fixed it"))?,
            )?;
            fix_in = 5;
        }
        now += Duration::minutes(fix_in);
        self.clock.set(now);
        self.act(id, &yossi, Command::resolve(Resolution::Fixed))?;
        self.act(
            id,
            &noa,
            Command::customer_update("Fixed. Thank you for your patience!")?,
        )?;

        // Every significant incident gets a review whose follow-up fixes the root cause.
        let significant = problem.severity >= Severity::High || problem.seen == Seen::ByCustomer;
        if significant {
            now += Duration::hours(2);
            self.clock.set(now);
            let review = Review::new(problem.summary, problem.root_cause)?.follow_up(
                problem.fix,
                yossi.id(),
                now + Duration::days(7),
            )?;
            self.act(id, &shimon, Command::review(review))?;
        }
        self.act(
            id,
            &shimon,
            Command::close(
                format!("{} — fixed within the hour", problem.summary),
                problem.fix,
            )?,
        )?;
        // Customers were kept informed and say so.
        for hours in [1, 3] {
            self.clock.set(now + Duration::hours(hours));
            let score = self
                .rng
                .pick(&[5, 5, 5, 4, 4, 5, 4, 5, 5, 4, 5, 5, 4, 5, 5, 5, 4, 5, 5, 3]);
            self.act(id, &noa, Command::feedback(score, None)?)?;
        }
        if significant && !leave_undone {
            self.clock.set(now + Duration::days(self.rng.between(2, 6)));
            self.act(id, &yossi, Command::CompleteFollowUp { follow_up: 1 })?;
        }
        Ok(())
    }
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (full, csv) = match args.next().as_deref() {
        None => (false, false),
        Some("--full") => (true, false),
        Some("--csv") => (false, true),
        Some(other) => return Err(format!("unknown option {other}; try --full or --csv").into()),
    };

    // Open Sunday to Thursday 08:00–20:00 and Friday 08:00–14:00, Jerusalem time.
    let calendar = Calendar::weekly(TZ)
        .open(
            [
                Weekday::Sun,
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
            ],
            "08:00",
            "20:00",
        )?
        .open([Weekday::Fri], "08:00", "14:00")?;
    let policy = Policy::small_business().with_calendar(calendar)?;
    let clock = ManualClock::new(Bakery::local(10, 1, 0, 0)?);
    let mut bakery = Bakery {
        desk: Desk::builder(MemoryStore::new(), &clock)
            .policy(policy)
            .build()?,
        clock: &clock,
        rng: Rng(0x005E_ED0F_A40A),
        people: People {
            shimon: Actor::new("shimon", "Shimon", Role::Owner)?,
            yossi: Actor::new("yossi", "Yossi (IT)", Role::Responder)?,
            noa: Actor::new("noa", "Noa (customer service)", Role::Support)?,
        },
        last: Vec::new(),
    };

    for (day, problem) in OCTOBER {
        bakery.october(*day, *problem)?;
    }
    bakery.review_october()?;
    for (n, (day, problem)) in NOVEMBER.iter().enumerate() {
        // One follow-up is still open at the end of November, to show what overdue looks like.
        bakery.november(*day, *problem, n == 5)?;
    }

    let october = bakery.desk.report(Window::month(2026, 10, TZ)?)?;
    let november = bakery.desk.report(Window::month(2026, 11, TZ)?)?;
    let comparison = november.compare(&october);
    if csv {
        print!("{}", comparison.to_csv());
        return Ok(());
    }

    println!("European Aroma — incidents, November 2026 (with the process) against October");
    println!("(without it). Times in the window headers are UTC; the months are Jerusalem time.");
    println!();
    let headline = |figure: &str| {
        comparison
            .figure(figure)
            .map_or_else(|| format!("{figure}: —"), ToString::to_string)
    };
    println!("Headlines:");
    for figure in [
        "time to resolve mean (wall clock)",
        "recurrences",
        "satisfied customers (score 4-5)",
    ] {
        println!("  {}", headline(figure));
    }
    println!();
    print!("{comparison}");
    if full {
        println!();
        println!("=== October ===");
        print!("{october}");
        println!();
        println!("=== November ===");
        print!("{november}");
    }
    Ok(())
}
