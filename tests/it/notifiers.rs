//! Notifiers against real servers.
//!
//! SMTP: `eval "$(bash scripts/smtp-test-server.sh start)"` starts aiosmtpd on loopback ports
//! (plain; STARTTLS with AUTH; implicit TLS with AUTH), which writes every message it accepts
//! into a spool; the tests send through `SmtpNotifier` and read the spool. Without
//! `INCIDENTS_SMTP_ADDR` those tests print that they were skipped and pass. `.ci/run` starts
//! the server.
//!
//! HTTP: a small HTTP/1.1 server inside the test (std `TcpListener` on 127.0.0.1:0) answers
//! canned statuses and records what it received.

use incidents::{Audience, IncidentId, Notification, Recipient, Role};

/// A notification about a fresh incident (a v7 id with random bits, so reruns against the
/// same server never collide).
fn note(what: &str, audience: Audience, subject: &str, body: &str) -> Notification {
    let incident = IncidentId::new_v7(chrono::Utc::now());
    Notification {
        key: format!("{incident}/{what}"),
        incident,
        audience,
        channel: None,
        subject: subject.into(),
        body: body.into(),
    }
}

fn escalation_step() -> Audience {
    Audience::Recipients(vec![
        Recipient::Person("avi".into()),
        Recipient::Role(Role::Responder),
    ])
}

const HEBREW_SUBJECT: &str = "[קריטי] התנור במאפייה לא מחמם (ייצור)";
const HEBREW_BODY: &str = "אירוע 17 בייצור פתוח ואף אחד עוד לא אישר אותו.\n\
                           נא לאשר או להעביר הלאה — תודה!";

#[cfg(feature = "smtp")]
mod smtp {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use incidents::notifiers::{Directory, Mailbox, Security, SmtpNotifier};
    use incidents::{Audience, Notifier, Role};
    use serde_json::Value;

    use super::{HEBREW_BODY, HEBREW_SUBJECT, escalation_step, note};

    struct Server {
        plain: String,
        starttls: String,
        tls: String,
        ca: Vec<u8>,
        user: String,
        password: String,
        spool: PathBuf,
    }

    /// The server `scripts/smtp-test-server.sh` started, or `None` (with a note) if none was.
    fn server() -> Option<Server> {
        let var = |name: &str| std::env::var(name).ok();
        let Some(plain) = var("INCIDENTS_SMTP_ADDR") else {
            eprintln!(
                "skipped: no SMTP server; run eval \"$(bash scripts/smtp-test-server.sh start)\""
            );
            return None;
        };
        let ca = var("INCIDENTS_SMTP_CA").expect("INCIDENTS_SMTP_CA is set with the server");
        Some(Server {
            plain,
            starttls: var("INCIDENTS_SMTP_STARTTLS_ADDR").expect("STARTTLS listener"),
            tls: var("INCIDENTS_SMTP_TLS_ADDR").expect("TLS listener"),
            ca: std::fs::read(ca).expect("the test certificate"),
            user: var("INCIDENTS_SMTP_USER").expect("login"),
            password: var("INCIDENTS_SMTP_PASSWORD").expect("password"),
            spool: var("INCIDENTS_SMTP_SPOOL").expect("spool").into(),
        })
    }

    fn host_port(addr: &str) -> (&str, u16) {
        let (host, port) = addr.rsplit_once(':').unwrap();
        (host, port.parse().unwrap())
    }

    fn mailbox(s: &str) -> Mailbox {
        s.parse().unwrap()
    }

    fn directory() -> Directory<Mailbox> {
        Directory::new()
            .owner(mailbox("Dana Levi <dana@bakery.example>"))
            .person("avi", mailbox("avi@bakery.example"))
            .role(Role::Responder, mailbox("kitchen@bakery.example"))
            .role(Role::Responder, mailbox("avi@bakery.example"))
            .customer(mailbox("regular1@customers.example"))
            .customer(mailbox("regular2@customers.example"))
    }

    /// What the server wrote for messages with this `X-Incident-Key`, oldest first, each with
    /// its raw bytes.
    fn received(spool: &Path, key: &str) -> Vec<(Value, Vec<u8>)> {
        let mut found: Vec<(u64, Value, Vec<u8>)> = Vec::new();
        for entry in std::fs::read_dir(spool).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            if record["x_incident_key"] == key {
                let n: u64 = path.file_stem().unwrap().to_str().unwrap().parse().unwrap();
                let raw = std::fs::read(path.with_extension("eml")).unwrap();
                found.push((n, record, raw));
            }
        }
        found.sort_by_key(|(n, _, _)| *n);
        found.into_iter().map(|(_, r, raw)| (r, raw)).collect()
    }

    /// The decoded body, lines ending in `\n` (e-mail carries `\r\n`).
    fn body(record: &Value) -> String {
        record["body"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n")
            .trim_end()
            .to_string()
    }

    fn plain_notifier(server: &Server) -> SmtpNotifier<Directory<Mailbox>> {
        let (host, port) = host_port(&server.plain);
        SmtpNotifier::builder(host, mailbox("Bakery incidents <incidents@bakery.example>"))
            .security(Security::Plain)
            .port(port)
            .timeout(Duration::from_secs(10))
            .build(directory())
            .unwrap()
    }

    #[test]
    fn hebrew_and_english_arrive_intact_and_a_redelivery_keeps_its_message_id() {
        let Some(server) = server() else { return };
        let mail = plain_notifier(&server);

        let hebrew = note(
            "escalation/0/0",
            Audience::Owner,
            HEBREW_SUBJECT,
            HEBREW_BODY,
        );
        mail.deliver(&hebrew).unwrap();
        mail.deliver(&hebrew).unwrap(); // the outbox's redelivery after a crash
        let english = note(
            "escalation/1/0",
            escalation_step(),
            "[critical] Oven won't heat (production) needs someone",
            "Incident 17 on production is open and nobody has acknowledged it.\nPlease acknowledge it.",
        );
        mail.deliver(&english).unwrap();

        let got = received(&server.spool, &hebrew.key);
        assert_eq!(got.len(), 2, "both deliveries arrived");
        let id = mail.message_id(&hebrew.key);
        assert_eq!(id, format!("<{}@bakery.example>", hebrew.key));
        for (record, raw) in &got {
            assert_eq!(record["listener"], "plain");
            assert_eq!(record["subject"], HEBREW_SUBJECT);
            assert_eq!(body(record), HEBREW_BODY);
            assert_eq!(record["message_id"], id.as_str());
            assert_eq!(
                record["references"],
                format!("<{}@bakery.example>", hebrew.incident)
            );
            assert_eq!(record["content_type"], "text/plain");
            assert_eq!(record["charset"], "utf-8");
            assert_eq!(record["mail_from"], "incidents@bakery.example");
            assert_eq!(
                record["rcpt_tos"],
                serde_json::json!(["dana@bakery.example"])
            );
            assert!(
                record["to"]
                    .as_str()
                    .unwrap()
                    .contains("dana@bakery.example")
            );
            // What crossed the wire is 7-bit: the Hebrew travels encoded.
            assert!(raw.is_ascii(), "{}", String::from_utf8_lossy(raw));
            let raw = String::from_utf8_lossy(raw);
            assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
            assert!(raw.contains("MIME-Version: 1.0\r\n"), "{raw}");
        }
        assert_eq!(got[0].0["message_id"], got[1].0["message_id"]);

        let got = received(&server.spool, &english.key);
        assert_eq!(got.len(), 1);
        let record = &got[0].0;
        assert_eq!(record["subject"], english.subject.as_str());
        assert_eq!(body(record), english.body);
        // avi is named twice (in person and as a responder): one copy.
        assert_eq!(
            record["rcpt_tos"],
            serde_json::json!(["avi@bakery.example", "kitchen@bakery.example"])
        );
        assert_eq!(record["message_id"], mail.message_id(&english.key).as_str());
    }

    #[test]
    fn customers_do_not_see_each_other() {
        let Some(server) = server() else { return };
        let mail = plain_notifier(&server);
        let update = note(
            "customer_update_posted/0",
            Audience::Customers,
            "Service update: online shop",
            "Card payments work again. Sorry for the wait!",
        );
        mail.deliver(&update).unwrap();
        let got = received(&server.spool, &update.key);
        assert_eq!(got.len(), 1);
        let (record, raw) = &got[0];
        assert_eq!(
            record["rcpt_tos"],
            serde_json::json!(["regular1@customers.example", "regular2@customers.example"])
        );
        let raw = String::from_utf8_lossy(raw);
        assert!(!raw.contains("regular1"), "{raw}");
        assert!(
            record["to"]
                .as_str()
                .unwrap()
                .contains("incidents@bakery.example")
        );
    }

    #[test]
    fn refusals_are_permanent_for_5xx_and_transient_for_4xx() {
        let Some(server) = server() else { return };
        let (host, port) = host_port(&server.plain);
        let to = |address: &str| {
            let owner = mailbox(address);
            SmtpNotifier::builder(host, mailbox("incidents@bakery.example"))
                .security(Security::Plain)
                .port(port)
                .build(Directory::new().owner(owner))
                .unwrap()
        };
        let n = note("breached/resolve", Audience::Owner, "s", "b");
        let err = to("reject-permanent@bakery.example")
            .deliver(&n)
            .unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert!(err.message().contains("550"), "{err}");
        let err = to("reject-transient@bakery.example")
            .deliver(&n)
            .unwrap_err();
        assert!(!err.is_permanent(), "{err}");
        assert!(err.message().contains("451"), "{err}");
        assert!(received(&server.spool, &n.key).is_empty());
    }

    fn tls_notifier(
        server: &Server,
        addr: &str,
        security: Security,
        password: &str,
        trust: bool,
    ) -> SmtpNotifier<Directory<Mailbox>> {
        let (host, port) = host_port(addr);
        let mut builder = SmtpNotifier::builder(host, mailbox("incidents@bakery.example"))
            .security(security)
            .port(port)
            .credentials(server.user.clone(), password)
            .timeout(Duration::from_secs(10));
        if trust {
            builder = builder.root_certificate_pem(server.ca.clone());
        }
        builder.build(directory()).unwrap()
    }

    #[test]
    fn starttls_and_implicit_tls_log_in_and_deliver() {
        let Some(server) = server() else { return };
        for (addr, security, listener) in [
            (&server.starttls, Security::StartTls, "starttls"),
            (&server.tls, Security::Tls, "tls"),
        ] {
            let mail = tls_notifier(&server, addr, security, &server.password, true);
            let n = note(listener, Audience::Owner, HEBREW_SUBJECT, HEBREW_BODY);
            mail.deliver(&n).unwrap();
            let got = received(&server.spool, &n.key);
            assert_eq!(got.len(), 1, "{listener}");
            let record = &got[0].0;
            assert_eq!(record["listener"], listener);
            assert_eq!(record["tls"], true);
            assert_eq!(record["authenticated"], true);
            assert_eq!(record["login"], server.user.as_str());
            assert_eq!(record["subject"], HEBREW_SUBJECT);
        }
    }

    #[test]
    fn a_refused_login_is_permanent_and_names_no_password() {
        let Some(server) = server() else { return };
        let wrong = "not-the-password-7Qx";
        let mail = tls_notifier(&server, &server.starttls, Security::StartTls, wrong, true);
        let n = note("login", Audience::Owner, "s", "b");
        let err = mail.deliver(&n).unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert!(err.message().contains("535"), "{err}");
        assert!(!err.message().contains(wrong), "{err}");
        assert!(!format!("{err:?}{mail:?}").contains(wrong));
        assert!(!format!("{mail:?}").contains(&server.password));
    }

    #[test]
    fn an_untrusted_certificate_is_permanent() {
        let Some(server) = server() else { return };
        for (addr, security) in [
            (&server.starttls, Security::StartTls),
            (&server.tls, Security::Tls),
        ] {
            let mail = tls_notifier(&server, addr, security, &server.password, false);
            let err = mail
                .deliver(&note("untrusted", Audience::Owner, "s", "b"))
                .unwrap_err();
            assert!(err.is_permanent(), "{security:?}: {err}");
            assert!(err.message().contains("certificate"), "{err}");
            assert!(!err.message().contains(&server.password), "{err}");
        }
    }

    #[test]
    fn a_server_that_requires_starttls_refuses_plain_delivery_permanently() {
        let Some(server) = server() else { return };
        let (host, port) = host_port(&server.starttls);
        let mail = SmtpNotifier::builder(host, mailbox("incidents@bakery.example"))
            .security(Security::Plain)
            .port(port)
            .build(directory())
            .unwrap();
        let err = mail
            .deliver(&note("plain", Audience::Owner, "s", "b"))
            .unwrap_err();
        assert!(err.is_permanent(), "{err}");
    }

    #[test]
    fn the_desk_dispatches_a_customer_update_by_e_mail() {
        use incidents::{Command, Desk, MemoryStore, SystemClock};
        let Some(server) = server() else { return };
        let mail = plain_notifier(&server);
        let desk = Desk::new(MemoryStore::new(), SystemClock).unwrap();
        let owner = crate::support::owner();
        let id = desk
            .open(&owner, crate::support::new_incident())
            .unwrap()
            .id;
        desk.act(
            id,
            &owner,
            Command::customer_update("התשלום בכרטיס חזר לעבוד").unwrap(),
        )
        .unwrap();
        let report = desk.dispatch(&mail).unwrap();
        let key = format!("{id}/customer_update_posted/0");
        assert_eq!(report.delivered, std::slice::from_ref(&key));
        let got = received(&server.spool, &key);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].0["body"].as_str().unwrap().trim_end(),
            "התשלום בכרטיס חזר לעבוד"
        );
    }

    #[test]
    fn no_server_is_transient() {
        // Needs no SMTP server: a port nobody listens on, and one that never answers.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let n = note("gone", Audience::Owner, "s", "b");
        let mail = SmtpNotifier::builder("127.0.0.1", mailbox("incidents@bakery.example"))
            .security(Security::Plain)
            .port(port)
            .build(directory())
            .unwrap();
        let err = mail.deliver(&n).unwrap_err();
        assert!(!err.is_permanent(), "{err}");

        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mail = SmtpNotifier::builder("127.0.0.1", mailbox("incidents@bakery.example"))
            .security(Security::Plain)
            .port(silent.local_addr().unwrap().port())
            .timeout(Duration::from_millis(300))
            .build(directory())
            .unwrap();
        let err = mail.deliver(&n).unwrap_err();
        assert!(!err.is_permanent(), "{err}");
        assert!(err.message().ends_with("no answer within 300ms"), "{err}");
        drop(silent);
    }
}
