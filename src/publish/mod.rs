//! Writing the post and the feeds into the output folder. Every file is
//! first written whole to a temporary file beside it; only when all are
//! written are they renamed into place. Readers and site builders never see
//! half a file, and a failure (disk full, folder not writable) leaves the
//! previous post and feeds as they were.

pub mod feeds;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{Config, OutputFormat, Taxonomy};
use crate::store::{Storage, StoreError};

/// Stories per tag feed.
const TAG_FEED_STORIES: usize = 50;

/// Publishing failures, with the path.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The date's edits hide every story: there is nothing to publish, and
    /// the post already published (if any) stays as it was.
    #[error(
        "the edits of {date} hide every story of the day; nothing was written and a post already published stays (hide fewer, or remove an edit)"
    )]
    AllHidden { date: chrono::NaiveDate },
    /// The date's edits file cannot be used; nothing was written.
    #[error("{0} (the edits file is not applied; nothing was written)")]
    Edits(#[from] crate::config::ConfigError),
}

/// Files written whole beside their targets, waiting to be renamed into place.
#[derive(Default)]
pub struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Writes `bytes` to a temporary file beside `path`, flushed to disk.
    pub fn stage(&mut self, path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
        let err = |source| PublishError::Write { path: path.to_path_buf(), source };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(err)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(err(e));
        }
        self.files.push((tmp, path.to_path_buf()));
        Ok(())
    }

    /// Renames every staged file into place.
    pub fn commit(mut self) -> Result<(), PublishError> {
        let files = std::mem::take(&mut self.files);
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (i, (tmp, path)) in files.iter().enumerate() {
            if let Err(source) = std::fs::rename(tmp, path) {
                for (t, _) in &files[i..] {
                    let _ = std::fs::remove_file(t);
                }
                return Err(PublishError::Write { path: path.clone(), source });
            }
            if let Some(d) = path.parent()
                && !dirs.iter().any(|x| x == d)
            {
                dirs.push(d.to_path_buf());
            }
        }
        // Make the renames themselves durable.
        for d in dirs {
            if let Ok(f) = std::fs::File::open(&d) {
                let _ = f.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    /// Staged files never committed are removed.
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// flushed to disk, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let mut staged = Staged::default();
    staged.stage(path, bytes)?;
    staged.commit()
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Published {
    pub post: Option<PathBuf>,
    pub feeds: Vec<PathBuf>,
}

/// The folder posts go to: `_posts/` for Jekyll, `content/posts/` for Hugo.
pub fn posts_dir(config: &Config) -> PathBuf {
    match config.output.format {
        OutputFormat::Jekyll => config.output.dir.join("_posts"),
        OutputFormat::Hugo => config.output.dir.join("content").join("posts"),
    }
}

/// The post file's path for a date.
pub fn post_path(config: &Config, date: &str) -> PathBuf {
    posts_dir(config).join(format!("{date}-{}.md", config.digest.slug))
}

/// Writes the post for `date` (from the database) and regenerates every feed.
pub fn publish<S: Storage>(
    config: &Config,
    taxonomy: &Taxonomy,
    store: &S,
    date: Option<&str>,
) -> Result<Published, PublishError> {
    let mut out = Published::default();
    let mut staged = Staged::default();
    let posts = store.recent_posts(config.digest.feed_posts.max(1))?;
    if let Some(date) = date
        && let Some(post) = posts.iter().find(|p| p.date == date)
    {
        let path = post_path(config, date);
        staged.stage(&path, post.markdown.as_bytes())?;
        out.post = Some(path);
    }
    let dir = &config.output.dir;
    let site = &config.site;
    for (name, body) in [
        ("feed.xml", feeds::rss(site, &posts)),
        ("atom.xml", feeds::atom(site, &posts)),
        ("feed.json", feeds::json_feed(site, &posts)),
    ] {
        let path = dir.join(name);
        staged.stage(&path, body.as_bytes())?;
        out.feeds.push(path);
    }
    for tag in &taxonomy.tag {
        let stories = store.stories_with_tag(&tag.name, TAG_FEED_STORIES)?;
        let path = dir.join("tags").join(feeds::tag_file_name(&tag.name));
        // A tag whose stories are all gone (an editor hid or retagged them)
        // keeps its feed, empty, for those subscribed to it.
        if stories.is_empty() && !path.exists() {
            continue;
        }
        staged.stage(&path, feeds::tag_feed(site, &tag.name, &stories).as_bytes())?;
        out.feeds.push(path);
    }
    staged.commit()?;
    if let (Some(date), Some(path)) = (date, &out.post) {
        remove_other_posts_of(path, date);
    }
    Ok(out)
}

/// Brings a node's copy of the output up to the database: the feeds, tag
/// feeds and the recent posts' files, each written only when its bytes
/// changed. Nodes sharing a database each keep a copy this way; the same
/// posts give the same bytes, so every node serves the same feed with the
/// same ETag.
pub fn mirror<S: Storage>(config: &Config, taxonomy: &Taxonomy, store: &S) -> Result<Published, PublishError> {
    let mut staged = Staged::default();
    let mut out = Published::default();
    for post in store.recent_posts(config.digest.feed_posts.max(1))? {
        let path = post_path(config, &post.date);
        if std::fs::read(&path).ok().as_deref() != Some(post.markdown.as_bytes()) {
            staged.stage(&path, post.markdown.as_bytes())?;
            out.post.get_or_insert(path);
        }
    }
    staged.commit()?;
    let feeds = publish(config, taxonomy, store, None)?;
    out.feeds = feeds.feeds;
    Ok(out)
}

/// A post of the same date under an older slug would be a second post.
fn remove_other_posts_of(path: &Path, date: &str) {
    let Some(dir) = path.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p != path && name.starts_with(&format!("{date}-")) && name.ends_with(".md") {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/feed.xml");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
    }
}
