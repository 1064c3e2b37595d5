//! An editor's corrections to a day's digest: one TOML file per date
//! (`edits/2025-04-02.toml`), a list of `[[edit]]` entries applied in order
//! on every build of that date, so that a correction outlives every
//! rebuild. Stories and items are named by stable ids (an item's URL, or
//! the id the post and `explain` show for a story), never by position.
//!
//! ```toml
//! [[edit]]
//! hide = "3f9a1c2b7e"                  # a story; an item URL hides that report
//!
//! [[edit]]
//! story = "a41d07c9e2"
//! headline = "百川智能完成50亿元融资"
//! add_tags = ["商业化落地"]
//! remove_tags = ["大模型"]
//!
//! [[edit]]
//! pin = "a41d07c9e2"
//! position = 1
//!
//! [[edit]]
//! merge = ["a41d07c9e2", "https://example.com/baichuan"]
//!
//! [[edit]]
//! split = "https://example.com/other-story"
//!
//! [[edit]]
//! title = "AI产业日报：百川融资"
//! ```
//!
//! Loading and appending are the I/O edges; applying the edits is the
//! digest's business ([`crate::digest::build`]).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, ConfigProblem};

/// One `[[edit]]` entry as written: exactly one action (`hide`, `pin`,
/// `story`, `merge`, `split`, or post fields) with its arguments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditEntry {
    /// Hide a story (its id) or one report (an item URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide: Option<String>,
    /// Pin a story to `position` (1 = first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// Change a story: `headline`, `summary`, `image`, `add_tags`, `remove_tags`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_tags: Vec<String>,
    /// Make one story of the stories these ids or URLs belong to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merge: Vec<String>,
    /// Take this report (item URL or id) out of its story into its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// The post's title, H1 and description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One correction, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Leave out one report (named by URL) before stories are formed.
    HideItem(String),
    /// Leave out the story holding this item.
    HideStory(String),
    Pin {
        story: String,
        position: usize,
    },
    Story(StoryEdit),
    Merge(Vec<String>),
    Split(String),
    Post {
        title: Option<String>,
        heading: Option<String>,
        description: Option<String>,
    },
}

/// Changes to one story.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoryEdit {
    pub story: String,
    pub headline: Option<String>,
    pub summary: Option<String>,
    pub image: Option<String>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
}

/// A date's corrections, in file order, each with the line it starts on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edits {
    pub file: Option<PathBuf>,
    pub list: Vec<(usize, Edit)>,
}

impl Edits {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Where an edit came from, for warnings: `edits/2025-04-02.toml:7`.
    pub fn place(&self, line: usize) -> String {
        match &self.file {
            Some(f) => format!("{}:{line}", f.display()),
            None => format!("edit at line {line}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditsFile {
    #[serde(default)]
    edit: Vec<toml::Spanned<EditEntry>>,
}

/// The edits file of `date` in `dir`.
pub fn path_for(dir: &Path, date: NaiveDate) -> PathBuf {
    dir.join(format!("{}.toml", date.format("%Y-%m-%d")))
}

/// Reads a date's edits; no file means no edits. A malformed file is an
/// error naming file, line and key.
pub fn load(dir: &Path, date: NaiveDate) -> Result<Edits, ConfigError> {
    let path = path_for(dir, date);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Edits::default()),
        Err(e) => return Err(problem(&path, None, None, format!("cannot read file: {e}"))),
    };
    parse(&path, &text)
}

/// Checks every edits file in `dir` (`YYYY-MM-DD.toml`); how many there
/// are, or every problem found in them.
pub fn check_dir(dir: &Path) -> Result<usize, ConfigError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(problem(dir, None, None, format!("cannot read folder: {e}"))),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut problems = Vec::new();
    for path in &paths {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if NaiveDate::parse_from_str(&stem, "%Y-%m-%d").is_err() {
            problems.push(ConfigProblem {
                file: path.clone(),
                line: None,
                key: None,
                message: "is not named after a date (YYYY-MM-DD.toml), so no build applies it".into(),
            });
            continue;
        }
        let checked = std::fs::read_to_string(path)
            .map_err(|e| problem(path, None, None, format!("cannot read file: {e}")))
            .and_then(|text| parse(path, &text));
        if let Err(e) = checked {
            problems.extend(e.problems);
        }
    }
    if problems.is_empty() { Ok(paths.len()) } else { Err(ConfigError { problems }) }
}

/// Parses the text of an edits file (`path` only names it in messages).
pub fn parse(path: &Path, text: &str) -> Result<Edits, ConfigError> {
    let file: EditsFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| crate::config::line_of(text, s.start));
        let key = e.span().and_then(|s| crate::config::key_at(text, s.start));
        problem(path, line, key, e.message().trim().to_string())
    })?;
    let mut list = Vec::with_capacity(file.edit.len());
    let mut problems = Vec::new();
    for spanned in file.edit {
        let line = crate::config::line_of(text, spanned.span().start);
        match check(spanned.into_inner()) {
            Ok(edit) => list.push((line, edit)),
            Err((key, message)) => {
                problems.push(ConfigProblem {
                    file: path.to_path_buf(),
                    line: Some(line),
                    key: Some(format!("edit.{key}")),
                    message,
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    Ok(Edits { file: Some(path.to_path_buf()), list })
}

fn problem(path: &Path, line: Option<usize>, key: Option<String>, message: String) -> ConfigError {
    ConfigError { problems: vec![ConfigProblem { file: path.to_path_buf(), line, key, message }] }
}

/// An entry as one action, or the key at fault and why.
fn check(e: EditEntry) -> Result<Edit, (&'static str, String)> {
    let story_fields = e.headline.is_some()
        || e.summary.is_some()
        || e.image.is_some()
        || !e.add_tags.is_empty()
        || !e.remove_tags.is_empty();
    let post_fields = e.title.is_some() || e.heading.is_some() || e.description.is_some();
    let actions: Vec<&'static str> = [
        ("hide", e.hide.is_some()),
        ("pin", e.pin.is_some()),
        ("story", e.story.is_some()),
        ("merge", !e.merge.is_empty()),
        ("split", e.split.is_some()),
        ("title", post_fields),
    ]
    .into_iter()
    .filter_map(|(k, on)| on.then_some(k))
    .collect();
    match actions.as_slice() {
        [] if story_fields => return Err(("story", "names no story: add `story = \"<id>\"`".into())),
        [] => return Err(("hide", "does nothing: give one of hide, pin, story, merge, split, title".into())),
        [_] => {}
        [first, second, ..] => {
            return Err((second, format!("one action per [[edit]]: `{first}` and `{second}` are both given")));
        }
    }
    if story_fields && e.story.is_none() {
        return Err(("story", "headline, summary, image and tags belong with `story = \"<id>\"`".into()));
    }
    if e.position.is_some() && e.pin.is_none() {
        return Err(("position", "`position` goes with `pin`".into()));
    }
    let nonempty = |key: &'static str, v: String| {
        if v.trim().is_empty() { Err((key, "is empty".to_string())) } else { Ok(v.trim().to_string()) }
    };
    if let Some(target) = e.hide {
        let target = nonempty("hide", target)?;
        return Ok(if is_url(&target) { Edit::HideItem(target) } else { Edit::HideStory(target) });
    }
    if let Some(story) = e.pin {
        let position = match e.position {
            Some(p) if p >= 1 => p,
            Some(_) => return Err(("position", "positions start at 1".into())),
            None => return Err(("position", "`pin` needs `position = N` (1 = first)".into())),
        };
        return Ok(Edit::Pin { story: nonempty("pin", story)?, position });
    }
    if let Some(story) = e.story {
        if !story_fields {
            return Err(("story", "changes nothing: give headline, summary, image, add_tags or remove_tags".into()));
        }
        let check_text = |key: &'static str, v: Option<String>| v.map(|v| nonempty(key, v)).transpose();
        let tags = |key: &'static str, v: Vec<String>| {
            v.into_iter().map(|t| nonempty(key, t)).collect::<Result<Vec<String>, _>>()
        };
        return Ok(Edit::Story(StoryEdit {
            story: nonempty("story", story)?,
            headline: check_text("headline", e.headline)?,
            summary: e.summary.map(|s| s.trim().to_string()),
            image: check_text("image", e.image)?,
            add_tags: tags("add_tags", e.add_tags)?,
            remove_tags: tags("remove_tags", e.remove_tags)?,
        }));
    }
    if !e.merge.is_empty() {
        if e.merge.len() < 2 {
            return Err(("merge", "needs two or more stories or items".into()));
        }
        let ids = e.merge.into_iter().map(|t| nonempty("merge", t)).collect::<Result<Vec<String>, _>>()?;
        return Ok(Edit::Merge(ids));
    }
    if let Some(target) = e.split {
        return Ok(Edit::Split(nonempty("split", target)?));
    }
    let check_text = |key: &'static str, v: Option<String>| v.map(|v| nonempty(key, v)).transpose();
    Ok(Edit::Post {
        title: check_text("title", e.title)?,
        heading: check_text("heading", e.heading)?,
        description: check_text("description", e.description)?,
    })
}

/// An item URL rather than an id.
pub fn is_url(target: &str) -> bool {
    target.contains("://")
}

/// Adds one entry at the end of a date's edits file (creating it and its
/// folder), leaving everything already there, comments included, as it
/// was. The whole file must still parse, or nothing is written.
pub fn append(dir: &Path, date: NaiveDate, entry: &EditEntry) -> Result<PathBuf, ConfigError> {
    let path = path_for(dir, date);
    let old = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(problem(&path, None, None, format!("cannot read file: {e}"))),
    };
    // Checked alone first, so that a mistake in the new entry is named as such.
    check(entry.clone()).map_err(|(key, message)| problem(&path, None, Some(format!("edit.{key}")), message))?;
    let body = toml::to_string(entry).map_err(|e| problem(&path, None, None, format!("cannot write the edit: {e}")))?;
    let mut text = old.clone();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str("[[edit]]\n");
    text.push_str(&body);
    parse(&path, &text)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| problem(&path, None, None, format!("cannot create {}: {e}", dir.display())))?;
    // Written beside and renamed: a crash leaves the old file or the new one.
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, &text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| problem(&path, None, None, format!("cannot write file: {e}")))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Edits, ConfigError> {
        parse(Path::new("edits/2025-04-02.toml"), text)
    }

    #[test]
    fn every_action_reads_with_its_line() {
        let e = parsed(
            "# an editor's note\n[[edit]]\nhide = \"3f9a1c2b7e\"\n\n[[edit]]\nhide = \"https://a.example/x\"\n\n\
             [[edit]]\npin = \"abc\"\nposition = 2\n\n[[edit]]\nstory = \"abc\"\nheadline = \" 新标题 \"\nadd_tags = [\"商业化落地\"]\n\n\
             [[edit]]\nmerge = [\"a\", \"b\"]\n\n[[edit]]\nsplit = \"https://a.example/y\"\n\n[[edit]]\ntitle = \"日报\"\n",
        )
        .unwrap();
        let lines: Vec<usize> = e.list.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 5, 8, 12, 17, 20, 23]);
        assert_eq!(e.list[0].1, Edit::HideStory("3f9a1c2b7e".into()));
        assert_eq!(e.list[1].1, Edit::HideItem("https://a.example/x".into()));
        assert_eq!(e.list[2].1, Edit::Pin { story: "abc".into(), position: 2 });
        match &e.list[3].1 {
            Edit::Story(s) => {
                assert_eq!(s.headline.as_deref(), Some("新标题"));
                assert_eq!(s.add_tags, ["商业化落地"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.list[4].1, Edit::Merge(vec!["a".into(), "b".into()]));
        assert_eq!(e.list[5].1, Edit::Split("https://a.example/y".into()));
        assert_eq!(e.list[6].1, Edit::Post { title: Some("日报".into()), heading: None, description: None });
    }

    #[test]
    fn mistakes_name_file_line_and_key() {
        let problem = |text: &str| parsed(text).unwrap_err().problems.remove(0);
        let p = problem("[[edit]]\nhide = \"a\"\n\n[[edit]]\npin = \"abc\"\n");
        assert_eq!((p.line, p.key.as_deref()), (Some(4), Some("edit.position")), "{p}");
        let p = problem("[[edit]]\nhide = \"a\"\ntitle = \"x\"\n");
        assert_eq!(p.key.as_deref(), Some("edit.title"), "{p}");
        assert!(p.message.contains("one action"), "{p}");
        let p = problem("[[edit]]\nheadline = \"x\"\n");
        assert_eq!(p.key.as_deref(), Some("edit.story"), "{p}");
        let p = problem("[[edit]]\nhide = \"a\"\n\n[[edit]]\nhdie = \"b\"\n");
        assert_eq!(p.line, Some(5), "{p}");
        assert!(p.message.contains("hdie"), "{p}");
        let p = problem("[[edit]]\nmerge = [\"a\"]\n");
        assert_eq!(p.key.as_deref(), Some("edit.merge"), "{p}");
        let p = problem("[[edit]]\nhide = \"a\"\n[[edit\n");
        assert_eq!(p.line, Some(3), "{p}");
        assert!(p.to_string().starts_with("edits/2025-04-02.toml:3"), "{p}");
    }

    #[test]
    fn appending_keeps_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let date = NaiveDate::from_ymd_opt(2025, 4, 2).unwrap();
        let path = path_for(dir.path(), date);
        std::fs::write(&path, "# kept\n[[edit]]\nhide = \"a\"").unwrap();
        let entry = EditEntry { title: Some("新 \"标题\"".into()), ..Default::default() };
        append(dir.path(), date, &entry).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# kept\n[[edit]]\nhide = \"a\"\n\n[[edit]]\n"), "{text}");
        let e = load(dir.path(), date).unwrap();
        assert_eq!(e.list.len(), 2);
        assert_eq!(e.list[1].1, Edit::Post { title: Some("新 \"标题\"".into()), heading: None, description: None });
        // A bad entry writes nothing.
        let bad = EditEntry { pin: Some("x".into()), ..Default::default() };
        assert!(append(dir.path(), date, &bad).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        // No file, no edits.
        assert!(load(dir.path(), date.succ_opt().unwrap()).unwrap().is_empty());
    }
}
