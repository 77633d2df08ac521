//! Load-time checks of a locale's catalog and its overrides: everything that could go wrong
//! at send time is found here, with the file, line and column.

use std::collections::{BTreeMap, BTreeSet};

use fluent_syntax::ast::{
    CallArguments, Entry, Expression, InlineExpression, Pattern, PatternElement, VariantKey,
};
use fluent_syntax::parser;

use super::error::{L10nError, Problem};
use super::format::CATEGORIES;
use super::message::{Kind, MessageId};

/// One FTL text and its name for errors.
pub(super) struct Source<'s> {
    pub name: &'s str,
    pub text: &'s str,
}

type Message<'s> = fluent_syntax::ast::Message<&'s str>;
type Term<'s> = fluent_syntax::ast::Term<&'s str>;

/// Checks a locale's sources (its catalog, then its overrides in order; a later message or
/// term replaces an earlier one of the same name) and returns the message ids it defines.
/// Every message, in any source, must be one the crate sends.
pub(super) fn check(sources: &[Source<'_>]) -> Result<BTreeSet<MessageId>, L10nError> {
    let mut parsed = Vec::with_capacity(sources.len());
    for source in sources {
        let resource = match parser::parse(source.text) {
            Ok(r) => r,
            Err((_, errors)) => {
                let first = errors.into_iter().min_by_key(|e| e.pos.start);
                let (at, what) = first.map_or((0, String::from("unreadable")), |e| {
                    (e.pos.start, e.kind.to_string())
                });
                return Err(L10nError::at(
                    source.name,
                    source.text,
                    at,
                    Problem::Syntax(what),
                ));
            }
        };
        parsed.push(resource);
    }

    // The final view: the last definition of each message and term wins.
    let mut messages: BTreeMap<MessageId, (usize, &Message<'_>)> = BTreeMap::new();
    let mut terms: BTreeMap<&str, (usize, &Term<'_>)> = BTreeMap::new();
    for (i, (source, resource)) in sources.iter().zip(&parsed).enumerate() {
        let mut seen = BTreeSet::new();
        for entry in &resource.body {
            let (name, is_term) = match entry {
                Entry::Message(m) => (m.id.name, false),
                Entry::Term(t) => (t.id.name, true),
                _ => continue,
            };
            let at = offset(source.text, name);
            if !seen.insert((name, is_term)) {
                let shown = if is_term {
                    format!("-{name}")
                } else {
                    name.into()
                };
                return Err(L10nError::at(
                    source.name,
                    source.text,
                    at,
                    Problem::Duplicate(shown),
                ));
            }
            match entry {
                Entry::Message(m) => {
                    let id: MessageId = name.parse().map_err(|_| {
                        L10nError::at(
                            source.name,
                            source.text,
                            at,
                            Problem::UnknownMessage(name.into()),
                        )
                    })?;
                    messages.insert(id, (i, m));
                }
                Entry::Term(t) => {
                    terms.insert(name, (i, t));
                }
                _ => {}
            }
        }
    }

    let view = View {
        messages: &messages,
        terms: &terms,
    };
    for (&id, &(i, m)) in &messages {
        let walker = Walker {
            source: &sources[i],
            view: &view,
            context: Context::Message {
                id,
                vars: id.variables(),
            },
        };
        walker.message(id, m)?;
    }
    for &(i, t) in terms.values() {
        let walker = Walker {
            source: &sources[i],
            view: &view,
            context: Context::Term,
        };
        walker.pattern(&t.value)?;
        for a in &t.attributes {
            walker.pattern(&a.value)?;
        }
    }
    Ok(messages.keys().copied().collect())
}

/// The byte offset of `part`, a slice of `source`, in it (0 if it is not one).
fn offset(source: &str, part: &str) -> usize {
    let start = source.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    if at >= start && at <= start + source.len() {
        at - start
    } else {
        0
    }
}

struct View<'v, 's> {
    messages: &'v BTreeMap<MessageId, (usize, &'v Message<'s>)>,
    terms: &'v BTreeMap<&'s str, (usize, &'v Term<'s>)>,
}

enum Context {
    Message {
        id: MessageId,
        vars: Vec<(&'static str, Kind)>,
    },
    Term,
}

struct Walker<'w, 's> {
    source: &'w Source<'s>,
    view: &'w View<'w, 's>,
    context: Context,
}

impl Walker<'_, '_> {
    fn error(&self, at: &str, what: Problem) -> L10nError {
        L10nError::at(
            self.source.name,
            self.source.text,
            offset(self.source.text, at),
            what,
        )
    }

    fn misuse(&self, at: &str, what: impl Into<String>) -> L10nError {
        let message = match &self.context {
            Context::Message { id, .. } => id.as_str().to_string(),
            Context::Term => "(a term)".to_string(),
        };
        self.error(
            at,
            Problem::Misuse {
                message,
                what: what.into(),
            },
        )
    }

    fn message(&self, id: MessageId, m: &Message<'_>) -> Result<(), L10nError> {
        if m.value.is_some() {
            return Err(self.misuse(
                m.id.name,
                "a message has no value of its own: write its parts as attributes (.subject, .body, .sms)",
            ));
        }
        for part in id.parts() {
            if !m.attributes.iter().any(|a| a.id.name == part.name()) {
                return Err(self.error(
                    m.id.name,
                    Problem::MissingPart {
                        message: id.as_str().into(),
                        part: part.name(),
                    },
                ));
            }
        }
        for a in &m.attributes {
            if !id.parts().iter().any(|p| p.name() == a.id.name) {
                return Err(self.misuse(a.id.name, format!("it has no part `.{}`", a.id.name)));
            }
            self.pattern(&a.value)?;
        }
        Ok(())
    }

    fn pattern(&self, p: &Pattern<&str>) -> Result<(), L10nError> {
        for element in &p.elements {
            match element {
                PatternElement::TextElement { value } => {
                    if let Some((i, c)) = value.char_indices().find(
                        |&(_, c)| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'),
                    ) {
                        let at = value.get(i..).unwrap_or(value);
                        return Err(self.error(at, Problem::BidiControl(u32::from(c))));
                    }
                }
                PatternElement::Placeable { expression } => self.expression(expression)?,
            }
        }
        Ok(())
    }

    fn expression(&self, e: &Expression<&str>) -> Result<(), L10nError> {
        match e {
            Expression::Inline(i) => self.inserted(i),
            Expression::Select { selector, variants } => {
                let keys = self.selector(selector)?;
                for v in variants {
                    match (&v.key, keys) {
                        (VariantKey::Identifier { name }, Some(keys)) => {
                            if !keys.contains(name) && *name != "other" {
                                return Err(self.misuse(
                                    name,
                                    format!("`[{name}]` is not one of {}", keys.join(", ")),
                                ));
                            }
                        }
                        (VariantKey::Identifier { .. }, None) => {}
                        (VariantKey::NumberLiteral { value }, _) => {
                            return Err(self.misuse(
                                value,
                                format!("`[{value}]`: variant keys are names, not numbers"),
                            ));
                        }
                    }
                    self.pattern(&v.value)?;
                }
                Ok(())
            }
        }
    }

    /// The kind of a variable of the message.
    fn variable(&self, name: &str) -> Result<Kind, L10nError> {
        match &self.context {
            Context::Term => Err(self.misuse(name, format!("terms take no variables (`${name}`)"))),
            Context::Message { id, vars } => vars
                .iter()
                .find(|(n, _)| *n == name)
                .map(|&(_, k)| k)
                .ok_or_else(|| {
                    self.error(
                        name,
                        Problem::UnknownVariable {
                            message: id.as_str().into(),
                            variable: name.into(),
                            given: vars.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
                        },
                    )
                }),
        }
    }

    /// Checks a selector; returns the variant keys it allows (`None`: any).
    fn selector(
        &self,
        s: &InlineExpression<&str>,
    ) -> Result<Option<&'static [&'static str]>, L10nError> {
        match s {
            InlineExpression::FunctionReference { id, arguments } if id.name == "PLURAL" => {
                match (arguments.positional.as_slice(), arguments.named.is_empty()) {
                    ([InlineExpression::VariableReference { id: var }], true) => {
                        match self.variable(var.name)? {
                            Kind::Count => Ok(Some(&CATEGORIES)),
                            _ => Err(self.misuse(
                                var.name,
                                format!("PLURAL takes a count; `${}` is not one", var.name),
                            )),
                        }
                    }
                    _ => Err(self.misuse(id.name, "PLURAL takes one count variable: PLURAL($n)")),
                }
            }
            InlineExpression::VariableReference { id } => match self.variable(id.name)? {
                Kind::Keyword(keys) => Ok(Some(keys)),
                Kind::Count => Err(self.misuse(
                    id.name,
                    format!(
                        "select on PLURAL(${0}), not on ${0}: plural categories come from ICU4X",
                        id.name
                    ),
                )),
                Kind::Text | Kind::Time => Err(self.misuse(
                    id.name,
                    format!("`${}` is text: it cannot choose a variant", id.name),
                )),
            },
            InlineExpression::TermReference {
                id,
                attribute: Some(attribute),
                arguments,
            } => {
                let term = self.term(id.name)?;
                if !term.attributes.iter().any(|a| a.id.name == attribute.name) {
                    return Err(self.error(
                        attribute.name,
                        Problem::UnknownReference(format!("-{}.{}", id.name, attribute.name)),
                    ));
                }
                self.arguments(arguments.as_ref())?;
                Ok(None)
            }
            other => Err(self.misuse(
                first_name(other),
                "a selector is PLURAL($count), a keyword variable or a term's attribute",
            )),
        }
    }

    fn term(&self, name: &str) -> Result<&Term<'_>, L10nError> {
        self.view
            .terms
            .get(name)
            .map(|&(_, t)| t)
            .ok_or_else(|| self.error(name, Problem::UnknownReference(format!("-{name}"))))
    }

    fn arguments(&self, arguments: Option<&CallArguments<&str>>) -> Result<(), L10nError> {
        let Some(arguments) = arguments else {
            return Ok(());
        };
        let values = arguments
            .positional
            .iter()
            .chain(arguments.named.iter().map(|n| &n.value));
        for v in values {
            match v {
                InlineExpression::StringLiteral { .. } | InlineExpression::NumberLiteral { .. } => {
                }
                other => {
                    return Err(self.misuse(first_name(other), "a term's arguments are literals"));
                }
            }
        }
        Ok(())
    }

    /// Checks an expression whose value is inserted into the text.
    fn inserted(&self, i: &InlineExpression<&str>) -> Result<(), L10nError> {
        match i {
            InlineExpression::StringLiteral { .. } | InlineExpression::NumberLiteral { .. } => {
                Ok(())
            }
            InlineExpression::VariableReference { id } => match self.variable(id.name)? {
                Kind::Text | Kind::Count | Kind::Time => Ok(()),
                Kind::Keyword(_) => Err(self.misuse(
                    id.name,
                    format!(
                        "`${}` is a keyword: select on it, do not insert it",
                        id.name
                    ),
                )),
            },
            InlineExpression::FunctionReference { id, .. } => {
                if id.name == "PLURAL" {
                    Err(self.misuse(id.name, "PLURAL chooses a variant; it is not inserted"))
                } else {
                    Err(self.error(id.name, Problem::UnknownReference(format!("{}()", id.name))))
                }
            }
            InlineExpression::MessageReference { id, attribute } => {
                let target = id
                    .name
                    .parse::<MessageId>()
                    .ok()
                    .and_then(|t| self.view.messages.get(&t).map(|&(_, m)| (t, m)));
                let Some((target, m)) = target else {
                    return Err(self.error(id.name, Problem::UnknownReference(id.name.into())));
                };
                let Some(attribute) = attribute else {
                    return Err(
                        self.misuse(id.name, format!("name a part of `{0}`: {0}.body", id.name))
                    );
                };
                if !m.attributes.iter().any(|a| a.id.name == attribute.name) {
                    return Err(self.error(
                        attribute.name,
                        Problem::UnknownReference(format!("{}.{}", id.name, attribute.name)),
                    ));
                }
                // The referenced message is rendered with this message's values.
                let given: Vec<&str> = match &self.context {
                    Context::Message { vars, .. } => vars.iter().map(|(n, _)| *n).collect(),
                    Context::Term => Vec::new(),
                };
                if let Some((missing, _)) = target
                    .variables()
                    .into_iter()
                    .find(|(n, _)| !given.contains(n))
                {
                    return Err(self.misuse(
                        id.name,
                        format!(
                            "`{}` needs `${missing}`, which this message is not given",
                            id.name
                        ),
                    ));
                }
                Ok(())
            }
            InlineExpression::TermReference {
                id,
                attribute,
                arguments,
            } => {
                self.term(id.name)?;
                if let Some(attribute) = attribute {
                    return Err(self.misuse(
                        attribute.name,
                        "a term's attributes only choose variants; insert the term itself",
                    ));
                }
                self.arguments(arguments.as_ref())
            }
            InlineExpression::Placeable { expression } => self.expression(expression),
        }
    }
}

/// A name in `e`, to point at.
fn first_name<'s>(e: &InlineExpression<&'s str>) -> &'s str {
    match e {
        InlineExpression::StringLiteral { value } | InlineExpression::NumberLiteral { value } => {
            value
        }
        InlineExpression::FunctionReference { id, .. }
        | InlineExpression::MessageReference { id, .. }
        | InlineExpression::TermReference { id, .. }
        | InlineExpression::VariableReference { id } => id.name,
        InlineExpression::Placeable { expression } => match expression.as_ref() {
            Expression::Inline(i) | Expression::Select { selector: i, .. } => first_name(i),
        },
    }
}
