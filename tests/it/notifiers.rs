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

use incidents::lifecycle::{Audience, Notification};
use incidents::policy::Recipient;
use incidents::{IncidentId, Role};

/// A notification about a fresh incident (a v7 id with random bits, so reruns against the
/// same server never collide).
fn note(what: &str, audience: Audience, subject: &str, body: &str) -> Notification {
    let incident = IncidentId::new_v7(chrono::Utc::now());
    Notification::new(incident, what, audience, subject, body)
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

    use incidents::lifecycle::Audience;
    use incidents::notifiers::{Directory, Mailbox, Security, SmtpNotifier};
    use incidents::{Notifier, Role};
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
                format!(
                    "<{}@bakery.example>",
                    hebrew.incident.expect("a page is about an incident")
                )
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

    /// The Hebrew customer update from the shipped catalogs, sent with an HTML alternative:
    /// the plain text arrives as rendered, the HTML part right to left with `<bdi>`s.
    #[cfg(feature = "l10n")]
    #[test]
    fn an_html_alternative_carries_the_hebrew_right_to_left_beside_the_plain_text() {
        use incidents::l10n::{Catalogs, Message, email_html};

        let Some(server) = server() else { return };
        let (host, port) = host_port(&server.plain);
        let mail = SmtpNotifier::builder(host, mailbox("Bakery <incidents@bakery.example>"))
            .security(Security::Plain)
            .port(port)
            .timeout(Duration::from_secs(10))
            .html_alternative("he")
            .build(directory())
            .unwrap();
        let catalogs = Catalogs::builder().build().unwrap();
        let update = Message::CustomerUpdate {
            service: "קופות POS 2",
            message: "Visa לא עובד בקופה 2.\nמזומן עובד כרגיל.",
        };
        let he = catalogs.render("he", chrono_tz::Asia::Jerusalem, &update);
        let subject = he.subject.clone().unwrap();
        let n = note("customer-update/0", Audience::Owner, &subject, &he.body);
        mail.deliver(&n).unwrap();

        let got = received(&server.spool, &n.key);
        assert_eq!(got.len(), 1);
        let (record, raw) = &got[0];
        assert!(raw.is_ascii(), "{}", String::from_utf8_lossy(raw));
        assert_eq!(record["subject"], subject.as_str());
        assert_eq!(record["content_type"], "multipart/alternative");
        assert_eq!(
            record["parts"],
            serde_json::json!(["multipart/alternative", "text/plain", "text/html"])
        );
        // The plain text is the rendered body, its isolation marks intact.
        assert_eq!(body(record), he.body);
        let html = record["html"].as_str().unwrap().replace("\r\n", "\n");
        assert_eq!(
            html.trim_end(),
            email_html("he", &subject, &he.body, None).trim_end()
        );
        assert!(html.contains("<html lang=\"he\" dir=\"rtl\">"), "{html}");
        assert!(html.contains("<h1 dir=\"rtl\""), "{html}");
        assert!(
            html.contains(
                "<bdi dir=\"rtl\">Visa לא עובד בקופה 2.</bdi><br><bdi>מזומן עובד כרגיל.</bdi></p>"
            ),
            "{html}"
        );
        assert!(
            !html.contains(['\u{2067}', '\u{2068}', '\u{2069}']),
            "{html}"
        );

        // A notification rendered for an English reader says so, and its HTML follows it,
        // whatever the builder's language.
        let en = catalogs.render("en", chrono_tz::Asia::Jerusalem, &update);
        let n = note(
            "customer-update/0/en",
            Audience::Owner,
            en.subject.as_deref().unwrap(),
            &en.body,
        )
        .with_locale("en");
        mail.deliver(&n).unwrap();
        let got = received(&server.spool, &n.key);
        let html = got[0].0["html"].as_str().unwrap().replace("\r\n", "\n");
        assert!(html.contains("<html lang=\"en\" dir=\"ltr\">"), "{html}");
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

#[cfg(feature = "http")]
mod http {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;
    use std::time::Duration;

    use incidents::Notifier;
    use incidents::lifecycle::Audience;
    use incidents::notifiers::sms::{PhoneNumber, Segments};
    use incidents::notifiers::{Directory, SmsGatewayNotifier, WebhookNotifier};
    use serde_json::{Value, json};

    use super::{HEBREW_BODY, HEBREW_SUBJECT, escalation_step, note};

    /// What the test server answers to one request.
    enum Reply {
        /// This status and body.
        Status(u16, &'static str),
        /// Nothing: read the request, then wait for the client to hang up.
        Silent,
    }

    #[derive(Debug, Clone)]
    struct Request {
        method: String,
        path: String,
        /// Names lowercased.
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Request {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }

        fn json(&self) -> Value {
            serde_json::from_str(&self.body).unwrap()
        }
    }

    /// An HTTP/1.1 server on 127.0.0.1 answering one connection per reply, in order, then
    /// stopping. Every request is recorded.
    struct Server {
        addr: SocketAddr,
        requests: Arc<Mutex<Vec<Request>>>,
        thread: Option<JoinHandle<()>>,
    }

    impl Server {
        fn start(replies: Vec<Reply>) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let requests = Arc::new(Mutex::new(Vec::new()));
            let recorded = Arc::clone(&requests);
            let thread = std::thread::spawn(move || {
                for reply in replies {
                    let Ok((stream, _)) = listener.accept() else {
                        return;
                    };
                    // Bounds every wait below: the thread always ends.
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let Some(request) = read_request(&stream) else {
                        continue;
                    };
                    recorded.lock().unwrap().push(request);
                    answer(stream, reply);
                }
            });
            Server {
                addr,
                requests,
                thread: Some(thread),
            }
        }

        fn url(&self, path: &str) -> String {
            format!("http://{}{path}", self.addr)
        }

        /// Waits for the server to finish its replies, then returns what it received.
        fn finish(mut self) -> Vec<Request> {
            if let Some(thread) = self.thread.take() {
                thread.join().unwrap();
            }
            self.requests.lock().unwrap().clone()
        }
    }

    fn read_request(stream: &TcpStream) -> Option<Request> {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let mut parts = line.split_whitespace();
        let method = parts.next()?.to_string();
        let path = parts.next()?.to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).ok()?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        Some(Request {
            method,
            path,
            headers,
            body: String::from_utf8(body).ok()?,
        })
    }

    fn answer(mut stream: TcpStream, reply: Reply) {
        match reply {
            Reply::Status(status, body) => {
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Whatever\r\nContent-Type: text/plain\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            Reply::Silent => {
                // Until the client gives up and closes (or the read timeout passes).
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
    }

    /// A port nobody listens on.
    fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[test]
    fn the_json_webhook_posts_the_documented_body_with_the_key_headers() {
        let server = Server::start(vec![Reply::Status(204, "")]);
        let hook = WebhookNotifier::json(server.url("/hooks/incidents"))
            .header("Authorization", "Bearer hook-secret");
        let mut n = note(
            "escalation/0/0",
            escalation_step(),
            HEBREW_SUBJECT,
            HEBREW_BODY,
        );
        n.channel = Some("chat".into());
        hook.deliver(&n).unwrap();
        let got = server.finish();
        assert_eq!(got.len(), 1);
        let r = &got[0];
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/hooks/incidents")
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("idempotency-key"), Some(n.key.as_str()));
        assert_eq!(r.header("x-incident-key"), Some(n.key.as_str()));
        assert_eq!(r.header("authorization"), Some("Bearer hook-secret"));
        assert_eq!(
            r.json(),
            json!({
                "version": 1,
                "key": n.key,
                "incident": n.incident.expect("a page is about an incident").to_string(),
                "audience": {"recipients": [{"person": "avi"}, {"role": "responder"}]},
                "recipients": ["avi", "every responder"],
                "channel": "chat",
                "subject": HEBREW_SUBJECT,
                "body": HEBREW_BODY,
            })
        );
    }

    #[test]
    fn statuses_decide_between_retry_and_give_up_and_no_message_quotes_the_url() {
        let secret_path = "/services/T0001/B0001/XXXXsecretXXXX";
        let server = Server::start(vec![
            Reply::Status(500, "database is down"),
            Reply::Status(503, ""),
            Reply::Status(404, "no_service for /services/T0001/B0001/XXXXsecretXXXX"),
            Reply::Status(429, "slow down"),
            Reply::Status(408, ""),
            Reply::Status(400, "invalid_payload"),
            Reply::Status(301, ""),
            Reply::Status(200, "ok"),
        ]);
        let hook = WebhookNotifier::slack(server.url(secret_path));
        let n = note(
            "at_risk/resolve",
            Audience::Owner,
            "Oven at risk",
            "Due at 14:00.",
        );
        let mut outcomes = Vec::new();
        for _ in 0..8 {
            outcomes.push(match hook.deliver(&n) {
                Ok(()) => "ok".to_string(),
                Err(e) => {
                    assert!(!e.message().contains("XXXXsecretXXXX"), "{e}");
                    assert!(!e.message().contains(&server.addr.to_string()), "{e}");
                    format!(
                        "{} {}",
                        if e.is_permanent() {
                            "permanent"
                        } else {
                            "transient"
                        },
                        e
                    )
                }
            });
        }
        assert_eq!(
            outcomes,
            [
                "transient webhook answered 500 Internal Server Error: database is down",
                "transient webhook answered 503 Service Unavailable",
                "permanent webhook answered 404 Not Found: no_service for ***",
                "transient webhook answered 429 Too Many Requests: slow down",
                "transient webhook answered 408 Request Timeout",
                "permanent webhook answered 400 Bad Request: invalid_payload",
                "permanent webhook answered 301 Moved Permanently (redirects are not followed: is the URL current?)",
                "ok",
            ]
        );
        let got = server.finish();
        assert_eq!(got.len(), 8);
        assert!(got.iter().all(|r| r.path == secret_path));
        assert_eq!(
            got[0].json(),
            json!({"text": "*Oven at risk*\nDue at 14:00."})
        );
    }

    #[test]
    fn a_server_that_never_answers_times_out_transiently() {
        let server = Server::start(vec![Reply::Silent]);
        let hook = WebhookNotifier::json(server.url("/slow")).timeout(Duration::from_millis(300));
        let err = hook
            .deliver(&note("quiet/1", Audience::Owner, "s", "b"))
            .unwrap_err();
        assert!(!err.is_permanent(), "{err}");
        assert_eq!(err.message(), "webhook: no answer within 300ms");
        drop(hook); // closes the connection, so the server thread ends
        assert_eq!(server.finish().len(), 1);
    }

    #[test]
    fn nobody_listening_is_transient() {
        let hook = WebhookNotifier::json(format!("http://127.0.0.1:{}/h", closed_port()));
        let err = hook
            .deliver(&note("x", Audience::Owner, "s", "b"))
            .unwrap_err();
        assert!(!err.is_permanent(), "{err}");
        let bad = WebhookNotifier::json("not a url at all with a secret-token");
        let err = bad
            .deliver(&note("x", Audience::Owner, "s", "b"))
            .unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert!(!err.message().contains("secret-token"), "{err}");
    }

    #[test]
    fn telegram_posts_send_message_and_never_shows_the_token() {
        let token = "7654321:AAH-secret_token";
        let server = Server::start(vec![
            Reply::Status(200, r#"{"ok":true,"result":{}}"#),
            Reply::Status(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
            ),
            Reply::Status(
                401,
                r#"{"ok":false,"description":"Unauthorized bot 7654321:AAH-secret_token"}"#,
            ),
        ]);
        let bot = WebhookNotifier::telegram_at(&server.url(""), token, "-1001234567890");
        let n = note(
            "escalation/0/0",
            Audience::Owner,
            HEBREW_SUBJECT,
            HEBREW_BODY,
        );
        bot.deliver(&n).unwrap();
        let err = bot.deliver(&n).unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert!(err.message().contains("chat not found"), "{err}");
        let err = bot.deliver(&n).unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert!(!err.message().contains("AAH-secret_token"), "{err}");
        assert!(!format!("{bot:?}").contains("AAH-secret_token"));
        let got = server.finish();
        assert_eq!(got[0].path, format!("/bot{token}/sendMessage"));
        assert_eq!(
            got[0].json(),
            json!({
                "chat_id": "-1001234567890",
                "text": format!("{HEBREW_SUBJECT}\n\n{HEBREW_BODY}"),
                "disable_web_page_preview": true,
            })
        );
    }

    #[test]
    fn the_sms_gateway_gets_numbers_a_fitted_text_its_cost_and_the_token() {
        let server = Server::start(vec![
            Reply::Status(202, r#"{"id":"m-1"}"#),
            Reply::Status(202, r#"{"id":"m-2"}"#),
            Reply::Status(401, "bad token sms-secret-token"),
        ]);
        let phones: Directory<PhoneNumber> = Directory::new()
            .owner("+972 50 123 4567".parse().unwrap())
            .person("avi", "+44 7700 900123".parse().unwrap())
            .role(
                incidents::Role::Responder,
                "+972 50 123 4567".parse().unwrap(),
            );
        let sms = SmsGatewayNotifier::new(server.url("/v1/messages"), phones.clone())
            .bearer_token("sms-secret-token");
        let hebrew = note(
            "escalation/0/0",
            escalation_step(),
            HEBREW_SUBJECT,
            HEBREW_BODY,
        );
        sms.deliver(&hebrew).unwrap();
        let english = note(
            "breached/acknowledge",
            Audience::Owner,
            "[critical] Till won't take cards (POS): time to acknowledge missed",
            &"Incident on POS is open; its time to acknowledge was due at 12:15 UTC. ".repeat(3),
        );
        let two = SmsGatewayNotifier::new(server.url("/v1/messages"), phones)
            .bearer_token("sms-secret-token")
            .max_parts(2);
        two.deliver(&english).unwrap();
        let err = sms.deliver(&english).unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert!(!err.message().contains("sms-secret-token"), "{err}");

        let got = server.finish();
        let r = &got[0];
        assert_eq!(r.path, "/v1/messages");
        assert_eq!(r.header("authorization"), Some("Bearer sms-secret-token"));
        assert_eq!(r.header("idempotency-key"), Some(hebrew.key.as_str()));
        let body = r.json();
        // avi's number, then the responder's (the owner's number, once).
        assert_eq!(body["to"], json!(["+447700900123", "+972501234567"]));
        assert_eq!(body["reference"], hebrew.key.as_str());
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with(HEBREW_SUBJECT), "{text}");
        assert!(text.ends_with("..."), "{text}");
        assert_eq!(Segments::of(text).parts(), 1);
        assert_eq!(
            (body["encoding"].as_str(), body["parts"].as_u64()),
            (Some("ucs2"), Some(1))
        );

        let body = got[1].json();
        assert_eq!(body["to"], json!(["+972501234567"]));
        assert_eq!(
            (body["encoding"].as_str(), body["parts"].as_u64()),
            (Some("gsm7"), Some(2))
        );
        assert_eq!(Segments::of(body["text"].as_str().unwrap()).parts(), 2);
    }

    #[test]
    fn an_sms_for_nobody_fails_permanently_without_a_request() {
        let sms = SmsGatewayNotifier::new(
            format!("http://127.0.0.1:{}/v1", closed_port()),
            Directory::<PhoneNumber>::new().owner("+972501234567".parse().unwrap()),
        );
        let err = sms
            .deliver(&note("c", Audience::Customers, "s", "b"))
            .unwrap_err();
        assert!(err.is_permanent());
        assert_eq!(err.message(), "no phone number for customers");
    }

    #[test]
    fn the_desk_records_a_refused_webhook_without_its_secret() {
        use incidents::incident::Delivery;
        use incidents::{Change, Command, Desk, MemoryStore, SystemClock};
        let token = "999:desk-secret-token";
        let server = Server::start(vec![Reply::Status(
            403,
            "Forbidden: bot 999:desk-secret-token was blocked by the user",
        )]);
        let bot = WebhookNotifier::telegram_at(&server.url(""), token, "42");
        let desk = Desk::new(MemoryStore::new(), SystemClock).unwrap();
        let owner = crate::support::owner();
        let id = desk
            .open(&owner, crate::support::new_incident())
            .unwrap()
            .id;
        desk.act(
            id,
            &owner,
            Command::customer_update("Back to normal").unwrap(),
        )
        .unwrap();
        let report = desk.dispatch(&bot).unwrap();
        assert_eq!((report.failed, report.gave_up), (0, 1));
        let entry = desk.get(id).unwrap().outbox()[0].clone();
        assert!(matches!(entry.delivery, Delivery::GaveUp { .. }));
        let history = serde_json::to_string(&desk.history(id).unwrap()).unwrap();
        assert!(!history.contains("desk-secret-token"), "{history}");
        let failed = desk
            .history(id)
            .unwrap()
            .into_iter()
            .find_map(|e| match e.change {
                Change::NotificationFailed { error, .. } => Some(error),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            failed,
            "telegram answered 403 Forbidden: Forbidden: bot *** was blocked by the user"
        );
        server.finish();
    }
}
