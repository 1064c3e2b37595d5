//! The rule language of tags: a tag is given when its rule over concepts
//! holds for a report's headline and lead.
//!
//! ```text
//! rule    = any
//! any     = all ( ("|" | "or") all )*
//! all     = unary ( ("&" | "and") unary )*
//! unary   = ("!" | "not") unary | "(" any ")" | near | concept
//! near    = "near(" concept "," concept [ "," chars ] ")"
//! concept = [ "title:" ] name
//! ```
//!
//! `name` holds when the concept is found in the headline or the lead;
//! `title:name` only in the headline; `near(a, b, n)` when `a` and `b` are
//! found within `n` characters of each other (20 unless given) in the
//! headline or in the lead.

use std::fmt;

/// Characters within which `near` holds when the rule does not say.
pub const NEAR_CHARS: usize = 20;

/// A parsed rule; concepts are indices into the taxonomy's concepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Concept { concept: usize, title_only: bool },
    Near { a: usize, b: usize, within: usize },
    Not(Box<Rule>),
    All(Vec<Rule>),
    Any(Vec<Rule>),
}

/// A rule that does not parse: where, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// Character offset in the rule.
    pub at: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule, at character {}: {}", self.at + 1, self.message)
    }
}

/// Whether `s` can name a concept: ASCII letters, digits and `_`, not
/// starting with a digit, and not a word of the language.
pub fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(s, "and" | "or" | "not" | "near" | "title")
}

/// Where a report's concepts were found: (concept, in the headline,
/// character offset), in any order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found(pub Vec<(usize, bool, usize)>);

impl Found {
    fn has(&self, concept: usize, title_only: bool) -> bool {
        self.0.iter().any(|&(c, title, _)| c == concept && (title || !title_only))
    }

    fn near(&self, a: usize, b: usize, within: usize) -> bool {
        self.0
            .iter()
            .filter(|x| x.0 == a)
            .any(|&(_, ta, pa)| self.0.iter().any(|&(c, tb, pb)| c == b && ta == tb && pa.abs_diff(pb) <= within))
    }
}

impl Rule {
    /// Parses `text`, naming concepts from `concepts`.
    pub fn parse(text: &str, concepts: &[&str]) -> Result<Rule, RuleError> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens: &tokens, next: 0, concepts, end: text.chars().count() };
        let rule = p.any()?;
        match p.peek() {
            None => Ok(rule),
            Some((at, t)) => Err(RuleError { at: *at, message: format!("unexpected `{t}`") }),
        }
    }

    /// Whether the rule holds for what was found.
    pub fn holds(&self, found: &Found) -> bool {
        match self {
            Rule::Concept { concept, title_only } => found.has(*concept, *title_only),
            Rule::Near { a, b, within } => found.near(*a, *b, *within),
            Rule::Not(r) => !r.holds(found),
            Rule::All(rs) => rs.iter().all(|r| r.holds(found)),
            Rule::Any(rs) => rs.iter().any(|r| r.holds(found)),
        }
    }

    /// Concepts the rule reads, for the matcher.
    pub fn concepts(&self, out: &mut Vec<usize>) {
        match self {
            Rule::Concept { concept, .. } => out.push(*concept),
            Rule::Near { a, b, .. } => out.extend([*a, *b]),
            Rule::Not(r) => r.concepts(out),
            Rule::All(rs) | Rule::Any(rs) => rs.iter().for_each(|r| r.concepts(out)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(usize),
    Symbol(char),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => f.write_str(w),
            Token::Number(n) => write!(f, "{n}"),
            Token::Symbol(c) => write!(f, "{c}"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, RuleError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if "()&|!,:".contains(c) {
            out.push((i, Token::Symbol(c)));
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            let n = digits
                .parse()
                .ok()
                .filter(|n| *n <= 1000)
                .ok_or_else(|| RuleError { at: start, message: format!("`{digits}` is no distance (0 to 1000)") })?;
            out.push((start, Token::Number(n)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((start, Token::Word(chars[start..i].iter().collect())));
        } else {
            return Err(RuleError {
                at: i,
                message: format!("unexpected `{c}` (concept names are letters, digits and _)"),
            });
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [(usize, Token)],
    next: usize,
    concepts: &'a [&'a str],
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&(usize, Token)> {
        self.tokens.get(self.next)
    }

    fn at(&self) -> usize {
        self.peek().map_or(self.end, |t| t.0)
    }

    fn eat_symbol(&mut self, c: char) -> bool {
        let hit = matches!(self.peek(), Some((_, Token::Symbol(s))) if *s == c);
        self.next += usize::from(hit);
        hit
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let hit = matches!(self.peek(), Some((_, Token::Word(s))) if s == w);
        self.next += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: char) -> Result<(), RuleError> {
        if self.eat_symbol(c) {
            Ok(())
        } else {
            let found = self.peek().map_or("the end".to_string(), |t| format!("`{}`", t.1));
            Err(RuleError { at: self.at(), message: format!("expected `{c}`, found {found}") })
        }
    }

    fn any(&mut self) -> Result<Rule, RuleError> {
        let mut parts = vec![self.all()?];
        while self.eat_symbol('|') || self.eat_word("or") {
            parts.push(self.all()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Rule::Any(parts) })
    }

    fn all(&mut self) -> Result<Rule, RuleError> {
        let mut parts = vec![self.unary()?];
        while self.eat_symbol('&') || self.eat_word("and") {
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Rule::All(parts) })
    }

    fn unary(&mut self) -> Result<Rule, RuleError> {
        if self.eat_symbol('!') || self.eat_word("not") {
            return Ok(Rule::Not(Box::new(self.unary()?)));
        }
        if self.eat_symbol('(') {
            let inner = self.any()?;
            self.expect(')')?;
            return Ok(inner);
        }
        if matches!(self.tokens.get(self.next..self.next + 2), Some([(_, Token::Word(w)), (_, Token::Symbol('('))]) if w == "near")
        {
            self.next += 2;
            let a = self.concept_index()?;
            self.expect(',')?;
            let b = self.concept_index()?;
            let within = if self.eat_symbol(',') {
                match self.tokens.get(self.next) {
                    Some((_, Token::Number(n))) => {
                        self.next += 1;
                        *n
                    }
                    _ => return Err(RuleError { at: self.at(), message: "expected a number of characters".into() }),
                }
            } else {
                NEAR_CHARS
            };
            self.expect(')')?;
            return Ok(Rule::Near { a, b, within });
        }
        let title_only = matches!(self.tokens.get(self.next..self.next + 2), Some([(_, Token::Word(w)), (_, Token::Symbol(':'))]) if w == "title");
        if title_only {
            self.next += 2;
        }
        let concept = self.concept_index()?;
        Ok(Rule::Concept { concept, title_only })
    }

    fn concept_index(&mut self) -> Result<usize, RuleError> {
        match self.tokens.get(self.next) {
            Some((at, Token::Word(w))) if is_name(w) => match self.concepts.iter().position(|c| c == w) {
                Some(i) => {
                    self.next += 1;
                    Ok(i)
                }
                None => Err(RuleError {
                    at: *at,
                    message: format!("unknown concept `{w}` (concepts: {})", self.concepts.join(", ")),
                }),
            },
            Some((at, t)) => Err(RuleError { at: *at, message: format!("expected a concept, found `{t}`") }),
            None => Err(RuleError { at: self.end, message: "expected a concept, found the end".into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONCEPTS: [&str; 4] = ["commerce", "ai_product", "domestic_actor", "chip"];

    fn parse(text: &str) -> Result<Rule, RuleError> {
        Rule::parse(text, &CONCEPTS)
    }

    #[test]
    fn precedence_and_forms() {
        let r = parse("domestic_actor & (ai_product | chip) & !title:commerce").unwrap();
        assert_eq!(
            r,
            Rule::All(vec![
                Rule::Concept { concept: 2, title_only: false },
                Rule::Any(vec![
                    Rule::Concept { concept: 1, title_only: false },
                    Rule::Concept { concept: 3, title_only: false }
                ]),
                Rule::Not(Box::new(Rule::Concept { concept: 0, title_only: true })),
            ])
        );
        assert_eq!(parse("commerce and ai_product or chip").unwrap(), parse("(commerce & ai_product) | chip").unwrap());
        assert_eq!(parse("near(commerce, ai_product)").unwrap(), Rule::Near { a: 0, b: 1, within: NEAR_CHARS });
        assert_eq!(parse("near(commerce,chip,8)").unwrap(), Rule::Near { a: 0, b: 3, within: 8 });
    }

    #[test]
    fn mistakes_say_where_and_what() {
        let e = parse("commerce & comerce").unwrap_err();
        assert_eq!(e.at, 11);
        assert!(e.message.contains("unknown concept `comerce`"), "{e}");
        assert!(parse("commerce &").unwrap_err().message.contains("found the end"));
        assert!(parse("(commerce | chip").unwrap_err().message.contains("expected `)`"));
        assert!(parse("commerce chip").unwrap_err().message.contains("unexpected `chip`"));
        assert!(parse("near(commerce, chip, x)").unwrap_err().message.contains("number"));
        assert!(parse("商业 & chip").unwrap_err().message.contains("unexpected `商`"));
        assert!(parse("").is_err());
    }

    #[test]
    fn holding() {
        let r = parse("near(commerce, ai_product, 5) & title:domestic_actor").unwrap();
        let found = Found(vec![(2, true, 0), (0, false, 10), (1, false, 14)]);
        assert!(r.holds(&found));
        let far = Found(vec![(2, true, 0), (0, false, 10), (1, false, 16)]);
        assert!(!r.holds(&far));
        let other_field = Found(vec![(2, true, 0), (0, true, 10), (1, false, 12)]);
        assert!(!r.holds(&other_field), "near is within one field");
        let not_title = Found(vec![(2, false, 0), (0, false, 10), (1, false, 14)]);
        assert!(!r.holds(&not_title));
        assert!(parse("!chip").unwrap().holds(&Found::default()));
    }
}
