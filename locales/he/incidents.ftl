# הודעות הספרייה `incidents` בעברית.
#
# לכל הודעה יש חלקים: ‎.subject‎ ו־‎.body‎ (דוא"ל, צ'אט), ובמקום שמתאים גם ‎.sms‎ (עד SMS אחד:
# 70 תווים, כולל סימני הבידוד). מספרים בוחרים צורה עם PLURAL($n): בעברית one,‏ two ו־other.

## הודעות על תקלות: $id, $title, $service, $severity

# $step, $minutes
escalation =
    .subject = [{ $severity ->
        [critical] קריטי
        [high] חומרה גבוהה
        [medium] חומרה בינונית
       *[low] חומרה נמוכה
    }] { $title } ({ $service }): דרוש טיפול
    .body = אף אחד עוד לא אישר את התקלה { $id } ב־{ $service }, כבר { PLURAL($minutes) ->
        [one] דקה אחת
        [two] שתי דקות
       *[other] { $minutes } דקות
    } (שלב הסלמה { $step }). נא לאשר אותה או להעביר אותה הלאה.
    .sms = { $severity ->
        [critical] קריטי:
        [high] דחוף:
       *[other] תקלה:
    } { $title } ללא מענה כבר { PLURAL($minutes) ->
        [one] דקה
       *[other] { $minutes } דק׳
    }

# $target, $due, $minutes (שנותרו)
at-risk =
    .subject = [{ $severity ->
        [critical] קריטי
        [high] חומרה גבוהה
        [medium] חומרה בינונית
       *[low] חומרה נמוכה
    }] { $title }: { $target ->
        [acknowledge] זמן התגובה
        [resolve] זמן הפתרון
       *[customer-update] מועד העדכון ללקוחות
    } בסכנה
    .body = תקלה { $id } ב־{ $service }: { $target ->
        [acknowledge] זמן התגובה
        [resolve] זמן הפתרון
       *[customer-update] מועד העדכון ללקוחות
    } מסתיים ב־{ $due }, בעוד { PLURAL($minutes) ->
        [one] דקה אחת
        [two] שתי דקות
       *[other] { $minutes } דקות
    }.
    .sms = { $title }: { $target ->
        [acknowledge] תגובה
        [resolve] פתרון
       *[customer-update] עדכון
    } בעוד { PLURAL($minutes) ->
        [one] דקה
       *[other] { $minutes } דק׳
    }

# $target, $due, $minutes (איחור)
breached =
    .subject = [{ $severity ->
        [critical] קריטי
        [high] חומרה גבוהה
        [medium] חומרה בינונית
       *[low] חומרה נמוכה
    }] { $title }: { $target ->
        [acknowledge] זמן התגובה
        [resolve] זמן הפתרון
       *[customer-update] מועד העדכון ללקוחות
    } חלף
    .body = תקלה { $id } ב־{ $service }: { $target ->
        [acknowledge] זמן התגובה
        [resolve] זמן הפתרון
       *[customer-update] מועד העדכון ללקוחות
    } הסתיים ב־{ $due }, לפני { PLURAL($minutes) ->
        [one] דקה אחת
        [two] שתי דקות
       *[other] { $minutes } דקות
    }.
    .sms = { $title }: איחור ב{ $target ->
        [acknowledge] תגובה
        [resolve] פתרון
       *[customer-update] עדכון
    } { PLURAL($minutes) ->
        [one] דקה
       *[other] { $minutes } דק׳
    }

# $due, $minutes (איחור)
update-due =
    .subject = [{ $severity ->
        [critical] קריטי
        [high] חומרה גבוהה
        [medium] חומרה בינונית
       *[low] חומרה נמוכה
    }] { $title }: הלקוחות מחכים לעדכון
    .body = תקלה { $id } ב־{ $service }: הלקוחות היו אמורים לקבל עדכון ב־{ $due }, לפני { PLURAL($minutes) ->
        [one] דקה אחת
        [two] שתי דקות
       *[other] { $minutes } דקות
    }.
    .sms = { $title }: עדכון ללקוחות באיחור של { PLURAL($minutes) ->
        [one] דקה
       *[other] { $minutes } דק׳
    }

# $since (ההתראה האחרונה), $minutes (שקט)
auto-resolved =
    .subject = [{ $severity ->
        [critical] קריטי
        [high] חומרה גבוהה
        [medium] חומרה בינונית
       *[low] חומרה נמוכה
    }] { $title }: נפתרה אוטומטית
    .body = כל ההתראות על התקלה { $id } ({ $service }) דיווחו שהבעיה נפתרה, ולא הגיע דבר חדש כבר { PLURAL($minutes) ->
        [one] דקה אחת
        [two] שתי דקות
       *[other] { $minutes } דקות
    }, מאז { $since }; התקלה סומנה כפתורה. אם הבעיה חזרה, פתחו אותה מחדש.

# $action, $owner, $due, $days (איחור)
follow-up-overdue =
    .subject = באיחור: { $action }
    .body = משימת ההמשך { $action } מהתחקיר של התקלה { $id } ({ $title }) הייתה אמורה להסתיים ב־{ $due }, לפני { PLURAL($days) ->
        [one] יום אחד
        [two] יומיים
       *[other] { $days } ימים
    }. נא לבצע אותה, או לקבוע מועד חדש עם { $owner }.


## הודעות לרשויות על אירוע אבטחה שהוכרז (לבעלים): פרטי התקלה, ו־$regime,‏ $phase,
## $recipient (authority,‏ data-subjects,‏ acquirer,‏ other),‏ $due,‏ $hours.

# $hours (שנותרו)
notice-at-risk =
    .subject = [אירוע אבטחה] { $title }: הודעת { $regime } בעוד { PLURAL($hours) ->
        [one] שעה
        [two] שעתיים
       *[other] { $hours } שעות
    }
    .body = תקלה { $id } ב־{ $service }: את הודעת { $regime } { $phase } { $recipient ->
        [authority] לרשות
        [data-subjects] לנפגעים
        [acquirer] לסולק כרטיסי האשראי
       *[other] לנמען
    } יש להגיש עד { $due }, בעוד { PLURAL($hours) ->
        [one] שעה אחת
        [two] שעתיים
       *[other] { $hours } שעות
    }. ההודעה עוד לא הוגשה.
    .sms = { $title }: הודעת { $regime } בעוד { PLURAL($hours) ->
        [one] שעה
        [two] שעתיים
       *[other] { $hours } שע׳
    }

# $hours (איחור; הנוסח כאן לא משתמש בו: האזהרה יוצאת במועד עצמו)
notice-overdue =
    .subject = [אירוע אבטחה] { $title }: הודעת { $regime } באיחור
    .body = תקלה { $id } ב־{ $service }: את הודעת { $regime } { $phase } { $recipient ->
        [authority] לרשות
        [data-subjects] לנפגעים
        [acquirer] לסולק כרטיסי האשראי
       *[other] לנמען
    } היה צריך להגיש עד { $due }, והיא לא הוגשה. יש להגיש אותה עכשיו, עם הסיבות לעיכוב אם החוק דורש אותן.
    .sms = { $title }: הודעת { $regime } באיחור

## הודעות ללקוחות ולמנויים

# $service, $message
# The body and SMS start with RLM (U+200F): nothing else in them is outside an isolate, and
# without it a Hebrew update would be laid out as a left-to-right paragraph.
customer-update =
    .subject = עדכון שירות: { $service }
    .body = { "\u200F" }{ $message }
    .sms = { "\u200F" }{ $service }: { $message }

# $service, $what, $starts, $minutes (עד ההתחלה)
maintenance-reminder =
    .subject = תחזוקה מתוכננת ב־{ $service } מתחילה בעוד { PLURAL($minutes) ->
        [one] דקה אחת
        [two] שתי דקות
       *[other] { $minutes } דקות
    }
    .body = תזכורת: תחזוקה מתוכננת ב־{ $service } ({ $what }) תתחיל ב־{ $starts }, בעוד { PLURAL($minutes) ->
        [one] דקה אחת
        [two] שתי דקות
       *[other] { $minutes } דקות
    }. ייתכן שהשירות לא יהיה זמין בזמן התחזוקה.
    .sms = תחזוקה ב־{ $service } בעוד { PLURAL($minutes) ->
        [one] דקה
       *[other] { $minutes } דק׳
    }: { $what }

# $service, $what, $starts, $ends
maintenance-scheduled =
    .subject = תחזוקה מתוכננת ב־{ $service }
    .body = תחזוקה מתוכננת ב־{ $service }: { $what }. התחזוקה תתחיל ב־{ $starts } ותסתיים עד { $ends }. ייתכן שהשירות לא יהיה זמין בזמן התחזוקה.
    .sms = תחזוקה ב־{ $service } מ־{ $starts }: { $what }

# $service, $link, $expires, $hours (עד שהקישור פג)
subscription-confirmation =
    .subject = אישור הרשמה לעדכונים על { $service }
    .body = כדי לקבל עדכונים על { $service }, אשרו את ההרשמה בקישור { $link }. הקישור בתוקף עד { $expires }, עוד { PLURAL($hours) ->
        [one] שעה אחת
        [two] שעתיים
       *[other] { $hours } שעות
    }. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה.
    .sms = אישור הרשמה: { $link }

# $link
unsubscribe-footer =
    .body = קיבלתם הודעה זו כי נרשמתם לעדכונים. להסרה: { $link }

## תורנויות כוננות (למי שנכנס לתורנות, לא על תקלה)

# $schedule,‏ $starts,‏ $ends
shift-reminder =
    .subject = תורנות כוננות ב־{ $schedule } מ־{ $starts }
    .body = תורנות הכוננות שלך ב־{ $schedule } מתחילה ב־{ $starts } ונמשכת עד { $ends }. כדאי להשאיר את הטלפון בהישג יד.
    .sms = כוננות ב־{ $schedule } מ־{ $starts }
